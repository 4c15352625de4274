"""The chair's console beyond giving the floor, in a chaired meeting, from the browser UI:
- the delegate's microphone switches to original sound (no echo cancellation, noise
  suppression or gain control) while they hold the floor, and back afterwards;
- a short speaking time runs out: the chair sees the warning, the countdown goes over time;
- mute / unmute, lock, a show of hands with per-voter results;
- floor rights given to and taken from a secretariat member, whose console follows;
- remove (confirmed in a dialog): the removed participant sees the "removed" screen;
- end the meeting (confirmed): everyone sees the "ended" screen.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.pages import PageLog, floor_state, join_meeting, new_page, poll

pytestmark = [pytest.mark.browser, pytest.mark.network]

MIC_SETTINGS = """() => {
    const track = window.rostrum.client.publishedStream?.getAudioTracks()[0];
    const s = track ? track.getSettings() : {};
    return {echoCancellation: s.echoCancellation, noiseSuppression: s.noiseSuppression,
            autoGainControl: s.autoGainControl, readyState: track?.readyState ?? null};
}"""


@pytest.fixture
def floor_mode() -> str:
    return "chaired"


async def test_chair_console_controls(
    launch_browser: Any, make_tone: Any, rostrum_server: Any
) -> None:
    chair = await new_page(await launch_browser(make_tone(440.0)))
    delegate = await new_page(await launch_browser(make_tone(660.0)))
    other = await new_page(await launch_browser(None))
    logs = [PageLog(chair, "chair"), PageLog(delegate, "delegate"), PageLog(other, "other")]
    try:
        await join_meeting(chair, rostrum_server.join_link(role="chair"), name="Ms Chair")
        # This delegate keeps the browser's voice processing at join ("original sound" off).
        delegate_id = await join_meeting(
            delegate,
            rostrum_server.join_link(role="delegate"),
            name="Bruno Keller",
            member_state="Switzerland",
            original_sound=False,
        )
        other_id = await join_meeting(
            other, rostrum_server.join_link(role="secretariat"), name="Sam Secretary"
        )
        # The secretariat sees the booths, not the floor controls, until given the rights.
        await other.wait_for_selector("#booth-panel", state="visible")
        assert await other.is_hidden("#console-queue")
        processed = await delegate.evaluate(MIC_SETTINGS)
        assert processed["echoCancellation"] is True, processed

        # A 5-second default speaking time that does not close the floor.
        await chair.fill("#setting-default-limit", "0.0833")
        await chair.press("#setting-default-limit", "Enter")
        await chair.locator("#setting-default-limit").blur()
        state = await poll(
            partial_floor(chair), lambda s: s and s["defaultLimitS"] == 5, timeout=10
        )
        assert state and state["defaultLimitS"] == 5, state

        # The chair gives the floor directly from the participant list (no request).
        row = chair.locator(f'#participants [data-participant="{delegate_id}"]')
        await row.locator('[data-action="more"]').click()
        await row.locator('[data-action="give-floor"]').click()
        await delegate.wait_for_selector("#floor-yield", state="visible")

        # While speaking, the microphone carries the original sound.
        settings = await poll(
            lambda: delegate.evaluate(MIC_SETTINGS),
            lambda s: s["echoCancellation"] is False,
            timeout=10,
        )
        assert settings["echoCancellation"] is False, settings
        assert settings["noiseSuppression"] is False and settings["autoGainControl"] is False, (
            settings
        )
        assert settings["readyState"] == "live", settings

        # The time runs out: the chair sees the warning, the countdowns go over time.
        await chair.wait_for_selector("#floor-expired", state="visible", timeout=15_000)
        assert "Bruno Keller" in await chair.inner_text("#floor-expired")
        await delegate.wait_for_selector('#my-countdown[data-state="over"]', timeout=5_000)
        assert (await delegate.inner_text("#my-countdown")).startswith("−")
        # More time clears the warning.
        await chair.click('[data-extend="60"]')
        await chair.wait_for_selector("#floor-expired", state="hidden", timeout=5_000)

        # The delegate yields; the microphone goes back to the processing chosen at join.
        await delegate.click("#floor-yield")
        await delegate.wait_for_selector("#floor-yield", state="hidden")
        settings = await poll(
            lambda: delegate.evaluate(MIC_SETTINGS),
            lambda s: s["echoCancellation"] is True,
            timeout=10,
        )
        assert settings["echoCancellation"] is True, settings

        # Mute and unmute from the participant list; the delegate is told.
        await row.locator('[data-action="mute"]').click()
        await delegate.wait_for_selector("#floor-muted", state="visible")
        assert await row.locator(".badge--muted").count() == 1
        await row.locator('[data-action="unmute"]').click()
        await delegate.wait_for_selector("#floor-muted", state="hidden")

        # Lock and unlock.
        await chair.click("#meeting-lock")
        await chair.wait_for_selector('#meeting-lock[aria-pressed="true"]')
        assert (await floor_state(chair) or {})["locked"] is True
        await chair.click("#meeting-lock")
        await chair.wait_for_selector('#meeting-lock[aria-pressed="false"]')

        # A show of hands: the delegates answer, the chair sees totals and who answered what.
        await chair.fill("#hands-text", "Approve the draft?")
        await chair.click("#hands-open")
        await delegate.wait_for_selector("#hands-panel", state="visible")
        await delegate.click("#hands-no")
        await delegate.click("#hands-yes")  # an answer may be changed while the question is open
        await chair.wait_for_function(
            "document.querySelector('#console-hands-totals').textContent.includes('Yes 1 · No 0')"
        )
        await delegate.wait_for_selector('#hands-yes[aria-pressed="true"]')
        assert await delegate.get_attribute("#hands-no", "aria-pressed") == "false"
        await chair.click("#hands-close")
        voter = chair.locator("#hands-voters .hands__voter")
        await voter.first.wait_for()
        text = await chair.inner_text("#hands-voters")
        assert "Bruno Keller" in text and "Yes" in text, text
        await delegate.wait_for_selector("#hands-yes:disabled")

        # Floor rights for the secretariat member: their console shows the floor controls.
        other_row = chair.locator(f'#participants [data-participant="{other_id}"]')
        await other_row.locator('[data-action="more"]').click()
        await other_row.locator('[data-action="rights"]').click()
        await other.wait_for_selector("#console-queue", state="visible", timeout=10_000)
        await other_row.locator('[data-action="rights"][aria-pressed="true"]').wait_for()
        assert await other_row.locator(".badge--rights").count() == 1
        await other_row.locator('[data-action="rights"]').click()
        await other.wait_for_selector("#console-queue", state="hidden", timeout=10_000)

        # Remove, with a confirmation dialog; cancelling first changes nothing.
        await other_row.locator('[data-action="remove"]').click()
        await chair.click("#confirm-cancel")
        assert await other_row.count() == 1
        await other_row.locator('[data-action="remove"]').click()
        await chair.click("#confirm-ok")
        await other.wait_for_selector("#removed-notice", timeout=10_000)
        assert await other.evaluate("window.rostrum.view") == "removed"
        await other_row.wait_for(state="detached", timeout=10_000)

        # End the meeting, confirmed: everyone sees the end screen.
        await chair.click("#end-meeting")
        await chair.click("#confirm-ok")
        await delegate.wait_for_selector("#ended-notice", timeout=10_000)
        assert "Ms Chair" in await delegate.inner_text("#ended-notice")
        assert await delegate.evaluate("window.rostrum.view") == "ended"
        await chair.wait_for_selector("#ended-notice", timeout=10_000)
        # The "connection lost" notice never shows over the end screen.
        assert await delegate.locator("#room-error:visible").count() == 0
    except Exception:
        for log in logs:
            print(log.tail(40))
        raise


def partial_floor(page: Any) -> Any:
    async def probe() -> dict[str, Any] | None:
        return await floor_state(page)

    return probe
