"""UdpMux: one UDP port for every WebRTC connection of a worker.

A worker binds one socket per local address (``rtc_addresses``), all on the same port, and
every ICE agent of the worker offers that socket as its host candidate instead of binding
sockets of its own (mediasoup's ``WebRtcServer``, LiveKit's single UDP port). Datagrams are
told apart by their first byte (RFC 7983):

- 0..3, STUN. A request is routed by the local ufrag of its USERNAME (``local:remote``) and
  handed on only when its MESSAGE-INTEGRITY checks against that endpoint's password; the
  sender's address is then learnt for that endpoint (a valid check from a new address moves
  the address, as ICE consent from a new address does). A response or error is routed by its
  transaction id, which the endpoint registered when it sent the request
  (:meth:`MuxSocket.expect_response`); anything else is dropped.
- 20..63 (DTLS) and 128..191 (SRTP/SRTCP): routed by the remote address a valid check taught.
- anything else, or from an address no valid check came from: dropped and counted.

Nothing is answered for a dropped datagram: no STUN error is reflected to a forged address.
The mux knows nothing of aioice's objects: an endpoint is anything with
``stun_received``/``media_received``/``awaiting`` (``sfu/aiortc_glue.py`` adapts aioice's
protocol to it). No module-level state: the Worker owns its mux, starts and closes it.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import secrets
import socket
import string
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, Protocol, cast

import aioice.stun

from .events import UdpStats

logger = logging.getLogger(__name__)

Address = tuple[str, int]

# One socket carries every connection's media: a large receive buffer absorbs a burst of
# many publishers between two turns of the event loop (capped by net.core.rmem_max).
SOCKET_BUFFER_BYTES = 8 * 1024 * 1024
# asyncio's datagram transport reads one datagram per turn of the event loop. With one socket
# for every connection, a worker that falls behind (a core shared or saturated) then answers
# ICE checks only after the media queued before them in that large buffer, seconds late, and
# every connection's consent expires at once. So a turn reads what is waiting, up to
# DRAIN_BATCH datagrams, and routes the batch's STUN before its media. A full batch means the
# worker is behind: it reads on, up to BACKLOG_MAX, and of the media routes only the newest
# MEDIA_KEEP; the older ones are dropped and counted (reason ``overload``). Media that has
# waited that long is of no use to a live meeting; answering ICE keeps every connection.
DRAIN_BATCH = 64
BACKLOG_MAX = 4096
MEDIA_KEEP = 1024
RECV_BYTES = 65536
# ufrags the mux hands out: 8 ICE-chars (RFC 8839 allows 4..256), unique per socket
UFRAG_ALPHABET = string.ascii_letters + string.digits
UFRAG_LENGTH = 8
_STUN_METHOD_BINDING = aioice.stun.Method.BINDING
_STUN_REQUEST = aioice.stun.Class.REQUEST
_STUN_ANSWERS = (aioice.stun.Class.RESPONSE, aioice.stun.Class.ERROR)


class MuxError(Exception):
    """The mux could not bind its port (in use, or an address this host does not have)."""


class Endpoint(Protocol):
    """One ICE agent's use of one mux socket."""

    def stun_received(self, data: bytes, addr: Address) -> None:
        """A checked STUN request for this agent, or an answer to one of its requests."""

    def media_received(self, data: bytes) -> None:
        """DTLS, SRTP or SRTCP from an address this agent's checks came from."""

    def awaiting(self, transaction_id: bytes) -> bool:
        """Whether the agent still waits for an answer to this transaction."""


class Sender(Protocol):
    """Something that sends datagrams on its own copy of a mux socket (the C send path's
    ``Tx``), and counts them."""

    @property
    def sent(self) -> int: ...


