"""kill -9 the server during a meeting and start it again: within the grace, every page
resumes (docs/protocol.md `resume`) with its old token and resume key as the same
participant, with its place in the speakers' list and its booth; past the grace the keys are
purged, the resume is refused and the attendance closed. A real server process, killed."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

from tests.harness import free_port
from tests.integration.test_restart import start
from tests.peers import TestPeer, ToneTrack


async def reconnect(base: str, peer: TestPeer) -> TestPeer:
    """The page's new connection after the restart: its old token and its resume key."""
    back = TestPeer(base, peer.token, peer.name)
    await back.sio.connect(base, namespaces=["/room", "/media", "/floor", "/interpretation"],
                           auth={"token": peer.token, "resume": peer.joined["resume"]["key"]},
                           transports=["websocket"], wait_timeout=10)
    return back


def kill(proc: Any) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=5)


async def closed(*peers: TestPeer) -> None:
    for peer in peers:
        try:
            await peer.close()
        except Exception:
            pass


def test_pages_resume_after_kill_9_with_their_places_and_booth(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    grace = {"ROSTRUM_RESUME_GRACE_S": "60"}
    proc, tokens = start(tmp_path, port, **grace)
    before: dict[str, Any] = {}
    try:
        async def meeting() -> list[TestPeer]:
            chair = TestPeer(base, tokens["chair"], "Chair")
            secretariat = TestPeer(base, tokens["secretariat"], "Secretariat")
            ana = TestPeer(base, tokens["delegate"], "Ana")
            ben = TestPeer(base, tokens["delegate"], "Ben")
            fr = TestPeer(base, tokens["interpreter"], "FR interpreter")
            peers = [chair, secretariat, ana, ben, fr]
            await chair.join()
            await secretariat.join()
            await ana.join(memberState="Kenya")
            await ben.join(memberState="Peru")
            await fr.join()
            assert (await ana.floor("request", {"note": "on item 3"}))["request"]["position"] == 1
            assert (await ben.floor("request", {}))["request"]["position"] == 2
            assert (await secretariat.interp("assign", {
                "participantId": fr.participant_id, "language": "fr"}))["ok"]
            before["queue"] = [(q["participantId"], q["id"]) for q in
                               (await chair.floor("state"))["state"]["queue"]]
            await asyncio.sleep(0.5)  # the store's thread writes what the acks promised
            kill(proc)
            return peers

        peers = asyncio.run(meeting())
    finally:
        if proc.poll() is None:
            proc.kill()
    proc2, _tokens2 = start(tmp_path, port, **grace)
    try:
        async def after() -> None:
            chair, _secretariat, ana, _ben, fr = peers
            again: list[TestPeer] = []
            try:
                # a bad key still changes nothing after a restart
                chair2 = await reconnect(base, chair)
                again.append(chair2)
                bad = await chair2.call("/room", "resume", {"key": "x" * 32})
                assert bad["error"]["code"] == "not-found", bad
                reply = await chair2.call("/room", "resume", {"key": chair.joined["resume"]["key"]})
                assert reply["ok"], reply
                chair2.joined = reply
                assert reply["self"]["id"] == chair.participant_id
                # the participants' list: everyone, nobody twice (the others may resume)
                ids = [p["id"] for p in reply["participants"]]
                assert sorted(ids) == sorted(p.participant_id for p in peers), ids
                # Ana and Ben keep their places in the speakers' list
                state = (await chair2.floor("state"))["state"]
                assert [(q["participantId"], q["id"]) for q in state["queue"]] == \
                    before["queue"], state["queue"]
                ana2 = await reconnect(base, ana)
                again.append(ana2)
                reply = await ana2.call("/room", "resume", {"key": ana.joined["resume"]["key"]})
                assert reply["ok"] and reply["self"]["id"] == ana.participant_id, reply
                assert reply["self"]["memberState"] == "Kenya"
                ana2.joined = reply
                state = (await ana2.floor("state"))["state"]
                assert [q["name"] for q in state["queue"]] == ["Ana", "Ben"], state["queue"]
                # a new request gets an id of its own, not a restored one's
                chair_req = await chair2.floor("request", {"kind": "point-of-order"})
                assert chair_req["ok"], chair_req
                assert chair_req["request"]["id"] not in {i for _p, i in before["queue"]}
                # media works for the resumed participant
                assert (await ana2.publish(audio=ToneTrack(440)))["ok"]
                # the interpreter is in the French booth again
                fr2 = await reconnect(base, fr)
                again.append(fr2)
                reply = await fr2.call("/room", "resume", {"key": fr.joined["resume"]["key"]})
                assert reply["ok"] and reply["self"]["id"] == fr.participant_id, reply
                fr2.joined = reply
                istate = (await fr2.interp("state"))["state"]
                booth = next(b for b in istate["booths"] if b["language"] == "fr")
                assert booth["interpreters"] == [fr.participant_id], booth
                assert (await fr2.interp("live"))["ok"]
                # the chair's grant of a restored request works
                rid = next(i for p, i in before["queue"] if p == ana.participant_id)
                granted = await chair2.floor("grant", {"requestId": rid})
                assert granted["ok"], granted
            finally:
                await closed(*again)

        asyncio.run(after())
    finally:
        proc2.terminate()
        proc2.wait(timeout=10)
    # a clean stop ends everyone's presence: nothing is left to resume
    db = sqlite3.connect(tmp_path / "rostrum.sqlite3")
    try:
        assert db.execute("SELECT COUNT(*) FROM resume_keys").fetchone()[0] == 0
    finally:
        db.close()


def test_keys_expired_while_the_server_was_down_are_purged(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    grace = {"ROSTRUM_RESUME_GRACE_S": "2"}
    proc, tokens = start(tmp_path, port, **grace)
    try:
        async def meeting() -> TestPeer:
            ana = TestPeer(base, tokens["delegate"], "Ana")
            await ana.join()
            assert (await ana.floor("request", {}))["ok"]
            await asyncio.sleep(0.3)
            kill(proc)
            return ana

        ana = asyncio.run(meeting())
    finally:
        if proc.poll() is None:
            proc.kill()
    time.sleep(3.5)  # longer than the grace (2 s) and its refresh (1 s): the key expired
    proc2, _ = start(tmp_path, port, **grace)
    try:
        async def after() -> None:
            back = await reconnect(base, ana)
            try:
                reply = await back.call("/room", "resume", {"key": ana.joined["resume"]["key"]})
                assert reply["error"]["code"] == "not-found", reply
                joined = await back.call("/room", "join", {"name": "Ana"})
                assert joined["ok"] and joined["self"]["id"] != ana.participant_id
                assert [p["id"] for p in joined["participants"]] == [joined["self"]["id"]]
                state = (await back.floor("state"))["state"]
                assert state["queue"] == [], state
            finally:
                await closed(back)

        asyncio.run(after())
        db = sqlite3.connect(tmp_path / "rostrum.sqlite3")
        try:
            keys = db.execute("SELECT participant_id FROM resume_keys").fetchall()
            assert ana.participant_id not in {k[0] for k in keys}, keys
            left = db.execute("SELECT left_reason FROM attendance WHERE participant_id = ?",
                              (ana.participant_id,)).fetchone()
            assert left == ("server-restart",), left
        finally:
            db.close()
    finally:
        proc2.terminate()
        proc2.wait(timeout=10)
