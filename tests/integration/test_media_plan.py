"""The media plan with real peers: `slots` says who is audible (issue #16: a delegate's
microphone used to be shown as a seat's source while nothing was forwarded), the plan the
router holds is the one the rules give, and an interpreter's channel follows the plan."""

from __future__ import annotations

from typing import Any

import pytest

from meeting_server.app import MEETINGS
from tests.harness import running_server
from tests.peers import TestPeer, ToneTrack


def seat_audio(listener: TestPeer, speaker: TestPeer) -> dict[str, Any] | None:
    return next((s for s in listener.slots if s["participantId"] == speaker.participant_id
                 and s["kind"] == "audio" and s["purpose"] == "seat"), None)


def forwarded(listener: TestPeer, speaker: TestPeer) -> bool | None:
    slot = seat_audio(listener, speaker)
    return None if slot is None else slot["forwarded"]


@pytest.mark.in_process
async def test_slots_say_whether_a_seated_microphone_is_forwarded() -> None:
    async with running_server(floor_mode="chaired") as srv:
        chair = TestPeer(srv.base_url, srv.token("chair"), "Chair")
        ana = TestPeer(srv.base_url, srv.token("delegate"), "Ana")
        listener = TestPeer(srv.base_url, srv.token("delegate"), "Listener")
        peers = [chair, ana, listener]
        try:
            for peer in peers:
                await peer.join()
            assert (await ana.publish(audio=ToneTrack(700)))["ok"]
            assert (await chair.publish(audio=ToneTrack(300)))["ok"]
            assert (await listener.subscribe())["ok"]
            await listener.wait_for(lambda: seat_audio(listener, ana) is not None
                                    and seat_audio(listener, chair) is not None,
                                    what="seats for Ana and the chair")
            # seated, but without the floor: not forwarded, and the slot says so
            assert forwarded(listener, ana) is False, listener.slots
            assert forwarded(listener, chair) is True, listener.slots
            assert all(s["forwarded"] is False for s in listener.slots
                       if s["participantId"] is None)
            events_before = sum(e[1] == "slots" for e in listener.events)
            assert (await chair.floor("grant", {"participantId": ana.participant_id}))["ok"]
            await listener.wait_for(lambda: forwarded(listener, ana) is True, timeout=5,
                                    what="a slots event: Ana forwarded with the floor")
            assert sum(e[1] == "slots" for e in listener.events) > events_before
            router = srv.router()
            assert router.plan.floor_holder == ana.participant_id
            assert ana.participant_id in router.plan.forwarded
            assert (await chair.floor("revoke"))["ok"]
            await listener.wait_for(lambda: forwarded(listener, ana) is False, timeout=5,
                                    what="Ana no longer forwarded")
            assert router.plan.floor_holder is None
            # muting the chair is refused and changes nothing in the plan
            version = router.plan.version
            reply = await chair.floor("mute", {"participantId": chair.participant_id,
                                               "muted": True})
            assert reply["error"]["code"] == "forbidden"
            assert router.plan.version == version
            assert forwarded(listener, chair) is True
        finally:
            for peer in peers:
                await peer.close()


@pytest.mark.in_process
async def test_an_interpreter_in_a_booth_is_never_seated_and_hears_the_plan_s_channel() -> None:
    async with running_server(floor_mode="chaired") as srv:
        chair = TestPeer(srv.base_url, srv.token("chair"), "Chair")
        ivo = TestPeer(srv.base_url, srv.token("interpreter"), "Ivo")
        ines = TestPeer(srv.base_url, srv.token("interpreter"), "Ines")
        peers = [chair, ivo, ines]
        try:
            for peer in peers:
                await peer.join()
            for who, lang in ((ivo, "fr"), (ines, "en")):
                assert (await chair.interp("assign", {"participantId": who.participant_id,
                                                      "language": lang}))["ok"]
            assert (await ivo.publish(audio=ToneTrack(500)))["ok"]
            assert (await chair.publish(audio=ToneTrack(300)))["ok"]
            assert (await ines.subscribe())["ok"]
            await ines.wait_for(lambda: seat_audio(ines, chair) is not None, what="chair")
            assert seat_audio(ines, ivo) is None  # an interpreter takes no seat
            assert (await ines.interp("incoming", {"source": "fr"}))["ok"]
            assert (await ivo.interp("live"))["ok"]
            channel = lambda: next(s for s in ines.slots if s["purpose"] == "channel")  # noqa: E731
            await ines.wait_for(lambda: channel()["participantId"] == ivo.participant_id,
                                timeout=5, what="Ines relays Ivo's booth")
            assert channel()["channel"] == "fr" and channel()["forwarded"] is True
            assert channel()["original"] is False
            router = srv.router()
            assert router.plan.incoming_of(ines.participant_id) == "fr"
            assert ivo.participant_id not in router.plan.forwarded | router.plan.seated
        finally:
            for peer in peers:
                await peer.close()


@pytest.mark.in_process
async def test_a_meeting_that_empties_and_fills_again_gets_a_fresh_router_and_plan() -> None:
    async with running_server(floor_mode="chaired") as srv:
        first = TestPeer(srv.base_url, srv.token("chair"), "Chair")
        await first.join()
        old_router = srv.router()
        await first.call("/room", "leave")
        await first.close()
        assert srv.meeting_id not in srv.app[MEETINGS].live and old_router.closed
        chair = TestPeer(srv.base_url, srv.token("chair"), "Chair")
        listener = TestPeer(srv.base_url, srv.token("delegate"), "Listener")
        try:
            await chair.join()
            await listener.join()
            router = srv.router()
            assert router is not old_router
            assert router.plan.forwarded == {chair.participant_id}
            assert (await listener.subscribe())["ok"]
            assert (await chair.publish(audio=ToneTrack(300)))["ok"]
            # the new router's events reach the listener: a slots event seats the chair
            await listener.wait_for(lambda: any(
                e[1] == "slots" and any(s["participantId"] == chair.participant_id
                                        and s["forwarded"] for s in e[2]["slots"])
                for e in listener.events), timeout=5, what="a slots event from the new router")
        finally:
            await chair.close()
            await listener.close()
