"""Screen sharing with real aiortc peers (meeting_server/screenshare.py, docs/protocol.md
`/media` `screen-share`): a delegate without the presenter right is refused, and the SFU
forwards nothing of the screen m-line their client sends anyway; the chair makes them
presenter while they hold the floor, and their screen reaches a listener's screen slot; the
floor passing on withdraws the right, which ends the share for everyone; a second presenter's
share replaces the first (one screen at a time); a sharer who leaves ends theirs."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from meeting_server.app import MEETINGS
from tests.harness import running_server
from tests.peers import PatternTrack, TestPeer, ToneTrack


class DocumentsPeer(TestPeer):
    """A peer also connected to `/documents` (the presenter right is given there)."""

    async def connect(self) -> None:
        await self.sio.connect(self.base_url, namespaces=["/room", "/media", "/floor",
                                                               "/interpretation", "/documents"],
                               auth={"token": self.token}, transports=["websocket"],
                               wait_timeout=10)


def screen_slot(peer: TestPeer) -> dict[str, Any]:
    return next(s for s in peer.slots if s["purpose"] == "screen")


def screen_packets(peer: TestPeer) -> int:
    return peer.taps[str(screen_slot(peer)["mid"])].packets


@pytest.mark.in_process
async def test_only_the_presenter_s_screen_is_forwarded() -> None:
    async with running_server(floor_mode="chaired") as srv:
        chair = DocumentsPeer(srv.base_url, srv.token("chair"), "Chair")
        ana = DocumentsPeer(srv.base_url, srv.token("delegate"), "Ana")
        sec = TestPeer(srv.base_url, srv.token("secretariat"), "Sec")
        listener = TestPeer(srv.base_url, srv.token("observer"), "Listener")
        peers = [chair, ana, sec, listener]
        try:
            for peer in peers:
                await peer.join()
            # Ana's client sends a screen picture on her screen m-line without the right
            assert (await ana.publish(audio=ToneTrack(500),
                                      screen=PatternTrack(640, 360)))["ok"]
            assert (await listener.subscribe())["ok"]
            reply = await ana.call("/media", "screen-share", {"sharing": True})
            assert reply["ok"] is False and reply["error"]["code"] == "forbidden", reply
            bad = await ana.call("/media", "screen-share", {"sharing": "yes"})
            assert bad["error"]["code"] == "bad-request", bad
            router = srv.app[MEETINGS].live[srv.meeting_id].router.router  # in-process
            assert router.plan.presenters == frozenset()
            await listener.wait_for(lambda: any(s["purpose"] == "screen" for s in listener.slots))
            await asyncio.sleep(1.5)
            assert screen_slot(listener)["participantId"] is None
            assert screen_packets(listener) == 0  # the SFU forwards none of it

            # the chair gives Ana the floor and the presenter right: her share is accepted
            assert (await chair.floor("grant", {"participantId": ana.participant_id}))["ok"]
            assert (await chair.call("/documents", "give",
                                     {"participantId": ana.participant_id}))["ok"]
            reply = await ana.call("/media", "screen-share", {"sharing": True})
            assert reply["ok"] and reply["participantId"] == ana.participant_id, reply
            assert reply["name"] == "Ana"
            assert router.plan.presenters == {ana.participant_id}
            await listener.wait_for(
                lambda: screen_slot(listener)["participantId"] == ana.participant_id
                and screen_packets(listener) > 10, timeout=15, what="Ana's screen")
            shared = ana.last("screen-share", "/media")
            assert shared is not None and shared["participantId"] == ana.participant_id

            # the floor passes on: the right ends, and with it the share
            assert (await chair.floor("revoke"))["ok"]
            await ana.wait_for(lambda: (ana.last("screen-share", "/media") or {}).get("reason")
                               == "right-withdrawn", timeout=5, what="the share ended")
            assert ana.last("screen-share", "/media")["participantId"] is None
            await listener.wait_for(lambda: screen_slot(listener)["participantId"] is None,
                                    timeout=5, what="the screen slot emptied")
            assert router.plan.presenters == frozenset()
            again = await ana.call("/media", "screen-share", {"sharing": True})
            assert again["error"]["code"] == "forbidden", again

            # the chair may always share; stopping empties the slot again
            assert (await chair.publish(audio=ToneTrack(300),
                                        screen=PatternTrack(640, 360)))["ok"]
            reply = await chair.call("/media", "screen-share", {"sharing": True})
            assert reply["ok"] and reply["participantId"] == chair.participant_id, reply
            await listener.wait_for(
                lambda: screen_slot(listener)["participantId"] == chair.participant_id,
                timeout=10, what="the chair's screen")
            # a second presenter's share replaces the first: one screen at a time
            assert (await sec.publish(audio=ToneTrack(400),
                                      screen=PatternTrack(640, 360)))["ok"]
            reply = await sec.call("/media", "screen-share", {"sharing": True})
            assert reply["ok"] and reply["participantId"] == sec.participant_id, reply
            await chair.wait_for(lambda: (chair.last("screen-share", "/media") or {}).get(
                "reason") == "replaced", timeout=5, what="the chair's share replaced")
            assert router.plan.presenters == {sec.participant_id}
            await listener.wait_for(
                lambda: screen_slot(listener)["participantId"] == sec.participant_id,
                timeout=10, what="the secretariat's screen")
            # the chair's stop no longer touches the secretariat's share; theirs does
            assert (await chair.call("/media", "screen-share", {"sharing": False}))["ok"]
            assert router.plan.presenters == {sec.participant_id}
            # leaving ends it
            await sec.close()
            await listener.wait_for(lambda: screen_slot(listener)["participantId"] is None,
                                    timeout=5, what="the secretariat left")
            assert router.plan.presenters == frozenset()
        finally:
            for peer in peers:
                await peer.close()
