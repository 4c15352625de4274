"""Remote SFU workers for tests: real ``python -m sfu.worker_main --listen`` processes that
register in a real Redis (sfu/worker_remote.py), each with its own cluster prefix so runs
side by side cannot see each other's workers."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis.asyncio as aioredis
import socketio

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
