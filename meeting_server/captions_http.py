"""HTTP caption ingest, Zoom's closed-caption API as a CART program speaks it
(captions_ingest.py has the rules; docs/protocol.md, "Caption ingest").

    POST /api/captions/{meeting}/{language}/closedcaption?token=SECRET&seq=N&lang=fr-FR
         body: the caption, text/plain UTF-8
    GET  /api/captions/{meeting}/{language}/closedcaption/seq?token=SECRET
         answers the last accepted seq as plain text ("0" before the first post)

The secret is of the URL's current generation (the chair or secretariat rotate or revoke it
on /captions); an older or revoked one answers 403 saying so.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .captions import CaptionService
from .captions_ingest import (
    MAX_BODY_BYTES,
    IngestError,
    caption_text,
    check_lang,
    check_secret,
    parse_seq,
)
from .captions_store import CaptionStore
from .config import Config
from .store import Store


def add_routes(app: web.Application, config_key: Any, store_key: Any, captions_key: Any,
               caption_store_key: Any) -> None:
    async def check(request: web.Request) -> tuple[str, str]:
        meeting_id = request.match_info["meeting_id"]
        language = request.match_info["language"]
        config: Config = request.app[config_key]
        captions: CaptionStore = request.app[caption_store_key]
        generation, revoked = await captions.ingest_key(meeting_id, language)
        check_secret(config.secret, meeting_id, language, request.query.get("token", ""),
                     generation, revoked)
        store: Store = request.app[store_key]
        record = await store.get_meeting(meeting_id)
        if record is None:
            raise IngestError(404, "no such meeting")
        if language not in record.languages:
            raise IngestError(404, f"{language!r} is not a language of this meeting")
        if record.ended_at is not None:
            raise IngestError(400, "the meeting has ended")
        return meeting_id, language

    def fail(exc: IngestError) -> web.Response:
        return web.Response(status=exc.status, text=exc.message + "\n",
                            content_type="text/plain")

    async def post(request: web.Request) -> web.Response:
        try:
            meeting_id, language = await check(request)
            seq = parse_seq(request.query.get("seq"))
            check_lang(request.query.get("lang"), language)
            content_type = request.content_type
            if content_type == "application/x-www-form-urlencoded":
                raise IngestError(400, "the body is the caption as plain text, not a form")
            if (request.content_length or 0) > MAX_BODY_BYTES:
                raise IngestError(413, f"caption body is over {MAX_BODY_BYTES} bytes")
            text = caption_text(await request.read())
        except IngestError as exc:
            return fail(exc)
        captions: CaptionService = request.app[captions_key]
        decision, _ = await captions.ingest(meeting_id, language, seq, text)
        headers = {"X-Caption-Seq": decision.kind}
        if decision.gap:
            headers["X-Caption-Gap"] = str(decision.gap)
        return web.Response(text="", headers=headers, content_type="text/plain")

    async def last_seq(request: web.Request) -> web.Response:
        try:
            meeting_id, language = await check(request)
        except IngestError as exc:
            return fail(exc)
        store: CaptionStore = request.app[caption_store_key]
        seq = await store.last_seq(meeting_id, language)
        return web.Response(text=str(seq if seq is not None else 0), content_type="text/plain")

    base = "/api/captions/{meeting_id}/{language:[a-z]{2,3}}/closedcaption"
    app.router.add_post(base, post)
    app.router.add_get(base + "/seq", last_seq)
