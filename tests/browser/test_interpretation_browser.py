"""Interpretation from the browser UI: the chair (the floor, 440 Hz) speaks; the chair puts an
interpreter (660 Hz) into the English booth from the console's booth panel; the interpreter
goes live with the console's microphone key; a listener picks English in the language
selector and hears the interpreter (660 Hz) with the floor under it at the chosen level; the
interpreter switches off, and the listener hears the floor (440 Hz) passing through, shown
as "Original".

"Hears" is measured on what the page's mixer plays (web/static/mixer.js): the analyser on the
sum of every route after its gain, and the level leaving each route. The seat carrying the
chair is compared at the floor-under level and at full level, which proves that the gain
really changes what is played.
"""

from __future__ import annotations

import json
import math
from functools import partial
from typing import Any

import pytest

from tests.browser.pages import (
    PageLog,
    client_state,
    interpretation_state,
    join_meeting,
    mix,
    new_page,
    poll,
)

pytestmark = [pytest.mark.browser, pytest.mark.network]

FLOOR_HZ, INTERPRETER_HZ, LISTENER_HZ = 440.0, 660.0, 880.0
TOLERANCE_HZ = 15.0
DEADLINE_S = 30.0
FLOOR_UNDER = 0.2  # the listener's default: 20 log10(0.2) = -14 dB


@pytest.fixture
def floor_mode() -> str:
    return "chaired"


def _near(frequency: float | None, target: float) -> bool:
    return frequency is not None and abs(frequency - target) <= TOLERANCE_HZ


def _route(report: dict[str, Any], role: str, participant_id: str | None = None) -> dict[str, Any]:
    for route in report["routes"]:
        if route["role"] == role and (
            participant_id is None or route["participantId"] == participant_id
        ):
            return dict(route)
    raise AssertionError(f"no {role} route for {participant_id}: {report}")


