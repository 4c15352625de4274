"""The C send path (sfu/_fanout.c) against the Python reference (Consumer.forward_python).

Every test feeds one Producer the same packets for a pair of consumers configured alike: one
on the Python path (its packets captured as written), one on the C path (sent by sendmmsg to
a loopback socket and read back). The bytes must be the same: before SRTP (a Tx without a
session), and after SRTP (a Tx with a fixed key against pylibsrtp's session of that key).
Sequences: made by aiortc's own VP8 and Opus encoders, and generated ones with sequence
number and timestamp wrap, losses and late repairs, source switches (speaker, layer), a
resync after the floor gate, RTX answers to NACKs and padding probes, VP8 descriptors with a
7-bit, a 15-bit and no picture id, with and without TL0PICIDX, and audio with audio levels.
"""

from __future__ import annotations

import fractions
import random
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiortc.rtcrtpparameters import (
    RTCRtpCodecParameters,
    RTCRtpDecodingParameters,
    RTCRtpReceiveParameters,
    RTCRtpRtxParameters,
)
from aiortc.rtp import RTCP_RTPFB_NACK, RtcpRtpfbPacket, RtpPacket
from pylibsrtp import Policy, Session

from sfu import _fanout, fanout
from sfu.consumer import Consumer
from sfu.producer import Producer
from sfu.rtp import parse_header, wrap_rtx

SSRC = 0x1A2B3C4D
RTX_SSRC = 0x5E6F7081


class PublisherTransport:
    """The publisher's DTLS transport as the producer uses it: its RTCP (NACKs, PLIs)."""

    def __init__(self) -> None:
        self.rtcp: list[bytes] = []

    async def _send_rtp(self, data: bytes) -> None:
        self.rtcp.append(data)


@dataclass
class Slot:
    """How a subscriber's m-line was negotiated."""

    kind: str = "video"
    codec: str = "VP8"
    payload_type: int = 96
    rtx_payload_type: int | None = 97
    mid: str = "1"
    ext_mid: int | None = 4
    ext_abs: int | None = None
    ext_level: int | None = None


@dataclass
class Pair:
    slot: Slot
    python: Consumer
    c: Consumer
    receiver: socket.socket
    tx: Any
    written: list[bytes] = field(default_factory=list)
    received: list[bytes] = field(default_factory=list)

    def drain(self) -> None:
        while True:
            try:
                self.received.append(self.receiver.recv(4096))
            except BlockingIOError:
                return

    def consumers(self) -> tuple[Consumer, Consumer]:
        return self.python, self.c


def make_consumer(slot: Slot, mode: str, last_seq: int, last_ts: int) -> Consumer:
    consumer = Consumer(consumer_id=f"c-{mode}", subscriber_id="sub", kind=slot.kind, slot=0,
                        purpose="seat", sender=None, fanout_mode=mode)
    consumer.ssrc, consumer.rtx_ssrc = SSRC, RTX_SSRC
    consumer.payload_type = slot.payload_type
    consumer.rtx_payload_type = slot.rtx_payload_type
    consumer.clock_rate = 90000 if slot.kind == "video" else 48000
    consumer.codec_name = slot.codec.upper()
    consumer.mid = slot.mid
    consumer._ext_mid, consumer._ext_abs, consumer._ext_level = \
        slot.ext_mid, slot.ext_abs, slot.ext_level
    consumer._ext_fixed = consumer._fixed_extensions()
    consumer._fw.last_seq, consumer._fw.last_ts = last_seq, last_ts
    consumer._rtx_seq = 65533
    return consumer


