"""Short-lived TURN credentials per participant, in the shared-secret REST scheme that coturn
implements (`use-auth-secret`, `static-auth-secret`; draft-uberti-behave-turn-rest-00, the
long-term credential mechanism of RFC 8489 §9.2 with a computed password):

    username   = "<unix expiry>:<participant id>"
    credential = base64(HMAC-SHA1(secret, username))

The TURN server knows only the secret: it recomputes the password and refuses a username
whose expiry has passed, so a credential that leaks stops working by itself and no
per-user state is kept anywhere.

The URLs handed out are checked once, at start (`check_turn_url`): a browser throws on a
malformed one when it builds a peer connection, so a typo would break every page's media."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
import time
from typing import Any

# RFC 7065: turn:HOST[:PORT][?transport=udp|tcp] and turns:HOST[:PORT][?transport=tcp]
_TURN_URL = re.compile(r"(turns?):(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::([0-9]{1,5}))?"
                       r"(?:\?transport=([a-z]+))?")
_HOST_NAME = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?")


def check_turn_url(url: str) -> str:
    """``url`` if it is a TURN URL a browser takes (RFC 7065), else ValueError saying why.

    `turn:` runs over UDP, or TCP with `?transport=tcp` (default port 3478); `turns:` runs
    over TLS on TCP (default port 5349): it takes no transport but `tcp`, since browsers have
    no TURN over DTLS."""
    shape = ("turn:HOST[:PORT][?transport=udp|tcp] or turns:HOST[:PORT][?transport=tcp]"
             " (RFC 7065)")
    match = _TURN_URL.fullmatch(url)
    if match is None:
        raise ValueError(f"{url!r} is not a TURN URL: {shape}")
    scheme, host, port, transport = match.groups()
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise ValueError(f"{url!r}: {host} is not an IPv6 address") from None
    elif _HOST_NAME.fullmatch(host) is None:
        raise ValueError(f"{url!r}: {host!r} is not a host name or IPv4 address")
    elif all(label.isdigit() for label in host.rstrip(".").split(".")):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise ValueError(f"{url!r}: {host} is not an IPv4 address") from None
    if port is not None and not 1 <= int(port) <= 65535:
        raise ValueError(f"{url!r}: port {port} is not 1..65535")
    if transport not in (None, "udp", "tcp"):
        raise ValueError(f"{url!r}: transport {transport!r} is not udp or tcp")
    if scheme == "turns" and transport == "udp":
        raise ValueError(f"{url!r}: turns: is TURN over TLS, on TCP; browsers have no TURN"
                         " over DTLS (use ?transport=tcp, or no transport)")
    return url


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
