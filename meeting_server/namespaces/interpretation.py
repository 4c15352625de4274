"""`/interpretation`: booths, the live microphone, handover, relay, listeners' channels."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from socketio.exceptions import ConnectionRefusedError

from ..errors import RostrumError, ok
from ..interpreting import InterpretationService
from ..meetings import MeetingService, Participant
from ..schemas import (
    AssignPayload,
    Empty,
    HandoverPayload,
    IncomingPayload,
    ListenPayload,
    MicOpenPayload,
    OnPayload,
    parse,
)
from .base import RostrumNamespace
from .floor import participant_room

logger = logging.getLogger(__name__)


class InterpretationNamespace(RostrumNamespace):
    def __init__(self, meetings: MeetingService, service: InterpretationService) -> None:
        super().__init__("/interpretation")
        self.meetings = meetings
        self.service = service
        self._tasks: set[asyncio.Task[Any]] = set()
        service.sink = self._sink

    def _sink(self, meeting_id: str, event: str, payload: dict[str, Any],
              to: list[str] | None) -> None:
        rooms = [meeting_id] if to is None else [participant_room(p) for p in to]
        for room in rooms:
            task = asyncio.ensure_future(self.emit(event, payload, room=room))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            await self.meetings.admit(token)
        except RostrumError as exc:
            raise ConnectionRefusedError(exc.message, {"code": exc.code}) from None
        participant = self.meetings.participant(self.session_of(sid))
        if participant is not None:
            await self.attach(sid, participant)

    async def attach(self, sid: str, participant: Participant) -> None:
        await self.enter_room(sid, participant.meeting_id)
        await self.enter_room(sid, participant_room(participant.id))

    async def attach_session(self, session: str, participant: Participant) -> None:
        sid = self.server.manager.sid_from_eio_sid(session, self.namespace)
        if sid is not None:
            await self.attach(sid, participant)

    def _me(self, sid: str) -> Participant:
        participant = self.meetings.participant(self.session_of(sid))
        if participant is None:
            raise RostrumError("not-joined", "join the meeting on /room first")
        return participant

    async def on_state(self, sid: str, data: Any) -> dict[str, Any]:
        parse(Empty, data)
        me = self._me(sid)
        interp = self.service.state_of(me.meeting_id)
        return ok(state=self.service.public_state(me.meeting_id),
                  booth=interp.booth_of(me.id))

    async def on_assign(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(AssignPayload, data)
        self.service.assign(self._me(sid), p.participantId, p.language)
        return ok()

    async def on_live(self, sid: str, data: Any) -> dict[str, Any]:
        parse(Empty, data)
        self.service.interpreter_action(self._me(sid), "live")
        return ok()

    async def on_off(self, sid: str, data: Any) -> dict[str, Any]:
        parse(Empty, data)
        self.service.interpreter_action(self._me(sid), "off")
        return ok()

    async def on_handover_request(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(HandoverPayload, data)
        self.service.interpreter_action(self._me(sid), "handover-request", to=p.to)
        return ok()

    async def on_handover_accept(self, sid: str, data: Any) -> dict[str, Any]:
        parse(Empty, data)
        self.service.interpreter_action(self._me(sid), "handover-accept")
        return ok()

    async def on_handover_cancel(self, sid: str, data: Any) -> dict[str, Any]:
        parse(Empty, data)
        self.service.interpreter_action(self._me(sid), "handover-cancel")
        return ok()

    async def on_take_over(self, sid: str, data: Any) -> dict[str, Any]:
        parse(Empty, data)
        self.service.interpreter_action(self._me(sid), "take-over")
        return ok()

    async def on_cough(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(OnPayload, data)
        self.service.interpreter_action(self._me(sid), "cough-on" if p.on else "cough-off")
        return ok()

    async def on_mic_open(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(MicOpenPayload, data)
        self.service.interpreter_action(self._me(sid), "mic-open", open=p.open)
        return ok()

    async def on_incoming(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(IncomingPayload, data)
        self.service.interpreter_action(self._me(sid), "incoming", source=p.source)
        return ok()

    async def on_listen(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(ListenPayload, data)
        return ok(**self.service.listen(self._me(sid), p.channel, p.floorUnder))

    async def on_slow_down(self, sid: str, data: Any) -> dict[str, Any]:
        parse(Empty, data)
        return ok(notified=len(self.service.slow_down(self._me(sid))))

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
