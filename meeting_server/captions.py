"""Live captions: a captioner captions one language at a desk; the line being typed goes to
that language's listeners as it grows (interim) and is final on Enter; the last lines can be
corrected; an HTTP ingest (captions_http.py) feeds a desk from a CART program.

Each final line is stored (captions_store.py) with its time and whoever held the floor when
the line was begun: captioning lags speech by a few seconds, so the floor holder at the first
word is the speaker far more often than the one at Enter.

Several languages are captioned at once, one desk each; a desk has one captioner at a time
(a second one takes over explicitly, as CART teams hand over). Listeners choose a language in
`/captions` (namespaces/captions.py); this service only says which language an event is for.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .captions_ingest import Decision, clean_text
from .captions_store import Caption, CaptionStore, NewLine, Speaker
from .errors import RostrumError
from .floor import FloorService
from .meetings import MeetingService, Participant

logger = logging.getLogger(__name__)

CAPTIONING_ROLES = frozenset({"captioner"})
# how many of a language's last lines may still be corrected
CORRECTABLE_LINES = 10
MAX_LINE_CHARS = 1000

# (meeting id, language or None for the whole meeting, event, payload)
CaptionSink = Callable[[str, "str | None", str, dict[str, Any]], None]


@dataclass
class Line:
    """The line a captioner is writing."""

    id: int
    text: str
    started_at: float
    speaker: Speaker

    def to_json(self) -> dict[str, Any]:
        return {"lineId": self.id, "text": self.text, "startedAt": self.started_at}


@dataclass
class Desk:
    """The captioning of one language in one meeting."""

    language: str
    captioner_id: str
    captioner_name: str
    line: Line | None = None

    def to_json(self, with_line: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"language": self.language, "captionerId": self.captioner_id,
                               "captionerName": self.captioner_name}
        if with_line:
            out["interim"] = self.line.to_json() if self.line else None
        return out


@dataclass
class MeetingCaptions:
    desks: dict[str, Desk] = field(default_factory=dict)  # language -> desk


class CaptionService:
    def __init__(self, meetings: MeetingService, floor: FloorService, captions: CaptionStore,
                 clock: Callable[[], float] = time.time) -> None:
        self.meetings = meetings
        self.floor = floor
        self.captions = captions
        self.clock = clock
        self.live: dict[str, MeetingCaptions] = {}
        self.sink: CaptionSink | None = None
        self._line_ids = itertools.count(1)
        meetings.leave_listeners.append(self._participant_left)

    # helpers

    def _emit(self, meeting_id: str, language: str | None, event: str,
              payload: dict[str, Any]) -> None:
        if self.sink is not None:
            try:
                self.sink(meeting_id, language, event, payload)
            except Exception:
                logger.exception("[%s] caption sink failed", meeting_id)

    def languages(self, meeting_id: str) -> tuple[str, ...]:
        live = self.meetings.live.get(meeting_id)
        return tuple(live.record.languages) if live else ()

    def _check_language(self, meeting_id: str, language: str) -> None:
        if language not in self.languages(meeting_id):
            raise RostrumError("unknown-language",
                               f"{language!r} is not a language of this meeting")

    def speaker_now(self, meeting_id: str) -> Speaker:
        grant = self.floor.current_speaker(meeting_id)
        if grant is None:
            return Speaker()
        who = self.meetings.find(meeting_id, grant.participant_id)
        if who is None:
            return Speaker(grant.participant_id)
        return Speaker(who.id, who.name, who.member_state)

    def _desk_of(self, participant: Participant) -> Desk:
        if participant.role not in CAPTIONING_ROLES:
            raise RostrumError("forbidden", "only a captioner sends captions")
        meeting = self.live.get(participant.meeting_id)
        for desk in meeting.desks.values() if meeting else ():
            if desk.captioner_id == participant.id:
                return desk
        raise RostrumError("conflict", "claim a caption language first")

    def desks(self, meeting_id: str, with_lines: bool = False) -> list[dict[str, Any]]:
        meeting = self.live.get(meeting_id)
        return [d.to_json(with_lines) for d in meeting.desks.values()] if meeting else []

    def interim_of(self, meeting_id: str, language: str) -> dict[str, Any] | None:
        meeting = self.live.get(meeting_id)
        desk = meeting.desks.get(language) if meeting else None
        return desk.line.to_json() if desk and desk.line else None

    def _desks_changed(self, meeting_id: str) -> None:
        self._emit(meeting_id, None, "captioners", {"desks": self.desks(meeting_id)})

    # the captioner

    def claim(self, participant: Participant, language: str, take_over: bool) -> None:
        if participant.role not in CAPTIONING_ROLES:
            raise RostrumError("forbidden", "only a captioner captions")
        self._check_language(participant.meeting_id, language)
        meeting = self.live.setdefault(participant.meeting_id, MeetingCaptions())
        desk = meeting.desks.get(language)
        if desk is not None and desk.captioner_id != participant.id:
            present = self.meetings.find(participant.meeting_id, desk.captioner_id)
            if present is not None and not take_over:
                raise RostrumError("conflict", f"{desk.captioner_name} captions {language}; "
                                   "take over to replace them")
        for other in list(meeting.desks.values()):
            if other.captioner_id == participant.id and other.language != language:
                self._close_desk(participant.meeting_id, other)
        if desk is not None and desk.line is not None and desk.captioner_id != participant.id:
            self._drop_line(participant.meeting_id, desk)
        meeting.desks[language] = Desk(language, participant.id, participant.name,
                                       desk.line if desk and desk.captioner_id == participant.id
                                       else None)
        logger.info("[%s %s] captions %s", participant.meeting_id, participant.id, language)
        self._desks_changed(participant.meeting_id)

    def release(self, participant: Participant) -> None:
        desk = self._desk_of(participant)
        self._close_desk(participant.meeting_id, desk)
        self._desks_changed(participant.meeting_id)

    def _close_desk(self, meeting_id: str, desk: Desk) -> None:
        if desk.line is not None:
            self._drop_line(meeting_id, desk)
        meeting = self.live.get(meeting_id)
        if meeting is not None:
            meeting.desks.pop(desk.language, None)

    def _drop_line(self, meeting_id: str, desk: Desk) -> None:
        """The line being typed is abandoned (the captioner left or was replaced): listeners
        clear it. (Typed text never Entered is not a caption.)"""
        assert desk.line is not None
        self._emit(meeting_id, desk.language, "caption-interim",
                   {"language": desk.language, "captionerId": desk.captioner_id,
                    "lineId": desk.line.id, "text": "", "startedAt": desk.line.started_at})
        desk.line = None

    def interim(self, participant: Participant, text: str) -> int:
        """The line as typed so far (the whole line each time). Returns the line id."""
        desk = self._desk_of(participant)
        text = clean_text(text)
        if len(text) > MAX_LINE_CHARS:
            raise RostrumError("too-large", f"a line is at most {MAX_LINE_CHARS} characters;"
                               " press Enter to make it final")
        if desk.line is None:
            if not text:
                return 0
            desk.line = Line(next(self._line_ids), text, self.clock(),
                             self.speaker_now(participant.meeting_id))
        else:
            desk.line.text = text
        self._emit(participant.meeting_id, desk.language, "caption-interim",
                   {"language": desk.language, "captionerId": participant.id,
                    **desk.line.to_json()})
        return desk.line.id

    async def final(self, participant: Participant, text: str) -> Caption:
        """Enter: the line is final, stored and shown to everyone as such."""
        desk = self._desk_of(participant)
        text = clean_text(text)
        if not text:
            raise RostrumError("bad-request", "an empty line is not a caption")
        if len(text) > MAX_LINE_CHARS:
            raise RostrumError("too-large", f"a line is at most {MAX_LINE_CHARS} characters")
        now = self.clock()
        line, desk.line = desk.line, None
        started_at = line.started_at if line else now
        speaker = line.speaker if line else self.speaker_now(participant.meeting_id)
        caption = await self.captions.add(NewLine(
            participant.meeting_id, desk.language, started_at, now, text, speaker,
            participant.id, participant.name, "console"))
        self._emit(participant.meeting_id, desk.language, "caption",
                   {**caption.to_json(), "lineId": line.id if line else 0})
        return caption

    async def correct(self, participant: Participant, caption_id: int, text: str) -> Caption:
        """Correct one of the last lines of a language: its captioner now, or its author."""
        if participant.role not in CAPTIONING_ROLES:
            raise RostrumError("forbidden", "only a captioner corrects captions")
        text = clean_text(text)
        if not text:
            raise RostrumError("bad-request", "a correction cannot be empty")
        if len(text) > MAX_LINE_CHARS:
            raise RostrumError("too-large", f"a line is at most {MAX_LINE_CHARS} characters")
        meeting_id = participant.meeting_id
        meeting = self.live.get(meeting_id)
        held = {d.language for d in meeting.desks.values()
                if d.captioner_id == participant.id} if meeting else set()
        target: Caption | None = None
        for language in self.languages(meeting_id):
            for caption in await self.captions.recent(meeting_id, language, CORRECTABLE_LINES):
                if caption.id == caption_id:
                    target = caption
        if target is None:
            raise RostrumError("not-found", f"no such caption among the last"
                               f" {CORRECTABLE_LINES} lines of any language")
        if target.language not in held and target.captioner_id != participant.id:
            raise RostrumError("forbidden", "only the language's captioner or the line's"
                               " author corrects it")
        corrected = await self.captions.correct(meeting_id, caption_id, text, self.clock())
        assert corrected is not None
        self._emit(meeting_id, corrected.language, "caption-corrected", corrected.to_json())
        return corrected

    # the HTTP ingest

    async def ingest(self, meeting_id: str, language: str, seq: int,
                     text: str) -> tuple[Decision, Caption | None]:
        """A CART program's post (captions_http.py checked URL, secret, seq and body)."""
        now = self.clock()
        meeting = self.live.get(meeting_id)
        desk = meeting.desks.get(language) if meeting else None
        decision, caption = await self.captions.ingest(NewLine(
            meeting_id, language, now, now, text, self.speaker_now(meeting_id),
            desk.captioner_id if desk else "", desk.captioner_name if desk else "",
            "http", seq), seq)
        if caption is not None:
            if decision.gap:
                logger.warning("[%s] caption ingest %s: %d seq values never arrived before"
                               " %d", meeting_id, language, decision.gap, seq)
            self._emit(meeting_id, language, "caption", {**caption.to_json(), "lineId": 0})
        return decision, caption

    # someone left

    async def _participant_left(self, participant: Participant, reason: str) -> None:
        meeting = self.live.get(participant.meeting_id)
        if meeting is None:
            return
        changed = False
        for desk in list(meeting.desks.values()):
            if desk.captioner_id == participant.id:
                self._close_desk(participant.meeting_id, desk)
                changed = True
        if not meeting.desks:
            self.live.pop(participant.meeting_id, None)
        if changed:
            self._desks_changed(participant.meeting_id)
