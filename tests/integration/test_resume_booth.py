"""An interpreter live in a booth whose connection drops and resumes (docs/protocol.md
`resume`) gets the booth's channel back: the listeners of that channel hear the interpreter's
tone again, with nothing asked of the booth (no second `live`). Real server, aiortc peers,
packets counted."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.harness import running_server
from tests.integration.test_resume import again, drop
from tests.peers import TestPeer, ToneTrack


async def joined(srv: Any, role: str, name: str) -> TestPeer:
    peer = TestPeer(srv.base_url, srv.token(role), name)
    await peer.join()
    return peer


def channel_packets(peer: TestPeer, interpreter_id: str) -> int:
    """Packets received on the listener's channel slot while it carries the interpreter."""
    slot = next((s for s in peer.slots if s["purpose"] == "channel"), None)
    if slot is None or slot["participantId"] != interpreter_id:
        return 0
    return peer.taps[str(slot["mid"])].packets


async def test_a_live_interpreter_who_resumes_is_heard_again_on_the_booth_channel() -> None:
    async with running_server(floor_mode="chaired", resume_grace_s=30.0) as srv:
        chair = await joined(srv, "chair", "Chair")
        secretariat = await joined(srv, "secretariat", "Secretariat")
        fr = await joined(srv, "interpreter", "FR interpreter")
        listener = await joined(srv, "delegate", "Listener FR")
        peers = [chair, secretariat, fr, listener]
        try:
            assert (await chair.publish(audio=ToneTrack(440)))["ok"]
            assert (await fr.publish(audio=ToneTrack(880)))["ok"]
            assert (await listener.subscribe())["ok"]
            assert (await secretariat.interp("assign", {
                "participantId": fr.participant_id, "language": "fr"}))["ok"]
            assert (await listener.interp("listen", {"channel": "fr"}))["ok"]
            assert (await fr.interp("live"))["ok"]
            await listener.wait_for(lambda: channel_packets(listener, fr.participant_id) > 20,
                                    what="the interpreter heard on the French channel")
            # the interpreter's network drops; a new connection resumes and publishes again
            key = fr.joined["resume"]["key"]
            await drop(fr)
            await asyncio.sleep(1.0)
            back = await again(srv, fr, {"resume": key})
            peers.append(back)
            reply = await back.call("/room", "resume", {"key": key})
            assert reply["ok"] and reply["self"]["id"] == fr.participant_id, reply
            back.joined = reply
            state = (await back.interp("state"))["state"]
            booth = next(b for b in state["booths"] if b["language"] == "fr")
            assert fr.participant_id in booth["interpreters"], booth
            assert booth["live"] == fr.participant_id, booth
            assert (await back.publish(audio=ToneTrack(880)))["ok"]
            heard = channel_packets(listener, fr.participant_id)
            await listener.wait_for(
                lambda: channel_packets(listener, fr.participant_id) > heard + 20,
                timeout=10, what="the resumed interpreter heard again on the French channel")
            state = (await listener.interp("state"))["state"]
            assert state["feeds"]["fr"]["kind"] == "interpretation", state["feeds"]["fr"]
        finally:
            for peer in peers:
                await peer.close()
