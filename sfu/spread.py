"""SpreadRouter: one meeting's router over several worker processes, joined by pipes.

mediasoup's ``pipeToRouter`` is the model. The meeting's publishers (and interpreters)
publish to its **home** router, on the worker the meeting was placed on; while the home
worker carries fewer consumers than the pool's limit (``max_consumers``), listeners
subscribe there too; past it, each new listener goes to the least loaded worker, where the
meeting gets a **part**: a router of its own, joined to the home router by a pipe
(sfu/plain_transport.py, ``PipeTransport``) over which every home producer is sent once.
The part makes a Producer for each, so it seats, gates and feeds channels exactly as the
home router does.

To the control plane it is one ``RouterHandle`` (a ``RemoteRouter`` of the home worker):
``ApplyPlan`` goes to every router of the meeting, ``Listen``/``Pin``/``SetVideo``/
``GetSlots``/``AcceptAnswer`` to the router holding that participant's subscription,
``Publish`` to the home router. Events: slots and connection states from every router;
speakers, the floor's voice and uplink levels from the home router (where the publishers
are). A part is opened on demand and closed with its last listener.

docs/architecture.md, "Pipes between workers".
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .commands import (
    AcceptAnswer,
    ApplyPlan,
    CloseParticipant,
    ClosePipe,
    CloseRouter,
    CommandError,
    ConnectionCommand,
    ConnectPipe,
    ControlCommand,
    GetSlots,
    Listen,
    Offer,
    OpenPipe,
    OpenRouter,
    Pin,
    PipeAddress,
    PipeProducer,
    PipeProducers,
    Result,
    SetVideo,
    Subscribe,
    UnpipeProducer,
)
from .events import (
    PipedProducerClosed,
    ProducerPiped,
    RouterEvent,
    SlotsChanged,
    TransportStateChanged,
)
from .worker_client import RemoteRouter, log_failure

if TYPE_CHECKING:
    from .worker_client import WorkerPool, WorkerSlot

logger = logging.getLogger(__name__)


@dataclass
class Part:
    """The meeting's router on another worker, and the pipe from home to it."""

    slot: WorkerSlot
    router: RemoteRouter
    pipe_id: str
    ready: asyncio.Future[None]
    listeners: set[str] = field(default_factory=set)
    consumers: int = 0
    closing: bool = False


