"""`/room`: admission by token, join, leave, presence (docs/protocol.md)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from socketio.exceptions import ConnectionRefusedError

from ..errors import RostrumError, ok
from ..invitations import InvitationService, device_key
from ..meetings import LiveMeeting, MeetingService, Participant
from ..schemas import Empty, JoinPayload, MediaStatePayload, ResumePayload, parse
from ..tokens import Invite
from ..turn import turn_credentials
from .base import RostrumNamespace

logger = logging.getLogger(__name__)


class RoomNamespace(RostrumNamespace):
    def __init__(self, meetings: MeetingService, ice_servers: list[dict[str, Any]],
                 invitations: InvitationService | None = None) -> None:
        super().__init__("/room")
        self.meetings = meetings
        self.ice_servers = ice_servers
        self.invitations = invitations
        self.invites: dict[str, Invite] = {}
        self.devices: dict[str, str] = {}  # sid -> the browser's device key
        meetings.leave_listeners.append(self._announce_left)
        # other namespaces put this connection's sids into the meeting's rooms on join
        self.join_listeners: list[Callable[[str, Participant], Awaitable[None]]] = []
        # several nodes: the living nodes' URLs, this one's first, for the page to reconnect
        # to when this node dies (meeting_server/cluster.py); None: one node
        self.nodes: Callable[[], list[str]] | None = None

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        device = device_key(auth.get("device")) if isinstance(auth, dict) else ""
        try:
            invite, _ = await self.meetings.admit(
                token, device, auth.get("resume") if isinstance(auth, dict) else None)
        except RostrumError as exc:
            raise ConnectionRefusedError(exc.message, {"code": exc.code}) from None
        self.invites[sid] = invite
        self.devices[sid] = device

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        self.invites.pop(sid, None)
        self.devices.pop(sid, None)
        # not a leave: a dropped page may `resume` within the grace (docs/protocol.md)
        participant = await self.meetings.suspend(self.session_of(sid))
        if participant is not None:
            await self.leave_room(sid, participant.meeting_id)

    async def _leave(self, sid: str) -> None:
        participant = await self.meetings.leave(self.session_of(sid))
        if participant is not None:
            await self.leave_room(sid, participant.meeting_id)

    async def _announce_left(self, participant: Participant, reason: str) -> None:
        """Whoever ends a participant's presence (they left, dropped, were removed, the
        meeting ended), everyone else is told."""
        payload = participant.to_json() | {"reason": reason}
        await self.emit("presence", {"event": "left", "participant": payload},
                        room=participant.meeting_id)

    async def on_join(self, sid: str, data: Any) -> dict[str, Any]:
        session = self.session_of(sid)  # known while connected: read it before any wait
        payload = parse(JoinPayload, data)
        invite, device = await self._admit_again(sid)
        if self.invitations is not None:
            payload = await self.invitations.profile(invite, payload)
        participant, live = await self.meetings.join(session, invite, payload, device)
        await self.emit("presence", {"event": "joined", "participant": participant.to_json()},
                        room=live.record.id, skip_sid=sid)
        if sid not in self.invites:
            # the connection closed while the join was under way (a broadcast to a large
            # room yields): it is a drop, as on_disconnect makes it for a joined participant
            # (kept for a resume; suspending twice is a no-op), and there is no room to enter
            await self.meetings.suspend(session)
            return self._welcome(participant, live)
        await self.enter_room(sid, live.record.id)
        for listener in self.join_listeners:
            await listener(session, participant)
        return self._welcome(participant, live)

    async def _admit_again(self, sid: str) -> tuple[Invite, str]:
        """What a join and a resume check first: this connection's token, the join rate of
        its address, and the admission checks again (revoked or barred since the connect).
        The connection's invite and device."""
        invite = self.invites.get(sid)
        if invite is None:
            raise RostrumError("unauthorized", "connect with a token first")
        limits = getattr(self.server, "limits", None)
        if limits is not None and not limits.join(self.address_of(sid)):
            raise RostrumError("rate-limited", "too many joins from your address; try again"
                                               " shortly")
        device = self.devices.get(sid, "")
        for check in self.meetings.admission_checks:
            await check(invite, device)
        return invite, device

    def _welcome(self, participant: Participant, live: LiveMeeting) -> dict[str, Any]:
        return ok(self=participant.to_json(), meeting=live.to_json(),
                  participants=[p.to_json() for p in live.participants.values()],
                  iceServers=self._ice_servers(participant),
                  iceTransportPolicy=self.meetings.config.ice_transport_policy,
                  resume={"key": participant.resume_key,
                          "graceS": self.meetings.config.resume_grace_s},
                  **({} if self.nodes is None else {"nodes": self.nodes()}))

    def _ice_servers(self, participant: Participant) -> list[dict[str, Any]]:
        """The configured ICE servers, and TURN credentials of this participant's own."""
        config = self.meetings.config
        if not config.turn_secret or not config.turn_urls:
            return self.ice_servers
        return [*self.ice_servers, turn_credentials(config.turn_secret, config.turn_urls,
                                                    participant.id, config.turn_ttl_s)]

    async def on_resume(self, sid: str, data: Any) -> dict[str, Any]:
        """A page whose connection dropped comes back as the same participant (its join
        ack's resume key), on this new connection: no second arrival."""
        payload = parse(ResumePayload, data)
        invite, _device = await self._admit_again(sid)
        participant, live, old = await self.meetings.resume(self.session_of(sid), invite,
                                                            payload.key)
        if old != self.session_of(sid) and old in self.server.eio.sockets:
            # the old connection, not noticed gone yet: all of its namespaces go
            await self.server.eio.disconnect(old)
        await self.enter_room(sid, live.record.id)
        for listener in self.join_listeners:
            await listener(self.session_of(sid), participant)
        return self._welcome(participant, live)

    async def on_leave(self, sid: str, data: Any) -> dict[str, Any]:
        parse(Empty, data)
        await self._leave(sid)
        return ok()

    async def on_media_state(self, sid: str, data: Any) -> dict[str, Any]:
        payload = parse(MediaStatePayload, data)
        participant = self.meetings.participant(self.session_of(sid))
        if participant is None:
            raise RostrumError("not-joined", "join the meeting first")
        participant.audio, participant.video = payload.audio, payload.video
        await self.emit("presence", {"event": "updated", "participant": participant.to_json()},
                        room=participant.meeting_id, skip_sid=sid)
        return ok()
