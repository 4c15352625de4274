"""The few SDP facts the SFU checks itself before aiortc sees a description (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiortc import sdp as aiortc_sdp


class SdpError(ValueError):
    """The description cannot be parsed or does not fit what was asked."""


@dataclass(frozen=True, slots=True)
class MediaLine:
    mid: str
    kind: str
    direction: str
    # port 0: the other side refused this m-line (a browser that cannot decode the meeting's
    # video codec answers its video slots so, RFC 8829 §5.3.1); it carries no ICE or codec
    rejected: bool = False
    # offered codec names, lowercase ("opus", "vp8", "h264"); not part of the line's identity
    codecs: tuple[str, ...] = field(default=(), compare=False)


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


def media_lines(text: str, allow_rejected: bool = False) -> list[MediaLine]:
    """Parse a description and list its m-lines; SdpError when it is malformed.
    ``allow_rejected``: an answer may refuse m-lines (port 0, no ICE, maybe no codec), as long
    as it accepts at least one."""
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
        if media.port == 0:
            if not allow_rejected:
                raise SdpError(f"m-line {mid} is rejected (port 0)")
            out.append(MediaLine(mid=mid, kind=media.kind, direction="inactive", rejected=True))
            continue
        if media.kind in ("audio", "video") and not media.rtp.codecs:
            raise SdpError(f"m-line {mid} offers no codec")
        if media.kind in ("audio", "video") and (not media.ice or not media.ice.usernameFragment
                                                 or not media.dtls or not media.dtls.fingerprints):
            raise SdpError(f"m-line {mid} lacks ICE credentials or a DTLS fingerprint")
        codecs = tuple(dict.fromkeys(c.mimeType.split("/")[-1].lower() for c in media.rtp.codecs))
        out.append(MediaLine(mid=mid, kind=media.kind, direction=media.direction or "sendrecv",
                             codecs=codecs))
    if not any(not line.rejected for line in out):
        raise SdpError("SDP has no media" if not out else "SDP rejects every m-line")
    return out


def _sections(text: str) -> tuple[list[str], list[list[str]]]:
    """The session-level lines and the lines of each m-section."""
    session: list[str] = []
    sections: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("m="):
            sections.append([line])
        elif sections:
            sections[-1].append(line)
        else:
            session.append(line)
    return session, sections


TRANSPORT_ATTRIBUTES = ("a=ice-ufrag:", "a=ice-pwd:", "a=fingerprint:", "a=setup:",
                        "a=ice-options:")
SENDER_ATTRIBUTES = ("a=ssrc", "a=msid", "a=candidate:", "a=end-of-candidates", "a=rtcp:")
DIRECTIONS = ("a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive")


def fill_rejected(answer: str, offer: str) -> str:
    """An answer whose rejected m-lines aiortc can apply. aiortc knows no rejected m-line: it
    wants ICE, DTLS and a common codec in each. Each rejected m-section of ``answer`` becomes
    the ``offer``'s m-section of the same index, ``a=inactive``, on the transport of the
    answer's first accepted m-section, and joins its BUNDLE group: the slot is negotiated,
    nothing flows on it. Accepted m-sections are left as they are. SdpError when the answer
    does not follow the offer's m-lines."""
    session, answer_sections = _sections(answer)
    _, offer_sections = _sections(offer)
    if len(answer_sections) != len(offer_sections):
        raise SdpError("the answer must have one m-line per m-line of the offer")

    def port(section: list[str]) -> str:
        fields = section[0].split()
        return fields[1] if len(fields) > 1 else ""

    def mid(section: list[str]) -> str:
        return next((line[6:] for line in section if line.startswith("a=mid:")), "")

    accepted = next((sec for sec in answer_sections if port(sec) != "0"), None)
    if accepted is None:
        raise SdpError("SDP rejects every m-line")
    transport = [line for line in accepted if line.startswith(TRANSPORT_ATTRIBUTES)]
    out_sections: list[list[str]] = []
    rejected_mids: list[str] = []
    for answered, offered in zip(answer_sections, offer_sections, strict=True):
        if port(answered) != "0":
            out_sections.append(answered)
            continue
        if mid(answered) != mid(offered) or answered[0].split()[:1] != offered[0].split()[:1]:
            raise SdpError(f"rejected m-line {mid(answered)!r} does not match the offer")
        fields = offered[0].split()
        fields[1] = "9"
        section = [" ".join(fields)]
        for line in offered[1:]:
            if line.startswith(TRANSPORT_ATTRIBUTES + SENDER_ATTRIBUTES):
                continue
            section.append("a=inactive" if line in DIRECTIONS else line)
        section[1:1] = transport
        out_sections.append(section)
        rejected_mids.append(mid(answered))
    lines: list[str] = []
    for line in session:
        if line.startswith("a=group:BUNDLE"):
            present = line.split()[1:]
            line = " ".join(["a=group:BUNDLE", *present,
                             *[m for m in rejected_mids if m not in present]])
        lines.append(line)
    for section in out_sections:
        lines.extend(section)
    return "\r\n".join(lines) + "\r\n"


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


