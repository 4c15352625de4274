"""Pipes between workers: one meeting spread over three worker processes.

A chaired meeting with 1 publisher (a delegate, 440 Hz), 6 live interpreters (one booth per
official language, each its own tone) and 60 aiortc listeners, each on one language's
channel. The server runs 3 worker processes with a consumers-per-worker limit small enough
that the listeners spread over all three (sfu/spread.py): every producer of the home worker
is piped once to each other worker (sfu/plain_transport.py, ``PipeTransport``). Every
listener gets ≥ 99 % of its channel's packets and hears its channel's tone (decoded here
from the packets it received), wherever it is; the floor given to the delegate reaches the
listeners of every worker within one packet interval of the home worker's.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import av
import numpy as np
from aiortc.rtp import RtpPacket

from sfu.commands import GetLoad
from sfu.spread import SpreadRouter
from tests.harness import running_server
from tests.peers import SlotTap, TestPeer, ToneTrack, seq_span

CHANNELS = ("ar", "zh", "en", "fr", "ru", "es")
FLOOR_TONE = 440.0
TONES = {"ar": 520.0, "zh": 600.0, "en": 680.0, "fr": 760.0, "ru": 840.0, "es": 920.0}
LISTENERS = 60
WORKERS = 3
# a subscription has 4 seats (audio+video), a screen and a channel slot: 10 consumers; the
# home worker takes the 6 interpreters (60) and 20 listeners (200), the others 20 each
MAX_CONSUMERS = 260
PACKET_INTERVAL_S = 0.020


class Recorder:
    """What one listener's slots received: (arrival, payload) per mid, kept from the tap's
    packet hook (nothing is dropped)."""

    def __init__(self) -> None:
        self.packets: dict[str, list[tuple[float, bytes]]] = {}

    def __call__(self, tap: SlotTap, packet: RtpPacket) -> bool:
        if tap.kind == "audio":
            self.packets.setdefault(tap.mid, []).append((time.monotonic(), packet.payload))
        return False


def dominant(payloads: list[bytes]) -> float:
    decoder = av.CodecContext.create("libopus", "r")
    decoder.sample_rate = 48000
    samples = []
    for payload in payloads:
        for frame in decoder.decode(av.Packet(payload)):
            samples.append(frame.to_ndarray().reshape(-1, frame.layout.nb_channels)
                           .mean(axis=1))
    signal = np.concatenate(samples)
    signal = signal - signal.mean()
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    return float(np.fft.rfftfreq(len(signal), 1 / 48000)[int(np.argmax(spectrum))])


async def joined(srv: Any, role: str, name: str) -> TestPeer:
    peer = TestPeer(srv.base_url, srv.token(role), name)
    await peer.join()
    return peer


async def test_a_meeting_spread_over_three_workers() -> None:
    started = time.monotonic()
    async with running_server(workers=WORKERS, worker_max_consumers=MAX_CONSUMERS,
                              floor_mode="chaired") as srv:
        pool = srv.pool()
        chair = await joined(srv, "chair", "Chair")
        delegate = await joined(srv, "delegate", "Delegate")
        interpreters = {lang: await joined(srv, "interpreter", f"{lang} booth")
                        for lang in CHANNELS}
        listeners: list[tuple[TestPeer, str, Recorder]] = []
        try:
            assert (await delegate.publish(audio=ToneTrack(FLOOR_TONE)))["ok"]
            for lang, interpreter in interpreters.items():
                assert (await interpreter.publish(audio=ToneTrack(TONES[lang])))["ok"]
                assert (await interpreter.subscribe())["ok"]
                reply = await chair.interp("assign", {
                    "participantId": interpreter.participant_id, "language": lang})
                assert reply["ok"], reply
                assert (await interpreter.interp("live"))["ok"]
            # the listeners, six at a time (placement counts what it placed since the last
            # load it read)
            for batch in range(0, LISTENERS, 6):
                peers = [TestPeer(srv.base_url, srv.token("delegate"), f"Listener {i}")
                         for i in range(batch, batch + 6)]
                await asyncio.gather(*(p.join() for p in peers))
                recorders = [Recorder() for _ in peers]
                replies = await asyncio.gather(*(p.subscribe(drop=r)
                                                 for p, r in zip(peers, recorders, strict=True)))
                assert all(r["ok"] for r in replies), replies
                for i, (peer, recorder) in enumerate(zip(peers, recorders, strict=True)):
                    lang = CHANNELS[(batch + i) % len(CHANNELS)]
                    assert (await peer.interp("listen", {"channel": lang}))["ok"]
                    listeners.append((peer, lang, recorder))
            print(f"\n{len(listeners)} listeners joined after "
                  f"{time.monotonic() - started:.1f} s")

            # where everyone is: the home worker and two parts, each holding listeners
            home = pool.placement[srv.meeting_id]
            spread = home.routers[srv.meeting_id]
            assert isinstance(spread, SpreadRouter)
            worker_of = {peer.participant_id: (spread.where[peer.participant_id].slot.name
                                               if peer.participant_id in spread.where
                                               else home.name) for peer, _, _ in listeners}
            counts = {s.name: list(worker_of.values()).count(s.name) for s in pool.slots}
            print("listeners per worker:", counts)
            assert len(spread.parts) == WORKERS - 1
            assert all(n >= 10 for n in counts.values()), counts
            for interpreter in interpreters.values():
                assert interpreter.participant_id not in spread.where  # booths stay home

            # each producer of the home worker is piped once to each other worker: the
            # delegate's and six booths' microphones arrive as producers there
            piped = [s for s in await pool_stats(pool) if s.meeting_id == srv.meeting_id]
            assert len(piped) == WORKERS
            for worker_stats in piped:
                mics = sorted(p.participant_id for p in worker_stats.producers)
                assert len(mics) == 7 and len(set(mics)) == 7, mics

            # every listener hears its channel, and gets ≥ 99 % of its packets
            await asyncio.sleep(3.0)
            window_end = time.monotonic()
            worst = 1.0
            for peer, lang, recorder in listeners:
                mid = peer.channel_mid()
                assert mid is not None
                tap = peer.taps[mid]
                received = [p for t, p in recorder.packets.get(mid, []) if t <= window_end]
                assert len(received) > 100, (peer.name, worker_of[peer.participant_id],
                                             len(received))
                frequency = dominant(received[-50:])  # its last second
                assert abs(frequency - TONES[lang]) < 15, (peer.name, lang, frequency)
                share = len(tap.received) / seq_span(tap.received)
                worst = min(worst, share)
                assert share >= 0.99, (peer.name, worker_of[peer.participant_id], share)
            print(f"worst packet share on a channel: {worst * 100:.2f} %")

            # the floor to the delegate: the first packet of their voice at the listeners
            # of every worker, against the home worker's
            request = (await delegate.floor("request", {}))["request"]
            granted = time.monotonic()
            assert (await chair.floor("grant", {"requestId": request["id"]}))["ok"]
            await asyncio.sleep(1.5)
            first: dict[str, list[float]] = {s.name: [] for s in pool.slots}
            for peer, _, recorder in listeners:
                mid = peer.slot_of(delegate.participant_id, "audio")
                assert mid is not None, (peer.name, peer.slots)
                arrivals = [t for t, _ in recorder.packets.get(mid, []) if t > granted - 1]
                assert arrivals, (peer.name, "the floor's voice never came")
                first[worker_of[peer.participant_id]].append(arrivals[0])
                payloads = [p for t, p in recorder.packets[mid] if t > time.monotonic() - 0.8]
                assert abs(dominant(payloads) - FLOOR_TONE) < 15, peer.name
            medians = {name: statistics.median(times) for name, times in first.items()}
            base = medians[home.name]
            print("floor switch, first packet vs the home worker's (median, ms):",
                  {name: round((m - base) * 1000, 1) for name, m in medians.items()},
                  "spread within each worker (ms):",
                  {name: round((max(t) - min(t)) * 1000, 1) for name, t in first.items()})
            for name, median in medians.items():
                assert abs(median - base) <= PACKET_INTERVAL_S, (name, median - base)

            # the last listener of a part leaves: its router and the pipe to it close
            last = next(s for s in pool.slots if s is not home and s.name in spread.parts)
            leaving = [(p, lang, r) for p, lang, r in listeners
                       if worker_of[p.participant_id] == last.name]
            for peer, _, _ in leaving:
                await peer.close()
            listeners = [entry for entry in listeners if entry not in leaving]
            await chair.wait_for(lambda: last.name not in spread.parts, timeout=10,
                                 what="the part closed with its last listener")
            await chair.wait_for(lambda: srv.meeting_id not in last.routers, timeout=5,
                                 what="the part's router gone")
            routers = await pool_stats(pool)
            assert [r.meeting_id for r in routers].count(srv.meeting_id) == WORKERS - 1
            home_stats = next(r for r in (await last_load(home)).routers
                              if r.meeting_id == srv.meeting_id)
            assert [t.direction for t in home_stats.transports].count("pipe") == WORKERS - 2
            print(f"test body took {time.monotonic() - started:.1f} s")
        finally:
            for peer, _, _ in listeners:
                await peer.close()
            for peer in (chair, delegate, *interpreters.values()):
                await peer.close()


async def last_load(slot: Any) -> Any:
    return await slot.connection.request("", GetLoad())


async def pool_stats(pool: Any) -> list[Any]:
    """Every router's stats snapshot of every worker, home and parts alike."""
    out = []
    for slot in pool.slots:
        out.extend((await last_load(slot)).routers)
    return out


