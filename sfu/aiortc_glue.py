"""Every use of aiortc's and aioice's private names lives here.

aiortc gives ICE, DTLS, SRTP and SDP; the SFU supplies its own packet path. These hook points
were read from aiortc 1.16.0 and aioice 0.13.0, which pyproject.toml pins: a version bump must
re-read every name this module uses that is not their public API:

- aiortc ``RTCPeerConnection.__configuration/__createDtlsTransport/__iceTransports/
  __certificates`` and ``aiortc.rtcpeerconnection.RTCCertificate`` (looked up when a
  connection is made: :func:`create_peer_connection` with a shared :class:`DtlsCertificate`),
  ``RTCCertificate._key/_cert/_create_ssl_context``;
  ``aiortc.rtcrtpreceiver.RemoteBitrateEstimator/JitterBuffer/queue`` (names looked up when
  a receiver is made, :func:`add_transceiver`) and ``RTCRtpReceiver.__remote_bitrate_estimator``;
  ``RTCRtpReceiver.receive/stop/_handle_rtp_packet/_handle_rtcp_packet``;
  ``RTCRtpSender.send/stop/_handle_rtcp_packet/_ssrc/_rtx_ssrc/_stream_id``;
  ``RTCDtlsTransport._send_rtp/_state/_tx_srtp/_rtp_router.ssrc_table/_register_rtp_receiver/
  _unregister_rtp_receiver/_register_rtp_sender/_unregister_rtp_sender``, and for the C send
  path (:func:`fanout_tx`) ``_ssl/_role/_srtp_profiles`` and aiortc's
  ``SRTPProtectionProfile.key_length/salt_length/libsrtp_profile/openssl_profile/
  get_key_and_salt``;
  ``RTCIceTransport.transport`` and ``RTCIceGatherer._connection``; for the handshake in
  threads (:class:`DtlsHandshakes`) ``RTCDtlsTransport._do_handshake/stop/_ssl/encrypted/
  _set_state/__tx_bytes/__tx_packets/__rx_bytes/__rx_packets`` and ``RTCIceTransport._recv/
  _send``;
- aioice ``get_host_addresses``, ``server_reflexive_candidate``, ``Connection.query_consent/
  _query_consent_task/_nominated/build_request/close`` (consent), ``Connection._local_username/
  _protocols/_transport_policy/_queue/get_component_candidates/data_received`` (the worker's
  UDP mux, :func:`use_udp_mux`), and ``StunProtocol`` as a base class (its ``transport``,
  ``transactions``, ``receiver``, ``local_candidate``, ``send_stun``, ``datagram_received``,
  ``connection_made/connection_lost``, and ``CandidatePair.protocol/remote_addr/local_addr``).

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
import concurrent.futures
import ipaddress
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Protocol

import aioice.ice
import aioice.stun
from aioice.candidate import Candidate, candidate_foundation, candidate_priority
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCRtpTransceiver,
)
from aiortc.rtcdtlstransport import RTCCertificate
from aiortc.rtcrtpparameters import RTCRtpReceiveParameters, RTCRtpSendParameters
from aiortc.rtp import AnyRtcpPacket, RtpPacket
from OpenSSL import SSL

from .udp_mux import Address, MuxSocket, UdpMux

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


class _SharedCertificate(RTCCertificate):
    """One DTLS certificate for many connections: its fingerprints computed once (aiortc
    digests the certificate again for every m-line of every description it writes), and one
    SSL context per SRTP profile list, which every connection's ``SSL.Connection`` shares."""

    def __init__(self, key: Any, cert: Any) -> None:
        super().__init__(key=key, cert=cert)
        self._fingerprints: list[Any] | None = None
        self._contexts: dict[tuple[bytes, ...], Any] = {}

    def getFingerprints(self) -> list[Any]:
        if self._fingerprints is None:
            self._fingerprints = super().getFingerprints()
        return list(self._fingerprints)

    def _create_ssl_context(self, srtp_profiles: list[Any]) -> Any:
        key = tuple(p.openssl_profile for p in srtp_profiles)
        context = self._contexts.get(key)
        if context is None:
            context = self._contexts[key] = super()._create_ssl_context(srtp_profiles)
        return context


