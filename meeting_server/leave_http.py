"""`POST /api/leave`: a page that is closed says it leaves, authenticated by its resume key
(docs/protocol.md). A closed tab cannot wait for a Socket.IO ack: the page sends this with
``navigator.sendBeacon`` on ``pagehide``, and the participant leaves at once (reason
``left``) instead of being kept for the resume grace as after a network drop."""

from __future__ import annotations

import json
from typing import Any

import socketio
from aiohttp import web

from .errors import RostrumError
from .meetings import MeetingService, resume_hash
from .schemas import ResumePayload, parse


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"ok": False, "error": {"code": code, "message": message}},
                             status=status)


def add_routes(app: web.Application, meetings_key: web.AppKey[MeetingService],
               sio_key: web.AppKey[socketio.AsyncServer]) -> None:
    async def leave(request: web.Request) -> web.Response:
        try:
            data: Any = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError, RecursionError):  # incl. nested 1,000 deep
            return _error(400, "bad-request", "the body must be a JSON object {\"key\"}")
        try:
            payload = parse(ResumePayload, data)
        except RostrumError as exc:
            return _error(413 if exc.code == "too-large" else 400, exc.code, exc.message)
        meetings = request.app[meetings_key]
        participant = meetings.by_resume_key.get(resume_hash(payload.key))
        if participant is None:
            return _error(404, "not-found", "nobody to leave with that key (left already,"
                                            " or the grace has passed)")
        session = participant.session
        await meetings.leave(session, "left")
        sio = request.app[sio_key]
        if session in sio.eio.sockets:  # the closing page's connection, if still open
            await sio.eio.disconnect(session)
        return web.json_response({"ok": True})

    app.router.add_post("/api/leave", leave)
