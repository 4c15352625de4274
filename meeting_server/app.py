"""The aiohttp application: `create_app(config)` builds everything and owns its lifetime.

State lives under `web.AppKey`s (no module globals); every long-lived resource is opened and
closed by one cleanup context, in order: store → SFU worker → meeting service → namespaces.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jinja2
import socketio
from aiohttp import web

from sfu.worker import Worker

from . import exports, metrics, ui_language
from .config import Config
from .floor import FloorService
from .interpreting import InterpretationService
from .media import MediaService
from .meetings import MeetingService
from .namespaces.floor import FloorNamespace
from .namespaces.interpretation import InterpretationNamespace
from .namespaces.media import MediaNamespace
from .namespaces.room import RoomNamespace
from .store import Store
from .tokens import TokenError, verify

logger = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent.parent / "web"

CONFIG = web.AppKey("config", Config)
STORE = web.AppKey("store", Store)
WORKER = web.AppKey("worker", Worker)
MEETINGS = web.AppKey("meetings", MeetingService)
MEDIA = web.AppKey("media", MediaService)
FLOOR = web.AppKey("floor", FloorService)
INTERPRETING = web.AppKey("interpreting", InterpretationService)
SIO = web.AppKey("sio", socketio.AsyncServer)
TEMPLATES = web.AppKey("templates", jinja2.Environment)


def create_app(config: Config) -> web.Application:
    app = web.Application(client_max_size=config.max_message_bytes)
    app[CONFIG] = config
    manager = (socketio.AsyncRedisManager(config.redis_url, channel=config.redis_channel)
               if config.redis_url else None)
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        client_manager=manager,
        max_http_buffer_size=config.max_message_bytes,
        ping_interval=10,
        ping_timeout=10,
        logger=False,
        engineio_logger=False,
    )
    sio.attach(app)
    app[SIO] = sio
    app[TEMPLATES] = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(WEB_DIR / "templates")),
        autoescape=jinja2.select_autoescape(["html"]),
    )
    app.cleanup_ctx.append(_services)
    app.router.add_get("/", index)
    app.router.add_get("/m/{meeting_id}", meeting_page)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/vendor/socket.io.esm.min.js", socketio_client)
    app.router.add_static("/static", str(WEB_DIR / "static"), append_version=False)
    # UI language and fonts (issue 13): Noto Sans Arabic and SC from npm, subset by unicode-range
    app.router.add_get(r"/vendor/fonts/{family:noto-sans-(?:arabic|sc)}/{file:[a-z0-9-]+\.css}",
                       font_file)
    app.router.add_get(
        r"/vendor/fonts/{family:noto-sans-(?:arabic|sc)}/files/{file:[a-z0-9-]+\.woff2?}",
        font_file)
    exports.add_routes(app, STORE, CONFIG)
    metrics.add_route(app, WORKER)
    return app


async def _services(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    store = Store(config.database_path)
    await store.open()
    recovered = await store.recover_after_restart(time.time())
    if any(recovered.values()):
        logger.warning("closed records left open by an earlier run: %s", recovered)
    worker = Worker(ice_servers=config.ice_servers, rtc_addresses=config.rtc_addresses,
                    seats=max(config.audio_slots, config.video_slots),
                    keyframe_interval_s=config.keyframe_interval_s)
    meetings = MeetingService(config, store, worker)
    media = MediaService(meetings, seats=max(config.audio_slots, config.video_slots))
    floor = FloorService(meetings, store)
    interpreting = InterpretationService(meetings, floor)
    media.subscribed_listeners.append(interpreting.subscribed)
    ice = [s.to_json() for s in config.ice_servers]
    media_ns = MediaNamespace(meetings, media)
    floor_ns = FloorNamespace(meetings, floor)
    room_ns = RoomNamespace(meetings, ice)
    interp_ns = InterpretationNamespace(meetings, interpreting)
    room_ns.join_listeners.append(media_ns.attach_session)
    room_ns.join_listeners.append(floor_ns.attach_session)
    room_ns.join_listeners.append(interp_ns.attach_session)
    for namespace in (room_ns, media_ns, floor_ns, interp_ns):
        app[SIO].register_namespace(namespace)
    app[STORE], app[WORKER], app[MEETINGS], app[MEDIA] = store, worker, meetings, media
    app[FLOOR] = floor
    app[INTERPRETING] = interpreting
    try:
        yield
    finally:
        logger.info("shutting down: closing meetings and peer connections")
        await media_ns.close()
        await floor_ns.close()
        await interp_ns.close()
        await meetings.close()
        await floor.close()
        await worker.close()
        await store.close()


def _page_language(request: web.Request) -> str:
    return ui_language.choose(request.cookies.get(ui_language.COOKIE),
                              request.headers.get("Accept-Language"))


async def index(request: web.Request) -> web.Response:
    language = _page_language(request)
    return web.Response(text=ui_language.text("index", language) + "\n",
                        headers={"Content-Language": language})


async def healthz(request: web.Request) -> web.Response:
    counts: dict[str, Any] = request.app[WORKER].counts()
    return web.json_response({"ok": True, **counts})


async def meeting_page(request: web.Request) -> web.Response:
    meeting_id = request.match_info["meeting_id"]
    language = _page_language(request)
    record = await request.app[STORE].get_meeting(meeting_id)
    if record is None:
        raise web.HTTPNotFound(text=ui_language.text("no-such-meeting", language) + "\n",
                               headers={"Content-Language": language})
    meeting = {"id": record.id, "title": record.title, "languages": list(record.languages),
               "videoCodec": record.video_codec, "openedAt": record.created_at}
    token = request.query.get("t", "")
    # The join page names the role the link gives; a bad token is refused on connect.
    try:
        invite = verify(request.app[CONFIG].secret, token)
        role = invite.role if invite.meeting_id == meeting_id else None
    except TokenError:
        role = None
    template = request.app[TEMPLATES].get_template("meeting.html")
    page = template.render(meeting=meeting, token=token, role=role, ui_language=language,
                           ui_direction=ui_language.direction(language),
                           noscript=ui_language.text("noscript", language))
    return web.Response(text=page, content_type="text/html",
                        headers={"Content-Language": language, "Vary": "Cookie, Accept-Language"})


async def font_file(request: web.Request) -> web.StreamResponse:
    """A file of the Noto Sans Arabic / SC packages installed from npm (@fontsource): the CSS
    declares one face per unicode-range subset, so a page loads only the subsets it shows."""
    family, file = request.match_info["family"], request.match_info["file"]
    package = WEB_DIR / "node_modules" / "@fontsource" / family
    path = package / file if file.endswith(".css") else package / "files" / file
    if not package.is_dir():
        raise web.HTTPServiceUnavailable(
            text="The fonts are not installed: run scripts/setup.sh (npm ci in web/).\n")
    if not path.is_file():
        raise web.HTTPNotFound()
    kind = "text/css" if file.endswith(".css") else f"font/{path.suffix[1:]}"
    return web.FileResponse(path, headers={"Cache-Control": "public, max-age=604800",
                                           "Content-Type": kind})


async def socketio_client(request: web.Request) -> web.StreamResponse:
    path = WEB_DIR / "node_modules" / "socket.io-client" / "dist" / "socket.io.esm.min.js"
    if not path.exists():
        raise web.HTTPServiceUnavailable(
            text="The Socket.IO client is not installed: run scripts/setup.sh (npm ci in web/).\n")
    return web.FileResponse(path, headers={"Content-Type": "application/javascript"})
