"""`resume` on /room (docs/protocol.md): a dropped connection is kept for the grace and comes
back as the same participant, with its place in the speakers' list; a locked meeting lets it
back in; an expired or foreign key is refused and changes nothing. Real server, real
Socket.IO peers, real aiortc media."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from tests.harness import ServerHandle, running_server
from tests.peers import TestPeer, ToneTrack


@asynccontextmanager
async def chair_ana_and_ben(resume_grace_s: float
                            ) -> AsyncIterator[tuple[ServerHandle, list[TestPeer]]]:
    """A chaired meeting with this resume grace, and its chair, Ana and Ben (delegates) as
    peers not joined yet. A test appends the connections it makes to the list; every peer in
    it is closed at the end."""
    async with running_server(floor_mode="chaired", resume_grace_s=resume_grace_s) as srv:
        peers = [TestPeer(srv.base_url, srv.token("chair"), "Chair"),
                 TestPeer(srv.base_url, srv.token("delegate"), "Ana"),
                 TestPeer(srv.base_url, srv.token("delegate"), "Ben")]
        try:
            yield srv, peers
        finally:
            for peer in peers:
                await peer.close()


async def left(observer: TestPeer, who: TestPeer, reason: str, timeout: float) -> None:
    """Wait until ``observer`` is told that ``who`` left the meeting, for ``reason``
    (`presence` `left`: "left", "dropped", "removed")."""
    await observer.wait_for(lambda: any(
        e[1] == "presence" and e[2]["event"] == "left"
        and e[2]["participant"]["id"] == who.participant_id
        and e[2]["participant"]["reason"] == reason for e in observer.events),
        timeout=timeout, what=f"{who.name} {reason}")


async def drop(peer: TestPeer) -> None:
    """The connection goes as on a network change: no leave, no Socket.IO disconnect."""
    await peer.sio.eio.disconnect(abort=True)
    for pc in (peer.publish_pc, peer.subscribe_pc):
        if pc is not None:
            await pc.close()


async def again(srv: Any, peer: TestPeer, auth: dict[str, Any] | None = None) -> TestPeer:
    """A new connection of the same page (same token), not joined yet."""
    back = TestPeer(srv.base_url, peer.token, peer.name)
    await back.sio.connect(srv.base_url, namespaces=["/room", "/media", "/floor",
                                                     "/interpretation"],
                           auth={"token": peer.token, **(auth or {})},
                           transports=["websocket"], wait_timeout=10)
    return back


async def test_a_dropped_delegate_resumes_as_the_same_participant() -> None:
    async with chair_ana_and_ben(resume_grace_s=30.0) as (srv, peers):
        chair, ana, ben = peers
        await chair.join()
        joined = await ana.join()
        await ben.join()
        key = joined["resume"]["key"]
        assert joined["resume"]["graceS"] == 30.0
        assert (await ana.floor("request", {}))["request"]["position"] == 1
        assert (await ben.floor("request", {}))["request"]["position"] == 2
        await ana.publish(audio=ToneTrack(440))
        await drop(ana)
        # bad keys change nothing; the chair still sees Ana queued first
        back = await again(srv, ana)
        peers.append(back)
        for bad, code in [({"key": "short"}, "bad-request"), ({"key": 123}, "bad-request"),
                          ({"key": "x" * 32}, "not-found"), ({}, "bad-request")]:
            reply = await back.call("/room", "resume", bad)
            assert reply["error"]["code"] == code, (bad, reply)
        state = (await chair.floor("state"))["state"]
        assert [q["name"] for q in state["queue"]] == ["Ana", "Ben"]
        # the resume: same id, same place, no arrival announced, media again
        arrivals = sum(1 for e in chair.events if e[1] == "presence")
        reply = await back.call("/room", "resume", {"key": key})
        assert reply["ok"], reply
        back.joined = reply
        assert reply["self"]["id"] == ana.participant_id
        assert reply["resume"]["key"] == key
        assert [p["id"] for p in reply["participants"]].count(ana.participant_id) == 1
        state = (await back.floor("state"))["state"]
        assert [q["name"] for q in state["queue"]] == ["Ana", "Ben"]
        assert (await back.publish(audio=ToneTrack(440)))["ok"]
        assert (await back.call("/room", "resume", {"key": key}))["error"]["code"] == \
            "conflict"
        await asyncio.sleep(0.3)
        assert sum(1 for e in chair.events if e[1] == "presence") == arrivals
        # a key is not a token: another meeting's or role's connection cannot use it
        chair_again = TestPeer(srv.base_url, srv.token("chair"), "Chair 2")
        peers.append(chair_again)
        await chair_again.connect()
        reply = await chair_again.call("/room", "resume", {"key": key})
        assert reply["error"]["code"] == "not-found", reply


async def test_the_grace_ends_with_a_departure_and_a_lock_lets_the_dropped_back() -> None:
    async with chair_ana_and_ben(resume_grace_s=1.0) as (srv, peers):
        chair, ana, ben = peers
        await chair.join()
        key_ana = (await ana.join())["resume"]["key"]
        key_ben = (await ben.join())["resume"]["key"]
        await ben.floor("request", {})
        assert (await chair.floor("lock", {"locked": True}))["ok"]
        # Ana drops and comes back within the grace, through the lock
        await drop(ana)
        back = await again(srv, ana, {"resume": key_ana})
        peers.append(back)
        reply = await back.call("/room", "resume", {"key": key_ana})
        assert reply["ok"] and reply["self"]["id"] == ana.participant_id, reply
        # Ben drops and stays away: after the grace he leaves ("dropped"), request gone
        await drop(ben)
        await left(chair, ben, "dropped", timeout=10)  # after the grace
        state = (await chair.floor("state"))["state"]
        assert state["queue"] == []
        late = TestPeer(srv.base_url, ben.token, "Ben")
        peers.append(late)
        try:
            await late.sio.connect(srv.base_url, namespaces=["/room"],
                                   auth={"token": ben.token, "resume": key_ben},
                                   transports=["websocket"], wait_timeout=10)
            refused = False
        except Exception:
            refused = True
        assert refused, "a locked meeting let in a participant whose grace had passed"
