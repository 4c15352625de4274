"""Signed invite tokens: a role in one meeting, until an expiry time.

Format: ``P "." base64url(HMAC-SHA256(secret, P))`` where ``P = base64url(json payload)``
without padding: the MAC covers the ASCII text of the first part, as in a JWS compact
serialisation, so a verifier never has to re-serialise JSON (docs/protocol.md gives the recipe
and a test mints a token from it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

ROLES: tuple[str, ...] = (
    "chair", "secretariat", "delegate", "interpreter", "captioner", "observer",
)
MAX_TOKEN_LENGTH = 1024
# No invite outlives this, whatever its signed expiry says (a leaked secret or a careless mint
# cannot make a link that works for ever); the server's own setting may be shorter.
MAX_LIFETIME_S = 366 * 24 * 3600


class TokenError(Exception):
    """The token is missing, malformed, forged or expired."""


@dataclass(frozen=True, slots=True)
class Invite:
    meeting_id: str
    role: str
    expires_at: int
    nonce: str
    # the invitation this token was issued for (meeting_server/invitations.py): a personal
    # one or a revocable shared link; None for a plain link (the demo's)
    invitation: str | None = None


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    pad = "=" * (-len(text) % 4)
    try:
        return base64.urlsafe_b64decode(text + pad)
    except (ValueError, TypeError) as exc:
        raise TokenError("token is not base64url") from exc


def _sign(secret: str, payload_part: str) -> str:
    mac = hmac.new(secret.encode("utf-8"), payload_part.encode("ascii"), hashlib.sha256)
    return _b64encode(mac.digest())


def issue(secret: str, meeting_id: str, role: str, ttl_s: int, now: float | None = None,
          invitation: str | None = None) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    if not secret:
        raise ValueError("empty secret")
    now = time.time() if now is None else now
    payload: dict[str, object] = {"m": meeting_id, "r": role, "exp": int(now + ttl_s),
                                  "n": secrets.token_hex(4)}
    if invitation is not None:
        payload["i"] = invitation
    payload_part = _b64encode(json.dumps(payload, separators=(",", ":")).encode("utf-8"))
    return f"{payload_part}.{_sign(secret, payload_part)}"


def verify(secret: str, token: object, now: float | None = None,
           max_lifetime_s: int = MAX_LIFETIME_S) -> Invite:
    """Check signature and expiry; return the invite or raise TokenError. An expiry more than
    ``max_lifetime_s`` away is refused: no honest issuer mints such a token."""
    if not secret:
        raise ValueError("empty secret")
    if not isinstance(token, str) or not token:
        raise TokenError("token missing")
    if len(token) > MAX_TOKEN_LENGTH:
        raise TokenError("token too long")
    payload_part, sep, signature = token.partition(".")
    if not sep or not payload_part or not signature:
        raise TokenError("token is malformed")
    try:
        payload_part.encode("ascii")
        signature.encode("ascii")
    except UnicodeEncodeError as exc:
        raise TokenError("token is malformed") from exc
    if not hmac.compare_digest(_sign(secret, payload_part), signature):
        raise TokenError("token signature is invalid")
    try:
        payload = json.loads(_b64decode(payload_part))
    except (ValueError, UnicodeDecodeError) as exc:
        raise TokenError("token payload is not JSON") from exc
    if not isinstance(payload, dict):
        raise TokenError("token payload is malformed")
    meeting_id, role, exp, nonce = (payload.get(k) for k in ("m", "r", "exp", "n"))
    if not isinstance(meeting_id, str) or role not in ROLES or not isinstance(exp, int) \
            or isinstance(exp, bool) or not isinstance(nonce, str):
        raise TokenError("token payload is malformed")
    invitation = payload.get("i")
    if invitation is not None and (not isinstance(invitation, str) or not invitation
                                   or len(invitation) > 64):
        raise TokenError("token payload is malformed")
    now = time.time() if now is None else now
    if exp < now:
        raise TokenError("token has expired")
    if exp > now + min(max_lifetime_s, MAX_LIFETIME_S):
        raise TokenError("token lifetime is over the server's maximum")
    return Invite(meeting_id=meeting_id, role=str(role), expires_at=exp, nonce=str(nonce),
                  invitation=invitation)
