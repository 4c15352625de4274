"""Several hosts on one machine: two control-plane nodes and three remote SFU workers, each in
its own network namespace with its own address, one Redis on the root namespace's bridge
address, one shared SQLite file. aiortc participants join through node A; kill -9 the
meeting's worker: node A re-places the meeting and the listeners hear the speaker again
(the test peers negotiate again themselves: the client's media recovery is the failover
branch's); kill -9 node A: the participants reach node B (``moved`` until node A's key
expires), node B takes the meeting over, the floor log has no hole (the intervention node A
left open is ended ``owner-lost``) and the speakers' list is back (a request queued on node
A, in its place, when its delegate rejoins)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from meeting_server.tokens import issue
from sfu import aiortc_glue
from sfu.worker_registry import WorkerEntry, key
from tests.cluster import ROOT, ClusterNet, RemoteWorker, join_following, start_worker
from tests.harness import free_port
from tests.peers import TestPeer, ToneTrack
from tests.requirements import require

MEETING = "demo"  # python -m meeting_server --demo makes it


def _prerequisites() -> None:
    require(os.geteuid() == 0 and shutil.which("ip") is not None,
            "root and iproute2 for network namespaces (apt-get install iproute2)")
    require(shutil.which("redis-server") is not None,
            "redis-server (apt-get install redis-server)")


async def _node(ns: str | None, address: str, port: int, name: str, env: dict[str, str],
                folder: Path, demo: bool) -> tuple[asyncio.subprocess.Process, Path]:
    log = folder / f"{name}.log"
    node_env = {**os.environ, **env, "PYTHONPATH": str(ROOT), "ROSTRUM_HOST": address,
                "ROSTRUM_PORT": str(port), "ROSTRUM_PUBLIC_URL": f"http://{address}:{port}",
                "ROSTRUM_NODE_ID": name, "ROSTRUM_RTC_ADDRESSES": address,
                "ROSTRUM_RTC_PORT": "0"}
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            *(["ip", "netns", "exec", ns] if ns else []), sys.executable, "-m", "meeting_server",
            *(["--demo"] if demo else []), stdin=asyncio.subprocess.DEVNULL, stdout=out,
            stderr=out, env=node_env, cwd=str(ROOT))
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                reply = await http.get(f"http://{address}:{port}/healthz",
                                       timeout=aiohttp.ClientTimeout(total=2))
                if reply.status == 200:
                    break
            except (aiohttp.ClientError, TimeoutError):
                pass
            if process.returncode is not None or time.monotonic() > deadline:
                raise AssertionError(f"{name} did not start:\n{log.read_text()}")
            await asyncio.sleep(0.1)
    return process, log


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


async def _placed_on(client: aioredis.Redis, cluster: str, workers: list[RemoteWorker]
                     ) -> RemoteWorker:
    """The worker whose registry entry reports the meeting's router."""
    deadline = time.monotonic() + 5
    while True:
        for worker in workers:
            if worker.process.returncode is not None:
                continue
            value = await client.get(key(cluster, worker.worker_id))
            if value is not None and WorkerEntry.parse(value).routers > 0:
                return worker
        assert time.monotonic() < deadline, "no worker reports the meeting's router"
        await asyncio.sleep(0.2)


async def test_two_nodes_three_workers_kill_a_worker_then_the_owner() -> None:
    """Each host in its own network namespace, on one bridge (run it through
    /work/shared/bin/one-at-a-time)."""
    _prerequisites()
    net = ClusterNet.create(5)
    try:
        await _scenario([(name, address, 8080) for name, address in net.hosts],
                        net.bridge_address)
    finally:
        net.destroy()


async def test_the_same_on_loopback_addresses() -> None:
    """The same five hosts as processes of this machine, each on its own loopback address
    (127.0.0.2-6): the scenario without namespaces, quick enough for every run."""
    require(shutil.which("redis-server") is not None,
            "redis-server (apt-get install redis-server)")
    await _scenario([(None, f"127.0.0.{i + 2}", free_port(f"127.0.0.{i + 2}"))
                     for i in range(5)], "127.0.0.1")


