"""Sender reports from the router's one timer (sfu/router.py ``send_sender_reports``), and a
consumer's memory before it sends: fakes at the transport seam, real Router and Consumers."""

from __future__ import annotations

import time
from typing import Any

import pytest
from aiortc.rtp import RtcpPacket, RtcpSdesPacket, RtcpSrPacket, RtpPacket

from sfu import fanout
from sfu.consumer import Consumer
from sfu.producer import SenderClock
from sfu.router import REPORT_INTERVAL_S, Router, Subscription


class FakeDtls:
    """The DTLS transport's send seam: what a subscriber's connection was given."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    async def _send_rtp(self, data: bytes) -> None:
        self.sent.append(data)


class FakeProducer:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.consumers: set[Consumer] = set()
        self.sender_clock = SenderClock(ntp=1 << 40, rtp=1000, received_at=time.time(),
                                        clock_rate=48000 if kind == "audio" else 90000)
        self.keyframes = 0

    def request_keyframe(self) -> None:
        self.keyframes += 1


def _consumer(n: int, kind: str, transport: FakeDtls, mode: str | None = None) -> Consumer:
    consumer = Consumer(consumer_id=f"c{n}", subscriber_id="ben", kind=kind, slot=n,
                        purpose="seat", sender=None, fanout_mode=mode)
    consumer.transport = transport
    consumer.payload_type = 111 if kind == "audio" else 96
    consumer.cname = "ben-cname"
    consumer.ready = True
    return consumer


def _feed(consumer: Consumer, producer: FakeProducer, keyframe: bool = True) -> None:
    consumer.set_source(producer)  # type: ignore[arg-type]
    packet = RtpPacket(payload_type=111, sequence_number=10, timestamp=5000, ssrc=1,
                       payload=b"\x10" + bytes(30))
    consumer.forward_now(producer, packet, keyframe)  # type: ignore[arg-type]


async def test_one_compound_packet_per_connection_for_the_fed_slots_only() -> None:
    router = Router("m1")
    dtls = FakeDtls()
    audio, video, empty = (_consumer(1, "audio", dtls), _consumer(2, "video", dtls),
                           _consumer(3, "audio", dtls))
    _feed(audio, FakeProducer("audio"))
    _feed(video, FakeProducer("video"))
    router.subscriptions["ben"] = Subscription("ben", seats=[(audio, video), (empty, empty)],
                                               screen=None)
    tap_dtls = FakeDtls()
    tap_consumer = _consumer(4, "audio", tap_dtls)
    _feed(tap_consumer, FakeProducer("audio"))
    router.subscriptions["tap"] = Subscription("tap", seats=[], screen=None,
                                               channel_slot=tap_consumer, tap=True)
    now = time.monotonic()
    assert await router.send_sender_reports(now) == 1
    assert len(dtls.sent) == 1 and tap_dtls.sent == []  # a tap reports on its own
    packets = RtcpPacket.parse(dtls.sent[0])
    reports = [p for p in packets if isinstance(p, RtcpSrPacket)]
    assert sorted(r.ssrc for r in reports) == sorted([audio.ssrc, video.ssrc])
    sdes = [p for p in packets if isinstance(p, RtcpSdesPacket)]
    assert {c.ssrc for p in sdes for c in p.chunks} == {audio.ssrc, video.ssrc}
    # not due again before the interval, due after it
    assert await router.send_sender_reports(now + REPORT_INTERVAL_S[0] - 0.01) == 0
    assert await router.send_sender_reports(now + REPORT_INTERVAL_S[1] + 0.01) == 1
    # a closed slot reports nothing; a subscriber with nothing fed sends nothing
    await audio.close()
    await video.close()
    assert await router.send_sender_reports(now + 10) == 0
    assert len(dtls.sent) == 2


@pytest.mark.parametrize("mode", ["python", "c"])
async def test_a_slot_that_never_sent_holds_no_rings_and_no_cache(mode: str) -> None:
    dtls = FakeDtls()
    video = _consumer(1, "video", dtls, mode)
    audio = _consumer(2, "audio", dtls, mode)
    video.codec_name = "VP8"
    sent: list[bytes] = []
    video._send = lambda data: sent.append(data) is None  # the socket seam
    fw = video._fw
    assert not fw.allocated and not audio._fw.allocated
    assert fw.cache_size == 512 and audio._fw.cache_size == 0
    producer = FakeProducer("video")
    # a VP8 packet with a 15-bit picture id and a TL0PICIDX: the consumer rewrites both
    payload = bytes([0x90, 0xC0, 0x80 | 0x12, 0x34, 0x07]) + bytes(range(200)) * 5
    packet = RtpPacket(payload_type=96, sequence_number=10, timestamp=5000, ssrc=1,
                       payload=payload)
    video.set_source(producer)  # type: ignore[arg-type]
    video.forward_now(producer, packet, False)  # type: ignore[arg-type]  # waits for a keyframe
    assert not fw.allocated and sent == []
    assert fw.cache_get(fw.last_seq, time.monotonic()) is None and fw.sent_time(10) == 0.0
    video.forward_now(producer, packet, True)  # type: ignore[arg-type]
    assert fw.allocated and len(sent) == 1 and fw.sent_time(fw.last_seq) > 0
    # the cache rebuilds, byte for byte, the packet that went out, from its own first bytes
    # and the producer's payload, which it holds by reference (no copy)
    cached = fw.cache_get(fw.last_seq, time.monotonic())
    assert cached == sent[0] and cached[-len(payload) + 5:] == payload[5:]
    assert fw.cache_body(fw.last_seq) is payload
    _feed(audio, FakeProducer("audio"))
    assert audio._fw.allocated and audio._fw.cache_get(audio._fw.last_seq, time.monotonic()) \
        is None  # an audio slot keeps no cache
    # cleared (a layer switch), the cache gives its memory back; the ring stays
    fw.cache_clear()
    assert fw.cache_get(fw.last_seq, time.monotonic()) is None
    assert fw.cache_body(fw.last_seq) is None


def test_the_c_writer_caches_a_head_and_the_producers_payload() -> None:
    assert fanout.native is not None  # scripts/setup.sh builds it
    state = fanout.native.State(video=True)
    state.configure(ssrc=7, payload_type=96, vp8=True, ext_mid=0, ext_abs=0, ext_level=0,
                    mid=b"")
    state.tx = None  # no transport: C writes and keeps the bookkeeping, sends nothing

    class Seat:
        def __init__(self, fw: Any) -> None:
            self._fw = fw

    producer = FakeProducer("video")
    state.feed = producer  # what Consumer._arm sets for a ready consumer of this source
    payload = bytes([0x90, 0xC0, 0x80 | 0x12, 0x34, 0x07]) + bytes(range(200)) * 5
    assert not state.allocated
    assert fanout.native.forward(producer, [Seat(state)], 10, 5000, True, payload,
                                 -1, 0, 1.0) == []
    assert state.allocated and state.last_seq == 10
    cached = state.cache_get(10, 1.0)
    assert cached is not None and len(cached) == 12 + len(payload)
    assert cached[17:] == payload[5:] and state.cache_body(10) is payload


class BrokenDtls(FakeDtls):
    async def _send_rtp(self, data: bytes) -> None:
        raise OSError("the socket is gone")


async def test_one_subscribers_failure_does_not_stop_the_others_reports() -> None:
    router = Router("m1")
    broken, fine = BrokenDtls(), FakeDtls()
    first, second = _consumer(1, "audio", broken), _consumer(2, "audio", fine)
    _feed(first, FakeProducer("audio"))
    _feed(second, FakeProducer("audio"))
    router.subscriptions["ann"] = Subscription("ann", seats=[(first, first)], screen=None)
    router.subscriptions["ben"] = Subscription("ben", seats=[(second, second)], screen=None)
    assert await router.send_sender_reports(time.monotonic()) == 1
    assert len(fine.sent) == 1


@pytest.mark.parametrize("cname", ["", "a", "ben", "ben-cname", "x" * 37, "é" * 127])
def test_a_report_is_the_bytes_aiortc_writes(cname: str) -> None:
    """Consumer.report writes its sender report and SDES at once (no aiortc objects per
    slot per second): the same bytes as aiortc's packets of sender_report()'s fields."""
    from aiortc.rtp import RtcpSourceInfo

    producer = FakeProducer("video")
    consumer = _consumer(1, "video", FakeDtls())
    consumer.cname = cname
    _feed(consumer, producer)
    consumer._fw.packets_sent, consumer._fw.bytes_sent = (1 << 32) + 5, (1 << 33) + 7
    at = time.time()
    data = consumer.report(at)
    sr = consumer.sender_report(at)
    assert data is not None and sr is not None
    sdes = RtcpSdesPacket(chunks=[RtcpSourceInfo(ssrc=consumer.ssrc,
                                                 items=[(1, cname.encode("utf-8"))])])
    assert data == bytes(sr) + bytes(sdes)
    parsed = RtcpPacket.parse(data)
    assert isinstance(parsed[0], RtcpSrPacket) and parsed[0].sender_info.packet_count == 5
    assert isinstance(parsed[1], RtcpSdesPacket)
    assert parsed[1].chunks[0].items == [(1, cname.encode("utf-8"))]


def test_a_cname_too_long_for_sdes_is_refused() -> None:
    from sfu.consumer import sender_report_bytes

    with pytest.raises(ValueError):
        sender_report_bytes(1, 2, 3, 4, 5, b"x" * 256)
    assert len(sender_report_bytes(1, 2, 3, 4, 5, b"x" * 255)) % 4 == 0
