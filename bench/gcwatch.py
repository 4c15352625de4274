"""Run Rostrum's server with its garbage-collector pauses recorded (bench/run.py --gc-watch).

    BENCH_GC_LOG=/path python -m bench.gcwatch --demo

A `gc.callbacks` hook times every collection; once a second the totals per generation (count,
seconds, longest pause) are written to $BENCH_GC_LOG as JSON, which the bench reads at both
ends of a measured window. Everything else is `python -m meeting_server`.
"""

from __future__ import annotations

import gc
import json
import os
import threading
import time
from typing import Any

_started: list[float] = [0.0]
_totals: dict[int, list[float]] = {0: [0, 0.0, 0.0], 1: [0, 0.0, 0.0], 2: [0, 0.0, 0.0]}
_long: list[tuple[float, int, float]] = []  # (monotonic end, generation, seconds) >= 10 ms


def _callback(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _started[0] = time.perf_counter()
        return
    took = time.perf_counter() - _started[0]
    entry = _totals[int(info.get("generation", 0))]
    entry[0] += 1
    entry[1] += took
    entry[2] = max(entry[2], took)
    if took >= 0.01:
        _long.append((time.monotonic(), int(info.get("generation", 0)), took))
        del _long[:-500]


def _writer(path: str) -> None:
    while True:
        time.sleep(1.0)
        data = {"at": time.monotonic(), "long": list(_long),
                "generations": {str(g): {"count": v[0], "seconds": v[1], "max": v[2]}
                                for g, v in _totals.items()}}
        tmp = f"{path}.tmp"
        with open(tmp, "w") as f:
            json.dump(data, f)
        os.replace(tmp, path)


def main() -> None:
    path = os.environ.get("BENCH_GC_LOG")
    if path:
        gc.callbacks.append(_callback)
        threading.Thread(target=_writer, args=(path,), daemon=True).start()
    from meeting_server.__main__ import main as server_main

    server_main()


if __name__ == "__main__":
    main()
