"""The shared document screen in Chromium: the chair opens a converted DOCX from the
register, shows it, turns the page, and a delegate's page follows (image and text layer); the
delegate browses away and returns to the presenter; whatever the delegate's page sends on
`/documents`, the server refuses it and nobody's page moves. The search panel finds pages of
this meeting and captions of another meeting the same browser joined."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import pytest

from meeting_server.app import CAPTION_STORE, MEETINGS
from meeting_server.captions_store import NewLine, Speaker
from tests.browser.pages import PageLog, join_meeting, new_page
from tests.documents_support import DOCX_PAGES, Api, make_docx

pytestmark = [pytest.mark.browser, pytest.mark.network]


async def page_of(page: Any) -> dict[str, Any]:
    return dict(await page.evaluate("""() => {
        const root = document.getElementById('documents');
        const image = document.getElementById('documents-image');
        return {page: root.dataset.page ?? null, following: root.dataset.following ?? null,
                version: root.dataset.versionId ?? null,
                image: image.currentSrc || image.src, loaded: image.complete && image.naturalWidth > 0,
                text: document.getElementById('documents-text').textContent,
                reading: document.getElementById('documents-reading').textContent};
    }"""))


async def wait_page(page: Any, number: int, log: PageLog, timeout: float = 10) -> dict[str, Any]:
    try:
        await page.wait_for_function(
            """(n) => {
                const root = document.getElementById('documents');
                const image = document.getElementById('documents-image');
                return root && root.dataset.page === String(n) && image.complete
                    && (root.dataset.textPage ?? '').endsWith(`/${n}`)
                    && image.naturalWidth > 0 && (image.currentSrc || image.src).includes(`/pages/${n}/`)
                    && document.getElementById('documents-text').textContent.length > 0;
            }""", arg=number, timeout=timeout * 1000)
    except Exception as exc:
        raise AssertionError(f"page {number} not shown: {await page_of(page)}\n{log.tail()}") \
            from exc
    return await page_of(page)


async def test_presenter_turns_the_page_and_a_delegate_follows(
        launch_browser: Any, rostrum_server: Any) -> None:
    srv = rostrum_server
    async with aiohttp.ClientSession() as http:
        api = Api(http, srv.base_url, srv.meeting_id, srv.token("secretariat"))
        doc_id = (await api.create("TD 77 (PLEN/13)", "Draft new Recommendation"))[1][
            "document"]["id"]
        version = (await api.upload_ready(doc_id, make_docx(DOCX_PAGES), "td77.docx",
                                          "en"))["versionId"]
    chair = await new_page(await launch_browser(None))
    delegate = await new_page(await launch_browser(None))
    phone = await new_page(await launch_browser(None, viewport={"width": 390, "height": 844}))
    logs = {"chair": PageLog(chair, "chair"), "delegate": PageLog(delegate, "delegate"),
            "phone": PageLog(phone, "phone")}
    await join_meeting(chair, srv.join_link("chair"), name="Chair")
    await join_meeting(delegate, srv.join_link("delegate"), name="Delegate")
    await join_meeting(phone, srv.join_link("observer"), name="Phone")

    # the chair opens the document from the register and shows it
    await chair.click("#documents details:last-of-type > summary")
    await chair.click(f"#documents-register [data-version='{version}']")
    await wait_page(chair, 1, logs["chair"])
    await chair.click("#documents-show")
    seen = await wait_page(delegate, 1, logs["delegate"])
    assert seen["version"] == version and "two-factor authentication" in seen["text"]
    assert seen["following"] == "true"

    # the presenter turns the page: the delegate's page follows
    await chair.click("#documents-next")
    seen = await wait_page(delegate, 2, logs["delegate"])
    assert "المُقَسِّمَ" in seen["reading"]  # the DOCX's exact Arabic, for screen readers
    # a phone follows too, with the small image and nothing scrolling sideways
    seen = await wait_page(phone, 2, logs["phone"])
    assert "/2/400.webp" in seen["image"], seen["image"]
    overflow = await phone.evaluate(
        "document.scrollingElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, overflow

    # the delegate browses on, then returns to the presenter
    await delegate.click("#documents-next")
    seen = await wait_page(delegate, 3, logs["delegate"])
    assert seen["following"] == "false"
    assert await delegate.is_visible("#documents-return")
    await delegate.click("#documents-return")
    seen = await wait_page(delegate, 2, logs["delegate"])
    assert seen["following"] == "true"

    # whatever the delegate's page sends, the server refuses it
    replies = await delegate.evaluate("""async ([doc, version]) => {
        const socket = await window.rostrum.client.namespace('/documents', () => {});
        const out = [];
        for (const [event, payload] of [
            ['show', {documentId: doc, versionId: version, page: 3}],
            ['show', {documentId: doc, page: 1}],
            ['highlight', {page: 2, boxes: [{x: 0, y: 0, w: 1, h: 1}]}],
            ['point', {x: 0.5, y: 0.5}],
            ['give', {participantId: window.rostrum.client.self.id}],
        ]) out.push(await socket.timeout(5000).emitWithAck(event, payload));
        return out;
    }""", [doc_id, version])
    assert [r["error"]["code"] for r in replies] == ["forbidden"] * 5, replies
    for page, log in ((chair, logs["chair"]), (delegate, logs["delegate"]),
                      (phone, logs["phone"])):
        seen = await wait_page(page, 2, log)
        assert seen["following"] == "true"
    state = await delegate.evaluate("""async () => {
        const socket = await window.rostrum.client.namespace('/documents', () => {});
        return (await socket.timeout(5000).emitWithAck('state', {})).screen;
    }""")
    assert state["showing"]["page"] == 2 and state["highlight"] == [] and state["pointer"] is None


async def test_search_panel_finds_pages_and_captions_of_every_meeting_this_browser_joined(
        launch_browser: Any, rostrum_server: Any) -> None:
    srv = rostrum_server
    other = await srv.app[MEETINGS].create_meeting("Working Party 3", meeting_id="twp3x")
    async with aiohttp.ClientSession() as http:
        api = Api(http, srv.base_url, srv.meeting_id, srv.token("secretariat"))
        doc_id = (await api.create("TD 78 (PLEN/13)", "Authentication"))[1]["document"]["id"]
        await api.upload_ready(doc_id, make_docx(DOCX_PAGES), "td78.docx", "en")
    await srv.app[CAPTION_STORE].add(NewLine(
        meeting_id=other.id, language="en", started_at=time.time(), at=time.time(),
        text="We propose to approve the liaison on satellites.",
        speaker=Speaker("p1", "Ana Quispe", "Peru"), captioner_id="c1",
        captioner_name="Carol", source="console"))
    page = await new_page(await launch_browser(None))
    log = PageLog(page, "delegate")
    await join_meeting(page, srv.join_link("delegate", meeting_id=other.id), name="Ana")
    await join_meeting(page, srv.join_link("delegate"), name="Ana")  # remembers both

    await page.click("#documents details:first-of-type > summary")
    assert await page.is_visible("#documents-query-scope")
    await page.select_option("#documents-query-scope", "all")
    await page.fill("#documents-query", "satellite")
    await page.click("#documents form[role=search] button[type=submit]")
    try:
        await page.wait_for_selector("#documents-caption-hits li", timeout=10_000)
    except Exception as exc:
        raise AssertionError(log.tail()) from exc
    text = await page.text_content("#documents-caption-hits")
    assert text is not None and "Working Party 3" in text and "Ana Quispe (Peru)" in text
    assert await page.text_content("#documents-caption-hits mark") == "satellites"
    link = await page.get_attribute("#documents-caption-hits a", "href")
    assert link is not None and link.startswith(f"/m/{other.id}/archive#at=")

    # this meeting only: the other meeting's caption is not searched
    await page.select_option("#documents-query-scope", "here")
    await page.click("#documents form[role=search] button[type=submit]")
    await page.wait_for_function(
        "!document.querySelector('#documents-caption-hits')"
        " && document.getElementById('documents-results').textContent.length > 0")
    # a page of this meeting opens in the viewer
    await page.fill("#documents-query", "authentication")
    await page.click("#documents form[role=search] button[type=submit]")
    await page.click("#documents-results .documents__hit button")
    seen = await wait_page(page, 1, log)
    assert "two-factor authentication" in seen["text"]
