"""Debian's Firefox ESR beside Chromium, in a VP8 meeting: a Firefox delegate joins, is
heard by Chromium and hears it, asks for the floor, listens on a language channel; a Firefox
observer joins and hears the floor. (Firefox here has no OpenH264: test_codec_fallback.py
covers what it does in an H264 meeting.) Firefox offers its camera's second layer as a
bundle-only m-line (port 0, "balanced" bundle policy), which the SFU takes as live.
Needs firefox-esr, pulseaudio (Debian) and puppeteer-core (web/): `SETUP_TEST=1 bash
scripts/setup.sh`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.firefox import FIREFOX_TONE_HZ, Firefox, NullSink, firefox_available
from tests.browser.pages import heard, join_meeting, poll
from tests.requirements import require

pytestmark = [pytest.mark.browser, pytest.mark.network]

CHROMIUM_TONE_HZ = 660.0
TOLERANCE_HZ = 25.0


def near(frequency: Any, target: float) -> bool:
    return isinstance(frequency, int | float) and abs(frequency - target) <= TOLERANCE_HZ


async def firefox_join(ff: Firefox, link: str, name: str) -> int:
    page = int(await ff.call("page"))
    await ff.call("goto", page=page, url=link)
    view = await ff.wait(page, "['join', 'error'].includes(window.rostrum?.view) && window.rostrum.view")
    assert view == "join", await ff.eval(page, "window.rostrum?.error")
    await ff.call("fill", page=page, selector="#join-name", value=name)
    await ff.wait(page, "document.querySelectorAll('#join-microphone option').length > 1")
    await ff.call("click", page=page, selector="#join-submit")
    view = await ff.wait(page, "['room', 'error'].includes(window.rostrum?.view) && window.rostrum.view")
    assert view == "room", await ff.eval(page, "window.rostrum?.error")
    return page


async def test_firefox_delegate_and_observer_beside_chromium(
    browser_namespace: Any, rostrum_server: Any, launch_browser: Any, make_tone: Any,
    tmp_path: Path,
) -> None:
    require(firefox_available(), "Debian's firefox-esr and pulseaudio (apt-get install"
                                 " firefox-esr pulseaudio) and puppeteer-core (npm ci in web/)")
    sink = NullSink(tmp_path / "pulse")
    (tmp_path / "pulse").mkdir()
    ff = Firefox(browser_namespace.exec_prefix(), sink.start(), tmp_path / "firefox-home")
    (tmp_path / "firefox-home").mkdir()
    try:
        version = await ff.start()
        assert "firefox" in version.lower(), version
        context = await launch_browser(make_tone(CHROMIUM_TONE_HZ))
        chromium = context.pages[0] if context.pages else await context.new_page()
        await join_meeting(chromium, rostrum_server.join_link(role="delegate"),
                           name="Chromium Delegate")

        delegate = await firefox_join(ff, rostrum_server.join_link(role="delegate"),
                                      "Firefox Delegate")
        # Firefox publishes (VP8 and Opus) and Chromium hears its fake microphone
        state = await ff.wait(delegate, "window.rostrum.client.connectionStates.publish"
                                        " === 'connected' && 'connected'")
        assert state == "connected", await ff.eval(
            delegate, "({states: window.rostrum.client.connectionStates,"
                      " error: document.querySelector('#room-error')?.textContent})")
        slots = await poll(lambda: heard(chromium),
                           lambda s: any(near(x["frequency"], FIREFOX_TONE_HZ) for x in s),
                           timeout=30)
        assert any(near(x["frequency"], FIREFOX_TONE_HZ) for x in slots), slots
        # and Firefox hears Chromium (WebAudio on the null sink)
        ff_heard: list[dict[str, Any]] = []
        for _ in range(20):
            ff_heard = await ff.eval(delegate, "window.rostrum.frequencies()", timeout=30)
            if any(near(x["frequency"], CHROMIUM_TONE_HZ) for x in ff_heard):
                break
        assert any(near(x["frequency"], CHROMIUM_TONE_HZ) for x in ff_heard), ff_heard
        # the floor: a request from Firefox enters the speakers' list
        request = await ff.eval(delegate,
                                "window.rostrum.client.requestFloor({note: 'from Firefox'})")
        assert request["position"] == 1, request
        # a language channel: French, floor passing through (no interpreter is live)
        answer = await ff.eval(delegate, "window.rostrum.client.listen('fr')")
        assert answer["channel"] == "fr" and answer["original"] is True, answer

        observer = await firefox_join(ff, rostrum_server.join_link(role="observer"),
                                      "Firefox Observer")
        ob_heard: list[dict[str, Any]] = []
        for _ in range(20):
            ob_heard = await ff.eval(observer, "window.rostrum.frequencies()", timeout=30)
            if any(near(x["frequency"], CHROMIUM_TONE_HZ) for x in ob_heard):
                break
        assert any(near(x["frequency"], CHROMIUM_TONE_HZ) for x in ob_heard), ob_heard
        assert await ff.eval(observer, "window.rostrum.client.connectionStates.publish"
                                       " ?? 'none'") in ("none", "idle", "new", "closed")
    except AssertionError:
        print("\n".join(ff.log[-40:]))
        raise
    finally:
        await ff.close()
        sink.stop()
