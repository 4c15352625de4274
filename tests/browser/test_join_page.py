"""The meeting page on its own: a refused invitation, and the layout on a phone-sized screen."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.pages import join_meeting, wait_for_view

pytestmark = [pytest.mark.browser, pytest.mark.network]

PHONE = {"width": 390, "height": 844}

# Every control a finger must hit, and how small it may be (WCAG 2.5.5 asks for 44 CSS px).
MIN_TOUCH_PX = 44
LAYOUT_PROBE = """({selector, min}) => {
    const small = [...document.querySelectorAll(selector)]
        .filter((el) => el.offsetParent !== null)
        .map((el) => ({id: el.id || el.textContent.trim(), h: el.getBoundingClientRect().height}))
        .filter((c) => c.h < min);
    return {overflow: document.scrollingElement.scrollWidth - window.innerWidth, small};
}"""


async def test_forged_invitation_is_refused_with_a_message(
    launch_browser: Any, rostrum_server: Any
) -> None:
    context = await launch_browser(None)
    page = context.pages[0] if context.pages else await context.new_page()
    link = rostrum_server.join_link(role="delegate")
    forged = link[:-4] + ("AAAA" if not link.endswith("AAAA") else "BBBB")
    await page.goto(forged)
    with pytest.raises(AssertionError, match="unauthorized"):
        await wait_for_view(page, "join")
    text = await page.inner_text("#fatal-error")
    assert "not valid" in text


async def test_phone_layout_has_large_targets_and_no_sideways_scroll(
    launch_browser: Any, make_tone: Any, rostrum_server: Any
) -> None:
    context = await launch_browser(make_tone(523.0), viewport=PHONE)
    page = context.pages[0] if context.pages else await context.new_page()

    await page.goto(rostrum_server.join_link(role="delegate"))
    await wait_for_view(page, "join")
    join = await page.evaluate(
        LAYOUT_PROBE,
        {"selector": "button, input:not([type=checkbox]), select", "min": MIN_TOUCH_PX},
    )
    assert join["overflow"] <= 0, join
    assert join["small"] == [], join

    await join_meeting(page, rostrum_server.join_link(role="delegate"), name="Phone Delegate")
    room = await page.evaluate(LAYOUT_PROBE, {"selector": ".controls .button", "min": MIN_TOUCH_PX})
    assert room["overflow"] <= 0, room
    assert room["small"] == [], room
    # The controls stay on screen while the page scrolls (sticky at the bottom).
    box = await page.locator("#leave").bounding_box()
    assert box is not None and box["y"] + box["height"] <= PHONE["height"], box
