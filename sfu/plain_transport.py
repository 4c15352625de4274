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
``webcast/sdp.py``); worker-to-worker pipes can use the same consumers towards another
worker's address. Nothing here knows about the webcast.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiortc.rtp import AnyRtcpPacket, RtcpPacket, RtcpPsfbPacket, RtcpRtpfbPacket

from .consumer import Consumer

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
