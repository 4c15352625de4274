"""Rate limits on the real server: a flooding connection is answered `rate-limited` and
changes nothing while another connection goes on; connects, joins and HTTP per address."""

from __future__ import annotations

import asyncio

import aiohttp

from meeting_server.ratelimit import Limit, RateSettings
from tests.harness import running_server
from tests.integration.test_bad_input import refused
from tests.peers import TestPeer

SMALL = RateSettings(event_per_connection=Limit(rate=5, burst=20),
                     event_per_address=Limit(rate=1000, burst=1000),
                     connect_per_address=Limit(rate=0.5, burst=12),
                     join_per_address=Limit(rate=0.5, burst=2),
                     http_per_address=Limit(rate=1, burst=10))


async def test_a_flooding_connection_is_limited_and_nobody_else() -> None:
    async with running_server(rate_settings=SMALL) as srv:
        flood = TestPeer(srv.base_url, srv.token("delegate"), "Flood")
        calm = TestPeer(srv.base_url, srv.token("chair"), "Calm")
        try:
            await flood.join()
            await calm.join()
            replies = await asyncio.gather(*[
                flood.call("/room", "media-state", {"audio": i % 2 == 0, "video": False})
                for i in range(60)])
            codes = [r["error"]["code"] if not r["ok"] else "ok" for r in replies]
            assert 15 <= codes.count("ok") <= 25, codes  # the burst, and a little refill
            assert set(codes) == {"ok", "rate-limited"}, codes
            reply = await calm.call("/floor", "state")
            assert reply["ok"], reply
            await asyncio.sleep(1.0)  # the bucket refills: the flooder may speak again
            assert (await flood.call("/floor", "state"))["ok"]
        finally:
            await flood.close()
            await calm.close()


async def test_connects_joins_and_http_are_limited_per_address() -> None:
    async with running_server(rate_settings=SMALL) as srv:
        peers = [TestPeer(srv.base_url, srv.token("delegate"), f"P{i}") for i in range(3)]
        try:
            # each peer opens 4 namespaces: 3 peers spend the connect burst of 12
            for peer in peers[:2]:
                await peer.join()
            await peers[2].connect()
            reply = await peers[2].call("/room", "join", {"name": "Third"})
            assert reply["error"]["code"] == "rate-limited", reply  # join burst of 2
            error = await refused(srv.base_url, {"token": srv.token("delegate")})
            assert error["data"]["code"] == "rate-limited", error
        finally:
            for peer in peers:
                await peer.close()
        async with aiohttp.ClientSession() as http:
            statuses = []
            for _ in range(15):
                async with http.get(f"{srv.base_url}/healthz") as response:
                    statuses.append(response.status)
                    if response.status == 429:
                        assert int(response.headers["Retry-After"]) >= 1
            assert statuses[:10] == [200] * 10 and statuses[-1] == 429, statuses
            # static files are not counted (a page load fetches many)
            async with http.get(f"{srv.base_url}/static/i18n.js") as response:
                assert response.status == 200
            # a trusted proxy's X-Forwarded-For names the client: another address, its own
            # budget
            async with http.get(f"{srv.base_url}/healthz",
                                headers={"X-Forwarded-For": "198.51.100.7"}) as response:
                assert response.status == 200
