"""Several hosts on one machine: two control-plane nodes and three remote SFU workers, each in
its own network namespace with its own address, one Redis on the root namespace's bridge
address, one shared SQLite file. aiortc participants join through node A; kill -9 the
meeting's worker: node A re-places the meeting and the listeners hear the speaker again
(the test peers follow ``media-restart`` by themselves); kill -9 node A: the participants
rejoin through node B, which finds node A's address refusing connections and takes the
meeting over at once (not after the owner key's 3 s TTL), the floor log has no hole (the intervention node A
left open is ended ``owner-lost``) and the speakers' list is back (a request queued on node
A, in its place, when its delegate rejoins)."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from typing import Any

from sfu import aiortc_glue
from tests.cluster import Cluster, ClusterNet, cluster_of, join_following
from tests.harness import free_port
from tests.peers import TestPeer, ToneTrack
from tests.requirements import require


def _prerequisites() -> None:
    require(os.geteuid() == 0 and shutil.which("ip") is not None,
            "root and iproute2 for network namespaces (apt-get install iproute2)")
    require(shutil.which("redis-server") is not None,
            "redis-server (apt-get install redis-server)")


async def _renegotiate(peers: list[TestPeer], speaker: TestPeer, listeners: list[TestPeer],
                       timeout: float = 10) -> None:
    """Close the peers' media connections and negotiate again (retrying while the meeting
    has no router yet), until every listener receives the speaker's audio."""
    for peer in peers:
        for pc in (peer.publish_pc, peer.subscribe_pc):
            if pc is not None:
                await pc.close()
        peer.publish_pc = peer.subscribe_pc = None
        peer.taps.clear()
    deadline = time.monotonic() + timeout
    while not (await speaker.publish(audio=ToneTrack(440)))["ok"]:
        assert time.monotonic() < deadline, "the speaker could not publish again"
        await speaker.publish_pc.close()
        await asyncio.sleep(0.2)
    for listener in listeners:
        assert (await listener.subscribe())["ok"]
    for listener in listeners:
        await listener.wait_for(lambda li=listener: li.slot_of(speaker.participant_id, "audio")
                                is not None, timeout=timeout, what="a slot for the speaker")
        mid = listener.slot_of(speaker.participant_id, "audio")
        assert mid is not None
        await listener.wait_for(lambda li=listener, m=mid: li.taps[m].packets > 10,
                                timeout=timeout, what="the speaker's audio")


async def _heard_again(peers: list[TestPeer], speaker: TestPeer, listeners: list[TestPeer],
                       since: float, timeout: float = 10) -> None:
    """After a worker's death: every peer got `media-restart` and negotiated again by itself
    (tests/peers.py follows the event as the page does), and every listener receives the
    speaker's audio on a subscription made after ``since``."""
    for peer in peers:
        await peer.wait_for(lambda p=peer: any(t > since for t in p.restarts),
                            timeout=timeout, what="media-restart")
    for listener in listeners:
        def fresh(li: TestPeer = listener) -> bool:
            mid = li.slot_of(speaker.participant_id, "audio")
            tap = li.taps.get(mid) if mid is not None else None
            return tap is not None and tap.created > since and tap.packets > 10
        await listener.wait_for(fresh, timeout=timeout, what="the speaker's audio again")


async def test_two_nodes_three_workers_kill_a_worker_then_the_owner() -> None:
    """Each host in its own network namespace, on one bridge (run it through
    /work/shared/bin/one-at-a-time)."""
    _prerequisites()
    net = ClusterNet.create(5)
    try:
        async with cluster_of([(name, address, 8080) for name, address in net.hosts],
                              net.bridge_address) as cluster:
            await _scenario(cluster, net.bridge_address)
    finally:
        net.destroy()


