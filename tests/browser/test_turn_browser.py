"""TURN in a browser: Chromium in a network namespace that reaches the server's address only
for signaling and TURN, with the join ack's `iceTransportPolicy: "relay"`
(ROSTRUM_ICE_TRANSPORT_POLICY): its media goes through Debian's coturn, over UDP and over
TCP. The SFU gathers on 127.0.0.1 only, an address the namespace cannot reach at all (it has
no route but its own veth subnet), so nothing but the relay can carry media. Media flows both
ways: the page's tone reaches a listener, and the page hears the floor."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.pages import PageLog, heard, join_meeting, poll
from tests.integration.test_turn_relay import running_coturn
from tests.peers import TestPeer, ToneTrack, dominant_frequency

pytestmark = [pytest.mark.browser, pytest.mark.network]

PAGE_TONE_HZ = 660.0
CHAIR_TONE_HZ = 440.0


def near(frequency: Any, target: float) -> bool:
    return isinstance(frequency, int | float) and abs(frequency - target) <= 25.0


@pytest.fixture(params=["udp", "tcp"])
def transport(request: Any) -> str:
    return str(request.param)


@pytest.fixture
async def rostrum_server(browser_namespace: Any, tmp_path: Path, transport: str
                         ) -> AsyncIterator[Any]:
    """The server: HTTP on the namespace's host-side address, the SFU on 127.0.0.1 only, and
    coturn on the host-side address (relaying from 127.0.0.1), relay-only for browsers."""
    from tests.harness import running_server

    address = browser_namespace.host_address
    with running_coturn(tmp_path, listening_ip=address, relay_ports=(49500, 49599)) as turn:
        port, secret = turn
        url = f"turn:{address}:{port}?transport={transport}"
        async with running_server(host=address, public_host=address,
                                  rtc_addresses=["127.0.0.1"], turn_secret=secret,
                                  turn_urls=(url,), turn_ttl_s=600,
                                  ice_transport_policy="relay") as server:
            server.turn_url = url  # type: ignore[attr-defined]
            server.turn_log = tmp_path / "turn.log"  # type: ignore[attr-defined]
            yield server


async def hears(peer: TestPeer, participant_id: str, target: float) -> bool:
    mid = peer.slot_of(participant_id, "audio")
    if mid is None or mid not in peer.tracks:
        return False
    try:
        return near(await asyncio.wait_for(dominant_frequency(peer.tracks[mid], seconds=0.5),
                                           3.0), target)
    except TimeoutError:
        return False


async def test_a_relay_only_page_sends_and_receives_through_coturn(
    rostrum_server: Any, launch_browser: Any, make_tone: Any, transport: str,
) -> None:
    srv = rostrum_server
    chair = TestPeer(srv.base_url, srv.token("chair"), "Chair")  # on loopback: direct
    log: PageLog | None = None
    try:
        await chair.join()
        assert (await chair.publish(audio=ToneTrack(CHAIR_TONE_HZ)))["ok"]
        assert (await chair.subscribe(decode=True))["ok"]
        context = await launch_browser(make_tone(PAGE_TONE_HZ))
        page = context.pages[0] if context.pages else await context.new_page()
        log = PageLog(page, "ana")
        ana_id = await join_meeting(page, srv.join_link(role="delegate"), name="Ana")
        config = await page.evaluate("""() => ({
            policy: window.rostrum.client.iceTransportPolicy,
            urls: window.rostrum.client.iceServers.flatMap((s) => s.urls)})""")
        assert config == {"policy": "relay", "urls": [srv.turn_url]}, config
        await page.wait_for_function(
            "window.rostrum.client.connectionStates.publish === 'connected'"
            " && window.rostrum.client.connectionStates.subscribe === 'connected'",
            timeout=40_000)
        # the page's voice reaches the chair, through the relay
        await chair.wait_for(lambda: chair.slot_of(ana_id, "audio") is not None,
                             timeout=30, what="a seat for Ana")
        assert await poll(lambda: hears(chair, ana_id, PAGE_TONE_HZ), bool, timeout=30), \
            "the relayed page is not heard"
        # the page hears the floor (the chair), through the relay
        slots = await poll(lambda: heard(page),
                           lambda s: any(near(x["frequency"], CHAIR_TONE_HZ) for x in s))
        assert any(near(x["frequency"], CHAIR_TONE_HZ) for x in slots), slots
        # coturn allocated relays for the page, with Ana's own credential (its log: --verbose)
        turn_log = srv.turn_log.read_text()  # type: ignore[attr-defined]
        assert re.search(rf"user <\d+:{ana_id}>: incoming packet ALLOCATE processed, success",
                         turn_log), turn_log[-2000:]
        print(f"\nTURN/{transport}: relay-only Chromium heard and hearing through coturn")
    except BaseException:
        print("\n" + (log.tail(40) if log is not None else "(no page)"))
        raise
    finally:
        await chair.close()
