"""The webcast's caption renditions, pure parts: the master's SUBTITLES media, the files a
subtitle rendition may serve, the timeline its segments follow."""

from __future__ import annotations

from pathlib import Path

import pytest

from webcast.layout import BadPath, Job, master_playlist, resolve
from webcast.playlist import join_generations, parse_master, parse_media, write_master
from webcast.subtitles import slots, subtitle_playlist

GENERATION = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:2
#EXT-X-MAP:URI="init-g{g}.mp4"
#EXT-X-PROGRAM-DATE-TIME:2026-12-01T09:50:{s:02d}.500+0000
#EXTINF:2.005333,
g{g}-00000.m4s
#EXTINF:1.984000,
g{g}-00001.m4s
#EXTINF:2.000000,
g{g}-00002.m4s
"""


def job(subtitles: tuple[str, ...]) -> Job:
    return Job(meeting_id="m1", title="SG13", folder="/tmp/x", channels=("floor", "fr", "ru"),
               audio_ports=(40002, 40004, 40006), video_port=40000, subtitles=subtitles)


def test_master_announces_one_webvtt_rendition_per_caption_language() -> None:
    parsed = parse_master(write_master(master_playlist(job(("fr", "ru", "zh")))))
    subtitles = [m for m in parsed.media if m["TYPE"] == "SUBTITLES"]
    assert [(m["LANGUAGE"], m["NAME"], m["URI"]) for m in subtitles] == [
        ("fr", "Français", "subtitles/fr/index.m3u8"),
        ("ru", "Русский", "subtitles/ru/index.m3u8"),
        ("zh", "中文", "subtitles/zh/index.m3u8")]
    assert all(m["GROUP-ID"] == "subs" and m["DEFAULT"] == "NO" for m in subtitles)
    for attributes, uri in parsed.variants:
        if uri.startswith("video/"):
            assert attributes["SUBTITLES"] == "subs"
    # no caption languages: no group, no SUBTITLES attribute
    bare = parse_master(write_master(master_playlist(job(()))))
    assert all(m["TYPE"] == "AUDIO" for m in bare.media)
    assert all("SUBTITLES" not in a for a, _ in bare.variants)


def test_job_carries_its_caption_languages() -> None:
    j = job(("fr", "ru"))
    assert Job.from_json(j.to_json()) == j
    for bad in (("floor",), ("../x",), ("FR",)):
        with pytest.raises(ValueError):
            job(bad)


@pytest.mark.parametrize("path", ["subtitles/fr/index.m3u8", "subtitles/zh/g2-00042.vtt"])
def test_resolve_subtitle_files(path: str) -> None:
    assert resolve(Path("/w/m1"), path) == Path("/w/m1") / path


@pytest.mark.parametrize("path", [
    "subtitles/floor/index.m3u8", "subtitles/fr/g1-00000.m4s", "subtitles/fr/live.m3u8",
    "subtitles/fr/../../job.json", "subtitles/fr/x.vtt", "subtitles/index.m3u8"])
def test_resolve_refuses_other_subtitle_paths(path: str) -> None:
    with pytest.raises(BadPath):
        resolve(Path("/w/m1"), path)


def test_slots_follow_each_generations_media_timeline_and_wall_clock() -> None:
    joined = join_generations([parse_media(GENERATION.format(g=1, s=2)),
                               parse_media(GENERATION.format(g=2, s=30))])
    timeline = slots(joined)
    assert [s.name for s in timeline] == [f"g{g}-0000{i}.vtt" for g in (1, 2) for i in range(3)]
    assert [round(s.media_start, 6) for s in timeline] == [0, 2.005333, 3.989333] * 2
    assert timeline[1].mpegts == round(2.005333 * 90000)
    assert timeline[0].wall_start is not None and timeline[3].wall_start is not None
    assert timeline[3].wall_start - timeline[0].wall_start == pytest.approx(28.0)
    assert timeline[2].wall_start == pytest.approx(timeline[0].wall_start + 3.989333)
    assert [s.discontinuity for s in timeline] == [False, False, False, True, False, False]
    playlist = subtitle_playlist(joined, 4)
    assert [s.uri for s in playlist.segments] == [s.name for s in timeline[:4]]
    assert all(s.map_uri is None for s in playlist.segments)
    assert [s.duration for s in playlist.segments] == [s.duration for s in joined.segments[:4]]
    assert playlist.segments[3].discontinuity
