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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meetings (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    languages TEXT NOT NULL,
    video_codec TEXT NOT NULL DEFAULT 'VP8',
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
    left_at REAL
);
CREATE INDEX IF NOT EXISTS attendance_meeting ON attendance(meeting_id, joined_at);
"""


@dataclass(frozen=True, slots=True)
class MeetingRecord:
    id: str
    title: str
    languages: tuple[str, ...]
    video_codec: str
    created_at: float
    ended_at: float | None


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


class Store:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self._db: sqlite3.Connection | None = None

    async def open(self) -> None:
        await self._call(self._open)

    def _open(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        db.executescript(SCHEMA)
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
                             video_codec: str = "VP8") -> MeetingRecord:
        record = MeetingRecord(meeting_id, title, languages, video_codec, time.time(), None)

        def run() -> None:
            self._conn().execute(
                "INSERT INTO meetings (id, title, languages, video_codec, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (record.id, record.title, json.dumps(list(languages)), video_codec,
                 record.created_at),
            )

        await self._call(run)
        return record

    async def get_meeting(self, meeting_id: str) -> MeetingRecord | None:
        def run() -> MeetingRecord | None:
            row = self._conn().execute(
                "SELECT id, title, languages, video_codec, created_at, ended_at"
                " FROM meetings WHERE id = ?", (meeting_id,)).fetchone()
            if row is None:
                return None
            return MeetingRecord(row[0], row[1], tuple(json.loads(row[2])), row[3], row[4],
                                 row[5])

        return await self._call(run)

    async def list_meetings(self) -> list[MeetingRecord]:
        def run() -> list[MeetingRecord]:
            rows = self._conn().execute(
                "SELECT id, title, languages, video_codec, created_at, ended_at"
                " FROM meetings ORDER BY created_at").fetchall()
            return [MeetingRecord(r[0], r[1], tuple(json.loads(r[2])), r[3], r[4], r[5])
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

    async def record_leave(self, participant_id: str, left_at: float) -> None:
        def run() -> None:
            self._conn().execute(
                "UPDATE attendance SET left_at = ? WHERE participant_id = ? AND left_at IS NULL",
                (left_at, participant_id),
            )

        await self._call(run)

    async def attendance(self, meeting_id: str) -> list[AttendanceRecord]:
        def run() -> list[AttendanceRecord]:
            rows = self._conn().execute(
                "SELECT participant_id, meeting_id, name, organization, member_state, role,"
                " joined_at, left_at FROM attendance WHERE meeting_id = ? ORDER BY joined_at",
                (meeting_id,)).fetchall()
            return [AttendanceRecord(*r) for r in rows]

        return await self._call(run)
