"""TURN with short-lived credentials (meeting_server/turn.py) against Debian's coturn in its
shared-secret REST mode: the join ack hands each participant credentials of their own, and a
peer that may use relayed candidates only (iceTransportPolicy "relay") publishes and receives
through coturn; media flows both ways. A forged or expired credential is refused by coturn.
coturn and every peer are on loopback."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection
from aiortc.rtcconfiguration import RTCBundlePolicy, RTCIceTransportPolicy

from meeting_server.turn import turn_credentials
from tests.harness import free_port, running_server
from tests.peers import TestPeer, ToneTrack, dominant_frequency
from tests.requirements import require_binary


@contextmanager
def running_coturn(tmp_path: Path, listening_ip: str = "127.0.0.1",
                   relay_ports: tuple[int, int] = (49400, 49499)) -> Iterator[tuple[int, str]]:
    """Debian's coturn in the shared-secret REST mode, listening (UDP and TCP) on
    ``listening_ip``, relaying from 127.0.0.1 (loopback peers allowed): (port, secret)."""
    binary = require_binary("turnserver", "coturn")
    port = free_port(listening_ip)
    secret = secrets.token_urlsafe(16)
    log = tmp_path / "turn.log"
    proc = subprocess.Popen(
        [binary, "-n", f"--listening-ip={listening_ip}", "--relay-ip=127.0.0.1",
         f"--listening-port={port}", "--use-auth-secret", f"--static-auth-secret={secret}",
         "--realm=rostrum.test", "--no-tls", "--no-dtls", "--no-cli", "--allow-loopback-peers",
         f"--min-port={relay_ports[0]}", f"--max-port={relay_ports[1]}", f"--log-file={log}",
         "--simple-log", "--verbose", f"--pidfile={tmp_path / 'turn.pid'}", "--no-multicast-peers"],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:  # coturn answers a STUN binding request once it listens
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(0.2)
                s.sendto(b"\x00\x01\x00\x00\x21\x12\xa4\x42" + secrets.token_bytes(12),
                         (listening_ip, port))
                try:
                    s.recvfrom(1500)
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise AssertionError("coturn did not start: " +
                                             (log.read_text() if log.exists() else "")) from None
        yield port, secret
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def coturn(tmp_path: Path) -> Iterator[tuple[int, str]]:
    with running_coturn(tmp_path) as running:
        yield running


def relay_only(server: dict[str, Any]) -> RTCPeerConnection:
    return RTCPeerConnection(RTCConfiguration(
        iceServers=[RTCIceServer(urls=server["urls"], username=server["username"],
                                 credential=server["credential"])],
        iceTransportPolicy=RTCIceTransportPolicy.RELAY,
        bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))


def test_the_credential_recipe_is_coturns() -> None:
    server = turn_credentials("s3cret", ("turn:t.example:3478",), "abc123", 600, now=1000)
    assert server["username"] == "1600:abc123"
    expected = base64.b64encode(hmac.new(b"s3cret", b"1600:abc123", hashlib.sha1).digest())
    assert server["credential"] == expected.decode()
    for bad in [("", ("turn:x",), "a"), ("s", (), "a"), ("s", ("turn:x",), "a:b")]:
        with pytest.raises(ValueError):
            turn_credentials(*bad, ttl_s=60)


async def test_a_relay_only_peer_is_heard_and_hears_through_coturn(
    coturn: tuple[int, str],
) -> None:
    port, secret = coturn
    url = f"turn:127.0.0.1:{port}?transport=udp"
    async with running_server(turn_secret=secret, turn_urls=(url,), turn_ttl_s=600) as srv:
        relayed = TestPeer(srv.base_url, srv.token("delegate"), "Relayed")
        direct = TestPeer(srv.base_url, srv.token("delegate"), "Direct")
        try:
            joined = await relayed.join()
            turn = next(s for s in joined["iceServers"] if s["urls"] == [url])
            expiry, _, user = turn["username"].partition(":")
            assert user == relayed.participant_id
            assert 590 <= int(expiry) - time.time() <= 600
            assert (await direct.join())["iceServers"][-1]["username"].endswith(
                ":" + direct.participant_id)  # credentials of their own

            relayed.make_pc = lambda: relay_only(turn)
            assert (await relayed.publish(audio=ToneTrack(440)))["ok"]
            offer = relayed.publish_pc.localDescription.sdp
            assert "typ relay" in offer and "typ host" not in offer, offer
            assert (await relayed.subscribe(decode=True))["ok"]
            assert (await direct.publish(audio=ToneTrack(660)))["ok"]
            assert (await direct.subscribe(decode=True))["ok"]

            async def hears(peer: TestPeer, other: TestPeer, target: float) -> float:
                await peer.wait_for(lambda: peer.slot_of(other.participant_id, "audio")
                                    is not None, timeout=20, what="a seat")
                mid = peer.slot_of(other.participant_id, "audio")
                assert mid is not None
                return await dominant_frequency(peer.tracks[mid], seconds=1.0)

            heard_up = await asyncio.wait_for(hears(direct, relayed, 440), 30)
            heard_down = await asyncio.wait_for(hears(relayed, direct, 660), 30)
            assert abs(heard_up - 440) < 15 and abs(heard_down - 660) < 15, (heard_up,
                                                                             heard_down)
            assert relayed.publish_pc.iceConnectionState == "completed" or \
                relayed.publish_pc.connectionState == "connected"
        finally:
            await relayed.close()
            await direct.close()

    # coturn itself refuses a forged and an expired credential: a relay-only peer gathers
    # no candidate with them
    for forged in [dict(turn, credential=base64.b64encode(b"x" * 20).decode()),
                   turn_credentials(secret, (url,), "late", 60, now=time.time() - 3600)]:
        pc = relay_only(forged)
        pc.addTransceiver("audio", direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        assert "typ relay" not in pc.localDescription.sdp
        await pc.close()
