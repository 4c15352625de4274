"""What every Rostrum namespace shares: acks, validation errors, unknown events."""

from __future__ import annotations

import logging
from typing import Any

import socketio

from ..errors import RostrumError

logger = logging.getLogger(__name__)


class RostrumNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    """Dispatches ``some-event`` to ``on_some_event``; turns a RostrumError into the error ack
    and any other exception into ``internal`` (logged), so a handler can never break the
    server or leave a client without an answer."""

    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event in ("connect", "disconnect"):
            return await super().trigger_event(event, *args)
        handler = getattr(self, "on_" + event.replace("-", "_"), None)
        if handler is None or not event.replace("-", "").isalnum() or not event.islower():
            return RostrumError("unknown-event", f"no event {event!r} in {self.namespace}"
                                ).to_ack()
        sid = args[0] if args else None
        data = args[1] if len(args) > 1 else None
        if len(args) > 2:
            return RostrumError("bad-request", "an event takes one payload object").to_ack()
        try:
            return await handler(sid, data)
        except RostrumError as exc:
            return exc.to_ack()
        except Exception:
            logger.exception("%s %s failed for %s", self.namespace, event, sid)
            return RostrumError("internal", "the server failed to handle this event").to_ack()

    def session_of(self, sid: str) -> str:
        """The engine.io session behind a namespace sid: one per browser connection."""
        return str(self.server.manager.eio_sid_from_sid(sid, self.namespace))
