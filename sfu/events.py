"""What the SFU tells the control plane: typed events and a stats snapshot, as plain values.

The control plane never reads the SFU's objects (transports, producers, subscriptions); the
Router emits these events to its listeners (``Router.on_event``) and answers ``stats()`` with
a ``RouterStats``. Every value is a frozen dataclass of plain fields with ``to_dict()``, so
the same table crosses a process boundary when the SFU runs in worker processes
(docs/architecture.md, "The control–media boundary"). Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Slot:
    """One outgoing m-line of a subscriber and what feeds it now.

    ``forwarded``: packets of the feeding producer actually reach this slot. A seat's audio
    may be fed by a microphone the floor rules do not let be heard: it is then announced with
    ``forwarded: false`` (the integrator can tell who is audible)."""

    mid: str | None  # None until the offer is made
    kind: str  # "audio" | "video"
    purpose: str  # "seat" | "screen" | "channel"
    seat: int
    participant_id: str | None = None
    source: str | None = None  # "mic" | "camera" | "camera-low" | "screen"
    forwarded: bool = False
    layer: str | None = None  # video: the source it receives now
    channel: str | None = None  # channel slot: the channel chosen
    original: bool | None = None  # channel slot: it carries the floor (or nothing: "floor")

    def to_json(self) -> dict[str, Any]:
        """The ``slots`` event's form (docs/protocol.md)."""
        out: dict[str, Any] = {"mid": self.mid, "kind": self.kind, "purpose": self.purpose,
                               "seat": self.seat, "participantId": self.participant_id,
                               "source": self.source, "forwarded": self.forwarded}
        if self.kind == "video":
            out["layer"] = self.layer
        if self.purpose == "channel":
            out["channel"] = self.channel
            out["original"] = self.original
        return out


@dataclass(frozen=True, slots=True)
class SlotsChanged:
    """A subscriber's slots changed (a source, a layer, or whether it is forwarded)."""

    meeting_id: str
    participant_id: str
    slots: tuple[Slot, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"event": "slots", "meetingId": self.meeting_id,
                "participantId": self.participant_id,
                "slots": [s.to_json() for s in self.slots]}


@dataclass(frozen=True, slots=True)
class UplinkChanged:
    """A publisher's uplink level changed: ``full``, ``low`` (the camera's low layer) or
    ``audio``; ``loss`` is the loss that decided it."""

    meeting_id: str
    participant_id: str
    level: str
    loss: float

    def to_dict(self) -> dict[str, Any]:
        return {"event": "uplink", **asdict(self)}


@dataclass(frozen=True, slots=True)
class SpeakersChanged:
    """Who is speaking now (active speakers): forwarded microphones louder than −60 dBov in
    the last 1.5 s, by participant id in sorted order."""

    meeting_id: str
    speaking: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"event": "speakers", "meetingId": self.meeting_id,
                "speaking": list(self.speaking)}


@dataclass(frozen=True, slots=True)
class FloorVoiceChanged:
    """The floor's current voice (the microphone passthrough channels carry) moved."""

    meeting_id: str
    participant_id: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"event": "floor-voice", **asdict(self)}


@dataclass(frozen=True, slots=True)
class TransportStateChanged:
    """A WebRTC connection's state (``new`` … ``connected``, ``failed``, ``closed``)."""

    meeting_id: str
    participant_id: str
    transport_id: str
    direction: str  # "publish" | "subscribe"
    state: str

    def to_dict(self) -> dict[str, Any]:
        return {"event": "transport-state", **asdict(self)}


