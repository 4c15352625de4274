"""Adaptive bitrate on real kernel bottlenecks: a subscriber behind a veth pair whose downlink
is shaped with ``tc tbf``, a second one unshaped, one publisher sending two camera layers.

``python -m bench.adaptation`` runs the steps 2 Mbit/s → 300 kbit/s → 60 kbit/s → 2 Mbit/s and
prints, per step, the time to switch down, the time to recover, audio loss and video freeze.
tests/network/test_adaptation.py runs the same scenario and asserts on it. Needs root
(network namespaces) and iproute2; traffic stays on loopback and inside the namespaces.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
_counter = itertools.count()


def _run(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), check=check, capture_output=True, text=True)


@dataclass
class ShapedLink:
    """A namespace joined by a veth pair; ``shape()`` limits the downlink (root → namespace)
    with a token bucket filter."""

    name: str
    host_if: str
    ns_if: str
    host_address: str
    ns_address: str

    @classmethod
    def create(cls) -> ShapedLink:
        n = next(_counter)
        pid = os.getpid()
        used = _run("ip", "-o", "-4", "addr", "show").stdout
        subnet = next(x for x in range(20, 250) if f"10.214.{x}." not in used)
        link = cls(name=f"rsl{pid}x{n}", host_if=f"rlh{pid % 100000}x{n}",
                   ns_if=f"rln{pid % 100000}x{n}", host_address=f"10.214.{subnet}.1",
                   ns_address=f"10.214.{subnet}.2")
        try:
            _run("ip", "netns", "add", link.name)
            _run("ip", "link", "add", link.host_if, "type", "veth", "peer", "name", link.ns_if)
            _run("ip", "link", "set", link.ns_if, "netns", link.name)
            _run("ip", "addr", "add", f"{link.host_address}/24", "dev", link.host_if)
            _run("ip", "link", "set", link.host_if, "up")
            ns = ("ip", "netns", "exec", link.name)
            _run(*ns, "ip", "addr", "add", f"{link.ns_address}/24", "dev", link.ns_if)
            _run(*ns, "ip", "link", "set", link.ns_if, "up")
            _run(*ns, "ip", "link", "set", "lo", "up")
        except BaseException:
            link.destroy()
            raise
        return link

    def shape(self, kbit: int | None) -> None:
        """Limit the downlink to ``kbit`` (None: unshaped)."""
        _run("tc", "qdisc", "del", "dev", self.host_if, "root", check=False)
        if kbit is not None:
            _run("tc", "qdisc", "add", "dev", self.host_if, "root", "tbf", "rate",
                 f"{kbit}kbit", "burst", "4kb", "latency", "100ms")

    def exec_prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.name]

    def destroy(self) -> None:
        _run("ip", "link", "del", self.host_if, check=False)
        _run("ip", "netns", "del", self.name, check=False)


@dataclass
class Sample:
    t: float
    width: int
    frames: int
    freeze_s: float
    audio_received: int
    audio_lost: int
    layers: list[Any]


@dataclass
class Probe:
    label: str
    proc: subprocess.Popen[str]
    samples: list[Sample] = field(default_factory=list)
    started: float = 0.0

    async def pump(self) -> None:
        assert self.proc.stdout is not None
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, self.proc.stdout.readline)
            if not line:
                return
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                continue
            self.samples.append(Sample(time.monotonic() - self.started, data["width"],
                                       data["frames"], data["freeze_s"],
                                       data["audio_received"], data["audio_lost"],
                                       data["layers"]))

    def last(self) -> Sample | None:
        return self.samples[-1] if self.samples else None


@dataclass
class StepResult:
    kbit: int | None
    seconds: float
    expected_width: int  # 640 high, 320 low, 0 audio only
    reached_after_s: float | None  # time until the expected picture was decoded
    audio_loss: float  # over the step after it settled (fraction)
    audio_loss_transition: float  # over the whole step
    freeze_s: float
    frames: int
    unshaped_high: float  # share of the step the unshaped subscriber decoded 640 px


def _share_high(samples: list[Sample]) -> float:
    return sum(s.width == 640 for s in samples) / len(samples) if samples else 0.0


def _audio_loss(samples: list[Sample]) -> float:
    if len(samples) < 2:
        return 0.0
    received = samples[-1].audio_received - samples[0].audio_received
    lost = samples[-1].audio_lost - samples[0].audio_lost
    total = received + lost
    return lost / total if total > 0 else 0.0


async def run_scenario(steps: list[tuple[int | None, float, int]], *,
                       log: Any = print) -> list[StepResult]:
    """Each step: (downlink kbit/s or None, seconds, expected decoded width)."""
    import aiortc.codecs.vpx as vpx

    from meeting_server.app import WORKER as WORKER_KEY
    from tests.harness import running_server
    from tests.peers import OpusToneTrack, PatternTrack, TestPeer

    # the test publisher is aiortc: let its low layer go below aiortc's 250 kbit/s floor, as
    # a browser's 320x180 layer does (the SFU caps each layer by REMB: 200 / 800 kbit/s)
    vpx.MIN_BITRATE = 100_000

    shaped = ShapedLink.create()
    clean = ShapedLink.create()
    probes: list[Probe] = []
    results: list[StepResult] = []
    try:
        shaped.shape(steps[0][0])
        async with running_server(host="0.0.0.0", public_host=shaped.host_address,
                                  rtc_addresses=[shaped.host_address, clean.host_address,
                                                 "127.0.0.1"]) as srv:
            publisher = TestPeer(f"http://127.0.0.1:{srv.config.port}", srv.token(), "Floor")
            await publisher.join()
            # Opus as the answer's fmtp asks a browser: 32 kbit/s mono
            reply = await publisher.publish(audio=OpusToneTrack(440, 32000),
                                            video=PatternTrack(640, 360, noise=True),
                                            video_low=PatternTrack(320, 180))
            assert reply["ok"], reply
            total = sum(s[1] for s in steps) + 6
            for label, link in (("shaped", shaped), ("unshaped", clean)):
                url = f"http://{link.host_address}:{srv.config.port}"
                proc = subprocess.Popen(
                    [*link.exec_prefix(), sys.executable, "-m", "bench.probe_subscriber", url,
                     srv.token(), link.ns_address, str(total)],
                    cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                probes.append(Probe(label, proc, started=time.monotonic()))
            pumps = [asyncio.ensure_future(p.pump()) for p in probes]
            shaped_probe, clean_probe = probes
            for kbit, seconds, expected in steps:
                shaped.shape(kbit)
                begin = time.monotonic() - shaped_probe.started
                log(f"step: downlink {kbit or 'unshaped'} kbit/s for {seconds:.0f} s, "
                    f"expect width {expected}")
                await asyncio.sleep(seconds)
                window = [s for s in shaped_probe.samples if s.t >= begin]
                reached = next((s.t - begin for s in window if s.width == expected), None)
                settled = [s for s in window if reached is not None and s.t >= begin + reached]
                results.append(StepResult(
                    kbit=kbit, seconds=seconds, expected_width=expected,
                    reached_after_s=reached,
                    audio_loss=_audio_loss(settled),
                    audio_loss_transition=_audio_loss(window),
                    freeze_s=(window[-1].freeze_s - window[0].freeze_s) if window else 0.0,
                    frames=(window[-1].frames - window[0].frames) if window else 0,
                    unshaped_high=_share_high([s for s in clean_probe.samples
                                               if s.t >= begin])))
                log(f"  -> {results[-1]}")
            if os.environ.get("ROSTRUM_ADAPTATION_TRACE"):
                for p in probes:
                    for sample in p.samples:
                        log(f"  {p.label} {sample}")
                router = next(iter(srv.app[WORKER_KEY].routers.values()))
                for sub in router.subscriptions.values():
                    log(f"  estimate {sub.estimate.bps:.0f} remb {sub.estimate.remb_bps} "
                        f"loss {sub.estimate.loss} layers {sub.layers} "
                        f"history {sub.estimate.history[-30:]}")
                for prod in router.producers.values():
                    log(f"  {prod} {prod.bitrate_bps:.0f} bps, {prod.packets_received} packets"
                        f" {prod.bytes_received} bytes")
            for p in probes:
                p.proc.terminate()
            await asyncio.gather(*pumps, return_exceptions=True)
            await publisher.close()
    finally:
        for p in probes:
            if p.proc.poll() is None:
                p.proc.kill()
        shaped.destroy()
        clean.destroy()
    return results


DEFAULT_STEPS: list[tuple[int | None, float, int]] = [
    (2000, 14.0, 640), (300, 14.0, 320), (60, 14.0, 0), (2000, 20.0, 640)]


def table(results: list[StepResult]) -> str:
    lines = ["| downlink | expected | reached after | audio loss (settled) | "
             "audio loss (whole step) | video freeze | frames | unshaped subscriber on 640 px |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        expected = {640: "high layer (640 px)", 320: "low layer (320 px)",
                    0: "audio only"}[r.expected_width]
        reached = "never" if r.reached_after_s is None else f"{r.reached_after_s:.1f} s"
        lines.append(f"| {r.kbit} kbit/s | {expected} | {reached} | "
                     f"{100 * r.audio_loss:.2f} % | {100 * r.audio_loss_transition:.2f} % | "
                     f"{r.freeze_s:.1f} s | {r.frames} | {100 * r.unshaped_high:.0f} % |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=None,
                        help="length of every step (default: 14, 14, 14, 20)")
    args = parser.parse_args()
    steps = DEFAULT_STEPS if args.seconds is None else [
        (k, args.seconds, w) for k, _, w in DEFAULT_STEPS]
    results = asyncio.run(run_scenario(steps))
    print()
    print(table(results))


if __name__ == "__main__":
    main()
