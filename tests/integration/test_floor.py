"""The floor over Socket.IO with real peers: ordering, races, enforcement on the media plane."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from meeting_server.app import STORE
from tests.harness import running_server
from tests.integration.test_bad_input import refused
from tests.peers import TestPeer, ToneTrack, seq_span


async def peers(srv: Any, *roles_names: tuple[str, str], **profile: Any) -> list[TestPeer]:
    out = []
    for role, name in roles_names:
        peer = TestPeer(srv.base_url, srv.token(role), name)
        await peer.join(**profile)
        out.append(peer)
    return out


async def close_all(items: list[TestPeer]) -> None:
    for peer in items:
        await peer.close()


async def test_speakers_list_order_and_chair_actions_reach_everyone() -> None:
    async with running_server(floor_mode="chaired") as srv:
        chair, ana, ben, caro = await peers(srv, ("chair", "Chair"), ("delegate", "Ana"),
                                            ("delegate", "Ben"), ("delegate", "Caro"))
        try:
            r_ana = (await ana.floor("request", {"note": "on item 3"}))["request"]
            r_ben = (await ben.floor("request", {}))["request"]
            assert (r_ana["position"], r_ben["position"]) == (1, 2)
            r_caro = await caro.floor("request", {"kind": "point-of-order"})
            assert r_caro["request"]["position"] == 1
            state = (await chair.floor("state"))["state"]
            assert [q["name"] for q in state["queue"]] == ["Caro", "Ana", "Ben"]
            # the chair reorders, then grants Ben
            order = [q["id"] for q in state["queue"]]
            assert (await chair.floor("reorder", {"order": [order[2], order[0], order[1]]}))["ok"]
            stale = await chair.floor("reorder", {"order": order[:2]})
            assert stale["error"]["code"] == "conflict"
            reply = await chair.floor("grant", {"requestId": r_ben["id"], "limitS": 120})
            assert reply["ok"] and reply["speaker"]["name"] == "Ben", reply
            await ana.wait_for(lambda: (ana.last("floor") or {}).get("speaker") is not None,
                               what="the floor state broadcast")
            assert ana.last("floor")["speaker"]["participantId"] == ben.participant_id
            assert [q["name"] for q in ana.last("floor")["queue"]] == ["Caro", "Ana"]
            # delegates may not run the floor
            for event, payload in [("grant", {"participantId": ana.participant_id}),
                                   ("revoke", {}), ("mute-all", {}), ("lock", {"locked": True}),
                                   ("end-meeting", {}), ("deny", {"requestId": r_ana["id"]})]:
                reply = await ana.floor(event, payload)
                assert reply["error"]["code"] == "forbidden", (event, reply)
            # Ben yields; the chair denies Caro; Ana withdraws
            assert (await ben.floor("release"))["ok"]
            assert (await ben.floor("release"))["error"]["code"] == "conflict"
            assert (await chair.floor("deny", {"requestId": r_caro["request"]["id"],
                                               "reason": "not a point of order"}))["ok"]
            assert (await ana.floor("withdraw", {"requestId": r_ana["id"]}))["ok"]
            state = (await chair.floor("state"))["state"]
            assert state["queue"] == [] and state["speaker"] is None
            log = await srv.app[STORE].floor_log(srv.meeting_id)
            events = [(r["event"], r["name"]) for r in log]
            assert ("intervention-start", "Ben") in events
            end = next(r for r in log if r["event"] == "intervention-end")
            assert end["reason"] == "released" and end["duration_s"] >= 0
            assert ("deny", "Caro") in events and ("withdraw", "Ana") in events
        finally:
            await close_all([chair, ana, ben, caro])


async def test_two_chairs_grant_at_once_and_races_with_leaving() -> None:
    async with running_server(floor_mode="chaired") as srv:
        c1, c2, ana, ben = await peers(srv, ("chair", "Chair"), ("chair", "Vice-chair"),
                                       ("delegate", "Ana"), ("delegate", "Ben"))
        try:
            rid = (await ana.floor("request"))["request"]["id"]
            replies = await asyncio.gather(c1.floor("grant", {"requestId": rid}),
                                           c2.floor("grant", {"requestId": rid}))
            assert sorted(r["ok"] for r in replies) == [False, True], replies
            loser = next(r for r in replies if not r["ok"])
            assert loser["error"]["code"] == "not-found"
            log = await srv.app[STORE].floor_log(srv.meeting_id)
            assert sum(r["event"] == "intervention-start" for r in log) == 1
            # a queued delegate disconnects: the request goes, and a grant to it fails cleanly
            rid_ben = (await ben.floor("request"))["request"]["id"]
            await ben.sio.eio.disconnect(abort=True)
            await c1.wait_for(lambda: not any(q["id"] == rid_ben for q in
                                              (c1.last("floor") or {"queue": []})["queue"]),
                              what="Ben's request withdrawn")
            reply = await c2.floor("grant", {"requestId": rid_ben})
            assert reply["error"]["code"] == "not-found"
            # the speaker leaves: the intervention ends with reason 'left'
            await ana.sio.disconnect()
            await c1.wait_for(lambda: (c1.last("floor") or {}).get("speaker") is None,
                              what="floor free after the speaker left")
            log = await srv.app[STORE].floor_log(srv.meeting_id)
            ends = [r for r in log if r["event"] == "intervention-end"]
            assert [r["reason"] for r in ends] == ["left"]
            reply = await c1.floor("grant", {"participantId": ana.participant_id})
            assert reply["error"]["code"] == "not-found"
        finally:
            await close_all([c1, c2, ana, ben])


def heard(listener: TestPeer, speaker: TestPeer) -> int:
    mid = listener.slot_of(speaker.participant_id, "audio")
    return listener.taps[mid].packets if mid else 0


async def packets_in(listener: TestPeer, speaker: TestPeer, seconds: float) -> int:
    before = heard(listener, speaker)
    await asyncio.sleep(seconds)
    return heard(listener, speaker) - before


async def test_media_plane_enforces_the_floor_against_a_rogue_client() -> None:
    """A delegate's client publishes its microphone all the time, whatever the rules. The
    listener hears it only while the chair gives it the floor; the chair is always heard."""
    async with running_server(floor_mode="chaired") as srv:
        chair, rogue, listener = await peers(srv, ("chair", "Chair"), ("delegate", "Rogue"),
                                             ("delegate", "Listener"))
        try:
            assert (await rogue.publish(audio=ToneTrack(700)))["ok"]
            assert (await chair.publish(audio=ToneTrack(300)))["ok"]
            assert (await listener.subscribe())["ok"]
            await listener.wait_for(lambda: listener.slot_of(rogue.participant_id, "audio")
                                    and listener.slot_of(chair.participant_id, "audio"),
                                    what="seats for both")
            await listener.wait_for(lambda: heard(listener, chair) > 20, what="the chair")
            assert await packets_in(listener, rogue, 1.5) == 0
            assert heard(listener, rogue) == 0
            assert (await chair.floor("grant", {"participantId": rogue.participant_id}))["ok"]
            await listener.wait_for(lambda: heard(listener, rogue) > 25, timeout=5,
                                    what="the rogue heard with the floor")
            assert (await chair.floor("revoke"))["ok"]
            await asyncio.sleep(0.3)
            assert await packets_in(listener, rogue, 1.5) == 0
            assert await packets_in(listener, chair, 1.0) > 20
            # muting the secretariat works the same way
            sec = TestPeer(srv.base_url, srv.token("secretariat"), "Secretariat")
            await sec.join()
            assert (await sec.publish(audio=ToneTrack(500)))["ok"]
            await listener.wait_for(lambda: heard(listener, sec) > 20, what="the secretariat")
            assert (await chair.floor("mute", {"participantId": sec.participant_id}))["ok"]
            await asyncio.sleep(0.3)
            assert await packets_in(listener, sec, 1.0) == 0
            await sec.close()
            # the sequence the listener saw for the rogue has no gap a browser reads as loss
            tap = listener.taps[listener.slot_of(rogue.participant_id, "audio")]
            span = seq_span(tap.received)
            assert len(tap.received) >= span - 2, (len(tap.received), span)
        finally:
            await close_all([chair, rogue, listener])


async def test_speaking_time_expires_warns_the_chair_and_closes_the_floor() -> None:
    async with running_server(floor_mode="chaired") as srv:
        chair, ana = await peers(srv, ("chair", "Chair"), ("delegate", "Ana"))
        try:
            assert (await chair.floor("settings", {"closeOnExpiry": True}))["ok"]
            assert (await chair.floor("grant", {"participantId": ana.participant_id,
                                                "limitS": 5}))["ok"]
            state = (await ana.floor("state"))["state"]
            assert 4 < state["speaker"]["remainingS"] <= 5
            await chair.wait_for(lambda: chair.last("floor-expired") is not None, timeout=9,
                                 what="the expiry warning")
            assert chair.last("floor-expired")["participantId"] == ana.participant_id
            assert ana.last("floor-expired") is None  # only the chair is warned
            await ana.wait_for(lambda: (ana.last("floor") or {}).get("speaker") is None)
            log = await srv.app[STORE].floor_log(srv.meeting_id)
            end = next(r for r in log if r["event"] == "intervention-end")
            assert end["reason"] == "expired" and 4.5 < end["duration_s"] < 7
        finally:
            await close_all([chair, ana])


async def test_lock_remove_show_of_hands_and_exports() -> None:
    async with running_server(floor_mode="chaired") as srv:
        chair, gh, fr, fr2 = await peers(srv, ("chair", "Chair"), ("delegate", "Kofi"),
                                         ("delegate", "Marie"), ("delegate", "Luc"))
        try:
            # show of hands per member state
            await gh.call("/room", "leave")
            await gh.close()
            gh = TestPeer(srv.base_url, srv.token("delegate"), "Kofi")
            await gh.join(memberState="Ghana")
            q = (await chair.floor("hands-open", {"text": "Adopt the draft?",
                                                  "mode": "member-state"}))["question"]
            no_state = await fr.floor("hands-answer", {"questionId": q["id"], "answer": "no"})
            assert no_state["error"]["code"] == "forbidden"
            assert (await gh.floor("hands-answer", {"questionId": q["id"],
                                                    "answer": "yes"}))["ok"]
            assert (await chair.floor("hands-answer", {"questionId": q["id"], "answer": "no"})
                    )["error"]["code"] == "forbidden"
            await chair.wait_for(lambda: chair.last("hands-results") is not None)
            assert chair.last("hands-results")["answers"][0]["answer"] == "yes"
            closed = (await chair.floor("hands-close", {"questionId": q["id"]}))["question"]
            assert closed["totals"] == {"yes": 1, "no": 0, "abstain": 0}
            # lock: a new delegate cannot join, the chair still can
            assert (await chair.floor("lock", {"locked": True}))["ok"]
            # (refused at connect, as documented: tests/integration/test_strict_inputs.py)
            late = await refused(srv.base_url, {"token": srv.token("delegate")})
            assert late["data"]["code"] == "meeting-closed"
            vice = TestPeer(srv.base_url, srv.token("chair"), "Vice")
            await vice.join()
            await vice.close()
            # remove
            assert (await chair.floor("remove", {"participantId": fr2.participant_id}))["ok"]
            await fr2.wait_for(lambda: fr2.last("removed") is not None)
            await fr2.wait_for(lambda: not fr2.sio.connected, what="removed and disconnected")
            await chair.wait_for(lambda: any(
                e[1] == "presence" and e[2]["event"] == "left"
                and e[2]["participant"]["id"] == fr2.participant_id
                and e[2]["participant"]["reason"] == "removed" for e in chair.events),
                what="everyone told of the removal")
            # exports: chair token only
            async with aiohttp.ClientSession() as http:
                base = f"{srv.base_url}/api/meetings/{srv.meeting_id}"
                r = await http.get(f"{base}/attendance.csv", params={"t": srv.token("delegate")})
                assert r.status == 403
                r = await http.get(f"{base}/attendance.csv", params={"t": "forged.token"})
                assert r.status == 401
                r = await http.get(f"{base}/attendance.csv", params={"t": srv.token("chair")})
                assert r.status == 200
                text = await r.text()
                assert text.splitlines()[0].startswith("participant_id,name,organization")
                assert "Luc" in text and "removed" in text
                r = await http.get(f"{base}/floor-log.json",
                                   headers={"Authorization": "Bearer " + srv.token("chair")})
                log = await r.json()
                assert {"lock", "remove"} <= {row["event"] for row in log}
        finally:
            await close_all([chair, gh, fr, fr2])
