"""Remote SFU workers (sfu/worker_remote.py): real worker processes serving on TCP behind a
HMAC handshake and registered in a real Redis; a control plane that discovers them, places
meetings on them by load, and treats one killed with kill -9 like a dead local worker."""

from __future__ import annotations

import asyncio
import struct
import time

import pytest

from meeting_server.app import MEETINGS, WORKER
from sfu.commands import GetLoad, Load, OpenRouter, Reply, Request
from sfu.wire import decode, frame
from sfu.worker import read_body
from sfu.worker_auth import AuthError
from sfu.worker_remote import LOCAL, ClusterWorkers, RemoteSlot, connect
from tests.cluster import entry_of, new_cluster, redis_url, start_worker
from tests.harness import running_server
from tests.peers import TestPeer, ToneTrack


async def test_a_remote_worker_registers_and_serves_only_who_knows_the_secret() -> None:
    url = redis_url()
    cluster, secret = new_cluster()
    worker = await start_worker(url, cluster, secret, "w-auth")
    try:
        entry = await entry_of(url, cluster, "w-auth")
        assert entry is not None and entry.address == worker.address
        assert entry.rtc_address == "127.0.0.1" and entry.rtc_port > 0
        assert entry.pid == worker.pid and entry.seats == 4 and entry.capacity == 1000
        # a wrong secret: refused on both sides, one log line on the worker
        with pytest.raises(AuthError, match="another secret"):
            await connect(worker.address, "x" * 24, "w-auth")
        # the right secret but another worker's name: refused by the control plane
        with pytest.raises(AuthError, match="not 'w-other'"):
            await connect(worker.address, secret, "w-other")
        # a boundary frame without the handshake: refused, the connection closed
        host, port = worker.address.split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(frame(Request(1, "", GetLoad())))
        header = await reader.readexactly(4)  # the worker's challenge comes first
        await reader.readexactly(struct.unpack(">I", header)[0])
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()
        # the right secret: the same frames as a local worker's socket
        reader, writer = await connect(worker.address, secret, "w-auth")
        load = await _ask(reader, writer, Request(7, "", GetLoad()))
        assert isinstance(load, Load) and load.pid == worker.pid
        # a router opened by a control connection that goes away is closed with it; one
        # that another connection opened too stays
        other_reader, other_writer = await connect(worker.address, secret, "w-auth")
        for meeting in ("m-gone", "m-shared"):
            await _ask(reader, writer, Request(8, meeting, OpenRouter("VP8")))
        await _ask(other_reader, other_writer, Request(9, "m-shared", OpenRouter("VP8")))
        writer.close()
        deadline = time.monotonic() + 5
        while True:
            load = await _ask(other_reader, other_writer, Request(10, "", GetLoad()))
            assert isinstance(load, Load)
            if [r.meeting_id for r in load.routers] == ["m-shared"]:
                break
            assert time.monotonic() < deadline, load.routers
            await asyncio.sleep(0.05)
        assert "its 1 router(s) closed: m-gone" in worker.output()
        other_writer.close()
        await asyncio.sleep(0.2)
        refusals = [line for line in worker.output().splitlines()
                    if "refused a control connection" in line]
        assert len(refusals) == 3, worker.output()
        assert "answer's MAC is wrong" in refusals[0]
        assert "an Answer was expected, not 'Request'" in worker.output()
        # a clean exit removes the entry at once
        assert await worker.stop() == 0
        assert await entry_of(url, cluster, "w-auth") is None
    finally:
        worker.kill()