class Rig:
    """A sending socket (the worker's UDP socket) and the pairs under test."""

    def __init__(self, profile: int = 0, key: bytes = b"") -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.profile, self.key = profile, key
        self.pairs: list[Pair] = []

    def pair(self, slot: Slot, last_seq: int = 65500, last_ts: int = 0xFFFF0000) -> Pair:
        receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        receiver.bind(("127.0.0.1", 0))
        receiver.setblocking(False)
        python = make_consumer(slot, "python", last_seq, last_ts)
        c = make_consumer(slot, "c", last_seq, last_ts)
        tx = _fanout.Tx(self.sock.fileno(), "127.0.0.1", receiver.getsockname()[1],
                        profile=self.profile, key=self.key)
        pair = Pair(slot, python, c, receiver, tx)

        def capture(data: bytes) -> bool:
            pair.written.append(data)
            return True

        python.use_python_sender(capture)
        c.use_tx(tx)
        for consumer in pair.consumers():
            consumer.ready = True
        self.pairs.append(pair)
        return pair

    def drain(self) -> None:
        for pair in self.pairs:
            pair.drain()

    def close(self) -> None:
        for pair in self.pairs:
            pair.tx.close()
            pair.receiver.close()
        self.sock.close()


def make_producer(name: str, kind: str = "video", codec: str = "VP8", pt: int = 96,
                  ssrc: int = 1111, rtx_ssrc: int | None = 2222) -> Producer:
    producer = Producer(producer_id=name, participant_id=f"p-{name}", kind=kind,
                        source="camera" if kind == "video" else "mic",
                        transport=PublisherTransport(), fanout_mode="c")
    clock = 90000 if kind == "video" else 48000
    mime = f"{kind}/{codec}"
    codecs = [RTCRtpCodecParameters(mimeType=mime, clockRate=clock, payloadType=pt,
                                    channels=2 if kind == "audio" else None)]
    if rtx_ssrc is not None:
        codecs.append(RTCRtpCodecParameters(mimeType=f"{kind}/rtx", clockRate=clock,
                                            payloadType=pt + 1, parameters={"apt": pt}))
    encoding = RTCRtpDecodingParameters(
        ssrc=ssrc, payloadType=pt,
        rtx=RTCRtpRtxParameters(ssrc=rtx_ssrc) if rtx_ssrc is not None else None)
    producer._on_parameters(RTCRtpReceiveParameters(codecs=codecs, encodings=[encoding]))
    return producer


def rtp(pt: int, seq: int, ts: int, ssrc: int, payload: bytes, marker: bool = False,
        level: tuple[bool, int] | None = None) -> RtpPacket:
    packet = RtpPacket(payload_type=pt, marker=int(marker), sequence_number=seq & 0xFFFF,
                       timestamp=ts & 0xFFFFFFFF, ssrc=ssrc, payload=payload)
    packet.extensions.audio_level = level
    return packet


def vp8_descriptor(*, start: bool, picture_id: int | None, long_id: bool,
                   tl0: int | None, tid: int | None = None) -> bytes:
    ext = (0x80 if picture_id is not None else 0) | (0x40 if tl0 is not None else 0) | \
        (0x20 if tid is not None else 0)
    first = (0x10 if start else 0) | (0x80 if ext else 0)
    out = bytearray([first])
    if ext:
        out.append(ext)
    if picture_id is not None:
        if long_id:
            out += bytes([0x80 | ((picture_id >> 8) & 0x7F), picture_id & 0xFF])
        else:
            out.append(picture_id & 0x7F)
    if tl0 is not None:
        out.append(tl0 & 0xFF)
    if tid is not None:
        out.append((tid << 6) | 0x20)
    return bytes(out)


def vp8_frame(rng: random.Random, *, key: bool, picture_id: int | None, long_id: bool,
              tl0: int | None, packets: int, tid: int | None = None) -> list[bytes]:
    out = []
    for i in range(packets):
        desc = vp8_descriptor(start=i == 0, picture_id=picture_id, long_id=long_id, tl0=tl0,
                              tid=tid)
        header = (b"\x10\x02\x00\x9d\x01\x2a" if key else b"\xb1\x55\x00\xe4") if i == 0 \
            else b""
        out.append(desc + header + rng.randbytes(rng.randrange(20, 1100)))
    return out


