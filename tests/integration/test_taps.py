"""Plain RTP taps as commands on the control–media boundary (``OpenTap``, ``PinTap``,
``TapKeyframe``, ``CloseTap``), through the meeting's ``RouterHandle``: the same test with the
router in the server process and in a worker process (tests/conftest.py runs it with 0 and
2 workers). Real server, real aiortc publishers; the test reads the plain RTP on loopback
UDP sockets itself."""

from __future__ import annotations

import asyncio

import pytest

from meeting_server.app import MEETINGS
from sfu.commands import (
    CloseTap,
    CommandError,
    Done,
    GetSlots,
    OpenTap,
    PinTap,
    Slots,
    TapKeyframe,
    TapOpened,
)
from sfu.vp8 import is_vp8_keyframe
from sfu.worker_client import RouterHandle
from tests.harness import ServerHandle, running_server
from tests.integration.test_plain_transport import chair_and_delegate, continuous, reader
from tests.peers import PatternTrack, ToneTrack


def handle(srv: ServerHandle) -> RouterHandle:
    router: RouterHandle = srv.app[MEETINGS].live[srv.meeting_id].router
    return router


async def refused(router: RouterHandle, command: OpenTap | CloseTap | PinTap | TapKeyframe,
                  code: str) -> str:
    with pytest.raises(CommandError) as info:
        if isinstance(command, PinTap | TapKeyframe):
            await router.execute(command)
        else:
            await router.negotiate(command)
    assert info.value.code == code, info.value.message
    return info.value.message


async def seat_of(router: RouterHandle) -> str | None:
    """Whose camera the main tap's seat shows (GetSlots, like any subscriber's)."""
    slots = await router.execute(GetSlots("webcast"))
    assert isinstance(slots, Slots)
    return next(s.participant_id for s in slots.slots if s.kind == "video")


async def test_taps_as_commands(media_workers: int) -> None:
    async with running_server(floor_mode="open") as srv:
        chair, delegate = await chair_and_delegate(srv)
        video_sock, video, video_port = await reader()
        audio_sock, audio, audio_port = await reader()
        fr_sock, french, fr_port = await reader()
        try:
            assert (await chair.publish(audio=ToneTrack(440),
                                        video=PatternTrack(320, 180)))["ok"]
            assert (await delegate.publish(audio=ToneTrack(880),
                                           video=PatternTrack(320, 180)))["ok"]
            router = handle(srv)
            opened = await router.negotiate(OpenTap(
                "webcast", "floor", ("127.0.0.1", audio_port), ("127.0.0.1", video_port)))
            assert isinstance(opened, TapOpened) and opened.tap_id == "webcast"
            assert opened.host == "127.0.0.1" and opened.port > 0
            # a tap of a channel nobody interprets: the floor passes through
            assert isinstance(await router.negotiate(OpenTap(
                "webcast-fr", "fr", ("127.0.0.1", fr_port), None)), TapOpened)
            assert isinstance(await router.execute(
                PinTap("webcast", ("nobody", chair.participant_id))), Done)
            # the tone's packets, however loaded the machine (> 30 is 0.6 s of Opus)
            await chair.wait_for(lambda: len(audio.packets) > 30 and len(french.packets) > 30
                                 and bool(video.packets), timeout=15,
                                 what="the floor's voice and picture at the taps")
            stats = await srv.router_stats()
            taps = {s.participant_id: s for s in stats.subscribers
                    if s.participant_id.startswith("webcast")}
            assert set(taps) == {"webcast", "webcast-fr"}
            # the picture from a keyframe on, the chair's (pinned: the first candidate who
            # sends a camera); the floor's voice, continuous
            assert video.packets, "no video reached the tap's reader"
            assert is_vp8_keyframe(video.packets[0][1].payload)
            chair_ssrcs = {p.ssrc for _, p in video.packets}
            assert len(chair_ssrcs) == 1
            assert len(audio.packets) > 30 and continuous(audio.packets) == 1
            assert len(french.packets) > 30 and continuous(french.packets) == 1

            # a keyframe on request: the reader restarted
            before = len(video.packets)
            assert isinstance(await router.execute(TapKeyframe("webcast")), Done)
            await chair.wait_for(lambda: any(is_vp8_keyframe(p.payload)
                                             for _, p in video.packets[before:]),
                                 timeout=10, what="a keyframe on the tap")

            # the pin moves to the delegate: the seat's source changes, the stream goes on
            assert await seat_of(router) == chair.participant_id
            assert isinstance(await router.execute(
                PinTap("webcast", (delegate.participant_id, chair.participant_id))), Done)
            assert await seat_of(router) == delegate.participant_id
            await asyncio.sleep(1.5)
            assert continuous(video.packets) == 1
            assert {p.ssrc for _, p in video.packets} == chair_ssrcs  # the tap's own SSRC
            # nobody among the candidates sends a camera: the seat is not pinned (the most
            # recent voice)
            await router.execute(PinTap("webcast", ("nobody",)))
            assert await seat_of(router) in (chair.participant_id, delegate.participant_id)

            # bad input: a clear refusal, nothing changed
            await refused(router, OpenTap("webcast", "fr", ("127.0.0.1", 5000), None),
                          "conflict")
            await refused(router, OpenTap("", "fr", ("127.0.0.1", 5000), None),
                          "bad-request")
            await refused(router, OpenTap("t", None, None, None), "bad-request")
            await refused(router, OpenTap("t", "fr", None, ("127.0.0.1", 5000)),
                          "bad-request")
            await refused(router, OpenTap("t", None, ("127.0.0.1", 5000), None),
                          "bad-request")
            assert "IP address" in await refused(
                router, OpenTap("t", "fr", ("localhost", 5000), None), "bad-request")
            await refused(router, OpenTap("t", "fr", ("127.0.0.1", 70000), None),
                          "bad-request")
            await refused(router, PinTap("nope", ()), "not-found")
            await refused(router, TapKeyframe("nope"), "not-found")
            stats = await srv.router_stats()
            assert {s.participant_id for s in stats.subscribers
                    if s.participant_id.startswith(("webcast", "t"))} == \
                {"webcast", "webcast-fr"}

            # closing: the reader gets nothing more; closing again is no error
            assert isinstance(await router.negotiate(CloseTap("webcast-fr")), Done)
            assert isinstance(await router.negotiate(CloseTap("webcast-fr")), Done)
            await asyncio.sleep(0.3)
            count = len(french.packets)
            await asyncio.sleep(1.0)
            assert len(french.packets) == count
            stats = await srv.router_stats()
            assert "webcast-fr" not in {s.participant_id for s in stats.subscribers}
            # a closed tap's name is free again
            assert isinstance(await router.negotiate(OpenTap(
                "webcast-fr", "fr", ("127.0.0.1", fr_port), None)), TapOpened)
            await router.negotiate(CloseTap("webcast-fr"))
            await router.negotiate(CloseTap("webcast"))
            await refused(router, TapKeyframe("webcast"), "not-found")
        finally:
            for sock in (video_sock, audio_sock, fr_sock):
                sock.close()
            for peer in (chair, delegate):
                await peer.close()
