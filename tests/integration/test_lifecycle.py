"""Joins, leaves, drops and shutdown free every transport, producer and consumer."""

from __future__ import annotations

import asyncio
import inspect
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import aiortc.codecs
import aiortc.rtcrtpreceiver
import aiortc.rtcrtpsender
import pytest

from meeting_server.app import MEETINGS
from sfu import aiortc_glue
from tests.harness import free_port, running_server, wait_listening
from tests.peers import PatternTrack, TestPeer, ToneTrack

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.in_process
async def test_twenty_joins_and_leaves_free_everything() -> None:
    async with running_server() as srv:
        anchor = TestPeer(srv.base_url, srv.token("delegate"), "Anchor")
        await anchor.join()
        assert (await anchor.subscribe())["ok"]
        worker = srv.worker()
        for i in range(20):
            peer = TestPeer(srv.base_url, srv.token("delegate"), f"P{i}")
            await peer.join()
            assert (await peer.publish(audio=ToneTrack(300 + i)))["ok"]
            assert (await peer.subscribe())["ok"]
            assert worker.counts()["producers"] == 1
            if i % 2:
                await peer.call("/room", "leave")  # leaves politely
                await peer.close()
            else:
                await peer.sio.eio.disconnect(abort=True)  # drops
                await peer.close()
            await anchor.wait_for(lambda: worker.counts()["producers"] == 0, timeout=10,
                                  what="producers freed")
        await anchor.wait_for(lambda: len(srv.app[MEETINGS].by_session) == 1, timeout=10)
        counts = worker.counts()
        # only the anchor's subscribe transport and its consumers remain
        assert counts["transports"] == 1, counts
        assert counts["producers"] == 0, counts
        # seats (audio + video), the interpretation channel slot and the screen slot
        assert counts["consumers"] == 2 * srv.config.video_slots + 2, counts
        router = worker.routers[srv.meeting_id]
        for consumer in router.transports[next(iter(router.transports))].consumers.values():
            assert consumer.source is None and consumer.target is None
        await anchor.close()
        await anchor.wait_for(lambda: worker.counts()["routers"] == 0, timeout=10,
                              what="router closed with the last participant")
        assert worker.counts() == {"routers": 0, "transports": 0, "producers": 0,
                                   "consumers": 0, "subscriptions": 0}


@pytest.mark.in_process
async def test_forwarding_never_creates_a_decoder_or_encoder(monkeypatch: Any) -> None:
    """The server's receivers and senders never get a codec: only test publishers encode."""
    callers: list[tuple[str, Any]] = []

    def spy(name: str, original: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            frame = inspect.currentframe()
            owner = frame.f_back.f_locals.get("self") if frame and frame.f_back else None
            callers.append((name, owner))
            return original(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(aiortc.rtcrtpsender, "get_encoder",
                        spy("encoder", aiortc.rtcrtpsender.get_encoder))
    monkeypatch.setattr(aiortc.rtcrtpreceiver, "get_decoder",
                        spy("decoder", aiortc.rtcrtpreceiver.get_decoder))
    async with running_server() as srv:
        peers = [TestPeer(srv.base_url, srv.token("delegate"), f"P{i}") for i in range(3)]
        try:
            for i, peer in enumerate(peers):
                await peer.join()
                assert (await peer.publish(audio=ToneTrack(400 + 100 * i),
                                           video=PatternTrack()))["ok"]
                assert (await peer.subscribe())["ok"]
            for peer in peers:
                others = [p for p in peers if p is not peer]
                await peer.wait_for(lambda p=peer, o=others: all(
                    p.slot_of(x.participant_id, "video") and
                    p.taps[p.slot_of(x.participant_id, "video")].packets > 20 for x in o),
                    what="video from both others")
            router = srv.router()
            server_side = set()
            for transport in router.transports.values():
                for t in transport.pc.getTransceivers():
                    server_side.update({id(t.sender), id(t.receiver)})
            encoders = [owner for name, owner in callers if name == "encoder"]
            assert encoders, "the spy saw no encoder at all: it is not watching"
            assert not [o for _, o in callers if id(o) in server_side], callers
            assert not any(name == "decoder" for name, _ in callers)
            assert not [t.name for t in threading.enumerate() if t.name.endswith("-decoder")]
        finally:
            for peer in peers:
                await peer.close()


@pytest.mark.in_process
async def test_peer_connections_never_use_a_default_ice_server() -> None:
    async with running_server() as srv:
        peer = TestPeer(srv.base_url, srv.token("delegate"), "P")
        try:
            await peer.join()
            assert peer.joined["iceServers"] == []
            assert (await peer.publish(audio=ToneTrack(300)))["ok"]
            router = srv.router()
            for transport in router.transports.values():
                assert aiortc_glue.ice_servers_in_use(transport.pc) == []
                for t in transport.pc.getTransceivers():
                    gatherer = t.sender.transport.transport.iceGatherer
                    conn = gatherer._connection
                    assert conn.stun_server is None and conn.turn_server is None
                    hosts = {c.ip for c in gatherer.getLocalCandidates()}
                    assert hosts == {"127.0.0.1"}, hosts
        finally:
            await peer.close()


def test_ctrl_c_closes_peer_connections_cleanly(tmp_path: Path) -> None:
    """SIGINT to a running server with live peer connections: it logs the shutdown, closes
    everything and exits 0 within a few seconds."""
    port = free_port()
    env = {**os.environ, "ROSTRUM_DATA_DIR": str(tmp_path), "ROSTRUM_PORT": str(port),
           "ROSTRUM_RTC_ADDRESSES": "127.0.0.1", "ROSTRUM_SECRET": "s3cret", "ROSTRUM_RTC_PORT": "0",
           "REDIS_URL": ""}  # the embedded defaults: no Redis
    proc = subprocess.Popen([sys.executable, "-m", "meeting_server", "--demo"], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        links: dict[str, str] = {}
        deadline = time.monotonic() + 20
        assert proc.stdout is not None
        while len(links) < 6 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            parts = line.split()
            if len(parts) == 2 and parts[1].startswith("http"):
                links[parts[0]] = parts[1]
        assert set(links) >= {"chair", "delegate", "interpreter", "observer"}, links
        wait_listening(port)
        token = links["delegate"].split("t=", 1)[1]
        chair_token = links["chair"].split("t=", 1)[1]  # the demo meeting is chaired

        async def session() -> None:
            base = f"http://127.0.0.1:{port}"
            a, b = TestPeer(base, chair_token, "A"), TestPeer(base, token, "B")
            await a.join()
            await b.join()
            assert (await a.publish(audio=ToneTrack(440)))["ok"]
            assert (await b.subscribe())["ok"]
            await b.wait_for(lambda: any(t.packets > 10 for t in b.taps.values()))
            proc.send_signal(signal.SIGINT)
            await asyncio.sleep(0.5)
            await a.close()
            await b.close()

        asyncio.run(session())
        out, _ = proc.communicate(timeout=15)
        assert proc.returncode == 0, out
        assert "closing meetings and peer connections" in out, out
        assert "Traceback" not in out, out
    finally:
        if proc.poll() is None:
            proc.kill()
