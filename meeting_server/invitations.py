"""Invitations: personal links per delegate, revocable shared links, and removal that holds.

The secretariat registers a delegate by name and member state and gets a personal link for
them; the token names the invitation (`"i"`), so the server knows who is coming: the join
takes the registered name and member state, whatever the form says, and a removal bars that
invitation for the rest of the meeting. A shared link ("everyone of the Sector Members") is an
invitation too, so it can be revoked. People who join through a shared link cannot be told
apart by the link, so their removal bars the browser they came from (the device key the page
sends at connect); to keep a person out for sure, invite them personally or revoke the link.

Records live in SQLite (the store's thread): the invitation register and the barred devices.
Tokens themselves are never stored: a lost link is revoked and issued again.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import sqlite3
import time
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from .config import Config
from .errors import RostrumError
from .schemas import JoinPayload, Payload, parse
from .store import Store
from .tokens import ROLES, Invite, TokenError, issue, verify

logger = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS invitations (
    id TEXT PRIMARY KEY,
    meeting_id TEXT NOT NULL REFERENCES meetings(id),
    kind TEXT NOT NULL,
    role TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    organization TEXT NOT NULL DEFAULT '',
    member_state TEXT NOT NULL DEFAULT '',
    label TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    expires_at INTEGER NOT NULL,
    revoked_at REAL,
    removed_at REAL
);
CREATE INDEX IF NOT EXISTS invitations_meeting ON invitations(meeting_id, created_at);
CREATE TABLE IF NOT EXISTS barred_devices (
    meeting_id TEXT NOT NULL REFERENCES meetings(id),
    device TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (meeting_id, device)
);
"""

COLUMNS = ("id", "meeting_id", "kind", "role", "name", "organization", "member_state", "label",
           "created_at", "created_by", "expires_at", "revoked_at", "removed_at")
MANAGERS = frozenset({"chair", "secretariat"})
DEVICE_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def device_key(value: object) -> str:
    """The browser's device key from a connect's auth, or "" when absent or malformed."""
    return value if isinstance(value, str) and DEVICE_RE.match(value) else ""


@dataclass(frozen=True, slots=True)
class Invitation:
    id: str
    meeting_id: str
    kind: str  # "personal" | "shared"
    role: str
    name: str
    organization: str
    member_state: str
    label: str
    created_at: float
    created_by: str
    expires_at: int
    revoked_at: float | None
    removed_at: float | None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "role": self.role, "name": self.name,
                "organization": self.organization, "memberState": self.member_state,
                "label": self.label, "createdAt": _iso(self.created_at),
                "expiresAt": _iso(self.expires_at), "revokedAt": _iso(self.revoked_at),
                "removedAt": _iso(self.removed_at)}


def _iso(ts: float | None) -> str | None:
    return None if ts is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


# payloads of the HTTP API (docs/protocol.md, "Invitations")

RoleName = Literal["chair", "secretariat", "delegate", "interpreter", "captioner", "observer"]


class PersonalInvitationPayload(Payload):
    name: str = Field(min_length=1, max_length=80)
    memberState: str = Field(default="", max_length=80)
    organization: str = Field(default="", max_length=120)
    role: RoleName = "delegate"
    ttlS: int | None = Field(default=None, ge=60)


class SharedLinkPayload(Payload):
    role: RoleName = "delegate"
    label: str = Field(default="", max_length=120)
    ttlS: int | None = Field(default=None, ge=60)


REVOKED = "this invitation was revoked"
REMOVED = "you were removed from this meeting"