def _port(section: list[str]) -> str:
    fields = section[0].split()
    return fields[1] if len(fields) > 1 else ""


def _mid(section: list[str]) -> str:
    return next((line[6:] for line in section if line.startswith("a=mid:")), "")


def _bundle_group(session: list[str]) -> list[str]:
    return next((line.split()[1:] for line in session if line.startswith("a=group:BUNDLE")), [])


def bundle_only_mids(text: str) -> set[str]:
    """The mids of an offer's bundle-only m-lines (RFC 8843 §6: port 0 and ``a=bundle-only``,
    in a BUNDLE group): live m-lines that share the group's transport, not refused ones.
    Firefox offers its second m-line of a kind so under the default "balanced" policy."""
    session, sections = _sections(text)
    group = set(_bundle_group(session))
    return {_mid(sec) for sec in sections
            if _port(sec) == "0" and "a=bundle-only" in sec and _mid(sec) in group}



def _join(session: list[str], sections: list[list[str]]) -> str:
    lines = list(session)
    for section in sections:
        lines.extend(section)
    return "\r\n".join(lines) + "\r\n"


def open_publish_offer(offer: str) -> str:
    """An offer aiortc can apply, which knows neither bundle-only nor refused m-lines (it
    wants ICE, DTLS and a codec in each). A bundle-only m-section is live: it gets port 9
    and the transport of the first accepted m-section, and keeps its direction and sender
    lines. A refused one (port 0 without ``a=bundle-only``: a stopped transceiver) is left
    out, with its mid taken out of the BUNDLE group; ``restore_rejected`` puts it back into
    the answer, refused. SdpError when no m-section is accepted."""
    session, sections = _sections(offer)
    bundled = bundle_only_mids(offer)
    accepted = next((sec for sec in sections if _port(sec) != "0"), None)
    if accepted is None:
        raise SdpError("SDP rejects every m-line")
    transport = [line for line in accepted if line.startswith(TRANSPORT_ATTRIBUTES)]
    refused = {_mid(sec) for sec in sections if _port(sec) == "0" and _mid(sec) not in bundled}
    out_sections: list[list[str]] = []
    for section in sections:
        mid = _mid(section)
        if mid in refused:
            continue
        if mid in bundled:
            fields = section[0].split()
            fields[1] = "9"
            section = [" ".join(fields), *transport, *[
                line for line in section[1:]
                if not line.startswith(TRANSPORT_ATTRIBUTES) and line != "a=bundle-only"]]
        out_sections.append(section)
    out_session = [" ".join(["a=group:BUNDLE", *[m for m in line.split()[1:] if m not in refused]])
                   if line.startswith("a=group:BUNDLE") else line for line in session]
    return _join(out_session, out_sections)


def restore_rejected(answer: str, offer: str) -> str:
    """Our answer to ``open_publish_offer(offer)`` with the offer's refused m-lines put back
    at their places, refused again (RFC 8829 §5.3.1: port 0, ``a=inactive``, the offer's
    first format, out of the BUNDLE group), so the answer has one m-line per offered one."""
    _, offer_sections = _sections(offer)
    bundled = bundle_only_mids(offer)
    session, answer_sections = _sections(answer)
    answered = iter(answer_sections)
    out_sections: list[list[str]] = []
    for section in offer_sections:
        if _port(section) == "0" and _mid(section) not in bundled:
            fields = section[0].split()
            out_sections.append([" ".join([fields[0], "0", *fields[2:4]]), "c=IN IP4 0.0.0.0",
                                 "a=inactive", f"a=mid:{_mid(section)}"])
        else:
            out_sections.append(next(answered, []))
    if any(not sec for sec in out_sections) or next(answered, None) is not None:
        raise SdpError("the answer does not follow the offer's m-lines")
    return _join(session, out_sections)