@dataclass(slots=True)
class MuxStats:
    """What one socket received, by fate (for /metrics, the tests and bench/)."""

    stun: int = 0
    media: int = 0
    sent: int = 0  # datagrams sent on the socket (ICE, DTLS, SRTP; the C path's included)
    unknown_ufrag: int = 0
    bad_integrity: int = 0
    unknown_transaction: int = 0
    unknown_address: int = 0
    malformed: int = 0
    overload: int = 0  # media dropped unread because the worker was behind (DRAIN_BATCH)

    def snapshot(self, port: int) -> UdpStats:
        """The counters as a plain value for the worker's stats snapshot (/metrics)."""
        return UdpStats(port=port, received_stun=self.stun, received_media=self.media,
                        sent=self.sent, dropped_unknown_address=self.unknown_address,
                        dropped_not_stun=self.malformed, dropped_unknown_ufrag=self.unknown_ufrag,
                        dropped_bad_integrity=self.bad_integrity,
                        dropped_unknown_transaction=self.unknown_transaction,
                        dropped_overload=self.overload)

    def dropped(self) -> int:
        return (self.unknown_ufrag + self.bad_integrity + self.unknown_transaction
                + self.unknown_address + self.malformed + self.overload)

    def add(self, other: MuxStats) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass(slots=True)
class _Registration:
    endpoint: Endpoint
    password: bytes


