"""The first frames on a remote worker's TCP connection: a mutual HMAC challenge/response
with the cluster's shared secret (``ROSTRUM_WORKER_SECRET``). Pure: values in, bytes out.

The worker speaks first; each side proves it knows the secret over both sides' nonces, so
neither a stranger on the network nor an impostor registered in Redis gets a session::

    worker  -> {"type": "Challenge", "worker": <id>, "nonce": <32 hex bytes>}
    control -> {"type": "Answer", "nonce": <32 hex bytes>, "mac": HMAC(secret, "answer", w, c)}
    worker  -> {"type": "Welcome", "mac": HMAC(secret, "welcome", w, c)}

(``w`` and ``c``: the worker's and the control plane's nonces; HMAC-SHA256.) After the
Welcome the connection carries the boundary's frames (sfu/wire.py) exactly as a local worker's
Unix socket does. The frames use the same 4-byte length prefix; a body here is at most
``MAX_AUTH_FRAME`` bytes. Anything else is an ``AuthError`` and the connection is closed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import struct
from dataclasses import dataclass
from typing import Any

MAX_AUTH_FRAME = 1024
NONCE_BYTES = 32
AUTH_TIMEOUT_S = 5.0  # a connection that has not authenticated by then is closed
_LENGTH = struct.Struct(">I")
_HEX = re.compile(r"[0-9a-f]+")


class AuthError(ValueError):
    """A handshake frame that is malformed, unexpected or whose MAC is wrong."""


@dataclass(frozen=True, slots=True)
class Challenge:
    worker: str
    nonce: str


@dataclass(frozen=True, slots=True)
class Answer:
    nonce: str
    mac: str


@dataclass(frozen=True, slots=True)
class Welcome:
    mac: str


def new_nonce() -> str:
    return secrets.token_hex(NONCE_BYTES)


def check_secret(secret: str) -> str:
    """The shared secret, stripped; ``ValueError`` when it is too short to be one."""
    value = secret.strip()
    if len(value) < 16:
        raise ValueError("the worker secret must be at least 16 characters")
    return value


def _mac(secret: str, label: str, worker_nonce: str, control_nonce: str) -> str:
    message = f"rostrum-worker/{label}/{worker_nonce}/{control_nonce}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def answer(secret: str, challenge: Challenge, control_nonce: str) -> Answer:
    return Answer(control_nonce, _mac(secret, "answer", challenge.nonce, control_nonce))


def welcome(secret: str, challenge: Challenge, reply: Answer) -> Welcome:
    """The worker's Welcome for a control plane's Answer; ``AuthError`` if the Answer's MAC
    is wrong."""
    if not hmac.compare_digest(reply.mac, _mac(secret, "answer", challenge.nonce, reply.nonce)):
        raise AuthError("the answer's MAC is wrong (another secret?)")
    return Welcome(_mac(secret, "welcome", challenge.nonce, reply.nonce))


def check_welcome(secret: str, challenge: Challenge, reply: Answer, hello: Welcome) -> None:
    """``AuthError`` unless the worker's Welcome proves it knows the secret."""
    if not hmac.compare_digest(hello.mac, _mac(secret, "welcome", challenge.nonce,
                                                reply.nonce)):
        raise AuthError("the worker's welcome MAC is wrong (another secret?)")


def encode(value: Challenge | Answer | Welcome) -> bytes:
    """One handshake value as a frame (length prefix and JSON)."""
    fields: dict[str, Any] = {"type": type(value).__name__}
    fields.update({name: getattr(value, name) for name in value.__slots__})
    body = json.dumps(fields, separators=(",", ":")).encode()
    return _LENGTH.pack(len(body)) + body


def length(header: bytes) -> int:
    """The body length a handshake frame's header announces; ``AuthError`` over the limit."""
    (size,) = _LENGTH.unpack(header)
    if size > MAX_AUTH_FRAME:
        raise AuthError(f"a handshake frame of {size} bytes (at most {MAX_AUTH_FRAME})")
    return int(size)


def _nonce(value: Any, where: str) -> str:
    if not isinstance(value, str) or len(value) != 2 * NONCE_BYTES or not _HEX.fullmatch(value):
        raise AuthError(f"{where}: {2 * NONCE_BYTES} lowercase hex digits expected")
    return value


def _mac_field(value: Any, where: str) -> str:
    if not isinstance(value, str) or len(value) != 64 or not _HEX.fullmatch(value):
        raise AuthError(f"{where}: an HMAC-SHA256 in lowercase hex expected")
    return value


def decode(body: bytes, expected: type[Challenge] | type[Answer] | type[Welcome]
           ) -> Challenge | Answer | Welcome:
    """A handshake frame's body as the value ``expected`` (``AuthError`` otherwise)."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise AuthError("a handshake frame is JSON") from None
    if not isinstance(data, dict) or data.get("type") != expected.__name__:
        kind = data.get("type") if isinstance(data, dict) else type(data).__name__
        article = "an" if expected.__name__[0] in "AEIOU" else "a"
        raise AuthError(f"{article} {expected.__name__} was expected, not {kind!r}")
    if set(data) != {"type", *expected.__slots__}:
        raise AuthError(f"{expected.__name__}: fields {sorted(expected.__slots__)} expected")
    if expected is Challenge:
        worker = data["worker"]
        if not isinstance(worker, str) or not 0 < len(worker) <= 128:
            raise AuthError("Challenge.worker: a worker id expected")
        return Challenge(worker, _nonce(data["nonce"], "Challenge.nonce"))
    if expected is Answer:
        return Answer(_nonce(data["nonce"], "Answer.nonce"), _mac_field(data["mac"], "Answer.mac"))
    return Welcome(_mac_field(data["mac"], "Welcome.mac"))


__all__ = ["AUTH_TIMEOUT_S", "Answer", "AuthError", "Challenge", "Welcome", "answer",
           "check_secret", "check_welcome", "decode", "encode", "length", "new_nonce",
           "welcome"]