@dataclass(frozen=True, slots=True)
class PipedProducer:
    """A producer as a pipe carries it (sfu/plain_transport.py, ``PipeTransport``): the
    pipe's own SSRC for it, whose track it is, and the codec its packets keep (payload type
    unchanged from the home worker)."""

    ssrc: int
    producer_id: str  # on the home worker
    participant_id: str
    source: str  # "mic" | "camera" | "camera-low" | "screen"
    kind: str  # "audio" | "video"
    codec: str  # "opus", "VP8", "H264"
    payload_type: int
    clock_rate: int
    channels: int = 1

    def __post_init__(self) -> None:
        if not 0 <= self.ssrc <= 0xFFFFFFFF or not 0 <= self.payload_type <= 127:
            raise ValueError("ssrc is 32 bits, payload_type 0..127")
        if self.kind not in ("audio", "video") or self.clock_rate <= 0 \
                or not 1 <= self.channels <= 8:
            raise ValueError("kind is audio or video, clock_rate positive, channels 1..8")


@dataclass(frozen=True, slots=True)
class ProducerPiped:
    """The home worker sends a producer over a pipe from now on (after ``PipeProducers``,
    for every producer there and every one added later): the control plane makes it on the
    pipe's other worker (``PipeProducer``)."""

    meeting_id: str
    pipe_id: str
    producer: PipedProducer

    def to_dict(self) -> dict[str, Any]:
        return {"event": "producer-piped", **asdict(self)}


@dataclass(frozen=True, slots=True)
class PipedProducerClosed:
    """A piped producer closed on the home worker: the control plane closes its copy
    (``UnpipeProducer``)."""

    meeting_id: str
    pipe_id: str
    ssrc: int

    def to_dict(self) -> dict[str, Any]:
        return {"event": "piped-producer-closed", **asdict(self)}


RouterEvent = (SlotsChanged | UplinkChanged | SpeakersChanged | FloorVoiceChanged
               | TransportStateChanged | ProducerPiped | PipedProducerClosed)


# the stats snapshot (``Router.stats()``), read by /metrics

@dataclass(frozen=True, slots=True)
class ProducerStats:
    producer_id: str
    participant_id: str
    source: str
    kind: str
    bitrate_bps: float
    packets_received: int
    packets_lost: int
    forwarding: bool
    codec: str | None = None  # the media codec's name (VP8, H264, opus), once negotiated
    keyframes_received: int = 0


@dataclass(frozen=True, slots=True)
class PublisherStats:
    participant_id: str
    uplink_level: int  # 2 every layer, 1 the camera's low layer, 0 audio only
    uplink_name: str
    remb_bps: float


@dataclass(frozen=True, slots=True)
class ConsumerStats:
    consumer_id: str
    kind: str
    purpose: str
    source: str | None  # the source it is fed by now
    fraction_lost: float
    rtt_s: float | None
    packets_sent: int


@dataclass(frozen=True, slots=True)
class SubscriberStats:
    participant_id: str
    estimate_bps: float
    sending_bps: float
    consumers: tuple[ConsumerStats, ...]


@dataclass(frozen=True, slots=True)
class TransportStats:
    transport_id: str
    participant_id: str
    direction: str
    state: str


@dataclass(frozen=True, slots=True)
class UdpStats:
    """The worker's one UDP port (sfu/udp_mux.py): datagrams handed on (STUN checks and
    answers, DTLS/SRTP media), sent, and dropped by reason: media from an address no valid
    check came from, not STUN/DTLS/SRTP at all (or a STUN message that is not a binding
    request or answer), a check for no known ufrag, a check whose integrity fails, an answer
    to no request in flight. Counters since the worker started."""

    port: int
    received_stun: int
    received_media: int
    sent: int
    dropped_unknown_address: int
    dropped_not_stun: int
    dropped_unknown_ufrag: int
    dropped_bad_integrity: int
    dropped_unknown_transaction: int
    dropped_overload: int = 0


@dataclass(frozen=True, slots=True)
class RouterStats:
    meeting_id: str
    transports: tuple[TransportStats, ...]
    producers: tuple[ProducerStats, ...]
    publishers: tuple[PublisherStats, ...]
    subscribers: tuple[SubscriberStats, ...]
    consumers: int

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = _lists(asdict(self))
        return out


def _lists(value: Any) -> Any:
    """``asdict``'s output with tuples as lists (its JSON form)."""
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_lists(v) for v in value]
    return value
