"""sfu/sdp.py: the SDP facts the SFU checks before aiortc sees a description."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import aioice.ice
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection

import sfu.aiortc_glue as glue
from sfu.sdp import MediaLine, SdpError, drop_mdns_candidates, media_lines


@pytest.fixture
async def offer() -> AsyncIterator[str]:
    """A real aiortc offer: audio recvonly, video sendrecv, a data channel. ICE gathers on
    loopback only and no STUN server is configured, so nothing leaves the machine."""
    saved = (aioice.ice.get_host_addresses, glue._allowed_addresses)
    glue.restrict_host_addresses(["127.0.0.1"])
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        pc.addTransceiver("audio", direction="recvonly")
        pc.addTransceiver("video", direction="sendrecv")
        pc.createDataChannel("chat")
        await pc.setLocalDescription(await pc.createOffer())
        yield pc.localDescription.sdp
    finally:
        await pc.close()
        aioice.ice.get_host_addresses, glue._allowed_addresses = saved


# --- media_lines -----------------------------------------------------------------------------

async def test_media_lines_on_real_offer(offer: str) -> None:
    assert media_lines(offer) == [
        MediaLine(mid="0", kind="audio", direction="recvonly"),
        MediaLine(mid="1", kind="video", direction="sendrecv"),
        MediaLine(mid="2", kind="application", direction="sendrecv"),
    ]


async def test_offer_gathered_only_on_loopback(offer: str) -> None:
    candidates = [line for line in offer.splitlines() if line.startswith("a=candidate:")]
    assert candidates
    assert all(line.split()[4] == "127.0.0.1" for line in candidates)
    assert "typ srflx" not in offer and "typ relay" not in offer


async def test_media_lines_with_lf_line_endings(offer: str) -> None:
    assert media_lines(offer.replace("\r\n", "\n")) == media_lines(offer)


async def test_media_lines_direction_changes(offer: str) -> None:
    changed = offer.replace("a=recvonly", "a=inactive").replace("a=sendrecv", "a=sendonly")
    assert [m.direction for m in media_lines(changed)] == ["inactive", "sendonly", "sendrecv"]


@pytest.mark.parametrize("text", [
    "", " v=0", "garbage", "hello\r\nworld", "V=0\r\n", "\x00\x01\x02\xff\xfe",
    "\ufeffv=0\r\n",
])
def test_media_lines_not_sdp(text: str) -> None:
    with pytest.raises(SdpError):
        media_lines(text)


@pytest.mark.parametrize("value", [None, b"v=0\r\n", 0, ["v=0"], {"sdp": "v=0"},
                                   b"\x00\xff\x89PNG\r\n\x1a\n"])
def test_media_lines_not_a_string(value: object) -> None:
    with pytest.raises(SdpError):
        media_lines(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["v=0", "v=0\r\n", "v=0\r\ngarbage\r\n",
                                  "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"])
def test_media_lines_no_media(text: str) -> None:
    with pytest.raises(SdpError, match="no media"):
        media_lines(text)


def test_sdp_error_is_a_value_error() -> None:
    assert issubclass(SdpError, ValueError)


async def test_media_lines_without_mid(offer: str) -> None:
    no_mid = "\r\n".join(line for line in offer.split("\r\n") if not line.startswith("a=mid:"))
    with pytest.raises(SdpError, match="a=mid"):
        media_lines(no_mid)


async def test_media_lines_one_m_line_without_mid(offer: str) -> None:
    with pytest.raises(SdpError, match="mid"):
        media_lines(offer.replace("a=mid:1\r\n", ""))


async def test_media_lines_without_ice_credentials(offer: str) -> None:
    text = "\r\n".join(line for line in offer.split("\r\n")
                       if not line.startswith("a=ice-ufrag:"))
    with pytest.raises(SdpError, match="ICE|DTLS"):
        media_lines(text)


async def test_media_lines_without_fingerprint(offer: str) -> None:
    text = "\r\n".join(line for line in offer.split("\r\n")
                       if not line.startswith("a=fingerprint:"))
    with pytest.raises(SdpError, match="ICE|DTLS"):
        media_lines(text)


async def test_media_lines_without_codecs(offer: str) -> None:
    """An audio m-line whose only payload type has no rtpmap offers no codec."""
    out = []
    for line in offer.split("\r\n"):
        if line.startswith(("a=rtpmap:", "a=fmtp:", "a=rtcp-fb:")):
            continue
        if line.startswith(("m=audio", "m=video")):
            line = " ".join(line.split()[:3] + ["120"])
        out.append(line)
    with pytest.raises(SdpError, match="codec"):
        media_lines("\r\n".join(out))


async def test_media_lines_truncated_offer(offer: str) -> None:
    for cut in range(0, len(offer), 97):
        text = offer[:cut]
        try:
            lines = media_lines(text)
        except SdpError:
            continue
        assert all(isinstance(m, MediaLine) for m in lines)


async def test_media_lines_only_raises_sdp_error_on_mangled_offers(offer: str) -> None:
    rnd = random.Random(2024)
    lines = offer.split("\r\n")
    for _ in range(300):
        mangled = list(lines)
        for _ in range(rnd.randint(1, 3)):
            i = rnd.randrange(1, len(mangled))
            op = rnd.randrange(4)
            if op == 0:
                del mangled[i]
            elif op == 1:
                mangled[i] = mangled[i][:rnd.randrange(len(mangled[i]) + 1)]
            elif op == 2 and mangled[i]:
                chars = list(mangled[i])
                chars[rnd.randrange(len(chars))] = rnd.choice("x :/0\x00é=")
                mangled[i] = "".join(chars)
            else:
                mangled.insert(i, mangled[rnd.randrange(len(mangled))])
        try:
            media_lines("\r\n".join(mangled))
        except SdpError:
            pass


def test_media_lines_binary_junk_decoded_as_text() -> None:
    rnd = random.Random(5)
    for _ in range(50):
        junk = "v=0\r\n" + bytes(rnd.randrange(256) for _ in range(200)).decode("latin-1")
        try:
            media_lines(junk)
        except SdpError:
            pass


# --- drop_mdns_candidates --------------------------------------------------------------------

MDNS_SDP = (
    "v=0\r\n"
    "o=- 1 1 IN IP4 0.0.0.0\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
    "a=mid:0\r\n"
    "a=candidate:1 1 udp 2122260223 6f3a0c5e-1b2c-4d5e-8f90-a1b2c3d4e5f6.local 54321 typ host\r\n"
    "a=candidate:2 1 udp 2122260223 192.168.1.20 54322 typ host\r\n"
    "a=candidate:3 1 tcp 1518280447 ABCDEF.LOCAL 9 typ host tcptype active\r\n"
    "a=candidate:4 1 udp 1686052607 203.0.113.7 40000 typ srflx raddr 0.0.0.0 rport 0\r\n"
    "a=candidate:5 1 udp 2122262783 fe80::1 54323 typ host\r\n"
    "a=candidate:6 1 udp 41885439 turn.local.example.org 3478 typ relay\r\n"
    "a=end-of-candidates\r\n"
)


def test_drop_mdns_candidates_removes_only_local_names() -> None:
    out = drop_mdns_candidates(MDNS_SDP)
    kept = [line for line in out.split("\r\n") if line.startswith("a=candidate:")]
    assert [line.split()[0] for line in kept] == [
        "a=candidate:2", "a=candidate:4", "a=candidate:5", "a=candidate:6"]
    assert ".local " not in out and ".LOCAL " not in out
    # everything that is not an mDNS candidate is untouched, in order
    expected = [line for line in MDNS_SDP.split("\r\n")
                if not line.startswith(("a=candidate:1 ", "a=candidate:3 "))]
    assert out.split("\r\n") == expected


def test_drop_mdns_candidates_keeps_raddr_local() -> None:
    # only the candidate's own address counts, not raddr or other fields
    line = "a=candidate:7 1 udp 1686052607 198.51.100.1 40000 typ srflx raddr x.local rport 1"
    assert drop_mdns_candidates(line) == line + "\r\n"


def test_drop_mdns_candidates_without_candidates_is_identity() -> None:
    text = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
    assert drop_mdns_candidates(text) == text


def test_drop_mdns_candidates_normalizes_line_endings() -> None:
    text = "v=0\na=candidate:1 1 udp 1 host.local 9 typ host\na=candidate:2 1 udp 1 10.0.0.1 9 typ host\n"
    assert drop_mdns_candidates(text) == \
        "v=0\r\na=candidate:2 1 udp 1 10.0.0.1 9 typ host\r\n"


def test_drop_mdns_candidates_short_candidate_line_kept() -> None:
    text = "a=candidate:1 1 udp\r\n"
    assert drop_mdns_candidates(text) == text


def test_drop_mdns_candidates_ignores_non_candidate_lines_mentioning_local() -> None:
    text = "a=extmap:1 urn:x.local\r\na=x-candidate:1 1 udp 1 a.local 9 typ host\r\n"
    assert drop_mdns_candidates(text) == text


async def test_drop_mdns_candidates_on_real_offer_is_lossless(offer: str) -> None:
    assert drop_mdns_candidates(offer) == offer
    assert media_lines(drop_mdns_candidates(offer)) == media_lines(offer)


async def test_drop_mdns_candidates_on_offer_with_mdns(offer: str) -> None:
    mdns = offer.replace(" 127.0.0.1 ", " 0e5c3f1a-aaaa-bbbb-cccc-0123456789ab.local ", 1)
    out = drop_mdns_candidates(mdns)
    assert ".local" not in out
    assert out.count("a=candidate:") == offer.count("a=candidate:") - 1
    assert media_lines(out) == media_lines(offer)


def test_set_codec_parameters_replaces_and_adds_opus_fmtp() -> None:
    from sfu.sdp import set_codec_parameters

    sdp = ("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\na=rtpmap:111 opus/48000/2\r\n"
           "a=fmtp:111 minptime=10\r\na=rtpmap:0 PCMU/8000\r\n"
           "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\n")
    out = set_codec_parameters(sdp, "opus", {"useinbandfec": 1, "usedtx": 0})
    assert "a=fmtp:111 useinbandfec=1;usedtx=0" in out
    assert "minptime=10" not in out
    assert out.count("a=fmtp:") == 1
    without = sdp.replace("a=fmtp:111 minptime=10\r\n", "")
    out = set_codec_parameters(without, "opus", {"useinbandfec": 1})
    assert "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 useinbandfec=1\r\n" in out
