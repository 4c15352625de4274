import fractions
from collections.abc import Iterator
from typing import Any

import pytest

from sfu.vp8 import (
    Vp8Descriptor,
    Vp8PictureIdRewriter,
    is_vp8_keyframe,
    parse_vp8_descriptor,
    rewrite_vp8_descriptor,
    rewrite_vp8_descriptor_into,
)

# VP8 payload headers (first byte: bit 0 is P, 0 = key frame)
KEY_HEADER = bytes.fromhex("f04e009d012a")  # 3-byte frame tag + start code
INTER_HEADER = bytes.fromhex("b15500e4")

# Captured from aiortc's Vp8Encoder (libvpx, 320x180), first 20 bytes only.
REAL_KEYFRAME_FIRST = bytes.fromhex("9080babbf04e009d012a4001b400390900031c22")
REAL_KEYFRAME_CONTINUATION = bytes.fromhex("8080babb30eb63fc4130ef5b7a88affb5ece3404")
REAL_INTER_FIRST = bytes.fromhex("9080babcb15500e451cfdc4803c7607a9a916e79")


def build_descriptor(
    *,
    start: bool = True,
    pid: int = 0,
    non_reference: bool = False,
    picture_id: int | None = None,
    picture_id_15bit: bool = False,
    tl0picidx: int | None = None,
    tid: int | None = None,
    layer_sync: bool = False,
    keyidx: int | None = None,
) -> bytes:
    """Write a VP8 payload descriptor from its fields (RFC 7741 4.2)."""
    first = (start << 4) | (non_reference << 5) | pid
    ext = 0
    if picture_id is not None:
        ext |= 0x80
    if tl0picidx is not None:
        ext |= 0x40
    if tid is not None:
        ext |= 0x20
    if keyidx is not None:
        ext |= 0x10
    if not ext:
        return bytes([first])

    out = bytearray([0x80 | first, ext])
    if picture_id is not None:
        if picture_id_15bit:
            out += bytes([0x80 | (picture_id >> 8), picture_id & 0xFF])
        else:
            out.append(picture_id)
    if tl0picidx is not None:
        out.append(tl0picidx)
    if tid is not None or keyidx is not None:
        tk = 0
        if tid is not None:
            tk |= (tid << 6) | (layer_sync << 5)
        if keyidx is not None:
            tk |= keyidx
        out.append(tk)
    return bytes(out)


def descriptor(
    picture_id: int | None,
    tl0picidx: int | None = None,
    picture_id_15bit: bool = True,
) -> Vp8Descriptor:
    return parse_vp8_descriptor(
        build_descriptor(
            picture_id=picture_id,
            picture_id_15bit=picture_id_15bit,
            tl0picidx=tl0picidx,
        )
        + INTER_HEADER
    )


# parse


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"start": False, "pid": 3},
        {"pid": 7, "non_reference": True},
        {"picture_id": 0},
        {"picture_id": 127},
        {"picture_id": 0, "picture_id_15bit": True},
        {"picture_id": 300, "picture_id_15bit": True},
        {"picture_id": 32767, "picture_id_15bit": True},
        {"tl0picidx": 255},
        {"tid": 2, "layer_sync": True},
        {"tid": 3},
        {"keyidx": 31},
        {"tid": 1, "keyidx": 5},
        {
            "start": False,
            "pid": 1,
            "non_reference": True,
            "picture_id": 12345,
            "picture_id_15bit": True,
            "tl0picidx": 17,
            "tid": 2,
            "layer_sync": True,
            "keyidx": 9,
        },
    ],
)
def test_parse_round_trip(fields: dict[str, object]) -> None:
    raw = build_descriptor(**fields)  # type: ignore[arg-type]
    desc = parse_vp8_descriptor(raw + INTER_HEADER)
    expected = Vp8Descriptor(
        start_of_partition=bool(fields.get("start", True)),
        partition_index=int(fields.get("pid", 0)),  # type: ignore[call-overload]
        non_reference=bool(fields.get("non_reference", False)),
        picture_id=fields.get("picture_id"),  # type: ignore[arg-type]
        picture_id_15bit=bool(fields.get("picture_id_15bit", False))
        and fields.get("picture_id") is not None,
        tl0picidx=fields.get("tl0picidx"),  # type: ignore[arg-type]
        tid=fields.get("tid"),  # type: ignore[arg-type]
        layer_sync=bool(fields.get("layer_sync", False)),
        keyidx=fields.get("keyidx"),  # type: ignore[arg-type]
        size=len(raw),
    )
    assert desc == expected
    # the descriptor alone (no VP8 payload) parses too
    assert parse_vp8_descriptor(raw) == expected


