"""`/documents`: the shared document screen (docs/protocol.md, "Documents").

The presenter shows a document page, highlights a passage or points; everyone in the meeting
gets ``screen``. A connection that joins gets the current screen at once (a late joiner lands
on the page being shown). ``register`` tells everyone the register changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import ConfigDict, Field

from ..errors import ok
from ..schemas import Empty, Payload, parse
from .base import MeetingNamespace

if TYPE_CHECKING:
    from ..documents import DocumentService
    from ..floor import FloorService
    from ..meetings import MeetingService, Participant


class StrictPayload(Payload):
    """No type coercion: ``"2"`` is not a page number."""

    model_config = ConfigDict(strict=True)

class ShowPayload(StrictPayload):
    documentId: str = Field(min_length=16, max_length=16, pattern=r"^[0-9a-f]+$")
    versionId: str | None = Field(default=None, min_length=16, max_length=16,
                                  pattern=r"^[0-9a-f]+$")
    language: str | None = Field(default=None, min_length=2, max_length=2, pattern=r"^[a-z]{2}$")
    page: int = Field(default=1, ge=1, le=10000)


class BoxPayload(StrictPayload):
    x: float = Field(ge=0, le=1)
    y: float = Field(ge=0, le=1)
    w: float = Field(ge=0, le=1)
    h: float = Field(ge=0, le=1)


class HighlightPayload(StrictPayload):
    page: int = Field(ge=1, le=10000)
    boxes: list[BoxPayload] = Field(max_length=32)


class PointPayload(StrictPayload):
    x: float | None = Field(default=None, ge=0, le=1)
    y: float | None = Field(default=None, ge=0, le=1)


class GivePayload(StrictPayload):
    participantId: str | None = Field(default=None, max_length=64)


class DocumentsNamespace(MeetingNamespace):
    def __init__(self, meetings: MeetingService, documents: DocumentService,
                 floor: FloorService) -> None:
        super().__init__("/documents", meetings)
        self.documents = documents
        self.floor = floor
        documents.sink = self.sink

    async def attach(self, sid: str, participant: Participant) -> None:
        await super().attach(sid, participant)
        await self.emit("screen", await self.documents.screen_state(participant), to=sid)

    async def on_state(self, sid: str, data: Any) -> dict[str, Any]:
        parse(Empty, data)
        return ok(screen=await self.documents.screen_state(self.me(sid)))

    async def on_show(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(ShowPayload, data)
        screen = await self.documents.show(self.me(sid), p.documentId, p.versionId,
                                           p.language, p.page)
        return ok(screen=screen.to_json())

    async def on_highlight(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(HighlightPayload, data)
        screen = await self.documents.highlight(self.me(sid), p.page,
                                                [(b.x, b.y, b.w, b.h) for b in p.boxes])
        return ok(screen=screen.to_json())

    async def on_point(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(PointPayload, data)
        at = None if p.x is None or p.y is None else (p.x, p.y)
        screen = await self.documents.point(self.me(sid), at)
        return ok(seq=screen.seq)

    async def on_give(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(GivePayload, data)
        me = self.me(sid)
        floor = self.floor.floors.get(me.meeting_id)
        speaker = floor.speakers.speaker if floor is not None else None
        screen = await self.documents.give(me, p.participantId,
                                           None if speaker is None else speaker.participant_id)
        return ok(screen=screen.to_json())
