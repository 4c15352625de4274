"""Several control-plane nodes (meeting_server/cluster.py): two real nodes sharing a real
Redis and one SQLite file; each meeting owned by one node; the other sends participants there
(HTTP 307, Socket.IO ``moved``); a meeting whose owner's key expired is taken over by the
next node reached, which closes what the dead owner left open: at once when the owner's
address refuses connections (its process is gone), else when its key expires."""

from __future__ import annotations

import asyncio
import secrets
import socket
import tempfile
import time
from pathlib import Path

import aiohttp
import redis.asyncio as aioredis

from meeting_server.app import MEETINGS
from meeting_server.cluster import OWNERSHIP, PROBE_EVERY_S, Owner, nodes_key, owner_key
from meeting_server.store import AttendanceRecord
from tests.cluster import join_following, new_cluster, redis_url
from tests.harness import running_server


async def test_a_meeting_has_one_owner_and_the_other_node_sends_participants_there() -> None:
    url = redis_url()
    cluster, _ = new_cluster()
    folder = Path(tempfile.mkdtemp(prefix="rostrum-owners-"))
    secret = secrets.token_urlsafe(16)
    common = {"data_dir": folder, "secret": secret, "redis_url": url, "redis_channel": cluster,
              "meeting_ownership": True}
    async with running_server(node_id="node-a", **common) as node_a, \
            running_server(node_id="node-b", **common) as node_b:
        meeting = node_a.meeting_id
        assert node_b.meeting_id == meeting
        deadline = time.monotonic() + 5  # each node reads the living nodes every 0.5 s
        while len(node_a.app[OWNERSHIP].node_urls) < 2:
            assert time.monotonic() < deadline, "node A never saw node B's heartbeat"
            await asyncio.sleep(0.1)
        chair = await join_following([node_a.base_url], node_a.token("chair"), "Chair")
        try:
            assert chair.base_url == node_a.base_url
            assert meeting in node_a.app[OWNERSHIP].owned
            client = aioredis.Redis.from_url(url)
            try:
                record = Owner.parse(await client.get(owner_key(cluster, meeting)))
            finally:
                await client.aclose()
            assert record == Owner("node-a", node_a.base_url)
            # the join ack names the living nodes, this one first: a page follows its node's
            # death by reconnecting to the next (web/static/protocol.js #pickNode)
            assert chair.joined["nodes"] == [node_a.base_url, node_b.base_url]
            async with aiohttp.ClientSession() as http:
                # so node B's Socket.IO admits node A's page (CORS), and nobody else's
                handshake = f"{node_b.base_url}/socket.io/?EIO=4&transport=polling"
                admitted = await http.get(handshake, headers={"Origin": node_a.base_url})
                assert admitted.status == 200
                assert admitted.headers["Access-Control-Allow-Origin"] == node_a.base_url
                stranger = await http.get(handshake, headers={"Origin": "http://elsewhere.test"})
                assert stranger.status == 400
                # and node A's meeting page may connect there (its Content-Security-Policy)
                page = await http.get(f"{node_a.base_url}/m/{meeting}")
                policy = page.headers["Content-Security-Policy"]
                assert f"connect-src 'self' {node_a.base_url}" in policy
                assert node_b.base_url.replace("http", "ws", 1) in policy
                # the page and the meeting's APIs on node B: 307 to node A, query kept
                page = await http.get(f"{node_b.base_url}/m/{meeting}?t=abc",
                                      allow_redirects=False)
                assert page.status == 307
                assert page.headers["Location"] == f"{node_a.base_url}/m/{meeting}?t=abc"
                log = await http.get(f"{node_b.base_url}/api/meetings/{meeting}/floor-log.json",
                                     allow_redirects=False)
                assert log.status == 307
                # an unknown meeting is not claimed, nor sent anywhere: its 404 as before
                assert (await http.get(f"{node_b.base_url}/m/nosuch",
                                       allow_redirects=False)).status == 404
                # followed, the page comes from the owner
                assert (await http.get(f"{node_b.base_url}/m/{meeting}")).status == 200
            # a delegate who reaches node B is refused with `moved <url of A>` and follows it
            ana = await join_following([node_b.base_url], node_b.token("delegate"), "Ana")
            try:
                assert ana.base_url == node_a.base_url
                live = node_a.app[MEETINGS].live[meeting]
                assert {p.name for p in live.participants.values()} == {"Chair", "Ana"}
                assert meeting not in node_b.app[MEETINGS].live
            finally:
                await ana.close()
        finally:
            await chair.close()


