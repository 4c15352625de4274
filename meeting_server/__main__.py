"""`python -m meeting_server [--demo]`: run the server on the embedded defaults;
`python -m meeting_server backup DEST` / `restore BACKUP`: see backup.py."""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import sys
from collections.abc import Mapping

from aiohttp import web

from sfu.collector import Collector
from sfu.worker_client import LocalWorkers

from .app import MEETINGS, WORKER, create_app
from .config import Config, from_env_and_args
from .tokens import ROLES, issue

logger = logging.getLogger("rostrum")

DEMO_MEETING_ID = "demo"


def join_link(config: Config, meeting_id: str, role: str) -> str:
    token = issue(config.secret, meeting_id, role, config.token_ttl_s)
    return f"{config.base_url()}/m/{meeting_id}?t={token}"


async def _demo(app: web.Application) -> None:
    config = app[MEETINGS].config
    meetings = app[MEETINGS]
    if await meetings.store.get_meeting(DEMO_MEETING_ID) is None:
        await meetings.create_meeting("Demo study group session", meeting_id=DEMO_MEETING_ID)
    print(f"\nRostrum is running at {config.base_url()}\nDemo meeting join links:", flush=True)
    for role in ROLES:
        print(f"  {role:12s} {join_link(config, DEMO_MEETING_ID, role)}", flush=True)
    print(flush=True)


async def _started(app: web.Application) -> None:
    """The last start-up step: the garbage collector's full passes leave start-up's objects,
    and the in-process worker's live connections, alone (sfu/collector.py, issue 14: joins
    never stall forwarding). Only this entry point does it: it is process-wide."""
    collector = Collector()
    workers = app[WORKER]
    if isinstance(workers, LocalWorkers):
        workers.worker.event_listeners.append(collector.on_event)
    collector.start()


def tls_context(config: Config) -> ssl.SSLContext | None:
    """Built-in HTTPS from the configured PEM files (TLS 1.2 or newer), or None."""
    if config.tls_cert is None or config.tls_key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(config.tls_cert), str(config.tls_key))
    return context


EVENT_LOOPS = ("asyncio", "uvloop")


def event_loop(environ: Mapping[str, str] | None = None) -> asyncio.AbstractEventLoop:
    """The event loop ``ROSTRUM_EVENT_LOOP`` names: ``asyncio`` (the default) or
    ``uvloop`` (libuv's loop, from PyPI). Anything else is an error."""
    env = os.environ if environ is None else environ
    name = env.get("ROSTRUM_EVENT_LOOP", "").strip().lower() or "asyncio"
    if name not in EVENT_LOOPS:
        raise SystemExit(f"ROSTRUM_EVENT_LOOP must be one of {', '.join(EVENT_LOOPS)}, "
                         f"not {name!r}")
    if name == "uvloop":
        try:
            import uvloop
        except ImportError:
            raise SystemExit("ROSTRUM_EVENT_LOOP=uvloop but the uvloop package is not "
                             "installed (pip install uvloop)") from None
        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
        return loop
    return asyncio.new_event_loop()


def main(argv: list[str] | None = None) -> None:
    args = argv if argv is not None else sys.argv[1:]
    if args and args[0] in ("backup", "restore"):
        from .backup import main as backup_main

        sys.exit(backup_main(args))
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("aioice").setLevel(logging.WARNING)
    logging.getLogger("aiortc").setLevel(logging.WARNING)
    config = from_env_and_args(args)
    loop = event_loop()
    asyncio.set_event_loop(loop)
    logger.info("event loop: %s", type(loop).__module__)
    app = create_app(config)
    if config.demo:
        app.on_startup.append(_demo)
    app.on_startup.append(_started)
    web.run_app(app, host=config.host, port=config.port, print=lambda *_: None,
                shutdown_timeout=5, ssl_context=tls_context(config), loop=loop)


if __name__ == "__main__":
    main()
