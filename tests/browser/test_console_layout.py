"""The chair's console and the interpreter's console on a phone-sized screen: nothing scrolls
sideways, and every control a finger must hit is at least 44 CSS px tall (WCAG 2.5.5)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.pages import join_meeting, new_page

pytestmark = [pytest.mark.browser, pytest.mark.network]

PHONE = {"width": 390, "height": 844}
MIN_TOUCH_PX = 44
CONTROLS = "button, select, input:not([type=checkbox]):not([type=radio]):not([type=range])"
LAYOUT_PROBE = """({root, selector, min}) => {
    const scope = document.querySelector(root);
    const small = [...scope.querySelectorAll(selector)]
        .filter((el) => el.offsetParent !== null)
        .map((el) => ({id: el.id || el.dataset.action || el.textContent.trim(),
                       h: el.getBoundingClientRect().height}))
        .filter((c) => c.h < min);
    const wide = [...scope.querySelectorAll('*')]
        .filter((el) => el.offsetParent !== null
                && el.getBoundingClientRect().right > window.innerWidth + 1)
        .map((el) => el.id || el.className);
    return {overflow: document.scrollingElement.scrollWidth - window.innerWidth, small, wide};
}"""


@pytest.fixture
def floor_mode() -> str:
    return "chaired"


async def test_consoles_fit_a_phone(
    launch_browser: Any, make_tone: Any, rostrum_server: Any
) -> None:
    chair = await new_page(await launch_browser(make_tone(440.0), viewport=PHONE))
    interpreter = await new_page(await launch_browser(make_tone(660.0), viewport=PHONE))
    await join_meeting(chair, rostrum_server.join_link(role="chair"), name="Ms Chair")
    interpreter_id = await join_meeting(
        interpreter, rostrum_server.join_link(role="interpreter"), name="Irene Park"
    )
    select = chair.locator(f'#booth-assign select[data-interpreter="{interpreter_id}"]')
    await select.wait_for(timeout=10_000)
    await select.select_option("fr")
    await interpreter.wait_for_selector("#ic-mic", state="visible", timeout=10_000)
    await interpreter.click("#ic-mic")
    await interpreter.wait_for_selector('#ic-mic[aria-pressed="true"]')
    # Something in every part of the chair's console: a question open, the booth live.
    await chair.fill("#hands-text", "Approve the draft?")
    await chair.click("#hands-open")
    await chair.wait_for_selector("#hands-close", state="visible")
    await chair.wait_for_selector('#booth-status [data-booth="fr"]')

    for page, root in ((chair, "#chair-console"), (interpreter, "#interpreter-console")):
        result = await page.evaluate(
            LAYOUT_PROBE, {"root": root, "selector": CONTROLS, "min": MIN_TOUCH_PX}
        )
        assert result["overflow"] <= 0, (root, result)
        assert result["wide"] == [], (root, result)
        assert result["small"] == [], (root, result)
