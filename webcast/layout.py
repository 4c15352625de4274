"""What a meeting's webcast is made of, and where its files live (pure).

A meeting's webcast folder::

    <webcast root>/<meeting id>/
        master.m3u8                 the master playlist (renditions and variants)
        video/hi/ video/lo/         the H.264 ladder
        audio/<channel>/            one AAC rendition per channel (floor, ar, zh, en, ...)
        subtitles/<language>/       one WebVTT caption rendition per caption language,
                                    written by the control plane (meeting_server/
                                    webcast_subtitles.py), not by the process
            index.m3u8              the public playlist: every generation joined
            g<N>.m3u8               FFmpeg's playlist of generation N (one process run)
            init-g<N>.mp4           generation N's init segment
            g<N>-<seq>.m4s          its media segments (CMAF fragments)

``resolve`` is the only way a request path becomes a file: every part is checked against
these names, so nothing outside the meeting's folder (and nothing but these files) is ever
served.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .playlist import AudioRendition, MasterPlaylist, SubtitleRendition, Variant

FLOOR = "floor"
# native names of the channels (the NAME of each EXT-X-MEDIA), and their LANGUAGE
NATIVE_NAMES = {"floor": "Floor", "ar": "العربية", "zh": "中文", "en": "English",
                "fr": "Français", "ru": "Русский", "es": "Español"}
AUDIO_GROUP = "aud"
SUBTITLES_GROUP = "subs"
MEETING_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CHANNEL = re.compile(r"^(floor|[a-z]{2,3}(-[A-Za-z0-9]{2,8})?)$")
FILE = re.compile(r"^(index\.m3u8|init-g\d{1,6}\.mp4|g\d{1,6}-\d{5,9}\.m4s)$")
SUBTITLE_FILE = re.compile(r"^(index\.m3u8|g\d{1,6}-\d{5,9}\.vtt)$")
GENERATION_PLAYLIST = re.compile(r"^g(\d{1,6})\.m3u8$")


class BadPath(ValueError):
    pass


@dataclass(frozen=True)
class Rung:
    name: str  # "hi" | "lo"
    width: int
    height: int
    bitrate: int
    codecs: str = "avc1.4d401f"  # H.264 Main, level 3.1


DEFAULT_RUNGS = (Rung("hi", 640, 360, 700_000), Rung("lo", 320, 180, 200_000))
AAC_CODEC = "mp4a.40.2"


@dataclass(frozen=True)
class Job:
    """Everything one webcast process needs (it crosses to the process as JSON)."""

    meeting_id: str
    title: str
    folder: str
    channels: tuple[str, ...]  # "floor" first, then each language
    audio_ports: tuple[int, ...]
    video_port: int
    video_codec: str = "VP8"
    rungs: tuple[Rung, ...] = DEFAULT_RUNGS
    segment_s: float = 2.0
    fps: int = 25
    audio_bitrate: int = 64_000
    host: str = "127.0.0.1"
    extra: dict[str, str] = field(default_factory=dict)
    subtitles: tuple[str, ...] = ()  # the caption languages (WebVTT renditions)

    def __post_init__(self) -> None:
        if not MEETING_ID.match(self.meeting_id):
            raise ValueError(f"bad meeting id {self.meeting_id!r}")
        if not self.channels or self.channels[0] != FLOOR:
            raise ValueError("the floor is the first channel")
        if len(self.channels) != len(self.audio_ports):
            raise ValueError("one port per channel")
        for channel in self.channels:
            if not CHANNEL.match(channel):
                raise ValueError(f"bad channel {channel!r}")
        for language in self.subtitles:
            if language == FLOOR or not CHANNEL.match(language):
                raise ValueError(f"bad caption language {language!r}")

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @staticmethod
    def from_json(text: str) -> Job:
        data = json.loads(text)
        data["channels"] = tuple(data["channels"])
        data["audio_ports"] = tuple(data["audio_ports"])
        data["rungs"] = tuple(Rung(**r) for r in data["rungs"])
        data["subtitles"] = tuple(data.get("subtitles", ()))
        return Job(**data)


def rendition_dirs(job: Job) -> list[str]:
    return [f"video/{r.name}" for r in job.rungs] + [f"audio/{c}" for c in job.channels]


def master_playlist(job: Job) -> MasterPlaylist:
    renditions = tuple(
        AudioRendition(group_id=AUDIO_GROUP, name=NATIVE_NAMES.get(c, c),
                       language="mul" if c == FLOOR else c, uri=f"audio/{c}/index.m3u8",
                       default=c == FLOOR)
        for c in job.channels)
    audio_bps = int(job.audio_bitrate * 1.1)
    variants = [Variant(uri=f"video/{r.name}/index.m3u8", bandwidth=int(r.bitrate * 1.1)
                        + audio_bps, codecs=f"{r.codecs},{AAC_CODEC}",
                        audio_group=AUDIO_GROUP, resolution=(r.width, r.height),
                        frame_rate=float(job.fps),
                        subtitles_group=SUBTITLES_GROUP if job.subtitles else None)
                for r in job.rungs]
    # the audio-only variant for the slowest links: the floor's playlist, the group's
    # renditions selectable
    variants.append(Variant(uri=f"audio/{FLOOR}/index.m3u8", bandwidth=audio_bps,
                            codecs=AAC_CODEC, audio_group=AUDIO_GROUP))
    subtitles = tuple(
        SubtitleRendition(group_id=SUBTITLES_GROUP, name=NATIVE_NAMES.get(lang, lang),
                          language=lang, uri=f"subtitles/{lang}/index.m3u8")
        for lang in job.subtitles)
    return MasterPlaylist(renditions, tuple(variants), subtitles=subtitles)


def resolve(meeting_folder: Path, path: str) -> Path:
    """The file a request path names inside one meeting's webcast folder, or BadPath."""
    if len(path) > 200 or "\\" in path or "\x00" in path:
        raise BadPath("bad path")
    parts = path.split("/")
    if parts == ["master.m3u8"]:
        return meeting_folder / "master.m3u8"
    if len(parts) == 3 and parts[0] == "video" and parts[1] in ("hi", "lo") \
            and FILE.match(parts[2]):
        return meeting_folder.joinpath(*parts)
    if len(parts) == 3 and parts[0] == "audio" and CHANNEL.match(parts[1]) \
            and FILE.match(parts[2]):
        return meeting_folder.joinpath(*parts)
    if len(parts) == 3 and parts[0] == "subtitles" and CHANNEL.match(parts[1]) \
            and parts[1] != FLOOR and SUBTITLE_FILE.match(parts[2]):
        return meeting_folder.joinpath(*parts)
    raise BadPath("no such webcast file")


def generations(folder: Path) -> list[int]:
    """The generations whose playlists a rendition folder holds, in order."""
    if not folder.is_dir():
        return []
    found = []
    for entry in folder.iterdir():
        match = GENERATION_PLAYLIST.match(entry.name)
        if match:
            found.append(int(match.group(1)))
    return sorted(found)
