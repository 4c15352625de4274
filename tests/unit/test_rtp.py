"""sfu/rtp.py: the RTP wire format the SFU writes, cross-checked against aiortc's parser."""

from __future__ import annotations

import itertools
import struct

import pytest
from aiortc import rtp as aiortc_rtp
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters

from sfu.rtp import (
    ONE_BYTE_PROFILE,
    TWO_BYTE_PROFILE,
    RtpView,
    abs_send_time_now,
    parse_header,
    seq_add,
    seq_newer,
    ts_add,
    unwrap_rtx,
    wrap_rtx,
    write_extensions,
    write_rtp,
)

MID = "urn:ietf:params:rtp-hdrext:sdes:mid"
AUDIO_LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"


def extensions_map(**ids: int) -> aiortc_rtp.HeaderExtensionsMap:
    """An aiortc extension map: ``mid=1, audio_level=2, abs_send_time=3``."""
    uris = {"mid": MID, "audio_level": AUDIO_LEVEL, "abs_send_time": ABS_SEND_TIME}
    m = aiortc_rtp.HeaderExtensionsMap()
    m.configure(RTCRtpParameters(headerExtensions=[
        RTCRtpHeaderExtensionParameters(id=ext_id, uri=uris[name]) for name, ext_id in ids.items()
    ]))
    return m


def rtp(**kw) -> bytes:
    args = {"payload_type": 96, "sequence_number": 1, "timestamp": 2, "ssrc": 3, "payload": b"payload"}
    args.update(kw)
    return write_rtp(**args)


# --- sequence / timestamp arithmetic ---------------------------------------------------------

def test_seq_add_wraps() -> None:
    assert seq_add(0xFFFF, 1) == 0
    assert seq_add(0xFFFE, 5) == 3
    assert seq_add(10, -11) == 0xFFFF
    assert seq_add(100, 0) == 100


def test_ts_add_wraps() -> None:
    assert ts_add(0xFFFFFFFF, 1) == 0
    assert ts_add(0xFFFFFF00, 0x200) == 0x100
    assert ts_add(5, -6) == 0xFFFFFFFF


@pytest.mark.parametrize(("a", "b"), [
    (1, 0), (0, 0xFFFF), (5, 0xFFF0), (0x7FFF, 0), (0x8000, 1), (100, 99), (0, 0x8001),
])
def test_seq_newer_true(a: int, b: int) -> None:
    assert seq_newer(a, b)
    assert not seq_newer(b, a)


def test_seq_newer_equal_is_not_newer() -> None:
    for a in (0, 1, 0x7FFF, 0x8000, 0xFFFF):
        assert not seq_newer(a, a)


def test_seq_newer_half_range_is_ambiguous_and_never_newer() -> None:
    # exactly 2^15 apart: neither counts as newer (RFC 1982 leaves it undefined)
    assert not seq_newer(0x8000, 0)
    assert not seq_newer(0, 0x8000)


def test_seq_newer_across_wrap_sequence() -> None:
    seqs = [seq_add(0xFFF0, i) for i in range(40)]
    for earlier, later in itertools.pairwise(seqs):
        assert seq_newer(later, earlier)
        assert not seq_newer(earlier, later)


# --- write_rtp / parse_header ----------------------------------------------------------------

def test_write_rtp_minimal_layout() -> None:
    data = write_rtp(payload_type=111, sequence_number=0x1234, timestamp=0x89ABCDEF,
                     ssrc=0xDEADBEEF, payload=b"\x01\x02")
    assert data == bytes.fromhex("806f123489abcdefdeadbeef0102")
    view = parse_header(data)
    assert view == RtpView(payload_type=111, marker=False, sequence_number=0x1234,
                           timestamp=0x89ABCDEF, ssrc=0xDEADBEEF, header_length=12,
                           payload_end=14)