def test_parse_sizes() -> None:
    assert parse_vp8_descriptor(b"\x10").size == 1
    assert parse_vp8_descriptor(build_descriptor(picture_id=5)).size == 3
    assert parse_vp8_descriptor(build_descriptor(picture_id=5, picture_id_15bit=True)).size == 4
    full = build_descriptor(picture_id=5, picture_id_15bit=True, tl0picidx=1, tid=0, keyidx=0)
    assert parse_vp8_descriptor(full).size == 6


def test_parse_ignores_reserved_bits() -> None:
    # R bits of the first octet and RSV bits of the extension octet
    desc = parse_vp8_descriptor(bytes([0x80 | 0x40 | 0x10 | 0x08 | 0x02, 0x0F]))
    assert desc.start_of_partition
    assert desc.partition_index == 2
    assert desc.picture_id is None
    assert desc.size == 2


def test_parse_keyidx_only_does_not_set_tid() -> None:
    raw = build_descriptor(keyidx=4)
    # set TID and Y bits in the shared octet: must be ignored since T=0
    raw = raw[:-1] + bytes([raw[-1] | 0xE0])
    desc = parse_vp8_descriptor(raw)
    assert desc.tid is None
    assert not desc.layer_sync
    assert desc.keyidx == 4


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"", "empty"),
        (b"\x90", "extension"),
        (b"\x90\x80", "picture id"),
        (b"\x90\x80\x80", "15-bit"),
        (b"\x90\x40", "TL0PICIDX"),
        (b"\x90\xc0\x05", "TL0PICIDX"),
        (b"\x90\x20", "TID"),
        (b"\x90\x10", "TID"),
        (b"\x90\xf0\x81\x02\x03", "TID"),
    ],
)
def test_parse_malformed(raw: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_vp8_descriptor(raw)
    assert is_vp8_keyframe(raw) is False


# keyframe detection


def test_keyframe_positive() -> None:
    assert is_vp8_keyframe(build_descriptor() + KEY_HEADER)
    assert is_vp8_keyframe(
        build_descriptor(picture_id=1000, picture_id_15bit=True, tl0picidx=3, tid=0) + KEY_HEADER
    )
    assert is_vp8_keyframe(build_descriptor(picture_id=3) + b"\x00")


def test_keyframe_negative() -> None:
    # inter frame
    assert not is_vp8_keyframe(build_descriptor(picture_id=3) + INTER_HEADER)
    # continuation packet of a key frame
    assert not is_vp8_keyframe(build_descriptor(start=False) + KEY_HEADER)
    # start of a partition other than the first
    assert not is_vp8_keyframe(build_descriptor(pid=1) + KEY_HEADER)
    # descriptor but no VP8 payload header
    assert not is_vp8_keyframe(build_descriptor(picture_id=3, tl0picidx=1))
    assert not is_vp8_keyframe(b"")


def test_keyframe_never_raises_on_garbage() -> None:
    for length in range(8):
        for first in (0x00, 0x10, 0x80, 0x90, 0xFF):
            data = bytes([first]) + b"\xff" * length
            assert is_vp8_keyframe(data) in (True, False)


def test_real_packets_captured() -> None:
    desc = parse_vp8_descriptor(REAL_KEYFRAME_FIRST)
    assert desc.start_of_partition
    assert desc.partition_index == 0
    assert desc.picture_id == 0x3ABB
    assert desc.picture_id_15bit
    assert desc.size == 4
    assert is_vp8_keyframe(REAL_KEYFRAME_FIRST)
    # VP8 key frame start code follows the 3-byte frame tag
    assert REAL_KEYFRAME_FIRST[desc.size + 3 : desc.size + 6] == b"\x9d\x01\x2a"

    assert not is_vp8_keyframe(REAL_KEYFRAME_CONTINUATION)
    assert parse_vp8_descriptor(REAL_KEYFRAME_CONTINUATION).picture_id == 0x3ABB

    assert not is_vp8_keyframe(REAL_INTER_FIRST)
    assert parse_vp8_descriptor(REAL_INTER_FIRST).picture_id == 0x3ABC


# rewriting


def test_rewrite_7bit_modulo() -> None:
    raw = build_descriptor(picture_id=5, tl0picidx=9) + INTER_HEADER
    out = rewrite_vp8_descriptor(raw, 200, None)
    assert len(out) == len(raw)
    desc = parse_vp8_descriptor(out)
    assert desc.picture_id == 200 % 128
    assert not desc.picture_id_15bit
    assert desc.tl0picidx == 9
    assert out[desc.size :] == INTER_HEADER


def test_rewrite_15bit_modulo() -> None:
    raw = build_descriptor(picture_id=5, picture_id_15bit=True) + INTER_HEADER
    out = rewrite_vp8_descriptor(raw, 40000, None)
    desc = parse_vp8_descriptor(out)
    assert desc.picture_id == 40000 % 32768
    assert desc.picture_id_15bit
    assert rewrite_vp8_descriptor(raw, 32767, None)[2:4] == b"\xff\xff"
    assert rewrite_vp8_descriptor(raw, 32768, None)[2:4] == b"\x80\x00"


def test_rewrite_tl0picidx_modulo() -> None:
    raw = build_descriptor(picture_id=5, tl0picidx=9, tid=1) + INTER_HEADER
    out = rewrite_vp8_descriptor(raw, None, 256 + 7)
    desc = parse_vp8_descriptor(out)
    assert desc.tl0picidx == 7
    assert desc.picture_id == 5


def test_rewrite_keeps_length_and_other_bytes() -> None:
    raw = (
        build_descriptor(
            start=False,
            pid=2,
            non_reference=True,
            picture_id=0x1234,
            picture_id_15bit=True,
            tl0picidx=0x56,
            tid=2,
            layer_sync=True,
            keyidx=0x1B,
        )
        + INTER_HEADER
        + bytes(range(50))
    )
    out = rewrite_vp8_descriptor(raw, 0x0ABC, 0xEF)
    assert len(out) == len(raw)
    changed = [i for i in range(len(raw)) if raw[i] != out[i]]
    assert changed == [2, 3, 4]
    desc_in = parse_vp8_descriptor(raw)
    desc_out = parse_vp8_descriptor(out)
    assert desc_out.picture_id == 0x0ABC
    assert desc_out.tl0picidx == 0xEF
    desc_out.picture_id = desc_in.picture_id
    desc_out.tl0picidx = desc_in.tl0picidx
    assert desc_out == desc_in


def test_rewrite_none_keeps_everything() -> None:
    raw = build_descriptor(picture_id=77, tl0picidx=3, tid=1) + KEY_HEADER
    assert rewrite_vp8_descriptor(raw, None, None) == raw


def test_rewrite_absent_fields_stay_absent() -> None:
    for raw in (
        build_descriptor() + KEY_HEADER,
        build_descriptor(tid=1, keyidx=2) + KEY_HEADER,
        build_descriptor(tl0picidx=4) + KEY_HEADER,
        build_descriptor(picture_id=4) + KEY_HEADER,
    ):
        out = rewrite_vp8_descriptor(raw, 1000, 100)
        desc_in = parse_vp8_descriptor(raw)
        desc_out = parse_vp8_descriptor(out)
        assert len(out) == len(raw)
        assert (desc_out.picture_id is None) == (desc_in.picture_id is None)
        assert (desc_out.tl0picidx is None) == (desc_in.tl0picidx is None)
    assert rewrite_vp8_descriptor(b"\x10" + KEY_HEADER, 5, 5) == b"\x10" + KEY_HEADER


def test_rewrite_into_at_offset() -> None:
    rtp_header = bytes(range(12))
    payload = build_descriptor(picture_id=10, picture_id_15bit=True, tl0picidx=1)
    buf = bytearray(rtp_header + payload + INTER_HEADER)
    size = len(buf)
    rewrite_vp8_descriptor_into(buf, 12, 32767, 255)
    assert len(buf) == size
    assert bytes(buf[:12]) == rtp_header
    desc = parse_vp8_descriptor(bytes(buf[12:]))
    assert desc.picture_id == 32767
    assert desc.tl0picidx == 255
    assert bytes(buf[12 + desc.size :]) == INTER_HEADER


def test_rewrite_malformed() -> None:
    for raw in (b"", b"\x90", b"\x90\x80", b"\x90\x80\x80", b"\x90\x40"):
        with pytest.raises(ValueError):
            rewrite_vp8_descriptor(raw, 1, 1)
    with pytest.raises(ValueError):
        rewrite_vp8_descriptor_into(bytearray(b"\x10"), 1, 1, 1)


# picture id rewriter


def test_rewriter_single_source_is_identity() -> None:
    rw = Vp8PictureIdRewriter()
    for pid, tl0 in [(100, 7), (100, 7), (101, 8), (102, 8)]:
        assert rw.rewrite(descriptor(pid, tl0), "a") == (pid, tl0)


def test_rewriter_continuity_across_switch() -> None:
    rw = Vp8PictureIdRewriter()
    assert rw.rewrite(descriptor(100, 10), "a") == (100, 10)
    assert rw.rewrite(descriptor(101, 11), "a") == (101, 11)
    # switch: the new source continues at last + 1
    assert rw.rewrite(descriptor(5000, 200), "b") == (102, 12)
    # same picture keeps the same output
    assert rw.rewrite(descriptor(5000, 200), "b") == (102, 12)
    assert rw.rewrite(descriptor(5000, 200), "b") == (102, 12)
    # following pictures map continuously
    assert rw.rewrite(descriptor(5001, 200), "b") == (103, 12)
    assert rw.rewrite(descriptor(5002, 201), "b") == (104, 13)
    # a gap in the source is kept
    assert rw.rewrite(descriptor(5005, 203), "b") == (107, 15)
    # switching back re-bases again
    assert rw.rewrite(descriptor(150, 40), "a") == (108, 16)
    assert rw.rewrite(descriptor(151, 41), "a") == (109, 17)


def test_rewriter_reordered_packet_does_not_move_reference() -> None:
    rw = Vp8PictureIdRewriter()
    rw.rewrite(descriptor(10, 1), "a")
    rw.rewrite(descriptor(500, 1), "b")  # -> 11
    assert rw.rewrite(descriptor(502), "b")[0] == 13
    assert rw.rewrite(descriptor(501), "b")[0] == 12  # late packet
    assert rw.rewrite(descriptor(503), "b")[0] == 14


def test_rewriter_input_wrap_15bit() -> None:
    rw = Vp8PictureIdRewriter()
    rw.rewrite(descriptor(1000, 250), "a")
    assert rw.rewrite(descriptor(32766, 254), "b") == (1001, 251)
    assert rw.rewrite(descriptor(32767, 255), "b") == (1002, 252)
    assert rw.rewrite(descriptor(0, 0), "b") == (1003, 253)
    assert rw.rewrite(descriptor(1, 1), "b") == (1004, 254)


def test_rewriter_output_wrap() -> None:
    rw = Vp8PictureIdRewriter()
    rw.rewrite(descriptor(32766, 254), "a")
    assert rw.rewrite(descriptor(32767, 255), "a") == (32767, 255)
    # switch right at the top of both ranges
    assert rw.rewrite(descriptor(42, 9), "b") == (0, 0)
    assert rw.rewrite(descriptor(43, 10), "b") == (1, 1)
    assert rw.rewrite(descriptor(42, 9), "b") == (0, 0)  # late, backwards
    assert rw.rewrite(descriptor(44, 10), "b") == (2, 1)


def test_rewriter_tl0picidx_wraps_at_256() -> None:
    rw = Vp8PictureIdRewriter()
    rw.rewrite(descriptor(1, 250), "a")
    # both the input and the output TL0PICIDX wrap
    outs = [rw.rewrite(descriptor(2 + i, (252 + i) % 256), "b")[1] for i in range(10)]
    assert outs == [(251 + i) % 256 for i in range(10)]


def test_rewriter_7bit_source_wrap() -> None:
    rw = Vp8PictureIdRewriter()
    rw.rewrite(descriptor(20000), "a")
    outs = [
        rw.rewrite(descriptor((120 + i) % 128, picture_id_15bit=False), "b")[0] for i in range(20)
    ]
    assert outs == [20001 + i for i in range(20)]
    # written back into the 7-bit field, the ids stay continuous mod 128
    raw = build_descriptor(picture_id=120) + INTER_HEADER
    written = [parse_vp8_descriptor(rewrite_vp8_descriptor(raw, o, None)).picture_id for o in outs]
    assert written == [(20001 + i) % 128 for i in range(20)]


def test_rewriter_absent_fields() -> None:
    rw = Vp8PictureIdRewriter()
    assert rw.rewrite(descriptor(None), "a") == (None, None)
    assert rw.rewrite(descriptor(10, None), "a") == (10, None)
    # new source without picture id: the re-base waits for the field
    assert rw.rewrite(descriptor(None), "b") == (None, None)
    assert rw.rewrite(descriptor(900, 33), "b") == (11, 33)
    assert rw.rewrite(descriptor(901, 34), "b") == (12, 34)


def test_rewriter_source_key_equality() -> None:
    rw = Vp8PictureIdRewriter()
    rw.rewrite(descriptor(10), ("ssrc", 1))
    # an equal (not identical) key is the same source
    assert rw.rewrite(descriptor(11), ("ssrc", 1))[0] == 11
    assert rw.rewrite(descriptor(9000), ("ssrc", 2))[0] == 12


# real payloads from libvpx, packetized by aiortc (test-time helper only)


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
def aiortc_vp8_frames() -> list[list[bytes]]:
    import aiortc.codecs.vpx as vpx
    encoder = vpx.Vp8Encoder()
    frames: list[list[bytes]] = []
    for i, frame in enumerate(_frames(3)):
        payloads, _ = encoder.encode(frame, force_keyframe=(i == 0))
        frames.append(payloads)
    return frames


def test_aiortc_vp8_keyframe_detection(aiortc_vp8_frames: list[list[bytes]]) -> None:
    key, *inter = aiortc_vp8_frames
    assert len(key) > 1
    assert is_vp8_keyframe(key[0])
    assert not any(is_vp8_keyframe(p) for p in key[1:])
    for payloads in inter:
        assert not any(is_vp8_keyframe(p) for p in payloads)


def test_aiortc_vp8_descriptors(aiortc_vp8_frames: list[list[bytes]]) -> None:
    first_id = parse_vp8_descriptor(aiortc_vp8_frames[0][0]).picture_id
    assert first_id is not None
    for n, payloads in enumerate(aiortc_vp8_frames):
        for i, payload in enumerate(payloads):
            desc = parse_vp8_descriptor(payload)
            assert desc.start_of_partition == (i == 0)
            assert desc.picture_id == (first_id + n) % 32768
            assert desc.picture_id_15bit


def test_aiortc_vp8_rewrite_preserves_bitstream(
    aiortc_vp8_frames: list[list[bytes]],
) -> None:
    from aiortc.codecs.vpx import vp8_depayload

    rw = Vp8PictureIdRewriter()
    rw.rewrite(descriptor(5), "previous speaker")
    for n, payloads in enumerate(aiortc_vp8_frames):
        for payload in payloads:
            picture_id, tl0picidx = rw.rewrite(parse_vp8_descriptor(payload), "cam")
            assert (picture_id, tl0picidx) == (6 + n, None)
            buf = bytearray(payload)
            rewrite_vp8_descriptor_into(buf, 0, picture_id, tl0picidx)
            out = bytes(buf)
            assert len(out) == len(payload)
            assert parse_vp8_descriptor(out).picture_id == 6 + n
            assert vp8_depayload(out) == vp8_depayload(payload)
            assert is_vp8_keyframe(out) == is_vp8_keyframe(payload)
