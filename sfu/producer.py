"""Producer: one incoming track (a microphone, a camera, a screen) of one publisher.

The producer owns the receiving side of the packet path: statistics, RTX unwrapping, NACKs,
receiver reports and REMB towards the publisher, the publisher's sender-report clock mapping
(for lip sync downstream), audio levels for active-speaker detection, and throttled keyframe
requests. Every packet is handed to the consumers fed by this producer; nothing is decoded.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiortc.codecs import is_rtx
from aiortc.rate import RemoteBitrateEstimator
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpReceiveParameters
from aiortc.rtcrtpreceiver import NackGenerator, StreamStatistics
from aiortc.rtp import (
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    AnyRtcpPacket,
    RtcpByePacket,
    RtcpPsfbPacket,
    RtcpReceiverInfo,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSrPacket,
    RtpPacket,
    unwrap_rtx,
)

from . import aiortc_glue, fanout
from .h264 import is_h264_keyframe
from .keyframes import KeyframeThrottle
from .vp8 import is_vp8_keyframe

if TYPE_CHECKING:
    from .consumer import Consumer

logger = logging.getLogger(__name__)

NTP_EPOCH_OFFSET = 2208988800  # seconds from 1900 to 1970


def ntp_now() -> int:
    now = time.time() + NTP_EPOCH_OFFSET
    return int(now * (1 << 32)) & 0xFFFFFFFFFFFFFFFF


class SenderClock:
    """The publisher's NTP↔RTP mapping from its last sender report, extrapolated to now."""

    __slots__ = ("clock_rate", "ntp", "received_at", "rtp")

    def __init__(self, ntp: int, rtp: int, received_at: float, clock_rate: int) -> None:
        self.ntp = ntp
        self.rtp = rtp
        self.received_at = received_at
        self.clock_rate = clock_rate

    def now(self, at: float) -> tuple[int, int]:
        """(ntp, rtp) of the source's clocks at local time ``at``."""
        elapsed = at - self.received_at
        ntp = (self.ntp + int(elapsed * (1 << 32))) & 0xFFFFFFFFFFFFFFFF
        rtp = (self.rtp + int(elapsed * self.clock_rate)) & 0xFFFFFFFF
        return ntp, rtp