@pytest.mark.parametrize("marker", [False, True])
@pytest.mark.parametrize(("seq", "ts", "ssrc"), [
    (0, 0, 0),
    (0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF),
    (0x8000, 0x80000000, 0x80000000),
    (12345, 3_000_000_000, 1),
])
@pytest.mark.parametrize("pt", [0, 96, 127])
def test_round_trip_without_extensions(marker: bool, seq: int, ts: int, ssrc: int, pt: int
                                       ) -> None:
    payload = bytes(range(50))
    data = write_rtp(payload_type=pt, sequence_number=seq, timestamp=ts, ssrc=ssrc,
                     payload=payload, marker=marker)
    assert data[0] == 0x80  # V=2, no padding, no extension, no CSRC
    view = parse_header(data)
    assert (view.payload_type, view.marker, view.sequence_number, view.timestamp, view.ssrc) \
        == (pt, marker, seq, ts, ssrc)
    assert view.header_length == 12
    assert data[view.header_length:view.payload_end] == payload


def test_write_rtp_masks_out_of_range_fields() -> None:
    view = parse_header(write_rtp(payload_type=96, sequence_number=0x10001,
                                  timestamp=0x1_0000_0005, ssrc=0x1_0000_0007, payload=b""))
    assert (view.sequence_number, view.timestamp, view.ssrc) == (1, 5, 7)


def test_empty_payload() -> None:
    data = rtp(payload=b"")
    view = parse_header(data)
    assert view.header_length == view.payload_end == len(data) == 12


def test_empty_extension_list_writes_no_extension() -> None:
    assert write_extensions([]) == b""
    assert rtp(extensions=[]) == rtp()
    assert rtp(extensions=None)[0] & 0x10 == 0


@pytest.mark.parametrize("marker", [False, True])
def test_round_trip_one_byte_extensions(marker: bool) -> None:
    exts = [(1, b"0"), (2, b"\x85"), (3, b"\x01\x02\x03")]
    data = rtp(marker=marker, extensions=exts, payload=b"abc", sequence_number=65535,
               timestamp=0xFFFFFFFF)
    assert data[0] & 0x10
    assert struct.unpack_from("!H", data, 12)[0] == ONE_BYTE_PROFILE
    view = parse_header(data)
    assert view.marker is marker
    assert view.sequence_number == 65535 and view.timestamp == 0xFFFFFFFF
    # 1+1 + 1+1 + 1+3 = 8 bytes, 2 words
    assert struct.unpack_from("!H", data, 14)[0] == 2
    assert view.header_length == 12 + 4 + 8
    assert data[view.header_length:view.payload_end] == b"abc"


def test_one_byte_extension_bytes_and_padding() -> None:
    body = write_extensions([(1, b"a"), (14, b"x" * 16)])
    assert body[:4] == struct.pack("!HH", ONE_BYTE_PROFILE, 5)
    assert body[4:] == b"\x10a" + bytes([0xEF]) + b"x" * 16 + b"\x00"
    assert len(body) % 4 == 0


@pytest.mark.parametrize("exts", [
    [(1, b"x" * 17)],  # value longer than 16 bytes
    [(15, b"a")],  # id 15 is reserved in the one-byte form
    [(200, b"abc")],
    [(1, b"")],  # zero-length values exist only in the two-byte form
    [(1, b"a"), (2, b"y" * 17)],  # one long value forces two-byte for all
])
def test_two_byte_form_forced(exts: list[tuple[int, bytes]]) -> None:
    body = write_extensions(exts)
    profile, words = struct.unpack_from("!HH", body)
    assert profile == TWO_BYTE_PROFILE
    assert len(body) == 4 + 4 * words
    expected = b"".join(bytes([i, len(v)]) + v for i, v in exts)
    assert body[4:4 + len(expected)] == expected
    assert body[4 + len(expected):] == b"\x00" * (len(body) - 4 - len(expected))
    data = rtp(extensions=exts, payload=b"PAY")
    view = parse_header(data)
    assert view.header_length == 12 + len(body)
    assert data[view.header_length:view.payload_end] == b"PAY"


@pytest.mark.parametrize("exts", [[(0, b"a")], [(256, b"a")], [(1, b"x" * 256)],
                                  [(300, b"x" * 17)]])
