"""The booth log: what every booth and the floor did, in SQLite, for the meeting's record
(interpretation coverage; record.interpretation_stats reads it).

One row per change of a channel, written at the moment the interpretation state changes:

- a booth (``channel`` is its language): ``state`` ``live`` (``participant_id``/``name`` the
  live interpreter, ``incoming`` what they hear: ``floor`` or a booth they relay from),
  ``cough`` (live, muted), ``off`` (the channel carries the floor: passthrough) or ``closed``
  (the meeting is not live: nobody is there to listen);
- the floor (``channel`` ``floor``): ``speaking`` (``participant_id``/``name`` the speaker,
  ``language`` the language they declared, '' when not known), ``none`` or ``closed``.

``event`` names what changed: ``opened`` (the meeting went live), ``live``, ``off``,
``cough-on``, ``cough-off``, ``handover`` (the live microphone passed from one interpreter to
another without the booth going silent), ``relay`` (the live interpreter's source changed),
``floor`` (speaker or declared language), ``meeting-closed`` and ``server-restart``.

The hook is the interpretation service's ``change_listeners`` (told after every change of
booths, feeds or floor): this module compares each channel with what it last logged and
writes only the channels that changed; interpreting.py is not touched. Rows are timed when the
change happens and written in order by one writer task; after a crash ``recover`` closes the
periods that were open (``server-restart``), as ``Store.recover_after_restart`` does for the
floor log, so the record counts them up to the restart.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from interpretation import FLOOR, Interpretation

from .interpreting import InterpretationService
from .meetings import LiveMeeting, MeetingService, Participant
from .store import Store

logger = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS booth_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    meeting_id TEXT NOT NULL REFERENCES meetings(id),
    at REAL NOT NULL,
    channel TEXT NOT NULL,
    state TEXT NOT NULL,
    event TEXT NOT NULL,
    participant_id TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL DEFAULT '',
    incoming TEXT NOT NULL DEFAULT '',
    language TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS booth_log_meeting ON booth_log(meeting_id, id);
"""

COLUMNS = ("id", "meeting_id", "at", "channel", "state", "event", "participant_id", "name",
           "incoming", "language")


@dataclass(frozen=True, slots=True)
class ChannelState:
    """What one channel is doing, as logged (see the module's docstring)."""

    state: str
    participant_id: str = ""
    incoming: str = ""
    language: str = ""


def snapshot(interp: Interpretation) -> dict[str, ChannelState]:
    """Every channel's state: the floor first, then the booths in the meeting's order."""
    floor = interp.floor
    out = {FLOOR: ChannelState("speaking", floor.speaker, language=floor.language or "")
           if floor.speaker else ChannelState("none")}
    for booth in interp.state.booths:
        if booth.live is None:
            out[booth.language] = ChannelState("off")
            continue
        member = booth.member(booth.live)
        out[booth.language] = ChannelState("cough" if booth.coughing else "live", booth.live,
                                           member.incoming if member else FLOOR)
    return out


def change_event(channel: str, before: ChannelState | None, after: ChannelState) -> str:
    """The name of the change from ``before`` to ``after`` (the ``event`` column)."""
    if before is None:
        return "opened"
    if channel == FLOOR:
        return "floor"
    was_live, is_live = before.state in ("live", "cough"), after.state in ("live", "cough")
    if not is_live:
        return "off"
    if not was_live:
        return "live"
    if before.participant_id != after.participant_id:
        return "handover"
    if before.state != after.state:
        return "cough-on" if after.state == "cough" else "cough-off"
    return "relay"


