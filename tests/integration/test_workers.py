"""SFU worker processes: the socket protocol against a real worker process (bad frames get a
clear refusal and the worker keeps serving), placement by load, and supervision (a worker
killed with kill -9 is noticed within a second and restarted; its meetings get a fresh
router on a worker that is up), and a worker's death under a live meeting: every client is told
and recovers by itself within 5 s (docs/protocol.md `media-restart`)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import struct
import sys
import time
from typing import Any

import aiohttp

from meeting_server.app import MEETINGS
from sfu.commands import CommandError, GetLoad, Listen, Load, Refusal, Reply, Request
from sfu.wire import MAX_FRAME, decode, frame
from sfu.worker import read_body
from sfu.worker_client import RemoteRouter, WorkerPool
from tests.harness import running_server
from tests.peers import MEDIA_RESTARTING, TestPeer, ToneTrack

SETTINGS: dict[str, Any] = {"rtcAddresses": ["127.0.0.1"], "seats": 3}


def raw(body: bytes, length: int | None = None) -> bytes:
    return struct.pack(">I", len(body) if length is None else length) + body


async def reply(reader: asyncio.StreamReader) -> Reply:
    body = await asyncio.wait_for(read_body(reader), 5)
    assert body is not None, "the worker closed the connection"
    value = decode(body)
    assert isinstance(value, Reply), value
    return value


async def test_bad_frames_are_refused_and_the_worker_keeps_serving() -> None:
    pool = WorkerPool(1, SETTINGS)
    await pool.start()
    try:
        slot = pool.slots[0]
        router = await pool.open_router("m-wire")
        reader, writer = await asyncio.open_unix_connection(slot.socket_path)
        # not JSON: refused, with no id to name
        writer.write(raw(b"\xff{not json"))
        bad = await reply(reader)
        assert bad.id == 0 and bad.refusal is not None and bad.refusal.code == "bad-frame"
        assert "not JSON" in bad.refusal.message
        # JSON, with an id, that is no value of the table: the refusal names the request
        writer.write(raw(json.dumps({"type": "Request", "id": 7, "meeting_id": "m-wire",
                                     "command": {"type": "Launch", "x": 1}}).encode()))
        assert await reply(reader) == Reply(7, None, Refusal(
            "bad-frame", (await _refusal_text({"type": "Launch", "x": 1}))))
        # a string where an integer belongs: refused, not coerced
        writer.write(raw(json.dumps({"type": "Request", "id": 8, "meeting_id": "m-wire",
                                     "command": {"type": "Subscribe", "participant_id": "a",
                                                 "seats": "4"}}).encode()))
        wrong = await reply(reader)
        assert wrong.id == 8 and wrong.refusal is not None
        assert "an integer expected" in wrong.refusal.message
        # a value that is not a request
        writer.write(frame(Refusal("x", "y")))
        assert (await reply(reader)).refusal == Refusal("bad-frame",
                                                        "a Request expected, not Refusal")
        # the same connection goes on serving: a good request is answered
        writer.write(frame(Request(9, "", GetLoad())))
        load = await reply(reader)
        assert load.id == 9 and isinstance(load.result, Load)
        assert load.result.pid == slot.pid and [r.meeting_id for r in load.result.routers] \
            == ["m-wire"]
        # a refused command: a clear code, nothing changed
        writer.write(frame(Request(10, "nowhere", Listen("ana", "fr"))))
        assert (await reply(reader)).refusal == Refusal("not-found",
                                                        "no router for meeting 'nowhere'")
        # a frame longer than the limit: refused, and this connection is closed (nothing
        # says where the next frame would start)
        writer.write(raw(b"", MAX_FRAME + 1))
        closing = await reply(reader)
        assert closing.refusal is not None and closing.refusal.code == "bad-frame"
        assert "the connection is closed" in closing.refusal.message
        assert await asyncio.wait_for(read_body(reader), 5) is None
        writer.close()
        # the worker is the same process, and still serves the pool's connection
        assert slot.process is not None and slot.process.returncode is None
        assert slot.restarts == 0 and slot.up
        try:
            await router.execute(Listen("nobody", "fr"))
            raise AssertionError("a listener who never subscribed was accepted")
        except CommandError as exc:
            assert exc.code == "conflict"
        stats = await pool.stats()
        assert [s.meeting_id for s in stats] == ["m-wire"]
    finally:
        await pool.close()
    assert pool.slots[0].process is not None and pool.slots[0].process.returncode == 0


async def _refusal_text(command: dict[str, Any]) -> str:
    """The message the decoder gives for a request carrying ``command`` (read from the
    decoder itself, so the test checks that the worker passes it on unchanged)."""
    from sfu.wire import WireError, from_wire
    try:
        from_wire({"type": "Request", "id": 7, "meeting_id": "m-wire", "command": command})
    except WireError as exc:
        return str(exc)
    raise AssertionError("the decoder accepted a bad command")


async def test_meetings_are_placed_on_the_least_loaded_worker() -> None:
    pool = WorkerPool(2, SETTINGS)
    await pool.start()
    try:
        first = await pool.open_router("m-a")
        second = await pool.open_router("m-b")
        assert isinstance(first, RemoteRouter) and isinstance(second, RemoteRouter)
        assert first.worker != second.worker  # equal load: fewer routers wins
        busy = pool.placement["m-a"]
        # a worker reporting consumers and packets weighs more than one with none
        busy.load = Load(busy.pid, 40, 2000.0, ())
        assert pool.place() is not busy
        idle = pool.placement["m-b"]
        idle.load = Load(idle.pid, 60, 3000.0, ())
        assert pool.place() is busy
    finally:
        await pool.close()


async def test_a_meeting_opened_twice_at_once_is_placed_once() -> None:
    """Two opens of one meeting at the same moment (a join while its lost router is being
    replaced) get the same router on one worker: no meeting lives on two workers."""
    pool = WorkerPool(2, SETTINGS)
    await pool.start()
    try:
        first, second = await asyncio.gather(pool.open_router("m-once"),
                                             pool.open_router("m-once"))
        assert first is second
        placed = [s.meeting_id for s in await pool.stats()]
        assert placed == ["m-once"], placed
        # after its worker dies, two opens at once again give one router on the other one
        dead = pool.placement["m-once"]
        assert dead.process is not None
        dead.process.kill()
        deadline = time.monotonic() + 5
        while dead.up:
            assert time.monotonic() < deadline, "the death went unnoticed"
            await asyncio.sleep(0.01)
        again = await asyncio.gather(*(pool.open_router("m-once") for _ in range(3)))
        assert all(router is again[0] for router in again)
        assert isinstance(again[0], RemoteRouter) and again[0].worker != dead.name
        try:
            await first.execute(Listen("nobody", "fr"))
            raise AssertionError("a command on the dead worker's router was accepted")
        except CommandError as exc:
            assert exc.code == MEDIA_RESTARTING
        while not dead.up:
            assert time.monotonic() < deadline + 10, "the worker was not restarted"
            await asyncio.sleep(0.02)
        await asyncio.sleep(1.2)  # a load poll of the restarted worker
        placed = [s.meeting_id for s in await pool.stats()]
        assert placed == ["m-once"], placed
    finally:
        await pool.close()


async def test_a_worker_killed_is_noticed_within_a_second_and_restarted() -> None:
    async with running_server(workers=2) as srv:
        pool = srv.pool()
        first = TestPeer(srv.base_url, srv.token("chair"), "Chair")
        try:
            await first.join()
            assert (await first.publish(audio=ToneTrack(440)))["ok"]
            live = srv.app[MEETINGS].live[srv.meeting_id]
            old = live.router
            assert isinstance(old, RemoteRouter)
            slot = pool.placement[srv.meeting_id]
            pid = slot.pid
            killed = time.monotonic()
            os.kill(pid, signal.SIGKILL)
            while slot.up:
                await asyncio.sleep(0.005)
                assert time.monotonic() - killed < 1.0, "the death went unnoticed for 1 s"
            noticed = time.monotonic() - killed
            assert old.closed
            # the meeting gets a fresh router on the worker that is up; the chair's
            # connections were on the dead one and are lost: the chair is told to publish again
            await first.wait_for(lambda: live.router is not old and not live.router.closed,
                                 timeout=5, what="a fresh router for the meeting")
            assert isinstance(live.router, RemoteRouter) and live.router.worker != old.worker
            # the dead worker is restarted with a new process
            await first.wait_for(lambda: slot.up and slot.pid != pid, timeout=10,
                                 what="the worker restarted")
            assert slot.restarts == 1
            # media can be negotiated again on the meeting's new router
            late = TestPeer(srv.base_url, srv.token("delegate"), "Late")
            try:
                await late.join()
                assert (await late.publish(audio=ToneTrack(660)))["ok"]
                assert (await late.subscribe())["ok"]
            finally:
                await late.close()
            async with aiohttp.ClientSession() as http:
                text = await (await http.get(f"{srv.base_url}/metrics")).text()
            assert f'rostrum_worker_restarts_total{{worker="{slot.name}",pid="{slot.pid}"}} 1' \
                in text
            print(f"kill -9 noticed after {noticed * 1000:.1f} ms")
        finally:
            await first.close()
    # the server's shutdown ends every worker process
    assert all(s.process is not None and s.process.returncode is not None for s in pool.slots)


async def test_a_worker_exits_when_its_server_is_gone(tmp_path: Any) -> None:
    """Its standard input is the server's pipe: closed (the server exited or was killed),
    the worker closes its routers and exits."""
    path = str(tmp_path / "w.sock")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sfu.worker_main", "--socket", path, "--settings",
        json.dumps(SETTINGS), stdin=asyncio.subprocess.PIPE)
    try:
        for _ in range(500):
            if os.path.exists(path):
                break
            await asyncio.sleep(0.02)
        reader, writer = await asyncio.open_unix_connection(path)
        writer.write(frame(Request(1, "", GetLoad())))
        assert isinstance((await reply(reader)).result, Load)
        assert process.stdin is not None
        process.stdin.close()
        assert await asyncio.wait_for(process.wait(), 5) == 0
        writer.close()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def _first_packet_after(peer: TestPeer, mid: str | None, since: float) -> float | None:
    """When the slot ``mid`` of a subscription the peer made after ``since`` (monotonic) first
    received a packet, or None."""
    if mid is None or mid not in peer.taps or peer.taps[mid].created < since:
        return None  # a tap of the subscription from before: a packet in flight at the kill
    arrivals = [t for t in peer.taps[mid].arrivals if t > since]
    return arrivals[0] if arrivals else None


def _seat_audio(peer: TestPeer, speaker: TestPeer) -> str | None:
    """The peer's audio seat fed by ``speaker``'s microphone and forwarded."""
    for slot in peer.slots:
        if slot["purpose"] == "seat" and slot["kind"] == "audio" and slot["forwarded"] \
                and slot["participantId"] == speaker.participant_id:
            return str(slot["mid"])
    return None


def _channel(peer: TestPeer, language: str, interpreter: TestPeer) -> str | None:
    """The peer's channel slot when it carries ``interpreter`` on ``language``."""
    for slot in peer.slots:
        if slot["purpose"] == "channel" and slot.get("channel") == language \
                and slot["participantId"] == interpreter.participant_id and slot["forwarded"]:
            return str(slot["mid"])
    return None


