"""Soak and reconnection benches (issue #16), against a Rostrum server process of its own.

``python -m bench.soak soak [--listeners 300] [--minutes 30] [--sample-s 30]``
    One chair publishes a tone; N listeners (real aiortc peers, packets counted, never
    decoded) stay subscribed. Every sample prints the server's resident memory, its open file
    descriptors and the listeners' audio loss over the last window; at the end the growth of
    memory from the first sample after warm-up to the last, and of descriptors. The issue asks
    for: memory growth < 10 %, descriptors stable, loss not rising.

``python -m bench.soak reconnect [--runs 10] [--outage-s 10]``
    A delegate publishing a tone drops (its connection aborted, as on a network change), stays
    away ``outage-s``, then a new connection resumes (docs/protocol.md `resume`) and publishes
    again; the time from the new connection to the first packet of its voice at a listener,
    p50 and max. aiortc peers: a browser's figure is printed by
    tests/browser/test_reconnect_browser.py.

``--smoke``: a few listeners for a few seconds, for a quick check that the bench works.
Figures depend on the machine and what else runs on it: run through
/work/shared/bin/one-at-a-time and read them beside the machine's load.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.procstat import rss_bytes
from bench.systems import Rostrum
from tests.peers import TestPeer, ToneTrack

AUDIO_SEAT_SENT = re.compile(
    r'^rostrum_consumer_packets_sent\{[^}]*kind="audio"[^}]*purpose="seat"[^}]*\} (\d+)$', re.M)


async def sfu_audio_sent(http: aiohttp.ClientSession, url: str) -> int:
    """Audio packets the SFU has forwarded on seats, all subscribers together (/metrics): in
    the soak the chair is the only audio publisher, so these are the chair's."""
    async with http.get(f"{url}/metrics") as response:
        text = await response.text()
    return sum(int(n) for n in AUDIO_SEAT_SENT.findall(text))


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


async def started(server: Rostrum, role: str, name: str) -> TestPeer:
    peer = TestPeer(server.url, server.tokens[role], name)
    await peer.join()
    return peer


def audio_packets(peer: TestPeer, participant_id: str) -> int:
    mid = peer.slot_of(participant_id, "audio")
    tap = peer.taps.get(mid) if mid else None
    return tap.packets if tap is not None else 0