def strip_abs(data: bytes, abs_id: int | None) -> bytes:
    """The packet with its abs-send-time value zeroed (padding reads the clock itself)."""
    if abs_id is None or not data[0] & 0x10:
        return data
    out = bytearray(data)
    pos, end = 16, 16 + 4 * int.from_bytes(data[14:16], "big")
    two_byte = data[12:14] == b"\x10\x00"
    while pos < end:
        if out[pos] == 0:
            pos += 1
            continue
        if two_byte:
            ext_id, length, head = out[pos], out[pos + 1], 2
        else:
            ext_id, length, head = out[pos] >> 4, (out[pos] & 0x0F) + 1, 1
        if ext_id == abs_id:
            out[pos + head: pos + head + length] = bytes(length)
        pos += head + length
    return bytes(out)


def assert_same(rig: Rig, unprotect: Session | None = None) -> int:
    """Both paths wrote the same packets, and left the same state. Returns the count."""
    rig.drain()
    total = 0
    for pair in rig.pairs:
        received = pair.received
        if unprotect is not None:
            received = [unprotect.unprotect(d) for d in received]
        abs_id = pair.slot.ext_abs
        assert [strip_abs(d, abs_id) for d in received] == \
            [strip_abs(d, abs_id) for d in pair.written], pair.slot
        # abs-send-time is read once per packet: media packets match byte for byte
        media = [d for d in pair.written if not d[0] & 0x20]
        assert [d for d in received if not d[0] & 0x20] == media
        py, c = pair.python._fw, pair.c._fw
        for name in ("seq_offset", "ts_offset", "last_seq", "last_ts", "last_wall",
                     "upstream_gaps", "packets_sent", "bytes_sent"):
            assert getattr(py, name) == getattr(c, name), (name, pair.slot)
        assert bool(py.frame_open) == bool(c.frame_open)
        for data in pair.written:
            seq = parse_header(data).sequence_number
            py_at, c_at = py.sent_time(seq), c.sent_time(seq)
            # media: the producer's clock reading; padding reads the clock itself
            assert bool(py_at) == bool(c_at) and abs(py_at - c_at) < 0.05
            if not data[0] & 0x20:
                assert py_at == c_at
            assert py.cache_get(seq, c.last_wall) == c.cache_get(seq, c.last_wall)
        assert pair.python.switches == pair.c.switches
        total += len(pair.written)
    return total


async def feed(producer: Producer, packets: Iterator[RtpPacket] | list[RtpPacket]) -> None:
    for packet in packets:
        await producer.handle_rtp(packet, 0)


def video_stream(rng: random.Random, *, seq: int, ts: int, ssrc: int, picture_id: int | None,
                 long_id: bool, tl0: int | None, frames: int, key_every: int = 10,
                 pt: int = 96) -> list[RtpPacket]:
    out = []
    pid = picture_id
    for f in range(frames):
        payloads = vp8_frame(rng, key=f % key_every == 0, picture_id=pid, long_id=long_id,
                             tl0=tl0, packets=rng.randrange(1, 4),
                             tid=0 if tl0 is not None else None)
        for i, payload in enumerate(payloads):
            out.append(rtp(pt, seq, ts, ssrc, payload, marker=i == len(payloads) - 1))
            seq += 1
        ts += 3000
        if pid is not None:
            pid = (pid + 1) % (32768 if long_id else 128)
        if tl0 is not None:
            tl0 = (tl0 + 1) % 256
    return out


VIDEO_SLOTS = [
    Slot(),
    Slot(ext_abs=2),
    Slot(ext_mid=None, rtx_payload_type=None),
    Slot(mid="a-long-mid-value", ext_abs=3),
    Slot(ext_mid=15, ext_abs=2),  # an id the one-byte form cannot carry: the Python writer
]
AUDIO_SLOTS = [
    Slot(kind="audio", codec="opus", payload_type=111, rtx_payload_type=None, ext_level=1),
    Slot(kind="audio", codec="opus", payload_type=109, rtx_payload_type=None, ext_level=10,
         ext_abs=2, mid="0"),
    Slot(kind="audio", codec="opus", payload_type=111, rtx_payload_type=None, ext_mid=None),
]


