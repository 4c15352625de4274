"""The webcast page in Chromium: hls.js plays the meeting's webcast; switching the language
menu to French makes the page hear the French booth (tone B) instead of the floor (tone A);
the captions menu (native names) turns on the French WebVTT rendition and a French caption is
drawn as an active cue; on the ended meeting's archive page the chapter list seeks to the
chosen intervention.

"Hears" is measured with WebAudio on the page's media element (an AnalyserNode, fftSize
8192). The publishers are aiortc peers through the real server and SFU; the webcast is the
real process."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest

from meeting_server.captions_ingest import ingest_secret
from tests.peers import PatternTrack, TestPeer, ToneTrack
from webcast.playlist import parse_media

pytestmark = [pytest.mark.browser, pytest.mark.network]

FLOOR_HZ, FRENCH_HZ = 440.0, 880.0
CAPTION = "LA DÉLÉGUÉE DE LA FRANCE A LA PAROLE"
ACTIVE_CUES = """() => [...window.rostrumWebcast.video.textTracks]
    .filter((t) => t.mode === "showing")
    .flatMap((t) => [...(t.activeCues || [])].map((c) => c.text))"""
TOLERANCE_HZ = 15.0

LISTEN = """async () => {
    const video = window.rostrumWebcast.video;
    if (!window.__probe) {
        const ctx = new AudioContext();
        const source = ctx.createMediaElementSource(video);
        const analyser = ctx.createAnalyser();
        analyser.fftSize = 8192;
        const sink = ctx.createGain();
        sink.gain.value = 0;
        source.connect(analyser);
        analyser.connect(sink);
        sink.connect(ctx.destination);
        await ctx.resume();
        window.__probe = {ctx, analyser};
    }
    const {ctx, analyser} = window.__probe;
    const bins = new Float32Array(analyser.frequencyBinCount);
    const sum = new Float32Array(analyser.frequencyBinCount);
    for (let i = 0; i < 8; i++) {
        await new Promise((r) => setTimeout(r, 150));
        analyser.getFloatFrequencyData(bins);
        for (let b = 0; b < bins.length; b++) sum[b] += Math.pow(10, bins[b] / 10);
    }
    let best = 0;
    for (let b = 1; b < sum.length; b++) if (sum[b] > sum[best]) best = b;
    const db = 10 * Math.log10(sum[best] / 8);
    return {frequency: best * ctx.sampleRate / analyser.fftSize, db, time: video.currentTime,
            paused: video.paused, rate: ctx.sampleRate, playbackRate: video.playbackRate};
}"""


@pytest.fixture
def floor_mode() -> str:
    return "chaired"


def _near(frequency: float | None, target: float) -> bool:
    return frequency is not None and abs(frequency - target) <= TOLERANCE_HZ


async def _heard(page: Any, target: float, timeout: float = 25.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    report: dict[str, Any] = {}
    while time.monotonic() < deadline:
        report = await page.evaluate(LISTEN)
        if _near(report["frequency"], target) and report["db"] > -70:
            return report
        await asyncio.sleep(0.3)
    raise AssertionError(f"never heard {target} Hz: {report}")


async def _segments(http: aiohttp.ClientSession, url: str, count: int) -> None:
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        async with http.get(url) as r:
            if r.status == 200 and len(parse_media(await r.text()).segments) >= count:
                return
        await asyncio.sleep(0.5)
    raise AssertionError(f"{url}: fewer than {count} segments")


async def test_webcast_page_plays_switches_to_french_and_seeks_chapters(
    launch_browser: Any, rostrum_server: Any
) -> None:
    srv = rostrum_server
    peers: list[TestPeer] = []

    async def joined(role: str, name: str, **profile: Any) -> TestPeer:
        peer = TestPeer(srv.base_url, srv.token(role), name)
        await peer.join(**profile)
        peers.append(peer)
        return peer

    async with aiohttp.ClientSession() as http:
        reply = await http.post(f"{srv.base_url}/api/meetings/{srv.meeting_id}/webcast",
                                json={"access": "public"},
                                headers={"Authorization": f"Bearer {srv.token('chair')}"})
        assert reply.status == 200
        try:
            chair = await joined("chair", "Chair")
            secretariat = await joined("secretariat", "Secretariat")
            delegate = await joined("delegate", "Mr Okafor", memberState="Nigeria")
            french = await joined("interpreter", "FR booth")
            assert (await chair.publish(audio=ToneTrack(FLOOR_HZ),
                                        video=PatternTrack(320, 180)))["ok"]
            assert (await delegate.publish(audio=ToneTrack(FLOOR_HZ)))["ok"]
            assert (await french.publish(audio=ToneTrack(FRENCH_HZ)))["ok"]
            assert (await secretariat.interp("assign", {
                "participantId": french.participant_id, "language": "fr"}))["ok"]
            assert (await french.interp("live"))["ok"]
            base = f"{srv.base_url}/m/{srv.meeting_id}/webcast"
            await _segments(http, f"{base}/audio/fr/index.m3u8", 3)
            # an intervention a few seconds into the recording: a chapter to seek to
            request = await delegate.floor("request", {"language": "en"})
            assert (await chair.floor("grant", {"requestId": request["request"]["id"]}))["ok"]

            context = await launch_browser(None)
            page = context.pages[0] if context.pages else await context.new_page()
            await page.goto(f"{base}?channel=floor&lang=fr")
            await page.wait_for_function(
                "window.rostrumWebcast && window.rostrumWebcast.video.currentTime > 0.5",
                timeout=30_000)
            floor = await _heard(page, FLOOR_HZ)
            print(f"webcast browser: the floor heard at {floor['frequency']:.1f} Hz (bins of "
                  f"{floor['rate'] / 8192:.2f} Hz at {floor['rate']} Hz, playback rate "
                  f"{floor['playbackRate']})")
            assert not floor["paused"]
            # the page speaks French (UI), and the menu switches the audio rendition
            assert "Langue" in await page.inner_text(".webcast__controls")
            await page.select_option("#webcast-language", "fr")
            heard = await _heard(page, FRENCH_HZ)
            assert heard["time"] > floor["time"]
            lang = await page.evaluate(
                "() => { const h = window.rostrumWebcast.hls;"
                " return h.audioTracks[h.audioTrack].lang; }")
            assert lang == "fr"

            # captions: the menu offers off and each caption language by its native name;
            # French on, a French caption is drawn over the picture (an active cue)
            options = await page.locator("#webcast-captions option").all_inner_texts()
            assert options[0] == "Désactivés" and "Français" in options, options
            assert await page.inner_text("label[for=webcast-captions]") == "Sous-titres"
            token = ingest_secret(srv.config.secret, srv.meeting_id, "fr")
            posted = await http.post(
                f"{srv.base_url}/api/captions/{srv.meeting_id}/fr/closedcaption",
                params={"token": token, "seq": "1", "lang": "fr-FR"},
                data=CAPTION.encode(), headers={"Content-Type": "text/plain; charset=utf-8"})
            assert posted.status == 200, await posted.text()
            await page.select_option("#webcast-captions", "fr")
            await page.wait_for_function(
                f"({ACTIVE_CUES})().some((text) => text.includes({CAPTION!r}))",
                timeout=25_000)
            assert await page.evaluate(
                "() => { const h = window.rostrumWebcast.hls;"
                " return h.subtitleTracks[h.subtitleTrack].lang; }") == "fr"

            await asyncio.sleep(1.0)
            banner = await page.inner_text(".webcast__banner")
            assert "Mr Okafor (Nigeria)" in banner, banner

            # the meeting ends: the archive page lists the intervention and seeks to it
            assert (await chair.floor("end-meeting"))["ok"]
            archive = f"{srv.base_url}/m/{srv.meeting_id}/archive"
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                async with http.get(f"{archive}/master.m3u8") as r:
                    if r.status == 200:
                        break
                await asyncio.sleep(0.3)
            await page.goto(archive)
            button = page.locator("#webcast-chapters button").first
            await button.wait_for(timeout=20_000)
            assert "Mr Okafor" in await button.inner_text()
            start = float(await button.get_attribute("data-start") or "nan")
            assert start > 2.0
            await page.wait_for_function(
                "window.rostrumWebcast.video.readyState >= 1", timeout=20_000)
            await button.click()
            await page.wait_for_function(
                f"Math.abs(window.rostrumWebcast.video.currentTime - {start}) < 1.5",
                timeout=20_000)
            # a link to a moment (a search hit's /archive#at=<unix seconds>) opens there
            async with http.get(f"{archive}/chapters.json") as r:
                listing = await r.json()
            at = listing["chapters"][0]["at"] + 1.0
            assert listing["recordingStart"] is not None, listing
            await page.goto("about:blank")
            await page.goto(f"{archive}#at={at:.1f}")
            await page.wait_for_function(
                f"Math.abs(window.rostrumWebcast.video.currentTime - {start + 1.0}) < 1.5",
                timeout=20_000)
        finally:
            for peer in peers:
                await peer.close()
