"""A listener's join changes nothing for the listeners already receiving (issue 14: joins never
stall forwarding), and the router's one sender-report timer reaches every subscriber."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

from tests.harness import running_server
from tests.peers import PatternTrack, SlotTap, TestPeer, ToneTrack, seq_span

OPUS_FRAME = 960  # 20 ms at 48 kHz: aiortc's Opus encoder


def _after(tap: SlotTap, start: int) -> list[tuple[int, int]]:
    """The (sequence number, timestamp) pairs received after the first ``start``, in
    sequence order (unwrapped)."""
    pairs = tap.timestamps[start:]
    base = pairs[0][0]
    return sorted(((seq - base) & 0xFFFF, ts) for seq, ts in pairs)


async def test_a_second_listeners_join_does_not_change_what_the_first_receives() -> None:
    async with running_server() as srv:
        speaker = TestPeer(srv.base_url, srv.token("delegate"), "Speaker")
        first = TestPeer(srv.base_url, srv.token("delegate"), "First")
        second = TestPeer(srv.base_url, srv.token("delegate"), "Second")
        try:
            await speaker.join()
            await first.join()
            assert (await speaker.publish(audio=ToneTrack(440), video=PatternTrack()))["ok"]
            assert (await first.subscribe())["ok"]
            await first.wait_for(lambda: first.slot_of(speaker.participant_id, "video")
                                 is not None, what="a seat for the speaker")
            audio = first.taps[first.slot_of(speaker.participant_id, "audio") or ""]
            video = first.taps[first.slot_of(speaker.participant_id, "video") or ""]
            await first.wait_for(lambda: video.packets > 30, what="video packets")
            slots_before = [(s["mid"], s["participantId"], s["source"]) for s in first.slots]
            # the router's one report timer reaches each fed slot, about once a second, on
            # the slot's own SSRC, with its timestamps in the slot's own timestamp space
            await first.wait_for(lambda: min(len(audio.sender_reports),
                                             len(video.sender_reports)) >= 3,
                                 what="sender reports on both slots", timeout=10)
            for tap in (audio, video):
                (ssrc,) = tap.ssrcs
                assert {r[0] for r in tap.sender_reports} == {ssrc}
                _, rtp_ts, _ = tap.sender_reports[-1]
                latest = tap.timestamps[-1][1]
                clock = 48000 if tap.kind == "audio" else 90000
                assert abs(((rtp_ts - latest + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)) < clock
                gaps = [b[2] - a[2] for a, b in itertools.pairwise(tap.sender_reports)]
                assert all(0.3 < g < 3.0 for g in gaps), gaps
            # the empty seats of the same connection send no report
            assert all(not t.sender_reports for t in first.taps.values()
                       if t is not audio and t is not video)
            marks = {tap.mid: len(tap.timestamps) for tap in (audio, video)}
            ssrcs = {tap.mid: set(tap.ssrcs) for tap in (audio, video)}

            await second.join()
            assert (await second.subscribe())["ok"]
            await second.wait_for(lambda: second.slot_of(speaker.participant_id, "video")
                                  is not None, what="the second listener's seat")
            second_video = second.taps[second.slot_of(speaker.participant_id, "video") or ""]
            await second.wait_for(lambda: second_video.packets > 30,
                                  what="video for the second listener")
            await asyncio.sleep(1.0)

            for tap in (audio, video):
                assert tap.ssrcs == ssrcs[tap.mid], tap.kind  # the same stream, no new SSRC
                pairs = _after(tap, marks[tap.mid])
                seqs = {seq for seq, _ in pairs}
                # nothing lost while the second listener joined (loopback; a loaded machine
                # may drop a packet or two)
                assert len(seqs) >= 0.95 * seq_span(seqs), (tap.kind, len(seqs),
                                                             seq_span(seqs))
                steps = [((b_ts - a_ts) & 0xFFFFFFFF, b_seq - a_seq)
                         for (a_seq, a_ts), (b_seq, b_ts) in itertools.pairwise(pairs)]
                if tap.kind == "audio":
                    # no source switch, no jump: one Opus frame per sequence number
                    assert all(dts == OPUS_FRAME * dseq for dts, dseq in steps), steps
                else:
                    assert all(dts < 90000 for dts, _ in steps), steps  # no jump ahead
            assert [(s["mid"], s["participantId"], s["source"]) for s in first.slots] == \
                slots_before
        finally:
            for peer in (speaker, first, second):
                await peer.close()


async def test_a_subscribe_offer_yields_to_the_loop_and_a_second_answer_is_refused() -> None:
    """``offer_subscribe`` and ``accept_answer`` give the event loop turns while they work (a
    ticker task runs in between), and an answer given while the first is being applied is
    refused, not applied twice."""
    from aiortc import RTCSessionDescription

    from sfu import aiortc_glue
    from sfu.router import Router
    from sfu.sdp import SdpError
    from sfu.udp_mux import UdpMux

    aiortc_glue.restrict_host_addresses(["127.0.0.1"])
    mux = UdpMux(["127.0.0.1"], 0)
    await mux.start()
    router = Router("m1", udp_mux=mux)
    client = aiortc_glue.create_peer_connection(())
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.ensure_future(ticker())
    try:
        transport = router.create_transport("ben", "subscribe")
        await asyncio.sleep(0)
        before = ticks
        sdp = await transport.offer_subscribe(4)
        assert ticks - before >= 4  # turns between the seats and around the offer
        await client.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        await client.setLocalDescription(await client.createAnswer())
        answer = client.localDescription.sdp
        results = await asyncio.gather(transport.accept_answer(answer),
                                       transport.accept_answer(answer),
                                       return_exceptions=True)
        assert results[0] is None
        assert isinstance(results[1], SdpError) and "already given" in str(results[1])
        assert router.subscriptions["ben"] is transport.subscription
    finally:
        task.cancel()
        await client.close()
        await router.close()
        await mux.close()


class CountingHandshakes:
    """The worker's handshake threads (sfu.aiortc_glue.DtlsHandshakes), noting which thread
    ran each step; ``hold`` keeps a step in its thread until released."""

    def __init__(self) -> None:
        import threading

        from sfu import aiortc_glue

        self.threads = aiortc_glue.DtlsHandshakes()
        self.step_threads: list[str] = []
        self.hold: threading.Event | None = None
        self.held = threading.Event()

    def submit(self, step: Callable[[], Any]) -> Any:
        import threading

        def noted() -> Any:
            self.step_threads.append(threading.current_thread().name)
            if self.hold is not None:
                self.held.set()
                self.hold.wait(10)
            return step()

        return self.threads.submit(noted)

    def close(self) -> None:
        self.threads.close()


async def _subscribed_pair(handshakes: Any) -> tuple[Any, Any, Any, Any]:
    """A router whose connections shake hands in ``handshakes``' threads, on a UDP mux on
    loopback, and a real aiortc listener answering its subscribe offer."""
    from aiortc import RTCSessionDescription

    from sfu import aiortc_glue
    from sfu.router import Router
    from sfu.udp_mux import UdpMux

    aiortc_glue.restrict_host_addresses(["127.0.0.1"])
    mux = UdpMux(["127.0.0.1"], 0)
    await mux.start()
    router = Router("m1", udp_mux=mux, dtls_handshakes=handshakes)
    client = aiortc_glue.create_peer_connection(())
    transport = router.create_transport("ben", "subscribe")
    sdp = await transport.offer_subscribe(1)
    await client.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
    await client.setLocalDescription(await client.createAnswer())
    await transport.accept_answer(client.localDescription.sdp)
    return mux, router, client, transport


async def _state(pc: Any, wanted: set[str], timeout: float = 10.0) -> str:
    deadline = asyncio.get_running_loop().time() + timeout
    while pc.connectionState not in wanted:
        assert asyncio.get_running_loop().time() < deadline, pc.connectionState
        await asyncio.sleep(0.02)
    return str(pc.connectionState)


async def test_the_dtls_handshake_computes_in_the_workers_threads() -> None:
    """Every OpenSSL step of the SFU side's handshake runs in the worker's handshake threads,
    not on the event loop, and both sides come up connected (that media then flows under
    the handshake's keys is what every forwarding test shows: their routers use the same
    threads)."""
    handshakes = CountingHandshakes()
    mux, router, client, transport = await _subscribed_pair(handshakes)
    try:
        assert await _state(transport.pc, {"connected", "failed"}) == "connected"
        assert await _state(client, {"connected", "failed"}) == "connected"
        assert len(handshakes.step_threads) >= 2  # the SFU answers a hello, then finishes
        assert all(name.startswith("dtls-handshake") for name in handshakes.step_threads)
    finally:
        await client.close()
        await router.close()
        await mux.close()
        handshakes.close()


async def test_a_connection_closed_during_a_handshake_step_waits_for_the_step() -> None:
    """Closing a connection while its handshake step runs in a thread waits for that step
    before aiortc touches the SSL connection again (one user at a time), and it closes."""
    import threading

    handshakes = CountingHandshakes()
    handshakes.hold = threading.Event()
    mux, router, client, transport = await _subscribed_pair(handshakes)
    try:
        loop = asyncio.get_running_loop()
        assert await loop.run_in_executor(None, handshakes.held.wait, 10)
        closing = asyncio.ensure_future(transport.close())
        await asyncio.sleep(0.2)
        assert not closing.done()  # waiting for the step in its thread
        handshakes.hold.set()
        await asyncio.wait_for(closing, 10)
        assert transport.pc.connectionState == "closed"
    finally:
        handshakes.hold.set()
        await client.close()
        await router.close()
        await mux.close()
        handshakes.close()
