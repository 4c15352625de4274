"""Chat messages and each meeting's chat settings in SQLite (Store.add_schema / Store.run).
A message is written before anyone is sent it, so what a participant saw survives a crash;
a removed message keeps its row (who removed it, when) but is never sent again.

A participant id lasts one join; the private line's thread and the booth intercom are kept
for the *person*, so a delegate who rejoins gets them back: ``chat_people`` ties each join's
participant id to a person key, ``chat_booth_people`` the booths a person has been in (see
``ChatService.person_of`` for what the key is)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from .chat_rules import Address
from .store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS chat_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    meeting_id TEXT NOT NULL REFERENCES meetings(id),
    at REAL NOT NULL,
    channel TEXT NOT NULL,
    booth TEXT NOT NULL DEFAULT '',
    thread TEXT NOT NULL DEFAULT '',
    thread_name TEXT NOT NULL DEFAULT '',
    sender_id TEXT NOT NULL,
    sender_name TEXT NOT NULL,
    sender_role TEXT NOT NULL,
    sender_member_state TEXT NOT NULL DEFAULT '',
    text TEXT NOT NULL,
    removed_at REAL,
    removed_by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS chat_messages_meeting ON chat_messages(meeting_id, id);
CREATE TABLE IF NOT EXISTS chat_people (
    meeting_id TEXT NOT NULL REFERENCES meetings(id),
    participant_id TEXT NOT NULL,
    person TEXT NOT NULL,
    PRIMARY KEY (meeting_id, participant_id)
);
CREATE INDEX IF NOT EXISTS chat_people_person ON chat_people(meeting_id, person);
CREATE TABLE IF NOT EXISTS chat_booth_people (
    meeting_id TEXT NOT NULL REFERENCES meetings(id),
    person TEXT NOT NULL,
    booth TEXT NOT NULL,
    PRIMARY KEY (meeting_id, person, booth)
);
CREATE TABLE IF NOT EXISTS chat_settings (
    meeting_id TEXT PRIMARY KEY REFERENCES meetings(id),
    public_enabled INTEGER NOT NULL,
    updated_at REAL NOT NULL,
    updated_by TEXT NOT NULL DEFAULT ''
);
"""

COLUMNS = ("id", "meeting_id", "at", "channel", "booth", "thread", "thread_name", "sender_id",
           "sender_name", "sender_role", "sender_member_state", "text", "removed_at",
           "removed_by")


@dataclass(frozen=True, slots=True)
class Message:
    id: int
    meeting_id: str
    at: float
    channel: str
    booth: str
    thread: str
    thread_name: str
    sender_id: str
    sender_name: str
    sender_role: str
    sender_member_state: str
    text: str
    removed_at: float | None = None
    removed_by: str = ""

    @property
    def address(self) -> Address:
        return Address(self.channel, self.booth, self.thread)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id, "at": self.at, "channel": self.channel, "text": self.text,
            "from": {"participantId": self.sender_id, "name": self.sender_name,
                     "role": self.sender_role, "memberState": self.sender_member_state}}
        if self.channel == "booth":
            out["booth"] = self.booth
        if self.channel == "secretariat":
            out["thread"] = {"participantId": self.thread, "name": self.thread_name} \
                if self.thread else None
        return out


