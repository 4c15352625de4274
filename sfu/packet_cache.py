"""The packets a consumer sent recently, by sequence number, to answer NACKs (RFC 4585).

aiortc's sender keeps no history of packets it did not encode itself, so the SFU keeps its
own: a fixed ring, indexed by sequence number modulo its size.

A forwarded packet is the producer's payload behind a header of the consumer's own (and, for
VP8, a descriptor whose picture ids were rewritten in its first bytes): every consumer of one
producer sends the same payload bytes after those first bytes. So an entry may be kept as
its own ``head`` (header and the rewritten start) and a reference to the producer's
``body``, of which the first ``skip`` bytes are replaced by the head's end: a 1,100-byte
video packet costs each consumer about 60 bytes instead of a copy of itself, and a
listener's cache about 100 KB instead of 1.2 MB. The ring's lists are allocated at the
first ``put``: a slot that never sends (an empty seat, no screen shared) costs nothing.
"""

from __future__ import annotations

from array import array


class PacketCache:
    __slots__ = ("_bodies", "_heads", "_seqs", "_size", "_skips", "_times")

    def __init__(self, size: int = 1024) -> None:
        if size <= 0 or size & (size - 1):
            raise ValueError("cache size must be a power of two")
        self._size = size
        # allocated at the first put; numbers in machine-word arrays (no object per entry)
        self._seqs: array[int] = array("l")
        self._heads: list[bytes | None] = []
        self._bodies: list[bytes] = []
        self._skips: array[int] = array("B")
        self._times: array[float] = array("d")

    def _allocate(self) -> None:
        size = self._size
        self._seqs = array("l", [-1]) * size
        self._heads = [None] * size
        self._bodies = [b""] * size
        self._skips = array("B", [0]) * size
        self._times = array("d", [0.0]) * size

    def put(self, sequence_number: int, packet: bytes, now: float, body: bytes = b"",
            skip: int = 0) -> None:
        """Keep the packet sent with this sequence number: ``packet`` followed by ``body``
        without its first ``skip`` (0..255) bytes (``body`` is kept by reference, not
        copied)."""
        if not self._seqs:
            self._allocate()
        i = sequence_number & (self._size - 1)
        self._seqs[i] = sequence_number
        self._heads[i] = packet
        self._bodies[i] = body
        self._skips[i] = skip
        self._times[i] = now

    def get(self, sequence_number: int, now: float, max_age_s: float = 1.0) -> bytes | None:
        """The packet sent with this sequence number, if it is still cached and younger than
        ``max_age_s`` (an older retransmission arrives too late to be played)."""
        if not self._seqs:
            return None
        i = sequence_number & (self._size - 1)
        if self._seqs[i] != sequence_number or now - self._times[i] > max_age_s:
            return None
        head = self._heads[i]
        body = self._bodies[i]
        if head is None or not body:
            return head
        return head + body[self._skips[i]:]

    def body(self, sequence_number: int) -> bytes | None:
        """The body object the entry for this sequence number refers to, if any."""
        if not self._seqs:
            return None
        i = sequence_number & (self._size - 1)
        if self._seqs[i] != sequence_number or not self._bodies[i]:
            return None
        return self._bodies[i]

    def clear(self) -> None:
        """Forget every packet (and give back the ring's memory)."""
        self._seqs, self._skips, self._times = array("l"), array("B"), array("d")
        self._heads, self._bodies = [], []

    @property
    def allocated(self) -> bool:
        """Whether the ring holds memory (something was put since the last clear)."""
        return bool(self._seqs)
