"""Remote workers registered in Redis: ``<cluster>:workers:<id>`` (``cluster`` is the
Socket.IO channel's name, ``rostrum`` by default) holds one JSON entry per worker, written
again every ``HEARTBEAT_S`` with a TTL of ``TTL_S``; a worker that stops heartbeating
disappears by itself, a worker that exits cleanly deletes its key.

``WorkerEntry`` and its ``to_json``/``parse`` are the pure format; ``Registration`` is the
worker's heartbeat task; ``registered`` is the control plane's read of the registry
(docs/architecture.md, "Workers").
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

HEARTBEAT_S = 1.0
TTL_S = 4.0  # a worker whose heartbeat is this old is gone
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class RegistryError(ValueError):
    """A registry entry that is not one."""


def key(cluster: str, worker_id: str) -> str:
    return f"{cluster}:workers:{worker_id}"


def check_id(worker_id: str) -> str:
    if not _ID.fullmatch(worker_id):
        raise RegistryError(f"a worker id is 1-64 of A-Z a-z 0-9 . _ - (not {worker_id!r})")
    return worker_id


def split_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6) as its parts; ``RegistryError`` otherwise."""
    host, sep, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise RegistryError(f"an address is HOST:PORT (not {text!r})")
    return host, int(port)


@dataclass(frozen=True, slots=True)
class WorkerEntry:
    """One remote worker as it registers itself."""

    id: str
    address: str  # HOST:PORT of its authenticated control connection (TCP)
    rtc_address: str  # where its WebRTC connections are (ICE host candidates)
    rtc_port: int  # its one UDP port
    capacity: int  # consumers it takes before placement passes it over
    seats: int  # the router's seats; must match the control plane's
    consumers: int
    routers: int
    pid: int

    def to_json(self) -> str:
        return json.dumps({"id": self.id, "address": self.address,
                           "rtcAddress": self.rtc_address, "rtcPort": self.rtc_port,
                           "capacity": self.capacity, "seats": self.seats,
                           "consumers": self.consumers, "routers": self.routers,
                           "pid": self.pid}, separators=(",", ":"))

    @staticmethod
    def parse(text: str | bytes) -> WorkerEntry:
        try:
            data = json.loads(text)
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise RegistryError("a registry entry is JSON") from None
        if not isinstance(data, dict):
            raise RegistryError("a registry entry is an object")
        names = {"id", "address", "rtcAddress", "rtcPort", "capacity", "seats", "consumers",
                 "routers", "pid"}
        if set(data) != names:
            raise RegistryError(f"a registry entry has the fields {sorted(names)}")
        for name in ("id", "address", "rtcAddress"):
            if not isinstance(data[name], str):
                raise RegistryError(f"{name}: a string expected")
        for name in ("rtcPort", "capacity", "seats", "consumers", "routers", "pid"):
            if type(data[name]) is not int or data[name] < 0:
                raise RegistryError(f"{name}: a non-negative integer expected")
        split_address(data["address"])
        return WorkerEntry(check_id(data["id"]), data["address"], data["rtcAddress"],
                           data["rtcPort"], data["capacity"], data["seats"],
                           data["consumers"], data["routers"], data["pid"])


class Registration:
    """A worker's entry, written every ``HEARTBEAT_S`` with a TTL, deleted on ``close``.
    ``entry`` is called for each heartbeat (its load changes). Redis being away is logged
    once per outage; the heartbeat goes on trying."""

    def __init__(self, redis_url: str, cluster: str, entry: Callable[[], WorkerEntry],
                 heartbeat_s: float = HEARTBEAT_S, ttl_s: float = TTL_S) -> None:
        self.client: aioredis.Redis = aioredis.Redis.from_url(redis_url)
        self.cluster, self.entry = cluster, entry
        self.heartbeat_s, self.ttl_s = heartbeat_s, ttl_s
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    async def start(self) -> None:
        await self.beat()  # registered before start() returns (or the error is raised)
        self._task = asyncio.ensure_future(self._run())

    async def beat(self) -> None:
        value = self.entry()
        await self.client.set(key(self.cluster, value.id), value.to_json(),
                              px=int(self.ttl_s * 1000))

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            try:
                await self.beat()
                if self._failing:
                    logger.warning("registry: Redis is back, heartbeat resumed")
                self._failing = False
            except (RedisError, OSError) as exc:
                if not self._failing:
                    logger.error("registry: the heartbeat failed (%s); retrying", exc)
                self._failing = True

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        try:
            await self.client.delete(key(self.cluster, self.entry().id))
        except (RedisError, OSError) as exc:
            logger.error("registry: could not remove the entry (%s); it expires by itself",
                         exc)
        await self.client.aclose()


async def registered(client: aioredis.Redis, cluster: str,
                     refused: Callable[[str, str], None] | None = None
                     ) -> dict[str, WorkerEntry]:
    """Every worker registered now, by id. An entry that does not parse is passed to
    ``refused`` (key, reason) and left out."""
    keys: list[Any] = [k async for k in client.scan_iter(match=key(cluster, "*"), count=200)]
    if not keys:
        return {}
    values = await client.mget(keys)
    out: dict[str, WorkerEntry] = {}
    for name, value in zip(keys, values, strict=True):
        if value is None:
            continue  # expired between the scan and the read
        label = name.decode() if isinstance(name, bytes) else str(name)
        try:
            entry = WorkerEntry.parse(value)
            if label != key(cluster, entry.id):
                raise RegistryError(f"the entry names worker {entry.id!r}")
        except RegistryError as exc:
            if refused is not None:
                refused(label, str(exc))
            continue
        out[entry.id] = entry
    return out


__all__ = ["HEARTBEAT_S", "TTL_S", "Registration", "RegistryError", "WorkerEntry",
           "check_id", "key", "registered", "split_address"]