async def _scenario(hosts: list[tuple[str | None, str, int]], redis_address: str) -> None:
    """Two nodes (hosts 0 and 1) and three workers (hosts 2-4); Redis on ``redis_address``."""
    folder = Path(tempfile.mkdtemp(prefix="rostrum-cluster-"))
    processes: list[asyncio.subprocess.Process] = []
    workers: list[RemoteWorker] = []
    peers: list[TestPeer] = []
    redis_server = None
    try:
        (ns_a, addr_a, port_a), (ns_b, addr_b, port_b) = hosts[0], hosts[1]
        port = free_port(redis_address)
        redis_server = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", redis_address, "--save", "",
             "--appendonly", "no", "--protected-mode", "no", "--dir", str(folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"redis://{redis_address}:{port}/0"
        client = aioredis.Redis.from_url(url)
        deadline = time.monotonic() + 10
        while True:
            try:
                if await client.ping():
                    break
            except (OSError, RedisError):
                pass
            assert time.monotonic() < deadline, "the test's redis-server did not answer"
            await asyncio.sleep(0.05)
        cluster, secret, worker_secret = "rostrum", "s" * 32, "w" * 32
        for i, (ns, address, _) in enumerate(hosts[2:]):
            workers.append(await start_worker(url, cluster, worker_secret, f"w{i}",
                                              host=address, rtc_address=address,
                                              port=7000 if ns else free_port(address),
                                              netns=ns))
        env = {"ROSTRUM_DATA_DIR": str(folder / "data"), "ROSTRUM_SECRET": secret,
               "REDIS_URL": url, "ROSTRUM_OWNERSHIP": "1", "ROSTRUM_REMOTE_WORKERS": "only",
               "ROSTRUM_WORKER_SECRET": worker_secret, "ROSTRUM_RESUME_GRACE_S": "0"}
        node_a, _ = await _node(ns_a, addr_a, port_a, "node-a", env, folder, demo=True)
        processes.append(node_a)
        node_b, _ = await _node(ns_b, addr_b, port_b, "node-b", env, folder, demo=False)
        processes.append(node_b)
        urls = [f"http://{addr_a}:{port_a}", f"http://{addr_b}:{port_b}"]
        aiortc_glue.install_ice_policy([redis_address])  # the peers' host candidates

        def token(role: str) -> str:
            return issue(secret, MEETING, role, 3600)

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
        victim = await _placed_on(client, cluster, workers)
        killed = time.monotonic()
        victim.kill()
        # the peers follow /media media-restart by themselves, as the page does
        await _heard_again([ana, *listeners], ana, listeners, killed)
        worker_recovery = time.monotonic() - killed
        moved_to = await _placed_on(client, cluster, [w for w in workers if w is not victim])
        assert moved_to is not victim

        # 2. kill -9 node A, the meeting's owner: node B takes it over
        node_a.kill()
        await node_a.wait()
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

        # the floor log, read from node B: node A's entries, the intervention node A left
        # open closed 'owner-lost', node B's entries after it; every start has its end
        async with aiohttp.ClientSession() as http:
            reply = await http.get(f"{urls[1]}/api/meetings/{MEETING}/floor-log.json",
                                   params={"t": token("chair")})
            assert reply.status == 200, await reply.text()
            log: list[dict[str, Any]] = (await reply.json())["rows"] \
                if isinstance(await reply.json(), dict) else await reply.json()
        events = [(row["event"], row.get("reason")) for row in log]
        starts = [row for row in log if row["event"] == "intervention-start"]
        assert len(starts) == 2, events
        first_end = next(row for row in log if row["event"] == "intervention-end"
                         and row["grant_id"] == starts[0]["grant_id"])
        assert first_end["reason"] == "owner-lost", events
        assert log.index(first_end) < log.index(starts[1]), events
        print(f"\nworker kill -9 -> audio again at 2 listeners after {worker_recovery:.2f} s "
              f"(re-negotiated by the test peers)\nnode A kill -9 -> joined node B after "
              f"{takeover:.2f} s (the owner key's TTL is 5 s), audio again after "
              f"{owner_recovery:.2f} s\nfloor log: {events}")
        await client.aclose()
    except BaseException:
        for path in sorted(folder.glob("*.log")):
            print(f"--- {path.name}\n{path.read_text(errors='replace')[-4000:]}")
        for worker in workers:
            print(f"--- {worker.worker_id}\n{worker.output()[-3000:]}")
        raise
    finally:
        for peer in peers:
            await peer.close()
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()
        for worker in workers:
            worker.kill()
            if worker.process.returncode is None:
                await worker.process.wait()
        if redis_server is not None:
            redis_server.kill()
            redis_server.wait()
        shutil.rmtree(folder, ignore_errors=True)
