"""Run Rostrum's server with its event loop's long turns recorded (bench/run.py --loop-watch).

    BENCH_LOOP_LOG=/path python -m bench.loopwatch --demo
    python -m bench.loopwatch --show /path [20]      # the longest turns and what ran

The server's event loop gets a selector that notes when each turn of the loop starts (the
selector returns) and ends (the next wait): a *turn* is everything the loop ran between two
waits (callbacks, task steps, I/O handlers), the time an answer to ``/healthz`` can wait
behind it. A thread samples the loop thread's stack every millisecond while a turn runs
longer than 2 ms (``sys._current_frames``). Each turn of at least ``BENCH_LOOP_MIN_MS``
(default 10 ms) is kept with its start, length, the stacks sampled in it, counted (the
project's and its libraries' frames, innermost first), and the garbage collector's time in
it (``gc.callbacks``). Once a second the longest turns and
the counts by length go to $BENCH_LOOP_LOG as JSON, which the bench reads for a span of time
(:func:`stalls_between`). Turn lengths are exact; the sampler needs the GIL to look, so a
turn's stacks are sampled every switch interval (5 ms) at best. Everything else is
``python -m meeting_server``.
"""

from __future__ import annotations

import asyncio
import collections
import gc
import json
import os
import selectors
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

_KEEP = ("/sfu/", "/meeting_server/", "/aiortc/", "/aioice/", "/socketio/", "/engineio/",
         "/aiohttp/", "/OpenSSL/", "/pylibsrtp/", "/asyncio/", "/bench/", "/tests/")
_DEPTH = 10
SAMPLE_AFTER_S = 0.002


def _stack(frame: FrameType | None) -> str:
    """The frames that say what ran, innermost first: the project's and its libraries'."""
    out: list[str] = []
    while frame is not None and len(out) < _DEPTH:
        code = frame.f_code
        name = code.co_filename
        if any(k in name for k in _KEEP) and not name.endswith(
                ("/asyncio/base_events.py", "/asyncio/events.py", "/bench/loopwatch.py")):
            parts = name.split("/")
            out.append(f"{'/'.join(parts[-2:])}:{code.co_name}:{frame.f_lineno}")
        frame = frame.f_back
    return " < ".join(out)


class LoopWatch:
    """The turns of one event loop (its selector calls :meth:`waiting` and :meth:`woke`)."""

    def __init__(self, min_s: float = 0.01, period_s: float = 0.001) -> None:
        self.min_s = min_s
        self.period_s = period_s
        self.thread_id = 0
        self.stalls: list[dict[str, Any]] = []  # turns of at least min_s, the last 2,000
        self.counts: collections.Counter[str] = collections.Counter()
        self.lock = threading.Lock()
        self._turn_at: float | None = None
        self._stacks: collections.Counter[str] = collections.Counter()
        self._gc: list[float] = [0.0, 0.0, -1]  # in this turn: seconds, longest, oldest gen
        self._gc_started = 0.0

    def collecting(self, phase: str, info: dict[str, Any]) -> None:
        """A ``gc.callbacks`` hook: the collector's time inside the turn (any thread's
        collection holds the GIL, the loop's included)."""
        if phase == "start":
            self._gc_started = time.perf_counter()
            return
        took = time.perf_counter() - self._gc_started
        gc_ = self._gc
        gc_[0] += took
        gc_[1] = max(gc_[1], took)
        gc_[2] = max(gc_[2], int(info.get("generation", 0)))

    def woke(self) -> None:
        with self.lock:
            self.thread_id = threading.get_ident()
            self._turn_at = time.monotonic()
            self._stacks = collections.Counter()
            self._gc = [0.0, 0.0, -1]

    def waiting(self) -> None:
        now = time.monotonic()
        with self.lock:
            started, self._turn_at = self._turn_at, None
            if started is None:
                return
            took = now - started
            bucket = next((f">={b}ms" for b in (100, 50, 20, 10, 5) if took >= b / 1000),
                          "<5ms")
            self.counts[bucket] += 1
            if took >= self.min_s:
                self.stalls.append({"at": started, "ms": round(1000 * took, 1),
                                    "gc_ms": round(1000 * self._gc[0], 1),
                                    "gc_generation": self._gc[2],
                                    "stacks": self._stacks.most_common(4)})
                del self.stalls[:-2000]

    def sample(self) -> None:
        while True:
            time.sleep(self.period_s)
            with self.lock:
                started = self._turn_at
            if started is None or time.monotonic() - started < SAMPLE_AFTER_S:
                continue
            frame = sys._current_frames().get(self.thread_id)
            stack = _stack(frame)
            with self.lock:
                if self._turn_at == started:
                    self._stacks[stack] += 1

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"at": time.monotonic(), "counts": dict(self.counts),
                    "stalls": list(self.stalls)}


