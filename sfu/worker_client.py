"""The control plane's side of the workers: one interface to a meeting's router whether the
router runs in this process or in a worker process.

- ``RouterHandle``: a meeting's router as the control plane sees it. ``submit`` sends a
  control command now (commands reach the router in the order they were submitted) and
  returns a future of its result; ``execute`` awaits it; ``negotiate`` awaits a connection
  command; ``on_event`` registers for the router's typed events. ``LocalRouter`` wraps a
  ``Router`` of this process; ``RemoteRouter`` speaks to a worker process over its socket.
- ``MediaWorkers``: where routers are opened. ``LocalWorkers`` is one in-process ``Worker``
  (``ROSTRUM_WORKERS=0``); ``WorkerPool`` starts N worker processes
  (``python -m sfu.worker_main``), places each meeting on the least loaded one, polls their
  load every second, and restarts one that dies.

docs/architecture.md, "Workers", describes the process model, the socket protocol and
supervision.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
import logging
import os
import sys
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .commands import (
    CloseRouter,
    Command,
    CommandError,
    ConnectionCommand,
    ControlCommand,
    GetLoad,
    Load,
    OpenRouter,
    Reply,
    Request,
    Result,
)
from .events import RouterEvent, RouterStats, UdpStats
from .procstat import cpu_seconds
from .router import Router
from .wire import WireError, decode, frame
from .worker import Worker, read_body

logger = logging.getLogger(__name__)

EventListener = Callable[[RouterEvent], None]
LOAD_INTERVAL_S = 1.0  # how often each worker's load is polled (also its heartbeat)
LOAD_TIMEOUT_S = 3.0  # a worker that does not answer its load this long, idle, is killed
# ... unless it spent this share of a core meanwhile: it is busy (a starved loop answers
# late), not hung; a busy worker that has not answered for BUSY_MAX_S is killed all the same
BUSY_SHARE = 0.1
BUSY_MAX_S = 30.0
START_TIMEOUT_S = 15.0
PACKETS_PER_CONSUMER = 50.0  # placement: 50 packets/s weigh as much as one consumer
ROOT = str(Path(__file__).resolve().parent.parent)  # where ``sfu`` is importable from
GONE = ("the media worker of this meeting stopped; its connections are lost: publish and "
        "subscribe again after /media media-restart")
# the code of every command on a router whose worker died (docs/protocol.md, "Error codes")
MEDIA_RESTARTING = "media-restarting"


def _gone() -> CommandError:
    return CommandError(MEDIA_RESTARTING, GONE)


class RouterHandle(ABC):
    """A meeting's router, as the control plane may use it."""

    meeting_id: str

    @property
    @abstractmethod
    def closed(self) -> bool: ...

    @abstractmethod
    def submit(self, command: ControlCommand) -> asyncio.Future[Result]:
        """Send a control command now; its result (or ``CommandError``) later."""

    async def execute(self, command: ControlCommand) -> Result:
        return await self.submit(command)

    @abstractmethod
    async def negotiate(self, command: ConnectionCommand) -> Result: ...

    @abstractmethod
    def on_event(self, listener: EventListener) -> None: ...


def log_failure(what: str) -> Callable[[asyncio.Future[Result]], None]:
    """A done-callback for a submitted command nobody awaits: a refusal is logged."""
    def done(future: asyncio.Future[Result]) -> None:
        if future.cancelled():
            return
        exc = future.exception()
        if exc is not None:
            logger.error("%s failed: %s", what, exc)
    return done


