"""The documents' JSON API over HTTP (docs/protocol.md, "Documents").

Every call carries the caller's invite token (``Authorization: Bearer`` or the ``t`` query
parameter, which an ``<img>`` needs) and works inside that token's meeting only. Answers are
``{"ok": true, ...}`` or ``{"ok": false, "error": {"code", "message"}}`` with a matching HTTP
status.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web
from pydantic import ConfigDict, Field

from documents.formats import MAX_UPLOAD_BYTES, FileRejected

from .errors import RostrumError
from .http_auth import http_invite
from .schemas import Payload, parse
from .tokens import Invite, TokenError

STATUS = {"bad-request": 400, "unauthorized": 401, "forbidden": 403, "not-found": 404,
          "conflict": 409, "too-large": 413, "internal": 500}
REJECTED_STATUS = 422  # the file is not accepted (unsupported-type, encrypted, zip-bomb...)


class StrictPayload(Payload):
    """No type coercion: ``"2"`` is not a page number."""

    model_config = ConfigDict(strict=True)

class NewDocumentPayload(StrictPayload):
    number: str = Field(min_length=1, max_length=40)
    title: str = Field(min_length=1, max_length=300)
    source: str = Field(default="", max_length=200)
    name: str = Field(default="", max_length=80)


class AcceptPayload(StrictPayload):
    name: str = Field(default="", max_length=80)


class UploadFields(StrictPayload):
    language: str = Field(min_length=2, max_length=2, pattern=r"^[a-z]{2}$")
    revision: int = Field(default=0, ge=0, le=20)
    name: str = Field(default="", max_length=80)


class SearchParams(StrictPayload):
    q: str = Field(min_length=1, max_length=200)
    language: str | None = Field(default=None, max_length=2)
    kind: str | None = Field(default=None, max_length=40)


def _error(code: str, message: str, status: int | None = None) -> web.Response:
    return web.json_response({"ok": False, "error": {"code": code, "message": message}},
                             status=status or STATUS.get(code, 400))


def add_routes(app: web.Application, service_key: Any, config_key: Any) -> None:
    def invite_of(request: web.Request) -> Invite:
        token = request.query.get("t", "")
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            token = header[7:]
        try:
            invite = http_invite(request, request.app[config_key].secret, token)
        except TokenError as exc:
            raise RostrumError("unauthorized", str(exc)) from None
        if invite.meeting_id != request.match_info["meeting_id"]:
            raise RostrumError("forbidden", "the token is for another meeting")
        return invite

    def handler(fn: Any) -> Any:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            try:
                result: web.StreamResponse = await fn(request, invite_of(request),
                                                      request.app[service_key])
                return result
            except RostrumError as exc:
                return _error(exc.code, exc.message)
            except FileRejected as exc:
                return _error(exc.code, exc.message, 413 if exc.code == "too-large"
                              else REJECTED_STATUS)
        return wrapped

    async def body_json(request: web.Request) -> Any:
        try:
            return await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise RostrumError("bad-request", "the body must be a JSON object") from None
        except web.HTTPRequestEntityTooLarge:
            raise RostrumError("too-large", "the body is too large") from None

    async def list_documents(request: web.Request, invite: Invite, svc: Any) -> web.Response:
        return web.json_response({"ok": True, "documents": await svc.register(invite),
                                  "mayManage": invite.role in ("chair", "secretariat")})

    async def create_document(request: web.Request, invite: Invite, svc: Any) -> web.Response:
        p = parse(NewDocumentPayload, await body_json(request))
        doc = await svc.create(invite, p.number, p.title, p.source, p.name)
        return web.json_response({"ok": True, "document": doc}, status=201)

    async def get_document(request: web.Request, invite: Invite, svc: Any) -> web.Response:
        doc = await svc.get(invite, request.match_info["document_id"])
        return web.json_response({"ok": True, "document": doc})

    async def accept_document(request: web.Request, invite: Invite, svc: Any) -> web.Response:
        p = parse(AcceptPayload, await body_json(request) if request.can_read_body else {})
        doc = await svc.accept(invite, request.match_info["document_id"], p.name)
        return web.json_response({"ok": True, "document": doc})

    async def upload(request: web.Request, invite: Invite, svc: Any) -> web.Response:
        fields: dict[str, Any] = {k: v for k, v in request.query.items() if k != "t"}
        if "revision" in fields:
            text = fields["revision"]
            if not text.isdigit():
                raise RostrumError("bad-request", "revision must be a whole number")
            fields["revision"] = int(text)
        p = parse(UploadFields, fields)
        if not request.content_type.startswith("multipart/form-data"):
            raise RostrumError("bad-request", "send the file as multipart/form-data, field"
                               " 'file'")
        reader = await request.multipart()
        data: bytes | None = None
        file_name = ""
        while True:
            part = await reader.next()
            if part is None:
                break
            if getattr(part, "name", None) != "file":
                continue
            file_name = part.filename or ""  # type: ignore[union-attr]
            chunks: list[bytes] = []
            size = 0
            while chunk := await part.read_chunk(256 * 1024):  # type: ignore[union-attr]
                size += len(chunk)
                if size > MAX_UPLOAD_BYTES:
                    raise FileRejected("too-large", "the file is over"
                                       f" {MAX_UPLOAD_BYTES // 2**20} MB")
                chunks.append(chunk)
            data = b"".join(chunks)
            break
        if data is None:
            raise RostrumError("bad-request", "no 'file' field in the form")
        job = await svc.upload(invite, request.match_info["document_id"], data, file_name,
                               p.language, p.revision, p.name)
        return web.json_response({"ok": True, "job": job.to_json()}, status=202)

    async def job(request: web.Request, invite: Invite, svc: Any) -> web.Response:
        return web.json_response({"ok": True, "job": (await svc.job(
            invite, request.match_info["job_id"])).to_json()})

    def page_urls(meeting_id: str, version_id: str, pages: list[dict[str, Any]]
                  ) -> list[dict[str, Any]]:
        base = f"/api/meetings/{meeting_id}/versions/{version_id}/pages"
        out = []
        for p in pages:
            images = {w: {**img, "url": f"{base}/{p['page']}/{w}.webp"}
                      for w, img in p["images"].items()}
            for img in images.values():
                img.pop("file", None)
            out.append({**p, "images": images, "text": f"{base}/{p['page']}/text"})
        return out

    async def version_pages(request: web.Request, invite: Invite, svc: Any) -> web.Response:
        version_id = request.match_info["version_id"]
        doc, version = await svc.version(invite, version_id)
        pages = page_urls(invite.meeting_id, version_id, await svc.pages(invite, version_id))
        return web.json_response({"ok": True, "documentId": doc.id, "number": doc.number,
                                  "title": doc.title, "language": version.language,
                                  "revision": version.revision, "pages": pages})

    def page_number(request: web.Request) -> int:
        text = request.match_info["page"]
        if not text.isdigit() or len(text) > 4:
            raise RostrumError("not-found", "no such page")
        return int(text)

    async def page_image(request: web.Request, invite: Invite, svc: Any) -> web.StreamResponse:
        path = await svc.page_file(invite, request.match_info["version_id"],
                                   page_number(request), int(request.match_info["width"]))
        return web.FileResponse(path, headers={
            "Content-Type": "image/webp", "Cache-Control": "private, max-age=86400, immutable"})

    async def page_text(request: web.Request, invite: Invite, svc: Any) -> web.StreamResponse:
        path = await svc.page_file(invite, request.match_info["version_id"],
                                   page_number(request), None)
        layer = json.loads(await asyncio.to_thread(path.read_text, encoding="utf-8"))
        source = layer.get("source") or ""
        return web.json_response({"ok": True, "runs": layer["runs"],
                                  "text": source or layer["text"], "exact": bool(source)},
                                 headers={"Cache-Control": "private, max-age=86400"})

    async def search(request: web.Request, invite: Invite, svc: Any) -> web.Response:
        params = {k: v for k, v in request.query.items() if k != "t" and v != ""}
        p = parse(SearchParams, params)
        result = await svc.search(invite, p.q, p.language, p.kind)
        return web.json_response({"ok": True, "query": p.q, **result})

    base = "/api/meetings/{meeting_id}"
    doc = base + "/documents/{document_id:[0-9a-f]{16}}"
    version = base + "/versions/{version_id:[0-9a-f]{16}}"
    app.router.add_get(base + "/documents", handler(list_documents))
    app.router.add_post(base + "/documents", handler(create_document))
    app.router.add_get(base + "/documents/jobs/{job_id:[0-9a-f]{16}}", handler(job))
    app.router.add_get(doc, handler(get_document))
    app.router.add_post(doc + "/accept", handler(accept_document))
    app.router.add_post(doc + "/versions", handler(upload))
    app.router.add_get(version + "/pages", handler(version_pages))
    app.router.add_get(version + r"/pages/{page}/{width:\d{2,4}}.webp", handler(page_image))
    app.router.add_get(version + "/pages/{page}/text", handler(page_text))
    app.router.add_get(base + "/search", handler(search))
