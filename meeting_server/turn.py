"""Short-lived TURN credentials per participant, in the shared-secret REST scheme that coturn
implements (`use-auth-secret`, `static-auth-secret`; draft-uberti-behave-turn-rest-00, the
long-term credential mechanism of RFC 8489 §9.2 with a computed password):

    username   = "<unix expiry>:<participant id>"
    credential = base64(HMAC-SHA1(secret, username))

The TURN server knows only the secret: it recomputes the password and refuses a username
whose expiry has passed, so a credential that leaks stops working by itself and no
per-user state is kept anywhere."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any


def turn_credentials(secret: str, urls: tuple[str, ...], user: str, ttl_s: int,
                     now: float | None = None) -> dict[str, Any]:
    """An RTCIceServer for ``user`` (a participant id), valid ``ttl_s`` seconds from ``now``."""
    if not secret or not urls:
        raise ValueError("TURN credentials need a secret and at least one URL")
    if ":" in user:
        raise ValueError("a TURN user may not contain ':'")
    expiry = int(time.time() if now is None else now) + ttl_s
    username = f"{expiry}:{user}"
    mac = hmac.new(secret.encode("utf-8"), username.encode("utf-8"), hashlib.sha1).digest()
    return {"urls": list(urls), "username": username,
            "credential": base64.b64encode(mac).decode("ascii")}