def test_unwritable_extensions_raise(exts: list[tuple[int, bytes]]) -> None:
    with pytest.raises(ValueError):
        write_extensions(exts)


def test_two_byte_max_value_length() -> None:
    body = write_extensions([(255, b"z" * 255)])
    assert struct.unpack_from("!HH", body) == (TWO_BYTE_PROFILE, 65)  # 257 bytes + 3 padding
    assert body[4:6] == b"\xff\xff"


def test_extension_padded_to_word_boundary() -> None:
    for n in range(1, 17):
        body = write_extensions([(5, b"q" * n)])
        assert len(body) % 4 == 0
        assert len(body) == 4 + 4 * struct.unpack_from("!H", body, 2)[0]


# --- cross-check with aiortc's parser/serializer -------------------------------------------

def test_aiortc_reads_what_we_write_one_byte() -> None:
    m = extensions_map(mid=1, audio_level=2, abs_send_time=3)
    ast = abs_send_time_now(12.25)
    data = write_rtp(payload_type=111, sequence_number=65535, timestamp=0xFFFFFFFF,
                     ssrc=0xCAFEBABE, payload=b"opus-frame", marker=True,
                     extensions=[(1, b"0"), (2, bytes([0x80 | 42])), (3, ast)])
    packet = aiortc_rtp.RtpPacket.parse(data, m)
    assert packet.version == 2
    assert packet.payload_type == 111
    assert packet.marker == 1
    assert packet.sequence_number == 65535
    assert packet.timestamp == 0xFFFFFFFF
    assert packet.ssrc == 0xCAFEBABE
    assert packet.payload == b"opus-frame"
    assert packet.padding_size == 0
    assert packet.csrc == []
    assert packet.extensions.mid == "0"
    assert packet.extensions.audio_level == (True, 42)
    assert packet.extensions.abs_send_time == int.from_bytes(ast, "big")
    assert packet.extensions.abs_send_time == int(12.25 * (1 << 18))


def test_aiortc_reads_two_byte_long_mid() -> None:
    m = extensions_map(mid=1, audio_level=2, abs_send_time=3)
    long_mid = "a-mid-longer-than-16-bytes"
    data = write_rtp(payload_type=96, sequence_number=7, timestamp=9, ssrc=11,
                     payload=b"vp8", extensions=[(1, long_mid.encode()), (2, b"\x05"),
                                                 (3, b"\x01\x02\x03")])
    assert struct.unpack_from("!H", data, 12)[0] == TWO_BYTE_PROFILE
    packet = aiortc_rtp.RtpPacket.parse(data, m)
    assert packet.extensions.mid == long_mid
    assert packet.extensions.audio_level == (False, 5)
    assert packet.extensions.abs_send_time == 0x010203
    assert packet.payload == b"vp8"


def test_aiortc_reads_two_byte_high_id() -> None:
    m = extensions_map(mid=15, abs_send_time=200)
    data = write_rtp(payload_type=96, sequence_number=7, timestamp=9, ssrc=11,
                     payload=b"xyz", extensions=[(15, b"1"), (200, b"\xff\xff\xff")])
    packet = aiortc_rtp.RtpPacket.parse(data, m)
    assert packet.extensions.mid == "1"
    assert packet.extensions.abs_send_time == 0xFFFFFF
    assert packet.payload == b"xyz"


@pytest.mark.parametrize("mid", ["0", "1", "video", "x" * 16, "x" * 17, "y" * 40])
def test_byte_identical_to_aiortc_serialize(mid: str) -> None:
    m = extensions_map(mid=1, audio_level=2, abs_send_time=3)
    packet = aiortc_rtp.RtpPacket(payload_type=100, marker=1, sequence_number=4321,
                                  timestamp=987654321, ssrc=0x11223344, payload=b"P" * 33)
    packet.extensions.mid = mid
    packet.extensions.audio_level = (False, 127)
    packet.extensions.abs_send_time = 0xABCDEF
    # aiortc writes mid, then abs-send-time, then audio level
    ours = write_rtp(payload_type=100, marker=True, sequence_number=4321, timestamp=987654321,
                     ssrc=0x11223344, payload=b"P" * 33,
                     extensions=[(1, mid.encode()), (3, b"\xab\xcd\xef"), (2, b"\x7f")])
    assert ours == packet.serialize(m)


