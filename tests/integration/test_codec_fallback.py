"""A browser without the meeting's video codec (a Firefox without OpenH264 in an H264
meeting) joins with audio: its subscribe answer refuses the video slots (`m=video 0`, no ICE
attributes, as Firefox writes it) and is accepted; it hears the floor and is sent no video; a
publish offer without the codec gets a clear error."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiortc import RTCRtpSender, RTCSessionDescription

from meeting_server.app import MEETINGS
from sfu import aiortc_glue
from tests.harness import running_server
from tests.peers import PatternTrack, SlotTap, TestPeer, ToneTrack, _tap_receiver


def refuse_video(answer: str) -> str:
    """Rewrite an answer as a browser that cannot decode the offered video writes it: each
    video m-section rejected (port 0, `a=inactive`, only its mid), and out of the BUNDLE."""
    session: list[str] = []
    sections: list[list[str]] = []
    for line in answer.splitlines():
        (sections[-1] if sections else session).append(line) if not line.startswith("m=") \
            else sections.append([line])
    rejected = []
    out_sections = []
    for section in sections:
        if section[0].startswith("m=video"):
            mid = next(line[6:] for line in section if line.startswith("a=mid:"))
            pt = section[0].split()[3]
            out_sections.append([f"m=video 0 UDP/TLS/RTP/SAVPF {pt}", "c=IN IP4 0.0.0.0",
                                 "a=inactive", f"a=mid:{mid}"])
            rejected.append(mid)
        else:
            out_sections.append(section)
    lines = []
    for line in session:
        if line.startswith("a=group:BUNDLE"):
            line = " ".join(w for w in line.split() if w not in rejected)
        lines.append(line)
    for section in out_sections:
        lines.extend(section)
    return "\r\n".join(lines) + "\r\n"


class AudioOnlyBrowser(TestPeer):
    async def subscribe(self, **_: Any) -> dict[str, Any]:  # type: ignore[override]
        reply = await self.call("/media", "subscribe")
        assert reply["ok"], reply
        pc = aiortc_glue.create_peer_connection(())
        self.subscribe_pc = pc
        await pc.setRemoteDescription(RTCSessionDescription(reply["sdp"], "offer"))
        for transceiver in pc.getTransceivers():
            tap = SlotTap(kind=transceiver.kind, mid=transceiver.mid)
            self.taps[transceiver.mid] = tap
            _tap_receiver(transceiver.receiver, tap, None)
        await pc.setLocalDescription(await pc.createAnswer())
        answer = refuse_video(pc.localDescription.sdp)
        assert "m=video 0 " in answer
        reply = await self.call("/media", "subscribe-answer", {"sdp": answer})
        if reply.get("ok"):
            self.slots = reply["slots"]
        return reply


@pytest.mark.in_process
async def test_a_browser_without_the_video_codec_joins_with_audio() -> None:
    async with running_server() as srv:
        meeting = await srv.app[MEETINGS].create_meeting("H264 session", video_codec="H264",
                                                           floor_mode="open")
        alice = TestPeer(srv.base_url, srv.token("delegate", meeting.id), "Alice")
        firefox = AudioOnlyBrowser(srv.base_url, srv.token("delegate", meeting.id), "Fox")
        vp8_only = TestPeer(srv.base_url, srv.token("delegate", meeting.id), "Vee")
        try:
            await alice.join()
            await firefox.join()
            reply = await alice.publish(audio=ToneTrack(440), video=PatternTrack())
            assert reply["ok"], reply
            reply = await firefox.subscribe()
            assert reply["ok"], reply
            await firefox.wait_for(lambda: firefox.slot_of(alice.participant_id, "audio"),
                                   what="Alice in a seat")
            mid = firefox.slot_of(alice.participant_id, "audio")
            assert mid is not None
            await firefox.wait_for(lambda: firefox.taps[mid].packets > 25,
                                   what="Alice's audio")
            await asyncio.sleep(1.5)
            video = [t for t in firefox.taps.values() if t.kind == "video"]
            assert video and all(t.packets == 0 for t in video), [t.packets for t in video]

            # a publisher whose browser offers no H264 is told why
            await vp8_only.join()
            pc = aiortc_glue.create_peer_connection(())
            vp8_only.publish_pc = pc
            transceiver = pc.addTransceiver(PatternTrack(), direction="sendonly")
            caps = RTCRtpSender.getCapabilities("video")
            transceiver.setCodecPreferences([c for c in caps.codecs if c.name == "VP8"])
            await pc.setLocalDescription(await pc.createOffer())
            reply = await vp8_only.call("/media", "publish", {
                "sdp": pc.localDescription.sdp, "sources": {transceiver.mid: "camera"}})
            assert reply["error"]["code"] == "bad-sdp", reply
            assert "H264" in reply["error"]["message"], reply
            router = srv.router(meeting.id)
            assert router.counts()["producers"] == 2  # Alice's mic and camera only
        finally:
            for peer in (alice, firefox, vp8_only):
                await peer.close()


async def test_an_answer_may_not_refuse_audio() -> None:
    async with running_server() as srv:
        peer = TestPeer(srv.base_url, srv.token("delegate"), "Peer")
        try:
            await peer.join()
            reply = await peer.call("/media", "subscribe")
            pc = aiortc_glue.create_peer_connection(())
            peer.subscribe_pc = pc
            await pc.setRemoteDescription(RTCSessionDescription(reply["sdp"], "offer"))
            await pc.setLocalDescription(await pc.createAnswer())
            answer = refuse_video(pc.localDescription.sdp.replace("m=audio", "m=video", 1))
            bad = await peer.call("/media", "subscribe-answer", {"sdp": answer})
            assert bad["error"]["code"] == "bad-sdp", bad
            # nothing changed: the proper answer is still taken
            good = await peer.call("/media", "subscribe-answer",
                                   {"sdp": pc.localDescription.sdp})
            assert good["ok"], good
        finally:
            await peer.close()
