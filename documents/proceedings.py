"""The proceedings in search: final captions (what was said) and the floor log's interventions
(who spoke, and on what: the note of the request that got them the floor), indexed with the
same normalisation as document pages (`Normaliser`), so a query finds a topic in the
documents and where it was discussed.

The index is derived from the captions and floor log tables, never written by their owners:
`catch_up` reads what was added since its watermark (and captions corrected since), inside one
transaction with the watermark, so it is never behind by more than one call, loses nothing on
a crash (the next call redoes the batch) and never indexes a line twice (``UNIQUE(source,
ref)``). The search service calls it before every search.

Functions take a connection and run on the store's thread (`Store.run`).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from .normalise import Normaliser, han_runs, snippet
from .search import han_substring_hits

SCHEMA = """
CREATE TABLE IF NOT EXISTS search_lines (
    id INTEGER PRIMARY KEY,
    meeting_id TEXT NOT NULL,
    source TEXT NOT NULL,
    ref INTEGER NOT NULL,
    language TEXT NOT NULL,
    at REAL NOT NULL,
    speaker TEXT NOT NULL,
    text TEXT NOT NULL,
    UNIQUE (source, ref)
);
CREATE INDEX IF NOT EXISTS search_lines_meeting ON search_lines(meeting_id, source, language);
CREATE VIRTUAL TABLE IF NOT EXISTS search_line_terms USING fts5(
    terms, tokenize = "unicode61 remove_diacritics 0 tokenchars ':'");
