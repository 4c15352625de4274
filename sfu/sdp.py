"""The few SDP facts the SFU checks itself before aiortc sees a description (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from aiortc import sdp as aiortc_sdp


class SdpError(ValueError):
    """The description cannot be parsed or does not fit what was asked."""


@dataclass(frozen=True, slots=True)
class MediaLine:
    mid: str
    kind: str
    direction: str


def drop_mdns_candidates(text: str) -> str:
    """Remove ICE candidates whose address is an mDNS name (``*.local``): resolving one sends
    multicast to the local network, which this server never does."""
    lines = []
    for line in text.splitlines():
        if line.startswith("a=candidate:"):
            fields = line.split()
            if len(fields) > 4 and fields[4].lower().endswith(".local"):
                continue
        lines.append(line)
    return "\r\n".join(lines) + "\r\n"


def media_lines(text: str) -> list[MediaLine]:
    """Parse a description and list its m-lines; SdpError when it is malformed."""
    if not isinstance(text, str) or not text.startswith("v=0"):
        raise SdpError("SDP must start with v=0")
    try:
        description = aiortc_sdp.SessionDescription.parse(text)
    except Exception as exc:  # aiortc raises ValueError, KeyError, IndexError... on bad SDP
        raise SdpError(f"SDP could not be parsed: {exc.__class__.__name__}: {exc}") from exc
    out = []
    for media in description.media:
        mid = media.rtp.muxId
        if not mid:
            raise SdpError(f"m-line {media.kind} has no a=mid")
        if media.kind in ("audio", "video") and not media.rtp.codecs:
            raise SdpError(f"m-line {mid} offers no codec")
        if media.kind in ("audio", "video") and (not media.ice or not media.ice.usernameFragment
                                                 or not media.dtls or not media.dtls.fingerprints):
            raise SdpError(f"m-line {mid} lacks ICE credentials or a DTLS fingerprint")
        out.append(MediaLine(mid=mid, kind=media.kind, direction=media.direction or "sendrecv"))
    if not out:
        raise SdpError("SDP has no media")
    return out


def set_codec_parameters(text: str, codec: str, parameters: dict[str, int | str],
                         ptime: int | None = None) -> str:
    """Replace the ``a=fmtp`` parameters of every payload type of ``codec`` (e.g. "opus") in
    a description we send, adding the line when there is none. What a receiver puts in its
    fmtp is what the sender's encoder follows (RFC 7587 for Opus: useinbandfec, usedtx,
    maxaveragebitrate, stereo). ``ptime``: the packet duration (ms) we want to receive,
    ``a=ptime`` (RFC 4566) in each m-section carrying the codec, replacing any there."""
    lines = text.splitlines()
    payload_types = set()
    for line in lines:
        if line.startswith("a=rtpmap:"):
            pt, _, rest = line[len("a=rtpmap:"):].partition(" ")
            if rest.split("/")[0].lower() == codec.lower():
                payload_types.add(pt)
    fmtp = ";".join(f"{k}={v}" for k, v in parameters.items())
    out: list[str] = []
    for line in lines:
        if line.startswith("a=fmtp:") and line[len("a=fmtp:"):].split(" ")[0] in payload_types:
            continue
        if ptime is not None and line.startswith("a=ptime:"):
            continue
        out.append(line)
        if line.startswith("a=rtpmap:"):
            pt = line[len("a=rtpmap:"):].split(" ")[0]
            if pt in payload_types:
                out.append(f"a=fmtp:{pt} {fmtp}")
                if ptime is not None:
                    out.append(f"a=ptime:{ptime}")
    return "\r\n".join(out) + "\r\n"
