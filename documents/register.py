"""The document register of a meeting: numbers, kinds, versions and who may do what.

Pure rules, no I/O: `records.py` keeps the register in SQLite, the service applies these rules.

A document is one numbered item of the meeting (``TD 123 (PLEN/13)``, ``C 45``); it has
versions, one per language and revision. ``Rev.1`` supersedes the original in that language,
and both stay in the register.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

LANGUAGES: tuple[str, ...] = ("ar", "zh", "en", "fr", "ru", "es")

# Kind of document, from the prefix of its number (ITU-T usage).
KINDS: dict[str, str] = {
    "TD": "temporary-document",
    "C": "contribution",
    "R": "report",
    "LS": "liaison-statement",
}

MANAGERS = frozenset({"chair", "secretariat"})  # upload, register, accept, withdraw
SUBMITTERS = frozenset({"delegate"})  # may submit a contribution for acceptance
READERS = frozenset({"chair", "secretariat", "delegate", "interpreter", "captioner",
                     "observer"})

MAX_REVISION = 20

_NUMBER = re.compile(
    r"^(?P<prefix>TD|C|R|LS)\s*(?P<n>\d{1,5})"
    r"(?:\s*\(\s*(?P<group>[A-Z][A-Z0-9-]{0,11})\s*/\s*(?P<sg>\d{1,3})\s*\))?$")


class RegisterError(Exception):
    """A register rule was broken; ``code`` is one of the protocol's error codes."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class DocumentNumber:
    prefix: str  # TD, C, R, LS
    number: int
    group: str = ""  # PLEN, WP1, Q4...
    study_group: int | None = None

    @property
    def kind(self) -> str:
        return KINDS[self.prefix]

    def __str__(self) -> str:
        text = f"{self.prefix} {self.number}"
        if self.group:
            text += f" ({self.group}/{self.study_group})"
        return text


def parse_number(text: str) -> DocumentNumber:
    """``"td 123 (plen/13)"`` → ``TD 123 (PLEN/13)``; anything else is a RegisterError."""
    match = _NUMBER.match(text.strip().upper())
    if match is None:
        raise RegisterError(
            "bad-request", "document number must look like 'TD 123 (PLEN/13)' or 'C 45'"
            f" (prefix one of {', '.join(KINDS)}), not {text!r}")
    group = match["group"] or ""
    return DocumentNumber(match["prefix"], int(match["n"]), group,
                          int(match["sg"]) if group else None)


def revision_label(revision: int) -> str:
    return "" if revision == 0 else f"Rev.{revision}"


@dataclass(frozen=True, slots=True)
class Version:
    """One file of a document: a language and a revision, converted into pages."""

    id: str
    document_id: str
    language: str
    revision: int
    file_type: str  # pdf, docx, pptx, xlsx, odt, odp, ods
    file_name: str  # the uploader's name for it, for display only (never a path)
    size: int
    sha256: str
    pages: int
    uploaded_by: str
    uploaded_role: str
    uploaded_at: float

    def to_json(self, superseded: bool) -> dict[str, Any]:
        return {"id": self.id, "language": self.language, "revision": self.revision,
                "revisionLabel": revision_label(self.revision), "fileType": self.file_type,
                "fileName": self.file_name, "size": self.size, "sha256": self.sha256,
                "pages": self.pages, "uploadedBy": self.uploaded_by,
                "uploadedRole": self.uploaded_role, "uploadedAt": self.uploaded_at,
                "superseded": superseded}


@dataclass(frozen=True, slots=True)
class Document:
    id: str
    meeting_id: str
    number: str  # the canonical form of DocumentNumber
    kind: str
    title: str
    source: str  # member state, sector member or organization
    status: str  # "submitted" (a delegate's contribution awaiting the secretariat) or "published"
    submitted_by: str  # the submitter's name as they gave it
    submitted_role: str
    submitter_key: str  # the invite token's nonce: the same link is the same submitter
    created_at: float
    accepted_by: str = ""
    accepted_at: float | None = None


def superseded_ids(versions: list[Version]) -> set[str]:
    """Versions that a higher revision in the same language supersedes."""
    latest: dict[str, int] = {}
    for v in versions:
        latest[v.language] = max(latest.get(v.language, -1), v.revision)
    return {v.id for v in versions if v.revision < latest[v.language]}


def document_json(doc: Document, versions: list[Version]) -> dict[str, Any]:
    old = superseded_ids(versions)
    ordered = sorted(versions, key=lambda v: (LANGUAGES.index(v.language)
                                              if v.language in LANGUAGES else 99, v.revision))
    return {"id": doc.id, "number": doc.number, "kind": doc.kind, "title": doc.title,
            "source": doc.source, "status": doc.status, "submittedBy": doc.submitted_by,
            "submittedRole": doc.submitted_role, "createdAt": doc.created_at,
            "acceptedBy": doc.accepted_by, "acceptedAt": doc.accepted_at,
            "languages": sorted({v.language for v in versions},
                                key=lambda lang: LANGUAGES.index(lang)
                                if lang in LANGUAGES else 99),
            "versions": [v.to_json(v.id in old) for v in ordered]}


# who may do what

def may_register(role: str) -> bool:
    """Register a document directly (published at once)."""
    return role in MANAGERS


def may_submit(role: str) -> bool:
    """Create a register entry at all: managers publish, delegates submit contributions."""
    return role in MANAGERS or role in SUBMITTERS


def check_submission(role: str, number: DocumentNumber) -> str:
    """The status a new entry gets, or a RegisterError when the role may not create it."""
    if role in MANAGERS:
        return "published"
    if role in SUBMITTERS:
        if number.prefix != "C":
            raise RegisterError("forbidden", "a delegate may submit contributions (C ...) only")
        return "submitted"
    raise RegisterError("forbidden", f"a {role} may not add documents")


def may_read(role: str, doc: Document, same_submitter: bool) -> bool:
    """Published documents are for everyone in the meeting; a submission awaiting acceptance
    for the managers and whoever submitted it."""
    if role not in READERS:
        return False
    return doc.status == "published" or role in MANAGERS or same_submitter


def check_upload(role: str, doc: Document, same_submitter: bool) -> None:
    """Managers add versions to any document; a delegate only to their own submission while
    the secretariat has not accepted it yet."""
    if role in MANAGERS:
        return
    if role in SUBMITTERS and same_submitter and doc.status == "submitted":
        return
    raise RegisterError("forbidden", "only the chair or the secretariat may add files here")


def next_revision_ok(existing: list[Version], language: str, revision: int) -> None:
    """A revision number is new in its language and above the ones there (a translation may
    arrive as Rev.1 directly)."""
    if not 0 <= revision <= MAX_REVISION:
        raise RegisterError("bad-request", f"revision must be 0..{MAX_REVISION}")
    if language not in LANGUAGES:
        raise RegisterError("bad-request", f"language must be one of {', '.join(LANGUAGES)}")
    taken = {v.revision for v in existing if v.language == language}
    if revision in taken:
        raise RegisterError("conflict", f"{language} {revision_label(revision) or 'original'}"
                            " is already in the register (upload a new revision)")
    if taken and revision < max(taken):
        raise RegisterError("conflict", f"{language} already has {revision_label(max(taken))};"
                            f" an older revision cannot be added after it")
