"""The webcast's pure parts: playlists, the taps' SDP, the folder layout and path rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from webcast.layout import DEFAULT_RUNGS, BadPath, Job, master_playlist, resolve
from webcast.playlist import (
    MediaPlaylist,
    PlaylistError,
    Segment,
    end,
    join_generations,
    parse_attributes,
    parse_master,
    parse_media,
    window,
    write_master,
    write_media,
)
from webcast.sdp import TapStream, tap_sdp

FFMPEG_PLAYLIST = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:EVENT
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="init-g1.mp4"
#EXT-X-PROGRAM-DATE-TIME:2026-12-01T09:50:02.522+0000
#EXTINF:2.005333,
g1-00000.m4s
#EXTINF:1.984000,
g1-00001.m4s
"""


def job(**kw: object) -> Job:
    base: dict[str, object] = dict(meeting_id="m1", title="SG13", folder="/tmp/x",
                                   channels=("floor", "fr", "es"),
                                   audio_ports=(40002, 40004, 40006), video_port=40000)
    base.update(kw)
    return Job(**base)  # type: ignore[arg-type]


def test_media_playlist_round_trip() -> None:
    parsed = parse_media(FFMPEG_PLAYLIST)
    assert [s.uri for s in parsed.segments] == ["g1-00000.m4s", "g1-00001.m4s"]
    assert parsed.segments[0].map_uri == "init-g1.mp4"
    assert parsed.segments[0].program_date_time == "2026-12-01T09:50:02.522+0000"
    assert parsed.playlist_type == "EVENT" and not parsed.ended
    assert parse_media(write_media(parsed)) == parsed


def test_generations_join_with_a_discontinuity_and_their_own_init() -> None:
    first = parse_media(FFMPEG_PLAYLIST)
    second = MediaPlaylist((Segment("g2-00000.m4s", 2.0, "init-g2.mp4"),
                            Segment("g2-00001.m4s", 2.0, "init-g2.mp4")))
    joined = join_generations([first, MediaPlaylist(), second])
    text = write_media(joined)
    assert [s.uri for s in joined.segments] == ["g1-00000.m4s", "g1-00001.m4s",
                                                "g2-00000.m4s", "g2-00001.m4s"]
    assert [s.discontinuity for s in joined.segments] == [False, False, True, False]
    lines = text.splitlines()
    at = lines.index("#EXT-X-DISCONTINUITY")
    assert lines[at + 1] == '#EXT-X-MAP:URI="init-g2.mp4"'
    assert text.count("#EXT-X-MAP") == 2
    assert "#EXT-X-ENDLIST" not in text
    ended = parse_media(write_media(end(joined)))
    assert ended.ended and ended.playlist_type == "VOD"
    assert ended.segments == joined.segments


def test_target_duration_covers_every_segment() -> None:
    playlist = MediaPlaylist((Segment("a.m4s", 2.0), Segment("b.m4s", 3.4)))
    assert "#EXT-X-TARGETDURATION:3" in write_media(playlist)


@pytest.mark.parametrize("text", ["", "#EXTM3U\ng1-00000.m4s\n", "hello",
                                  "#EXTM3U\n#EXTINF:abc,\nx.m4s\n",
                                  "#EXTM3U\n#EXTINF:-1,\nx.m4s\n",
                                  '#EXTM3U\n#EXT-X-MAP:BYTERANGE="1"\n'])
def test_bad_media_playlists_are_refused(text: str) -> None:
    with pytest.raises(PlaylistError):
        parse_media(text)


def test_attribute_lists() -> None:
    assert parse_attributes('TYPE=AUDIO,NAME="Français, FR",DEFAULT=YES') == {
        "TYPE": "AUDIO", "NAME": "Français, FR", "DEFAULT": "YES"}
    with pytest.raises(PlaylistError):
        parse_attributes('TYPE=AUDIO;NAME="x"')


def test_master_playlist_names_every_channel_natively() -> None:
    j = job(channels=("floor", "ar", "zh", "en", "fr", "ru", "es"),
            audio_ports=tuple(range(40002, 40016, 2)))
    parsed = parse_master(write_master(master_playlist(j)))
    names = {m["LANGUAGE"]: m["NAME"] for m in parsed.media}
    assert names == {"mul": "Floor", "ar": "العربية", "zh": "中文", "en": "English",
                     "fr": "Français", "ru": "Русский", "es": "Español"}
    assert all(m["TYPE"] == "AUDIO" and m["GROUP-ID"] == "aud" for m in parsed.media)
    assert [m["DEFAULT"] for m in parsed.media] == ["YES"] + ["NO"] * 6
    assert {m["URI"] for m in parsed.media} == {f"audio/{c}/index.m3u8" for c in j.channels}
    video = [(a, uri) for a, uri in parsed.variants if "RESOLUTION" in a]
    assert [a["RESOLUTION"] for a, _ in video] == ["640x360", "320x180"]
    assert all(a["AUDIO"] == "aud" and "avc1" in a["CODECS"] for a, _ in video)
    audio_only = [(a, uri) for a, uri in parsed.variants if "RESOLUTION" not in a]
    assert len(audio_only) == 1 and audio_only[0][0]["CODECS"] == "mp4a.40.2"
    assert int(audio_only[0][0]["BANDWIDTH"]) < 100_000


