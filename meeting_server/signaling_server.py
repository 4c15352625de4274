"""The Socket.IO server: python-socketio's, dropping a session whose packet does not parse.

python-socketio raises out of its packet decoder on malformed input (an unknown packet type,
a CONNECT_ERROR from a client, JSON nested too deep, an integer of thousands of digits, a
binary placeholder pointing nowhere); engine.io then logs a traceback and keeps the session.
Here such a session is closed, as the JavaScript server does, with one rate-limited line.
Handlers never raise into this path: RostrumNamespace answers their errors itself.
"""

from __future__ import annotations

import logging
from typing import Any

import socketio

from .ratelimit import RateLimits
from .wire_log import WireLog

logger = logging.getLogger(__name__)


class SignalingServer(socketio.AsyncServer):  # type: ignore[misc]
    """``limits``: the rate limits every RostrumNamespace applies (events, connects, joins)."""

    def __init__(self, limits: RateLimits | None = None, **kwargs: Any) -> None:
        self.limits = limits
        self.wire_log = WireLog(logger, "malformed Socket.IO input")
        kwargs.setdefault("logger", WireLog(logging.getLogger("socketio.server"),
                                            "Socket.IO"))
        kwargs.setdefault("engineio_logger", WireLog(logging.getLogger("engineio.server"),
                                                     "engine.io"))
        super().__init__(**kwargs)

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        try:
            await super()._handle_eio_message(eio_sid, data)
        except Exception as exc:  # the client's packet, never a handler (see module doc)
            self._binary_packet.pop(eio_sid, None)
            self.wire_log.warning("closed a session after a packet that does not parse",
                                  exc_info=exc)
            await self.eio.disconnect(eio_sid)
