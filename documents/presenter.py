"""What the meeting's screen shows: one document page, chosen by whoever has the presenter
right, with an optional highlighted passage and pointer. Pure state and rules.

The chair and the secretariat always have the presenter right; the chair may give it to the
delegate who has the floor, and it ends when the floor passes to someone else.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

ALWAYS_PRESENT = frozenset({"chair", "secretariat"})
GIVES_PRESENTER = frozenset({"chair"})
MAX_HIGHLIGHT_BOXES = 32


class PresenterError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Box:
    """A rectangle in page fractions (0..1, origin top-left)."""

    x: float
    y: float
    w: float
    h: float

    def to_json(self) -> dict[str, float]:
        return {"x": self.x, "y": self.y, "w": self.w, "h": self.h}


@dataclass(frozen=True, slots=True)
class Showing:
    document_id: str
    version_id: str
    page: int
    pages: int
    number: str = ""
    language: str = ""


@dataclass(frozen=True, slots=True)
class Screen:
    """A meeting's document screen. ``seq`` grows on every change, so a client that got
    two updates out of order keeps the newer."""

    showing: Showing | None = None
    by: str = ""  # participant id of whoever showed it
    highlight: tuple[Box, ...] = ()
    pointer: tuple[float, float] | None = None
    delegate: str | None = None  # a delegate the chair gave the presenter right to
    seq: int = 0

    def to_json(self) -> dict[str, Any]:
        s = self.showing
        return {
            "showing": None if s is None else {
                "documentId": s.document_id, "versionId": s.version_id, "page": s.page,
                "pages": s.pages, "number": s.number, "language": s.language},
            "by": self.by, "highlight": [b.to_json() for b in self.highlight],
            "pointer": None if self.pointer is None else {"x": self.pointer[0],
                                                          "y": self.pointer[1]},
            "presenterDelegate": self.delegate, "seq": self.seq}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Screen:
        s = data.get("showing")
        showing = None if not s else Showing(s["documentId"], s["versionId"], int(s["page"]),
                                             int(s["pages"]), s.get("number", ""),
                                             s.get("language", ""))
        return cls(showing=showing, by=str(data.get("by", "")),
                   highlight=tuple(Box(b["x"], b["y"], b["w"], b["h"])
                                   for b in data.get("highlight", [])),
                   delegate=delegate if isinstance(delegate := data.get("presenterDelegate"),
                                                   str) else None,
                   seq=int(data.get("seq", 0)))


def may_present(screen: Screen, role: str, participant_id: str) -> bool:
    return role in ALWAYS_PRESENT or (screen.delegate is not None
                                      and screen.delegate == participant_id)


def require_presenter(screen: Screen, role: str, participant_id: str) -> None:
    if not may_present(screen, role, participant_id):
        raise PresenterError("forbidden", "only the chair, the secretariat or the delegate"
                             " the chair made presenter may change the screen")


def show(screen: Screen, who: str, showing: Showing) -> Screen:
    if not 1 <= showing.page <= showing.pages:
        raise PresenterError("bad-request", f"page must be 1..{showing.pages}")
    return replace(screen, showing=showing, by=who, highlight=(), pointer=None,
                   seq=screen.seq + 1)


def highlight(screen: Screen, who: str, page: int, boxes: tuple[Box, ...]) -> Screen:
    if screen.showing is None or screen.showing.page != page:
        raise PresenterError("conflict", "highlight the page that is shown")
    if len(boxes) > MAX_HIGHLIGHT_BOXES:
        raise PresenterError("bad-request", f"at most {MAX_HIGHLIGHT_BOXES} boxes")
    return replace(screen, highlight=boxes, by=who, seq=screen.seq + 1)


def point(screen: Screen, at: tuple[float, float] | None) -> Screen:
    if screen.showing is None:
        raise PresenterError("conflict", "nothing is shown")
    return replace(screen, pointer=at, seq=screen.seq + 1)


def give(screen: Screen, giver_role: str, target: str | None, target_role: str | None,
         speaker: str | None) -> Screen:
    """The chair gives the presenter right to the delegate who has the floor (or takes it
    back with ``target`` None)."""
    if giver_role not in GIVES_PRESENTER:
        raise PresenterError("forbidden", "only the chair gives the presenter right")
    if target is None:
        return replace(screen, delegate=None, seq=screen.seq + 1)
    if target_role != "delegate":
        raise PresenterError("bad-request", "the presenter right goes to a delegate")
    if speaker != target:
        raise PresenterError("conflict", "give the presenter right to the delegate who has"
                             " the floor")
    return replace(screen, delegate=target, seq=screen.seq + 1)


def floor_moved(screen: Screen, speaker: str | None) -> Screen:
    """The floor passed on: a delegate's presenter right ends with it."""
    if screen.delegate is not None and screen.delegate != speaker:
        return replace(screen, delegate=None, pointer=None, seq=screen.seq + 1)
    return screen
