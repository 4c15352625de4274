"""Bounded fuzzing (hypothesis) of every wire parser the media plane runs on bytes from the
network: RTP headers and RTX, RTCP (aiortc's parser, which the SFU feeds), VP8 and H264
payload descriptors, SDP. Each parser may refuse input only with its documented error; what
it accepts must be self-consistent and round-trip. Runs are derandomized and bounded, so CI
sees the same examples every time; a crash found here becomes a named regression test below.
"""

from __future__ import annotations

import struct

from aiortc.rtp import RtcpPacket
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sfu.h264 import is_h264_keyframe, nal_unit_types
from sfu.rtp import parse_header, unwrap_rtx, wrap_rtx, write_rtp
from sfu.sdp import SdpError, drop_mdns_candidates, fill_rejected, media_lines
from sfu.vp8 import (
    is_vp8_keyframe,
    parse_vp8_descriptor,
    rewrite_vp8_descriptor,
)

BOUNDED = settings(max_examples=400, deadline=None, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.too_slow])

rtp_like = st.binary(min_size=0, max_size=64).map(
    lambda b: bytes([0x80 | (b[0] & 0x3F)]) + b[1:] if b else b)


# --- RTP ----------------------------------------------------------------------------------

@BOUNDED
@given(st.one_of(st.binary(max_size=80), rtp_like))
@example(b"\xa0" + bytes(11))  # padding bit, padding count 0
@example(b"\x90" + bytes(11) + b"\xbe\xde\xff\xff")  # extension longer than the packet
def test_parse_header_refuses_only_with_value_error(data: bytes) -> None:
    try:
        view = parse_header(data)
    except ValueError:
        return
    assert 12 <= view.header_length <= view.payload_end <= len(data)
    assert 0 <= view.payload_type < 128


@BOUNDED
@given(pt=st.integers(0, 127), seq=st.integers(0, 0xFFFF), ts=st.integers(0, 0xFFFFFFFF),
       ssrc=st.integers(0, 0xFFFFFFFF), payload=st.binary(max_size=40), marker=st.booleans(),
       padding=st.integers(0, 255),
       extensions=st.lists(st.tuples(st.integers(1, 14), st.binary(min_size=1, max_size=16)),
                           max_size=3))
def test_write_then_parse_round_trips(pt: int, seq: int, ts: int, ssrc: int, payload: bytes,
                                      marker: bool, padding: int,
                                      extensions: list[tuple[int, bytes]]) -> None:
    data = write_rtp(payload_type=pt, sequence_number=seq, timestamp=ts, ssrc=ssrc,
                     payload=payload, marker=marker, extensions=extensions, padding=padding)
    view = parse_header(data)
    assert (view.payload_type, view.sequence_number, view.timestamp, view.ssrc, view.marker) \
        == (pt, seq, ts, ssrc, marker)
    assert data[view.header_length:view.payload_end] == payload


@BOUNDED
@given(seq=st.integers(0, 0xFFFF), payload=st.binary(max_size=40),
       rtx_seq=st.integers(0, 0xFFFF))
def test_rtx_wrap_unwrap_round_trips(seq: int, payload: bytes, rtx_seq: int) -> None:
    original = write_rtp(payload_type=96, sequence_number=seq, timestamp=1, ssrc=7,
                         payload=payload)
    rtx = wrap_rtx(original, rtx_payload_type=97, rtx_ssrc=8, rtx_sequence_number=rtx_seq)
    assert unwrap_rtx(rtx, payload_type=96, ssrc=7) == original


@BOUNDED
@given(rtp_like)
def test_unwrap_rtx_refuses_only_with_value_error(data: bytes) -> None:
    try:
        unwrap_rtx(data, payload_type=96, ssrc=1)
    except ValueError:
        pass


# --- RTCP (aiortc's parser: what the SFU's RTCP handlers are fed) ---------------------------

rtcp_like = st.builds(
    lambda pt, count, body: struct.pack("!BBH", 0x80 | (count & 0x1F), pt,
                                        len(body) // 4) + body,
    st.sampled_from([200, 201, 202, 203, 204, 205, 206, 207, 99]),
    st.integers(0, 31), st.binary(max_size=60))


@BOUNDED
@given(st.one_of(st.binary(max_size=80), rtcp_like,
                 st.lists(rtcp_like, min_size=1, max_size=3).map(b"".join)))
def test_rtcp_parse_refuses_only_with_value_error(data: bytes) -> None:
    try:
        RtcpPacket.parse(data)
    except ValueError:
        pass


# --- VP8 -------------------------------------------------------------------------------

@BOUNDED
@given(st.binary(max_size=12))
@example(b"\x80")  # X set, no extension octet
@example(b"\x80\x80\x80")  # I set, 15-bit picture id truncated
def test_vp8_descriptor_refuses_only_with_value_error(payload: bytes) -> None:
    is_vp8_keyframe(payload)  # never raises
    try:
        desc = parse_vp8_descriptor(payload)
    except ValueError:
        return
    assert desc is not None
    rewritten = rewrite_vp8_descriptor(payload, 1234, 56)
    assert len(rewritten) == len(payload)
    again = parse_vp8_descriptor(rewritten)
    assert type(again) is type(desc)


# --- H264 ------------------------------------------------------------------------------

@BOUNDED
@given(st.binary(max_size=24))
@example(b"\x18")  # STAP-A with no length field
@example(b"\x18\x00\x00")  # STAP-A with a zero-length NAL unit
@example(b"\x1c\xc5")  # FU-A with both start and end bits
def test_h264_payloads_refuse_only_with_value_error(payload: bytes) -> None:
    assert is_h264_keyframe(payload) in (True, False)
    try:
        types = nal_unit_types(payload)
    except ValueError:
        return
    assert all(0 <= t < 32 for t in types)


# --- SDP -------------------------------------------------------------------------------

SDP_LINES = st.sampled_from([
    "v=0", "o=- 1 1 IN IP4 0.0.0.0", "s=-", "t=0 0", "a=group:BUNDLE 0 1",
    "m=audio 9 UDP/TLS/RTP/SAVPF 111", "m=video 9 UDP/TLS/RTP/SAVPF 96", "m=video 0 RTP/AVP 0",
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "c=IN IP4 0.0.0.0", "a=mid:0",
    "a=mid:1", "a=sendonly", "a=recvonly", "a=inactive", "a=rtpmap:111 opus/48000/2",
    "a=rtpmap:96 VP8/90000", "a=rtpmap:96", "a=fmtp:96 x", "a=ice-ufrag:abcd",
    "a=ice-pwd:abcdefghijklmnopqrstuvwx", "a=fingerprint:sha-256 00:11", "a=setup:active",
    "a=candidate:1 1 udp 1 a.local 9 typ host", "a=candidate:x", "a=ssrc:1 cname:x",
    "a=extmap:1 urn:x", "a=rtcp-fb:96 nack", "a=msid:a b", "m=", "a=", "x",
])


@BOUNDED
@given(st.one_of(st.lists(SDP_LINES, max_size=30).map(lambda ls: "\r\n".join(ls) + "\r\n"),
                 st.text(max_size=200), st.lists(SDP_LINES, max_size=30).map(
                     lambda ls: "v=0\r\n" + "\r\n".join(ls))))
def test_sdp_parsers_refuse_only_with_sdp_error(text: str) -> None:
    drop_mdns_candidates(text)  # never raises
    for allow in (False, True):
        try:
            lines = media_lines(text, allow_rejected=allow)
        except SdpError:
            continue
        assert lines and all(line.mid for line in lines)
    try:
        fill_rejected(text, text)
    except SdpError:
        pass
