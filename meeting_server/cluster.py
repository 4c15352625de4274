"""Several control-plane nodes: each live meeting is owned by one node, recorded in Redis.

``<cluster>:meeting:<id>:owner`` holds ``{"node": <node id>, "url": <its public URL>}``, set
with NX and a TTL of ``OWNER_TTL_S`` that the owner renews every ``RENEW_S`` (compare and
renew: a node renews only its own key). ``<cluster>:nodes`` lists the living nodes (a sorted
set of owner records scored by when their heartbeat expires, renewed by the same loop): the
join ack gives a page those URLs to reconnect to when its node dies (docs/operations.md,
"Several control-plane nodes"). A request that names a meeting reaches:

- the owner: served;
- another node: sent to the owner (HTTP 307 to the owner's URL for pages and APIs, the
  Socket.IO connect refused with ``moved <url>``, which web/static/protocol.js follows);
- any node, while nobody owns the meeting (never opened, released, or its owner died and the
  key expired): that node claims it and serves it. An owner whose address refuses TCP
  connections (its process is gone: kill -9, a crash) is dead before its key expires: the
  node asked deletes the key (compare and delete) and claims at once; an owner that does
  not answer at all (its machine is down, or a partition) is waited for until its key
  expires. Taking over a meeting whose owner died,
  it first closes what the dead owner left open in the shared SQLite (attendance, the
  intervention in progress, booths), marked ``owner-lost``, so the floor log has no hole.

A node keeps a meeting while it is live there (or for ``IDLE_KEEP_S`` after a claim with
nobody joined yet) and releases it when it empties and on a clean shutdown.
docs/architecture.md, "Control plane", tells what is shared and what is not (yet).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from aiohttp import web
from redis.exceptions import RedisError

from .errors import RostrumError
from .meetings import MeetingService
from .store import Store
from .tokens import Invite

logger = logging.getLogger(__name__)

OWNER_TTL_S = 3.0  # a stalled owner keeps its meetings through a 2.5 s stall of its loop
RENEW_S = 0.5
PROBE_TIMEOUT_S = 0.5  # connecting to an owner's address: refused = dead, else alive or unknown
PROBE_EVERY_S = 0.2  # one probe of an owner per this interval, however many requests ask
IDLE_KEEP_S = 30.0  # a meeting claimed by a page load with nobody joined is kept this long

# renew (or release) the key only while it still names this node
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""
# the nodes: add or renew this node (score: when its heartbeat expires), forget those
# expired for over a day (ARGV[3]), return every node with its score
_HEARTBEAT = """
redis.call('zremrangebyscore', KEYS[1], '-inf', ARGV[3])
redis.call('zadd', KEYS[1], ARGV[2], ARGV[1])
return redis.call('zrange', KEYS[1], 0, -1, 'WITHSCORES')
"""
KNOWN_S = 86400.0  # a dead node's pages are still admitted by the others for a day


class OwnershipError(ValueError):
    """An owner record in Redis that is not one."""


@dataclass(frozen=True, slots=True)
class Owner:
    node: str
    url: str

    def to_json(self) -> str:
        return json.dumps({"node": self.node, "url": self.url}, separators=(",", ":"))

    @staticmethod
    def parse(text: str | bytes) -> Owner:
        try:
            data = json.loads(text)
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise OwnershipError("an owner record is JSON") from None
        if not isinstance(data, dict) or set(data) != {"node", "url"} \
                or not all(isinstance(data[k], str) and data[k] for k in ("node", "url")):
            raise OwnershipError("an owner record is {node, url}, two strings")
        if not data["url"].startswith(("http://", "https://")):
            raise OwnershipError("an owner's url is http(s)")
        return Owner(data["node"], data["url"].rstrip("/"))


def owner_key(cluster: str, meeting_id: str) -> str:
    return f"{cluster}:meeting:{meeting_id}:owner"


def nodes_key(cluster: str) -> str:
    return f"{cluster}:nodes"


def moved(url: str) -> RostrumError:
    """The refusal a node answers for a meeting another node owns (docs/protocol.md)."""
    return RostrumError("moved", f"moved {url}")


class MeetingOwnership:
    """This node's meetings in Redis: claim, renew, release, and the takeover of a meeting
    whose owner's key expired."""

    def __init__(self, redis_url: str, cluster: str, node: Owner, meetings: MeetingService,
                 store: Store, ttl_s: float = OWNER_TTL_S, renew_s: float = RENEW_S) -> None:
        self.client: aioredis.Redis = aioredis.Redis.from_url(redis_url)
        self.cluster, self.node = cluster, node
        self.meetings, self.store = meetings, store
        self.ttl_s, self.renew_s = ttl_s, renew_s
        self.owned: dict[str, float] = {}  # meeting id -> when it was claimed (monotonic)
        self._value = node.to_json()
        self._task: asyncio.Task[None] | None = None
        self._claiming: dict[str, asyncio.Future[Owner | None]] = {}
        self._probed: dict[str, tuple[float, bool]] = {}  # owner url -> (when, refused)
        # the living nodes' URLs, this node's first (renewed with the heartbeat)
        self.node_urls: list[str] = [node.url]
        # every node's URL seen in the last day, dead ones too: their pages may reconnect here
        self.known_urls: set[str] = {node.url}
        # told (meeting id) when this node lost a meeting it owned (its key was taken)
        self.lost_listeners: list[Callable[[str], None]] = []
        # awaited (meeting id) when this node claimed a meeting it did not have live: the
        # live state comes back (live_state.py); each returns what it restored
        self.takeover_steps: list[Callable[[str], Awaitable[int]]] = []
        meetings.admission_checks.append(self.check)
        meetings.participants_listeners.append(self._participants_changed)

    async def start(self) -> None:
        await self.client.ping()
        await self._heartbeat()
        self._task = asyncio.ensure_future(self._renew_loop())
        logger.info("cluster: node %s (%s) owns meetings through Redis (TTL %g s)",
                    self.node.node, self.node.url, self.ttl_s)

    async def close(self) -> None:
        """Release every meeting this node owns (another node may take them at once)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for meeting_id in list(self.owned):
            await self.release(meeting_id)
        with contextlib.suppress(RedisError, OSError):
            await self.client.zrem(nodes_key(self.cluster), self._value)
        await self.client.aclose()

    # who serves a meeting

    async def owner_elsewhere(self, meeting_id: str) -> Owner | None:
        """None when this node owns the meeting (claimed now if nobody did), else the node
        that does. Concurrent calls for one meeting share one claim."""
        if meeting_id in self.owned:
            return None
        pending = self._claiming.get(meeting_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Owner | None] = asyncio.get_running_loop().create_future()
        self._claiming[meeting_id] = future
        try:
            result = await self._claim(meeting_id)
            future.set_result(result)
            return result
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: nobody else may be waiting
            raise
        finally:
            self._claiming.pop(meeting_id, None)

    async def _claim(self, meeting_id: str) -> Owner | None:
        key = owner_key(self.cluster, meeting_id)
        ttl = int(self.ttl_s * 1000)
        for _attempt in range(3):
            if await self.client.set(key, self._value, nx=True, px=ttl):
                self.owned[meeting_id] = time.monotonic()
                recovered = await self._take_over(meeting_id)
                if meeting_id not in self.meetings.live:
                    for step in self.takeover_steps:
                        try:
                            recovered["saved requests"] = await step(meeting_id)
                        except (RedisError, OSError) as exc:
                            logger.error("[%s] cluster: a takeover step failed: %s",
                                         meeting_id, exc)
                logger.warning("[%s] cluster: this node (%s) owns the meeting now%s",
                               meeting_id, self.node.node,
                               f"; closed what its last owner left open: {recovered}"
                               if any(recovered.values()) else "")
                return None
            value = await self.client.get(key)
            if value is None:
                continue  # expired between the two calls: claim again
            try:
                owner = Owner.parse(value)
            except OwnershipError as exc:
                logger.error("[%s] cluster: the owner record is broken (%s): replacing it",
                             meeting_id, exc)
                await self.client.delete(key)
                continue
            if owner.node == self.node.node:
                self.owned[meeting_id] = time.monotonic()  # ours (a restart of this node)
                return None
            if await self._refused(owner.url):
                # its process is gone: its key goes now, not when it expires
                if await self.client.eval(_RELEASE, 1, key, value):
                    logger.warning("[%s] cluster: the owner %s (%s) refuses connections: "
                                   "taking the meeting over before its key expires",
                                   meeting_id, owner.node, owner.url)
                continue
            return owner
        raise RostrumError("unavailable", "the meeting's owner could not be settled; "
                           "try again")

    async def _refused(self, url: str) -> bool:
        """Whether the owner's address refuses a TCP connection (nothing listens there any
        more). A timeout or an answer is not proof of death: False. One probe per owner per
        ``PROBE_EVERY_S``."""
        now = time.monotonic()
        probed = self._probed.get(url)
        if probed is not None and now - probed[0] < PROBE_EVERY_S:
            return probed[1]
        parts = urlsplit(url)
        refused = False
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            _reader, writer = await asyncio.wait_for(
                asyncio.open_connection(parts.hostname, port), PROBE_TIMEOUT_S)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        except ConnectionRefusedError:
            refused = True
        except (OSError, ValueError, TimeoutError):
            pass  # unreachable or slow: maybe alive; its key decides
        self._probed[url] = (time.monotonic(), refused)
        return refused

    async def _take_over(self, meeting_id: str) -> dict[str, int]:
        """Close what an earlier owner left open for this meeting in the shared SQLite (it
        died mid-meeting): the same repair as a restart's (store.recover_after_restart),
        for this meeting only, marked ``owner-lost``. Nothing is open when the meeting was
        released cleanly or never opened."""
        if meeting_id in self.meetings.live:
            return {}
        now = time.time()

        def run(db: sqlite3.Connection) -> dict[str, int]:
            with db:
                db.execute("BEGIN IMMEDIATE")
                attendance = db.execute(
                    "UPDATE attendance SET left_at = ?, left_reason = 'owner-lost'"
                    " WHERE left_at IS NULL AND meeting_id = ?", (now, meeting_id)).rowcount
                rows = db.execute(
                    "SELECT s.participant_id, s.name, s.organization, s.member_state, s.kind,"
                    " s.language, s.grant_id, s.at FROM floor_log s WHERE s.meeting_id = ?"
                    " AND s.event = 'intervention-start' AND NOT EXISTS (SELECT 1 FROM"
                    " floor_log e WHERE e.event = 'intervention-end'"
                    " AND e.grant_id = s.grant_id AND e.meeting_id = s.meeting_id)",
                    (meeting_id,)).fetchall()
                for row in rows:
                    db.execute(
                        "INSERT INTO floor_log (meeting_id, at, event, participant_id, name,"
                        " organization, member_state, kind, language, grant_id, duration_s,"
                        " reason) VALUES (?, ?, 'intervention-end', ?, ?, ?, ?, ?, ?, ?, ?,"
                        " 'owner-lost')", (meeting_id, now, *row[:7], max(0.0, now - row[7])))
                booths = db.execute(
                    "SELECT channel FROM booth_log b WHERE meeting_id = ? AND id = (SELECT"
                    " MAX(id) FROM booth_log l WHERE l.meeting_id = b.meeting_id AND"
                    " l.channel = b.channel) AND state != 'closed'", (meeting_id,)).fetchall()
                db.executemany(
                    "INSERT INTO booth_log (meeting_id, at, channel, state, event)"
                    " VALUES (?, ?, ?, 'closed', 'owner-lost')",
                    [(meeting_id, now, c) for (c,) in booths])
                db.execute("UPDATE hands_questions SET closed_at = ? WHERE closed_at IS NULL"
                           " AND meeting_id = ?", (now, meeting_id))
            return {"attendance": attendance, "interventions": len(rows),
                    "booths": len(booths)}

        return await self.store.run(run)

    async def release(self, meeting_id: str) -> None:
        self.owned.pop(meeting_id, None)
        try:
            await self.client.eval(_RELEASE, 1, owner_key(self.cluster, meeting_id),
                                   self._value)
        except (RedisError, OSError) as exc:
            logger.error("[%s] cluster: could not release the meeting (%s); its key expires "
                         "by itself", meeting_id, exc)

    # keeping what this node owns

    async def _heartbeat(self) -> None:
        """This node in the nodes' set; the others' URLs read back, the living ones (their
        heartbeat not expired) and all known."""
        now = time.time()
        rows = await self.client.eval(_HEARTBEAT, 1, nodes_key(self.cluster), self._value,
                                      str(now + self.ttl_s), str(now - KNOWN_S))
        urls, known = [self.node.url], {self.node.url}
        for value, score in zip(rows[::2], rows[1::2], strict=True):
            try:
                url = Owner.parse(value).url
            except OwnershipError:
                continue
            known.add(url)
            if float(score) >= now and url not in urls:
                urls.append(url)
        self.node_urls, self.known_urls = urls, known

    async def _renew_loop(self) -> None:
        failing = False
        while True:
            await asyncio.sleep(self.renew_s)
            try:
                await self._renew()
                await self._heartbeat()
                if failing:
                    logger.warning("cluster: Redis is back; meetings renewed")
                failing = False
            except (RedisError, OSError) as exc:
                if not failing:
                    logger.error("cluster: renewing the meetings' ownership failed (%s)", exc)
                failing = True

    async def _renew(self) -> None:
        now = time.monotonic()
        ttl = int(self.ttl_s * 1000)
        for meeting_id, claimed in list(self.owned.items()):
            if meeting_id not in self.meetings.live and now - claimed > IDLE_KEEP_S:
                await self.release(meeting_id)
                continue
            kept = await self.client.eval(_RENEW, 1, owner_key(self.cluster, meeting_id),
                                          self._value, str(ttl))
            if not kept and meeting_id in self.owned:
                del self.owned[meeting_id]
                logger.error("[%s] cluster: this node lost the meeting (its key expired or "
                             "was taken: this node stalled for over %g s)", meeting_id,
                             self.ttl_s)
                for listener in self.lost_listeners:
                    listener(meeting_id)

    def _participants_changed(self, meeting_id: str) -> None:
        if meeting_id in self.owned and meeting_id not in self.meetings.live:
            self.owned[meeting_id] = time.monotonic() - IDLE_KEEP_S  # released next renewal

    # the two doors: Socket.IO admission and HTTP

    async def check(self, invite: Invite, device: str) -> None:
        """An admission check (meetings.py): a connect for a meeting another node owns is
        refused with ``moved <url>``."""
        try:
            owner = await self.owner_elsewhere(invite.meeting_id)
        except (RedisError, OSError) as exc:
            logger.error("[%s] cluster: Redis unavailable at connect (%s)", invite.meeting_id,
                         exc)
            raise RostrumError("unavailable", "the cluster's registry is unavailable; "
                               "try again") from None
        if owner is not None:
            raise moved(owner.url)


OWNERSHIP = web.AppKey("ownership", MeetingOwnership)


@web.middleware
async def send_to_owner(request: web.Request,
                        handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                        ) -> web.StreamResponse:
    """HTTP: a request whose route names a meeting (``{meeting_id}``) that another node owns
    is sent there with a 307 (method and body kept); an unknown meeting is left to the route
    (its 404)."""
    ownership = request.app.get(OWNERSHIP)
    meeting_id = request.match_info.get("meeting_id")
    if ownership is not None and meeting_id \
            and await ownership.store.get_meeting(meeting_id) is not None:
        try:
            owner = await ownership.owner_elsewhere(meeting_id)
        except (RedisError, OSError):
            raise web.HTTPServiceUnavailable(
                text="The cluster's registry (Redis) is unavailable; try again.\n") from None
        if owner is not None:
            raise web.HTTPTemporaryRedirect(owner.url + request.path_qs)
    return await handler(request)


__all__ = ["OWNERSHIP", "OWNER_TTL_S", "PROBE_EVERY_S", "MeetingOwnership", "Owner",
           "OwnershipError", "moved", "nodes_key", "owner_key", "send_to_owner"]
