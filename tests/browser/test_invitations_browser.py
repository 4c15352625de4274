"""The secretariat's invitations panel (web/static/invitations.js) in Chromium against the real
server: a personal invitation and a shared link are created, listed, their links shown and
copied; the person joins with their link under the registered name; a revoked link no longer
admits anyone; axe-core finds nothing in the open panel, in English and in Arabic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.pages import join_meeting, new_page

pytestmark = [pytest.mark.browser, pytest.mark.network]

AXE = Path(__file__).resolve().parents[2] / "web" / "node_modules" / "axe-core" / "axe.min.js"
RUN_AXE = """async () => {
    const result = await axe.run('#invitations', {resultTypes: ['violations']});
    return result.violations.map((v) => ({id: v.id, impact: v.impact,
        nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' '))}));
}"""


async def rows(page: Any) -> list[dict[str, str]]:
    return list(await page.evaluate("""() => [...document.querySelectorAll(
        '#invitations-rows tr[data-invitation]')].map((tr) => ({
            who: tr.querySelector('th').textContent, state: tr.dataset.state,
            cells: [...tr.querySelectorAll('td')].map((td) => td.textContent)}))"""))


async def test_the_secretariat_invites_lists_copies_and_revokes(
    rostrum_server: Any, launch_browser: Any, make_tone: Any,
) -> None:
    srv = rostrum_server
    context = await launch_browser(make_tone(440.0))
    await context.grant_permissions(["clipboard-read", "clipboard-write"],
                                    origin=srv.base_url)
    page = context.pages[0] if context.pages else await context.new_page()
    await join_meeting(page, srv.join_link(role="secretariat"), name="Secretariat")
    panel = page.locator("#invitations")
    await panel.locator("summary").click()
    await page.wait_for_selector("#invitations-rows td")  # the (empty) register came
    assert await rows(page) == []

    # a personal invitation: name and member state registered
    await page.fill("#invite-name", "Amina Diallo")
    await page.fill("#invite-member-state", "Senegal")
    await page.select_option("#invite-role", "delegate")
    await page.click("#invite-personal-submit")
    await page.wait_for_function("document.querySelector('#invitation-link').value !== ''")
    personal_link = await page.input_value("#invitation-link")
    assert personal_link.startswith(f"{srv.base_url}/m/{srv.meeting_id}?t="), personal_link
    await page.click("#invitation-copy")
    await page.wait_for_function("document.querySelector('#invitations-status').textContent"
                                 ".includes('copied')")
    assert await page.evaluate("navigator.clipboard.readText()") == personal_link
    # an empty name is refused by the panel, nothing is created
    await page.click("#invite-personal-submit")
    await page.wait_for_selector("#invitations-error:not([hidden])")
    assert len(await rows(page)) == 1
    # a shared link for observers
    await page.fill("#link-label", "Press room")
    await page.select_option("#link-role", "observer")
    await page.click("#invite-shared-submit")
    await page.wait_for_function("document.querySelectorAll('#invitations-rows tr"
                                 "[data-invitation]').length === 2")
    shared_link = await page.input_value("#invitation-link")
    assert shared_link != personal_link
    listed = {r["who"]: r for r in await rows(page)}
    assert set(listed) == {"Amina Diallo (Senegal)", "Press room"}, listed
    assert all(r["state"] == "active" for r in listed.values())
    # the secretariat may not invite a chair: the role is not offered
    assert "chair" not in await page.evaluate(
        "[...document.querySelectorAll('#invite-role option')].map((o) => o.value)")

    violations = []
    await page.add_script_tag(path=str(AXE))
    for lang in ("en", "ar"):
        await page.select_option("#ui-language", lang)
        await page.wait_for_function("(l) => document.documentElement.lang === l", arg=lang)
        violations += [{"lang": lang, **v} for v in await page.evaluate(RUN_AXE)]
    assert violations == [], violations
    await page.select_option("#ui-language", "en")

    # Amina joins with her link: the registered name, whatever she types
    amina = await new_page(await launch_browser(make_tone(660.0)))
    await join_meeting(amina, personal_link, name="Someone else")
    assert await amina.evaluate("window.rostrum.client.self.name") == "Amina Diallo"

    # revoking the shared link: the row says so, and the link admits nobody
    await page.click("#invitations-rows tr:has-text('Press room') button")
    await page.wait_for_selector("#invitations-rows tr[data-state='revoked']")
    assert await page.is_disabled("#invitations-rows tr[data-state='revoked'] button")
    late = await new_page(await launch_browser(None))
    await late.goto(shared_link)
    await late.wait_for_function("['join', 'error'].includes(window.rostrum?.view)")
    assert await late.evaluate("window.rostrum.view") == "error"
    error = await late.evaluate("window.rostrum.error")
    assert error["code"] == "unauthorized" and "revoked" in error["message"], error