class MuxSocket(asyncio.DatagramProtocol):
    """One bound socket of the mux and its three routing tables."""

    def __init__(self, mux: UdpMux, sock: socket.socket | None = None) -> None:
        self.mux = mux
        self.transport: asyncio.DatagramTransport | None = None
        self._sock = sock  # the bound socket, read directly to drain a turn's datagrams
        self.stats = MuxStats()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._by_ufrag: dict[str, _Registration] = {}
        self._by_address: dict[Address, Endpoint] = {}
        self._by_transaction: dict[bytes, Endpoint] = {}

    @property
    def address(self) -> Address:
        assert self.transport is not None
        name = self.transport.get_extra_info("sockname")
        return name[0], name[1]

    @property
    def announced(self) -> Address:
        """The address the host candidate names: the bound one, or the mux's announced
        address (a worker behind NAT) with the bound port."""
        host, port = self.address
        return (self.mux.announced_address or host), port

    # registration

    def register(self, ufrag: str, password: str, endpoint: Endpoint) -> None:
        """Route STUN requests for ``ufrag`` (checked with ``password``) to ``endpoint``."""
        if ufrag in self._by_ufrag:
            raise MuxError(f"ufrag {ufrag!r} is already in use on this socket")
        self._by_ufrag[ufrag] = _Registration(endpoint, password.encode("utf8"))

    def unregister(self, endpoint: Endpoint) -> None:
        """Forget the endpoint: its ufrag, the addresses it learnt, its transactions."""
        for ufrag in [u for u, r in self._by_ufrag.items() if r.endpoint is endpoint]:
            del self._by_ufrag[ufrag]
        for addr in [a for a, e in self._by_address.items() if e is endpoint]:
            del self._by_address[addr]
        for tid in [t for t, e in self._by_transaction.items() if e is endpoint]:
            del self._by_transaction[tid]

    def expect_response(self, transaction_id: bytes, endpoint: Endpoint) -> None:
        """Route the answer to this request (sent by ``endpoint``) back to it."""
        table = self._by_transaction
        table[transaction_id] = endpoint
        if len(table) > 256 + 8 * len(self._by_ufrag):  # transactions that timed out
            for tid in [t for t, e in table.items() if not e.awaiting(t)]:
                del table[tid]

    def sendto(self, data: bytes, addr: Address) -> None:
        """Send one datagram on the socket (every endpoint's sends come here: counted)."""
        transport = self.transport
        if transport is None:
            return
        self.stats.sent += 1
        transport.sendto(data, addr)

    def endpoint_at(self, addr: Address) -> Endpoint | None:
        return self._by_address.get(addr)

    def routes(self) -> tuple[int, int]:
        """How many ufrags and remote addresses the socket routes."""
        return len(self._by_ufrag), len(self._by_address)

    def has_ufrag(self, ufrag: str) -> bool:
        return ufrag in self._by_ufrag

    # asyncio.DatagramProtocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        sock = self._sock
        if sock is None:
            self._route(data, addr)
            return
        batch = [(data, addr)]
        behind = False
        try:
            while len(batch) < DRAIN_BATCH:
                batch.append(sock.recvfrom(RECV_BYTES))
            behind = True
            while len(batch) < BACKLOG_MAX:
                batch.append(sock.recvfrom(RECV_BYTES))
        except (BlockingIOError, InterruptedError):
            pass
        except OSError as exc:  # an ICMP error reported on the socket: as asyncio does
            self.error_received(exc)
        if len(batch) == 1:
            self._route(data, addr)
            return
        media = []
        for item in batch:
            first = item[0][:1]
            if first and first[0] < 4:
                self._route(*item)  # STUN first: ICE checks and consent answered in time
            else:
                media.append(item)
        if behind and len(media) > MEDIA_KEEP:
            self.stats.overload += len(media) - MEDIA_KEEP
            media = media[-MEDIA_KEEP:]
        for item in media:
            self._route(*item)

    def _route(self, data: bytes, addr: tuple[Any, ...]) -> None:
        if not data:
            self.stats.malformed += 1
            return
        first = data[0]
        if 127 < first < 192 or 19 < first < 64:
            endpoint = self._by_address.get((addr[0], addr[1]))
            if endpoint is None:
                self.stats.unknown_address += 1
                return
            self.stats.media += 1
            endpoint.media_received(data)
        elif first < 4:
            self._stun_received(data, (addr[0], addr[1]))
        else:
            self.stats.malformed += 1

    def _stun_received(self, data: bytes, addr: Address) -> None:
        try:
            message = aioice.stun.parse_message(data)
        except ValueError:
            self.stats.malformed += 1
            return
        if message.message_class in _STUN_ANSWERS:
            endpoint = self._by_transaction.pop(message.transaction_id, None)
            if endpoint is None:
                self.stats.unknown_transaction += 1
                return
            self.stats.stun += 1
            endpoint.stun_received(data, addr)
            return
        if message.message_class != _STUN_REQUEST or message.message_method != \
                _STUN_METHOD_BINDING:
            self.stats.malformed += 1  # indications (keep-alives) and other methods
            return
        username = message.attributes.get("USERNAME")
        if not isinstance(username, str):
            self.stats.malformed += 1
            return
        registration = self._by_ufrag.get(username.partition(":")[0])
        if registration is None:
            self.stats.unknown_ufrag += 1
            return
        if not message.check_message_integrity(registration.password):
            self.stats.bad_integrity += 1
            return
        self.stats.stun += 1
        endpoint = registration.endpoint
        if self._by_address.get(addr) is not endpoint:
            logger.debug("%s: %s:%d now belongs to %s", self.mux, addr[0], addr[1], endpoint)
            self._by_address[addr] = endpoint
        endpoint.stun_received(data, addr)

    def error_received(self, exc: Exception) -> None:
        logger.debug("%s: %s", self.mux, exc)  # ICMP unreachable from a peer that left

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if not self.closed.done():
            self.closed.set_result(None)


