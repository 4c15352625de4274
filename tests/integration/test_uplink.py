"""The publisher side of adaptive bitrate with real aiortc peers (sfu/uplink.py).

A publisher sends two camera layers; its connection then loses a quarter of the high layer's
packets on the way (dropped at the publisher's own DTLS transport, as a congested uplink
would). The SFU steps the publisher down to `low`, tells it (`/media` `uplink`), lowers the
connection's REMB to the low layer's cap plus audio, and moves the subscriber to the low
layer; the subscriber's own estimate is not touched by what the publisher's uplink lost.
When the loss stops, a trial after the hold steps it back to `full`.

The browser version, on a real `tc tbf` bottleneck, is tests/browser/test_uplink_browser.py.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, unpack_remb_fci

from sfu.uplink import AUDIO_ALLOWANCE_BPS, HOLD_S, LAYER_CAPS_BPS
from tests.harness import running_server
from tests.peers import PatternTrack, TestPeer, ToneTrack


def drop_on_the_way(peer: TestPeer, ssrc: int, share: float) -> dict[str, Any]:
    """Drop ``share`` of the RTP packets of ``ssrc`` that ``peer``'s publish connection
    sends, while ``state["on"]``."""
    state: dict[str, Any] = {"on": False, "dropped": 0}
    rng = random.Random(5)
    transceiver = peer.publish_pc.getTransceivers()[0]
    transport = transceiver.sender.transport
    send = transport._send_rtp

    async def lossy(data: bytes) -> None:
        is_rtp = len(data) >= 12 and not 192 <= data[1] <= 223
        if state["on"] and is_rtp and int.from_bytes(data[8:12], "big") == ssrc \
                and rng.random() < share:
            state["dropped"] += 1
            return
        await send(data)

    transport._send_rtp = lossy
    return state


@dataclass
class TwoLayers:
    server: Any
    pub: TestPeer
    sub: TestPeer
    senders: dict[str, Any]  # "camera" / "camera-low" -> the publisher's aiortc sender

    def layer(self) -> str | None:
        """The layer the subscriber's video slot of the publisher receives."""
        return next((s.get("layer") for s in self.sub.slots if s["kind"] == "video"
                     and s["participantId"] == self.pub.participant_id), None)


@asynccontextmanager
async def two_layers_on_the_high_one() -> AsyncIterator[TwoLayers]:
    """A publisher with both camera layers and a subscriber that receives the high one."""
    async with running_server() as srv:
        pub = TestPeer(srv.base_url, srv.token("delegate"), "Pub")
        sub = TestPeer(srv.base_url, srv.token("delegate"), "Sub")
        try:
            await pub.join()
            await sub.join()
            high, low = PatternTrack(320, 180), PatternTrack(160, 90)
            assert (await pub.publish(audio=ToneTrack(500), video=high, video_low=low))["ok"]
            by_track = {t.sender.track: t.sender for t in pub.publish_pc.getTransceivers()}
            meeting = TwoLayers(srv, pub, sub, {"camera": by_track[high],
                                                "camera-low": by_track[low]})
            assert (await sub.subscribe())["ok"]
            await sub.wait_for(lambda: meeting.layer() == "camera", timeout=20,
                               what="the high layer")
            yield meeting
        finally:
            await pub.close()
            await sub.close()


@pytest.mark.in_process
async def test_a_lossy_uplink_drops_the_high_layer_and_a_trial_brings_it_back() -> None:
    async with two_layers_on_the_high_one() as m:
        pub, sub = m.pub, m.sub
        rembs: list[int] = []
        handle = m.senders["camera-low"]._handle_rtcp_packet

        async def tap(packet: Any) -> None:
            if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
                rembs.append(unpack_remb_fci(packet.fci)[0])
            await handle(packet)

        m.senders["camera-low"]._handle_rtcp_packet = tap
        router = m.server.router()
        subscription = router.subscriptions[sub.participant_id]

        # a quarter of the high layer lost on the way
        loss = drop_on_the_way(pub, m.senders["camera"]._ssrc, 0.25)
        loss["on"] = True
        await pub.wait_for(lambda: pub.uplink_level != "full", timeout=10,
                           what="the uplink event")
        assert pub.uplink_level == "low", pub.last("uplink", "/media")
        assert pub.last("uplink", "/media")["loss"] > 0.08
        assert loss["dropped"] > 0
        await sub.wait_for(lambda: m.layer() == "camera-low", timeout=10,
                           what="the low layer at the subscriber")
        rembs.clear()
        await pub.wait_for(lambda: len(rembs) >= 2, timeout=5, what="REMBs")
        assert rembs[-1] == LAYER_CAPS_BPS["camera-low"] + AUDIO_ALLOWANCE_BPS, rembs
        # the publisher's loss is not the subscriber's: its estimate stays where it was
        assert subscription.estimate.estimate() >= 10_000_000, subscription.estimate
        loss["on"] = False

        # after the hold and a few clean seconds, a trial: full again, the high layer back
        await pub.wait_for(lambda: pub.uplink_level == "full", timeout=HOLD_S + 10,
                           what="the trial back to full")
        await sub.wait_for(lambda: m.layer() == "camera", timeout=10,
                           what="the high layer again")
        assert subscription.estimate.estimate() >= 10_000_000


async def test_an_uplink_too_lossy_for_either_layer_goes_audio_only() -> None:
    async with two_layers_on_the_high_one() as m:
        pub, sub = m.pub, m.sub
        # both layers lose a third of their packets on the way
        high_loss = drop_on_the_way(pub, m.senders["camera"]._ssrc, 0.33)
        low_loss = drop_on_the_way(pub, m.senders["camera-low"]._ssrc, 0.33)
        high_loss["on"] = low_loss["on"] = True
        await pub.wait_for(lambda: pub.uplink_level == "audio", timeout=15,
                           what="audio only")
        assert [e[2]["level"] for e in pub.events if e[1] == "uplink"] == ["low", "audio"]
        await sub.wait_for(lambda: not any(s["kind"] == "video" and s["participantId"]
                                           for s in sub.slots), timeout=10,
                           what="no video at the subscriber")
        mid = sub.slot_of(pub.participant_id, "audio")
        assert mid is not None
        before = sub.taps[mid].packets
        await sub.wait_for(lambda: sub.taps[mid].packets > before + 20, timeout=5,
                           what="audio going on")
