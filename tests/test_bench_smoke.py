"""The forwarding benchmark's smoke mode: the harness works and its figures are sane.

Runs `python -m bench.run --smoke` (Rostrum, Janus and aiortc's MediaRelay, a few subscribers
each, short windows) as a subprocess and checks the table it writes. No timing assertion: the
figures depend on the machine and on whatever else runs on it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.systems import janus_binary
from tests.requirements import require

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(240)
def test_bench_smoke_mode_produces_a_sane_table(tmp_path: Path) -> None:
    require(janus_binary() is not None,
            "janus with its VideoRoom plugin and HTTP transport (apt-get install janus)")
    require(shutil.which("cc") is not None or shutil.which("gcc") is not None,
            "a C compiler for bench/janus_lo.c (apt-get install gcc)")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    done = subprocess.run([sys.executable, "-m", "bench.run", "--smoke", "--out", str(tmp_path)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=220)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]

    tables = [p for p in tmp_path.glob("results-*.md") if p.name != "results-latest.md"]
    assert len(tables) == 1, output[-2000:]
    table = tables[0].read_text()
    assert "| system | scenario | CPU µs/packet | largest N at < 1 % loss |" in table
    for system in ("rostrum", "janus", "relay"):
        assert f"| {system} | fanout |" in table, table

    results = json.loads(next(tmp_path.glob("results-*.json")).read_text())
    rows = {row["system"]: row for row in results["rows"]}
    assert set(rows) == {"rostrum", "janus", "relay"}, results["skipped"]
    for system, row in rows.items():
        assert row["subscribers"] >= 1, (system, row)
        assert row["packets"] > 0, (system, row)
        assert row["pps"] > 0, (system, row)
        assert 0.0 <= row["loss_mean"] <= row["loss_max"] <= 1.0, (system, row)
        assert row["sfu_cpu_s"] > 0 and row["cpu_us_per_packet"] > 0, (system, row)
        assert row["rss_mb"] > 0, (system, row)
    for system in ("rostrum", "janus"):  # forwarded payloads are traced back to the publisher
        assert rows[system]["delay_p50_ms"] is not None, rows[system]
        assert 0 < rows[system]["delay_p50_ms"] <= rows[system]["delay_p99_ms"], rows[system]
    assert results["machine"]["nproc"] >= 1 and results["machine"]["aiortc"]
    # the soak's loop (--soak-minutes, issue #16) ran its windows on the same listeners
    soaked = [row for row in results["rows"] if row["notes"][:1]
              and row["notes"][0].startswith("soak t=")]
    assert {row["system"] for row in soaked} == {"rostrum", "janus", "relay"}, output[-2000:]
    assert all(row["packets"] > 0 and row["sfu_fds"] > 0 for row in soaked), soaked
    assert output.count("soak summary:") == 3, output[-2000:]
