"""Final captions in SQLite: one row per line, with its time, its language and who held the
floor when it was spoken; the last ``seq`` each HTTP ingest URL accepted.

The tables are handed to `Store.add_schema` and every statement runs on the store's thread
(`Store.run`). A line and the ingest counter it advances are written in one transaction, so a
CART program that retries after a crash never gets a line twice nor loses one it was told was
accepted.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from .captions_ingest import Decision, decide
from .store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS captions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    meeting_id TEXT NOT NULL REFERENCES meetings(id),
    language TEXT NOT NULL,
    started_at REAL NOT NULL,
    at REAL NOT NULL,
    text TEXT NOT NULL,
    speaker_id TEXT NOT NULL DEFAULT '',
    speaker_name TEXT NOT NULL DEFAULT '',
    speaker_member_state TEXT NOT NULL DEFAULT '',
    captioner_id TEXT NOT NULL DEFAULT '',
    captioner_name TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL,
    seq INTEGER,
    revised_at REAL
);
CREATE INDEX IF NOT EXISTS captions_meeting ON captions(meeting_id, language, at);
CREATE TABLE IF NOT EXISTS caption_ingest_keys (
    meeting_id TEXT NOT NULL REFERENCES meetings(id),
    language TEXT NOT NULL,
    generation INTEGER NOT NULL,
    revoked_at REAL,
    updated_at REAL NOT NULL,
    updated_by TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (meeting_id, language)
);
CREATE TABLE IF NOT EXISTS caption_ingest (
    meeting_id TEXT NOT NULL REFERENCES meetings(id),
    language TEXT NOT NULL,
    last_seq INTEGER NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (meeting_id, language)
);
"""

COLUMNS = ("id", "meeting_id", "language", "started_at", "at", "text", "speaker_id",
           "speaker_name", "speaker_member_state", "captioner_id", "captioner_name", "source",
           "seq", "revised_at")


@dataclass(frozen=True, slots=True)
class Speaker:
    """Who held the floor when a line was spoken (empty: nobody had the floor)."""

    participant_id: str = ""
    name: str = ""
    member_state: str = ""


@dataclass(frozen=True, slots=True)
class Caption:
    id: int
    meeting_id: str
    language: str
    started_at: float  # the first word of the line (first interim, or the post's arrival)
    at: float  # final (Enter, or the post's arrival)
    text: str
    speaker_id: str
    speaker_name: str
    speaker_member_state: str
    captioner_id: str
    captioner_name: str
    source: str  # "console" | "http"
    seq: int | None
    revised_at: float | None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "language": self.language, "startedAt": self.started_at,
                "at": self.at, "text": self.text,
                "speaker": {"participantId": self.speaker_id, "name": self.speaker_name,
                            "memberState": self.speaker_member_state},
                "captionerId": self.captioner_id, "captionerName": self.captioner_name,
                "source": self.source, "revisedAt": self.revised_at}


@dataclass(frozen=True, slots=True)
class NewLine:
    """A final line to store."""

    meeting_id: str
    language: str
    started_at: float
    at: float
    text: str
    speaker: Speaker
    captioner_id: str
    captioner_name: str
    source: str
    seq: int | None = None


def _row(row: tuple[Any, ...]) -> Caption:
    return Caption(*row)


def _insert(db: sqlite3.Connection, line: NewLine) -> Caption:
    cur = db.execute(
        "INSERT INTO captions (meeting_id, language, started_at, at, text, speaker_id,"
        " speaker_name, speaker_member_state, captioner_id, captioner_name, source, seq)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (line.meeting_id, line.language, line.started_at, line.at, line.text,
         line.speaker.participant_id, line.speaker.name, line.speaker.member_state,
         line.captioner_id, line.captioner_name, line.source, line.seq))
    assert cur.lastrowid is not None
    return Caption(cur.lastrowid, line.meeting_id, line.language, line.started_at, line.at,
                   line.text, line.speaker.participant_id, line.speaker.name,
                   line.speaker.member_state, line.captioner_id, line.captioner_name,
                   line.source, line.seq, None)


