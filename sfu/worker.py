"""Worker: owns the routers of the meetings placed on it, and (``WorkerServer``) serves their
commands and events on a Unix socket when it runs in a process of its own.

A worker runs either inside the server process (``ROSTRUM_WORKERS=0``) or as a worker
process (``python -m sfu.worker_main``, started and supervised by sfu/worker_client.py's
``WorkerPool``); see docs/architecture.md, "Workers". Constructing a worker changes no
process-wide state: whoever runs it calls ``aiortc_glue.install_ice_policy`` first (the
server's start-up, or the worker process's main).

The worker owns its UDP mux (sfu/udp_mux.py): every WebRTC connection of its routers uses the
one port ``rtc_port`` (0: a free port; None: aioice's own sockets per connection), and gives
browsers ``rtc_announced_address`` in its host candidates when it sits behind NAT (it then binds
its one ``rtc_addresses`` entry, or the wildcard when none is named). ``start()``
binds it and ``close()`` closes it after the routers; a worker process ``i`` of several would
take ``rtc_port + i``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import time
from collections.abc import Callable
from typing import Any

from . import aiortc_glue, fanout
from .commands import (
    CloseRouter,
    CommandError,
    Done,
    GetLoad,
    Load,
    OpenRouter,
    Refusal,
    Reply,
    Request,
    Result,
)
from .events import RouterEvent, RouterStats, UdpStats
from .router import Router
from .udp_mux import MuxError, UdpMux
from .wire import HEADER, WireError, decode, frame, frame_length, request_id

logger = logging.getLogger(__name__)

VIDEO_CODECS = ("VP8", "H264")
CONNECTION_COMMANDS = ("Publish", "Unpublish", "Subscribe", "AcceptAnswer", "CloseParticipant",
                       "OpenPipe", "ConnectPipe", "PipeProducers", "PipeProducer",
                       "UnpipeProducer", "ClosePipe", "OpenTap", "CloseTap")


class Worker:
    def __init__(self, *, ice_servers: tuple[Any, ...] = (), rtc_addresses: tuple[str, ...] = (),
                 seats: int = 4, keyframe_interval_s: float = 0.5,
                 rtc_port: int | None = None, rtc_announced_address: str | None = None
                 ) -> None:
        self.ice_servers = ice_servers
        self.seats = seats
        self.keyframe_interval_s = keyframe_interval_s
        self.rtc_addresses = rtc_addresses
        self.rtc_port = rtc_port
        self.rtc_announced_address = rtc_announced_address
        self.udp_mux: UdpMux | None = None
        # one DTLS certificate for every connection of the worker (sfu/aiortc_glue.py)
        self.dtls_certificate = aiortc_glue.DtlsCertificate()
        # the threads every connection's DTLS handshake computes in (off the event loop)
        self.dtls_handshakes = aiortc_glue.DtlsHandshakes()
        self.routers: dict[str, Router] = {}
        # every router's events (a worker process sends them on its socket)
        self.event_listeners: list[Callable[[RouterEvent], None]] = []
        self._last_packets: tuple[float, int] | None = None  # (monotonic time, total)

    async def start(self) -> None:
        """Make the worker's DTLS certificate (its key pair, and the first use of the
        crypto modules, cost tens of milliseconds: not in the first join), and bind the
        worker's UDP port (``MuxError`` when it cannot; ``FanoutError`` when ROSTRUM_FANOUT
        names a send path this build lacks)."""
        self.dtls_certificate.current()
        mode = fanout.select_mode()
        if self.rtc_port is None:
            logger.info("send path: Python (per-connection sockets; ROSTRUM_FANOUT=%s has "
                        "effect on the worker's UDP port only)", mode)
        else:
            logger.info("send path: %s", "C (sfu._fanout: rewrite, SRTP, sendmmsg)"
                        if mode == "c" else "Python (ROSTRUM_FANOUT=python)")
        if self.rtc_port is None or self.udp_mux is not None:
            return
        announced = self.rtc_announced_address
        if announced is not None and not self.rtc_addresses:
            addresses: tuple[str, ...] | list[str] = ("::",) if ":" in announced else ("0.0.0.0",)
        else:
            addresses = self.rtc_addresses or aiortc_glue.default_host_addresses()
        if not addresses:  # loopback only, and not named: no host candidate at all
            logger.warning("no local address for WebRTC host candidates (set "
                           "ROSTRUM_RTC_ADDRESSES): only relayed candidates are offered")
            return
        try:
            mux = UdpMux(addresses, self.rtc_port, announced)
        except ValueError as exc:
            raise MuxError(str(exc)) from exc
        await mux.start()
        self.udp_mux = mux

    def router(self, meeting_id: str, *, video_codec: str = "VP8") -> Router:
        router = self.routers.get(meeting_id)
        if router is None or router.closed:
            router = Router(meeting_id, ice_servers=self.ice_servers, video_codec=video_codec,
                            audio_seats=self.seats, video_seats=self.seats,
                            keyframe_interval_s=self.keyframe_interval_s,
                            udp_mux=self.udp_mux, dtls_certificate=self.dtls_certificate,
                            dtls_handshakes=self.dtls_handshakes)
            router.on_event(functools.partial(self._emit, router))
            self.routers[meeting_id] = router
        return router

    def _emit(self, router: Router, event: RouterEvent) -> None:
        if self.routers.get(router.meeting_id) is not router:
            return  # a router closing after CloseRouter: the meeting id may be a new one's
        for listener in self.event_listeners:
            try:
                listener(event)
            except Exception:
                logger.exception("worker event listener failed")

    def detach(self, meeting_id: str) -> Router | None:
        """Forget the meeting's router now (a router opened next for it is a fresh one); the
        caller closes it."""
        return self.routers.pop(meeting_id, None)

    async def close_router(self, meeting_id: str) -> None:
        router = self.detach(meeting_id)
        if router is not None:
            await router.close()

    def stats(self) -> list[RouterStats]:
        """Every router's stats snapshot (sfu/events.py), for /metrics."""
        return [router.stats() for router in self.routers.values()]

    def load(self) -> Load:
        """Consumers, and packets per second (received by producers plus sent by consumers)
        since the previous call: what placement weighs."""
        stats = self.stats()
        total = sum(p.packets_received for r in stats for p in r.producers) + sum(
            c.packets_sent for r in stats for s in r.subscribers for c in s.consumers)
        now = time.monotonic()
        rate = 0.0
        if self._last_packets is not None and now > self._last_packets[0]:
            rate = max(0.0, (total - self._last_packets[1]) / (now - self._last_packets[0]))
        self._last_packets = (now, total)
        return Load(os.getpid(), sum(r.consumers for r in stats), round(rate, 1), tuple(stats),
                    self.udp_stats())

    def udp_stats(self) -> UdpStats | None:
        """The counters of the worker's one UDP port (None without the mux)."""
        return self.udp_mux.snapshot() if self.udp_mux is not None else None

    def counts(self) -> dict[str, int]:
        totals = {"routers": len(self.routers), "transports": 0, "producers": 0,
                  "consumers": 0, "subscriptions": 0}
        for router in self.routers.values():
            for key, value in router.counts().items():
                totals[key] += value
        return totals

    async def close(self) -> None:
        for meeting_id in list(self.routers):
            await self.close_router(meeting_id)
        self.dtls_handshakes.close()
        if self.udp_mux is not None:
            await self.udp_mux.close()
            self.udp_mux = None