async def soak(server: Rostrum, listeners: int, seconds: float, sample_s: float) -> None:
    chair = await started(server, "chair", "Chair")
    assert (await chair.publish(audio=ToneTrack(440)))["ok"]
    peers: list[TestPeer] = []
    for i in range(listeners):
        peer = await started(server, "observer" if i % 2 else "delegate", f"L{i}")
        assert (await peer.subscribe())["ok"]
        peers.append(peer)
    await asyncio.sleep(3)  # warm-up: every seat assigned, every connection up
    print(f"soak: {listeners} listeners, {seconds:.0f} s, a sample every {sample_s:.0f} s")
    # loss split in two: what the SFU did not send (its /metrics counters against 50 packets
    # a second per listener), and what the listeners did not take in of what it sent (all of
    # them live in this one process: under load, this is the bench's own shortfall)
    print("| t (s) | RSS (MB) | open fds | audio loss in window | not sent by the SFU |"
          " sent, not received |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    samples: list[tuple[float, int, int, float]] = []
    http = aiohttp.ClientSession()
    start = last = time.monotonic()
    before = [audio_packets(p, chair.participant_id) for p in peers]
    sent_before = await sfu_audio_sent(http, server.url)
    while time.monotonic() - start < seconds:
        await asyncio.sleep(sample_s)
        now = [audio_packets(p, chair.participant_id) for p in peers]
        sent_now = await sfu_audio_sent(http, server.url)
        window = time.monotonic() - last  # the loop may run late: count the real window
        last = time.monotonic()
        got = sum(b - a for a, b in zip(before, now, strict=True))
        sent = sent_now - sent_before
        expected = 50 * window * len(peers)  # Opus, 20 ms packets
        loss = max(0.0, 1 - got / expected) if expected else 0.0
        unsent = max(0.0, 1 - sent / expected) if expected else 0.0
        unreceived = max(0.0, 1 - got / sent) if sent else 0.0
        before, sent_before = now, sent_now
        sample = (time.monotonic() - start, rss_bytes(server.pid), open_fds(server.pid), loss)
        samples.append(sample)
        print(f"| {sample[0]:.0f} | {sample[1] / 2**20:.1f} | {sample[2]} | {loss:.2%} |"
              f" {unsent:.2%} | {unreceived:.2%} |", flush=True)
    await http.close()
    first, last = samples[0], samples[-1]
    print(f"soak: RSS {first[1] / 2**20:.1f} → {last[1] / 2**20:.1f} MB "
          f"({(last[1] - first[1]) / first[1]:+.1%}); fds {first[2]} → {last[2]}; loss first "
          f"{first[3]:.2%}, last {last[3]:.2%}, max {max(s[3] for s in samples):.2%}")
    for peer in [chair, *peers]:
        await peer.close()


async def one_outage(server: Rostrum, listener: TestPeer, run: int, outage_s: float) -> float:
    """One drop and resume: seconds from the new connection to the first packet heard."""
    # the chair: always heard in the demo's chaired meeting
    speaker = await started(server, "chair", f"Speaker {run}")
    assert (await speaker.publish(audio=ToneTrack(660)))["ok"]
    key = speaker.joined["resume"]["key"]
    speaker_id = speaker.participant_id
    await listener.wait_for(lambda: audio_packets(listener, speaker_id) > 10,
                            what="the speaker heard")
    await speaker.sio.eio.disconnect(abort=True)
    await speaker.publish_pc.close()
    await asyncio.sleep(outage_s)
    back = TestPeer(server.url, speaker.token, speaker.name)
    before = {mid: tap.packets for mid, tap in listener.taps.items()}

    def heard_again() -> bool:
        mid = listener.slot_of(speaker_id, "audio")
        return mid is not None and listener.taps[mid].packets > before.get(mid, 0)

    t0 = time.monotonic()
    await back.connect()
    reply = await back.call("/room", "resume", {"key": key})
    assert reply["ok"], reply
    back.joined = reply
    assert (await back.publish(audio=ToneTrack(660)))["ok"]
    await listener.wait_for(heard_again, timeout=30, what="the resumed speaker heard")
    elapsed = time.monotonic() - t0
    await back.close()
    return elapsed


async def reconnect(server: Rostrum, runs: int, outage_s: float) -> None:
    listener = await started(server, "delegate", "Listener")
    assert (await listener.subscribe())["ok"]
    times: list[float] = []
    for run in range(runs):
        times.append(await one_outage(server, listener, run, outage_s))
        print(f"reconnect {run + 1}/{runs}: first packet {times[-1] * 1000:.0f} ms after the "
              f"new connection", flush=True)
    print(f"reconnect after a {outage_s:.0f} s outage, {runs} runs (aiortc peers): p50 "
          f"{statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms "
          f"(new connection → resume → publish → first packet at a listener)")
    await listener.close()


async def main(args: argparse.Namespace) -> None:
    server = Rostrum()
    os.environ["ROSTRUM_RESUME_GRACE_S"] = str(max(45.0, args.outage_s + 15))
    with tempfile.TemporaryDirectory(prefix="rostrum-soak-") as folder:
        await server.start(Path(folder), None)
        try:
            if args.what == "soak":
                await soak(server, args.listeners, args.minutes * 60, args.sample_s)
            else:
                await reconnect(server, args.runs, args.outage_s)
        finally:
            server.stop()


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["soak", "reconnect"])
    parser.add_argument("--listeners", type=int, default=300)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--sample-s", type=float, default=30.0)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--outage-s", type=float, default=10.0)
    parser.add_argument("--smoke", action="store_true",
                        help="4 listeners for 20 s (soak), 2 runs with 2 s outages (reconnect)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.listeners, args.minutes, args.sample_s = 4, 20 / 60, 5.0
        args.runs, args.outage_s = 2, 2.0
    return args


def run(argv: list[str] | None = None) -> Any:
    return asyncio.run(main(parse(argv)))


if __name__ == "__main__":
    run()
