"""Soak and reconnection benches (issue #16), against a Rostrum server process of its own.

``python -m bench.soak soak [--listeners 300] [--minutes 30] [--sample-s 30]``
    ``python -m bench.run --systems rostrum --scenarios fanout --n N --soak-minutes M``: one
    publisher (Opus + VP8), N subscribers in the bench's generator process; every window
    prints the server's resident memory, its open descriptors and UDP sockets, the
    subscribers' loss and delay; at the end the growth of memory from the first window to the
    last, and of descriptors. The issue asks for: memory growth < 10 %, descriptors stable,
    loss not rising.

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
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.systems import Rostrum
from tests.peers import TestPeer, ToneTrack


async def started(server: Rostrum, role: str, name: str) -> TestPeer:
    peer = TestPeer(server.url, server.tokens[role], name)
    await peer.join()
    return peer


def audio_packets(peer: TestPeer, participant_id: str) -> int:
    mid = peer.slot_of(participant_id, "audio")
    tap = peer.taps.get(mid) if mid else None
    return tap.packets if tap is not None else 0


def soak(listeners: int, minutes: float, sample_s: float) -> None:
    """The soak is bench/run.py's: its generator processes count packets without aiortc's
    receive path, so 300 listeners cost the bench a fraction of a core and the loss column is
    the server's, not the bench's (an earlier soak here ran 300 aiortc peers in this one
    process, which could not keep up)."""
    from bench import run as bench_run

    bench_run.main(["--systems", "rostrum", "--scenarios", "fanout", "--n", str(listeners),
                    "--soak-minutes", str(minutes), "--soak-every", str(sample_s)])


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
    args = parse(argv)
    if args.what == "soak":
        return soak(args.listeners, args.minutes, args.sample_s)
    return asyncio.run(main(args))


if __name__ == "__main__":
    run()
