"""The SDP that tells FFmpeg's RTP demuxer what each plain RTP tap carries (pure).

One m-line per tap, each on its own UDP port (RTCP on the next one, as FFmpeg expects with
no ``a=rtcp-mux``). The payload types and clock rates are those of ``sfu.plain_transport``'s
``PlainCodec``: both sides build from the same values.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TapStream:
    kind: str  # "audio" | "video"
    codec: str  # "opus" | "VP8" | "H264"
    payload_type: int
    clock_rate: int
    port: int
    channels: int = 1
    label: str = ""  # the channel ("floor", "fr") or "video"


def tap_sdp(streams: list[TapStream], host: str = "127.0.0.1",
            session: str = "rostrum webcast") -> str:
    if not streams:
        raise ValueError("a tap SDP needs at least one stream")
    ports = [s.port for s in streams]
    if len(set(ports)) != len(ports) or any(p % 2 or not 1024 <= p <= 65534 for p in ports):
        raise ValueError("each tap needs its own even port (RTCP takes the next one)")
    lines = ["v=0", f"o=- 0 0 IN IP4 {host}", f"s={session}", f"c=IN IP4 {host}", "t=0 0"]
    for s in streams:
        if s.kind not in ("audio", "video"):
            raise ValueError(f"unknown kind {s.kind!r}")
        lines.append(f"m={s.kind} {s.port} RTP/AVP {s.payload_type}")
        if s.label:
            lines.append(f"a=label:{s.label}")
        encoding = f"/{s.channels}" if s.kind == "audio" and s.channels > 1 else ""
        lines.append(f"a=rtpmap:{s.payload_type} {s.codec}/{s.clock_rate}{encoding}")
        if s.codec.upper() == "H264":
            lines.append(f"a=fmtp:{s.payload_type} packetization-mode=1")
        if s.kind == "video":
            lines.append(f"a=rtcp-fb:{s.payload_type} nack pli")
        lines.append("a=recvonly")
    return "\r\n".join(lines) + "\r\n"
