"""The speakers' list and the floor: pure rules, no I/O (after BFCP, RFC 8855).

BFCP's vocabulary maps onto a chaired meeting: a *FloorRequest* is a delegate asking for the
floor (with a kind and an optional note), *FloorRelease* is a delegate withdrawing a request or
yielding the floor, a *ChairAction* grants, denies or revokes, and the request's status is what
everyone sees. Points of order go to the head of the list (after earlier points of order);
rights of reply after points of order; interventions in order of request. The chair may
reorder freely.

Every method either changes the state and returns what happened, or raises ``FloorError``
and changes nothing.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from typing import Literal

RequestKind = Literal["intervention", "point-of-order", "right-of-reply"]
KINDS: tuple[str, ...] = ("point-of-order", "right-of-reply", "intervention")
PRIORITY = {"point-of-order": 0, "right-of-reply": 1, "intervention": 2}


class FloorError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class FloorRequest:
    id: str
    participant_id: str
    kind: str
    note: str
    language: str
    requested_at: float


@dataclass(frozen=True, slots=True)
class Grant:
    request_id: str | None
    participant_id: str
    kind: str
    language: str
    granted_at: float
    limit_s: float | None  # None: no limit

    def remaining(self, now: float) -> float | None:
        if self.limit_s is None:
            return None
        return self.limit_s - (now - self.granted_at)


@dataclass(frozen=True, slots=True)
class Ended:
    """An intervention that ended, with why: released, revoked, expired, left, replaced."""

    grant: Grant
    ended_at: float
    reason: str

    @property
    def duration_s(self) -> float:
        return max(0.0, self.ended_at - self.grant.granted_at)


@dataclass
class SpeakersList:
    default_limit_s: float | None = 180.0
    close_on_expiry: bool = False
    queue: list[FloorRequest] = field(default_factory=list)
    speaker: Grant | None = None
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))  # type: ignore[type-arg]

    # delegates

    def request(self, participant_id: str, kind: str, note: str, language: str,
                now: float) -> FloorRequest:
        if kind not in PRIORITY:
            raise FloorError("bad-request", f"unknown request kind {kind!r}")
        if any(r.participant_id == participant_id and r.kind == kind for r in self.queue):
            raise FloorError("conflict", f"you have already asked for the floor ({kind})")
        if self.speaker is not None and self.speaker.participant_id == participant_id \
                and kind == "intervention":
            raise FloorError("conflict", "you already have the floor")
        request = FloorRequest(id=f"r{next(self._ids)}", participant_id=participant_id,
                               kind=kind, note=note, language=language, requested_at=now)
        # right after the last queued request of the same or higher priority (the chair may
        # have reordered, so the queue need not be sorted by priority), else at the head
        position = 0
        for i, queued in enumerate(self.queue):
            if PRIORITY[queued.kind] <= PRIORITY[kind]:
                position = i + 1
        self.queue.insert(position, request)
        return request

    def put_back(self, participant_id: str, kind: str, note: str, language: str,
                requested_at: float, position: int) -> FloorRequest:
        """Put back a request queued before a takeover (another node had the meeting), at
        ``position`` (clamped), with its own time."""
        if kind not in PRIORITY:
            raise FloorError("bad-request", f"unknown request kind {kind!r}")
        if any(r.participant_id == participant_id and r.kind == kind for r in self.queue):
            raise FloorError("conflict", "already in the speakers' list")
        request = FloorRequest(id=f"r{next(self._ids)}", participant_id=participant_id,
                               kind=kind, note=note, language=language,
                               requested_at=requested_at)
        self.queue.insert(max(0, min(position, len(self.queue))), request)
        return request

    def withdraw(self, participant_id: str, request_id: str) -> FloorRequest:
        request = self._find(request_id)
        if request.participant_id != participant_id:
            raise FloorError("forbidden", "that request is not yours")
        self.queue.remove(request)
        return request

    def withdraw_all(self, participant_id: str) -> list[FloorRequest]:
        """A participant left: their requests go."""
        gone = [r for r in self.queue if r.participant_id == participant_id]
        self.queue = [r for r in self.queue if r.participant_id != participant_id]
        return gone

    def release(self, participant_id: str, now: float, reason: str = "released"
                ) -> Ended:
        """The speaker yields the floor (or left: reason ``left``)."""
        if self.speaker is None or self.speaker.participant_id != participant_id:
            raise FloorError("conflict", "you do not have the floor")
        ended = Ended(self.speaker, now, reason)
        self.speaker = None
        return ended

    # chair

    def grant(self, *, now: float, request_id: str | None = None,
              participant_id: str | None = None, limit_s: float | None = -1.0,
              language: str = "") -> tuple[Grant, Ended | None]:
        """Give the floor, from a request or directly to a participant. ``limit_s`` -1 means
        the meeting's default, None no limit. The current speaker's intervention ends."""
        if limit_s is not None and limit_s != -1.0 and not 5 <= limit_s <= 3600:
            raise FloorError("bad-request", "speaking time must be 5 s to 1 hour")
        limit = self.default_limit_s if limit_s == -1.0 else limit_s
        if request_id is not None:
            request = self._find(request_id)
            grant = Grant(request.id, request.participant_id, request.kind,
                          language or request.language, now, limit)
            self.queue.remove(request)
        elif participant_id is not None:
            grant = Grant(None, participant_id, "intervention", language, now, limit)
            self.queue = [r for r in self.queue
                          if not (r.participant_id == participant_id
                                  and r.kind == "intervention")]
        else:
            raise FloorError("bad-request", "grant needs a request or a participant")
        ended = Ended(self.speaker, now, "replaced") if self.speaker is not None else None
        self.speaker = grant
        return grant, ended

    def deny(self, request_id: str) -> FloorRequest:
        request = self._find(request_id)
        self.queue.remove(request)
        return request

    def revoke(self, now: float, reason: str = "revoked") -> Ended:
        if self.speaker is None:
            raise FloorError("conflict", "nobody has the floor")
        ended = Ended(self.speaker, now, reason)
        self.speaker = None
        return ended

    def reorder(self, order: list[str]) -> None:
        """The chair's new order: every queued request id exactly once."""
        if sorted(order) != sorted(r.id for r in self.queue):
            raise FloorError("conflict", "the order must name every queued request once "
                             "(the list changed meanwhile: reload it)")
        by_id = {r.id: r for r in self.queue}
        self.queue = [by_id[i] for i in order]

    def extend(self, seconds: float, now: float | None = None) -> Grant:
        if self.speaker is None:
            raise FloorError("conflict", "nobody has the floor")
        if not -3600 <= seconds <= 3600:
            raise FloorError("bad-request", "extension out of range")
        # an unlimited intervention becomes limited: the time spoken so far is not counted
        # against it, so "extend by 60 s" means 60 s from now
        if self.speaker.limit_s is None:
            spoken = 0.0 if now is None else max(0.0, now - self.speaker.granted_at)
            limit = spoken + seconds
        else:
            limit = self.speaker.limit_s + seconds
        self.speaker = replace(self.speaker, limit_s=min(max(5.0, limit), 2 * 3600.0))
        return self.speaker

    # the live state (meeting_server/live_state.py): the queue, the settings and the floor
    # given, read back after a restart and at a takeover

    def snapshot(self) -> dict[str, object]:
        following = next(self._ids)
        self._ids = itertools.count(following)
        speaker = self.speaker
        return {"queue": [{"id": r.id, "participantId": r.participant_id, "kind": r.kind,
                           "note": r.note, "language": r.language,
                           "requestedAt": r.requested_at} for r in self.queue],
                "defaultLimitS": self.default_limit_s, "closeOnExpiry": self.close_on_expiry,
                "nextId": following,
                "speaker": None if speaker is None else {
                    "requestId": speaker.request_id, "participantId": speaker.participant_id,
                    "kind": speaker.kind, "language": speaker.language,
                    "grantedAt": speaker.granted_at, "limitS": speaker.limit_s}}

    def restore(self, state: dict[str, object], present: set[str]) -> list[FloorRequest]:
        """The queue and the settings of a snapshot, but only the requests of ``present``
        participants (the others' keys expired while the server was down). The floor is
        not given back here (``give_back``). Returns what was restored."""
        queue = state.get("queue")
        restored: list[FloorRequest] = []
        for item in queue if isinstance(queue, list) else []:
            if isinstance(item, dict) and item.get("participantId") in present \
                    and item.get("kind") in PRIORITY:
                restored.append(FloorRequest(
                    id=str(item["id"]), participant_id=str(item["participantId"]),
                    kind=str(item["kind"]), note=str(item.get("note", "")),
                    language=str(item.get("language", "")),
                    requested_at=float(item.get("requestedAt", 0.0))))
        self.queue = restored
        limit = state.get("defaultLimitS")
        self.default_limit_s = float(limit) if isinstance(limit, int | float) else None
        self.close_on_expiry = bool(state.get("closeOnExpiry", False))
        following = state.get("nextId")
        if isinstance(following, int) and following > 0:
            self._ids = itertools.count(following)
        return restored

    @staticmethod
    def saved_speaker(state: dict[str, object]) -> Grant | None:
        """The floor as a snapshot had it given (None: nobody, or not readable)."""
        item = state.get("speaker")
        if not isinstance(item, dict):
            return None
        limit = item.get("limitS")
        granted = item.get("grantedAt")
        request = item.get("requestId")
        if not isinstance(item.get("participantId"), str) or item.get("kind") not in PRIORITY \
                or not isinstance(granted, int | float) \
                or not (limit is None or isinstance(limit, int | float)) \
                or not (request is None or isinstance(request, str)):
            return None
        return Grant(request, str(item["participantId"]), str(item["kind"]),
                     str(item.get("language", "")), float(granted),
                     None if limit is None else float(limit))

    def give_back(self, saved: Grant, now: float) -> Grant:
        """The floor given before an interruption (a restart, a takeover) goes on as a new
        intervention from ``now``, with the rest of its speaking time: the time since the
        first grant counts (the downtime too: the server cannot know when it died more
        closely than that), at least 5 s."""
        limit = None if saved.limit_s is None \
            else max(5.0, saved.limit_s - max(0.0, now - saved.granted_at))
        self.speaker = Grant(saved.request_id, saved.participant_id, saved.kind,
                             saved.language, now, limit)
        return self.speaker

    def position(self, participant_id: str) -> int | None:
        for i, request in enumerate(self.queue):
            if request.participant_id == participant_id:
                return i + 1
        return None

    def _find(self, request_id: str) -> FloorRequest:
        for request in self.queue:
            if request.id == request_id:
                return request
        raise FloorError("not-found", "no such request in the speakers' list")
