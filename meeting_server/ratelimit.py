"""Rate limits: per connection and per address, on events, connects, joins and HTTP.

Token buckets (a rate per second and a burst), kept in bounded maps so a flood of addresses
cannot grow memory. The limits are generous on purpose: a whole delegation, or a whole
meeting room, often shares one public address (the venue's Wi-Fi, a ministry's proxy), so a
per-address limit must pass 300 people joining in the same minute and only stop floods. A
refused event is answered ``rate-limited`` and changes nothing; a refused connect is a
``connect_error`` with that code; HTTP answers 429 with ``Retry-After``.

Behind a reverse proxy every request comes from the proxy: the client's address is then
read from ``X-Forwarded-For``, but only when the peer is a trusted proxy
(`Config.trusted_proxies`, loopback by default).
"""

from __future__ import annotations

import ipaddress
import math
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from aiohttp import web

__all__ = ["Bucket", "Limit", "RateLimits", "client_address", "http_rate_limit"]


@dataclass(frozen=True, slots=True)
class Limit:
    rate: float  # tokens per second
    burst: float  # bucket size


class Bucket:
    __slots__ = ("level", "limit", "stamp")

    def __init__(self, limit: Limit, now: float) -> None:
        self.limit = limit
        self.level = limit.burst
        self.stamp = now

    def take(self, now: float, cost: float = 1.0) -> bool:
        elapsed = max(0.0, now - self.stamp)
        self.level = min(self.limit.burst, self.level + elapsed * self.limit.rate)
        self.stamp = now
        if self.level >= cost:
            self.level -= cost
            return True
        return False

    def retry_after(self, cost: float = 1.0) -> float:
        """Seconds until ``cost`` tokens are back."""
        return max(0.0, (cost - self.level) / self.limit.rate) if self.limit.rate else math.inf


class Buckets:
    """One bucket per key, at most ``max_keys`` of them (the least recently used go)."""

    def __init__(self, limit: Limit, max_keys: int = 20_000) -> None:
        self.limit = limit
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, Bucket] = OrderedDict()

    def take(self, key: str, now: float) -> Bucket | None:
        """None when allowed; the empty bucket when refused."""
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = Bucket(self.limit, now)
            self._buckets[key] = bucket
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        return None if bucket.take(now) else bucket

    def forget(self, key: str) -> None:
        self._buckets.pop(key, None)

    def __len__(self) -> int:
        return len(self._buckets)


@dataclass(frozen=True, slots=True)
class RateSettings:
    event_per_connection: Limit = Limit(rate=20, burst=200)
    event_per_address: Limit = Limit(rate=600, burst=3000)
    connect_per_address: Limit = Limit(rate=40, burst=1500)
    join_per_address: Limit = Limit(rate=10, burst=400)
    http_per_address: Limit = Limit(rate=100, burst=1000)


class RateLimits:
    """Every limit of one server (held by the Socket.IO server and the HTTP middleware)."""

    def __init__(self, settings: RateSettings | None = None,
                 trusted_proxies: Iterable[str] = ("127.0.0.1", "::1"),
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings or RateSettings()
        self.trusted_proxies = _networks(trusted_proxies)
        self.clock = clock
        s = self.settings
        self.events_by_connection = Buckets(s.event_per_connection)
        self.events_by_address = Buckets(s.event_per_address)
        self.connects_by_address = Buckets(s.connect_per_address)
        self.joins_by_address = Buckets(s.join_per_address)
        self.http_by_address = Buckets(s.http_per_address)
        self.refused = {"event": 0, "connect": 0, "join": 0, "http": 0}

    def event(self, connection: str, address: str) -> bool:
        now = self.clock()
        if self.events_by_connection.take(connection, now) is not None:
            self.refused["event"] += 1
            return False
        if self.events_by_address.take(address, now) is not None:
            self.refused["event"] += 1
            return False
        return True

    def connect(self, address: str) -> bool:
        refused = self.connects_by_address.take(address, self.clock()) is not None
        self.refused["connect"] += refused
        return not refused

    def join(self, address: str) -> bool:
        refused = self.joins_by_address.take(address, self.clock()) is not None
        self.refused["join"] += refused
        return not refused

    def http(self, address: str) -> float | None:
        """None when allowed, else the seconds to wait."""
        bucket = self.http_by_address.take(address, self.clock())
        if bucket is None:
            return None
        self.refused["http"] += 1
        return bucket.retry_after()

    def closed(self, connection: str) -> None:
        self.events_by_connection.forget(connection)

    def address_of(self, remote: str | None, forwarded_for: str | None) -> str:
        return client_address(remote, forwarded_for, self.trusted_proxies)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(items: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in items
                 if item.strip())


def _trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in trusted)


def client_address(remote: str | None, forwarded_for: str | None,
                   trusted: tuple[Network, ...]) -> str:
    """The client's address: the peer's, or, when the peer is a trusted proxy, the last
    address in X-Forwarded-For that is not a trusted proxy (the rightmost entries are added
    by the proxies nearest to us; the leftmost are the client's word and can be forged)."""
    peer = remote or "-"
    if not forwarded_for or not _trusted(peer, trusted):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",")[-20:] if h.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # a malformed header: do not guess
        if not _trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer


RATE_LIMITS = web.AppKey("rate_limits", RateLimits)
EXEMPT_PREFIXES = ("/static/", "/vendor/", "/socket.io/")  # Socket.IO is limited per event
# the webcast's HLS files: cacheable, served from memory, and a venue's hundreds of observers
# share one address (each player asks about two files a second)
# (not the downloads: each is a remux)
EXEMPT_FILES = re.compile(r"/m/[^/]+/(?:webcast|archive)/(?!download/)[^?]+\.(?:m3u8|mp4|m4s|vtt)")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def http_rate_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith(EXEMPT_PREFIXES) and not EXEMPT_FILES.fullmatch(
            request.path):
        limits = request.app[RATE_LIMITS]
        address = limits.address_of(request.remote, request.headers.get("X-Forwarded-For"))
        wait = limits.http(address)
        if wait is not None:
            raise web.HTTPTooManyRequests(
                text="Too many requests from your address; try again shortly.\n",
                headers={"Retry-After": str(max(1, math.ceil(wait)))})
    return await handler(request)
