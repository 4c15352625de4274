"""Screen sharing in Chromium (its fake screen capture: with `--use-fake-ui-for-media-stream`
and `--use-fake-device-for-media-stream`, `getDisplayMedia` gives a 1280x720 test picture
without a picker). The chair presses "Share screen" with the keyboard; a delegate's page
decodes frames of its screen slot at the screen's full width in the large screen tile, named
for screen readers, and an observer on a phone sees it across the grid; the delegate, without the presenter right, has no button and is refused
by the server when its page asks anyway; the browser's own "Stop sharing" (the track ends)
empties everyone's screen slot."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.pages import PageLog, join_meeting, new_page, poll

pytestmark = [pytest.mark.browser, pytest.mark.network]

SCREEN_SLOT = """async () => {
    const client = window.rostrum.client;
    const slot = client.slots.find((s) => s.purpose === 'screen');
    const stats = (await client.getStats()).find((s) => s.purpose === 'screen');
    const tile = document.querySelector('.tile--screen');
    return {participantId: slot?.participantId ?? null, source: slot?.source ?? null,
            framesDecoded: stats?.framesDecoded ?? 0, frameWidth: stats?.frameWidth ?? 0,
            tileShown: Boolean(tile && !tile.hidden), tileLabel: tile?.getAttribute('aria-label') ?? null};
}"""


async def test_the_chair_shares_a_screen_and_a_delegate_sees_it(
        launch_browser: Any, rostrum_server: Any) -> None:
    srv = rostrum_server
    chair = await new_page(await launch_browser(None))
    delegate = await new_page(await launch_browser(None))
    phone = await new_page(await launch_browser(None, viewport={"width": 390, "height": 844}))
    logs = {"chair": PageLog(chair, "chair"), "delegate": PageLog(delegate, "delegate")}
    chair_id = await join_meeting(chair, srv.join_link("chair"), name="Chair Wei")
    await join_meeting(delegate, srv.join_link("delegate"), name="Delegate Ana")
    await join_meeting(phone, srv.join_link("observer"), name="Phone")

    # the delegate holds no presenter right: no button, and the server refuses the page
    await chair.wait_for_selector("#share-screen:not([hidden]):not([disabled])", timeout=20000)
    assert await delegate.is_hidden("#share-screen")
    refusal = await delegate.evaluate("""async () => {
        const canvas = document.createElement('canvas');
        canvas.width = 320; canvas.height = 180;
        const track = canvas.captureStream(5).getVideoTracks()[0];
        try { await window.rostrum.client.shareScreen(track); return 'accepted'; }
        catch (err) { return err.code; } finally { track.stop(); }
    }""")
    assert refusal == "forbidden"

    # the chair shares, by keyboard
    await chair.focus("#share-screen")
    await chair.keyboard.press("Enter")
    await chair.wait_for_selector("#share-screen[aria-pressed='true']", timeout=10000)
    assert (await chair.text_content("#share-screen") or "").strip() == "Stop sharing"

    seen = await poll(lambda: delegate.evaluate(SCREEN_SLOT),
                      lambda s: s["framesDecoded"] >= 5 and s["frameWidth"] > 0, timeout=30)
    assert seen["participantId"] == chair_id and seen["source"] == "screen", (
        f"{seen}\n{logs['chair'].tail()}\n{logs['delegate'].tail()}")
    assert seen["frameWidth"] == 1280, seen  # full resolution first: text stays readable
    assert seen["tileShown"] and seen["tileLabel"] == "Screen shared by Chair Wei", seen
    box = await delegate.locator(".tile--screen").bounding_box()
    camera = await delegate.locator(".tile:not(.tile--screen):not(.tile--self):not([hidden])"
                                    ).first.bounding_box()
    assert box and camera and box["width"] > camera["width"], (box, camera)  # the large tile
    status = await delegate.text_content("#room-status") or ""
    assert "Chair Wei is sharing a screen." in status, status
    # an observer on a phone: the screen across the grid, nothing scrolling sideways
    on_phone = await poll(lambda: phone.evaluate(SCREEN_SLOT),
                          lambda s: s["framesDecoded"] >= 3, timeout=20)
    assert on_phone["tileShown"] and on_phone["participantId"] == chair_id, on_phone
    layout = await phone.evaluate("""() => {
        const tile = document.querySelector('.tile--screen').getBoundingClientRect();
        const grid = document.getElementById('video-grid').getBoundingClientRect();
        return {tile: tile.width, grid: grid.width,
                overflow: document.scrollingElement.scrollWidth - window.innerWidth};
    }""")
    assert layout["overflow"] <= 1 and layout["tile"] >= layout["grid"] - 2, layout
    assert "Chair Wei is sharing a screen." in (await phone.text_content("#room-status") or "")

    # the browser's own "Stop sharing" ends the track: everyone's screen slot empties
    await chair.evaluate("window.rostrum.client.sharedScreen.dispatchEvent(new Event('ended'))")
    await chair.wait_for_selector("#share-screen[aria-pressed='false']", timeout=10000)
    seen = await poll(lambda: delegate.evaluate(SCREEN_SLOT),
                      lambda s: s["participantId"] is None and not s["tileShown"], timeout=15)
    assert seen["participantId"] is None and not seen["tileShown"], seen
