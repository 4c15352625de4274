"""Which microphone feeds which channel, and what each interpreter hears: pure resolution.

``channel_feeds(state)`` answers, for every channel of the meeting:

- ``floor``: the floor speaker's microphone (``FeedKind.FLOOR``; no speaker: nothing);
- a language channel whose booth is live: the live interpreter's microphone
  (``FeedKind.INTERPRETATION``), or, while that interpreter coughs, explicit silence
  (``FeedKind.SILENCE``): the booth keeps its channel, so listeners are not thrown onto the
  original for the second a cough lasts;
- a language channel whose booth is silent: the floor passes through
  (``FeedKind.PASSTHROUGH``, ``original`` is true so the UI can say "original"). A listener
  therefore always hears something.

The booth of the floor speaker's own language
----------------------------------------------
When the floor speaks language X, the X booth normally has nothing to do and is off, and the X
channel then carries the floor through the rule above (ISO 20109 practice). The question is
what happens when the X booth is *live* while the floor speaks X. Decision: **the live
microphone wins**; the declared floor language never overrides a booth. Reasons:

1. Décalage. Interpreters run a few seconds behind the speaker. When the floor passes from an
   English speaker to a French one, the French booth is still finishing the English speaker's
   last sentence; forcing the fr channel to the floor at that moment would cut that sentence
   off and put the new speaker on top of it. The interpreter switches off when done, and from
   then on the channel carries the original.
2. The declaration can be wrong; the booth hears the truth. The floor language is declared when
   taking the floor and otherwise comes from the speaker's profile. A delegate announced as
   French who speaks English, or who switches language in mid-speech, is common; the French
   booth then has to go live and interpret, and a rule that forced the fr channel to the floor
   would silence exactly the interpretation the fr listeners need.
3. One rule, no hidden state. The channel is the booth's microphone when it is live and the
   floor when it is not; the floor language changes only what the UI shows
   (``booth_status()["floorLanguage"]``, so a booth console can say "the floor is in your
   language"), never what is forwarded. Changing the floor speaker or language therefore never
   switches a live channel by itself (a floor change moves only ``floor`` and passthrough
   channels; see ``diff_feeds``).

The cost is that an interpreter who forgets to switch off keeps their channel (their silence)
instead of the original; the status flag lets the console and the secretariat see that.

Relay: an interpreter hears ``floor`` or another booth's channel, and a channel's feed is
already resolved above, so relaying from a booth in passthrough gives the floor speaker's
microphone, and relaying from a coughing booth gives silence, exactly what that channel's
listeners get. Resolution is one lookup, so chains and even loops of relays cannot recurse
(a loop is reported by ``status.booth_warnings``, since nobody in it hears the floor).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from interpretation.channels import FLOOR
from interpretation.state import InterpretationState


@dataclass(frozen=True, slots=True, order=True)
class MicRef:
    """A participant's microphone producer (the SFU's ``(participant_id, "mic")``)."""

    participant_id: str
    source: ClassVar[str] = "mic"

    def as_tuple(self) -> tuple[str, str]:
        return (self.participant_id, self.source)


class FeedKind(StrEnum):
    FLOOR = "floor"                    # the floor channel: the floor speaker's microphone
    INTERPRETATION = "interpretation"  # the live interpreter's microphone
    SILENCE = "silence"                # a live booth whose interpreter coughs: nothing
    PASSTHROUGH = "passthrough"        # a silent booth: the floor passes through


@dataclass(frozen=True, slots=True)
class Feed:
    """What a channel carries. ``mic`` is the producer to forward (None: forward nothing)."""

    kind: FeedKind
    mic: MicRef | None = None

    def __post_init__(self) -> None:
        if self.kind is FeedKind.INTERPRETATION and self.mic is None:
            raise ValueError("an interpretation feed needs the interpreter's microphone")
        if self.kind is FeedKind.SILENCE and self.mic is not None:
            raise ValueError("a silent feed forwards no microphone")

    @property
    def original(self) -> bool:
        """The channel carries the floor itself (the UI says "original")."""
        return self.kind in (FeedKind.FLOOR, FeedKind.PASSTHROUGH)

    def to_dict(self) -> dict[str, str | bool | None]:
        """For events: ``{"kind", "participantId", "source", "original"}``."""
        return {
            "kind": self.kind.value,
            "participantId": self.mic.participant_id if self.mic else None,
            "source": self.mic.source if self.mic else None,
            "original": self.original,
        }


def floor_feed(state: InterpretationState) -> Feed:
    speaker = state.floor.speaker
    return Feed(FeedKind.FLOOR, MicRef(speaker) if speaker is not None else None)


def channel_feeds(state: InterpretationState) -> dict[str, Feed]:
    """Every channel (``floor`` first, then the languages in order) and what feeds it."""
    floor = floor_feed(state)
    out: dict[str, Feed] = {FLOOR: floor}
    for booth in state.booths:
        if booth.live is None:
            out[booth.language] = Feed(FeedKind.PASSTHROUGH, floor.mic)
        elif booth.coughing:
            out[booth.language] = Feed(FeedKind.SILENCE)
        else:
            out[booth.language] = Feed(FeedKind.INTERPRETATION, MicRef(booth.live))
    return out


def incoming_for(state: InterpretationState, interpreter: str) -> Feed:
    """What the interpreter hears: the floor, or the feed of the booth they relay from
    (which is the floor again when that booth is in passthrough). ``not-in-booth`` if they
    are not assigned."""
    booth = state.require_booth_of(interpreter)
    member = booth.member(interpreter)
    assert member is not None
    return channel_feeds(state)[member.incoming]


def incoming_feeds(state: InterpretationState) -> dict[str, Feed]:
    """What every assigned interpreter hears, by participant id (booths in order)."""
    by_channel = channel_feeds(state)
    return {i.participant_id: by_channel[i.incoming]
            for booth in state.booths for i in booth.interpreters}


def diff_feeds(before: Mapping[str, Feed], after: Mapping[str, Feed]) -> list[str]:
    """The keys whose feed changed between two ``channel_feeds()`` (or ``incoming_feeds()``)
    results: those of ``after`` in its order, then any that only ``before`` has. A change of
    kind with the same microphone counts (the UI's "original" label may change) even though
    the SFU then has nothing to switch."""
    changed = [key for key, feed in after.items() if before.get(key) != feed]
    changed += [key for key in before if key not in after]
    return changed

