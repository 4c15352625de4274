"""PlainTransport: a subscriber over plain RTP on UDP, with no ICE, DTLS or SRTP.

mediasoup's PlainTransport is the model. A plain transport is a subscriber of the router
like a WebRTC subscriber is: it holds a ``Subscription`` (seats and a channel slot) whose
consumers the router feeds and switches exactly as it does a browser's, so source switches,
floor passthrough and handovers arrive with a continuous sequence and timestamp. The only
difference is the wire: each consumer writes RTP to a given UDP address (its RTCP to the
next port, as RFC 3550 has it) from the transport's one local socket, and whatever RTCP
the reader sends back (receiver reports, PLI, FIR, NACK) reaches that consumer as a
subscriber's would: a PLI goes up to the feeding producer's keyframe throttle.

Webcast taps use it on loopback (FFmpeg reads each tap through an SDP, see
``webcast/sdp.py``). Nothing here knows about the webcast.

``PipeTransport`` is the same wire between two workers of one meeting (mediasoup's
PipeTransport is the model): one UDP socket at each end, RTP and RTCP on the one port. The
home worker's end sends each of its router's producers once (a ``PipeConsumer`` per
producer: the packet unchanged but for the pipe's SSRC, its audio level kept in a header
extension, sender reports carrying the publisher's clock); the other end makes a
``Producer`` in its router for the same participant and source, so that router seats, gates
and feeds channels from it exactly as the home router does from the original. Keyframe
requests (PLI, FIR) and NACKs go back over the pipe: a PLI reaches the home producer's
throttle, a NACK is answered from the pipe consumer's cache.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import random
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiortc.rtcrtpparameters import (
    RTCRtpCodecParameters,
    RTCRtpHeaderExtensionParameters,
    RTCRtpParameters,
    RTCRtpReceiveParameters,
)
from aiortc.rtp import (
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    AnyRtcpPacket,
    HeaderExtensionsMap,
    RtcpPacket,
    RtcpPsfbPacket,
    RtcpRtpfbPacket,
    RtcpSenderInfo,
    RtcpSrPacket,
    RtpPacket,
)

from .consumer import EXT_AUDIO_LEVEL, Consumer
from .events import PipedProducer
from .packet_cache import PacketCache
from .producer import Producer
from .rtp import write_rtp_with

if TYPE_CHECKING:
    from .router import Router, Subscription

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlainCodec:
    """The codec a plain consumer sends: what its reader's SDP must announce."""

    kind: str  # "audio" | "video"
    name: str  # "opus", "VP8", "H264"
    payload_type: int
    clock_rate: int
    channels: int = 1

    @staticmethod
    def for_kind(kind: str, video_codec: str = "VP8") -> PlainCodec:
        if kind == "audio":
            return PlainCodec("audio", "opus", 111, 48000, 2)
        if video_codec.upper() == "H264":
            return PlainCodec("video", "H264", 102, 90000)
        return PlainCodec("video", "VP8", 96, 90000)


Address = tuple[str, int]


class PlainConsumer(Consumer):
    """A Consumer whose packets go over plain UDP: its SSRC is its own (no SDP offer), its
    payload type the one of its reader's SDP, and it writes no header extensions."""

    def __init__(self, *, consumer_id: str, subscriber_id: str, kind: str, slot: int,
                 purpose: str, transport: PlainTransport, codec: PlainCodec,
                 remote: Address | None) -> None:
        super().__init__(consumer_id=consumer_id, subscriber_id=subscriber_id, kind=kind,
                         slot=slot, purpose=purpose, sender=None,
                         on_source_closed=transport.consumer_lost_source)
        self.codec = codec
        self.remote = remote
        self.transport = transport
        self.payload_type = codec.payload_type
        self.clock_rate = codec.clock_rate
        self.codec_name = codec.name.upper()
        self.cname = f"plain-{transport.id}"

    def start(self) -> None:
        """Start sending (a consumer without a remote address stays silent: a seat's half
        that the reader does not take)."""
        if self.remote is None or self.closed or self.ready:
            return
        remote = self.remote
        send = self.transport.sender_to(remote)
        self._send = send
        self._ext_fixed = b""
        self.ready = True
        self._rtcp_task = asyncio.ensure_future(self._run_rtcp())
        if self.feeding is not None:
            self.feeding.request_keyframe()

    def __repr__(self) -> str:
        return f"PlainConsumer({self.id} {self.subscriber_id}#{self.purpose}/{self.kind}" \
               f" -> {self.remote})"


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, owner: PlainTransport) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.owner.rtcp_received(data)

    def error_received(self, exc: Exception) -> None:
        # nothing listens there yet (the reader is starting or restarting): not a fault
        logger.debug("%s send failed: %s", self.owner.prefix, exc)


