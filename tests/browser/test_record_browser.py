"""The record page in Chromium, in Arabic on a phone: after a short meeting its charts are
drawn (one bar per member state that spoke), the summary counts the intervention, the French
booth's live minutes and interpreter are in the interpretation table, and nothing scrolls
sideways."""

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
    ines = TextPeer(url, rostrum_server.token("interpreter"), "Inès")
    try:
        await chair.join()
        await ana.join(memberState="Kenya", language="ar")
        await ines.join()
        assert (await chair.interp("assign", {"participantId": ines.participant_id,
                                              "language": "fr"}))["ok"]
        rid = (await ana.floor("request", {}))["request"]["id"]
        assert (await chair.floor("grant", {"requestId": rid}))["ok"]
        assert (await ines.interp("live"))["ok"]
        await asyncio.sleep(0.4)
        assert (await ines.interp("off"))["ok"]
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
            booths: document.querySelectorAll('#chart-interpretation rect.record__bar').length,
            languages: window.rostrumRecord.meeting.languages.length,
            french: [...document.querySelectorAll(
                '#record-interpretation tr[data-language="fr"] > *')].map((c) => c.textContent),
            overflow: document.scrollingElement.scrollWidth - window.innerWidth})""")
        assert state["error"] is None, log.tail()
        assert state["dir"] == "rtl" and state["heading"] == "موجز"
        assert state["bars"] == 1 and state["label"] == "Kenya"
        assert state["interventions"] == "1"
        assert state["booths"] == state["languages"] >= 2, state
        french = state["french"]
        assert french[0] and french[1] == "0:01", french  # 0.4 s live, rounded up
        assert french[-1].startswith("Inès ("), french
        assert state["overflow"] <= 0, state
    finally:
        for peer in (chair, ana, ines):
            await peer.close()
