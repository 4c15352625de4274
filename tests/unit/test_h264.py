import fractions
import struct
from collections.abc import Iterator
from typing import Any

import pytest

from sfu.h264 import is_h264_keyframe, nal_unit_types
from tests.requirements import require

# NAL unit headers (F=0, NRI=3 unless noted)
SLICE = b"\x41\x9a\x00\x01"  # non-IDR slice, type 1
IDR = b"\x65\x88\x84\x00"  # IDR slice, type 5
SEI = b"\x06\x05\xff\xff"  # type 6, NRI=0
SPS = b"\x67\x42\xc0\x1f\xd9"  # type 7
PPS = b"\x68\xcb\x8c\xb2"  # type 8
AUD = b"\x09\xf0"  # type 9

# Captured from aiortc's H264Encoder (libx264, 320x180, constrained baseline):
# the SPS and PPS of its first STAP-A, and the first 16 bytes of FU-A starts.
REAL_SPS = bytes.fromhex("6742c01fd901419f9e10000003001000000303c8f1832480")
REAL_PPS = bytes.fromhex("68cb8cb2")
REAL_STAP_A = (
    b"\x78"
    + struct.pack("!H", len(REAL_SPS))
    + REAL_SPS
    + struct.pack("!H", len(REAL_PPS))
    + REAL_PPS
)
REAL_FU_A_IDR_START = bytes.fromhex("7c85888412fc711fff81c04000402c6b")
REAL_FU_A_IDR_MIDDLE = bytes.fromhex("7c059171717170c0")
REAL_FU_A_IDR_END = bytes.fromhex("7c450001007dd81c")
REAL_FU_A_SLICE_START = bytes.fromhex("5c819a3847d02e814209aefbbe314315")


def stap_a(*nalus: bytes, nri: int = 3) -> bytes:
    out = bytearray([(nri << 5) | 24])
    for nalu in nalus:
        out += struct.pack("!H", len(nalu)) + nalu
    return bytes(out)


def fu_a(nalu: bytes, *, start: bool, end: bool = False) -> bytes:
    indicator = (nalu[0] & 0xE0) | 28
    header = (start << 7) | (end << 6) | (nalu[0] & 0x1F)
    return bytes([indicator, header]) + nalu[1:]


# single NAL unit packets


@pytest.mark.parametrize(
    "nalu, types, key",
    [
        (SLICE, [1], False),
        (IDR, [5], True),
        (SEI, [6], False),
        (SPS, [7], True),
        (PPS, [8], False),
        (AUD, [9], False),
        (b"\x65", [5], True),  # header only
        (b"\xe5\x00", [5], True),  # forbidden bit set: not our business
        (b"\x17", [23], False),
    ],
)
def test_single_nal_unit(nalu: bytes, types: list[int], key: bool) -> None:
    assert nal_unit_types(nalu) == types
    assert is_h264_keyframe(nalu) is key


# STAP-A


def test_stap_a_sps_pps() -> None:
    payload = stap_a(SPS, PPS)
    assert nal_unit_types(payload) == [7, 8]
    assert is_h264_keyframe(payload)


def test_stap_a_walks_every_unit() -> None:
    payload = stap_a(AUD, SEI, PPS, IDR)
    assert nal_unit_types(payload) == [9, 6, 8, 5]
    assert is_h264_keyframe(payload)


def test_stap_a_without_keyframe_units() -> None:
    payload = stap_a(AUD, SEI, SLICE)
    assert nal_unit_types(payload) == [9, 6, 1]
    assert not is_h264_keyframe(payload)


def test_stap_a_single_byte_units() -> None:
    payload = stap_a(b"\x09", b"\x67")
    assert nal_unit_types(payload) == [9, 7]


def test_stap_a_large_unit_size() -> None:
    big = b"\x65" + bytes(70000 - 65536 + 300)
    payload = stap_a(AUD, big)
    assert nal_unit_types(payload) == [9, 5]


