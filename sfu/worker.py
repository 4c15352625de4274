"""Worker: owns the routers of the meetings placed on it.

Today one worker runs inside the server process (see docs/architecture.md, "Workers"); the
interface is the one a worker process per core will keep. Constructing a worker changes no
process-wide state: whoever runs it calls ``aiortc_glue.install_ice_policy`` first (the
server's start-up does).

The worker owns its UDP mux (sfu/udp_mux.py): every WebRTC connection of its routers uses the
one port ``rtc_port`` (0: a free port; None: aioice's own sockets per connection). ``start()``
binds it and ``close()`` closes it after the routers; a worker process ``i`` of several would
take ``rtc_port + i``.
"""

from __future__ import annotations

import logging
from typing import Any

from . import aiortc_glue
from .events import RouterStats
from .router import Router
from .udp_mux import UdpMux

logger = logging.getLogger(__name__)


class Worker:
    def __init__(self, *, ice_servers: tuple[Any, ...] = (), rtc_addresses: tuple[str, ...] = (),
                 seats: int = 4, keyframe_interval_s: float = 0.5,
                 rtc_port: int | None = None) -> None:
        self.ice_servers = ice_servers
        self.seats = seats
        self.keyframe_interval_s = keyframe_interval_s
        self.rtc_addresses = rtc_addresses
        self.rtc_port = rtc_port
        self.udp_mux: UdpMux | None = None
        self.routers: dict[str, Router] = {}

    async def start(self) -> None:
        """Bind the worker's UDP port (``MuxError`` when it cannot)."""
        if self.rtc_port is None or self.udp_mux is not None:
            return
        addresses = self.rtc_addresses or aiortc_glue.default_host_addresses()
        if not addresses:  # loopback only, and not named: no host candidate at all
            logger.warning("no local address for WebRTC host candidates (set "
                           "ROSTRUM_RTC_ADDRESSES): only relayed candidates are offered")
            return
        mux = UdpMux(addresses, self.rtc_port)
        await mux.start()
        self.udp_mux = mux

    def router(self, meeting_id: str, *, video_codec: str = "VP8") -> Router:
        router = self.routers.get(meeting_id)
        if router is None or router.closed:
            router = Router(meeting_id, ice_servers=self.ice_servers, video_codec=video_codec,
                            audio_seats=self.seats, video_seats=self.seats,
                            keyframe_interval_s=self.keyframe_interval_s,
                            udp_mux=self.udp_mux)
            self.routers[meeting_id] = router
        return router

    async def close_router(self, meeting_id: str) -> None:
        router = self.routers.pop(meeting_id, None)
        if router is not None:
            await router.close()

    def stats(self) -> list[RouterStats]:
        """Every router's stats snapshot (sfu/events.py), for /metrics."""
        return [router.stats() for router in self.routers.values()]

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
        if self.udp_mux is not None:
            await self.udp_mux.close()
            self.udp_mux = None
