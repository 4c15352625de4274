"""TURN in a browser: Chromium in a network namespace that reaches the server's address only
for signaling and TURN, with the join ack's `iceTransportPolicy: "relay"`
(ROSTRUM_ICE_TRANSPORT_POLICY): its media goes through Debian's coturn, over UDP, over TCP,
and over TLS (`turns:`). The SFU gathers on 127.0.0.1 only, an address the namespace cannot
reach at all (it has no route but its own veth subnet), so nothing but the relay can carry
media. Media flows both ways: the page's tone reaches a listener, and the page hears the floor.

TLS: coturn listens on TLS only, with a certificate for its address signed by a CA the test
makes; Chromium verifies a TURN server's certificate as it verifies an https:// site's (its
network stack's verifier, the name or address of the `turns:` URL against the certificate),
so the CA is put where an operator's trusted roots are on Linux: the NSS database in
`$HOME/.pki/nssdb` (certutil, Debian's libnss3-tools)."""

from __future__ import annotations

import re
import stat
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.pages import PageLog, heard, join_meeting, poll
from tests.browser.tones import near, peer_hears
from tests.integration.test_turn_relay import TurnCertificate, make_turn_certificate, running_coturn
from tests.peers import TestPeer, ToneTrack
from tests.requirements import require_binary

pytestmark = [pytest.mark.browser, pytest.mark.network]

PAGE_TONE_HZ = 660.0
CHAIR_TONE_HZ = 440.0


@pytest.fixture(params=["udp", "tcp", "tls"])
def transport(request: Any) -> str:
    """How the page reaches coturn; also the `relayProtocol` of its relayed candidates."""
    return str(request.param)


@pytest.fixture
def turn_certificate(transport: str, browser_namespace: Any, tmp_path: Path
                     ) -> TurnCertificate | None:
    """For TLS: coturn's certificate for its address, signed by this test's CA."""
    if transport != "tls":
        return None
    return make_turn_certificate(tmp_path, browser_namespace.host_address)


