"""A page whose connection drops comes back by itself as the same participant (docs/protocol.md
`resume`): Chromium's namespace link goes down and its TCP connections are cut (as on a
change from Wi-Fi to mobile data), for a few seconds; the page reconnects with its token,
resumes (no second arrival, no reload), publishes and subscribes again on new peer
connections, keeps the floor and sets its channel again, and audio flows both ways again.
The time from the link's return to the page's resumption and to its voice being heard
again is printed (not asserted: bench/ territory)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from meeting_server.app import MEETINGS
from tests.browser.pages import PageLog, heard, join_meeting, poll
from tests.browser.resumable import cut, floor_mode, server_overrides  # noqa: F401
from tests.browser.tones import near, peer_hears
from tests.peers import TestPeer, ToneTrack

pytestmark = [pytest.mark.browser, pytest.mark.network]

PAGE_TONE_HZ = 660.0
CHAIR_TONE_HZ = 440.0
OUTAGE_S = 5.0


@pytest.mark.in_process
async def test_a_page_resumes_after_its_network_drops(
    browser_namespace: Any, rostrum_server: Any, launch_browser: Any, make_tone: Any,
) -> None:
    ns, srv = browser_namespace, rostrum_server
    chair = TestPeer(srv.base_url, srv.token("chair"), "Chair")
    log: PageLog | None = None
    try:
        await chair.join()
        assert (await chair.publish(audio=ToneTrack(CHAIR_TONE_HZ)))["ok"]
        assert (await chair.subscribe(decode=True))["ok"]
        context = await launch_browser(make_tone(PAGE_TONE_HZ))
        page = context.pages[0] if context.pages else await context.new_page()
        log = PageLog(page, "ana")
        self_id = await join_meeting(page, srv.join_link(role="delegate"), name="Ana")
        await page.evaluate("""() => {
            const c = window.rostrum.client;
            window.resumes = [];
            c.addEventListener('resumed', (e) => window.resumes.push(e.detail.downMs));
        }""")
        # Ana asks for the floor and gets it; she listens to French
        request = await page.evaluate("window.rostrum.client.requestFloor({})")
        assert request["position"] == 1, request
        assert (await chair.floor("grant", {"participantId": self_id}))["ok"]
        await page.wait_for_function(  # a channel is chosen on a subscription
            "window.rostrum.client.connectionStates.subscribe === 'connected'", timeout=30_000)
        listen = await page.evaluate("window.rostrum.client.listen('fr')")
        assert listen["channel"] == "fr", listen
        await chair.wait_for(lambda: chair.slot_of(self_id, "audio") is not None,
                             timeout=30, what="a seat for Ana")
        assert await poll(lambda: peer_hears(chair, self_id, PAGE_TONE_HZ), bool, timeout=30)
        slots = await poll(lambda: heard(page),
                           lambda s: any(near(x["frequency"], CHAIR_TONE_HZ) for x in s))
        assert any(near(x["frequency"], CHAIR_TONE_HZ) for x in slots), slots
        arrivals = [e for e in chair.events if e[1] == "presence"]

        cut(ns, down=True)
        await asyncio.sleep(OUTAGE_S)
        assert not await peer_hears(chair, self_id, PAGE_TONE_HZ), "the cut did not cut"
        notice = await page.evaluate("document.querySelector('#room-reconnect')?.textContent")
        assert notice, "no notice while reconnecting"
        cut(ns, down=False)
        back = time.monotonic()

        await page.wait_for_function("window.resumes.length > 0", timeout=30_000)
        resumed_s = time.monotonic() - back
        state = await page.evaluate("""() => ({
            self: window.rostrum.client.self.id, view: window.rostrum.view,
            states: window.rostrum.client.connectionStates,
            floor: window.rostrum.client.floor})""")
        assert state["self"] == self_id and state["view"] == "room", state
        assert state["floor"]["speaker"]["participantId"] == self_id, state
        await page.wait_for_function(
            "window.rostrum.client.connectionStates.publish === 'connected'"
            " && window.rostrum.client.connectionStates.subscribe === 'connected'",
            timeout=30_000)
        published_s = time.monotonic() - back
        assert await poll(lambda: peer_hears(chair, self_id, PAGE_TONE_HZ), bool, timeout=30), \
            "Ana is not heard after the resume"
        heard_s = time.monotonic() - back
        slots = await poll(lambda: heard(page),
                           lambda s: any(near(x["frequency"], CHAIR_TONE_HZ) for x in s))
        assert any(near(x["frequency"], CHAIR_TONE_HZ) for x in slots), slots
        # one participant, never announced twice; her channel is French again
        assert [e for e in chair.events if e[1] == "presence"] == arrivals
        live = srv.app[MEETINGS].live[srv.meeting_id]
        assert list(live.participants).count(self_id) == 1
        assert live.router.router.subscriptions[self_id].channel == "fr"
        down_ms = (await page.evaluate("window.resumes"))[0]
        print(f"\nreconnect after a {OUTAGE_S:.0f} s outage (shared, loaded machine): "
              f"down {down_ms / 1000:.1f} s in all; after the link came back: resumed "
              f"{resumed_s:.2f} s, both peer connections up {published_s:.2f} s, voice "
              f"heard again by the chair {heard_s:.2f} s")
    except BaseException:
        print("\n" + (log.tail(40) if log is not None else "(no page)"))
        raise
    finally:
        await chair.close()
