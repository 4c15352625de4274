"""The shared document screen in Chromium: the chair opens a converted DOCX from the
register, shows it, turns the page, and a delegate's page follows (image and text layer); the
delegate browses away and returns to the presenter; whatever the delegate's page sends on
`/documents`, the server refuses it and nobody's page moves."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

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
                    && image.naturalWidth > 0 && (image.currentSrc || image.src).includes(`/pages/${n}/`)
                    && root.dataset.textPage === String(n)
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
