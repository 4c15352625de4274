"""HLS playlists (RFC 8216), pure: parse and write media playlists, join the generations a
restarted webcast process leaves, write and parse the master playlist.

FFmpeg's HLS muxer writes one media playlist per rendition and per *generation* (one run of
the webcast process); the public playlist of a rendition is the join of its generations,
each after an ``EXT-X-DISCONTINUITY`` with its own ``EXT-X-MAP`` (a restarted encoder has
its own init segment), so a player keeps playing across a crash and the archive keeps every
segment published before it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace


class PlaylistError(ValueError):
    pass


@dataclass(frozen=True)
class Segment:
    uri: str
    duration: float
    map_uri: str | None = None  # the init segment (EXT-X-MAP) it decodes with
    discontinuity: bool = False  # an EXT-X-DISCONTINUITY before it
    program_date_time: str | None = None


@dataclass(frozen=True)
class MediaPlaylist:
    segments: tuple[Segment, ...] = ()
    target_duration: int = 2
    media_sequence: int = 0
    playlist_type: str | None = "EVENT"  # "EVENT" while live, "VOD" once ended, or None
    ended: bool = False
    independent_segments: bool = True
    version: int = 7
    discontinuity_sequence: int = 0

    @property
    def duration(self) -> float:
        return sum(s.duration for s in self.segments)


_ATTRIBUTE = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,"\s]*)')


def parse_attributes(text: str) -> dict[str, str]:
    """An attribute list (RFC 8216 4.2): quoted strings lose their quotes."""
    out: dict[str, str] = {}
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _ATTRIBUTE.match(text, pos)
        if match is None:
            raise PlaylistError(f"bad attribute list at {text[pos:pos + 20]!r}")
        value = match.group(2)
        out[match.group(1)] = value[1:-1] if value.startswith('"') else value
        pos = match.end()
        if pos < len(text):
            if text[pos] != ",":
                raise PlaylistError(f"bad attribute list at {text[pos:pos + 20]!r}")
            pos += 1
    return out


def _quoted(value: str) -> str:
    if any(c in value for c in '"\r\n'):
        raise PlaylistError(f"a quoted string cannot hold {value!r}")
    return f'"{value}"'


def parse_media(text: str) -> MediaPlaylist:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines or lines[0] != "#EXTM3U":
        raise PlaylistError("not an HLS playlist (no #EXTM3U)")
    segments: list[Segment] = []
    target, sequence, version, discontinuities = 2, 0, 7, 0
    kind: str | None = None
    ended = independent = False
    map_uri: str | None = None
    duration: float | None = None
    discontinuity = False
    pdt: str | None = None
    for line in lines[1:]:
        if line.startswith("#EXTINF:"):
            try:
                duration = float(line[8:].split(",", 1)[0])
            except ValueError:
                raise PlaylistError(f"bad EXTINF {line!r}") from None
            if not math.isfinite(duration) or duration < 0:
                raise PlaylistError(f"bad EXTINF {line!r}")
        elif line.startswith("#EXT-X-TARGETDURATION:"):
            target = int(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            sequence = int(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-DISCONTINUITY-SEQUENCE:"):
            discontinuities = int(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-VERSION:"):
            version = int(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-PLAYLIST-TYPE:"):
            kind = line.split(":", 1)[1]
        elif line.startswith("#EXT-X-MAP:"):
            map_uri = parse_attributes(line[11:]).get("URI")
            if not map_uri:
                raise PlaylistError("EXT-X-MAP without a URI")
        elif line == "#EXT-X-DISCONTINUITY":
            discontinuity = True
        elif line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            pdt = line.split(":", 1)[1]
        elif line == "#EXT-X-ENDLIST":
            ended = True
        elif line == "#EXT-X-INDEPENDENT-SEGMENTS":
            independent = True
        elif line.startswith("#"):
            continue  # a tag we do not need
        else:
            if duration is None:
                raise PlaylistError(f"segment {line!r} without EXTINF")
            segments.append(Segment(line, duration, map_uri, discontinuity, pdt))
            duration, discontinuity, pdt = None, False, None
    return MediaPlaylist(tuple(segments), target, sequence, kind, ended, independent, version,
                         discontinuities)


def write_media(playlist: MediaPlaylist) -> str:
    target = max([playlist.target_duration] + [round(s.duration) for s in playlist.segments])
    out = ["#EXTM3U", f"#EXT-X-VERSION:{playlist.version}",
           f"#EXT-X-TARGETDURATION:{target}",
           f"#EXT-X-MEDIA-SEQUENCE:{playlist.media_sequence}"]
    if playlist.discontinuity_sequence:
        out.append(f"#EXT-X-DISCONTINUITY-SEQUENCE:{playlist.discontinuity_sequence}")
    if playlist.playlist_type:
        out.append(f"#EXT-X-PLAYLIST-TYPE:{playlist.playlist_type}")
    if playlist.independent_segments:
        out.append("#EXT-X-INDEPENDENT-SEGMENTS")
    current_map: str | None = None
    for segment in playlist.segments:
        if segment.discontinuity:
            out.append("#EXT-X-DISCONTINUITY")
        if segment.map_uri is not None and segment.map_uri != current_map:
            out.append(f"#EXT-X-MAP:URI={_quoted(segment.map_uri)}")
            current_map = segment.map_uri
        if segment.program_date_time:
            out.append(f"#EXT-X-PROGRAM-DATE-TIME:{segment.program_date_time}")
        out.append(f"#EXTINF:{segment.duration:.6f},")
        out.append(segment.uri)
    if playlist.ended:
        out.append("#EXT-X-ENDLIST")
    return "\n".join(out) + "\n"


def join_generations(generations: Iterable[MediaPlaylist], *, ended: bool = False
                     ) -> MediaPlaylist:
    """One playlist of every generation's segments, in order: each generation after the
    first starts with a discontinuity. ``ended``: the meeting is over (a VOD playlist)."""
    segments: list[Segment] = []
    target = 2
    for generation in generations:
        target = max(target, generation.target_duration)
        for i, segment in enumerate(generation.segments):
            segments.append(replace(segment, discontinuity=segment.discontinuity or (
                i == 0 and bool(segments))))
    return MediaPlaylist(tuple(segments), target, 0, "VOD" if ended else "EVENT", ended)


def window(playlist: MediaPlaylist, count: int) -> MediaPlaylist:
    """The live playlist: the last ``count`` segments (a sliding window, so what 2,000
    viewers fetch every segment stays small however long the meeting), numbered on from the
    whole (EXT-X-MEDIA-SEQUENCE, EXT-X-DISCONTINUITY-SEQUENCE); no playlist type (an EVENT
    playlist never drops a segment)."""
    if count < 1:
        raise ValueError("a window holds at least one segment")
    first = max(0, len(playlist.segments) - count)
    dropped = playlist.segments[:first]
    kept = playlist.segments[first:]
    if kept and kept[0].discontinuity:
        # the discontinuity before the window's first segment is counted, not written
        dropped = (*dropped, kept[0])
        kept = (replace(kept[0], discontinuity=False), *kept[1:])
    return replace(playlist, segments=kept, media_sequence=playlist.media_sequence + first,
                   discontinuity_sequence=playlist.discontinuity_sequence
                   + sum(s.discontinuity for s in dropped),
                   playlist_type=None)


def end(playlist: MediaPlaylist) -> MediaPlaylist:
    """The meeting ended: the playlist becomes VOD, with EXT-X-ENDLIST."""
    return replace(playlist, playlist_type="VOD", ended=True)


# master playlist

@dataclass(frozen=True)
class AudioRendition:
    group_id: str
    name: str
    language: str
    uri: str
    default: bool = False
    autoselect: bool = True
    channels: str = "1"


@dataclass(frozen=True)
class SubtitleRendition:
    """A WebVTT caption rendition (EXT-X-MEDIA:TYPE=SUBTITLES)."""

    group_id: str
    name: str
    language: str
    uri: str
    default: bool = False
    autoselect: bool = True


@dataclass(frozen=True)
class Variant:
    uri: str
    bandwidth: int
    codecs: str
    audio_group: str | None = None
    resolution: tuple[int, int] | None = None
    frame_rate: float | None = None
    subtitles_group: str | None = None  # the group of its WebVTT caption renditions


@dataclass(frozen=True)
class MasterPlaylist:
    renditions: tuple[AudioRendition, ...] = ()
    variants: tuple[Variant, ...] = ()
    version: int = 7
    subtitles: tuple[SubtitleRendition, ...] = ()


def write_master(master: MasterPlaylist) -> str:
    out = ["#EXTM3U", f"#EXT-X-VERSION:{master.version}", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for r in master.renditions:
        out.append(
            f"#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID={_quoted(r.group_id)},"
            f"LANGUAGE={_quoted(r.language)},NAME={_quoted(r.name)},"
            f"DEFAULT={'YES' if r.default else 'NO'},"
            f"AUTOSELECT={'YES' if r.autoselect else 'NO'},CHANNELS={_quoted(r.channels)},"
            f"URI={_quoted(r.uri)}")
    for t in master.subtitles:
        out.append(
            f"#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID={_quoted(t.group_id)},"
            f"LANGUAGE={_quoted(t.language)},NAME={_quoted(t.name)},"
            f"DEFAULT={'YES' if t.default else 'NO'},"
            f"AUTOSELECT={'YES' if t.autoselect else 'NO'},URI={_quoted(t.uri)}")
    for v in master.variants:
        attrs = [f"BANDWIDTH={v.bandwidth}", f"CODECS={_quoted(v.codecs)}"]
        if v.resolution is not None:
            attrs.append(f"RESOLUTION={v.resolution[0]}x{v.resolution[1]}")
        if v.frame_rate is not None:
            attrs.append(f"FRAME-RATE={v.frame_rate:.3f}")
        if v.audio_group is not None:
            attrs.append(f"AUDIO={_quoted(v.audio_group)}")
        if v.subtitles_group is not None:
            attrs.append(f"SUBTITLES={_quoted(v.subtitles_group)}")
        out.append("#EXT-X-STREAM-INF:" + ",".join(attrs))
        out.append(v.uri)
    return "\n".join(out) + "\n"


@dataclass
class ParsedMaster:
    media: list[dict[str, str]] = field(default_factory=list)
    variants: list[tuple[dict[str, str], str]] = field(default_factory=list)


def parse_master(text: str) -> ParsedMaster:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines or lines[0] != "#EXTM3U":
        raise PlaylistError("not an HLS playlist (no #EXTM3U)")
    parsed = ParsedMaster()
    pending: dict[str, str] | None = None
    for line in lines[1:]:
        if line.startswith("#EXT-X-MEDIA:"):
            parsed.media.append(parse_attributes(line[13:]))
        elif line.startswith("#EXT-X-STREAM-INF:"):
            pending = parse_attributes(line[18:])
        elif not line.startswith("#"):
            if pending is None:
                raise PlaylistError(f"URI {line!r} without EXT-X-STREAM-INF")
            parsed.variants.append((pending, line))
            pending = None
    return parsed
