"""An interpreter live in a booth whose network drops (Chromium's namespace link down, its TCP
connections cut) comes back by itself (docs/protocol.md `resume`) live on the booth's
channel: the listeners of that channel (an aiortc peer counting packets) hear the
interpreter's microphone again, and the console still shows the microphone on."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.browser.pages import PageLog, join_meeting
from tests.browser.resumable import cut, floor_mode, server_overrides  # noqa: F401
from tests.integration.test_resume_booth import channel_packets
from tests.peers import TestPeer, ToneTrack

pytestmark = [pytest.mark.browser, pytest.mark.network]

OUTAGE_S = 5.0


async def test_a_live_interpreter_is_heard_again_after_a_drop(
    browser_namespace: Any, rostrum_server: Any, launch_browser: Any, make_tone: Any,
) -> None:
    ns, srv = browser_namespace, rostrum_server
    chair = TestPeer(srv.base_url, srv.token("chair"), "Chair")
    listener = TestPeer(srv.base_url, srv.token("delegate"), "Listener EN")
    log: PageLog | None = None
    try:
        await chair.join()
        assert (await chair.publish(audio=ToneTrack(440)))["ok"]
        await listener.join()
        assert (await listener.subscribe())["ok"]
        assert (await listener.interp("listen", {"channel": "en"}))["ok"]
        context = await launch_browser(make_tone(660.0))
        page = context.pages[0] if context.pages else await context.new_page()
        log = PageLog(page, "interpreter")
        me = await join_meeting(page, srv.join_link(role="interpreter"), name="EN interpreter")
        await page.wait_for_function(
            "window.rostrum.client.connectionStates.publish === 'connected'", timeout=30_000)
        assert (await chair.interp("assign", {"participantId": me, "language": "en"}))["ok"]
        await page.wait_for_selector("#ic-mic", state="visible", timeout=10_000)
        await page.click("#ic-mic")
        await page.wait_for_selector('#ic-mic[aria-pressed="true"]', timeout=10_000)
        await listener.wait_for(lambda: channel_packets(listener, me) > 20, timeout=20,
                                what="the interpreter on the English channel")
        await page.evaluate("""() => {
            window.resumes = [];
            window.rostrum.client.addEventListener('resumed', () => window.resumes.push(1));
        }""")

        cut(ns, down=True)
        await asyncio.sleep(OUTAGE_S)
        cut(ns, down=False)
        await page.wait_for_function("window.resumes.length > 0", timeout=30_000)
        await page.wait_for_function(
            "window.rostrum.client.connectionStates.publish === 'connected'", timeout=30_000)
        heard = channel_packets(listener, me)
        await listener.wait_for(lambda: channel_packets(listener, me) > heard + 20,
                                timeout=20, what="the resumed interpreter heard again")
        state = await page.evaluate("""() => ({
            pressed: document.querySelector('#ic-mic').getAttribute('aria-pressed'),
            micOpen: window.rostrum.client.micOpen,
            enabled: window.rostrum.client.publishedStream?.getAudioTracks()[0]?.enabled,
            booth: window.rostrum.client.booth})""")
        assert state == {"pressed": "true", "micOpen": True, "enabled": True, "booth": "en"}, \
            state
    except BaseException:
        print("\n" + (log.tail(40) if log is not None else "(no page)"))
        raise
    finally:
        await listener.close()
        await chair.close()