async def test_the_listeners_of_a_part_whose_worker_dies_are_told_and_hear_again() -> None:
    """Two workers; the second listener goes to a part on the other worker (the home holds
    one subscription). kill -9 that worker: only its listener is told (`media-restart` with
    `connections: ["subscribe"]`), subscribes again by itself (tests/peers.py follows the
    event as the page does) and hears the speaker; the speaker's publication on the home
    worker and the home listener's subscription are left alone."""
    async with running_server(workers=2, worker_max_consumers=1) as srv:  # open floor
        pool = srv.pool()
        speaker = await joined(srv, "delegate", "Speaker")
        at_home, on_part = (await joined(srv, "delegate", "Home listener"),
                            await joined(srv, "delegate", "Part listener"))
        peers = [speaker, at_home, on_part]
        try:
            assert (await speaker.publish(audio=ToneTrack(FLOOR_TONE)))["ok"]
            publication = speaker.publish_pc
            for listener in (at_home, on_part):
                assert (await listener.subscribe())["ok"]
            home = pool.placement[srv.meeting_id]
            spread = home.routers[srv.meeting_id]
            assert isinstance(spread, SpreadRouter)
            assert at_home.participant_id not in spread.where, "the first listener is home"
            part = spread.where[on_part.participant_id]
            assert part.slot is not home

            def hears(listener: TestPeer, since: float) -> bool:
                mid = listener.slot_of(speaker.participant_id, "audio")
                tap = listener.taps.get(mid) if mid is not None else None
                return tap is not None and tap.created >= since and tap.packets > 10
            for listener in (at_home, on_part):
                await listener.wait_for(lambda li=listener: hears(li, 0), timeout=10,
                                        what="the speaker's audio")
            home_tap = at_home.taps[at_home.slot_of(speaker.participant_id, "audio") or ""]

            killed = time.monotonic()
            assert part.slot.process is not None
            part.slot.process.kill()
            await on_part.wait_for(lambda: bool(on_part.restarts), timeout=5,
                                   what="media-restart at the part's listener")
            restart = on_part.last("media-restart", "/media")
            assert restart == {"reason": "worker-lost", "connections": ["subscribe"]}, restart
            await on_part.wait_for(lambda: hears(on_part, killed), timeout=10,
                                   what="the speaker's audio again")
            back = time.monotonic() - killed
            before = home_tap.packets
            await at_home.wait_for(lambda: home_tap.packets > before + 10, timeout=5,
                                   what="the home listener's audio, uninterrupted")
            assert not speaker.restarts and not at_home.restarts, "told who lost nothing"
            assert speaker.publish_pc is publication, "the publication was made again"
            print(f"\nthe part's worker killed: its listener heard the speaker again after "
                  f"{back:.2f} s")
        finally:
            for peer in peers:
                await peer.close()