async def test_a_worker_killed_mid_meeting_costs_no_meeting() -> None:
    """kill -9 of the meeting's worker: every client is told (`media-restart`), publishes and
    subscribes again by itself, and within 5 s every listener gets packets again on what it
    chose: the floor holder on a seat, the French booth's interpreter on the French channel.
    A publish in flight on the dead worker is refused with `media-restarting` and retried.
    The restarted worker does not get the meeting a second time."""
    async with running_server(workers=2, floor_mode="chaired") as srv:
        pool = srv.pool()
        chair = TestPeer(srv.base_url, srv.token("chair"), "Chair")
        speaker = TestPeer(srv.base_url, srv.token("delegate"), "Speaker")
        interpreter = TestPeer(srv.base_url, srv.token("interpreter"), "FR booth")
        floor_listeners = [TestPeer(srv.base_url, srv.token("delegate"), f"Floor {i}")
                           for i in range(3)]
        french = [TestPeer(srv.base_url, srv.token("delegate"), f"French {i}")
                  for i in range(2)]
        late = TestPeer(srv.base_url, srv.token("delegate"), "Late")
        everyone = [chair, speaker, interpreter, *floor_listeners, *french, late]
        try:
            for peer in everyone:
                await peer.join()
            assert (await speaker.publish(audio=ToneTrack(440)))["ok"]
            assert (await interpreter.publish(audio=ToneTrack(880)))["ok"]
            request = (await speaker.floor("request", {}))["request"]
            assert (await chair.floor("grant", {"requestId": request["id"]}))["ok"]
            assert (await chair.interp("assign", {"participantId": interpreter.participant_id,
                                                  "language": "fr"}))["ok"]
            assert (await interpreter.interp("live"))["ok"]
            start = time.monotonic()
            for peer in (*floor_listeners, *french):
                assert (await peer.subscribe())["ok"]
            for peer in french:
                assert (await peer.interp("listen", {"channel": "fr"}))["ok"]

            def hearing(peer: TestPeer) -> str | None:
                return _channel(peer, "fr", interpreter) if peer in french \
                    else _seat_audio(peer, speaker)
            for peer in (*floor_listeners, *french):
                await peer.wait_for(lambda p=peer: _first_packet_after(  # type: ignore[misc]
                    p, hearing(p), start) is not None, timeout=10, what="packets before")

            slot = pool.placement[srv.meeting_id]
            old_pid = slot.pid
            # a publish in flight on the worker when it dies: stopped, it cannot answer
            os.kill(old_pid, signal.SIGSTOP)
            in_flight = asyncio.ensure_future(late.publish(audio=ToneTrack(660)))
            await asyncio.sleep(0.3)
            killed = time.monotonic()
            os.kill(old_pid, signal.SIGKILL)

            recovered: dict[str, float] = {}

            def back() -> bool:
                for peer in (*floor_listeners, *french):
                    if peer.name not in recovered:
                        first = _first_packet_after(peer, hearing(peer), killed)
                        if first is not None and peer.restarts:
                            recovered[peer.name] = first - killed
                return len(recovered) == len(floor_listeners) + len(french)
            await chair.wait_for(back, timeout=5.0, what="every listener hearing again")
            assert all(peer.restarts for peer in everyone), "someone was not told"
            # the late publish was refused on the dead worker, then published on the new one
            reply = await asyncio.wait_for(in_flight, 10)
            assert reply["ok"], reply
            assert MEDIA_RESTARTING in late.media_refusals
            # the floor and the booth are where they were (same seats' speaker, same channel)
            for peer in french:
                assert _channel(peer, "fr", interpreter) is not None
            for peer in floor_listeners:
                assert _seat_audio(peer, speaker) is not None
            # the dead worker is restarted and does not get the meeting again
            await chair.wait_for(lambda: slot.up and slot.pid != old_pid, timeout=10,
                                 what="the worker restarted")
            await asyncio.sleep(1.5)
            placed = [s.meeting_id for s in await pool.stats()]
            assert placed.count(srv.meeting_id) == 1, placed
            assert srv.meeting_id not in [r for r in slot.routers], "placed twice"
            times = sorted(recovered.values())
            print(f"kill -9 to first packet again: p50 {times[len(times) // 2] * 1000:.0f} ms, "
                  f"max {times[-1] * 1000:.0f} ms over {len(times)} listeners")
        finally:
            for peer in everyone:
                await peer.close()
