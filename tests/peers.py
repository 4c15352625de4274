"""Real aiortc peers that speak Rostrum's signaling, for integration tests and benches.

A publisher sends a tone (and optionally a moving test picture, VP8-encoded by aiortc). A
subscriber either decodes what it receives (to name the tone it hears) or only counts packets,
answering loss with NACKs like a browser does, and can drop chosen packets on purpose. Like the
web client, a peer follows `/media` `media-restart` by itself: it publishes and subscribes
again what it had (docs/protocol.md).
"""

from __future__ import annotations

import asyncio
import fractions
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import socketio
from aiortc import MediaStreamTrack, RTCSessionDescription
from aiortc.codecs import is_rtx
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
from aiortc.rtcrtpreceiver import NackGenerator
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_RTPFB_NACK,
    RtcpPsfbPacket,
    RtcpRtpfbPacket,
    RtcpSrPacket,
    RtpPacket,
    pack_remb_fci,
    unpack_remb_fci,
    unwrap_rtx,
)
from av import AudioFrame, VideoFrame

from sfu import aiortc_glue

SAMPLE_RATE = 48000
MEDIA_RESTARTING = "media-restarting"  # docs/protocol.md: the router's worker died
RESTART_WAIT_S = 15.0  # longest wait for /media media-restart after a media-restarting