CREATE VIRTUAL TABLE IF NOT EXISTS search_line_han USING fts5(han, tokenize = 'trigram');
CREATE TABLE IF NOT EXISTS search_watermarks (
    source TEXT PRIMARY KEY,
    last_id INTEGER NOT NULL,
    last_revised REAL NOT NULL DEFAULT 0
);
"""

SOURCES = ("captions", "floor")
LANGUAGES = ("ar", "zh", "en", "fr", "ru", "es")
BATCH = 500  # lines a call indexes: ~0.15 s of the store thread, so writes interleave
MAX_HITS = 50


@dataclass(frozen=True, slots=True)
class Line:
    meeting_id: str
    source: str  # captions | floor
    ref: int  # captions.id or floor_log.id
    language: str  # one of LANGUAGES, or "" (a floor entry in no set language)
    at: float
    speaker: str
    text: str


def _has_table(db: sqlite3.Connection, name: str) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                      (name,)).fetchone() is not None


def _mark(db: sqlite3.Connection, source: str) -> tuple[int, float]:
    row = db.execute("SELECT last_id, last_revised FROM search_watermarks WHERE source = ?",
                     (source,)).fetchone()
    return (0, 0.0) if row is None else (int(row[0]), float(row[1]))


def _set_mark(db: sqlite3.Connection, source: str, last_id: int, last_revised: float) -> None:
    db.execute("INSERT OR REPLACE INTO search_watermarks (source, last_id, last_revised)"
               " VALUES (?, ?, ?)", (source, last_id, last_revised))


def _add(db: sqlite3.Connection, normaliser: Normaliser, line: Line) -> None:
    old = db.execute("SELECT id FROM search_lines WHERE source = ? AND ref = ?",
                     (line.source, line.ref)).fetchone()
    if old is not None:  # a corrected caption replaces its old entry
        for table in ("search_line_terms", "search_line_han"):
            db.execute(f"DELETE FROM {table} WHERE rowid = ?", (old[0],))
        db.execute("DELETE FROM search_lines WHERE id = ?", (old[0],))
    cursor = db.execute(
        "INSERT INTO search_lines (meeting_id, source, ref, language, at, speaker, text)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)", (line.meeting_id, line.source, line.ref,
                                          line.language, line.at, line.speaker, line.text))
    rowid = cursor.lastrowid
    db.execute("INSERT INTO search_line_terms (rowid, terms) VALUES (?, ?)",
               (rowid, normaliser.index_terms(f"{line.speaker} {line.text}", line.language)))
    han = " ".join(han_runs(f"{line.speaker} {line.text}"))
    if han:
        db.execute("INSERT INTO search_line_han (rowid, han) VALUES (?, ?)", (rowid, han))


def _speaker(name: str, member_state: str, organization: str = "") -> str:
    where = ", ".join(x for x in (member_state, organization) if x)
    return f"{name} ({where})" if name and where else name or where


def catch_up(db: sqlite3.Connection, normaliser: Normaliser, batch: int = BATCH) -> int:
    """Index the captions and interventions added (or captions corrected) since the last
    call, reading at most ``batch`` rows of each source; returns how many rows it read (a
    source that had ``batch`` rows or more to read may have more: call again)."""
    done = 0
    with db:
        db.execute("BEGIN IMMEDIATE")
        if _has_table(db, "captions"):
            # corrections are few: a partial index finds them without a scan of every line
            db.execute("CREATE INDEX IF NOT EXISTS search_captions_revised ON"
                       " captions(revised_at) WHERE revised_at IS NOT NULL")
            last_id, last_revised = _mark(db, "captions")
            rows = db.execute(
                "SELECT id, meeting_id, language, at, text, speaker_name, speaker_member_state,"
                " revised_at FROM captions WHERE id > ? ORDER BY id LIMIT ?",
                (last_id, batch)).fetchall()
            revised = db.execute(
                "SELECT id, meeting_id, language, at, text, speaker_name, speaker_member_state,"
                " revised_at FROM captions WHERE revised_at IS NOT NULL AND revised_at > ?"
                " AND id <= ? ORDER BY revised_at LIMIT ?",
                (last_revised, last_id, batch)).fetchall()
            for r in [*rows, *revised]:
                _add(db, normaliser, Line(r[1], "captions", r[0], r[2] if r[2] in LANGUAGES
                                          else "", r[3], _speaker(r[5], r[6]), r[4]))
                last_revised = max(last_revised, r[7] or 0.0)
            if rows:
                last_id = rows[-1][0]
            _set_mark(db, "captions", last_id, last_revised)
            done += len(rows) + len(revised)
        if _has_table(db, "floor_log"):
            last_id, _ = _mark(db, "floor")
            rows = db.execute(
                "SELECT f.id, f.meeting_id, f.language, f.at, f.name, f.member_state,"
                " f.organization, f.kind, f.event, (SELECT r.note FROM floor_log r WHERE"
                " r.meeting_id = f.meeting_id AND r.participant_id = f.participant_id AND"
                " r.event = 'request' AND r.id < f.id ORDER BY r.id DESC LIMIT 1)"
                " FROM floor_log f WHERE f.id > ? ORDER BY f.id LIMIT ?",
                (last_id, batch)).fetchall()
            for r in rows:
                if r[8] == "intervention-start":
                    _add(db, normaliser, Line(r[1], "floor", r[0], r[2] if r[2] in LANGUAGES
                                              else "", r[3], _speaker(r[4], r[5], r[6]),
                                              r[9] or ""))
            done += len(rows)
            if rows:
                _set_mark(db, "floor", rows[-1][0], 0.0)
    return done


def search_lines(db: sqlite3.Connection, normaliser: Normaliser, text: str,
                 meeting_ids: tuple[str, ...], language: str | None = None,
                 sources: tuple[str, ...] = SOURCES, limit: int = MAX_HITS
                 ) -> list[dict[str, Any]]:
    """Captions and interventions matching every word of ``text``, best first."""
    query = normaliser.query(text, language)
    if query.empty or not meeting_ids or not sources:
        return []
    where = (f" AND p.meeting_id IN ({', '.join('?' for _ in meeting_ids)})"
             f" AND p.source IN ({', '.join('?' for _ in sources)})")
    args: list[Any] = [*meeting_ids, *sources]
    if language:
        where += " AND p.language = ?"
        args.append(language)
    ranked: dict[int, float] = {}
    for rowid, score in db.execute(
            "SELECT p.id, bm25(search_line_terms) FROM search_line_terms JOIN search_lines p"
            f" ON p.id = search_line_terms.rowid WHERE search_line_terms MATCH ?{where}"
            " ORDER BY bm25(search_line_terms) LIMIT ?", [query.fts(), *args, limit]):
        ranked[rowid] = score
    if query.han and len(ranked) < limit:
        for rowid in han_substring_hits(db, query, where, args, limit, rows="search_lines",
                                        terms="search_line_terms", han="search_line_han"):
            ranked.setdefault(rowid, 0.0)
    ids = sorted(ranked, key=lambda r: ranked[r])[:limit]
    if not ids:
        return []
    info = {r[0]: r for r in db.execute(
        "SELECT id, meeting_id, source, ref, language, at, speaker, text FROM search_lines"
        f" WHERE id IN ({', '.join('?' for _ in ids)})", ids)}
    hits = []
    for rowid in ids:
        _, meeting_id, source, ref, lang, at, speaker, line_text = info[rowid]
        hits.append({
            "meetingId": meeting_id, "source": source, "id": ref, "language": lang,
            "at": at, "speaker": speaker,
            "speakerMatch": bool(normaliser.matching_spans(speaker, query, lang)),
            "snippet": snippet(line_text, normaliser.matching_spans(line_text, query, lang))
            if line_text else []})
    return hits
