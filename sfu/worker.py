"""Worker: owns the routers of the meetings placed on it.

Today one worker runs inside the server process (see docs/architecture.md, "Workers"); the
interface is the one a worker process per core will keep. Constructing a worker changes no
process-wide state: whoever runs it calls ``aiortc_glue.install_ice_policy`` first (the
server's start-up does).
"""

from __future__ import annotations

import logging
from typing import Any

from .events import RouterStats
from .router import Router

logger = logging.getLogger(__name__)


class Worker:
    def __init__(self, *, ice_servers: tuple[Any, ...] = (), rtc_addresses: tuple[str, ...] = (),
                 seats: int = 4, keyframe_interval_s: float = 0.5) -> None:
        self.ice_servers = ice_servers
        self.seats = seats
        self.keyframe_interval_s = keyframe_interval_s
        self.rtc_addresses = rtc_addresses
        self.routers: dict[str, Router] = {}

    def router(self, meeting_id: str, *, video_codec: str = "VP8") -> Router:
        router = self.routers.get(meeting_id)
        if router is None or router.closed:
            router = Router(meeting_id, ice_servers=self.ice_servers, video_codec=video_codec,
                            audio_seats=self.seats, video_seats=self.seats,
                            keyframe_interval_s=self.keyframe_interval_s)
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
