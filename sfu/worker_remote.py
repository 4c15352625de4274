"""Workers on other machines: a worker serves the boundary's frames over TCP after a mutual
HMAC handshake (sfu/worker_auth.py) and registers itself in Redis (sfu/worker_registry.py);
the control plane discovers the registered workers, connects, and places meetings on its own
workers and the remote ones by the same load score.

- ``RemoteWorkerServer``: the worker's TCP side, in front of its ``WorkerServer``.
- ``connect``: the control plane's side of the handshake.
- ``ClusterWorkers``: a ``MediaWorkers`` over the local ones (a ``WorkerPool``, the
  in-process worker, or none) and every registered remote worker. A remote worker whose
  heartbeat expires, whose connection drops or who stops answering its load is lost like a
  dead local worker: its routers are closed for the control plane and ``lost_listeners`` are
  told, so the meetings are re-placed (meetings.py ``_router_lost``).

docs/architecture.md, "Workers", describes registration and placement.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from . import worker_auth as auth
from .commands import CloseRouter, CommandError, GetLoad, Load, OpenRouter, Request
from .events import RouterEvent, RouterStats
from .worker import Worker, WorkerServer
from .worker_client import (
    LOAD_INTERVAL_S,
    LOAD_TIMEOUT_S,
    PACKETS_PER_CONSUMER,
    Connection,
    LocalWorkers,
    MediaWorkers,
    RemoteRouter,
    RouterHandle,
    WorkerInfo,
    WorkerPool,
)
from .worker_registry import RegistryError, WorkerEntry, registered, split_address

logger = logging.getLogger(__name__)


async def _read_auth(reader: asyncio.StreamReader) -> bytes:
    header = await reader.readexactly(4)
    return await reader.readexactly(auth.length(header))


class _TrackingServer(WorkerServer):
    """A ``WorkerServer`` that knows which control connection opened which router, so the
    routers of a control plane that went away can be closed (nobody else will)."""

    def __init__(self, worker: Worker) -> None:
        super().__init__(worker)
        self.opened: dict[asyncio.StreamWriter, set[str]] = {}

    def _handle(self, writer: asyncio.StreamWriter, request: Request) -> None:
        if isinstance(request.command, OpenRouter) and request.meeting_id:
            self.opened.setdefault(writer, set()).add(request.meeting_id)
        elif isinstance(request.command, CloseRouter):
            self.opened.get(writer, set()).discard(request.meeting_id)
        super()._handle(writer, request)

    async def close_orphans(self, writer: asyncio.StreamWriter) -> list[str]:
        """Close the routers this connection opened that no other connection opened."""
        mine = self.opened.pop(writer, set())
        others = set().union(*self.opened.values())
        orphans = sorted(mine - others)
        for meeting_id in orphans:
            await self.worker.close_router(meeting_id)
        return orphans


class RemoteWorkerServer:
    """A worker's authenticated TCP listener: the first frames are the handshake; after it
    the connection is the worker's like a Unix socket's (``WorkerServer.serve``). A
    connection that fails the handshake is closed with one log line. When a control
    connection closes (its control plane died or lost it), the routers it opened are closed:
    that control plane has re-placed them elsewhere or is gone."""

    def __init__(self, worker: Worker, worker_id: str, secret: str) -> None:
        self.server, self.worker_id = _TrackingServer(worker), worker_id
        self.secret = auth.check_secret(secret)
        self.tcp: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.refused = 0  # connections that failed the handshake

    async def start(self, host: str, port: int) -> None:
        self.tcp = await asyncio.start_server(self._accept, host, port)

    @property
    def port(self) -> int:
        assert self.tcp is not None and self.tcp.sockets
        return int(self.tcp.sockets[0].getsockname()[1])

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
                      ) -> None:
        peer = writer.get_extra_info("peername")
        self.writers.add(writer)
        try:
            try:
                async with asyncio.timeout(auth.AUTH_TIMEOUT_S):
                    challenge = auth.Challenge(self.worker_id, auth.new_nonce())
                    writer.write(auth.encode(challenge))
                    reply = auth.decode(await _read_auth(reader), auth.Answer)
                    assert isinstance(reply, auth.Answer)
                    writer.write(auth.encode(auth.welcome(self.secret, challenge, reply)))
            except (auth.AuthError, TimeoutError, asyncio.IncompleteReadError,
                    ConnectionError, OSError) as exc:
                self.refused += 1
                reason = "no answer in time" if isinstance(exc, TimeoutError) else \
                    "closed during the handshake" if isinstance(
                        exc, asyncio.IncompleteReadError) else str(exc) or type(exc).__name__
                logger.warning("refused a control connection from %s: %s", peer, reason)
                writer.close()
                return
            logger.info("control connection from %s authenticated", peer)
            await self.server.serve(reader, writer)
            orphans = await self.server.close_orphans(writer)
            if orphans:
                logger.warning("control connection from %s closed; its %d router(s) closed: "
                               "%s", peer, len(orphans), ", ".join(orphans))
        finally:
            self.writers.discard(writer)

    async def close(self) -> None:
        if self.tcp is not None:
            self.tcp.close()
        for writer in list(self.writers):
            writer.close()
        await self.server.close()


async def connect(address: str, secret: str, worker_id: str | None = None,
                  timeout: float = auth.AUTH_TIMEOUT_S
                  ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection to the remote worker at ``address`` (``HOST:PORT``), authenticated both
    ways. ``auth.AuthError`` when the worker is not who it says (``worker_id``) or does not
    know the secret; ``OSError``/``TimeoutError`` when it cannot be reached."""
    host, port = split_address(address)
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(host, port)
        try:
            try:
                challenge = auth.decode(await _read_auth(reader), auth.Challenge)
                assert isinstance(challenge, auth.Challenge)
                if worker_id is not None and challenge.worker != worker_id:
                    raise auth.AuthError(f"the worker at {address} is {challenge.worker!r}, "
                                         f"not {worker_id!r}")
                reply = auth.answer(secret, challenge, auth.new_nonce())
                writer.write(auth.encode(reply))
                hello = auth.decode(await _read_auth(reader), auth.Welcome)
                assert isinstance(hello, auth.Welcome)
                auth.check_welcome(secret, challenge, reply, hello)
            except asyncio.IncompleteReadError:
                raise auth.AuthError(f"the worker at {address} closed the connection during "
                                     "the handshake (another secret?)") from None
        except BaseException:
            writer.close()
            raise
    return reader, writer


