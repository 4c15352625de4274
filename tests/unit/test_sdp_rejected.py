"""sfu/sdp.py: rejected m-lines (port 0) in answers, and the answer aiortc is given."""

from __future__ import annotations

import pytest
from aiortc import sdp as aiortc_sdp

from sfu.sdp import SdpError, fill_rejected, media_lines

OFFER = "\r\n".join([
    "v=0", "o=- 1 1 IN IP4 0.0.0.0", "s=-", "t=0 0", "a=group:BUNDLE 0 1",
    "m=audio 9 UDP/TLS/RTP/SAVPF 96", "c=IN IP4 0.0.0.0", "a=sendonly", "a=mid:0",
    "a=rtpmap:96 opus/48000/2", "a=ssrc:111 cname:x", "a=ice-ufrag:srv1", "a=ice-pwd:" + "p" * 22,
    "a=fingerprint:sha-256 AA:BB", "a=setup:actpass", "a=candidate:1 1 udp 1 10.0.0.1 5000 typ host",
    "m=video 9 UDP/TLS/RTP/SAVPF 97", "c=IN IP4 0.0.0.0", "a=sendonly", "a=mid:1",
    "a=rtpmap:97 H264/90000", "a=ssrc:222 cname:x", "a=ice-ufrag:srv1", "a=ice-pwd:" + "p" * 22,
    "a=fingerprint:sha-256 AA:BB", "a=setup:actpass", "",
])
ANSWER = "\r\n".join([
    "v=0", "o=- 2 2 IN IP4 0.0.0.0", "s=-", "t=0 0", "a=group:BUNDLE 0",
    "m=audio 9 UDP/TLS/RTP/SAVPF 96", "c=IN IP4 0.0.0.0", "a=recvonly", "a=mid:0",
    "a=rtpmap:96 opus/48000/2", "a=ice-ufrag:cli1", "a=ice-pwd:" + "q" * 22,
    "a=fingerprint:sha-256 CC:DD", "a=setup:active",
    "m=video 0 UDP/TLS/RTP/SAVPF 0", "c=IN IP4 0.0.0.0", "a=inactive", "a=mid:1", "",
])


def test_a_rejected_line_is_refused_unless_allowed() -> None:
    with pytest.raises(SdpError, match="rejected"):
        media_lines(ANSWER)
    lines = media_lines(ANSWER, allow_rejected=True)
    assert [(line.mid, line.rejected) for line in lines] == [("0", False), ("1", True)]


def test_an_answer_rejecting_everything_is_refused() -> None:
    everything = ANSWER.replace("m=audio 9", "m=audio 0")
    with pytest.raises(SdpError, match="every m-line"):
        media_lines(everything, allow_rejected=True)


def test_fill_rejected_gives_aiortc_an_inactive_bundled_line() -> None:
    filled = fill_rejected(ANSWER, OFFER)
    description = aiortc_sdp.SessionDescription.parse(filled)
    audio, video = description.media
    assert video.port == 9 and video.direction == "inactive" and video.rtp.muxId == "1"
    assert video.ice.usernameFragment == "cli1"  # the answer's own transport
    assert [c.mimeType for c in video.rtp.codecs] == ["video/H264"]
    assert not video.ssrc and not video.ice_candidates  # nothing of the offer's sender
    assert description.group[0].items == ["0", "1"]
    assert audio.rtp.muxId == "0" and audio.direction == "recvonly"
    assert media_lines(filled) and not any(line.rejected for line in media_lines(filled))


def test_fill_rejected_needs_the_offers_lines() -> None:
    with pytest.raises(SdpError):
        fill_rejected(ANSWER, OFFER.split("m=video")[0])
    with pytest.raises(SdpError):
        fill_rejected(ANSWER.replace("a=mid:1", "a=mid:7"), OFFER)