@pytest.mark.parametrize(
    "payload, message",
    [
        (b"\x78", "no NAL unit"),
        (stap_a(SPS) + b"\x00", "length field is truncated"),
        (stap_a(SPS, PPS)[:-1], "truncated"),
        (b"\x78\x00\x05\x67\x42", "truncated"),
        (b"\x78\x00\x00", "zero-length"),
        (b"\x78\x00\x00\x00\x02\x67\x42", "zero-length"),
        # size field pointing past the end hides an SPS behind it
        (b"\x78\xff\xff" + SPS, "truncated"),
    ],
)
def test_stap_a_malformed(payload: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        nal_unit_types(payload)
    assert is_h264_keyframe(payload) is False


# FU-A


def test_fu_a_start_of_idr() -> None:
    payload = fu_a(IDR, start=True)
    assert nal_unit_types(payload) == [5]
    assert is_h264_keyframe(payload)


def test_fu_a_continuation_is_not_a_start() -> None:
    middle = fu_a(IDR, start=False)
    end = fu_a(IDR, start=False, end=True)
    assert nal_unit_types(middle) == []
    assert nal_unit_types(end) == []
    assert not is_h264_keyframe(middle)
    assert not is_h264_keyframe(end)


def test_fu_a_start_of_non_idr() -> None:
    payload = fu_a(SLICE, start=True)
    assert nal_unit_types(payload) == [1]
    assert not is_h264_keyframe(payload)


def test_fu_a_header_only() -> None:
    assert nal_unit_types(b"\x7c\x85") == [5]


@pytest.mark.parametrize(
    "payload, message",
    [
        (b"\x7c", "truncated"),
        (b"\x7c\xc5\x00", "both start and end"),
    ],
)
def test_fu_a_malformed(payload: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        nal_unit_types(payload)
    assert is_h264_keyframe(payload) is False


# other types


@pytest.mark.parametrize("first", [0x00, 0x60, 0x7E, 0x7F])
def test_reserved_types(first: int) -> None:
    payload = bytes([first]) + IDR
    with pytest.raises(ValueError, match="reserved"):
        nal_unit_types(payload)
    assert is_h264_keyframe(payload) is False


@pytest.mark.parametrize("nal_type", [25, 26, 27, 29])
def test_interleaved_mode_types(nal_type: int) -> None:
    payload = bytes([0x60 | nal_type, 0x85]) + IDR
    with pytest.raises(ValueError, match="interleaved"):
        nal_unit_types(payload)
    assert is_h264_keyframe(payload) is False


def test_empty() -> None:
    with pytest.raises(ValueError, match="empty"):
        nal_unit_types(b"")
    assert is_h264_keyframe(b"") is False


def test_never_raises_on_garbage() -> None:
    for first in range(256):
        for tail in (b"", b"\x00", b"\xff", b"\x00\x01", b"\xff\xff\x65"):
            assert is_h264_keyframe(bytes([first]) + tail) in (True, False)


# real packets


def test_real_packets_captured() -> None:
    assert nal_unit_types(REAL_STAP_A) == [7, 8]
    assert is_h264_keyframe(REAL_STAP_A)
    assert nal_unit_types(REAL_FU_A_IDR_START) == [5]
    assert is_h264_keyframe(REAL_FU_A_IDR_START)
    assert not is_h264_keyframe(REAL_FU_A_IDR_MIDDLE)
    assert not is_h264_keyframe(REAL_FU_A_IDR_END)
    assert nal_unit_types(REAL_FU_A_SLICE_START) == [1]
    assert not is_h264_keyframe(REAL_FU_A_SLICE_START)


def _frames(count: int) -> Iterator[Any]:
    import av
    for i in range(count):
        frame = av.VideoFrame(320, 180, "yuv420p")
        for plane in frame.planes:
            pattern = bytes(range(i, 256)) * (plane.buffer_size // 200 + 2)
            plane.update(pattern[: plane.buffer_size])
        frame.pts = i * 3000
        frame.time_base = fractions.Fraction(1, 90000)
        yield frame


@pytest.fixture(scope="module")
def aiortc_h264_frames() -> list[list[bytes]]:
    import av
    from aiortc.codecs.h264 import H264Encoder

    require("libx264" in av.codecs_available,
            "PyAV with libx264 (the PyPI wheels carry it: pip install av)")
    encoder = H264Encoder()
    frames: list[list[bytes]] = []
    for i, frame in enumerate(_frames(3)):
        payloads, _ = encoder.encode(frame, force_keyframe=(i == 0))
        frames.append(payloads)
    return frames


def test_aiortc_h264_keyframe(aiortc_h264_frames: list[list[bytes]]) -> None:
    key, *inter = aiortc_h264_frames
    # parameter sets come first, aggregated in a STAP-A
    assert key[0][0] & 0x1F == 24
    assert 7 in nal_unit_types(key[0])
    assert is_h264_keyframe(key[0])
    types = [t for payload in key for t in nal_unit_types(payload)]
    assert 5 in types
    for payloads in inter:
        assert not any(is_h264_keyframe(p) for p in payloads)
        for payload in payloads:
            assert 5 not in nal_unit_types(payload)


def test_aiortc_h264_fragments(aiortc_h264_frames: list[list[bytes]]) -> None:
    for payloads in aiortc_h264_frames:
        for payload in payloads:
            if payload[0] & 0x1F == 28:
                starts = payload[1] & 0x80
                assert (nal_unit_types(payload) != []) == bool(starts)
