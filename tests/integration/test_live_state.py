"""The live state of a meeting (meeting_server/live_state.py) survives a kill -9 of its
server and the death of its control-plane node: real server processes, real aiortc peers,
real Redis, one SQLite file.

During the meeting the chair gives Ana the floor, Ben asks for it, the chair mutes the
secretariat, gives the secretariat the floor rights and Ana the presenter right, sets the
speaking time and locks the meeting, and the secretariat puts the interpreter in the French
booth. Then the server (or node A, the meeting's owner) is killed with SIGKILL. After a
restart, or on node B once it took the meeting over, every page resumes with its resume key
as the same participant, and all of it is back: the floor (Ana, as a new intervention), the
queue with its ids, the mutes (the muted secretariat's microphone is not forwarded: counted
at a listener's aiortc connection; unmuted, it is), the rights, the settings, the lock (a new
delegate is refused), the booth and the presenter right; the floor log has no hole and no
entry twice."""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
import socketio

from meeting_server.app import MEETINGS
from meeting_server.cluster import Owner, owner_key
from meeting_server.live_state import LiveStateRecord
from meeting_server.speakers_list import SpeakersList
from tests.cluster import join_following, new_cluster, redis_url
from tests.harness import free_port, running_server
from tests.integration.test_floor import heard, packets_in
from tests.integration.test_restart import links, spawn, start, wait_up
from tests.integration.test_restart_resume import closed, kill
from tests.peers import TestPeer, ToneTrack

NAMESPACES = ["/room", "/media", "/floor", "/interpretation", "/documents"]
GRACE = {"ROSTRUM_RESUME_GRACE_S": "60"}


async def enter(base: str, peer: TestPeer, resume: TestPeer | None = None,
                **profile: Any) -> dict[str, Any]:
    """Connect ``peer`` on every namespace (the documents' too) and join, or with
    ``resume`` (the peer it was before the crash) resume as that participant."""
    auth = {"token": peer.token}
    if resume is not None:
        auth["resume"] = resume.joined["resume"]["key"]
    await peer.sio.connect(base, namespaces=NAMESPACES, auth=auth, transports=["websocket"],
                           wait_timeout=10)
    if resume is None:
        reply = await peer.call("/room", "join", {"name": peer.name, **profile})
    else:
        reply = await peer.call("/room", "resume", {"key": auth["resume"]})
    assert reply["ok"], reply
    peer.joined = reply
    return reply