async def test_vp8_wraps_losses_repairs_switches_rtx_and_padding() -> None:
    rig = Rig()
    rng = random.Random(14)
    try:
        pairs = [rig.pair(slot) for slot in VIDEO_SLOTS]
        a = make_producer("a", ssrc=1111, rtx_ssrc=2222)
        b = make_producer("b", ssrc=3333, rtx_ssrc=4444)
        for pair in pairs:
            for consumer in pair.consumers():
                consumer.set_source(a)
        # A: 15-bit picture ids about to wrap, TL0PICIDX, sequence and timestamp wrap
        stream = video_stream(rng, seq=65400, ts=0xFFFFF000, ssrc=1111, picture_id=32700,
                              long_id=True, tl0=250, frames=80)
        lost = {stream[30].sequence_number, stream[31].sequence_number,
                stream[90].sequence_number}
        await feed(a, [p for p in stream if p.sequence_number not in lost])
        # the publisher repairs one loss late, over RTX
        repair = stream[31]
        raw = wrap_rtx(repair.serialize(), rtx_payload_type=97, rtx_ssrc=2222,
                       rtx_sequence_number=7)
        await a.handle_rtp(RtpPacket.parse(raw), 0)
        # the subscribers ask for repairs: RTX (or a plain retransmission without RTX)
        asked = [stream[-5].sequence_number, stream[-3].sequence_number, 12345]
        for pair in pairs:
            for consumer in pair.consumers():
                seqs = [(s + consumer._fw.seq_offset) & 0xFFFF for s in asked]
                nack = RtcpRtpfbPacket(fmt=RTCP_RTPFB_NACK, ssrc=9, media_ssrc=SSRC)
                nack.lost = seqs
                await consumer.handle_rtcp(nack)
                assert consumer.retransmitted == 2
        # a switch to B: its non-keyframes are not sent, its keyframe switches, 7-bit ids
        for pair in pairs:
            for consumer in pair.consumers():
                consumer.set_source(b)
        stream_b = video_stream(rng, seq=100, ts=5000, ssrc=3333, picture_id=120,
                                long_id=False, tl0=None, frames=25, key_every=12)
        await feed(b, stream_b[3:])  # starts mid-frame, its keyframe comes later
        # probes between frames, on the media SSRC
        for pair in pairs:
            for consumer in pair.consumers():
                assert consumer.send_padding(700) > 0
        # back to A (no picture id at all this time), then the floor gate and a resync
        for pair in pairs:
            for consumer in pair.consumers():
                consumer.set_source(a)
        stream_a2 = video_stream(rng, seq=stream[-1].sequence_number + 1,
                                 ts=stream[-1].timestamp + 3000, ssrc=1111, picture_id=None,
                                 long_id=False, tl0=None, frames=12, key_every=6)
        await feed(a, stream_a2[:20])
        a.set_forwarding(False)
        await feed(a, stream_a2[20:25])
        a.set_forwarding(True)
        await feed(a, stream_a2[25:])
        # an undecodable VP8 descriptor is sent by neither
        await a.handle_rtp(rtp(96, stream_a2[-1].sequence_number + 1, 1, 1111, b"\x80\x80"), 0)
        total = assert_same(rig)
        assert total > 5 * 200
        for pair in pairs:
            assert pair.c.switches >= 2
            assert pair.c.retransmitted == pair.python.retransmitted == 2
            assert pair.c.padding_sent == pair.python.padding_sent > 0
            assert pair.c._fw.upstream_gaps == 2  # three lost upstream, one repaired
            seqs = [parse_header(d).sequence_number for d in pair.written]
            assert any(x < y for x, y in zip(seqs[1:], seqs, strict=False))  # wrapped
        await a.close()
        await b.close()
    finally:
        rig.close()


async def test_audio_levels_switches_and_timestamp_wrap() -> None:
    rig = Rig()
    try:
        pairs = [rig.pair(slot, last_seq=65530, last_ts=0xFFFFFC00) for slot in AUDIO_SLOTS]
        speakers = [make_producer(f"s{k}", kind="audio", codec="opus", pt=111,
                                  ssrc=500 + k, rtx_ssrc=None) for k in range(3)]
        rng = random.Random(3)
        seq = [65000, 10, 40000]
        ts = [0xFFFFF000, 0, 0x7FFFFF00]
        for turn in range(12):
            speaker = speakers[turn % 3]
            for pair in pairs:
                for consumer in pair.consumers():
                    consumer.set_source(speaker)
            k = turn % 3
            for _ in range(rng.randrange(10, 40)):
                level = None if rng.random() < 0.2 else (rng.random() < 0.5, rng.randrange(128))
                packet = rtp(111, seq[k], ts[k], 500 + k, rng.randbytes(rng.randrange(3, 200)),
                             level=level)
                if rng.random() > 0.05:  # a few lost on the way
                    await speaker.handle_rtp(packet, 0)
                seq[k] += 1
                ts[k] += 960
        total = assert_same(rig)
        assert total > 3 * 200
        for pair in pairs:
            assert pair.c.switches == 11
        for speaker in speakers:
            await speaker.close()
    finally:
        rig.close()