async def test_listener_hears_the_english_booth_then_the_original(
    launch_browser: Any, make_tone: Any, rostrum_server: Any
) -> None:
    pages: dict[str, Any] = {}
    logs: dict[str, PageLog] = {}
    ids: dict[str, str] = {}
    people = {
        "chair": (FLOOR_HZ, "chair", "Ms Chair", "ITU", ""),
        "interpreter": (INTERPRETER_HZ, "interpreter", "Irene Park", "ITU", ""),
        "listener": (LISTENER_HZ, "delegate", "Amina Diallo", "ARTP", "Senegal"),
    }
    for label, (tone, role, name, organization, member_state) in people.items():
        page = await new_page(await launch_browser(make_tone(tone)))
        logs[label] = PageLog(page, label)
        pages[label] = page
        try:
            ids[label] = await join_meeting(
                page,
                rostrum_server.join_link(role=role),
                name=name,
                organization=organization,
                member_state=member_state,
            )
        except Exception as err:
            raise AssertionError(f"{label} could not join: {err}\n{logs[label].tail()}") from err
    chair, interpreter, listener = pages["chair"], pages["interpreter"], pages["listener"]

    async def report() -> str:
        out = [f"ids: {json.dumps(ids)}"]
        out.append(f"interpretation: {json.dumps(await interpretation_state(listener))}")
        for label, page in pages.items():
            state = await client_state(page)
            out.append(f"--- {label}: slots {json.dumps(state['slots'])}")
            out.append(f"mix: {json.dumps(await mix(page), default=str)}")
            out.append(logs[label].tail())
        return "\n".join(out)

    # The interpreter is not in a booth yet: the console says so, the listener panel shows.
    await interpreter.wait_for_selector("#ic-unassigned", state="visible")

    # The chair assigns the interpreter to the English booth in the booth panel.
    select = chair.locator(f'#booth-assign select[data-interpreter="{ids["interpreter"]}"]')
    await select.wait_for(timeout=10_000)
    await select.select_option("en")
    await interpreter.wait_for_selector("#ic-mic", state="visible", timeout=10_000)
    assert "English" in await interpreter.inner_text("#ic-booth")
    assert await interpreter.is_hidden("#listen-panel")
    assert await interpreter.evaluate("window.rostrum.client.micEnabled") is False

    # The interpreter goes live with the microphone key.
    await interpreter.click("#ic-mic")
    await interpreter.wait_for_selector('#ic-mic[aria-pressed="true"]', timeout=10_000)
    assert "LIVE" in await interpreter.inner_text("#ic-outgoing")
    assert await interpreter.evaluate("window.rostrum.client.micEnabled") is True
    await chair.wait_for_selector('#booth-status [data-booth="en"] [data-feed="interpreting"]')

    # The listener picks English: the channel slot carries the interpreter at full level,
    # the seats (the floor) play under it at the floor-under level.
    await listener.select_option("#listen-channel", "en")
    await listener.wait_for_selector("#listen-original", state="hidden")

    def hears_interpreter(report: dict[str, Any]) -> bool:
        return report["choice"]["channel"] == "en" and _near(
            report["mix"]["frequency"], INTERPRETER_HZ
        )

    state = await poll(partial(mix, listener), hears_interpreter, timeout=DEADLINE_S)
    if not hears_interpreter(state):
        pytest.fail(f"the listener does not hear the English booth: {state}\n{await report()}")
    assert state["webAudio"] is True, state
    channel = _route(state, "channel")
    under = _route(state, "seat", ids["chair"])
    assert channel["level"] == 1 and under["level"] == pytest.approx(FLOOR_UNDER), state
    assert channel["db"] > -40, state

    # The floor under the interpretation really plays at -14 dB: measure the chair's seat at
    # the floor-under level now, at full level after the switch-off below.
    async def seat_db() -> float:
        levels = [_route(await mix(listener), "seat", ids["chair"])["db"] for _ in range(5)]
        return max(float(db) for db in levels)

    under_db = await seat_db()
    assert under_db > -60, (under_db, state)

    # Cough (held with the mouse): the English channel goes silent, the listener is left
    # with the floor under it; released, the interpreter is back.
    await interpreter.hover("#ic-cough")
    await interpreter.mouse.down()
    try:
        await interpreter.wait_for_selector('#ic-cough[aria-pressed="true"]')

        def hears_cough(report: dict[str, Any]) -> bool:
            channel = _route(report, "channel")
            return (channel["db"] is None or channel["db"] < -60) and _near(
                report["mix"]["frequency"], FLOOR_HZ
            )

        state = await poll(partial(mix, listener), hears_cough, timeout=DEADLINE_S)
        if not hears_cough(state):
            pytest.fail(
                f"the channel is not silent while the interpreter coughs: {state}\n{await report()}"
            )
        assert _route(state, "seat", ids["chair"])["level"] == pytest.approx(FLOOR_UNDER), state
        assert await interpreter.evaluate("window.rostrum.client.micEnabled") is False
    finally:
        await interpreter.mouse.up()
    state = await poll(partial(mix, listener), hears_interpreter, timeout=DEADLINE_S)
    assert hears_interpreter(state), state

    # The interpreter switches off: the English channel passes the floor through, the
    # listener hears the floor (440 Hz) at full level and sees "Original".
    await interpreter.click("#ic-mic")
    await interpreter.wait_for_selector('#ic-mic[aria-pressed="false"]', timeout=10_000)
    assert "original" in (await interpreter.inner_text("#ic-outgoing")).lower()
    await listener.wait_for_selector("#listen-original", state="visible", timeout=10_000)

    def hears_floor(report: dict[str, Any]) -> bool:
        return report["choice"]["original"] is True and _near(report["mix"]["frequency"], FLOOR_HZ)

    state = await poll(partial(mix, listener), hears_floor, timeout=DEADLINE_S)
    if not hears_floor(state):
        pytest.fail(
            "the listener does not hear the original after the switch-off: "
            f"{state}\n{await report()}"
        )
    channel = _route(state, "channel")
    assert channel["level"] == 0, state
    assert _route(state, "seat", ids["chair"])["level"] == 1, state
    await listener.wait_for_timeout(300)  # the gains ramp with a 30 ms time constant
    full_db = await seat_db()
    gain_db = 20 * math.log10(FLOOR_UNDER)
    assert full_db - under_db == pytest.approx(-gain_db, abs=4.0), (under_db, full_db)
    silent = _route(await mix(listener), "channel")["db"]
    assert silent is None or silent < -60, silent