class CaptionStore:
    """The captions' records, on the meeting store's connection."""

    def __init__(self, store: Store) -> None:
        self.store = store
        store.add_schema(SCHEMA)

    async def add(self, line: NewLine) -> Caption:
        def run(db: sqlite3.Connection) -> Caption:
            return _insert(db, line)

        return await self.store.run(run)

    async def ingest(self, line: NewLine, seq: int) -> tuple[Decision, Caption | None]:
        """An HTTP post: store the line if ``seq`` is new for this URL (meeting, language),
        and advance the URL's counter, in one transaction."""
        def run(db: sqlite3.Connection) -> tuple[Decision, Caption | None]:
            with db:
                db.execute("BEGIN IMMEDIATE")
                row = db.execute("SELECT last_seq FROM caption_ingest WHERE meeting_id = ?"
                                 " AND language = ?", (line.meeting_id, line.language)
                                 ).fetchone()
                decision = decide(None if row is None else int(row[0]), seq)
                if not decision.accepted:
                    return decision, None
                caption = _insert(db, line)
                db.execute("INSERT INTO caption_ingest (meeting_id, language, last_seq,"
                           " updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (meeting_id,"
                           " language) DO UPDATE SET last_seq = excluded.last_seq,"
                           " updated_at = excluded.updated_at",
                           (line.meeting_id, line.language, seq, line.at))
                return decision, caption

        return await self.store.run(run)

    async def last_seq(self, meeting_id: str, language: str) -> int | None:
        def run(db: sqlite3.Connection) -> int | None:
            row = db.execute("SELECT last_seq FROM caption_ingest WHERE meeting_id = ? AND"
                             " language = ?", (meeting_id, language)).fetchone()
            return None if row is None else int(row[0])

        return await self.store.run(run)

    async def ingest_key(self, meeting_id: str, language: str) -> tuple[int, bool]:
        """The ingest URL's secret generation and whether it is revoked (0, False: never
        rotated)."""
        def run(db: sqlite3.Connection) -> tuple[int, bool]:
            row = db.execute("SELECT generation, revoked_at FROM caption_ingest_keys WHERE"
                             " meeting_id = ? AND language = ?",
                             (meeting_id, language)).fetchone()
            return (0, False) if row is None else (int(row[0]), row[1] is not None)

        return await self.store.run(run)

    async def change_ingest_key(self, meeting_id: str, language: str, *, revoke: bool,
                                at: float, by: str) -> int:
        """Rotate (a new generation, not revoked) or revoke (the current one stops working
        until the next rotation) a URL's secret; answers the generation now current."""
        def run(db: sqlite3.Connection) -> int:
            with db:
                db.execute("BEGIN IMMEDIATE")
                row = db.execute("SELECT generation FROM caption_ingest_keys WHERE"
                                 " meeting_id = ? AND language = ?",
                                 (meeting_id, language)).fetchone()
                generation = (0 if row is None else int(row[0])) + (0 if revoke else 1)
                db.execute("INSERT INTO caption_ingest_keys (meeting_id, language, generation,"
                           " revoked_at, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?)"
                           " ON CONFLICT (meeting_id, language) DO UPDATE SET"
                           " generation = excluded.generation, revoked_at = excluded.revoked_at,"
                           " updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                           (meeting_id, language, generation, at if revoke else None, at, by))
                return generation

        return await self.store.run(run)

    async def correct(self, meeting_id: str, caption_id: int, text: str,
                      at: float) -> Caption | None:
        def run(db: sqlite3.Connection) -> Caption | None:
            db.execute("UPDATE captions SET text = ?, revised_at = ? WHERE id = ? AND"
                       " meeting_id = ?", (text, at, caption_id, meeting_id))
            row = db.execute(f"SELECT {', '.join(COLUMNS)} FROM captions WHERE id = ? AND"
                             " meeting_id = ?", (caption_id, meeting_id)).fetchone()
            return None if row is None else _row(row)

        return await self.store.run(run)

    async def recent(self, meeting_id: str, language: str, n: int) -> list[Caption]:
        """The last ``n`` lines of a language, oldest first."""
        def run(db: sqlite3.Connection) -> list[Caption]:
            rows = db.execute(f"SELECT {', '.join(COLUMNS)} FROM captions WHERE meeting_id = ?"
                              " AND language = ? ORDER BY id DESC LIMIT ?",
                              (meeting_id, language, n)).fetchall()
            return [_row(r) for r in reversed(rows)]

        return await self.store.run(run)

    async def final_captions(self, meeting_id: str, language: str | None = None,
                             start: float | None = None,
                             end: float | None = None) -> list[Caption]:
        """A meeting's final captions in time order: one language (None: all), optionally
        only the lines whose time (``started_at``) lies in ``[start, end)``. The webcast's
        subtitle renditions read a language's lines for a segment's time range with this."""
        where = ["meeting_id = ?"]
        args: list[Any] = [meeting_id]
        if language is not None:
            where.append("language = ?")
            args.append(language)
        if start is not None:
            where.append("started_at >= ?")
            args.append(start)
        if end is not None:
            where.append("started_at < ?")
            args.append(end)

        def run(db: sqlite3.Connection) -> list[Caption]:
            rows = db.execute(f"SELECT {', '.join(COLUMNS)} FROM captions WHERE"
                              f" {' AND '.join(where)} ORDER BY started_at, id",
                              tuple(args)).fetchall()
            return [_row(r) for r in rows]

        return await self.store.run(run)
