"""The record page in Chromium, in Arabic on a phone: after a short meeting its charts are
drawn (one bar per member state that spoke), the summary counts the intervention, and nothing
scrolls sideways."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.browser.pages import PageLog
from tests.text_peer import TextPeer

pytestmark = [pytest.mark.browser, pytest.mark.network]


async def test_record_page_draws_charts_right_to_left(
    launch_browser: Any, rostrum_server: Any
) -> None:
    url = rostrum_server.base_url
    chair = TextPeer(url, rostrum_server.token("chair"), "Chair")
    ana = TextPeer(url, rostrum_server.token("delegate"), "Ana")
    try:
        await chair.join()
        await ana.join(memberState="Kenya", language="ar")
        rid = (await ana.floor("request", {}))["request"]["id"]
        assert (await chair.floor("grant", {"requestId": rid}))["ok"]
        await asyncio.sleep(0.4)
        assert (await ana.floor("release", {}))["ok"]
        context = await launch_browser(None, viewport={"width": 390, "height": 844})
        page = await context.new_page()
        log = PageLog(page, "record")
        await page.goto(f"{url}/m/{rostrum_server.meeting_id}/record"
                        f"?t={rostrum_server.token('secretariat')}&lang=ar")
        await page.wait_for_function("window.rostrumRecord !== undefined")
        state = await page.evaluate("""() => ({
            error: window.rostrumRecord.error ?? null,
            dir: document.documentElement.dir,
            bars: document.querySelectorAll('#chart-speaking rect.record__bar').length,
            label: document.querySelector('#chart-speaking .record__chart-label')?.textContent,
            interventions: document.querySelector('[data-key="record.interventions"]').textContent,
            heading: document.querySelector('#record h2:not(.visually-hidden)').textContent,
            overflow: document.scrollingElement.scrollWidth - window.innerWidth})""")
        assert state["error"] is None, log.tail()
        assert state["dir"] == "rtl" and state["heading"] == "موجز"
        assert state["bars"] == 1 and state["label"] == "Kenya"
        assert state["interventions"] == "1"
        assert state["overflow"] <= 0, state
    finally:
        for peer in (chair, ana):
            await peer.close()