async def resume_at(urls: list[str], before: TestPeer, timeout: float = 20) -> TestPeer:
    """The page after the crash: its token and resume key, on the first node that takes it
    (at a takeover the new node refuses with ``moved`` until the dead owner's key expired)."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        for url in urls:
            back = TestPeer(url, before.token, before.name)
            try:
                await enter(url, back, resume=before)
                return back
            except (socketio.exceptions.ConnectionError, OSError) as exc:
                last = exc
                await back.close()
        await asyncio.sleep(0.2)
    raise AssertionError(f"{before.name} could not resume at {urls}: {last}")


@dataclass
class Meeting:
    chair: TestPeer
    secretariat: TestPeer
    ana: TestPeer
    ben: TestPeer
    interpreter: TestPeer
    listener: TestPeer
    floor: dict[str, Any]  # the floor's state just before the crash

    def everyone(self) -> list[TestPeer]:
        return [self.chair, self.secretariat, self.ana, self.ben, self.interpreter,
                self.listener]


async def hold_meeting(base: str, tokens: dict[str, str]) -> Meeting:
    """Everything a chair and a secretariat decide in a meeting, then the state it left."""
    m = Meeting(TestPeer(base, tokens["chair"], "Chair"),
                TestPeer(base, tokens["secretariat"], "Secretariat"),
                TestPeer(base, tokens["delegate"], "Ana"),
                TestPeer(base, tokens["delegate"], "Ben"),
                TestPeer(base, tokens["interpreter"], "FR interpreter"),
                TestPeer(base, tokens["delegate"], "Listener"), {})
    for peer, state in zip(m.everyone(), ("", "", "Kenya", "Peru", "", "Chile"), strict=True):
        await enter(base, peer, memberState=state)
    chair = m.chair
    assert (await chair.floor("settings", {"defaultLimitS": 240, "closeOnExpiry": True}))["ok"]
    request = await m.ana.floor("request", {"note": "on item 3"})
    assert (await chair.floor("grant", {"requestId": request["request"]["id"]}))["ok"]
    assert (await m.ben.floor("request", {"note": "on the draft"}))["ok"]
    sec = m.secretariat.participant_id
    assert (await chair.floor("mute", {"participantId": sec}))["ok"]
    assert (await chair.floor("rights", {"participantId": sec, "enabled": True}))["ok"]
    assert (await m.secretariat.interp("assign", {
        "participantId": m.interpreter.participant_id, "language": "fr"}))["ok"]
    assert (await chair.call("/documents", "give", {"participantId": m.ana.participant_id}))[
        "ok"]
    assert (await chair.floor("lock", {"locked": True}))["ok"]
    m.floor = (await chair.floor("state"))["state"]
    assert m.floor["speaker"]["participantId"] == m.ana.participant_id
    await asyncio.sleep(0.5)  # the store's thread writes what the acks promised
    return m


async def check_everything_back(urls: list[str], before: Meeting, reason: str,
                                database: Path) -> None:
    """After the crash: resume everyone and find the meeting as it was."""
    again: list[TestPeer] = []
    try:
        for peer in before.everyone():
            back = await resume_at(urls, peer)
            again.append(back)
            me = back.joined["self"]
            assert (me["id"], me["name"], me["role"], me["memberState"]) == (
                peer.participant_id, peer.name, peer.joined["self"]["role"],
                peer.joined["self"]["memberState"]), me
        chair, sec, ana, _ben, interpreter, listener = again
        state = (await chair.floor("state"))["state"]
        old = before.floor
        assert state["speaker"]["participantId"] == ana.participant_id, state
        assert state["speaker"]["kind"] == old["speaker"]["kind"]
        assert 200 < state["speaker"]["remainingS"] <= 240, state["speaker"]
        assert [(q["participantId"], q["id"], q["note"]) for q in state["queue"]] == \
            [(q["participantId"], q["id"], q["note"]) for q in old["queue"]], state["queue"]
        assert state["muted"] == [sec.participant_id] == old["muted"], state
        assert state["managers"] == [sec.participant_id] == old["managers"], state
        assert state["locked"] is True
        assert (state["defaultLimitS"], state["closeOnExpiry"]) == (240, True), state
        booths = (await interpreter.interp("state"))["state"]["booths"]
        assert next(b for b in booths if b["language"] == "fr")["interpreters"] == \
            [interpreter.participant_id], booths
        screen = (await ana.call("/documents", "state"))["screen"]
        assert screen["presenterDelegate"] == ana.participant_id and screen["mayPresent"], \
            screen
        # the lock still keeps a new delegate out
        stranger = TestPeer(urls[-1], before.ben.token, "Stranger")
        refusals: list[Any] = []
        stranger.sio.on("connect_error", refusals.append, namespace="/room")
        try:
            await stranger.connect()
            refused = await stranger.call("/room", "join", {"name": "Stranger"})
            assert refused["error"]["code"] == "meeting-closed", refused
        except socketio.exceptions.ConnectionError:
            assert any("locked" in str(r.get("message")) for r in refusals
                       if isinstance(r, dict)), refusals
        finally:
            await stranger.close()
        # the media plane: Ana (the floor) is forwarded, the muted secretariat is not
        assert (await ana.publish(audio=ToneTrack(440)))["ok"]
        assert (await sec.publish(audio=ToneTrack(500)))["ok"]
        assert (await listener.subscribe())["ok"]
        await listener.wait_for(lambda: heard(listener, ana) > 20, what="Ana with the floor")
        assert await packets_in(listener, sec, 1.5) == 0
        assert (await chair.floor("mute", {"participantId": sec.participant_id,
                                           "muted": False}))["ok"]
        await listener.wait_for(lambda: heard(listener, sec) > 10, timeout=10,
                                what="the secretariat, unmuted")
        # extended, then revoked: one intervention still, its end under its own grant id
        assert (await chair.floor("extend", {"seconds": 30}))["ok"]
        assert (await chair.floor("revoke"))["ok"]
    finally:
        for peer in again:
            await peer.close()
    # the floor log: Ana's intervention was ended by the crash and resumed as a new one;
    # every start has its one end, in order; Ben's request is there once
    db = sqlite3.connect(database)
    try:
        rows = db.execute("SELECT event, participant_id, grant_id, reason, note, at FROM"
                          " floor_log WHERE meeting_id = 'demo' ORDER BY id").fetchall()
    finally:
        db.close()
    ana_id = before.ana.participant_id
    interventions = [r for r in rows if r[0].startswith("intervention") and r[1] == ana_id]
    assert [(r[0], r[3]) for r in interventions] == [
        ("intervention-start", ""), ("intervention-end", reason),
        ("intervention-start", ""), ("intervention-end", "revoked")], rows
    first, cut, resumed, end = interventions
    assert first[2] == cut[2] and resumed[2] == end[2] and first[2] != resumed[2], rows
    assert resumed[4] == f"resumed after {reason}" and cut[5] <= resumed[5], rows
    assert len([r for r in rows if r[0] == "request" and r[1] == before.ben.participant_id]) \
        == 1, rows


def has_table(database: Path, name: str) -> bool:
    if not database.exists():
        return False
    db = sqlite3.connect(database, timeout=0.1)
    try:
        return db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)).fetchone() \
            is not None
    except sqlite3.OperationalError:
        return False
    finally:
        db.close()


def stop(proc: Any) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def test_a_restart_puts_the_whole_live_state_back(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc, tokens = start(tmp_path, port, **GRACE)
    try:
        async def before() -> Meeting:
            meeting = await hold_meeting(base, tokens)
            kill(proc)
            await closed(*meeting.everyone())
            return meeting

        meeting = asyncio.run(before())
    finally:
        if proc.poll() is None:
            proc.kill()
    proc2, _ = start(tmp_path, port, **GRACE)
    try:
        asyncio.run(check_everything_back([base], meeting, "server-restart",
                                          tmp_path / "rostrum.sqlite3"))
    finally:
        stop(proc2)


def test_a_takeover_puts_the_whole_live_state_back_on_the_next_node(tmp_path: Path) -> None:
    """Two control-plane nodes on loopback, one Redis, one SQLite file (as test_ownership
    and test_cluster_netns): node A owns the meeting and is killed; node B takes it over."""
    url = redis_url()
    ports = [free_port(), free_port()]
    urls = [f"http://127.0.0.1:{p}" for p in ports]

    cluster = {**GRACE, "REDIS_URL": url, "ROSTRUM_OWNERSHIP": "1",
               "ROSTRUM_SECRET": secrets.token_urlsafe(24)}

    def env(i: int) -> dict[str, str]:
        return {**cluster, "ROSTRUM_NODE_ID": f"node-{'ab'[i]}", "ROSTRUM_PUBLIC_URL": urls[i]}

    async def no_owner() -> None:  # an owner left by an earlier run in this Redis db
        client = aioredis.Redis.from_url(url)
        try:
            await client.delete("rostrum:meeting:demo:owner")
        finally:
            await client.aclose()

    asyncio.run(no_owner())
    node_a = spawn(tmp_path, ports[0], **env(0))  # makes the demo meeting
    node_b = None
    try:
        # node B starts once node A made the file (two first opens of one new SQLite file
        # at once may find it locked), and then beside node A's slower rest of start-up
        database = tmp_path / "rostrum.sqlite3"
        deadline = time.monotonic() + 45
        while not has_table(database, "live_state"):
            assert time.monotonic() < deadline and node_a.poll() is None, "node A's store"
            time.sleep(0.1)
        node_b = spawn(tmp_path, ports[1], demo=False, **env(1))
        tokens = links(node_a, ports[0])
        wait_up(node_b, ports[1])

        async def before() -> Meeting:
            meeting = await hold_meeting(urls[0], tokens)
            kill(node_a)
            await closed(*meeting.everyone())
            return meeting

        meeting = asyncio.run(before())
        asyncio.run(check_everything_back([urls[1]], meeting, "owner-lost",
                                          tmp_path / "rostrum.sqlite3"))
    finally:
        for proc in (node_a, node_b):
            stop(proc)


async def test_a_takeover_without_resume_gives_a_request_back_to_its_person() -> None:
    """No resume grace (nobody may resume): the dead owner's record still gives the meeting
    its speakers' list settings, and a delegate who joins afresh gets their queued request
    back in its place, found by person; one node, in process, as test_ownership's takeover."""
    url = redis_url()
    cluster, _ = new_cluster()
    async with running_server(node_id="node-b", redis_url=url, redis_channel=cluster,
                              meeting_ownership=True, floor_mode="chaired") as node_b:
        meeting = node_b.meeting_id
        store = node_b.app[MEETINGS].store
        speakers = SpeakersList(default_limit_s=90.0)
        speakers.request("p-ben", "intervention", "on the draft", "fr", 10.0)
        speakers.request("p-gone", "intervention", "", "en", 11.0)
        dead = LiveStateRecord(
            {"speakers": speakers.snapshot(), "muted": ["p-ben"], "managers": [],
             "locked": False},
            {}, {"p-ben": "person|delegate|Ben||Peru", "p-gone": "person|delegate|Gone||"})
        await store.save_live_state(meeting, dead.to_json())  # as the dead node wrote it
        client = aioredis.Redis.from_url(url)
        try:
            await client.set(owner_key(cluster, meeting),
                             Owner("node-dead", "http://127.0.0.1:9").to_json(), px=1000)
        finally:
            await client.aclose()
        chair = await join_following([node_b.base_url], node_b.token("chair"), "Chair",
                                     timeout=15)
        ben = await join_following([node_b.base_url], node_b.token("delegate"), "Ben",
                                   memberState="Peru")
        try:
            def state() -> dict[str, Any]:
                floors = [e[2] for e in chair.events if e[:2] == ("/floor", "floor")]
                return floors[-1] if floors else {}
            await chair.wait_for(lambda: [q["participantId"] for q in state().get("queue", [])]
                                 == [ben.participant_id], timeout=5, what="Ben's request")
            floor = state()
            assert floor["queue"][0]["note"] == "on the draft" and floor["defaultLimitS"] == 90
            assert floor["muted"] == []  # a mute was the old participant's, not the person's
            log = await store.floor_log(meeting)
            assert [r for r in log if r["event"] == "request"] == []  # not logged again
        finally:
            await closed(chair, ben)
