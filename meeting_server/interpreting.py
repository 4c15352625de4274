"""Simultaneous interpretation in a live meeting: booths, handover, relay, listeners' channels.

The rules are pure (``interpretation/``); this service checks who may do what and keeps one
``Interpretation`` per meeting. Its feeds reach the SFU through the media plan: after every
change the planner (``change_listeners``) recomputes the meeting's plan, which the router
applies by switching consumer sources (no renegotiation). The floor speaker and their
declared language come from the floor service.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from interpretation import FLOOR, Interpretation, InterpretationError, ListenerSettings
from sfu.commands import CommandError, Listen

from .errors import RostrumError
from .floor import FloorService
from .meetings import LiveMeeting, MeetingService, Participant
from .speakers_list import Grant

logger = logging.getLogger(__name__)

BOOTH_MANAGERS = frozenset({"chair", "secretariat"})

Sink = Callable[[str, str, dict[str, Any], "list[str] | None"], None]


class InterpretationService:
    def __init__(self, meetings: MeetingService, floor: FloorService) -> None:
        self.meetings = meetings
        self.floor = floor
        self.meetings_state: dict[str, Interpretation] = {}
        self.listening: dict[str, ListenerSettings] = {}  # participant id -> choice
        self.sink: Sink | None = None
        # told (meeting id) after every change of a meeting's booths, feeds or floor
        self.change_listeners: list[Callable[[str], None]] = []
        meetings.live_listeners.append(self._meeting_live)
        meetings.leave_listeners.append(self._participant_left)
        floor.speaker_listeners.append(self._floor_changed)

    # wiring

    def _meeting_live(self, live: LiveMeeting) -> None:
        meeting_id = live.record.id
        try:
            self.meetings_state[meeting_id] = Interpretation(
                live.record.languages, meeting_id=meeting_id,
                on_change=lambda before, after: self._apply(meeting_id))
        except InterpretationError:
            logger.exception("[%s] bad language list %s", meeting_id, live.record.languages)
            self.meetings_state[meeting_id] = Interpretation(meeting_id=meeting_id)

    def state_of(self, meeting_id: str) -> Interpretation:
        state = self.meetings_state.get(meeting_id)
        if state is None:
            raise RostrumError("not-found", "the meeting is not live")
        return state

    def _emit(self, meeting_id: str, event: str, payload: dict[str, Any],
              to: list[str] | None = None) -> None:
        if self.sink is not None:
            try:
                self.sink(meeting_id, event, payload, to)
            except Exception:
                logger.exception("[%s] interpretation sink failed", meeting_id)

    def _apply(self, meeting_id: str) -> None:
        """The media plan follows the change (what feeds each channel, what each
        interpreter hears); everyone is told the booths' state."""
        interp = self.meetings_state.get(meeting_id)
        live = self.meetings.live.get(meeting_id)
        if interp is None or live is None:
            return
        for listener in self.change_listeners:
            try:
                listener(meeting_id)
            except Exception:
                logger.exception("[%s] interpretation change listener failed", meeting_id)
        self._emit(meeting_id, "interpretation", self.public_state(meeting_id))

    def _listen(self, live: LiveMeeting, participant_id: str, channel: str) -> None:
        future = live.router.submit(Listen(participant_id, channel))  # sent now, in order
        # a refusal: not subscribed yet, applied when they subscribe (see subscribed())
        future.add_done_callback(lambda f: f.cancelled() or f.exception())

    def subscribed(self, participant: Participant) -> None:
        """The participant's subscribe connection exists: apply their channel choice (an
        interpreter in a booth hears what the media plan says, whatever they chose)."""
        live = self.meetings.live.get(participant.meeting_id)
        interp = self.meetings_state.get(participant.meeting_id)
        if live is None or interp is None:
            return
        settings = self.listening.get(participant.id)
        self._listen(live, participant.id, settings.channel if settings else FLOOR)

    def _floor_changed(self, meeting_id: str, speaker: Grant | None) -> None:
        interp = self.meetings_state.get(meeting_id)
        if interp is None:
            return
        pid = speaker.participant_id if speaker else None
        language = (speaker.language or None) if speaker else None
        try:
            if (interp.floor.speaker, interp.floor.language) != (pid, language):
                interp.set_floor(pid, language)
        except InterpretationError:
            interp.set_floor(pid, None)  # an undeclared or odd language: just the speaker

    async def _participant_left(self, participant: Participant, reason: str) -> None:
        self.listening.pop(participant.id, None)
        interp = self.meetings_state.get(participant.meeting_id)
        if interp is not None:
            interp.remove_participant(participant.id)
            live = self.meetings.live.get(participant.meeting_id)
            if live is not None and len(live.participants) <= 1:
                self.meetings_state.pop(participant.meeting_id, None)

    # state

    def public_state(self, meeting_id: str) -> dict[str, Any]:
        interp = self.state_of(meeting_id)
        return {
            "channels": list(interp.channels),
            "feeds": {ch: f.to_dict() for ch, f in interp.feeds().items()},
            "booths": [dict(b) for b in interp.booth_status()],
            "floor": {"participantId": interp.floor.speaker,
                      "language": interp.floor.language},
            "warnings": [{"language": w.language, "code": str(w.code)}
                         for w in interp.warnings()],
        }

    # actions

    def _run(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except InterpretationError as exc:
            raise RostrumError(exc.code, exc.message) from None

    def _require(self, participant: Participant, roles: frozenset[str], what: str) -> None:
        if participant.role not in roles:
            raise RostrumError("forbidden", what)

    def assign(self, actor: Participant, interpreter_id: str, language: str | None) -> None:
        self._require(actor, BOOTH_MANAGERS, "the secretariat assigns interpreters to booths")
        interp = self.state_of(actor.meeting_id)
        target = self.meetings.find(actor.meeting_id, interpreter_id)
        if target is None:
            raise RostrumError("not-found", "that participant is not in the meeting")
        if target.role != "interpreter":
            raise RostrumError("bad-request", "only an interpreter goes into a booth")
        if language is None:
            self._run(lambda: interp.unassign(interpreter_id))
        else:
            self._run(lambda: interp.assign(interpreter_id, language))

    # the live state (meeting_server/live_state.py): the booth assignments are saved as they
    # change and read back after a restart and at a takeover

    def booths(self, meeting_id: str) -> dict[str, str]:
        """Each assigned interpreter's booth: participant id -> language."""
        interp = self.meetings_state.get(meeting_id)
        if interp is None:
            return {}
        return {pid: booth.language for booth in interp.state.booths
                for pid in booth.interpreter_ids}

    def restore(self, meeting_id: str, booths: dict[str, str]) -> int:
        """The restored interpreters (in the meeting for a resume) are in their booths
        again, off air: nobody is live until they resume and go live (their microphone's
        connection ended with the server). Returns how many were put back."""
        interp = self.meetings_state.get(meeting_id)
        if interp is None:
            return 0
        count = 0
        for participant_id, language in booths.items():
            participant = self.meetings.find(meeting_id, participant_id)
            if participant is None or participant.role != "interpreter":
                continue
            try:
                interp.assign(participant_id, language)
                count += 1
            except InterpretationError as exc:
                logger.warning("[%s %s] booth %s not restored: %s", meeting_id,
                               participant_id, language, exc.message)
        return count

    def interpreter_action(self, actor: Participant, action: str, **kwargs: Any) -> None:
        self._require(actor, frozenset({"interpreter"}), "only an interpreter does that")
        interp = self.state_of(actor.meeting_id)
        ops: dict[str, Callable[[], Any]] = {
            "live": lambda: interp.go_live(actor.id),
            "off": lambda: interp.go_off(actor.id),
            "handover-request": lambda: interp.request_handover(actor.id, kwargs.get("to")),
            "handover-accept": lambda: interp.accept_handover(actor.id),
            "handover-cancel": lambda: interp.cancel_handover(actor.id),
            "take-over": lambda: interp.take_over(actor.id),
            "cough-on": lambda: interp.cough_on(actor.id),
            "cough-off": lambda: interp.cough_off(actor.id),
            "mic-open": lambda: interp.report_mic_open(actor.id, bool(kwargs.get("open"))),
            "incoming": lambda: interp.set_incoming(actor.id, str(kwargs.get("source"))),
        }
        self._run(ops[action])

    async def listen(self, participant: Participant, channel: str, floor_under: float
                     ) -> dict[str, Any]:
        interp = self.state_of(participant.meeting_id)
        settings = self._run(lambda: ListenerSettings.for_meeting(interp.languages, channel,
                                                                  floor_under))
        if participant.role == "interpreter" and interp.booth_of(participant.id):
            raise RostrumError("conflict", "an interpreter in a booth chooses 'incoming'")
        self.listening[participant.id] = settings
        live = self.meetings.live[participant.meeting_id]
        try:
            await live.router.execute(Listen(participant.id, settings.channel))
        except CommandError as exc:
            raise RostrumError(exc.code, exc.message) from None
        feed = interp.feeds()[settings.channel]
        return {"channel": settings.channel, "floorUnder": settings.floor_under,
                "feed": feed.to_dict(), "original": feed.original}

    def slow_down(self, actor: Participant) -> list[str]:
        """An interpreter asks the floor speaker to slow down: shown to them and the chair."""
        self._require(actor, frozenset({"interpreter"}), "only an interpreter asks that")
        interp = self.state_of(actor.meeting_id)
        booth = interp.booth_of(actor.id)
        live = self.meetings.live[actor.meeting_id]
        to = [p.id for p in live.participants.values() if self.floor.may_manage(p)]
        if interp.floor.speaker:
            to.append(interp.floor.speaker)
        self._emit(actor.meeting_id, "slow-down", {"from": booth or "", "name": actor.name},
                   to)
        return to