class PlainTransport:
    """One plain RTP subscriber of a router: a local UDP socket, consumers each sending to a
    remote address, and one ``Subscription`` the router fills.

    ``direction`` is "subscribe" and ``uplink`` None, so the router and its figures treat it
    as any subscriber's transport."""

    direction = "subscribe"
    uplink = None

    def __init__(self, *, router: Router, participant_id: str,
                 local_host: str = "127.0.0.1") -> None:
        self.router = router
        self.id = router.next_id("pt")
        self.participant_id = participant_id
        self.local_host = local_host
        self.consumers: dict[str, Consumer] = {}
        self.producers: dict[str, Any] = {}
        self.subscription: Subscription | None = None
        self.closed = False
        self.prefix = f"[{router.meeting_id} {participant_id} {self.id}]"
        self._socket: asyncio.DatagramTransport | None = None
        self._rtcp_tasks: set[asyncio.Future[None]] = set()
        self.rtcp_packets = 0
        self.rtcp_errors = 0

    def __repr__(self) -> str:
        return f"PlainTransport({self.id} {self.participant_id})"

    @property
    def connection_state(self) -> str:
        return "closed" if self.closed else ("connected" if self._socket else "new")

    @property
    def local_address(self) -> Address:
        assert self._socket is not None
        host, port = self._socket.get_extra_info("sockname")[:2]
        return str(host), int(port)

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(self), local_addr=(self.local_host, 0))
        self._socket = transport

    def sender_to(self, remote: Address) -> Any:
        """A synchronous send of RTP to ``remote`` (what a Consumer's fast path calls)."""
        def send(data: bytes) -> bool:
            sock = self._socket
            if sock is None or self.closed:
                return False
            sock.sendto(data, remote)
            return True
        return send

    async def _send_rtp(self, data: bytes) -> None:
        """RTP (a repair) or RTCP (sender reports) from a consumer's slow path: RTCP goes to
        the port after the consumer's RTP port. The same coroutine a DTLS transport has, so
        a Consumer's RTCP loop and NACK answers work unchanged."""
        if self._socket is None or self.closed or len(data) < 12:
            raise ConnectionError("plain transport closed")
        is_rtcp = 192 <= data[1] <= 223
        ssrc = int.from_bytes(data[4:8] if is_rtcp else data[8:12], "big")
        for consumer in self.consumers.values():
            if isinstance(consumer, PlainConsumer) and consumer.ssrc == ssrc \
                    and consumer.remote is not None:
                host, port = consumer.remote
                self._socket.sendto(data, (host, port + 1) if is_rtcp else (host, port))
                return

    def rtcp_received(self, data: bytes) -> None:
        """RTCP from the reader: each packet to the consumer it is about."""
        try:
            packets = RtcpPacket.parse(data)
        except ValueError:
            self.rtcp_errors += 1
            return
        for packet in packets:
            self.rtcp_packets += 1
            for consumer in self._addressees(packet):
                task = asyncio.ensure_future(consumer.handle_rtcp(packet))
                self._rtcp_tasks.add(task)
                task.add_done_callback(self._rtcp_tasks.discard)

    def _addressees(self, packet: AnyRtcpPacket) -> list[Consumer]:
        if isinstance(packet, (RtcpPsfbPacket, RtcpRtpfbPacket)):
            return [c for c in self.consumers.values() if c.ssrc == packet.media_ssrc]
        return [c for c in self.consumers.values() if c.ready]

    # consumers and the subscription

    def add_consumer(self, kind: str, purpose: str, slot: int, codec: PlainCodec,
                     remote: Address | None) -> PlainConsumer:
        consumer = PlainConsumer(consumer_id=self.router.next_id("c"),
                                 subscriber_id=self.participant_id, kind=kind, slot=slot,
                                 purpose=purpose, transport=self, codec=codec, remote=remote)
        consumer.ssrc = random.getrandbits(32)
        self.consumers[consumer.id] = consumer
        return consumer

    def subscribe(self, *, video: Address | None = None, channel: str | None = None,
                  audio: Address | None = None) -> Subscription:
        """Become a subscriber of the router: with ``video``, one seat whose camera is sent
        there (its microphone half is not sent); with ``channel``, the channel slot, fed
        as a listener of that channel is (``floor`` included: the floor's current voice),
        sent to ``audio``. The router feeds them from now on."""
        from .router import Subscription

        if self._socket is None:
            raise RuntimeError("open the plain transport first")
        if self.subscription is not None:
            raise RuntimeError("already subscribed")
        audio_codec = PlainCodec.for_kind("audio")
        seats: list[tuple[Consumer, Consumer]] = []
        if video is not None:
            seat_audio = self.add_consumer("audio", "seat", 0, audio_codec, None)
            seat_video = self.add_consumer(
                "video", "seat", 0, PlainCodec.for_kind("video", self.router.video_codec),
                video)
            seats.append((seat_audio, seat_video))
        channel_slot = None
        if channel is not None:
            channel_slot = self.add_consumer("audio", "channel", 0, audio_codec, audio)
        sub = Subscription(participant_id=self.participant_id, seats=seats, screen=None,
                           channel_slot=channel_slot, channel=channel or "floor",
                           tap=True)
        self.subscription = sub
        for consumer in self.consumers.values():
            assert isinstance(consumer, PlainConsumer)
            consumer.start()
        self.router.plain_transport_added(self)
        self.router.subscription_added(sub)
        return sub

    def pin(self, participant_id: str | None) -> None:
        """Keep that participant's camera in the seat (None: the most recent voice)."""
        if self.subscription is not None and self.subscription.pinned != participant_id \
                and not self.closed and not self.router.closed:
            self.router.pin(self.participant_id, participant_id)

    def request_keyframe(self) -> None:
        """Ask the source of every video consumer for a keyframe (a reader that starts or
        restarts cannot decode until one comes)."""
        for consumer in self.consumers.values():
            if consumer.kind == "video" and consumer.feeding is not None:
                consumer.feeding.request_keyframe()

    def consumer_lost_source(self, consumer: Consumer) -> None:
        if not self.closed and not self.router.closed:
            self.router.reassign(self.participant_id)

    def figures(self) -> dict[str, Any]:
        return {c.purpose + ("-" + c.kind if c.purpose == "seat" else ""): {
            "packets": c.packets_sent, "source": c.source.id if c.source else None}
            for c in self.consumers.values() if isinstance(c, PlainConsumer) and c.remote}

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for task in list(self._rtcp_tasks):
            task.cancel()
        await asyncio.gather(*self._rtcp_tasks, return_exceptions=True)
        for consumer in list(self.consumers.values()):
            await consumer.close()
        if self._socket is not None:
            self._socket.close()
        self.consumers.clear()
        self.router.transport_closed(self)  # type: ignore[arg-type]
        logger.info("%s closed", self.prefix)


