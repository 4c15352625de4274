"""Run Rostrum's server with its allocations traced (bench/run.py --mem-watch).

    BENCH_MEM_LOG=/path python -m bench.memwatch --demo

``tracemalloc`` traces every allocation (8 frames deep: the SFU's own call sites show above
aiortc's); on SIGUSR1 the process writes to ``$BENCH_MEM_LOG.<n>`` (n counts the signals) the
traced total, the top allocation sites by line and by file, and the live objects of each type
(``gc.get_objects``), so that two points of a ramp (N = 100 and N = 300) give the bytes and
objects each listener costs, site by site. Tracing slows the server down: its CPU figures are
not comparable to a run without it. Everything else is ``python -m meeting_server``.
"""

from __future__ import annotations

import collections
import gc
import os
import signal
import threading
import tracemalloc
from types import FrameType

_count = [0]
_wanted = threading.Event()


def _on_signal(signum: int, frame: FrameType | None) -> None:
    _wanted.set()


def _write(path: str) -> None:
    snapshot = tracemalloc.take_snapshot().filter_traces(
        (tracemalloc.Filter(False, tracemalloc.__file__),
         tracemalloc.Filter(False, "<frozen importlib._bootstrap>")))
    lines = [f"traced {sum(s.size for s in snapshot.statistics('filename')) / 1e6:.1f} MB"]
    for key in ("lineno", "filename"):
        lines.append(f"## top by {key}")
        for stat in snapshot.statistics(key)[:40]:
            frame = stat.traceback[0]
            lines.append(f"{stat.size / 1e3:10.1f} kB {stat.count:8d} {frame.filename}:"
                         f"{frame.lineno}")
    types = collections.Counter(type(o).__qualname__ for o in gc.get_objects())
    lines.append("## live objects by type (gc-tracked)")
    lines += [f"{n:9d} {name}" for name, n in types.most_common(60)]
    _count[0] += 1
    with open(f"{path}.{_count[0]}", "w") as f:
        f.write("\n".join(lines) + "\n")


def _writer(path: str) -> None:
    while True:
        _wanted.wait()
        _wanted.clear()
        _write(path)


def main() -> None:
    path = os.environ.get("BENCH_MEM_LOG")
    if path:
        tracemalloc.start(8)
        signal.signal(signal.SIGUSR1, _on_signal)
        threading.Thread(target=_writer, args=(path,), daemon=True).start()
    from meeting_server.__main__ import main as server_main

    server_main()


if __name__ == "__main__":
    main()
