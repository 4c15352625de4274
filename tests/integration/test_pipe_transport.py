"""PipeTransport (sfu/plain_transport.py): a meeting's home router piped to a second router of
the same meeting, as two workers of a spread meeting are (here in one process, so the test
can look inside both routers).

Real server and aiortc publisher at home, a real aiortc subscriber on the far router. Both
camera layers and the microphone are piped; the far router sees the audio level (the
floor's voice is chosen from it there too); a keyframe request of the far side reaches the
home producer; packets lost on the pipe are NACKed and repaired from the home end's cache;
a producer closed at home is announced so its copy is closed; bad pipe commands are refused
and change nothing.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiortc import RTCSessionDescription

from sfu import aiortc_glue
from sfu.commands import (
    AcceptAnswer,
    ClosePipe,
    CommandError,
    ConnectPipe,
    Offer,
    OpenPipe,
    PipeAddress,
    PipeProducer,
    PipeProducers,
    Subscribe,
    UnpipeProducer,
)
from sfu.events import PipedProducer, PipedProducerClosed, ProducerPiped, RouterEvent
from sfu.plain_transport import PipeTransport
from sfu.router import Router
from sfu.vp8 import is_vp8_keyframe
from tests.harness import running_server
from tests.peers import PatternTrack, SlotTap, TestPeer, ToneTrack, _tap_receiver


async def refused(router: Router, command: Any, code: str) -> str:
    try:
        await router.negotiate(command)
    except CommandError as exc:
        assert exc.code == code, (exc.code, exc.message)
        return exc.message
    raise AssertionError(f"{command!r} was accepted")


async def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def test_a_pipe_carries_layers_levels_keyframes_and_repairs() -> None:
    async with running_server(workers=0, floor_mode="open") as srv:
        chair = TestPeer(srv.base_url, srv.token("chair"), "Chair")
        await chair.join()
        home = srv.router()
        far = Router(srv.meeting_id, video_seats=2, audio_seats=2)
        events: list[RouterEvent] = []
        home.on_event(events.append)
        subscriber: Any = None
        try:
            assert (await chair.publish(audio=ToneTrack(440), video=PatternTrack(320, 180),
                                        video_low=PatternTrack(160, 90)))["ok"]
            await chair.wait_for(lambda: len(home.producers) == 3, what="three producers")
            far.apply(home.plan)

            # bad commands: a clear refusal, nothing changed
            assert "no pipe" in await refused(far, ConnectPipe("x", "127.0.0.1", 9), "not-found")
            assert (await far.negotiate(OpenPipe("p1"))).__class__ is PipeAddress
            assert "open already" in await refused(far, OpenPipe("p1"), "conflict")
            assert "IP address" in await refused(far, ConnectPipe("p1", "localhost", 9),
                                                 "bad-request")
            assert "1..65535" in await refused(far, ConnectPipe("p1", "127.0.0.1", 0),
                                               "bad-request")
            bad = PipedProducer(5, "p9", "ana", "screen", "audio", "opus", 111, 48000, 2)
            assert "mic" in await refused(far, PipeProducer("p1", bad), "bad-request")
            assert "carries no ssrc" in await refused(far, UnpipeProducer("p1", 5), "not-found")
            assert not far.producers and far.pipes["p1"].connection_state == "new"

            # the pair: the far end first, then home, then home sends its producers
            here = await home.negotiate(OpenPipe("p1"))
            far_pipe = far.pipes["p1"]
            assert isinstance(here, PipeAddress)
            await far.negotiate(ConnectPipe("p1", here.host, here.port))
            host, port = far_pipe.local_address
            await home.negotiate(ConnectPipe("p1", host, port))
            await home.negotiate(PipeProducers("p1"))
            await chair.wait_for(lambda: len([e for e in events
                                              if isinstance(e, ProducerPiped)]) == 3,
                                 what="three producers announced")
            for event in events:
                if isinstance(event, ProducerPiped):
                    await far.negotiate(PipeProducer("p1", event.producer))
            dup = next(e for e in events if isinstance(e, ProducerPiped)).producer
            assert "already piped" in await refused(far, PipeProducer("p1", dup), "conflict")
            sources = sorted(p.source for p in far.producers.values())
            assert sources == ["camera", "camera-low", "mic"], sources
            assert {p.participant_id for p in far.producers.values()} == {chair.participant_id}

            # a datagram from anywhere else is dropped
            loop = asyncio.get_running_loop()
            stranger, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol,
                                                              local_addr=("127.0.0.1", 0))
            dropped = far_pipe.dropped
            stranger.sendto(b"\x80" + bytes(40), (host, port))
            await asyncio.sleep(0.2)
            assert far_pipe.dropped == dropped + 1
            stranger.close()

            # a subscriber on the far router: it gets the chair's camera from a keyframe on
            # (its PLI crossed the pipe back home) and the chair's voice in a seat
            pc = aiortc_glue.create_peer_connection(())
            subscriber = pc
            offer = await far.negotiate(Subscribe("listener", 2))
            assert isinstance(offer, Offer)
            await pc.setRemoteDescription(RTCSessionDescription(offer.sdp, "offer"))
            taps: dict[str, SlotTap] = {}
            firsts: dict[str, bytes] = {}

            def first_payload(tap: SlotTap, packet: Any) -> bool:
                firsts.setdefault(tap.mid, packet.payload)
                return False
            for transceiver in pc.getTransceivers():
                taps[transceiver.mid] = SlotTap(kind=transceiver.kind, mid=transceiver.mid)
                _tap_receiver(transceiver.receiver, taps[transceiver.mid], first_payload)
            await pc.setLocalDescription(await pc.createAnswer())
            await far.negotiate(AcceptAnswer("listener", pc.localDescription.sdp))
            home_camera = next(p for p in home.producers.values() if p.source == "camera-low")
            keyframes_before = home_camera.keyframes_received
            await wait_for(lambda: any(t.kind == "video" and t.packets > 20
                                       for t in taps.values()), 10, "video on the far side")
            video_mid = next(c.mid for c in far.subscriptions["listener"].consumers()
                             if c.kind == "video" and c.feeding is not None)
            assert video_mid is not None and is_vp8_keyframe(firsts[video_mid])
            assert home_camera.keyframes_received > keyframes_before or keyframes_before > 0
            audio_mid = next(c.mid for c in far.subscriptions["listener"].consumers()
                             if c.kind == "audio" and c.purpose == "seat"
                             and c.feeding is not None)
            assert audio_mid is not None
            await wait_for(lambda: taps[audio_mid].packets > 30, 5, "audio on the far side")

            # the level survives the pipe: the far router hears the chair speak
            far_mic = next(p for p in far.producers.values() if p.source == "mic")
            home_mic = next(p for p in home.producers.values() if p.source == "mic")
            assert far_mic.audio_level < 127 and far_mic.last_voice_at > 0
            assert abs(far_mic.audio_level - home_mic.audio_level) <= 6
            assert far.floor_source() is far_mic

            # the far side's keyframe request crosses the pipe: the home layer's throttle
            # sends a PLI to the publisher and a keyframe comes back
            far_low = next(p for p in far.producers.values() if p.source == "camera-low")
            sender = next(c for c in home.pipes["p1"].consumers.values()
                          if getattr(c, "piped", None) is home_camera)
            plis = sender.plis_received
            seen = home_camera.keyframes_received
            await asyncio.sleep(0.6)  # past the throttle's interval
            far_low.request_keyframe()
            await wait_for(lambda: sender.plis_received > plis, 3, "the PLI at home")
            await wait_for(lambda: home_camera.keyframes_received > seen, 3, "a keyframe")

            # packets lost on the pipe: the far producer NACKs, the home end repairs
            pipe_home = home.pipes["p1"]
            original = pipe_home._send
            lost = {"n": 0}

            def lossy(data: bytes) -> bool:
                if data[1] & 0x7F != 111 and not 192 <= data[1] <= 223 \
                        and lost["n"] < 5 and int.from_bytes(data[2:4], "big") % 7 == 0:
                    lost["n"] += 1
                    return True  # "sent": lost on the way
                return original(data)
            for c in pipe_home.consumers.values():
                c._send = lossy  # type: ignore[attr-defined]
            repaired = sum(c.retransmitted for c in pipe_home.consumers.values())
            await wait_for(lambda: lost["n"] >= 5, 5, "packets lost on the pipe")
            await wait_for(lambda: sum(c.retransmitted for c in pipe_home.consumers.values())
                           > repaired, 5, "repairs over the pipe")
            assert sum(p.nacks_sent for p in far.producers.values()) > 0

            # the chair stops publishing: every copy is announced closed, and closed
            await chair.call("/media", "unpublish", {})
            await chair.wait_for(lambda: len([e for e in events if isinstance(
                e, PipedProducerClosed)]) == 3, what="three closings announced")
            for event in events:
                if isinstance(event, PipedProducerClosed):
                    await far.negotiate(UnpipeProducer("p1", event.ssrc))
            assert not far.producers
            assert isinstance(far.pipes["p1"], PipeTransport)
            await far.negotiate(ClosePipe("p1"))
            await home.negotiate(ClosePipe("p1"))
            assert not far.pipes and not home.pipes and "p1" not in home.transports
        finally:
            if subscriber is not None:
                await subscriber.close()
            await far.close()
            await chair.close()
