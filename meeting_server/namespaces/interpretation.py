"""`/interpretation`: booths, the live microphone, handover, relay, listeners' channels."""

from __future__ import annotations

import logging
from typing import Any

from ..errors import ok
from ..interpreting import InterpretationService
from ..meetings import MeetingService
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
from .base import MeetingNamespace

logger = logging.getLogger(__name__)


class InterpretationNamespace(MeetingNamespace):
    def __init__(self, meetings: MeetingService, service: InterpretationService) -> None:
        super().__init__("/interpretation", meetings)
        self.service = service
        service.sink = self.sink






    async def on_state(self, sid: str, data: Any) -> dict[str, Any]:
        parse(Empty, data)
        me = self.me(sid)
        interp = self.service.state_of(me.meeting_id)
        return ok(state=self.service.public_state(me.meeting_id),
                  booth=interp.booth_of(me.id))

    async def on_assign(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(AssignPayload, data)
        self.service.assign(self.me(sid), p.participantId, p.language)
        return ok()

    async def on_live(self, sid: str, data: Any) -> dict[str, Any]:
        parse(Empty, data)
        self.service.interpreter_action(self.me(sid), "live")
        return ok()

    async def on_off(self, sid: str, data: Any) -> dict[str, Any]:
        parse(Empty, data)
        self.service.interpreter_action(self.me(sid), "off")
        return ok()

    async def on_handover_request(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(HandoverPayload, data)
        self.service.interpreter_action(self.me(sid), "handover-request", to=p.to)
        return ok()

    async def on_handover_accept(self, sid: str, data: Any) -> dict[str, Any]:
        parse(Empty, data)
        self.service.interpreter_action(self.me(sid), "handover-accept")
        return ok()

    async def on_handover_cancel(self, sid: str, data: Any) -> dict[str, Any]:
        parse(Empty, data)
        self.service.interpreter_action(self.me(sid), "handover-cancel")
        return ok()

    async def on_take_over(self, sid: str, data: Any) -> dict[str, Any]:
        parse(Empty, data)
        self.service.interpreter_action(self.me(sid), "take-over")
        return ok()

    async def on_cough(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(OnPayload, data)
        self.service.interpreter_action(self.me(sid), "cough-on" if p.on else "cough-off")
        return ok()

    async def on_mic_open(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(MicOpenPayload, data)
        self.service.interpreter_action(self.me(sid), "mic-open", open=p.open)
        return ok()

    async def on_incoming(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(IncomingPayload, data)
        self.service.interpreter_action(self.me(sid), "incoming", source=p.source)
        return ok()

    async def on_listen(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(ListenPayload, data)
        return ok(**await self.service.listen(self.me(sid), p.channel, p.floorUnder))

    async def on_slow_down(self, sid: str, data: Any) -> dict[str, Any]:
        parse(Empty, data)
        return ok(notified=len(self.service.slow_down(self.me(sid))))