async def test_the_same_on_loopback_addresses() -> None:
    """The same five hosts as processes of this machine, each on its own loopback address
    (127.0.0.2-6): the scenario without namespaces, quick enough for every run."""
    require(shutil.which("redis-server") is not None,
            "redis-server (apt-get install redis-server)")
    async with cluster_of([(None, f"127.0.0.{i + 2}", free_port(f"127.0.0.{i + 2}"))
                           for i in range(5)], "127.0.0.1") as cluster:
        await _scenario(cluster, "127.0.0.1")


async def _scenario(cluster: Cluster, redis_address: str) -> None:
    """Participants join through node A; kill -9 the meeting's worker, then node A."""
    peers: list[TestPeer] = []
    try:
        urls, token = cluster.urls, cluster.token
        aiortc_glue.install_ice_policy([redis_address])  # the peers' host candidates

        async def everyone() -> tuple[TestPeer, TestPeer, list[TestPeer]]:
            chair = await join_following(urls, token("chair"), "Chair", timeout=20)
            ana = await join_following(urls, token("delegate"), "Ana", timeout=20,
                                       memberState="Kenya")
            ben = await join_following(urls, token("delegate"), "Ben", timeout=20,
                                       memberState="Peru")
            listeners = [await join_following(urls, token("delegate"), f"Listener {i}",
                                              timeout=20) for i in range(2)]
            peers[:] = [chair, ana, ben, *listeners]
            return chair, ana, listeners

        async def give_ana_the_floor(chair: TestPeer, ana: TestPeer) -> None:
            request = await ana.floor("request", {"note": "on the liaison"})
            assert request["ok"], request
            grant = await chair.floor("grant", {"requestId": request["request"]["id"]})
            assert grant["ok"], grant

        chair, ana, listeners = await everyone()
        assert all(p.base_url == urls[0] for p in peers), "the peers joined through node A"
        await give_ana_the_floor(chair, ana)
        ben = peers[2]
        assert (await ben.floor("request", {"note": "a point on the draft"}))["ok"]
        await _renegotiate([ana, *listeners], ana, listeners)

        # 1. kill -9 the meeting's worker: another worker takes the meeting
        victim = await cluster.placed_on()
        killed = time.monotonic()
        victim.kill()
        # the peers follow /media media-restart by themselves, as the page does
        await _heard_again([ana, *listeners], ana, listeners, killed)
        worker_recovery = time.monotonic() - killed
        moved_to = await cluster.placed_on([w for w in cluster.workers if w is not victim])
        assert moved_to is not victim

        # 2. kill -9 node A, the meeting's owner: node B takes it over
        await cluster.kill_node(0)
        killed = time.monotonic()
        for peer in peers:
            await peer.close()
        chair, ana, listeners = await everyone()
        assert all(p.base_url == urls[1] for p in peers), "the peers did not reach node B"
        takeover = time.monotonic() - killed
        # the speakers' list is back: Ben's request, queued on node A, in its place
        ben = peers[2]

        def queue() -> list[dict[str, Any]]:
            states = [e[2] for e in chair.events if e[0] == "/floor" and e[1] == "floor"]
            return list(states[-1]["queue"]) if states else []
        await chair.wait_for(lambda: [r["participantId"] for r in queue()]
                             == [ben.participant_id], timeout=5,
                             what="Ben's request back in the speakers' list")
        assert queue()[0]["note"] == "a point on the draft"
        await give_ana_the_floor(chair, ana)
        await _renegotiate([ana, *listeners], ana, listeners)
        owner_recovery = time.monotonic() - killed

        events = await cluster.floor_log_without_hole(1)
        print(f"\nworker kill -9 -> audio again at 2 listeners after {worker_recovery:.2f} s "
              f"(re-negotiated by the test peers)\nnode A kill -9 -> joined node B after "
              f"{takeover:.2f} s (node A's address refuses: taken over at once), audio again "
              f"after {owner_recovery:.2f} s\nfloor log: {events}")
    finally:
        for peer in peers:
            await peer.close()
