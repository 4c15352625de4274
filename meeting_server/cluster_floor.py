"""The speakers' list across a takeover (several control-plane nodes, cluster.py).

The owner writes the meeting's queue to Redis after every change of the floor:
``<cluster>:meeting:<id>:speakers`` holds a JSON list of ``{who, kind, note, language,
requestedAt}`` in the list's order. ``who`` names the person, not the connection (a
participant id does not survive a node): the browser's device key when it sent one, else
role, name, organization and member state. A node that takes the meeting over reads the list
and, as the people in it join again, puts each request back in its place (after the
requests before it that are back already, before any made since), with its original time.
The intervention in progress is not restored: the takeover ended it (``owner-lost``) and the
chair grants the floor again.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Container
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from .errors import RostrumError
from .floor import FloorService
from .meetings import MeetingService, Participant
from .speakers_list import PRIORITY

logger = logging.getLogger(__name__)

KEEP_S = 24 * 3600  # the saved list outlives a meeting's day, not more


def speakers_key(cluster: str, meeting_id: str) -> str:
    return f"{cluster}:meeting:{meeting_id}:speakers"


def who(participant: Participant) -> str:
    """The person behind a participant, the same on every node."""
    if participant.device:
        return f"device:{participant.device}"
    return "|".join(("person", participant.role, participant.name, participant.organization,
                     participant.member_state))


@dataclass(frozen=True, slots=True)
class SavedRequest:
    who: str
    kind: str
    note: str
    language: str
    requested_at: float

    def to_json(self) -> dict[str, Any]:
        return {"who": self.who, "kind": self.kind, "note": self.note,
                "language": self.language, "requestedAt": self.requested_at}

    @staticmethod
    def parse(item: Any) -> SavedRequest:
        if not isinstance(item, dict) or set(item) != {"who", "kind", "note", "language",
                                                       "requestedAt"}:
            raise ValueError("a saved request is {who, kind, note, language, requestedAt}")
        if not all(isinstance(item[k], str) for k in ("who", "kind", "note", "language")) \
                or item["kind"] not in PRIORITY \
                or type(item["requestedAt"]) not in (int, float):
            raise ValueError("a saved request has the wrong types")
        return SavedRequest(item["who"], item["kind"], item["note"], item["language"],
                            float(item["requestedAt"]))


def parse_saved(text: str | bytes) -> list[SavedRequest]:
    data = json.loads(text)
    if not isinstance(data, list):
        raise ValueError("the saved speakers' list is a JSON list")
    return [SavedRequest.parse(item) for item in data]


class SpeakersHandover:
    """Saves the owned meetings' speakers' lists; restores a taken-over one."""

    def __init__(self, client: aioredis.Redis, cluster: str, meetings: MeetingService,
                 floor: FloorService) -> None:
        self.client, self.cluster = client, cluster
        self.meetings, self.floor = meetings, floor
        self.owned: Container[str] = frozenset()  # the owner's meetings (cluster.py)
        # taken-over meeting -> saved requests not back yet, each with its place in the list
        self.pending: dict[str, list[tuple[int, SavedRequest]]] = {}
        self.restored: dict[str, dict[str, int]] = {}  # meeting -> request id -> saved place
        self._dirty: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        floor.speaker_listeners.append(self._floor_changed)
        meetings.participants_listeners.append(self._participants_changed)

    def _spawn(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # the owner: save after every change

    def _floor_changed(self, meeting_id: str, _speaker: object) -> None:
        if meeting_id not in self.owned or meeting_id in self._dirty:
            return
        self._dirty.add(meeting_id)  # one write per burst of changes
        self._spawn(self._save(meeting_id))

    def saved_list(self, meeting_id: str) -> list[SavedRequest]:
        """The queue as it stands, and the requests of a takeover not back yet (in their
        places), so a save by the new owner keeps them."""
        live = self.meetings.live.get(meeting_id)
        floor = self.floor.floors.get(meeting_id)
        out: list[SavedRequest] = []
        if live is not None and floor is not None:
            for request in floor.speakers.queue:
                participant = live.participants.get(request.participant_id)
                if participant is not None:
                    out.append(SavedRequest(who(participant), request.kind, request.note,
                                            request.language, request.requested_at))
        for place, saved in self.pending.get(meeting_id, []):
            out.insert(min(place, len(out)), saved)
        return out

    async def _save(self, meeting_id: str) -> None:
        await asyncio.sleep(0)  # after the change's other listeners
        self._dirty.discard(meeting_id)
        body = json.dumps([r.to_json() for r in self.saved_list(meeting_id)],
                          separators=(",", ":"))
        try:
            await self.client.set(speakers_key(self.cluster, meeting_id), body,
                                  ex=KEEP_S)
        except (RedisError, OSError) as exc:
            logger.error("[%s] cluster: saving the speakers' list failed: %s", meeting_id,
                         exc)

    # the node that took the meeting over: restore as people come back

    async def load(self, meeting_id: str) -> int:
        """At a takeover: read the saved list; its requests come back as people join."""
        value = await self.client.get(speakers_key(self.cluster, meeting_id))
        if value is None:
            return 0
        try:
            saved = parse_saved(value)
        except ValueError as exc:
            logger.error("[%s] cluster: the saved speakers' list is unreadable (%s): "
                         "dropped", meeting_id, exc)
            return 0
        self.pending[meeting_id] = list(enumerate(saved))
        self.restored[meeting_id] = {}
        return len(saved)

    def _participants_changed(self, meeting_id: str) -> None:
        if self.pending.get(meeting_id):
            self._spawn(self._restore(meeting_id))
        elif meeting_id not in self.meetings.live:
            self.pending.pop(meeting_id, None)
            self.restored.pop(meeting_id, None)

    async def _restore(self, meeting_id: str) -> None:
        live = self.meetings.live.get(meeting_id)
        floor = self.floor.floors.get(meeting_id) or self.floor.floor(meeting_id)
        if live is None:
            return
        people = {who(p): p for p in live.participants.values()}
        for place, saved in list(self.pending.get(meeting_id, [])):
            participant = people.get(saved.who)
            if participant is None:
                continue
            restored = self.restored.setdefault(meeting_id, {})
            queued = {r.id for r in floor.speakers.queue}
            # after the restored requests that came before it, before everything else
            position = sum(1 for request_id, p in restored.items()
                           if p < place and request_id in queued)
            try:
                request_id = await self.floor.restore_request(
                    participant, saved.kind, saved.note, saved.language, saved.requested_at,
                    position)
            except RostrumError as exc:
                logger.info("[%s] cluster: a saved request of %s not restored: %s",
                            meeting_id, participant.id, exc.message)
            else:
                restored[request_id] = place
                logger.info("[%s %s] cluster: request restored at position %d", meeting_id,
                            participant.id, position + 1)
            pending = self.pending.get(meeting_id, [])
            if (place, saved) in pending:
                pending.remove((place, saved))

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


__all__ = ["SavedRequest", "SpeakersHandover", "parse_saved", "speakers_key", "who"]
