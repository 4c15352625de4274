"""Bad input gets a clear error, changes nothing, and never disturbs anyone else."""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Any

import pytest
import socketio

from meeting_server.app import MEETINGS
from meeting_server.tokens import issue
from tests.harness import running_server
from tests.peers import PatternTrack, TestPeer, ToneTrack


async def refused(base_url: str, auth: Any, namespace: str = "/room") -> dict[str, Any]:
    """Connect with ``auth`` and return the connect_error payload the server sent."""
    client = socketio.AsyncClient(reconnection=False)
    errors: list[Any] = []
    client.on("connect_error", lambda data: errors.append(data), namespace=namespace)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(base_url, namespaces=[namespace], auth=auth,
                             transports=["websocket"], wait_timeout=5)
    await client.disconnect()
    assert errors, "no connect_error payload"
    assert isinstance(errors[0], dict), errors
    return errors[0]


async def test_wrong_forged_expired_and_missing_tokens_are_refused() -> None:
    async with running_server() as srv:
        forged = issue("another-secret", srv.meeting_id, "chair", 3600)
        expired = issue(srv.config.secret, srv.meeting_id, "delegate", -10)
        unknown_meeting = issue(srv.config.secret, "nosuchmeeting", "delegate", 3600)
        cases = {
            "forged": (forged, "unauthorized", "signature"),
            "expired": (expired, "unauthorized", "expired"),
            "garbage": ("not-a-token", "unauthorized", "malformed"),
            "unknown meeting": (unknown_meeting, "not-found", "meeting"),
        }
        for label, (token, code, word) in cases.items():
            error = await refused(srv.base_url, {"token": token})
            assert error["data"]["code"] == code, (label, error)
            assert word in error["message"], (label, error)
        error = await refused(srv.base_url, None)
        assert error["data"]["code"] == "unauthorized"
        error = await refused(srv.base_url, {"token": forged}, namespace="/media")
        assert error["data"]["code"] == "unauthorized"
        # nobody was admitted
        assert srv.app[MEETINGS].by_session == {}


async def test_invalid_events_get_clear_errors_and_change_nothing() -> None:
    async with running_server() as srv:
        peer = TestPeer(srv.base_url, srv.token("delegate"), "Mallory")
        observer = TestPeer(srv.base_url, srv.token("observer"), "Olga")
        try:
            await peer.connect()
            # media events before joining
            reply = await peer.call("/media", "subscribe")
            assert reply["error"]["code"] == "not-joined"
            # schema violations
            for payload, code, field in [
                ({}, "bad-request", "name"),
                ({"name": ""}, "bad-request", "name"),
                ({"name": "x" * 10_000}, "too-large", "name"),
                ({"name": "Ann", "admin": True}, "bad-request", "admin"),
                ({"name": 42}, "bad-request", "name"),
                ("just a string", "bad-request", "object"),
                ({"name": "Ann", "language": "<script>"}, "bad-request", "language"),
            ]:
                reply = await peer.call("/room", "join", payload)
                assert reply["ok"] is False, payload
                assert reply["error"]["code"] == code, (payload, reply)
                assert field in reply["error"]["message"], (payload, reply)
            assert srv.app[MEETINGS].by_session == {}
            # unknown events
            for ns in ("/room", "/media"):
                reply = await peer.call(ns, "frobnicate", {})
                assert reply["error"]["code"] == "unknown-event", reply
                reply = await peer.call(ns, "JOIN", {})
                assert reply["error"]["code"] == "unknown-event", reply
            await peer.call("/room", "join", {"name": "Mallory"})
            reply = await peer.call("/room", "join", {"name": "Mallory again"})
            assert reply["error"]["code"] == "conflict"
            # observers publish nothing
            await observer.join()
            reply = await observer.publish(audio=ToneTrack(300))
            assert reply["error"]["code"] == "forbidden", reply
        finally:
            await peer.close()
            await observer.close()


