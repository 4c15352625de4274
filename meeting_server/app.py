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

from sfu import aiortc_glue
from sfu.worker import Worker
from sfu.worker_client import LocalWorkers, MediaWorkers, WorkerPool

from . import (
    captions_http,
    documents_api,
    exports,
    http_log,
    leave_http,
    metrics,
    record_http,
    search,
    security,
    transcript_http,
    ui_language,
)
from .broadcast import ChunkedEmits, ChunkedRedisEmits
from .captions import CaptionService
from .captions_store import CaptionStore
from .chat import ChatService
from .chat_store import ChatStore
from .cluster import OWNERSHIP, MeetingOwnership, Owner, send_to_owner
from .config import Config
from .documents import DocumentService, add_schemas
from .floor import FloorService
from .interpreting import InterpretationService
from .invitations import INVITATIONS, InvitationService
from .invitations import add_routes as invitations_api
from .live_state import LiveState
from .media import MediaService
from .meetings import MeetingService
from .namespaces.captions import CaptionsNamespace
from .namespaces.chat import ChatNamespace
from .namespaces.documents import DocumentsNamespace
from .namespaces.floor import FloorNamespace
from .namespaces.interpretation import InterpretationNamespace
from .namespaces.media import MediaNamespace
from .namespaces.room import RoomNamespace
from .planner import MediaPlanner
from .ratelimit import RATE_LIMITS, RateLimits, http_rate_limit
from .record_booths import BoothLog
from .screenshare import ScreenShareService
from .search import SearchService
from .signaling_server import SignalingServer
from .store import Store
from .tokens import TokenError, verify
from .webcast import SCHEMA as WEBCAST_SCHEMA
from .webcast import WebcastService, default_access
from .webcast_routes import WebcastRoutes

logger = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent.parent / "web"

CONFIG = web.AppKey("config", Config)
STORE = web.AppKey("store", Store)
WORKER = web.AppKey("worker", MediaWorkers)
MEETINGS = web.AppKey("meetings", MeetingService)
MEDIA = web.AppKey("media", MediaService)
FLOOR = web.AppKey("floor", FloorService)
INTERPRETING = web.AppKey("interpreting", InterpretationService)
SIO = web.AppKey("sio", socketio.AsyncServer)
TEMPLATES = web.AppKey("templates", jinja2.Environment)
CAPTIONS = web.AppKey("captions", CaptionService)
CAPTION_STORE = web.AppKey("caption_store", CaptionStore)
CHAT = web.AppKey("chat", ChatService)
CHAT_STORE = web.AppKey("chat_store", ChatStore)
BOOTH_LOG = web.AppKey("booth_log", BoothLog)
DOCUMENTS = web.AppKey("documents", DocumentService)
SEARCH = web.AppKey("search", SearchService)
WEBCAST = web.AppKey("webcast", WebcastService)
WEBCAST_ROUTES = web.AppKey("webcast_routes", WebcastRoutes)