class ChatStore:
    def __init__(self, store: Store) -> None:
        self.store = store
        store.add_schema(SCHEMA)

    async def add(self, meeting_id: str, at: float, address: Address, thread_name: str,
                  sender_id: str, sender_name: str, sender_role: str, member_state: str,
                  text: str) -> Message:
        def run(db: sqlite3.Connection) -> Message:
            cur = db.execute(
                "INSERT INTO chat_messages (meeting_id, at, channel, booth, thread, thread_name,"
                " sender_id, sender_name, sender_role, sender_member_state, text)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (meeting_id, at, address.channel, address.booth, address.thread, thread_name,
                 sender_id, sender_name, sender_role, member_state, text))
            assert cur.lastrowid is not None
            return Message(cur.lastrowid, meeting_id, at, address.channel, address.booth,
                           address.thread, thread_name, sender_id, sender_name, sender_role,
                           member_state, text)

        return await self.store.run(run)

    async def get(self, meeting_id: str, message_id: int) -> Message | None:
        def run(db: sqlite3.Connection) -> Message | None:
            row = db.execute(f"SELECT {', '.join(COLUMNS)} FROM chat_messages WHERE id = ? AND"
                             " meeting_id = ?", (message_id, meeting_id)).fetchone()
            return None if row is None else Message(*row)

        return await self.store.run(run)

    async def remove(self, meeting_id: str, message_id: int, at: float, by: str) -> None:
        def run(db: sqlite3.Connection) -> None:
            db.execute("UPDATE chat_messages SET removed_at = ?, removed_by = ? WHERE id = ?"
                       " AND meeting_id = ? AND removed_at IS NULL",
                       (at, by, message_id, meeting_id))

        await self.store.run(run)

    async def history(self, meeting_id: str, *, team: bool, participant_id: str,
                      booth: str | None, limit: int, person: str = "") -> list[Message]:
        """The last ``limit`` messages a reader may see (not removed), oldest first: the
        meeting's, the private line's thread of this participant id and of every earlier
        join of the same ``person`` (all threads for the team), the intercom of their booth
        and of every booth the person has been in."""
        def run(db: sqlite3.Connection) -> list[Message]:
            rows = db.execute(
                f"SELECT {', '.join(COLUMNS)} FROM chat_messages WHERE meeting_id = ? AND"
                " removed_at IS NULL AND (channel = 'meeting'"
                " OR (channel = 'secretariat' AND (? OR (thread != '' AND (thread = ?"
                "  OR thread IN (SELECT participant_id FROM chat_people WHERE"
                "   meeting_id = ? AND person = ? AND person != '')))))"
                " OR (channel = 'booth' AND (booth = ? OR booth IN (SELECT booth FROM"
                "  chat_booth_people WHERE meeting_id = ? AND person = ? AND person != ''))))"
                " ORDER BY id DESC LIMIT ?",
                (meeting_id, int(team), participant_id, meeting_id, person,
                 booth if booth is not None else "\x00", meeting_id, person,
                 limit)).fetchall()
            return [Message(*r) for r in reversed(rows)]

        return await self.store.run(run)

    async def personal_invitation(self, invitation: str) -> bool:
        """Whether an invitation is a personal one (invitations.py's register): one person
        per invitation, unlike a shared link."""
        def run(db: sqlite3.Connection) -> bool:
            try:
                row = db.execute("SELECT kind FROM invitations WHERE id = ?",
                                 (invitation,)).fetchone()
            except sqlite3.OperationalError:  # a store without the invitation register
                return False
            return row is not None and row[0] == "personal"

        return await self.store.run(run)

    async def link_person(self, meeting_id: str, participant_id: str, person: str) -> None:
        def run(db: sqlite3.Connection) -> None:
            db.execute("INSERT OR IGNORE INTO chat_people (meeting_id, participant_id, person)"
                       " VALUES (?, ?, ?)", (meeting_id, participant_id, person))

        await self.store.run(run)

    async def person_ids(self, meeting_id: str, person: str) -> list[str]:
        """Every participant id the person has joined the meeting with, in no set order."""
        def run(db: sqlite3.Connection) -> list[str]:
            rows = db.execute("SELECT participant_id FROM chat_people WHERE meeting_id = ? AND"
                              " person = ?", (meeting_id, person)).fetchall()
            return [str(r[0]) for r in rows]

        return await self.store.run(run) if person else []

    async def link_booth(self, meeting_id: str, person: str, booth: str) -> None:
        def run(db: sqlite3.Connection) -> None:
            db.execute("INSERT OR IGNORE INTO chat_booth_people (meeting_id, person, booth)"
                       " VALUES (?, ?, ?)", (meeting_id, person, booth))

        await self.store.run(run)

    async def all_messages(self, meeting_id: str) -> list[Message]:
        """Every message of a meeting, removed ones too (the record)."""
        def run(db: sqlite3.Connection) -> list[Message]:
            rows = db.execute(f"SELECT {', '.join(COLUMNS)} FROM chat_messages WHERE"
                              " meeting_id = ? ORDER BY id", (meeting_id,)).fetchall()
            return [Message(*r) for r in rows]

        return await self.store.run(run)

    async def public_enabled(self, meeting_id: str) -> bool:
        def run(db: sqlite3.Connection) -> bool:
            row = db.execute("SELECT public_enabled FROM chat_settings WHERE meeting_id = ?",
                             (meeting_id,)).fetchone()
            return True if row is None else bool(row[0])

        return await self.store.run(run)

    async def set_public_enabled(self, meeting_id: str, enabled: bool, at: float,
                                 by: str) -> None:
        def run(db: sqlite3.Connection) -> None:
            db.execute("INSERT INTO chat_settings (meeting_id, public_enabled, updated_at,"
                       " updated_by) VALUES (?, ?, ?, ?) ON CONFLICT (meeting_id) DO UPDATE"
                       " SET public_enabled = excluded.public_enabled,"
                       " updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                       (meeting_id, int(enabled), at, by))

        await self.store.run(run)