async def test_a_dead_owners_meeting_is_taken_over_and_its_open_records_closed() -> None:
    """The owner died (its address refuses connections; its key still lives): what it wrote
    to the shared SQLite is kept, what it left open is closed 'owner-lost', and the node
    reached becomes the owner at once. An owner whose address still accepts connections is
    not taken over before its key expires."""
    url = redis_url()
    cluster, _ = new_cluster()
    async with running_server(node_id="node-b", redis_url=url, redis_channel=cluster,
                              meeting_ownership=True) as node_b:
        meeting = node_b.meeting_id
        store = node_b.app[MEETINGS].store
        # what the dead node had written: an attendance row and an intervention in progress
        now = time.time()
        await store.record_join(AttendanceRecord("p-dead", meeting, "Ana", "", "Kenya",
                                                 "delegate", now - 30, None))
        await store.log_floor(meeting, "intervention-start", participant_id="p-dead",
                              name="Ana", kind="intervention", language="fr", grant_id="g-1",
                              at=now - 10)
        client = aioredis.Redis.from_url(url)
        try:
            ownership = node_b.app[OWNERSHIP]
            with socket.socket() as listening:  # alive as far as TCP tells: kept
                listening.bind(("127.0.0.1", 0))
                listening.listen()
                alive = Owner("node-alive", f"http://127.0.0.1:{listening.getsockname()[1]}")
                await client.set(owner_key(cluster, meeting), alive.to_json(), px=60_000)
                assert await ownership.owner_elsewhere(meeting) == alive
            await asyncio.sleep(PROBE_EVERY_S)  # the next probe is a new one
            # its process gone, the key living on for a minute: nothing listens there now
            dead = Owner("node-dead", alive.url)
            await client.set(owner_key(cluster, meeting), dead.to_json(), px=60_000)
            # the dead node's heartbeat expired a minute ago: not a node to reconnect to, but
            # its pages are still admitted here (they reconnect to this node)
            await client.zadd(nodes_key(cluster), {dead.to_json(): time.time() - 60})
            deadline = time.monotonic() + 5
            while dead.url not in ownership.known_urls:
                assert time.monotonic() < deadline, "node B did not read the nodes' set"
                await asyncio.sleep(0.1)
            assert ownership.node_urls == [node_b.base_url]
            async with aiohttp.ClientSession() as http:
                handshake = await http.get(f"{node_b.base_url}/socket.io/?EIO=4&transport="
                                           "polling", headers={"Origin": dead.url})
                assert handshake.status == 200
            # node B probes the owner it would send Ben to, is refused, takes the meeting over
            ben = await join_following([node_b.base_url], node_b.token("delegate"), "Ben",
                                       timeout=15)
            try:
                assert ben.joined["nodes"] == [node_b.base_url]
                assert ben.base_url == node_b.base_url
                assert meeting in node_b.app[OWNERSHIP].owned
                assert Owner.parse(await client.get(owner_key(cluster, meeting))).node \
                    == "node-b"
                log = await store.floor_log(meeting)
                ends = [r for r in log if r["event"] == "intervention-end"]
                assert len(ends) == 1 and ends[0]["grant_id"] == "g-1"
                assert ends[0]["reason"] == "owner-lost"
                register = await store.attendance(meeting)
                dead_row = next(r for r in register if r.participant_id == "p-dead")
                assert dead_row.left_reason == "owner-lost"
            finally:
                await ben.close()
            # the last one out: the meeting is released for whichever node comes next
            deadline = time.monotonic() + 10
            while await client.get(owner_key(cluster, meeting)) is not None:
                assert time.monotonic() < deadline, "an empty meeting stayed owned"
                await asyncio.sleep(0.1)
        finally:
            await client.aclose()
