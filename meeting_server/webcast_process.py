"""WebcastProcess: one meeting's webcast process (``python -m webcast.process``), started
and supervised from the server's event loop, which it never runs on.

A process that dies (a crash, a ``kill -9``) is started again with the same job (the same
tap ports) after a short backoff; the new process is a new *generation*: its playlists
continue the old ones after an ``EXT-X-DISCONTINUITY`` (``webcast.publish``), and every
segment published before is kept. ``end()`` finishes the webcast (EXT-X-ENDLIST);
``stop()`` (server shutdown) leaves it to be continued.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from webcast.layout import Job

logger = logging.getLogger(__name__)

RESTART_BACKOFF_S = (0.2, 0.5, 1.0, 2.0, 5.0)
STABLE_S = 30.0  # a generation that ran this long resets the backoff


EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
# the webcast's receiving ports are chosen from here, below the kernel's ephemeral range
WEBCAST_PORTS_FROM = 10000


def ephemeral_range(path: Path = EPHEMERAL_RANGE_FILE) -> tuple[int, int]:
    """The kernel's ephemeral ports (what a bind to port 0 may get), Linux's default when
    it cannot be read."""
    try:
        low, high = (int(part) for part in path.read_text(encoding="ascii").split())
    except (OSError, ValueError):
        return 32768, 60999
    return low, high


def free_even_ports(count: int, host: str = "127.0.0.1", *,
                    ephemeral: tuple[int, int] | None = None,
                    rng: random.Random | None = None) -> list[int]:
    """``count`` even UDP ports whose next port is free too (RTP and RTCP of each tap).

    They are chosen below the kernel's ephemeral range: the ports are free when chosen but
    released before the webcast process binds them, and meanwhile any socket bound to port
    0 (the taps' own sockets, ICE's) could take an ephemeral one (seen once: the Chinese
    tap's socket took the Spanish rendition's port, and the webcast process could not
    start). Random even ports of that range, each checked by binding it and its neighbour;
    when the range below is too small, ports the kernel gives, as before."""
    low, _ = ephemeral or ephemeral_range()
    first, last = WEBCAST_PORTS_FROM, low - 2
    choose = rng or random.SystemRandom()
    held: list[socket.socket] = []
    ports: list[int] = []
    try:
        if last - first >= 64 * count:
            tries = 0
            while len(ports) < count and tries < 200 * count:
                tries += 1
                port = choose.randrange(first, last, 2)
                pair = _bind_pair(host, port)
                if pair:
                    held.extend(pair)
                    ports.append(port)
        while len(ports) < count:  # no room below the range: what the kernel gives
            rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            rtp.bind((host, 0))
            held.append(rtp)
            port = rtp.getsockname()[1]
            if port % 2 or port >= 65534:
                continue
            rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                rtcp.bind((host, port + 1))
            except OSError:
                rtcp.close()
                continue
            held.append(rtcp)
            ports.append(port)
    finally:
        for sock in held:
            sock.close()
    return ports


def _bind_pair(host: str, port: int) -> list[socket.socket]:
    """Both sockets of ``port`` and ``port + 1`` bound, or none (an empty list)."""
    bound: list[socket.socket] = []
    for number in (port, port + 1):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((host, number))
        except OSError:
            sock.close()
            for other in bound:
                other.close()
            return []
        bound.append(sock)
    return bound


class WebcastProcess:
    def __init__(self, job: Job, folder: Path, *,
                 on_ready: Callable[[int], None] | None = None) -> None:
        self.job = job
        self.folder = folder
        self.job_path = folder / "job.json"
        self.log_path = folder / "webcast.log"
        self.on_ready = on_ready
        self.process: asyncio.subprocess.Process | None = None
        self.generation: int | None = None
        self.restarts = 0
        self.figures: dict[str, Any] = {}
        self.ended = False
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._log: BinaryIO | None = None
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._ready = asyncio.Event()
        self._prefix = f"[{job.meeting_id} webcast]"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.job_path.write_text(self.job.to_json(), encoding="utf-8")
        if self._log is None:
            self._log = open(self.log_path, "ab")  # noqa: SIM115 (kept open while it runs)
        if self._task is None:
            self._task = asyncio.ensure_future(self._supervise())

    async def wait_ready(self, timeout: float = 20.0) -> None:
        await asyncio.wait_for(self._ready.wait(), timeout)

    async def wait_generation(self, generation: int, timeout: float = 30.0) -> None:
        """Until a process of at least this generation is ready (a restart)."""
        if self.generation is not None and self.generation >= generation:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((generation, waiter))
        await asyncio.wait_for(waiter, timeout)

    async def _supervise(self) -> None:
        failures = 0
        loop = asyncio.get_running_loop()
        try:
            while not self._stopping:
                started = loop.time()
                code = await self._run_once()
                if self._stopping:
                    break
                if loop.time() - started > STABLE_S:
                    failures = 0
                delay = RESTART_BACKOFF_S[min(failures, len(RESTART_BACKOFF_S) - 1)]
                failures += 1
                self.restarts += 1
                logger.warning("%s process exited (%s); restarting in %.1f s", self._prefix,
                               code, delay)
                await asyncio.sleep(delay)
        except asyncio.CancelledError:
            pass
        except Exception:
            logger.exception("%s supervisor failed", self._prefix)

    async def _run_once(self) -> int | None:
        self._ready.clear()
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "webcast.process", str(self.job_path),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=self._log)
        logger.info("%s process %s started", self._prefix, self.process.pid)
        assert self.process.stdout is not None
        try:
            async for line in self.process.stdout:
                self._event(line)
        finally:
            code = await self.process.wait()
        return code

    def _event(self, line: bytes) -> None:
        try:
            event = json.loads(line)
        except ValueError:
            logger.warning("%s unreadable output %r", self._prefix, line[:200])
            return
        kind = event.get("event")
        if kind == "ready":
            self.generation = int(event.get("generation") or 0)
            self._ready.set()
            for wanted, waiter in list(self._waiters):
                if wanted <= self.generation:
                    self._waiters.remove((wanted, waiter))
                    if not waiter.done():
                        waiter.set_result(None)
            if self.on_ready is not None:
                try:
                    self.on_ready(self.generation)
                except Exception:
                    logger.exception("%s ready listener failed", self._prefix)
        elif kind == "figures":
            self.figures = event
        elif kind == "stopped":
            self.ended = bool(event.get("ended"))

    async def _finish(self, command: bytes | None, timeout: float) -> None:
        self._stopping = True
        process = self.process
        if process is not None and process.returncode is None and process.stdin is not None:
            with contextlib.suppress(ConnectionError, RuntimeError):
                if command:
                    process.stdin.write(command)
                    await process.stdin.drain()
                process.stdin.close()
            try:
                await asyncio.wait_for(process.wait(), timeout)
            except TimeoutError:
                logger.warning("%s process did not stop; killed", self._prefix)
                process.kill()
                await process.wait()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._log is not None:
            self._log.close()
            self._log = None

    async def end(self, timeout: float = 20.0) -> None:
        """The meeting ended: last segments, EXT-X-ENDLIST, exit."""
        await self._finish(b"end\n", timeout)

    async def stop(self, timeout: float = 10.0) -> None:
        """Server shutdown: exit without ending; a later run continues the playlists."""
        await self._finish(None, timeout)
