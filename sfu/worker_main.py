"""A worker process: ``python -m sfu.worker_main --socket PATH --settings JSON`` (a child of
the server), or on another machine ``python -m sfu.worker_main --listen HOST:PORT
--secret-file F --rtc-address A --rtc-port P`` (a remote worker: TCP with a HMAC handshake,
registered in Redis; sfu/worker_remote.py).

It installs the ICE policy (aioice is configured per process), makes a ``Worker`` and serves
the boundary's commands and events on a Unix socket (sfu/worker.py, ``WorkerServer``;
docs/architecture.md, "Workers"). It exits when its standard input closes: the server that
started it is gone (even after a kill -9, since the pipe's other end closes with it).
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import logging
import os
import signal
import sys
from dataclasses import dataclass
from typing import Any

from . import aiortc_glue
from .collector import Collector
from .worker import Worker, WorkerServer
from .worker_registry import HEARTBEAT_S, Registration, WorkerEntry, check_id, split_address

logger = logging.getLogger("sfu.worker_main")


@dataclass(frozen=True, slots=True)
class IceServer:
    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None


def parse_settings(text: str) -> dict[str, Any]:
    """The worker's settings, as the server passes them (JSON): ``iceServers`` (RTCIceServer
    dicts), ``rtcAddresses``, ``seats``, ``keyframeIntervalS``, ``rtcPort`` (the worker's one
    UDP port: 0 any free port, null aioice's sockets per connection), ``rtcAnnouncedAddress``
    (the address its host candidates name behind NAT, or null)."""
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("settings: a JSON object expected")
    servers = []
    for item in data.get("iceServers", []):
        urls = item["urls"]
        servers.append(IceServer(tuple([urls] if isinstance(urls, str) else urls),
                                 item.get("username"), item.get("credential")))
    addresses = data.get("rtcAddresses", [])
    if not all(isinstance(a, str) for a in addresses):
        raise ValueError("settings: rtcAddresses is a list of strings")
    seats, interval = data.get("seats", 4), data.get("keyframeIntervalS", 0.5)
    if type(seats) is not int or not 1 <= seats <= 16:
        raise ValueError("settings: seats is an integer 1..16")
    if type(interval) not in (int, float) or interval <= 0:
        raise ValueError("settings: keyframeIntervalS is a positive number")
    port = data.get("rtcPort")
    if port is not None and (type(port) is not int or not 0 <= port <= 65535):
        raise ValueError("settings: rtcPort is a UDP port 0..65535 or null")
    announced = data.get("rtcAnnouncedAddress")
    if announced is not None:
        if not isinstance(announced, str):
            raise ValueError("settings: rtcAnnouncedAddress is an IP address or null")
        ipaddress.ip_address(announced)  # ValueError: not an address
    return {"ice_servers": tuple(servers), "rtc_addresses": tuple(addresses),
            "seats": seats, "keyframe_interval_s": float(interval), "rtc_port": port,
            "rtc_announced_address": announced}


async def _stdin_closed() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while await reader.read(4096):
        pass


def _collect(worker: Worker) -> None:
    """This process's garbage collector leaves start-up's and live connections' objects
    alone (sfu/collector.py)."""
    collector = Collector()
    worker.event_listeners.append(collector.on_event)
    collector.start()


async def run(socket_path: str, settings: dict[str, Any]) -> None:
    aiortc_glue.install_ice_policy(settings["rtc_addresses"])  # this process's aioice
    worker = Worker(**settings)
    await worker.start()  # binds the worker's one UDP port
    server = WorkerServer(worker)
    await server.start(socket_path)
    _collect(worker)
    stop: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def stopping() -> None:
        if not stop.done():
            stop.set_result(None)
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stopping)
    watcher = asyncio.ensure_future(_stdin_closed())
    logger.info("worker %d serving on %s", os.getpid(), socket_path)
    try:
        await asyncio.wait([stop, watcher], return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
        await server.close()
        await worker.close()


@dataclass(frozen=True, slots=True)
class Remote:
    """A remote worker's own settings (``--listen`` and what goes with it)."""

    listen: tuple[str, int]
    advertise: str
    worker_id: str
    secret: str
    redis_url: str
    cluster: str
    capacity: int


async def run_remote(remote: Remote, settings: dict[str, Any]) -> None:
    """Serve on TCP and stay registered in Redis until SIGTERM/SIGINT; the entry is removed
    on a clean exit (after a kill -9 its TTL removes it)."""
    from .worker_remote import RemoteWorkerServer  # redis is needed only here

    aiortc_glue.install_ice_policy(settings["rtc_addresses"])
    worker = Worker(**settings)
    await worker.start()
    tcp = RemoteWorkerServer(worker, remote.worker_id, remote.secret)
    await tcp.start(*remote.listen)
    _collect(worker)
    rtc_address = settings["rtc_addresses"][0] if settings["rtc_addresses"] else ""

    def entry() -> WorkerEntry:
        stats = worker.stats()
        port = worker.udp_mux.port if worker.udp_mux is not None else 0
        return WorkerEntry(remote.worker_id, remote.advertise, rtc_address, port,
                           remote.capacity, settings["seats"],
                           sum(s.consumers for s in stats), len(stats), os.getpid())
    registration = Registration(remote.redis_url, remote.cluster, entry)
    stop: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def stopping() -> None:
        if not stop.done():
            stop.set_result(None)
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stopping)
    try:
        await registration.start()
        logger.info("remote worker %s (pid %d) serving on %s:%d, registered as %s (heartbeat "
                    "%g s)", remote.worker_id, os.getpid(), remote.listen[0], tcp.port,
                    remote.advertise, HEARTBEAT_S)
        await stop
    finally:
        await registration.close()
        await tcp.close()
        await worker.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sfu.worker_main")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--socket", help="the Unix socket to serve on (a child of the server)")
    where.add_argument("--listen", help="HOST:PORT: serve on TCP as a remote worker")
    parser.add_argument("--settings", default="{}", help="JSON: the worker's settings")
    parser.add_argument("--name", default="worker", help="the name its log lines carry")
    remote = parser.add_argument_group("remote worker (--listen)")
    remote.add_argument("--secret-file", help="the cluster's shared secret (else "
                        "ROSTRUM_WORKER_SECRET)")
    remote.add_argument("--rtc-address", action="append", default=[],
                        help="an address for its WebRTC connections (repeatable)")
    remote.add_argument("--rtc-port", type=int, help="its one UDP port (0: any free port)")
    remote.add_argument("--advertise", help="HOST:PORT the control plane connects to "
                        "(default: --listen)")
    remote.add_argument("--id", help="its id in the registry (default: HOST-PORT)")
    remote.add_argument("--redis-url", default=os.environ.get("REDIS_URL", ""),
                        help="the registry (default: REDIS_URL)")
    remote.add_argument("--cluster", default=os.environ.get("ROSTRUM_CLUSTER", "rostrum"),
                        help="the registry's key prefix: the control plane's Redis channel")
    remote.add_argument("--capacity", type=int, default=1000,
                        help="consumers it takes before placement passes it over")
    args = parser.parse_args(argv)
    try:
        raw = json.loads(args.settings)
        if isinstance(raw, dict) and args.rtc_address:
            raw["rtcAddresses"] = args.rtc_address
        if isinstance(raw, dict) and args.rtc_port is not None:
            raw["rtcPort"] = args.rtc_port
        settings = parse_settings(json.dumps(raw))
    except (ValueError, KeyError, TypeError) as exc:
        parser.error(f"--settings: {exc}")
    logging.basicConfig(level=logging.INFO,
                        format=f"%(asctime)s {args.name} %(levelname)s %(name)s: %(message)s")
    for noisy in ("aioice", "aiortc"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.socket is not None:
        asyncio.run(run(args.socket, settings))
        return
    asyncio.run(run_remote(remote_settings(args, parser), settings))


def remote_settings(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Remote:
    """A remote worker's settings from its flags; a clear error for each bad one."""
    try:
        host, port = split_address(args.listen)
        advertise = args.advertise or args.listen
        advertised_host, _ = split_address(advertise)
        worker_id = check_id(args.id or f"{host}-{port}".replace(":", "."))
    except ValueError as exc:
        parser.error(str(exc))
    if advertised_host in ("0.0.0.0", "::"):
        parser.error("--listen on every interface needs --advertise HOST:PORT")
    if args.secret_file:
        try:
            with open(args.secret_file, encoding="utf-8") as f:
                secret = f.read()
        except OSError as exc:
            parser.error(f"--secret-file: {exc}")
    else:
        secret = os.environ.get("ROSTRUM_WORKER_SECRET", "")
    from .worker_auth import check_secret
    try:
        secret = check_secret(secret)
    except ValueError as exc:
        parser.error(f"{exc} (--secret-file or ROSTRUM_WORKER_SECRET)")
    if not args.redis_url:
        parser.error("a remote worker registers in Redis: --redis-url or REDIS_URL")
    if not 1 <= args.capacity <= 100000:
        parser.error("--capacity must be 1..100000 consumers")
    if not args.rtc_address:
        parser.error("a remote worker needs --rtc-address (the address browsers reach it "
                     "on)")
    return Remote((host, port), advertise, worker_id, secret, args.redis_url, args.cluster,
                  args.capacity)


if __name__ == "__main__":
    main()
