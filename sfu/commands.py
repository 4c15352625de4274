"""What the control plane asks of a meeting's router: commands and their results, as values.

Two kinds, as the router runs them:

- **control** commands (``Router.execute``, synchronous): ``ApplyPlan``, ``Listen``, ``Pin``,
  ``SetVideo`` and the query ``GetSlots``. They switch sources and never wait on the
  network.
- **connection** commands (``Router.negotiate``, awaited): ``Publish``, ``Unpublish``,
  ``Subscribe``, ``AcceptAnswer``, ``CloseParticipant``. They carry SDP in and out.
- **tap** commands: a plain RTP tap (sfu/plain_transport.py, the webcast's) opened and
  closed by ``OpenTap`` and ``CloseTap`` (connection commands: they bind and close a
  socket), kept on a participant's camera by ``PinTap`` and asked for a keyframe by
  ``TapKeyframe`` (control commands).

A refused command raises ``CommandError`` with a code from the protocol's error table
(``conflict``, ``bad-sdp``) and changes nothing. Every command and result is a frozen
dataclass of plain fields with ``to_dict()``, so a worker process can take the same table
over a socket (docs/architecture.md, "The control–media boundary"). Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .events import PipedProducer, RouterStats, Slot, UdpStats
from .plan import MediaPlan


class CommandError(Exception):
    """A command the router refused: nothing changed."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


def _plain(value: Any) -> Any:
    if isinstance(value, MediaPlan):
        return value.to_dict()
    if isinstance(value, Slot):
        return value.to_json()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


class _Value:
    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        fields: tuple[str, ...] = self.__dataclass_fields__  # type: ignore[attr-defined]
        return {"command": type(self).__name__,
                **{name: _plain(getattr(self, name)) for name in fields}}


# control commands

@dataclass(frozen=True, slots=True)
class ApplyPlan(_Value):
    plan: MediaPlan


@dataclass(frozen=True, slots=True)
class Listen(_Value):
    """The listener's channel choice (``floor`` or a language)."""

    participant_id: str
    channel: str


@dataclass(frozen=True, slots=True)
class Pin(_Value):
    participant_id: str
    pinned: str | None


@dataclass(frozen=True, slots=True)
class SetVideo(_Value):
    """The listener's "low bandwidth" switch: False means audio (and documents) only."""

    participant_id: str
    enabled: bool


@dataclass(frozen=True, slots=True)
class GetSlots(_Value):
    """A query: what feeds each of the participant's slots now (answered with ``Slots``)."""

    participant_id: str


@dataclass(frozen=True, slots=True)
class PinTap(_Value):
    """The tap's seat shows the first of ``candidates`` who sends a camera now (none of
    them: the most recent voice, as an unpinned seat does). The control plane orders the
    candidates (the floor speaker, then the chairs); the router only knows who has a
    camera."""

    tap_id: str
    candidates: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TapKeyframe(_Value):
    """Ask the source of each of the tap's video consumers for a keyframe (its reader
    started or restarted)."""

    tap_id: str


ControlCommand = ApplyPlan | Listen | Pin | SetVideo | GetSlots | PinTap | TapKeyframe


# connection commands

@dataclass(frozen=True, slots=True)
class Publish(_Value):
    """A publisher's offer; ``sources`` names each m-line (mid → mic, camera, camera-low,
    screen); ``opus`` the fmtp its Opus encoder is asked for, ``opus_ptime`` the packet
    duration (ms)."""

    participant_id: str
    sdp: str
    sources: tuple[tuple[str, str], ...]
    opus: tuple[tuple[str, int | str], ...] = ()
    opus_ptime: int | None = None


@dataclass(frozen=True, slots=True)
class Unpublish(_Value):
    participant_id: str


@dataclass(frozen=True, slots=True)
class Subscribe(_Value):
    """Make the subscribe connection's offer: ``seats`` audio+video pairs, a channel slot and
    a screen slot."""

    participant_id: str
    seats: int


@dataclass(frozen=True, slots=True)
class AcceptAnswer(_Value):
    participant_id: str
    sdp: str


@dataclass(frozen=True, slots=True)
class CloseParticipant(_Value):
    """Close every connection of a participant who left or dropped."""

    participant_id: str


# pipes between workers (sfu/plain_transport.py, ``PipeTransport``): one meeting's router on
# several workers, each producer of its home worker sent once to every other one

@dataclass(frozen=True, slots=True)
class OpenPipe(_Value):
    """Open a pipe's end on this router: a UDP socket on loopback (answered with
    ``PipeAddress``); ``pipe_id`` names the pair on both workers."""

    pipe_id: str


@dataclass(frozen=True, slots=True)
class ConnectPipe(_Value):
    """The address of the pipe's other end: packets go there, and only packets from there
    are taken."""

    pipe_id: str
    host: str
    port: int


