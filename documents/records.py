"""The document register in SQLite: documents, their versions and pages, the conversion jobs
(so a restart re-queues an upload that was being converted) and what each meeting's presenter
shows (so a restart lands everyone back on the same page).

Statements run on the store's single thread through `Store.run`; `SCHEMA` is handed to
`Store.add_schema` before the store opens.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from .register import Document, Version

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    meeting_id TEXT NOT NULL,
    number TEXT NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    source TEXT NOT NULL,
    status TEXT NOT NULL,
    submitted_by TEXT NOT NULL,
    submitted_role TEXT NOT NULL,
    submitter_key TEXT NOT NULL,
    created_at REAL NOT NULL,
    accepted_by TEXT NOT NULL DEFAULT '',
    accepted_at REAL,
    UNIQUE (meeting_id, number)
);
CREATE TABLE IF NOT EXISTS document_versions (
    id TEXT PRIMARY KEY,
    document_id TEXT NOT NULL REFERENCES documents(id),
    language TEXT NOT NULL,
    revision INTEGER NOT NULL,
    file_type TEXT NOT NULL,
    file_name TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    pages INTEGER NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_role TEXT NOT NULL,
    uploaded_at REAL NOT NULL,
    UNIQUE (document_id, language, revision)
);
CREATE TABLE IF NOT EXISTS document_pages (
    version_id TEXT NOT NULL REFERENCES document_versions(id),
    page INTEGER NOT NULL,
    width_pt REAL NOT NULL,
    height_pt REAL NOT NULL,
    images TEXT NOT NULL,
    PRIMARY KEY (version_id, page)
);
CREATE TABLE IF NOT EXISTS document_jobs (
    id TEXT PRIMARY KEY,
    meeting_id TEXT NOT NULL,
    document_id TEXT NOT NULL REFERENCES documents(id),
    language TEXT NOT NULL,
    revision INTEGER NOT NULL,
    submitter_key TEXT NOT NULL,
    version TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    pages INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS document_jobs_state ON document_jobs(state);
CREATE TABLE IF NOT EXISTS document_show (
    meeting_id TEXT PRIMARY KEY,
    state TEXT NOT NULL
);
"""

_DOC_COLUMNS = ("id, meeting_id, number, kind, title, source, status, submitted_by,"
                " submitted_role, submitter_key, created_at, accepted_by, accepted_at")
_VERSION_COLUMNS = ("id, document_id, language, revision, file_type, file_name, size, sha256,"
                    " pages, uploaded_by, uploaded_role, uploaded_at")


class Runner(Protocol):
    """What the records need of `meeting_server.store.Store`."""

    async def run(self, fn: Any) -> Any: ...


