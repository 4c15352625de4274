"""Caption ingest over HTTP with the semantics of Zoom's closed-caption API, so a CART program
that posts to Zoom posts here unchanged. Pure rules, no I/O.

Zoom's API (support.zoom.us, "Closed captioning with REST API"): each captioning session has a
URL carrying a secret; every POST adds ``seq`` (a counter that grows by one for each new
caption and is *kept* on retries) and ``lang`` (``en-US``); the body is the caption as plain
UTF-8 text (not form-encoded; ``\\n`` breaks a line); ``GET .../closedcaption/seq`` answers the
``seq`` of the last successful post, so a restarted program resumes after it. Zoom asks clients
to retry every failure with the same ``seq``.

What follows from that, and what this server does:
- ``seq`` greater than the last accepted: a new caption. One greater is the normal case; more
  than one greater is a *gap* (posts were lost for good, or the program restarted its count
  higher): the caption is accepted and the gap reported, nothing waits for the missing ones.
- ``seq`` equal to the last accepted: a retry of a post that did arrive (its answer was lost).
  Answered 200, shown and stored once.
- ``seq`` below the last accepted: out of order (a late retry, or a post overtaken by a newer
  one). Answered 200 and ignored: the last accepted ``seq`` is a high-water mark, as the
  ``GET .../seq`` contract implies, and a line older than the one on screen is not shown.
- The first post of a URL is accepted whatever its ``seq`` (programs start at 0 or 1).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

MAX_BODY_BYTES = 4096
MAX_LINE_CHARS = 1000


@dataclass(frozen=True, slots=True)
class Decision:
    kind: str  # "new" | "repeat" | "old"
    gap: int = 0  # how many seq values were skipped before a new caption

    @property
    def accepted(self) -> bool:
        return self.kind == "new"


def decide(last_seq: int | None, seq: int) -> Decision:
    """What a post with ``seq`` is, given the last accepted ``seq`` of its URL."""
    if last_seq is None:
        return Decision("new")
    if seq == last_seq:
        return Decision("repeat")
    if seq < last_seq:
        return Decision("old")
    return Decision("new", gap=seq - last_seq - 1)


class IngestError(Exception):
    """A post that cannot be accepted; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def parse_seq(value: str | None) -> int:
    """``seq`` from the query. Zoom answers a missing ``seq`` with 403; so does this."""
    if value is None or value == "":
        raise IngestError(403, "missing seq query parameter")
    if not value.isascii() or not value.isdigit() or len(value) > 15:
        raise IngestError(400, "seq must be a non-negative integer")
    return int(value)


def check_lang(lang: str | None, language: str) -> None:
    """``lang`` (``fr-FR``, ``fr``; optional) must name the URL's caption language: a program
    left on ``en-US`` while captioning French is told so instead of mislabelling lines."""
    if not lang:
        return
    primary = lang.replace("_", "-").split("-", 1)[0].lower()
    if primary != language:
        raise IngestError(400, f"lang {lang!r} does not match this URL's language"
                               f" {language!r}; use the URL of that language")


def caption_text(body: bytes) -> str:
    """The caption in a post's body: UTF-8 plain text; CR LF and CR become line breaks,
    other control characters go, surrounding blank space is trimmed."""
    if len(body) > MAX_BODY_BYTES:
        raise IngestError(413, f"caption body is over {MAX_BODY_BYTES} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise IngestError(400, "caption body is not UTF-8 text") from None
    text = clean_text(text.replace("\r\n", "\n").replace("\r", "\n"))
    if not text:
        raise IngestError(400, "caption body is empty")
    if len(text) > MAX_LINE_CHARS:
        raise IngestError(413, f"caption is over {MAX_LINE_CHARS} characters")
    return text


def clean_text(text: str) -> str:
    """Text as shown: no control characters but line breaks and tabs (as spaces)."""
    out = "".join(" " if ch == "\t" else ch for ch in text
                  if ch == "\n" or ch == "\t" or (ord(ch) >= 32 and ord(ch) != 127))
    return "\n".join(line.strip() for line in out.strip().split("\n"))


MAX_GENERATIONS = 10_000  # rotations of one URL (a bound on the revoked-secret check)


def ingest_secret(server_secret: str, meeting_id: str, language: str,
                  generation: int = 0) -> str:
    """The secret of a meeting's ingest URL for one language: derived from the server's
    secret and the URL's *generation* (0 until the secretariat first rotates it; the store
    keeps the number), so it survives restarts; it changes when the server secret does."""
    suffix = f"\x00{generation}" if generation else ""
    mac = hmac.new(server_secret.encode("utf-8"),
                   f"caption-ingest\x00{meeting_id}\x00{language}{suffix}".encode(),
                   hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:24]).decode("ascii")


def secret_matches(server_secret: str, meeting_id: str, language: str, given: str,
                   generation: int = 0) -> bool:
    return hmac.compare_digest(
        ingest_secret(server_secret, meeting_id, language, generation).encode(),
        given.encode("utf-8", "replace"))


def check_secret(server_secret: str, meeting_id: str, language: str, given: str,
                 generation: int, revoked: bool) -> None:
    """Accept the current generation's secret (unless revoked); an earlier generation's, or
    the current one once revoked, is told so (the program needs the new URL, retrying will
    not help); anything else is a wrong secret."""
    if not given:
        raise IngestError(403, "missing or wrong token for this caption URL")
    if not revoked and secret_matches(server_secret, meeting_id, language, given, generation):
        return
    last = generation if revoked else generation - 1
    for old in range(last, max(-1, last - MAX_GENERATIONS), -1):
        if secret_matches(server_secret, meeting_id, language, given, old):
            raise IngestError(403, "this caption URL was revoked by the chair or the"
                                   " secretariat: ask them for the new one")
    raise IngestError(403, "missing or wrong token for this caption URL")
