"""The webcast of each meeting: its setting (off, public, observers only), its process, its
taps on the meeting's router, and its archive.

When a meeting with the webcast on goes live, the service starts the meeting's webcast
process (``WebcastProcess``) and attaches plain RTP taps to the router: one subscriber
whose seat follows the floor speaker's camera (else the chair's) and whose channel slot
carries the floor, and one per language channel. When the router closes (everyone left)
the taps go; the process goes on (a slate and silence) until the meeting ends, when its
playlists get EXT-X-ENDLIST and stay as the archive, with chapters from the floor log.
Retention removes archives older than their meeting's setting.

The taps are commands on the meeting's ``RouterHandle`` (``OpenTap``, ``PinTap``,
``TapKeyframe``, ``CloseTap``; sfu/commands.py), so the webcast works the same whether the
router runs in this process or in a worker process; this service holds no Router. A fresh
router (after everyone left and came back, or on another worker after its worker died)
gets the taps again.

Records (the setting, when the webcast started and ended, deletion) live in the service's
own SQLite table (``SCHEMA``, handed to ``Store.add_schema``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sfu.commands import CloseTap, CommandError, OpenTap, PinTap, TapKeyframe, TapOpened
from sfu.worker_client import RouterHandle, log_failure
from webcast.chapters import chapters
from webcast.layout import FLOOR, MEETING_ID, Job, rendition_dirs
from webcast.playlist import PlaylistError, parse_media
from webcast.publish import end_rendition
from webcast.retention import Archived, expired

from .captions_store import CaptionStore
from .errors import RostrumError
from .floor import FloorService
from .meetings import LiveMeeting, MeetingService
from .speakers_list import Grant
from .store import Store
from .webcast_process import WebcastProcess, free_even_ports
from .webcast_subtitles import SubtitleWriter

logger = logging.getLogger(__name__)

ACCESS = ("off", "public", "observers")
SCHEMA = """
CREATE TABLE IF NOT EXISTS webcasts (
    meeting_id TEXT PRIMARY KEY,
    access TEXT NOT NULL DEFAULT 'off',
    retention_days INTEGER,
    started_at REAL,
    ended_at REAL,
    deleted_at REAL
);
"""
WATCH_INTERVAL_S = 1.0
ACCESS_ENV = "ROSTRUM_WEBCAST"  # the access of meetings that have no setting of their own
RETENTION_INTERVAL_S = 3600.0
MAIN_TAP = "webcast"  # the picture and the floor; "webcast-<lang>" each language channel


def default_access(environ: Mapping[str, str] | None = None) -> str:
    """The deployment's default webcast access (``ROSTRUM_WEBCAST``: off, public,
    observers; off when unset): a meeting's own setting overrides it."""
    value = (os.environ if environ is None else environ).get(ACCESS_ENV, "off").strip()
    if value not in ACCESS:
        raise ValueError(f"{ACCESS_ENV} must be one of {', '.join(ACCESS)}, not {value!r}")
    return value


@dataclass(frozen=True)
class WebcastRecord:
    meeting_id: str
    access: str
    retention_days: int | None
    started_at: float | None
    ended_at: float | None
    deleted_at: float | None


@dataclass
class MeetingWebcast:
    meeting_id: str
    job: Job
    process: WebcastProcess
    router: RouterHandle | None = None  # the router the taps are on
    taps: list[str] = field(default_factory=list)  # their tap ids
    attaching: asyncio.Lock = field(default_factory=asyncio.Lock)
    ending: bool = False
    subtitles: SubtitleWriter | None = None  # the caption renditions, when captions exist


