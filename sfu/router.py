"""Router: the media of one meeting.

The router owns the meeting's transports (and through them the producers and consumers),
keeps the maps and the fan-out (which producer feeds which consumer), and runs active-speaker
detection. What the meeting's rules allow comes in as one value, the media plan
(``apply(plan)``, sfu/plan.py); what happens goes out as typed events (``on_event``,
sfu/events.py) and a stats snapshot (``stats()``). Seat choice is ``Seating`` (sfu/slots.py),
each subscriber's bandwidth its ``Downlink`` (sfu/downlink.py).

Closing the router closes every transport; closing a transport closes its producers and
consumers; a closed producer detaches from its consumers, which the router then re-feeds
(docs/closures in docs/architecture.md).
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from . import aiortc_glue
from .allocation import VideoWant
from .bandwidth import BandwidthEstimate
from .commands import (
    AcceptAnswer,
    Answer,
    ApplyPlan,
    CloseParticipant,
    ClosePipe,
    CloseTap,
    CommandError,
    ConnectionCommand,
    ConnectPipe,
    ControlCommand,
    Done,
    GetSlots,
    Listen,
    Offer,
    OpenPipe,
    OpenTap,
    Pin,
    PinTap,
    PipeAddress,
    PipeCommand,
    PipeProducer,
    PipeProducers,
    Publish,
    Result,
    SetVideo,
    Slots,
    Subscribe,
    TapKeyframe,
    TapOpened,
    UnpipeProducer,
    Unpublish,
)
from .consumer import Consumer
from .downlink import PROBE_TICK_S, TRICKLE_EVERY, Downlink
from .events import (
    ConsumerStats,
    FloorVoiceChanged,
    PipedProducer,
    PipedProducerClosed,
    ProducerPiped,
    ProducerStats,
    PublisherStats,
    RouterEvent,
    RouterStats,
    Slot,
    SlotsChanged,
    SpeakersChanged,
    SubscriberStats,
    TransportStateChanged,
    TransportStats,
    UplinkChanged,
)
from .plain_transport import PipeTransport, PlainTransport
from .plan import FLOOR_CHANNEL, MediaPlan, PlanError
from .producer import Producer
from .sdp import SdpError
from .slots import Seating
from .transport import Transport
from .udp_mux import UdpMux
from .uplink import Uplink

logger = logging.getLogger(__name__)

EventListener = Callable[[RouterEvent], None]
SPEAKER_HOLD_S = 1.5  # a seat changes hands only after the new voice was heard this recently
TAP_ID_MAX = 64


def check_tap(command: OpenTap) -> None:
    """``CommandError("bad-request")`` unless the command names a tap and addresses it can
    send to: a video address, or a channel with its audio address, or both."""
    if not command.tap_id or len(command.tap_id) > TAP_ID_MAX or \
            not command.tap_id.isprintable():
        raise CommandError("bad-request", f"a tap id is 1..{TAP_ID_MAX} printable characters")
    if command.audio is None and command.video is None:
        raise CommandError("bad-request", "a tap needs a video or an audio address")
    if (command.audio is None) != (command.channel is None):
        raise CommandError("bad-request", "a tap's channel and audio address go together")
    if command.channel is not None and not 0 < len(command.channel) <= 32:
        raise CommandError("bad-request", "a channel is 1..32 characters")
    for name, address in (("audio", command.audio), ("video", command.video)):
        if address is None:
            continue
        host, port = address
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise CommandError("bad-request",
                               f"{name}: {host!r} is not an IP address") from None
        if not 1 <= port <= 65535:
            raise CommandError("bad-request", f"{name}: port {port} is not 1..65535")


@dataclass
class Subscription:
    participant_id: str
    seats: list[tuple[Consumer, Consumer]]  # (audio, video) per seat
    screen: Consumer | None
    channel_slot: Consumer | None = None  # the interpretation channel the listener chose
    channel: str = "floor"  # the listener's own choice (a booth's interpreter: the plan's)
    pinned: str | None = None
    occupants: list[str | None] = field(default_factory=list)
    # adaptive bitrate: the estimate, the layer per video slot, the "low bandwidth" switch
    downlink: Downlink = field(default_factory=Downlink)
    last_slots: tuple[Slot, ...] | None = None  # as last announced
    # a plain RTP tap (sfu/plain_transport.py, the webcast): its channel slot carries the
    # floor's current voice when the channel is "floor" (it has no seats of floor audio)
    tap: bool = False
    # when its slots' next sender reports are due (monotonic; the router's report timer)
    report_at: float = 0.0

    @property
    def estimate(self) -> BandwidthEstimate:
        return self.downlink.estimate

    @property
    def layers(self) -> dict[str, int | None]:
        return self.downlink.layers

    def consumers(self) -> list[Consumer]:
        """Every slot: the seats (audio, video), the screen, the channel."""
        out = [c for seat in self.seats for c in seat]
        out += [c for c in (self.screen, self.channel_slot) if c is not None]
        return out


@dataclass
class View:
    """What re-feeding subscribers reads of the router's maps, built once per pass (an apply,
    an allocation round) instead of once per subscriber and seat: each publisher's
    producers by source, their uplinks, who may be seated and when they last spoke, their
    order, and the presenters' screens. A view is good for one synchronous pass only."""

    producers: dict[str, dict[str, Producer]]
    uplinks: dict[str, Uplink]
    voices: dict[str, float]
    ranking: list[str]
    screens: list[Producer]


