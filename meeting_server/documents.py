"""Documents of a meeting: the register, uploads and their conversion, the shared screen and
search. Rules live in `documents/`; this service applies them, keeps the files, and tells the
`/documents` namespace what to broadcast (through ``sink``, as the floor service does).

Files live under ``<data>/documents/<meeting id>/<version id>/``, named by generated ids only:
nothing from an uploader's file name reaches a path. A version appears in the register (and
in search) in one transaction, only after its conversion fully succeeded.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from documents import presenter, register
from documents.conversion import Converter, Limits
from documents.formats import FileRejected, display_name, sniff
from documents.normalise import Normaliser
from documents.presenter import Box, PresenterError, Screen, Showing
from documents.proceedings import SCHEMA as PROCEEDINGS_SCHEMA
from documents.records import SCHEMA as RECORDS_SCHEMA
from documents.records import (
    DocumentRecords,
    DuplicateNumber,
    DuplicateVersion,
    JobRow,
    finish_job,
)
from documents.register import Document, RegisterError, Version
from documents.search import SCHEMA as SEARCH_SCHEMA
from documents.search import Filters, PageText, index_version, other_versions, search

from .errors import RostrumError
from .meetings import MeetingService, Participant
from .store import Store
from .tokens import Invite

logger = logging.getLogger(__name__)

ID = re.compile(r"^[0-9a-f]{12,32}$")
MAX_RUNNING_JOBS = 8
MAX_ATTEMPTS = 3  # a conversion the server died during is tried again, this often in all
JOB_KEEP_S = 3600.0

Sink = Callable[[str, str, dict[str, Any], "list[str] | None"], None]


def add_schemas(store: Store) -> None:
    store.add_schema(RECORDS_SCHEMA)
    store.add_schema(SEARCH_SCHEMA)
    store.add_schema(PROCEEDINGS_SCHEMA)  # captions and the floor log in search


@dataclass
class Job:
    """One upload being converted, as its uploader follows it (stage, progress); its state is
    also in the store (`documents.records.JobRow`), so it outlives a restart."""

    id: str
    meeting_id: str
    document_id: str
    language: str
    revision: int
    submitter_key: str
    stage: str = "queued"
    progress: float = 0.0
    state: str = "running"  # running, ready, failed
    error: dict[str, str] | None = None
    version_id: str | None = None
    pages: int = 0
    finished_at: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "documentId": self.document_id, "language": self.language,
                "revision": self.revision, "stage": self.stage,
                "progress": round(self.progress, 3), "state": self.state, "error": self.error,
                "versionId": self.version_id, "pages": self.pages}


@dataclass
class MeetingScreen:
    screen: Screen = field(default_factory=Screen)
    loaded: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class DocumentService:
    def __init__(self, data_dir: Path, store: Store, meetings: MeetingService,
                 limits: Limits | None = None) -> None:
        self.root = data_dir / "documents"
        self.store = store
        self.meetings = meetings
        self.records = DocumentRecords(store)
        self.normaliser = Normaliser()
        self.converter = Converter(self.root / "work", limits)
        self.jobs: dict[str, Job] = {}
        self.screens: dict[str, MeetingScreen] = {}
        self.sink: Sink | None = None
        # told with the meeting id after the screen (and so maybe the presenter right)
        # changed: screen sharing ends a share whose presenter lost the right
        self.presenter_listeners: list[Callable[[str], None]] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    async def open(self) -> None:
        """Clear what an interrupted conversion left, load jieba off the loop, and re-queue
        the conversions that were running when the server stopped."""
        shutil.rmtree(self.root / "work", ignore_errors=True)
        await self.store.run(lambda db: self.normaliser.warm_up())
        await self._resume_jobs()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _emit(self, meeting_id: str, event: str, payload: dict[str, Any],
              to: list[str] | None = None) -> None:
        if self.sink is not None:
            self.sink(meeting_id, event, payload, to)
        if event == "screen":
            for listener in self.presenter_listeners:
                try:
                    listener(meeting_id)
                except Exception:
                    logger.exception("[%s] presenter listener failed", meeting_id)

    # the register

    async def _visible(self, invite: Invite, doc: Document) -> bool:
        return register.may_read(invite.role, doc, doc.submitter_key == invite.nonce)

    async def _document_json(self, docs: list[Document]) -> list[dict[str, Any]]:
        versions = await self.records.versions([d.id for d in docs])
        by_doc: dict[str, list[Version]] = {}
        for v in versions:
            by_doc.setdefault(v.document_id, []).append(v)
        return [register.document_json(d, by_doc.get(d.id, [])) for d in docs]

    async def register(self, invite: Invite) -> list[dict[str, Any]]:
        docs = [d for d in await self.records.documents(invite.meeting_id)
                if await self._visible(invite, d)]
        return await self._document_json(docs)

    async def get(self, invite: Invite, document_id: str) -> dict[str, Any]:
        doc = await self._document(invite, document_id)
        return (await self._document_json([doc]))[0]

    async def _document(self, invite: Invite, document_id: str) -> Document:
        doc = await self.records.document(invite.meeting_id, document_id) \
            if ID.match(document_id) else None
        if doc is None or not await self._visible(invite, doc):
            raise RostrumError("not-found", "no such document in this meeting")
        return doc

    async def create(self, invite: Invite, number_text: str, title: str, source: str,
                     by: str) -> dict[str, Any]:
        try:
            number = register.parse_number(number_text)
            status = register.check_submission(invite.role, number)
        except RegisterError as exc:
            raise RostrumError(exc.code, exc.message) from None
        doc = Document(id=secrets.token_hex(8), meeting_id=invite.meeting_id,
                       number=str(number), kind=number.kind, title=title, source=source,
                       status=status, submitted_by=by or invite.role,
                       submitted_role=invite.role, submitter_key=invite.nonce,
                       created_at=time.time())
        try:
            await self.records.add_document(doc)
        except DuplicateNumber:
            raise RostrumError("conflict", f"{doc.number} is already in the register") from None
        logger.info("[%s] document %s registered (%s) by %s", invite.meeting_id, doc.number,
                    status, invite.role)
        self._emit(invite.meeting_id, "register", {"documentId": doc.id})
        return (await self._document_json([doc]))[0]

    async def accept(self, invite: Invite, document_id: str, by: str) -> dict[str, Any]:
        if invite.role not in register.MANAGERS:
            raise RostrumError("forbidden", "only the chair or the secretariat accepts"
                               " contributions")
        doc = await self._document(invite, document_id)
        if not await self.records.accept(doc.id, by or invite.role, time.time()):
            raise RostrumError("conflict", f"{doc.number} is not awaiting acceptance")
        self._emit(invite.meeting_id, "register", {"documentId": doc.id})
        return await self.get(invite, doc.id)

    # uploads

    async def upload(self, invite: Invite, document_id: str, data: bytes, file_name: str,
                     language: str, revision: int, by: str) -> Job:
        """Check everything that can be checked at once, then convert in the background.

        The upload's bytes and its job are stored before the answer, so a server that
        restarts mid-conversion converts it again (`open`)."""
        doc = await self._document(invite, document_id)
        try:
            register.check_upload(invite.role, doc, doc.submitter_key == invite.nonce)
            existing = await self.records.versions([doc.id])
            register.next_revision_ok(existing, language, revision)
        except RegisterError as exc:
            raise RostrumError(exc.code, exc.message) from None
        if any(j.document_id == doc.id and j.language == language and j.revision == revision
               and j.state == "running" for j in self.jobs.values()):
            raise RostrumError("conflict", "that version is being converted already")
        if sum(j.state == "running" for j in self.jobs.values()) >= MAX_RUNNING_JOBS:
            raise RostrumError("conflict", "the server is converting many files: try again"
                               " in a minute")
        sniffed = await asyncio.to_thread(sniff, data, file_name)  # FileRejected
        self._forget_old_jobs()
        job = Job(id=secrets.token_hex(8), meeting_id=invite.meeting_id, document_id=doc.id,
                  language=language, revision=revision, submitter_key=invite.nonce)
        version = Version(
            id=secrets.token_hex(8), document_id=doc.id, language=language, revision=revision,
            file_type=sniffed.file_type, file_name=display_name(file_name), size=len(data),
            sha256=hashlib.sha256(data).hexdigest(), pages=0, uploaded_by=by or invite.role,
            uploaded_role=invite.role, uploaded_at=time.time())
        await asyncio.to_thread(_write_atomic, self._incoming(job.id), data)
        await self.records.add_job(JobRow(
            job.id, job.meeting_id, doc.id, language, revision, invite.nonce, version,
            "running", 0, None, 0, time.time(), None))
        self.jobs[job.id] = job
        self._start(job, doc, version, data)
        return job

    def _start(self, job: Job, doc: Document, version: Version, data: bytes) -> None:
        task = asyncio.ensure_future(self._convert(job, doc, version, data))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _incoming(self, job_id: str) -> Path:
        return self.root / "incoming" / job_id

    async def _resume_jobs(self) -> None:
        """Re-queue the conversions a stopped server left running, each at most
        `MAX_ATTEMPTS` times in all; forget stored uploads that no job owns."""
        rows = await self.records.running_jobs()
        owned = {r.id for r in rows}
        incoming = self.root / "incoming"

        def sweep() -> None:
            if incoming.is_dir():
                for path in incoming.iterdir():
                    if path.name not in owned:
                        path.unlink(missing_ok=True)

        await asyncio.to_thread(sweep)
        for row in rows:
            job = Job(id=row.id, meeting_id=row.meeting_id, document_id=row.document_id,
                      language=row.language, revision=row.revision,
                      submitter_key=row.submitter_key)
            doc = await self.records.document(row.meeting_id, row.document_id)
            path = self._incoming(row.id)
            data = await asyncio.to_thread(_read_or_none, path)
            if doc is None or data is None or row.attempts >= MAX_ATTEMPTS:
                why = (f"the server stopped during each of {row.attempts} attempts to convert"
                       " the file: upload it again" if row.attempts >= MAX_ATTEMPTS else
                       "the upload was lost when the server stopped: upload it again")
                await self._fail(job, {"code": "conversion-interrupted", "message": why})
                await asyncio.to_thread(path.unlink, True)
                logger.warning("[%s] conversion job %s not resumed: %s", row.meeting_id,
                               row.id, why)
                continue
            logger.info("[%s] resuming conversion job %s (attempt %d of %d)",
                        row.meeting_id, row.id, row.attempts + 1, MAX_ATTEMPTS)
            self.jobs[job.id] = job
            self._start(job, doc, row.version, data)

    async def _fail(self, job: Job, error: dict[str, str]) -> None:
        job.state, job.error = "failed", error
        job.finished_at = time.time()
        await self.records.fail_job(job.id, error, job.finished_at)

    async def job(self, invite: Invite, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
            row = await self.records.job(job_id) if ID.match(job_id) else None
            if row is not None:
                job = Job(id=row.id, meeting_id=row.meeting_id, document_id=row.document_id,
                          language=row.language, revision=row.revision,
                          submitter_key=row.submitter_key, state=row.state, error=row.error,
                          pages=row.pages, finished_at=row.finished_at,
                          stage="ready" if row.state == "ready" else row.state,
                          progress=1.0 if row.state == "ready" else 0.0,
                          version_id=row.version.id if row.state == "ready" else None)
        if job is None or job.meeting_id != invite.meeting_id or (
                invite.role not in register.MANAGERS and job.submitter_key != invite.nonce):
            raise RostrumError("not-found", "no such upload")
        return job

    def _forget_old_jobs(self) -> None:
        now = time.time()
        for job_id, job in list(self.jobs.items()):
            if job.finished_at is not None and now - job.finished_at > JOB_KEEP_S:
                del self.jobs[job_id]

    def version_dir(self, meeting_id: str, version_id: str) -> Path:
        return self.root / meeting_id / version_id

    async def _convert(self, job: Job, doc: Document, version: Version, data: bytes) -> None:
        out = self.version_dir(doc.meeting_id, version.id)

        def progress(stage: str, fraction: float) -> None:
            job.stage, job.progress = stage, fraction

        counted = False
        try:
            await self.records.start_attempt(job.id)
            counted = True
            # pages an interrupted attempt moved in place but never committed
            await asyncio.to_thread(shutil.rmtree, out, True)
            converted = await self.converter.convert(data, version.file_type, out, progress)
            job.stage = "indexing"
            texts = await asyncio.to_thread(_page_texts, out, converted.pages)
            final = Version(**{**_fields(version), "pages": len(converted.pages)})

            def index(db: Any) -> None:
                index_version(db, self.normaliser, meeting_id=doc.meeting_id,
                              document_id=doc.id, version_id=final.id,
                              language=final.language, kind=doc.kind, pages=texts)
                finish_job(db, job.id, final.pages, time.time())

            await self.records.add_version(final, converted.pages, index)
        except FileRejected as exc:
            await asyncio.to_thread(shutil.rmtree, out, True)
            await self._fail(job, {"code": exc.code, "message": exc.message})
            logger.info("[%s] upload for %s rejected: %s (%s)", doc.meeting_id, doc.number,
                        exc.code, exc.message)
        except DuplicateVersion:
            await asyncio.to_thread(shutil.rmtree, out, True)
            await self._fail(job, {"code": "conflict", "message":
                                   "that version is in the register already"})
        except asyncio.CancelledError:
            # the server is stopping: the job stays running in the store and resumes, and
            # this attempt does not count against the file
            shutil.rmtree(out, ignore_errors=True)
            if counted:
                with contextlib.suppress(Exception):
                    await self.records.uncount_attempt(job.id)
            raise
        except Exception:
            await asyncio.to_thread(shutil.rmtree, out, True)
            logger.exception("[%s] conversion of %s failed", doc.meeting_id, doc.number)
            await self._fail(job, {"code": "internal", "message":
                                   "the server failed to convert the file"})
        else:
            job.state, job.stage, job.progress = "ready", "ready", 1.0
            job.version_id, job.pages = version.id, len(converted.pages)
            job.finished_at = time.time()
            logger.info("[%s] %s %s rev %d ready: %d pages", doc.meeting_id, doc.number,
                        version.language, version.revision, job.pages)
            self._emit(doc.meeting_id, "register", {"documentId": doc.id,
                                                    "versionId": version.id})
        if job.state != "running":
            await asyncio.to_thread(self._incoming(job.id).unlink, True)

    # pages

    async def version(self, invite: Invite, version_id: str) -> tuple[Document, Version]:
        v = await self.records.version(version_id) if ID.match(version_id) else None
        if v is None:
            raise RostrumError("not-found", "no such document version")
        doc = await self._document(invite, v.document_id)
        return doc, v

    async def pages(self, invite: Invite, version_id: str) -> list[dict[str, Any]]:
        await self.version(invite, version_id)
        return await self.records.pages(version_id)

    async def page_file(self, invite: Invite, version_id: str, page: int, width: int | None
                        ) -> Path:
        """The image (``width``) or text layer (None) of a page."""
        doc, v = await self.version(invite, version_id)
        if not 1 <= page <= v.pages:
            raise RostrumError("not-found", f"page must be 1..{v.pages}")
        name = f"{page}.json" if width is None else f"{page}-{width}.webp"
        path = self.version_dir(doc.meeting_id, v.id) / name
        if not await asyncio.to_thread(path.is_file):
            raise RostrumError("not-found", "no such page image (widths: see the pages list)")
        return path

    # search

    async def search(self, invite: Invite, text: str, language: str | None, kind: str | None
                     ) -> dict[str, Any]:
        return {"hits": await self.search_many([invite], text, language, kind)}

    async def search_many(self, invites: list[Invite], text: str, language: str | None,
                          kind: str | None) -> list[dict[str, Any]]:
        """Pages of the documents each invite may read in its meeting, best first."""
        if language is not None and language not in register.LANGUAGES:
            raise RostrumError("bad-request", "language must be one of"
                               f" {', '.join(register.LANGUAGES)}")
        if kind is not None and kind not in register.KINDS.values():
            raise RostrumError("bad-request", "kind must be one of"
                               f" {', '.join(register.KINDS.values())}")
        visible: dict[str, Document] = {}
        for invite in invites:
            visible.update({d.id: d for d in await self.records.documents(invite.meeting_id)
                            if await self._visible(invite, d)})
        filters = Filters(tuple(dict.fromkeys(i.meeting_id for i in invites)), language, kind)

        def run(db: Any) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
            _, hits = search(db, self.normaliser, text, filters)
            hits = [h for h in hits if h["documentId"] in visible]
            return hits, other_versions(db, sorted({h["documentId"] for h in hits}))

        hits, others = await self.store.run(run)
        for hit in hits:
            doc = visible[hit["documentId"]]
            hit["number"], hit["title"] = doc.number, doc.title
            hit["link"] = (f"/m/{doc.meeting_id}#document={doc.id}&version={hit['versionId']}"
                           f"&page={hit['page']}")
            hit["otherLanguages"] = [
                {**o, "page": min(hit["page"], o["pages"])}
                for o in others.get(doc.id, []) if o["language"] != hit["language"]]
        return hits

    # the shared screen

    async def _screen(self, meeting_id: str) -> MeetingScreen:
        ms = self.screens.get(meeting_id)
        if ms is None:
            ms = self.screens[meeting_id] = MeetingScreen()
        if not ms.loaded:
            saved = await self.records.load_show(meeting_id)
            if saved is not None and not ms.loaded:
                ms.screen = Screen.from_json(saved)
            ms.loaded = True
        return ms

    async def screen_state(self, participant: Participant) -> dict[str, Any]:
        ms = await self._screen(participant.meeting_id)
        return {**ms.screen.to_json(),
                "mayPresent": presenter.may_present(ms.screen, participant.role,
                                                    participant.id)}

    def may_present_now(self, participant: Participant) -> bool:
        """The presenter right as the screen last loaded says (no I/O: a meeting whose
        screen was never loaded has no presenter delegate, so only the managers)."""
        ms = self.screens.get(participant.meeting_id)
        return presenter.may_present(ms.screen if ms is not None else Screen(),
                                     participant.role, participant.id)

    async def _change(self, participant: Participant,
                      change: Callable[[Screen], Screen], persist: bool = True) -> Screen:
        ms = await self._screen(participant.meeting_id)
        async with ms.lock:
            try:
                ms.screen = change(ms.screen)
            except PresenterError as exc:
                raise RostrumError(exc.code, exc.message) from None
            if persist:
                await self.records.save_show(participant.meeting_id, ms.screen.to_json())
        self._emit(participant.meeting_id, "screen", ms.screen.to_json())
        return ms.screen

    def _require(self, screen: Screen, participant: Participant) -> None:
        try:
            presenter.require_presenter(screen, participant.role, participant.id)
        except PresenterError as exc:
            raise RostrumError(exc.code, exc.message) from None

    async def show(self, participant: Participant, document_id: str, version_id: str | None,
                   language: str | None, page: int) -> Screen:
        ms = await self._screen(participant.meeting_id)
        self._require(ms.screen, participant)  # before telling anything about documents
        invite = Invite(participant.meeting_id, participant.role, 0, "")
        doc = await self._document(invite, document_id)
        if doc.status != "published":
            raise RostrumError("conflict", f"{doc.number} is not accepted yet")
        versions = await self.records.versions([doc.id])
        old = register.superseded_ids(versions)
        if version_id is not None:
            chosen = next((v for v in versions if v.id == version_id), None)
        else:
            current = [v for v in versions if v.id not in old]
            chosen = next((v for v in current if v.language == language), None) \
                or (current[0] if current and language is None else None)
        if chosen is None:
            raise RostrumError("not-found", "no such version of this document")
        showing = Showing(doc.id, chosen.id, page, chosen.pages, doc.number, chosen.language)

        def change(screen: Screen) -> Screen:
            presenter.require_presenter(screen, participant.role, participant.id)
            return presenter.show(screen, participant.id, showing)

        return await self._change(participant, change)

    async def highlight(self, participant: Participant, page: int,
                        boxes: list[tuple[float, float, float, float]]) -> Screen:
        def change(screen: Screen) -> Screen:
            presenter.require_presenter(screen, participant.role, participant.id)
            return presenter.highlight(screen, participant.id, page,
                                       tuple(Box(*b) for b in boxes))

        return await self._change(participant, change)

    async def point(self, participant: Participant, at: tuple[float, float] | None) -> Screen:
        def change(screen: Screen) -> Screen:
            presenter.require_presenter(screen, participant.role, participant.id)
            return presenter.point(screen, at)

        return await self._change(participant, change, persist=False)

    async def give(self, participant: Participant, target_id: str | None,
                   speaker_id: str | None) -> Screen:
        target = None if target_id is None else self.meetings.find(participant.meeting_id,
                                                                   target_id)
        if target_id is not None and target is None:
            raise RostrumError("not-found", "no such participant in this meeting")

        def change(screen: Screen) -> Screen:
            return presenter.give(screen, participant.role, target_id,
                                  None if target is None else target.role, speaker_id)

        return await self._change(participant, change)

    async def restore_screen(self, meeting_id: str, speaker_id: str | None) -> None:
        """After a restart or a takeover (meeting_server/live_state.py): the screen as it was
        saved (the page shown, the presenter right the chair gave), held to the floor as
        restored: a delegate's presenter right lasts only while they hold the floor."""
        ms = await self._screen(meeting_id)
        async with ms.lock:
            if ms.screen.delegate is not None and ms.screen.delegate != speaker_id:
                ms.screen = presenter.floor_moved(ms.screen, speaker_id)
                await self.records.save_show(meeting_id, ms.screen.to_json())
        self._emit(meeting_id, "screen", ms.screen.to_json())

    def floor_moved(self, meeting_id: str, speaker_id: str | None) -> None:
        ms = self.screens.get(meeting_id)
        if ms is None or ms.screen.delegate is None or ms.screen.delegate == speaker_id:
            return
        ms.screen = presenter.floor_moved(ms.screen, speaker_id)
        # saved too: a restart must not read back a presenter right the floor ended (the
        # screen as it is when the write runs: a later change is never overwritten)
        async def save() -> None:
            await self.records.save_show(meeting_id, ms.screen.to_json())

        task = asyncio.ensure_future(save())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self._emit(meeting_id, "screen", ms.screen.to_json())


def _page_texts(out: Path, pages: list[dict[str, Any]]) -> list[PageText]:
    """What search indexes of each page: the Office original's text where there is one."""
    texts = []
    for page in pages:
        layer = json.loads((out / f"{page['page']}.json").read_text(encoding="utf-8"))
        texts.append(PageText(page["page"], layer.get("source") or layer["text"]))
    return texts


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _fields(version: Version) -> dict[str, Any]:
    return {name: getattr(version, name) for name in Version.__slots__}
