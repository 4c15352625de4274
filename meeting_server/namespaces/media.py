"""`/media`: WebRTC signaling for the publish and subscribe connections (docs/protocol.md)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from socketio.exceptions import ConnectionRefusedError

from ..errors import RostrumError, ok
from ..media import MediaService
from ..meetings import MeetingService, Participant
from ..schemas import (
    Empty,
    PinPayload,
    PublishPayload,
    SubscribeAnswerPayload,
    VideoPayload,
    parse,
)
from .base import RostrumNamespace

logger = logging.getLogger(__name__)


class MediaNamespace(RostrumNamespace):
    def __init__(self, meetings: MeetingService, media: MediaService) -> None:
        super().__init__("/media")
        self.meetings = meetings
        self.media = media
        self.sids: dict[str, str] = {}  # participant id -> this namespace's sid
        self._tasks: set[asyncio.Task[Any]] = set()
        media.slots_sink = self._send_slots

    def _send_slots(self, participant_id: str, slots: list[dict[str, Any]]) -> None:
        sid = self.sids.get(participant_id)
        if sid is not None:
            task = asyncio.ensure_future(self.emit("slots", {"slots": slots}, to=sid))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _participant(self, sid: str) -> Participant:
        participant = self.meetings.participant(self.session_of(sid))
        if participant is None:
            raise RostrumError("not-joined", "join the meeting on /room first")
        self.sids[participant.id] = sid
        return participant

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            await self.meetings.admit(token)
        except RostrumError as exc:
            raise ConnectionRefusedError(exc.message, {"code": exc.code}) from None

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        for pid, known in list(self.sids.items()):
            if known == sid:
                del self.sids[pid]
                participant = self.meetings.participant(self.session_of(sid))
                if participant is not None:
                    await self.media.drop(participant)

    async def on_publish(self, sid: str, data: Any) -> dict[str, Any]:
        payload = parse(PublishPayload, data)
        answer = await self.media.publish(self._participant(sid), payload.sdp,
                                          dict(payload.sources))
        return ok(sdp=answer)

    async def on_unpublish(self, sid: str, data: Any) -> dict[str, Any]:
        parse(Empty, data)
        await self.media.unpublish(self._participant(sid))
        return ok()

    async def on_subscribe(self, sid: str, data: Any) -> dict[str, Any]:
        parse(Empty, data)
        sdp, slots = await self.media.subscribe(self._participant(sid))
        return ok(sdp=sdp, slots=slots)

    async def on_subscribe_answer(self, sid: str, data: Any) -> dict[str, Any]:
        payload = parse(SubscribeAnswerPayload, data)
        slots = await self.media.accept_answer(self._participant(sid), payload.sdp)
        return ok(slots=slots)

    async def on_video(self, sid: str, data: Any) -> dict[str, Any]:
        payload = parse(VideoPayload, data)
        self.media.set_video(self._participant(sid), payload.enabled)
        return ok()

    async def on_pin(self, sid: str, data: Any) -> dict[str, Any]:
        payload = parse(PinPayload, data)
        self.media.pin(self._participant(sid), payload.participantId)
        return ok()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
