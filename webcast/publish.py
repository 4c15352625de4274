"""Writing a rendition's public playlists from its generations' playlists (file I/O around
the pure ``playlist`` module; used by the webcast process while it runs and by the control
plane when it ends a meeting whose process is gone): ``index.m3u8`` has every segment (the
archive; VOD once ended), ``live.m3u8`` the last ``LIVE_WINDOW`` (what the live URL of
``index.m3u8`` serves while the meeting runs)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from .layout import generations
from .playlist import (
    MediaPlaylist,
    PlaylistError,
    join_generations,
    parse_media,
    window,
    write_media,
)

LIVE_WINDOW = 15  # segments in the live playlist (30 s): what every viewer re-fetches

logger = logging.getLogger(__name__)


def write_atomic(path: Path, text: str) -> None:
    """Readers see the old file or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def read_generation(folder: Path, generation: int) -> MediaPlaylist:
    path = folder / f"g{generation}.m3u8"
    try:
        return parse_media(path.read_text(encoding="utf-8"))
    except (OSError, PlaylistError, ValueError) as exc:
        logger.warning("%s unreadable, left out: %s", path, exc)
        return MediaPlaylist()


class RenditionPublisher:
    """Keeps one rendition's ``index.m3u8`` up to date: the generations before this one
    (read once: they no longer change) joined with the current one."""

    def __init__(self, folder: Path, generation: int | None = None) -> None:
        self.folder = folder
        self.generation = generation
        self._earlier = [read_generation(folder, g) for g in generations(folder)
                         if generation is None or g < generation]
        self._mtime: int | None = None
        self.segments = 0

    def publish(self, *, ended: bool = False, force: bool = False) -> bool:
        """Rewrite index.m3u8 if the current generation's playlist changed (or ``force``).
        True when it was written."""
        current: list[MediaPlaylist] = []
        if self.generation is not None:
            path = self.folder / f"g{self.generation}.m3u8"
            try:
                mtime = path.stat().st_mtime_ns
            except FileNotFoundError:
                mtime = None
            if mtime == self._mtime and not force:
                return False
            self._mtime = mtime
            if mtime is not None:
                current.append(read_generation(self.folder, self.generation))
        joined = join_generations([*self._earlier, *current], ended=ended)
        self.segments = len(joined.segments)
        write_atomic(self.folder / "index.m3u8", write_media(joined))
        if not ended:
            write_atomic(self.folder / "live.m3u8", write_media(window(joined, LIVE_WINDOW)))
        return True


def end_rendition(folder: Path) -> int:
    """The meeting ended: index.m3u8 becomes the VOD playlist of every generation."""
    publisher = RenditionPublisher(folder)
    publisher.publish(ended=True, force=True)
    return publisher.segments
