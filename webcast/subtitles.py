"""The timeline WebVTT caption segments follow, pure: each media segment of the floor's
rendition with its start on the media timeline (seconds from its generation's first sample,
which is where the webcast process starts its timestamps) and on the wall clock (its
``EXT-X-PROGRAM-DATE-TIME``), and the subtitle playlist that mirrors it segment for
segment (same durations and discontinuities, so the captions stay aligned with the media).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from .playlist import MediaPlaylist, Segment

MPEGTS_HZ = 90_000  # the clock of X-TIMESTAMP-MAP's MPEGTS


@dataclass(frozen=True)
class Slot:
    """One media segment as a caption segment sees it."""

    name: str  # the WebVTT segment's file name (the media segment's, ending .vtt)
    duration: float
    media_start: float  # seconds on its generation's media timeline
    wall_start: float | None  # Unix time of its first sample, when the playlist says
    discontinuity: bool

    @property
    def mpegts(self) -> int:
        """The 90 kHz media timestamp of the segment's start (X-TIMESTAMP-MAP)."""
        return round(self.media_start * MPEGTS_HZ)


def parse_pdt(stamp: str) -> float | None:
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(stamp, fmt).timestamp()
        except ValueError:
            continue
    return None


def vtt_name(segment: Segment) -> str:
    stem = segment.uri.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return f"{stem}.vtt"


def slots(media: MediaPlaylist) -> list[Slot]:
    """The media playlist's segments on both timelines. A new generation (a discontinuity
    or a new init segment) starts its media timeline at 0 again."""
    out: list[Slot] = []
    media_t = 0.0
    wall: float | None = None
    current_map: str | None = None
    for i, segment in enumerate(media.segments):
        new_generation = i == 0 or segment.discontinuity or segment.map_uri != current_map
        current_map = segment.map_uri
        if new_generation:
            media_t, wall = 0.0, None
        if segment.program_date_time:
            wall = parse_pdt(segment.program_date_time) or wall
        out.append(Slot(vtt_name(segment), segment.duration, media_t, wall,
                        segment.discontinuity))
        media_t += segment.duration
        wall = None if wall is None else wall + segment.duration
    return out


def subtitle_playlist(media: MediaPlaylist, count: int) -> MediaPlaylist:
    """The subtitle rendition's playlist for the first ``count`` media segments: the same
    durations, discontinuities and dates, WebVTT files, no init segment."""
    segments = tuple(replace(s, uri=vtt_name(s), map_uri=None)
                     for s in media.segments[:count])
    return replace(media, segments=segments)
