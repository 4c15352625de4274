"""The send path in C (sfu/_fanout.c) with real aiortc peers over the worker's UDP port: the
subscriber's aiortc decrypts and decodes what C protected and sent, NACKs are answered
through the same SRTP session (RTX), and ROSTRUM_FANOUT=python still forwards."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from meeting_server.app import WORKER
from sfu import _fanout, aiortc_glue, fanout
from tests.harness import running_server
from tests.peers import PatternTrack, TestPeer, ToneTrack, dominant_frequency


def _consumers(srv: Any) -> list[Any]:
    router = srv.app[WORKER].worker.routers[srv.meeting_id]
    return [c for t in router.transports.values() for c in t.consumers.values() if c.ready]


async def test_c_path_is_decoded_by_aiortc_and_answers_nacks_on_one_session() -> None:
    assert fanout.select_mode() == "c"
    async with running_server() as srv:
        alice = TestPeer(srv.base_url, srv.token("delegate"), "Alice")
        bob = TestPeer(srv.base_url, srv.token("delegate"), "Bob")
        carol = TestPeer(srv.base_url, srv.token("delegate"), "Carol")
        dropped: set[int] = set()

        def drop_some(tap: Any, packet: Any) -> bool:
            # in steady state (after the first 60 video packets): before that the repair
            # budget follows a fresh estimate, and a repair may rightly be refused (one
            # early loss went unrepaired once on a loaded machine)
            if tap.kind == "video" and tap.packets >= 60 and packet.sequence_number % 20 == 0 \
                    and len(dropped) < 30:
                dropped.add(packet.sequence_number)
                return True
            return False

        try:
            for peer in (alice, bob, carol):
                await peer.join()
            assert (await alice.publish(audio=ToneTrack(550), video=PatternTrack()))["ok"]
            assert (await bob.subscribe(decode=True))["ok"]
            assert (await carol.subscribe(drop=drop_some))["ok"]
            for peer in (bob, carol):
                await peer.wait_for(lambda p=peer: p.slot_of(alice.participant_id, "video")
                                    is not None, what="a seat for Alice")
            audio_mid = bob.slot_of(alice.participant_id, "audio")
            assert audio_mid is not None
            heard = await dominant_frequency(bob.tracks[audio_mid], seconds=1.0)
            assert abs(heard - 550) < 15, heard
            video = carol.taps[carol.slot_of(alice.participant_id, "video") or ""]
            await carol.wait_for(lambda: video.packets > 100, what="video packets")
            await asyncio.sleep(1.0)

            consumers = _consumers(srv)
            assert len(consumers) >= 4
            by_transport: dict[int, set[int]] = {}
            for consumer in consumers:
                state = consumer._fw
                assert isinstance(state, _fanout.State) and state.capable, consumer
                assert isinstance(state.tx, _fanout.Tx) and state.tx.open
                # the transport's one Tx, the one aiortc's own RTP protect goes through
                assert aiortc_glue.fanout_tx_of(consumer.transport) is state.tx
                by_transport.setdefault(id(consumer.transport), set()).add(id(state.tx))
            assert all(len(txs) == 1 for txs in by_transport.values())
            fed = [c for c in consumers if c.source is not None]
            assert fed and all(c._fw.tx.sent > 0 and c.packets_sent > 0 for c in fed)
            assert all(c._fw.tx.protect_errors == 0 for c in fed)
            # /metrics' outbound datagrams include what C sent past the mux's sendto
            worker = srv.app[WORKER].worker
            c_sent = sum({id(c._fw.tx): c._fw.tx.sent for c in consumers}.values())
            udp = worker.udp_stats()
            assert udp is not None and c_sent > 0
            python_sent = sum(s.stats.sent for s in worker.udp_mux.sockets)
            assert udp.sent >= python_sent + c_sent, (udp.sent, python_sent, c_sent)
            # the losses came back by RTX, protected by the same session, and decrypted
            assert dropped and dropped <= video.retransmitted, (dropped, video.retransmitted)
        finally:
            for peer in (alice, bob, carol):
                await peer.close()


async def test_python_path_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROSTRUM_FANOUT", "python")
    async with running_server() as srv:
        alice = TestPeer(srv.base_url, srv.token("delegate"), "Alice")
        bob = TestPeer(srv.base_url, srv.token("delegate"), "Bob")
        try:
            await alice.join()
            await bob.join()
            assert (await alice.publish(audio=ToneTrack(440), video=PatternTrack()))["ok"]
            assert (await bob.subscribe())["ok"]
            await bob.wait_for(lambda: bob.slot_of(alice.participant_id, "video") is not None,
                               what="a seat for Alice")
            video = bob.taps[bob.slot_of(alice.participant_id, "video") or ""]
            await bob.wait_for(lambda: video.packets > 50, what="video packets")
            consumers = _consumers(srv)
            assert consumers and all(isinstance(c._fw, fanout.PyState) for c in consumers)
            assert all(aiortc_glue.fanout_tx_of(c.transport) is None for c in consumers)
        finally:
            await alice.close()
            await bob.close()
