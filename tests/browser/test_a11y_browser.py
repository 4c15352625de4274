"""Accessibility checked by axe-core (from npm, injected into the page) on every page state of
every role, in all six UI languages (issue 13): the join page, the delegate's room with a
request in the speakers' list, the Leave confirmation and the Devices dialog, the chair's
console with a speaker and a request, the interpreter's console in a booth, the observer's
room. Zero critical and zero serious violations; the counts per impact are printed.

The languages are switched in place on the same pages (the UI language menu), so one set of
browsers covers the six.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.browser.english_left import ENGLISH_LEFT
from tests.browser.pages import PageLog, join_meeting, new_page, wait_for_view
from tests.requirements import require

pytestmark = [pytest.mark.browser, pytest.mark.network]

AXE = Path(__file__).resolve().parents[2] / "web" / "node_modules" / "axe-core" / "axe.min.js"
LANGUAGES = ("ar", "zh", "en", "fr", "ru", "es")
IMPACTS = ("critical", "serious", "moderate", "minor")

RUN_AXE = """async () => {
    const result = await axe.run(document, {resultTypes: ['violations']});
    return result.violations.map((v) => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')),
    }));
}"""


@pytest.fixture
def floor_mode() -> str:
    return "chaired"


async def set_language(page: Any, lang: str) -> None:
    await page.select_option("#ui-language", lang)
    await page.wait_for_function("(l) => document.documentElement.lang === l", arg=lang)




async def check(page: Any, state: str, lang: str, found: list[dict[str, Any]]) -> None:
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(path=str(AXE))
    for violation in await page.evaluate(RUN_AXE):
        found.append({"state": state, "lang": lang, **violation})
    if lang != "en":
        left = await page.evaluate(ENGLISH_LEFT, lang)
        assert left == [], (state, lang, left)


async def test_axe_on_every_page_state_in_six_languages(
    launch_browser: Any, make_tone: Any, rostrum_server: Any
) -> None:
    require(AXE.is_file(), "axe-core from npm (scripts/setup.sh: npm ci in web/)")
    chair = await new_page(await launch_browser(make_tone(440.0)))
    delegate = await new_page(await launch_browser(make_tone(550.0)))
    interpreter = await new_page(await launch_browser(make_tone(660.0)))
    observer = await new_page(await launch_browser(None))
    pages = {"chair": chair, "delegate": delegate, "interpreter": interpreter,
             "observer": observer}
    logs = [PageLog(page, name) for name, page in pages.items()]
    found: list[dict[str, Any]] = []
    checked = 0
    try:
        # The join page, in each language.
        await observer.goto(rostrum_server.join_link(role="observer"))
        await wait_for_view(observer, "join")
        await delegate.goto(rostrum_server.join_link(role="delegate"))
        await wait_for_view(delegate, "join")
        for lang in LANGUAGES:
            for name in ("delegate", "observer"):
                await set_language(pages[name], lang)
                await check(pages[name], f"{name} join", lang, found)
                checked += 1

        await join_meeting(chair, rostrum_server.join_link(role="chair"), name="Fatima Ibrahim")
        await join_meeting(delegate, rostrum_server.join_link(role="delegate"),
                           name="Amina Diallo", member_state="Senegal")
        interpreter_id = await join_meeting(interpreter,
                                            rostrum_server.join_link(role="interpreter"),
                                            name="Ines Moreau")
        await join_meeting(observer, rostrum_server.join_link(role="observer"),
                           name="Olga Petrova")
        await chair.evaluate("(id) => window.rostrum.client.assignBooth(id, 'fr')",
                             interpreter_id)
        await interpreter.wait_for_selector("#ic-mic", state="visible")
        # A speaker and a request in the speakers' list.
        await delegate.click("#floor-request")
        await chair.wait_for_selector('#speakers-list [data-action="grant"]')
        await chair.click('#speakers-list [data-action="grant"]')
        await delegate.wait_for_selector("#floor-yield", state="visible")
        await chair.evaluate("""() => window.rostrum.client.requestFloor(
            {kind: 'point-of-order', note: 'agenda item 4', language: 'en'})""")
        await chair.wait_for_selector('#speakers-list [data-action="grant"]')

        for lang in LANGUAGES:
            for name, page in pages.items():
                await set_language(page, lang)
                await check(page, f"{name} room", lang, found)
                checked += 1
            # The dialogs: Leave's confirmation and Devices.
            await delegate.click("#leave")
            await delegate.wait_for_selector("#confirm-dialog[open]")
            await check(delegate, "leave dialog", lang, found)
            await delegate.click("#confirm-cancel")
            await delegate.click("#devices")
            await delegate.wait_for_selector("#devices-dialog[open]")
            await check(delegate, "devices dialog", lang, found)
            await delegate.click("#devices-close")
            await delegate.wait_for_selector("#devices-dialog", state="detached")
            checked += 2

        counts = Counter(v["impact"] for v in found)
        print(f"axe: {checked} page states in {len(LANGUAGES)} languages; violations by impact:",
              {impact: counts.get(impact, 0) for impact in IMPACTS})
        for lang in LANGUAGES:
            per = Counter(v["impact"] for v in found if v["lang"] == lang)
            print(f"  {lang}:", {impact: per.get(impact, 0) for impact in IMPACTS})
        for v in found:
            if v["impact"] in ("moderate", "minor"):
                print(f"  {v['impact']}: {v['id']} ({v['state']}, {v['lang']}): {v['nodes']}")
        blocking = [v for v in found if v["impact"] in ("critical", "serious")]
        assert blocking == [], "\n".join(
            f"{v['impact']} {v['id']} [{v['state']}, {v['lang']}] {v['help']}: {v['nodes']}"
            for v in blocking)
    except BaseException:
        for log in logs:
            print(log.tail())
        raise
