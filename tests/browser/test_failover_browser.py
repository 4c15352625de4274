"""The meeting's SFU worker is killed (kill -9) under two Chromium pages: a delegate page that
speaks and a listener page. Neither reloads: each is told (`/media` `media-restart`),
publishes and subscribes again by itself, shows "Reconnecting audio and video…" in its live
region meanwhile and takes it away once media is back; within 5 s of the kill the listener's
page receives the delegate's voice again (its audio slot's `inbound-rtp` packets counted by the
page), and both tones are heard where they were (docs/protocol.md `media-restart`)."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import pytest

from tests.browser.pages import PageLog, heard, join_meeting, poll
from tests.peers import TestPeer, ToneTrack

pytestmark = [pytest.mark.browser, pytest.mark.network]

DELEGATE_TONE_HZ = 660.0
CHAIR_TONE_HZ = 440.0
RECOVERY_S = 5.0

# the page's own record of the restart: when its events came, what the notice showed, and
# when the delegate's voice first arrived again (packets on the audio slot they feed)
WATCH = """(speakerId) => {
    const c = window.rostrum.client;
    const notice = document.querySelector('#room-reconnect');
    window.failover = {restarts: [], restored: [], notices: [], voiceBack: null, loaded: true};
    c.addEventListener('mediarestart', () => window.failover.restarts.push(Date.now()));
    c.addEventListener('mediarestored', (e) => window.failover.restored.push(
        [Date.now(), e.detail.downMs]));
    new MutationObserver(() => window.failover.notices.push(
        [Date.now(), notice.hidden ? null : notice.textContent, notice.dataset.state ?? null,
         notice.getAttribute('aria-live')]
    )).observe(notice, {attributes: true, childList: true, characterData: true, subtree: true});
    if (!speakerId) return;
    const probe = async () => {
        if (window.failover.restarts.length && window.failover.voiceBack === null) {
            try {
                const slots = await c.getStats();
                if (slots.some((s) => s.kind === 'audio' && s.participantId === speakerId
                                      && s.packetsReceived > 0)) {
                    window.failover.voiceBack = Date.now();
                }
            } catch (err) { /* the subscription is being made again */ }
        }
        setTimeout(probe, 50);
    };
    probe();
}"""


@pytest.fixture
def server_overrides() -> dict[str, Any]:
    return {"workers": 2}


def near(frequency: Any, target: float) -> bool:
    return isinstance(frequency, int | float) and abs(frequency - target) <= 25.0


async def test_pages_recover_media_by_themselves_after_a_worker_is_killed(
    rostrum_server: Any, launch_browser: Any, make_tone: Any,
) -> None:
    srv = rostrum_server
    chair = TestPeer(srv.base_url, srv.token("chair"), "Chair")
    logs: list[PageLog] = []
    try:
        await chair.join()
        assert (await chair.publish(audio=ToneTrack(CHAIR_TONE_HZ)))["ok"]
        assert (await chair.subscribe())["ok"]
        speaking = await launch_browser(make_tone(DELEGATE_TONE_HZ))
        ana = speaking.pages[0] if speaking.pages else await speaking.new_page()
        logs.append(PageLog(ana, "ana"))
        ana_id = await join_meeting(ana, srv.join_link(role="delegate"), name="Ana")
        listening = await launch_browser(make_tone(880.0))
        ben = listening.pages[0] if listening.pages else await listening.new_page()
        logs.append(PageLog(ben, "ben"))
        await join_meeting(ben, srv.join_link(role="delegate"), name="Ben")
        for page in (ana, ben):
            await page.wait_for_function(
                "window.rostrum.client.connectionStates.subscribe === 'connected'",
                timeout=30_000)
        await ana.evaluate(WATCH, None)
        await ben.evaluate(WATCH, ana_id)
        slots = await poll(lambda: heard(ben),
                           lambda s: any(near(x["frequency"], DELEGATE_TONE_HZ) for x in s))
        assert any(near(x["frequency"], DELEGATE_TONE_HZ) for x in slots), slots

        pool = srv.pool()
        worker = pool.placement[srv.meeting_id]
        killed_ms = time.time() * 1000
        os.kill(worker.pid, signal.SIGKILL)

        await ben.wait_for_function("window.failover.voiceBack !== null",
                                    timeout=RECOVERY_S * 1000 + 5_000)
        for page in (ana, ben):
            await page.wait_for_function("window.failover.restored.length > 0",
                                         timeout=15_000)
        ben_state = await ben.evaluate("window.failover")
        ana_state = await ana.evaluate("window.failover")
        back_s = (ben_state["voiceBack"] - killed_ms) / 1000
        assert back_s <= RECOVERY_S, f"the listener's page heard nothing for {back_s:.2f} s"
        for state in (ana_state, ben_state):
            assert state["loaded"], "the page reloaded"
            assert len(state["restarts"]) == 1, state
            shown = [n for n in state["notices"] if n[1]]
            assert shown and shown[0][1] == "Reconnecting audio and video…", state["notices"]
            assert shown[0][2] == "media-restarting" and shown[0][3] == "polite"
            assert state["notices"][-1][1] is None, "the notice stayed after media came back"
        # the same tones where they were: Ana's voice at Ben's, the chair's at Ana's
        slots = await poll(lambda: heard(ben),
                           lambda s: any(near(x["frequency"], DELEGATE_TONE_HZ) for x in s))
        assert any(near(x["frequency"], DELEGATE_TONE_HZ) for x in slots), slots
        slots = await poll(lambda: heard(ana),
                           lambda s: any(near(x["frequency"], CHAIR_TONE_HZ) for x in s))
        assert any(near(x["frequency"], CHAIR_TONE_HZ) for x in slots), slots
        states = await ana.evaluate("window.rostrum.client.connectionStates")
        assert states["publish"] == "connected" and states["subscribe"] == "connected", states
        print(f"\nkill -9 of the meeting's worker: the listener page's audio back after "
              f"{back_s:.2f} s; media restored at the pages after "
              f"{ana_state['restored'][0][1] / 1000:.2f} s (Ana) and "
              f"{ben_state['restored'][0][1] / 1000:.2f} s (Ben) from the event")
    except BaseException:
        for log in logs:
            print("\n" + log.tail(40))
        raise
    finally:
        await chair.close()
