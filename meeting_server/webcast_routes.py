"""The webcast over HTTP: the observer page, the live HLS files, the archive.

- ``/m/{id}/webcast`` (page), ``/m/{id}/webcast/master.m3u8`` and the files under it, while
  the meeting runs (410 once it has ended: the archive has them);
- ``/m/{id}/archive`` (page), ``/m/{id}/archive/master.m3u8`` and the files under it, the
  chapters, downloads of one language (remuxed, never re-encoded), once it has ended;
- ``/archive`` and ``/api/webcast/archives``: the deployment's archived meetings;
- ``POST /api/meetings/{id}/webcast`` (settings) and ``DELETE
  /api/meetings/{id}/webcast/archive`` with a chair or secretariat token.

Access is per meeting: ``public``, or ``observers``: an invite token of that meeting
(``?t=`` on the page link) is exchanged once for a signed cookie, so segment URLs carry no
token and a CDN or nginx can cache them. Every file path is checked by
``webcast.layout.resolve``: nothing outside the meeting's webcast folder is ever served.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Literal

import jinja2
from aiohttp import web
from pydantic import Field

from webcast.layout import CHANNEL, FLOOR, NATIVE_NAMES, BadPath, Job, resolve

from .config import Config
from .errors import RostrumError
from .floor import FloorService
from .http_auth import http_invite
from .meetings import MeetingService
from .schemas import Payload, parse
from .store import MeetingRecord, Store
from .tokens import TokenError
from .webcast import WebcastRecord, WebcastService
from .webcast_access import AccessError, check, cookie_name, sign
from .webcast_cache import FileCache

MANAGERS = frozenset({"chair", "secretariat"})
ACCESS_TTL_S = 24 * 3600
SEGMENT_CACHE = "public, max-age=31536000, immutable"
LIVE_PLAYLIST_CACHE = "public, max-age=1"  # about half a segment: a CDN stays at the edge
ENDED_PLAYLIST_CACHE = "public, max-age=3600"
CONTENT_TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".mp4": "video/mp4",
                 ".m4s": "video/iso.segment", ".vtt": "text/vtt; charset=utf-8"}


class WebcastSettingsPayload(Payload):
    access: Literal["off", "public", "observers"] | None = None
    retentionDays: int | None = Field(default=None, ge=1, le=36500)


def _error(status: type[web.HTTPException], code: str, message: str) -> web.HTTPException:
    return status(text=json.dumps({"ok": False, "error": {"code": code, "message": message}}),
                  content_type="application/json")


class WebcastRoutes:
    def __init__(self, *, templates: jinja2.Environment, hls_js: Path) -> None:
        self.templates = templates
        self.hls_js = hls_js
        self._downloads: dict[Path, asyncio.Future[Path]] = {}
        self.cache = FileCache()
        self._bound: tuple[Config, Store, WebcastService, MeetingService, FloorService] | \
            None = None

    def bind(self, *, config: Config, store: Store, service: WebcastService,
             meetings: MeetingService, floor: FloorService) -> None:
        """The services, once the app's cleanup context has made them."""
        self._bound = (config, store, service, meetings, floor)

    def _services(self) -> tuple[Config, Store, WebcastService, MeetingService,
                                 FloorService]:
        if self._bound is None:
            raise web.HTTPServiceUnavailable(text="starting\n")
        return self._bound

    @property
    def config(self) -> Config:
        return self._services()[0]

    @property
    def store(self) -> Store:
        return self._services()[1]

    @property
    def service(self) -> WebcastService:
        return self._services()[2]

    @property
    def meetings(self) -> MeetingService:
        return self._services()[3]

    @property
    def floor(self) -> FloorService:
        return self._services()[4]

    def add_to(self, app: web.Application) -> None:
        r = app.router
        r.add_get("/m/{meeting_id}/webcast", self.live_page)
        r.add_get("/m/{meeting_id}/webcast/floor.json", self.banner)
        r.add_get("/m/{meeting_id}/webcast/access", self.access)
        r.add_get("/m/{meeting_id}/webcast/{path:.*}", self.live_file)
        r.add_get("/m/{meeting_id}/archive", self.archive_page)
        r.add_get("/m/{meeting_id}/archive/chapters.json", self.chapters)
        r.add_get("/m/{meeting_id}/archive/download/{name}", self.download)
        r.add_get("/m/{meeting_id}/archive/{path:.*}", self.archive_file)
        r.add_get("/archive", self.archive_list_page)
        r.add_get("/api/webcast/archives", self.archive_list)
        r.add_post("/api/meetings/{meeting_id}/webcast", self.settings)
        r.add_delete("/api/meetings/{meeting_id}/webcast/archive", self.delete)
        r.add_get("/vendor/hls.mjs", self.hls_client)

    # access

    async def _meeting(self, request: web.Request) -> tuple[MeetingRecord, WebcastRecord]:
        meeting_id = request.match_info["meeting_id"]
        meeting = await self.store.get_meeting(meeting_id) if len(meeting_id) <= 64 else None
        if meeting is None:
            raise _error(web.HTTPNotFound, "not-found", "no such meeting")
        record = await self.service.record(meeting_id)
        if record.access == "off":
            raise _error(web.HTTPNotFound, "not-found", "this meeting has no webcast")
        if record.deleted_at is not None:
            raise _error(web.HTTPGone, "not-found", "this meeting's webcast was deleted")
        return meeting, record

    def _check_cookie(self, request: web.Request, meeting: MeetingRecord,
                      record: WebcastRecord) -> None:
        if record.access != "observers":
            return
        try:
            check(self.config.secret, request.cookies.get(cookie_name(meeting.id)),
                  meeting.id, time.time())
        except AccessError as exc:
            status = web.HTTPUnauthorized if "expired" in str(exc) or "no webcast" in \
                str(exc) else web.HTTPForbidden
            raise _error(status, "unauthorized", str(exc)) from None

    def _exchange(self, request: web.Request, meeting: MeetingRecord) -> web.HTTPException:
        """An invite token of this meeting, once, for the signed cookie; back to the page
        without the token in its URL."""
        try:
            invite = http_invite(request, self.config.secret, request.query.get("t", ""))
        except TokenError as exc:
            raise _error(web.HTTPUnauthorized, "unauthorized", str(exc)) from None
        if invite.meeting_id != meeting.id:
            raise _error(web.HTTPForbidden, "forbidden", "this token is for another meeting")
        expires = int(min(invite.expires_at, time.time() + ACCESS_TTL_S))
        redirect = web.HTTPSeeOther(location=request.path)
        redirect.set_cookie(cookie_name(meeting.id), sign(self.config.secret, meeting.id,
                                                          expires),
                            max_age=max(0, expires - int(time.time())),
                            path=f"/m/{meeting.id}/", httponly=True, samesite="Lax",
                            secure=request.secure)
        return redirect

    # pages

    def _page(self, meeting: MeetingRecord, record: WebcastRecord, archive: bool
              ) -> web.Response:
        channels = [FLOOR, *[c for c in meeting.languages if c != FLOOR]]
        template = self.templates.get_template("webcast.html")
        base = f"/m/{meeting.id}/{'archive' if archive else 'webcast'}"
        return web.Response(text=template.render(
            meeting={"id": meeting.id, "title": meeting.title},
            config={
                "meetingId": meeting.id, "title": meeting.title, "archive": archive,
                "master": f"{base}/master.m3u8", "banner": f"/m/{meeting.id}/webcast/floor.json",
                "chapters": f"/m/{meeting.id}/archive/chapters.json",
                "downloads": f"/m/{meeting.id}/archive/download/",
                "channels": [{"id": c, "name": NATIVE_NAMES.get(c, c)} for c in channels]}),
            content_type="text/html", headers={"Cache-Control": "no-store"})

    async def live_page(self, request: web.Request) -> web.StreamResponse:
        meeting, record = await self._meeting(request)
        if "t" in request.query:
            raise self._exchange(request, meeting)
        if meeting.ended_at is not None:
            raise web.HTTPSeeOther(location=f"/m/{meeting.id}/archive")
        self._check_cookie(request, meeting, record)
        return self._page(meeting, record, archive=False)

    async def archive_page(self, request: web.Request) -> web.StreamResponse:
        meeting, record = await self._meeting(request)
        if "t" in request.query:
            raise self._exchange(request, meeting)
        self._check_cookie(request, meeting, record)
        if record.ended_at is None:
            raise _error(web.HTTPNotFound, "not-found", "the meeting has not been archived yet")
        return self._page(meeting, record, archive=True)

    async def archive_list_page(self, request: web.Request) -> web.Response:
        template = self.templates.get_template("webcast_archive.html")
        return web.Response(text=template.render(), content_type="text/html")

    async def archive_list(self, request: web.Request) -> web.Response:
        out = []
        for record, title in await self.service.archives():
            out.append({"id": record.meeting_id, "title": title, "access": record.access,
                        "startedAt": record.started_at, "endedAt": record.ended_at,
                        "retentionDays": record.retention_days,
                        "url": f"/m/{record.meeting_id}/archive"})
        return web.json_response({"ok": True, "archives": out},
                                 headers={"Cache-Control": "public, max-age=10"})

    # files

    async def _file(self, meeting: MeetingRecord, path: str, ended: bool) -> web.Response:
        try:
            target = resolve(self.service.folder(meeting.id), path)
        except BadPath as exc:
            raise _error(web.HTTPNotFound, "not-found", str(exc)) from None
        if not ended and target.name == "index.m3u8":
            # live: the sliding window (webcast.publish), not the whole meeting
            window = target.with_name("live.m3u8")
            if window.is_file():
                target = window
        suffix = target.suffix
        playlist = suffix == ".m3u8"
        data = await self.cache.read(target, immutable=not playlist)
        if data is None:
            raise _error(web.HTTPNotFound, "not-found", "no such webcast file (yet)")
        if playlist:
            cache = ENDED_PLAYLIST_CACHE if ended else LIVE_PLAYLIST_CACHE
        else:
            cache = SEGMENT_CACHE
        return web.Response(body=data, headers={
            "Content-Type": CONTENT_TYPES[suffix], "Cache-Control": cache,
            "Access-Control-Allow-Origin": "*"})

    async def live_file(self, request: web.Request) -> web.StreamResponse:
        meeting, record = await self._meeting(request)
        if meeting.ended_at is not None:
            raise _error(web.HTTPGone, "meeting-closed",
                         f"the meeting has ended: its archive is /m/{meeting.id}/archive")
        self._check_cookie(request, meeting, record)
        return await self._file(meeting, request.match_info["path"], ended=False)

    async def archive_file(self, request: web.Request) -> web.StreamResponse:
        meeting, record = await self._meeting(request)
        self._check_cookie(request, meeting, record)
        if record.ended_at is None:
            raise _error(web.HTTPNotFound, "not-found", "the meeting has not been archived yet")
        return await self._file(meeting, request.match_info["path"], ended=True)

    async def access(self, request: web.Request) -> web.Response:
        """204 when this request may read the meeting's webcast (nginx's auth_request asks
        this before serving a cached segment of an observers-only meeting)."""
        meeting, record = await self._meeting(request)
        self._check_cookie(request, meeting, record)
        return web.Response(status=204, headers={"Cache-Control": "no-store"})

    async def banner(self, request: web.Request) -> web.Response:
        """The floor banner: who speaks (name, member state, declared language, since)."""
        meeting, record = await self._meeting(request)
        self._check_cookie(request, meeting, record)
        speaker = None
        live = self.meetings.live.get(meeting.id)
        grant = self.floor.floor(meeting.id).speakers.speaker if live else None
        if grant is not None:
            person = self.meetings.find(meeting.id, grant.participant_id)
            speaker = {"name": person.name if person else "",
                       "memberState": person.member_state if person else "",
                       "organization": person.organization if person else "",
                       "language": grant.language, "kind": grant.kind,
                       "since": grant.granted_at}
        return web.json_response({"ok": True, "serverTime": time.time(),
                                  "title": meeting.title, "ended": meeting.ended_at is not None,
                                  "speaker": speaker},
                                 headers={"Cache-Control": "public, max-age=1"})

    async def chapters(self, request: web.Request) -> web.Response:
        meeting, record = await self._meeting(request)
        self._check_cookie(request, meeting, record)
        # recordingStart: the wall clock of the recording's first sample, so that a page can
        # seek to a moment given as a time (a search hit's /archive#at=<unix seconds>)
        return web.json_response({"ok": True, "chapters": await self.service.chapters(
            meeting.id), "recordingStart": self.service.recording_start(meeting.id)},
            headers={"Cache-Control": "public, max-age=60"})

    async def download(self, request: web.Request) -> web.StreamResponse:
        """One language of the archive: ``<channel>.m4a`` (its audio) or ``<channel>.mp4``
        (the picture with it), remuxed from the segments, never re-encoded; made once."""
        meeting, record = await self._meeting(request)
        self._check_cookie(request, meeting, record)
        if record.ended_at is None:
            raise _error(web.HTTPNotFound, "not-found", "the meeting has not been archived yet")
        name = request.match_info["name"]
        channel, _, ext = name.rpartition(".")
        folder = self.service.folder(meeting.id)
        if ext not in ("m4a", "mp4") or not CHANNEL.match(channel) or \
                not (folder / "audio" / channel / "index.m3u8").is_file():
            raise _error(web.HTTPNotFound, "not-found", "no such download")
        target = folder / "downloads" / name
        if not target.is_file():
            pending = self._downloads.get(target)
            if pending is None:
                loop = asyncio.get_running_loop()
                pending = loop.run_in_executor(None, remux, folder, channel, ext == "mp4",
                                               target)
                self._downloads[target] = pending
            try:
                await asyncio.shield(pending)
            finally:
                if pending.done():
                    self._downloads.pop(target, None)
        return web.FileResponse(target, headers={
            "Content-Type": "audio/mp4" if ext == "m4a" else "video/mp4",
            "Content-Disposition": f'attachment; filename="{meeting.id}-{name}"',
            "Cache-Control": "public, max-age=86400"})

    # management

    def _manager(self, request: web.Request) -> str:
        meeting_id = request.match_info["meeting_id"]
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else request.query.get("t", "")
        try:
            invite = http_invite(request, self.config.secret, token)
        except TokenError as exc:
            raise _error(web.HTTPUnauthorized, "unauthorized", str(exc)) from None
        if invite.meeting_id != meeting_id or invite.role not in MANAGERS:
            raise _error(web.HTTPForbidden, "forbidden",
                         "only the chair or the secretariat of this meeting")
        return meeting_id

    async def settings(self, request: web.Request) -> web.Response:
        meeting_id = self._manager(request)
        if await self.store.get_meeting(meeting_id) is None:
            raise _error(web.HTTPNotFound, "not-found", "no such meeting")
        try:
            body = await request.json()
        except ValueError:
            raise _error(web.HTTPBadRequest, "bad-request", "the body must be JSON") from None
        try:
            payload = parse(WebcastSettingsPayload, body)
            await self.service.set_settings(
                meeting_id, payload.access, payload.retentionDays,
                clear_retention="retentionDays" in body and payload.retentionDays is None)
        except RostrumError as exc:
            raise _error(web.HTTPBadRequest, exc.code, exc.message) from None
        record = await self.service.record(meeting_id)
        return web.json_response({"ok": True, "access": record.access,
                                  "retentionDays": record.retention_days})

    async def delete(self, request: web.Request) -> web.Response:
        meeting_id = self._manager(request)
        try:
            await self.service.delete_archive(meeting_id)
            self.cache.forget(self.service.folder(meeting_id))
        except RostrumError as exc:
            status = web.HTTPConflict if exc.code == "conflict" else web.HTTPNotFound
            raise _error(status, exc.code, exc.message) from None
        return web.json_response({"ok": True})

    async def hls_client(self, request: web.Request) -> web.StreamResponse:
        if not self.hls_js.exists():
            raise web.HTTPServiceUnavailable(
                text="hls.js is not installed: run scripts/setup.sh (npm ci in web/).\n")
        return web.FileResponse(self.hls_js, headers={
            "Content-Type": "application/javascript", "Cache-Control": "public, max-age=3600"})