def watched_loop_policy(watch: LoopWatch) -> asyncio.AbstractEventLoopPolicy:
    """An event loop policy whose loops tell ``watch`` when each turn starts and ends."""

    class Selector(selectors.DefaultSelector):
        def select(self, timeout: float | None = None) -> Any:
            watch.waiting()
            try:
                return super().select(timeout)
            finally:
                watch.woke()

    class Policy(asyncio.DefaultEventLoopPolicy):
        def new_event_loop(self) -> asyncio.AbstractEventLoop:
            return asyncio.SelectorEventLoop(Selector())

    return Policy()


def _writer(watch: LoopWatch, path: str) -> None:
    while True:
        time.sleep(1.0)
        tmp = f"{path}.tmp"
        with open(tmp, "w") as f:
            json.dump(watch.snapshot(), f)
        os.replace(tmp, path)


def stalls_between(path: Path, t0: float, t1: float) -> list[dict[str, Any]]:
    """The recorded stalls that started between t0 and t1 (monotonic), longest first."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    inside = [s for s in data.get("stalls", []) if t0 <= s["at"] <= t1]
    return sorted(inside, key=lambda s: -s["ms"])


def summary(stalls: list[dict[str, Any]], top: int = 3) -> str:
    """One line: how many stalls, the longest, and what ran in the longest ones."""
    if not stalls:
        return "loop: no turn >= the watch's minimum"
    parts = [f"loop: {len(stalls)} long turns, longest {stalls[0]['ms']:.0f} ms"]
    for stall in stalls[:top]:
        what = stall["stacks"][0][0] if stall["stacks"] else "?"
        collected = f" (GC {stall['gc_ms']:.0f} ms)" if stall.get("gc_ms", 0) >= 1 else ""
        parts.append(f"{stall['ms']:.0f} ms in {what.split(' < ')[0]}{collected}")
    return "; ".join(parts)


def main() -> None:
    path = os.environ.get("BENCH_LOOP_LOG")
    if path:
        watch = LoopWatch(min_s=float(os.environ.get("BENCH_LOOP_MIN_MS", "10")) / 1000)
        asyncio.set_event_loop_policy(watched_loop_policy(watch))
        gc.callbacks.append(watch.collecting)
        threading.Thread(target=watch.sample, daemon=True, name="loopwatch").start()
        threading.Thread(target=_writer, args=(watch, path), daemon=True).start()
    from meeting_server.__main__ import main as server_main

    server_main()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--show":  # python -m bench.loopwatch --show LOG
        log = Path(sys.argv[2])
        for stall in stalls_between(log, 0, float("inf"))[:int(sys.argv[3]) if len(sys.argv) > 3
                                                         else 20]:
            collected = (f", of which the collector {stall['gc_ms']:.1f} ms (generation "
                         f"{stall['gc_generation']})" if stall.get("gc_ms") else "")
            print(f"{stall['ms']:7.1f} ms at {stall['at']:.1f}{collected}")
            for stack, n in stall["stacks"]:
                print(f"      {n:4d} x {stack}")
    else:
        main()
