"""The documents benchmark's smoke mode: it runs end to end (the real LibreOffice and PDFium,
a small six-language corpus) and its figures are sane. No timing assertion."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.documents_support import soffice

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(240)
def test_documents_bench_smoke_mode(tmp_path: Path) -> None:
    soffice()  # a missing LibreOffice fails here, by the shared rule
    out = tmp_path / "figures.json"
    done = subprocess.run([sys.executable, "-m", "bench.documents", "--smoke", "--out", str(out)],
                          cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                          capture_output=True, text=True, timeout=220)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    figures = json.loads(out.read_text())
    conversion = figures["conversion"]
    for kind in ("docx", "pdf"):
        assert conversion[kind]["pages"] >= 6 and conversion[kind]["seconds"] > 0
        sizes = conversion[kind]["page_bytes"]
        assert 0 < sizes["400"]["p50"] < sizes["800"]["p50"] < sizes["1400"]["p50"]
    search = figures["search"]
    assert search["pages"] == 600 and search["words_in_no_page_found"] == 0
    assert 0 < search["query_p50_ms"] <= search["query_p99_ms"]
    assert set(search["languages"]) == {"ar", "zh", "en", "fr", "ru", "es"}
    for language, row in search["languages"].items():
        assert row["recall"] == 1.0, (language, row)
        assert row["recall"] > row["plain_recall"], (language, row)
    deployment = figures["deployment"]
    assert deployment["meetings"] == 6 and deployment["captions"] == 600
    assert deployment["lines_indexed"] == deployment["captions"] + deployment["interventions"]
    assert deployment["words_in_no_line_found"] == 0
    assert 0 < deployment["all_meetings_p50_ms"] <= deployment["all_meetings_p99_ms"]
    assert set(deployment["caption_languages"]) == {"ar", "zh", "en", "fr", "ru", "es"}
    for language, row in deployment["caption_languages"].items():
        assert row["recall"] == 1.0, (language, row)
