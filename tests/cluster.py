"""Remote SFU workers for tests: real ``python -m sfu.worker_main --listen`` processes that
register in a real Redis (sfu/worker_remote.py), each with its own cluster prefix so runs
side by side cannot see each other's workers; and a whole cluster of hosts (``cluster_of``):
two control-plane nodes and three workers, each a process on its own address (a network
namespace of ``ClusterNet``, or a loopback address), one Redis of its own, one SQLite file."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio as aioredis
import socketio
from redis.exceptions import RedisError

from meeting_server.tokens import issue
from sfu.worker_registry import WorkerEntry, key
from tests.harness import free_port
from tests.peers import TestPeer
from tests.requirements import require

ROOT = Path(__file__).resolve().parent.parent


def redis_url() -> str:
    """The test Redis (scripts/test.sh sets REDIS_URL: db 15 or a private server)."""
    url = os.environ.get("REDIS_URL", "")
    require(bool(url), "a Redis server (REDIS_URL; scripts/test.sh provides one)")
    return url


def new_cluster() -> tuple[str, str]:
    """A fresh cluster name (the registry's key prefix) and shared secret."""
    return "rostrum-test-" + secrets.token_hex(4), secrets.token_urlsafe(24)


@dataclass
class RemoteWorker:
    """One remote worker process."""

    worker_id: str
    address: str
    process: asyncio.subprocess.Process
    log: Path
    netns: str | None = None
    lines: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        if self.process.returncode is None:
            os.kill(self.process.pid, signal.SIGKILL)

    async def stop(self) -> int:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        assert self.process.returncode is not None
        return self.process.returncode


async def start_worker(url: str, cluster: str, secret: str, worker_id: str, *,
                       host: str = "127.0.0.1", rtc_address: str = "127.0.0.1",
                       port: int | None = None, netns: str | None = None,
                       seats: int = 4, capacity: int = 1000) -> RemoteWorker:
    """A remote worker listening on ``host``, registered under ``cluster``; returns once its
    registry entry is there."""
    port = port or free_port(host if netns is None else "127.0.0.1")
    folder = Path(tempfile.mkdtemp(prefix="rostrum-rw-"))
    secret_file = folder / "secret"
    secret_file.write_text(secret + "\n")
    secret_file.chmod(0o600)
    log = folder / "worker.log"
    command = [sys.executable, "-m", "sfu.worker_main", "--listen", f"{host}:{port}",
               "--secret-file", str(secret_file), "--rtc-address", rtc_address,
               "--rtc-port", "0", "--redis-url", url, "--cluster", cluster, "--id", worker_id,
               "--capacity", str(capacity), "--settings", f'{{"seats": {seats}}}',
               "--name", worker_id]
    if netns is not None:
        command = ["ip", "netns", "exec", netns, *command]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("ROSTRUM_WORKER_SECRET", None)
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out, env=env)
    worker = RemoteWorker(worker_id, f"{host}:{port}", process, log, netns)
    client = aioredis.Redis.from_url(url)
    try:
        deadline = time.monotonic() + 20
        while await client.get(key(cluster, worker_id)) is None:
            if process.returncode is not None or time.monotonic() > deadline:
                worker.kill()
                raise AssertionError(f"{worker_id} did not register:\n{worker.output()}")
            await asyncio.sleep(0.05)
    finally:
        await client.aclose()
    return worker


async def entry_of(url: str, cluster: str, worker_id: str) -> WorkerEntry | None:
    client = aioredis.Redis.from_url(url)
    try:
        value = await client.get(key(cluster, worker_id))
    finally:
        await client.aclose()
    return None if value is None else WorkerEntry.parse(value)


async def join_following(urls: list[str], token: str, name: str, *, timeout: float = 20,
                         **profile: object) -> TestPeer:
    """A TestPeer joined the way web/static/protocol.js joins with several nodes: connect to
    the first URL; a ``moved <url>`` refusal names the owner, connect there; a node that
    cannot be reached, try the next URL (a load balancer's job in production) until
    ``timeout``."""
    deadline = time.monotonic() + timeout
    queue = list(urls)
    last = ""
    while time.monotonic() < deadline:
        url = queue.pop(0) if queue else urls[0]
        if not queue:
            queue = list(urls)
        peer = TestPeer(url, token, name)
        refusals: list[object] = []
        peer.sio.on("connect_error", refusals.append, namespace="/room")
        try:
            await peer.join(**profile)
            return peer
        except (socketio.exceptions.ConnectionError, OSError) as exc:
            await peer.close()
            message = next((r.get("message") for r in refusals if isinstance(r, dict)), None)
            if isinstance(message, str) and message.startswith("moved "):
                queue.insert(0, message.removeprefix("moved "))
                last = message
                continue
            last = f"{url}: {message or exc}"
            await asyncio.sleep(0.2)
    raise AssertionError(f"{name}: could not join through {urls} ({last})")


NET_PREFIX = "rstc"


