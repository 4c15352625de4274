"""The webcast's caption renditions: one WebVTT subtitle rendition per caption language,
written by the control plane, which holds the final captions, from the timeline of the floor
rendition's playlist that the webcast process publishes (webcast.subtitles).

Each media segment gets a WebVTT segment of the same name, once the media segment is listed:
the cues of the final lines that overlap its time span, times from the segment's start, and
``X-TIMESTAMP-MAP`` mapping that start to the media's 90 kHz timestamp, so a player shows a
line at the moment it was said. A written segment never changes (caches keep it for good):
a line made final after its first segment was written appears from the next one (its cue
lasts until `transcript.LINGER_S` after it was made final). ``index.m3u8`` (every segment;
VOD once the meeting ended) and ``live.m3u8`` (the window) mirror the media playlist.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path

from webcast.layout import FLOOR
from webcast.playlist import MediaPlaylist, PlaylistError, end, parse_media, window, write_media
from webcast.publish import LIVE_WINDOW, write_atomic
from webcast.subtitles import Slot, slots, subtitle_playlist

from .captions_store import Caption, CaptionStore
from .transcript import cues, webvtt

LOOKBACK_S = 120.0  # a line started this long before a segment can still overlap it

logger = logging.getLogger(__name__)


@dataclass
class SubtitleWriter:
    """Keeps one meeting's caption renditions up to date (``update`` every second)."""

    meeting_id: str
    folder: Path  # the meeting's webcast folder
    languages: tuple[str, ...]
    captions: CaptionStore
    written: dict[str, int] = field(default_factory=dict)  # segments handled per language

    def _media(self) -> MediaPlaylist | None:
        path = self.folder / "audio" / FLOOR / "index.m3u8"
        try:
            return parse_media(path.read_text(encoding="utf-8"))
        except (OSError, PlaylistError, ValueError):
            return None

    async def update(self, *, ended: bool = False) -> None:
        loop = asyncio.get_running_loop()
        media = await loop.run_in_executor(None, self._media)
        if media is None:
            return
        timeline = slots(media)
        for language in self.languages:
            done = self.written.get(language, 0)
            if done >= len(timeline) and not ended:
                continue
            new = timeline[done:]
            files = await self._segments(language, new)
            await loop.run_in_executor(None, self._write, language, media, files,
                                       len(timeline), ended)
            self.written[language] = len(timeline)

    async def _segments(self, language: str, new: list[Slot]) -> list[tuple[str, str]]:
        walls = [s.wall_start for s in new if s.wall_start is not None]
        captions: list[Caption] = []
        if walls:
            captions = await self.captions.final_captions(
                self.meeting_id, language, min(walls) - LOOKBACK_S,
                max(walls) + max(s.duration for s in new))
        spans = {c.id: (c.start, c.end) for c in cues(captions, 0.0)}
        out = []
        for slot in new:
            mine: list[Caption] = []
            if slot.wall_start is not None:
                start, stop = slot.wall_start, slot.wall_start + slot.duration
                mine = [c for c in captions
                        if spans[c.id][0] < stop and spans[c.id][1] > start]
            origin = slot.wall_start or 0.0
            out.append((slot.name, webvtt(mine, origin, language=language,
                                          mpegts=slot.mpegts)))
        return out

    def _write(self, language: str, media: MediaPlaylist, files: list[tuple[str, str]],
               count: int, ended: bool) -> None:
        folder = self.folder / "subtitles" / language
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in files:
            path = folder / name
            if not path.exists():  # published segments never change
                write_atomic(path, text)
        playlist = subtitle_playlist(media, count)
        if ended:
            write_atomic(folder / "index.m3u8", write_media(end(playlist)))
        else:
            write_atomic(folder / "index.m3u8", write_media(playlist))
            write_atomic(folder / "live.m3u8", write_media(window(playlist, LIVE_WINDOW)))