async def test_c_writes_only_the_consumers_python_armed() -> None:
    """The C path reads no Python attribute per packet: a consumer's state names the
    producer C may write for it (``State.feed``), set by ``Consumer._arm`` whenever the
    consumer gets ready or closes, or its source, target or resync flag change. Every change
    below goes through the consumers' own methods, and C must write exactly what the Python
    reference writes."""
    rig = Rig()
    try:
        pair = rig.pair(AUDIO_SLOTS[0])
        a, b = (make_producer(n, kind="audio", codec="opus", pt=111, ssrc=ssrc, rtx_ssrc=None)
                for n, ssrc in (("a", 600), ("b", 700)))
        seq = {a: 100, b: 9000}

        async def send(producer: Producer, count: int) -> None:
            for _ in range(count):
                await producer.handle_rtp(rtp(111, seq[producer], seq[producer] * 960,
                                              600 if producer is a else 700, bytes(40)), 0)
                seq[producer] += 1

        def fed() -> set[Any]:
            return {consumer._fw.feed for consumer in pair.consumers()}

        assert fed() == {None}  # no source yet
        for consumer in pair.consumers():
            consumer.set_source(a)
        assert fed() == {None}  # a switch to a is pending: Python decides its first packet
        await send(a, 5)
        assert fed() == {a}  # switched: C writes a's packets from now on
        a.set_forwarding(False)  # the floor gate: nothing goes out
        await send(a, 3)
        a.set_forwarding(True)  # and the resync it asks for: Python's decision again
        assert fed() == {None}
        await send(a, 4)
        assert fed() == {a}
        await send(a, 2)
        for consumer in pair.consumers():
            consumer.set_source(b)
        assert fed() == {a}  # audio switches at b's next packet
        await send(a, 2)  # a goes on until b's first packet
        await send(b, 4)
        assert fed() == {b}
        await b.close()  # the source closed: nothing armed
        assert fed() == {None}
        await send(b, 2)
        assert assert_same(rig) == 5 + 4 + 2 + 2 + 4
        assert pair.c.packets_sent == 17
        for consumer in pair.consumers():
            consumer.set_source(a)
        await send(a, 3)
        for consumer in pair.consumers():
            await consumer.close()
        assert fed() == {None}
        await send(a, 3)  # a closed consumer is written by neither path
        assert assert_same(rig) == 20
        assert pair.c.packets_sent == 20
        await a.close()
    finally:
        rig.close()


def _video_frames(count: int) -> Iterator[Any]:
    import av

    for i in range(count):
        frame = av.VideoFrame(width=320, height=240, format="yuv420p")
        for plane in frame.planes:
            plane.update(bytes((i * 7 + j) % 256 for j in range(plane.buffer_size)))
        frame.pts = i * 3000
        frame.time_base = fractions.Fraction(1, 90000)
        yield frame


