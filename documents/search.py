"""Full-text search over document pages: SQLite FTS5 on pre-normalised terms.

Three tables: ``search_pages`` (what a hit shows: meeting, document, version, language, kind,
page, display text), ``search_terms`` (FTS5 over `Normaliser.index_terms`, ranked by bm25)
and ``search_han`` (FTS5 trigram over the page's Han text, so a Chinese query that is part of
a longer word is found). A Chinese query matches a page when jieba's words all match, or when
every Han run of it occurs in the page (trigram; a run shorter than three characters by a
scan of the pages that have Han text).

Functions here take a connection and run on the store's thread (`Store.run`).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from .normalise import Normaliser, Query, han_runs, snippet

SCHEMA = """
CREATE TABLE IF NOT EXISTS search_pages (
    id INTEGER PRIMARY KEY,
    meeting_id TEXT NOT NULL,
    document_id TEXT NOT NULL,
    version_id TEXT NOT NULL,
    language TEXT NOT NULL,
    kind TEXT NOT NULL,
    page INTEGER NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS search_pages_version ON search_pages(version_id, page);
CREATE INDEX IF NOT EXISTS search_pages_meeting ON search_pages(meeting_id, language, kind);
CREATE VIRTUAL TABLE IF NOT EXISTS search_terms USING fts5(
    terms, tokenize = "unicode61 remove_diacritics 0 tokenchars ':'");
CREATE VIRTUAL TABLE IF NOT EXISTS search_han USING fts5(han, tokenize = 'trigram');
"""

MAX_HITS = 50


@dataclass(frozen=True, slots=True)
class PageText:
    page: int
    text: str


def index_version(db: sqlite3.Connection, normaliser: Normaliser, *, meeting_id: str,
                  document_id: str, version_id: str, language: str, kind: str,
                  pages: list[PageText]) -> None:
    """Add a version's pages (inside the caller's transaction)."""
    for page in pages:
        cursor = db.execute(
            "INSERT INTO search_pages (meeting_id, document_id, version_id, language, kind,"
            " page, text) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (meeting_id, document_id, version_id, language, kind, page.page, page.text))
        rowid = cursor.lastrowid
        db.execute("INSERT INTO search_terms (rowid, terms) VALUES (?, ?)",
                   (rowid, normaliser.index_terms(page.text, language)))
        han = " ".join(han_runs(page.text))
        if han:
            db.execute("INSERT INTO search_han (rowid, han) VALUES (?, ?)", (rowid, han))


@dataclass(frozen=True, slots=True)
class Filters:
    meeting_ids: tuple[str, ...]
    language: str | None = None
    kind: str | None = None


def _where(filters: Filters) -> tuple[str, list[Any]]:
    marks = ", ".join("?" for _ in filters.meeting_ids)
    sql = f" AND p.meeting_id IN ({marks})"
    args: list[Any] = list(filters.meeting_ids)
    if filters.language:
        sql += " AND p.language = ?"
        args.append(filters.language)
    if filters.kind:
        sql += " AND p.kind = ?"
        args.append(filters.kind)
    return sql, args


def search(db: sqlite3.Connection, normaliser: Normaliser, text: str, filters: Filters,
           limit: int = MAX_HITS) -> tuple[Query, list[dict[str, Any]]]:
    """Pages matching every word of ``text``, best first, each with a highlighted snippet."""
    query = normaliser.query(text, filters.language)
    if query.empty or not filters.meeting_ids:
        return query, []
    where, args = _where(filters)
    ranked: dict[int, float] = {}
    rows = db.execute(
        "SELECT p.id, bm25(search_terms) FROM search_terms JOIN search_pages p"
        f" ON p.id = search_terms.rowid WHERE search_terms MATCH ?{where}"
        " ORDER BY bm25(search_terms) LIMIT ?", [query.fts(), *args, limit]).fetchall()
    for rowid, score in rows:
        ranked[rowid] = score
    if query.han and len(ranked) < limit:
        for rowid in han_substring_hits(db, query, where, args, limit):
            ranked.setdefault(rowid, 0.0)
    ids = sorted(ranked, key=lambda r: ranked[r])[:limit]
    if not ids:
        return query, []
    marks = ", ".join("?" for _ in ids)
    info = {r[0]: r for r in db.execute(
        "SELECT id, meeting_id, document_id, version_id, language, kind, page, text"
        f" FROM search_pages WHERE id IN ({marks})", ids).fetchall()}
    hits = []
    for rowid in ids:
        _, meeting_id, document_id, version_id, language, kind, page, page_text = info[rowid]
        spans = normaliser.matching_spans(page_text, query, language)
        hits.append({"meetingId": meeting_id, "documentId": document_id,
                     "versionId": version_id, "language": language, "kind": kind,
                     "page": page, "snippet": snippet(page_text, spans)})
    return query, hits


def han_substring_hits(db: sqlite3.Connection, query: Query, where: str, args: list[Any],
                        limit: int, rows: str = "search_pages", terms: str = "search_terms",
                        han: str = "search_han") -> list[int]:
    """Rows of ``rows`` (aliased ``p``) whose Han text holds every Han run of the query."""
    long_runs = [r for r in query.han if len(r) >= 3]
    short_runs = [r for r in query.han if len(r) < 3]
    sql = f"SELECT p.id FROM {han} JOIN {rows} p ON p.id = {han}.rowid WHERE 1"
    params: list[Any] = []
    if long_runs:
        sql += f" AND {han} MATCH ?"
        params.append(" AND ".join('"' + r + '"' for r in long_runs))
    for run in short_runs:  # trigrams cannot hold one or two characters: scan these pages
        sql += " AND instr(p.text, ?) > 0"
        params.append(run)
    other = query.fts(include_han=False)
    if other:
        sql += f" AND p.id IN (SELECT rowid FROM {terms} WHERE {terms} MATCH ?)"
        params.append(other)
    sql += where + " LIMIT ?"
    return [r[0] for r in db.execute(sql, [*params, *args, limit]).fetchall()]


def other_versions(db: sqlite3.Connection, document_ids: list[str]) -> dict[str, list[
        dict[str, Any]]]:
    """Per document, its latest version in each language (for "also in ...")."""
    if not document_ids:
        return {}
    marks = ", ".join("?" for _ in document_ids)
    rows = db.execute(
        "SELECT document_id, language, id, revision, pages FROM document_versions v"
        f" WHERE document_id IN ({marks}) AND revision = (SELECT MAX(revision) FROM"
        " document_versions w WHERE w.document_id = v.document_id AND w.language ="
        " v.language)", document_ids).fetchall()
    out: dict[str, list[dict[str, Any]]] = {}
    for document_id, language, version_id, revision, pages in rows:
        out.setdefault(document_id, []).append(
            {"language": language, "versionId": version_id, "revision": revision,
             "pages": pages})
    return out
