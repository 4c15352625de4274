"""A chaired meeting driven from the browser UI: a delegate asks for the floor, the chair's
console shows the request, the chair gives the floor with a click, a listener starts hearing
the delegate's tone on that delegate's seat, the chair withdraws the floor, the tone stops.

Three Chromium processes, one fake microphone each: the chair (440 Hz), the delegate (660 Hz)
and a listening delegate (880 Hz, never heard: nobody gives them the floor). A chaired meeting
forwards a delegate's microphone only while they hold the floor (the SFU enforces it), so the
listener's seat for the delegate is silent before the grant and after the withdrawal.
"""

from __future__ import annotations

import json
import re
from functools import partial
from typing import Any

import pytest

from tests.browser.pages import (
    PageLog,
    client_state,
    floor_state,
    heard,
    join_meeting,
    mix,
    new_page,
    poll,
)

pytestmark = [pytest.mark.browser, pytest.mark.network]

CHAIR_HZ, DELEGATE_HZ, LISTENER_HZ = 440.0, 660.0, 880.0
TOLERANCE_HZ = 15.0
DEADLINE_S = 30.0
# After the withdrawal the delegate's seat must fall at least this far below its level while
# speaking (or carry another tone, or nothing at all).
DROP_DB = 20.0
COUNTDOWN = re.compile(r"^(\d+):([0-5]\d)$")


@pytest.fixture
def floor_mode() -> str:
    return "chaired"


def _near(frequency: float | None, target: float) -> bool:
    return frequency is not None and abs(frequency - target) <= TOLERANCE_HZ


def _slot_of(slots: list[dict[str, Any]], participant_id: str) -> dict[str, Any] | None:
    return next((s for s in slots if s["participantId"] == participant_id), None)