def _run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), check=check, capture_output=True, text=True)


@dataclass
class ClusterNet:
    """Hosts on one machine: ``count`` network namespaces, each with its own address on one
    bridge of the root namespace (10.214.X.0/24: the bridge .1, the hosts .2, .3, ...). The
    namespaces have no default route; they reach each other and the root namespace's bridge
    address, nothing else. Names carry the pid so concurrent runs cannot collide."""

    bridge: str
    bridge_address: str
    hosts: list[tuple[str, str]]  # (namespace, address)

    @classmethod
    def create(cls, count: int) -> ClusterNet:
        pid = os.getpid()
        cls.remove_stale()
        used = set()
        for word in _run("ip", "-o", "-4", "addr", "show").stdout.split():
            if word.startswith("10.214."):
                used.add(int(word.split(".")[2]))
        subnet = next(x for x in ((pid + i) % 250 + 2 for i in range(250)) if x not in used)
        net = cls(f"rcb{pid}", f"10.214.{subnet}.1",
                  [(f"{NET_PREFIX}{pid}x{i}", f"10.214.{subnet}.{i + 2}") for i in range(count)])
        try:
            net._setup(pid)
        except BaseException:
            net.destroy()
            raise
        return net

    def _setup(self, pid: int) -> None:
        _run("ip", "link", "add", self.bridge, "type", "bridge")
        _run("ip", "addr", "add", f"{self.bridge_address}/24", "dev", self.bridge)
        _run("ip", "link", "set", self.bridge, "up")
        for i, (name, address) in enumerate(self.hosts):
            outside, inside = f"rch{pid}x{i}", f"rcn{pid}x{i}"
            _run("ip", "netns", "add", name)
            _run("ip", "link", "add", outside, "type", "veth", "peer", "name", inside)
            _run("ip", "link", "set", inside, "netns", name)
            # no IPv6 link-local addresses coming a second after the link is up: a browser
            # started meanwhile fails its loads with ERR_NETWORK_CHANGED (tests/browser/netns.py)
            _run("ip", "link", "set", outside, "addrgenmode", "none")
            _run("ip", "netns", "exec", name, "ip", "link", "set", inside, "addrgenmode", "none")
            _run("ip", "link", "set", outside, "master", self.bridge)
            _run("ip", "link", "set", outside, "up")
            _run("ip", "netns", "exec", name, "ip", "addr", "add", f"{address}/24", "dev",
                 inside)
            _run("ip", "netns", "exec", name, "ip", "link", "set", inside, "up")
            _run("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up")

    def destroy(self) -> None:
        for name, _ in self.hosts:
            _run("ip", "netns", "del", name, check=False)  # takes its veth pair with it
        _run("ip", "link", "del", self.bridge, check=False)

    @staticmethod
    def remove_stale() -> None:
        """Namespaces and bridges of this scheme left by runs whose process is gone."""
        for line in _run("ip", "netns", "list", check=False).stdout.splitlines():
            name = line.split()[0] if line.split() else ""
            pid = name[len(NET_PREFIX):].partition("x")[0]
            if name.startswith(NET_PREFIX) and pid.isdigit() and not Path(f"/proc/{pid}").exists():
                _run("ip", "netns", "del", name, check=False)
        for line in _run("ip", "-o", "link", "show", "type", "bridge", check=False
                         ).stdout.splitlines():
            name = line.split(":")[1].strip() if line.count(":") >= 2 else ""
            if name.startswith("rcb") and name[3:].isdigit() \
                    and not Path(f"/proc/{name[3:]}").exists():
                _run("ip", "link", "del", name, check=False)


MEETING = "demo"  # python -m meeting_server --demo makes it


async def start_node(ns: str | None, address: str, port: int, name: str, env: dict[str, str],
                     folder: Path, demo: bool) -> tuple[asyncio.subprocess.Process, Path]:
    """A control-plane node (``python -m meeting_server``) on ``address:port``, in namespace
    ``ns`` if given; returns once it answers /healthz."""
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


