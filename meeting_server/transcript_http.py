"""The transcript over HTTP, next to the floor log and attendance exports (exports.py):

    GET /api/meetings/{id}/transcript.vtt?lang=en   WebVTT, one voice per speaker
    GET /api/meetings/{id}/transcript.srt?lang=en   SubRip
    GET /api/meetings/{id}/transcript.txt[?lang=en] plain text (every language without lang)

with a token of that meeting, any role (the captions were shown to everyone in it), in ``t``
or ``Authorization: Bearer``. The text file's own words (its heading, "no speaker on the
floor") are in the requester's UI language (``?ui=``, the cookie, ``Accept-Language``;
exports.export_language). Times count from the meeting's first arrival (or first line).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from . import export_labels, transcript
from .captions_store import CaptionStore
from .config import Config
from .exports import export_language, language_headers, request_invite
from .store import Store

TYPES = {"vtt": "text/vtt", "srt": "application/x-subrip", "txt": "text/plain"}


def add_routes(app: web.Application, config_key: Any, store_key: Any,
               caption_store_key: Any) -> None:
    async def export(request: web.Request) -> web.Response:
        meeting_id = request.match_info["meeting_id"]
        fmt = request.match_info["fmt"]
        config: Config = request.app[config_key]
        invite = request_invite(request, config.secret)
        if invite.meeting_id != meeting_id:
            raise web.HTTPForbidden(text="this token is for another meeting\n")
        store: Store = request.app[store_key]
        record = await store.get_meeting(meeting_id)
        if record is None:
            raise web.HTTPNotFound(text="no such meeting\n")
        language = request.query.get("lang") or None
        if language is not None and language not in record.languages:
            raise web.HTTPBadRequest(text=f"{language!r} is not a language of this meeting\n")
        if language is None and fmt != "txt":
            raise web.HTTPBadRequest(text="a subtitle file is for one language: add ?lang=\n")
        ui = export_language(request, lang_param=False)
        captions: CaptionStore = request.app[caption_store_key]
        lines = await captions.final_captions(meeting_id, language)
        arrivals = [a.joined_at for a in await store.attendance(meeting_id)]
        origin = min([*arrivals, *(c.started_at for c in lines)], default=record.created_at)
        if fmt == "vtt":
            body = transcript.webvtt(lines, origin, language=language or "")
        elif fmt == "srt":
            body = transcript.srt(lines, origin)
        else:
            body = transcript.plain_text(lines, title=record.title, language=language or "",
                                         words=export_labels.transcript_words(ui))
        name = f"transcript-{meeting_id}{'-' + language if language else ''}.{fmt}"
        return web.Response(text=body, content_type=TYPES[fmt], charset="utf-8", headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            **(language_headers(ui) if fmt == "txt" else {})})

    app.router.add_get(r"/api/meetings/{meeting_id}/transcript.{fmt:vtt|srt|txt}", export)
