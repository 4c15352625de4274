"""What every Rostrum namespace shares: acks, validation errors, unknown events."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import socketio
from socketio.exceptions import ConnectionRefusedError

from ..errors import RostrumError
from ..invitations import device_key

if TYPE_CHECKING:
    from ..meetings import MeetingService, Participant

logger = logging.getLogger(__name__)

# Socket.IO's lifecycle names: python-socketio calls trigger_event with them itself, so a
# client's event of the same name must never reach the handlers (docs/protocol.md).
RESERVED_EVENTS = frozenset({"connect", "disconnect"})


class RostrumNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    """Dispatches ``some-event`` to ``on_some_event``; turns a RostrumError into the error ack
    and any other exception into ``internal`` (logged), so a handler can never break the
    server or leave a client without an answer."""

    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event in RESERVED_EVENTS:
            if self._from_server(event, args):
                return await self._lifecycle(event, *args)
            # a client sent an ordinary event under a lifecycle name: never a handler's call
            return RostrumError("unknown-event", f"no event {event!r} in {self.namespace}"
                                ).to_ack()
        handler = getattr(self, "on_" + event.replace("-", "_"), None)
        if handler is None or not event.replace("-", "").isalnum() or not event.islower():
            return RostrumError("unknown-event", f"no event {event!r} in {self.namespace}"
                                ).to_ack()
        limits = getattr(self.server, "limits", None)
        if limits is not None and args and not limits.event(self.session_of(args[0]),
                                                            self.address_of(args[0])):
            return RostrumError("rate-limited", "too many events: slow down").to_ack()
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

    async def _lifecycle(self, event: str, *args: Any) -> Any:
        """Run the connect or disconnect handler; a fault of ours is logged in full here (and
        a connect refused with ``internal``), so nothing but a client's malformed packet ever
        raises into python-socketio (see signaling_server.py)."""
        limits = getattr(self.server, "limits", None)
        if event == "connect" and limits is not None \
                and not limits.connect(self.address_of(args[0])):
            raise ConnectionRefusedError("too many connections from your address; try again"
                                         " shortly", {"code": "rate-limited"})
        try:
            return await super().trigger_event(event, *args)
        except ConnectionRefusedError:
            raise
        except Exception:
            logger.exception("%s %s failed for %s", self.namespace, event, args[0])
            if event == "connect":
                raise ConnectionRefusedError("the server failed to admit this connection",
                                             {"code": "internal"}) from None
            return None

    def _from_server(self, event: str, args: tuple[Any, ...]) -> bool:
        """Whether a lifecycle event comes from python-socketio itself. Its connect passes the
        engine.io session's own environ object (a client's payload is parsed JSON, never that
        object); its disconnect runs while the sid is pending disconnection, and a client's
        event is only dispatched while the sid is connected."""
        if not args or not isinstance(args[0], str):
            return False
        sid = args[0]
        if event == "connect":
            eio_sid = self.server.manager.eio_sid_from_sid(sid, self.namespace)
            environ = self.server.environ.get(eio_sid) if eio_sid is not None else None
            return environ is not None and len(args) >= 2 and args[1] is environ
        return not self.server.manager.is_connected(sid, self.namespace)

    def address_of(self, sid: str) -> str:
        """The client's address behind a sid (through a trusted proxy's X-Forwarded-For)."""
        environ = self.server.get_environ(sid, self.namespace) or {}
        request = environ.get("aiohttp.request")
        remote = getattr(request, "remote", None)
        forwarded = request.headers.get("X-Forwarded-For") if request is not None else None
        limits = getattr(self.server, "limits", None)
        return limits.address_of(remote, forwarded) if limits is not None else str(remote)

    def session_of(self, sid: str) -> str:
        """The engine.io session behind a namespace sid: one per browser connection."""
        return str(self.server.manager.eio_sid_from_sid(sid, self.namespace))


def participant_room(participant_id: str) -> str:
    """The room of one participant's connections in a namespace."""
    return "p:" + participant_id


class MeetingNamespace(RostrumNamespace):
    """A namespace whose connections admit by token and, once the participant has joined on
    `/room`, sit in the meeting's room and in their own: `sink` emits to either."""

    def __init__(self, namespace: str, meetings: MeetingService) -> None:
        super().__init__(namespace)
        self.meetings = meetings
        self._tasks: set[asyncio.Task[Any]] = set()

    def sink(self, meeting_id: str, event: str, payload: dict[str, Any],
             to: list[str] | None) -> None:
        """Emit to the whole meeting (``to`` None) or to some participants, without
        waiting: services call this from synchronous code."""
        rooms = [meeting_id] if to is None else [participant_room(p) for p in to]
        for room in rooms:
            task = asyncio.ensure_future(self.emit(event, payload, room=room))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        device = device_key(auth.get("device")) if isinstance(auth, dict) else ""
        try:
            await self.meetings.admit(
                token, device, auth.get("resume") if isinstance(auth, dict) else None)
        except RostrumError as exc:
            raise ConnectionRefusedError(exc.message, {"code": exc.code}) from None
        participant = self.meetings.participant(self.session_of(sid))
        if participant is not None:  # joined on /room before connecting here
            await self.attach(sid, participant)

    async def attach(self, sid: str, participant: Participant) -> None:
        await self.enter_room(sid, participant.meeting_id)
        await self.enter_room(sid, participant_room(participant.id))

    async def attach_session(self, session: str, participant: Participant) -> None:
        """Called by /room on join: put this connection's sid here in the meeting's rooms."""
        sid = self.server.manager.sid_from_eio_sid(session, self.namespace)
        if sid is not None:
            await self.attach(sid, participant)

    def me(self, sid: str) -> Participant:
        participant = self.meetings.participant(self.session_of(sid))
        if participant is None:
            raise RostrumError("not-joined", "join the meeting on /room first")
        return participant

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
