"""A worker process: ``python -m sfu.worker_main --socket PATH --settings JSON``.

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
from .worker import Worker, WorkerServer

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


async def run(socket_path: str, settings: dict[str, Any]) -> None:
    aiortc_glue.install_ice_policy(settings["rtc_addresses"])  # this process's aioice
    worker = Worker(**settings)
    await worker.start()  # binds the worker's one UDP port
    server = WorkerServer(worker)
    await server.start(socket_path)
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sfu.worker_main")
    parser.add_argument("--socket", required=True, help="the Unix socket to serve on")
    parser.add_argument("--settings", default="{}", help="JSON: the worker's settings")
    parser.add_argument("--name", default="worker", help="the name its log lines carry")
    args = parser.parse_args(argv)
    try:
        settings = parse_settings(args.settings)
    except (ValueError, KeyError, TypeError) as exc:
        parser.error(f"--settings: {exc}")
    logging.basicConfig(level=logging.INFO,
                        format=f"%(asctime)s {args.name} %(levelname)s %(name)s: %(message)s")
    for noisy in ("aioice", "aiortc"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    asyncio.run(run(args.socket, settings))


if __name__ == "__main__":
    main()