class DtlsCertificate:
    """The DTLS certificate every connection of one worker presents (mediasoup and Janus keep
    one per process): aiortc makes a key pair and signs a certificate for each
    ``RTCPeerConnection`` (about a millisecond of the event loop per join, and an SSL context
    per connection). Made again after ``rotate_s`` for the connections made from then on
    (aiortc's certificates are valid for 30 days)."""

    def __init__(self, rotate_s: float = 7 * 86400.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if rotate_s <= 0:
            raise ValueError("rotate_s must be positive")
        self.rotate_s = rotate_s
        self._clock = clock
        self._certificate: _SharedCertificate | None = None
        self._made_at = 0.0

    def current(self) -> RTCCertificate:
        now = self._clock()
        if self._certificate is None or now - self._made_at >= self.rotate_s:
            made = RTCCertificate.generateCertificate()
            self._certificate = _SharedCertificate(made._key, made._cert)
            self._made_at = now
        return self._certificate


class DtlsHandshakes:
    """Where the DTLS handshakes of one worker's connections compute: a small pool of threads,
    off the event loop. A handshake step (an ECDHE key pair and an ECDSA signature, or the
    peer's key exchange and a signature check: 4–13 ms of OpenSSL each on this kind of
    machine) held the loop that forwards everyone's media; pyOpenSSL's calls into OpenSSL
    release the GIL (cffi), so in a thread it costs the loop only the GIL's hand-overs. One
    connection's steps still run one after another, in order; its datagrams are read and
    sent on the loop. The threads start with the first step; the owner (the worker, or a
    router made without one) closes them, and a step submitted after that starts them again."""

    def __init__(self, threads: int = 2) -> None:
        if threads < 1:
            raise ValueError("threads must be at least 1")
        self.threads = threads
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None

    def submit(self, step: Callable[[], Any]) -> concurrent.futures.Future[Any]:
        """Run one handshake step in a thread."""
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=self.threads, thread_name_prefix="dtls-handshake")
        return self._executor.submit(step)

    def close(self) -> None:
        """Stop the threads: a step waiting is cancelled (its handshake fails), a step
        running finishes in its thread (not waited for: at most a few milliseconds)."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)


class _Handshake:
    """aiortc's ``RTCDtlsTransport._do_handshake`` for one transport, with each OpenSSL step
    (``do_handshake`` after every datagram received) in :class:`DtlsHandshakes`' threads.
    aiortc's loop drives the handshake with ``SSL.Connection.recv`` when a datagram arrives;
    here a datagram is written to the memory BIO and ``do_handshake`` runs again, which is
    the same OpenSSL state machine. Retransmissions follow ``DTLSv1_get_timeout`` as
    aiortc's ``_recv_next`` does. Nothing else touches the ``SSL.Connection`` while a step
    runs: the transport's ``stop`` waits for it first."""

    def __init__(self, transport: Any, handshakes: DtlsHandshakes) -> None:
        self._transport = transport
        self._handshakes = handshakes
        self._running: concurrent.futures.Future[Any] | None = None
        self._stop = transport.stop
        transport._do_handshake = self.run
        transport.stop = self.stop

    async def _step(self) -> bool:
        """One ``do_handshake`` in a thread: True when the handshake is complete."""
        ssl = self._transport._ssl

        def step() -> bool:
            try:
                ssl.do_handshake()
            except SSL.WantReadError:
                return False
            return True

        running = self._running = self._handshakes.submit(step)
        try:
            return bool(await asyncio.wrap_future(running))
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if running.cancelled() and not (task is not None and task.cancelling()):
                # the threads were stopped (the worker closing), not this task
                raise ConnectionError("the DTLS handshake threads were stopped") from None
            raise
        finally:
            self._running = None

    async def _flush(self) -> None:
        """Send every datagram OpenSSL wrote (aiortc's ``_write_ssl``, until it is empty)."""
        transport = self._transport
        while True:
            try:
                data = transport._ssl.bio_read(1500)
            except SSL.Error:
                return
            if not data:
                return
            await transport.transport._send(data)
            transport._RTCDtlsTransport__tx_bytes += len(data)
            transport._RTCDtlsTransport__tx_packets += 1

    async def _receive(self) -> None:
        """The next DTLS datagram into the BIO, or a retransmission when OpenSSL's timer
        runs out first."""
        transport = self._transport
        ssl = transport._ssl
        timeout = ssl.DTLSv1_get_timeout()
        try:
            data = await asyncio.wait_for(transport.transport._recv(), timeout=timeout)
        except TimeoutError:
            ssl.DTLSv1_handle_timeout()
            await self._flush()
            return
        transport._RTCDtlsTransport__rx_bytes += len(data)
        transport._RTCDtlsTransport__rx_packets += 1
        if 19 < data[0] < 64:  # DTLS (RFC 7983); media before the keys is dropped
            ssl.bio_write(data)

    async def run(self) -> None:
        from aiortc.rtcdtlstransport import State

        transport = self._transport
        try:
            while not transport.encrypted:
                try:
                    done = await self._step()
                except SSL.Error as exc:
                    logger.debug("DTLS handshake failed (%s)", exc)
                    transport._set_state(State.FAILED)
                    return
                await self._flush()
                if done:
                    transport.encrypted = True
                else:
                    await self._receive()
        except ConnectionError as exc:  # the ICE transport closed, or the threads stopped
            logger.debug("DTLS handshake failed (%s)", exc)
            transport._set_state(State.FAILED)

    async def stop(self) -> None:
        running = self._running
        if running is not None:
            await asyncio.gather(asyncio.wrap_future(running), return_exceptions=True)
        await self._stop()


