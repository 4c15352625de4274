"""Remote SFU workers (sfu/worker_remote.py) against the server's own worker processes,
side by side in one run:

    REDIS_URL=redis://127.0.0.1:6379/15 python -m bench.remote_workers [--count 2000]
        [--kills 5]

1. The command's way there and back (as bench.workers): a worker process over its Unix
   socket against a remote worker over TCP on loopback after its HMAC handshake; median and
   p99 latency of one command at a time (µs), throughput pipelined (commands/s).
2. A worker's death: kill -9 the worker of a meeting, ``--kills`` times; the time until the
   control plane noticed (the router marked closed) and until the meeting had a fresh
   router on the other worker, p50 and max (ms), for a local pool of two and for two remote
   workers (their TCP connection closes; nothing waits for the registry's TTL).

Nothing here has media: what is measured is the control path. The machine is shared: read
the columns against each other, not alone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.workers import compare
from sfu.worker_client import MediaWorkers, RemoteRouter, RouterHandle, WorkerPool
from sfu.worker_registry import key
from sfu.worker_remote import ClusterWorkers, RemoteSlot

ROOT = Path(__file__).resolve().parent.parent


async def start_remote(url: str, cluster: str, secret: str, worker_id: str, port: int
                       ) -> asyncio.subprocess.Process:
    import redis.asyncio as aioredis

    folder = Path(tempfile.mkdtemp(prefix="rostrum-bench-rw-"))
    (folder / "secret").write_text(secret)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sfu.worker_main", "--listen", f"127.0.0.1:{port}",
        "--secret-file", str(folder / "secret"), "--rtc-address", "127.0.0.1",
        "--rtc-port", "0", "--redis-url", url, "--cluster", cluster, "--id", worker_id,
        stdin=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    client = aioredis.Redis.from_url(url)
    try:
        while await client.get(key(cluster, worker_id)) is None:
            if process.returncode is not None:
                raise RuntimeError(f"{worker_id} exited")
            await asyncio.sleep(0.05)
    finally:
        await client.aclose()
    return process


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def commands(count: int, local: RouterHandle, remote: RouterHandle) -> None:
    await compare(count, (("worker process (Unix)", local), ("remote worker (TCP)", remote)))


async def until(condition: Callable[[], bool], timeout: float = 20) -> None:
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("the workers did not come back")


async def one_death(workers: MediaWorkers, meeting_id: str,
                    kill: Callable[[RouterHandle], None]) -> tuple[float, float]:
    router = await workers.open_router(meeting_id)
    lost = asyncio.Event()
    workers.lost_listeners.append(lambda m: lost.set() if m == meeting_id else None)
    start = time.monotonic()
    kill(router)
    await asyncio.wait_for(lost.wait(), 10)
    noticed = time.monotonic() - start
    while True:
        try:
            fresh = await workers.open_router(meeting_id)
            if not fresh.closed:
                break
        except Exception:
            await asyncio.sleep(0.01)
    replaced = time.monotonic() - start
    workers.lost_listeners.pop()
    await workers.close_router(meeting_id)
    return noticed * 1000, replaced * 1000


async def deaths(kills: int, url: str) -> None:
    pool = WorkerPool(2, {"rtcAddresses": ["127.0.0.1"], "seats": 4})
    await pool.start()
    local: list[tuple[float, float]] = []
    try:
        for i in range(kills):
            def kill(router: RouterHandle) -> None:
                assert isinstance(router, RemoteRouter)
                slot = next(s for s in pool.slots if s.name == router.worker)
                os.kill(slot.pid, signal.SIGKILL)
            local.append(await one_death(pool, f"m-local-{i}", kill))
            await until(lambda: all(s.up for s in pool.slots))  # the pool restarts it
    finally:
        await pool.close()
    cluster, secret = "rostrum-bench-" + secrets.token_hex(4), secrets.token_urlsafe(24)
    processes: dict[str, asyncio.subprocess.Process] = {}
    remote: list[tuple[float, float]] = []
    for i in range(2):
        processes[f"b{i}"] = await start_remote(url, cluster, secret, f"b{i}", free_port())
    workers = ClusterWorkers(None, url, cluster, secret, 4)
    await workers.start()
    spare = 2
    try:
        for i in range(kills):
            def kill(router: RouterHandle) -> None:
                slot = workers.placement[router.meeting_id]
                assert isinstance(slot, RemoteSlot)
                processes[slot.entry.id].kill()
            remote.append(await one_death(workers, f"m-remote-{i}", kill))
            # a new remote worker in place of the dead one, discovered within a second
            name = f"b{spare}"
            spare += 1
            processes[name] = await start_remote(url, cluster, secret, name, free_port())
            await until(lambda: len(workers.remote) == 2)
    finally:
        await workers.close()
        for process in processes.values():
            if process.returncode is None:
                process.kill()
                await process.wait()

    def summary(values: list[float]) -> str:
        return f"{statistics.median(values):7.1f} / {max(values):7.1f}"
    print(f"\nkill -9 of a meeting's worker, {kills} times; p50 / max in ms")
    print(f"{'':<28} {'worker processes (pool of 2)':>30} {'remote workers (2)':>22}")
    print(f"{'noticed (router lost)':<28} {summary([n for n, _ in local]):>30} "
          f"{summary([n for n, _ in remote]):>22}")
    print(f"{'fresh router on the other':<28} {summary([r for _, r in local]):>30} "
          f"{summary([r for _, r in remote]):>22}")


async def main(count: int, kills: int) -> None:
    url = os.environ.get("REDIS_URL", "")
    if not url:
        raise SystemExit("REDIS_URL: the remote workers register in Redis")
    pool = WorkerPool(1, {"rtcAddresses": ["127.0.0.1"], "seats": 4})
    await pool.start()
    cluster, secret = "rostrum-bench-" + secrets.token_hex(4), secrets.token_urlsafe(24)
    process = await start_remote(url, cluster, secret, "cmd", free_port())
    workers = ClusterWorkers(None, url, cluster, secret, 4)
    await workers.start()
    try:
        await commands(count, await pool.open_router("bench"),
                       await workers.open_router("bench"))
    finally:
        await workers.close()
        await pool.close()
        process.kill()
        await process.wait()
    await deaths(kills, url)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.remote_workers")
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--kills", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.count, args.kills))
