"""The integrator's findings (issue 16), each one a test: reserved event names, coercion,
limits, lock at connect, absurd expiries, malformed frames and request lines, tokens in logs.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
from typing import Any

import aiohttp
import pytest

from meeting_server.app import MEETINGS
from tests.harness import running_server
from tests.integration.test_bad_input import refused
from tests.peers import TestPeer

NAMESPACES = ("/room", "/media", "/floor", "/interpretation")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def mint(secret: str, payload: dict[str, Any]) -> str:
    part = b64(json.dumps(payload).encode())
    return part + "." + b64(hmac.new(secret.encode(), part.encode(), hashlib.sha256).digest())


async def test_connect_and_disconnect_as_events_are_unknown_in_every_namespace() -> None:
    async with running_server() as srv:
        peer = TestPeer(srv.base_url, srv.token("delegate"), "Dana")
        try:
            await peer.join()
            for ns in NAMESPACES:
                for event, payload in [("connect", {}), ("connect", {"token": peer.token}),
                                       ("disconnect", {}), ("disconnect", "client disconnect")]:
                    reply = await peer.sio.call(event, payload, namespace=ns, timeout=5)
                    assert isinstance(reply, dict), (ns, event, reply)
                    assert reply["error"]["code"] == "unknown-event", (ns, event, reply)
            # nothing happened to the participant: still joined, still answered
            assert len(srv.app[MEETINGS].by_session) == 1
            reply = await peer.call("/room", "media-state", {"audio": True, "video": False})
            assert reply["ok"], reply
            assert (await peer.call("/floor", "state"))["ok"]
        finally:
            await peer.close()


COERCED = [
    ("/room", "media-state", {"audio": "yes", "video": 0}),
    ("/room", "media-state", {"audio": 1, "video": False}),
    ("/room", "media-state", {"audio": "true", "video": "false"}),
    ("/media", "video", {"enabled": "1"}),
    ("/media", "pin", {"participantId": 42}),
    ("/floor", "lock", {"locked": "1"}),
    ("/floor", "lock", {"locked": 1}),
    ("/floor", "extend", {"seconds": "10"}),
    ("/floor", "extend", {"seconds": True}),
    ("/floor", "settings", {"defaultLimitS": "60"}),
    ("/floor", "settings", {"closeOnExpiry": "no"}),
    ("/floor", "mute", {"participantId": "x", "muted": "false"}),
    ("/floor", "request", {"note": 5}),
    ("/floor", "grant", {"participantId": "x", "limitS": "30"}),
    ("/interpretation", "cough", {"on": "on"}),
    ("/interpretation", "listen", {"channel": "fr", "floorUnder": "0.5"}),
    ("/room", "join", {"name": 12345}),
    ("/room", "join", {"name": "Ann", "language": ""}),
    ("/room", "join", {"name": "Ann", "language": "e"}),
]


async def test_payloads_that_need_coercion_are_refused_and_change_nothing() -> None:
    async with running_server(floor_mode="chaired") as srv:
        chair = TestPeer(srv.base_url, srv.token("chair"), "Chair")
        fresh = TestPeer(srv.base_url, srv.token("delegate"), "Fresh")
        try:
            await chair.join()
            await fresh.connect()
            before = (await chair.floor("state"))["state"]
            for ns, event, payload in COERCED:
                peer = fresh if event == "join" else chair
                reply = await peer.call(ns, event, payload)
                assert reply["ok"] is False, (ns, event, payload, reply)
                assert reply["error"]["code"] == "bad-request", (ns, event, payload, reply)
            after = (await chair.floor("state"))["state"]
            assert {k: v for k, v in after.items() if k != "serverTime"} == \
                {k: v for k, v in before.items() if k != "serverTime"}
            assert chair.joined["self"]["audio"] is False
            assert len(srv.app[MEETINGS].by_session) == 1  # the fresh connection never joined
            # a list of one 100,000-character string is too large, not a conflict
            reply = await chair.floor("reorder", {"order": ["x" * 100_000]})
            assert reply["error"]["code"] == "too-large", reply
            reply = await chair.floor("reorder", {"order": ["x" * 41]})
            assert reply["error"]["code"] == "too-large", reply
            reply = await chair.floor("reorder", {"order": [[[[[[[[[["deep"]]]]]]]]]]})
            assert reply["error"]["code"] == "bad-request", reply
            # the documented language (2-8 characters) is accepted
            assert (await fresh.call("/room", "join", {"name": "Ann", "language": "fr"}))["ok"]
        finally:
            await chair.close()
            await fresh.close()


async def test_a_locked_meeting_refuses_at_connect() -> None:
    async with running_server() as srv:
        chair = TestPeer(srv.base_url, srv.token("chair"), "Chair")
        early = TestPeer(srv.base_url, srv.token("delegate"), "Early")
        secretariat = TestPeer(srv.base_url, srv.token("secretariat"), "Sec")
        try:
            await chair.join()
            await early.connect()  # connected before the lock, joins after it
            assert (await chair.floor("lock", {"locked": True}))["ok"]
            error = await refused(srv.base_url, {"token": srv.token("delegate")})
            assert error["data"]["code"] == "meeting-closed", error
            assert "locked" in error["message"]
            reply = await early.call("/room", "join", {"name": "Early"})
            assert reply["error"]["code"] == "meeting-closed", reply
            await secretariat.join()  # the secretariat may still come in
            assert (await chair.floor("lock", {"locked": False}))["ok"]
            late = TestPeer(srv.base_url, srv.token("delegate"), "Late")
            try:
                await late.join()
            finally:
                await late.close()
        finally:
            await chair.close()
            await early.close()
            await secretariat.close()


async def test_absurd_expiry_is_refused_at_connect() -> None:
    async with running_server(max_token_lifetime_s=86400) as srv:
        absurd = mint(srv.config.secret, {"m": srv.meeting_id, "r": "chair",
                                          "exp": 10**22 * 31_557_600, "n": "x"})
        error = await refused(srv.base_url, {"token": absurd})
        assert error["data"]["code"] == "unauthorized" and "lifetime" in error["message"]
        two_days = srv.token("delegate", ttl_s=2 * 86400)
        error = await refused(srv.base_url, {"token": two_days})
        assert error["data"]["code"] == "unauthorized" and "lifetime" in error["message"]
        assert srv.app[MEETINGS].by_session == {}


# --- malformed frames and request lines ------------------------------------------------------

# engine.io text frames, each on a fresh connection that never authenticated
FRAMES = [
    "",                                   # an empty packet
    "7",                                  # no such engine.io packet type (ignored)
    "42",                                 # a Socket.IO event without its data
    "44/room,{}",                         # a CONNECT_ERROR sent by a client
    "40/room," + "[" * 1000 + "]" * 1000,  # JSON nested 1,000 deep
    '40/room,{"token":' + "[" * 1000 + "]" * 1000 + "}",
    '42/room,["join",' + "1" * 5000 + "]",  # an integer of 5,000 digits
    '451-/room,["join",{"_placeholder":true,"num":7}]',  # a placeholder pointing nowhere
    "49",                                 # no such Socket.IO packet type
    '42["x"',                             # JSON cut short
    "4{}",
]
HTTP_LINES = [b"GARBAGE\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"GET /\x00 HTTP/1.1\r\n\r\n",
              b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(40),
              b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n"]


async def hostile_frame(url: str, frame: str) -> str:
    """Send one frame on a fresh engine.io websocket; how the server answered."""
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        opened = await ws.receive(timeout=5)
        assert opened.type == aiohttp.WSMsgType.TEXT and opened.data.startswith("0")
        await ws.send_str(frame)
        if frame.startswith("451-"):
            await ws.send_bytes(b"\x00\x01")
        if frame == "7":  # engine.io drops an unknown packet type: the session lives on
            await ws.send_str("40/nosuch,")
        while True:
            try:
                msg = await ws.receive(timeout=5)
            except TimeoutError:
                return "kept open"
            if frame == "7" and msg.type == aiohttp.WSMsgType.TEXT and msg.data.startswith("44"):
                return "ignored"
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                            aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.ERROR):
                return "closed"
            if msg.type == aiohttp.WSMsgType.TEXT and msg.data.startswith("44"):
                return "connect_error"
            if msg.type == aiohttp.WSMsgType.TEXT and msg.data == "1":  # engine.io CLOSE
                return "closed"


async def test_malformed_frames_and_request_lines_cost_at_most_a_line(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    async with running_server() as srv:
        url = srv.base_url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        caplog.clear()
        for _ in range(3):  # a flood, not one try
            for frame in FRAMES:
                answer = await hostile_frame(url, frame)
                expected = ("ignored",) if frame == "7" else ("closed", "connect_error")
                assert answer in expected, (frame[:20], answer)
            for line in HTTP_LINES:
                reader, writer = await asyncio.open_connection("127.0.0.1", srv.config.port)
                writer.write(line)
                await writer.drain()
                head = await asyncio.wait_for(reader.read(12), 5)
                writer.close()
                assert head.startswith(b"HTTP/1.") and b"400" in head, (line[:20], head)
        await asyncio.sleep(0.3)
        problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert not [r for r in caplog.records if r.exc_info], [
            (r.name, r.getMessage()) for r in caplog.records if r.exc_info]
        # one line per kind (engine.io, Socket.IO, HTTP) per 10 s, however many frames
        assert len(problems) <= 3, [(r.name, r.getMessage()) for r in problems]
        assert problems, "the bad input left no trace at all"
        # and the server still serves
        peer = TestPeer(srv.base_url, srv.token("delegate"), "After")
        try:
            await peer.join()
        finally:
            await peer.close()


async def test_tokens_never_reach_the_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="aiohttp.access")
    caplog.set_level(logging.INFO)
    async with running_server() as srv:
        token = srv.token("chair")
        async with aiohttp.ClientSession() as session:
            for path in (f"/m/{srv.meeting_id}?t={token}&lang=fr",
                         f"/api/meetings/{srv.meeting_id}/attendance.json?t={token}",
                         f"/m/{srv.meeting_id}?token={token}"):
                async with session.get(srv.base_url + path) as response:
                    await response.read()
        peer = TestPeer(srv.base_url, token, "Chair")
        try:
            await peer.join()
        finally:
            await peer.close()
        await asyncio.sleep(0.2)
        text = "\n".join(r.getMessage() for r in caplog.records)
        assert f"/m/{srv.meeting_id}" in text, "no access log line at all"
        assert "[redacted]" in text and "lang=fr" in text
        assert token not in text
        assert token.split(".")[1] not in text  # not even the signature
