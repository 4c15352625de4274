"""The chat's rules, pure: who may write where, who reads a message, the per-participant rate
limit, and the text itself (plain text, never markup).

Channels:
- ``meeting``: everyone in the meeting reads it; everyone but observers writes, unless the
  chair has switched public chat off (the chair and the secretariat still may: an
  announcement).
- ``secretariat``: a private line to the chair and the secretariat. A participant's messages
  form a *thread* read by that participant and by every chair and secretariat member; a
  chair or secretariat member answers into a participant's thread (``to``), or writes to the
  chair and secretariat alone (no ``to``).
- ``booth``: the interpreters of one booth (ISO 20109's booth intercom): written and read by
  the interpreters assigned to that booth now, never heard or seen by the floor.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

CHANNELS = ("meeting", "secretariat", "booth")
TEAM_ROLES = frozenset({"chair", "secretariat"})  # the private line's readers
READ_ONLY_ROLES = frozenset({"observer"})
MAX_TEXT_CHARS = 1000

# a burst of 5 messages, then one every 2 s (30 a minute) per participant
RATE_BURST = 5
RATE_PER_S = 0.5


class ChatRuleError(Exception):
    def __init__(self, code: str, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class Author:
    participant_id: str
    name: str
    role: str
    member_state: str = ""
    booth: str | None = None  # the booth's language, for an interpreter assigned to one


@dataclass(frozen=True, slots=True)
class Address:
    """Where a message goes: channel, the booth's language, the private thread's owner."""

    channel: str
    booth: str = ""
    thread: str = ""  # secretariat channel: the participant it is with ("" the team alone)


def address(author: Author, channel: str, to: str | None, public_enabled: bool,
            present: Iterable[str]) -> Address:
    """Check that ``author`` may write on ``channel`` (to ``to``) and say where it goes."""
    if channel not in CHANNELS:
        raise ChatRuleError("bad-request", f"no chat channel {channel!r}")
    if channel == "meeting":
        if to is not None:
            raise ChatRuleError("bad-request", "a message to the meeting has no addressee")
        if author.role in READ_ONLY_ROLES:
            raise ChatRuleError("forbidden", "observers read the meeting's chat; they do not"
                                " write in it")
        if not public_enabled and author.role not in TEAM_ROLES:
            raise ChatRuleError("forbidden", "the chair has switched the meeting's chat off")
        return Address("meeting")
    if channel == "secretariat":
        if author.role not in TEAM_ROLES:
            if to is not None and to != author.participant_id:
                raise ChatRuleError("forbidden", "a private message goes to the chair and"
                                    " the secretariat only")
            return Address("secretariat", thread=author.participant_id)
        if to is None:
            return Address("secretariat")
        if to not in set(present):
            raise ChatRuleError("not-found", "that participant is not in the meeting")
        return Address("secretariat", thread=to)
    if author.booth is None:
        raise ChatRuleError("forbidden", "the booth channel is for the interpreters of a booth")
    if to is not None:
        raise ChatRuleError("bad-request", "a booth message goes to the whole booth")
    return Address("booth", booth=author.booth)


def may_read(address: Address, reader_id: str, reader_role: str,
             reader_booth: str | None) -> bool:
    if address.channel == "meeting":
        return True
    if address.channel == "secretariat":
        return reader_role in TEAM_ROLES or (bool(address.thread)
                                             and address.thread == reader_id)
    return reader_booth is not None and reader_booth == address.booth


def clean(text: str) -> str:
    """The text as stored and shown: control characters but line breaks removed, at most
    three consecutive line breaks, blank space trimmed. It stays plain text: every client
    renders it as text (``textContent``), so ``<script>`` is shown, never run."""
    out = "".join(ch for ch in text.replace("\r\n", "\n").replace("\r", "\n")
                  if ch in "\n\t" or (ord(ch) >= 32 and ord(ch) != 127)).strip()
    while "\n\n\n\n" in out:
        out = out.replace("\n\n\n\n", "\n\n\n")
    if not out:
        raise ChatRuleError("bad-request", "an empty message is not sent")
    if len(out) > MAX_TEXT_CHARS:
        raise ChatRuleError("too-large", f"a message is at most {MAX_TEXT_CHARS} characters")
    return out


@dataclass
class RateLimit:
    """A token bucket: ``burst`` messages at once, then ``per_s`` a second."""

    burst: float = RATE_BURST
    per_s: float = RATE_PER_S
    tokens: float = RATE_BURST
    at: float | None = None

    def take(self, now: float) -> None:
        """Spend one message, or raise ``rate-limited`` saying how long to wait."""
        if self.at is not None:
            self.tokens = min(self.burst, self.tokens + (now - self.at) * self.per_s)
        self.at = now
        if self.tokens < 1.0:
            wait = (1.0 - self.tokens) / self.per_s
            raise ChatRuleError("rate-limited", f"you are sending messages too fast: wait"
                                f" {max(1, round(wait))} s", retry_after_s=round(wait, 2))
        self.tokens -= 1.0