@dataclass(frozen=True, slots=True)
class PipeProducers(_Value):
    """Send every producer of this router over the pipe, now and as they are added (each
    announced with a ``ProducerPiped`` event)."""

    pipe_id: str


@dataclass(frozen=True, slots=True)
class PipeProducer(_Value):
    """Make a piped producer on this router: a Producer for the same participant and source
    the router seats, gates and feeds channels from as at home."""

    pipe_id: str
    producer: PipedProducer


@dataclass(frozen=True, slots=True)
class UnpipeProducer(_Value):
    """Close the piped producer the pipe carries with that SSRC."""

    pipe_id: str
    ssrc: int


@dataclass(frozen=True, slots=True)
class ClosePipe(_Value):
    """Close the pipe's end on this router (its piped producers or its senders)."""

    pipe_id: str


PipeCommand = (OpenPipe | ConnectPipe | PipeProducers | PipeProducer | UnpipeProducer
               | ClosePipe)

Address = tuple[str, int]  # an IP literal and a UDP port


@dataclass(frozen=True, slots=True)
class OpenTap(_Value):
    """Open a plain RTP tap (a subscriber of the router over plain UDP, no ICE or SRTP)
    named ``tap_id``: with ``video``, one seat whose camera goes there; with ``audio``, the
    slot of ``channel`` (``floor``: the floor's current voice) goes there. RTCP goes to
    each port + 1, and the reader's RTCP comes back to the tap's local port (answered with
    ``TapOpened``)."""

    tap_id: str
    channel: str | None
    audio: Address | None
    video: Address | None


@dataclass(frozen=True, slots=True)
class CloseTap(_Value):
    """Close the tap and its consumers (one already closed, or never opened: ``Done``)."""

    tap_id: str


ConnectionCommand = (Publish | Unpublish | Subscribe | AcceptAnswer | CloseParticipant
                     | PipeCommand | OpenTap | CloseTap)


# results

@dataclass(frozen=True, slots=True)
class Answer(_Value):
    """``Publish``: the SDP answer."""

    sdp: str


@dataclass(frozen=True, slots=True)
class Offer(_Value):
    """``Subscribe``: the SDP offer and the slots it makes (none fed yet)."""

    sdp: str
    slots: tuple[Slot, ...]


@dataclass(frozen=True, slots=True)
class Slots(_Value):
    """``AcceptAnswer``: what feeds each slot now."""

    slots: tuple[Slot, ...]


@dataclass(frozen=True, slots=True)
class Done(_Value):
    """A command that answers nothing but its success."""


@dataclass(frozen=True, slots=True)
class PipeAddress(_Value):
    """``OpenPipe``: where the pipe's end takes packets."""

    host: str
    port: int


@dataclass(frozen=True, slots=True)
class TapOpened(_Value):
    """``OpenTap``: the tap's local address, where its RTP comes from and its RTCP goes."""

    tap_id: str
    host: str
    port: int


Result = Answer | Offer | Slots | Done | PipeAddress | TapOpened


# worker commands: what a worker process is asked beside a router's own commands

@dataclass(frozen=True, slots=True)
class OpenRouter(_Value):
    """Make the meeting's router on this worker (an open one is kept: answered ``Done``)."""

    video_codec: str


@dataclass(frozen=True, slots=True)
class CloseRouter(_Value):
    """Close the meeting's router and every connection on it."""


@dataclass(frozen=True, slots=True)
class GetLoad(_Value):
    """A query: the worker's load and every router's stats (answered with ``Load``)."""


WorkerCommand = OpenRouter | CloseRouter | GetLoad
Command = ControlCommand | ConnectionCommand | WorkerCommand


@dataclass(frozen=True, slots=True)
class Load(_Value):
    """``GetLoad``: what placement weighs (consumers, packets per second forwarded and
    received since the last ``GetLoad``), the routers' stats snapshots and the counters of
    the worker's one UDP port (None without it) for /metrics."""

    pid: int
    consumers: int
    packets_per_s: float
    routers: tuple[RouterStats, ...]
    udp: UdpStats | None = None


# the envelope of a worker's socket (docs/architecture.md, "Workers")

@dataclass(frozen=True, slots=True)
class Request(_Value):
    """A command for the meeting's router (``meeting_id`` empty for ``GetLoad``); ``id``
    pairs it with its ``Reply``."""

    id: int
    meeting_id: str
    command: Command


@dataclass(frozen=True, slots=True)
class Refusal(_Value):
    """A ``CommandError`` (or a frame that did not decode: ``bad-frame``) as a value."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Reply(_Value):
    """The answer to request ``id``: a result, or a refusal (nothing changed). ``id`` 0: a
    frame whose request id could not be read."""

    id: int
    result: Answer | Offer | Slots | Done | PipeAddress | TapOpened | Load | None
    refusal: Refusal | None
