"""Meetings and their participants: who is here, in which role, since when.

Live state (presence) is kept in memory on this node; durable records (meetings, attendance)
go to the store. The service knows nothing of Socket.IO: namespaces call it and emit.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sfu.commands import CloseParticipant, CommandError
from sfu.worker_client import MediaWorkers, RouterHandle

from .config import OFFICIAL_LANGUAGES, Config
from .errors import RostrumError
from .schemas import JoinPayload
from .store import AttendanceRecord, MeetingRecord, ResumeRecord, Store
from .tokens import Invite, TokenError, verify

logger = logging.getLogger(__name__)


def resume_hash(key: str) -> str:
    """What is stored and looked up of a resume key: its SHA-256 (the key is a bearer secret
    of 144 random bits, so a plain hash suffices; the database never holds the key)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass
class Participant:
    id: str
    meeting_id: str
    session: str  # engine.io session id: the identity across Socket.IO namespaces
    name: str
    organization: str
    member_state: str
    role: str
    language: str
    joined_at: float
    audio: bool = False
    video: bool = False
    invitation: str | None = None  # the invitation joined with (invitations.py)
    device: str = ""  # the browser's own key, sent at connect (bars a removed device)
    # the secret a page shows to `resume` this participant on a new connection (join ack);
    # after a restart only its hash is known until the page shows it again
    resume_key: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    resume_hash: str = ""

    def __post_init__(self) -> None:
        if not self.resume_hash:
            self.resume_hash = resume_hash(self.resume_key)

    def resume_record(self, expires_at: float) -> ResumeRecord:
        return ResumeRecord(self.resume_hash, self.id, self.meeting_id, self.name,
                            self.organization, self.member_state, self.role, self.language,
                            self.invitation, self.device, "", self.joined_at, expires_at)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "organization": self.organization,
            "memberState": self.member_state, "role": self.role, "language": self.language,
            "audio": self.audio, "video": self.video,
            "joinedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.joined_at)),
        }


@dataclass
class LiveMeeting:
    record: MeetingRecord
    router: RouterHandle  # in this process or in a worker process (sfu/worker_client.py)
    participants: dict[str, Participant] = field(default_factory=dict)
    locked: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"id": self.record.id, "title": self.record.title,
                "languages": list(self.record.languages), "videoCodec": self.record.video_codec,
                "floorMode": self.record.floor_mode}


