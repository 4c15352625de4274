"""Media signaling rules: who may publish and with which Opus settings; the SFU's commands
(sfu/commands.py) for each connection, its refusals (one publish and one subscribe
connection per participant, bad SDP) turned into the protocol's errors, and its events
(sfu/events.py) turned into `/media` events."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sfu.commands import (
    AcceptAnswer,
    Answer,
    CloseParticipant,
    CommandError,
    ConnectionCommand,
    ControlCommand,
    GetSlots,
    Offer,
    Pin,
    Publish,
    Result,
    SetVideo,
    Slots,
    Subscribe,
    Unpublish,
)
from sfu.events import RouterEvent, SlotsChanged, UplinkChanged
from sfu.worker_client import RouterHandle

from .errors import RostrumError
from .meetings import LiveMeeting, MeetingService, Participant

logger = logging.getLogger(__name__)

PUBLISHING_ROLES = frozenset({"chair", "secretariat", "delegate", "interpreter"})


def opus_parameters(role: str) -> dict[str, int | str]:
    """What each publisher's Opus encoder is asked for (the fmtp of our answer).

    - in-band FEC always: a listener on a lossy link rebuilds a lost frame from the next one;
    - fullband, mono, 32 kbit/s: interpreters need the floor's full bandwidth (≥ 32 kbit/s),
      and with packet overhead it stays under 60 kbit/s on the wire, so audio survives a
      60 kbit/s downlink;
    - DTX (the DTX policy): on for delegates, who are silent and not forwarded for most of a
      meeting, so their uplink costs almost nothing until they take the floor; off for the
      chair, the secretariat and interpreters, whose microphones are the meeting's continuous
      sound, so a listener never hears comfort noise cut in and out under them."""
    return {"minptime": 10, "useinbandfec": 1, "usedtx": 1 if role == "delegate" else 0,
            "stereo": 0, "maxplaybackrate": 48000, "maxaveragebitrate": 32000}

# 40 ms Opus packets: half the packets of the usual 20 ms, so half the per-packet overhead
# (RTP, SRTP, UDP, IP, link: about 76 bytes a packet). 32 kbit/s Opus costs about 47 kbit/s
# on the wire instead of 62, which is what lets audio pass a 60 kbit/s link whole. The price
# is 20 ms more delay, and a lost packet is 40 ms of sound (in-band FEC rebuilds it).
OPUS_PTIME_MS = 40

SlotsSink = Callable[[str, list[dict[str, Any]]], None]
UplinkSink = Callable[[str, dict[str, Any]], None]
# meeting id, `media-restart` payload, to whom (None: everyone in the meeting)
RestartSink = Callable[[str, dict[str, Any], list[str] | None], None]

# why a meeting's media restarted (`/media` `media-restart` `reason`)
WORKER_LOST = "worker-lost"


class MediaService:
    def __init__(self, meetings: MeetingService, seats: int) -> None:
        self.meetings = meetings
        self.seats = seats
        self.slots_sink: SlotsSink | None = None
        self.uplink_sink: UplinkSink | None = None
        self.restart_sink: RestartSink | None = None
        # participant id -> the participant they pinned: the choice outlives a subscribe
        # connection (a new one after a media restart or a resume gets it again)
        self.pins: dict[str, str] = {}
        # told when a participant's subscribe connection is negotiated
        self.subscribed_listeners: list[Callable[[Participant], None]] = []
        # every router's events, from the moment its meeting goes live (a router seen by
        # id could be missed: a closed router's id may be reused by the next one), and a
        # fresh router's after its worker died
        meetings.router_listeners.append(lambda live: live.router.on_event(self._on_event))
        meetings.media_restart_listeners.append(self._media_restarted)
        meetings.part_restart_listeners.append(self._part_restarted)
        meetings.leave_listeners.append(self._left)

    def _media_restarted(self, live: LiveMeeting) -> None:
        """The meeting's router was replaced (its worker died): everyone's media connections
        are gone. Each client publishes and subscribes again; the control plane gives the new
        subscription its channel (interpreting.subscribed) and pin (accept_answer)."""
        if self.restart_sink is not None:
            self.restart_sink(live.record.id, {"reason": WORKER_LOST}, None)

    def _part_restarted(self, live: LiveMeeting, participant_ids: list[str]) -> None:
        """A worker holding part of the meeting died: these listeners' subscriptions are
        gone (their publications, on the meeting's home worker, are not). Each subscribes
        again; the new subscription gets its channel and pin as after any restart."""
        if self.restart_sink is not None:
            self.restart_sink(live.record.id, {"reason": WORKER_LOST,
                                               "connections": ["subscribe"]},
                              participant_ids)

    async def _left(self, participant: Participant, reason: str) -> None:
        self.pins.pop(participant.id, None)

    def _router(self, participant: Participant) -> RouterHandle:
        return self.meetings.meeting_of(participant).router

    def _on_event(self, event: RouterEvent) -> None:
        """The SFU's events that reach a participant: their slots, their uplink level."""
        if isinstance(event, SlotsChanged) and self.slots_sink is not None:
            self.slots_sink(event.participant_id, [s.to_json() for s in event.slots])
        elif isinstance(event, UplinkChanged) and self.uplink_sink is not None:
            self.uplink_sink(event.participant_id,
                             {"level": event.level, "loss": round(event.loss, 3)})

    async def publish(self, participant: Participant, sdp: str, sources: dict[str, str]) -> str:
        if participant.role not in PUBLISHING_ROLES:
            raise RostrumError("forbidden", f"a {participant.role} does not publish media")
        result = await self._negotiate(participant, Publish(
            participant.id, sdp, tuple(sources.items()),
            opus=tuple(opus_parameters(participant.role).items()), opus_ptime=OPUS_PTIME_MS))
        assert isinstance(result, Answer)
        return result.sdp

    async def unpublish(self, participant: Participant) -> None:
        if participant.role not in PUBLISHING_ROLES:
            raise RostrumError("forbidden", f"a {participant.role} does not publish media")
        await self._negotiate(participant, Unpublish(participant.id))

    async def subscribe(self, participant: Participant) -> tuple[str, list[dict[str, Any]]]:
        result = await self._negotiate(participant, Subscribe(participant.id, self.seats))
        assert isinstance(result, Offer)
        return result.sdp, [slot.to_json() for slot in result.slots]

    async def accept_answer(self, participant: Participant, sdp: str) -> list[dict[str, Any]]:
        await self._negotiate(participant, AcceptAnswer(participant.id, sdp))
        for listener in self.subscribed_listeners:
            try:
                listener(participant)
            except Exception:
                logger.exception("[%s %s] subscribed listener failed", participant.meeting_id,
                                 participant.id)
        pinned = self.pins.get(participant.id)
        if pinned is not None:
            try:
                await self._execute(participant, Pin(participant.id, pinned))
            except RostrumError as exc:  # the pinned one left meanwhile: no pin
                logger.info("[%s %s] pin of %s not kept: %s", participant.meeting_id,
                            participant.id, pinned, exc.message)
                self.pins.pop(participant.id, None)
        # the slots after the listeners applied the participant's choices (their channel)
        slots = await self._execute(participant, GetSlots(participant.id))
        assert isinstance(slots, Slots)
        return [slot.to_json() for slot in slots.slots]

    async def set_video(self, participant: Participant, enabled: bool) -> None:
        """The listener's "low bandwidth" switch: off means audio (and documents) only."""
        await self._execute(participant, SetVideo(participant.id, enabled))

    async def pin(self, participant: Participant, pinned: str | None) -> None:
        live = self.meetings.meeting_of(participant)
        if pinned is not None and pinned not in live.participants:
            raise RostrumError("not-found", "no such participant in this meeting")
        await self._execute(participant, Pin(participant.id, pinned))
        if pinned is None:
            self.pins.pop(participant.id, None)
        else:
            self.pins[participant.id] = pinned

    async def drop(self, participant: Participant) -> None:
        """The media namespace went away: close this participant's transports."""
        await self._negotiate(participant, CloseParticipant(participant.id))

    # the boundary: commands in, CommandError out as the protocol's errors

    async def _execute(self, participant: Participant, command: ControlCommand) -> Result:
        try:
            return await self._router(participant).execute(command)
        except CommandError as exc:
            raise RostrumError(exc.code, exc.message) from None

    async def _negotiate(self, participant: Participant, command: ConnectionCommand
                         ) -> Result:
        try:
            return await self._router(participant).negotiate(command)
        except CommandError as exc:
            raise RostrumError(exc.code, exc.message) from None
