"""Search across the deployment: the documents, the final captions and the floor log of every
meeting whose invite token the requester presents (docs/protocol.md, "Search").

A token is the only proof of a meeting here, as everywhere in Rostrum: a delegate's browser
presents the tokens of the meetings it joined (web/static/search.js keeps them), the
secretariat those of the meetings it serves. Each meeting's rules apply inside it: documents
as `DocumentService` lets that role read them, captions for every role (they were shown to
everyone in the meeting), interventions for every role (the floor was too, and the webcast
banner named the speaker publicly).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Annotated, Any

from aiohttp import web
from pydantic import Field

from documents.proceedings import BATCH, SOURCES, catch_up, search_lines

from .documents import DocumentService
from .documents_api import STATUS, StrictPayload
from .errors import RostrumError
from .http_auth import http_invite
from .schemas import parse
from .store import Store
from .tokens import MAX_TOKEN_LENGTH, Invite, TokenError

logger = logging.getLogger(__name__)

MAX_MEETINGS = 50
ALL_SOURCES = ("documents", *SOURCES)
SUPPORTED = ("ar", "zh", "en", "fr", "ru", "es")


class SearchRequest(StrictPayload):
    q: str = Field(min_length=1, max_length=200)
    tokens: list[Annotated[str, Field(max_length=MAX_TOKEN_LENGTH)]] = Field(
        min_length=1, max_length=MAX_MEETINGS)
    language: str | None = Field(default=None, max_length=2)
    kind: str | None = Field(default=None, max_length=40)
    sources: list[Annotated[str, Field(max_length=20)]] = Field(
        default_factory=lambda: list(ALL_SOURCES), min_length=1, max_length=3)


class SearchService:
    def __init__(self, store: Store, documents: DocumentService) -> None:
        self.store = store
        self.documents = documents
        self._task: asyncio.Task[None] | None = None

    def open(self) -> None:
        """Catch the index up in the background, so that the first search after a restart
        (or an upgrade that brings this index to a deployment with years of captions) does
        not wait for it; a search meanwhile catches up too, on the same store thread."""
        self._task = asyncio.ensure_future(self._catch_up_at_start())

    async def _catch_up_at_start(self) -> None:
        try:
            n = await self.catch_up()
        except Exception:
            logger.exception("search: catching the proceedings index up failed")
        else:
            if n:
                logger.info("search: indexed %d caption and floor lines", n)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def catch_up(self) -> int:
        """Index the captions and interventions stored since the last call; returns the
        rows read."""
        total = 0
        while True:
            n: int = await self.store.run(lambda db: catch_up(db, self.documents.normaliser,
                                                              BATCH))
            total += n
            if n < BATCH:
                return total

    async def search(self, invites: list[Invite], text: str, language: str | None,
                     kind: str | None, sources: tuple[str, ...]) -> dict[str, Any]:
        unknown = set(sources) - set(ALL_SOURCES)
        if unknown:
            raise RostrumError("bad-request", "sources are some of"
                               f" {', '.join(ALL_SOURCES)}")
        titles: dict[str, str] = {}
        for invite in invites:
            record = await self.store.get_meeting(invite.meeting_id)
            if record is not None:
                titles[invite.meeting_id] = record.title
        present = [i for i in invites if i.meeting_id in titles]
        hits: list[dict[str, Any]] = []
        if "documents" in sources:  # checks language and kind first
            hits = await self.documents.search_many(present, text, language, kind)
        elif language is not None and language not in SUPPORTED:
            raise RostrumError("bad-request", f"language must be one of {', '.join(SUPPORTED)}")
        lines: list[dict[str, Any]] = []
        line_sources = tuple(s for s in SOURCES if s in sources)
        if line_sources and present:
            await self.catch_up()
            meeting_ids = tuple(titles)
            lines = await self.store.run(lambda db: search_lines(
                db, self.documents.normaliser, text, meeting_ids, language, line_sources))
        for hit in [*hits, *lines]:
            hit["meetingTitle"] = titles[hit["meetingId"]]
        for line in lines:
            line["link"] = f"/m/{line['meetingId']}/archive#at={line['at']:.1f}"
        return {"meetings": [{"id": m, "title": t} for m, t in titles.items()],
                "hits": hits, "lines": lines}


def _error(code: str, message: str) -> web.Response:
    return web.json_response({"ok": False, "error": {"code": code, "message": message}},
                             status=STATUS.get(code, 400))


def add_routes(app: web.Application, service_key: Any, config_key: Any) -> None:
    def invites_of(request: web.Request, tokens: list[str]) -> list[Invite]:
        secret = request.app[config_key].secret
        invites = []
        for n, token in enumerate(tokens, 1):
            try:
                invites.append(http_invite(request, secret, token))
            except TokenError as exc:
                raise RostrumError("unauthorized", f"token {n}: {exc}") from None
        return invites

    async def answer(request: web.Request, body: dict[str, Any]) -> web.Response:
        try:
            p = parse(SearchRequest, body)
            invites = invites_of(request, p.tokens)
            svc: SearchService = request.app[service_key]
            result = await svc.search(invites, p.q, p.language, p.kind, tuple(p.sources))
        except RostrumError as exc:
            return _error(exc.code, exc.message)
        return web.json_response({"ok": True, "query": p.q, **result})

    async def get(request: web.Request) -> web.Response:
        tokens = request.query.getall("t", [])
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            tokens = [header[7:], *tokens]
        body: dict[str, Any] = {k: v for k, v in request.query.items()
                                if k in ("q", "language", "kind") and v != ""}
        body["tokens"] = tokens
        if "source" in request.query:
            body["sources"] = [s for s in request.query["source"].split(",") if s]
        return await answer(request, body)

    async def post(request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _error("bad-request", "the body must be a JSON object")
        if not isinstance(body, dict):
            return _error("bad-request", "the body must be a JSON object")
        return await answer(request, body)

    app.router.add_get("/api/search", get)
    app.router.add_post("/api/search", post)
