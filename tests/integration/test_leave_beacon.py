"""`POST /api/leave` (docs/protocol.md): a closing page's beacon, authenticated by its resume
key, ends the participant's presence at once (reason `left`, their floor request withdrawn),
whether its connection is still open or already dropped into the grace; bad bodies and unknown
keys get a clear error and change nothing. Real server, real Socket.IO peers."""

from __future__ import annotations

import asyncio

import aiohttp

from meeting_server.app import MEETINGS
from tests.integration.test_resume import chair_ana_and_ben, drop, left


async def test_the_beacon_leaves_at_once_and_bad_ones_change_nothing() -> None:
    async with chair_ana_and_ben(resume_grace_s=30.0) as (srv, peers):
        chair, ana, ben = peers
        url = f"{srv.base_url}/api/leave"
        await chair.join()
        key_ana = (await ana.join())["resume"]["key"]
        key_ben = (await ben.join())["resume"]["key"]
        await ana.floor("request", {})
        await ben.floor("request", {})
        async with aiohttp.ClientSession() as http:
            for body, status, code in [
                    (b"", 400, "bad-request"), (b"not json", 400, "bad-request"),
                    (b"[]", 400, "bad-request"), (b'{"key": 5}', 400, "bad-request"),
                    (b'{"key": "short"}', 400, "bad-request"),
                    (b'{"key": "' + b"k" * 32 + b'", "x": 1}', 400, "bad-request"),
                    (b"[" * 5000 + b"]" * 5000, 400, "bad-request"),
                    (b'{"key": "' + b"x" * 32 + b'"}', 404, "not-found")]:
                async with http.post(url, data=body,
                                     headers={"Content-Type": "application/json"}) as r:
                    assert r.status == status, (body[:40], r.status)
                    assert (await r.json())["error"]["code"] == code, body[:40]
            live = srv.app[MEETINGS].live[srv.meeting_id]
            assert len(live.participants) == 3
            assert len((await chair.floor("state"))["state"]["queue"]) == 2
            # Ana's page closes while connected: she leaves at once, her socket goes
            async with http.post(url, json={"key": key_ana}) as r:
                assert r.status == 200 and (await r.json()) == {"ok": True}
            await left(chair, ana, "left", timeout=2)
            await ana.wait_for(lambda: not ana.sio.connected, timeout=5,
                               what="Ana's connection closed by the server")
            assert [q["name"] for q in (await chair.floor("state"))["state"]["queue"]] \
                == ["Ben"]
            # the key is spent: again is not-found
            async with http.post(url, json={"key": key_ana}) as r:
                assert r.status == 404
            # Ben dropped first (kept for the grace), then his page's beacon arrives
            await drop(ben)
            await asyncio.sleep(0.3)
            assert srv.app[MEETINGS].suspended
            async with http.post(url, json={"key": key_ben}) as r:
                assert r.status == 200
            assert not srv.app[MEETINGS].suspended
            assert list(live.participants) == [chair.participant_id]
            assert (await chair.floor("state"))["state"]["queue"] == []