def remux(folder: Path, channel: str, with_video: bool, target: Path) -> Path:
    """Join a channel's segments (and the top video rung's) into one MP4, copying packets:
    timestamps are made continuous across the generations' discontinuities."""
    import av

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    inputs = [av.open(str(folder / "audio" / channel / "index.m3u8"),
                      options={"allowed_extensions": "ALL"})]
    if with_video:
        job = Job.from_json((folder / "job.json").read_text("utf-8"))
        inputs.insert(0, av.open(str(folder / "video" / job.rungs[0].name / "index.m3u8"),
                                 options={"allowed_extensions": "ALL"}))
    try:
        with av.open(str(tmp), "w", format="ipod" if not with_video else "mp4") as out:
            pairs = []
            for container in inputs:
                source = container.streams[0]
                pairs.append((container, source, out.add_stream_from_template(source)))
            for container, source, sink in pairs:
                last = None
                offset = 0
                for packet in container.demux(source):
                    if packet.dts is None:
                        continue
                    dts = packet.dts + offset
                    if last is not None and dts <= last:  # a discontinuity: continue after
                        offset += last + (packet.duration or 1) - dts
                        dts = packet.dts + offset
                    shift = dts - packet.dts
                    packet.dts = dts
                    if packet.pts is not None:
                        packet.pts += shift
                    last = dts
                    packet.stream = sink
                    out.mux(packet)
    finally:
        for container in inputs:
            container.close()
    tmp.replace(target)
    return target
