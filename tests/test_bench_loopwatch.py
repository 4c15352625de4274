"""bench/loopwatch.py: a long turn of the event loop is measured and named by what ran in it;
short turns are counted, not kept."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

from bench.loopwatch import LoopWatch, stalls_between, summary, watched_loop_policy


def hold_the_loop(seconds: float) -> None:
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        sum(range(100))


def test_a_long_turn_is_kept_with_what_ran_in_it(tmp_path: Path) -> None:
    watch = LoopWatch(min_s=0.02)
    threading.Thread(target=watch.sample, daemon=True).start()
    loop = watched_loop_policy(watch).new_event_loop()

    async def work() -> None:
        for _ in range(20):
            await asyncio.sleep(0.001)  # short turns
        await asyncio.sleep(0.01)
        hold_the_loop(0.06)
        await asyncio.sleep(0.01)

    try:
        loop.run_until_complete(work())
    finally:
        loop.close()
    snapshot = watch.snapshot()
    assert sum(snapshot["counts"].values()) >= 20
    (long,) = [s for s in snapshot["stalls"] if s["ms"] >= 50]
    assert long["ms"] < 200
    assert any("hold_the_loop" in stack for stack, _ in long["stacks"])
    log = tmp_path / "loop.json"
    log.write_text(json.dumps(snapshot))
    found = stalls_between(log, long["at"] - 1, long["at"] + 1)
    assert found[0]["at"] == long["at"] and found[0]["ms"] == long["ms"]
    assert "longest" in summary(found) and stalls_between(log, 0, long["at"] - 1) == []
