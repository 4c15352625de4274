"""The meeting's chat: to everyone, privately to the chair and secretariat, and a booth's
intercom (chat_rules.py has the rules). Every message is stored (chat_store.py) before it is
delivered, and delivered only to those who may read it; the history a participant gets on
joining is the same selection.

The chair (or a secretariat member with the floor rights) switches the meeting's chat off and
on and removes messages; both are stored, so a restart keeps them.

A rejoin is a new participant id, so the history is kept per person (``person_of``): the
private line's threads of the person's earlier joins and the intercoms of the booths they have
been in come back with the history.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from .chat_rules import TEAM_ROLES, Address, Author, ChatRuleError, RateLimit, address, clean
from .chat_store import ChatStore, Message
from .errors import RostrumError
from .floor import FloorService
from .interpreting import InterpretationService
from .meetings import MeetingService, Participant

logger = logging.getLogger(__name__)

HISTORY = 200

Sink = Callable[[str, str, dict[str, Any], "list[str] | None"], None]


def _rule(exc: ChatRuleError) -> RostrumError:
    return RostrumError(exc.code, exc.message)


class ChatService:
    def __init__(self, meetings: MeetingService, floor: FloorService,
                 interpreting: InterpretationService, store: ChatStore,
                 clock: Callable[[], float] = time.time) -> None:
        self.meetings = meetings
        self.floor = floor
        self.interpreting = interpreting
        self.store = store
        self.clock = clock
        self.sink: Sink | None = None
        self.limits: dict[str, RateLimit] = {}  # participant id -> their rate limit
        self.public: dict[str, bool] = {}  # meeting id -> public chat on (read from the store)
        self.people: dict[str, str] = {}  # participant id -> person key ('' : none)
        self.booth_people: set[tuple[str, str, str]] = set()  # (meeting, person, booth) stored
        self._tasks: set[asyncio.Task[None]] = set()
        meetings.leave_listeners.append(self._participant_left)
        interpreting.change_listeners.append(self._booths_changed)

    def _emit(self, meeting_id: str, event: str, payload: dict[str, Any],
              to: list[str] | None) -> None:
        if self.sink is not None:
            try:
                self.sink(meeting_id, event, payload, to)
            except Exception:
                logger.exception("[%s] chat sink failed", meeting_id)

    def booth_of(self, meeting_id: str, participant_id: str) -> str | None:
        interp = self.interpreting.meetings_state.get(meeting_id)
        booth = interp.state.booth_of(participant_id) if interp is not None else None
        return booth.language if booth is not None else None

    def _author(self, p: Participant) -> Author:
        return Author(p.id, p.name, p.role, p.member_state,
                      self.booth_of(p.meeting_id, p.id) if p.role == "interpreter" else None)

    def may_moderate(self, p: Participant) -> bool:
        return self.floor.may_manage(p)

    async def public_enabled(self, meeting_id: str) -> bool:
        enabled = self.public.get(meeting_id)
        if enabled is None:
            enabled = self.public[meeting_id] = await self.store.public_enabled(meeting_id)
        return enabled

    def readers(self, meeting_id: str, where: Address) -> list[str] | None:
        """Who is sent a message there now (None: the whole meeting)."""
        if where.channel == "meeting":
            return None
        live = self.meetings.live.get(meeting_id)
        people = list(live.participants.values()) if live else []
        if where.channel == "secretariat":
            return [p.id for p in people if p.role in TEAM_ROLES or p.id == where.thread]
        return [p.id for p in people if p.role == "interpreter"
                and self.booth_of(meeting_id, p.id) == where.booth]

    # the person behind a join

    async def person_of(self, p: Participant) -> str:
        """The key that ties this join to the same person's earlier ones: their personal
        invitation, or else their browser's device key with the name they joined under (a
        shared link is many people; the device key is the browser's own secret, sent only at
        connect). '' when there is neither: this join's own thread only."""
        if p.invitation and await self.store.personal_invitation(p.invitation):
            return f"invitation:{p.invitation}"
        if p.device:
            return f"device:{p.device}:{p.name.strip().casefold()}"
        return ""

    async def joined(self, p: Participant) -> None:
        """Tie the join to the person, before the history is asked for."""
        person = self.people[p.id] = await self.person_of(p)
        if person:
            await self.store.link_person(p.meeting_id, p.id, person)

    def _booths_changed(self, meeting_id: str) -> None:
        interp = self.interpreting.meetings_state.get(meeting_id)
        if interp is None:
            return
        for booth in interp.state.booths:
            for interpreter in booth.interpreter_ids:
                person = self.people.get(interpreter, "")
                key = (meeting_id, person, booth.language)
                if person and key not in self.booth_people:
                    self.booth_people.add(key)
                    task = asyncio.create_task(
                        self.store.link_booth(meeting_id, person, booth.language))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Let the booth links being written finish."""
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # actions

    async def state(self, p: Participant) -> dict[str, Any]:
        return {"publicEnabled": await self.public_enabled(p.meeting_id),
                "booth": self.booth_of(p.meeting_id, p.id) if p.role == "interpreter" else None,
                "mayModerate": self.may_moderate(p),
                "team": p.role in TEAM_ROLES}

    async def send(self, p: Participant, channel: str, text: str, to: str | None) -> Message:
        meeting_id = p.meeting_id
        live = self.meetings.live.get(meeting_id)
        present = list(live.participants) if live else []
        try:
            body = clean(text)
            where = address(self._author(p), channel, to, await self.public_enabled(meeting_id),
                            present)
            self.limits.setdefault(p.id, RateLimit()).take(self.clock())
        except ChatRuleError as exc:
            raise _rule(exc) from None
        owner = self.meetings.find(meeting_id, where.thread) if where.thread else None
        message = await self.store.add(meeting_id, self.clock(), where,
                                       owner.name if owner else "", p.id, p.name, p.role,
                                       p.member_state, body)
        self._emit(meeting_id, "chat", message.to_json(), self.readers(meeting_id, where))
        return message

    async def history(self, p: Participant) -> list[Message]:
        if self._tasks:  # booth links on their way
            await asyncio.gather(*self._tasks, return_exceptions=True)
        return await self.store.history(
            p.meeting_id, team=p.role in TEAM_ROLES, participant_id=p.id,
            booth=self.booth_of(p.meeting_id, p.id) if p.role == "interpreter" else None,
            limit=HISTORY, person=self.people.get(p.id, ""))

    async def own_ids(self, p: Participant) -> list[str]:
        """This join's participant id and the person's earlier ones (their own messages in the
        history, from before a rejoin)."""
        earlier = await self.store.person_ids(p.meeting_id, self.people.get(p.id, ""))
        return [p.id, *sorted(set(earlier) - {p.id})]

    async def remove(self, p: Participant, message_id: int) -> None:
        if not self.may_moderate(p):
            raise RostrumError("forbidden", "the chair removes chat messages")
        message = await self.store.get(p.meeting_id, message_id)
        if message is None or message.removed_at is not None:
            raise RostrumError("not-found", "no such message")
        if message.channel == "booth":
            raise RostrumError("forbidden", "a booth's intercom is the interpreters' own")
        await self.store.remove(p.meeting_id, message_id, self.clock(), p.id)
        logger.info("[%s %s] removed chat message %d", p.meeting_id, p.id, message_id)
        self._emit(p.meeting_id, "chat-removed", {"id": message_id},
                   self.readers(p.meeting_id, message.address))

    async def set_public(self, p: Participant, enabled: bool) -> None:
        if not self.may_moderate(p):
            raise RostrumError("forbidden", "the chair switches the meeting's chat on and off")
        await self.store.set_public_enabled(p.meeting_id, enabled, self.clock(), p.id)
        self.public[p.meeting_id] = enabled
        self._emit(p.meeting_id, "chat-settings", {"publicEnabled": enabled}, None)

    async def _participant_left(self, p: Participant, reason: str) -> None:
        self.limits.pop(p.id, None)
        self.people.pop(p.id, None)
