"""The media plan: what the control plane's rules allow, as one immutable value per meeting.

The control plane owns the meeting's rules (the floor, interpretation, roles) and computes
from them a ``MediaPlan`` (``meeting_server/media_plan.py``); the SFU applies it
(``Router.apply(plan)``) by switching consumer sources and gating microphones. The SFU never
calls back into the rules: everything it needs to decide who is heard, who takes a seat and
what feeds a channel is in the plan. The voice-following part of the floor (who among the
forwarded microphones spoke last) is the SFU's own, since it needs the audio levels.

Plain fields only (strings, booleans, tuples, frozensets), so a plan crosses a process
boundary as ``to_dict()`` / ``from_dict()`` (JSON-compatible) when the SFU runs in workers.
Pure: no I/O, no asyncio, no imports from the control plane.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

FLOOR_CHANNEL = "floor"


class PlanError(ValueError):
    """A plan (or its dict form) that does not hold together."""


@dataclass(frozen=True, slots=True)
class ChannelFeed:
    """What feeds one language channel, as the media plane needs it:

    - ``mic``: that participant's microphone (a booth's live interpreter);
    - ``follows_floor``: the floor passes through (a silent booth): the floor's current voice,
      which the SFU follows from the audio levels among the forwarded microphones;
    - neither: nothing (a live booth whose interpreter coughs).
    """

    channel: str
    mic: str | None = None
    follows_floor: bool = False

    def __post_init__(self) -> None:
        if not self.channel or self.channel == FLOOR_CHANNEL:
            raise PlanError("a channel feed names a language channel")
        if self.mic is not None and self.follows_floor:
            raise PlanError("a channel is fed by a microphone or by the floor, not both")

    @property
    def original(self) -> bool:
        """The channel carries the floor itself (the UI says "original")."""
        return self.follows_floor

    def to_dict(self) -> dict[str, Any]:
        return {"channel": self.channel, "mic": self.mic, "followsFloor": self.follows_floor}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChannelFeed:
        try:
            channel, mic, follows = data["channel"], data["mic"], data["followsFloor"]
        except (KeyError, TypeError) as exc:
            raise PlanError(f"bad channel feed: {exc!r}") from None
        if not isinstance(channel, str) or not (mic is None or isinstance(mic, str)) \
                or not isinstance(follows, bool):
            raise PlanError("bad channel feed field types")
        return cls(channel, mic, follows)


@dataclass(frozen=True, slots=True)
class MediaPlan:
    """One meeting's media rules at one moment (``version`` grows with every new plan).

    - ``forwarded``: participants whose microphone may be heard on the floor (the seats and
      the passthrough channels). Any other microphone is received (statistics, NACKs) but
      forwarded to nobody, except a booth's live interpreter into that booth's channel.
    - ``seated``: participants who may take a seat (an interpreter in a booth does not).
    - ``presenters``: participants whose screen share is forwarded.
    - ``channels``: what feeds each language channel (``floor`` is carried by the seats).
    - ``incoming``: interpreter → the channel they hear (``floor`` or a relay booth); it
      overrides their own listening choice.
    - ``floor_holder``: who holds the floor (preferred as the floor's voice while they speak,
      and their video goes first in the allocation).
    """

    meeting_id: str
    version: int = 0
    forwarded: frozenset[str] = frozenset()
    seated: frozenset[str] = frozenset()
    presenters: frozenset[str] = frozenset()
    channels: tuple[ChannelFeed, ...] = ()
    incoming: tuple[tuple[str, str], ...] = ()
    floor_holder: str | None = None
    _feeds: dict[str, ChannelFeed] = field(default_factory=dict, init=False, repr=False,
                                           compare=False, hash=False)

    def __post_init__(self) -> None:
        names = [f.channel for f in self.channels]
        if len(set(names)) != len(names):
            raise PlanError("a channel is fed twice")
        interpreters = [pid for pid, _ in self.incoming]
        if len(set(interpreters)) != len(interpreters):
            raise PlanError("an interpreter hears two channels")
        self._feeds.update((f.channel, f) for f in self.channels)

    def feed(self, channel: str) -> ChannelFeed | None:
        """What feeds ``channel`` (None for ``floor`` and for channels the meeting lacks)."""
        return self._feeds.get(channel)

    def incoming_of(self, participant_id: str) -> str | None:
        """The channel an interpreter in a booth hears, None for everyone else."""
        return next((ch for pid, ch in self.incoming if pid == participant_id), None)

    def changes(self, before: MediaPlan | None) -> MediaPlan | None:
        """``self`` if it differs from ``before`` in anything but the version, else None."""
        if before is None or before.meeting_id != self.meeting_id:
            return self
        same = (self.forwarded, self.seated, self.presenters, self.channels, self.incoming,
                self.floor_holder) == (before.forwarded, before.seated, before.presenters,
                                       before.channels, before.incoming, before.floor_holder)
        return None if same else self

    def to_dict(self) -> dict[str, Any]:
        return {
            "meetingId": self.meeting_id,
            "version": self.version,
            "forwarded": sorted(self.forwarded),
            "seated": sorted(self.seated),
            "presenters": sorted(self.presenters),
            "channels": [f.to_dict() for f in self.channels],
            "incoming": [[pid, ch] for pid, ch in self.incoming],
            "floorHolder": self.floor_holder,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MediaPlan:
        try:
            meeting_id, version = data["meetingId"], data["version"]
            sets = [data[k] for k in ("forwarded", "seated", "presenters")]
            channels, incoming, holder = data["channels"], data["incoming"], data["floorHolder"]
        except (KeyError, TypeError) as exc:
            raise PlanError(f"bad media plan: {exc!r}") from None
        if not isinstance(meeting_id, str) or type(version) is not int:
            raise PlanError("bad media plan: meetingId and version")
        for ids in sets:
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                raise PlanError("bad media plan: participant lists")
        if not isinstance(channels, list) or not isinstance(incoming, list):
            raise PlanError("bad media plan: channels and incoming are lists")
        pairs = []
        for pair in incoming:
            if not isinstance(pair, list) or len(pair) != 2 or \
                    not all(isinstance(x, str) for x in pair):
                raise PlanError("bad media plan: incoming pairs")
            pairs.append((pair[0], pair[1]))
        if not (holder is None or isinstance(holder, str)):
            raise PlanError("bad media plan: floorHolder")
        return cls(meeting_id, version, frozenset(sets[0]), frozenset(sets[1]),
                   frozenset(sets[2]), tuple(ChannelFeed.from_dict(f) for f in channels),
                   tuple(pairs), holder)
