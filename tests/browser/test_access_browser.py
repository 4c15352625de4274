"""Access in a real browser: the security headers hold the page without breaking it (no CSP
violation while joining and in the room), and the token leaves the address bar after join."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.pages import poll

pytestmark = [pytest.mark.browser, pytest.mark.network]

async def view_is(page: Any, view: str) -> None:
    """wait_for_view without evaluating a string (the page's CSP is in force here)."""
    state = await poll(lambda: page.evaluate("() => window.rostrum?.view"),
                       lambda v: v in (view, "error"), timeout=20, interval=0.2)
    assert state == view, await page.evaluate("() => window.rostrum?.error")


async def join(page: Any, link: str, name: str) -> None:
    await page.goto(link)
    await view_is(page, "join")
    await page.fill("#join-name", name)
    await poll(lambda: page.evaluate(
        "() => document.querySelectorAll('#join-microphone option').length"),
        lambda n: n > 1, timeout=20, interval=0.2)
    await page.click("#join-submit")
    await view_is(page, "room")


# every violation the page reports, from before its first script runs
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push({directive: e.violatedDirective, blocked: e.blockedURI,
                               sample: e.sample});
});
"""


async def test_headers_hold_and_the_token_leaves_the_address(
    launch_browser: Any, make_tone: Any, rostrum_server: Any
) -> None:
    context = await launch_browser(make_tone(587.0), bypass_csp=False)
    await context.add_init_script(RECORD_VIOLATIONS)
    page = context.pages[0] if context.pages else await context.new_page()
    link = rostrum_server.join_link(role="delegate")
    token = link.split("t=", 1)[1]

    response = await page.goto(link)
    assert response is not None
    headers = await response.all_headers()
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["referrer-policy"] == "no-referrer"
    assert "microphone=(self)" in headers["permissions-policy"]
    assert headers["cache-control"] == "no-store"

    await join(page, link, "Careful Delegate")
    assert token not in page.url and "t=" not in page.url, page.url
    # a reload of the tab ("Join again") still connects, from the tab's own storage
    await page.reload()
    await view_is(page, "join")
    assert token not in page.url
    violations = await page.evaluate("() => window.__cspViolations")
    assert violations == [], violations
    # an inline script is refused by the policy (the policy is live, not decorative)
    await page.evaluate("""() => { const s = document.createElement('script');
        s.textContent = 'window.__inlineRan = true'; document.head.append(s); }""")
    await page.wait_for_timeout(200)
    assert await page.evaluate("() => window.__inlineRan === undefined")
    violations = await page.evaluate("() => window.__cspViolations")
    assert [v["directive"] for v in violations] == ["script-src-elem"], violations
