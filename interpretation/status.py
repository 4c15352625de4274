"""What booth consoles and the secretariat see: booth status and warnings, as plain values.

Warnings (``BoothWarning.code``):

- ``two-mics-open``: two or more interpreters of one booth report an open microphone at their
  client. Only one can be live on the server, but the other still picks up the booth's sound
  (and, on a shared console, bleeds into the live one); the interpreters must close one.
- ``relay-loop``: a live booth whose relay chain never reaches the floor (fr relays from en,
  whose live interpreter relays from fr, ...). Nothing is wrong with the media, but nobody in
  the loop is hearing the speaker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypedDict

from interpretation.channels import FLOOR
from interpretation.feeds import channel_feeds
from interpretation.state import InterpretationState

WarningCode = Literal["two-mics-open", "relay-loop"]


@dataclass(frozen=True, slots=True, order=True)
class BoothWarning:
    language: str
    code: WarningCode

    def to_dict(self) -> dict[str, str]:
        return {"language": self.language, "code": self.code}


class BoothStatus(TypedDict):
    language: str
    interpreters: list[str]            # in order of assignment
    live: str | None                   # the live interpreter, None: silent booth
    coughing: bool
    handover: dict[str, str | None] | None  # {"from": id, "to": id | None}
    micsOpen: list[str]                # interpreters whose client reports an open mic
    incoming: dict[str, str]           # interpreter -> "floor" or a language (relay)
    feed: str                          # FeedKind of the booth's channel
    original: bool                     # the channel carries the floor
    floorLanguage: bool                # the floor speaker declared this booth's language
    warnings: list[str]                # WarningCode values


def reaches_floor(state: InterpretationState, language: str) -> bool:
    """Whether the interpreter live in ``language``'s booth ultimately hears the floor
    (a silent booth carries the floor, so it counts as reaching it)."""
    seen: set[str] = set()
    current = language
    while True:
        booth = state.booth(current)
        if booth.live is None:
            return True
        if current in seen:
            return False
        seen.add(current)
        member = booth.member(booth.live)
        assert member is not None
        if member.incoming == FLOOR:
            return True
        current = member.incoming


def booth_warnings(state: InterpretationState) -> list[BoothWarning]:
    """Every warning, booths in the meeting's language order."""
    out: list[BoothWarning] = []
    for booth in state.booths:
        if booth.two_mics_open:
            out.append(BoothWarning(booth.language, "two-mics-open"))
        if booth.is_live and not reaches_floor(state, booth.language):
            out.append(BoothWarning(booth.language, "relay-loop"))
    return out


def booth_status(state: InterpretationState) -> list[BoothStatus]:
    """One plain dict per booth, in the meeting's language order (camelCase, as on the wire)."""
    feeds = channel_feeds(state)
    by_booth: dict[str, list[str]] = {}
    for w in booth_warnings(state):
        by_booth.setdefault(w.language, []).append(w.code)
    out: list[BoothStatus] = []
    for booth in state.booths:
        h = booth.handover
        feed = feeds[booth.language]
        out.append({
            "language": booth.language,
            "interpreters": list(booth.interpreter_ids),
            "live": booth.live,
            "coughing": booth.coughing,
            "handover": None if h is None else {"from": h.from_interpreter,
                                                "to": h.to_interpreter},
            "micsOpen": list(booth.open_mics),
            "incoming": {i.participant_id: i.incoming for i in booth.interpreters},
            "feed": feed.kind.value,
            "original": feed.original,
            "floorLanguage": state.is_floor_language(booth.language),
            "warnings": by_booth.get(booth.language, []),
        })
    return out
