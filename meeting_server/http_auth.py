"""The invite of an HTTP request (documents, search, exports, record, transcript, webcast):
the token's signature, expiry and lifetime (tokens.verify), and its invitation's standing,
so that a revoked link or a removed person's invitation reads nothing over HTTP either (the
Socket.IO join runs the full admission check, InvitationService.check)."""

from __future__ import annotations

from aiohttp import web

from .invitations import INVITATIONS
from .tokens import MAX_LIFETIME_S, Invite, TokenError, verify


def http_invite(request: web.Request, secret: str, token: str) -> Invite:
    """``TokenError`` when the token is bad, or names an invitation that was revoked or whose
    holder was removed."""
    service = request.app.get(INVITATIONS)
    max_lifetime = service.config.max_token_lifetime_s if service is not None else MAX_LIFETIME_S
    invite = verify(secret, token, max_lifetime_s=max_lifetime)
    if service is not None and invite.invitation is not None:
        reason = service.refused.get(invite.invitation)
        if reason is not None:
            raise TokenError(reason)
    return invite
