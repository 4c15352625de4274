"""Keyframe requests towards one publisher, throttled.

Every new consumer, every source switch and every subscriber's PLI/FIR asks for a keyframe;
a publisher that sent one per request would flood the meeting with keyframes. Requests are
merged: at most one per interval (Galène: 500 ms; mediasoup: 1 s), and a request that falls
inside the interval is sent when it ends, so nobody waits for ever.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)


class KeyframeThrottle:
    def __init__(self, send: Callable[[], Awaitable[None]], interval_s: float = 0.5) -> None:
        self._send = send
        self._interval = interval_s
        self._last = -1e9
        self._pending: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None
        self.sent = 0
        self.merged = 0

    def request(self) -> None:
        now = time.monotonic()
        if self._pending is not None:
            self.merged += 1
            return
        wait = self._last + self._interval - now
        if wait <= 0:
            self._fire()
        else:
            self.merged += 1
            self._pending = asyncio.get_running_loop().call_later(wait, self._fire)

    def _fire(self) -> None:
        self._pending = None
        self._last = time.monotonic()
        self.sent += 1
        self._task = asyncio.ensure_future(self._send_logged())

    async def _send_logged(self) -> None:
        try:
            await self._send()
        except Exception:  # a listener's failure must not break the forwarding path
            logger.exception("keyframe request failed")

    def close(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
