"""Adaptive bitrate in Chromium: the publisher sends its camera as two layers, the listener's
debug overlay shows which one it receives, and the "Low bandwidth" switch takes video away
(audio keeps flowing) and gives it back.

A delegate publishes the fake camera (Chromium's `--use-fake-device-for-media-stream`, asked
for 640x360 by the join form) and a tone; an observer subscribes. The publish offer is read
off the wire (Socket.IO frames), not from the client's own state.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest

from tests.browser.pages import (
    PageLog,
    client_state,
    join_meeting,
    new_page,
    outbound_video,
    poll,
    slot_stats,
)

pytestmark = [pytest.mark.browser, pytest.mark.network]

# The high layer is sent as captured (640 wide); the low one at half the width. Under CPU
# pressure Chromium may scale the high layer one step down (480); it is still the high one.
HIGH_MIN_WIDTH = 480
DEADLINE_S = 45.0
# A Socket.IO v5 event packet on /media: 4 (message) 2 (event) "/media," [ack id] [name, payload]
MEDIA_EVENT = re.compile(r"^42/media,\d*(\[.*\])$", re.S)


class PublishCapture:
    """Every `/media` `publish` event the page sends, from WebSocket frames and polling POSTs."""

    def __init__(self, page: Any) -> None:
        self.payloads: list[dict[str, Any]] = []
        page.on("websocket", lambda ws: ws.on("framesent", self._on_data))
        page.on("request", self._on_request)

    def _on_request(self, request: Any) -> None:
        if request.method == "POST" and "/socket.io/" in request.url and request.post_data:
            for packet in request.post_data.split("\x1e"):
                self._on_data(packet)

    def _on_data(self, data: Any) -> None:
        if not isinstance(data, str):
            return
        match = MEDIA_EVENT.match(data)
        if not match:
            return
        try:
            name, *args = json.loads(match.group(1))
        except (ValueError, TypeError):
            return
        if name == "publish" and args and isinstance(args[0], dict):
            self.payloads.append(args[0])


def m_sections(sdp: str) -> list[dict[str, str]]:
    """Each m-line of an SDP with its kind, mid and direction."""
    sections = []
    for block in re.split(r"\r?\n(?=m=)", sdp)[1:]:
        kind = block[2:].split(" ", 1)[0]
        mid = re.search(r"^a=mid:(\S+)", block, re.M)
        direction = re.search(r"^a=(sendonly|recvonly|sendrecv|inactive)\s*$", block, re.M)
        sections.append(
            {
                "kind": kind,
                "mid": mid.group(1) if mid else "",
                "direction": direction.group(1) if direction else "",
            }
        )
    return sections


async def packets_sent(page: Any) -> dict[str, int]:
    """mid → RTP packets sent so far, per video m-line of the publish connection."""
    return await outbound_video(page, "packetsSent")


async def sending(page: Any, seconds: float = 1.5) -> dict[str, int]:
    """mid → video packets sent over `seconds`."""
    before = await packets_sent(page)
    await asyncio.sleep(seconds)
    after = await packets_sent(page)
    return {mid: after[mid] - before.get(mid, 0) for mid in after}


async def outbound_widths(page: Any) -> dict[str, int]:
    """mid → frame width the publisher encodes, per video m-line of its publish connection."""
    return await outbound_video(page, "frameWidth")


async def overlay(page: Any, participant_id: str) -> dict[str, Any] | None:
    """What the listener's debug overlay shows on a participant's tile, and the tile's state."""
    result = await page.evaluate(
        """(pid) => {
            const tile = document.querySelector(`#video-grid .tile[data-participant="${pid}"]`);
            if (!tile) return null;
            const debug = tile.querySelector('.tile__debug');
            const quality = tile.querySelector('.tile__quality');
            return {
                mid: tile.dataset.mid,
                visible: !tile.hidden && tile.offsetParent !== null,
                debugVisible: Boolean(debug && !debug.hidden && debug.offsetParent !== null),
                text: debug?.textContent ?? '',
                layer: debug?.dataset.layer ?? '',
                frameWidth: Number(debug?.dataset.frameWidth ?? 0),
                frameHeight: Number(debug?.dataset.frameHeight ?? 0),
                noVideo: tile.classList.contains('tile--no-video'),
                initials: tile.querySelector('.tile__initials')?.textContent ?? '',
                label: tile.querySelector('.tile__label')?.textContent ?? '',
                quality: quality && !quality.hidden ? quality.dataset.quality : null,
                qualityText: quality?.textContent ?? '',
            };
        }""",
        participant_id,
    )
    return dict(result) if result else None


