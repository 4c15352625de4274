"""`/floor`: the speakers' list, chair controls and the show of hands (docs/protocol.md)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ..errors import RostrumError, ok
from ..floor import FloorService
from ..meetings import MeetingService, Participant
from ..schemas import (
    DenyPayload,
    Empty,
    ExtendPayload,
    FloorRequestPayload,
    FloorSettingsPayload,
    GrantPayload,
    HandsAnswerPayload,
    HandsOpenPayload,
    LockPayload,
    MutePayload,
    ParticipantPayload,
    QuestionPayload,
    ReorderPayload,
    RequestIdPayload,
    RightsPayload,
    parse,
)
from .base import MeetingNamespace, participant_room

logger = logging.getLogger(__name__)


class FloorNamespace(MeetingNamespace):
    def __init__(self, meetings: MeetingService, floor: FloorService) -> None:
        super().__init__("/floor", meetings)
        self.floor = floor
        floor.sink = self.sink






    async def on_state(self, sid: str, data: Any) -> dict[str, Any]:
        parse(Empty, data)
        me = self.me(sid)
        return ok(state=self.floor.state(me.meeting_id), mayManage=self.floor.may_manage(me))

    # delegates

    async def on_request(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(FloorRequestPayload, data)
        return ok(request=await self.floor.request(self.me(sid), p.kind, p.note, p.language))

    async def on_withdraw(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(RequestIdPayload, data)
        await self.floor.withdraw(self.me(sid), p.requestId)
        return ok()

    async def on_release(self, sid: str, data: Any) -> dict[str, Any]:
        parse(Empty, data)
        await self.floor.release(self.me(sid))
        return ok()

    # the chair

    async def on_grant(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(GrantPayload, data)
        if (p.requestId is None) == (p.participantId is None):
            raise RostrumError("bad-request", "grant takes a requestId or a participantId")
        limit: float | None = -1.0 if p.limitS is None else (p.limitS or None)
        speaker = await self.floor.grant(self.me(sid), request_id=p.requestId,
                                         participant_id=p.participantId, limit_s=limit,
                                         language=p.language)
        return ok(speaker=speaker)

    async def on_deny(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(DenyPayload, data)
        await self.floor.deny(self.me(sid), p.requestId, p.reason)
        return ok()

    async def on_revoke(self, sid: str, data: Any) -> dict[str, Any]:
        parse(Empty, data)
        await self.floor.revoke(self.me(sid))
        return ok()

    async def on_reorder(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(ReorderPayload, data)
        await self.floor.reorder(self.me(sid), list(p.order))
        return ok()

    async def on_extend(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(ExtendPayload, data)
        await self.floor.extend(self.me(sid), p.seconds)
        return ok()

    async def on_settings(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(FloorSettingsPayload, data)
        await self.floor.settings(self.me(sid), p.defaultLimitS, p.closeOnExpiry)
        return ok()

    async def on_mute(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(MutePayload, data)
        await self.floor.mute(self.me(sid), p.participantId, p.muted)
        return ok()

    async def on_mute_all(self, sid: str, data: Any) -> dict[str, Any]:
        parse(Empty, data)
        return ok(muted=await self.floor.mute_all(self.me(sid)))

    async def on_rights(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(RightsPayload, data)
        await self.floor.set_rights(self.me(sid), p.participantId, p.enabled)
        return ok()

    async def on_lock(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(LockPayload, data)
        await self.floor.lock(self.me(sid), p.locked)
        return ok()

    async def on_remove(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(ParticipantPayload, data)
        target = await self.floor.remove(self.me(sid), p.participantId)
        await self.emit("removed", {"reason": "removed by the chair"},
                        room=participant_room(target.id))
        await self._disconnect(target, "removed")
        return ok()

    async def on_end_meeting(self, sid: str, data: Any) -> dict[str, Any]:
        parse(Empty, data)
        me = self.me(sid)
        await self.floor.end_meeting(me)
        await self.emit("meeting-ended", {"by": me.name}, room=me.meeting_id)
        live = self.meetings.live.get(me.meeting_id)
        for participant in list(live.participants.values()) if live else []:
            if participant.id != me.id:
                await self._disconnect(participant, "meeting-end")
        self._spawn_later(self._disconnect(me, "meeting-end"))
        return ok()

    def _spawn_later(self, coro: Any) -> None:
        async def later() -> None:
            await asyncio.sleep(0.2)  # let the ack reach the chair first
            await coro
        task = asyncio.ensure_future(later())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _disconnect(self, participant: Participant, reason: str) -> None:
        await self.meetings.leave(participant.session, reason)
        try:
            await self.server.eio.disconnect(participant.session)
        except Exception:
            logger.debug("disconnecting %s failed", participant.id, exc_info=True)

    # show of hands

    async def on_hands_open(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(HandsOpenPayload, data)
        return ok(question=await self.floor.hands_open(self.me(sid), p.text, p.mode))

    async def on_hands_answer(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(HandsAnswerPayload, data)
        return ok(totals=await self.floor.hands_answer(self.me(sid), p.questionId, p.answer))

    async def on_hands_close(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(QuestionPayload, data)
        return ok(question=await self.floor.hands_close(self.me(sid), p.questionId))

