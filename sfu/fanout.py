"""The fan-out's two implementations: the C send path (``sfu._fanout``) and the Python
reference, and the choice between them (``ROSTRUM_FANOUT``).

A consumer keeps its forwarding state (offsets, last sequence number sent, the sent ring
and the NACK cache) in one object, ``Consumer._fw``: a :class:`PyState` on the Python path,
an ``sfu._fanout.State`` on the C path. Both have the same attributes and methods, so every
decision in sfu/consumer.py (switches, padding, NACK answers, loss and RTT figures) reads and
writes the same names whichever path writes the packets. On the C path one call per incoming
packet, :func:`forward`, rewrites, SRTP-protects and sends it for every consumer fed by that
producer (sendmmsg on the worker's UDP socket) and hands back the consumers whose next
packet needs a decision (a switch, a resync, not ready).

``ROSTRUM_FANOUT``: ``c`` (the default when the extension was built) or ``python``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from types import ModuleType
from typing import Any

from .packet_cache import PacketCache

__all__ = ["MAX_PAYLOAD", "MODES", "FanoutError", "PyState", "forward", "native",
           "native_state_type", "new_state", "select_mode"]

native: ModuleType | None
try:
    from . import _fanout as _native

    native = _native
except ImportError:  # built without a compiler or libsrtp2's headers: the Python path
    native = None

MODES = ("c", "python")
SENT_RING = 1024
SENT_RING_MASK = SENT_RING - 1
# NACK cache entries of a video consumer (both paths; sfu/_fanout.c CACHE): a repair older
# than 1 s is refused anyway, and the most a client sends is 1 Mbit/s (the screen), ~115
# packets/s: 512 hold several seconds of it and a keyframe burst of a 1080p screen
CACHE_SIZE = 512 if native is None else int(native.CACHE)
# a cached VP8 packet's own bytes end after at most the descriptor's first 6 bytes (the
# picture id and TL0PICIDX a consumer rewrites); the rest is the producer's payload
VP8_HEAD = 6
# the largest payload the C path writes (bigger packets take the Python path)
MAX_PAYLOAD = 1588 if native is None else int(native.MAX_PAYLOAD)


class FanoutError(ValueError):
    """ROSTRUM_FANOUT names no path this build has."""


def select_mode(environ: Mapping[str, str] | None = None) -> str:
    """The send path ``ROSTRUM_FANOUT`` asks for: ``c`` (default when built) or ``python``.
    Asking for ``c`` without the extension, or for anything else, is an error."""
    env = os.environ if environ is None else environ
    value = env.get("ROSTRUM_FANOUT", "").strip().lower()
    if not value:
        return "c" if native is not None else "python"
    if value not in MODES:
        raise FanoutError(f"ROSTRUM_FANOUT must be one of {', '.join(MODES)}, not {value!r}")
    if value == "c" and native is None:
        raise FanoutError("ROSTRUM_FANOUT=c but sfu._fanout was not built (a C compiler and "
                          "libsrtp2's headers: scripts/setup.sh)")
    return value


class PyState:
    """One consumer's forwarding state on the Python path (the same names as
    ``sfu._fanout.State``). The sent ring and the NACK cache are allocated at the first
    packet sent: a slot that never sends (an empty seat) holds neither."""

    __slots__ = ("_cache", "_sent_seq", "_sent_time", "bytes_sent", "feed", "frame_open",
                 "last_seq", "last_ts", "last_wall", "packets_sent", "seq_offset", "ts_offset",
                 "tx", "upstream_gaps")

    capable = 0  # C never writes a consumer whose state this is

    def __init__(self, video: bool = False) -> None:
        self.seq_offset = 0
        self.ts_offset = 0
        self.last_seq = 0
        self.last_ts = 0
        self.last_wall = 0.0
        self.frame_open = False
        self.upstream_gaps = 0
        self.packets_sent = 0
        self.bytes_sent = 0
        self.tx: Any = None
        self.feed: Any = None  # the C state's; never read on this path
        self._sent_seq: list[int] = []
        self._sent_time: list[float] = []
        self._cache = PacketCache(CACHE_SIZE) if video else None

    def configure(self, **_: Any) -> None:
        """Nothing to configure: the Python path reads the consumer's own fields."""

    @property
    def allocated(self) -> bool:
        """Whether the sent ring or the NACK cache holds memory (something was sent)."""
        return bool(self._sent_seq) or (self._cache is not None and self._cache.allocated)

    @property
    def cache_size(self) -> int:
        """NACK cache entries (0: audio)."""
        return CACHE_SIZE if self._cache is not None else 0

    def mark_sent(self, seq: int, now: float) -> None:
        if not self._sent_seq:
            self._sent_seq = [-1] * SENT_RING
            self._sent_time = [0.0] * SENT_RING
        i = seq & SENT_RING_MASK
        self._sent_seq[i] = seq
        self._sent_time[i] = now

    def sent_time(self, seq: int) -> float:
        if not self._sent_seq:
            return 0.0
        i = seq & SENT_RING_MASK
        return self._sent_time[i] if self._sent_seq[i] == seq else 0.0

    def forget_sent(self, seq: int) -> None:
        i = seq & SENT_RING_MASK
        if self._sent_seq and self._sent_seq[i] == seq:
            self._sent_time[i] = 0.0

    def cache_put(self, seq: int, data: bytes, now: float, body: bytes = b"", skip: int = 0
                  ) -> None:
        """Keep ``data + body[skip:]`` for NACKs (``body`` by reference, not copied)."""
        if not 0 <= skip <= 255 or skip > len(body):
            raise ValueError("skip is 0..255 and at most the body's length")
        if self._cache is not None:
            self._cache.put(seq & 0xFFFF, data, now, body, skip)

    def cache_get(self, seq: int, now: float, max_age_s: float = 1.0) -> bytes | None:
        return None if self._cache is None else self._cache.get(seq, now, max_age_s)

    def cache_body(self, seq: int) -> bytes | None:
        """The payload object the entry for ``seq`` refers to (for tests: shared)."""
        return None if self._cache is None else self._cache.body(seq)

    def cache_clear(self) -> None:
        if self._cache is not None:
            self._cache.clear()


def new_state(video: bool, mode: str) -> Any:
    """A consumer's forwarding state for the send path ``mode``."""
    if mode == "c" and native is not None:
        return native.State(video=video)
    return PyState(video)


def native_state_type() -> type[Any]:
    """The C path's state type (PyState's when the extension is not built)."""
    state_type: type[Any] = PyState if native is None else native.State
    return state_type


def audio_level_byte(level: tuple[bool, int] | None) -> int:
    """The ssrc-audio-level extension's byte (RFC 6464), -1 for none."""
    if level is None:
        return -1
    return (0x80 if level[0] else 0) | (level[1] & 0x7F)


def abs_send_time_value(wall: float) -> int:
    """abs-send-time (6.18 fixed-point seconds, 24 bits) as an integer."""
    return int(wall * (1 << 18)) & 0xFFFFFF


def forward(producer: Any, consumers: Iterable[Any], packet: Any, wall: float, now: float
            ) -> list[Any]:
    """The C path: send ``packet`` (an aiortc RtpPacket of ``producer``) to every consumer
    of ``consumers`` that C can write and that is fed by ``producer``; return the others,
    in order, for ``Consumer.forward_now``."""
    assert native is not None
    result: list[Any] = native.forward(
        producer, consumers, packet.sequence_number, packet.timestamp, bool(packet.marker),
        packet.payload, audio_level_byte(packet.extensions.audio_level),
        abs_send_time_value(wall), now)
    return result
