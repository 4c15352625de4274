"""Every use of aiortc's and aioice's private names lives here.

aiortc gives ICE, DTLS, SRTP and SDP; the SFU supplies its own packet path. These hook points
were read from aiortc 1.16.0 and aioice 0.13.0, which pyproject.toml pins: a version bump must
re-read ``RTCRtpReceiver.receive/_handle_rtp_packet/_handle_rtcp_packet``,
``RTCRtpSender.send/stop/_handle_rtcp_packet``, ``RTCDtlsTransport._send_rtp`` and
``aioice.ice.get_host_addresses``.

aioice is configured process-wide in one place, explicitly, by whoever runs the SFU (the
server's start-up today, a worker process's main later): :func:`install_ice_policy` replaces
``aioice.ice.Connection.query_consent`` (retransmitted consent checks, see
``CONSENT_RETRANSMISSIONS``) and restricts host candidates to the configured addresses.
Importing this module changes nothing.

After :func:`take_over_receiver` and :func:`take_over_sender`, aiortc starts no decoder thread,
no encoder, and no RTP/RTCP task of its own for that transceiver: the SFU's Producer and
Consumer own them.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import random
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Protocol

import aioice.ice
import aioice.stun
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
)
from aiortc.rtcrtpparameters import RTCRtpReceiveParameters, RTCRtpSendParameters
from aiortc.rtp import AnyRtcpPacket, RtpPacket

logger = logging.getLogger(__name__)


class IceServer(Protocol):
    """An ICE server as the configuration gives it (an RTCIceServer's fields)."""

    @property
    def urls(self) -> Sequence[str]: ...
    @property
    def username(self) -> str | None: ...
    @property
    def credential(self) -> str | None: ...


_original_get_host_addresses = aioice.ice.get_host_addresses
_allowed_addresses: tuple[str, ...] = ()


# ICE consent freshness (RFC 7675). aioice 0.13 sends each consent check once, with no
# retransmission and a ~0.5 s answer timeout, and closes the connection after 6 misses in a
# row. A worker whose event loop lags more than half a second for 30 s (saturated, or busy
# with a burst of joins) therefore closes its own publishers' connections, and every listener
# loses the speaker at once (bench/: fan-out, N = 200). RFC 7675 asks only that consent expire
# after 30 s without any answer: retransmit each check like any STUN request (answer window
# 0.5 + 1 + 2 s) and expire after 4 failed checks, about 30 s for a peer that is really gone.
CONSENT_RETRANSMISSIONS = 2
CONSENT_FAILURES = 4


async def _query_consent(self: aioice.ice.Connection) -> None:
    """aioice's ``Connection.query_consent`` with retransmitted checks (see above)."""
    assert self.remote_password is not None
    failures = 0
    while True:
        await asyncio.sleep(aioice.ice.CONSENT_INTERVAL * (0.8 + 0.4 * random.random()))
        for pair in self._nominated.values():
            request = self.build_request(pair, nominate=False)
            try:
                await pair.protocol.request(
                    request, pair.remote_addr,
                    integrity_key=self.remote_password.encode("utf8"),
                    retransmissions=CONSENT_RETRANSMISSIONS)
                failures = 0
            except aioice.stun.TransactionError:
                failures += 1
            if failures >= CONSENT_FAILURES:
                logger.info("ICE consent expired: no answer to %d checks", failures)
                self._query_consent_task = None
                await self.close()
                return


def install_ice_policy(host_addresses: Iterable[str]) -> None:
    """Configure aioice for the SFU, process-wide (aioice reads module functions): consent
    checks that are retransmitted (above) and host candidates only on ``host_addresses``
    (empty: every non-loopback interface). Idempotent: installing it again with the same
    addresses changes nothing; with other addresses, the last call wins."""
    if aioice.ice.Connection.query_consent is not _query_consent:
        aioice.ice.Connection.query_consent = _query_consent  # type: ignore[method-assign]
    restrict_host_addresses(host_addresses)


def ice_policy_installed() -> bool:
    return aioice.ice.Connection.query_consent is _query_consent


def restrict_host_addresses(addresses: Iterable[str]) -> None:
    """Gather ICE host candidates only on these local addresses (process-wide; empty restores
    aioice's default of every non-loopback interface). Loopback is allowed when named."""
    global _allowed_addresses
    _allowed_addresses = tuple(str(ipaddress.ip_address(a)) for a in addresses)
    if not _allowed_addresses:
        aioice.ice.get_host_addresses = _original_get_host_addresses
        return

    def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        out = []
        for address in _allowed_addresses:
            version = ipaddress.ip_address(address).version
            if (version == 4 and use_ipv4) or (version == 6 and use_ipv6):
                out.append(address)
        return out

    aioice.ice.get_host_addresses = get_host_addresses


def create_peer_connection(ice_servers: Iterable[IceServer]) -> RTCPeerConnection:
    """The only way the project makes a peer connection: ICE servers always come from the
    configuration (an empty list, never aiortc's default public STUN server).

    Max-bundle: every m-line on one ICE/DTLS transport. With aiortc's default (balanced), a
    second m-line of the same kind stays on the kind's own transport even after the remote
    side accepts BUNDLE, so it never connects (seen with aiortc 1.16)."""
    servers = [RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential)
               for s in ice_servers]
    return RTCPeerConnection(RTCConfiguration(iceServers=servers,
                                              bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))


