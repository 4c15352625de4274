"""Run the real server in the test's event loop, on a free port, with its own data folder."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from meeting_server.__main__ import join_link
from meeting_server.app import MEETINGS, WORKER, create_app
from meeting_server.config import Config
from meeting_server.tokens import issue
from sfu.events import RouterStats
from sfu.router import Router
from sfu.worker import Worker
from sfu.worker_client import LocalWorkers, MediaWorkers, WorkerPool

# SFU worker processes for the servers tests start (Config.workers): ROSTRUM_WORKERS, or
# per test the ``media_workers`` fixture (tests/conftest.py runs the floor, interpretation
# and forwarding tests with 0 and with 2)
WORKERS = int(os.environ.get("ROSTRUM_WORKERS", "0") or "0")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host if host != "0.0.0.0" else "127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerHandle:
    app: web.Application
    config: Config
    base_url: str
    meeting_id: str

    def token(self, role: str = "delegate", meeting_id: str | None = None,
              ttl_s: int = 3600) -> str:
        return issue(self.config.secret, meeting_id or self.meeting_id, role, ttl_s)

    def join_link(self, role: str = "delegate", meeting_id: str | None = None) -> str:
        return join_link(self.config, meeting_id or self.meeting_id, role)

    @property
    def workers(self) -> MediaWorkers:
        return self.app[WORKER]

    async def counts(self) -> dict[str, int]:
        return await self.app[WORKER].counts()

    def worker(self) -> Worker:
        """The in-process worker (a test of the router's internals runs with 0 workers)."""
        workers = self.app[WORKER]
        assert isinstance(workers, LocalWorkers), "this test needs ROSTRUM_WORKERS=0"
        return workers.worker

    def router(self, meeting_id: str | None = None) -> Router:
        """The meeting's Router object, in process (see ``worker()``)."""
        return self.worker().routers[meeting_id or self.meeting_id]

    def pool(self) -> WorkerPool:
        workers = self.app[WORKER]
        assert isinstance(workers, WorkerPool), "this test needs worker processes"
        return workers

    async def router_stats(self, meeting_id: str | None = None) -> RouterStats:
        """The meeting's router's stats snapshot, wherever the router runs."""
        wanted = meeting_id or self.meeting_id
        return next(s for s in await self.app[WORKER].stats() if s.meeting_id == wanted)


@asynccontextmanager
async def running_server(*, host: str = "127.0.0.1", public_host: str | None = None,
                         rtc_addresses: list[str] | None = None,
                         data_dir: Path | None = None, port: int | None = None,
                         secret: str | None = None, floor_mode: str = "open",
                         **overrides: Any) -> AsyncIterator[ServerHandle]:
    own_dir = data_dir is None
    folder = Path(tempfile.mkdtemp(prefix="rostrum-test-")) if data_dir is None else data_dir
    port = port or free_port(host)
    public = public_host or ("127.0.0.1" if host == "0.0.0.0" else host)
    overrides.setdefault("rtc_port", 0)  # a free UDP port: tests run side by side
    # a dropped test peer leaves at once unless a test asks for a resume grace (the
    # production default keeps it 45 s: tests/browser/test_reconnect_browser.py)
    overrides.setdefault("resume_grace_s", 0.0)
    config = Config(host=host, port=port, data_dir=folder,
                    secret=secret or secrets.token_urlsafe(16),
                    public_url=f"http://{public}:{port}",
                    rtc_addresses=tuple(rtc_addresses or ["127.0.0.1"]),
                    **{"workers": WORKERS, **overrides})
    app = create_app(config)
    runner = web.AppRunner(app, shutdown_timeout=2)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    try:
        meetings = app[MEETINGS]
        existing = await meetings.store.list_meetings()
        meeting_id = existing[0].id if existing else \
            (await meetings.create_meeting("Test study group", meeting_id="t" +
                                           secrets.token_hex(4), floor_mode=floor_mode)).id
        yield ServerHandle(app=app, config=config, base_url=config.base_url(),
                           meeting_id=meeting_id)
    finally:
        await runner.cleanup()
        if own_dir:
            shutil.rmtree(folder, ignore_errors=True)


def wait_listening(port: int, timeout: float = 10) -> None:
    """The links are printed during start-up, a moment before the port listens."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")