def test_parse_header_reads_aiortc_packets_with_csrc_and_padding() -> None:
    m = extensions_map(mid=4)
    packet = aiortc_rtp.RtpPacket(payload_type=97, marker=0, sequence_number=1000,
                                  timestamp=5000, ssrc=77, payload=b"hello")
    packet.csrc = [1, 2]
    packet.extensions.mid = "3"
    packet.padding_size = 7
    data = packet.serialize(m)
    view = parse_header(data)
    assert (view.payload_type, view.marker, view.sequence_number, view.timestamp, view.ssrc) \
        == (97, False, 1000, 5000, 77)
    assert view.header_length == 12 + 8 + 4 + 4
    assert data[view.header_length:view.payload_end] == b"hello"
    assert view.payload_end == len(data) - 7


# --- malformed input -------------------------------------------------------------------------

@pytest.mark.parametrize("data", [b"", b"\x80", bytes(11), rtp()[:11]])
def test_parse_header_too_short(data: bytes) -> None:
    with pytest.raises(ValueError):
        parse_header(data)


@pytest.mark.parametrize("version", [0, 1, 3])
def test_parse_header_bad_version(version: int) -> None:
    data = bytearray(rtp())
    data[0] = (data[0] & 0x3F) | (version << 6)
    with pytest.raises(ValueError, match="version"):
        parse_header(bytes(data))


def test_parse_header_truncated_extension_header() -> None:
    data = bytearray(rtp(payload=b""))
    data[0] |= 0x10  # claims an extension, has none
    with pytest.raises(ValueError):
        parse_header(bytes(data))
    with pytest.raises(ValueError):
        parse_header(bytes(data) + b"\xbe\xde")  # only half the extension header


def test_parse_header_truncated_extension_body() -> None:
    data = rtp(extensions=[(1, b"abcdefgh")], payload=b"")
    for cut in range(12, len(data)):
        with pytest.raises(ValueError):
            parse_header(data[:cut])
    # the extension length claims more words than the packet holds
    bad = bytearray(rtp(extensions=[(1, b"a")], payload=b"12"))
    struct.pack_into("!H", bad, 14, 50)
    with pytest.raises(ValueError):
        parse_header(bytes(bad))


def test_parse_header_truncated_csrc() -> None:
    data = bytearray(rtp(payload=b"abc"))
    data[0] |= 0x02  # two CSRCs = 8 bytes, only 3 present
    with pytest.raises(ValueError):
        parse_header(bytes(data))


def test_parse_header_csrc_then_extension() -> None:
    base = bytearray(rtp(payload=b""))
    base[0] |= 0x11  # one CSRC, extension
    data = bytes(base) + b"\x00\x00\x00\x09" + write_extensions([(2, b"zz")]) + b"PL"
    view = parse_header(data)
    assert view.header_length == 12 + 4 + 8
    assert data[view.header_length:view.payload_end] == b"PL"


def test_parse_header_valid_padding() -> None:
    data = bytearray(rtp(payload=b"abcd") + b"\x00\x00\x03")
    data[0] |= 0x20
    view = parse_header(bytes(data))
    assert data[view.header_length:view.payload_end] == b"abcd"
    # padding that fills the whole payload is allowed
    only_padding = bytearray(rtp(payload=b"") + b"\x00\x00\x00\x04")
    only_padding[0] |= 0x20
    view = parse_header(bytes(only_padding))
    assert view.payload_end == view.header_length == 12


@pytest.mark.parametrize("tail", [b"\x00", b"ab\x00", b"\x09", b"abc\x05", b"\xff"])
def test_parse_header_bad_padding(tail: bytes) -> None:
    data = bytearray(rtp(payload=b"") + tail)
    data[0] |= 0x20
    with pytest.raises(ValueError, match="padding"):
        parse_header(bytes(data))


