"""A page that is closed (not a network drop) leaves at once: on `pagehide` it sends a beacon
(docs/protocol.md `POST /api/leave`, with its resume key), so the chair's participants' list
drops the delegate within a second instead of keeping them for the resume grace, and their
floor request goes as on a leave. Chromium; the chair is a real Socket.IO peer."""

from __future__ import annotations

import time
from typing import Any

import pytest

from meeting_server.app import MEETINGS
from tests.browser.pages import PageLog, join_meeting
from tests.browser.resumable import floor_mode, server_overrides  # noqa: F401
from tests.peers import TestPeer

pytestmark = [pytest.mark.browser]


async def test_a_closed_tab_leaves_the_list_at_once(
    rostrum_server: Any, launch_browser: Any, make_tone: Any,
) -> None:
    srv = rostrum_server
    chair = TestPeer(srv.base_url, srv.token("chair"), "Chair")
    log: PageLog | None = None
    try:
        await chair.join()
        context = await launch_browser(make_tone(440.0))
        page = context.pages[0] if context.pages else await context.new_page()
        log = PageLog(page, "ana")
        ana_id = await join_meeting(page, srv.join_link(role="delegate"), name="Ana")
        request = await page.evaluate("window.rostrum.client.requestFloor({})")
        assert request["position"] == 1, request
        await chair.wait_for(lambda: any(q["participantId"] == ana_id for q in (
            (chair.last("floor", "/floor") or {}).get("queue", []))), timeout=10,
            what="Ana's request on the chair's list")

        closed_at = time.monotonic()
        await page.close()  # the tab is closed: pagehide, then the page is gone

        def left() -> bool:
            return any(e[1] == "presence" and e[2]["event"] == "left"
                       and e[2]["participant"]["id"] == ana_id for e in chair.events)

        await chair.wait_for(left, timeout=1.0, what="Ana gone from the list within 1 s")
        elapsed = time.monotonic() - closed_at
        reason = next(e[2]["participant"]["reason"] for e in chair.events
                      if e[1] == "presence" and e[2]["event"] == "left")
        assert reason == "left", reason
        live = srv.app[MEETINGS].live[srv.meeting_id]
        assert ana_id not in live.participants
        assert not srv.app[MEETINGS].suspended, "kept for a resume as after a network drop"
        state = (await chair.floor("state"))["state"]
        assert state["queue"] == [], state["queue"]
        print(f"\nclosed tab: gone from the chair's list {elapsed * 1000:.0f} ms after the"
              " close")
    except BaseException:
        print("\n" + (log.tail(40) if log is not None else "(no page)"))
        raise
    finally:
        await chair.close()