def ice_servers_in_use(pc: RTCPeerConnection) -> list[Any]:
    """What the connection's ICE gatherers were configured with (for tests)."""
    config = pc._RTCPeerConnection__configuration  # type: ignore[attr-defined]
    return list(config.iceServers)


RtpHandler = Callable[[RtpPacket, int], Awaitable[None]]
RtcpHandler = Callable[[AnyRtcpPacket], Awaitable[None]]


def take_over_receiver(
    receiver: RTCRtpReceiver,
    *,
    on_parameters: Callable[[RTCRtpReceiveParameters], None],
    on_rtp: RtpHandler,
    on_rtcp: RtcpHandler,
) -> None:
    """Route an incoming m-line's packets to the SFU instead of aiortc's jitter buffer and
    decoder thread."""
    registered = False

    async def receive(parameters: RTCRtpReceiveParameters) -> None:
        nonlocal registered
        if registered:
            return
        registered = True
        transport = receiver.transport
        transport._register_rtp_receiver(receiver, parameters)
        # aiortc routes an RTX packet by payload type alone when its SSRC is unknown, and
        # drops it once two m-lines of one kind share that payload type (bundled camera +
        # screen, or several seats): register the signalled RTX SSRCs too.
        for encoding in parameters.encodings:
            if encoding.rtx is not None:
                transport._rtp_router.ssrc_table[encoding.rtx.ssrc] = receiver
        try:
            on_parameters(parameters)
        except Exception:  # aiortc's connect loop would stop at this m-line
            logger.exception("incoming m-line %s could not start", parameters.muxId)

    async def stop() -> None:
        if registered:
            receiver.transport._unregister_rtp_receiver(receiver)

    receiver.receive = receive  # type: ignore[method-assign]
    receiver.stop = stop  # type: ignore[method-assign]
    receiver._handle_rtp_packet = on_rtp  # type: ignore[method-assign,assignment]
    receiver._handle_rtcp_packet = on_rtcp  # type: ignore[method-assign,assignment]


def take_over_sender(
    sender: RTCRtpSender,
    *,
    on_parameters: Callable[[RTCRtpSendParameters], None],
    on_rtcp: RtcpHandler,
    on_stop: Callable[[], Awaitable[None]],
) -> None:
    """Make an outgoing m-line a pure packet sink for the SFU: no track, no encoder, no
    aiortc RTP/RTCP loop (whose sender reports would carry a zero NTP time)."""
    registered = False

    async def send(parameters: RTCRtpSendParameters) -> None:
        nonlocal registered
        if registered:
            return
        registered = True
        sender.transport._register_rtp_sender(sender, parameters)
        try:
            on_parameters(parameters)
        except Exception:  # aiortc's connect loop would stop at this m-line
            logger.exception("outgoing m-line %s could not start", parameters.muxId)

    async def stop() -> None:
        if registered:
            sender.transport._unregister_rtp_sender(sender)
        await on_stop()

    sender.send = send  # type: ignore[method-assign]
    sender.stop = stop  # type: ignore[method-assign]
    sender._handle_rtcp_packet = on_rtcp  # type: ignore[method-assign,assignment]


def sender_ssrcs(sender: RTCRtpSender) -> tuple[int, int]:
    """The SSRC and RTX SSRC that aiortc put in the SDP for this sender."""
    return sender._ssrc, sender._rtx_ssrc


def set_sender_stream_id(sender: RTCRtpSender, stream_id: str) -> None:
    """Group several outgoing m-lines in one MediaStream (a=msid) so that the browser keeps
    them in sync (a seat's audio and video)."""
    sender._stream_id = stream_id


async def send_rtp(transport: Any, data: bytes) -> bool:
    """Protect and send one RTP or RTCP packet on a DTLS transport. False when it is not
    connected (yet, or any more)."""
    try:
        await transport._send_rtp(data)
    except ConnectionError:
        return False
    return True


def rtp_sender(transport: Any) -> Callable[[bytes], bool]:
    """A synchronous send for one DTLS transport's RTP: SRTP-protect and hand the datagram to
    the nominated ICE pair's socket. The same work as ``await transport._send_rtp(data)``
    without its three coroutine layers per packet (aiortc ``_send_rtp`` -> aioice
    ``Connection.send`` -> ``sendto`` -> ``StunProtocol.send_data``). False when the transport
    is not connected (yet, or any more). RTCP keeps using :func:`send_rtp`; aiortc's own tx
    counters (getStats) do not see these packets."""
    from aiortc.rtcdtlstransport import State

    cached: list[Any] = [None, None]  # the nominated pair, and its remote address

    def send(data: bytes) -> bool:
        if transport._state is not State.CONNECTED:
            return False
        pair = transport.transport._connection._nominated.get(1)
        if pair is None:
            return False
        if cached[0] is not pair:
            cached[0], cached[1] = pair, pair.remote_addr
        sock = pair.protocol.transport
        if sock is None:
            return False
        sock.sendto(transport._tx_srtp.protect(data), cached[1])
        return True

    return send


def transport_connected(transport: Any) -> bool:
    return bool(transport.state == "connected")
