"""The live state of a meeting: what the chair, the secretariat and the delegates made of it,
in one record in SQLite, written as it changes and read back both by a node that restarts
and by a node that takes a meeting over from a dead owner (docs/architecture.md, "Live
state").

The record (table ``live_state``, one JSON row per live meeting) holds:

- ``floor`` (FloorService.snapshot): the speakers' list in its order with its settings and
  the next request id, the floor given (who, kind, language, since when, speaking time) and
  its floor log grant id, the chair's mutes, the secretariat's floor rights, the lock;
- ``booths``: each interpreter's booth;
- ``people``: the person behind each queued request (``who``), and ``pending``: the requests
  of a takeover whose person has not come back yet, in their places.

Participants themselves (id, name, role, invitation) are their resume keys (store.py
``resume_keys``), and the document screen with its presenter right is the documents' own row
(documents/records.py); all three are in the same file, so a node that shares the file reads
them all. A restart or a takeover puts everything back for the participants who may resume
(their key is still good): their requests in their places, their mutes and rights, their
booths, and the floor if one of them held it. The floor log stays the authority of what
happened: the store's repair ended the intervention in progress (``server-restart`` or
``owner-lost``), and the floor given back starts again as a new intervention (a new grant id,
note ``resumed after ...``), so there is no hole and no entry twice. The lock and the
speakers' list settings come back even when nobody may resume (when the meeting goes live
again). At a takeover, a person who joins afresh instead of resuming (a page that lost its
key, or no resume grace) gets their request back in its place, found by ``who``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from .documents import DocumentService
from .errors import RostrumError
from .floor import FloorService
from .interpreting import InterpretationService
from .meetings import LiveMeeting, MeetingService, Participant
from .speakers_list import PRIORITY
from .store import Store

logger = logging.getLogger(__name__)

SERVER_RESTART = "server-restart"
OWNER_LOST = "owner-lost"  # the repair of a takeover (meeting_server/cluster.py)


def who(participant: Participant) -> str:
    """The person behind a participant, the same on every node and across a fresh join:
    the browser's device key when it sent one, else role, name, organization, member state."""
    if participant.device:
        return f"device:{participant.device}"
    return "|".join(("person", participant.role, participant.name, participant.organization,
                     participant.member_state))


@dataclass(frozen=True, slots=True)
class PendingRequest:
    """A request queued before a takeover whose person has not come back yet: ``place`` is
    its index in the list as it was saved."""

    place: int
    who: str
    kind: str
    note: str
    language: str
    requested_at: float

    def to_json(self) -> dict[str, Any]:
        return {"place": self.place, "who": self.who, "kind": self.kind, "note": self.note,
                "language": self.language, "requestedAt": self.requested_at}

    @staticmethod
    def parse(item: Any) -> PendingRequest:
        if not isinstance(item, dict) or set(item) != {"place", "who", "kind", "note",
                                                       "language", "requestedAt"}:
            raise ValueError("a pending request is {place, who, kind, note, language,"
                             " requestedAt}")
        if not all(isinstance(item[k], str) for k in ("who", "kind", "note", "language")) \
                or item["kind"] not in PRIORITY or type(item["place"]) is not int \
                or item["place"] < 0 or type(item["requestedAt"]) not in (int, float):
            raise ValueError("a pending request has the wrong types")
        return PendingRequest(item["place"], item["who"], item["kind"], item["note"],
                              item["language"], float(item["requestedAt"]))


