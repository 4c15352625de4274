"""The webcast end to end: real server, real aiortc publishers with distinct tones, the real
webcast process (PyAV), HLS fetched over HTTP and decoded.

A chaired meeting: the floor speaker (a delegate with the floor) sends tone A (440 Hz) and a
640x360 camera; the French booth is live (tone B, 880 Hz; after the handover its second
interpreter, 990 Hz); nobody is in the Spanish booth (passthrough: tone A)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import time
from typing import Any

import aiohttp
import av
import numpy as np

from meeting_server.app import STORE, WEBCAST
from tests.harness import running_server
from tests.peers import PatternTrack, TestPeer, ToneTrack
from webcast.playlist import parse_master, parse_media

A, B, B2 = 440.0, 880.0, 990.0
LANGUAGES = ("ar", "zh", "en", "fr", "ru", "es")


async def joined(srv: Any, role: str, name: str, **profile: Any) -> TestPeer:
    peer = TestPeer(srv.base_url, srv.token(role), name)
    await peer.join(**profile)
    return peer


async def get(http: aiohttp.ClientSession, url: str) -> tuple[int, bytes, Any]:
    async with http.get(url) as response:
        return response.status, await response.read(), response.headers


async def wait_segments(http: aiohttp.ClientSession, url: str, count: int,
                        timeout: float = 40.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body, _ = await get(http, url)
        if status == 200:
            segments = parse_media(body.decode()).segments
            if len(segments) >= count:
                return [s.uri for s in segments]
        await asyncio.sleep(0.5)
    raise AssertionError(f"{url} never listed {count} segments")


def dominant(samples: np.ndarray, rate: int = 48000) -> float:
    samples = samples - samples.mean()
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


async def rendition_audio(http: aiohttp.ClientSession, base: str, channel: str,
                          generation: int = 1) -> np.ndarray:
    """Every sample of one generation of a channel, fetched and decoded (init + segments)."""
    status, body, _ = await get(http, f"{base}/audio/{channel}/index.m3u8")
    assert status == 200
    playlist = parse_media(body.decode())
    mine = [s for s in playlist.segments if s.map_uri == f"init-g{generation}.mp4"]
    assert mine, f"no generation {generation} in {channel}"
    data = io.BytesIO()
    status, init, _ = await get(http, f"{base}/audio/{channel}/{mine[0].map_uri}")
    assert status == 200
    data.write(init)
    for segment in mine:
        status, chunk, _ = await get(http, f"{base}/audio/{channel}/{segment.uri}")
        assert status == 200, segment.uri
        data.write(chunk)
    data.seek(0)
    samples = []
    with av.open(data, format="mp4") as container:
        for frame in container.decode(audio=0):
            samples.append(frame.to_ndarray().reshape(-1))
    return np.concatenate(samples).astype(np.float64)


def longest_silence_s(samples: np.ndarray, start: int, end: int, rate: int = 48000) -> float:
    """The longest run of 10 ms windows without the tone's energy, in samples[start:end]."""
    window = rate // 100
    longest = run = 0
    for i in range(start, end - window, window):
        if np.sqrt(np.mean(samples[i:i + window] ** 2)) < 0.02:
            run += 1
            longest = max(longest, run)
        else:
            run = 0
    return longest * window / rate


def tone_track(samples: np.ndarray, rate: int = 48000) -> list[float]:
    """The dominant frequency of each 100 ms block (0 for silence)."""
    block = rate // 10
    out = []
    for i in range(0, len(samples) - block, block):
        chunk = samples[i:i + block]
        out.append(dominant(chunk) if np.sqrt(np.mean(chunk ** 2)) > 0.02 else 0.0)
    return out


def master_check(url: str) -> dict[str, Any]:
    """PyAV opens the master playlist over HTTP: each audio rendition's tone, the video's
    size (run in a thread: FFmpeg's HLS demuxer blocks)."""
    found: dict[str, Any] = {}
    with av.open(url, options={"live_start_index": "-2"}, timeout=20) as container:
        # one stream per language: the floor's playlist is also the audio-only variant, so
        # FFmpeg opens it twice ('mul' twice); the frames of both copies interleaved in one
        # buffer measured 431 Hz for a 440 Hz tone
        audio: dict[int, str] = {}
        for stream in container.streams.audio:
            lang = stream.metadata.get("language")
            if lang and lang not in audio.values():
                audio[stream.index] = lang
        video = [s for s in container.streams.video]
        buffers: dict[str, list[np.ndarray]] = {lang: [] for lang in audio.values() if lang}
        sizes: dict[int, tuple[int, int]] = {}
        for packet in container.demux():
            if packet.dts is None:
                continue
            for frame in packet.decode():
                if packet.stream.type == "video":
                    sizes[packet.stream.index] = (frame.width, frame.height)
                else:
                    lang = audio.get(packet.stream.index)
                    if lang:
                        buffers[lang].append(frame.to_ndarray().reshape(-1))
            if all(sum(len(b) for b in chunks) >= 48000 * 3 for chunks in buffers.values()) \
                    and len(sizes) == len(video):
                break
        found["sizes"] = sorted(sizes.values())
        found["tones"] = {lang: dominant(np.concatenate(chunks)[-48000:].astype(np.float64))
                          for lang, chunks in buffers.items()}
    return found