PIPE_COMMANDS = (OpenPipe, ConnectPipe, PipeProducers, PipeProducer, UnpipeProducer, ClosePipe)
# the camera's layers, low to high; a publisher may send only "camera"
CAMERA_LAYERS = ("camera-low", "camera")
ALLOCATION_INTERVAL_S = 0.5
# the periodic passes over every subscriber (allocation, sender reports) give the event loop a
# turn after this many: at N = 300 one pass held the loop 30–60 ms (bench/loopwatch.py), and
# a join's answer or /healthz waited behind it (issue 14)
SUBSCRIBERS_PER_TURN = 32
# sender reports: one timer per router looks at every subscriber this often, and sends each
# one's reports (all its slots in one compound RTCP packet) every 0.5..1.5 s, at random
# (RFC 3550 6.2: randomized, about once a second)
REPORT_TICK_S = 0.1
REPORT_INTERVAL_S = (0.5, 1.5)


class Router:
    def __init__(self, meeting_id: str, *, ice_servers: tuple[Any, ...] = (),
                 video_codec: str = "VP8", audio_seats: int = 3, video_seats: int = 4,
                 keyframe_interval_s: float = 0.5, udp_mux: UdpMux | None = None,
                 dtls_certificate: aiortc_glue.DtlsCertificate | None = None,
                 dtls_handshakes: aiortc_glue.DtlsHandshakes | None = None) -> None:
        self.meeting_id = meeting_id
        self.ice_servers = ice_servers
        self.udp_mux = udp_mux  # the worker's one UDP port (None: a socket per connection)
        # the worker's one DTLS certificate for every connection (None given: the router's own)
        self.dtls_certificate = dtls_certificate or aiortc_glue.DtlsCertificate()
        # the threads the connections' DTLS handshakes compute in: the worker's (None given:
        # the router's own, closed with it)
        self._own_handshakes = dtls_handshakes is None
        self.dtls_handshakes = dtls_handshakes or aiortc_glue.DtlsHandshakes()
        self.video_codec = video_codec
        self.seats = max(audio_seats, video_seats)
        self.keyframe_interval_s = keyframe_interval_s
        self.transports: dict[str, Transport] = {}
        self.producers: dict[str, Producer] = {}
        self.subscriptions: dict[str, Subscription] = {}
        # pipes to this meeting's routers on other workers (sfu/plain_transport.py)
        self.pipes: dict[str, PipeTransport] = {}
        self.taps: dict[str, PlainTransport] = {}  # plain RTP taps by tap id (OpenTap)
        self.closed = False
        self.seating = Seating()
        self._ids = itertools.count(1)
        self._listeners: list[EventListener] = []
        self._speaker_task: asyncio.Task[None] | None = None
        self._allocation_task: asyncio.Task[None] | None = None
        self._probe_task: asyncio.Task[None] | None = None
        self._report_task: asyncio.Task[None] | None = None
        self._random = random.Random()
        self._log_prefix = f"[{meeting_id}]"
        # the meeting's rules as the control plane last computed them; until the first plan
        # nobody is heard, seated or shown
        self.plan = MediaPlan(meeting_id)
        self._floor_source: Producer | None = None
        self._speaking: tuple[str, ...] = ()

    # ids and events

    def next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids)}"

    def on_event(self, listener: EventListener) -> None:
        """Call ``listener`` with every event (sfu/events.py); its exceptions are logged."""
        self._listeners.append(listener)

    def _emit(self, event: RouterEvent) -> None:
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:
                logger.exception("%s %s listener failed", self._log_prefix,
                                 type(event).__name__)

    @property
    def floor_holder(self) -> str | None:
        return self.plan.floor_holder

    # commands (sfu/commands.py): the control plane's whole vocabulary

    def execute(self, command: ControlCommand) -> Result:
        """Run a control command; ``CommandError`` when refused (nothing changed)."""
        if isinstance(command, ApplyPlan):
            try:
                self.apply(command.plan)
            except PlanError as exc:
                raise CommandError("bad-request", str(exc)) from None
            return Done()
        if isinstance(command, GetSlots):
            return Slots(self.slots(command.participant_id))
        if isinstance(command, PinTap | TapKeyframe):
            tap = self.taps.get(command.tap_id)
            if tap is None or tap.closed:
                raise CommandError("not-found", f"no tap {command.tap_id!r}")
            if isinstance(command, PinTap):
                tap.pin(self._first_with_camera(command.candidates))
            else:
                tap.request_keyframe()
            return Done()
        try:
            if isinstance(command, Listen):
                self.listen(command.participant_id, command.channel)
            elif isinstance(command, Pin):
                self.pin(command.participant_id, command.pinned)
            elif isinstance(command, SetVideo):
                self.set_video_allowed(command.participant_id, command.enabled)
            else:
                raise CommandError("bad-request", f"unknown command {command!r}")
        except KeyError:
            raise CommandError("conflict", "subscribe first") from None
        return Done()

    async def negotiate(self, command: ConnectionCommand) -> Result:
        """Run a connection command (SDP in, SDP out); ``CommandError`` when refused. A
        refused offer or answer leaves no connection behind (an answer may follow)."""
        if isinstance(command, PIPE_COMMANDS):
            return await self.pipe(command)
        if isinstance(command, OpenTap):
            return await self.open_tap(command)
        if isinstance(command, CloseTap):
            tap = self.taps.get(command.tap_id)
            if tap is not None:
                await tap.close()
            return Done()
        pid = command.participant_id
        if isinstance(command, Publish):
            if self.transport_of(pid, "publish") is not None:
                raise CommandError("conflict", "already publishing; unpublish first")
            transport = self.create_transport(pid, "publish")
            try:
                sdp = await transport.answer_publish(command.sdp, dict(command.sources),
                                                     opus=dict(command.opus) or None,
                                                     opus_ptime=command.opus_ptime)
            except SdpError as exc:
                await transport.close()
                raise CommandError("bad-sdp", str(exc)) from None
            except BaseException:
                await transport.close()
                raise
            return Answer(sdp)
        if isinstance(command, Unpublish):
            publishing = self.transport_of(pid, "publish")
            if publishing is not None:
                await publishing.close()
            return Done()
        if isinstance(command, Subscribe):
            if self.transport_of(pid, "subscribe") is not None:
                raise CommandError("conflict", "already subscribed")
            transport = self.create_transport(pid, "subscribe")
            try:
                sdp = await transport.offer_subscribe(command.seats)
            except BaseException:
                await transport.close()
                raise
            return Offer(sdp, tuple(
                Slot(mid=c.mid, kind=c.kind, purpose=c.purpose, seat=c.slot)
                for c in transport.consumers.values()))
        if isinstance(command, AcceptAnswer):
            subscribing = self.transport_of(pid, "subscribe")
            if subscribing is None:
                raise CommandError("conflict", "subscribe first")
            try:
                await subscribing.accept_answer(command.sdp)
            except SdpError as exc:
                raise CommandError("bad-sdp", str(exc)) from None
            return Slots(self.slots(pid))
        if isinstance(command, CloseParticipant):
            await self.close_participant(pid)
            return Done()
        raise CommandError("bad-request", f"unknown command {command!r}")

    # pipes to the meeting's routers on other workers

    async def pipe(self, command: PipeCommand) -> Result:
        """Run a pipe command (``OpenPipe`` … ``ClosePipe``); ``CommandError`` when refused
        (nothing changed)."""
        if self.closed:
            raise CommandError("conflict", "router is closed")
        if isinstance(command, OpenPipe):
            if not command.pipe_id or command.pipe_id in self.pipes \
                    or command.pipe_id in self.transports:
                raise CommandError("conflict", f"pipe {command.pipe_id!r} is open already"
                                   if command.pipe_id else "a pipe needs an id")
            pipe_id = command.pipe_id
            pipe = PipeTransport(
                router=self, pipe_id=pipe_id,
                on_piped=lambda piped: self._emit(ProducerPiped(self.meeting_id, pipe_id,
                                                                piped)),
                on_unpiped=lambda ssrc: self._emit(PipedProducerClosed(self.meeting_id,
                                                                       pipe_id, ssrc)))
            host, port = await pipe.open()
            if self.closed:
                await pipe.close()
                raise CommandError("conflict", "router is closed")
            self.pipes[pipe_id] = pipe
            self.transports[pipe_id] = pipe  # type: ignore[assignment]
            return PipeAddress(host, port)
        found = self.pipes.get(command.pipe_id)
        if found is None:
            raise CommandError("not-found", f"no pipe {command.pipe_id!r}")
        pipe = found
        if isinstance(command, ConnectPipe):
            try:
                pipe.connect(command.host, command.port)
            except ValueError as exc:
                raise CommandError("bad-request", str(exc)) from None
        elif isinstance(command, PipeProducers):
            pipe.pipe_producers()
        elif isinstance(command, PipeProducer):
            self._check_piped(command.producer)
            try:
                pipe.produce(command.producer)
            except ValueError as exc:
                raise CommandError("conflict", str(exc)) from None
        elif isinstance(command, UnpipeProducer):
            if not await pipe.unproduce(command.ssrc):
                raise CommandError("not-found", f"pipe {pipe.id} carries no ssrc "
                                                f"{command.ssrc}")
        elif isinstance(command, ClosePipe):
            del self.pipes[pipe.id]
            await pipe.close()
        return Done()

    @staticmethod
    def _check_piped(piped: PipedProducer) -> None:
        sources = ("mic",) if piped.kind == "audio" else ("camera", "camera-low", "screen")
        codecs = ("OPUS",) if piped.kind == "audio" else ("VP8", "H264")
        if piped.source not in sources or piped.codec.upper() not in codecs \
                or not piped.participant_id:
            raise CommandError("bad-request", f"a piped {piped.kind} producer is a "
                               f"{'/'.join(sources)} in {'/'.join(codecs)}, of a participant")
    # plain RTP taps

    async def open_tap(self, command: OpenTap) -> TapOpened:
        """A plain RTP subscriber named ``tap_id`` (refused: ``bad-request`` for bad
        addresses, ``conflict`` when the name is taken or the router closed; nothing is
        left behind)."""
        check_tap(command)
        tap_id = command.tap_id
        if self.closed:
            raise CommandError("conflict", "the router is closed")
        if tap_id in self.taps or tap_id in self.subscriptions:
            raise CommandError("conflict", f"{tap_id!r} is already subscribed")
        tap = PlainTransport(router=self, participant_id=tap_id)
        self.taps[tap_id] = tap  # the name is taken while the socket opens
        try:
            await tap.open()
            if self.closed:
                raise CommandError("conflict", "the router is closed")
            tap.subscribe(video=command.video, channel=command.channel, audio=command.audio)
        except BaseException:
            if self.taps.get(tap_id) is tap:
                del self.taps[tap_id]
            await tap.close()
            raise
        host, port = tap.local_address
        logger.info("%s tap %s opened (%s:%d): video %s, %s %s", self._log_prefix, tap_id,
                    host, port, command.video, command.channel, command.audio)
        return TapOpened(tap_id, host, port)

    def _first_with_camera(self, candidates: tuple[str, ...]) -> str | None:
        for participant_id in candidates:
            sources = self.producers_of(participant_id)
            if "camera" in sources or "camera-low" in sources:
                return participant_id
        return None

    # the media plan

    def apply(self, plan: MediaPlan) -> None:
        """Apply the meeting's rules: gate every microphone (a participant who may not be
        heard is not forwarded, whatever their browser sends), re-feed every subscriber's
        seats, channel and screen, and announce what changed."""
        if plan.meeting_id != self.meeting_id:
            raise PlanError(f"a plan for {plan.meeting_id} given to {self.meeting_id}")
        if self.closed:
            return
        before, self.plan = self.plan, plan
        for producer in self.producers.values():
            if producer.source == "mic":
                producer.set_forwarding(producer.participant_id in plan.forwarded)
        floor_moved = self._floor_moved(self.floor_source())
        # only what the change touches is re-fed: a join storm of 300 listeners (each one a
        # new plan) must not re-rank 300 subscribers' seats per join
        publishing = {p.participant_id for p in self.producers.values()}
        if (((before.seated ^ plan.seated) | (before.presenters ^ plan.presenters))
                & publishing) or before.channels != plan.channels \
                or before.incoming != plan.incoming:
            self.reassign_all()
            return
        regated = (before.forwarded ^ plan.forwarded) & publishing
        view = self.view()
        for participant_id, sub in list(self.subscriptions.items()):
            if (floor_moved and self.channel_of(sub) != FLOOR_CHANNEL) or \
                    not regated.isdisjoint(o for o in sub.occupants if o is not None):
                self.reassign(participant_id, view)

    def _floor_moved(self, source: Producer | None) -> bool:
        if source is self._floor_source:
            return False
        self._floor_source = source
        self._emit(FloorVoiceChanged(self.meeting_id,
                                     source.participant_id if source else None))
        return True

    def channel_of(self, sub: Subscription) -> str:
        """The channel a subscriber's channel slot carries: an interpreter in a booth hears
        what the plan says (the floor or a relay), anyone else their own choice."""
        return self.plan.incoming_of(sub.participant_id) or sub.channel

    def uplink_changed(self, uplink: Uplink) -> None:
        """A publisher's uplink level changed: re-feed every subscriber from the layers it
        still sends (a dropped layer's consumers move to the low one on its keyframe), and
        tell the publisher."""
        if self.closed:
            return
        self.reassign_all()
        self._emit(UplinkChanged(self.meeting_id, uplink.participant_id, uplink.level,
                                 uplink.last_loss))

    def uplink_of(self, participant_id: str) -> Uplink | None:
        for transport in self.transports.values():
            if transport.participant_id == participant_id and transport.uplink is not None \
                    and not transport.closed:
                return transport.uplink
        return None

    def _announce_slots(self, sub: Subscription) -> None:
        """Tell the subscriber's slots when they differ from what was last announced."""
        slots = self.slots(sub.participant_id)
        if slots != sub.last_slots:
            sub.last_slots = slots
            self._emit(SlotsChanged(self.meeting_id, sub.participant_id, slots))

    def start(self) -> None:
        if self._speaker_task is None:
            self._speaker_task = asyncio.ensure_future(self._run_speaker_detection())
        if self._allocation_task is None:
            self._allocation_task = asyncio.ensure_future(self._run_allocation())
        if self._probe_task is None:
            self._probe_task = asyncio.ensure_future(self._run_probing())
        if self._report_task is None:
            self._report_task = asyncio.ensure_future(self._run_sender_reports())

    # transports

    def create_transport(self, participant_id: str, direction: str) -> Transport:
        if self.closed:
            raise RuntimeError("router is closed")
        self.seating.arrived(participant_id)
        transport = Transport(router=self, transport_id=self.next_id("t"),
                              participant_id=participant_id, direction=direction)
        self.transports[transport.id] = transport
        self.start()
        return transport

    def transport_of(self, participant_id: str, direction: str) -> Transport | None:
        """The participant's open connection in that direction, if any."""
        for transport in self.transports.values():
            if transport.participant_id == participant_id and \
                    transport.direction == direction and not transport.closed:
                return transport
        return None

    def transport_state_changed(self, transport: Transport, state: str) -> None:
        self._emit(TransportStateChanged(self.meeting_id, transport.participant_id,
                                         transport.id, transport.direction, state))

    def plain_transport_added(self, transport: Any) -> None:
        """A plain RTP subscriber (sfu/plain_transport.py): closed with the router."""
        if self.closed:
            raise RuntimeError("router is closed")
        self.transports[transport.id] = transport
        self.start()

    def transport_closed(self, transport: Transport) -> None:
        self.transports.pop(transport.id, None)
        if self.pipes.get(transport.id) is transport:  # type: ignore[comparison-overlap]
            del self.pipes[transport.id]
        tap = self.taps.get(transport.participant_id)
        if tap is not None and tap.id == transport.id:  # a plain RTP tap (OpenTap)
            del self.taps[transport.participant_id]
        sub = self.subscriptions.get(transport.participant_id)
        if sub is not None and transport.direction == "subscribe":
            del self.subscriptions[transport.participant_id]

    async def close_participant(self, participant_id: str) -> None:
        """Close every transport of a participant who left or dropped."""
        for transport in [t for t in self.transports.values()
                          if t.participant_id == participant_id]:
            await transport.close()
        self.seating.left(participant_id)
        for sub in self.subscriptions.values():
            if sub.pinned == participant_id:
                sub.pinned = None
        self.reassign_all()

    # producers

    def producer_added(self, producer: Producer) -> None:
        self.producers[producer.id] = producer
        if producer.source == "mic":
            producer.set_forwarding(producer.participant_id in self.plan.forwarded)
        logger.info("%s %r added", self._log_prefix, producer)
        for pipe in self.pipes.values():
            pipe.producer_added(producer)
        self.reassign_all()

    def producer_closed(self, producer: Producer) -> None:
        self.producers.pop(producer.id, None)
        if not self.closed:
            self.reassign_all()

    def producers_of(self, participant_id: str) -> dict[str, Producer]:
        return {p.source: p for p in self.producers.values()
                if p.participant_id == participant_id and not p.closed}

    # interpretation channels

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
        holder = next((p for p in heard if p.participant_id == self.plan.floor_holder), None)
        if holder is not None and now - holder.last_voice_at < SPEAKER_HOLD_S:
            return holder
        best = max(heard, key=lambda p: p.last_voice_at)
        if best.last_voice_at == 0.0:
            return holder or best
        return best

    def _channel_source(self, sub: Subscription, view: View) -> Producer | None:
        channel = self.channel_of(sub)
        if channel == FLOOR_CHANNEL:
            return self._floor_source if sub.tap else None  # the seats carry the floor
        feed = self.plan.feed(channel)
        if feed is None:
            return None
        if feed.mic is not None:
            return view.producers.get(feed.mic, {}).get("mic")
        # the floor passing through: a subscriber's seats already carry the floor's voices
        # and its page plays them for an "original" channel, so a copy on the channel slot
        # would only double the audio on its link (a tap has no seats: it gets the copy)
        return self._floor_source if feed.follows_floor and sub.tap else None

    # subscriptions

    def subscription_added(self, sub: Subscription) -> None:
        self.subscriptions[sub.participant_id] = sub
        for consumer in sub.consumers():
            consumer.on_feedback = sub.downlink.feedback
        self.reassign(sub.participant_id)

    def set_video_allowed(self, participant_id: str, allowed: bool) -> None:
        """The listener's "low bandwidth" switch: audio (and documents) only."""
        sub = self.subscriptions.get(participant_id)
        if sub is None:
            raise KeyError(participant_id)
        sub.downlink.video_allowed = allowed
        self.run_allocation(sub, time.monotonic())

    def camera_layers(self, participant_id: str, view: View | None = None) -> list[Producer]:
        """The camera layers a participant sends, low → high, less those its uplink level
        dropped."""
        if view is None:
            sources = self.producers_of(participant_id)
            uplink = self.uplink_of(participant_id)
        else:
            sources = view.producers.get(participant_id, {})
            uplink = view.uplinks.get(participant_id)
        return [sources[name] for name in CAMERA_LAYERS
                if name in sources and (uplink is None or uplink.keeps(name))]

    def view(self) -> View:
        """One pass's view of the maps (see ``View``)."""
        producers: dict[str, dict[str, Producer]] = {}
        voices: dict[str, float] = {}
        screens = []
        for p in self.producers.values():
            if p.closed:
                continue
            producers.setdefault(p.participant_id, {})[p.source] = p
            if p.source == "screen":
                if p.participant_id in self.plan.presenters:
                    screens.append(p)
                continue
            if p.participant_id not in self.plan.seated:
                continue  # an interpreter in a booth is not a seat
            voices[p.participant_id] = max(voices.get(p.participant_id, 0.0),
                                           p.last_voice_at if p.kind == "audio" else 0.0)
        uplinks: dict[str, Uplink] = {}
        for transport in self.transports.values():
            if transport.uplink is not None and not transport.closed:
                uplinks.setdefault(transport.participant_id, transport.uplink)
        return View(producers, uplinks, voices, self.seating.ranking(voices), screens)

    def pin(self, participant_id: str, pinned: str | None) -> None:
        sub = self.subscriptions.get(participant_id)
        if sub is None:
            raise KeyError(participant_id)
        sub.pinned = pinned
        self.reassign(participant_id)

    @staticmethod
    def _screen_source(subscriber: str, view: View) -> Producer | None:
        """The screen shown: the latest share of a presenter other than the subscriber."""
        return next((p for p in reversed(view.screens) if p.participant_id != subscriber),
                    None)

    def reassign_all(self) -> None:
        view = self.view()
        for participant_id in list(self.subscriptions):
            self.reassign(participant_id, view)

    def reassign(self, participant_id: str, view: View | None = None) -> None:
        """Recompute who feeds each seat and the screen slot of one subscriber; announce the
        result when anything changed. ``view``: the pass's view of the maps (one is made
        when not given)."""
        sub = self.subscriptions.get(participant_id)
        if sub is None:
            return
        if view is None:
            view = self.view()
        occupants = self.seating.choose_ranked(sub.occupants, view.ranking, view.voices,
                                               participant_id, sub.pinned, len(sub.seats))
        sub.occupants = occupants
        for (audio, video), occupant in zip(sub.seats, occupants, strict=True):
            sources = view.producers.get(occupant, {}) if occupant else {}
            layers = self.camera_layers(occupant, view) if occupant else []
            if not layers or not sub.downlink.video_allowed:
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
            if audio.feeding is not sources.get("mic"):
                audio.set_source(sources.get("mic"))
        if sub.channel_slot is not None:
            source = self._channel_source(sub, view)
            if sub.channel_slot.feeding is not source:
                sub.channel_slot.set_source(source)
        if sub.screen is not None:
            screen = self._screen_source(participant_id, view)
            if sub.layers.get(sub.screen.id, 0) is None or not sub.downlink.video_allowed:
                screen = None
            if sub.screen.feeding is not screen:
                sub.screen.set_source(screen)
        self._announce_slots(sub)

    def slots(self, participant_id: str) -> tuple[Slot, ...]:
        """What feeds each slot of a subscriber now (empty when not subscribed)."""
        sub = self.subscriptions.get(participant_id)
        if sub is None:
            return ()
        channel = self.channel_of(sub)
        out = []
        consumers = [c for seat in sub.seats for c in seat]
        if sub.screen is not None:
            consumers.append(sub.screen)
        if sub.channel_slot is not None:
            consumers.append(sub.channel_slot)
        for c in consumers:
            feeding = c.feeding
            # a microphone the floor rules silence feeds its seat but reaches nobody; the
            # channel slot carries a booth's interpreter whatever the floor says
            forwarded = feeding is not None and (
                feeding.kind != "audio" or feeding.forwarding or c.purpose == "channel")
            slot = Slot(mid=c.mid, kind=c.kind, purpose=c.purpose, seat=c.slot,
                        participant_id=feeding.participant_id if feeding else None,
                        source=feeding.source if feeding else None, forwarded=forwarded)
            if c.kind == "video":
                slot = replace(slot, layer=None if feeding is None else feeding.source)
            if c.purpose == "channel":
                feed = self.plan.feed(channel)
                slot = replace(slot, channel=channel, original=channel == FLOOR_CHANNEL
                               or feed is None or feed.original)
            out.append(slot)
        return tuple(out)

    def slots_of(self, participant_id: str) -> list[dict[str, Any]]:
        """``slots()`` in the ``slots`` event's form (docs/protocol.md)."""
        return [s.to_json() for s in self.slots(participant_id)]

    async def _run_speaker_detection(self) -> None:
        """Every 250 ms: if someone not seated for a subscriber has spoken recently, the
        seats are re-ranked."""
        try:
            while True:
                await asyncio.sleep(0.25)
                now = time.monotonic()
                voices = {p.participant_id for p in self.producers.values()
                          if p.kind == "audio" and now - p.last_voice_at < SPEAKER_HOLD_S}
                speaking = tuple(sorted(voices))
                if speaking != self._speaking:
                    self._speaking = speaking
                    self._emit(SpeakersChanged(self.meeting_id, speaking))
                floor_moved = self._floor_moved(self.floor_source())
                view: View | None = None
                for pid, sub in list(self.subscriptions.items()):
                    if any(v != pid and v not in sub.occupants for v in voices) or (
                            floor_moved and (self.channel_of(sub) != FLOOR_CHANNEL
                                            or sub.tap)):
                        view = view or self.view()
                        self.reassign(pid, view)
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
                view = self.view()
                for n, sub in enumerate(list(self.subscriptions.values())):
                    if n and n % SUBSCRIBERS_PER_TURN == 0:
                        await asyncio.sleep(0)
                        view = self.view()  # what changed meanwhile
                    if self.subscriptions.get(sub.participant_id) is sub:
                        self.run_allocation(sub, now, view)
        except asyncio.CancelledError:
            pass
        except Exception:
            logger.exception("%s allocation failed", self._log_prefix)

    def run_allocation(self, sub: Subscription, now: float, view: View | None = None
                       ) -> None:
        """Spend this subscriber's estimate (its ``Downlink``) over what each slot could
        carry: audio first, then the floor speaker's video, then the other seats, then the
        screen; apply the layers chosen."""
        if view is None:
            view = self.view()
        audio_bps = 0.0
        for consumer in [a for a, _ in sub.seats] + [sub.channel_slot]:
            if consumer is not None and consumer.source is not None:
                audio_bps += consumer.source.bitrate_bps or 40_000
        wants = []
        for (_, video), occupant in zip(sub.seats, sub.occupants, strict=True):
            layers = self.camera_layers(occupant, view) if occupant else []
            if not layers:
                continue
            rates = tuple(max(p.bitrate_bps, 50_000.0) for p in layers)
            priority = 0 if occupant == self.plan.floor_holder else 1
            wants.append(VideoWant(video.id, priority, rates, sub.layers.get(video.id)))
        if sub.screen is not None:
            screen = self._screen_source(sub.participant_id, view)
            if screen is not None:
                rate = max(screen.bitrate_bps, 100_000.0)
                wants.append(VideoWant(sub.screen.id, 2, (rate,),
                                       sub.layers.get(sub.screen.id, 0)))
        repaired = [video for _, video in sub.seats]
        if sub.screen is not None:
            repaired.append(sub.screen)
        if sub.downlink.spend(now, audio_bps, wants, repaired):
            self.reassign(sub.participant_id, view)

    async def _run_probing(self) -> None:
        """Every 20 ms, each subscriber's ``Downlink`` probing tick, on a video consumer
        that is ready (the padding owed while probing; a trickle while no video flows)."""
        n = 0
        try:
            while True:
                await asyncio.sleep(PROBE_TICK_S)
                n += 1
                # a subscriber that is not probing has nothing to send but on a trickle
                # tick (every 500 ms): the other ticks look at the probing ones only
                subs = list(self.subscriptions.values()) if n % TRICKLE_EVERY == 0 else \
                    [s for s in self.subscriptions.values() if s.downlink.probe_bps > 0]
                for sub in subs:
                    downlink = sub.downlink
                    carrier = next((v for _, v in sub.seats if v.ready), None)
                    if carrier is None:
                        continue
                    if downlink.check_probe():
                        self.run_allocation(sub, time.monotonic())
                    downlink.send_owed(carrier, n, video_flows=any(
                        v.source is not None for _, v in sub.seats))
        except asyncio.CancelledError:
            pass
        except Exception:
            logger.exception("%s probing failed", self._log_prefix)

    # sender reports

    async def _run_sender_reports(self) -> None:
        """Every subscriber's sender reports from one timer, instead of a task and a timer
        per slot (nine or ten per listener, most of them empty seats)."""
        try:
            while True:
                await asyncio.sleep(REPORT_TICK_S)
                await self.send_sender_reports(time.monotonic())
        except asyncio.CancelledError:
            pass
        except Exception:
            logger.exception("%s sender reports failed", self._log_prefix)

    async def send_sender_reports(self, now: float) -> int:
        """Send the reports of every subscriber whose turn it is: its slots that have a
        source, in one compound RTCP packet per connection. Returns the packets sent."""
        sent = 0
        low, high = REPORT_INTERVAL_S
        for n, sub in enumerate(list(self.subscriptions.values())):
            if n and n % SUBSCRIBERS_PER_TURN == 0:
                await asyncio.sleep(0)
            if sub.tap or now < sub.report_at or \
                    self.subscriptions.get(sub.participant_id) is not sub:
                continue  # a plain RTP tap's consumers report themselves; one gone meanwhile
            sub.report_at = now + self._random.uniform(low, high)
            try:
                sent += await self._send_reports_of(sub)
            except Exception:  # one subscriber's failure stops nobody else's reports
                logger.exception("%s sender reports to %s failed", self._log_prefix,
                                 sub.participant_id)
        return sent

    @staticmethod
    async def _send_reports_of(sub: Subscription) -> int:
        by_transport: dict[int, tuple[Any, list[bytes]]] = {}
        for consumer in sub.consumers():
            data = consumer.report()
            if data is not None:
                entry = by_transport.setdefault(id(consumer.transport), (consumer.transport, []))
                entry[1].append(data)
        sent = 0
        for transport, parts in by_transport.values():
            if await aiortc_glue.send_rtp(transport, b"".join(parts)):
                sent += 1
        return sent

    # figures

    def stats(self) -> RouterStats:
        """A snapshot of the figures /metrics shows, as plain values."""
        producers = tuple(
            ProducerStats(p.id, p.participant_id, p.source, p.kind, p.bitrate_bps,
                          p.packets_received, p.loss()[1], p.forwarding,
                          p.codec.name if p.codec is not None else None, p.keyframes_received)
            for p in self.producers.values())
        publishers = tuple(
            PublisherStats(t.participant_id, t.uplink.policy.level, t.uplink.level,
                           t.uplink.remb_bps)
            for t in self.transports.values() if t.uplink is not None and not t.closed)
        subscribers = tuple(
            SubscriberStats(s.participant_id, s.estimate.estimate(),
                            s.downlink.last_allocation_bps, tuple(
                                ConsumerStats(c.id, c.kind, c.purpose,
                                              c.source.source if c.source else None,
                                              c.fraction_lost, c.rtt_s, c.packets_sent)
                                for c in s.consumers()))
            for s in self.subscriptions.values())
        transports = tuple(TransportStats(t.id, t.participant_id, t.direction,
                                          t.connection_state)
                           for t in self.transports.values())
        return RouterStats(self.meeting_id, transports, producers, publishers, subscribers,
                           self.counts()["consumers"])

    def counts(self) -> dict[str, int]:
        consumers = sum(len(t.consumers) for t in self.transports.values())
        return {"transports": len(self.transports), "producers": len(self.producers),
                "consumers": consumers, "subscriptions": len(self.subscriptions)}

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for task in (self._speaker_task, self._allocation_task, self._probe_task,
                     self._report_task):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        for transport in list(self.transports.values()):
            await transport.close()
        if self._own_handshakes:
            self.dtls_handshakes.close()
        self.subscriptions.clear()
        self.producers.clear()
