"""Captions in the webcast: a caption sent through the HTTP ingest while media flows appears
in that language's WebVTT subtitle rendition of the HLS (live, then in the archive), its cue
at the caption's time on the media timeline (X-TIMESTAMP-MAP), within 2 s.

The caption's time in the media is found from the media itself: the floor rendition's
segment that was being recorded when the caption arrived is fetched and decoded, its first
sample's timestamp (the fMP4 decode time) plus the caption's offset into it."""

from __future__ import annotations

import asyncio
import io
import re
import time
from typing import Any

import aiohttp
import av

from meeting_server.app import CAPTION_STORE
from meeting_server.captions_ingest import ingest_secret
from tests.harness import running_server
from tests.integration.test_webcast import A, get, joined, wait_segments
from tests.peers import PatternTrack, ToneTrack
from webcast.playlist import parse_master, parse_media
from webcast.subtitles import parse_pdt

TEXT = "THE DELEGATE OF FRANCE HAS THE FLOOR"
TIMESTAMP_MAP = re.compile(r"X-TIMESTAMP-MAP=MPEGTS:(\d+),LOCAL:00:00:00\.000")
CUE = re.compile(r"(\d\d):(\d\d):(\d\d)\.(\d\d\d) --> ")


async def segment_with(http: aiohttp.ClientSession, playlist_url: str, text: str,
                       timeout: float = 15.0) -> tuple[str, str]:
    """The first WebVTT segment the playlist lists whose text holds ``text``."""
    base = playlist_url.rsplit("/", 1)[0]
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body, _ = await get(http, playlist_url)
        if status == 200:
            for segment in parse_media(body.decode()).segments:
                if segment.uri in seen:
                    continue
                status, vtt, headers = await get(http, f"{base}/{segment.uri}")
                assert status == 200, segment.uri
                assert headers["Content-Type"].startswith("text/vtt")
                if text in vtt.decode():
                    return segment.uri, vtt.decode()
                seen.add(segment.uri)
        await asyncio.sleep(0.5)
    raise AssertionError(f"no segment of {playlist_url} carries {text!r}")


def cue_media_time(vtt: str) -> float:
    """The first cue's start on the media timeline (seconds), as hls.js places it."""
    assert vtt.startswith("WEBVTT")
    mapping = TIMESTAMP_MAP.search(vtt)
    assert mapping, vtt
    cue = CUE.search(vtt)
    assert cue, vtt
    h, m, s, ms = (int(g) for g in cue.groups())
    return int(mapping.group(1)) / 90000 + h * 3600 + m * 60 + s + ms / 1000


async def media_time_of(http: aiohttp.ClientSession, base: str, wall: float) -> float:
    """Where wall-clock time ``wall`` lies on the floor rendition's media timeline: the
    decode time of the first sample of the segment recorded then, plus the offset."""
    status, body, _ = await get(http, f"{base}/audio/floor/index.m3u8")
    assert status == 200
    for segment in parse_media(body.decode()).segments:
        start = parse_pdt(segment.program_date_time or "")
        assert start is not None, segment
        if start <= wall < start + segment.duration:
            data = io.BytesIO()
            for uri in (segment.map_uri, segment.uri):
                status, chunk, _ = await get(http, f"{base}/audio/floor/{uri}")
                assert status == 200, uri
                data.write(chunk)
            data.seek(0)
            with av.open(data, format="mp4") as container:
                frame = next(container.decode(audio=0))
                assert frame.time is not None
                return float(frame.time) + (wall - start)
    raise AssertionError(f"no floor segment holds {wall}")