async def test_webcast_languages_handover_crash_and_archive() -> None:
    async with running_server(floor_mode="chaired") as srv:
        async with aiohttp.ClientSession() as http:
            # the secretariat turns the webcast on (public) before the meeting starts
            reply = await http.post(f"{srv.base_url}/api/meetings/{srv.meeting_id}/webcast",
                                    json={"access": "public", "retentionDays": 30},
                                    headers={"Authorization":
                                             f"Bearer {srv.token('secretariat')}"})
            assert reply.status == 200, await reply.text()
            chair = await joined(srv, "chair", "Chair")
            secretariat = await joined(srv, "secretariat", "Secretariat")
            speaker = await joined(srv, "delegate", "Ms Dupont", memberState="France")
            fr1 = await joined(srv, "interpreter", "FR one")
            fr2 = await joined(srv, "interpreter", "FR two")
            peers = [chair, secretariat, speaker, fr1, fr2]
            base = f"{srv.base_url}/m/{srv.meeting_id}/webcast"
            try:
                request = await speaker.floor("request", {"language": "fr"})
                assert request["ok"], request
                granted = await chair.floor("grant", {"requestId": request["request"]["id"]})
                assert granted["ok"], granted
                assert (await speaker.publish(audio=ToneTrack(A),
                                              video=PatternTrack(640, 360)))["ok"]
                assert (await fr1.publish(audio=ToneTrack(B)))["ok"]
                assert (await fr2.publish(audio=ToneTrack(B2)))["ok"]
                for interpreter in (fr1, fr2):
                    assert (await secretariat.interp("assign", {
                        "participantId": interpreter.participant_id,
                        "language": "fr"}))["ok"]
                assert (await fr1.interp("live"))["ok"]

                # the master playlist and its renditions
                await wait_segments(http, f"{base}/audio/fr/index.m3u8", 4)
                status, body, headers = await get(http, f"{base}/master.m3u8")
                assert status == 200
                assert headers["Content-Type"] == "application/vnd.apple.mpegurl"
                master = parse_master(body.decode())
                media = {m["LANGUAGE"]: m for m in master.media if m["TYPE"] == "AUDIO"}
                assert set(media) == {"mul", *LANGUAGES}
                assert media["fr"]["NAME"] == "Français" and media["ar"]["NAME"] == "العربية"
                assert media["zh"]["NAME"] == "中文" and media["es"]["NAME"] == "Español"
                assert all(m["GROUP-ID"] == "aud" for m in media.values())
                assert media["mul"]["DEFAULT"] == "YES"
                resolutions = sorted(a.get("RESOLUTION", "") for a, _ in master.variants)
                assert resolutions == ["", "320x180", "640x360"]
                # PyAV reads the master playlist: French is tone B, Spanish tone A (nobody
                # in the booth: the floor passes through), the picture at the camera's size
                found = await asyncio.get_running_loop().run_in_executor(
                    None, master_check, f"{base}/master.m3u8")
                print("webcast master:", found)
                assert abs(found["tones"]["fr"] - B) < 15, found
                assert abs(found["tones"]["es"] - A) < 15, found
                assert abs(found["tones"]["mul"] - A) < 5, found
                assert (640, 360) in found["sizes"], found
                # caching: segments for good, playlists about a segment
                _, _, seg_headers = await get(http, f"{base}/audio/fr/g1-00000.m4s")
                assert "immutable" in seg_headers["Cache-Control"]
                _, _, pl_headers = await get(http, f"{base}/audio/fr/index.m3u8")
                assert pl_headers["Cache-Control"] == "public, max-age=1"

                # a handover in the French booth: no gap over 100 ms in the French rendition
                assert (await fr1.interp("handover-request",
                                         {"to": fr2.participant_id}))["ok"]
                assert (await fr2.interp("handover-accept"))["ok"]
                await asyncio.sleep(5.0)
                await wait_segments(http, f"{base}/audio/fr/index.m3u8", 7)
                french = await rendition_audio(http, base, "fr")
                tones = tone_track(french)
                first_b2 = next(i for i, f in enumerate(tones) if abs(f - B2) < 20)
                assert any(abs(f - B) < 20 for f in tones[:first_b2]), "no tone B before"
                at = first_b2 * 4800
                gap = longest_silence_s(french, at - 2 * 48000, at + 2 * 48000)
                print(f"handover: longest silence {gap * 1000:.0f} ms around it")
                assert gap <= 0.1, f"{gap * 1000:.0f} ms of silence at the handover"

                # kill -9 the webcast process: it comes back, the playlists stay valid and
                # keep every segment published before (the whole meeting is in index.m3u8
                # on disk, the archive; the live URL serves its last 30 s)
                folder = srv.app[WEBCAST].folder(srv.meeting_id)

                def whole(rendition: str) -> list[str]:
                    text = (folder / rendition / "index.m3u8").read_text("utf-8")
                    return [s.uri for s in parse_media(text).segments]

                process = srv.app[WEBCAST].running[srv.meeting_id].process
                before = {r: whole(r) for r in ("audio/fr", "audio/floor", "video/hi")}
                old_pid = process.pid
                assert old_pid is not None
                os.kill(old_pid, signal.SIGKILL)
                await process.wait_generation(2, timeout=30)
                assert process.generation == 2 and process.pid != old_pid
                assert process.restarts == 1
                for _ in range(60):  # two more segments of each, at most 30 s
                    if all(len(whole(r)) >= len(before[r]) + 2 for r in before):
                        break
                    await asyncio.sleep(0.5)
                for rendition, uris in before.items():
                    assert whole(rendition)[:len(uris)] == uris, rendition
                    assert len(whole(rendition)) >= len(uris) + 2, rendition
                status, body, _ = await get(http, f"{base}/audio/fr/index.m3u8")
                live = parse_media(body.decode())
                assert [s.uri for s in live.segments] == whole("audio/fr")[
                    live.media_sequence:live.media_sequence + len(live.segments)]
                assert sum(s.discontinuity for s in live.segments) + \
                    live.discontinuity_sequence == 1
                assert live.segments[-1].map_uri == "init-g2.mp4"
                for uri in whole("audio/fr"):
                    status, _, _ = await get(http, f"{base}/audio/fr/{uri}")
                    assert status == 200, uri
                after = whole("audio/fr")
                resumed = await rendition_audio(http, base, "fr", generation=2)
                assert abs(dominant(resumed[-48000:]) - B2) < 15

                # the meeting ends: VOD playlists with every segment, the live URL is gone,
                # the archive has chapters and downloads
                assert (await chair.floor("end-meeting"))["ok"]
                archive = f"{srv.base_url}/m/{srv.meeting_id}/archive"
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    status, _, _ = await get(http, f"{archive}/master.m3u8")
                    if status == 200:
                        break
                    await asyncio.sleep(0.3)
                assert status == 200
                status, body, headers = await get(http, f"{archive}/audio/fr/index.m3u8")
                ended = parse_media(body.decode())
                assert ended.ended and ended.playlist_type == "VOD"
                assert [s.uri for s in ended.segments][:len(after)] == after
                assert headers["Cache-Control"] == "public, max-age=3600"
                status, body, _ = await get(http, f"{base}/master.m3u8")
                assert status == 410
                status, body, _ = await get(http, f"{archive}/chapters.json")
                chapters = json.loads(body)["chapters"]
                print("chapters:", chapters)
                assert [c["name"] for c in chapters] == ["Ms Dupont"]
                assert chapters[0]["memberState"] == "France"
                assert chapters[0]["language"] == "fr"
                assert chapters[0]["startS"] >= 0 and chapters[0]["durationS"] > 5
                status, body, headers = await get(http, f"{archive}/download/es.m4a")
                assert status == 200 and headers["Content-Type"] == "audio/mp4"
                with av.open(io.BytesIO(body), format="mp4") as m4a:
                    stream = m4a.streams.audio[0]
                    assert stream.codec_context.name == "aac"
                    total = sum(f.samples for f in m4a.decode(stream)) / 48000
                assert abs(total - ended.duration) < 1.0, (total, ended.duration)
                listing = await (await http.get(f"{srv.base_url}/api/webcast/archives")).json()
                assert [a["id"] for a in listing["archives"]] == [srv.meeting_id]
                record = await srv.app[WEBCAST].record(srv.meeting_id)
                assert record.ended_at is not None
                assert (await srv.app[STORE].get_meeting(srv.meeting_id)).ended_at
            finally:
                for peer in peers:
                    await peer.close()
