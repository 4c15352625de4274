"""Accessibility checked by axe-core (from npm, injected into the page) on every page state of
every role, in all six UI languages (issue 13): the join page, the delegate's room with a
request in the speakers' list, the Leave confirmation and the Devices dialog, the chair's
console with a speaker and a request, the interpreter's console in a booth, the observer's
room; and the pages of the other areas: the document viewer (presenter and follower), the
captioner's console, the observer's webcast page and the record page, these also at 360 px
(no sideways overflow, targets of at least 24 px). Zero critical and zero serious violations;
the counts per impact are printed.

The languages are switched in place on the same pages (the UI language menu), so one set of
browsers covers the six; the webcast and record pages take the language from ?lang=, one load
per language.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.browser.english_left import ENGLISH_LEFT
from tests.browser.pages import PageLog, join_meeting, new_page, wait_for_view
from tests.browser.phone import as_desktop, as_phone, phone_probe
from tests.documents_support import DOCX_PAGES, Api, make_docx
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


# An element's text, and what it should say in the page's UI language now (`t(key, vars)`; a
# var naming a `lang.*` key is that language's name).
SHOWN_AND_WANTED = """([selector, key, vars]) => import('/static/i18n.js').then(({ t }) => {
    const filled = Object.fromEntries(Object.entries(vars).map(([k, v]) =>
        [k, typeof v === 'string' && v.startsWith('lang.') ? t(v) : v]));
    return [document.querySelector(selector)?.textContent ?? null, t(key, filled)];
})"""


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


def report(found: list[dict[str, Any]], checked: int) -> None:
    """Print the counts per impact (all, then per language); fail on critical or serious."""
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

        report(found, checked)
    except BaseException:
        for log in logs:
            print(log.tail())
        raise


async def test_axe_and_phone_on_captioner_webcast_documents_and_record(
    launch_browser: Any, make_tone: Any, rostrum_server: Any
) -> None:
    """The pages the first test does not reach, in six languages: the document viewer (the
    chair presenting, a delegate following), the captioner's console with a line sent, the
    observer's webcast page playing, and the record page. axe on each at the desktop size,
    then the same page at 360 px: nothing scrolls sideways, every target at least 24 px."""
    require(AXE.is_file(), "axe-core from npm (scripts/setup.sh: npm ci in web/)")
    srv = rostrum_server
    started = time.monotonic()
    phases: dict[str, float] = {}

    def phase(name: str) -> None:
        phases[name] = round(time.monotonic() - started - sum(phases.values()), 1)

    async with aiohttp.ClientSession() as http:
        reply = await http.post(f"{srv.base_url}/api/meetings/{srv.meeting_id}/webcast",
                                json={"access": "public"},
                                headers={"Authorization": f"Bearer {srv.token('chair')}"})
        assert reply.status == 200, await reply.text()
        api = Api(http, srv.base_url, srv.meeting_id, srv.token("secretariat"))
        doc_id = (await api.create("TD 77 (PLEN/13)", "Draft new Recommendation"))[1][
            "document"]["id"]
        version = (await api.upload_ready(doc_id, make_docx(DOCX_PAGES), "td77.docx",
                                          "en"))["versionId"]
    phase("document converted")
    chair = await new_page(await launch_browser(make_tone(440.0)))
    delegate = await new_page(await launch_browser(make_tone(550.0)))
    captioner_context = await launch_browser(None)
    captioner = await new_page(captioner_context)
    viewer = await captioner_context.new_page()  # the webcast and record pages
    pages = {"chair": chair, "delegate": delegate, "captioner": captioner, "viewer": viewer}
    logs = [PageLog(page, name) for name, page in pages.items()]
    found: list[dict[str, Any]] = []
    checked = 0

    misfits: list[dict[str, Any]] = []

    async def on_phone(page: Any, state: str, lang: str) -> None:
        cdp = await as_phone(page)
        try:
            probe = await phone_probe(page)
            if probe["overflow"] > 0 or probe["small"]:
                misfits.append({"state": state, "lang": lang, **probe})
        finally:
            await as_desktop(cdp)

    try:
        await join_meeting(chair, srv.join_link(role="chair"), name="Fatima Ibrahim")
        await join_meeting(delegate, srv.join_link(role="delegate"), name="Amina Diallo",
                           member_state="Senegal")
        await join_meeting(captioner, srv.join_link(role="captioner"), name="Carol Ng")
        # The chair shows the document; the delegate's page follows.
        await chair.click("#documents details:last-of-type > summary")
        await chair.click(f"#documents-register [data-version='{version}']")
        await chair.click("#documents-show")
        await delegate.wait_for_function(
            "document.getElementById('documents')?.dataset.page === '1'"
            " && document.getElementById('documents-image').complete")
        # A speaker on the floor (the webcast's banner, the record's interventions).
        await delegate.click("#floor-request")
        await chair.click('#speakers-list [data-action="grant"]')
        await delegate.wait_for_selector("#floor-yield", state="visible")
        # The captioner takes the English desk and sends a line (it offers "Correct").
        await captioner.select_option("#captioner-language", "en")
        await captioner.click("#captioner-start")
        await captioner.wait_for_function("!document.querySelector('#captioner-line').disabled")
        await captioner.fill("#captioner-line", "Rostrum 2026.")
        await captioner.press("#captioner-line", "Enter")
        await captioner.wait_for_selector("#captioner-recent button")
        # A notice of the room (a refused setting), left in the chair's page.
        await chair.fill("#setting-default-limit", "99")
        await chair.press("#setting-default-limit", "Enter")
        await chair.wait_for_selector("#room-error", state="visible")
        phase("browsers joined")

        # Texts a view wrote once (no render on a change of language) must follow it too.
        notices = {
            "chair": [("#room-error", "chair.defaultLimitInvalid", {}),
                      ("#documents-status", "documents.presenting", {}),
                      ("#documents-page span", "documents.page", {"page": 1, "pages": 3})],
            "delegate": [("#documents-status", "documents.following", {})],
            "captioner": [("#captioner-status", "captions.console.live",
                           {"language": "lang.en"}),
                          ("#captioner-floor", "captions.console.floor",
                           {"name": "Amina Diallo"})],
        }
        for lang in LANGUAGES:
            for name, state in (("chair", "documents presenter"),
                                ("delegate", "documents follower"),
                                ("captioner", "captioner console")):
                await set_language(pages[name], lang)
                for selector, key, variables in notices[name]:
                    shown, wanted = await pages[name].evaluate(SHOWN_AND_WANTED,
                                                               [selector, key, variables])
                    assert shown == wanted, (state, lang, selector, shown, wanted)
                await check(pages[name], state, lang, found)
                if name != "chair":
                    await on_phone(pages[name], state, lang)
                checked += 1

        phase("room pages checked")
        webcast = f"{srv.base_url}/m/{srv.meeting_id}/webcast"
        record = f"{srv.base_url}/m/{srv.meeting_id}/record?t={srv.token('secretariat')}"
        for n, lang in enumerate(LANGUAGES):
            # One load per language (the page reads ?lang=), playing: the first waits for
            # the webcast's first segments.
            await viewer.goto(f"{webcast}?lang={lang}")
            await viewer.wait_for_function(
                "window.rostrumWebcast && window.rostrumWebcast.video.currentTime > 0.2"
                " && document.getElementById('webcast-status').textContent !== ''",
                timeout=(60_000 if n == 0 else 20_000))
            await check(viewer, "webcast", lang, found)
            await on_phone(viewer, "webcast", lang)
            await viewer.goto(f"{record}&lang={lang}")
            await viewer.wait_for_function(
                "window.rostrumRecord !== undefined"
                " && document.getElementById('record').getAttribute('aria-busy') !== 'true'")
            assert await viewer.evaluate("window.rostrumRecord.error ?? null") is None
            await check(viewer, "record", lang, found)
            await on_phone(viewer, "record", lang)
            checked += 2

        phase("webcast and record pages checked")
        print("seconds per phase:", phases)
        print(f"phone (360 px): {checked - 6} page states; misfits: {len(misfits)}")
        report(found, checked)
        assert misfits == [], "\n".join(str(m) for m in misfits)
    except BaseException:
        for log in logs:
            print(log.tail())
        raise
