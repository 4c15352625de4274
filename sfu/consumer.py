"""Consumer: one outgoing slot towards one subscriber.

A consumer owns an SSRC and a negotiated payload type on the subscriber's connection and is
fed by one producer at a time. Per packet it rewrites SSRC, payload type, sequence number,
timestamp, header-extension ids and (VP8) picture ids, so that the source can be switched (a
new speaker, another layer, another language feed) without renegotiation and without a jump
the browser would read as loss. It answers the subscriber's NACKs from its own cache, relays
PLI/FIR to the source (throttled there), and sends sender reports that carry the source's
NTP↔RTP mapping into its own timestamp space, so that the browser can keep lip sync.
"""

from __future__ import annotations

import asyncio
import logging
import random
import struct
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiortc.codecs import is_rtx
from aiortc.rtcrtpparameters import RTCRtpSendParameters
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    AnyRtcpPacket,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSenderInfo,
    RtcpSrPacket,
    RtpPacket,
    unpack_remb_fci,
)

from . import aiortc_glue, fanout
from .producer import ntp_now
from .rtp import (
    abs_send_time_now,
    seq_add,
    ts_add,
    wrap_rtx,
    write_extensions,
    write_rtp_with,
)
from .vp8 import Vp8PictureIdRewriter, parse_vp8_descriptor, rewrite_vp8_descriptor

if TYPE_CHECKING:
    from .producer import Producer

logger = logging.getLogger(__name__)

EXT_MID = "urn:ietf:params:rtp-hdrext:sdes:mid"
EXT_AUDIO_LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
# a loss figure covers at least this many packets and this long (or a second)
MIN_REPORT_PACKETS = 20
MIN_REPORT_S = 0.5
SENT_RING_MASK = 1023
EXT_ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"