def create_app(config: Config) -> web.Application:
    app = web.Application(client_max_size=config.max_message_bytes,
                          handler_args=http_log.handler_args())  # trust: no secrets logged
    app[CONFIG] = config
    app.middlewares.append(security.security_headers)  # trust: CSP, framing, referrer
    # room broadcasts CHUNK sockets at a time (meeting_server/broadcast.py, issue 14)
    manager = (ChunkedRedisEmits(config.redis_url, channel=config.redis_channel)
               if config.redis_url else ChunkedEmits())
    # trust: rate limits per connection and per address (events, connects, joins, HTTP)
    limits = RateLimits(config.rate_settings, config.trusted_proxies)
    app[RATE_LIMITS] = limits
    app.middlewares.append(http_rate_limit)
    if config.meeting_ownership:
        app.middlewares.append(send_to_owner)  # several nodes: 307 to a meeting's owner
    cluster_origins: dict[str, Any] = {}
    if config.meeting_ownership:
        # several nodes: a page whose node died reconnects to another (docs/operations.md)
        cluster_origins["cors_allowed_origins"] = lambda origin, environ: \
            cluster_origin_allowed(app, origin, environ)
    sio = SignalingServer(  # trust: malformed frames cost one rate-limited line
        limits=limits,
        async_mode="aiohttp",
        client_manager=manager,
        max_http_buffer_size=config.max_message_bytes,
        ping_interval=10,
        ping_timeout=10,
        **cluster_origins,
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
    invitations_api(app)
    leave_http.add_routes(app, MEETINGS, SIO)  # trust: a closed tab leaves at once (beacon)
    metrics.add_route(app, WORKER)
    captions_http.add_routes(app, CONFIG, STORE, CAPTIONS, CAPTION_STORE)
    transcript_http.add_routes(app, CONFIG, STORE, CAPTION_STORE)
    record_http.add_routes(app, CONFIG, STORE, CAPTION_STORE, CHAT_STORE, TEMPLATES, BOOTH_LOG)
    documents_api.add_routes(app, DOCUMENTS, CONFIG)
    search.add_routes(app, SEARCH, CONFIG)  # across meetings: documents, captions, floor
    # the webcast (meeting_server/webcast*.py): pages, HLS files, archive; bound in _services
    app[WEBCAST_ROUTES] = WebcastRoutes(
        templates=app[TEMPLATES],
        hls_js=WEB_DIR / "node_modules" / "hls.js" / "dist" / "hls.mjs")
    app[WEBCAST_ROUTES].add_to(app)
    return app


async def _services(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    store = Store(config.database_path)
    invitations = InvitationService(config, store)  # trust: adds its schema before open
    caption_store, chat_store = CaptionStore(store), ChatStore(store)  # issue 12: schemas
    booth_log = BoothLog(store)  # issue 12: interpretation coverage for the record
    add_schemas(store)  # documents: register, pages, search index
    store.add_schema(WEBCAST_SCHEMA)
    await store.open()
    await invitations.load()  # revoked links and removed people read nothing over HTTP
    if not config.meeting_ownership:
        recovered = await store.recover_after_restart(time.time())
        recovered["booths"] = await booth_log.recover(time.time())
        if any(recovered.values()):
            logger.warning("closed records left open by an earlier run: %s", recovered)
    # several nodes share the SQLite file: each meeting is repaired when a node takes it over
    # (meeting_server/cluster.py), never all of them at a node's start
    try:
        worker = await start_workers(config)
    except BaseException:  # the UDP port is taken, a worker would not start: leave nothing open
        await store.close()
        raise
    meetings = MeetingService(config, store, worker)
    media = MediaService(meetings, seats=max(config.audio_slots, config.video_slots))
    floor = FloorService(meetings, store)
    interpreting = InterpretationService(meetings, floor)
    planner = MediaPlanner(meetings, floor, interpreting)  # the plan: rules -> Router.apply
    media.subscribed_listeners.append(interpreting.subscribed)
    booth_log.attach(meetings, interpreting)
    booth_log.start()
    app[BOOTH_LOG] = booth_log
    ice = [s.to_json() for s in config.ice_servers]
    # documents: register, conversion, the shared screen, search
    documents = DocumentService(config.data_dir, store, meetings)
    await documents.open()
    # screen sharing under the documents' presenter right: the sharer is the plan's presenter
    screens = ScreenShareService(meetings, documents)
    planner.sharing = screens.sharing
    screens.change_listeners.append(planner.refresh)
    media_ns = MediaNamespace(meetings, media, screens)
    floor_ns = FloorNamespace(meetings, floor)
    room_ns = RoomNamespace(meetings, ice, invitations)
    interp_ns = InterpretationNamespace(meetings, interpreting)
    room_ns.join_listeners.append(media_ns.attach_session)
    room_ns.join_listeners.append(floor_ns.attach_session)
    room_ns.join_listeners.append(interp_ns.attach_session)
    docs_ns = DocumentsNamespace(meetings, documents, floor)
    room_ns.join_listeners.append(docs_ns.attach_session)
    floor.speaker_listeners.append(
        lambda meeting_id, grant: documents.floor_moved(
            meeting_id, None if grant is None else grant.participant_id))
    app[DOCUMENTS] = documents
    app[SEARCH] = search_service = SearchService(store, documents)
    search_service.open()  # indexes captions and the floor log stored while it was down
    for namespace in (room_ns, media_ns, floor_ns, interp_ns, docs_ns):
        app[SIO].register_namespace(namespace)
    app[STORE], app[WORKER], app[MEETINGS], app[MEDIA] = store, worker, meetings, media
    app[FLOOR] = floor
    # trust: invitations admit, bind names and bar removed people
    meetings.admission_checks.append(invitations.check)
    meetings.leave_listeners.append(invitations.on_leave)
    app[INVITATIONS] = invitations
    app[INTERPRETING] = interpreting
    # captions, chat, transcript and the meeting's record (issue 12)
    captions = CaptionService(meetings, floor, caption_store)
    captions_ns = CaptionsNamespace(meetings, captions, caption_store, config.secret,
                                    config.base_url())
    chat = ChatService(meetings, floor, interpreting, chat_store)
    chat_ns = ChatNamespace(meetings, chat)
    for text_ns in (captions_ns, chat_ns):
        room_ns.join_listeners.append(text_ns.attach_session)
        app[SIO].register_namespace(text_ns)
    app[CAPTIONS], app[CAPTION_STORE] = captions, caption_store
    app[CHAT], app[CHAT_STORE] = chat, chat_store
    # the webcast: one process per meeting, taps on its router, the archive
    webcast = WebcastService(store, meetings, floor, config.data_dir / "webcast",
                             default_access=default_access(), captions=caption_store)
    app[WEBCAST] = webcast
    app[WEBCAST_ROUTES].bind(config=config, store=store, service=webcast,
                             meetings=meetings, floor=floor)
    await webcast.start()
    # the live state of every meeting, in one record in SQLite (meeting_server/live_state.py):
    # a restart puts back who may resume with the floor, the lock, the mutes, the rights,
    # the speakers' list and the booths. With several control-plane nodes the SQLite file
    # is shared and its meetings are other nodes' too: a node reads a meeting back when it
    # takes it over (a MeetingOwnership takeover step) instead
    live_state = LiveState(store, meetings, floor, interpreting, documents)
    if not config.meeting_ownership:
        await live_state.after_restart()
    meetings.start()
    ownership = None
    if config.meeting_ownership:  # several control-plane nodes (meeting_server/cluster.py)
        assert config.redis_url is not None
        ownership = MeetingOwnership(config.redis_url, config.redis_channel,
                                     Owner(config.node_id, config.base_url()), meetings, store)
        await ownership.start()
        app[OWNERSHIP] = ownership
        ownership.takeover_steps.append(live_state.take_over)
        ownership.lost_listeners.append(live_state.lost)  # its new owner writes it now
        room_ns.nodes = lambda: list(ownership.node_urls)
    try:
        yield
    finally:
        if ownership is not None:
            live_state.frozen = True  # the live state as it stood is kept for the next owner
        logger.info("shutting down: closing meetings and peer connections")
        await captions_ns.close()
        await chat_ns.close()
        await chat.close()
        await webcast.close()
        await media_ns.close()
        await floor_ns.close()
        await interp_ns.close()
        await docs_ns.close()
        await search_service.close()
        await documents.close()
        await meetings.close()
        await live_state.close()
        if ownership is not None:
            await ownership.close()  # after the meetings closed: released for another node
        await floor.close()
        await worker.close()
        await booth_log.close()
        await store.close()


async def start_workers(config: Config) -> MediaWorkers:
    """The SFU: ``config.workers`` worker processes (each installs its own ICE policy), or
    with 0 one worker in this process (docs/architecture.md, "Workers")."""
    seats = max(config.audio_slots, config.video_slots)
    if config.remote_workers != "off":
        assert config.redis_url is not None
        from sfu.worker_remote import ClusterWorkers  # the cluster: workers in Redis
        local = None if config.remote_workers == "only" else await _local_workers(config)
        cluster = ClusterWorkers(local, config.redis_url, config.redis_channel,
                                 config.worker_secret, seats)
        try:
            await cluster.start()
        except BaseException:
            await cluster.close()
            raise
        return cluster
    return await _local_workers(config)


async def _local_workers(config: Config) -> MediaWorkers:
    seats = max(config.audio_slots, config.video_slots)
    if config.workers == 0:
        aiortc_glue.install_ice_policy(config.rtc_addresses)  # process-wide aioice settings
        worker = Worker(ice_servers=config.ice_servers, rtc_addresses=config.rtc_addresses,
                        seats=seats, keyframe_interval_s=config.keyframe_interval_s,
                        rtc_port=config.rtc_port,
                        rtc_announced_address=config.rtc_announced_address)
        await worker.start()  # binds the one UDP port of the worker's WebRTC connections
        return LocalWorkers(worker)
    pool = WorkerPool(config.workers, {
        "iceServers": [s.to_json() for s in config.ice_servers],
        "rtcAddresses": list(config.rtc_addresses), "seats": seats,
        "keyframeIntervalS": config.keyframe_interval_s, "rtcPort": config.rtc_port,
        "rtcAnnouncedAddress": config.rtc_announced_address},
        max_consumers=config.worker_max_consumers)
    await pool.start()
    return pool


def _page_language(request: web.Request) -> str:
    return ui_language.choose(request.cookies.get(ui_language.COOKIE),
                              request.headers.get("Accept-Language"))


async def index(request: web.Request) -> web.Response:
    language = _page_language(request)
    return web.Response(text=ui_language.text("index", language) + "\n",
                        headers={"Content-Language": language})


async def healthz(request: web.Request) -> web.Response:
    counts: dict[str, Any] = await request.app[WORKER].counts()
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
    headers = {"Content-Language": language, "Vary": "Cookie, Accept-Language"}
    ownership = request.app.get(OWNERSHIP)
    if ownership is not None:  # the page may reconnect to the cluster's other nodes
        headers["Content-Security-Policy"] = cluster_policy(ownership.node_urls)
    return web.Response(text=page, content_type="text/html", headers=headers)


def cluster_policy(node_urls: list[str]) -> str:
    """The page's Content-Security-Policy with several nodes: Socket.IO may also connect to
    the other living nodes (HTTP polling and WebSocket)."""
    sources = []
    for url in node_urls:
        sources += [url, url.replace("http", "ws", 1)]
    return security.CONTENT_SECURITY_POLICY.replace("connect-src 'self'",
                                           " ".join(["connect-src 'self'", *sources]))


def cluster_origin_allowed(app: web.Application, origin: str | None,
                           environ: dict[str, Any]) -> bool:
    """Socket.IO's CORS check with several nodes: the node's own origin (python-engineio's
    default) or a page of another node of the cluster, living or dead in the last day (a
    dead node's pages reconnect here)."""
    if not origin:
        return True  # not a browser's cross-origin request
    scheme, host = environ.get("wsgi.url_scheme", "http"), environ.get("HTTP_HOST", "")
    own = {f"{scheme}://{host}"}
    if "HTTP_X_FORWARDED_PROTO" in environ or "HTTP_X_FORWARDED_HOST" in environ:
        scheme = environ.get("HTTP_X_FORWARDED_PROTO", scheme).split(",")[0].strip()
        host = environ.get("HTTP_X_FORWARDED_HOST", host).split(",")[0].strip()
        own.add(f"{scheme}://{host}")
    if origin in own:
        return True
    ownership = app.get(OWNERSHIP)
    return ownership is not None and origin.rstrip("/") in ownership.known_urls


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