class LocalRouter(RouterHandle):
    """A router of this process (``router``: the object itself, for tests of the router's
    internals only; the control plane speaks commands, the webcast's taps included)."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self.meeting_id = router.meeting_id

    @property
    def closed(self) -> bool:
        return self.router.closed

    def submit(self, command: ControlCommand) -> asyncio.Future[Result]:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        try:
            future.set_result(self.router.execute(command))
        except CommandError as exc:
            future.set_exception(exc)
        return future

    async def negotiate(self, command: ConnectionCommand) -> Result:
        return await self.router.negotiate(command)

    def on_event(self, listener: EventListener) -> None:
        self.router.on_event(listener)


def in_process(handle: RouterHandle) -> Router | None:
    """The Router object behind a handle when it lives in this process, else None."""
    return handle.router if isinstance(handle, LocalRouter) else None


class Connection:
    """The control plane's end of one worker's socket: requests out (each with an id),
    replies and events in."""

    def __init__(self, name: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 on_event: EventListener, on_lost: Callable[[], None]) -> None:
        self.name = name
        self.reader, self.writer = reader, writer
        self.on_event, self.on_lost = on_event, on_lost
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.closed = False
        self._ids = 0
        self._task = asyncio.ensure_future(self._read())

    def request(self, meeting_id: str, command: Command) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self.closed:
            future.set_exception(_gone())
            return future
        self._ids += 1
        self.pending[self._ids] = future
        self.writer.write(frame(Request(self._ids, meeting_id, command)))
        return future

    async def _read(self) -> None:
        try:
            while True:
                body = await read_body(self.reader)
                if body is None:
                    break
                value = decode(body)
                if isinstance(value, Reply):
                    self._resolve(value)
                elif isinstance(value, RouterEvent):
                    try:
                        self.on_event(value)
                    except Exception:
                        logger.exception("%s: event listener failed", self.name)
                else:
                    raise WireError(f"unexpected {type(value).__name__} from the worker")
        except WireError as exc:
            logger.error("%s sent a bad frame: %s", self.name, exc)
        except (ConnectionError, OSError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            self._lost()

    def _resolve(self, reply: Reply) -> None:
        future = self.pending.pop(reply.id, None)
        if future is None or future.done():
            if reply.refusal is not None:
                logger.error("%s refused a frame: %s", self.name, reply.refusal.message)
            return
        if reply.refusal is not None:
            future.set_exception(CommandError(reply.refusal.code, reply.refusal.message))
        else:
            future.set_result(reply.result)

    def _lost(self) -> None:
        if self.closed:
            return
        self.closed = True
        for future in self.pending.values():
            if not future.done():
                future.set_exception(_gone())
        self.pending.clear()
        self.writer.close()
        self.on_lost()

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class RemoteRouter(RouterHandle):
    """A router in a worker process: every command a frame on the worker's socket."""

    def __init__(self, connection: Connection, meeting_id: str, worker: str) -> None:
        self.connection = connection
        self.meeting_id = meeting_id
        self.worker = worker  # the name of the worker it is placed on
        self.listeners: list[EventListener] = []
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed or self.connection.closed

    def mark_closed(self) -> None:
        self._closed = True

    def detach_parts(self) -> None:
        """Its home worker died or it closes: a meeting spread over several workers closes
        its parts (sfu/spread.py); a router on one worker has none."""

    def part_lost(self, slot: WorkerSlot) -> list[str]:
        """Another worker holding part of this meeting died: who lost their media there
        (sfu/spread.py; none for a router on one worker)."""
        return []

    def submit(self, command: ControlCommand) -> asyncio.Future[Result]:
        if self.closed:
            future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
            future.set_exception(_gone())
            return future
        return self.connection.request(self.meeting_id, command)

    async def negotiate(self, command: ConnectionCommand) -> Result:
        if self.closed:
            raise _gone()
        result: Result = await self.connection.request(self.meeting_id, command)
        return result

    def on_event(self, listener: EventListener) -> None:
        self.listeners.append(listener)

    def deliver(self, event: RouterEvent) -> None:
        for listener in self.listeners:
            try:
                listener(event)
            except Exception:
                logger.exception("[%s] router event listener failed", self.meeting_id)


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    """One worker as /metrics shows it."""

    name: str
    pid: int
    up: bool
    restarts: int
    routers: int
    consumers: int
    packets_per_s: float
    udp: UdpStats | None = None  # its one UDP port's counters (None: no mux, or no load yet)


class MediaWorkers(ABC):
    """Where the meetings' routers live."""

    def __init__(self) -> None:
        # told (meeting id) when a meeting's router was lost with its worker
        self.lost_listeners: list[Callable[[str], None]] = []
        # told (meeting id, participant ids) when a worker holding part of a meeting spread
        # over several died (sfu/spread.py): those listeners lost their subscriptions only
        self.part_lost_listeners: list[Callable[[str, list[str]], None]] = []

    async def start(self) -> None:
        return None

    @abstractmethod
    async def open_router(self, meeting_id: str, *, video_codec: str = "VP8"
                          ) -> RouterHandle: ...

    @abstractmethod
    async def close_router(self, meeting_id: str) -> None: ...

    @abstractmethod
    async def stats(self) -> list[RouterStats]: ...

    @abstractmethod
    def describe(self) -> list[WorkerInfo]: ...

    @abstractmethod
    async def close(self) -> None: ...

    async def counts(self) -> dict[str, int]:
        stats = await self.stats()
        return {"routers": len(stats), "transports": sum(len(s.transports) for s in stats),
                "producers": sum(len(s.producers) for s in stats),
                "consumers": sum(s.consumers for s in stats),
                "subscriptions": sum(len(s.subscribers) for s in stats)}


