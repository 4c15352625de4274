"""The cost of the socket hop: a command to a router in this process against the same
command to a router in a worker process (sfu/worker_client.py), side by side in one run.

    python -m bench.workers                  # 2000 commands per case
    python -m bench.workers --count 5000
    python -m bench.workers failover         # recovery from kill -9: bench/failover.py

Cases (no media: the routers have no connections, so what is measured is the command's
way there and back, plus the router's own work, which is the same on both sides):

- ``ApplyPlan`` of a small plan (12 participants) and of a plenary's plan (600
  participants, six channels), each with a new version;
- ``Listen`` of a participant who has not subscribed (refused with ``conflict``: the
  refusal's way back is measured too).

For each: the median and p99 latency of one command awaited at a time (µs), and the
throughput of commands submitted back to back (what the planner does) and awaited together
(commands/s). The machine is shared: read the two columns against each other, not alone.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable

from sfu.commands import ApplyPlan, CommandError, ControlCommand, Listen
from sfu.plan import ChannelFeed, MediaPlan
from sfu.worker import Worker
from sfu.worker_client import LocalRouter, RouterHandle, WorkerPool

LANGUAGES = ("ar", "zh", "en", "fr", "ru", "es")


def plan_of(meeting_id: str, n: int) -> Callable[[int], MediaPlan]:
    people = [f"p{i}" for i in range(n)]
    forwarded = frozenset(people[:3])
    seated = frozenset(people[: n - 6])
    channels = tuple(ChannelFeed(language, mic=people[n - 1 - i] if i else None,
                                 follows_floor=not i) for i, language in enumerate(LANGUAGES))

    def make(version: int) -> MediaPlan:
        return MediaPlan(meeting_id, version, forwarded=forwarded, seated=seated,
                         presenters=frozenset(people[:1]), channels=channels, incoming=(),
                         floor_holder=people[0])
    return make


async def one_at_a_time(router: RouterHandle, commands: list[ControlCommand]) -> list[float]:
    out = []
    for command in commands:
        start = time.perf_counter()
        try:
            await router.execute(command)
        except CommandError:
            pass
        out.append((time.perf_counter() - start) * 1e6)
    return out


async def pipelined(router: RouterHandle, commands: list[ControlCommand]) -> float:
    start = time.perf_counter()
    futures = [router.submit(command) for command in commands]
    await asyncio.gather(*futures, return_exceptions=True)
    return len(commands) / (time.perf_counter() - start)


def p99(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.99) - 1]


async def compare(count: int, routers: tuple[tuple[str, RouterHandle], ...]) -> None:
    """The same commands on each router, one column per router: median / p99 latency of
    one command awaited at a time, and the throughput of commands submitted together."""
    versions = iter(range(1, 10 ** 9))
    small, plenary = plan_of("bench", 12), plan_of("bench", 600)
    cases: dict[str, Callable[[], ControlCommand]] = {
        "ApplyPlan n=12": lambda: ApplyPlan(small(next(versions))),
        "ApplyPlan n=600": lambda: ApplyPlan(plenary(next(versions))),
        "Listen (refused)": lambda: Listen("nobody", "fr"),
    }
    print(f"{count} commands per case; median / p99 latency in µs, throughput in "
          "commands/s (pipelined)")
    print(f"{'case':<18}" + "".join(f" {label:>30}" for label, _ in routers))
    for name, make in cases.items():
        row = []
        for _, router in routers:
            latencies = await one_at_a_time(router, [make() for _ in range(count)])
            rate = await pipelined(router, [make() for _ in range(count)])
            row.append(f"{statistics.median(latencies):8.1f} / {p99(latencies):8.1f}"
                       f" {rate:9.0f}/s")
        print(f"{name:<18}" + "".join(f" {cell:>30}" for cell in row))


async def main(count: int) -> None:
    local_worker = Worker(seats=4)
    local = LocalRouter(local_worker.router("bench"))
    pool = WorkerPool(1, {"rtcAddresses": ["127.0.0.1"], "seats": 4})
    await pool.start()
    try:
        remote = await pool.open_router("bench")
        await compare(count, (("in-process", local), ("worker process", remote)))
    finally:
        await pool.close()
        await local_worker.close()


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["failover"]:
        from bench.failover import cli

        cli(sys.argv[2:])
        sys.exit(0)
    parser = argparse.ArgumentParser(prog="python -m bench.workers")
    parser.add_argument("--count", type=int, default=2000)
    asyncio.run(main(parser.parse_args().count))
