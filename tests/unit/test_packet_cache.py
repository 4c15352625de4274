"""sfu/packet_cache.py: the ring of recently sent packets that answers NACKs."""

from __future__ import annotations

import pytest

from sfu.packet_cache import PacketCache


def test_put_get() -> None:
    cache = PacketCache()
    cache.put(100, b"p100", now=10.0)
    cache.put(101, b"p101", now=10.0)
    assert cache.get(100, now=10.0) == b"p100"
    assert cache.get(101, now=10.5) == b"p101"


def test_missing_sequence_number() -> None:
    cache = PacketCache()
    assert cache.get(0, now=0.0) is None
    assert cache.get(5, now=0.0) is None
    cache.put(5, b"x", now=0.0)
    assert cache.get(6, now=0.0) is None


def test_default_size_is_1024_and_slot_is_reused_1024_later() -> None:
    cache = PacketCache()
    cache.put(7, b"old", now=1.0)
    cache.put(7 + 1024, b"new", now=1.0)
    assert cache.get(7 + 1024, now=1.0) == b"new"
    assert cache.get(7, now=1.0) is None


def test_neighbours_not_overwritten() -> None:
    cache = PacketCache()
    for seq in range(1024):
        cache.put(seq, seq.to_bytes(2, "big"), now=0.0)
    cache.put(1024 + 10, b"new", now=0.0)
    assert cache.get(10, now=0.0) is None
    assert cache.get(9, now=0.0) == (9).to_bytes(2, "big")
    assert cache.get(11, now=0.0) == (11).to_bytes(2, "big")
    assert cache.get(1023, now=0.0) == (1023).to_bytes(2, "big")


def test_sequence_wrap_around() -> None:
    cache = PacketCache()
    seqs = [(65530 + i) & 0xFFFF for i in range(12)]
    for seq in seqs:
        cache.put(seq, f"p{seq}".encode(), now=2.0)
    for seq in seqs:
        assert cache.get(seq, now=2.0) == f"p{seq}".encode()
    # 65535 and 1023 share a slot with size 1024
    cache.put(1023, b"later", now=2.0)
    assert cache.get(65535, now=2.0) is None
    assert cache.get(1023, now=2.0) == b"later"


def test_same_sequence_number_overwritten() -> None:
    cache = PacketCache()
    cache.put(3, b"first", now=0.0)
    cache.put(3, b"second", now=0.5)
    assert cache.get(3, now=0.5) == b"second"


def test_max_age() -> None:
    cache = PacketCache()
    cache.put(1, b"x", now=100.0)
    assert cache.get(1, now=100.0) == b"x"
    assert cache.get(1, now=101.0) == b"x"  # exactly max_age is still fresh
    assert cache.get(1, now=101.001) is None
    assert cache.get(1, now=100.2, max_age_s=0.1) is None
    assert cache.get(1, now=100.05, max_age_s=0.1) == b"x"
    assert cache.get(1, now=150.0, max_age_s=60.0) == b"x"


def test_overwrite_refreshes_age() -> None:
    cache = PacketCache()
    cache.put(1, b"old", now=0.0)
    cache.put(1, b"new", now=5.0)
    assert cache.get(1, now=5.5) == b"new"


def test_stale_entry_does_not_hide_newer_put() -> None:
    cache = PacketCache(16)
    cache.put(2, b"a", now=0.0)
    assert cache.get(2, now=10.0) is None
    cache.put(18, b"b", now=10.0)
    assert cache.get(18, now=10.0) == b"b"
    assert cache.get(2, now=10.0) is None


@pytest.mark.parametrize("size", [1, 2, 4, 64, 512, 2048, 32768])
def test_power_of_two_sizes_accepted(size: int) -> None:
    cache = PacketCache(size)
    cache.put(0, b"a", now=0.0)
    cache.put(size, b"b", now=0.0)
    assert cache.get(0, now=0.0) is None
    assert cache.get(size, now=0.0) == b"b"
    if size > 1:
        cache.put(size - 1, b"c", now=0.0)
        assert cache.get(size - 1, now=0.0) == b"c"
        assert cache.get(size, now=0.0) == b"b"


@pytest.mark.parametrize("size", [0, -1, -1024, 3, 5, 6, 100, 1000, 1023, 1025])
def test_non_power_of_two_rejected(size: int) -> None:
    with pytest.raises(ValueError, match="power of two"):
        PacketCache(size)


def test_small_cache_ring() -> None:
    cache = PacketCache(4)
    for seq in range(10):
        cache.put(seq, bytes([seq]), now=0.0)
    assert [cache.get(seq, now=0.0) for seq in range(10)] == \
        [None] * 6 + [bytes([6]), bytes([7]), bytes([8]), bytes([9])]


def test_clear() -> None:
    cache = PacketCache(8)
    for seq in range(8):
        cache.put(seq, b"x", now=0.0)
    cache.clear()
    assert all(cache.get(seq, now=0.0) is None for seq in range(8))
    cache.put(3, b"again", now=1.0)
    assert cache.get(3, now=1.0) == b"again"
    assert cache.get(4, now=1.0) is None


def test_clear_on_empty_cache() -> None:
    cache = PacketCache()
    cache.clear()
    assert cache.get(0, now=0.0) is None


def test_slots_and_no_dict() -> None:
    cache = PacketCache()
    with pytest.raises(AttributeError):
        cache.extra = 1  # type: ignore[attr-defined]


def test_nothing_allocated_until_the_first_put_and_after_clear() -> None:
    cache = PacketCache()
    assert not cache.allocated
    assert cache.get(1, now=0.0) is None
    cache.put(1, b"x", now=0.0)
    assert cache.allocated
    cache.clear()
    assert not cache.allocated
    assert cache.get(1, now=0.0) is None


def test_head_and_shared_body_rebuild_the_packet_sent() -> None:
    body = bytes(range(200)) * 6  # the producer's payload, shared by every consumer
    header = b"\x90\x60\x00\x07" + b"\x00" * 8 + b"\xbe\xde\x00\x01\x10\x01\x00\x00"
    rewritten_start = b"\x90\x80\x81\x23\x45\x01"  # a VP8 descriptor with new ids
    sent = header + rewritten_start + body[6:]
    cache = PacketCache(8)
    cache.put(7, header + rewritten_start, 1.0, body, 6)
    assert cache.get(7, now=1.5) == sent
    # the body is kept by reference, not copied
    assert cache._bodies[7] is body
    # an empty body: the head is the whole packet
    cache.put(8, b"whole", 1.0, b"", 0)
    assert cache.get(8, now=1.0) == b"whole"
    # a short body (fewer bytes than the skip): the head holds all of it
    cache.put(9, header + b"\x10\x01", 1.0, b"\x10\x02", 2)
    assert cache.get(9, now=1.0) == header + b"\x10\x01"