async def counters(page: Any, video_mid: str, audio_mid: str) -> tuple[int, int]:
    """(frames decoded on the video slot, packets received on the seat's audio slot)."""
    stats = {s["mid"]: s for s in await slot_stats(page)}
    return int(stats[video_mid]["framesDecoded"]), int(stats[audio_mid]["packetsReceived"])


async def progress(
    page: Any, video_mid: str, audio_mid: str, seconds: float = 2.0
) -> dict[str, int]:
    """Frames decoded and audio packets received over `seconds`."""
    frames0, packets0 = await counters(page, video_mid, audio_mid)
    await asyncio.sleep(seconds)
    frames1, packets1 = await counters(page, video_mid, audio_mid)
    return {"frames": frames1 - frames0, "packets": packets1 - packets0}


async def test_two_layers_debug_overlay_and_low_bandwidth(
    launch_browser: Any, make_tone: Any, rostrum_server: Any
) -> None:
    publisher = await new_page(await launch_browser(make_tone(440.0)))
    listener = await new_page(await launch_browser(make_tone(660.0)))
    logs = [PageLog(publisher, "publisher"), PageLog(listener, "listener")]
    capture = PublishCapture(publisher)

    publisher_id = await join_meeting(
        publisher,
        rostrum_server.join_link(role="delegate"),
        name="Amina Diallo",
        organization="Ministry of Communications",
        member_state="Senegal",
    )
    # The debug overlay is offered to a delegate or an observer with the page's debug flag.
    await join_meeting(listener, rostrum_server.join_link(role="observer") + "&debug=1",
                       name="Olga Observer")

    async def report() -> str:
        state = await client_state(listener)
        return (
            f"listener slots: {json.dumps(state['slots'])}\n"
            f"listener stats: {json.dumps(await slot_stats(listener))}\n"
            f"overlay: {await overlay(listener, publisher_id)}\n"
            + "\n".join(log.tail(15) for log in logs)
        )

    # 1. One publish offer with the microphone and two camera m-lines, camera and camera-low,
    # plus the idle screen m-line a delegate may share a screen on (docs/protocol.md).
    async def published() -> list[dict[str, Any]]:
        return capture.payloads

    await poll(published, bool, timeout=10)
    assert len(capture.payloads) == 1, capture.payloads
    offer = capture.payloads[0]
    sources: dict[str, str] = offer["sources"]
    assert sorted(sources.values()) == ["camera", "camera-low", "mic", "screen"], sources
    sections = {s["mid"]: s for s in m_sections(offer["sdp"])}
    assert [s["kind"] for s in sections.values()].count("video") == 3, sections
    for mid, source in sources.items():
        assert sections[mid]["kind"] == ("audio" if source == "mic" else "video"), (mid, sections)
        assert sections[mid]["direction"] == "sendonly", (mid, sections)
    high_mid = next(mid for mid, source in sources.items() if source == "camera")
    low_mid = next(mid for mid, source in sources.items() if source == "camera-low")

    # The low layer is the camera scaled down to half its width (a quarter of the pixels).
    captured = int(
        await publisher.evaluate(
            "window.rostrum.client.publishedStream.getVideoTracks()[0].getSettings().width"
        )
    )
    widths = await poll(
        lambda: outbound_widths(publisher),
        lambda w: w.get(high_mid, 0) >= HIGH_MIN_WIDTH and w.get(low_mid, 0) > 0,
        timeout=DEADLINE_S,
    )
    assert widths.get(high_mid, 0) >= HIGH_MIN_WIDTH, (captured, widths)
    assert 0 < widths[low_mid] <= captured // 2 + 2, (captured, widths)

    # 2. The listener's debug overlay (the D key) shows the high layer arriving.
    await listener.wait_for_selector(f'#video-grid .tile[data-participant="{publisher_id}"]')
    await listener.keyboard.press("d")
    await listener.wait_for_selector("#debug-toggle[aria-pressed='true']", timeout=5_000)
    assert await listener.is_visible("#debug-link")
    shown = await poll(
        lambda: overlay(listener, publisher_id),
        lambda o: bool(
            o and o["debugVisible"] and o["layer"] == "camera" and o["frameWidth"] >= HIGH_MIN_WIDTH
        ),
        timeout=DEADLINE_S,
    )
    if not (shown and shown["layer"] == "camera" and shown["frameWidth"] >= HIGH_MIN_WIDTH):
        pytest.fail(f"the overlay does not show the high layer: {shown}\n{await report()}")
    assert shown["debugVisible"] and "camera" in shown["text"], shown
    assert re.search(r"\d+×\d+", shown["text"]), shown
    # The connection quality is rated, with a word, on the tile and for the own link.
    rated = await poll(
        lambda: overlay(listener, publisher_id), lambda o: bool(o and o["quality"]), timeout=10
    )
    assert rated and rated["quality"] in ("good", "fair", "poor"), rated
    assert re.search(r"Connection:\s*(Good|Fair|Poor)", rated["qualityText"]), rated
    local = listener.locator("#local-quality")
    await local.wait_for(state="visible", timeout=10_000)
    local_text = await local.text_content() or ""
    assert re.search(r"Your connection:\s*(Good|Fair|Poor)", local_text), local_text

    video_mid = str(shown["mid"])
    slots = (await client_state(listener))["slots"]
    seat = next(s["seat"] for s in slots if s["mid"] == video_mid)
    audio_mid = next(
        s["mid"]
        for s in slots
        if s["kind"] == "audio" and s["purpose"] == "seat" and s["seat"] == seat
    )
    flowing = await progress(listener, video_mid, audio_mid)
    assert flowing["frames"] > 0 and flowing["packets"] > 0, (flowing, await report())

    # 3. Low bandwidth: the video slot empties and stops decoding; the audio keeps flowing; the
    # tile names the speaker instead of the picture; the choice is remembered.
    await listener.click("#low-bandwidth")
    await listener.wait_for_selector("#low-bandwidth[aria-checked='true']", timeout=10_000)
    assert await listener.evaluate("localStorage.getItem('rostrum.lowBandwidth')") == "on"
    emptied = await poll(
        lambda: overlay(listener, publisher_id),
        lambda o: bool(o and o["mid"] == video_mid and o["layer"] == "" and o["noVideo"]),
        timeout=10,
    )
    if not (emptied and emptied["layer"] == "" and emptied["noVideo"]):
        pytest.fail(f"low bandwidth did not empty the video slot: {emptied}\n{await report()}")
    assert emptied["visible"] and emptied["initials"] == "AD", emptied
    assert "Amina Diallo" in emptied["label"], emptied
    # Frames already on the way may still decode for a moment: wait until none do.
    stopped = await poll(
        lambda: progress(listener, video_mid, audio_mid),
        lambda p: p["frames"] == 0,
        timeout=15,
    )
    assert stopped["frames"] == 0, (stopped, await report())
    quiet = await progress(listener, video_mid, audio_mid, seconds=3.0)
    assert quiet["frames"] == 0, (quiet, await report())
    assert quiet["packets"] > 50, (quiet, await report())  # 20 ms Opus frames: ~150 in 3 s

    # 4. Video back: the slot is fed again and frames decode.
    await listener.click("#low-bandwidth")
    await listener.wait_for_selector("#low-bandwidth[aria-checked='false']", timeout=10_000)
    assert await listener.evaluate("localStorage.getItem('rostrum.lowBandwidth')") == "off"
    resumed = await poll(
        lambda: progress(listener, video_mid, audio_mid),
        lambda p: p["frames"] > 0,
        timeout=DEADLINE_S,
    )
    if resumed["frames"] <= 0:
        pytest.fail(f"video did not come back: {resumed}\n{await report()}")
    back = await poll(
        lambda: overlay(listener, publisher_id),
        lambda o: bool(o and o["layer"] in ("camera", "camera-low") and not o["noVideo"]),
        timeout=10,
    )
    assert back and back["layer"] in ("camera", "camera-low") and not back["noVideo"], back

    # 5. The overlay hides again with the button.
    await listener.click("#debug-toggle")
    await listener.wait_for_selector("#debug-toggle[aria-pressed='false']")
    hidden = await overlay(listener, publisher_id)
    assert hidden and not hidden["debugVisible"], hidden

    # 6. The publisher's camera off: neither layer sends anything; the listener sees the name.
    # (the camera's m-lines only: the idle screen m-line sends nothing throughout)
    async def camera_sending() -> dict[str, int]:
        sent = await sending(publisher)
        return {mid: n for mid, n in sent.items() if mid in (high_mid, low_mid)}

    assert all(n > 0 for n in (await camera_sending()).values())
    await publisher.click("#toggle-camera")
    await publisher.wait_for_selector("#toggle-camera[aria-pressed='true']", timeout=10_000)
    idle = await poll(
        camera_sending, lambda n: all(v == 0 for v in n.values()), timeout=10
    )
    assert set(idle) == {high_mid, low_mid} and all(v == 0 for v in idle.values()), idle
    named = await poll(
        lambda: overlay(listener, publisher_id), lambda o: bool(o and o["noVideo"]), timeout=10
    )
    assert named and named["noVideo"] and named["initials"] == "AD", named
    await publisher.click("#toggle-camera")
    await publisher.wait_for_selector("#toggle-camera[aria-pressed='false']", timeout=10_000)
    again = await poll(
        camera_sending, lambda n: all(v > 0 for v in n.values()), timeout=10
    )
    assert all(v > 0 for v in again.values()), again
    shown_again = await poll(
        lambda: progress(listener, video_mid, audio_mid), lambda p: p["frames"] > 0, timeout=20
    )
    assert shown_again["frames"] > 0, (shown_again, await report())