LOCAL = "local"  # the placement of a meeting on the local workers


@dataclass
class RemoteSlot:
    """One remote worker the control plane is connected to."""

    entry: WorkerEntry
    connection: Connection
    load: Load | None = None
    routers: dict[str, RemoteRouter] = field(default_factory=dict)
    up: bool = True

    @property
    def name(self) -> str:
        return f"remote:{self.entry.id}"

    def full(self) -> bool:
        consumers = self.load.consumers if self.load else self.entry.consumers
        return consumers >= self.entry.capacity

    def score(self) -> tuple[float, int]:
        """The same score as a local worker's (``WorkerSlot.score``)."""
        consumers, rate = ((self.load.consumers, self.load.packets_per_s) if self.load
                           else (self.entry.consumers, 0.0))
        return (consumers + rate / PACKETS_PER_CONSUMER, len(self.routers))


class ClusterWorkers(MediaWorkers):
    """The local workers (``local``; None: this node runs no media) and the remote workers
    registered in Redis under ``cluster``."""

    def __init__(self, local: MediaWorkers | None, redis_url: str, cluster: str, secret: str,
                 seats: int) -> None:
        super().__init__()
        self.local = local
        self.cluster, self.seats = cluster, seats
        self.secret = auth.check_secret(secret)
        self.client: aioredis.Redis = aioredis.Redis.from_url(redis_url)
        self.remote: dict[str, RemoteSlot] = {}  # worker id -> connected worker
        self.placement: dict[str, RemoteSlot | str] = {}  # meeting id -> RemoteSlot or LOCAL
        self.closing = False
        self._connecting: set[str] = set()
        self._complained: dict[str, str] = {}  # worker id or key -> the last problem logged
        self._tasks: set[asyncio.Task[None]] = set()
        self._discovery: asyncio.Task[None] | None = None
        # told (worker id) when a remote worker joined and when one was lost
        self.joined_listeners: list[Callable[[str], None]] = []
        self.gone_listeners: list[Callable[[str], None]] = []
        if local is not None:
            local.lost_listeners.append(self._local_lost)
            local.part_lost_listeners.append(self._local_part_lost)

    async def start(self) -> None:
        """Connect the registered workers (``local`` is started by its owner already)."""
        try:
            await self.discover()  # the workers registered now are connected before serving
        except (RedisError, OSError) as exc:
            logger.error("cluster: Redis is not reachable (%s); retrying every %g s", exc,
                         LOAD_INTERVAL_S)
        self._discovery = asyncio.ensure_future(self._run())

    # discovery and supervision

    async def _run(self) -> None:
        while not self.closing:
            await asyncio.sleep(LOAD_INTERVAL_S)
            try:
                await self.discover()
            except (RedisError, OSError) as exc:
                self._complain("redis", f"cluster: reading the registry failed: {exc}")
            await asyncio.gather(*(self._poll(slot) for slot in list(self.remote.values())))

    async def discover(self) -> None:
        """Connect to every newly registered worker; lose those whose heartbeat expired."""
        entries = await registered(self.client, self.cluster, self._bad_entry)
        self._complained.pop("redis", None)
        for worker_id, slot in list(self.remote.items()):
            if worker_id not in entries:
                self._lose(slot, "its heartbeat expired")
            elif entries[worker_id].address != slot.entry.address:
                self._lose(slot, f"it registered again at {entries[worker_id].address}")
            else:
                slot.entry = entries[worker_id]
        new = [e for e in entries.values()
               if e.id not in self.remote and e.id not in self._connecting]
        await asyncio.gather(*(self._join(entry) for entry in new))

    def _bad_entry(self, name: str, reason: str) -> None:
        self._complain(name, f"cluster: registry entry {name} ignored: {reason}")

    def _complain(self, about: str, line: str) -> None:
        """Log a problem once, not every second."""
        if self._complained.get(about) != line:
            self._complained[about] = line
            logger.error("%s", line)

    async def _join(self, entry: WorkerEntry) -> None:
        if entry.seats != self.seats:
            self._complain(entry.id, f"cluster: worker {entry.id} has {entry.seats} seats, "
                           f"this control plane {self.seats}: not used")
            return
        self._connecting.add(entry.id)
        try:
            reader, writer = await connect(entry.address, self.secret, entry.id)
        except (auth.AuthError, RegistryError, OSError, TimeoutError) as exc:
            self._complain(entry.id, f"cluster: worker {entry.id} at {entry.address} not "
                           f"connected: {exc or type(exc).__name__}")
            return
        finally:
            self._connecting.discard(entry.id)
        if self.closing:
            writer.close()
            return
        slot_ref: list[RemoteSlot] = []
        connection = Connection(f"remote:{entry.id}", reader, writer,
                                on_event=functools.partial(self._event, slot_ref),
                                on_lost=functools.partial(self._connection_lost, slot_ref))
        slot = RemoteSlot(entry, connection)
        slot_ref.append(slot)
        self.remote[entry.id] = slot
        self._complained.pop(entry.id, None)
        logger.info("cluster: remote worker %s at %s joined (rtc %s:%d, capacity %d)",
                    entry.id, entry.address, entry.rtc_address, entry.rtc_port,
                    entry.capacity)
        for listener in self.joined_listeners:
            listener(entry.id)

    @staticmethod
    def _event(slot_ref: list[RemoteSlot], event: RouterEvent) -> None:
        router = slot_ref[0].routers.get(event.meeting_id) if slot_ref else None
        if router is not None:
            router.deliver(event)

    def _connection_lost(self, slot_ref: list[RemoteSlot]) -> None:
        if slot_ref and not self.closing:
            self._lose(slot_ref[0], "its connection closed")

    async def _poll(self, slot: RemoteSlot) -> None:
        if not slot.up:
            return
        try:
            load = await asyncio.wait_for(slot.connection.request("", GetLoad()),
                                          LOAD_TIMEOUT_S)
        except TimeoutError:
            self._lose(slot, f"it did not answer for {LOAD_TIMEOUT_S:g} s")
            return
        except CommandError:
            return
        if isinstance(load, Load):
            slot.load = load

    def _lose(self, slot: RemoteSlot, why: str) -> None:
        """A remote worker is gone: like a dead local worker (WorkerPool._lose)."""
        if not slot.up:
            return
        slot.up = False
        if self.remote.get(slot.entry.id) is slot:
            del self.remote[slot.entry.id]
        lost = list(slot.routers)
        for router in slot.routers.values():
            router.mark_closed()
        slot.routers.clear()
        for meeting_id in lost:
            if self.placement.get(meeting_id) is slot:
                del self.placement[meeting_id]
        logger.error("cluster: remote worker %s is gone (%s); %d meeting(s) lost their media:"
                     " %s", slot.entry.id, why, len(lost), ", ".join(lost) or "none")
        task = asyncio.ensure_future(slot.connection.close())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        for listener in self.gone_listeners:
            listener(slot.entry.id)
        self._tell_lost(lost)

    def _local_lost(self, meeting_id: str) -> None:
        if self.placement.get(meeting_id) == LOCAL:
            del self.placement[meeting_id]
        self._tell_lost([meeting_id])

    def _local_part_lost(self, meeting_id: str, participant_ids: list[str]) -> None:
        for listener in self.part_lost_listeners:
            try:
                listener(meeting_id, participant_ids)
            except Exception:
                logger.exception("[%s] lost-part listener failed", meeting_id)

    def _tell_lost(self, meeting_ids: list[str]) -> None:
        for meeting_id in meeting_ids:
            for listener in self.lost_listeners:
                try:
                    listener(meeting_id)
                except Exception:
                    logger.exception("[%s] lost-router listener failed", meeting_id)

    # placement

    def _local_score(self) -> tuple[float, int] | None:
        if isinstance(self.local, WorkerPool):
            try:
                best = self.local.place()
            except CommandError:
                return None
            score = best.score()
            return (score[0], score[1])
        if isinstance(self.local, LocalWorkers):
            stats = self.local.worker.stats()
            return (float(sum(s.consumers for s in stats)), len(stats))
        return None

    def place(self) -> RemoteSlot | str:
        """Where a new meeting goes: the least loaded of the local workers and the remote
        workers that are up and under their capacity (LOCAL or a remote slot)."""
        options: list[tuple[tuple[float, int], int, RemoteSlot | str]] = []
        local = self._local_score()
        if local is not None:
            options.append((local, 0, LOCAL))
        for slot in self.remote.values():
            if slot.up and not slot.connection.closed and not slot.full():
                options.append((slot.score(), 1, slot))
        if not options:
            raise CommandError("internal", "no media worker is running")
        return min(options, key=lambda o: (o[0], o[1],
                                           o[2].entry.id if isinstance(o[2], RemoteSlot)
                                           else ""))[2]

    async def open_router(self, meeting_id: str, *, video_codec: str = "VP8"
                          ) -> RouterHandle:
        where = self.placement.get(meeting_id)
        if isinstance(where, RemoteSlot) and where.up:
            existing = where.routers.get(meeting_id)
            if existing is not None and not existing.closed:
                return existing
        elif where != LOCAL:
            where = self.place()
        if where == LOCAL:
            assert self.local is not None
            handle = await self.local.open_router(meeting_id, video_codec=video_codec)
            self.placement[meeting_id] = LOCAL
            return handle
        assert isinstance(where, RemoteSlot)
        if meeting_id not in where.routers:
            # not opened by this control plane: a router the worker still has for it was
            # left by a control plane that died (one owner per meeting: cluster.py)
            with contextlib.suppress(CommandError):
                await where.connection.request(meeting_id, CloseRouter())
        await where.connection.request(meeting_id, OpenRouter(video_codec))
        router = RemoteRouter(where.connection, meeting_id, where.name)
        where.routers[meeting_id] = router
        self.placement[meeting_id] = where
        logger.info("[%s] router placed on remote worker %s (%s)", meeting_id,
                    where.entry.id, where.entry.address)
        return router

    async def close_router(self, meeting_id: str) -> None:
        where = self.placement.pop(meeting_id, None)
        if where == LOCAL:
            assert self.local is not None
            await self.local.close_router(meeting_id)
            return
        if not isinstance(where, RemoteSlot):
            return
        router = where.routers.pop(meeting_id, None)
        if router is not None:
            router.mark_closed()
        if not where.connection.closed:
            with contextlib.suppress(CommandError):
                await where.connection.request(meeting_id, CloseRouter())

    async def stats(self) -> list[RouterStats]:
        async def one(slot: RemoteSlot) -> list[RouterStats]:
            try:
                load = await asyncio.wait_for(slot.connection.request("", GetLoad()),
                                              LOAD_TIMEOUT_S)
            except (TimeoutError, CommandError):
                return []
            slot.load = load
            return list(load.routers)
        own = await self.local.stats() if self.local is not None else []
        parts = await asyncio.gather(*(one(s) for s in self.remote.values() if s.up))
        return own + [stats for part in parts for stats in part]

    def describe(self) -> list[WorkerInfo]:
        own = self.local.describe() if self.local is not None else []
        return own + [WorkerInfo(s.name, s.entry.pid, s.up, 0, len(s.routers),
                                 s.load.consumers if s.load else s.entry.consumers,
                                 s.load.packets_per_s if s.load else 0.0)
                      for s in self.remote.values()]

    async def close(self) -> None:
        self.closing = True
        if self._discovery is not None:
            self._discovery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._discovery
        for slot in list(self.remote.values()):
            await slot.connection.close()
        self.remote.clear()
        for task in list(self._tasks):
            task.cancel()
        if self.local is not None:
            await self.local.close()
        await self.client.aclose()


__all__ = ["LOCAL", "ClusterWorkers", "RemoteSlot", "RemoteWorkerServer", "connect"]
