"""Real aiortc peers against the real server on loopback."""

from __future__ import annotations

import asyncio

from tests.harness import running_server
from tests.peers import PatternTrack, TestPeer, ToneTrack, dominant_frequency


async def test_subscriber_hears_publisher_tone_and_receives_video() -> None:
    async with running_server() as srv:
        alice = TestPeer(srv.base_url, srv.token("delegate"), "Alice")
        bob = TestPeer(srv.base_url, srv.token("delegate"), "Bob")
        try:
            await alice.join(organization="Ghana")
            await bob.join(organization="France")
            reply = await alice.publish(audio=ToneTrack(660), video=PatternTrack())
            assert reply["ok"], reply
            reply = await bob.subscribe(decode=True)
            assert reply["ok"], reply
            await bob.wait_for(lambda: bob.slot_of(alice.participant_id, "audio") is not None,
                               what="a seat for Alice")
            audio_mid = bob.slot_of(alice.participant_id, "audio")
            video_mid = bob.slot_of(alice.participant_id, "video")
            assert audio_mid and video_mid
            heard = await dominant_frequency(bob.tracks[audio_mid], seconds=1.0)
            assert abs(heard - 660) < 15, heard
            await bob.wait_for(lambda: bob.taps[video_mid].packets > 30, what="video packets")
        finally:
            await alice.close()
            await bob.close()
