"""The meeting's record over HTTP: floor log and attendance register, CSV or JSON.

Only the chair and the secretariat of that meeting may read them: the token goes in the
``t`` query parameter or an ``Authorization: Bearer`` header. A CSV's header row is in the
requester's UI language (``?lang=``/``?ui=``, the cookie, ``Accept-Language``;
export_labels.py), the machine keys when the request names none; JSON keeps the keys.
"""

from __future__ import annotations

import csv
import io
import time
from typing import Any

from aiohttp import web

from . import export_labels, ui_language
from .config import Config
from .http_auth import http_invite
from .store import Store
from .tokens import Invite, TokenError

READERS = frozenset({"chair", "secretariat"})
ATTENDANCE_COLUMNS = ("participant_id", "name", "organization", "member_state", "role",
                      "joined_at", "left_at", "left_reason", "duration_s")
FLOOR_LOG_COLUMNS = ("id", "time", "at", "event", "participant_id", "name", "organization",
                     "member_state", "kind", "note", "language", "grant_id", "duration_s",
                     "actor_id", "reason")


def _iso(ts: Any) -> str:
    if ts is None:
        return ""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(ts)))


def request_invite(request: web.Request, secret: str) -> Invite:
    """The invite of an HTTP request (``Authorization: Bearer`` or ``?t=``); 401 if none."""
    token = request.query.get("t", "")
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        token = header[7:]
    try:
        return http_invite(request, secret, token)
    except TokenError as exc:
        raise web.HTTPUnauthorized(text=f"{exc}\n") from None


def export_language(request: web.Request, *, lang_param: bool = True) -> str | None:
    """The UI language of an export's human-facing headers (export_labels.requested): ``?ui=``,
    or ``?lang=`` where ``lang_param`` (it is not the caption language there), the cookie,
    ``Accept-Language``; None when the request names none. 400 for an unknown language."""
    query = request.query.get("ui")
    if query is None and lang_param:
        query = request.query.get("lang")
    try:
        return export_labels.requested(query, request.cookies.get(ui_language.COOKIE),
                                       request.headers.get("Accept-Language"))
    except export_labels.LanguageError as exc:
        raise web.HTTPBadRequest(text=f"{exc}\n") from None


def language_headers(language: str | None) -> dict[str, str]:
    """Content-Language (when one was chosen) and Vary, for a response in that language."""
    vary = {"Vary": "Cookie, Accept-Language"}
    return {**vary, "Content-Language": language} if language else vary


def csv_text(rows: list[dict[str, Any]], columns: tuple[str, ...], language: str | None) -> str:
    """CSV with the header row in ``language`` (export_labels.header_row). For a person (a
    language named) the text starts with a byte-order mark, so that a spreadsheet opens the
    UTF-8 as UTF-8 (Arabic, Chinese and Russian headers and names are not garbled); a script's
    CSV (keys) has none, as before."""
    buf = io.StringIO()
    if language is not None:
        buf.write("\ufeff")
    writer = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore")
    writer.writerow(export_labels.header_row(columns, language))
    for row in rows:
        writer.writerow(row)
    return buf.getvalue()


def add_routes(app: web.Application, store_key: Any, config_key: Any) -> None:
    def authorise(request: web.Request) -> str:
        meeting_id = request.match_info["meeting_id"]
        config: Config = request.app[config_key]
        invite = request_invite(request, config.secret)
        if invite.meeting_id != meeting_id or invite.role not in READERS:
            raise web.HTTPForbidden(text="only the chair or the secretariat of this meeting\n")
        return meeting_id

    def respond(request: web.Request, rows: list[dict[str, Any]], columns: tuple[str, ...],
                fmt: str, name: str) -> web.Response:
        language = export_language(request)  # also checked for JSON: a bad one is refused
        if fmt == "json":
            return web.json_response(rows)
        return web.Response(text=csv_text(rows, columns, language), content_type="text/csv",
                            charset="utf-8", headers={
                                "Content-Disposition": f'attachment; filename="{name}"',
                                **language_headers(language)})

    async def floor_log(request: web.Request) -> web.Response:
        meeting_id = authorise(request)
        store: Store = request.app[store_key]
        rows = await store.floor_log(meeting_id)
        for row in rows:
            row["time"] = _iso(row["at"])
        fmt = request.match_info["fmt"]
        return respond(request, rows, FLOOR_LOG_COLUMNS, fmt, f"floor-log-{meeting_id}.{fmt}")

    async def attendance(request: web.Request) -> web.Response:
        meeting_id = authorise(request)
        store: Store = request.app[store_key]
        rows = []
        for r in await store.attendance(meeting_id):
            rows.append({
                "participant_id": r.participant_id, "name": r.name,
                "organization": r.organization, "member_state": r.member_state,
                "role": r.role, "joined_at": _iso(r.joined_at), "left_at": _iso(r.left_at),
                "left_reason": r.left_reason or "",
                "duration_s": round((r.left_at or time.time()) - r.joined_at, 1)})
        fmt = request.match_info["fmt"]
        return respond(request, rows, ATTENDANCE_COLUMNS, fmt, f"attendance-{meeting_id}.{fmt}")

    app.router.add_get(r"/api/meetings/{meeting_id}/floor-log.{fmt:csv|json}", floor_log)
    app.router.add_get(r"/api/meetings/{meeting_id}/attendance.{fmt:csv|json}", attendance)