PHONE = {"width": 390, "height": 844}
MIN_TOUCH_PX = 44
PHONE_PROBE = """(pid) => {
    const box = (el) => el && !el.hidden && el.offsetParent !== null ? el.getBoundingClientRect() : null;
    const tile = document.querySelector(`#video-grid .tile[data-participant="${pid}"]`);
    const [t, q, d, l] = [tile, tile?.querySelector('.tile__quality'),
                          tile?.querySelector('.tile__debug'), tile?.querySelector('.tile__label')].map(box);
    const inside = (a) => !a || !t || (a.left >= t.left - 1 && a.right <= t.right + 1
                                       && a.top >= t.top - 1 && a.bottom <= t.bottom + 1);
    const overlap = (a, b) => Boolean(a && b && a.left < b.right && b.left < a.right
                                      && a.top < b.bottom && b.top < a.bottom);
    const small = [...document.querySelectorAll('#reception button')]
        .filter((el) => el.offsetParent !== null)
        .map((el) => ({id: el.id, h: el.getBoundingClientRect().height}))
        .filter((c) => c.h < 44);
    // A tile clips its label (ellipsis): what is inside a tile is checked against the tile.
    const wide = [...document.querySelectorAll('.room *')]
        .filter((el) => el.offsetParent !== null && !el.parentElement.closest('.tile')
                && el.getBoundingClientRect().right > window.innerWidth + 1)
        .map((el) => el.id || el.className);
    return {
        overflow: document.scrollingElement.scrollWidth - window.innerWidth,
        wide, small,
        tile: Boolean(t),
        partsInside: [q, d, l].every(inside),
        debugOverQuality: overlap(d, q),
        labelUnderDebug: overlap(d, l),
    };
}"""


