"""The media plan as a pure function of the floor, interpretation and roles.

``media_plan()`` turns one meeting's rules into the ``MediaPlan`` the SFU applies
(sfu/plan.py): whose microphone is forwarded (``heard``), who may take a seat, who may
present, what feeds each language channel and what each interpreter hears. This is the one
place where interpretation's feeds (interpretation/feeds.py) become media instructions.
No I/O: the planner (meeting_server/planner.py) gathers the inputs and applies the result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from interpretation import FLOOR, FeedKind, InterpretationState, channel_feeds
from sfu.plan import ChannelFeed, MediaPlan

ALWAYS_HEARD = frozenset({"chair"})
NEVER_ON_THE_FLOOR = frozenset({"interpreter", "captioner", "observer"})
NEVER_SEATED = frozenset({"interpreter"})  # interpreters are heard in their booth's channel
PRESENTING_ROLES = frozenset({"chair", "secretariat", "delegate"})


@dataclass(frozen=True, slots=True)
class FloorRules:
    """The floor's part of the plan: the meeting's mode, who holds the floor, who is muted."""

    mode: str = "chaired"  # "chaired" | "open"
    speaker: str | None = None
    muted: frozenset[str] = frozenset()


def heard(participant_id: str, role: str, floor: FloorRules) -> bool:
    """May this participant's microphone be forwarded now? The chair always; anyone not
    muted in an open meeting; in a chaired one the floor holder, and the secretariat
    unless muted; nobody else (interpreters speak into their booth's channel only)."""
    if role in ALWAYS_HEARD:
        return True
    if role in NEVER_ON_THE_FLOOR:
        return False
    if participant_id in floor.muted:
        return False
    if floor.mode == "open":
        return True
    if floor.speaker == participant_id:
        return True
    return role == "secretariat"


def may_take_seat(role: str) -> bool:
    return role not in NEVER_SEATED


def may_present(role: str) -> bool:
    return role in PRESENTING_ROLES


def channel_plan(state: InterpretationState) -> tuple[ChannelFeed, ...]:
    """What feeds each language channel, for the SFU: a live interpreter's microphone, the
    floor's voice (passthrough), or nothing (a cough)."""
    out = []
    for channel, feed in channel_feeds(state).items():
        if channel == FLOOR:
            continue  # the seats carry the floor
        if feed.kind is FeedKind.INTERPRETATION and feed.mic is not None:
            out.append(ChannelFeed(channel, mic=feed.mic.participant_id))
        elif feed.kind is FeedKind.PASSTHROUGH:
            out.append(ChannelFeed(channel, follows_floor=True))
        else:
            out.append(ChannelFeed(channel))
    return tuple(out)


def incoming_plan(state: InterpretationState) -> tuple[tuple[str, str], ...]:
    """Each assigned interpreter and the channel they hear (the floor, or a relay booth)."""
    return tuple((member.participant_id, member.incoming)
                 for booth in state.booths for member in booth.interpreters)


def media_plan(meeting_id: str, version: int, roles: Mapping[str, str], floor: FloorRules,
               interpretation: InterpretationState | None,
               sharing: frozenset[str] = frozenset()) -> MediaPlan:
    """The plan of one meeting: ``roles`` is every participant present (id → role);
    ``sharing``: who shares a screen now (meeting_server/screenshare.py checked their
    presenter right): the presenters are those of them present in a presenting role. A
    screen m-line nobody said they share is forwarded to nobody."""
    return MediaPlan(
        meeting_id=meeting_id,
        version=version,
        forwarded=frozenset(pid for pid, role in roles.items() if heard(pid, role, floor)),
        seated=frozenset(pid for pid, role in roles.items() if may_take_seat(role)),
        presenters=frozenset(pid for pid in sharing if pid in roles and may_present(roles[pid])),
        channels=channel_plan(interpretation) if interpretation is not None else (),
        incoming=incoming_plan(interpretation) if interpretation is not None else (),
        floor_holder=floor.speaker if floor.speaker in roles else None,
    )
