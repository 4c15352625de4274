"""Real aiortc peers against the real server on loopback."""

from __future__ import annotations

import asyncio

from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, unpack_remb_fci

from meeting_server.app import MEETINGS as MEETINGS_KEY
from tests.harness import running_server
from tests.peers import PatternTrack, TestPeer, ToneTrack, dominant_frequency, seq_span


async def test_subscriber_hears_publisher_tone_and_receives_video() -> None:
    async with running_server() as srv:
        alice = TestPeer(srv.base_url, srv.token("delegate"), "Alice")
        bob = TestPeer(srv.base_url, srv.token("delegate"), "Bob")
        try:
            await alice.join(organization="Ghana")
            await bob.join(organization="France")
            reply = await alice.publish(audio=ToneTrack(660), video=PatternTrack())
            assert reply["ok"], reply
            # the answer asks Alice's Opus encoder for in-band FEC, fullband 32 kbit/s, DTX
            # (a delegate)
            assert "useinbandfec=1" in reply["sdp"] and "maxaveragebitrate=32000" in reply["sdp"]
            assert "usedtx=1" in reply["sdp"]
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


async def test_fan_out_to_ten_subscribers_and_nack_recovery() -> None:
    """1 publisher, 10 subscribers: each gets at least 95 % of the packets; one subscriber
    drops some video packets on purpose and gets them back from the SFU's cache by NACK."""
    async with running_server() as srv:
        publisher = TestPeer(srv.base_url, srv.token("delegate"), "Publisher")
        subscribers = [TestPeer(srv.base_url, srv.token("delegate"), f"S{i}") for i in range(10)]
        dropped_on_purpose: set[int] = set()
        dropping = True

        def drop_every_25th(tap, packet) -> bool:  # type: ignore[no-untyped-def]
            if dropping and tap.kind == "video" and packet.sequence_number % 25 == 0:
                dropped_on_purpose.add(packet.sequence_number)
                return True
            return False

        try:
            await publisher.join()
            for i, sub in enumerate(subscribers):
                await sub.join()
                reply = await sub.subscribe(drop=drop_every_25th if i == 0 else None)
                assert reply["ok"], reply
            assert (await publisher.publish(audio=ToneTrack(440), video=PatternTrack()))["ok"]
            for sub in subscribers:
                await sub.wait_for(lambda s=sub: s.slot_of(publisher.participant_id, "video")
                                   is not None, what="a seat for the publisher")
            await asyncio.sleep(4.0)
            dropping = False
            await asyncio.sleep(1.0)
            producers = {p.kind: p for p in (await srv.router_stats()).producers}
            for sub in subscribers:
                for kind in ("audio", "video"):
                    mid = sub.slot_of(publisher.participant_id, kind)
                    tap = sub.taps[mid]
                    assert tap.first_seq is not None, (sub.name, kind)
                    span = seq_span(tap.received)
                    got = len(tap.received)
                    assert got >= 0.95 * span, (sub.name, kind, got, span)
                    assert len(tap.ssrcs) == 1
                    # the consumer forwarded (nearly) everything the producer got since it
                    # started feeding this subscriber
                    assert producers[kind].packets_received > 0
            first = subscribers[0]
            video = first.taps[first.slot_of(publisher.participant_id, "video")]
            assert dropped_on_purpose, "the test dropped nothing"
            recovered = dropped_on_purpose & video.retransmitted
            assert recovered == dropped_on_purpose, (dropped_on_purpose, video.retransmitted)
        finally:
            for peer in [publisher, *subscribers]:
                await peer.close()