class ToneTrack(AudioStreamTrack):
    """A sine tone, 20 ms frames, real time."""

    def __init__(self, frequency: float, amplitude: float = 0.3) -> None:
        super().__init__()
        self.frequency = frequency
        self.amplitude = amplitude
        self._pts = 0
        self._start: float | None = None

    async def recv(self) -> AudioFrame:
        samples = SAMPLE_RATE // 50
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self._pts / SAMPLE_RATE - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        t = (np.arange(samples) + self._pts) / SAMPLE_RATE
        data = (self.amplitude * 32767 * np.sin(2 * math.pi * self.frequency * t)).astype(np.int16)
        frame = AudioFrame.from_ndarray(data.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        self._pts += samples
        return frame


class OpusToneTrack(ToneTrack):
    """A tone encoded here as a browser would send it (Opus mono at ``bitrate``, 20 ms), handed
    to aiortc as ready packets: aiortc's own encoder is fixed at 96 kbit/s stereo."""

    def __init__(self, frequency: float, bitrate: int = 32000) -> None:
        super().__init__(frequency)
        import av

        self._codec = av.CodecContext.create("libopus", "w")
        self._codec.bit_rate = bitrate
        self._codec.format = "s16"
        self._codec.layout = "mono"
        self._codec.sample_rate = SAMPLE_RATE
        self._codec.time_base = fractions.Fraction(1, SAMPLE_RATE)
        self._codec.options = {"application": "voip", "frame_duration": "20", "vbr": "off"}
        self._pending: list[Any] = []

    async def recv(self):  # type: ignore[no-untyped-def]
        while not self._pending:
            frame = await super().recv()
            self._pending.extend(self._codec.encode(frame))
        packet = self._pending.pop(0)
        packet.time_base = fractions.Fraction(1, SAMPLE_RATE)
        return packet


class PatternTrack(VideoStreamTrack):
    """A moving colour pattern, so the encoder produces real inter frames."""

    def __init__(self, width: int = 320, height: int = 180, noise: bool = False) -> None:
        """``noise``: fill the picture with moving blocky noise, so the encoder needs as many
        bits as a real camera does (a flat pattern compresses to almost nothing)."""
        super().__init__()
        self.width, self.height = width, height
        self.noise = noise
        self._rng = np.random.default_rng(7)
        self._n = 0
        self._running = asyncio.Event()
        self._running.set()

    def pause(self, paused: bool) -> None:
        """Stop (or resume) producing frames: the sender sends nothing meanwhile, as a
        browser's sender with ``active: false`` does."""
        if paused:
            self._running.clear()
        else:
            self._running.set()

    async def recv(self) -> VideoFrame:
        await self._running.wait()
        pts, time_base = await self.next_timestamp()
        if self.noise:
            if self._n == 0:
                small = self._rng.integers(0, 256, (self.height // 4, 2 * self.width // 4, 3),
                                           dtype=np.uint8)
                self._texture = np.repeat(np.repeat(small, 4, axis=0), 4, axis=1)
            shift = (self._n * 3) % self.width  # a moving picture the encoder can predict
            img = np.ascontiguousarray(self._texture[:, shift:shift + self.width])
            # and some fresh detail each frame, as a camera's sensor noise
            dots = self.width * self.height // 600
            img[self._rng.integers(0, self.height, dots), self._rng.integers(
                0, self.width, dots)] = 255
        else:
            img = np.zeros((self.height, self.width, 3), np.uint8)
        x = (self._n * 4) % self.width
        img[:, x:x + 20] = (255, 128, 0)
        img[: self.height // 2, :, 2] = (self._n * 3) % 255
        self._n += 1
        frame = VideoFrame.from_ndarray(img, format="rgb24")
        frame.pts, frame.time_base = pts, time_base
        return frame


@dataclass
class SlotTap:
    """What one subscriber slot received, counted without decoding."""

    kind: str
    mid: str
    received: set[int] = field(default_factory=set)
    retransmitted: set[int] = field(default_factory=set)
    dropped: set[int] = field(default_factory=set)
    packets: int = 0
    first_seq: int | None = None
    ssrcs: set[int] = field(default_factory=set)
    timestamps: list[tuple[int, int]] = field(default_factory=list)  # (seq, ts)
    arrivals: list[float] = field(default_factory=list)
    created: float = field(default_factory=time.monotonic)  # when its subscription was made
    # the SFU's sender reports for this slot: (SSRC, RTP timestamp, arrival)
    sender_reports: list[tuple[int, int, float]] = field(default_factory=list)


def seq_span(seqs: set[int]) -> int:
    """How many sequence numbers the received ones cover, across a wrap at 65536."""
    values = sorted(seqs)
    if values[-1] - values[0] > 32768:  # wrapped: the small ones come after the large ones
        values = sorted(v + 65536 if v < 32768 else v for v in values)
    return values[-1] - values[0] + 1


# what a browser's sendEncodings.maxBitrate asks of each camera layer (web/static/protocol.js)
LAYER_MAX_BITRATE = {"camera": 600_000, "camera-low": 150_000}


def cap_sender_bitrate(sender: Any, max_bps: int) -> None:
    """Give an aiortc sender a browser's ``maxBitrate``: the SFU's REMB is the ceiling of the
    whole connection (sfu/uplink.py), which a browser shares out under each encoding's own
    maximum; aiortc would hand the whole ceiling to every encoder it names."""
    handle = sender._handle_rtcp_packet

    async def capped(packet: Any) -> None:
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            try:
                bitrate, ssrcs = unpack_remb_fci(packet.fci)
            except ValueError:
                bitrate, ssrcs = 0, []
            if bitrate:
                packet = RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=packet.ssrc,
                                        media_ssrc=packet.media_ssrc,
                                        fci=pack_remb_fci(min(bitrate, max_bps), ssrcs))
        await handle(packet)

    sender._handle_rtcp_packet = capped


class TestPeer:
    """One participant: a Socket.IO connection to /room and /media, and aiortc connections."""

    __test__ = False

    def __init__(self, base_url: str, token: str, name: str = "Peer") -> None:
        self.base_url = base_url
        self.token = token
        self.name = name
        self.sio = socketio.AsyncClient(reconnection=False)
        # how this peer makes its peer connections (a test may make them relay-only)
        self.make_pc: Callable[[], Any] = lambda: aiortc_glue.create_peer_connection(())
        self.events: list[tuple[str, str, Any]] = []
        self.slots: list[dict[str, Any]] = []
        self.joined: dict[str, Any] = {}
        self.publish_pc: Any = None
        self.subscribe_pc: Any = None
        self.taps: dict[str, SlotTap] = {}
        self.tracks: dict[str, MediaStreamTrack] = {}
        self.slot_changes = asyncio.Event()
        # source -> published track; the uplink level (/media uplink) pauses camera layers
        # as the web client does
        self.published: dict[str, MediaStreamTrack] = {}
        self.uplink_level = "full"
        # the media restart (docs/protocol.md `media-restart`), as web/static/protocol.js
        # follows it: each `media-restart` starts a new media epoch; what this peer published
        # and subscribed is negotiated again on the meeting's new router
        self.media_epoch = 0
        self.restarts: list[float] = []  # when each media-restart arrived (monotonic)
        self.recovered: list[float] = []  # when the publish/subscribe after it completed
        self.media_refusals: list[str] = []  # media-restarting refusals seen (then retried)
        self._epoch_changed = asyncio.Event()
        self._wanted: dict[str, Callable[[list[int]], Awaitable[dict[str, Any]]]] = {}
        self._negotiating: set[str] = set()
        self._recoveries: set[asyncio.Task[Any]] = set()
        for ns in ("/room", "/media", "/floor", "/interpretation"):
            self.sio.on("*", self._make_catch_all(ns), namespace=ns)

    def _make_catch_all(self, ns: str) -> Callable[..., Any]:
        async def handler(event: str, data: Any = None) -> None:
            self.events.append((ns, event, data))
            if event == "slots":
                self.slots = data["slots"]
                self.slot_changes.set()
            elif event == "uplink" and ns == "/media":
                self.follow_uplink(str(data["level"]))
            elif event == "media-restart" and ns == "/media":
                self._media_restart(data.get("connections") if isinstance(data, dict)
                                    else None)
        return handler

    def _media_restart(self, connections: list[str] | None = None) -> None:
        """The meeting's media restarted on a new router: every connection of this peer is
        gone (or only ``connections``: ["subscribe"] when the worker of its part of a spread
        meeting died). Publish and subscribe again what was published and subscribed; a
        negotiation in flight sorts itself out (``_negotiated``)."""
        self.media_epoch += 1
        self.restarts.append(time.monotonic())
        self._epoch_changed.set()
        self._epoch_changed = asyncio.Event()
        for kind, attempt in self._wanted.items():
            if kind in self._negotiating or (connections is not None
                                             and kind not in connections):
                continue
            task = asyncio.ensure_future(self._recover(kind, attempt))
            self._recoveries.add(task)
            task.add_done_callback(self._recoveries.discard)

    async def _recover(self, kind: str,
                       attempt: Callable[[list[int]], Awaitable[dict[str, Any]]]) -> None:
        pc = self.publish_pc if kind == "publish" else self.subscribe_pc
        if pc is not None:
            await pc.close()  # its other end died with the worker
        await self._negotiated(kind, attempt)

    async def _media_call(self, acks: list[int], event: str, data: Any) -> dict[str, Any]:
        """A /media request; ``acks`` gets the media epoch its answer arrived in."""
        reply = await self.call("/media", event, data)
        acks.append(self.media_epoch)
        return reply

    async def _negotiated(self, kind: str,
                          attempt: Callable[[list[int]], Awaitable[dict[str, Any]]]
                          ) -> dict[str, Any]:
        """Run a publish or subscribe negotiation until it holds on the meeting's current
        router. An answer that came before a `media-restart` came from the router that
        is gone; a `media-restarting` refusal means the router died under the request:
        wait for the `media-restart`, then negotiate again (docs/protocol.md)."""
        self._wanted[kind] = attempt
        self._negotiating.add(kind)
        try:
            while True:
                acks: list[int] = []
                reply = await attempt(acks)
                now = self.media_epoch
                current = all(epoch == now for epoch in acks)
                code = None if reply.get("ok") else reply.get("error", {}).get("code")
                if current and code != MEDIA_RESTARTING:
                    if not reply.get("ok"):
                        self._wanted.pop(kind, None)  # refused: nothing to do again
                    elif self.restarts:
                        self.recovered.append(time.monotonic())
                    return reply
                pc = self.publish_pc if kind == "publish" else self.subscribe_pc
                if pc is not None:
                    await pc.close()
                if code == MEDIA_RESTARTING:
                    self.media_refusals.append(code)
                if code == MEDIA_RESTARTING and current:
                    waiting = self._epoch_changed
                    await asyncio.wait_for(waiting.wait(), RESTART_WAIT_S)
        finally:
            self._negotiating.discard(kind)

    def follow_uplink(self, level: str) -> None:
        """Do what the server asks of this publisher's uplink: ``full`` sends every layer,
        ``low`` only ``camera-low``, ``audio`` no camera (web/static/protocol.js does the
        same with ``encodings[].active``)."""
        self.uplink_level = level
        keep = {"full": {"camera", "camera-low"}, "low": {"camera-low"}, "audio": set()}[level]
        if "camera-low" not in self.published and level == "low":
            keep = {"camera"}
        for source in ("camera", "camera-low"):
            track = self.published.get(source)
            if isinstance(track, PatternTrack):
                track.pause(source not in keep)

    async def connect(self) -> None:
        await self.sio.connect(self.base_url, namespaces=["/room", "/media", "/floor",
                                                               "/interpretation"],
                               auth={"token": self.token}, transports=["websocket"],
                               wait_timeout=10)

    async def call(self, namespace: str, event: str, data: Any = None,
                   timeout: float = 20) -> dict[str, Any]:
        reply = await self.sio.call(event, data if data is not None else {},
                                    namespace=namespace, timeout=timeout)
        assert isinstance(reply, dict), reply
        return reply

    async def join(self, **profile: Any) -> dict[str, Any]:
        await self.connect()
        reply = await self.call("/room", "join", {"name": self.name, **profile})
        assert reply["ok"], reply
        self.joined = reply
        return reply

    def last(self, event: str, namespace: str | None = None) -> Any:
        """The payload of the newest event of that name (None if none came)."""
        for ns, name, data in reversed(self.events):
            if name == event and (namespace is None or ns == namespace):
                return data
        return None

    async def floor(self, event: str, data: Any = None) -> dict[str, Any]:
        return await self.call("/floor", event, data)

    async def interp(self, event: str, data: Any = None) -> dict[str, Any]:
        return await self.call("/interpretation", event, data)

    def channel_mid(self) -> str | None:
        for slot in self.slots:
            if slot["purpose"] == "channel":
                return str(slot["mid"])
        return None

    @property
    def participant_id(self) -> str:
        return str(self.joined["self"]["id"])

    async def publish(self, audio: MediaStreamTrack | None = None,
                      video: MediaStreamTrack | None = None,
                      video_low: MediaStreamTrack | None = None,
                      screen: MediaStreamTrack | None = None) -> dict[str, Any]:
        """Publish these tracks; after a `media-restart` they are published again."""
        async def attempt(acks: list[int]) -> dict[str, Any]:
            return await self._publish_once(acks, audio, video, video_low, screen)
        return await self._negotiated("publish", attempt)

    async def _publish_once(self, acks: list[int], audio: MediaStreamTrack | None,
                            video: MediaStreamTrack | None,
                            video_low: MediaStreamTrack | None,
                            screen: MediaStreamTrack | None) -> dict[str, Any]:
        pc = self.make_pc()
        self.publish_pc = pc
        sources: dict[int, str] = {}
        order = []
        if audio is not None:
            order.append((pc.addTransceiver(audio, direction="sendonly"), "mic"))
        if video is not None:
            order.append((pc.addTransceiver(video, direction="sendonly"), "camera"))
        if video_low is not None:
            order.append((pc.addTransceiver(video_low, direction="sendonly"), "camera-low"))
        if screen is not None:
            order.append((pc.addTransceiver(screen, direction="sendonly"), "screen"))
        self.published = {s: t.sender.track for t, s in order}
        for transceiver, source in order:
            if source in LAYER_MAX_BITRATE:
                cap_sender_bitrate(transceiver.sender, LAYER_MAX_BITRATE[source])
        await pc.setLocalDescription(await pc.createOffer())
        sources_by_mid = {t.mid: s for t, s in order}
        del sources
        reply = await self._media_call(acks, "publish", {"sdp": pc.localDescription.sdp,
                                                         "sources": sources_by_mid})
        if reply["ok"]:
            await pc.setRemoteDescription(RTCSessionDescription(reply["sdp"], "answer"))
        return reply

    async def subscribe(self, *, decode: bool = False,
                        drop: Callable[[SlotTap, RtpPacket], bool] | None = None
                        ) -> dict[str, Any]:
        """Take the server's slots. With ``decode`` the audio tracks are decoded by aiortc
        (to name a tone); otherwise packets are counted and NACKed, never decoded. After a
        `media-restart` it subscribes again the same way (fresh taps and tracks)."""
        async def attempt(acks: list[int]) -> dict[str, Any]:
            return await self._subscribe_once(acks, decode, drop)
        return await self._negotiated("subscribe", attempt)

    async def _subscribe_once(self, acks: list[int], decode: bool,
                              drop: Callable[[SlotTap, RtpPacket], bool] | None
                              ) -> dict[str, Any]:
        reply = await self._media_call(acks, "subscribe", {})
        if not reply["ok"] and reply["error"]["code"] == MEDIA_RESTARTING:
            return reply
        assert reply["ok"], reply
        pc = self.make_pc()
        self.subscribe_pc = pc
        await pc.setRemoteDescription(RTCSessionDescription(reply["sdp"], "offer"))
        for transceiver in pc.getTransceivers():
            tap = SlotTap(kind=transceiver.kind, mid=transceiver.mid)
            self.taps[transceiver.mid] = tap
            if decode and transceiver.kind == "audio":
                self.tracks[transceiver.mid] = transceiver.receiver.track
            else:
                _tap_receiver(transceiver.receiver, tap, drop)
        await pc.setLocalDescription(await pc.createAnswer())
        answer = await self._media_call(acks, "subscribe-answer",
                                        {"sdp": pc.localDescription.sdp})
        if answer.get("ok"):
            self.slots = answer["slots"]
        return answer

    def slot_of(self, participant_id: str, kind: str) -> str | None:
        for slot in self.slots:
            if slot["participantId"] == participant_id and slot["kind"] == kind:
                return str(slot["mid"])
        return None

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 15,
                       what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: timed out waiting for {what}")
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        self._wanted.clear()
        for task in list(self._recoveries):
            task.cancel()
        await asyncio.gather(*self._recoveries, return_exceptions=True)
        for pc in (self.publish_pc, self.subscribe_pc):
            if pc is not None:
                await pc.close()
        if self.sio.connected:
            await self.sio.disconnect()


def _tap_receiver(receiver: Any, tap: SlotTap,
                  drop: Callable[[SlotTap, RtpPacket], bool] | None) -> None:
    codecs: dict[int, Any] = {}
    rtx: dict[int, int] = {}
    nack = NackGenerator() if tap.kind == "video" else None

    def on_parameters(parameters: Any) -> None:
        for codec in parameters.codecs:
            codecs[codec.payloadType] = codec
        for encoding in parameters.encodings:
            if encoding.rtx:
                rtx[encoding.rtx.ssrc] = encoding.ssrc

    async def on_rtp(packet: RtpPacket, arrival_time_ms: int) -> None:
        codec = codecs.get(packet.payload_type)
        if codec is None:
            return
        retransmission = False
        if is_rtx(codec):
            apt = codec.parameters.get("apt")
            packet = unwrap_rtx(packet, payload_type=apt, ssrc=rtx.get(packet.ssrc, 0))
            retransmission = True
        if not retransmission and packet.sequence_number in tap.received:
            retransmission = True  # resent on the primary SSRC
        if not retransmission and drop is not None and drop(tap, packet):
            tap.dropped.add(packet.sequence_number)
            return
        if retransmission:
            tap.retransmitted.add(packet.sequence_number)
        tap.packets += 1
        tap.ssrcs.add(packet.ssrc)
        if tap.first_seq is None:
            tap.first_seq = packet.sequence_number
        tap.received.add(packet.sequence_number)
        tap.timestamps.append((packet.sequence_number, packet.timestamp))
        tap.arrivals.append(time.monotonic())
        if nack is not None and nack.add(packet):
            rtcp = RtcpRtpfbPacket(fmt=RTCP_RTPFB_NACK, ssrc=1234, media_ssrc=packet.ssrc)
            rtcp.lost = sorted(nack.missing)
            await aiortc_glue.send_rtp(receiver.transport, bytes(rtcp))

    async def on_rtcp(packet: Any) -> None:
        if isinstance(packet, RtcpSrPacket):
            tap.sender_reports.append((packet.ssrc, packet.sender_info.rtp_timestamp,
                                       time.monotonic()))

    aiortc_glue.take_over_receiver(receiver, on_parameters=on_parameters, on_rtp=on_rtp,
                                   on_rtcp=on_rtcp)


def drain(track: MediaStreamTrack) -> int:
    """Drop the frames a decoded track has queued, so what is read next is fresh."""
    queue = getattr(track, "_queue", None)
    dropped = 0
    while queue is not None and not queue.empty():
        queue.get_nowait()
        dropped += 1
    return dropped


def frame_samples(frame: Any) -> np.ndarray:
    data = frame.to_ndarray()
    if data.ndim == 2 and frame.layout.name == "stereo" and data.shape[0] == 1:
        return data.reshape(-1, 2).mean(axis=1).astype(np.float64)
    return data.reshape(-1).astype(np.float64)


def tone_power(samples: np.ndarray, frequency: float, rate: int = SAMPLE_RATE) -> float:
    """Power of one frequency in a block of samples (Goertzel via a single DFT bin)."""
    n = np.arange(len(samples))
    return float(abs(np.dot(samples, np.exp(-2j * np.pi * frequency * n / rate))) ** 2)


async def dominant_frequency(track: MediaStreamTrack, seconds: float = 1.0,
                             fresh: bool = True) -> float:
    """Decode ``seconds`` of audio from a track and return its peak frequency."""
    if fresh:
        drain(track)
    chunks = []
    total = 0
    rate = SAMPLE_RATE
    while total < rate * seconds:
        frame = await asyncio.wait_for(track.recv(), timeout=5)
        data = frame.to_ndarray()
        if data.ndim == 2 and frame.layout.name == "stereo" and data.shape[0] == 1:
            data = data.reshape(-1, 2).mean(axis=1)
        else:
            data = data.reshape(-1)
        rate = frame.sample_rate
        chunks.append(data.astype(np.float64))
        total += len(chunks[-1])
    signal = np.concatenate(chunks)
    signal = signal - signal.mean()
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    freqs = np.fft.rfftfreq(len(signal), 1 / rate)
    return float(freqs[int(np.argmax(spectrum))])