def test_job_crosses_as_json_and_refuses_bad_values() -> None:
    j = job(title="Groupe d'études 13 — 中文")
    assert Job.from_json(j.to_json()) == j
    assert Job.from_json(j.to_json()).rungs == DEFAULT_RUNGS
    with pytest.raises(ValueError):
        job(channels=("fr", "floor"))
    with pytest.raises(ValueError):
        job(meeting_id="../etc")
    with pytest.raises(ValueError):
        job(audio_ports=(40002,))


def test_tap_sdp() -> None:
    sdp = tap_sdp([TapStream("video", "VP8", 96, 90000, 40000, label="video"),
                   TapStream("audio", "opus", 111, 48000, 40002, channels=2, label="fr")])
    assert "m=video 40000 RTP/AVP 96\r\n" in sdp
    assert "a=rtpmap:111 opus/48000/2\r\n" in sdp
    assert "a=rtcp-fb:96 nack pli\r\n" in sdp
    h264 = tap_sdp([TapStream("video", "H264", 102, 90000, 40000)])
    assert "a=fmtp:102 packetization-mode=1" in h264
    for bad in ([TapStream("audio", "opus", 111, 48000, 40001)],
                [TapStream("audio", "opus", 111, 48000, 40002),
                 TapStream("audio", "opus", 111, 48000, 40002)], []):
        with pytest.raises(ValueError):
            tap_sdp(bad)


@pytest.mark.parametrize("path", [
    "master.m3u8", "audio/fr/index.m3u8", "audio/floor/g12-00042.m4s",
    "video/hi/init-g3.mp4", "video/lo/g1-00000.m4s"])
def test_resolve_webcast_files(path: str) -> None:
    root = Path("/data/webcast/m1")
    assert resolve(root, path) == root / path


@pytest.mark.parametrize("path", [
    "../secret", "audio/../../secret", "audio/fr/../../../etc/passwd", "/etc/passwd",
    "audio/fr/g1.m3u8", "audio/FR/index.m3u8", "video/mid/index.m3u8", "audio/fr/x.mp4",
    "audio/fr/index.m3u8/", "audio//index.m3u8", "audio/fr\\index.m3u8",
    "audio/fr/.index.m3u8.tmp", "job.json", "", "audio/fr/index.m3u8\x00", "a" * 300])
def test_resolve_refuses_anything_else(path: str) -> None:
    with pytest.raises(BadPath):
        resolve(Path("/data/webcast/m1"), path)


def test_the_live_window_numbers_on_from_the_whole() -> None:
    gen1 = MediaPlaylist(tuple(Segment(f"g1-{i:05d}.m4s", 2.0, "init-g1.mp4")
                               for i in range(5)))
    gen2 = MediaPlaylist(tuple(Segment(f"g2-{i:05d}.m4s", 2.0, "init-g2.mp4")
                               for i in range(5)))
    whole = join_generations([gen1, gen2])
    live = parse_media(write_media(window(whole, 7)))
    assert [s.uri for s in live.segments] == [s.uri for s in whole.segments[3:]]
    assert live.media_sequence == 3 and live.discontinuity_sequence == 0
    assert live.playlist_type is None  # not EVENT: segments leave it
    assert live.segments[0].map_uri == "init-g1.mp4"
    assert [s.discontinuity for s in live.segments] == [False, False, True, False, False,
                                                        False, False]
    # the window slides past the discontinuity: it is counted, and the map is written
    later = parse_media(write_media(window(whole, 5)))
    assert later.media_sequence == 5 and later.discontinuity_sequence == 1
    assert not any(s.discontinuity for s in later.segments)
    assert later.segments[0].map_uri == "init-g2.mp4"
    further = parse_media(write_media(window(whole, 3)))
    assert further.media_sequence == 7 and further.discontinuity_sequence == 1
    assert window(MediaPlaylist(), 3).segments == ()
    with pytest.raises(ValueError):
        window(whole, 0)