async def test_chair_gives_and_withdraws_the_floor_from_the_console(
    launch_browser: Any, make_tone: Any, rostrum_server: Any
) -> None:
    pages: dict[str, Any] = {}
    logs: dict[str, PageLog] = {}
    ids: dict[str, str] = {}
    people = {
        "chair": (CHAIR_HZ, "chair", "Ms Chair", "ITU", ""),
        "delegate": (DELEGATE_HZ, "delegate", "Bruno Keller", "OFCOM", "Switzerland"),
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
    chair, delegate, listener = pages["chair"], pages["delegate"], pages["listener"]

    async def report() -> str:
        out = [f"ids: {json.dumps(ids)}"]
        for label, page in pages.items():
            state = await client_state(page)
            out.append(f"--- {label}: slots {json.dumps(state['slots'])}")
            out.append(f"floor: {json.dumps(await floor_state(page))}")
            out.append(logs[label].tail())
        return "\n".join(out)

    # The chair's console is there; the delegate's floor panel is there.
    await chair.wait_for_selector("#chair-console #speakers-list", state="attached")
    await delegate.wait_for_selector("#floor-request:enabled")
    assert await chair.is_visible("#queue-empty")

    # The delegate asks for the floor; the chair's speakers' list shows the entry.
    await delegate.select_option("#floor-kind", "intervention")
    await delegate.fill("#floor-note", "On agenda item 4")
    await delegate.click("#floor-request")
    entry = chair.locator("#speakers-list .queue__entry", has_text="Bruno Keller")
    await entry.wait_for(timeout=10_000)
    entry_text = await entry.inner_text()
    assert "Intervention" in entry_text and "On agenda item 4" in entry_text, entry_text
    assert "Switzerland" in entry_text, entry_text
    await delegate.wait_for_function(
        "document.querySelector('#floor-status').textContent.includes('number 1')"
    )
    assert await delegate.is_visible('#my-requests [data-action="withdraw"]')

    # A second request; the chair reorders by keyboard (Alt+↑ on an entry), then by drag and
    # drop; the server's speakers' list follows each time.
    await listener.click("#floor-request")
    second = chair.locator("#speakers-list .queue__entry", has_text="Amina Diallo")
    await second.wait_for(timeout=10_000)

    async def server_order() -> list[str]:
        state = await floor_state(chair)
        return [r["participantId"] for r in (state or {}).get("queue", [])]

    assert await server_order() == [ids["delegate"], ids["listener"]]
    await second.focus()
    await chair.keyboard.press("Alt+ArrowUp")
    order = await poll(server_order, lambda o: o == [ids["listener"], ids["delegate"]], timeout=10)
    assert order == [ids["listener"], ids["delegate"]], order
    assert await chair.evaluate(
        "document.activeElement?.dataset.request"
    ) == await second.get_attribute("data-request"), "the moved entry keeps the focus"
    await entry.drag_to(second, target_position={"x": 20, "y": 5})
    order = await poll(server_order, lambda o: o == [ids["delegate"], ids["listener"]], timeout=10)
    assert order == [ids["delegate"], ids["listener"]], order
    first_text = await chair.locator("#speakers-list .queue__entry").first.inner_text()
    assert "Bruno Keller" in first_text, first_text
    # The listener withdraws again.
    await listener.click('#my-requests [data-action="withdraw"]')
    await second.wait_for(state="detached", timeout=10_000)

    # Before the grant the listener does not hear the delegate (chaired meeting).
    slots = await heard(listener)
    seat = _slot_of(slots, ids["delegate"])
    assert seat is None or not _near(seat["frequency"], DELEGATE_HZ), (slots, await report())

    # The chair gives the floor with a click in the speakers' list.
    await entry.locator('[data-action="grant"]').click()
    await chair.wait_for_selector("#queue-empty", state="visible")
    await chair.wait_for_function(
        "document.querySelector('#console-speaker').textContent.includes('Bruno Keller')"
    )

    # The delegate sees that they have the floor and a running countdown (3 minutes default).
    await delegate.wait_for_selector("#floor-yield", state="visible")
    countdown = await delegate.inner_text("#my-countdown")
    match = COUNTDOWN.match(countdown.strip())
    assert match, countdown
    first = int(match[1]) * 60 + int(match[2])
    assert 150 <= first <= 180, countdown
    await delegate.wait_for_function(
        "(first) => { const m = /^(\\d+):(\\d\\d)$/.exec("
        "document.querySelector('#my-countdown').textContent.trim());"
        " return m && Number(m[1]) * 60 + Number(m[2]) < first; }",
        arg=first,
        timeout=5_000,
    )
    assert COUNTDOWN.match((await listener.inner_text("#floor-countdown")).strip())
    assert "Bruno Keller" in await listener.inner_text("#floor-speaker")

    # The listener hears 660 Hz on the seat announced for the delegate.
    def hears_delegate(slots: list[dict[str, Any]]) -> bool:
        seat = _slot_of(slots, ids["delegate"])
        return seat is not None and _near(seat["frequency"], DELEGATE_HZ)

    slots = await poll(partial(heard, listener), hears_delegate, timeout=DEADLINE_S)
    if not hears_delegate(slots):
        pytest.fail(
            f"listener does not hear the delegate after the grant: {slots}\n{await report()}"
        )
    speaking_db = float(_slot_of(slots, ids["delegate"])["db"])  # type: ignore[index]
    # The mixer plays the seats at full level (the floor, or a channel carrying the original).
    routes = {r["participantId"]: r for r in (await mix(listener))["routes"] if r["role"] == "seat"}
    assert routes[ids["delegate"]]["level"] == 1, routes

    # The chair withdraws the floor with a click; the tone stops.
    await chair.click("#floor-revoke")
    await delegate.wait_for_selector("#floor-yield", state="hidden")
    await chair.wait_for_function(
        "document.querySelector('#console-speaker').textContent.includes('Nobody')"
    )

    def delegate_silent(slots: list[dict[str, Any]]) -> bool:
        seat = _slot_of(slots, ids["delegate"])
        if seat is None or seat["frequency"] is None:
            return True
        return not _near(seat["frequency"], DELEGATE_HZ) or seat["db"] < speaking_db - DROP_DB

    slots = await poll(partial(heard, listener), delegate_silent, timeout=DEADLINE_S)
    if not delegate_silent(slots):
        pytest.fail(
            f"listener still hears the delegate after the withdrawal (was {speaking_db:.1f} dB): "
            f"{slots}\n{await report()}"
        )
    # The chair is heard throughout (always on the floor of a chaired meeting).
    assert any(
        s["participantId"] == ids["chair"] and _near(s["frequency"], CHAIR_HZ) for s in slots
    ), slots
