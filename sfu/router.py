"""Router: the media of one meeting.

The router owns the meeting's transports (and through them the producers and consumers),
decides which producer feeds which consumer, and runs active-speaker detection. Closing the
router closes every transport; closing a transport closes its producers and consumers; a
closed producer detaches from its consumers, which the router then re-feeds (docs/closures
in docs/architecture.md).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .allocation import VideoWant, allocate
from .bandwidth import BandwidthEstimate
from .consumer import Consumer
from .producer import Producer
from .slots import Candidate, assign_seats, rank
from .transport import Transport
from .uplink import Uplink

logger = logging.getLogger(__name__)

SlotsListener = Callable[[str, list[dict[str, Any]]], None]
UplinkListener = Callable[[str, str, float], None]  # participant, level, loss
SPEAKER_HOLD_S = 1.5  # a seat changes hands only after the new voice was heard this recently


@dataclass(frozen=True)
class ChannelFeed:
    """What feeds a language channel: a live interpreter's microphone, the floor passing
    through (the voice-following floor source), or silence (a coughing interpreter)."""

    kind: str  # "interpretation" | "passthrough" | "silence" | "floor"
    participant_id: str | None = None


@dataclass
class Subscription:
    participant_id: str
    seats: list[tuple[Consumer, Consumer]]  # (audio, video) per seat
    screen: Consumer | None
    channel_slot: Consumer | None = None  # the interpretation channel the listener chose
    channel: str = "floor"
    pinned: str | None = None
    occupants: list[str | None] = field(default_factory=list)
    # adaptive bitrate: the downlink estimate, the layer chosen per video consumer, and the
    # listener's "low bandwidth" switch (audio and documents only)
    estimate: BandwidthEstimate = field(default_factory=BandwidthEstimate)
    layers: dict[str, int | None] = field(default_factory=dict)
    video_allowed: bool = True
    last_allocation_bps: float = 0.0
    probe_bps: float = 0.0  # padding to send on top of the media while probing
    padding_owed: float = 0.0  # bytes of probe padding not sent yet
    cut_since: dict[str, float] = field(default_factory=dict)  # video slot -> asked to cut
    # a plain RTP tap (sfu/plain_transport.py, the webcast): its channel slot carries the
    # floor's current voice when the channel is "floor" (it has no seats of floor audio)
    tap: bool = False

    def feedback(self, kind: str, value: float) -> None:
        now = time.monotonic()
        if kind == "loss":
            self.estimate.on_loss(value, now, self.last_allocation_bps or None)
        elif kind == "remb":
            self.estimate.on_remb(value, now, self.last_allocation_bps or None)
        elif kind == "rtt":
            self.estimate.on_rtt(value)
        elif kind == "nack":
            self.estimate.on_nack(int(value), now)
        elif kind == "delay":
            self.estimate.on_delay(value, now)


# the camera's layers, low to high; a publisher may send only "camera"
CAMERA_LAYERS = ("camera-low", "camera")
ALLOCATION_INTERVAL_S = 0.5
REPAIR_SHARE = 0.2  # retransmissions to a subscriber: at most this share of its estimate
REPAIR_MIN_BPS = 32_000
TRICKLE_BYTES = 40  # padding for feedback while no video flows: about 1.5 kbit/s
AUDIO_ONLY_AFTER_S = 2.0


class Router:
    def __init__(self, meeting_id: str, *, ice_servers: tuple[Any, ...] = (),
                 video_codec: str = "VP8", audio_seats: int = 3, video_seats: int = 4,
                 keyframe_interval_s: float = 0.5) -> None:
        self.meeting_id = meeting_id
        self.ice_servers = ice_servers
        self.video_codec = video_codec
        self.seats = max(audio_seats, video_seats)
        self.keyframe_interval_s = keyframe_interval_s
        self.transports: dict[str, Transport] = {}
        self.producers: dict[str, Producer] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self.closed = False
        self._arrival: dict[str, int] = {}
        self._arrivals = itertools.count()
        self._ids = itertools.count(1)
        self._listeners: list[SlotsListener] = []
        self._uplink_listeners: list[UplinkListener] = []
        self._speaker_task: asyncio.Task[None] | None = None
        self._allocation_task: asyncio.Task[None] | None = None
        self._probe_task: asyncio.Task[None] | None = None
        self._log_prefix = f"[{meeting_id}]"
        # who may be heard: the floor rules decide; None lets every microphone through
        self.audio_gate: Callable[[str], bool] | None = None
        # who may take a seat (None: every publisher)
        self.seat_eligible: Callable[[str], bool] | None = None
        # interpretation: what feeds each language channel, and the floor holder (preferred
        # as the floor source while they speak)
        self.channel_feeds: dict[str, ChannelFeed] = {}
        self.floor_holder: str | None = None
        self._floor_source: Producer | None = None

    # ids and listeners

    def next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids)}"

    def on_slots(self, listener: SlotsListener) -> None:
        self._listeners.append(listener)

    def on_uplink(self, listener: UplinkListener) -> None:
        self._uplink_listeners.append(listener)

    def uplink_changed(self, uplink: Uplink) -> None:
        """A publisher's uplink level changed: re-feed every subscriber from the layers it
        still sends (a dropped layer's consumers move to the low one on its keyframe), and
        tell the publisher."""
        if self.closed:
            return
        self.reassign_all()
        for listener in self._uplink_listeners:
            try:
                listener(uplink.participant_id, uplink.level, uplink.last_loss)
            except Exception:
                logger.exception("%s uplink listener failed", self._log_prefix)

    def uplink_of(self, participant_id: str) -> Uplink | None:
        for transport in self.transports.values():
            if transport.participant_id == participant_id and transport.uplink is not None \
                    and not transport.closed:
                return transport.uplink
        return None

    def _emit_slots(self, participant_id: str) -> None:
        payload = self.slots_of(participant_id)
        for listener in self._listeners:
            try:
                listener(participant_id, payload)
            except Exception:
                logger.exception("%s slots listener failed", self._log_prefix)

    def start(self) -> None:
        if self._speaker_task is None:
            self._speaker_task = asyncio.ensure_future(self._run_speaker_detection())
        if self._allocation_task is None:
            self._allocation_task = asyncio.ensure_future(self._run_allocation())
        if self._probe_task is None:
            self._probe_task = asyncio.ensure_future(self._run_probing())

    # transports

    def create_transport(self, participant_id: str, direction: str) -> Transport:
        if self.closed:
            raise RuntimeError("router is closed")
        self._arrival.setdefault(participant_id, next(self._arrivals))
        transport = Transport(router=self, transport_id=self.next_id("t"),
                              participant_id=participant_id, direction=direction)
        self.transports[transport.id] = transport
        self.start()
        return transport

    def plain_transport_added(self, transport: Any) -> None:
        """A plain RTP subscriber (sfu/plain_transport.py): closed with the router."""
        if self.closed:
            raise RuntimeError("router is closed")
        self.transports[transport.id] = transport
        self.start()

    def transport_closed(self, transport: Transport) -> None:
        self.transports.pop(transport.id, None)
        sub = self.subscriptions.get(transport.participant_id)
        if sub is not None and transport.direction == "subscribe":
            del self.subscriptions[transport.participant_id]

    async def close_participant(self, participant_id: str) -> None:
        """Close every transport of a participant who left or dropped."""
        for transport in [t for t in self.transports.values()
                          if t.participant_id == participant_id]:
            await transport.close()
        self._arrival.pop(participant_id, None)
        for sub in self.subscriptions.values():
            if sub.pinned == participant_id:
                sub.pinned = None
        self.reassign_all()

    # producers

    def refresh_audio_gate(self) -> None:
        """Apply the floor rules to every microphone: a participant who may not be heard is
        not forwarded, whatever their browser sends."""
        for producer in self.producers.values():
            if producer.source == "mic":
                allowed = self.audio_gate is None or self.audio_gate(producer.participant_id)
                producer.set_forwarding(allowed)

    def producer_added(self, producer: Producer) -> None:
        self.producers[producer.id] = producer
        if producer.source == "mic":
            producer.set_forwarding(self.audio_gate is None
                                    or self.audio_gate(producer.participant_id))
        logger.info("%s %r added", self._log_prefix, producer)
        self.reassign_all()

    def producer_closed(self, producer: Producer) -> None:
        self.producers.pop(producer.id, None)
        if not self.closed:
            self.reassign_all()

    def producers_of(self, participant_id: str) -> dict[str, Producer]:
        return {p.source: p for p in self.producers.values()
                if p.participant_id == participant_id and not p.closed}

    # interpretation channels

    def set_channel_feeds(self, feeds: dict[str, ChannelFeed], floor_holder: str | None
                          ) -> None:
        self.channel_feeds = dict(feeds)
        self.floor_holder = floor_holder
        self._floor_source = self.floor_source()
        self.reassign_all()

    def listen(self, participant_id: str, channel: str) -> None:
        sub = self.subscriptions.get(participant_id)
        if sub is None:
            raise KeyError(participant_id)
        sub.channel = channel
        self.reassign(participant_id)

    def floor_source(self) -> Producer | None:
        """The microphone the floor carries now, for channels in passthrough: among those
        allowed to be heard, whoever spoke last (a chaired meeting has one voice at a time:
        the chair or the speaker); the floor holder while they are speaking."""
        now = time.monotonic()
        heard = [p for p in self.producers.values()
                 if p.source == "mic" and p.forwarding and not p.closed]
        if not heard:
            return None
        holder = next((p for p in heard if p.participant_id == self.floor_holder), None)
        if holder is not None and now - holder.last_voice_at < SPEAKER_HOLD_S:
            return holder
        best = max(heard, key=lambda p: p.last_voice_at)
        if best.last_voice_at == 0.0:
            return holder or best
        return best

    def _channel_source(self, sub: Subscription) -> Producer | None:
        if sub.channel == "floor":
            return self._floor_source if sub.tap else None  # the seats carry the floor
        feed = self.channel_feeds.get(sub.channel)
        if feed is None or feed.kind == "silence":
            return None
        if feed.kind == "interpretation" and feed.participant_id:
            return self.producers_of(feed.participant_id).get("mic")
        return self._floor_source

    # subscriptions

    def subscription_added(self, sub: Subscription) -> None:
        self.subscriptions[sub.participant_id] = sub
        slots: list[Consumer | None] = [c for seat in sub.seats for c in seat]
        for consumer in [*slots, sub.channel_slot, sub.screen]:
            if consumer is not None:
                consumer.on_feedback = sub.feedback
        self.reassign(sub.participant_id)

    def set_video_allowed(self, participant_id: str, allowed: bool) -> None:
        """The listener's "low bandwidth" switch: audio (and documents) only."""
        sub = self.subscriptions.get(participant_id)
        if sub is None:
            raise KeyError(participant_id)
        sub.video_allowed = allowed
        self.run_allocation(sub, time.monotonic())

    def camera_layers(self, participant_id: str) -> list[Producer]:
        """The camera layers a participant sends, low → high, less those its uplink level
        dropped."""
        sources = self.producers_of(participant_id)
        uplink = self.uplink_of(participant_id)
        return [sources[name] for name in CAMERA_LAYERS
                if name in sources and (uplink is None or uplink.keeps(name))]

    def pin(self, participant_id: str, pinned: str | None) -> None:
        sub = self.subscriptions.get(participant_id)
        if sub is None:
            raise KeyError(participant_id)
        sub.pinned = pinned
        self.reassign(participant_id)

    def _candidates(self, subscriber: str) -> list[Candidate]:
        voices: dict[str, float] = {}
        for p in self.producers.values():
            if p.participant_id == subscriber or p.closed or p.source == "screen":
                continue
            if self.seat_eligible is not None and not self.seat_eligible(p.participant_id):
                continue  # an interpreter in a booth is not a seat
            voices[p.participant_id] = max(voices.get(p.participant_id, 0.0),
                                           p.last_voice_at if p.kind == "audio" else 0.0)
        return [Candidate(pid, voice, self._arrival.get(pid, 1 << 30))
                for pid, voice in voices.items()]

    def reassign_all(self) -> None:
        for participant_id in list(self.subscriptions):
            self.reassign(participant_id)

    def reassign(self, participant_id: str) -> None:
        """Recompute who feeds each seat and the screen slot of one subscriber; announce the
        result when anything changed."""
        sub = self.subscriptions.get(participant_id)
        if sub is None:
            return
        ranked = rank(self._candidates(participant_id), sub.pinned)
        occupants = assign_seats(sub.occupants, ranked, len(sub.seats))
        changed = occupants != sub.occupants
        sub.occupants = occupants
        for (audio, video), occupant in zip(sub.seats, occupants, strict=True):
            sources = self.producers_of(occupant) if occupant else {}
            layers = self.camera_layers(occupant) if occupant else []
            if not layers or not sub.video_allowed:
                sub.layers[video.id] = None
            elif video.id not in sub.layers or (video.feeding is not None and
                                                video.feeding.participant_id != occupant):
                sub.layers[video.id] = 0  # a new occupant starts low; allocation raises it
            chosen = sub.layers.get(video.id)
            camera = layers[min(chosen, len(layers) - 1)] if chosen is not None and layers \
                else None
            video.layer = chosen if camera is not None else None
            # a switch down between one participant's layers is the link being congested:
            # the old layer stops at once
            current = video.feeding
            down = (camera is not None and current is not None and current in layers
                    and layers.index(camera) < layers.index(current))
            if video.feeding is not camera:
                video.set_source(camera, drop_current=down)
                changed = True
            if audio.feeding is not sources.get("mic"):
                audio.set_source(sources.get("mic"))
                changed = True
        if sub.channel_slot is not None:
            source = self._channel_source(sub)
            if sub.channel_slot.feeding is not source:
                sub.channel_slot.set_source(source)
                changed = True
        if sub.screen is not None:
            screens = [p for p in self.producers.values() if p.source == "screen"
                       and not p.closed and p.participant_id != participant_id]
            screen = screens[-1] if screens else None
            if sub.layers.get(sub.screen.id, 0) is None or not sub.video_allowed:
                screen = None
            if sub.screen.feeding is not screen:
                sub.screen.set_source(screen)
                changed = True
        if changed:
            self._emit_slots(participant_id)

    def slots_of(self, participant_id: str) -> list[dict[str, Any]]:
        sub = self.subscriptions.get(participant_id)
        if sub is None:
            return []
        out = []
        consumers = [c for seat in sub.seats for c in seat]
        if sub.screen is not None:
            consumers.append(sub.screen)
        if sub.channel_slot is not None:
            consumers.append(sub.channel_slot)
        for c in consumers:
            feeding = c.feeding
            slot: dict[str, Any] = {
                "mid": c.mid,
                "kind": c.kind,
                "purpose": c.purpose,
                "seat": c.slot,
                "participantId": feeding.participant_id if feeding else None,
                "source": feeding.source if feeding else None,
            }
            if c.kind == "video":
                slot["layer"] = None if feeding is None else feeding.source
            if c.purpose == "channel":
                feed = self.channel_feeds.get(sub.channel)
                slot["channel"] = sub.channel
                slot["original"] = sub.channel == "floor" or feed is None or \
                    feed.kind in ("passthrough", "floor")
            out.append(slot)
        return out

    async def _run_speaker_detection(self) -> None:
        """Every 250 ms: if someone not seated for a subscriber has spoken recently, the
        seats are re-ranked."""
        try:
            while True:
                await asyncio.sleep(0.25)
                now = time.monotonic()
                voices = {p.participant_id for p in self.producers.values()
                          if p.kind == "audio" and now - p.last_voice_at < SPEAKER_HOLD_S}
                floor_source = self.floor_source()
                floor_moved = floor_source is not self._floor_source
                self._floor_source = floor_source
                for pid, sub in list(self.subscriptions.items()):
                    if any(v != pid and v not in sub.occupants for v in voices) or (
                            floor_moved and (sub.channel != "floor" or sub.tap)):
                        self.reassign(pid)
        except asyncio.CancelledError:
            pass
        except Exception:
            logger.exception("%s speaker detection failed", self._log_prefix)

    # adaptive bitrate

    async def _run_allocation(self) -> None:
        try:
            while True:
                await asyncio.sleep(ALLOCATION_INTERVAL_S)
                now = time.monotonic()
                for producer in self.producers.values():
                    producer.sample_bitrate(now)
                for sub in list(self.subscriptions.values()):
                    self.run_allocation(sub, now)
        except asyncio.CancelledError:
            pass
        except Exception:
            logger.exception("%s allocation failed", self._log_prefix)

    def run_allocation(self, sub: Subscription, now: float) -> None:
        """Spend this subscriber's estimate: audio first, then the floor speaker's video,
        then the other seats, then the screen; apply the layers chosen."""
        sub.estimate.probe_verdict(now)
        estimate = sub.estimate.estimate()
        audio_bps = 0.0
        for consumer in [a for a, _ in sub.seats] + [sub.channel_slot]:
            if consumer is not None and consumer.source is not None:
                audio_bps += consumer.source.bitrate_bps or 40_000
        wants = []
        for (_, video), occupant in zip(sub.seats, sub.occupants, strict=True):
            layers = self.camera_layers(occupant) if occupant else []
            if not layers:
                continue
            rates = tuple(max(p.bitrate_bps, 50_000.0) for p in layers)
            priority = 0 if occupant == self.floor_holder else 1
            wants.append(VideoWant(video.id, priority, rates, sub.layers.get(video.id)))
        if sub.screen is not None:
            screens = [p for p in self.producers.values() if p.source == "screen"
                       and not p.closed and p.participant_id != sub.participant_id]
            if screens:
                rate = max(screens[-1].bitrate_bps, 100_000.0)
                wants.append(VideoWant(sub.screen.id, 2, (rate,),
                                       sub.layers.get(sub.screen.id, 0)))
        result = allocate(estimate, audio_bps, wants, video_allowed=sub.video_allowed)
        sub.last_allocation_bps = result.spent_bps
        # repairs get a share of the link on top of what the allocation spends
        repair_bps = max(REPAIR_MIN_BPS, REPAIR_SHARE * estimate)
        for _, video in sub.seats:
            video.repair_bps = repair_bps
        if sub.screen is not None:
            sub.screen.repair_bps = repair_bps
        sub.estimate.probe_for(result.wanted_bps, now, result.spent_bps)
        target = sub.estimate.probe_target
        sub.probe_bps = max(0.0, target - result.spent_bps) if target is not None else 0.0
        changed = False
        for key, layer in result.layers.items():
            current = sub.layers.get(key, "unset")
            if layer is None and isinstance(current, int) and sub.video_allowed:
                # cutting a picture altogether is the drastic step: only when the allocation
                # has asked for it for AUDIO_ONLY_AFTER_S; meanwhile the lowest layer (a
                # lower layer happens at once)
                since = sub.cut_since.setdefault(key, now)
                lowest = next((w.layers[0] for w in wants if w.key == key), 0.0)
                # a link that collapsed (the estimate under half what the lowest layer and
                # the audio take) is cut at once: waiting floods it for two seconds
                collapsed = estimate < 0.5 * (lowest + audio_bps)
                if now - since < AUDIO_ONLY_AFTER_S and not collapsed:
                    layer = 0
            else:
                sub.cut_since.pop(key, None)
            if current != layer:
                sub.layers[key] = layer
                changed = True
                sub.estimate.note(now, f"{key} layer {current} -> {layer} "
                                       f"(estimate {int(estimate)})")
        if changed:
            self.reassign(sub.participant_id)

    async def _run_probing(self) -> None:
        """Every 20 ms, the padding each probing subscriber is owed, on a video consumer
        (on its media SSRC, between frames: a tick that finds a frame half sent leaves its
        share to the next). A subscriber that receives no video at all gets a trickle of
        padding (a small packet every 500 ms), so that its browser's video receiver reports
        say what the link does every second (audio is reported only every ~5 s)."""
        tick = 0.02
        trickle_every = int(0.5 / tick)
        n = 0
        try:
            while True:
                await asyncio.sleep(tick)
                n += 1
                for sub in list(self.subscriptions.values()):
                    carrier = next((v for _, v in sub.seats if v.ready), None)
                    if carrier is None:
                        continue
                    if sub.probe_bps > 0:
                        verdict = sub.estimate.probe_verdict(time.monotonic())
                        if verdict == "failed":
                            sub.probe_bps = 0.0  # stop at once: the link is full
                        elif verdict == "passed":
                            # spend it, and start the next step, now rather than at the
                            # next allocation round
                            self.run_allocation(sub, time.monotonic())
                    if sub.probe_bps > 0:
                        # owed bytes carry over a skipped tick, at most 100 ms worth
                        sub.padding_owed = min(sub.padding_owed + sub.probe_bps * tick / 8,
                                               sub.probe_bps * 0.1 / 8)
                        sub.padding_owed -= carrier.send_padding(int(sub.padding_owed))
                    else:
                        sub.padding_owed = 0.0
                        if n % trickle_every == 0 and sub.video_allowed and not any(
                                v.source is not None for _, v in sub.seats):
                            carrier.send_padding(TRICKLE_BYTES)
        except asyncio.CancelledError:
            pass
        except Exception:
            logger.exception("%s probing failed", self._log_prefix)

    # figures

    def counts(self) -> dict[str, int]:
        consumers = sum(len(t.consumers) for t in self.transports.values())
        return {"transports": len(self.transports), "producers": len(self.producers),
                "consumers": consumers, "subscriptions": len(self.subscriptions)}

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for task in (self._speaker_task, self._allocation_task, self._probe_task):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        for transport in list(self.transports.values()):
            await transport.close()
        self.subscriptions.clear()
        self.producers.clear()