class Producer:
    def __init__(
        self,
        *,
        producer_id: str,
        participant_id: str,
        kind: str,
        source: str,
        transport: Any,
        keyframe_interval_s: float = 0.5,
        on_close: Callable[[Producer], None] | None = None,
        fanout_mode: str | None = None,
    ) -> None:
        self.id = producer_id
        self.participant_id = participant_id
        self.kind = kind
        self.source = source
        self.transport = transport  # the publisher's RTCDtlsTransport
        self.codec: RTCRtpCodecParameters | None = None
        self.clock_rate = 48000 if kind == "audio" else 90000
        self.closed = False
        self.consumers: set[Consumer] = set()
        self.sender_clock: SenderClock | None = None
        self.media_ssrc: int | None = None

        self._codecs: dict[int, RTCRtpCodecParameters] = {}
        self._rtx_ssrc: dict[int, int] = {}
        self._stats: dict[int, StreamStatistics] = {}
        self._lsr: dict[int, tuple[int, float]] = {}
        self._nack = NackGenerator() if kind == "video" else None
        self._bitrate = RemoteBitrateEstimator() if kind == "video" else None
        self._rtcp_ssrc = random.getrandbits(32)
        self._rtcp_task: asyncio.Task[None] | None = None
        self._on_close = on_close
        self.keyframes = KeyframeThrottle(self._send_pli, keyframe_interval_s)
        self._keyframe_check: Callable[[bytes], bool] | None = None
        # the send path (sfu/fanout.py): one C call per packet for all its consumers
        self._fanout_c = (fanout.select_mode() if fanout_mode is None else fanout_mode) == "c"

        # figures
        self.packets_received = 0
        self.bytes_received = 0
        self.keyframes_received = 0
        self.rtx_received = 0
        self.nacks_sent = 0
        self.errors = 0
        self.remb_bps: int | None = None
        # audio level (dBov, 0 loudest .. 127 silence) for active-speaker detection
        self.audio_level = 127
        self.last_voice_at = 0.0
        # False: packets are received (statistics, NACKs) but forwarded to nobody
        self.forwarding = True
        self.gated_packets = 0
        # measured bitrate (bits/s on the wire, headers included), sampled by the router
        self.bitrate_bps = 0.0
        self._rate_mark: tuple[float, int, int] | None = None

    def __repr__(self) -> str:
        return f"Producer({self.id} {self.participant_id}/{self.source})"

    # wiring (called by aiortc_glue hooks)

    def attach(self, receiver: Any) -> None:
        aiortc_glue.take_over_receiver(
            receiver,
            on_parameters=self._on_parameters,
            on_rtp=self.handle_rtp,
            on_rtcp=self.handle_rtcp,
        )

    def configure(self, parameters: RTCRtpReceiveParameters) -> None:
        """Set the codecs of a producer fed by something else than an aiortc receiver (a
        pipe from another worker: sfu/plain_transport.py)."""
        self._on_parameters(parameters)

    def _on_parameters(self, parameters: RTCRtpReceiveParameters) -> None:
        for codec in parameters.codecs:
            if codec.payloadType is None:
                continue
            self._codecs[codec.payloadType] = codec
            if self.codec is None and not is_rtx(codec):
                self.codec = codec
                self.clock_rate = codec.clockRate
        for encoding in parameters.encodings:
            if encoding.rtx:
                self._rtx_ssrc[encoding.rtx.ssrc] = encoding.ssrc
            self.media_ssrc = self.media_ssrc or encoding.ssrc
        name = self.codec.name.upper() if self.codec else ""
        if name == "VP8":
            self._keyframe_check = is_vp8_keyframe
        elif name == "H264":
            self._keyframe_check = is_h264_keyframe
        if self._rtcp_task is None and not self.closed:
            self._rtcp_task = asyncio.ensure_future(self._run_rtcp())

    # packet path

    async def handle_rtp(self, packet: RtpPacket, arrival_time_ms: int) -> None:
        """One packet from the publisher. Never raises: an exception here would end aiortc's
        receive loop, and with it the publisher's whole connection."""
        if self.closed:
            return
        try:
            await self._handle_rtp(packet, arrival_time_ms)
        except Exception:
            self.errors += 1
            if self.errors <= 10:
                logger.exception("%r: packet dropped", self)

    async def _handle_rtp(self, packet: RtpPacket, arrival_time_ms: int) -> None:
        codec = self._codecs.get(packet.payload_type)
        if codec is None:
            return
        if self._bitrate is not None and packet.extensions.abs_send_time is not None:
            remb = self._bitrate.add(
                abs_send_time=packet.extensions.abs_send_time,
                arrival_time_ms=arrival_time_ms,
                payload_size=len(packet.payload) + packet.padding_size,
                ssrc=packet.ssrc,
            )
            if remb is not None:
                # the delay-based estimate, for the figures; the REMB itself is the
                # connection's (sfu/uplink.py): one value for all its tracks
                self.remb_bps = remb[0]

        stats = self._stats.get(packet.ssrc)
        if stats is None:
            stats = self._stats[packet.ssrc] = StreamStatistics(codec.clockRate)
        stats.add(packet)

        if is_rtx(codec):
            original_ssrc = self._rtx_ssrc.get(packet.ssrc)
            apt = codec.parameters.get("apt")
            if original_ssrc is None or not isinstance(apt, int) or apt not in self._codecs \
                    or len(packet.payload) < 2:
                return
            packet = unwrap_rtx(packet, payload_type=apt, ssrc=original_ssrc)
            self.rtx_received += 1
        elif self.media_ssrc is None:
            self.media_ssrc = packet.ssrc
        elif packet.ssrc != self.media_ssrc and packet.ssrc not in self._rtx_ssrc:
            # an unsignalled SSRC change (publisher restarted its encoder)
            self.media_ssrc = packet.ssrc

        if self._nack is not None and self._nack.add(packet):
            self.nacks_sent += 1
            nack = RtcpRtpfbPacket(fmt=RTCP_RTPFB_NACK, ssrc=self._rtcp_ssrc,
                                   media_ssrc=packet.ssrc)
            nack.lost = sorted(self._nack.missing)
            await self._send_rtcp(nack)

        self.packets_received += 1
        self.bytes_received += len(packet.payload)
        consumers: Any = self.consumers
        if not self.forwarding:
            # not heard on the floor: only an interpretation channel may carry it (the
            # router feeds a channel only from its booth's live interpreter)
            self.gated_packets += 1
            # (and a pipe to another worker, whose router applies the plan itself)
            consumers = [c for c in self.consumers if c.purpose in ("channel", "pipe")]
            if not consumers:
                return
        keyframe = False
        if self._keyframe_check is not None and packet.payload:
            keyframe = self._keyframe_check(packet.payload)
            if keyframe:
                self.keyframes_received += 1
        level = packet.extensions.audio_level
        if level is not None:
            self.audio_level = level[1]
            if level[1] <= 60 and self.forwarding:  # louder than -60 dBov: speaking
                self.last_voice_at = time.monotonic()

        wall = time.time()
        now = time.monotonic()
        if self._fanout_c and len(packet.payload) <= fanout.MAX_PAYLOAD:
            # every consumer fed by this producer at once, in C; the ones whose packet
            # needs a decision (a switch, a resync) come back
            try:
                consumers = fanout.forward(self, tuple(consumers), packet, wall, now)
            except Exception:
                self.errors += 1
                if self.errors <= 10:
                    logger.exception("%r: the C fan-out failed", self)
                return
        for consumer in tuple(consumers):
            try:
                consumer.forward_now(self, packet, keyframe, wall, now)
            except Exception:
                self.errors += 1
                if self.errors <= 10:
                    logger.exception("%r: forwarding to %r failed", self, consumer)

    async def handle_rtcp(self, packet: AnyRtcpPacket) -> None:
        try:
            self._handle_rtcp(packet)
        except Exception:
            logger.exception("%r: RTCP packet dropped", self)

    def _handle_rtcp(self, packet: AnyRtcpPacket) -> None:
        if isinstance(packet, RtcpSrPacket):
            info = packet.sender_info
            now = time.time()
            self._lsr[packet.ssrc] = ((info.ntp_timestamp >> 16) & 0xFFFFFFFF, now)
            if packet.ssrc == self.media_ssrc or self.sender_clock is None:
                self.sender_clock = SenderClock(info.ntp_timestamp, info.rtp_timestamp, now,
                                                self.clock_rate)
        elif isinstance(packet, RtcpByePacket):
            logger.debug("%r: publisher said BYE", self)

    def set_forwarding(self, allowed: bool) -> None:
        if allowed and not self.forwarding:
            for consumer in self.consumers:
                consumer.resync()  # continue its sequence after the gap
        self.forwarding = allowed

    # requests towards the publisher

    def request_keyframe(self) -> None:
        if self.kind == "video" and not self.closed:
            self.keyframes.request()

    async def _send_pli(self) -> None:
        if self.media_ssrc is not None:
            await self._send_rtcp(RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=self._rtcp_ssrc,
                                                 media_ssrc=self.media_ssrc))

    async def _send_rtcp(self, packet: AnyRtcpPacket) -> None:
        await aiortc_glue.send_rtp(self.transport, bytes(packet))

    async def _run_rtcp(self) -> None:
        try:
            while True:
                await asyncio.sleep(0.5 + random.random())
                reports = []
                now = time.time()
                for ssrc, stream in self._stats.items():
                    if ssrc in self._rtx_ssrc:
                        continue
                    lsr, dlsr = 0, 0
                    if ssrc in self._lsr:
                        lsr, at = self._lsr[ssrc]
                        if 0 < now - at < 65536:
                            dlsr = int((now - at) * 65536)
                    reports.append(RtcpReceiverInfo(
                        ssrc=ssrc, fraction_lost=stream.fraction_lost,
                        packets_lost=stream.packets_lost, highest_sequence=stream.max_seq or 0,
                        jitter=stream.jitter, lsr=lsr, dlsr=dlsr))
                if reports:
                    await self._send_rtcp(RtcpRrPacket(ssrc=self._rtcp_ssrc, reports=reports))
        except asyncio.CancelledError:
            pass
        except Exception:
            logger.exception("%r: RTCP loop failed", self)

    # figures

    def sample_bitrate(self, now: float) -> float:
        """Update and return the measured bitrate (call it every few hundred ms)."""
        mark = (now, self.bytes_received, self.packets_received)
        if self._rate_mark is not None:
            then, octets, packets = self._rate_mark
            elapsed = now - then
            if elapsed > 0.05:
                wire = (self.bytes_received - octets) + 48 * (self.packets_received - packets)
                rate = wire * 8 / elapsed
                self.bitrate_bps = rate if self.bitrate_bps == 0 else \
                    0.6 * self.bitrate_bps + 0.4 * rate
                self._rate_mark = mark
        else:
            self._rate_mark = mark
        return self.bitrate_bps

    def packet_counts(self) -> tuple[int, int]:
        """(packets expected, packets received) so far on the media SSRC (RTX repairs
        count as received)."""
        stream = self._stats.get(self.media_ssrc) if self.media_ssrc is not None else None
        if stream is None or stream.max_seq is None:
            return 0, 0
        return stream.packets_expected, stream.packets_received

    def loss(self) -> tuple[int, int]:
        """(packets expected, packets lost) over the producer's lifetime, media SSRC."""
        stream = self._stats.get(self.media_ssrc) if self.media_ssrc is not None else None
        if stream is None or stream.max_seq is None:
            return 0, 0
        return stream.packets_expected, max(0, stream.packets_expected - stream.packets_received)

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.keyframes.close()
        if self._rtcp_task is not None:
            self._rtcp_task.cancel()
            await asyncio.gather(self._rtcp_task, return_exceptions=True)
        for consumer in tuple(self.consumers):
            consumer.source_closed(self)
        self.consumers.clear()
        if self._on_close is not None:
            try:
                self._on_close(self)
            except Exception:
                logger.exception("%r: close listener failed", self)