class UdpMux:
    """The worker's one UDP port: a socket on each of ``addresses``, all on ``port`` (0: a
    free port, chosen when the first socket binds).

    ``announced_address``: a worker behind NAT (a container, a cloud VM with a public address
    mapped onto a private one) binds one local address (its private one, or the wildcard
    ``0.0.0.0``/``::``) and gives browsers this address in its host candidate instead
    (mediasoup's ``announcedAddress``, LiveKit's node IP). It needs exactly one bound
    address of the same family."""

    def __init__(self, addresses: Sequence[str], port: int,
                 announced_address: str | None = None) -> None:
        if not 0 <= port <= 65535:
            raise ValueError(f"UDP port out of range: {port}")
        self.addresses = tuple(str(ipaddress.ip_address(a)) for a in addresses)
        if not self.addresses:
            raise ValueError("the UDP mux needs at least one local address")
        self.announced_address: str | None = None
        if announced_address is not None:
            announced = ipaddress.ip_address(announced_address)
            if announced.is_unspecified:
                raise ValueError(f"cannot announce the wildcard address {announced}")
            if len(self.addresses) != 1:
                raise ValueError("an announced address needs exactly one bound address "
                                 f"(got {', '.join(self.addresses)})")
            if ipaddress.ip_address(self.addresses[0]).version != announced.version:
                raise ValueError(f"announced address {announced} and bound address "
                                 f"{self.addresses[0]} are not of the same IP version")
            self.announced_address = str(announced)
        else:
            for address in self.addresses:
                if ipaddress.ip_address(address).is_unspecified:
                    raise ValueError(f"binding {address} needs an announced address (the "
                                     "host candidate cannot name the wildcard)")
        self.requested_port = port
        self.sockets: list[MuxSocket] = []
        # the C send path's senders (sfu._fanout.Tx: sendmmsg on a dup of a mux socket, past
        # MuxSocket.sendto): the live ones, and what the closed ones sent
        self._senders: set[Sender] = set()
        self._senders_sent = 0

    def __repr__(self) -> str:
        return f"UdpMux({', '.join(self.addresses)} port {self.port})"

    @property
    def port(self) -> int:
        return self.sockets[0].address[1] if self.sockets else self.requested_port

    async def start(self) -> None:
        if self.sockets:
            return
        loop = asyncio.get_running_loop()
        port = self.requested_port
        try:
            for address in self.addresses:
                family = socket.AF_INET6 if ":" in address else socket.AF_INET
                sock = socket.socket(family, socket.SOCK_DGRAM)
                try:
                    for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
                        sock.setsockopt(socket.SOL_SOCKET, option, SOCKET_BUFFER_BYTES)
                    sock.bind((address, port))
                    sock.setblocking(False)
                except OSError as exc:
                    sock.close()
                    raise MuxError(f"cannot bind UDP {address} port {port}: {exc}") from exc
                _, protocol = await loop.create_datagram_endpoint(
                    functools.partial(MuxSocket, self, sock), sock=sock)
                self.sockets.append(protocol)
                port = protocol.address[1]
        except BaseException:
            await self.close()
            raise
        logger.info("WebRTC media on UDP port %d (%s)%s", self.port, ", ".join(self.addresses),
                    f", announced as {self.announced_address}" if self.announced_address
                    else "")

    async def close(self) -> None:
        sockets, self.sockets = self.sockets, []
        for mux_socket in sockets:
            if mux_socket.transport is not None:
                mux_socket.transport.close()
        for mux_socket in sockets:
            await mux_socket.closed  # the socket is released: the port can be bound again

    def new_ufrag(self) -> str:
        """A local ufrag no registered agent of this mux uses."""
        while True:
            ufrag = "".join(secrets.choice(UFRAG_ALPHABET) for _ in range(UFRAG_LENGTH))
            if not any(s.has_ufrag(ufrag) for s in self.sockets):
                return ufrag

    def add_sender(self, sender: Sender) -> None:
        """Count, in ``sent``, the datagrams ``sender`` sends on a copy of a mux socket."""
        self._senders.add(sender)

    def sender_closed(self, sender: Sender) -> None:
        """``sender`` sends no more: keep its count, forget it."""
        if sender in self._senders:
            self._senders.discard(sender)
            self._senders_sent += sender.sent

    def stats(self) -> MuxStats:
        total = MuxStats()
        for mux_socket in self.sockets:
            total.add(mux_socket.stats)
        total.sent += self._senders_sent + sum(sender.sent for sender in self._senders)
        return total

    def snapshot(self) -> UdpStats:
        """Every socket's counters together, as a plain value (the worker's ``Load``)."""
        return self.stats().snapshot(self.port)