class DocumentRecords:
    def __init__(self, store: Runner) -> None:
        self.store = store

    async def _run(self, fn: Any) -> Any:
        return await self.store.run(fn)

    async def add_document(self, doc: Document) -> None:
        def run(db: sqlite3.Connection) -> None:
            try:
                db.execute(f"INSERT INTO documents ({_DOC_COLUMNS}) VALUES"
                           " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           (doc.id, doc.meeting_id, doc.number, doc.kind, doc.title, doc.source,
                            doc.status, doc.submitted_by, doc.submitted_role, doc.submitter_key,
                            doc.created_at, doc.accepted_by, doc.accepted_at))
            except sqlite3.IntegrityError:
                raise DuplicateNumber(doc.number) from None

        await self._run(run)

    async def documents(self, meeting_id: str) -> list[Document]:
        def run(db: sqlite3.Connection) -> list[Document]:
            rows = db.execute(f"SELECT {_DOC_COLUMNS} FROM documents WHERE meeting_id = ?"
                              " ORDER BY created_at, number", (meeting_id,)).fetchall()
            return [Document(*r) for r in rows]

        result: list[Document] = await self._run(run)
        return result

    async def document(self, meeting_id: str, document_id: str) -> Document | None:
        def run(db: sqlite3.Connection) -> Document | None:
            row = db.execute(f"SELECT {_DOC_COLUMNS} FROM documents WHERE id = ?"
                             " AND meeting_id = ?", (document_id, meeting_id)).fetchone()
            return None if row is None else Document(*row)

        result: Document | None = await self._run(run)
        return result

    async def accept(self, document_id: str, by: str, at: float) -> bool:
        def run(db: sqlite3.Connection) -> bool:
            return db.execute("UPDATE documents SET status = 'published', accepted_by = ?,"
                              " accepted_at = ? WHERE id = ? AND status = 'submitted'",
                              (by, at, document_id)).rowcount == 1

        result: bool = await self._run(run)
        return result

    async def versions(self, document_ids: list[str]) -> list[Version]:
        def run(db: sqlite3.Connection) -> list[Version]:
            if not document_ids:
                return []
            marks = ", ".join("?" for _ in document_ids)
            rows = db.execute(f"SELECT {_VERSION_COLUMNS} FROM document_versions"
                              f" WHERE document_id IN ({marks})"
                              " ORDER BY language, revision", document_ids).fetchall()
            return [Version(*r) for r in rows]

        result: list[Version] = await self._run(run)
        return result

    async def version(self, version_id: str) -> Version | None:
        def run(db: sqlite3.Connection) -> Version | None:
            row = db.execute(f"SELECT {_VERSION_COLUMNS} FROM document_versions WHERE id = ?",
                             (version_id,)).fetchone()
            return None if row is None else Version(*row)

        result: Version | None = await self._run(run)
        return result

    async def add_version(self, version: Version, pages: list[dict[str, Any]],
                          index: Any = None) -> None:
        """One transaction: the version, its pages and (``index(db)``) its search entries,
        so a version is either fully in the register or not at all."""
        def run(db: sqlite3.Connection) -> None:
            with db:
                db.execute("BEGIN IMMEDIATE")
                try:
                    db.execute(f"INSERT INTO document_versions ({_VERSION_COLUMNS}) VALUES"
                               " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                               (version.id, version.document_id, version.language,
                                version.revision, version.file_type, version.file_name,
                                version.size, version.sha256, version.pages,
                                version.uploaded_by, version.uploaded_role,
                                version.uploaded_at))
                except sqlite3.IntegrityError:
                    raise DuplicateVersion(version.language, version.revision) from None
                db.executemany(
                    "INSERT INTO document_pages (version_id, page, width_pt, height_pt, images)"
                    " VALUES (?, ?, ?, ?, ?)",
                    [(version.id, p["page"], p["widthPt"], p["heightPt"],
                      json.dumps(p["images"])) for p in pages])
                if index is not None:
                    index(db)

        await self._run(run)

    async def pages(self, version_id: str) -> list[dict[str, Any]]:
        def run(db: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = db.execute("SELECT page, width_pt, height_pt, images FROM document_pages"
                              " WHERE version_id = ? ORDER BY page", (version_id,)).fetchall()
            return [{"page": r[0], "widthPt": r[1], "heightPt": r[2],
                     "images": json.loads(r[3])} for r in rows]

        result: list[dict[str, Any]] = await self._run(run)
        return result

    async def save_show(self, meeting_id: str, state: dict[str, Any] | None) -> None:
        def run(db: sqlite3.Connection) -> None:
            if state is None:
                db.execute("DELETE FROM document_show WHERE meeting_id = ?", (meeting_id,))
            else:
                db.execute("INSERT OR REPLACE INTO document_show (meeting_id, state)"
                           " VALUES (?, ?)", (meeting_id, json.dumps(state)))

        await self._run(run)

    async def load_show(self, meeting_id: str) -> dict[str, Any] | None:
        def run(db: sqlite3.Connection) -> dict[str, Any] | None:
            row = db.execute("SELECT state FROM document_show WHERE meeting_id = ?",
                             (meeting_id,)).fetchone()
            return None if row is None else dict(json.loads(row[0]))

        result: dict[str, Any] | None = await self._run(run)
        return result


    # conversion jobs

    async def add_job(self, row: JobRow) -> None:
        def run(db: sqlite3.Connection) -> None:
            db.execute(f"INSERT INTO document_jobs ({_JOB_COLUMNS}) VALUES"
                       " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row.values())

        await self._run(run)

    async def job(self, job_id: str) -> JobRow | None:
        def run(db: sqlite3.Connection) -> JobRow | None:
            r = db.execute(f"SELECT {_JOB_COLUMNS} FROM document_jobs WHERE id = ?",
                           (job_id,)).fetchone()
            return None if r is None else JobRow.of(r)

        result: JobRow | None = await self._run(run)
        return result

    async def running_jobs(self) -> list[JobRow]:
        def run(db: sqlite3.Connection) -> list[JobRow]:
            rows = db.execute(f"SELECT {_JOB_COLUMNS} FROM document_jobs WHERE state ="
                              " 'running' ORDER BY created_at").fetchall()
            return [JobRow.of(r) for r in rows]

        result: list[JobRow] = await self._run(run)
        return result

    async def start_attempt(self, job_id: str) -> int:
        """Count one more attempt at a job (before it starts: a crash mid-way counts)."""
        def run(db: sqlite3.Connection) -> int:
            with db:
                db.execute("UPDATE document_jobs SET attempts = attempts + 1 WHERE id = ?",
                           (job_id,))
                row = db.execute("SELECT attempts FROM document_jobs WHERE id = ?",
                                 (job_id,)).fetchone()
            return int(row[0]) if row else 0

        result: int = await self._run(run)
        return result

    async def uncount_attempt(self, job_id: str) -> None:
        """An attempt the server stopped on purpose (shutdown) is not the file's fault."""
        def run(db: sqlite3.Connection) -> None:
            with db:
                db.execute("UPDATE document_jobs SET attempts = MAX(0, attempts - 1)"
                           " WHERE id = ? AND state = 'running'", (job_id,))

        await self._run(run)

    async def fail_job(self, job_id: str, error: dict[str, str], at: float) -> None:
        def run(db: sqlite3.Connection) -> None:
            with db:
                db.execute("UPDATE document_jobs SET state = 'failed', error = ?,"
                           " finished_at = ? WHERE id = ?", (json.dumps(error), at, job_id))

        await self._run(run)


def finish_job(db: sqlite3.Connection, job_id: str, pages: int, at: float) -> None:
    """Mark a job ready inside `DocumentRecords.add_version`'s transaction."""
    db.execute("UPDATE document_jobs SET state = 'ready', pages = ?, finished_at = ?"
               " WHERE id = ?", (pages, at, job_id))


_JOB_COLUMNS = ("id, meeting_id, document_id, language, revision, submitter_key, version,"
                " state, attempts, error, pages, created_at, finished_at")


@dataclass(frozen=True, slots=True)
class JobRow:
    """A conversion job as stored; ``version`` is the Version it will add, id and all."""

    id: str
    meeting_id: str
    document_id: str
    language: str
    revision: int
    submitter_key: str
    version: Version
    state: str  # running, ready, failed
    attempts: int
    error: dict[str, str] | None
    pages: int
    created_at: float
    finished_at: float | None

    def values(self) -> tuple[Any, ...]:
        v = self.version
        version = json.dumps({name: getattr(v, name) for name in Version.__slots__})
        return (self.id, self.meeting_id, self.document_id, self.language, self.revision,
                self.submitter_key, version, self.state, self.attempts,
                None if self.error is None else json.dumps(self.error), self.pages,
                self.created_at, self.finished_at)

    @classmethod
    def of(cls, r: tuple[Any, ...]) -> JobRow:
        return cls(r[0], r[1], r[2], r[3], r[4], r[5], Version(**json.loads(r[6])), r[7],
                   r[8], None if r[9] is None else json.loads(r[9]), r[10], r[11], r[12])


class DuplicateNumber(Exception):
    pass


class DuplicateVersion(Exception):
    pass