async def read_body(reader: asyncio.StreamReader) -> bytes | None:
    """The next frame's body; None at the end of the stream. ``WireError`` when the length
    is over ``MAX_FRAME`` (the stream cannot be read further)."""
    try:
        header = await reader.readexactly(HEADER)
        return await reader.readexactly(frame_length(header))
    except asyncio.IncompleteReadError:
        return None


class WorkerServer:
    """The worker's side of the socket: ``Request`` frames in, ``Reply`` frames and the
    routers' events out (to every connection). Control and worker commands run in the order
    they arrive; connection commands (which wait on ICE and DTLS) each run in a task, so a
    slow offer holds up nothing. A frame that does not decode is refused (``bad-frame``) and
    the connection goes on; a frame over ``MAX_FRAME`` is refused and that connection is
    closed (its stream cannot be resynchronised); the worker keeps serving the others."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.writers: set[asyncio.StreamWriter] = set()
        self.server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        worker.event_listeners.append(self._broadcast)

    async def start(self, path: str) -> None:
        self.server = await asyncio.start_unix_server(self._serve, path=path)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for writer in list(self.writers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()

    def _broadcast(self, event: RouterEvent) -> None:
        data = frame(event)
        for writer in list(self.writers):
            if not writer.is_closing():
                writer.write(data)

    @staticmethod
    def _send(writer: asyncio.StreamWriter, reply: Reply) -> None:
        if not writer.is_closing():
            writer.write(frame(reply))

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one connection until it closes (a remote worker's TCP connection, once
        authenticated: sfu/worker_remote.py)."""
        await self._serve(reader, writer)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.add(writer)
        try:
            while True:
                try:
                    body = await read_body(reader)
                except WireError as exc:
                    logger.warning("bad frame, closing the connection: %s", exc)
                    self._send(writer, Reply(0, None, Refusal(
                        "bad-frame", f"{exc}; the connection is closed")))
                    break
                if body is None:
                    break
                try:
                    value = decode(body)
                except WireError as exc:
                    logger.warning("bad frame refused: %s", exc)
                    self._send(writer, Reply(request_id(body), None,
                                             Refusal("bad-frame", str(exc))))
                    continue
                if not isinstance(value, Request):
                    self._send(writer, Reply(0, None, Refusal(
                        "bad-frame", f"a Request expected, not {type(value).__name__}")))
                    continue
                self._handle(writer, value)
        except (ConnectionError, OSError):
            pass
        finally:
            self.writers.discard(writer)
            writer.close()

    def _handle(self, writer: asyncio.StreamWriter, request: Request) -> None:
        command, meeting_id = request.command, request.meeting_id
        try:
            if isinstance(command, GetLoad):
                self._send(writer, Reply(request.id, self.worker.load(), None))
                return
            if isinstance(command, OpenRouter):
                if command.video_codec not in VIDEO_CODECS:
                    raise CommandError("bad-request", "video codec must be VP8 or H264")
                if not meeting_id:
                    raise CommandError("bad-request", "a router needs a meeting id")
                self.worker.router(meeting_id, video_codec=command.video_codec)
                self._send(writer, Reply(request.id, Done(), None))
                return
            if isinstance(command, CloseRouter):
                router = self.worker.detach(meeting_id)
                self._spawn(writer, request.id, self._close(router))
                return
            router = self.worker.routers.get(meeting_id)
            if router is None or router.closed:
                raise CommandError("not-found", f"no router for meeting {meeting_id!r}")
            if type(command).__name__ in CONNECTION_COMMANDS:
                self._spawn(writer, request.id, router.negotiate(command))  # type: ignore[arg-type]
                return
            result = router.execute(command)  # type: ignore[arg-type]
            self._send(writer, Reply(request.id, result, None))
        except CommandError as exc:
            self._send(writer, Reply(request.id, None, Refusal(exc.code, exc.message)))
        except Exception as exc:
            logger.exception("[%s] %s failed", meeting_id, type(command).__name__)
            self._send(writer, Reply(request.id, None, Refusal("internal", repr(exc))))

    @staticmethod
    async def _close(router: Router | None) -> Result:
        if router is not None:
            await router.close()
        return Done()

    def _spawn(self, writer: asyncio.StreamWriter, request_id_: int,
               work: Any) -> None:
        async def run() -> None:
            try:
                result = await work
                self._send(writer, Reply(request_id_, result, None))
            except CommandError as exc:
                self._send(writer, Reply(request_id_, None, Refusal(exc.code, exc.message)))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.exception("request %d failed", request_id_)
                self._send(writer, Reply(request_id_, None, Refusal("internal", repr(exc))))

        task = asyncio.ensure_future(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