async def test_meetings_go_to_remote_workers_and_move_when_one_is_killed() -> None:
    url = redis_url()
    cluster, secret = new_cluster()
    workers = [await start_worker(url, cluster, secret, f"w-{i}") for i in range(2)]
    try:
        async with running_server(redis_url=url, redis_channel=cluster,
                                  remote_workers="only", worker_secret=secret) as srv:
            pool = srv.app[WORKER]
            assert isinstance(pool, ClusterWorkers)
            assert sorted(pool.remote) == ["w-0", "w-1"]
            chair = TestPeer(srv.base_url, srv.token("chair"), "Chair")
            listener = TestPeer(srv.base_url, srv.token("delegate"), "Listener")
            try:
                await chair.join()
                await listener.join()
                assert (await chair.publish(audio=ToneTrack(440)))["ok"]
                assert (await listener.subscribe())["ok"]
                live = srv.app[MEETINGS].live[srv.meeting_id]
                first = pool.placement[srv.meeting_id]
                assert isinstance(first, RemoteSlot)
                mid = await _mic_slot(listener, chair)
                await listener.wait_for(lambda: listener.taps[mid].packets > 20, timeout=10,
                                        what="the chair's audio through a remote worker")
                # the second meeting goes to the other, less loaded, remote worker
                other = await srv.app[MEETINGS].create_meeting("Second", meeting_id="m-two")
                await pool.open_router(other.id)
                second = pool.placement[other.id]
                assert isinstance(second, RemoteSlot) and second is not first
                # kill -9 the first meeting's worker: noticed within a second (its TCP
                # connection closes), the meeting re-placed on the other worker
                victim = next(w for w in workers if w.worker_id == first.entry.id)
                old = live.router
                killed = time.monotonic()
                victim.kill()
                while first.up:
                    await asyncio.sleep(0.005)
                    assert time.monotonic() - killed < 1.0, "the death went unnoticed for 1 s"
                noticed = time.monotonic() - killed
                assert old.closed and first.entry.id not in pool.remote
                await chair.wait_for(lambda: live.router is not old and not live.router.closed,
                                     timeout=5, what="a fresh router for the meeting")
                assert pool.placement[srv.meeting_id] is second
                # told by /media media-restart, the peers publish and subscribe again by
                # themselves (tests/peers.py, as the page does)
                def fresh() -> bool:
                    mid = listener.slot_of(chair.participant_id, "audio")
                    tap = listener.taps.get(mid) if mid is not None else None
                    return tap is not None and tap.created > killed and tap.packets > 20
                await listener.wait_for(fresh, timeout=10,
                                        what="the chair's audio through the other worker")
                recovered = time.monotonic() - killed
                # its registry entry expires by itself (kill -9: no clean exit)
                deadline = time.monotonic() + 8
                while await entry_of(url, cluster, victim.worker_id) is not None:
                    assert time.monotonic() < deadline, "the dead worker's entry stayed"
                    await asyncio.sleep(0.2)
                text = await _metrics(srv.base_url)
                assert 'worker="remote:' + second.entry.id in text
                print(f"remote worker kill -9 noticed after {noticed * 1000:.1f} ms; audio "
                      f"again after {recovered:.2f} s (the peers followed media-restart)")
            finally:
                await chair.close()
                await listener.close()
    finally:
        for worker in workers:
            worker.kill()


async def test_local_and_remote_workers_share_placement_by_load() -> None:
    url = redis_url()
    cluster, secret = new_cluster()
    worker = await start_worker(url, cluster, secret, "w-mixed")
    try:
        async with running_server(redis_url=url, redis_channel=cluster, workers=0,
                                  remote_workers="on", worker_secret=secret) as srv:
            pool = srv.app[WORKER]
            assert isinstance(pool, ClusterWorkers) and "w-mixed" in pool.remote
            await pool.open_router("m-1")
            await pool.open_router("m-2")
            places = {pool.placement["m-1"] == LOCAL, pool.placement["m-2"] == LOCAL}
            assert places == {True, False}  # equal load: one each
            # a remote worker at its capacity is passed over
            slot = pool.remote["w-mixed"]
            slot.load = Load(slot.entry.pid, slot.entry.capacity, 0.0, ())
            assert pool.place() == LOCAL
            # a worker registered later is discovered within a heartbeat or two
            late = await start_worker(url, cluster, secret, "w-late")
            try:
                deadline = time.monotonic() + 5
                while "w-late" not in pool.remote:
                    assert time.monotonic() < deadline, "the late worker was not discovered"
                    await asyncio.sleep(0.05)
                # stopped cleanly: its entry goes and it is lost at once
                assert await late.stop() == 0
                deadline = time.monotonic() + 5
                while "w-late" in pool.remote:
                    assert time.monotonic() < deadline, "the stopped worker stayed"
                    await asyncio.sleep(0.05)
            finally:
                late.kill()
    finally:
        worker.kill()


async def _ask(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: Request
               ) -> object:
    writer.write(frame(request))
    body = await asyncio.wait_for(read_body(reader), 5)
    assert body is not None
    reply = decode(body)
    assert isinstance(reply, Reply) and reply.id == request.id and reply.refusal is None, reply
    return reply.result


async def _mic_slot(listener: TestPeer, speaker: TestPeer) -> str:
    await listener.wait_for(lambda: listener.slot_of(speaker.participant_id, "audio")
                            is not None, timeout=10, what="a slot for the speaker")
    mid = listener.slot_of(speaker.participant_id, "audio")
    assert mid is not None
    return mid


async def _metrics(base_url: str) -> str:
    import aiohttp
    async with aiohttp.ClientSession() as http:
        return await (await http.get(f"{base_url}/metrics")).text()
