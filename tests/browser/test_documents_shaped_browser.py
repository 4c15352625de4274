"""The 2 s page rule on a slow link: a phone-sized Chromium whose downlink is shaped to
100 kbit/s (`tc tbf`, its own namespace) follows the presenter; the next page, and a page the
presenter jumps to, appear (image loaded, text layer in); the next page within 2 s of the
presenter's command (the viewer fetched it ahead), the jump's time printed. The small (400 px)
image is the one fetched."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest

from tests.browser.netns import ShapedNamespace
from tests.browser.pages import PageLog, join_meeting, new_page
from tests.browser.test_documents_browser import wait_page
from tests.documents_support import Api, Follower, make_docx

pytestmark = [pytest.mark.browser, pytest.mark.network]

LINK_KBIT = 100
RULE_S = 2.0
PAGES = [[f"Page {n}: the network shall support two-factor authentication.",
          "يجب أن تدعم الشبكة المقسم الضوئي في شبكات النفاذ.",
          "国际电信联盟电信标准化部门第十三研究组讨论了未来网络。",
          "Сети следующего поколения должны поддерживать шифрование трафика."]
         for n in range(1, 7)]


async def test_a_follower_on_a_100_kbit_link_gets_each_page_within_2_s(
        launch_browser: Any, rostrum_server: Any, shaped_namespace: ShapedNamespace,
        shaped_wrapper: Any) -> None:
    srv = rostrum_server
    async with aiohttp.ClientSession() as http:
        api = Api(http, srv.base_url, srv.meeting_id, srv.token("secretariat"))
        doc_id = (await api.create("TD 79 (PLEN/13)", "Slow link"))[1]["document"]["id"]
        version = (await api.upload_ready(doc_id, make_docx(PAGES), "td79.docx",
                                          "en"))["versionId"]
    chair = Follower(srv.base_url, srv.token("chair"), "Chair")
    await chair.join()
    phone = await new_page(await launch_browser(None, viewport={"width": 390, "height": 844},
                                                wrapper=shaped_wrapper))
    log = PageLog(phone, "phone")
    try:
        # join on the open link (scripts and fonts are cached after a first visit), then
        # the link drops to 100 kbit/s for everything that follows
        await join_meeting(phone, srv.join_link("observer"), name="Phone")
        await phone.evaluate("""() => {
            window.__loads = [];
            document.getElementById('documents-image').addEventListener('load', (e) =>
                window.__loads.push({src: e.target.currentSrc || e.target.src, at: Date.now()}));
        }""")
        shaped_namespace.shape_downlink(LINK_KBIT)
        assert (await chair.docs("show", {"documentId": doc_id, "versionId": version,
                                          "page": 1}))["ok"]
        await wait_page(phone, 1, log, timeout=15)

        timings = {}
        for page in (2, 5):  # the next page (fetched ahead), then a jump (not fetched yet)
            await asyncio.sleep(3)  # the presenter speaks to the page a while
            started = time.time()
            reply = await chair.docs("show", {"documentId": doc_id, "versionId": version,
                                              "page": page})
            assert reply["ok"], reply
            seen = await wait_page(phone, page, log, timeout=10)
            shown = time.time() - started
            loads = await phone.evaluate("window.__loads")
            loaded = [x for x in loads if f"/pages/{page}/" in x["src"]]
            assert loaded, loads
            assert "/400.webp" in loaded[-1]["src"], loaded
            timings[page] = (shown, loaded[-1]["at"] / 1000 - started)
            assert f"Page {page}:" in seen["text"], seen["text"]
        print(f"documents at {LINK_KBIT} kbit/s: page shown (s) next / jump:"
              f" {timings[2][0]:.2f} / {timings[5][0]:.2f};"
              f" image loaded: {timings[2][1]:.2f} / {timings[5][1]:.2f};"
              f" link: {shaped_namespace.downlink_stats()}")
        # the rule is the next page's; a jump to a page not fetched ahead is measured
        # (printed above) and must arrive, but a cold fetch over this link is not bound by it
        assert timings[2][0] < RULE_S, (timings, log.tail())
    finally:
        shaped_namespace.shape_downlink(None)
        await chair.close()