class _CertificateSource:
    """What ``RTCPeerConnection.__init__`` calls for its certificate, while the SFU makes one."""

    def __init__(self, certificate: RTCCertificate) -> None:
        self._certificate = certificate

    def generateCertificate(self) -> RTCCertificate:
        return self._certificate


def create_peer_connection(ice_servers: Iterable[IceServer], udp_mux: UdpMux | None = None,
                           certificate: DtlsCertificate | None = None,
                           handshakes: DtlsHandshakes | None = None) -> RTCPeerConnection:
    """The only way the project makes a peer connection: ICE servers always come from the
    configuration (an empty list, never aiortc's default public STUN server). With
    ``udp_mux``, its host candidates are the mux's sockets (:func:`use_udp_mux`). With
    ``certificate``, the connection presents that (shared) DTLS certificate instead of making
    its own (aiortc looks ``RTCCertificate`` up in its module in the constructor: it is
    swapped for the synchronous call, nothing else runs meanwhile). With ``handshakes``, its
    DTLS handshake computes in those threads (:class:`DtlsHandshakes`).

    Max-bundle: every m-line on one ICE/DTLS transport. With aiortc's default (balanced), a
    second m-line of the same kind stays on the kind's own transport even after the remote
    side accepts BUNDLE, so it never connects (seen with aiortc 1.16)."""
    servers = [RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential)
               for s in ice_servers]
    configuration = RTCConfiguration(iceServers=servers,
                                     bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
    if certificate is None:
        pc = RTCPeerConnection(configuration)
    else:
        import aiortc.rtcpeerconnection as pc_module

        names = vars(pc_module)
        saved = names["RTCCertificate"]
        names["RTCCertificate"] = _CertificateSource(certificate.current())
        try:
            pc = RTCPeerConnection(configuration)
        finally:
            names["RTCCertificate"] = saved
    if udp_mux is not None or handshakes is not None:
        _wrap_dtls_transports(pc, udp_mux, handshakes)
    return pc


def default_host_addresses() -> list[str]:
    """The addresses aioice would gather host candidates on: every non-loopback interface."""
    return _original_get_host_addresses(use_ipv4=True, use_ipv6=True)


# The worker's UDP mux (sfu/udp_mux.py). aiortc makes one aioice Connection per ICE transport
# (one per peer connection under max-bundle) when the first transceiver is added; the
# connection binds its host sockets when it gathers (setLocalDescription). Wrapping the peer
# connection's own __createDtlsTransport lets each new Connection, before any SDP is written,
# take a ufrag unique on the mux and gather on the mux's sockets; server-reflexive (through
# the mux socket) and relayed candidates (TURN keeps a socket of its own to its server) are
# gathered as aioice does.


class _SharedTransport(asyncio.DatagramTransport):
    """What one aioice protocol sees of a mux socket: sends go out on it directly; closing
    forgets the protocol's routes and leaves the socket open."""

    def __init__(self, mux_socket: MuxSocket, protocol: _MuxProtocol) -> None:
        super().__init__()
        assert mux_socket.transport is not None
        self._mux_socket = mux_socket
        self._protocol = protocol
        self._closing = False
        self.sendto = mux_socket.sendto  # type: ignore[method-assign,assignment]

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        transport = self._mux_socket.transport
        return default if transport is None else transport.get_extra_info(name, default)

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        self._mux_socket.unregister(self._protocol)
        self._protocol.connection_lost(None)

    def abort(self) -> None:
        self.close()


class _MuxProtocol(aioice.ice.StunProtocol):
    """aioice's per-socket protocol on a mux socket (the mux's ``Endpoint``)."""

    def __init__(self, connection: aioice.ice.Connection, mux_socket: MuxSocket,
                 candidate: Candidate) -> None:
        super().__init__(connection)
        self.mux_socket = mux_socket
        self.local_candidate = candidate
        self.connection_made(_SharedTransport(mux_socket, self))
        self._deliver = connection.data_received
        self._component = candidate.component

    def stun_received(self, data: bytes, addr: Address) -> None:
        self.datagram_received(data, addr)
        tx = getattr(self.receiver, _TX_ATTRIBUTE, None)
        if tx is not None:
            _follow_nominated_pair(self.receiver, tx)

    def media_received(self, data: bytes) -> None:
        self._deliver(data, self._component)

    def awaiting(self, transaction_id: bytes) -> bool:
        return transaction_id in self.transactions

    def send_stun(self, message: aioice.stun.Message, addr: tuple[str, int]) -> None:
        if message.message_class == aioice.stun.Class.REQUEST:
            self.mux_socket.expect_response(message.transaction_id, self)
        super().send_stun(message, addr)

    def __repr__(self) -> str:
        return f"mux-protocol({self.id} {self.local_candidate.host}:{self.local_candidate.port})"


def use_udp_mux(pc: RTCPeerConnection, mux: UdpMux) -> None:
    """Make every ICE agent of ``pc`` gather its host candidates on ``mux`` (and bind no UDP
    socket of its own, unless a TURN server is configured)."""
    _wrap_dtls_transports(pc, mux, None)


def _wrap_dtls_transports(pc: RTCPeerConnection, mux: UdpMux | None,
                          handshakes: DtlsHandshakes | None) -> None:
    """Each DTLS transport ``pc`` makes from now on: its ICE agent gathering on ``mux``, its
    handshake computing in ``handshakes``' threads (either may be None)."""
    create = pc._RTCPeerConnection__createDtlsTransport  # type: ignore[attr-defined]
    ice_transports = pc._RTCPeerConnection__iceTransports  # type: ignore[attr-defined]

    def create_dtls_transport() -> Any:
        known = set(ice_transports)
        dtls_transport = create()
        if mux is not None:
            for ice_transport in set(ice_transports) - known:
                _gather_on_mux(ice_transport.iceGatherer._connection, mux)
        if handshakes is not None:
            _Handshake(dtls_transport, handshakes)
        return dtls_transport

    pc._RTCPeerConnection__createDtlsTransport = create_dtls_transport  # type: ignore[attr-defined]


def _gather_on_mux(connection: aioice.ice.Connection, mux: UdpMux) -> None:
    connection._local_username = mux.new_ufrag()
    gather_others = connection.get_component_candidates

    async def get_component_candidates(component: int, addresses: list[str],
                                       timeout: int = 5) -> list[Candidate]:
        candidates: list[Candidate] = []
        protocols: list[_MuxProtocol] = []
        if connection._transport_policy == aioice.ice.TransportPolicy.ALL:
            for mux_socket in mux.sockets:
                host, port = mux_socket.announced  # the bound address, or the announced one
                candidate = Candidate(
                    foundation=candidate_foundation("host", "udp", host), component=component,
                    transport="udp", priority=candidate_priority(component, "host"),
                    host=host, port=port, type="host")
                protocol = _MuxProtocol(connection, mux_socket, candidate)
                mux_socket.register(connection.local_username, connection.local_password,
                                    protocol)
                protocols.append(protocol)
                candidates.append(candidate)
            connection._protocols += protocols
        stun_server = connection.stun_server
        reflexive = [aioice.ice.server_reflexive_candidate(p, stun_server) for p in protocols
                     if stun_server and ":" not in p.local_candidate.host]
        # aioice's own gathering with no host address: only the TURN server's relay
        relayed = asyncio.ensure_future(
            gather_others(component=component, addresses=[], timeout=timeout))
        for result in await asyncio.gather(*(asyncio.wait_for(r, timeout) for r in reflexive),
                                           return_exceptions=True):
            if isinstance(result, tuple):
                candidates.append(result[0])
        candidates += await relayed
        return candidates

    connection.get_component_candidates = get_component_candidates  # type: ignore[method-assign]


# What aiortc builds for every transceiver's receiver and the SFU never uses: a video
# receiver's ``RemoteBitrateEstimator`` (a 1,000-bucket rate counter: ~120 KB and ~3 ms of
# CPU each) and a 512-slot jitter buffer. A subscriber's connection has five video m-lines
# (four seats and the screen) whose receivers never receive, and a publisher's receivers are
# taken over (:func:`take_over_receiver`): aiortc's own packet path, the only user of both,
# never runs; nor does its decoder thread, the only user of the receiver's decoder queue.
# The SFU's transceivers are made without them (:func:`add_transceiver`).
SFU_JITTER_CAPACITY = 16


def _no_estimator() -> None:
    return None


def _small_jitter_buffer(capacity: int, prefetch: int = 0, is_video: bool = False) -> Any:
    from aiortc.jitterbuffer import JitterBuffer

    return JitterBuffer(capacity=min(capacity, SFU_JITTER_CAPACITY), prefetch=prefetch,
                        is_video=is_video)


class _NoDecoderQueue:
    """Stands for the ``queue`` module while an SFU receiver is made: no decoder queue (a
    ``queue.Queue``, three conditions and four deques per receiver, ~5 KB), which only
    aiortc's decoder thread uses."""

    @staticmethod
    def Queue() -> None:
        return None


def add_transceiver(pc: RTCPeerConnection, kind: str, direction: str) -> RTCRtpTransceiver:
    """``pc.addTransceiver(kind, direction=direction)`` for the SFU's side of a connection:
    its receiver without aiortc's receive-side bandwidth estimator and with a small jitter
    buffer (aiortc's ``RTCRtpReceiver`` looks both names up in its module when it is made:
    they are swapped for the synchronous call, nothing else runs meanwhile). Only for a
    transceiver whose receiver is taken over or never receives."""
    import aiortc.rtcrtpreceiver as receiver_module

    names = vars(receiver_module)
    saved = names["RemoteBitrateEstimator"], names["JitterBuffer"], names["queue"]
    names["RemoteBitrateEstimator"], names["JitterBuffer"], names["queue"] = \
        _no_estimator, _small_jitter_buffer, _NoDecoderQueue
    try:
        return pc.addTransceiver(kind, direction=direction)
    finally:
        names["RemoteBitrateEstimator"], names["JitterBuffer"], names["queue"] = saved


def receiver_estimator(receiver: RTCRtpReceiver) -> Any:
    """The receive-side estimator aiortc gave a receiver (None for the SFU's; tests)."""
    return receiver._RTCRtpReceiver__remote_bitrate_estimator  # type: ignore[attr-defined]


def dtls_certificate_of(pc: RTCPeerConnection) -> RTCCertificate:
    """The DTLS certificate a connection presents (tests)."""
    certificates = pc._RTCPeerConnection__certificates  # type: ignore[attr-defined]
    return certificates[0]  # type: ignore[no-any-return]


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


class _OneRtpSession:
    """What aiortc finds at ``RTCDtlsTransport._tx_srtp`` once the C send path owns the
    transport's RTP: RTP is protected by the Tx's libsrtp2 session (the one that protects
    the forwarded packets), so that no two sessions ever protect two plaintexts under one
    SSRC and packet index; RTCP stays on aiortc's session (SRTCP has an index of its own)."""

    def __init__(self, session: Any, tx: Any) -> None:
        self._session = session
        self._tx = tx

    def protect(self, packet: bytes) -> bytes:
        data: bytes = self._tx.protect(packet)
        return data

    def protect_rtcp(self, packet: bytes) -> bytes:
        data: bytes = self._session.protect_rtcp(packet)
        return data


_TX_ATTRIBUTE = "_rostrum_fanout_tx"


def _mux_pair_target(pair: Any) -> tuple[int, str, int] | None:
    """(socket fd, remote host, remote port) of a nominated pair on the worker's UDP mux."""
    protocol = pair.protocol
    if not isinstance(protocol, _MuxProtocol) or protocol.transport is None:
        return None
    sock = protocol.transport.get_extra_info("socket")
    if sock is None:
        return None
    return sock.fileno(), pair.remote_addr[0], pair.remote_addr[1]


def _follow_nominated_pair(connection: aioice.ice.Connection, tx: Any) -> None:
    """After a STUN request (a nominated check may have moved the connection to a new
    address, as the Python path's send sees on its next packet): send where ICE sends."""
    pair = connection._nominated.get(1)
    target = None if pair is None else _mux_pair_target(pair)
    if target is None or tx.address() == (target[1], target[2]):
        return
    try:
        tx.retarget(*target)
    except (ValueError, OSError, ConnectionError) as exc:
        logger.warning("C send path: cannot follow the connection to %s (%s)", target, exc)
        tx.open = False


def fanout_tx_of(transport: Any) -> Any | None:
    """The Tx the C send path made for this DTLS transport, if it made one (tests)."""
    return getattr(transport, _TX_ATTRIBUTE, None)


def fanout_tx(transport: Any) -> Any | None:
    """The C send path's ``sfu._fanout.Tx`` of a connected DTLS transport, made on first use
    (then kept on the transport): a libsrtp2 session from the same key material as aiortc's
    ``_tx_srtp`` (the DTLS-SRTP exporter, RFC 5764 4.2, read again from the same DTLS
    connection), a copy of the nominated pair's socket (the worker's UDP mux socket), and the pair's
    remote address. From then on aiortc's own RTP protect
    goes through the same session (:class:`_OneRtpSession`). None when the C path cannot
    serve it: no extension, not connected, not on the worker's UDP mux (per-connection
    sockets, a TURN relay), a profile this libsrtp2 lacks. The Tx follows the nominated
    pair when a check moves it (:func:`_follow_nominated_pair`)."""
    from aiortc.rtcdtlstransport import State

    from . import fanout

    native = fanout.native
    existing = getattr(transport, _TX_ATTRIBUTE, None)
    if existing is not None:
        return existing
    if native is None or transport._state is not State.CONNECTED:
        return None
    connection = transport.transport._connection
    pair = connection._nominated.get(1)
    # the worker's one UDP port only: per-connection sockets and TURN relays (whose packets
    # need the TURN framing) keep the Python path
    target = None if pair is None else _mux_pair_target(pair)
    if target is None:
        return None
    try:
        ssl = transport._ssl
        selected = ssl.get_selected_srtp_profile()
        profile = next((p for p in transport._srtp_profiles if p.openssl_profile == selected),
                       None)
        if profile is None:
            return None
        material = ssl.export_keying_material(b"EXTRACTOR-dtls_srtp",
                                              2 * (profile.key_length + profile.salt_length))
        key = profile.get_key_and_salt(material, 1 if transport._role == "server" else 0)
        tx = native.Tx(*target, profile=profile.libsrtp_profile, key=key)
    except Exception as exc:  # the Python path serves it (nothing was protected here yet)
        logger.warning("C send path unavailable for a transport (%s): Python path", exc)
        return None
    transport._tx_srtp = _OneRtpSession(transport._tx_srtp, tx)
    setattr(transport, _TX_ATTRIBUTE, tx)
    setattr(connection, _TX_ATTRIBUTE, tx)
    # its datagrams bypass MuxSocket.sendto: the mux counts them from the Tx (/metrics)
    mux = pair.protocol.mux_socket.mux
    mux.add_sender(tx)

    def on_state() -> None:
        if transport._state is State.CONNECTED:
            return
        tx.open = False
        if transport._state in (State.CLOSED, State.FAILED):
            tx.close()
            mux.sender_closed(tx)

    transport.on("statechange", on_state)
    return tx


def transport_connected(transport: Any) -> bool:
    return bool(transport.state == "connected")


def _ice_connection(pc: RTCPeerConnection) -> aioice.ice.Connection | None:
    for ice_transport in pc._RTCPeerConnection__iceTransports:  # type: ignore[attr-defined]
        return ice_transport.iceGatherer._connection  # type: ignore[no-any-return]
    return None  # one ICE transport under max-bundle


def ice_local_addresses(pc: RTCPeerConnection) -> list[Address]:
    """The local UDP addresses of a peer connection's ICE sockets (for tests and bench/)."""
    connection = _ice_connection(pc)
    if connection is None:
        return []
    return [p.transport.get_extra_info("sockname")[:2] for p in connection._protocols]


def send_raw_datagram(pc: RTCPeerConnection, data: bytes) -> Address | None:
    """Send ``data`` as it is (no SRTP) from the nominated ICE pair's socket to its remote
    address; the local address it left from, None when not connected (tests: a datagram from
    an address the other side knows)."""
    connection = _ice_connection(pc)
    pair = None if connection is None else connection._nominated.get(1)
    if pair is None:
        return None
    pair.protocol.transport.sendto(data, pair.remote_addr)
    return pair.local_addr


def gather_on_mux(connection: aioice.ice.Connection, mux: UdpMux) -> None:
    """Make a bare aioice Connection gather on ``mux`` (bench/: the receive path alone)."""
    _gather_on_mux(connection, mux)


def ice_protocols(connection: aioice.ice.Connection) -> list[aioice.ice.StunProtocol]:
    """A bare aioice Connection's protocols, one per local candidate (bench/)."""
    return list(connection._protocols)


def ice_queue(connection: aioice.ice.Connection) -> asyncio.Queue[Any]:
    """Where a bare aioice Connection queues what it received (bench/)."""
    return connection._queue