class LocalWorkers(MediaWorkers):
    """``ROSTRUM_WORKERS=0``: one worker inside the server process (``worker``)."""

    def __init__(self, worker: Worker) -> None:
        super().__init__()
        self.worker = worker

    async def open_router(self, meeting_id: str, *, video_codec: str = "VP8"
                          ) -> RouterHandle:
        return LocalRouter(self.worker.router(meeting_id, video_codec=video_codec))

    async def close_router(self, meeting_id: str) -> None:
        await self.worker.close_router(meeting_id)

    async def stats(self) -> list[RouterStats]:
        return self.worker.stats()

    async def counts(self) -> dict[str, int]:
        return self.worker.counts()

    def describe(self) -> list[WorkerInfo]:
        stats = self.worker.stats()
        return [WorkerInfo("in-process", os.getpid(), True, 0, len(stats),
                           sum(s.consumers for s in stats), 0.0, self.worker.udp_stats())]

    async def close(self) -> None:
        await self.worker.close()


def process_cpu_s(pid: int) -> float | None:
    """CPU seconds a local process has used (procstat.py); None when it cannot be read."""
    if pid <= 0:
        return None
    try:
        return cpu_seconds(pid)
    except (OSError, IndexError, ValueError):
        return None


@dataclass
class WorkerSlot:
    """One supervised worker process."""

    index: int
    socket_path: str
    process: asyncio.subprocess.Process | None = None
    connection: Connection | None = None
    load: Load | None = None
    routers: dict[str, RemoteRouter] = field(default_factory=dict)
    restarts: int = 0
    up: bool = False
    started_at: float = 0.0
    died_at: float | None = None  # when the server last noticed it was gone
    pending: int = 0  # consumers placed on it since its load was last read
    silent_since: float | None = None  # when a load request first went unanswered

    @property
    def consumers(self) -> int:
        """Its consumers as placement counts them: the last load read, and those since."""
        return (self.load.consumers if self.load else 0) + self.pending

    @property
    def name(self) -> str:
        return f"worker-{self.index}"

    @property
    def pid(self) -> int:
        return self.process.pid if self.process is not None else 0

    def score(self) -> tuple[float, int, int]:
        """Placement: the least loaded first (consumers, then packets/s as consumers)."""
        rate = self.load.packets_per_s if self.load else 0.0
        return (self.consumers + rate / PACKETS_PER_CONSUMER, len(self.routers), self.index)


