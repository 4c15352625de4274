"""bench/soak.py reads the SFU's own count of forwarded audio (/metrics) beside what its
listeners receive, so that its loss figure tells the server's shortfall from the bench's. The
reading matches the real /metrics text: packets the SFU forwards to a listener are counted."""

from __future__ import annotations

import asyncio

import aiohttp

from bench.soak import sfu_audio_sent
from tests.harness import running_server
from tests.peers import TestPeer, ToneTrack


async def test_the_soak_reads_the_sfu_audio_it_forwarded() -> None:
    async with running_server(floor_mode="chaired") as srv, aiohttp.ClientSession() as http:
        chair = TestPeer(srv.base_url, srv.token("chair"), "Chair")
        listener = TestPeer(srv.base_url, srv.token("observer"), "Listener")
        try:
            await chair.join()
            assert (await chair.publish(audio=ToneTrack(440)))["ok"]
            await listener.join()
            assert (await listener.subscribe())["ok"]
            assert await sfu_audio_sent(http, srv.base_url) >= 0
            await listener.wait_for(lambda: any(t.packets > 25 for t in listener.taps.values()),
                                    timeout=15, what="the chair's audio")
            first = await sfu_audio_sent(http, srv.base_url)
            await asyncio.sleep(1.0)
            second = await sfu_audio_sent(http, srv.base_url)
            received = sum(t.packets for t in listener.taps.values() if t.kind == "audio")
            assert first > 0 and second - first >= 25, (first, second)
            assert second >= received * 0.9, (second, received)
        finally:
            await listener.close()
            await chair.close()