async def test_aiortc_encoder_streams() -> None:
    """VP8 and Opus as aiortc's encoders make them (15-bit picture ids, real partitions)."""
    import av
    import numpy
    from aiortc.codecs.opus import OpusEncoder
    from aiortc.codecs.vpx import Vp8Encoder

    rig = Rig()
    try:
        video = [rig.pair(slot) for slot in VIDEO_SLOTS[:3]]
        audio = [rig.pair(slot) for slot in AUDIO_SLOTS[:2]]
        camera = make_producer("cam")
        mic = make_producer("mic", kind="audio", codec="opus", pt=111, ssrc=77, rtx_ssrc=None)
        for pair in video:
            for consumer in pair.consumers():
                consumer.set_source(camera)
        for pair in audio:
            for consumer in pair.consumers():
                consumer.set_source(mic)
        encoder = Vp8Encoder()
        seq, ts = 65520, 0xFFFFFFFF - 30000
        for i, frame in enumerate(_video_frames(20)):
            payloads, _ = encoder.encode(frame, force_keyframe=i == 0)
            for j, payload in enumerate(payloads):
                await camera.handle_rtp(rtp(96, seq, ts, 1111, payload,
                                            marker=j == len(payloads) - 1), 0)
                seq += 1
            ts += 3000
        opus = OpusEncoder()
        aseq, ats = 65500, 0xFFFFFF00
        for i in range(60):
            samples = (numpy.sin(numpy.arange(960) * (i + 1) / 50) * 8000).astype("int16")
            frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16",
                                               layout="mono")
            frame.sample_rate = 48000
            frame.pts = i * 960
            frame.time_base = fractions.Fraction(1, 48000)
            for payload in opus.encode(frame)[0]:
                await mic.handle_rtp(rtp(111, aseq, ats, 77, payload, level=(True, i % 100)), 0)
                aseq += 1
                ats += 960
        assert assert_same(rig) > 3 * 20 + 2 * 50
        await camera.close()
        await mic.close()
    finally:
        rig.close()


@pytest.mark.parametrize("profile", [Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
                                     Policy.SRTP_PROFILE_AEAD_AES_128_GCM,
                                     Policy.SRTP_PROFILE_AEAD_AES_256_GCM])
async def test_after_srtp_the_same_as_libsrtp_with_the_same_key(profile: int) -> None:
    """C protects with its own session: the bytes are pylibsrtp's for the same key and
    order, and a receiver's session of that key decrypts them to the Python path's."""
    length = {Policy.SRTP_PROFILE_AES128_CM_SHA1_80: 30,
              Policy.SRTP_PROFILE_AEAD_AES_128_GCM: 28,
              Policy.SRTP_PROFILE_AEAD_AES_256_GCM: 44}[profile]
    key = bytes(range(7, 7 + length))
    rig = Rig(profile, key)
    rng = random.Random(profile)
    try:
        pair = rig.pair(Slot(ext_abs=2))
        camera = make_producer("cam")
        for consumer in pair.consumers():
            consumer.set_source(camera)
        stream = video_stream(rng, seq=65500, ts=100, ssrc=1111, picture_id=5, long_id=True,
                              tl0=3, frames=40)
        await feed(camera, stream)
        nack = RtcpRtpfbPacket(fmt=RTCP_RTPFB_NACK, ssrc=9, media_ssrc=SSRC)
        nack.lost = [(stream[-2].sequence_number + pair.c._fw.seq_offset) & 0xFFFF]
        for consumer in pair.consumers():
            await consumer.handle_rtcp(nack)
            consumer.send_padding(300)
        rig.drain()
        outbound = Session(Policy(key=key, ssrc_type=Policy.SSRC_ANY_OUTBOUND,
                                  srtp_profile=profile))
        media = [d for d in pair.written if not d[0] & 0x20]
        assert [outbound.protect(d) for d in media] == pair.received[:len(media)]
        inbound = Policy(key=key, ssrc_type=Policy.SSRC_ANY_INBOUND, srtp_profile=profile)
        inbound.allow_repeat_tx = True
        assert_same(rig, Session(inbound))
        await camera.close()
    finally:
        rig.close()