class Consumer:
    def __init__(
        self,
        *,
        consumer_id: str,
        subscriber_id: str,
        kind: str,
        slot: int,
        purpose: str,
        sender: Any,
        on_source_closed: Callable[[Consumer], None] | None = None,
        fanout_mode: str | None = None,
    ) -> None:
        self.id = consumer_id
        self.subscriber_id = subscriber_id
        self.kind = kind
        self.slot = slot
        self.purpose = purpose
        self.sender = sender
        self.transport: Any = None
        self.mid: str | None = None
        # a plain RTP consumer (sfu/plain_transport.py) has no aiortc sender: its own SSRCs
        self.ssrc, self.rtx_ssrc = aiortc_glue.sender_ssrcs(sender) if sender is not None \
            else (random.getrandbits(32), random.getrandbits(32))
        self.payload_type: int | None = None
        self.rtx_payload_type: int | None = None
        self.clock_rate = 48000 if kind == "audio" else 90000
        self.codec_name = ""
        self.cname = ""
        # a change of ready, closed, source, target or _resync re-arms the C path's
        # ``_fw.feed`` (``_arm``): C reads no Python attribute per packet
        self.ready = False
        self.closed = False
        self.source: Producer | None = None  # feeding this consumer now
        self.target: Producer | None = None  # will feed it from its next keyframe
        self._resync = False  # the source resumes after a gap: continue the sequence
        self._on_source_closed = on_source_closed
        # the subscriber's feedback (loss, REMB, RTT) for its bandwidth estimate
        self.on_feedback: Callable[[str, float], None] | None = None
        self.layer: int | None = None  # the layer index it receives (video), for figures

        self._ext_mid: int | None = None
        self._ext_level: int | None = None
        self._ext_abs: int | None = None
        self._ext_fixed: bytes | None = None  # the constant part of the extension block
        # (extended highest sequence, cumulative lost, when) of the last report counted
        self._loss_mark: tuple[int, int, float, int] | None = None
        # The forwarding state (sfu/fanout.py): sequence/timestamp offsets, the last
        # sequence number and timestamp sent and when, whether the last packet left a frame
        # open, the sequence numbers skipped because the packets never reached the SFU
        # (cumulative), the sent ring (when each recent sequence number went out, to tell a
        # fresh loss from a NACK repeated for a packet long gone) and the NACK cache. The C
        # send path writes it for every packet; Python's decisions read and change it.
        self.fanout_mode = fanout.select_mode() if fanout_mode is None else fanout_mode
        self._fw: Any = fanout.new_state(kind == "video", self.fanout_mode)
        # repairs: at most this many bits per second (None: no limit), set by the router
        # from the subscriber's estimate
        self.repair_bps: float | None = None
        self._repair_tokens = 0.0
        self._repair_at = 0.0
        self.repairs_refused = 0
        self._send: Callable[[bytes], bool] = lambda data: False
        self._fw.last_seq = random.getrandbits(16)
        self._fw.last_ts = random.getrandbits(32)
        self._started = False
        self._rtx_seq = random.getrandbits(16)
        self._vp8 = Vp8PictureIdRewriter()  # the Python path's (C keeps its own in _fw)
        self._rtcp_task: asyncio.Task[None] | None = None
        self._sr_sent: dict[int, float] = {}

        # figures
        self.retransmitted = 0
        self.padding_sent = 0
        self.nacks_received = 0
        self.plis_received = 0
        self.switches = 0
        self.fraction_lost = 0.0
        self.packets_lost = 0
        self.rtt_s: float | None = None
        self.remb_bps: int | None = None

    def __repr__(self) -> str:
        return f"Consumer({self.id} {self.subscriber_id}#{self.purpose}{self.slot}/{self.kind})"

    def _arm(self) -> None:
        """Tell the C path which producer's packets it may write for this consumer without
        asking Python (``forward_now``'s fast case): its source, while it is ready, not
        closed, with no switch to that source and no resync pending; None otherwise. Called
        wherever this class changes one of those; a change made from outside (a test
        setting ``ready``) is picked up at the next packet, which ``forward_now`` decides."""
        source = self.source
        armed = self.ready and not self.closed and not self._resync and \
            source is not None and self.target is not source
        self._fw.feed = source if armed else None

    @property
    def packets_sent(self) -> int:
        return int(self._fw.packets_sent)

    @property
    def bytes_sent(self) -> int:
        return int(self._fw.bytes_sent)

    # wiring

    def attach(self) -> None:
        aiortc_glue.take_over_sender(self.sender, on_parameters=self._on_parameters,
                                     on_rtcp=self.handle_rtcp, on_stop=self.close)

    def _on_parameters(self, parameters: RTCRtpSendParameters) -> None:
        self.transport = self.sender.transport
        self.mid = parameters.muxId
        self.cname = parameters.rtcp.cname or ""
        primary = parameters.codecs[0]
        self.payload_type = primary.payloadType
        self.clock_rate = primary.clockRate
        self.codec_name = primary.name.upper()
        for codec in parameters.codecs:
            if is_rtx(codec) and codec.parameters.get("apt") == primary.payloadType:
                self.rtx_payload_type = codec.payloadType
        for ext in parameters.headerExtensions:
            if ext.uri == EXT_MID:
                self._ext_mid = ext.id
            elif ext.uri == EXT_AUDIO_LEVEL:
                self._ext_level = ext.id
            elif ext.uri == EXT_ABS_SEND_TIME:
                self._ext_abs = ext.id
        self._ext_fixed = self._fixed_extensions()
        self._start_sending()
        self.ready = True
        self._arm()
        # its sender reports: the router's one timer for every subscriber (``report``)
        if self.target is not None:
            self.target.request_keyframe()

    def _start_sending(self) -> None:
        """Choose how this consumer's packets go out. The C path needs its transport's Tx
        (the SRTP session that, from then on, protects every RTP packet of the transport);
        a transport it cannot serve (a TURN relay, an SRTP profile this libsrtp2 lacks)
        keeps the Python path, with aiortc's session."""
        tx = aiortc_glue.fanout_tx(self.transport) if self.fanout_mode == "c" else None
        if tx is None:
            self.use_python_sender(aiortc_glue.rtp_sender(self.transport))
        else:
            self.use_tx(tx)

    def use_tx(self, tx: Any) -> None:
        """Send through ``tx`` (an ``sfu._fanout.Tx``): the C path writes this consumer's
        packets from now on (payload type, codec, extension ids and mid are known)."""
        assert self.payload_type is not None
        if not isinstance(self._fw, fanout.native_state_type()):
            raise ValueError(f"{self!r}: the C path needs a C forwarding state")
        self._fw.configure(ssrc=self.ssrc, payload_type=self.payload_type,
                           vp8=self.codec_name == "VP8", ext_mid=self._ext_mid or 0,
                           ext_abs=self._ext_abs or 0, ext_level=self._ext_level or 0,
                           mid=(self.mid or "").encode("ascii"))
        self._fw.tx = tx
        self._send = tx.send
        self._arm()

    def use_python_sender(self, send: Callable[[bytes], bool]) -> None:
        """Send through ``send`` (protect and send one packet): the Python path."""
        if not isinstance(self._fw, fanout.PyState):
            state = fanout.PyState(self.kind == "video")
            state.last_seq, state.last_ts = self._fw.last_seq, self._fw.last_ts
            self._fw = state
            self._arm()
        self._send = send

    def _fixed_extensions(self) -> bytes | None:
        """The part of the one-byte extension block that never changes (the mid element),
        or None when the block needs the general writer (an id > 14, a mid > 16 bytes)."""
        ids = [i for i in (self._ext_mid, self._ext_abs, self._ext_level) if i is not None]
        mid = (self.mid or "").encode("ascii")
        if any(not 1 <= i <= 14 for i in ids) or len(mid) > 16:
            return None
        if self._ext_mid is not None and mid:
            return bytes([(self._ext_mid << 4) | (len(mid) - 1)]) + mid
        return b""

    def _extensions(self, level: tuple[bool, int] | None, wall: float | None = None) -> bytes:
        """The header-extension block of one outgoing packet (RFC 8285, one-byte form);
        ``wall``: the time abs-send-time says (now)."""
        if wall is None:
            wall = time.time()
        fixed = self._ext_fixed
        if fixed is None:
            extensions: list[tuple[int, bytes]] = []
            if self._ext_mid is not None and self.mid:
                extensions.append((self._ext_mid, self.mid.encode("ascii")))
            if self._ext_abs is not None:
                extensions.append((self._ext_abs, abs_send_time_now(wall)))
            if self._ext_level is not None and level is not None:
                extensions.append((self._ext_level,
                                   bytes([(0x80 if level[0] else 0) | level[1]])))
            return write_extensions(extensions)
        body = fixed
        if self._ext_abs is not None:
            body += bytes([(self._ext_abs << 4) | 2]) + abs_send_time_now(wall)
        if self._ext_level is not None and level is not None:
            body += bytes([self._ext_level << 4, (0x80 if level[0] else 0) | level[1]])
        if not body:
            return b""
        body += b"\x00" * (-len(body) % 4)
        return b"\xbe\xde" + (len(body) // 4).to_bytes(2, "big") + body

    # source selection

    def set_source(self, producer: Producer | None, *, drop_current: bool = False) -> None:
        """Feed this consumer from ``producer`` (None: nothing). Audio switches on the next
        packet; video keeps the old source until the new one's next keyframe, unless
        ``drop_current``: a switch down because the subscriber's link is congested stops the
        old (bigger) layer at once, so that the new layer's keyframe is not lost in the queue
        the old one keeps full (the picture holds still until that keyframe)."""
        try:
            self._set_source(producer, drop_current)
        finally:
            self._arm()

    def _set_source(self, producer: Producer | None, drop_current: bool) -> None:
        if producer is not None and producer.kind != self.kind:
            raise ValueError(f"{self!r} cannot consume {producer!r}")
        current = self.target or self.source
        if producer is current:
            return
        if self.target is not None and self.target is not self.source:
            self.target.consumers.discard(self)
        self.target = None
        if producer is None:
            if self.source is not None:
                self.source.consumers.discard(self)
            self.source = None
            return
        if producer is self.source:
            return
        if drop_current and self.source is not None and self.kind == "video":
            self.source.consumers.discard(self)
            self.source = None
            self._fw.cache_clear()  # repairs of the old layer would only refill the queue
        self.target = producer
        producer.consumers.add(self)
        if self.ready:
            producer.request_keyframe()

    @property
    def feeding(self) -> Producer | None:
        """The producer this consumer is (or is about to be) fed by."""
        return self.target or self.source

    def resync(self) -> None:
        """The source resumes after a gap (it was not forwarded for a while): continue this
        consumer's sequence and timestamps from where they stopped."""
        self._resync = True
        self._arm()

    def source_closed(self, producer: Producer) -> None:
        if self.source is producer:
            self.source = None
        if self.target is producer:
            self.target = None
        self._arm()
        if self._on_source_closed is not None:
            self._on_source_closed(self)

    # packet path

    async def forward(self, producer: Producer, packet: RtpPacket, keyframe: bool) -> None:
        self.forward_now(producer, packet, keyframe)

    def forward_now(self, producer: Producer, packet: RtpPacket, keyframe: bool,
                    wall: float | None = None, now: float | None = None) -> None:
        """Rewrite and send one packet of ``producer``: synchronous, no await per consumer.
        ``wall`` and ``now`` (time.time() and time.monotonic(), read once per packet by the
        producer) default to the clocks."""
        if not self.ready or self.closed:
            return
        if producer is self.target:
            if self.kind == "video" and not keyframe:
                # the old source (if any) goes on until the new one's keyframe; ask for it
                # again while it does not come (the throttle keeps this to one PLI per
                # 500 ms): the first one may have been lost on a lossy uplink, and the old
                # source may have stopped (a publisher told to drop that layer)
                producer.request_keyframe()
                return
            self._switch(producer, packet, now)
        elif producer is not self.source:
            return
        elif self._resync:
            self._switch(producer, packet, now)
        wall = time.time() if wall is None else wall
        now = time.monotonic() if now is None else now
        if self._fw.capable and len(packet.payload) <= fanout.MAX_PAYLOAD:
            if self._fw.feed is not producer:
                self._arm()  # a change made from outside this class (see _arm)
            fanout.forward(producer, (self,), packet, wall, now)
        else:
            self.forward_python(producer, packet, wall, now)

    def forward_python(self, producer: Producer, packet: RtpPacket, wall: float, now: float
                       ) -> None:
        """The reference implementation of the per-consumer packet work (sfu/_fanout.c does
        the same): rewrite, keep the bookkeeping, send."""
        fw = self._fw
        seq = (packet.sequence_number + fw.seq_offset) & 0xFFFF
        ts = (packet.timestamp + fw.ts_offset) & 0xFFFFFFFF
        payload = packet.payload
        if self.codec_name == "VP8" and payload:
            try:
                desc = parse_vp8_descriptor(payload)
            except ValueError:
                return
            picture_id, tl0 = self._vp8.rewrite(desc, producer)
            payload = rewrite_vp8_descriptor(payload, picture_id, tl0)

        assert self.payload_type is not None
        data = write_rtp_with(payload_type=self.payload_type, sequence_number=seq,
                              timestamp=ts, ssrc=self.ssrc, payload=payload,
                              marker=bool(packet.marker),
                              extension_block=self._extensions(packet.extensions.audio_level,
                                                               wall))
        # the NACK cache keeps this packet's own head and a reference to the producer's
        # payload (the same bytes after the VP8 descriptor, which keeps its length)
        body = packet.payload
        skip = min(len(body), fanout.VP8_HEAD) if payload is not body else 0
        fw.cache_put(seq, data[:len(data) - len(body) + skip], now, body, skip)
        ahead = (seq - fw.last_seq) & 0xFFFF
        if ahead < 0x8000:
            if ahead > 1:
                # packets this consumer never had to send (lost on the publisher's uplink;
                # a source switch continues the sequence, so it is never one): the
                # subscriber will count them lost, and they are not its link's doing
                fw.upstream_gaps += ahead - 1
            fw.last_seq = seq
            fw.last_ts = ts
            fw.last_wall = now
            fw.frame_open = self.kind == "video" and not packet.marker
        elif fw.upstream_gaps > 0:
            fw.upstream_gaps -= 1  # a late packet (a repair from the publisher) fills one
        fw.mark_sent(seq, now)
        if self._send(data):
            fw.packets_sent += 1
            fw.bytes_sent += len(payload)

    def _switch(self, producer: Producer, packet: RtpPacket, now: float | None = None) -> None:
        """Make ``producer`` the source, continuing this consumer's sequence and timestamp."""
        old = self.source
        if old is not None and old is not producer:
            old.consumers.discard(self)
        self.source = producer
        self.target = None
        self._resync = False
        self._arm()
        now = time.monotonic() if now is None else now
        fw = self._fw
        if self._started:
            elapsed = max(now - fw.last_wall, 0.001)
            next_seq = seq_add(fw.last_seq, 1)
            next_ts = ts_add(fw.last_ts, max(1, int(elapsed * self.clock_rate)))
            self.switches += 1
        else:
            next_seq, next_ts = seq_add(fw.last_seq, 1), fw.last_ts
            self._started = True
        fw.seq_offset = (next_seq - packet.sequence_number) & 0xFFFF
        fw.ts_offset = (next_ts - packet.timestamp) & 0xFFFFFFFF

    # RTCP from the subscriber

    async def handle_rtcp(self, packet: AnyRtcpPacket) -> None:
        """RTCP from the subscriber. Never raises (it would end aiortc's receive loop)."""
        try:
            await self._handle_rtcp(packet)
        except Exception:
            logger.exception("%r: RTCP packet dropped", self)

    async def _handle_rtcp(self, packet: AnyRtcpPacket) -> None:
        if isinstance(packet, (RtcpRrPacket, RtcpSrPacket)):
            for report in packet.reports:
                if report.ssrc != self.ssrc:
                    continue
                self.fraction_lost = report.fraction_lost / 256
                self.packets_lost = report.packets_lost
                sent_at = self._sr_sent.get(report.lsr)
                if sent_at is not None and report.dlsr:
                    self.rtt_s = max(0.0, time.time() - sent_at - report.dlsr / 65536)
                loss = self._interval_loss(report.highest_sequence, report.packets_lost)
                delay = self._report_delay(report.highest_sequence)
                if delay is not None and self.on_feedback is not None:
                    self.on_feedback("delay", delay)
                if self.on_feedback is not None and self.packets_sent > 0:
                    if loss is not None:
                        self.on_feedback("loss", loss)
                    if self.rtt_s is not None:
                        self.on_feedback("rtt", self.rtt_s)
        elif isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
            self.nacks_received += 1
            if self.on_feedback is not None:
                # the fastest loss signal there is: a probe stops on it (bandwidth.py). Only
                # packets sent in the last second and asked for the first time count: a
                # browser repeats its NACKs for packets long gone every round trip
                fresh = self._fresh_losses(packet.lost)
                if fresh:
                    self.on_feedback("nack", float(fresh))
            for seq in packet.lost:
                await self._retransmit(seq)
        elif isinstance(packet, RtcpPsfbPacket) and packet.fmt in (RTCP_PSFB_PLI,
                                                                     RTCP_PSFB_FIR):
            self.plis_received += 1
            feeding = self.feeding
            if feeding is not None:
                feeding.request_keyframe()
        elif isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            try:
                bitrate, ssrcs = unpack_remb_fci(packet.fci)
            except ValueError:
                return
            if self.ssrc in ssrcs:
                self.remb_bps = bitrate
                if self.on_feedback is not None:
                    self.on_feedback("remb", float(bitrate))

    def _fresh_losses(self, seqs: list[int]) -> int:
        now = time.monotonic()
        fresh = 0
        fw = self._fw
        for seq in seqs:
            sent_at = fw.sent_time(seq & 0xFFFF)
            if sent_at and now - sent_at < 1.0:
                fw.forget_sent(seq & 0xFFFF)  # counted once
                fresh += 1
        return fresh

    def _report_delay(self, highest: int) -> float | None:
        """How long ago the newest packet the receiver had went out: a round trip plus
        whatever waits in a queue on the way. A full link shows here before it drops
        anything (a 100 ms buffer holds more than half a second at 60 kbit/s)."""
        sent_at = self._fw.sent_time(highest & 0xFFFF)
        if not sent_at:
            return None
        return float(time.monotonic() - sent_at)

    def _interval_loss(self, highest: int, cumulative_lost: int) -> float | None:
        """The loss since the last report that said something, from the cumulative counters
        (RFC 3550 A.3), not the block's own ``fraction lost``: a browser sends a receiver
        report with every NACK or PLI, so under congestion most reports cover a few
        milliseconds with no packet expected, and their 0 % would hide the loss of the
        others. Packets the publisher's uplink lost (gaps in what this consumer forwarded)
        are taken out: one delegate's poor uplink must not make every listener's estimate
        fall. None: too few packets since the last one to say anything yet."""
        mark = self._loss_mark
        now = time.monotonic()
        gaps = int(self._fw.upstream_gaps)
        if mark is None or highest < mark[0] or highest - mark[0] > 1 << 20:
            self._loss_mark = (highest, cumulative_lost, now, gaps)
            return None
        expected = highest - mark[0]
        if (expected < MIN_REPORT_PACKETS or now - mark[2] < MIN_REPORT_S) and \
                now - mark[2] < 1.0:
            return None
        self._loss_mark = (highest, cumulative_lost, now, gaps)
        if expected <= 0:
            return None
        # what the publisher's uplink lost is not this link's loss
        lost = (cumulative_lost - mark[1]) - max(0, gaps - mark[3])
        return min(1.0, max(0.0, lost / expected))

    def _repair_allowed(self, size: int, now: float) -> bool:
        """A token bucket for repairs (retransmissions): ``repair_bps``, at most half a
        second's worth at once. Under congestion a receiver asks for everything it lost,
        and answering it all would add the lost traffic to the queue that lost it."""
        if self.repair_bps is None:
            return True
        rate = self.repair_bps / 8
        self._repair_tokens = min(rate * 0.5,
                                  self._repair_tokens + rate * (now - self._repair_at))
        self._repair_at = now
        if self._repair_tokens < size:
            self.repairs_refused += 1
            return False
        self._repair_tokens -= size
        return True

    async def _retransmit(self, seq: int) -> None:
        if self.kind != "video":
            return
        now = time.monotonic()
        data = self._fw.cache_get(seq & 0xFFFF, now)
        if data is None or not self._repair_allowed(len(data), now):
            return
        if self.rtx_payload_type is not None:
            data = wrap_rtx(data, rtx_payload_type=self.rtx_payload_type,
                            rtx_ssrc=self.rtx_ssrc, rtx_sequence_number=self._rtx_seq)
            self._rtx_seq = seq_add(self._rtx_seq, 1)
        # the send path's own (sync) send: the transport's one SRTP session for RTP
        if self._send(data):
            self.retransmitted += 1

    def send_padding(self, size: int) -> int:
        """Send ``size`` bytes (about) of padding-only packets: a bandwidth probe the receiver
        counts but never plays. They go on the media SSRC, in this consumer's own sequence
        (the next media packet continues after them), because a browser counts them there:
        its receiver reports then say what the probe cost, every second, even while no
        video flows. (Padding on the RTX stream is not counted in the RTX report block, so
        an audio-only subscriber, which reports audio every ~5 s, would leave a probe
        without a verdict.) Returns the bytes sent."""
        if not self.ready or self.closed or self.payload_type is None:
            return 0
        fw = self._fw
        if fw.frame_open and self.source is not None:
            return 0  # never inside a frame: a receiver assembles a frame from consecutive
            # sequence numbers (the next tick will find it complete)
        # after a frame left incomplete (the source was cut mid-frame), a timestamp of its own
        timestamp = ts_add(fw.last_ts, 1) if fw.frame_open else fw.last_ts
        sent = 0
        while sent < size:
            pad = min(255, max(16, size - sent))
            seq = seq_add(fw.last_seq, 1)
            # RFC 3550 5.1: the padding bit, and the count in the last byte
            packet = bytearray(write_rtp_with(
                payload_type=self.payload_type, sequence_number=seq, timestamp=timestamp,
                ssrc=self.ssrc, payload=b"\x00" * (pad - 1) + bytes([pad]), marker=False,
                extension_block=self._extensions(None)))
            packet[0] |= 0x20
            data = bytes(packet)
            fw.mark_sent(seq, time.monotonic())
            # media packets forwarded later continue after this one
            fw.last_seq = seq
            fw.seq_offset = (fw.seq_offset + 1) & 0xFFFF
            if not self._send(data):
                break
            sent += len(data)
        self.padding_sent += sent
        return sent

    # sender reports

    def sender_report(self, at: float | None = None) -> RtcpSrPacket | None:
        """A sender report mapping the source's clock into this consumer's timestamps."""
        source = self.source
        if source is None or source.sender_clock is None or not self._started:
            return None
        at = time.time() if at is None else at
        ntp, src_rtp = source.sender_clock.now(at)
        return RtcpSrPacket(ssrc=self.ssrc, sender_info=RtcpSenderInfo(
            ntp_timestamp=ntp, rtp_timestamp=(src_rtp + self._fw.ts_offset) & 0xFFFFFFFF,
            packet_count=self.packets_sent & 0xFFFFFFFF,
            octet_count=self.bytes_sent & 0xFFFFFFFF))

    def report(self, at: float | None = None) -> bytes | None:
        """This slot's sender report and its SDES (CNAME), serialized, or None while it has
        nothing to report (no source yet). The time it went out is kept to measure the round
        trip from the receiver's answer (LSR/DLSR)."""
        if not self.ready or self.closed:
            return None
        if type(self).sender_report is not Consumer.sender_report:
            sr = self.sender_report(at)  # a subclass's own report (a pipe's)
            if sr is None:
                return None
            info = sr.sender_info
            fields = (info.ntp_timestamp, info.rtp_timestamp, info.packet_count,
                      info.octet_count)
        else:
            # the same bytes as sender_report()'s packet, written at once (the router's
            # timer writes one per slot with a source, every second, for every subscriber)
            source = self.source
            if source is None or source.sender_clock is None or not self._started:
                return None
            ntp, src_rtp = source.sender_clock.now(time.time() if at is None else at)
            fw = self._fw
            fields = (ntp, (src_rtp + fw.ts_offset) & 0xFFFFFFFF,
                      fw.packets_sent & 0xFFFFFFFF, fw.bytes_sent & 0xFFFFFFFF)
        self._sr_sent[(fields[0] >> 16) & 0xFFFFFFFF] = time.time()
        if len(self._sr_sent) > 16:
            self._sr_sent.pop(next(iter(self._sr_sent)))
        return sender_report_bytes(self.ssrc, *fields, self.cname.encode("utf-8"))

    async def _run_rtcp(self) -> None:
        """A sender-report loop of its own: only a plain RTP consumer (sfu/plain_transport.py,
        a handful per meeting) runs one; WebRTC slots are reported by their router, one timer
        for every subscriber (``Router._run_sender_reports``)."""
        try:
            while True:
                await asyncio.sleep(0.5 + random.random())
                data = self.report()
                if data is not None:
                    await aiortc_glue.send_rtp(self.transport, data)
        except asyncio.CancelledError:
            pass
        except Exception:
            logger.exception("%r: RTCP loop failed", self)

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.set_source(None)  # (and _arm: nothing)
        if self._rtcp_task is not None:
            self._rtcp_task.cancel()
            await asyncio.gather(self._rtcp_task, return_exceptions=True)
        self._fw.cache_clear()


def sender_report_bytes(ssrc: int, ntp: int, rtp_timestamp: int, packets: int, octets: int,
                        cname: bytes) -> bytes:
    """A sender report without report blocks followed by an SDES packet with one CNAME
    chunk (RFC 3550 6.4.1, 6.5): the bytes aiortc's ``RtcpSrPacket`` and ``RtcpSdesPacket``
    write for the same fields."""
    if len(cname) > 255:
        raise ValueError("a CNAME is at most 255 bytes")
    sdes = _SDES_CHUNK.pack(ssrc, 1, len(cname)) + cname + b"\x00\x00"
    sdes += b"\x00" * (-len(sdes) % 4)
    return _SR.pack(0x80, 200, 6, ssrc, ntp, rtp_timestamp, packets, octets) + \
        _RTCP_HEADER.pack(0x81, 202, len(sdes) // 4) + sdes


_SR = struct.Struct("!BBHLQLLL")
_SDES_CHUNK = struct.Struct("!LBB")
_RTCP_HEADER = struct.Struct("!BBH")

__all__ = ["Consumer", "ntp_now", "sender_report_bytes"]
