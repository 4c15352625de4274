"""The meeting's record over HTTP, for the chair and the secretariat of the meeting (token in
``t`` or ``Authorization: Bearer``):

    GET /api/meetings/{id}/record.json                 everything (record.meeting_record)
    GET /api/meetings/{id}/record.csv?table=...        member-states (default), languages,
                                                       interventions, waiting,
                                                       interpretation, booth-periods,
                                                       interpretation-gaps
    GET /api/record/series.{json|csv}?m=A&t=..&m=B&t=.. several meetings (a token each)
    GET /m/{id}/record?t=...                           the page with charts (record.js)
"""

from __future__ import annotations

import time
from typing import Any

import jinja2
from aiohttp import web

from . import record, ui_language
from .captions_store import CaptionStore
from .chat_store import ChatStore
from .config import Config
from .exports import csv_text, export_language, language_headers
from .http_auth import http_invite
from .record_booths import BoothLog
from .store import Store
from .tokens import TokenError

READERS = frozenset({"chair", "secretariat"})
UI_LANGUAGES = ("ar", "zh", "en", "fr", "ru", "es")
MAX_SERIES = 50

TABLES: dict[str, tuple[str, ...]] = {
    "member-states": record.MEMBER_STATE_COLUMNS,
    "languages": ("language", "interventions", "speakingS"),
    "interventions": ("startedAt", "name", "memberState", "language", "kind", "durationS",
                      "reason"),
    "waiting": ("memberState", "count", "meanS", "medianS", "maxS"),
    "interpretation": record.INTERPRETATION_COLUMNS,
    "booth-periods": record.PERIOD_COLUMNS,
    "interpretation-gaps": record.GAP_COLUMNS,
}


def _utc(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


def _csv(request: web.Request, rows: list[dict[str, Any]], columns: tuple[str, ...],
         name: str) -> web.Response:
    """The header row in the requester's UI language (exports.export_language)."""
    language = export_language(request)
    return web.Response(text=csv_text(rows, columns, language), content_type="text/csv",
                        charset="utf-8", headers={
                            "Content-Disposition": f'attachment; filename="{name}"',
                            **language_headers(language)})


def table_rows(rec: dict[str, Any], table: str) -> list[dict[str, Any]]:
    if table == "member-states":
        return record.member_state_rows(rec)
    if table == "languages":
        return list(rec["floor"]["byLanguage"])
    if table == "interventions":
        return [{**i, "startedAt": _utc(i["startedAt"])} for i in rec["floor"]["list"]]
    if table == "interpretation":
        return record.interpretation_rows(rec)
    if table in ("booth-periods", "interpretation-gaps"):
        key = "periods" if table == "booth-periods" else "gaps"
        return [{**p, "startedAt": _utc(p["startedAt"])} for p in rec["interpretation"][key]]
    return list(rec["floor"]["waiting"]["byMemberState"])


def add_routes(app: web.Application, config_key: Any, store_key: Any, caption_store_key: Any,
               chat_store_key: Any, templates_key: Any, booth_log_key: Any) -> None:
    def authorise(request: web.Request, meeting_id: str, token: str) -> None:
        config: Config = request.app[config_key]
        try:
            invite = http_invite(request, config.secret, token)
        except TokenError as exc:
            raise web.HTTPUnauthorized(text=f"{exc}\n") from None
        if invite.meeting_id != meeting_id or invite.role not in READERS:
            raise web.HTTPForbidden(text="only the chair or the secretariat of this meeting\n")

    def token_of(request: web.Request) -> str:
        header = request.headers.get("Authorization", "")
        return header[7:] if header.startswith("Bearer ") else request.query.get("t", "")

    async def build(request: web.Request, meeting_id: str) -> dict[str, Any]:
        store: Store = request.app[store_key]
        meeting = await store.get_meeting(meeting_id)
        if meeting is None:
            raise web.HTTPNotFound(text="no such meeting\n")
        captions: CaptionStore = request.app[caption_store_key]
        chat: ChatStore = request.app[chat_store_key]
        booths: BoothLog = request.app[booth_log_key]
        await booths.flush()
        return record.meeting_record(
            {"id": meeting.id, "title": meeting.title, "languages": list(meeting.languages),
             "createdAt": meeting.created_at, "endedAt": meeting.ended_at},
            await store.attendance(meeting_id), await store.floor_log(meeting_id),
            await captions.final_captions(meeting_id), await chat.all_messages(meeting_id),
            now=time.time(), booth_log=await booths.rows(meeting_id))

    def table_of(request: web.Request) -> str:
        table = request.query.get("table", "member-states")
        if table not in TABLES:
            raise web.HTTPBadRequest(text=f"table is one of {', '.join(TABLES)}\n")
        return table

    async def meeting_export(request: web.Request) -> web.Response:
        meeting_id = request.match_info["meeting_id"]
        authorise(request, meeting_id, token_of(request))
        fmt = request.match_info["fmt"]
        table = table_of(request) if fmt == "csv" else ""
        rec = await build(request, meeting_id)
        if fmt == "json":
            return web.json_response(rec)
        return _csv(request, table_rows(rec, table), TABLES[table],
                    f"record-{meeting_id}-{table}.csv")

    async def series_export(request: web.Request) -> web.Response:
        meetings = request.query.getall("m", [])
        tokens = request.query.getall("t", [])
        if not meetings or len(meetings) != len(tokens) or len(meetings) > MAX_SERIES:
            raise web.HTTPBadRequest(text="give each meeting (m=) with its token (t=), at most"
                                          f" {MAX_SERIES}\n")
        for meeting_id, token in zip(meetings, tokens, strict=True):
            authorise(request, meeting_id, token)
        series = record.series_record([await build(request, m) for m in meetings])
        if request.match_info["fmt"] == "json":
            return web.json_response(series)
        rows = [{"member_state": s["memberState"], "meetings": s["meetings"],
                 "present_s": s["presentS"], "interventions": s["interventions"],
                 "speaking_s": s["speakingS"]} for s in series["byMemberState"]]
        return _csv(request, rows, ("member_state", "meetings", "present_s", "interventions",
                           "speaking_s"), "record-series.csv")

    async def page(request: web.Request) -> web.Response:
        meeting_id = request.match_info["meeting_id"]
        token = request.query.get("t", "")
        authorise(request, meeting_id, token)
        store: Store = request.app[store_key]
        meeting = await store.get_meeting(meeting_id)
        if meeting is None:
            raise web.HTTPNotFound(text="no such meeting\n")
        templates: jinja2.Environment = request.app[templates_key]
        ui = request.query.get("lang") or ui_language.choose(  # else the remembered choice
            request.cookies.get(ui_language.COOKIE), request.headers.get("Accept-Language"))
        ui = ui if ui in UI_LANGUAGES else "en"
        html = templates.get_template("record.html").render(
            meeting={"id": meeting.id, "title": meeting.title,
                     "languages": list(meeting.languages)}, token=token,
            ui_language=ui, ui_direction="rtl" if ui == "ar" else "ltr")
        return web.Response(text=html, content_type="text/html")

    app.router.add_get(r"/api/meetings/{meeting_id}/record.{fmt:json|csv}", meeting_export)
    app.router.add_get(r"/api/record/series.{fmt:json|csv}", series_export)
    app.router.add_get("/m/{meeting_id}/record", page)
