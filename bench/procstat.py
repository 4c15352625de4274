"""What a process costs, from /proc: CPU seconds (all threads), resident memory, and the
machine's own CPU use (to see load from processes the bench does not own)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from sfu.procstat import CLK_TCK as CLK_TCK  # one reader of /proc/<pid>/stat
from sfu.procstat import cpu_seconds as cpu_seconds


def runqueue_wait_seconds(pid: int) -> float:
    """Time the threads of ``pid`` spent runnable but waiting for a CPU (schedstat), e.g.
    behind other processes on the same core."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0.0
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[1])
        except (OSError, IndexError, ValueError):
            pass
    return total / 1e9


def tree_pids(pid: int) -> list[int]:
    """``pid`` and its descendants (e.g. a shell wrapper and the real process)."""
    out = [pid]
    i = 0
    while i < len(out):
        try:
            with open(f"/proc/{out[i]}/task/{out[i]}/children") as f:
                out += [int(x) for x in f.read().split()]
        except OSError:
            pass
        i += 1
    return out


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def machine_cpu() -> tuple[float, float]:
    """(busy seconds, total seconds) over all cores since boot, from /proc/stat."""
    with open("/proc/stat") as f:
        parts = f.readline().split()[1:]
    values = [int(v) for v in parts]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    total = sum(values[:8])
    return (total - idle) / CLK_TCK, total / CLK_TCK


def cpu_busy(cpu: int) -> float:
    """Busy seconds of one CPU since boot (/proc/stat line cpuN)."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith(f"cpu{cpu} "):
                values = [int(v) for v in line.split()[1:]]
                idle = values[3] + (values[4] if len(values) > 4 else 0)
                return (sum(values[:8]) - idle) / CLK_TCK
    return 0.0


def cpu_count() -> int:
    return len(os.sched_getaffinity(0))


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


@dataclass
class Sample:
    at: float
    cpu: dict[int, float]
    wait: dict[int, float]
    cpu_busy: dict[int, float]
    machine_busy: float
    machine_total: float


def sample(pids: list[int], at: float, cpus: list[int] | None = None) -> Sample:
    cpu = {}
    wait = {}
    for pid in pids:
        try:
            cpu[pid] = cpu_seconds(pid)
        except OSError:
            cpu[pid] = 0.0
        wait[pid] = runqueue_wait_seconds(pid)
    busy, total = machine_cpu()
    per_cpu = {c: cpu_busy(c) for c in (cpus or [])}
    return Sample(at=at, cpu=cpu, wait=wait, cpu_busy=per_cpu, machine_busy=busy,
                  machine_total=total)


def descriptors(pid: int) -> tuple[int, int]:
    """Open file descriptors of ``pid``, and how many UDP sockets they open (distinct
    inodes, looked up in the process's /proc/<pid>/net/udp and udp6: the C send path's
    ``dup`` of the worker's one socket per transport is one socket, not one per fd)."""
    inodes: list[str] = []
    total = 0
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return 0, 0
    for name in names:
        total += 1
        try:
            target = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.append(target[8:-1])
    udp: set[str] = set()
    for table in ("udp", "udp6"):
        try:
            with open(f"/proc/{pid}/net/{table}") as f:
                next(f, None)
                udp.update(line.split()[9] for line in f if len(line.split()) > 9)
        except OSError:
            pass
    return total, len({inode for inode in inodes if inode in udp})
