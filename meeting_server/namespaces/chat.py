"""`/chat`: the meeting's chat, the private line to the chair and secretariat, the booth
intercom (docs/protocol.md)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ..chat import ChatService
from ..errors import ok
from ..meetings import MeetingService, Participant
from ..schemas import Empty, Payload, parse
from .base import MeetingNamespace


class SendPayload(Payload):
    channel: Literal["meeting", "secretariat", "booth"] = "meeting"
    # the service cleans the text and answers too-large over 1000 characters
    text: str = Field(max_length=4000)
    to: str | None = Field(default=None, max_length=64)


class RemovePayload(Payload):
    id: int = Field(ge=1)


class ChatSettingsPayload(Payload):
    publicEnabled: bool


class ChatNamespace(MeetingNamespace):
    def __init__(self, meetings: MeetingService, chat: ChatService) -> None:
        super().__init__("/chat", meetings)
        self.chat = chat
        chat.sink = self.sink

    async def attach_session(self, session: str, participant: Participant) -> None:
        """On join: tie it to the person (their earlier joins' private lines), then rooms."""
        await self.chat.joined(participant)
        await super().attach_session(session, participant)

    async def on_state(self, sid: str, data: Any) -> dict[str, Any]:
        parse(Empty, data)
        return ok(**await self.chat.state(self.me(sid)))

    async def on_history(self, sid: str, data: Any) -> dict[str, Any]:
        parse(Empty, data)
        me = self.me(sid)
        return ok(messages=[m.to_json() for m in await self.chat.history(me)],
                  selfIds=await self.chat.own_ids(me), **await self.chat.state(me))

    async def on_send(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(SendPayload, data)
        message = await self.chat.send(self.me(sid), p.channel, p.text, p.to)
        return ok(message=message.to_json())

    async def on_remove(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(RemovePayload, data)
        await self.chat.remove(self.me(sid), p.id)
        return ok()

    async def on_settings(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(ChatSettingsPayload, data)
        await self.chat.set_public(self.me(sid), p.publicEnabled)
        return ok()
