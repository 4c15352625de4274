"""A publisher with a poor uplink drops its upper layer (issue 5, publisher side).

A delegate in Chromium publishes two camera layers (a Y4M camera that costs an encoder what a
real one does, about 600 + 150 kbit/s) and a tone from its own network namespace, whose
uplink `tc tbf` shapes to 300 kbit/s. The SFU sees the loss on that connection, stops
forwarding the high layer, lowers the connection's REMB and tells the publisher (`/media`
`uplink`), whose client stops encoding it; an observer on a clean link keeps receiving the
low layer and the audio. When the uplink is clear again, a trial brings the high layer back.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from bench.adaptation import SEAT_SAMPLE_JS
from tests.browser.netns import ShapedNamespace
from tests.browser.pages import PageLog, join_meeting, new_page, outbound_video, poll

pytestmark = [pytest.mark.browser, pytest.mark.network]

UPLINK_KBIT = 300

async def test_a_poor_uplink_drops_the_upper_layer_and_gets_it_back(
    launch_browser: Any, make_tone: Any, rostrum_server: Any,
    shaped_namespace: ShapedNamespace, shaped_wrapper: Path, camera_y4m: Path,
) -> None:
    publisher = await new_page(await launch_browser(make_tone(440.0), fake_video=camera_y4m,
                                                    wrapper=shaped_wrapper))
    observer = await new_page(await launch_browser(None))
    logs = [PageLog(publisher, "publisher"), PageLog(observer, "observer")]
    try:
        publisher_id = await join_meeting(publisher, rostrum_server.join_link(role="delegate"),
                                          name="Amina Diallo", member_state="Senegal")
        await join_meeting(observer, rostrum_server.join_link(role="observer"),
                           name="Olga Observer")
    except Exception as err:
        raise AssertionError(f"join failed: {err}\n" + "\n".join(log.tail() for log in logs)
                             + f"\n{shaped_namespace}") from err
    timeline: list[tuple[float, Any, Any]] = []
    started = time.monotonic()

    async def level() -> str:
        return str(await publisher.evaluate("window.rostrum.client.uplinkLevel"))

    async def seat() -> dict[str, Any] | None:
        return await observer.evaluate(SEAT_SAMPLE_JS, publisher_id)  # type: ignore[no-any-return]

    async def sample() -> tuple[str, dict[str, Any] | None]:
        current = (await level(), await seat())
        timeline.append((round(time.monotonic() - started, 1), current[0], current[1]))
        return current

    def report() -> str:
        return (json.dumps(timeline[-60:]) + "\n" + shaped_namespace.downlink_stats() + "\n"
                + "\n".join(log.tail(15) for log in logs))

    # 1. a clean uplink: the observer decodes the high layer
    state = await poll(sample, lambda s: s[1] is not None and s[1]["layer"] == "camera"
                       and s[1]["width"] >= 480, timeout=30)
    assert state[0] == "full" and state[1] and state[1]["layer"] == "camera", report()

    # 2. the uplink falls to 250 kbit/s: the publisher is told to drop the high layer (or to
    # go audio only, if its link is worse than the SFU can tell apart), the observer moves
    # down and keeps hearing
    shaped_namespace.shape_uplink(UPLINK_KBIT)
    shaped_at = time.monotonic()
    state = await poll(sample, lambda s: s[0] != "full", timeout=15)
    assert state[0] in ("low", "audio"), f"the publisher was never told\n{report()}"
    told_after = time.monotonic() - shaped_at
    told = state[0]
    notice = await publisher.evaluate(
        "(() => { const n = document.querySelector('#uplink-notice');"
        " return n && !n.hidden ? n.textContent : null; })()")
    assert notice, f"the publisher's page does not say its link is slow\n{report()}"
    expected_layer = "camera-low" if state[0] == "low" else None
    state = await poll(sample, lambda s: s[1] is not None and s[1]["layer"] == expected_layer,
                       timeout=10)
    assert state[1] is not None and state[1]["layer"] == expected_layer, report()
    # the client stops encoding the dropped layer: its outbound-rtp stops growing
    await asyncio.sleep(3.0)
    before = await outbound_video(publisher, "packetsSent")
    first = await seat()
    await asyncio.sleep(4.0)
    after = await outbound_video(publisher, "packetsSent")
    last = await seat()
    assert first and last, report()
    sending = {mid: after[mid] - before.get(mid, 0) for mid in after}
    assert sorted(sending.values())[0] == 0, f"both layers still sent: {sending}\n{report()}"
    heard = last["audioReceived"] - first["audioReceived"]
    assert heard >= 4 * 20, f"audio stopped at the observer: {heard} packets in 4 s\n{report()}"
    low_decoding_after: float | None = None
    if expected_layer == "camera-low":
        # the low layer's keyframe has to cross the congested uplink (it may take a few
        # tries): the picture comes back, then keeps decoding
        async def decoding() -> bool:
            a = await seat()
            await asyncio.sleep(2.0)
            b = await seat()
            return bool(a and b and b["frames"] - a["frames"] >= 2 * 5
                        and b["layer"] == "camera-low")

        assert await poll(decoding, bool, timeout=25, interval=0.1), \
            f"the low layer does not decode\n{report()}"
        low_decoding_after = time.monotonic() - shaped_at

    # 3. the uplink clears: a trial brings the high layer back (the hold is 10 s)
    shaped_namespace.shape_uplink(None)
    state = await poll(sample, lambda s: s[0] == "full" and s[1] is not None
                       and s[1]["layer"] == "camera" and s[1]["width"] >= 480, timeout=40)
    assert state[0] == "full" and state[1] and state[1]["layer"] == "camera", report()
    # the observer's own link is clean: what the publisher's uplink lost never took its
    # video away (the SFU takes upstream gaps out of the observer's loss)
    if expected_layer == "camera-low":
        first_low = next(i for i, (_, _, s) in enumerate(timeline)
                         if s and s["layer"] == "camera-low")
        assert all(s and s["layer"] is not None for _, _, s in timeline[first_low:]), \
            f"the observer lost video because of the publisher's uplink\n{report()}"
    print(f"uplink {UPLINK_KBIT} kbit/s: told {told!r} after {told_after:.1f} s; low layer "
          f"decoding {low_decoding_after} s after the shaping; "
          f"timeline {json.dumps(timeline)}")
