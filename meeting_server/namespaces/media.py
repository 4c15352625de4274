"""`/media`: WebRTC signaling for the publish and subscribe connections (docs/protocol.md)."""

from __future__ import annotations

import logging
from typing import Any

from ..errors import RostrumError, ok
from ..media import MediaService
from ..meetings import MeetingService
from ..schemas import (
    Empty,
    PinPayload,
    PublishPayload,
    ScreenSharePayload,
    SubscribeAnswerPayload,
    VideoPayload,
    parse,
)
from ..screenshare import ScreenShareService
from .base import MeetingNamespace

logger = logging.getLogger(__name__)


class MediaNamespace(MeetingNamespace):
    def __init__(self, meetings: MeetingService, media: MediaService,
                 screens: ScreenShareService | None = None) -> None:
        super().__init__("/media", meetings)
        self.media = media
        self.screens = screens
        media.slots_sink = self._send_slots
        media.uplink_sink = self._send_uplink
        media.restart_sink = self._send_restart
        if screens is not None:
            screens.sink = self.sink

    def _send_slots(self, participant_id: str, slots: list[dict[str, Any]]) -> None:
        self.sink("", "slots", {"slots": slots}, [participant_id])

    def _send_uplink(self, participant_id: str, payload: dict[str, Any]) -> None:
        self.sink("", "uplink", payload, [participant_id])

    def _send_restart(self, meeting_id: str, payload: dict[str, Any],
                      to: list[str] | None) -> None:
        self.sink(meeting_id, "media-restart", payload, to)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        participant = self.meetings.participant(self.session_of(sid))
        if participant is not None:  # the media connection went, the participant stays
            if self.screens is not None:
                self.screens.stop(participant)
            await self.media.drop(participant)

    async def on_publish(self, sid: str, data: Any) -> dict[str, Any]:
        payload = parse(PublishPayload, data)
        answer = await self.media.publish(self.me(sid), payload.sdp,
                                          dict(payload.sources))
        return ok(sdp=answer)

    async def on_unpublish(self, sid: str, data: Any) -> dict[str, Any]:
        parse(Empty, data)
        me = self.me(sid)
        if self.screens is not None:
            self.screens.stop(me)
        await self.media.unpublish(me)
        return ok()

    async def on_screen_share(self, sid: str, data: Any) -> dict[str, Any]:
        """Start or stop forwarding the own screen m-line (meeting_server/screenshare.py)."""
        payload = parse(ScreenSharePayload, data)
        me = self.me(sid)
        if self.screens is None:
            raise RostrumError("forbidden", "screen sharing is not offered here")
        if payload.sharing:
            return ok(**await self.screens.start(me))
        self.screens.stop(me)
        return ok(**self.screens.state(me.meeting_id))

    async def on_subscribe(self, sid: str, data: Any) -> dict[str, Any]:
        parse(Empty, data)
        sdp, slots = await self.media.subscribe(self.me(sid))
        return ok(sdp=sdp, slots=slots)

    async def on_subscribe_answer(self, sid: str, data: Any) -> dict[str, Any]:
        payload = parse(SubscribeAnswerPayload, data)
        slots = await self.media.accept_answer(self.me(sid), payload.sdp)
        return ok(slots=slots)

    async def on_video(self, sid: str, data: Any) -> dict[str, Any]:
        payload = parse(VideoPayload, data)
        await self.media.set_video(self.me(sid), payload.enabled)
        return ok()

    async def on_pin(self, sid: str, data: Any) -> dict[str, Any]:
        payload = parse(PinPayload, data)
        await self.media.pin(self.me(sid), payload.participantId)
        return ok()