class WebcastService:
    def __init__(self, store: Store, meetings: MeetingService, floor: FloorService,
                 root: Path, *, default_access: str = "off",
                 captions: CaptionStore | None = None) -> None:
        if default_access not in ACCESS:
            raise ValueError(f"webcast access must be one of {ACCESS}")
        self.store = store
        self.meetings = meetings
        self.floor = floor
        self.root = root
        self.default_access = default_access
        self.captions = captions  # final captions: the WebVTT renditions (webcast_subtitles)
        self.running: dict[str, MeetingWebcast] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ending: set[asyncio.Future[None]] = set()  # webcasts finishing their archive
        self._watch_task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        # the records, read once: every HLS request asks (2,000 viewers, two a second each);
        # this service is their only writer (_update), which drops the entry
        self._records: dict[str, WebcastRecord] = {}
        self._writes = 0  # a read that overlapped a write is not cached
        meetings.live_listeners.append(self._meeting_live)
        meetings.router_listeners.append(self._router_ready)
        floor.speaker_listeners.append(self._speaker_changed)

    # records

    async def record(self, meeting_id: str) -> WebcastRecord:
        cached = self._records.get(meeting_id)
        if cached is not None:
            return cached
        writes = self._writes

        def run(db: Any) -> WebcastRecord:
            row = db.execute("SELECT meeting_id, access, retention_days, started_at, "
                             "ended_at, deleted_at FROM webcasts WHERE meeting_id = ?",
                             (meeting_id,)).fetchone()
            if row is None:
                return WebcastRecord(meeting_id, self.default_access, None, None, None, None)
            return WebcastRecord(*row)
        record = await self.store.run(run)
        if writes == self._writes:
            if len(self._records) >= 10_000:
                self._records.clear()
            self._records[meeting_id] = record
        return record

    async def _update(self, meeting_id: str, **fields: Any) -> None:
        current = await self.record(meeting_id)
        values = {"access": current.access, "retention_days": current.retention_days,
                  "started_at": current.started_at, "ended_at": current.ended_at,
                  "deleted_at": current.deleted_at, **fields}

        def run(db: Any) -> None:
            with db:
                db.execute("INSERT INTO webcasts (meeting_id, access, retention_days, "
                           "started_at, ended_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?) "
                           "ON CONFLICT(meeting_id) DO UPDATE SET access = excluded.access, "
                           "retention_days = excluded.retention_days, started_at = "
                           "excluded.started_at, ended_at = excluded.ended_at, deleted_at = "
                           "excluded.deleted_at",
                           (meeting_id, values["access"], values["retention_days"],
                            values["started_at"], values["ended_at"], values["deleted_at"]))
        self._writes += 1
        self._records.pop(meeting_id, None)
        try:
            await self.store.run(run)
        finally:
            self._writes += 1
            self._records.pop(meeting_id, None)

    async def set_settings(self, meeting_id: str, access: str | None,
                           retention_days: int | None, clear_retention: bool = False) -> None:
        if access is not None and access not in ACCESS:
            raise RostrumError("bad-request", f"access must be one of {', '.join(ACCESS)}")
        if retention_days is not None and not 1 <= retention_days <= 36500:
            raise RostrumError("bad-request", "retentionDays must be 1..36500")
        fields: dict[str, Any] = {}
        if access is not None:
            fields["access"] = access
        if retention_days is not None or clear_retention:
            fields["retention_days"] = retention_days
        await self._update(meeting_id, **fields)
        live = self.meetings.live.get(meeting_id)
        if access not in (None, "off") and live is not None:
            self._spawn(self._start(live))

    async def archives(self) -> list[tuple[WebcastRecord, str]]:
        """Ended, not deleted webcasts with their meeting's title, newest first."""
        def run(db: Any) -> list[tuple[Any, ...]]:
            return list(db.execute(
                "SELECT w.meeting_id, w.access, w.retention_days, w.started_at, w.ended_at, "
                "w.deleted_at, m.title FROM webcasts w JOIN meetings m ON m.id = w.meeting_id "
                "WHERE w.ended_at IS NOT NULL AND w.deleted_at IS NULL "
                "ORDER BY w.ended_at DESC"))
        return [(WebcastRecord(*row[:6]), str(row[6])) for row in await self.store.run(run)]

    def folder(self, meeting_id: str) -> Path:
        if not MEETING_ID.match(meeting_id):
            raise RostrumError("not-found", "no such meeting")
        return self.root / meeting_id

    async def delete_archive(self, meeting_id: str) -> None:
        record = await self.record(meeting_id)
        if record.ended_at is None:
            raise RostrumError("conflict", "the meeting's webcast has not ended")
        folder = self.folder(meeting_id)
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: shutil.rmtree(folder, ignore_errors=True))
        await self._update(meeting_id, deleted_at=time.time())
        logger.info("[%s] webcast archive deleted", meeting_id)

    async def chapters(self, meeting_id: str) -> list[dict[str, Any]]:
        start = self.recording_start(meeting_id)
        if start is None:
            return []
        record = await self.record(meeting_id)
        rows = await self.store.floor_log(meeting_id)
        return [c.to_json() for c in chapters(rows, start, record.ended_at)]

    def recording_start(self, meeting_id: str) -> float | None:
        """The wall-clock time of the floor rendition's first segment."""
        path = self.folder(meeting_id) / "audio" / FLOOR / "index.m3u8"
        try:
            playlist = parse_media(path.read_text(encoding="utf-8"))
        except (OSError, PlaylistError):
            return None
        if not playlist.segments or not playlist.segments[0].program_date_time:
            return None
        from datetime import datetime
        stamp = playlist.segments[0].program_date_time
        try:
            return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
        except ValueError:
            return None

    # lifecycle

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def start(self) -> None:
        """Finish the archives of meetings that ended while no process could (a crash)."""
        def run(db: Any) -> list[tuple[str, float]]:
            return list(db.execute(
                "SELECT w.meeting_id, m.ended_at FROM webcasts w JOIN meetings m "
                "ON m.id = w.meeting_id WHERE w.started_at IS NOT NULL AND w.ended_at IS NULL "
                "AND m.ended_at IS NOT NULL"))
        for meeting_id, ended_at in await self.store.run(run):
            await self._finish_archive(meeting_id, ended_at)
        self._watch_task = asyncio.ensure_future(self._watch())

    def _meeting_live(self, live: LiveMeeting) -> None:
        self._spawn(self._start(live))

    async def _start(self, live: LiveMeeting) -> None:
        meeting_id = live.record.id
        async with self._lock:
            record = await self.record(meeting_id)
            if record.access == "off" or live.record.ended_at is not None:
                return
            running = self.running.get(meeting_id)
            if running is None:
                channels = (FLOOR, *[c for c in live.record.languages if c != FLOOR])
                ports = free_even_ports(len(channels) + 1)
                job = Job(meeting_id=meeting_id, title=live.record.title,
                          folder=str(self.folder(meeting_id)), channels=channels,
                          audio_ports=tuple(ports[1:]), video_port=ports[0],
                          video_codec=live.record.video_codec,
                          subtitles=tuple(c for c in live.record.languages if c != FLOOR)
                          if self.captions is not None else ())
                process = WebcastProcess(job, self.folder(meeting_id))
                running = MeetingWebcast(meeting_id, job, process)
                if self.captions is not None and job.subtitles:
                    running.subtitles = SubtitleWriter(meeting_id, self.folder(meeting_id),
                                                       job.subtitles, self.captions)
                process.on_ready = lambda _gen, r=running: self._request_keyframes(r)
                self.running[meeting_id] = running
                process.start()
                if record.started_at is None:
                    await self._update(meeting_id, started_at=time.time())
                logger.info("[%s] webcast started (%s)", meeting_id, record.access)
            await self._attach_live(running, live)

    async def _attach_live(self, running: MeetingWebcast, live: LiveMeeting) -> None:
        """The taps go on the meeting's router, wherever it runs (in this process or in a
        worker process): they are commands on its handle (``OpenTap`` …, sfu/commands.py)."""
        async with running.attaching:
            try:
                await self._attach(running, live.router)
            except CommandError as exc:  # the worker went away meanwhile: tried again
                logger.warning("[%s] webcast taps not opened: %s", running.meeting_id, exc)

    def _router_ready(self, live: LiveMeeting) -> None:
        """A live meeting has a (new) router, e.g. on another worker after its worker died
        (MeetingService.router_listeners): the taps move to it at once."""
        running = self.running.get(live.record.id)
        if running is not None and not running.ending:
            self._spawn(self._attach_live(running, live))

    async def _attach(self, running: MeetingWebcast, router: RouterHandle) -> None:
        if (running.router is router and running.taps) or router.closed or running.ending:
            return
        await self._detach(running)
        job = running.job
        host = job.host
        wanted = [OpenTap(MAIN_TAP, FLOOR, (host, job.audio_ports[0]), (host, job.video_port))]
        wanted += [OpenTap(f"{MAIN_TAP}-{channel}", channel, (host, port), None)
                   for channel, port in zip(job.channels[1:], job.audio_ports[1:], strict=True)]
        taps: list[str] = []
        try:
            for command in wanted:
                opened = await router.negotiate(command)
                assert isinstance(opened, TapOpened)
                taps.append(opened.tap_id)
        except BaseException:
            await self._close_taps(router, taps)
            raise
        running.router, running.taps = router, taps
        logger.info("[%s] webcast taps on the router: %s", running.meeting_id,
                    ", ".join(taps))
        self._update_pin(running)

    async def _detach(self, running: MeetingWebcast) -> None:
        router, taps = running.router, running.taps
        running.taps, running.router = [], None
        if router is not None:
            await self._close_taps(router, taps)

    @staticmethod
    async def _close_taps(router: RouterHandle, taps: list[str]) -> None:
        for tap_id in taps:
            if router.closed:
                return  # the router's close closed them
            try:
                await router.negotiate(CloseTap(tap_id))
            except CommandError as exc:
                logger.warning("[%s] closing tap %s: %s", router.meeting_id, tap_id, exc)

    def _request_keyframes(self, running: MeetingWebcast) -> None:
        router = running.router
        if router is None or router.closed or not running.taps:
            return
        router.submit(TapKeyframe(MAIN_TAP)).add_done_callback(
            log_failure(f"[{running.meeting_id}] webcast keyframe request"))

    def _update_pin(self, running: MeetingWebcast) -> None:
        """The webcast's picture: the floor speaker's camera, else the chair's (the router
        takes the first of them who sends a camera)."""
        router = running.router
        live = self.meetings.live.get(running.meeting_id)
        if router is None or live is None or not running.taps or router.closed:
            return
        speaker = self.floor.floor(running.meeting_id).speakers.speaker
        candidates = [] if speaker is None else [speaker.participant_id]
        candidates += [p.id for p in live.participants.values()
                       if p.role == "chair" and p.id not in candidates]
        router.submit(PinTap(MAIN_TAP, tuple(candidates))).add_done_callback(
            log_failure(f"[{running.meeting_id}] webcast pin"))

    def _speaker_changed(self, meeting_id: str, grant: Grant | None) -> None:
        running = self.running.get(meeting_id)
        if running is not None:
            self._update_pin(running)

    async def _watch(self) -> None:
        """Every second: follow the router (a new one after everyone left and came back),
        the picture, and the meeting's end; every hour, retention."""
        last_retention = 0.0
        try:
            while True:
                await asyncio.sleep(WATCH_INTERVAL_S)
                for meeting_id, running in list(self.running.items()):
                    try:
                        await self._check(meeting_id, running)
                    except Exception:
                        logger.exception("[%s] webcast check failed", meeting_id)
                if time.monotonic() - last_retention > RETENTION_INTERVAL_S:
                    last_retention = time.monotonic()
                    try:
                        await self.apply_retention(time.time())
                    except Exception:
                        logger.exception("webcast retention failed")
        except asyncio.CancelledError:
            pass

    async def _check(self, meeting_id: str, running: MeetingWebcast) -> None:
        if running.ending:
            return
        meeting = await self.store.get_meeting(meeting_id)
        if meeting is None or meeting.ended_at is not None:
            # in a task of its own: a process's last segments must not hold up the others
            ending = asyncio.ensure_future(self.end(
                meeting_id, meeting.ended_at if meeting and meeting.ended_at else time.time()))
            self._ending.add(ending)
            ending.add_done_callback(self._ending.discard)
            return
        if running.router is not None and running.router.closed:
            await self._detach(running)
        live = self.meetings.live.get(meeting_id)
        if live is not None and not live.router.closed and running.router is not live.router:
            await self._attach_live(running, live)
        self._update_pin(running)
        if running.subtitles is not None:
            await running.subtitles.update()

    async def end(self, meeting_id: str, ended_at: float) -> None:
        """The meeting ended: the process finishes its playlists (EXT-X-ENDLIST); the
        archive stays."""
        running = self.running.get(meeting_id)
        if running is None or running.ending:
            return
        running.ending = True
        await self._detach(running)
        try:
            await running.process.end()
            await self._finish_archive(meeting_id, ended_at)
        finally:
            self.running.pop(meeting_id, None)

    async def _finish_archive(self, meeting_id: str, ended_at: float) -> None:
        folder = self.folder(meeting_id)
        job_dirs: list[str] = []
        job: Job | None = None
        try:
            job = Job.from_json((folder / "job.json").read_text("utf-8"))
            job_dirs = rendition_dirs(job)
        except (OSError, ValueError, KeyError, TypeError):
            logger.warning("[%s] no webcast job to finish", meeting_id)
        for name in job_dirs:
            path = folder / name
            if path.is_dir():
                end_rendition(path)
        if job is not None and job.subtitles and self.captions is not None:
            # the caption renditions of the archive: every segment, VOD like the media
            await SubtitleWriter(meeting_id, folder, job.subtitles,
                                 self.captions).update(ended=True)
        await self._update(meeting_id, ended_at=ended_at)
        logger.info("[%s] webcast archived", meeting_id)

    async def apply_retention(self, now: float) -> list[str]:
        archived = [Archived(r.meeting_id, r.ended_at or now, r.retention_days)
                    for r, _ in await self.archives()]
        gone = expired(archived, now)
        for meeting_id in gone:
            await self.delete_archive(meeting_id)
        return gone

    async def close(self) -> None:
        if self._watch_task is not None:
            self._watch_task.cancel()
            await asyncio.gather(self._watch_task, return_exceptions=True)
        if self._ending:  # archives being finished: let them finish
            await asyncio.wait(list(self._ending), timeout=25)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for running in list(self.running.values()):
            with contextlib.suppress(Exception):
                await self._detach(running)
            await running.process.stop()
        self.running.clear()