async def test_caption_in_the_webcast_subtitles_live_and_archived() -> None:
    async with running_server(floor_mode="chaired") as srv:
        async with aiohttp.ClientSession() as http:
            reply = await http.post(f"{srv.base_url}/api/meetings/{srv.meeting_id}/webcast",
                                    json={"access": "public"},
                                    headers={"Authorization":
                                             f"Bearer {srv.token('secretariat')}"})
            assert reply.status == 200, await reply.text()
            chair = await joined(srv, "chair", "Chair")
            speaker = await joined(srv, "delegate", "Ms Dupont", memberState="France")
            peers: list[Any] = [chair, speaker]
            base = f"{srv.base_url}/m/{srv.meeting_id}/webcast"
            try:
                request = await speaker.floor("request", {"language": "fr"})
                granted = await chair.floor("grant", {"requestId": request["request"]["id"]})
                assert granted["ok"], granted
                assert (await speaker.publish(audio=ToneTrack(A),
                                              video=PatternTrack(320, 180)))["ok"]
                await wait_segments(http, f"{base}/audio/floor/index.m3u8", 2)

                # the master announces one WebVTT rendition per language, native names,
                # and the video variants point at the group
                status, body, _ = await get(http, f"{base}/master.m3u8")
                assert status == 200
                master = parse_master(body.decode())
                subtitles = {m["LANGUAGE"]: m for m in master.media
                             if m["TYPE"] == "SUBTITLES"}
                assert set(subtitles) == {"ar", "zh", "en", "fr", "ru", "es"}
                assert subtitles["fr"]["NAME"] == "Français"
                assert subtitles["ru"]["NAME"] == "Русский"
                assert subtitles["fr"]["URI"] == "subtitles/fr/index.m3u8"
                assert all(m["GROUP-ID"] == "subs" for m in subtitles.values())
                video = [a for a, uri in master.variants if uri.startswith("video/")]
                assert video and all(a.get("SUBTITLES") == "subs" for a in video)

                # a CART program sends a French line while the speaker speaks
                token = ingest_secret(srv.config.secret, srv.meeting_id, "fr")
                posted = await http.post(
                    f"{srv.base_url}/api/captions/{srv.meeting_id}/fr/closedcaption",
                    params={"token": token, "seq": "1", "lang": "fr-FR"},
                    data=TEXT.encode(), headers={"Content-Type": "text/plain"})
                assert posted.status == 200, await posted.text()
                [caption] = await srv.app[CAPTION_STORE].final_captions(srv.meeting_id, "fr")
                name, vtt = await segment_with(http, f"{base}/subtitles/fr/index.m3u8", TEXT)
                print("webcast captions: segment", name, repr(vtt))
                assert "<v Ms Dupont (France)>" + TEXT in vtt
                cue_at = cue_media_time(vtt)
                said_at = await media_time_of(http, base, caption.started_at)
                print(f"webcast captions: cue at {cue_at:.3f} s, caption at {said_at:.3f} s"
                      " on the media timeline")
                assert abs(cue_at - said_at) < 2.0, (cue_at, said_at)
                # no other language got it
                status, body, _ = await get(http, f"{base}/subtitles/en/index.m3u8")
                assert status == 200
                en = parse_media(body.decode())
                assert en.segments
                last = en.segments[-1].uri
                status, other, _ = await get(http, f"{base}/subtitles/en/{last}")
                assert status == 200 and TEXT not in other.decode()

                # the meeting ends: the archive's subtitle playlist is VOD and keeps it
                assert (await chair.floor("end-meeting"))["ok"]
                archive = f"{srv.base_url}/m/{srv.meeting_id}/archive"
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    status, body, _ = await get(http, f"{archive}/subtitles/fr/index.m3u8")
                    if status == 200 and parse_media(body.decode()).ended:
                        break
                    await asyncio.sleep(0.3)
                archived = parse_media(body.decode())
                assert archived.ended and archived.playlist_type == "VOD"
                status, body, _ = await get(http, f"{archive}/audio/floor/index.m3u8")
                floor = parse_media(body.decode())
                assert len(archived.segments) == len(floor.segments)
                assert name in [s.uri for s in archived.segments]
                status, kept, _ = await get(http, f"{archive}/subtitles/fr/{name}")
                assert status == 200 and kept.decode() == vtt
                # a path outside the rendition's files is refused
                status, _, _ = await get(http, f"{archive}/subtitles/fr/../../job.json")
                assert status == 404
            finally:
                for peer in peers:
                    await peer.close()