async def test_generated_sequences() -> None:
    """Random interleavings of everything above, three seeds."""
    for seed in range(3):
        rng = random.Random(100 + seed)
        rig = Rig()
        try:
            pairs = [rig.pair(slot, last_seq=rng.randrange(65536), last_ts=rng.getrandbits(32))
                     for slot in VIDEO_SLOTS]
            layers = [make_producer(f"l{k}", ssrc=10 + k, rtx_ssrc=20 + k) for k in range(3)]
            streams = [iter(video_stream(rng, seq=rng.randrange(65536),
                                         ts=rng.getrandbits(32), ssrc=10 + k,
                                         picture_id=rng.randrange(128) if k != 2 else None,
                                         long_id=k == 0, tl0=rng.randrange(256) if k else None,
                                         frames=400, key_every=rng.randrange(3, 9)))
                       for k in range(3)]
            current = 0
            for pair in pairs:
                for consumer in pair.consumers():
                    consumer.set_source(layers[0])
            held: list[RtpPacket] = []
            for _ in range(600):
                op = rng.random()
                if op < 0.03:
                    current = rng.randrange(3)
                    drop = rng.random() < 0.5
                    for pair in pairs:
                        for consumer in pair.consumers():
                            consumer.set_source(layers[current], drop_current=drop)
                elif op < 0.05:
                    size = rng.randrange(50, 900)
                    for pair in pairs:
                        for consumer in pair.consumers():
                            consumer.send_padding(size)
                elif op < 0.07:
                    layers[current].set_forwarding(False)
                    layers[current].set_forwarding(True)
                elif op < 0.09 and held:
                    await layers[current].handle_rtp(held.pop(), 0)  # late
                elif op < 0.11:
                    back = rng.randrange(40)
                    for pair in pairs:
                        for consumer in pair.consumers():
                            nack = RtcpRtpfbPacket(fmt=RTCP_RTPFB_NACK, ssrc=9, media_ssrc=SSRC)
                            nack.lost = [(consumer._fw.last_seq - back) & 0xFFFF]
                            await consumer.handle_rtcp(nack)
                # every layer goes on sending (simulcast): only one feeds the consumers
                for k, layer in enumerate(layers):
                    packet = next(streams[k])
                    if k == current and rng.random() < 0.04:
                        held.append(packet)  # lost for now
                        continue
                    await layer.handle_rtp(packet, 0)
            assert assert_same(rig) > 5 * 300
            for layer in layers:
                await layer.close()
        finally:
            rig.close()


def test_bad_input_is_refused_and_changes_nothing() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        with pytest.raises(ValueError, match="needs 30 bytes"):
            _fanout.Tx(sock.fileno(), "127.0.0.1", 9, profile=1, key=b"short")
        with pytest.raises(ValueError, match="not supported"):
            _fanout.Tx(sock.fileno(), "127.0.0.1", 9, profile=99, key=b"x" * 30)
        with pytest.raises(ValueError, match="not an IP address"):
            _fanout.Tx(sock.fileno(), "example.org", 9)
        with pytest.raises(OSError):
            _fanout.Tx(-1, "127.0.0.1", 9)
        tx = _fanout.Tx(sock.fileno(), "127.0.0.1", 9)
        with pytest.raises(ValueError, match="not an RTP packet"):
            tx.protect(b"short")
        with pytest.raises(ValueError):
            tx.send(b"\x80" * 5000)
        with pytest.raises(ValueError, match="not an IP address"):
            tx.retarget(sock.fileno(), "nowhere", 1)
        assert tx.address() == ("127.0.0.1", 9)
        tx.close()
        assert tx.send(b"\x80" * 20) is False
        state = _fanout.State(video=True)
        before = (state.seq_offset, state.last_seq, state.capable)
        with pytest.raises(ValueError, match="payload type"):
            state.configure(ssrc=1, payload_type=300, vp8=True, ext_mid=1, ext_abs=0,
                            ext_level=0, mid=b"0")
        assert (state.seq_offset, state.last_seq, state.capable) == before
        with pytest.raises(ValueError, match="too large"):
            _fanout.forward(None, [], 1, 1, False, b"x" * 4000, -1, 0, 0.0)
        stranger = object()  # not a consumer of ours: handed back, nothing sent
        assert _fanout.forward(None, [stranger], 1, 1, False, b"x", -1, 0, 0.0) == [stranger]
        with pytest.raises(fanout.FanoutError, match="must be one of"):
            fanout.select_mode({"ROSTRUM_FANOUT": "rust"})
        assert fanout.select_mode({"ROSTRUM_FANOUT": "python"}) == "python"
        assert fanout.select_mode({}) == "c"
    finally:
        sock.close()