class WorkerPool(MediaWorkers):
    """N worker processes, started, placed on, polled and restarted by this server."""

    def __init__(self, count: int, settings: dict[str, Any], run_dir: Path | None = None,
                 max_consumers: int = 0) -> None:
        super().__init__()
        if count < 1:
            raise ValueError("a worker pool has at least one worker")
        if max_consumers < 0:
            raise ValueError("max_consumers is 0 (no spreading) or more")
        self.settings = settings
        # a meeting's listeners go to its home worker while it has fewer consumers than
        # this, then to the least loaded worker over a pipe (sfu/spread.py); 0: never
        self.max_consumers = max_consumers
        self.run_dir = run_dir or Path(tempfile.mkdtemp(prefix="rostrum-workers-"))
        self.slots = [WorkerSlot(i, str(self.run_dir / f"worker-{i}.sock"))
                      for i in range(count)]
        self.placement: dict[str, WorkerSlot] = {}  # meeting id -> its worker
        # a meeting's router being opened: a second open_router of the same meeting meanwhile
        # (a join while its lost router is replaced) waits for it, so no meeting is ever
        # placed on two workers
        self._opening: dict[str, asyncio.Future[RemoteRouter]] = {}
        self.closing = False
        self._tasks: list[asyncio.Task[None]] = []
        # told (slot) when a worker died and when it serves again
        self.died_listeners: list[Callable[[WorkerSlot], None]] = []
        self.restarted_listeners: list[Callable[[WorkerSlot], None]] = []

    async def start(self) -> None:
        await asyncio.gather(*(self._spawn(slot) for slot in self.slots))
        for slot in self.slots:
            self._tasks.append(asyncio.ensure_future(self._supervise(slot)))
        self._tasks.append(asyncio.ensure_future(self._poll()))
        logger.info("%d media worker processes: %s", len(self.slots),
                    ", ".join(f"{s.name} pid {s.pid}" for s in self.slots))

    def settings_of(self, slot: WorkerSlot) -> dict[str, Any]:
        """A worker's settings: the pool's, with worker ``i`` on UDP port ``rtcPort + i`` (a
        port of 0, any free port, and no port, aioice's sockets, stay as they are)."""
        port = self.settings.get("rtcPort")
        if isinstance(port, int) and port > 0:
            return {**self.settings, "rtcPort": port + slot.index}
        return dict(self.settings)

    async def _spawn(self, slot: WorkerSlot) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(slot.socket_path)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (ROOT, os.environ.get("PYTHONPATH", "")) if p)}
        slot.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "sfu.worker_main", "--socket", slot.socket_path,
            "--settings", json.dumps(self.settings_of(slot)), "--name", slot.name,
            stdin=asyncio.subprocess.PIPE, env=env)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if slot.process.returncode is not None:
                raise RuntimeError(f"{slot.name} exited at start "
                                   f"(status {slot.process.returncode})")
            try:
                reader, writer = await asyncio.open_unix_connection(slot.socket_path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() > deadline:
                    slot.process.kill()
                    raise RuntimeError(f"{slot.name} did not listen within "
                                       f"{START_TIMEOUT_S:g} s") from None
                await asyncio.sleep(0.02)
        slot.connection = Connection(slot.name, reader, writer,
                                     on_event=functools.partial(self._event, slot),
                                     on_lost=functools.partial(self._connection_lost, slot))
        slot.load, slot.up, slot.started_at = None, True, time.monotonic()

    def _event(self, slot: WorkerSlot, event: RouterEvent) -> None:
        router = slot.routers.get(event.meeting_id)
        if router is not None:
            router.deliver(event)

    def _connection_lost(self, slot: WorkerSlot) -> None:
        """The socket closed: the worker is dead or broken; the supervisor restarts it."""
        if self.closing:
            return
        self._lose(slot)
        if slot.process is not None and slot.process.returncode is None:
            logger.error("%s (pid %d) closed its socket: killing it", slot.name, slot.pid)
            slot.process.kill()

    def _lose(self, slot: WorkerSlot) -> None:
        """The worker is gone: its routers are closed for the control plane."""
        if not slot.up:
            return
        slot.up, slot.died_at, slot.load = False, time.monotonic(), None
        # a meeting whose home was elsewhere only lost a part (sfu/spread.py): its home
        # router goes on, those listeners subscribe again
        lost = [m for m, r in slot.routers.items() if self.placement.get(m) is slot]
        parts_lost: list[tuple[str, list[str]]] = []
        for meeting_id, router in slot.routers.items():
            router.mark_closed()
            home = self.placement.get(meeting_id)
            spread = home.routers.get(meeting_id) if home is not None else None
            if home is slot:
                router.detach_parts()
            elif spread is not None:
                parts_lost.append((meeting_id, spread.part_lost(slot)))
        slot.routers.clear()
        for meeting_id in lost:
            if self.placement.get(meeting_id) is slot:
                del self.placement[meeting_id]
        logger.error("%s (pid %d) is gone; %d meeting(s) lost their media: %s", slot.name,
                     slot.pid, len(lost), ", ".join(lost) or "none")
        for listener in self.died_listeners:
            listener(slot)
        for meeting_id in lost:
            for lost_listener in self.lost_listeners:
                try:
                    lost_listener(meeting_id)
                except Exception:
                    logger.exception("[%s] lost-router listener failed", meeting_id)
        for meeting_id, listeners in parts_lost:
            for part_listener in self.part_lost_listeners:
                try:
                    part_listener(meeting_id, listeners)
                except Exception:
                    logger.exception("[%s] lost-part listener failed", meeting_id)

    async def _supervise(self, slot: WorkerSlot) -> None:
        backoff = 0.1
        try:
            while not self.closing:
                assert slot.process is not None
                status = await slot.process.wait()
                if self.closing:
                    return
                logger.error("%s (pid %d) exited with status %d", slot.name, slot.pid, status)
                self._lose(slot)
                if slot.connection is not None:
                    await slot.connection.close()
                if time.monotonic() - slot.started_at > 30:
                    backoff = 0.1  # it had served a while: no crash loop
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                while not self.closing:
                    try:
                        await self._spawn(slot)
                        break
                    except (RuntimeError, OSError) as exc:
                        logger.error("restarting %s failed: %s", slot.name, exc)
                        await asyncio.sleep(backoff)
                        backoff = min(backoff * 2, 5.0)
                slot.restarts += 1
                logger.warning("%s restarted (pid %d, restart %d)", slot.name, slot.pid,
                               slot.restarts)
                for listener in self.restarted_listeners:
                    listener(slot)
        except asyncio.CancelledError:
            pass

    async def _poll(self) -> None:
        """Every second: each worker's load (placement weighs it); one that does not
        answer for ``LOAD_TIMEOUT_S`` is killed and restarted."""
        try:
            while not self.closing:
                await asyncio.sleep(LOAD_INTERVAL_S)
                await asyncio.gather(*(self._poll_one(s) for s in self.slots if s.up))
        except asyncio.CancelledError:
            pass

    async def _poll_one(self, slot: WorkerSlot) -> None:
        """One load request. Unanswered for ``LOAD_TIMEOUT_S``: a worker that used less
        than ``BUSY_SHARE`` of a core meanwhile is hung (stopped, deadlocked) and killed; one
        that worked is starved, not hung, and is given up to ``BUSY_MAX_S`` (killing a
        worker because the machine is overloaded turns a slow meeting into a lost one)."""
        assert slot.connection is not None
        before = process_cpu_s(slot.pid)
        started = time.monotonic()
        try:
            load = await asyncio.wait_for(slot.connection.request("", GetLoad()),
                                          LOAD_TIMEOUT_S)
        except TimeoutError:
            now = time.monotonic()
            after = process_cpu_s(slot.pid)
            share = (after - before) / (now - started) \
                if before is not None and after is not None else 0.0
            busy = share >= BUSY_SHARE
            if slot.silent_since is None:
                slot.silent_since = started
            silent = now - slot.silent_since
            if busy and silent < BUSY_MAX_S:
                logger.warning("%s (pid %d) has not answered for %.0f s but is working "
                               "(%.0f %% of a core): overloaded, not hung", slot.name,
                               slot.pid, silent, 100 * share)
                return
            logger.error("%s (pid %d) did not answer for %.0f s (%s): killing it",
                         slot.name, slot.pid, silent, "busy all along" if busy else "idle")
            if slot.process is not None and slot.process.returncode is None:
                slot.process.kill()
            return
        except CommandError:
            return
        slot.silent_since = None
        if isinstance(load, Load):
            slot.load, slot.pending = load, 0

    def place_listener(self, home: WorkerSlot) -> WorkerSlot:
        """The worker a meeting's next listener goes to: its home while the home has fewer
        than ``max_consumers`` consumers, then the least loaded worker under the limit (the
        least loaded of all when every one is over it)."""
        if self.max_consumers <= 0 or home.consumers < self.max_consumers:
            return home
        up = [s for s in self.slots if s.up and s.connection is not None]
        under = [s for s in up if s.consumers < self.max_consumers] or up or [home]
        return min(under, key=lambda s: (s.consumers, s.index))

    def place(self) -> WorkerSlot:
        """The worker a new meeting goes to: the least loaded of those up."""
        up = [s for s in self.slots if s.up and s.connection is not None]
        if not up:
            raise CommandError("internal", "no media worker is running")
        return min(up, key=WorkerSlot.score)

    async def open_router(self, meeting_id: str, *, video_codec: str = "VP8"
                          ) -> RouterHandle:
        opening = self._opening.get(meeting_id)
        if opening is not None:
            return await asyncio.shield(opening)
        future: asyncio.Future[RemoteRouter] = asyncio.ensure_future(
            self._open(meeting_id, video_codec))
        self._opening[meeting_id] = future
        future.add_done_callback(lambda _f: self._opening.pop(meeting_id, None))
        return await asyncio.shield(future)

    async def _open(self, meeting_id: str, video_codec: str) -> RemoteRouter:
        slot = self.placement.get(meeting_id)
        if slot is None or not slot.up:
            slot = self.place()
        assert slot.connection is not None
        existing = slot.routers.get(meeting_id)
        if existing is not None and not existing.closed:
            return existing
        connection = slot.connection
        await connection.request(meeting_id, OpenRouter(video_codec))
        if connection.closed or slot.connection is not connection:
            raise _gone()  # the worker died between the reply and now
        router: RemoteRouter
        if self.max_consumers > 0 and len(self.slots) > 1:
            from .spread import SpreadRouter  # it builds on RemoteRouter (this module)
            router = SpreadRouter(self, slot, meeting_id, video_codec)
        else:
            router = RemoteRouter(connection, meeting_id, slot.name)
        slot.routers[meeting_id] = router
        self.placement[meeting_id] = slot
        logger.info("[%s] router placed on %s (pid %d)", meeting_id, slot.name, slot.pid)
        return router

    async def close_router(self, meeting_id: str) -> None:
        slot = self.placement.pop(meeting_id, None)
        if slot is None:
            return
        router = slot.routers.pop(meeting_id, None)
        if router is not None:
            router.mark_closed()
            router.detach_parts()  # its parts on other workers close too
        if slot.connection is not None and not slot.connection.closed:
            with contextlib.suppress(CommandError):
                await slot.connection.request(meeting_id, CloseRouter())

    async def stats(self) -> list[RouterStats]:
        async def one(slot: WorkerSlot) -> list[RouterStats]:
            assert slot.connection is not None
            try:
                load = await asyncio.wait_for(slot.connection.request("", GetLoad()),
                                              LOAD_TIMEOUT_S)
            except (TimeoutError, CommandError):
                return []
            slot.load, slot.pending = load, 0
            return [r if self.placement.get(r.meeting_id) is slot else _part_stats(r)
                    for r in load.routers]
        parts = await asyncio.gather(*(one(s) for s in self.slots if s.up))
        return _merged([stats for part in parts for stats in part])

    def describe(self) -> list[WorkerInfo]:
        return [WorkerInfo(s.name, s.pid, s.up, s.restarts, len(s.routers),
                           s.load.consumers if s.load else 0,
                           s.load.packets_per_s if s.load else 0.0,
                           s.load.udp if s.load else None) for s in self.slots]

    async def close(self) -> None:
        self.closing = True
        for task in self._tasks:
            task.cancel()
        for slot in self.slots:
            if slot.connection is not None:
                await slot.connection.close()
            process = slot.process
            if process is not None and process.returncode is None:
                if process.stdin is not None:
                    process.stdin.close()  # the worker closes its routers and exits
                try:
                    await asyncio.wait_for(process.wait(), 3.0)
                except TimeoutError:
                    process.kill()
                    await process.wait()
        for slot in self.slots:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(slot.socket_path)
        with contextlib.suppress(OSError):
            self.run_dir.rmdir()


def _part_stats(stats: RouterStats) -> RouterStats:
    """A meeting's part on another worker (sfu/spread.py): its producers are copies of the
    home router's, piped there; only its subscribers and connections are its own."""
    return dataclasses.replace(stats, producers=(), publishers=())


def _merged(routers: list[RouterStats]) -> list[RouterStats]:
    """One snapshot per meeting: a spread meeting's parts added to its home router's."""
    out: dict[str, RouterStats] = {}
    for stats in routers:
        seen = out.get(stats.meeting_id)
        out[stats.meeting_id] = stats if seen is None else dataclasses.replace(
            seen, transports=seen.transports + stats.transports,
            producers=seen.producers + stats.producers,
            publishers=seen.publishers + stats.publishers,
            subscribers=seen.subscribers + stats.subscribers,
            consumers=seen.consumers + stats.consumers)
    return list(out.values())


__all__ = ["MEDIA_RESTARTING", "LocalRouter", "LocalWorkers", "MediaWorkers", "RemoteRouter",
           "RouterHandle", "WorkerInfo", "WorkerPool", "in_process", "log_failure"]