@pytest.mark.in_process
async def test_malformed_and_oversized_sdp() -> None:
    async with running_server() as srv:
        peer = TestPeer(srv.base_url, srv.token("delegate"), "Mallory")
        try:
            await peer.join()
            router = srv.router()
            for sdp, sources, code in [
                ("hello", {"0": "mic"}, "bad-sdp"),
                ("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n", {"0": "mic"}, "bad-sdp"),
                ("v=0\r\n" + "a=x\r\n" * 20_000, {"0": "mic"}, "too-large"),
                ("v=0\r\n\x00\xff\xfe garbage", {"0": "mic"}, "bad-sdp"),
            ]:
                reply = await peer.call("/media", "publish", {"sdp": sdp, "sources": sources})
                assert reply["error"]["code"] == code, (sdp[:30], reply)
            reply = await peer.call("/media", "publish", {"sdp": "v=0", "sources": {"0": "x"}})
            assert reply["error"]["code"] == "bad-request"
            assert router.counts()["transports"] == 0
            assert router.counts()["producers"] == 0
            # a valid offer whose sources do not match its m-lines
            reply = await peer.publish(audio=ToneTrack(300))
            assert reply["ok"], reply
            assert router.counts()["producers"] == 1
            # a garbage answer to the subscribe offer changes nothing; a good one still works
            reply = await peer.call("/media", "subscribe")
            assert reply["ok"]
            bad = await peer.call("/media", "subscribe-answer", {"sdp": "v=0\r\nnonsense"})
            assert bad["error"]["code"] == "bad-sdp", bad
        finally:
            await peer.close()


async def test_message_over_the_size_limit_drops_only_that_client() -> None:
    async with running_server() as srv:
        good = TestPeer(srv.base_url, srv.token("delegate"), "Good")
        bad = TestPeer(srv.base_url, srv.token("delegate"), "Bad")
        try:
            await good.join()
            await bad.join()
            with pytest.raises(Exception):
                await bad.call("/room", "media-state", {"audio": True, "video": "x" * 2_000_000},
                               timeout=5)
            await good.wait_for(lambda: not bad.sio.connected, what="bad client dropped")
            reply = await good.call("/room", "media-state", {"audio": True, "video": False})
            assert reply["ok"]
            assert len(srv.app[MEETINGS].by_session) == 1
        finally:
            await good.close()
            await bad.close()


@pytest.mark.in_process
async def test_garbage_datagrams_on_media_ports_do_not_disturb_forwarding() -> None:
    async with running_server() as srv:
        alice = TestPeer(srv.base_url, srv.token("delegate"), "Alice")
        bob = TestPeer(srv.base_url, srv.token("delegate"), "Bob")
        try:
            await alice.join()
            await bob.join()
            assert (await alice.publish(audio=ToneTrack(500), video=PatternTrack()))["ok"]
            assert (await bob.subscribe())["ok"]
            await bob.wait_for(lambda: bob.slot_of(alice.participant_id, "audio") is not None)
            mid = bob.slot_of(alice.participant_id, "audio")
            await bob.wait_for(lambda: bob.taps[mid].packets > 20, what="audio flowing")
            router = srv.router()
            ports = set()
            for transport in router.transports.values():
                for t in transport.pc.getTransceivers():
                    ice = t.sender.transport.transport
                    for c in ice.iceGatherer.getLocalCandidates():
                        ports.add(c.port)
            assert ports
            junk = [os.urandom(n) for n in (1, 12, 100, 1200)]
            junk += [bytes([0x80]) + os.urandom(200), bytes([0x16, 0xFE, 0xFD]) + os.urandom(60),
                     b"\x00\x01\x00\x00" + os.urandom(16), b"\x80\xc8" + os.urandom(50)]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                for _ in range(20):
                    for port in ports:
                        for datagram in junk:
                            s.sendto(datagram, ("127.0.0.1", port))
                    await asyncio.sleep(0.02)
            before = bob.taps[mid].packets
            await asyncio.sleep(1.0)
            assert bob.taps[mid].packets - before > 30, "forwarding stopped after junk"
            assert all(t.connection_state == "connected" for t in router.transports.values())
        finally:
            await alice.close()
            await bob.close()
