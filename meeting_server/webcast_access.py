"""The webcast's access cookie (pure): an observer's invite token is exchanged once for a
signed cookie, so that no segment URL carries a token and a CDN can cache them.

Value: ``<meeting id>.<expiry unix s>.<base64url HMAC-SHA256(secret, "webcast|" meeting
"|" expiry)>``; the "webcast|" prefix keeps it from ever being taken for an invite token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

COOKIE_PREFIX = "rostrum_webcast_"
MAX_COOKIE_LENGTH = 200


class AccessError(Exception):
    """The cookie is missing, malformed, forged, expired or for another meeting."""


def cookie_name(meeting_id: str) -> str:
    return COOKIE_PREFIX + meeting_id


def _mac(secret: str, meeting_id: str, expires_at: int) -> str:
    mac = hmac.new(secret.encode("utf-8"), f"webcast|{meeting_id}|{expires_at}".encode(),
                   hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def sign(secret: str, meeting_id: str, expires_at: int) -> str:
    if not secret:
        raise ValueError("empty secret")
    return f"{meeting_id}.{expires_at}.{_mac(secret, meeting_id, expires_at)}"


def check(secret: str, value: str | None, meeting_id: str, now: float) -> None:
    if not value:
        raise AccessError("no webcast access: open the webcast link you were given")
    if len(value) > MAX_COOKIE_LENGTH or value.count(".") != 2:
        raise AccessError("malformed webcast access")
    meeting, expiry, mac = value.split(".")
    if not expiry.isdigit():
        raise AccessError("malformed webcast access")
    if not hmac.compare_digest(mac, _mac(secret, meeting, int(expiry))):
        raise AccessError("forged webcast access")
    if meeting != meeting_id:
        raise AccessError("this access is for another meeting")
    if now >= int(expiry):
        raise AccessError("webcast access expired: open the webcast link again")