class SpreadRouter(RemoteRouter):
    """A meeting's home router and its parts (see the module's docstring)."""

    def __init__(self, pool: WorkerPool, home: WorkerSlot, meeting_id: str,
                 video_codec: str) -> None:
        assert home.connection is not None
        super().__init__(home.connection, meeting_id, home.name)
        self.pool = pool
        self.home = home
        self.video_codec = video_codec
        self.parts: dict[str, Part] = {}  # worker name -> part
        self.where: dict[str, Part] = {}  # participant id -> the part holding them
        self.at_home: set[str] = set()  # who subscribed on the home router
        self.plan: ApplyPlan | None = None
        self._tasks: set[asyncio.Future[None]] = set()
        self._pipe_ids = itertools.count(1)

    # events

    def deliver(self, event: RouterEvent) -> None:
        """An event of the home router."""
        if isinstance(event, ProducerPiped):
            part = self._part_of_pipe(event.pipe_id)
            if part is not None:
                part.router.connection.request(
                    self.meeting_id, PipeProducer(part.pipe_id, event.producer)
                ).add_done_callback(log_failure(
                    f"[{self.meeting_id}] piping {event.producer.participant_id}/"
                    f"{event.producer.source} to {part.slot.name}"))
            return
        if isinstance(event, PipedProducerClosed):
            part = self._part_of_pipe(event.pipe_id)
            if part is not None:
                part.router.connection.request(
                    self.meeting_id, UnpipeProducer(part.pipe_id, event.ssrc)
                ).add_done_callback(_ignore_refusal)
            return
        super().deliver(event)

    def _part_event(self, part: Part, event: RouterEvent) -> None:
        """An event of a part: its subscribers' slots and connection states (the speakers and
        the floor's voice are the home router's to tell)."""
        if isinstance(event, SlotsChanged | TransportStateChanged) \
                and self.where.get(event.participant_id) is part:
            super().deliver(event)

    def _part_of_pipe(self, pipe_id: str) -> Part | None:
        return next((p for p in self.parts.values() if p.pipe_id == pipe_id), None)

    # commands

    def submit(self, command: ControlCommand) -> asyncio.Future[Result]:
        if isinstance(command, ApplyPlan):
            self.plan = command
            for part in self.parts.values():
                if not part.router.closed:
                    part.router.submit(command).add_done_callback(log_failure(
                        f"[{self.meeting_id}] applying the plan on {part.slot.name}"))
            return super().submit(command)
        if isinstance(command, Listen | Pin | SetVideo | GetSlots):
            held = self.where.get(command.participant_id)
            if held is not None:
                return held.router.submit(command)
        return super().submit(command)

    async def negotiate(self, command: ConnectionCommand) -> Result:
        if isinstance(command, Subscribe):
            return await self._subscribe(command)
        if isinstance(command, AcceptAnswer):
            part = self.where.get(command.participant_id)
            if part is not None:
                return await part.router.negotiate(command)
        if isinstance(command, CloseParticipant):
            self.at_home.discard(command.participant_id)
            result = await super().negotiate(command)
            part = self.where.pop(command.participant_id, None)
            if part is not None:
                part.listeners.discard(command.participant_id)
                with contextlib.suppress(CommandError):
                    await part.router.negotiate(command)
                if not part.listeners:
                    await self._close_part(part)
            return result
        return await super().negotiate(command)

    async def _subscribe(self, command: Subscribe) -> Result:
        pid = command.participant_id
        held = self.where.get(pid)
        if held is not None:  # subscribed there already: that router says so
            return await held.router.negotiate(command)
        if pid in self.at_home:
            return await super().negotiate(command)
        slot = self.pool.place_listener(self.home)
        # counted on the worker from now (its consumers: the seats' audio and video, the
        # screen and the channel), so that listeners arriving together spread too
        reserved = 2 * command.seats + 2
        slot.pending += reserved
        try:
            if slot is self.home or self.closed:
                result = await super().negotiate(command)
                self.at_home.add(pid)
            else:
                result = await self._subscribe_on(slot, command)
        except BaseException:
            slot.pending = max(0, slot.pending - reserved)
            raise
        if isinstance(result, Offer):
            slot.pending = max(0, slot.pending + len(result.slots) - reserved)
            part = self.where.get(pid)
            if part is not None:
                part.consumers += len(result.slots)
        return result

    async def _subscribe_on(self, slot: WorkerSlot, command: Subscribe) -> Result:
        pid = command.participant_id
        part = self.parts.get(slot.name)
        if part is None or part.router.closed:
            part = self._open_part(slot)
        part.listeners.add(pid)  # held open while this subscription is made
        self.where[pid] = part  # its events are theirs from now (some precede the reply)
        try:
            await part.ready
            result = await part.router.negotiate(command)
        except BaseException:
            part.listeners.discard(pid)
            if self.where.get(pid) is part:
                del self.where[pid]
            if not part.listeners:
                await self._close_part(part)
            raise
        return result

    def _open_part(self, slot: WorkerSlot) -> Part:
        """A part on ``slot``: its router is asked for now and given the plan now, so that
        every later plan reaches it after these, in order, on the worker's socket."""
        assert slot.connection is not None
        router = RemoteRouter(slot.connection, self.meeting_id, slot.name)
        slot.routers[self.meeting_id] = router
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        part = Part(slot, router, f"{self.meeting_id}-{slot.name}-{next(self._pipe_ids)}", ready)
        router.on_event(lambda event: self._part_event(part, event))
        self.parts[slot.name] = part
        opened = slot.connection.request(self.meeting_id, OpenRouter(self.video_codec))
        planned = router.submit(self.plan) if self.plan is not None else None
        task = asyncio.ensure_future(self._connect(part, opened, planned))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return part

    async def _connect(self, part: Part, opened: asyncio.Future[Result],
                       planned: asyncio.Future[Result] | None) -> None:
        """Open the pipe's two ends, connect them, and start sending the home producers over
        it."""
        def home(command: ConnectionCommand) -> asyncio.Future[Result]:
            return self.connection.request(self.meeting_id, command)
        try:
            await opened
            if planned is not None:
                await planned
            there = await part.router.negotiate(OpenPipe(part.pipe_id))
            here = await home(OpenPipe(part.pipe_id))
            assert isinstance(there, PipeAddress) and isinstance(here, PipeAddress)
            await part.router.negotiate(ConnectPipe(part.pipe_id, here.host, here.port))
            await home(ConnectPipe(part.pipe_id, there.host, there.port))
            await home(PipeProducers(part.pipe_id))
            logger.info("[%s] spread to %s: pipe %s (%s:%d -> %s:%d)", self.meeting_id,
                        part.slot.name, part.pipe_id, here.host, here.port, there.host,
                        there.port)
            part.ready.set_result(None)
        except BaseException as exc:
            if not part.ready.done():
                part.ready.set_exception(exc if isinstance(exc, CommandError) else
                                         CommandError("internal", f"spreading failed: {exc}"))
            if isinstance(exc, asyncio.CancelledError):
                raise

    async def _close_part(self, part: Part) -> None:
        """The part's last listener left: close the pipe at home and the part's router
        (once: several listeners may leave together)."""
        if part.closing:
            return
        part.closing = True
        if self.parts.get(part.slot.name) is part:
            del self.parts[part.slot.name]
        if part.slot.routers.get(self.meeting_id) is part.router:
            del part.slot.routers[self.meeting_id]
        part.router.mark_closed()
        with contextlib.suppress(CommandError):
            await part.ready
        with contextlib.suppress(CommandError):
            await super().negotiate(ClosePipe(part.pipe_id))
        if part.slot.connection is not None and not part.slot.connection.closed:
            with contextlib.suppress(CommandError):
                await part.slot.connection.request(self.meeting_id, CloseRouter())
        logger.info("[%s] part on %s closed (pipe %s)", self.meeting_id, part.slot.name,
                    part.pipe_id)

    # losing workers

    def part_lost(self, slot: WorkerSlot) -> list[str]:
        """The worker of a part died: its listeners lost their media (they subscribe again,
        as after any worker's death); the pipe's home end is closed. Returns who was
        there."""
        part = self.parts.pop(slot.name, None)
        if part is None:
            return []
        part.router.mark_closed()
        lost = sorted(part.listeners)
        for pid in lost:
            self.where.pop(pid, None)
        if not self.closed:
            task = asyncio.ensure_future(super().negotiate(ClosePipe(part.pipe_id)))
            task.add_done_callback(_ignore_refusal)
        return lost

    def detach_parts(self) -> None:
        """The home worker died (or the meeting closes): every part is closed."""
        for part in list(self.parts.values()):
            if part.slot.routers.get(self.meeting_id) is part.router:
                del part.slot.routers[self.meeting_id]
            part.router.mark_closed()
            if part.slot.connection is not None and not part.slot.connection.closed:
                part.slot.connection.request(self.meeting_id, CloseRouter()
                                             ).add_done_callback(_ignore_refusal)
        self.parts.clear()
        self.where.clear()
        for task in list(self._tasks):
            task.cancel()

    def routers(self) -> list[tuple[str, RemoteRouter]]:
        """(worker name, router) of the home router and every part."""
        return [(self.home.name, self), *((p.slot.name, p.router) for p in self.parts.values())]


def _ignore_refusal(future: asyncio.Future[Result]) -> None:
    if not future.cancelled():
        future.exception()


__all__ = ["Part", "SpreadRouter"]