class MeetingService:
    def __init__(self, config: Config, store: Store, worker: MediaWorkers) -> None:
        self.config = config
        self.store = store
        self.worker = worker
        self.live: dict[str, LiveMeeting] = {}
        self.by_session: dict[str, Participant] = {}
        self._opening: dict[str, asyncio.Task[LiveMeeting]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # dropped without a leave, kept for a resume (resume_grace_s): old session -> them
        self.suspended: dict[str, Participant] = {}
        # the hash of a resume key (resume_hash) -> its participant; kept in the store too
        # (resume_keys), so a resume works after a restart within the grace
        self.by_resume_key: dict[str, Participant] = {}
        self._expiry: dict[str, asyncio.Task[None]] = {}
        # called when a meeting goes live (its router exists) and when someone leaves
        self.live_listeners: list[Callable[[LiveMeeting], None]] = []
        # called when a live meeting has a router: after the live listeners, and again
        # when its worker died and it got a fresh router on another (the media events, the
        # plan); the clients then restore their connections (media-restart listeners below;
        # docs/architecture.md, "Workers")
        self.router_listeners: list[Callable[[LiveMeeting], None]] = []
        # called after the router listeners when the fresh router replaces one lost with its
        # worker: its participants must publish and subscribe again (/media media-restart)
        self.media_restart_listeners: list[Callable[[LiveMeeting], None]] = []
        # called (the meeting, participant ids) when a worker holding part of a spread
        # meeting died: those listeners must subscribe again (/media media-restart, their
        # subscription only); the meeting's router goes on
        self.part_restart_listeners: list[Callable[[LiveMeeting, list[str]], None]] = []
        # meeting id -> the task placing a lost router's meeting on a worker that is up
        self._replacing: dict[str, asyncio.Task[None]] = {}
        self.leave_listeners: list[Callable[[Participant, str], Awaitable[None]]] = []
        # called with the meeting id after someone joined or left (the last one out: after
        # the meeting's router closed)
        self.participants_listeners: list[Callable[[str], None]] = []
        # awaited by admit(): each raises RostrumError to refuse (invitations.py)
        self.admission_checks: list[Callable[[Invite, str], Awaitable[None]]] = []
        worker.lost_listeners.append(self._router_lost)
        worker.part_lost_listeners.append(self._part_lost)

    async def create_meeting(self, title: str, languages: tuple[str, ...] = OFFICIAL_LANGUAGES,
                             video_codec: str = "VP8", meeting_id: str | None = None,
                             floor_mode: str = "chaired") -> MeetingRecord:
        """``floor_mode`` "chaired": a delegate is heard only with the floor; "open": everyone
        not muted is heard (an informal meeting, a drafting group)."""
        if video_codec not in ("VP8", "H264"):
            raise ValueError("video codec must be VP8 or H264")
        if floor_mode not in ("chaired", "open"):
            raise ValueError("floor mode must be chaired or open")
        meeting_id = meeting_id or secrets.token_hex(6)
        return await self.store.create_meeting(meeting_id, title, languages, video_codec,
                                               floor_mode)

    async def admit(self, token: object, device: str = "", resume: object = None
                    ) -> tuple[Invite, MeetingRecord]:
        """Check an invite token and the meeting it names. ``resume``: a participant's resume
        key (auth ``resume``): someone in the meeting, coming back, whom a lock does not
        keep out."""
        try:
            invite = verify(self.config.secret, token,
                            max_lifetime_s=self.config.max_token_lifetime_s)
        except TokenError as exc:
            raise RostrumError("unauthorized", str(exc)) from None
        record = await self.store.get_meeting(invite.meeting_id)
        if record is None:
            raise RostrumError("not-found", "no such meeting")
        if record.ended_at is not None:
            raise RostrumError("meeting-closed", "the meeting has ended")
        live = self.live.get(record.id)
        returning = self.by_resume_key.get(resume_hash(resume)) \
            if isinstance(resume, str) else None
        if live is not None and live.locked and invite.role not in ("chair", "secretariat") \
                and (returning is None or returning.meeting_id != record.id):
            raise RostrumError("meeting-closed", "the meeting is locked by the chair")
        for check in self.admission_checks:
            await check(invite, device)
        return invite, record

    def participant(self, session: str) -> Participant | None:
        return self.by_session.get(session)

    def meeting_of(self, participant: Participant) -> LiveMeeting:
        return self.live[participant.meeting_id]

    async def join(self, session: str, invite: Invite, payload: JoinPayload, device: str = ""
                   ) -> tuple[Participant, LiveMeeting]:
        if session in self.by_session:
            raise RostrumError("conflict", "this connection has already joined")
        record = await self.store.get_meeting(invite.meeting_id)
        if record is None:
            raise RostrumError("not-found", "no such meeting")
        if record.ended_at is not None:
            raise RostrumError("meeting-closed", "the meeting has ended")
        live = self.live.get(record.id)
        if live is None:
            opening = self._opening.get(record.id)
            if opening is None:  # one router for joins that arrive together
                opening = asyncio.ensure_future(self._go_live(record))
                self._opening[record.id] = opening
                opening.add_done_callback(lambda _t: self._opening.pop(record.id, None))
            live = await asyncio.shield(opening)
            if session in self.by_session:
                raise RostrumError("conflict", "this connection has already joined")
        if live.locked and invite.role not in ("chair", "secretariat"):
            raise RostrumError("meeting-closed", "the meeting is locked by the chair")
        participant = Participant(
            id=secrets.token_hex(6), meeting_id=record.id, session=session,
            name=payload.name, organization=payload.organization,
            member_state=payload.memberState, role=invite.role,
            language=payload.language or "", joined_at=time.time(),
            invitation=invite.invitation, device=device)
        await self.store.record_join(AttendanceRecord(
            participant.id, record.id, participant.name, participant.organization,
            participant.member_state, participant.role, participant.joined_at, None))
        await self.store.save_resume(participant.resume_record(
            time.time() + self.config.resume_grace_s))
        live.participants[participant.id] = participant
        self.by_session[session] = participant
        self.by_resume_key[participant.resume_hash] = participant
        logger.info("[%s %s] joined as %s (%s)", record.id, participant.id, participant.role,
                    participant.name)
        self._participants_changed(record.id)
        return participant, live

    async def _go_live(self, record: MeetingRecord) -> LiveMeeting:
        router = await self.worker.open_router(record.id, video_codec=record.video_codec)
        live = LiveMeeting(record=record, router=router)
        self.live[record.id] = live
        for listener in (*self.live_listeners, *self.router_listeners):
            try:
                listener(live)
            except Exception:
                logger.exception("[%s] live listener failed", record.id)
        return live

    def _part_lost(self, meeting_id: str, participant_ids: list[str]) -> None:
        live = self.live.get(meeting_id)
        present = [p for p in participant_ids if live is not None and p in live.participants]
        if live is None or not present:
            return
        logger.warning("[%s] a worker holding part of the meeting died; %d listener(s) are "
                       "told to subscribe again", meeting_id, len(present))
        for listener in self.part_restart_listeners:
            try:
                listener(live, present)
            except Exception:
                logger.exception("[%s] part restart listener failed", meeting_id)

    def _router_lost(self, meeting_id: str) -> None:
        """The meeting's worker died: a fresh router on a worker that is up, the plan applied
        to it (router listeners), then its participants are told to publish and subscribe
        again (media-restart listeners: /media ``media-restart``). One replacement per
        meeting at a time: a second loss meanwhile restarts it."""
        live = self.live.get(meeting_id)
        if live is None:
            return
        before = self._replacing.pop(meeting_id, None)
        if before is not None:
            before.cancel()
        task = asyncio.ensure_future(self._replace_router(live))
        self._replacing[meeting_id] = task
        self._tasks.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._tasks.discard(finished)
            if self._replacing.get(meeting_id) is finished:
                del self._replacing[meeting_id]
        task.add_done_callback(done)

    async def _replace_router(self, live: LiveMeeting) -> None:
        meeting_id = live.record.id
        lost_at = time.monotonic()
        for _attempt in range(50):  # 10 s: the only worker may be restarting
            try:
                router = await self.worker.open_router(meeting_id,
                                                       video_codec=live.record.video_codec)
                break
            except CommandError:
                await asyncio.sleep(0.2)
        else:
            logger.error("[%s] no worker for the meeting's media", meeting_id)
            return
        if self.live.get(meeting_id) is not live:
            # it emptied meanwhile (its router was closed then: this one is nobody's), or
            # went live again with this same router (open_router gives the one it opens)
            if meeting_id not in self.live and meeting_id not in self._opening:
                await self.worker.close_router(meeting_id)
            return
        live.router = router
        logger.warning("[%s] the meeting has a fresh router after %.0f ms; its %d "
                       "participant(s) are told to publish and subscribe again", meeting_id,
                       (time.monotonic() - lost_at) * 1000, len(live.participants))
        for listener in (*self.router_listeners, *self.media_restart_listeners):
            try:
                listener(live)
            except Exception:
                logger.exception("[%s] router listener failed", meeting_id)

    def _participants_changed(self, meeting_id: str) -> None:
        for listener in self.participants_listeners:
            try:
                listener(meeting_id)
            except Exception:
                logger.exception("[%s] participants listener failed", meeting_id)

    def find(self, meeting_id: str, participant_id: str) -> Participant | None:
        live = self.live.get(meeting_id)
        return live.participants.get(participant_id) if live else None

    async def suspend(self, session: str) -> Participant | None:
        """The connection dropped without a leave: free the participant's media now, keep
        them (presence, the speakers' list, the floor, the booth) for ``resume_grace_s``
        for a `resume` from a new connection; past it they leave ("dropped"). Without a
        grace they leave at once."""
        participant = self.by_session.get(session)
        if participant is None:
            return None
        grace = self.config.resume_grace_s
        if grace <= 0:
            return await self.leave(session)
        del self.by_session[session]
        self.suspended[session] = participant
        live = self.live.get(participant.meeting_id)
        if live is not None:
            await self._close_media(live, participant)
        self._expiry[session] = asyncio.ensure_future(self._expire(session, grace))
        await self.store.resume_state(participant.id, connected=False,
                                      expires_at=time.time() + grace)
        logger.info("[%s %s] dropped: kept %.0f s for a resume", participant.meeting_id,
                    participant.id, grace)
        return participant

    async def _expire(self, session: str, delay: float) -> None:
        await asyncio.sleep(delay)
        self._expiry.pop(session, None)  # leave() must not cancel the task running it
        if session in self.suspended:
            await self.leave(session, "dropped")

    async def resume(self, session: str, invite: Invite, key: str
                     ) -> tuple[Participant, LiveMeeting, str]:
        """Give a new connection the participant of ``key`` back (the same id, place and
        rights); with the old session, whose connection may not have been noticed as gone
        yet (its media is closed). RostrumError not-found when the key is unknown or has
        expired (the page joins afresh), conflict when this connection has joined."""
        if session in self.by_session:
            raise RostrumError("conflict", "this connection has already joined")
        participant = self.by_resume_key.get(resume_hash(key))
        if participant is None or participant.meeting_id != invite.meeting_id \
                or participant.role != invite.role:
            raise RostrumError("not-found", "nothing to resume (expired or unknown): join"
                                            " again")
        live = self.live[participant.meeting_id]
        old = participant.session
        if self.suspended.pop(old, None) is not None:
            expiry = self._expiry.pop(old, None)
            if expiry is not None:
                expiry.cancel()
        elif self.by_session.pop(old, None) is not None:
            await self._close_media(live, participant)
        participant.session = session
        participant.resume_key = key  # known again after a restart
        self.by_session[session] = participant
        await self.store.resume_state(participant.id, connected=True,
                                      expires_at=time.time() + self.config.resume_grace_s)
        logger.info("[%s %s] resumed", participant.meeting_id, participant.id)
        return participant, live, old

    async def leave(self, session: str, reason: str = "left") -> Participant | None:
        """Remove a participant (left, dropped, removed) and free all of their media."""
        participant = self.by_session.pop(session, None) or self.suspended.pop(session, None)
        if participant is None:
            return None
        expiry = self._expiry.pop(session, None)
        if expiry is not None:
            expiry.cancel()
        self.by_resume_key.pop(participant.resume_hash, None)
        await self.store.forget_resume(participant.id)
        for listener in self.leave_listeners:
            try:
                await listener(participant, reason)
            except Exception:
                logger.exception("[%s %s] leave listener failed", participant.meeting_id,
                                 participant.id)
        live = self.live.get(participant.meeting_id)
        if live is not None:
            live.participants.pop(participant.id, None)
            if not live.participants:
                # the last one out closes the meeting's media; someone joining meanwhile
                # gets a fresh router
                del self.live[participant.meeting_id]
                await self.worker.close_router(participant.meeting_id)
                self._participants_changed(participant.meeting_id)
            else:
                self._participants_changed(participant.meeting_id)
                await self._close_media(live, participant)
        await self.store.record_leave(participant.id, time.time(), reason)
        logger.info("[%s %s] left", participant.meeting_id, participant.id)
        return participant

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # the resume keys across a restart (store.py resume_keys)

    def start(self) -> None:
        """Keep the connected participants' keys good for the grace from now, every third of
        the grace: after a kill -9 a key lasts at most the grace (and a third) from the crash."""
        if self.config.resume_grace_s > 0:
            self._spawn(self._keep_keys())

    async def _keep_keys(self) -> None:
        grace = self.config.resume_grace_s
        while True:
            try:
                await self.store.extend_connected_resume_keys(time.time() + grace,
                                                              sorted(self.live))
            except Exception:
                logger.exception("keeping the resume keys")
            await asyncio.sleep(max(1.0, grace / 3))

    async def restore(self, meeting_id: str | None = None) -> list[Participant]:
        """After a restart (all meetings) or at a takeover (``meeting_id``, whose owner
        died: meeting_server/live_state.py): everyone whose resume key is still good is back
        in their meeting, dropped (as after a network cut), for a `resume` until the key's
        expiry, with the same id, name, role and invitation; their meeting goes live again.
        Expired keys are purged. Returns who was restored."""
        now = time.time()
        restored: list[Participant] = []
        for record in await self.store.resume_records(now, meeting_id):
            meeting = await self.store.get_meeting(record.meeting_id)
            if meeting is None or meeting.ended_at is not None \
                    or self.config.resume_grace_s <= 0:
                await self.store.forget_resume(record.participant_id)
                continue
            live = self.live.get(meeting.id) or await self._go_live(meeting)
            participant = Participant(
                id=record.participant_id, meeting_id=meeting.id,
                session=f"restored:{record.participant_id}", name=record.name,
                organization=record.organization, member_state=record.member_state,
                role=record.role, language=record.language, joined_at=record.joined_at,
                invitation=record.invitation, device=record.device, resume_key="",
                resume_hash=record.key_hash)
            live.participants[participant.id] = participant
            self.suspended[participant.session] = participant
            self.by_resume_key[participant.resume_hash] = participant
            self._expiry[participant.session] = asyncio.ensure_future(
                self._expire(participant.session, max(0.0, record.expires_at - now)))
            await self.store.resume_state(participant.id, connected=False)
            restored.append(participant)
        for meeting_id in {p.meeting_id for p in restored}:
            self._participants_changed(meeting_id)
        if restored:
            logger.warning("restored %d participants for a resume after a restart",
                           len(restored))
        return restored

    async def _close_media(self, live: LiveMeeting, participant: Participant) -> None:
        try:
            await live.router.negotiate(CloseParticipant(participant.id))
        except CommandError as exc:  # its worker is gone: nothing left to close
            logger.warning("[%s %s] closing media: %s", participant.meeting_id,
                           participant.id, exc.message)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for task in list(self._replacing.values()):
            task.cancel()
        for session in [*self.by_session, *self.suspended]:
            await self.leave(session, "server-shutdown")