class InvitationService:
    """The register of invitations; an admission check and a leave listener of
    MeetingService (wired in app.py)."""

    def __init__(self, config: Config, store: Store) -> None:
        self.config = config
        self.store = store
        store.add_schema(SCHEMA)
        # invitation id -> why it reads nothing any more (revoked, its holder removed): the
        # HTTP APIs ask this synchronously (http_auth.py); load() fills it at start-up
        self.refused: dict[str, str] = {}

    async def load(self) -> None:
        """The refusals of earlier runs (after the store is open)."""
        rows = await self.store.run(lambda db: db.execute(
            "SELECT id, revoked_at, removed_at FROM invitations"
            " WHERE revoked_at IS NOT NULL OR removed_at IS NOT NULL").fetchall())
        for invitation_id, revoked_at, _removed_at in rows:
            self.refused[invitation_id] = REVOKED if revoked_at is not None else REMOVED

    async def create(self, meeting_id: str, kind: str, role: str, *, by: Invite,
                     name: str = "", organization: str = "", member_state: str = "",
                     label: str = "", ttl_s: int | None = None) -> tuple[Invitation, str]:
        """Register an invitation and mint its token. The secretariat may invite anyone but a
        chair; the lifetime is the server's link lifetime unless shorter or longer is asked
        (never over the maximum token lifetime)."""
        if by.role not in MANAGERS or by.meeting_id != meeting_id:
            raise RostrumError("forbidden", "only the chair or the secretariat of this meeting")
        if role == "chair" and by.role != "chair":
            raise RostrumError("forbidden", "only the chair invites a chair")
        if role not in ROLES:
            raise RostrumError("bad-request", f"role: no role {role!r}")
        ttl = self.config.token_ttl_s if ttl_s is None else ttl_s
        if ttl > self.config.max_token_lifetime_s:
            raise RostrumError("bad-request", "ttlS: over the server's maximum token lifetime")
        now = time.time()
        invitation = Invitation(
            id=secrets.token_hex(8), meeting_id=meeting_id, kind=kind, role=role, name=name,
            organization=organization, member_state=member_state, label=label,
            created_at=now, created_by=by.invitation or by.role, expires_at=int(now + ttl),
            revoked_at=None, removed_at=None)

        def run(db: sqlite3.Connection) -> None:
            db.execute(f"INSERT INTO invitations ({', '.join(COLUMNS)}) VALUES"
                       f" ({', '.join('?' for _ in COLUMNS)})",
                       tuple(getattr(invitation, c) for c in COLUMNS))

        await self.store.run(run)
        token = issue(self.config.secret, meeting_id, role, ttl, now=now,
                      invitation=invitation.id)
        logger.info("[%s] %s invitation %s for %s (%s) by %s", meeting_id, kind, invitation.id,
                    role, name or label, by.role)
        return invitation, token

    async def get(self, meeting_id: str, invitation_id: str) -> Invitation | None:
        def run(db: sqlite3.Connection) -> Invitation | None:
            row = db.execute(f"SELECT {', '.join(COLUMNS)} FROM invitations"
                             " WHERE id = ? AND meeting_id = ?",
                             (invitation_id, meeting_id)).fetchone()
            return Invitation(*row) if row else None

        return await self.store.run(run)

    async def list(self, meeting_id: str) -> list[Invitation]:
        def run(db: sqlite3.Connection) -> list[Invitation]:
            rows = db.execute(f"SELECT {', '.join(COLUMNS)} FROM invitations"
                              " WHERE meeting_id = ? ORDER BY created_at", (meeting_id,))
            return [Invitation(*r) for r in rows.fetchall()]

        return await self.store.run(run)

    async def revoke(self, meeting_id: str, invitation_id: str, by: Invite) -> Invitation:
        if by.role not in MANAGERS or by.meeting_id != meeting_id:
            raise RostrumError("forbidden", "only the chair or the secretariat of this meeting")
        invitation = await self.get(meeting_id, invitation_id)
        if invitation is None:
            raise RostrumError("not-found", "no such invitation in this meeting")
        if invitation.role == "chair" and by.role != "chair":
            raise RostrumError("forbidden", "only the chair revokes a chair's invitation")
        if invitation.revoked_at is None:
            now = time.time()
            await self.store.run(lambda db: db.execute(
                "UPDATE invitations SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (now, invitation_id)))
            logger.info("[%s] invitation %s revoked by %s", meeting_id, invitation_id, by.role)
        self.refused[invitation_id] = REVOKED
        revoked = await self.get(meeting_id, invitation_id)
        assert revoked is not None
        return revoked

    # MeetingService hooks

    async def check(self, invite: Invite, device: str) -> None:
        """Admission: a revoked link, a removed person's invitation or a barred device is
        refused (tokens without an invitation, such as the demo's links, pass)."""
        if device:
            barred = await self.store.run(lambda db: db.execute(
                "SELECT 1 FROM barred_devices WHERE meeting_id = ? AND device = ?",
                (invite.meeting_id, device)).fetchone())
            if barred:
                raise RostrumError("forbidden", "you were removed from this meeting")
        if invite.invitation is None:
            return
        invitation = await self.get(invite.meeting_id, invite.invitation)
        if invitation is None:
            raise RostrumError("unauthorized", "token names an unknown invitation")
        if invitation.revoked_at is not None:
            raise RostrumError("unauthorized", "this invitation was revoked")
        if invitation.removed_at is not None:
            raise RostrumError("forbidden", "you were removed from this meeting")

    async def profile(self, invite: Invite, payload: JoinPayload) -> JoinPayload:
        """A personal invitation joins under its registered name and member state."""
        if invite.invitation is None:
            return payload
        invitation = await self.get(invite.meeting_id, invite.invitation)
        if invitation is None or invitation.kind != "personal":
            return payload
        return payload.model_copy(update={
            "name": invitation.name, "memberState": invitation.member_state,
            "organization": invitation.organization or payload.organization})

    async def on_leave(self, participant: Any, reason: str) -> None:
        """A removal bars the person: their personal invitation, else their device."""
        if reason != "removed":
            return
        now = time.time()
        invitation = (await self.get(participant.meeting_id, participant.invitation)
                      if participant.invitation else None)
        if invitation is not None and invitation.kind == "personal":
            await self.store.run(lambda db: db.execute(
                "UPDATE invitations SET removed_at = ? WHERE id = ?", (now, invitation.id)))
            self.refused.setdefault(invitation.id, REMOVED)
        if participant.device:
            await self.store.run(lambda db: db.execute(
                "INSERT OR IGNORE INTO barred_devices (meeting_id, device, at) VALUES (?, ?, ?)",
                (participant.meeting_id, participant.device, now)))
        logger.info("[%s %s] removed: invitation %s, device barred: %s",
                    participant.meeting_id, participant.id,
                    invitation.id if invitation else "-", bool(participant.device))


INVITATIONS = web.AppKey("invitations", InvitationService)


def add_routes(app: web.Application) -> None:
    """The secretariat's HTTP API (docs/protocol.md, "Invitations"): a chair or secretariat
    token of the meeting in ``Authorization: Bearer``."""

    async def manager(request: web.Request) -> Invite:
        service = request.app[INVITATIONS]
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        try:
            invite = verify(service.config.secret, token,
                            max_lifetime_s=service.config.max_token_lifetime_s)
        except TokenError as exc:
            raise _error(401, "unauthorized", str(exc)) from None
        try:
            await service.check(invite, "")
        except RostrumError as exc:
            raise _error(401 if exc.code == "unauthorized" else 403, exc.code,
                         exc.message) from None
        if invite.meeting_id != request.match_info["meeting_id"] or invite.role not in MANAGERS:
            raise _error(403, "forbidden", "only the chair or the secretariat of this meeting")
        return invite

    async def body(request: web.Request) -> Any:
        try:
            return await request.json()
        except ValueError:
            raise _error(400, "bad-request", "the body must be a JSON object") from None

    def link(request: web.Request, meeting_id: str, token: str) -> str:
        return f"{request.app[INVITATIONS].config.base_url()}/m/{meeting_id}?t={token}"

    async def create_personal(request: web.Request) -> web.Response:
        by = await manager(request)
        service = request.app[INVITATIONS]
        try:
            p = parse(PersonalInvitationPayload, await body(request))
            invitation, token = await service.create(
                by.meeting_id, "personal", p.role, by=by, name=p.name,
                organization=p.organization, member_state=p.memberState, ttl_s=p.ttlS)
        except RostrumError as exc:
            raise _rostrum(exc) from None
        return web.json_response({"ok": True, "invitation": invitation.to_json(),
                                  "link": link(request, by.meeting_id, token)}, status=201)

    async def create_shared(request: web.Request) -> web.Response:
        by = await manager(request)
        service = request.app[INVITATIONS]
        try:
            p = parse(SharedLinkPayload, await body(request))
            invitation, token = await service.create(by.meeting_id, "shared", p.role, by=by,
                                                     label=p.label, ttl_s=p.ttlS)
        except RostrumError as exc:
            raise _rostrum(exc) from None
        return web.json_response({"ok": True, "invitation": invitation.to_json(),
                                  "link": link(request, by.meeting_id, token)}, status=201)

    async def list_all(request: web.Request) -> web.Response:
        by = await manager(request)
        invitations = await request.app[INVITATIONS].list(by.meeting_id)
        return web.json_response({"ok": True,
                                  "invitations": [i.to_json() for i in invitations]})

    async def revoke(request: web.Request) -> web.Response:
        by = await manager(request)
        try:
            invitation = await request.app[INVITATIONS].revoke(
                by.meeting_id, request.match_info["invitation_id"], by)
        except RostrumError as exc:
            raise _rostrum(exc) from None
        return web.json_response({"ok": True, "invitation": invitation.to_json()})

    base = "/api/meetings/{meeting_id}"
    app.router.add_post(base + "/invitations", create_personal)
    app.router.add_post(base + "/links", create_shared)
    app.router.add_get(base + "/invitations", list_all)
    app.router.add_post(base + "/invitations/{invitation_id}/revoke", revoke)


_STATUS = {"bad-request": 400, "too-large": 413, "unauthorized": 401, "forbidden": 403,
           "not-found": 404}


def _error(status: int, code: str, message: str) -> web.HTTPException:
    """An HTTP error whose body is the protocol's error ack."""
    body = json.dumps({"ok": False, "error": {"code": code, "message": message}})
    error = web.HTTPException(text=body, content_type="application/json")
    error.set_status(status)
    return error


def _rostrum(exc: RostrumError) -> web.HTTPException:
    return _error(_STATUS.get(exc.code, 400), exc.code, exc.message)
