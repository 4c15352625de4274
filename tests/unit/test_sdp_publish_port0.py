"""sfu/sdp.py: port-0 m-lines in a publish offer, bundle-only (Firefox's second m-line of a
kind under the "balanced" policy) and refused (a stopped transceiver)."""

from __future__ import annotations

import pytest

from sfu.sdp import (
    SdpError,
    bundle_only_mids,
    media_lines,
    open_publish_offer,
    restore_rejected,
)

TRANSPORT = ["a=ice-ufrag:ff01", "a=ice-pwd:" + "f" * 32, "a=fingerprint:sha-256 AA:BB",
             "a=setup:actpass"]


def offer(third: str) -> str:
    """mic (mid 0), camera (mid 1), and a third video m-line opened by ``third``."""
    return "\r\n".join([
        "v=0", "o=mozilla...THIS_IS_SDPARTA-153 1 0 IN IP4 0.0.0.0", "s=-", "t=0 0",
        "a=group:BUNDLE 0 1 2",
        "m=audio 9 UDP/TLS/RTP/SAVPF 109", "c=IN IP4 0.0.0.0", "a=sendonly", "a=mid:0",
        "a=rtpmap:109 opus/48000/2", "a=ssrc:111 cname:{x}", *TRANSPORT,
        "a=candidate:0 1 UDP 2122252543 10.0.0.2 40000 typ host",
        "m=video 9 UDP/TLS/RTP/SAVPF 120", "c=IN IP4 0.0.0.0", "a=sendonly", "a=mid:1",
        "a=rtpmap:120 VP8/90000", "a=ssrc:222 cname:{x}", *TRANSPORT,
        third, "c=IN IP4 0.0.0.0", "a=sendonly", "a=mid:2",
        "a=rtpmap:120 VP8/90000", "a=ssrc:333 cname:{x}", "a=bundle-only", "",
    ])


BUNDLE_ONLY = offer("m=video 0 UDP/TLS/RTP/SAVPF 120")
STOPPED = BUNDLE_ONLY.replace("a=bundle-only\r\n", "")


def test_a_bundle_only_line_is_live_on_the_bundled_transport() -> None:
    assert bundle_only_mids(BUNDLE_ONLY) == {"2"}
    opened = open_publish_offer(BUNDLE_ONLY)
    lines = media_lines(opened)  # no longer refused: ICE, DTLS and codec present
    assert [(line.mid, line.direction, line.codecs) for line in lines] == [
        ("0", "sendonly", ("opus",)), ("1", "sendonly", ("vp8",)), ("2", "sendonly", ("vp8",))]
    third = opened.split("m=video")[2]
    assert third.startswith(" 9 ") and "a=ssrc:333" in third and "a=ice-ufrag:ff01" in third
    assert "a=bundle-only" not in opened and "a=group:BUNDLE 0 1 2" in opened


def test_a_stopped_line_is_left_out_and_answered_refused() -> None:
    assert bundle_only_mids(STOPPED) == set()
    opened = open_publish_offer(STOPPED)
    assert [line.mid for line in media_lines(opened)] == ["0", "1"]
    assert "a=group:BUNDLE 0 1\r\n" in opened and "a=ssrc:333" not in opened
    answer = "\r\n".join(["v=0", "o=- 2 2 IN IP4 0.0.0.0", "s=-", "t=0 0", "a=group:BUNDLE 0 1",
                          "m=audio 9 UDP/TLS/RTP/SAVPF 109", "a=recvonly", "a=mid:0",
                          "m=video 9 UDP/TLS/RTP/SAVPF 120", "a=recvonly", "a=mid:1", ""])
    restored = restore_rejected(answer, STOPPED)
    sections = restored.split("m=")[1:]
    assert len(sections) == 3
    assert sections[2].startswith("video 0 UDP/TLS/RTP/SAVPF 120\r\n")
    assert "a=inactive" in sections[2] and "a=mid:2" in sections[2]
    # an answer that does not follow the opened offer is refused
    with pytest.raises(SdpError):
        restore_rejected(answer.split("m=video")[0], STOPPED)


def test_an_offer_refusing_everything_is_refused() -> None:
    everything = STOPPED.replace("m=audio 9", "m=audio 0").replace("m=video 9", "m=video 0")
    with pytest.raises(SdpError, match="every m-line"):
        open_publish_offer(everything)