async def test_tiles_and_reception_fit_a_phone(
    launch_browser: Any, make_tone: Any, rostrum_server: Any, tmp_path: Any
) -> None:
    publisher = await new_page(await launch_browser(make_tone(440.0)))
    listener = await new_page(await launch_browser(make_tone(660.0), viewport=PHONE))
    publisher_id = await join_meeting(
        publisher,
        rostrum_server.join_link(role="delegate"),
        name="Bruno Keller",
        organization="OFCOM",
        member_state="Switzerland",
    )
    await join_meeting(listener, rostrum_server.join_link(role="delegate") + "&debug=1",
                       name="Chen Wei")
    await listener.wait_for_selector(
        f'#video-grid .tile[data-participant="{publisher_id}"] .tile__quality:not([hidden])',
        timeout=DEADLINE_S * 1000,
    )
    await listener.click("#debug-toggle")
    await listener.wait_for_selector("#debug-toggle[aria-pressed='true']")
    for state in ("video", "low-bandwidth"):
        if state == "low-bandwidth":
            await listener.click("#low-bandwidth")
            await listener.wait_for_selector(
                f'#video-grid .tile--no-video[data-participant="{publisher_id}"]', timeout=10_000
            )
        await listener.locator("#video-grid").scroll_into_view_if_needed()
        await listener.screenshot(path=str(tmp_path / f"phone-{state}.png"))
        result = await listener.evaluate(PHONE_PROBE, publisher_id)
        assert result["tile"], (state, result)
        assert result["overflow"] <= 0 and result["wide"] == [], (state, result)
        assert result["small"] == [], (state, result)
        assert result["partsInside"], (state, result)
        assert not result["debugOverQuality"] and not result["labelUnderDebug"], (state, result)


