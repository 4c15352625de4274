"""Durable records in SQLite: meetings and attendance (later: floor log, chat, documents).

One connection, used from one dedicated thread: every call is posted to that thread, so the
event loop never blocks on disk and SQLite sees a single writer. WAL mode with
``synchronous=NORMAL`` survives a killed process (only the last transaction may be lost on a
power cut, never on a crash of this process).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meetings (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    languages TEXT NOT NULL,
    video_codec TEXT NOT NULL DEFAULT 'VP8',
    floor_mode TEXT NOT NULL DEFAULT 'chaired',
    created_at REAL NOT NULL,
    ended_at REAL
);
CREATE TABLE IF NOT EXISTS attendance (
    participant_id TEXT PRIMARY KEY,
    meeting_id TEXT NOT NULL REFERENCES meetings(id),
    name TEXT NOT NULL,
    organization TEXT NOT NULL,
    member_state TEXT NOT NULL,
    role TEXT NOT NULL,
    joined_at REAL NOT NULL,
    left_at REAL,
    left_reason TEXT
);
CREATE INDEX IF NOT EXISTS attendance_meeting ON attendance(meeting_id, joined_at);
CREATE TABLE IF NOT EXISTS floor_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    meeting_id TEXT NOT NULL REFERENCES meetings(id),
    at REAL NOT NULL,
    event TEXT NOT NULL,
    participant_id TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL DEFAULT '',
    organization TEXT NOT NULL DEFAULT '',
    member_state TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    language TEXT NOT NULL DEFAULT '',
    grant_id TEXT NOT NULL DEFAULT '',
    duration_s REAL,
    actor_id TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS floor_log_meeting ON floor_log(meeting_id, id);
CREATE TABLE IF NOT EXISTS hands_questions (
    id TEXT PRIMARY KEY,
    meeting_id TEXT NOT NULL REFERENCES meetings(id),
    text TEXT NOT NULL,
    mode TEXT NOT NULL,
    opened_at REAL NOT NULL,
    closed_at REAL
);
CREATE TABLE IF NOT EXISTS resume_keys (
    key_hash TEXT PRIMARY KEY,
    participant_id TEXT NOT NULL UNIQUE,
    meeting_id TEXT NOT NULL REFERENCES meetings(id),
    name TEXT NOT NULL,
    organization TEXT NOT NULL,
    member_state TEXT NOT NULL,
    role TEXT NOT NULL,
    language TEXT NOT NULL,
    invitation TEXT,
    device TEXT NOT NULL DEFAULT '',
    booth TEXT NOT NULL DEFAULT '',
    joined_at REAL NOT NULL,
    connected INTEGER NOT NULL DEFAULT 1,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS live_state (
    meeting_id TEXT PRIMARY KEY REFERENCES meetings(id),
    state TEXT NOT NULL,
    saved_at REAL NOT NULL
);
DROP TABLE IF EXISTS speakers_lists;
CREATE TABLE IF NOT EXISTS hands_answers (
    question_id TEXT NOT NULL REFERENCES hands_questions(id),
    voter_key TEXT NOT NULL,
    participant_id TEXT NOT NULL,
    answer TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (question_id, voter_key)
);
"""

FLOOR_LOG_COLUMNS = ("id", "meeting_id", "at", "event", "participant_id", "name",
                     "organization", "member_state", "kind", "note", "language", "grant_id",
                     "duration_s", "actor_id", "reason")


@dataclass(frozen=True, slots=True)
class MeetingRecord:
    id: str
    title: str
    languages: tuple[str, ...]
    video_codec: str
    created_at: float
    ended_at: float | None
    floor_mode: str = "chaired"


@dataclass(frozen=True, slots=True)
class AttendanceRecord:
    participant_id: str
    meeting_id: str
    name: str
    organization: str
    member_state: str
    role: str
    joined_at: float
    left_at: float | None
    left_reason: str | None = None


@dataclass(frozen=True, slots=True)
class ResumeRecord:
    """What a `resume` needs after a restart: the hash of the participant's resume key (the
    key itself is never stored), who they are, and until when the key is good."""

    key_hash: str
    participant_id: str
    meeting_id: str
    name: str
    organization: str
    member_state: str
    role: str
    language: str
    invitation: str | None
    device: str
    booth: str
    joined_at: float
    expires_at: float


