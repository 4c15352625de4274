"""Floor control for a chaired meeting: the speakers' list, speaking time, chair controls, the
floor log, the show of hands, and who the media plane lets be heard.

One ``asyncio.Lock`` per meeting makes every action atomic, including its log write: two
chairs acting at once are applied one after the other, and the second sees the first's result.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import RostrumError
from .hands import HandsError, Question
from .media_plan import ALWAYS_HEARD, FloorRules
from .media_plan import heard as heard_on_the_floor
from .meetings import MeetingService, Participant
from .speakers_list import Ended, FloorError, Grant, SpeakersList
from .store import Store

logger = logging.getLogger(__name__)

MANAGING_ROLES = frozenset({"chair"})
REQUESTING_ROLES = frozenset({"delegate", "secretariat", "chair"})

Sink = Callable[[str, str, dict[str, Any], "list[str] | None"], None]


@dataclass
class MeetingFloor:
    meeting_id: str
    speakers: SpeakersList = field(default_factory=SpeakersList)
    muted: set[str] = field(default_factory=set)
    managers: set[str] = field(default_factory=set)  # secretariat given the floor rights
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    timer: asyncio.TimerHandle | None = None
    question: Question | None = None
    grant_ids: dict[int, str] = field(default_factory=dict)


class FloorService:
    def __init__(self, meetings: MeetingService, store: Store,
                 clock: Callable[[], float] = time.time) -> None:
        self.meetings = meetings
        self.store = store
        self.clock = clock
        self.floors: dict[str, MeetingFloor] = {}
        self.sink: Sink | None = None
        # told (meeting id, speaker grant or None) after every change; the media planner
        # is one of them (it recomputes who is heard)
        self.speaker_listeners: list[Callable[[str, Grant | None], None]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._seq = itertools.count(1)
        meetings.leave_listeners.append(self.participant_left)

    # wiring

    def floor(self, meeting_id: str) -> MeetingFloor:
        floor = self.floors.get(meeting_id)
        if floor is None:
            floor = self.floors[meeting_id] = MeetingFloor(meeting_id)
        return floor

    def current_speaker(self, meeting_id: str) -> Grant | None:
        """Who holds the floor now (None: nobody). Read only."""
        floor = self.floors.get(meeting_id)
        return floor.speakers.speaker if floor is not None else None

    def _emit(self, meeting_id: str, event: str, payload: dict[str, Any],
              to: list[str] | None = None) -> None:
        if self.sink is not None:
            try:
                self.sink(meeting_id, event, payload, to)
            except Exception:
                logger.exception("[%s] floor sink failed", meeting_id)

    def _changed(self, meeting_id: str) -> None:
        floor = self.floors.get(meeting_id)
        speaker = floor.speakers.speaker if floor is not None else None
        for listener in self.speaker_listeners:
            try:
                listener(meeting_id, speaker)
            except Exception:
                logger.exception("[%s] speaker listener failed", meeting_id)
        self._emit(meeting_id, "floor", self.state(meeting_id))

    # rules

    def rules(self, meeting_id: str) -> FloorRules:
        """The floor's part of the media plan (meeting_server/media_plan.py)."""
        floor = self.floors.get(meeting_id)
        live = self.meetings.live.get(meeting_id)
        speaker = floor.speakers.speaker if floor is not None else None
        return FloorRules(mode=live.record.floor_mode if live is not None else "chaired",
                          speaker=speaker.participant_id if speaker is not None else None,
                          muted=frozenset(floor.muted) if floor is not None else frozenset())

    def heard(self, meeting_id: str, participant_id: str) -> bool:
        """May this participant's microphone be forwarded now (media_plan.heard)?"""
        participant = self.meetings.find(meeting_id, participant_id)
        if participant is None:
            return False
        return heard_on_the_floor(participant_id, participant.role, self.rules(meeting_id))

    def may_manage(self, participant: Participant) -> bool:
        floor = self.floors.get(participant.meeting_id)
        return participant.role in MANAGING_ROLES or (
            participant.role == "secretariat" and floor is not None
            and participant.id in floor.managers)

    def _require_manager(self, participant: Participant) -> None:
        if not self.may_manage(participant):
            raise RostrumError("forbidden", "only the chair (or the secretariat, when the "
                               "chair allows it) manages the floor")

    def _participant(self, meeting_id: str, participant_id: str) -> Participant:
        participant = self.meetings.find(meeting_id, participant_id)
        if participant is None:
            raise RostrumError("not-found", "that participant is not in the meeting")
        return participant

    # state shown to everyone

    def state(self, meeting_id: str) -> dict[str, Any]:
        floor = self.floor(meeting_id)
        now = self.clock()
        speaker = floor.speakers.speaker
        live = self.meetings.live.get(meeting_id)
        return {
            "serverTime": now,
            "defaultLimitS": floor.speakers.default_limit_s,
            "closeOnExpiry": floor.speakers.close_on_expiry,
            "locked": bool(live and live.locked),
            "muted": sorted(floor.muted),
            "managers": sorted(floor.managers),
            "speaker": None if speaker is None else self._grant_json(meeting_id, speaker, now),
            "queue": [
                {"id": r.id, "participantId": r.participant_id, "kind": r.kind, "note": r.note,
                 "language": r.language, "requestedAt": r.requested_at,
                 "name": self._name(meeting_id, r.participant_id), "position": i + 1}
                for i, r in enumerate(floor.speakers.queue)],
            "question": floor.question.to_json() if floor.question else None,
        }

    def _grant_json(self, meeting_id: str, grant: Grant, now: float) -> dict[str, Any]:
        return {"participantId": grant.participant_id, "kind": grant.kind,
                "language": grant.language, "grantedAt": grant.granted_at,
                "limitS": grant.limit_s, "remainingS": grant.remaining(now),
                "name": self._name(meeting_id, grant.participant_id)}

    def _name(self, meeting_id: str, participant_id: str) -> str:
        p = self.meetings.find(meeting_id, participant_id)
        return p.name if p else ""

    # logging

    async def _log(self, meeting_id: str, event: str, participant: Participant | None = None,
                   **fields: Any) -> None:
        if participant is not None:
            fields.setdefault("participant_id", participant.id)
            fields.setdefault("name", participant.name)
            fields.setdefault("organization", participant.organization)
            fields.setdefault("member_state", participant.member_state)
        await self.store.log_floor(meeting_id, event, **fields)

    async def _log_start(self, meeting_id: str, grant: Grant, actor: Participant) -> None:
        floor = self.floor(meeting_id)
        grant_id = f"g{next(self._seq)}-{int(grant.granted_at * 1000)}"
        floor.grant_ids[id(grant)] = grant_id
        await self._log(meeting_id, "intervention-start",
                        self.meetings.find(meeting_id, grant.participant_id),
                        participant_id=grant.participant_id, kind=grant.kind,
                        language=grant.language, grant_id=grant_id, actor_id=actor.id,
                        at=grant.granted_at)

    async def _log_end(self, meeting_id: str, ended: Ended, actor_id: str = "") -> None:
        floor = self.floor(meeting_id)
        grant = ended.grant
        grant_id = floor.grant_ids.pop(id(grant), "")
        participant = self.meetings.find(meeting_id, grant.participant_id)
        await self._log(meeting_id, "intervention-end", participant,
                        participant_id=grant.participant_id, kind=grant.kind,
                        language=grant.language, grant_id=grant_id,
                        duration_s=round(ended.duration_s, 3), reason=ended.reason,
                        actor_id=actor_id, at=ended.ended_at)

    # timers

    def _schedule_expiry(self, meeting_id: str) -> None:
        floor = self.floor(meeting_id)
        if floor.timer is not None:
            floor.timer.cancel()
            floor.timer = None
        grant = floor.speakers.speaker
        if grant is None or grant.limit_s is None:
            return
        remaining = max(0.0, grant.remaining(self.clock()) or 0.0)
        floor.timer = asyncio.get_running_loop().call_later(
            remaining, lambda: self._spawn(self._expired(meeting_id, grant)))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _expired(self, meeting_id: str, grant: Grant) -> None:
        floor = self.floor(meeting_id)
        async with floor.lock:
            floor.timer = None
            speaker = floor.speakers.speaker
            if speaker is None or speaker.participant_id != grant.participant_id \
                    or speaker.granted_at != grant.granted_at:
                return
            participant = self.meetings.find(meeting_id, grant.participant_id)
            await self._log(meeting_id, "time-expired", participant,
                            participant_id=grant.participant_id)
            managers = self._managers(meeting_id)
            self._emit(meeting_id, "floor-expired",
                       {"participantId": grant.participant_id,
                        "name": participant.name if participant else "",
                        "closed": floor.speakers.close_on_expiry}, managers)
            if floor.speakers.close_on_expiry:
                ended = floor.speakers.revoke(self.clock(), "expired")
                await self._log_end(meeting_id, ended)
            self._changed(meeting_id)

    def _managers(self, meeting_id: str) -> list[str]:
        live = self.meetings.live.get(meeting_id)
        if live is None:
            return []
        return [p.id for p in live.participants.values() if self.may_manage(p)]

    # delegates' actions

    async def request(self, participant: Participant, kind: str, note: str,
                      language: str) -> dict[str, Any]:
        if participant.role not in REQUESTING_ROLES:
            raise RostrumError("forbidden", f"a {participant.role} does not take the floor")
        floor = self.floor(participant.meeting_id)
        async with floor.lock:
            try:
                request = floor.speakers.request(participant.id, kind, note,
                                                 language or participant.language, self.clock())
            except FloorError as exc:
                raise RostrumError(exc.code, exc.message) from None
            await self._log(participant.meeting_id, "request", participant, kind=kind,
                            note=note, language=request.language)
            self._changed(participant.meeting_id)
            return {"id": request.id,
                    "position": floor.speakers.position(participant.id)}

    async def restore_request(self, participant: Participant, kind: str, note: str,
                              language: str, requested_at: float, position: int) -> str:
        """Put back a request another node had queued (meeting_server/live_state.py: a
        takeover, its person joined again) at ``position``, with its time; not logged again
        (the floor log has it). Returns the request's new id."""
        floor = self.floor(participant.meeting_id)
        async with floor.lock:
            try:
                request = floor.speakers.put_back(participant.id, kind, note, language,
                                                 requested_at, position)
            except FloorError as exc:
                raise RostrumError(exc.code, exc.message) from None
            self._changed(participant.meeting_id)
            return request.id

    async def withdraw(self, participant: Participant, request_id: str) -> None:
        if participant.role not in REQUESTING_ROLES:
            raise RostrumError("forbidden", f"a {participant.role} does not take the floor")
        floor = self.floor(participant.meeting_id)
        async with floor.lock:
            try:
                request = floor.speakers.withdraw(participant.id, request_id)
            except FloorError as exc:
                raise RostrumError(exc.code, exc.message) from None
            await self._log(participant.meeting_id, "withdraw", participant, kind=request.kind)
            self._changed(participant.meeting_id)

    async def release(self, participant: Participant) -> None:
        if participant.role not in REQUESTING_ROLES:
            raise RostrumError("forbidden", f"a {participant.role} does not take the floor")
        floor = self.floor(participant.meeting_id)
        async with floor.lock:
            try:
                ended = floor.speakers.release(participant.id, self.clock())
            except FloorError as exc:
                raise RostrumError(exc.code, exc.message) from None
            await self._log_end(participant.meeting_id, ended, participant.id)
            self._schedule_expiry(participant.meeting_id)
            self._changed(participant.meeting_id)

    # the chair's actions

    async def grant(self, actor: Participant, *, request_id: str | None,
                    participant_id: str | None, limit_s: float | None,
                    language: str) -> dict[str, Any]:
        self._require_manager(actor)
        meeting_id = actor.meeting_id
        floor = self.floor(meeting_id)
        async with floor.lock:
            if participant_id is not None:
                target = self._participant(meeting_id, participant_id)
                if target.role not in REQUESTING_ROLES:
                    raise RostrumError("forbidden", f"a {target.role} cannot take the floor")
                language = language or target.language
            if request_id is not None:
                queued = next((r for r in floor.speakers.queue if r.id == request_id), None)
                if queued is not None and self.meetings.find(meeting_id,
                                                             queued.participant_id) is None:
                    floor.speakers.deny(request_id)
                    raise RostrumError("not-found", "that delegate has left the meeting")
            try:
                grant, ended = floor.speakers.grant(
                    now=self.clock(), request_id=request_id, participant_id=participant_id,
                    limit_s=limit_s, language=language)
            except FloorError as exc:
                raise RostrumError(exc.code, exc.message) from None
            if ended is not None:
                await self._log_end(meeting_id, ended, actor.id)
            await self._log_start(meeting_id, grant, actor)
            self._schedule_expiry(meeting_id)
            self._changed(meeting_id)
            return self._grant_json(meeting_id, grant, self.clock())

    async def deny(self, actor: Participant, request_id: str, reason: str) -> None:
        self._require_manager(actor)
        floor = self.floor(actor.meeting_id)
        async with floor.lock:
            try:
                request = floor.speakers.deny(request_id)
            except FloorError as exc:
                raise RostrumError(exc.code, exc.message) from None
            await self._log(actor.meeting_id, "deny",
                            self.meetings.find(actor.meeting_id, request.participant_id),
                            participant_id=request.participant_id, kind=request.kind,
                            reason=reason, actor_id=actor.id)
            self._changed(actor.meeting_id)

    async def revoke(self, actor: Participant) -> None:
        self._require_manager(actor)
        floor = self.floor(actor.meeting_id)
        async with floor.lock:
            try:
                ended = floor.speakers.revoke(self.clock())
            except FloorError as exc:
                raise RostrumError(exc.code, exc.message) from None
            await self._log_end(actor.meeting_id, ended, actor.id)
            self._schedule_expiry(actor.meeting_id)
            self._changed(actor.meeting_id)

    async def reorder(self, actor: Participant, order: list[str]) -> None:
        self._require_manager(actor)
        floor = self.floor(actor.meeting_id)
        async with floor.lock:
            try:
                floor.speakers.reorder(order)
            except FloorError as exc:
                raise RostrumError(exc.code, exc.message) from None
            self._changed(actor.meeting_id)

    async def extend(self, actor: Participant, seconds: float) -> None:
        self._require_manager(actor)
        floor = self.floor(actor.meeting_id)
        async with floor.lock:
            before = floor.speakers.speaker
            try:
                floor.speakers.extend(seconds, self.clock())
            except FloorError as exc:
                raise RostrumError(exc.code, exc.message) from None
            # the same intervention, a new Grant value: its floor log id follows it
            grant_id = floor.grant_ids.pop(id(before), None)
            if grant_id is not None:
                floor.grant_ids[id(floor.speakers.speaker)] = grant_id
            self._schedule_expiry(actor.meeting_id)
            self._changed(actor.meeting_id)

    async def settings(self, actor: Participant, default_limit_s: float | None,
                       close_on_expiry: bool | None) -> None:
        self._require_manager(actor)
        floor = self.floor(actor.meeting_id)
        async with floor.lock:
            if default_limit_s is not None:
                if not (default_limit_s == 0 or 5 <= default_limit_s <= 3600):
                    raise RostrumError("bad-request", "speaking time: 0 (none) or 5 s to 1 h")
                floor.speakers.default_limit_s = default_limit_s or None
            if close_on_expiry is not None:
                floor.speakers.close_on_expiry = close_on_expiry
            self._changed(actor.meeting_id)

    async def mute(self, actor: Participant, participant_id: str, muted: bool) -> None:
        self._require_manager(actor)
        floor = self.floor(actor.meeting_id)
        async with floor.lock:
            target = self._participant(actor.meeting_id, participant_id)
            if target.role in ALWAYS_HEARD and muted:
                raise RostrumError("forbidden", "the chair cannot be muted")
            (floor.muted.add if muted else floor.muted.discard)(participant_id)
            await self._log(actor.meeting_id, "mute" if muted else "unmute", target,
                            actor_id=actor.id)
            self._changed(actor.meeting_id)

    async def mute_all(self, actor: Participant) -> int:
        """Mute everyone but the floor holder and the chair."""
        self._require_manager(actor)
        meeting_id = actor.meeting_id
        floor = self.floor(meeting_id)
        async with floor.lock:
            speaker = floor.speakers.speaker
            live = self.meetings.live[meeting_id]
            targets = [p for p in live.participants.values()
                       if p.role not in ALWAYS_HEARD
                       and (speaker is None or p.id != speaker.participant_id)]
            floor.muted.update(p.id for p in targets)
            await self._log(meeting_id, "mute-all", None, actor_id=actor.id,
                            note=f"{len(targets)} muted")
            self._changed(meeting_id)
            return len(targets)

    async def set_rights(self, actor: Participant, participant_id: str, enabled: bool) -> None:
        if actor.role != "chair":
            raise RostrumError("forbidden", "only the chair delegates the floor rights")
        floor = self.floor(actor.meeting_id)
        async with floor.lock:
            target = self._participant(actor.meeting_id, participant_id)
            if target.role != "secretariat":
                raise RostrumError("bad-request", "floor rights go to the secretariat")
            (floor.managers.add if enabled else floor.managers.discard)(participant_id)
            await self._log(actor.meeting_id, "rights-given" if enabled else "rights-taken",
                            target, actor_id=actor.id)
            self._changed(actor.meeting_id)

    async def lock(self, actor: Participant, locked: bool) -> None:
        self._require_manager(actor)
        floor = self.floor(actor.meeting_id)
        async with floor.lock:
            self.meetings.live[actor.meeting_id].locked = locked
            await self._log(actor.meeting_id, "lock" if locked else "unlock", None,
                            actor_id=actor.id)
            self._changed(actor.meeting_id)

    async def remove(self, actor: Participant, participant_id: str) -> Participant:
        self._require_manager(actor)
        target = self._participant(actor.meeting_id, participant_id)
        if target.role == "chair" or target.id == actor.id:
            raise RostrumError("forbidden", "the chair cannot be removed")
        await self._log(actor.meeting_id, "remove", target, actor_id=actor.id)
        return target

    async def end_meeting(self, actor: Participant) -> None:
        if actor.role != "chair":
            raise RostrumError("forbidden", "only the chair ends the meeting")
        floor = self.floor(actor.meeting_id)
        async with floor.lock:
            now = self.clock()
            if floor.speakers.speaker is not None:
                await self._log_end(actor.meeting_id, floor.speakers.revoke(now, "meeting-end"),
                                    actor.id)
            await self._log(actor.meeting_id, "meeting-end", None, actor_id=actor.id, at=now)
            await self.store.end_meeting(actor.meeting_id, now)
            if floor.timer is not None:
                floor.timer.cancel()

    # show of hands

    async def hands_open(self, actor: Participant, text: str, mode: str) -> dict[str, Any]:
        self._require_manager(actor)
        floor = self.floor(actor.meeting_id)
        async with floor.lock:
            if floor.question is not None and floor.question.open:
                raise RostrumError("conflict", "close the open question first")
            question = Question(id=f"q{next(self._seq)}-{int(self.clock())}", text=text,
                                mode=mode, opened_at=self.clock())
            await self.store.open_question(question.id, actor.meeting_id, text, mode,
                                           question.opened_at)
            floor.question = question
            self._changed(actor.meeting_id)
            return question.to_json()

    async def hands_answer(self, participant: Participant, question_id: str,
                           answer: str) -> dict[str, int]:
        if participant.role not in ("delegate",):
            raise RostrumError("forbidden", "delegates answer a show of hands")
        floor = self.floor(participant.meeting_id)
        async with floor.lock:
            question = floor.question
            if question is None or question.id != question_id:
                raise RostrumError("not-found", "no such question")
            try:
                key = question.answer(participant.id, participant.member_state, answer)
            except HandsError as exc:
                raise RostrumError(exc.code, exc.message) from None
            await self.store.record_answer(question.id, key, participant.id, answer,
                                           self.clock())
            self._emit(participant.meeting_id, "hands-results",
                       question.to_json(with_answers=True),
                       self._managers(participant.meeting_id))
            self._changed(participant.meeting_id)
            return question.totals()

    async def hands_close(self, actor: Participant, question_id: str) -> dict[str, Any]:
        self._require_manager(actor)
        floor = self.floor(actor.meeting_id)
        async with floor.lock:
            question = floor.question
            if question is None or question.id != question_id or not question.open:
                raise RostrumError("not-found", "no such open question")
            question.closed_at = self.clock()
            await self.store.close_question(question.id, question.closed_at)
            self._changed(actor.meeting_id)
            return question.to_json(with_answers=True)

    # someone left

    async def participant_left(self, participant: Participant, reason: str) -> None:
        floor = self.floors.get(participant.meeting_id)
        if floor is None:
            return
        async with floor.lock:
            now = self.clock()
            for request in floor.speakers.withdraw_all(participant.id):
                await self._log(participant.meeting_id, "withdraw", participant,
                                kind=request.kind, reason=reason)
            speaker = floor.speakers.speaker
            if speaker is not None and speaker.participant_id == participant.id:
                await self._log_end(participant.meeting_id,
                                    floor.speakers.release(participant.id, now, reason))
                self._schedule_expiry(participant.meeting_id)
            floor.muted.discard(participant.id)
            floor.managers.discard(participant.id)
        live = self.meetings.live.get(participant.meeting_id)
        others = [p for p in (live.participants.values() if live else ())
                  if p.id != participant.id]
        if not others:
            # the meeting empties: its live floor state goes (the log stays)
            if floor.timer is not None:
                floor.timer.cancel()
            self.floors.pop(participant.meeting_id, None)
            return
        self._changed(participant.meeting_id)

    # the live state (meeting_server/live_state.py): saved as it changes, read back after a
    # restart and at a takeover

    def snapshot(self, meeting_id: str) -> dict[str, Any]:
        """What the chair and the delegates made of the floor: the speakers' list with its
        settings and the floor given, the mutes, the secretariat's floor rights, the lock."""
        floor = self.floors.get(meeting_id)
        live = self.meetings.live.get(meeting_id)
        speakers = floor.speakers if floor is not None else SpeakersList()
        return {"speakers": speakers.snapshot(),
                "muted": sorted(floor.muted) if floor is not None else [],
                "managers": sorted(floor.managers) if floor is not None else [],
                "locked": bool(live and live.locked)}

    def restore(self, meeting_id: str, saved: dict[str, Any], present: set[str]
                ) -> Grant | None:
        """Put a snapshot back (no await: nothing runs in between): the lock, the settings,
        and of the ``present`` participants (restored for a resume) their requests in their
        places, their mutes and rights, and the floor if one of them held it (as a new
        intervention: `reopen`). Returns that floor, or None."""
        floor = self.floor(meeting_id)
        live = self.meetings.live.get(meeting_id)
        speakers = saved.get("speakers")
        restored: Grant | None = None
        if isinstance(speakers, dict):
            floor.speakers.restore(speakers, present)
            speaker = SpeakersList.saved_speaker(speakers)
            if speaker is not None and speaker.participant_id in present:
                restored = floor.speakers.give_back(speaker, self.clock())
        for name, ids in (("muted", floor.muted), ("managers", floor.managers)):
            values = saved.get(name)
            ids.clear()
            ids.update(v for v in (values if isinstance(values, list) else [])
                       if isinstance(v, str) and v in present)
        if live is not None:
            live.locked = saved.get("locked") is True
        return restored

    async def reopen(self, meeting_id: str, grant: Grant | None, reason: str) -> None:
        """After `restore`: the floor given before the interruption starts again in the floor
        log (its first part was ended ``reason`` by the repair of the store: no hole, no
        entry twice), its timer runs, and everyone is told the floor's state."""
        floor = self.floor(meeting_id)
        async with floor.lock:
            if grant is not None and floor.speakers.speaker is grant:
                grant_id = f"g{next(self._seq)}-{int(grant.granted_at * 1000)}"
                floor.grant_ids[id(grant)] = grant_id
                await self._log(meeting_id, "intervention-start",
                                self.meetings.find(meeting_id, grant.participant_id),
                                participant_id=grant.participant_id, kind=grant.kind,
                                language=grant.language, grant_id=grant_id,
                                note=f"resumed after {reason}", at=grant.granted_at)
                self._schedule_expiry(meeting_id)
            self._changed(meeting_id)

    async def close(self) -> None:
        for floor in self.floors.values():
            if floor.timer is not None:
                floor.timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

