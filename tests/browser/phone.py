"""Phone checks for the browser tests: Chromium's mobile emulation at 360 px, and a probe for
sideways overflow and touch targets smaller than WCAG 2.2's minimum (2.5.8, 24 by 24 px)."""

from __future__ import annotations

from typing import Any

PHONE = {"width": 360, "height": 740}
MIN_TARGET_PX = 24  # WCAG 2.2, 2.5.8 (minimum target size)

# Sideways overflow, and every visible control smaller than the minimum target (a visually
# hidden radio counts through its label, which is what a finger hits).
PHONE_PROBE = """(min) => {
    const visible = (el) => {
        const r = el.getBoundingClientRect();
        const s = getComputedStyle(el);
        return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.opacity !== '0';
    };
    const small = [];
    for (const el of document.querySelectorAll('button, select, input, a[href], [tabindex="0"]')) {
        let target = el;
        if (el.matches('input[type=radio]') && getComputedStyle(el).opacity === '0') {
            target = document.querySelector(`label[for="${el.id}"]`) ?? el;
        }
        if (!visible(target) || el.closest('[hidden], dialog:not([open])')) continue;
        const r = target.getBoundingClientRect();
        if (r.width < min || r.height < min) {
            small.push({el: el.id || el.className || el.tagName, w: r.width, h: r.height});
        }
    }
    return {overflow: document.scrollingElement.scrollWidth - window.innerWidth, small,
            scrollY: window.scrollY};
}"""


async def as_phone(page: Any) -> Any:
    """Chromium's mobile emulation: a 360 px phone with touch. Returns the CDP session
    (`as_desktop` undoes the emulation on it)."""
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Emulation.setDeviceMetricsOverride", {
        "width": PHONE["width"], "height": PHONE["height"], "deviceScaleFactor": 2,
        "mobile": True})
    await cdp.send("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 5})
    return cdp


async def as_desktop(cdp: Any) -> None:
    """Back to the browser's own window after `as_phone`."""
    await cdp.send("Emulation.clearDeviceMetricsOverride")
    await cdp.send("Emulation.setTouchEmulationEnabled", {"enabled": False})


async def phone_probe(page: Any) -> dict[str, Any]:
    return dict(await page.evaluate(PHONE_PROBE, MIN_TARGET_PX))


async def assert_fits(page: Any, what: str) -> dict[str, Any]:
    probe = await phone_probe(page)
    assert probe["overflow"] <= 0, (what, probe)
    assert probe["small"] == [], (what, probe)
    return probe