@dataclass
class Cluster:
    """What ``cluster_of`` started: node A (the demo meeting's first owner) and node B, the
    workers, the Redis they share."""

    folder: Path
    redis: aioredis.Redis
    cluster: str
    secret: str
    urls: list[str]  # node A's, node B's
    nodes: list[asyncio.subprocess.Process]
    workers: list[RemoteWorker]

    def token(self, role: str) -> str:
        return issue(self.secret, MEETING, role, 3600)

    async def kill_node(self, index: int) -> None:
        """kill -9 a node and wait for its end."""
        self.nodes[index].kill()
        await self.nodes[index].wait()

    async def placed_on(self, among: list[RemoteWorker] | None = None) -> RemoteWorker:
        """The living worker whose registry entry reports the meeting's router."""
        deadline = time.monotonic() + 5
        while True:
            for worker in among or self.workers:
                if worker.process.returncode is not None:
                    continue
                value = await self.redis.get(key(self.cluster, worker.worker_id))
                if value is not None and WorkerEntry.parse(value).routers > 0:
                    return worker
            assert time.monotonic() < deadline, "no worker reports the meeting's router"
            await asyncio.sleep(0.2)

    async def floor_log_without_hole(self, index: int) -> list[tuple[str, Any]]:
        """The floor log, read from node ``index`` (the one that took over): the first
        owner's entries, the intervention it left open closed 'owner-lost', the new owner's
        entries after it. The floor given back by the takeover (meeting_server/live_state.py)
        starts again as a new intervention noted 'resumed after owner-lost', right after the
        end; a test that gives the floor again adds its own start. Returns (event, reason) of
        every row."""
        async with aiohttp.ClientSession() as http:
            reply = await http.get(f"{self.urls[index]}/api/meetings/{MEETING}/floor-log.json",
                                   params={"t": self.token("chair")})
            assert reply.status == 200, await reply.text()
            body = await reply.json()
        log: list[dict[str, Any]] = body["rows"] if isinstance(body, dict) else body
        events = [(row["event"], row.get("reason")) for row in log]
        starts = [row for row in log if row["event"] == "intervention-start"]
        assert len(starts) >= 2, events
        first_end = next(row for row in log if row["event"] == "intervention-end"
                         and row["grant_id"] == starts[0]["grant_id"])
        assert first_end["reason"] == "owner-lost", events
        assert log.index(first_end) < log.index(starts[1]), events
        resumed = [row for row in starts if row.get("note") == "resumed after owner-lost"]
        assert len(resumed) <= 1, events
        if resumed:  # the floor given back: the same speaker, right after the end
            assert resumed[0] is starts[1], events
            assert resumed[0]["participant_id"] == starts[0]["participant_id"], events
        for earlier, later in itertools.pairwise(starts):  # no two open at once
            assert any(row["event"] == "intervention-end"
                       and row["grant_id"] == earlier["grant_id"]
                       and log.index(earlier) < log.index(row) < log.index(later)
                       for row in log), events
        return events

    def dump(self) -> None:
        """The processes' logs, for a failed test."""
        for path in sorted(self.folder.glob("*.log")):
            print(f"--- {path.name}\n{path.read_text(errors='replace')[-4000:]}")
        for worker in self.workers:
            print(f"--- {worker.worker_id}\n{worker.output()[-3000:]}")


@contextlib.asynccontextmanager
async def cluster_of(hosts: list[tuple[str | None, str, int]], redis_address: str,
                     **env: str) -> AsyncIterator[Cluster]:
    """Two nodes (hosts 0 and 1: (namespace or None, address, port)) and three workers
    (hosts 2-4), one Redis of their own on ``redis_address``, one SQLite file; node A makes
    the demo meeting. ``env``: more of the nodes' settings (e.g. ROSTRUM_RESUME_GRACE_S).
    Everything is killed at the end; the logs are printed when the body fails."""
    folder = Path(tempfile.mkdtemp(prefix="rostrum-cluster-"))
    port = free_port(redis_address)
    redis_server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", redis_address, "--save", "",
         "--appendonly", "no", "--protected-mode", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://{redis_address}:{port}/0"
    client = aioredis.Redis.from_url(url)
    cluster = Cluster(folder, client, "rostrum", "s" * 32, [], [], [])
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                if await client.ping():
                    break
            except (OSError, RedisError):
                pass
            assert time.monotonic() < deadline, "the test's redis-server did not answer"
            await asyncio.sleep(0.05)
        worker_secret = "w" * 32
        for i, (ns, address, _) in enumerate(hosts[2:5]):  # one by one: each has 20 s
            cluster.workers.append(await start_worker(
                url, cluster.cluster, worker_secret, f"w{i}", host=address,
                rtc_address=address, port=7000 if ns else free_port(address), netns=ns))
        node_env = {"ROSTRUM_DATA_DIR": str(folder / "data"), "ROSTRUM_SECRET": cluster.secret,
                    "REDIS_URL": url, "ROSTRUM_OWNERSHIP": "1",
                    "ROSTRUM_REMOTE_WORKERS": "only", "ROSTRUM_WORKER_SECRET": worker_secret,
                    "ROSTRUM_RESUME_GRACE_S": "0", **env}
        for index, name in enumerate(("node-a", "node-b")):
            ns, address, node_port = hosts[index]
            process, _ = await start_node(ns, address, node_port, name, node_env, folder,
                                          demo=index == 0)
            cluster.nodes.append(process)
            cluster.urls.append(f"http://{address}:{node_port}")
        try:
            yield cluster
        except BaseException:
            cluster.dump()
            raise
    finally:
        for process in cluster.nodes:
            if process.returncode is None:
                process.kill()
                await process.wait()
        for worker in cluster.workers:
            worker.kill()
            if worker.process.returncode is None:
                await worker.process.wait()
        await client.aclose()
        redis_server.kill()
        redis_server.wait()
        shutil.rmtree(folder, ignore_errors=True)
