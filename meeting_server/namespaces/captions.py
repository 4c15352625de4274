"""`/captions`: captioners' desks, listeners' caption language (docs/protocol.md).

A listener's caption language is a room of this namespace (``c:{meeting}:{language}``): the
interim line goes out on every keystroke, so it reaches only those reading that language.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from pydantic import Field

from ..captions import CaptionService
from ..captions_ingest import ingest_secret
from ..captions_store import CaptionStore
from ..errors import RostrumError, ok
from ..meetings import MeetingService, Participant
from ..schemas import Empty, Payload, parse
from .base import MeetingNamespace

logger = logging.getLogger(__name__)

RECENT_LINES = 30
INGEST_READERS = frozenset({"captioner", "chair", "secretariat"})
INGEST_KEEPERS = frozenset({"chair", "secretariat"})  # rotate and revoke the ingest secret


class SubscribePayload(Payload):
    language: str | None = Field(default=None, max_length=8)  # None: no captions


class ClaimPayload(Payload):
    language: str = Field(min_length=2, max_length=8,
                          pattern=r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")
    takeOver: bool = False


class LinePayload(Payload):
    # longer than a line may be, so the service answers too-large with its own message
    text: str = Field(max_length=4000)


class CorrectPayload(Payload):
    id: int = Field(ge=1)
    text: str = Field(max_length=4000)


class IngestUrlPayload(Payload):
    language: str = Field(min_length=2, max_length=8,
                          pattern=r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")


def language_room(meeting_id: str, language: str) -> str:
    return f"c:{meeting_id}:{language}"


class CaptionsNamespace(MeetingNamespace):
    def __init__(self, meetings: MeetingService, captions: CaptionService,
                 store: CaptionStore, secret: str, base_url: str) -> None:
        super().__init__("/captions", meetings)
        self.captions = captions
        self.store = store
        self.secret = secret
        self.base_url = base_url
        self.choice: dict[str, tuple[str, str]] = {}  # sid -> (meeting id, language)
        captions.sink = self._sink

    def _sink(self, meeting_id: str, language: str | None, event: str,
              payload: dict[str, Any]) -> None:
        if language is None:
            self.sink(meeting_id, event, payload, None)
            return
        self._spawn(self.emit(event, payload, room=language_room(meeting_id, language)))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        self.choice.pop(sid, None)

    async def on_state(self, sid: str, data: Any) -> dict[str, Any]:
        parse(Empty, data)
        me = self.me(sid)
        chosen = self.choice.get(sid)
        return ok(languages=list(self.captions.languages(me.meeting_id)),
                  desks=self.captions.desks(me.meeting_id),
                  language=chosen[1] if chosen else None)

    async def on_subscribe(self, sid: str, data: Any) -> dict[str, Any]:
        """Choose the caption language (null: none). Answers the language's last lines and
        the line being typed, so the display starts full."""
        p = parse(SubscribePayload, data)
        me = self.me(sid)
        if p.language is not None and p.language not in self.captions.languages(me.meeting_id):
            raise RostrumError("unknown-language",
                               f"{p.language!r} is not a language of this meeting")
        old = self.choice.pop(sid, None)
        if old is not None:
            await self.leave_room(sid, language_room(*old))
        if p.language is None:
            return ok(language=None, recent=[], interim=None)
        await self.enter_room(sid, language_room(me.meeting_id, p.language))
        self.choice[sid] = (me.meeting_id, p.language)
        recent = await self.store.recent(me.meeting_id, p.language, RECENT_LINES)
        return ok(language=p.language, recent=[c.to_json() for c in recent],
                  interim=self.captions.interim_of(me.meeting_id, p.language))

    async def on_claim(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(ClaimPayload, data)
        me = self.me(sid)
        self.captions.claim(me, p.language, p.takeOver)
        return ok(desks=self.captions.desks(me.meeting_id))

    async def on_release(self, sid: str, data: Any) -> dict[str, Any]:
        parse(Empty, data)
        self.captions.release(self.me(sid))
        return ok()

    async def on_interim(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(LinePayload, data)
        return ok(lineId=self.captions.interim(self.me(sid), p.text))

    async def on_final(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(LinePayload, data)
        caption = await self.captions.final(self.me(sid), p.text)
        return ok(caption=caption.to_json())

    async def on_correct(self, sid: str, data: Any) -> dict[str, Any]:
        p = parse(CorrectPayload, data)
        caption = await self.captions.correct(self.me(sid), p.id, p.text)
        return ok(caption=caption.to_json())

    async def on_ingest_url(self, sid: str, data: Any) -> dict[str, Any]:
        """The URL a CART program posts a language's captions to (captioner, chair,
        secretariat): it carries the secret, so it is handed only to them."""
        p = parse(IngestUrlPayload, data)
        me = self.me(sid)
        self._require_ingest_reader(me)
        if p.language not in self.captions.languages(me.meeting_id):
            raise RostrumError("unknown-language",
                               f"{p.language!r} is not a language of this meeting")
        generation, revoked = await self.store.ingest_key(me.meeting_id, p.language)
        if revoked:
            raise RostrumError("conflict", "the caption URL of this language was revoked;"
                                           " the chair or the secretariat issues a new one")
        return ok(url=self._ingest_url(me.meeting_id, p.language, generation))

    def _ingest_url(self, meeting_id: str, language: str, generation: int) -> str:
        secret = ingest_secret(self.secret, meeting_id, language, generation)
        return (f"{self.base_url}/api/captions/{meeting_id}/{language}"
                f"/closedcaption?token={secret}")

    async def _change_ingest(self, me: Participant, p: IngestUrlPayload, revoke: bool) -> int:
        if me.role not in INGEST_KEEPERS:
            raise RostrumError("forbidden", "the chair or the secretariat rotates and revokes"
                                            " caption URLs")
        if p.language not in self.captions.languages(me.meeting_id):
            raise RostrumError("unknown-language",
                               f"{p.language!r} is not a language of this meeting")
        generation = await self.store.change_ingest_key(me.meeting_id, p.language,
                                                        revoke=revoke, at=time.time(),
                                                        by=me.id)
        logger.info("[%s %s] caption URL of %s %s (generation %d)", me.meeting_id, me.id,
                    p.language, "revoked" if revoke else "rotated", generation)
        live = self.meetings.live.get(me.meeting_id)
        readers = [q.id for q in live.participants.values()
                   if q.role in INGEST_READERS] if live else []
        self.sink(me.meeting_id, "ingest-changed", {"language": p.language,
                                                    "revoked": revoke}, readers)
        return generation

    async def on_ingest_rotate(self, sid: str, data: Any) -> dict[str, Any]:
        """A new secret for a language's CART URL; the old one stops working at once."""
        p = parse(IngestUrlPayload, data)
        me = self.me(sid)
        generation = await self._change_ingest(me, p, revoke=False)
        return ok(url=self._ingest_url(me.meeting_id, p.language, generation))

    async def on_ingest_revoke(self, sid: str, data: Any) -> dict[str, Any]:
        """The language's CART URL stops working; no URL works until the next rotation."""
        p = parse(IngestUrlPayload, data)
        await self._change_ingest(self.me(sid), p, revoke=True)
        return ok()

    @staticmethod
    def _require_ingest_reader(me: Participant) -> None:
        if me.role not in INGEST_READERS:
            raise RostrumError("forbidden", "the ingest URL is for captioners, the chair"
                               " and the secretariat")