async def test_booth_handover_take_over_and_busy_booth(
    launch_browser: Any, make_tone: Any, rostrum_server: Any
) -> None:
    """Two interpreters in the English booth: the second cannot go live over the first (the
    console says so and keeps its microphone closed); the first offers a handover, the second
    accepts, the microphone moves; the first takes it back at once. Each console's microphone
    track is enabled exactly while its interpreter is live."""
    chair = await new_page(await launch_browser(make_tone(FLOOR_HZ)))
    first = await new_page(await launch_browser(make_tone(INTERPRETER_HZ)))
    second = await new_page(await launch_browser(None))
    logs = [PageLog(chair, "chair"), PageLog(first, "first"), PageLog(second, "second")]
    await join_meeting(chair, rostrum_server.join_link(role="chair"), name="Ms Chair")
    first_id = await join_meeting(
        first, rostrum_server.join_link(role="interpreter"), name="Irene Park"
    )
    second_id = await join_meeting(
        second, rostrum_server.join_link(role="interpreter"), name="Jean Dupont"
    )
    for interpreter_id in (first_id, second_id):
        select = chair.locator(f'#booth-assign select[data-interpreter="{interpreter_id}"]')
        await select.wait_for(timeout=10_000)
        await select.select_option("en")
    for page in (first, second):
        await page.wait_for_selector("#ic-mic", state="visible", timeout=10_000)

    async def booth(page: Any) -> dict[str, Any]:
        return dict(
            await page.evaluate(
                """() => { const c = window.rostrum.client;
                    const b = c.interpretation.booths.find((b) => b.language === 'en');
                    return {live: b.live, handover: b.handover, micsOpen: b.micsOpen,
                            mic: c.micEnabled}; }"""
            )
        )

    try:
        await first.click("#ic-mic")
        await first.wait_for_selector('#ic-mic[aria-pressed="true"]')
        await second.wait_for_selector('#ic-partners [data-partner] [data-state="live"]')
        # The booth is busy: the second console refuses, says why, keeps its mic closed.
        await second.click("#ic-mic")
        await second.wait_for_selector("#room-error:visible")
        assert "handover" in (await second.inner_text("#room-error")).lower()
        assert (await booth(second))["mic"] is False
        assert await second.is_visible("#ic-take-over")

        # Handover: offered by the live interpreter, accepted by the partner.
        await first.click("#ic-handover-request")
        await second.wait_for_selector("#ic-handover-accept", state="visible")
        assert "Irene Park" in await second.inner_text("#ic-handover-note")
        await second.click("#ic-handover-accept")
        await second.wait_for_selector('#ic-mic[aria-pressed="true"]')
        await first.wait_for_selector('#ic-mic[aria-pressed="false"]')
        state = await poll(partial(booth, first), lambda b: b["mic"] is False, timeout=10)
        assert state["live"] == second_id and state["mic"] is False, state
        assert (await booth(second))["mic"] is True

        # Take over at once.
        await first.click("#ic-take-over")
        await first.wait_for_selector('#ic-mic[aria-pressed="true"]')
        state = await poll(partial(booth, second), lambda b: b["mic"] is False, timeout=10)
        assert state["live"] == first_id and state["mic"] is False, state
        assert (await booth(first))["mic"] is True
        assert (await booth(first))["micsOpen"] == [first_id]
    except Exception:
        for log in logs:
            print(log.tail(40))
        raise