RESUME_COLUMNS = ("key_hash", "participant_id", "meeting_id", "name", "organization",
                  "member_state", "role", "language", "invitation", "device", "booth",
                  "joined_at", "expires_at")


class Store:
    """The meeting records' database. Concerns that keep records of their own (chat, captions,
    documents...) live in their own modules: each hands its schema to `add_schema` before
    `open`, and runs its statements through `run`, on the same thread and connection."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self._db: sqlite3.Connection | None = None
        self._schemas: list[str] = [SCHEMA]

    def add_schema(self, schema: str) -> None:
        """Add a concern's tables (``CREATE ... IF NOT EXISTS``); call before `open`."""
        if self._db is not None:
            raise RuntimeError("add_schema after open")
        self._schemas.append(schema)

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(connection)`` on the store's thread (the single writer)."""
        return await self._call(lambda: fn(self._conn()))

    async def open(self) -> None:
        await self._call(self._open)

    def _open(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        for schema in self._schemas:
            db.executescript(schema)
        self._db = db

    async def close(self) -> None:
        if self._db is not None:
            await self._call(self._db.close)
            self._db = None
        self._executor.shutdown(wait=True)

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, *args)

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("store is not open")
        return self._db

    # meetings

    async def create_meeting(self, meeting_id: str, title: str, languages: tuple[str, ...],
                             video_codec: str = "VP8", floor_mode: str = "chaired"
                             ) -> MeetingRecord:
        record = MeetingRecord(meeting_id, title, languages, video_codec, time.time(), None,
                               floor_mode)

        def run() -> None:
            self._conn().execute(
                "INSERT INTO meetings (id, title, languages, video_codec, floor_mode,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (record.id, record.title, json.dumps(list(languages)), video_codec,
                 floor_mode, record.created_at),
            )

        await self._call(run)
        return record

    async def get_meeting(self, meeting_id: str) -> MeetingRecord | None:
        def run() -> MeetingRecord | None:
            row = self._conn().execute(
                "SELECT id, title, languages, video_codec, created_at, ended_at, floor_mode"
                " FROM meetings WHERE id = ?", (meeting_id,)).fetchone()
            if row is None:
                return None
            return MeetingRecord(row[0], row[1], tuple(json.loads(row[2])), row[3], row[4],
                                 row[5], row[6])

        return await self._call(run)

    async def list_meetings(self) -> list[MeetingRecord]:
        def run() -> list[MeetingRecord]:
            rows = self._conn().execute(
                "SELECT id, title, languages, video_codec, created_at, ended_at, floor_mode"
                " FROM meetings ORDER BY created_at").fetchall()
            return [MeetingRecord(r[0], r[1], tuple(json.loads(r[2])), r[3], r[4], r[5], r[6])
                    for r in rows]

        return await self._call(run)

    # attendance

    async def record_join(self, record: AttendanceRecord) -> None:
        def run() -> None:
            self._conn().execute(
                "INSERT INTO attendance (participant_id, meeting_id, name, organization,"
                " member_state, role, joined_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (record.participant_id, record.meeting_id, record.name, record.organization,
                 record.member_state, record.role, record.joined_at),
            )

        await self._call(run)

    async def record_leave(self, participant_id: str, left_at: float,
                           reason: str = "left") -> None:
        def run() -> None:
            self._conn().execute(
                "UPDATE attendance SET left_at = ?, left_reason = ?"
                " WHERE participant_id = ? AND left_at IS NULL",
                (left_at, reason, participant_id),
            )

        await self._call(run)

    async def end_meeting(self, meeting_id: str, at: float) -> None:
        def run() -> None:
            self._conn().execute("UPDATE meetings SET ended_at = ? WHERE id = ?",
                                 (at, meeting_id))

        await self._call(run)

    async def recover_after_restart(self, now: float) -> dict[str, int]:
        """After a crash: close attendance and interventions that were open when the server
        died, marked 'server-restart', so the record is complete. Expired resume keys are
        purged; a participant whose key is still good stays present (they may `resume`)."""
        def run() -> dict[str, int]:
            db = self._conn()
            with db:
                db.execute("BEGIN IMMEDIATE")
                purged = db.execute("DELETE FROM resume_keys WHERE expires_at <= ?",
                                    (now,)).rowcount
                attendance = db.execute(
                    "UPDATE attendance SET left_at = ?, left_reason = 'server-restart'"
                    " WHERE left_at IS NULL AND participant_id NOT IN"
                    " (SELECT participant_id FROM resume_keys)", (now,)).rowcount
                open_rows = db.execute(
                    "SELECT s.meeting_id, s.participant_id, s.name, s.organization,"
                    " s.member_state, s.kind, s.language, s.grant_id, s.at FROM floor_log s"
                    " WHERE s.event = 'intervention-start' AND NOT EXISTS (SELECT 1 FROM"
                    " floor_log e WHERE e.event = 'intervention-end'"
                    " AND e.grant_id = s.grant_id AND e.meeting_id = s.meeting_id)").fetchall()
                for row in open_rows:
                    db.execute(
                        "INSERT INTO floor_log (meeting_id, at, event, participant_id, name,"
                        " organization, member_state, kind, language, grant_id, duration_s,"
                        " reason) VALUES (?, ?, 'intervention-end', ?, ?, ?, ?, ?, ?, ?, ?,"
                        " 'server-restart')",
                        (row[0], now, row[1], row[2], row[3], row[4], row[5], row[6], row[7],
                         max(0.0, now - row[8])))
                db.execute("UPDATE hands_questions SET closed_at = ? WHERE closed_at IS NULL",
                           (now,))
            return {"attendance": attendance, "interventions": len(open_rows),
                    "expired_resume_keys": purged}

        return await self._call(run)

    # resume keys (meetings.py): a dropped participant comes back, even after a restart

    async def save_resume(self, record: ResumeRecord) -> None:
        def run() -> None:
            self._conn().execute(
                f"INSERT OR REPLACE INTO resume_keys ({', '.join(RESUME_COLUMNS)}, connected)"
                f" VALUES ({', '.join('?' for _ in RESUME_COLUMNS)}, 1)",
                tuple(getattr(record, c) for c in RESUME_COLUMNS))

        await self._call(run)

    async def resume_state(self, participant_id: str, *, connected: bool | None = None,
                           expires_at: float | None = None, booth: str | None = None) -> None:
        """Update one participant's key: connected or dropped, its expiry, their booth."""
        changes = {"connected": None if connected is None else int(connected),
                   "expires_at": expires_at, "booth": booth}
        sets = {k: v for k, v in changes.items() if v is not None}
        if not sets:
            return

        def run() -> None:
            self._conn().execute(
                f"UPDATE resume_keys SET {', '.join(f'{k} = ?' for k in sets)}"
                " WHERE participant_id = ?", (*sets.values(), participant_id))

        await self._call(run)

    async def extend_connected_resume_keys(self, expires_at: float,
                                           meeting_ids: list[str]) -> int:
        """The keys of everyone connected now to ``meeting_ids`` (this node's live meetings:
        with several nodes the file holds other nodes' meetings too) stay good until
        ``expires_at`` (the grace from now): after a crash, a key lasts the grace from the
        last time this ran."""
        def run() -> int:
            return self._conn().executemany(
                "UPDATE resume_keys SET expires_at = ? WHERE connected = 1 AND meeting_id = ?",
                [(expires_at, m) for m in meeting_ids]).rowcount

        return await self._call(run)

    async def forget_resume(self, participant_id: str) -> None:
        def run() -> None:
            self._conn().execute("DELETE FROM resume_keys WHERE participant_id = ?",
                                 (participant_id,))

        await self._call(run)

    async def resume_records(self, now: float, meeting_id: str | None = None
                             ) -> list[ResumeRecord]:
        """The keys still good at ``now``, of one meeting or all (the expired ones are
        purged)."""
        def run() -> list[ResumeRecord]:
            db = self._conn()
            db.execute("DELETE FROM resume_keys WHERE expires_at <= ?", (now,))
            rows = db.execute(f"SELECT {', '.join(RESUME_COLUMNS)} FROM resume_keys"
                              " WHERE ? IS NULL OR meeting_id = ? ORDER BY joined_at",
                              (meeting_id, meeting_id)).fetchall()
            return [ResumeRecord(*r) for r in rows]

        return await self._call(run)

    # the live state of a meeting (live_state.py): read back by a restart and a takeover

    async def save_live_state(self, meeting_id: str, state: dict[str, Any] | None) -> None:
        """The meeting's live state as it stands now (None: the meeting is not live)."""
        def run() -> None:
            if state is None:
                self._conn().execute("DELETE FROM live_state WHERE meeting_id = ?",
                                     (meeting_id,))
            else:
                self._conn().execute(
                    "INSERT OR REPLACE INTO live_state (meeting_id, state, saved_at)"
                    " VALUES (?, ?, ?)",
                    (meeting_id, json.dumps(state, separators=(",", ":")), time.time()))

        await self._call(run)

    async def live_state(self, meeting_id: str) -> dict[str, Any] | None:
        def run() -> dict[str, Any] | None:
            row = self._conn().execute("SELECT state FROM live_state WHERE meeting_id = ?",
                                       (meeting_id,)).fetchone()
            if row is None:
                return None
            try:
                state = json.loads(row[0])
            except ValueError:
                return None
            return state if isinstance(state, dict) else None

        return await self._call(run)

    async def live_states(self) -> dict[str, dict[str, Any]]:
        """Every meeting's saved live state (after a restart)."""
        def run() -> dict[str, dict[str, Any]]:
            out: dict[str, dict[str, Any]] = {}
            for meeting_id, text in self._conn().execute(
                    "SELECT meeting_id, state FROM live_state ORDER BY meeting_id"):
                try:
                    state = json.loads(text)
                except ValueError:
                    state = None
                out[meeting_id] = state if isinstance(state, dict) else {}
            return out

        return await self._call(run)

    async def reopen_attendance(self, participant_ids: list[str], reason: str) -> int:
        """A takeover closed everyone's attendance ``reason`` (meeting_server/cluster.py):
        those who may resume on the new node are present again (their presence went on)."""
        def run() -> int:
            return self._conn().executemany(
                "UPDATE attendance SET left_at = NULL, left_reason = NULL"
                " WHERE participant_id = ? AND left_reason = ?",
                [(pid, reason) for pid in participant_ids]).rowcount

        return await self._call(run)

    # floor log

    async def log_floor(self, meeting_id: str, event: str, **fields: object) -> None:
        unknown = set(fields) - set(FLOOR_LOG_COLUMNS)
        if unknown:
            raise ValueError(f"unknown floor log fields {sorted(unknown)}")
        row = {"meeting_id": meeting_id, "event": event, "at": fields.pop("at", None)
               or time.time(), **fields}
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)

        def run() -> None:
            self._conn().execute(f"INSERT INTO floor_log ({columns}) VALUES ({marks})",
                                 tuple(row.values()))

        await self._call(run)

    async def floor_log(self, meeting_id: str) -> list[dict[str, object]]:
        def run() -> list[dict[str, object]]:
            rows = self._conn().execute(
                f"SELECT {', '.join(FLOOR_LOG_COLUMNS)} FROM floor_log WHERE meeting_id = ?"
                " ORDER BY id", (meeting_id,)).fetchall()
            return [dict(zip(FLOOR_LOG_COLUMNS, r, strict=True)) for r in rows]

        return await self._call(run)

    # show of hands

    async def open_question(self, question_id: str, meeting_id: str, text: str, mode: str,
                            at: float) -> None:
        def run() -> None:
            self._conn().execute(
                "INSERT INTO hands_questions (id, meeting_id, text, mode, opened_at)"
                " VALUES (?, ?, ?, ?, ?)", (question_id, meeting_id, text, mode, at))

        await self._call(run)

    async def close_question(self, question_id: str, at: float) -> None:
        def run() -> None:
            self._conn().execute("UPDATE hands_questions SET closed_at = ? WHERE id = ?",
                                 (at, question_id))

        await self._call(run)

    async def record_answer(self, question_id: str, voter_key: str, participant_id: str,
                            answer: str, at: float) -> None:
        def run() -> None:
            self._conn().execute(
                "INSERT OR REPLACE INTO hands_answers (question_id, voter_key,"
                " participant_id, answer, at) VALUES (?, ?, ?, ?, ?)",
                (question_id, voter_key, participant_id, answer, at))

        await self._call(run)

    async def attendance(self, meeting_id: str) -> list[AttendanceRecord]:
        def run() -> list[AttendanceRecord]:
            rows = self._conn().execute(
                "SELECT participant_id, meeting_id, name, organization, member_state, role,"
                " joined_at, left_at, left_reason FROM attendance WHERE meeting_id = ?"
                " ORDER BY joined_at",
                (meeting_id,)).fetchall()
            return [AttendanceRecord(*r) for r in rows]

        return await self._call(run)
