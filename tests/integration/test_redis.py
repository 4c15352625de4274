"""Two server nodes sharing a real Redis (Socket.IO fan-out) and one data folder."""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

import redis.asyncio as aioredis

from tests.harness import running_server
from tests.peers import TestPeer
from tests.requirements import require


async def test_presence_crosses_server_nodes_through_redis() -> None:
    url = os.environ.get("REDIS_URL", "")
    require(bool(url), "a Redis server (REDIS_URL; scripts/test.sh provides one)")
    client = aioredis.Redis.from_url(url)
    try:
        assert await client.ping()
    finally:
        await client.aclose()
    channel = "rostrum-test-" + secrets.token_hex(4)
    secret = secrets.token_urlsafe(16)
    folder = Path(tempfile.mkdtemp(prefix="rostrum-2nodes-"))
    async with running_server(data_dir=folder, secret=secret, redis_url=url,
                              redis_channel=channel) as node_a:
        async with running_server(data_dir=folder, secret=secret, redis_url=url,
                                  redis_channel=channel) as node_b:
            assert node_a.meeting_id == node_b.meeting_id
            x = TestPeer(node_a.base_url, node_a.token("chair"), "Xu (node A)")
            y = TestPeer(node_b.base_url, node_b.token("delegate"), "Yara (node B)")
            try:
                await x.join()
                await y.join(organization="Brazil")
                await x.wait_for(lambda: any(
                    e[1] == "presence" and e[2]["participant"]["name"] == "Yara (node B)"
                    for e in x.events), timeout=10, what="presence from the other node")
                reply = await y.call("/room", "media-state", {"audio": True, "video": True})
                assert reply["ok"]
                await x.wait_for(lambda: any(
                    e[1] == "presence" and e[2]["event"] == "updated" for e in x.events),
                    timeout=10, what="an update from the other node")
            finally:
                await x.close()
                await y.close()
