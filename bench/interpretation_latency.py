"""Mouth-to-ear latency through interpretation, on loopback: floor speaker → SFU →
interpreter → SFU (the English channel) → listener, next to floor speaker → SFU → listener.

The floor speaker sends 100 ms bursts of 1 kHz once a second (the moment each burst leaves
its track is noted). A "machine interpreter" decodes the floor and publishes what it hears at
once (so the figure is the platform's share, without the human's décalage); the listener
decodes the English channel and its seat and notes when each burst arrives. aiortc decodes
and encodes at both ends, as a browser would (its jitter buffer included).

``python -m bench.interpretation_latency [--bursts 20]`` prints p50/p95/max per leg.
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import math
import statistics
import time
from typing import Any

import numpy as np
from aiortc import MediaStreamTrack
from av import AudioFrame

from tests.harness import running_server
from tests.peers import SAMPLE_RATE, TestPeer, frame_samples, tone_power

BURST_HZ = 1000.0


class BurstTrack(MediaStreamTrack):
    """Silence with a 100 ms tone burst every second; ``onsets`` holds when each left."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.onsets: list[float] = []
        self._pts = 0
        self._start: float | None = None

    async def recv(self) -> AudioFrame:
        n = SAMPLE_RATE // 50
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self._pts / SAMPLE_RATE - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        t = (np.arange(n) + self._pts) / SAMPLE_RATE
        in_burst = (t % 1.0) < 0.1
        if in_burst[0] and (self._pts / SAMPLE_RATE) % 1.0 < 0.02:
            self.onsets.append(time.monotonic())
        data = np.where(in_burst, 0.5 * np.sin(2 * math.pi * BURST_HZ * t), 0.0)
        frame = AudioFrame.from_ndarray((data * 32767).astype(np.int16).reshape(1, -1),
                                        format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        self._pts += n
        return frame


class RelayTrack(MediaStreamTrack):
    """What the interpreter hears, spoken back at once: frames from a decoded track."""

    kind = "audio"

    def __init__(self, source: MediaStreamTrack) -> None:
        super().__init__()
        self.source = source
        self.onsets: list[float] = []
        self._silent = True

    async def recv(self) -> Any:
        frame = await self.source.recv()
        _note_onset(frame, self)
        return frame


def _note_onset(frame: Any, holder: Any) -> None:
    samples = frame_samples(frame)
    loud = tone_power(samples, BURST_HZ, frame.sample_rate) > 1e12
    if loud and holder._silent:
        holder.onsets.append(time.monotonic())
    holder._silent = not loud


class OnsetListener:
    def __init__(self, track: MediaStreamTrack) -> None:
        self.track = track
        self.onsets: list[float] = []
        self._silent = True

    async def run(self) -> None:
        while True:
            frame = await self.track.recv()
            _note_onset(frame, self)


def _match(sent: list[float], received: list[float]) -> list[float]:
    """Latency of each sent burst: the first arrival after it, within 0.9 s."""
    out = []
    for t in sent:
        later = [r - t for r in received if 0 <= r - t < 0.9]
        if later:
            out.append(min(later))
    return out


def _summary(values: list[float]) -> str:
    if not values:
        return "no bursts matched"
    ms = sorted(v * 1000 for v in values)
    p95 = ms[min(len(ms) - 1, math.ceil(0.95 * len(ms)) - 1)]
    return (f"p50 {statistics.median(ms):6.1f} ms  p95 {p95:6.1f} ms  max {ms[-1]:6.1f} ms  "
            f"({len(ms)} bursts)")


async def run(bursts: int) -> dict[str, list[float]]:
    async with running_server(floor_mode="chaired") as srv:
        speaker = TestPeer(srv.base_url, srv.token("chair"), "Floor")
        interpreter = TestPeer(srv.base_url, srv.token("interpreter"), "EN booth")
        listener = TestPeer(srv.base_url, srv.token("delegate"), "Listener")
        peers = [speaker, interpreter, listener]
        tasks: list[asyncio.Task[Any]] = []
        try:
            for peer in peers:
                await peer.join()
            burst = BurstTrack()
            assert (await speaker.publish(audio=burst))["ok"]
            assert (await interpreter.subscribe(decode=True))["ok"]
            assert (await listener.subscribe(decode=True))["ok"]
            await interpreter.wait_for(
                lambda: interpreter.slot_of(speaker.participant_id, "audio") is not None)
            floor_for_interpreter = interpreter.tracks[
                interpreter.slot_of(speaker.participant_id, "audio")]
            relay = RelayTrack(floor_for_interpreter)
            assert (await interpreter.publish(audio=relay))["ok"]
            assert (await speaker.interp("assign", {"participantId": interpreter.participant_id,
                                                    "language": "en"}))["ok"]
            assert (await interpreter.interp("live"))["ok"]
            assert (await listener.interp("listen", {"channel": "en"}))["ok"]
            await listener.wait_for(lambda: listener.slot_of(speaker.participant_id, "audio")
                                    is not None)
            channel = OnsetListener(listener.tracks[listener.channel_mid()])
            seat = OnsetListener(listener.tracks[listener.slot_of(speaker.participant_id,
                                                                   "audio")])
            tasks = [asyncio.ensure_future(channel.run()), asyncio.ensure_future(seat.run())]
            await asyncio.sleep(2.0)
            first = len(burst.onsets)
            await asyncio.sleep(bursts + 1.0)
            sent = burst.onsets[first:first + bursts]
            return {
                "floor → listener (seat)": _match(sent, seat.onsets),
                "floor → interpreter": _match(sent, relay.onsets),
                "interpreter → listener (channel)": _match(relay.onsets, channel.onsets),
                "mouth to ear through interpretation": _match(sent, channel.onsets),
            }
        finally:
            for task in tasks:
                task.cancel()
            for peer in peers:
                await peer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bursts", type=int, default=20)
    args = parser.parse_args()
    results = asyncio.run(run(args.bursts))
    print("| leg | latency |\n| --- | --- |")
    for leg, values in results.items():
        print(f"| {leg} | {_summary(values)} |")


if __name__ == "__main__":
    main()