async def test_quality_rules(launch_browser: Any, rostrum_server: Any) -> None:
    """The rating rules of web/static/quality.js (pure functions), run in the page."""
    page = await new_page(await launch_browser(None))
    await page.goto(f"{rostrum_server.base_url}/healthz")
    result = await page.evaluate(
        """async () => {
            const q = await import('/static/quality.js');
            const stats = (over) => ({mid: '0', kind: 'audio', purpose: 'seat', seat: 0,
                participantId: 'p', layer: null, packetsReceived: 0, packetsLost: 0,
                bytesReceived: 0, framesDecoded: 0, frameWidth: 0, frameHeight: 0,
                framesPerSecond: null, pliCount: 0, nackCount: 0, jitter: 0.005,
                audioLevel: null, ...over});
            const worst = (reasons) => q.rateSignals(reasons).quality;
            const lossy = q.slotRate(stats({packetsReceived: 100}),
                                     stats({packetsReceived: 190, packetsLost: 10}), 2);
            const silent = q.slotRate(stats({packetsReceived: 100}),
                                      stats({packetsReceived: 105}), 2);
            const video = (frames, over = {}) => q.slotRate(
                stats({kind: 'video', layer: 'camera', framesDecoded: 100}),
                stats({kind: 'video', layer: 'camera', framesDecoded: 100 + frames, ...over}), 2);
            const on = () => true;
            const link = (over) => ({state: 'connected', currentRoundTripTime: 0.02,
                availableIncomingBitrate: null, availableOutgoingBitrate: null,
                bytesReceived: 0, ...over});
            const none = {reducedSamples: 0, missingSamples: 0};
            const tracker = new q.QualityTracker();
            const smoothed = ['poor', 'good', 'good'].map(
                (quality) => tracker.update({quality, reasons: []}).quality);
            return {
                values: [q.rateValue(0.01, [0.02, 0.08]), q.rateValue(0.05, [0.02, 0.08]),
                         q.rateValue(0.2, [0.02, 0.08]), q.rateValue(30, [10, 5]),
                         q.rateValue(7, [10, 5]), q.rateValue(2, [10, 5])],
                lossFraction: lossy.lossFraction,
                lossy: worst(q.participantReasons([lossy], on)),
                silent: [silent.lossFraction, worst(q.participantReasons([silent], on))],
                smooth: worst(q.participantReasons([video(50)], on)),
                slow: worst(q.participantReasons([video(14)], on)),
                frozen: worst(q.participantReasons([video(0)], on)),
                cameraOff: worst(q.participantReasons([video(0)], () => false)),
                quietLink: q.isCongested(link({availableIncomingBitrate: 60_000}), 30_000),
                busyLink: q.isCongested(link({availableIncomingBitrate: 900_000}), 600_000),
                backedOff: q.isCongested(link({availableIncomingBitrate: 400_000}), 600_000),
                catchingUp: worst(q.linkReasons(link({availableIncomingBitrate: 400_000}), [],
                                                {...none, congestedSamples: 2})),
                congested: worst(q.linkReasons(link({availableIncomingBitrate: 400_000}), [],
                                               {...none, congestedSamples: 3})),
                quietAudio: worst(q.linkReasons(link({availableIncomingBitrate: 50_000}), [], none)),
                starved: worst(q.linkReasons(link({availableIncomingBitrate: 50_000}), [],
                                             {...none, congestedSamples: 3})),
                farAway: worst(q.linkReasons(link({currentRoundTripTime: 0.7}), [], none)),
                dropped: worst(q.linkReasons(link({state: 'disconnected'}), [], none)),
                newSeat: worst(q.linkReasons(link(), [], {reducedSamples: 2, missingSamples: 0})),
                lowLayer: worst(q.linkReasons(link(), [], {reducedSamples: 3, missingSamples: 0})),
                noVideo: worst(q.linkReasons(link(), [], {reducedSamples: 3, missingSamples: 3})),
                smoothed,
            };
        }"""
    )
    assert result["values"] == ["good", "fair", "poor", "good", "fair", "poor"], result
    assert result["lossFraction"] == pytest.approx(0.1), result
    assert result["lossy"] == "poor", result
    # A silent microphone (Opus DTX) sends a few packets: too few to judge loss by.
    assert result["silent"] == [None, "good"], result
    assert (result["smooth"], result["slow"], result["frozen"]) == ("good", "fair", "poor"), result
    assert result["cameraOff"] == "good", result
    # The browser's estimate follows what arrives: low on a quiet link is no congestion, and
    # a short dip below what arrives is the estimator catching up with a higher layer.
    assert (result["quietLink"], result["busyLink"], result["backedOff"]) == (False, False, True)
    assert (result["catchingUp"], result["congested"]) == ("good", "fair"), result
    assert (result["quietAudio"], result["starved"]) == ("good", "poor"), result
    assert (result["farAway"], result["dropped"]) == ("poor", "poor"), result
    assert (result["newSeat"], result["lowLayer"], result["noVideo"]) == ("good", "fair", "poor")
    # Worse at once, better only when two samples in a row agree.
    assert result["smoothed"] == ["poor", "poor", "good"], result
