"""The planner: each live meeting's media plan, recomputed and handed to its router whenever
the floor, interpretation or the participants change.

It is the control plane's one writer of ``Router.apply``: the floor and interpretation
services keep their own state and say that it changed; the planner reads their state,
computes the plan (meeting_server/media_plan.py, pure) and applies it when it differs from
the last one. The SFU calls nothing back.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable

from sfu.commands import ApplyPlan
from sfu.plan import MediaPlan
from sfu.worker_client import log_failure

from .floor import FloorService
from .interpreting import InterpretationService
from .media_plan import media_plan
from .meetings import LiveMeeting, MeetingService
from .speakers_list import Grant

logger = logging.getLogger(__name__)


class MediaPlanner:
    def __init__(self, meetings: MeetingService, floor: FloorService,
                 interpreting: InterpretationService) -> None:
        self.meetings = meetings
        self.floor = floor
        self.interpreting = interpreting
        self.plans: dict[str, MediaPlan] = {}  # meeting id -> the plan last applied
        self._versions = itertools.count(1)
        # who shares a screen in a meeting (meeting_server/screenshare.py; none without it)
        self.sharing: Callable[[str], frozenset[str]] = lambda meeting_id: frozenset()
        meetings.router_listeners.append(self._meeting_live)
        meetings.participants_listeners.append(self.refresh)
        floor.speaker_listeners.append(self._floor_changed)
        interpreting.change_listeners.append(self.refresh)

    def _meeting_live(self, live: LiveMeeting) -> None:
        self.plans.pop(live.record.id, None)  # a fresh router (or a new one after its
        # worker died): nothing applied yet
        self.refresh(live.record.id)

    def _floor_changed(self, meeting_id: str, speaker: Grant | None) -> None:
        self.refresh(meeting_id)

    def compute(self, meeting_id: str) -> MediaPlan | None:
        """The plan the meeting's rules give now (None when the meeting is not live)."""
        live = self.meetings.live.get(meeting_id)
        if live is None:
            return None
        interp = self.interpreting.meetings_state.get(meeting_id)
        roles = {pid: p.role for pid, p in live.participants.items()}
        return media_plan(meeting_id, next(self._versions), roles, self.floor.rules(meeting_id),
                          interp.state if interp is not None else None,
                          self.sharing(meeting_id))

    def refresh(self, meeting_id: str) -> None:
        """Recompute the meeting's plan; apply it to its router if anything changed."""
        plan = self.compute(meeting_id)
        if plan is None:
            self.plans.pop(meeting_id, None)
            return
        if plan.changes(self.plans.get(meeting_id)) is None:
            return
        self.plans[meeting_id] = plan
        live = self.meetings.live[meeting_id]
        # sent now: plans reach the router in the order they were made
        live.router.submit(ApplyPlan(plan)).add_done_callback(
            log_failure(f"[{meeting_id}] applying media plan {plan.version}"))
