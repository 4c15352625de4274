"""RTP wire format for the forwarding path: pure functions over bytes.

The SFU receives packets already parsed by aiortc (``aiortc.rtp.RtpPacket``) and writes
rewritten packets itself, because every consumer needs its own SSRC, payload type, sequence
number, timestamp and header-extension ids (RFC 3550 section 5.1, RFC 8285 for extensions,
RFC 4588 for RTX).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

RTP_VERSION = 2
ONE_BYTE_PROFILE = 0xBEDE
TWO_BYTE_PROFILE = 0x1000

_HEADER = struct.Struct("!BBHII")


def seq_add(a: int, b: int) -> int:
    return (a + b) & 0xFFFF


def ts_add(a: int, b: int) -> int:
    return (a + b) & 0xFFFFFFFF


def seq_newer(a: int, b: int) -> bool:
    """True when sequence number ``a`` is after ``b`` (RFC 1982 serial arithmetic)."""
    return a != b and ((a - b) & 0xFFFF) < 0x8000


def write_extensions(extensions: list[tuple[int, bytes]]) -> bytes:
    """Serialize header extensions (RFC 8285): one-byte form when every id is 1..14 and
    every value 1..16 bytes long, two-byte form otherwise. Returns b"" for no extensions."""
    if not extensions:
        return b""
    one_byte = all(1 <= i <= 14 and 1 <= len(v) <= 16 for i, v in extensions)
    body = bytearray()
    if one_byte:
        for ext_id, value in extensions:
            body.append((ext_id << 4) | (len(value) - 1))
            body += value
        profile = ONE_BYTE_PROFILE
    else:
        for ext_id, value in extensions:
            if not 1 <= ext_id <= 255 or len(value) > 255:
                raise ValueError(f"header extension {ext_id} cannot be written")
            body.append(ext_id)
            body.append(len(value))
            body += value
        profile = TWO_BYTE_PROFILE
    body += b"\x00" * (-len(body) % 4)
    return struct.pack("!HH", profile, len(body) // 4) + bytes(body)


def write_rtp(
    *,
    payload_type: int,
    sequence_number: int,
    timestamp: int,
    ssrc: int,
    payload: bytes,
    marker: bool = False,
    extensions: list[tuple[int, bytes]] | None = None,
    padding: int = 0,
) -> bytes:
    """Write one RTP packet (no CSRCs). ``padding`` (0..255) appends that many padding bytes,
    the last one holding the count (RFC 3550 section 5.1): a padding-only packet is how a
    sender probes a link."""
    if not 0 <= padding <= 255:
        raise ValueError("padding must be 0..255 bytes")
    ext = write_extensions(extensions or [])
    first = (RTP_VERSION << 6) | (0x10 if ext else 0) | (0x20 if padding else 0)
    second = (0x80 if marker else 0) | (payload_type & 0x7F)
    tail = (b"\x00" * (padding - 1) + bytes([padding])) if padding else b""
    return _HEADER.pack(first, second, sequence_number & 0xFFFF, timestamp & 0xFFFFFFFF,
                        ssrc & 0xFFFFFFFF) + ext + payload + tail


def write_rtp_with(*, payload_type: int, sequence_number: int, timestamp: int, ssrc: int,
                   payload: bytes, marker: bool, extension_block: bytes) -> bytes:
    """:func:`write_rtp` with the extension block already serialized (b"" for none)."""
    first = (RTP_VERSION << 6) | (0x10 if extension_block else 0)
    second = (0x80 if marker else 0) | (payload_type & 0x7F)
    return _HEADER.pack(first, second, sequence_number & 0xFFFF, timestamp & 0xFFFFFFFF,
                        ssrc & 0xFFFFFFFF) + extension_block + payload


@dataclass(frozen=True, slots=True)
class RtpView:
    """The fixed fields of an RTP packet and where its payload starts."""

    payload_type: int
    marker: bool
    sequence_number: int
    timestamp: int
    ssrc: int
    header_length: int
    payload_end: int


def parse_header(data: bytes) -> RtpView:
    """Parse the fixed header, CSRCs and extension block; raise ValueError when malformed."""
    if len(data) < 12:
        raise ValueError("RTP packet shorter than its fixed header")
    first, second, seq, ts, ssrc = _HEADER.unpack_from(data)
    if first >> 6 != RTP_VERSION:
        raise ValueError("RTP version is not 2")
    pos = 12 + 4 * (first & 0x0F)
    if first & 0x10:
        if len(data) < pos + 4:
            raise ValueError("RTP extension header truncated")
        (words,) = struct.unpack_from("!H", data, pos + 2)
        pos += 4 + 4 * words
    end = len(data)
    if first & 0x20:
        if end == 0 or data[-1] == 0 or data[-1] > end - pos:
            raise ValueError("RTP padding is invalid")
        end -= data[-1]
    if pos > end:
        raise ValueError("RTP header longer than the packet")
    return RtpView(second & 0x7F, bool(second & 0x80), seq, ts, ssrc, pos, end)


def wrap_rtx(data: bytes, *, rtx_payload_type: int, rtx_ssrc: int, rtx_sequence_number: int
             ) -> bytes:
    """Turn a packet into its RFC 4588 retransmission: RTX payload type, SSRC and sequence
    number, and the original sequence number (OSN) in front of the payload."""
    view = parse_header(data)
    header = bytearray(data[: view.header_length])
    header[0] &= 0xDF  # the RTX packet carries no padding
    header[1] = (header[1] & 0x80) | (rtx_payload_type & 0x7F)
    struct.pack_into("!H", header, 2, rtx_sequence_number & 0xFFFF)
    struct.pack_into("!I", header, 8, rtx_ssrc & 0xFFFFFFFF)
    return bytes(header) + struct.pack("!H", view.sequence_number) + \
        data[view.header_length: view.payload_end]


def unwrap_rtx(data: bytes, *, payload_type: int, ssrc: int) -> bytes:
    """Inverse of :func:`wrap_rtx`: restore the original packet from an RTX packet."""
    view = parse_header(data)
    if view.payload_end - view.header_length < 2:
        raise ValueError("RTX packet has no original sequence number")
    (osn,) = struct.unpack_from("!H", data, view.header_length)
    header = bytearray(data[: view.header_length])
    header[0] &= 0xDF
    header[1] = (header[1] & 0x80) | (payload_type & 0x7F)
    struct.pack_into("!H", header, 2, osn)
    struct.pack_into("!I", header, 8, ssrc & 0xFFFFFFFF)
    return bytes(header) + data[view.header_length + 2: view.payload_end]


def abs_send_time_now(now_s: float) -> bytes:
    """abs-send-time extension value: 6.18 fixed-point seconds, 24 bits."""
    value = int(now_s * (1 << 18)) & 0xFFFFFF
    return value.to_bytes(3, "big")
