"""Screen sharing: who shares their screen in each meeting, under the presenter right.

A publisher that may present publishes an idle ``screen`` m-line with its microphone and
camera (web/static/protocol.js); sharing puts a ``getDisplayMedia`` track on it with
``replaceTrack`` (no renegotiation) and says so here (``/media`` ``screen-share``). The
presenter right is the documents' one (documents/presenter.py: the chair, the secretariat,
and the delegate the chair made presenter while they hold the floor); anyone else is refused
with ``forbidden``. One screen at a time per meeting: a new share replaces the one before.

The sharer becomes the media plan's ``presenters`` (meeting_server/media_plan.py), so the SFU
forwards that screen and no other, whatever any browser sends on its screen m-line. When the
right ends (the floor moves on, the chair takes it back) or the sharer leaves, the share ends
and everyone is told (``screen-share`` with ``participantId`` null and a ``reason``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from .documents import DocumentService
from .errors import RostrumError
from .media_plan import may_present
from .meetings import LiveMeeting, MeetingService, Participant

logger = logging.getLogger(__name__)

# (meeting id, event, payload, participant ids or None for everyone)
Sink = Callable[[str, str, dict[str, Any], list[str] | None], None]


class ScreenShareService:
    def __init__(self, meetings: MeetingService, documents: DocumentService) -> None:
        self.meetings = meetings
        self.documents = documents
        self.sharers: dict[str, str] = {}  # meeting id -> participant id sharing now
        self.sink: Sink | None = None
        # told with the meeting id whenever its sharer changes (the planner re-plans)
        self.change_listeners: list[Callable[[str], None]] = []
        meetings.participants_listeners.append(self.recheck)
        meetings.media_restart_listeners.append(self._media_restarted)
        documents.presenter_listeners.append(self.recheck)

    def sharing(self, meeting_id: str) -> frozenset[str]:
        """Who shares a screen in the meeting (for the media plan's ``presenters``)."""
        sharer = self.sharers.get(meeting_id)
        return frozenset() if sharer is None else frozenset({sharer})

    def state(self, meeting_id: str) -> dict[str, Any]:
        sharer = self.sharers.get(meeting_id)
        who = self.meetings.find(meeting_id, sharer) if sharer is not None else None
        return {"participantId": sharer, "name": who.name if who is not None else None}

    async def start(self, participant: Participant) -> dict[str, Any]:
        """Share ``participant``'s screen m-line; ``forbidden`` without the presenter right."""
        if not may_present(participant.role) or \
                not (await self.documents.screen_state(participant))["mayPresent"]:
            raise RostrumError("forbidden", "only the chair, the secretariat or the delegate"
                               " the chair made presenter may share a screen")
        meeting_id = participant.meeting_id
        before = self.sharers.get(meeting_id)
        if before == participant.id:
            return self.state(meeting_id)
        self.sharers[meeting_id] = participant.id
        logger.info("[%s %s] shares a screen%s", meeting_id, participant.id,
                    f" (replacing {before})" if before else "")
        self._changed(meeting_id, "replaced" if before else None)
        return self.state(meeting_id)

    def stop(self, participant: Participant) -> None:
        """The sharer stopped (or their media connection went); anyone else: nothing."""
        if self.sharers.get(participant.meeting_id) == participant.id:
            del self.sharers[participant.meeting_id]
            self._changed(participant.meeting_id, "stopped")

    def _media_restarted(self, live: LiveMeeting) -> None:
        """The meeting's worker died: the share's connection is gone with it. It ends (the
        sharer may share again once published again)."""
        meeting_id = live.record.id
        sharer = self.sharers.pop(meeting_id, None)
        if sharer is not None:
            logger.info("[%s %s] screen share ended: media-restart", meeting_id, sharer)
            self._changed(meeting_id, "media-restart")

    def recheck(self, meeting_id: str) -> None:
        """After the participants or the presenter right changed: end a share whose sharer
        left or lost the right."""
        sharer = self.sharers.get(meeting_id)
        if sharer is None:
            return
        who = self.meetings.find(meeting_id, sharer)
        if who is None:
            reason = "left"
        elif not (may_present(who.role) and self.documents.may_present_now(who)):
            reason = "right-withdrawn"
        else:
            return
        del self.sharers[meeting_id]
        logger.info("[%s %s] screen share ended: %s", meeting_id, sharer, reason)
        self._changed(meeting_id, reason)

    def _changed(self, meeting_id: str, reason: str | None) -> None:
        for listener in self.change_listeners:
            try:
                listener(meeting_id)
            except Exception:
                logger.exception("[%s] screen share listener failed", meeting_id)
        if self.sink is not None:
            payload = {**self.state(meeting_id), "reason": reason}
            self.sink(meeting_id, "screen-share", payload, None)