def test_parse_header_padding_bit_on_bare_header() -> None:
    data = bytearray(rtp(payload=b""))
    data[0] |= 0x20
    # the last header byte (SSRC low byte = 3) is read as a padding count past the header
    with pytest.raises(ValueError):
        parse_header(bytes(data))


def test_parse_header_padding_cannot_eat_extension() -> None:
    data = bytearray(rtp(extensions=[(1, b"abc")], payload=b"\x08"))
    data[0] |= 0x20
    with pytest.raises(ValueError):
        parse_header(bytes(data))


def test_parse_header_never_raises_other_exceptions_on_junk() -> None:
    import random

    rnd = random.Random(1234)
    good = rtp(extensions=[(1, b"mid"), (3, b"\x00\x01\x02")], payload=b"x" * 20)
    for _ in range(2000):
        data = bytearray(good[:rnd.randrange(len(good) + 1)])
        for _ in range(rnd.randrange(4)):
            if data:
                data[rnd.randrange(len(data))] = rnd.randrange(256)
        try:
            view = parse_header(bytes(data))
        except ValueError:
            continue
        assert 12 <= view.header_length <= view.payload_end <= len(data)


# --- RTX -------------------------------------------------------------------------------------

@pytest.mark.parametrize("marker", [False, True])
@pytest.mark.parametrize("exts", [None, [(1, b"1"), (3, b"\x00\x00\x01")],
                                  [(1, b"x" * 30)]])
@pytest.mark.parametrize("seq", [0, 1, 0x8000, 0xFFFF])
def test_rtx_round_trip_restores_exact_bytes(marker: bool, exts, seq: int) -> None:
    original = write_rtp(payload_type=96, sequence_number=seq, timestamp=0xFFFFFFF0,
                         ssrc=0x12345678, payload=bytes(range(256)) * 2, marker=marker,
                         extensions=exts)
    rtx = wrap_rtx(original, rtx_payload_type=97, rtx_ssrc=0x87654321,
                   rtx_sequence_number=0xFFFF)
    view = parse_header(rtx)
    assert view.payload_type == 97
    assert view.ssrc == 0x87654321
    assert view.sequence_number == 0xFFFF
    assert view.marker is marker
    assert view.timestamp == 0xFFFFFFF0
    assert rtx[view.header_length:view.header_length + 2] == struct.pack("!H", seq)
    assert len(rtx) == len(original) + 2
    assert unwrap_rtx(rtx, payload_type=96, ssrc=0x12345678) == original


def test_rtx_sequence_number_masked() -> None:
    rtx = wrap_rtx(rtp(), rtx_payload_type=97, rtx_ssrc=1, rtx_sequence_number=0x10002)
    assert parse_header(rtx).sequence_number == 2


def test_rtx_matches_aiortc_unwrap() -> None:
    m = extensions_map(mid=1, abs_send_time=3)
    original = write_rtp(payload_type=96, sequence_number=555, timestamp=123456, ssrc=42,
                         payload=b"frame-data", marker=True,
                         extensions=[(1, b"2"), (3, b"\x11\x22\x33")])
    rtx = wrap_rtx(original, rtx_payload_type=97, rtx_ssrc=43, rtx_sequence_number=9)
    parsed = aiortc_rtp.RtpPacket.parse(rtx, m)
    assert parsed.payload_type == 97 and parsed.ssrc == 43 and parsed.sequence_number == 9
    assert parsed.extensions.mid == "2"
    restored = aiortc_rtp.unwrap_rtx(parsed, payload_type=96, ssrc=42)
    assert restored.sequence_number == 555
    assert restored.payload == b"frame-data"
    assert restored.marker == 1
    assert restored.serialize(m) == original