@dataclass(frozen=True, slots=True)
class LiveStateRecord:
    floor: dict[str, Any]
    booths: dict[str, str]
    people: dict[str, str]
    pending: tuple[PendingRequest, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"floor": self.floor, "booths": self.booths, "people": self.people,
                "pending": [p.to_json() for p in self.pending]}

    @staticmethod
    def parse(data: Any) -> LiveStateRecord:
        """A record as saved; ValueError when it is not one (nothing of it is used)."""
        if not isinstance(data, dict) or set(data) != {"floor", "booths", "people",
                                                       "pending"}:
            raise ValueError("a live state record is {floor, booths, people, pending}")
        floor, booths, people, pending = (data["floor"], data["booths"], data["people"],
                                          data["pending"])
        if not isinstance(floor, dict) or not isinstance(floor.get("speakers"), dict):
            raise ValueError("the record's floor is a snapshot of the floor")
        for name, mapping in (("booths", booths), ("people", people)):
            if not isinstance(mapping, dict) or not all(
                    isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
                raise ValueError(f"the record's {name} map ids to strings")
        if not isinstance(pending, list):
            raise ValueError("the record's pending requests are a list")
        return LiveStateRecord(floor, booths, people,
                               tuple(PendingRequest.parse(p) for p in pending))


class LiveState:
    """Keeps every live meeting's record up to date (one write per burst of changes: a
    change of the floor, the booths or the participants; never per packet or level) and
    puts a meeting back from it after a restart (`after_restart`) or at a takeover
    (`take_over`, a MeetingOwnership takeover step)."""

    def __init__(self, store: Store, meetings: MeetingService, floor: FloorService,
                 interpreting: InterpretationService, documents: DocumentService) -> None:
        self.store, self.meetings, self.floor = store, meetings, floor
        self.interpreting, self.documents = interpreting, documents
        # meeting -> requests of a takeover whose person is not back yet
        self.pending: dict[str, list[PendingRequest]] = {}
        # meeting -> request id -> its index in the saved list (restored requests)
        self.places: dict[str, dict[str, int]] = {}
        # meeting not live (nobody may resume) -> its record, applied when it goes live
        self.waiting: dict[str, tuple[LiveStateRecord, str]] = {}
        self.frozen = False  # set at a clean stop of a node of several: the record stays
        # meetings this node lost to another (it stalled past the owner key's TTL): the new
        # owner writes their record now, this node must not write over it
        self.disowned: set[str] = set()
        self._restoring: set[str] = set()  # read back now: not written meanwhile
        self._dirty: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        floor.speaker_listeners.append(lambda meeting_id, _grant: self.changed(meeting_id))
        interpreting.change_listeners.append(self.changed)
        meetings.participants_listeners.append(self._participants_changed)
        meetings.live_listeners.append(self._meeting_live)

    def _spawn(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # saving

    def changed(self, meeting_id: str) -> None:
        if meeting_id in self._dirty or self.frozen or meeting_id in self.disowned:
            return
        self._dirty.add(meeting_id)  # one write per burst of changes
        self._spawn(self._save(meeting_id))

    def record(self, meeting_id: str) -> LiveStateRecord:
        """The meeting's live state as it stands now."""
        live = self.meetings.live.get(meeting_id)
        floor = self.floor.snapshot(meeting_id)
        people: dict[str, str] = {}
        if live is not None:
            for request in floor["speakers"]["queue"]:
                participant = live.participants.get(request["participantId"])
                if participant is not None:
                    people[participant.id] = who(participant)
        return LiveStateRecord(floor, self.interpreting.booths(meeting_id), people,
                               tuple(self.pending.get(meeting_id, ())))

    async def _save(self, meeting_id: str) -> None:
        await asyncio.sleep(0)  # after the change's other listeners
        if meeting_id in self._restoring or self.frozen or meeting_id in self.disowned:
            return  # saved once restored (the dirty mark stays until then)
        self._dirty.discard(meeting_id)
        if meeting_id in self.meetings.live:
            state: dict[str, Any] | None = self.record(meeting_id).to_json()
        elif meeting_id in self.waiting:
            return  # nobody is back yet: the record as read stays
        else:
            state = None  # the meeting emptied: its live state ends with it
        try:
            await self.store.save_live_state(meeting_id, state)
        except Exception:
            logger.exception("[%s] saving the live state failed", meeting_id)

    def lost(self, meeting_id: str) -> None:
        """A MeetingOwnership lost listener: another node owns the meeting now."""
        self.disowned.add(meeting_id)
        logger.warning("[%s] live state: no longer written here (the meeting has another"
                       " owner)", meeting_id)

    # reading back

    async def after_restart(self) -> list[Participant]:
        """At start-up of a node alone on its SQLite file: every participant who may resume
        is back (MeetingService.restore) and every meeting's live state with them. The
        store's repair (recover_after_restart) ran before. Returns who was restored."""
        saved = await self.store.live_states()
        self._restoring.update(saved)
        try:
            restored = await self.meetings.restore()
            for meeting_id, data in saved.items():
                await self._put_back(meeting_id, data, restored, SERVER_RESTART)
        finally:
            self._restoring.difference_update(saved)
        for meeting_id in saved:
            self._dirty.discard(meeting_id)
            self.changed(meeting_id)
        return restored

    async def take_over(self, meeting_id: str) -> int:
        """A MeetingOwnership takeover step (meeting_server/cluster.py): this node claimed a
        meeting whose owner died; the claim's repair closed what the owner left open
        ``owner-lost``. The participants who may resume are back (the same ids, names,
        roles), present again in the attendance, and the meeting's live state with them.
        Returns how many participants were restored."""
        self.disowned.discard(meeting_id)
        self._restoring.add(meeting_id)
        try:
            data = await self.store.live_state(meeting_id)
            restored = await self.meetings.restore(meeting_id)
            if restored:
                await self.store.reopen_attendance([p.id for p in restored], OWNER_LOST)
            if data is not None:
                await self._put_back(meeting_id, data, restored, OWNER_LOST)
        except Exception:
            logger.exception("[%s] taking the meeting's live state over failed", meeting_id)
            return 0
        finally:
            self._restoring.discard(meeting_id)
        self._dirty.discard(meeting_id)
        self.changed(meeting_id)
        return len(restored)

    async def _put_back(self, meeting_id: str, data: dict[str, Any],
                        restored: list[Participant], reason: str) -> None:
        try:
            record = LiveStateRecord.parse(data)
        except ValueError as exc:
            logger.error("[%s] the saved live state is unreadable (%s): not restored",
                         meeting_id, exc)
            return
        meeting = await self.store.get_meeting(meeting_id)
        if meeting is None or meeting.ended_at is not None:
            return
        present = {p.id for p in restored if p.meeting_id == meeting_id}
        if meeting_id not in self.meetings.live:
            # nobody may resume: the meeting's own decisions (the lock, the list's settings,
            # a takeover's requests by person) wait for it to go live again
            self.waiting[meeting_id] = (record, reason)
            return
        grant = self._apply(meeting_id, record, present, reason)
        booths = self.interpreting.restore(
            meeting_id, {p: b for p, b in record.booths.items() if p in present})
        await self.floor.reopen(meeting_id, grant, reason)
        await self.documents.restore_screen(meeting_id,
                                            grant.participant_id if grant else None)
        logger.warning("[%s] live state restored after %s: %d participant(s), %d request(s)"
                       " queued, floor %s, %d muted, %d in booths, locked %s", meeting_id,
                       reason, len(present), len(self.floor.floor(meeting_id).speakers.queue),
                       grant.participant_id if grant else "not given",
                       len(self.floor.floor(meeting_id).muted), booths,
                       self.meetings.live[meeting_id].locked)

    def _apply(self, meeting_id: str, record: LiveStateRecord, present: set[str],
               reason: str) -> Any:
        """The floor's part, at once (no await); at a takeover, the requests of people not
        back yet wait for them by person."""
        grant = self.floor.restore(meeting_id, record.floor, present)
        if reason == OWNER_LOST:
            pending = list(record.pending)
            queue = record.floor["speakers"].get("queue")
            places = self.places.setdefault(meeting_id, {})
            for place, item in enumerate(queue if isinstance(queue, list) else []):
                if not isinstance(item, dict):
                    continue
                if item.get("participantId") in present:
                    places[str(item.get("id"))] = place
                    continue
                person = record.people.get(str(item.get("participantId")))
                if person is None or item.get("kind") not in PRIORITY:
                    continue
                pending.append(PendingRequest(
                    place, person, str(item["kind"]), str(item.get("note", "")),
                    str(item.get("language", "")), float(item.get("requestedAt", 0.0))))
            if pending:
                self.pending[meeting_id] = sorted(pending, key=lambda p: p.place)
        return grant

    def _meeting_live(self, live: LiveMeeting) -> None:
        """A meeting that went live with a record waiting (nobody could resume): its lock and
        settings at once, before the join that opened it is accepted."""
        meeting_id = live.record.id
        waiting = self.waiting.pop(meeting_id, None)
        if waiting is None:
            return
        record, reason = waiting
        grant = self._apply(meeting_id, record, set(), reason)
        self._spawn(self.floor.reopen(meeting_id, grant, reason))
        self._spawn(self.documents.restore_screen(meeting_id, None))

    # a takeover's requests, as their people join again

    def _participants_changed(self, meeting_id: str) -> None:
        if meeting_id not in self.meetings.live:
            self.pending.pop(meeting_id, None)
            self.places.pop(meeting_id, None)
            if meeting_id in self.disowned:
                self.disowned.discard(meeting_id)
                return  # emptied here: the record is the new owner's
        elif self.pending.get(meeting_id):
            self._spawn(self._restore_pending(meeting_id))
        self.changed(meeting_id)

    async def _restore_pending(self, meeting_id: str) -> None:
        live = self.meetings.live.get(meeting_id)
        if live is None:
            return
        people = {who(p): p for p in live.participants.values()}
        for saved in list(self.pending.get(meeting_id, [])):
            participant = people.get(saved.who)
            pending = self.pending.get(meeting_id, [])
            if participant is None or saved not in pending:
                continue
            pending.remove(saved)
            # right after the last queued request that came before it in the saved list
            places = self.places.setdefault(meeting_id, {})
            queue = self.floor.floor(meeting_id).speakers.queue
            position = max((i + 1 for i, r in enumerate(queue)
                            if places.get(r.id, saved.place) < saved.place), default=0)
            try:
                request_id = await self.floor.restore_request(
                    participant, saved.kind, saved.note, saved.language, saved.requested_at,
                    position)
            except RostrumError as exc:
                logger.info("[%s %s] a saved request not restored: %s", meeting_id,
                            participant.id, exc.message)
            else:
                places[request_id] = saved.place
                logger.info("[%s %s] request restored at position %d", meeting_id,
                            participant.id, position + 1)

    async def close(self) -> None:
        """After the meetings closed: their last writes (each one statement) finish."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


__all__ = ["LiveState", "LiveStateRecord", "PendingRequest", "who"]