def trusting_wrapper(directory: Path, chromium_wrapper: Path, ca: Path) -> Path:
    """An executable that runs the namespace's Chromium with a home of its own whose NSS
    database (`~/.pki/nssdb`, where Chromium on Linux keeps the trust anchors a user or an
    administrator adds) trusts ``ca`` for servers."""
    certutil = require_binary("certutil", "libnss3-tools")
    home = directory / "home"
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    for args in (["-N", "--empty-password"],
                 ["-A", "-n", "Rostrum test CA", "-t", "C,,", "-i", str(ca)]):
        subprocess.run([certutil, "-d", f"sql:{nssdb}", *args], check=True,
                       capture_output=True, text=True)
    wrapper = directory / "chromium-trusting-test-ca"
    wrapper.write_text(f'#!/bin/sh\nHOME={home} exec {chromium_wrapper} "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return wrapper


@pytest.fixture
async def rostrum_server(browser_namespace: Any, tmp_path: Path, transport: str,
                         turn_certificate: TurnCertificate | None) -> AsyncIterator[Any]:
    """The server: HTTP on the namespace's host-side address, the SFU on 127.0.0.1 only, and
    coturn on the host-side address (relaying from 127.0.0.1), relay-only for browsers."""
    from tests.harness import running_server

    address = browser_namespace.host_address
    with running_coturn(tmp_path, listening_ip=address, relay_ports=(49500, 49599),
                        certificate=turn_certificate) as turn:
        port, secret = turn
        url = (f"turns:{address}:{port}?transport=tcp" if transport == "tls"
               else f"turn:{address}:{port}?transport={transport}")
        async with running_server(host=address, public_host=address,
                                  rtc_addresses=["127.0.0.1"], turn_secret=secret,
                                  turn_urls=(url,), turn_ttl_s=600,
                                  ice_transport_policy="relay") as server:
            server.turn_url = url  # type: ignore[attr-defined]
            server.turn_log = tmp_path / "turn.log"  # type: ignore[attr-defined]
            yield server


async def relayed_by(page: Any) -> dict[str, Any]:
    """The local candidate of each connection's selected pair: its type and relayProtocol."""
    return dict(await page.evaluate("""async () => {
        const out = {};
        for (const which of ["publish", "subscribe"]) {
            const report = await window.rostrum.client.rawStats(which);
            const byId = new Map();
            let pairId = null;
            report?.forEach((s) => {
                byId.set(s.id, s);
                if (s.type === "transport") pairId = s.selectedCandidatePairId;
            });
            const local = byId.get(byId.get(pairId)?.localCandidateId);
            out[which] = local ? [local.candidateType, local.relayProtocol] : null;
        }
        return out;
    }"""))


GATHER = """async (server) => {
    // relay candidates gathered with this one ICE server, and the errors reported
    const pc = new RTCPeerConnection({iceServers: [server], iceTransportPolicy: "relay"});
    const found = {relays: [], errors: []};
    pc.addEventListener("icecandidate", (e) => {
        if (e.candidate) found.relays.push(e.candidate.candidate);
    });
    pc.addEventListener("icecandidateerror", (e) => found.errors.push(
        [e.errorCode, e.errorText, e.url]));
    pc.createDataChannel("probe");
    await pc.setLocalDescription();
    await new Promise((resolve) => {
        pc.addEventListener("icegatheringstatechange", () => {
            if (pc.iceGatheringState === "complete") resolve();
        });
        setTimeout(resolve, 10000);
    });
    pc.close();
    return found;
}"""


async def test_a_relay_only_page_sends_and_receives_through_coturn(
    rostrum_server: Any, launch_browser: Any, make_tone: Any, transport: str,
    turn_certificate: TurnCertificate | None, chromium_wrapper: Path, tmp_path: Path,
) -> None:
    srv = rostrum_server
    chair = TestPeer(srv.base_url, srv.token("chair"), "Chair")  # on loopback: direct
    log: PageLog | None = None
    try:
        await chair.join()
        assert (await chair.publish(audio=ToneTrack(CHAIR_TONE_HZ)))["ok"]
        assert (await chair.subscribe(decode=True))["ok"]
        wrapper = None if turn_certificate is None else trusting_wrapper(
            tmp_path, chromium_wrapper, turn_certificate.ca)
        context = await launch_browser(make_tone(PAGE_TONE_HZ), wrapper=wrapper)
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
        # both connections are relayed, and over this transport to coturn
        relayed = await relayed_by(page)
        assert relayed == {"publish": ["relay", transport], "subscribe": ["relay", transport]}, \
            relayed
        # the page's voice reaches the chair, through the relay
        await chair.wait_for(lambda: chair.slot_of(ana_id, "audio") is not None,
                             timeout=30, what="a seat for Ana")
        assert await poll(lambda: peer_hears(chair, ana_id, PAGE_TONE_HZ), bool, timeout=30), \
            "the relayed page is not heard"
        # the page hears the floor (the chair), through the relay
        slots = await poll(lambda: heard(page),
                           lambda s: any(near(x["frequency"], CHAIR_TONE_HZ) for x in s))
        assert any(near(x["frequency"], CHAIR_TONE_HZ) for x in slots), slots
        # coturn allocated relays for the page, with Ana's own credential (its log: --verbose)
        turn_log = srv.turn_log.read_text()
        assert re.search(rf"user <\d+:{ana_id}>: incoming packet ALLOCATE processed, success",
                         turn_log), turn_log[-2000:]
        if turn_certificate is not None:
            # the certificate is verified: the same coturn, with Ana's credential, from a
            # Chromium whose trust store lacks the test's CA, gives no relay at all
            server = await page.evaluate("window.rostrum.client.iceServers.at(-1)")
            untrusted = await launch_browser(None)
            refused = await untrusted.pages[0].evaluate(GATHER, server)
            assert refused["relays"] == [] and refused["errors"], refused
            trusted = await page.evaluate(GATHER, server)
            assert trusted["relays"], trusted
            print(f"\nTURN/TLS without the CA: {refused['errors']}")
        print(f"\nTURN/{transport}: relay-only Chromium heard and hearing through coturn")
    except BaseException:
        print("\n" + (log.tail(40) if log is not None else "(no page)"))
        raise
    finally:
        await chair.close()
