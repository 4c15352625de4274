"""Time to recover from a worker's death: kill -9 of the meeting's SFU worker under a chair
publishing a tone and N listeners (real aiortc peers, packets counted, never decoded), each
following docs/protocol.md `media-restart` as the web client does (tests/peers.py); the time
from the kill to the first packet of the chair's voice again at every listener.

    python -m bench.workers failover [--kills 10] [--listeners 20]
    python -m bench.workers failover --smoke      # 2 kills, 3 listeners

Against a Rostrum server process of its own with ``ROSTRUM_WORKERS=2``. Printed beside it,
from the same run and the same listeners, the baseline: the time from a listener's first
`subscribe` to its first packet (what a fresh join costs), so the recovery reads as "so
many fresh joins". The machine is shared: run through /work/shared/bin/one-at-a-time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.systems import Rostrum
from tests.peers import TestPeer, ToneTrack

RECOVERY_TIMEOUT_S = 30.0


def first_voice_after(peer: TestPeer, speaker: TestPeer, since: float) -> float | None:
    """When the audio seat fed by ``speaker`` of a subscription the peer made after ``since``
    first got a packet."""
    mid = peer.slot_of(speaker.participant_id, "audio")
    tap = peer.taps.get(mid) if mid is not None else None
    if tap is None or tap.created < since:
        return None  # the subscription from before (a packet in flight at the kill)
    after = [t for t in tap.arrivals if t > since]
    return after[0] if after else None


async def workers(url: str) -> dict[str, tuple[int, bool, int]]:
    """worker name -> (pid, up, routers), from /metrics."""
    async with aiohttp.ClientSession() as http:
        text = await (await http.get(f"{url}/metrics")).text()
    found: dict[str, tuple[int, bool, int]] = {}
    up = dict(re.findall(r'rostrum_worker_up\{worker="([^"]+)",pid="\d+"\} (\d+)', text))
    routers = dict(re.findall(r'rostrum_worker_routers\{worker="([^"]+)",pid="\d+"\} (\d+)',
                              text))
    for name, pid in re.findall(r'rostrum_worker_up\{worker="([^"]+)",pid="(\d+)"\}', text):
        found[name] = (int(pid), up.get(name) == "1", int(routers.get(name, "0")))
    return found


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(server: Rostrum, kills: int, listeners: int) -> None:
    chair = TestPeer(server.url, server.tokens["chair"], "Chair")
    peers: list[TestPeer] = []
    baseline: list[float] = []
    recoveries: list[float] = []
    told: list[float] = []  # kill -> media-restart at each peer
    republished: list[float] = []  # kill -> the chair's publish done again
    try:
        await chair.join()
        assert (await chair.publish(audio=ToneTrack(440)))["ok"]
        for i in range(listeners):
            peer = TestPeer(server.url, server.tokens["observer" if i % 2 else "delegate"],
                            f"L{i}")
            await peer.join()
            asked = time.monotonic()
            assert (await peer.subscribe())["ok"]
            await peer.wait_for(lambda p=peer, t=asked: first_voice_after(  # type: ignore[misc]
                p, chair, t) is not None, timeout=RECOVERY_TIMEOUT_S, what="first voice")
            first = first_voice_after(peer, chair, asked)
            assert first is not None
            baseline.append(first - asked)
            peers.append(peer)
        for kill in range(kills):
            deadline = time.monotonic() + RECOVERY_TIMEOUT_S
            while True:  # both workers up, the meeting on one of them
                state = await workers(server.url)
                holding = [(n, pid) for n, (pid, up, routers) in state.items() if routers]
                if len(state) >= 2 and all(up for _, up, _ in state.values()) and holding:
                    break
                assert time.monotonic() < deadline, f"workers not ready: {state}"
                await asyncio.sleep(0.2)
            name, pid = holding[0]
            await asyncio.sleep(1.0)  # a steady second of media first
            killed = time.monotonic()
            os.kill(pid, signal.SIGKILL)
            times: list[float] = []
            pending = list(peers)
            while pending:
                assert time.monotonic() - killed < RECOVERY_TIMEOUT_S, \
                    f"{len(pending)} listener(s) never heard the chair again"
                await asyncio.sleep(0.02)
                for peer in list(pending):
                    first = first_voice_after(peer, chair, killed)
                    if first is not None and len(peer.restarts) > kill:
                        times.append(first - killed)
                        pending.remove(peer)
            recoveries.extend(times)
            told.extend(p.restarts[kill] - killed for p in (*peers, chair))
            if len(chair.recovered) > kill:
                republished.append(chair.recovered[-1] - killed)
            print(f"kill {kill + 1}: {name} (pid {pid}); first packet again: p50 "
                  f"{statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms",
                  flush=True)
    finally:
        for peer in (*peers, chair):
            await peer.close()
    print(f"\n{kills} kills x {listeners} listeners (ms) | {'p50':>6} | {'p90':>6} | "
          f"{'max':>6} | {'n':>4}")
    for label, values in (("fresh subscribe to first packet (baseline)", baseline),
                          ("kill -9 to media-restart at each peer", told),
                          ("kill -9 to the publisher's publish done", republished),
                          ("kill -9 to first packet again", recoveries)):
        print(f"{label:<44} | {percentile(values, .5) * 1000:6.0f} | "
              f"{percentile(values, .9) * 1000:6.0f} | {max(values) * 1000:6.0f} | "
              f"{len(values):4d}")


async def main(kills: int, listeners: int) -> None:
    os.environ["ROSTRUM_WORKERS"] = "2"
    server = Rostrum()
    with tempfile.TemporaryDirectory(prefix="rostrum-failover-") as folder:
        await server.start(Path(folder), None)
        try:
            await run(server, kills, listeners)
        finally:
            server.stop()


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.workers failover",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--listeners", type=int, default=20)
    parser.add_argument("--smoke", action="store_true", help="2 kills, 3 listeners")
    args = parser.parse_args(argv)
    if args.smoke:
        args.kills, args.listeners = 2, 3
    return args


def cli(argv: list[str] | None = None) -> None:
    args = parse(argv)
    asyncio.run(main(args.kills, args.listeners))
