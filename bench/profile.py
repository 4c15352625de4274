"""Summarize a py-spy `--format raw` profile (collapsed stacks): where the SFU's time goes.

    python -m bench.profile bench/out/logs-*/profile-rostrum-fanout-100.txt

Self time is the share of samples whose innermost frame is that function; total time is the
share of samples with the function anywhere on the stack. Idle samples (the event loop
waiting in `select`/`epoll`) are counted apart.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

_IDLE = ("select (selectors.py", "poll (selectors.py", "_run_once (asyncio/base_events.py")
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]*)(?::(?P<line>\d+))?\)$")


def _name(frame: str) -> str:
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    path = m.group("file")
    for marker in ("site-packages/", "lib/python3", "/work/main/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    path = re.sub(r"^\d+\.\d+/", "", path)
    return f"{m.group('func')} ({path})"


def summarize(path: Path, top: int = 30, loop_only: bool = True) -> str:
    """With ``loop_only``, only samples of the thread running the asyncio event loop count
    (other threads of the process are mostly idle: the store's, executors')."""
    self_time: dict[str, int] = {}
    total_time: dict[str, int] = {}
    samples = 0
    idle = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if f and not f.startswith(("process ",
                                                                          "thread "))]
        if not frames:
            continue
        if loop_only and not any("_run_once" in f for f in frames):
            continue
        samples += count
        inner = frames[-1]
        if any(marker in inner for marker in _IDLE[:2]):
            idle += count
            continue
        names = [_name(f) for f in frames]
        self_time[names[-1]] = self_time.get(names[-1], 0) + count
        for name in set(names):
            total_time[name] = total_time.get(name, 0) + count
    busy = max(1, samples - idle)
    out = [f"py-spy: {samples} samples of the event-loop thread, "
           f"{100 * idle / max(1, samples):.0f}% idle; shares below are of its busy samples",
           "", "| self % | function |", "|---|---|"]
    for name, count in sorted(self_time.items(), key=lambda kv: -kv[1])[:top]:
        out.append(f"| {100 * count / busy:.1f} | {name} |")
    out += ["", "| total % | function |", "|---|---|"]
    for name, count in sorted(total_time.items(), key=lambda kv: -kv[1])[:top]:
        out.append(f"| {100 * count / busy:.1f} | {name} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(summarize(Path(sys.argv[1]), top=int(sys.argv[2]) if len(sys.argv) > 2 else 30))