def test_aiortc_wrap_then_our_unwrap() -> None:
    m = extensions_map(mid=1)
    packet = aiortc_rtp.RtpPacket(payload_type=96, marker=1, sequence_number=65000,
                                  timestamp=77, ssrc=1000, payload=b"abcdef")
    packet.extensions.mid = "7"
    rtx = aiortc_rtp.wrap_rtx(packet, payload_type=97, sequence_number=3, ssrc=2000)
    restored = unwrap_rtx(rtx.serialize(m), payload_type=96, ssrc=1000)
    assert restored == packet.serialize(m)


def test_wrap_rtx_drops_padding_and_unwrap_gives_unpadded_packet() -> None:
    unpadded = rtp(payload=b"media", sequence_number=10)
    padded = bytearray(unpadded + b"\x00\x00\x00\x04")
    padded[0] |= 0x20
    rtx = wrap_rtx(bytes(padded), rtx_payload_type=97, rtx_ssrc=99, rtx_sequence_number=1)
    assert rtx[0] & 0x20 == 0
    view = parse_header(rtx)
    assert rtx[view.header_length:view.payload_end] == b"\x00\x0amedia"
    assert unwrap_rtx(rtx, payload_type=96, ssrc=3) == unpadded


def test_unwrap_rtx_strips_rtx_padding() -> None:
    original = rtp(payload=b"media", sequence_number=10)
    rtx = bytearray(wrap_rtx(original, rtx_payload_type=97, rtx_ssrc=99,
                             rtx_sequence_number=1) + b"\x00\x02")
    rtx[0] |= 0x20
    assert unwrap_rtx(bytes(rtx), payload_type=96, ssrc=3) == original


@pytest.mark.parametrize("payload", [b"", b"\x01"])
def test_unwrap_rtx_without_osn_raises(payload: bytes) -> None:
    data = write_rtp(payload_type=97, sequence_number=1, timestamp=2, ssrc=3, payload=payload)
    with pytest.raises(ValueError):
        unwrap_rtx(data, payload_type=96, ssrc=4)


def test_unwrap_rtx_osn_only_gives_empty_payload() -> None:
    data = write_rtp(payload_type=97, sequence_number=1, timestamp=2, ssrc=3,
                     payload=b"\x12\x34")
    restored = unwrap_rtx(data, payload_type=96, ssrc=4)
    assert restored == write_rtp(payload_type=96, sequence_number=0x1234, timestamp=2, ssrc=4,
                                 payload=b"")


@pytest.mark.parametrize("bad", [b"", b"\x40" + bytes(15), bytes(5)])
def test_rtx_functions_reject_malformed(bad: bytes) -> None:
    with pytest.raises(ValueError):
        wrap_rtx(bad, rtx_payload_type=97, rtx_ssrc=1, rtx_sequence_number=1)
    with pytest.raises(ValueError):
        unwrap_rtx(bad, payload_type=96, ssrc=1)


# --- abs-send-time ---------------------------------------------------------------------------

def test_abs_send_time_fixed_point() -> None:
    assert abs_send_time_now(0.0) == b"\x00\x00\x00"
    assert abs_send_time_now(1.0) == (1 << 18).to_bytes(3, "big")
    assert abs_send_time_now(0.5) == (1 << 17).to_bytes(3, "big")
    assert abs_send_time_now(1 / (1 << 18)) == b"\x00\x00\x01"
    assert abs_send_time_now(63.0) == (63 << 18).to_bytes(3, "big")
    value = int.from_bytes(abs_send_time_now(12.345678), "big")
    assert value >> 18 == 12
    assert abs((value & 0x3FFFF) / (1 << 18) - 0.345678) < 1 / (1 << 18)


def test_abs_send_time_wraps_every_64_seconds() -> None:
    assert abs_send_time_now(64.0) == b"\x00\x00\x00"
    assert abs_send_time_now(64.5) == abs_send_time_now(0.5)
    assert abs_send_time_now(1_700_000_000.25) == abs_send_time_now(1_700_000_000.25 % 64)
    for t in (0.0, 1.5, 63.99999, 64.0, 1e6 + 0.3, 1_700_000_123.456):
        value = abs_send_time_now(t)
        assert len(value) == 3
        assert int.from_bytes(value, "big") <= 0xFFFFFF
