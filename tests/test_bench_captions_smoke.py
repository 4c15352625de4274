"""bench/captions.py in smoke mode (four webcast lines, a few readers, one short chat step, no
browser): the harness runs and its figures are sane. No timing assertion."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(120)
def test_captions_bench_smoke(tmp_path: Path) -> None:
    out = tmp_path / "captions.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.captions", "--skip-browser", "--readers", "5",
         "--chat-steps", "4", "--step-seconds", "2", "--line-chars", "20",
         "--webcast-lines", "4", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=110)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert "| 1 (baseline) |" in done.stdout and "Chat fan-out to 5 participants" in done.stdout
    figures = json.loads(out.read_text())
    webcast = figures["webcast"]  # each final line reached the subtitle rendition
    assert webcast["lines"] == webcast["shown"] == 4, webcast
    assert 0 < webcast["p50_ms"] <= webcast["p99_ms"] and webcast["media_segments"] > 0
    many = figures["many"]
    caption = many["caption"]
    assert caption["one_reader"]["n"] == 20
    assert caption["all_readers"]["n"] == caption["all_readers"]["expected"] == 100
    assert 0 < caption["all_readers"]["p50_ms"] <= caption["all_readers"]["p99_ms"]
    (step,) = many["chat"]
    assert step["sent"] == 8 and step["refused"] == 0
    assert step["deliveries"] == step["expected"] == 8 * 5
    assert 0 < step["p50_ms"] <= step["p99_ms"]