# pipes between workers

PIPE_LEVEL_ID = 1  # the pipe's one header extension: ssrc-audio-level (RFC 6464)
PIPE_SR_INTERVAL_S = 1.0


def _level_block(level: tuple[bool, int] | None) -> bytes:
    """The pipe's header-extension block: the audio level, or nothing."""
    if level is None:
        return b""
    return b"\xbe\xde\x00\x01" + bytes([PIPE_LEVEL_ID << 4,
                                         (0x80 if level[0] else 0) | level[1], 0, 0])


def _pipe_extensions() -> HeaderExtensionsMap:
    extensions = HeaderExtensionsMap()
    extensions.configure(RTCRtpParameters(headerExtensions=[
        RTCRtpHeaderExtensionParameters(id=PIPE_LEVEL_ID, uri=EXT_AUDIO_LEVEL)]))
    return extensions


def _is_rtcp(data: bytes) -> bool:
    return len(data) >= 2 and 192 <= data[1] <= 223


def run_now(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine that does not wait on anything (a producer's packet path over a pipe:
    its RTCP goes out with a plain ``sendto``) to its end now, without a task per packet."""
    try:
        coroutine.send(None)
    except StopIteration:
        return
    coroutine.close()
    raise RuntimeError("a pipe's packet path waited on something")


class PipeConsumer(Consumer):
    """The home end of a pipe for one producer: every packet of it (gated or not: the other
    router applies the plan itself) goes over the pipe unchanged but for the SSRC; video is
    kept a second for NACKs; a sender report each second carries the publisher's clock."""

    def __init__(self, *, consumer_id: str, transport: PipeTransport, producer: Producer
                 ) -> None:
        super().__init__(consumer_id=consumer_id, subscriber_id=transport.participant_id,
                         kind=producer.kind, slot=0, purpose="pipe", sender=None)
        self.transport = transport
        self.piped = producer
        self._pipe_cache = PacketCache(1024) if producer.kind == "video" else None
        self.announced = False  # told to the other end (once the codec is known)
        self.set_source(producer)

    def start(self, send: Callable[[bytes], bool]) -> None:
        self._send = send
        self.ready = True
        self._rtcp_task = asyncio.ensure_future(self._run_rtcp())

    def forward_now(self, producer: Producer, packet: RtpPacket, keyframe: bool,
                    wall: float | None = None, now: float | None = None) -> None:
        if not self.ready or self.closed or producer is not self.piped:
            return
        if not self.announced:
            self.announced = True  # the first packet: the producer's codec is known
            self.transport.announce(self)
        data = write_rtp_with(payload_type=packet.payload_type,
                              sequence_number=packet.sequence_number,
                              timestamp=packet.timestamp, ssrc=self.ssrc,
                              payload=packet.payload, marker=bool(packet.marker),
                              extension_block=_level_block(packet.extensions.audio_level))
        if self._pipe_cache is not None:
            self._pipe_cache.put(packet.sequence_number, data,
                                 time.monotonic() if now is None else now)
        if self._send(data):
            self._fw.packets_sent += 1  # the counters Consumer.packets_sent reads
            self._fw.bytes_sent += len(data)

    async def handle_rtcp(self, packet: AnyRtcpPacket) -> None:
        """Feedback from the other worker's producer: PLI/FIR to the home producer's
        throttle, NACKs answered from the cache (receiver reports are only counted)."""
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
            self.plis_received += 1
            self.piped.request_keyframe()
        elif isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
            self.nacks_received += 1
            now = time.monotonic()
            for seq in packet.lost:
                data = self._pipe_cache.get(seq, now) if self._pipe_cache else None
                if data is not None and self._send(data):
                    self.retransmitted += 1

    def source_closed(self, producer: Producer) -> None:
        super().source_closed(producer)
        self.transport.sender_lost(self)

    def sender_report(self, at: float | None = None) -> RtcpSrPacket | None:
        clock = self.piped.sender_clock
        if clock is None or self.closed:
            return None
        ntp, rtp = clock.now(time.time() if at is None else at)  # timestamps unchanged
        return RtcpSrPacket(ssrc=self.ssrc, sender_info=RtcpSenderInfo(
            ntp_timestamp=ntp, rtp_timestamp=rtp, packet_count=self.packets_sent & 0xFFFFFFFF,
            octet_count=self.bytes_sent & 0xFFFFFFFF))

    async def _run_rtcp(self) -> None:
        try:
            while True:
                await asyncio.sleep(PIPE_SR_INTERVAL_S)
                report = self.sender_report()
                if report is not None:
                    self._send(bytes(report))
        except asyncio.CancelledError:
            pass

    def description(self) -> PipedProducer:
        producer = self.piped
        codec = producer.codec
        return PipedProducer(
            ssrc=self.ssrc, producer_id=producer.id, participant_id=producer.participant_id,
            source=producer.source, kind=producer.kind,
            codec=codec.name if codec is not None else
            ("opus" if producer.kind == "audio" else "VP8"),
            payload_type=codec.payloadType if codec is not None and
            codec.payloadType is not None else 0,
            clock_rate=producer.clock_rate,
            channels=(codec.channels or 1) if codec is not None else 1)


class _PipeProtocol(asyncio.DatagramProtocol):
    def __init__(self, owner: PipeTransport) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.owner.datagram_received(data, addr)

    def error_received(self, exc: Exception) -> None:
        logger.debug("%s send failed: %s", self.owner.prefix, exc)


def check_pipe_address(host: str, port: int) -> Address:
    """A pipe's remote address: an IP address and a port 1..65535 (ValueError otherwise)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"a pipe connects to an IP address, not {host!r}") from None
    if not 1 <= port <= 65535:
        raise ValueError(f"port {port} is not 1..65535")
    return host, port


class PipeTransport:
    """One end of a pipe between two routers of a meeting on two workers.

    The home end (``pipe_producers``) sends each producer of its router once, with a
    ``PipeConsumer``; the other end (``produce``) makes a ``Producer`` for each piped one
    and hands it to its router. Datagrams from anywhere but the connected remote are
    dropped. In the router's transports (direction ``pipe``) so the router closes it and
    counts its consumers."""

    direction = "pipe"
    uplink = None

    def __init__(self, *, router: Router, pipe_id: str, local_host: str = "127.0.0.1",
                 on_piped: Callable[[PipedProducer], None] | None = None,
                 on_unpiped: Callable[[int], None] | None = None) -> None:
        self.router = router
        self.id = pipe_id
        self.participant_id = f"pipe:{pipe_id}"
        self.local_host = local_host
        self.consumers: dict[str, Consumer] = {}
        self.producers: dict[str, Producer] = {}
        self.closed = False
        self.remote: Address | None = None
        self.sending = False
        self.prefix = f"[{router.meeting_id} pipe {pipe_id}]"
        self._socket: asyncio.DatagramTransport | None = None
        self._by_ssrc: dict[int, Producer] = {}  # the other end's producers, by pipe SSRC
        self._senders: dict[int, PipeConsumer] = {}  # this end's, by pipe SSRC
        self._piped: dict[str, PipeConsumer] = {}  # home producer id -> its sender
        self._extensions = _pipe_extensions()
        self._on_piped = on_piped
        self._on_unpiped = on_unpiped
        self._tasks: set[asyncio.Future[None]] = set()
        # figures
        self.packets_received = 0
        self.rtcp_packets = 0
        self.dropped = 0  # from elsewhere, unknown SSRC, or not parsed

    def __repr__(self) -> str:
        return f"PipeTransport({self.id} -> {self.remote})"

    @property
    def connection_state(self) -> str:
        if self.closed:
            return "closed"
        return "connected" if self._socket is not None and self.remote else "new"

    @property
    def local_address(self) -> Address:
        assert self._socket is not None
        host, port = self._socket.get_extra_info("sockname")[:2]
        return str(host), int(port)

    async def open(self) -> Address:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _PipeProtocol(self), local_addr=(self.local_host, 0))
        self._socket = transport
        return self.local_address

    def connect(self, host: str, port: int) -> None:
        self.remote = check_pipe_address(host, port)
        for sender in self._senders.values():
            if not sender.ready:
                sender.start(self._send)

    def _send(self, data: bytes) -> bool:
        sock, remote = self._socket, self.remote
        if sock is None or remote is None or self.closed:
            return False
        sock.sendto(data, remote)
        return True

    async def _send_rtp(self, data: bytes) -> None:
        """RTCP of this end's producers (receiver reports, NACK, PLI) back over the pipe:
        the coroutine a producer's RTCP goes out through (it waits on nothing)."""
        if not self._send(data):
            raise ConnectionError("pipe closed")

    # the home end

    def pipe_producers(self) -> None:
        """Send every producer of the router over the pipe, now and as they are added."""
        self.sending = True
        for producer in list(self.router.producers.values()):
            self.producer_added(producer)

    def producer_added(self, producer: Producer) -> None:
        if not self.sending or self.closed or producer.closed or producer.id in self._piped:
            return
        if isinstance(producer.transport, PipeTransport):
            return  # a producer piped here from elsewhere is not piped on
        sender = PipeConsumer(consumer_id=self.router.next_id("c"), transport=self,
                              producer=producer)
        self.consumers[sender.id] = sender
        self._senders[sender.ssrc] = sender
        self._piped[producer.id] = sender
        if self.remote is not None:
            sender.start(self._send)

    def announce(self, sender: PipeConsumer) -> None:
        """The sender's first packet: the other end is told what it carries (until it has
        made that producer, its packets are dropped there)."""
        if self._on_piped is not None and not self.closed:
            self._on_piped(sender.description())

    def sender_lost(self, sender: PipeConsumer) -> None:
        """A piped producer closed at home: its copy is closed on the other worker."""
        self._senders.pop(sender.ssrc, None)
        self._piped.pop(sender.piped.id, None)
        self.consumers.pop(sender.id, None)
        self._spawn(sender.close())
        if not self.closed and self._on_unpiped is not None:
            self._on_unpiped(sender.ssrc)

    # the other end

    def produce(self, piped: PipedProducer) -> Producer:
        """The producer a piped one is on this router (``ValueError`` for an SSRC in use)."""
        if self.closed:
            raise ValueError("the pipe is closed")
        if piped.ssrc in self._by_ssrc or piped.ssrc in self._senders:
            raise ValueError(f"ssrc {piped.ssrc} is already piped")
        producer = Producer(producer_id=self.router.next_id("p"),
                            participant_id=piped.participant_id, kind=piped.kind,
                            source=piped.source, transport=self,
                            keyframe_interval_s=self.router.keyframe_interval_s,
                            on_close=self.router.producer_closed)
        codec = RTCRtpCodecParameters(mimeType=f"{piped.kind}/{piped.codec}",
                                      clockRate=piped.clock_rate,
                                      channels=piped.channels if piped.kind == "audio"
                                      else None, payloadType=piped.payload_type)
        producer.configure(RTCRtpReceiveParameters(codecs=[codec]))
        producer.media_ssrc = piped.ssrc
        self.producers[producer.id] = producer
        self._by_ssrc[piped.ssrc] = producer
        self.router.producer_added(producer)
        return producer

    async def unproduce(self, ssrc: int) -> bool:
        producer = self._by_ssrc.pop(ssrc, None)
        if producer is None:
            return False
        self.producers.pop(producer.id, None)
        await producer.close()
        return True

    # packets in

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if self.closed or self.remote is None or tuple(addr[:2]) != self.remote:
            self.dropped += 1
            return
        if _is_rtcp(data):
            self._rtcp_received(data)
            return
        if len(data) < 12:
            self.dropped += 1
            return
        producer = self._by_ssrc.get(int.from_bytes(data[8:12], "big"))
        if producer is None:
            self.dropped += 1  # not made yet (its PipeProducer is on its way) or closed
            return
        try:
            packet = RtpPacket.parse(data, self._extensions)
        except ValueError:
            self.dropped += 1
            return
        self.packets_received += 1
        run_now(producer.handle_rtp(packet, int(time.monotonic() * 1000)))

    def _rtcp_received(self, data: bytes) -> None:
        try:
            packets = RtcpPacket.parse(data)
        except ValueError:
            self.dropped += 1
            return
        for packet in packets:
            self.rtcp_packets += 1
            if isinstance(packet, (RtcpPsfbPacket, RtcpRtpfbPacket)):
                sender = self._senders.get(packet.media_ssrc)
                if sender is not None:
                    run_now(sender.handle_rtcp(packet))
            elif isinstance(packet, RtcpSrPacket):
                producer = self._by_ssrc.get(packet.ssrc)
                if producer is not None:
                    run_now(producer.handle_rtcp(packet))

    # closing

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def figures(self) -> dict[str, Any]:
        return {"sent": sum(c.packets_sent for c in self._senders.values()),
                "received": self.packets_received, "dropped": self.dropped,
                "producers": len(self._by_ssrc), "senders": len(self._senders)}

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for sender in list(self._senders.values()):
            await sender.close()
        self._senders.clear()
        self._piped.clear()
        for producer in list(self._by_ssrc.values()):
            await producer.close()
        self._by_ssrc.clear()
        self.producers.clear()
        self.consumers.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._socket is not None:
            self._socket.close()
        self.router.transport_closed(self)  # type: ignore[arg-type]
        logger.info("%s closed", self.prefix)