async def test_layers_low_bandwidth_switch_and_metrics() -> None:
    """Two camera layers; a subscriber on a clean link gets the high one; the low-bandwidth
    switch leaves audio only; /metrics shows the layer, the estimate and the loss."""
    import aiohttp

    async with running_server() as srv:
        pub = TestPeer(srv.base_url, srv.token("delegate"), "Pub")
        sub = TestPeer(srv.base_url, srv.token("delegate"), "Sub")
        try:
            await pub.join()
            await sub.join()
            reply = await pub.publish(audio=ToneTrack(500), video=PatternTrack(640, 360),
                                      video_low=PatternTrack(320, 180))
            assert reply["ok"], reply
            # every REMB the publisher's connection receives, as it arrives
            rembs: list[tuple[int, list[int]]] = []
            video_ssrcs = set()
            for transceiver in pub.publish_pc.getTransceivers():
                sender = transceiver.sender
                if transceiver.kind != "video":
                    continue
                video_ssrcs.add(sender._ssrc)
                handle = sender._handle_rtcp_packet

                async def tap(packet, handle=handle):  # type: ignore[no-untyped-def]
                    if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
                        rembs.append(unpack_remb_fci(packet.fci))
                    await handle(packet)

                sender._handle_rtcp_packet = tap
            assert (await sub.subscribe())["ok"]
            await sub.wait_for(lambda: any(s.get("layer") == "camera" for s in sub.slots),
                               timeout=20, what="the high layer")
            await pub.wait_for(lambda: len(rembs) >= 2, timeout=10, what="REMBs")
            # one ceiling for the whole connection (a browser applies a REMB to all of it):
            # both layers' caps and the audio allowance, naming both video SSRCs
            assert {bitrate for bitrate, _ in rembs} == {600_000 + 150_000 + 70_000}, rembs
            assert all(set(ssrcs) == video_ssrcs for _, ssrcs in rembs), (rembs, video_ssrcs)
            assert (await sub.call("/media", "video", {"enabled": False}))["ok"]
            await sub.wait_for(lambda: not any(s["kind"] == "video" and s["participantId"]
                                               for s in sub.slots), what="audio only")
            mid = sub.slot_of(pub.participant_id, "audio")
            before = sub.taps[mid].packets
            await asyncio.sleep(0.5)
            assert sub.taps[mid].packets > before  # audio goes on
            async with aiohttp.ClientSession() as http:
                text = await (await http.get(f"{srv.base_url}/metrics")).text()
            assert "# TYPE rostrum_consumer_layer gauge" in text
            assert f'rostrum_consumer_layer{{meeting="{srv.meeting_id}"' in text
            assert "rostrum_subscriber_estimate_bps" in text
            assert "rostrum_consumer_loss_ratio" in text
            assert (f'rostrum_publisher_uplink_level{{meeting="{srv.meeting_id}",'
                    f'participant="{pub.participant_id}"}} 2') in text
            assert (f'rostrum_publisher_remb_bps{{meeting="{srv.meeting_id}",'
                    f'participant="{pub.participant_id}"}} 820000') in text
            layer_lines = [line for line in text.splitlines()
                           if line.startswith("rostrum_consumer_layer{")]
            assert layer_lines and all(line.endswith(" -1") for line in layer_lines)
            assert (await sub.call("/media", "video", {"enabled": True}))["ok"]
            await sub.wait_for(lambda: any(s.get("layer") for s in sub.slots), timeout=20,
                               what="video back")
        finally:
            await pub.close()
            await sub.close()


async def test_h264_meeting_forwards_h264_with_keyframes() -> None:
    """A meeting set to H264: publisher and subscribers negotiate only H264 (and its RTX), and
    the SFU forwards it, detecting keyframes for new consumers."""
    async with running_server() as srv:
        meetings = srv.app[MEETINGS_KEY]
        record = await meetings.create_meeting("H264 session", video_codec="H264",
                                               floor_mode="open")
        pub = TestPeer(srv.base_url, srv.token("delegate", meeting_id=record.id), "Pub")
        sub = TestPeer(srv.base_url, srv.token("delegate", meeting_id=record.id), "Sub")
        try:
            await pub.join()
            await sub.join()
            reply = await pub.publish(video=PatternTrack(320, 180))
            assert reply["ok"], reply
            video_rtpmaps = [line for line in reply["sdp"].splitlines()
                             if line.startswith("a=rtpmap:") and "/90000" in line]
            assert video_rtpmaps and all("H264" in x or "rtx" in x for x in video_rtpmaps)
            assert (await sub.subscribe())["ok"]
            await sub.wait_for(lambda: sub.slot_of(pub.participant_id, "video") is not None)
            mid = sub.slot_of(pub.participant_id, "video")
            await sub.wait_for(lambda: sub.taps[mid].packets > 30, what="H264 packets")
            stats = await srv.router_stats(record.id)
            producer = next(p for p in stats.producers if p.source == "camera")
            assert producer.codec == "H264"
            assert producer.keyframes_received >= 1
        finally:
            await pub.close()
            await sub.close()