class BoothLog:
    """Owns the ``booth_log`` table and the task that writes it."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock
        store.add_schema(SCHEMA)
        self.logged: dict[str, dict[str, ChannelState]] = {}  # meeting -> channel -> state
        self._queue: asyncio.Queue[tuple[Any, ...] | None] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._meetings: MeetingService | None = None
        self._interpreting: InterpretationService | None = None

    def attach(self, meetings: MeetingService, interpreting: InterpretationService) -> None:
        """Listen to the meetings and their interpretation (after the interpretation service
        registered its own listeners, so its state exists when these run)."""
        self._meetings, self._interpreting = meetings, interpreting
        meetings.live_listeners.append(self._meeting_live)
        meetings.leave_listeners.append(self._participant_left)
        interpreting.change_listeners.append(self._changed)

    def start(self) -> None:
        self._writer = asyncio.create_task(self._write_loop(), name="booth-log")

    async def close(self) -> None:
        """Write what is queued, then stop."""
        if self._writer is None:
            return
        await self._queue.put(None)
        await self._writer
        self._writer = None

    # listeners

    def _meeting_live(self, live: LiveMeeting) -> None:
        self._log(live.record.id)

    def _changed(self, meeting_id: str) -> None:
        self._log(meeting_id)

    async def _participant_left(self, participant: Participant, reason: str) -> None:
        assert self._interpreting is not None
        meeting_id = participant.meeting_id
        if meeting_id in self._interpreting.meetings_state:
            return
        logged = self.logged.pop(meeting_id, None)
        if not logged:
            return
        at = self.clock()
        for channel in logged:
            self._queue.put_nowait((meeting_id, at, channel, "closed", "meeting-closed", "",
                                    "", "", ""))

    def _name(self, meeting_id: str, participant_id: str) -> str:
        assert self._meetings is not None
        p = self._meetings.find(meeting_id, participant_id) if participant_id else None
        return p.name if p is not None else ""

    def _log(self, meeting_id: str) -> None:
        assert self._interpreting is not None
        interp = self._interpreting.meetings_state.get(meeting_id)
        if interp is None:
            return
        at = self.clock()
        logged = self.logged.setdefault(meeting_id, {})
        for channel, now in snapshot(interp).items():
            before = logged.get(channel)
            if before == now:
                continue
            logged[channel] = now
            self._queue.put_nowait((
                meeting_id, at, channel, now.state, change_event(channel, before, now),
                now.participant_id, self._name(meeting_id, now.participant_id), now.incoming,
                now.language))

    # the store

    async def _write_loop(self) -> None:
        stop = False
        while not stop:
            rows = [await self._queue.get()]
            while not self._queue.empty():  # what queued meanwhile goes in the same commit
                rows.append(self._queue.get_nowait())
            stop = None in rows
            await self._insert([r for r in rows if r is not None])
            for _ in rows:
                self._queue.task_done()

    async def _insert(self, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return

        def run(db: sqlite3.Connection) -> None:
            with db:
                db.executemany(
                    "INSERT INTO booth_log (meeting_id, at, channel, state, event,"
                    " participant_id, name, incoming, language) VALUES (?, ?, ?, ?, ?, ?, ?,"
                    " ?, ?)", rows)

        try:
            await self.store.run(run)
        except Exception:
            logger.exception("booth log: %d rows not written", len(rows))

    async def flush(self) -> None:
        """Wait until every row queued so far is written (the record reads after this)."""
        if self._writer is not None:
            await self._queue.join()

    async def rows(self, meeting_id: str) -> list[dict[str, Any]]:
        """The meeting's booth log in order."""
        def run(db: sqlite3.Connection) -> list[dict[str, Any]]:
            cursor = db.execute(f"SELECT {', '.join(COLUMNS)} FROM booth_log"
                                " WHERE meeting_id = ? ORDER BY id", (meeting_id,))
            return [dict(zip(COLUMNS, r, strict=True)) for r in cursor.fetchall()]

        return await self.store.run(run)

    async def recover(self, now: float) -> int:
        """After a restart: close every channel whose last row is not ``closed``."""
        def run(db: sqlite3.Connection) -> int:
            with db:
                open_rows = db.execute(
                    "SELECT meeting_id, channel FROM booth_log b WHERE id = (SELECT MAX(id)"
                    " FROM booth_log l WHERE l.meeting_id = b.meeting_id"
                    " AND l.channel = b.channel) AND state != 'closed'").fetchall()
                db.executemany(
                    "INSERT INTO booth_log (meeting_id, at, channel, state, event)"
                    " VALUES (?, ?, ?, 'closed', 'server-restart')",
                    [(m, now, c) for m, c in open_rows])
            return len(open_rows)

        return await self.store.run(run)
