"""The packets a consumer sent recently, by sequence number, to answer NACKs (RFC 4585).

aiortc's sender keeps no history of packets it did not encode itself, so the SFU keeps its
own: a fixed ring, indexed by sequence number modulo its size.
"""

from __future__ import annotations


class PacketCache:
    __slots__ = ("_packets", "_seqs", "_size", "_times")

    def __init__(self, size: int = 1024) -> None:
        if size <= 0 or size & (size - 1):
            raise ValueError("cache size must be a power of two")
        self._size = size
        self._seqs: list[int] = [-1] * size
        self._packets: list[bytes | None] = [None] * size
        self._times: list[float] = [0.0] * size

    def put(self, sequence_number: int, packet: bytes, now: float) -> None:
        i = sequence_number & (self._size - 1)
        self._seqs[i] = sequence_number
        self._packets[i] = packet
        self._times[i] = now

    def get(self, sequence_number: int, now: float, max_age_s: float = 1.0) -> bytes | None:
        """The packet sent with this sequence number, if it is still cached and younger than
        ``max_age_s`` (an older retransmission arrives too late to be played)."""
        i = sequence_number & (self._size - 1)
        if self._seqs[i] != sequence_number or now - self._times[i] > max_age_s:
            return None
        return self._packets[i]

    def clear(self) -> None:
        self._seqs = [-1] * self._size
        self._packets = [None] * self._size
