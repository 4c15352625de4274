"""Adaptive bitrate on real kernel bottlenecks, with Chromium at both ends.

A delegate publishes the camera's two layers and a tone from Chromium; two observers in
Chromium watch: one behind its own veth pair whose downlink is shaped with ``tc tbf``, one
unshaped. The steps are 2 Mbit/s → 300 kbit/s → 60 kbit/s → 2 Mbit/s. For each step this
prints the time until the shaped observer receives what fits (the high layer, the low layer,
audio only), its audio loss (over the whole step, and settled: from a second after it got
there, once the queue the old rate filled has drained), how long its picture
froze, and the share of the step the unshaped observer decoded the high layer.

``python -m bench.adaptation`` runs it standalone (root, iproute2, Debian's Chromium and
Playwright; the traffic stays inside namespaces it creates);
tests/browser/test_adaptation_browser.py runs the same scenario and asserts on it.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sfu.worker_client import LocalWorkers

# (downlink kbit/s or None for unshaped, seconds, the layer that fits: "camera",
# "camera-low" or None for audio only)
Step = tuple[int | None, float, str | None]
DEFAULT_STEPS: list[Step] = [
    (2000, 14.0, "camera"), (300, 16.0, "camera-low"), (60, 16.0, None), (2000, 25.0, "camera")]

SETTLE_S = 1.0

# what an observer page receives of one participant's seat (tests/browser use it too)
SEAT_SAMPLE_JS = """(pid) => window.rostrum.client.receptionStats().then((r) => {
    const audio = r.slots.find((s) => s.kind === 'audio' && s.purpose === 'seat'
                                    && s.participantId === pid);
    if (!audio) return null;
    const video = r.slots.find((s) => s.kind === 'video' && s.purpose === 'seat'
                                    && s.seat === audio.seat);
    return {
        layer: video ? video.layer : null,
        width: video ? video.frameWidth : 0,
        frames: video ? video.framesDecoded : 0,
        audioReceived: audio.packetsReceived,
        audioLost: audio.packetsLost,
        incoming: r.link ? r.link.availableIncomingBitrate : null,
    };
})"""


@dataclass
class Sample:
    t: float
    layer: str | None
    width: int
    frames: int
    audio_received: int
    audio_lost: int
    incoming: float | None = None


@dataclass
class Watcher:
    """Samples one observer page every ``interval`` seconds."""

    label: str
    page: Any
    publisher_id: str
    started: float
    samples: list[Sample] = field(default_factory=list)
    errors: int = 0

    async def run(self, interval: float = 0.25) -> None:
        while True:
            try:
                data = await self.page.evaluate(SEAT_SAMPLE_JS, self.publisher_id)
            except Exception:
                self.errors += 1
                data = None
            if data is not None:
                self.samples.append(Sample(
                    time.monotonic() - self.started, data["layer"], int(data["width"] or 0),
                    int(data["frames"] or 0), int(data["audioReceived"] or 0),
                    int(data["audioLost"] or 0), data["incoming"]))
            await asyncio.sleep(interval)

    def window(self, begin: float, end: float) -> list[Sample]:
        return [s for s in self.samples if begin <= s.t <= end]


@dataclass
class StepResult:
    kbit: int | None
    seconds: float
    expected: str | None
    reached_after_s: float | None  # until the expected layer is received (and decoding)
    audio_loss: float  # after reaching it (fraction)
    audio_loss_step: float  # over the whole step
    freeze_s: float  # time with no new frame decoded while a layer was received
    frames: int
    unshaped_high: float  # share of the step the unshaped observer was on the high layer
    unshaped_freeze_s: float
    history: list[tuple[float, str | None, int]] = field(default_factory=list)


def audio_loss(samples: list[Sample]) -> float:
    if len(samples) < 2:
        return 0.0
    received = samples[-1].audio_received - samples[0].audio_received
    lost = samples[-1].audio_lost - samples[0].audio_lost
    total = received + lost
    return max(0.0, lost) / total if total > 0 else 0.0


def freeze_time(samples: list[Sample], threshold_s: float = 0.5) -> float:
    """Seconds during which a layer was received but no frame was decoded, counted in runs
    longer than ``threshold_s`` (a frame every 1/30 s is not a freeze; half a second is)."""
    frozen = 0.0
    run_start: float | None = None
    for a, b in itertools.pairwise(samples):
        stalled = b.layer is not None and b.frames == a.frames
        if stalled and run_start is None:
            run_start = a.t
        if not stalled and run_start is not None:
            if a.t - run_start >= threshold_s:
                frozen += a.t - run_start
            run_start = None
    if run_start is not None and samples and samples[-1].t - run_start >= threshold_s:
        frozen += samples[-1].t - run_start
    return frozen


def reached(samples: list[Sample], expected: str | None, begin: float) -> float | None:
    """Seconds after ``begin`` from which the observer receives ``expected`` for the rest of
    the step (and, for a layer, decodes frames of it); None: it never settled there."""
    since: Sample | None = None
    for s in samples:
        if s.layer != expected:
            since = None
        elif since is None:
            since = s
    if since is None:
        return None
    if expected is not None and samples[-1].frames <= since.frames:
        return None  # the layer was announced but nothing of it was decoded
    return since.t - begin


Shape = Callable[[int | None], None]


async def run_steps(steps: list[Step], *, shape: Shape, shaped: Watcher, unshaped: Watcher,
                    log: Callable[[str], None] = print,
                    stats: Callable[[], str] | None = None) -> list[StepResult]:
    results: list[StepResult] = []
    for kbit, seconds, expected in steps:
        shape(kbit)
        begin = time.monotonic() - shaped.started
        log(f"step at {begin:.2f}: downlink {kbit or 'unshaped'} kbit/s for {seconds:.0f} s, "
            f"expect {expected or 'audio only'}")
        await asyncio.sleep(seconds)
        if stats is not None:
            log(f"  link: {stats()}")
        end = time.monotonic() - shaped.started
        window = shaped.window(begin, end)
        after = reached(window, expected, begin)
        # settled: from a second after it got there (the queue the old rate filled takes
        # that long to drain: what it drops then is the switch, not the state)
        settled = [s for s in window if after is not None
                   and s.t >= begin + after + SETTLE_S]
        clean = unshaped.window(begin, end)
        result = StepResult(
            kbit=kbit, seconds=seconds, expected=expected, reached_after_s=after,
            audio_loss=audio_loss(settled), audio_loss_step=audio_loss(window),
            freeze_s=freeze_time(window),
            frames=(window[-1].frames - window[0].frames) if window else 0,
            unshaped_high=(sum(s.layer == "camera" for s in clean) / len(clean)) if clean
            else 0.0,
            unshaped_freeze_s=freeze_time(clean),
            history=[(round(s.t - begin, 2), s.layer, s.width) for s in window])
        results.append(result)
        log(f"  -> reached {after} audio loss {result.audio_loss:.3f} "
            f"(step {result.audio_loss_step:.3f}) freeze {result.freeze_s:.1f} s "
            f"unshaped high {result.unshaped_high:.2f}")
    return results


def table(results: list[StepResult]) -> str:
    names = {"camera": "high layer", "camera-low": "low layer", None: "audio only"}
    lines = ["| downlink | expected | reached after | audio loss (settled) | "
             "audio loss (whole step) | video freeze | frames | unshaped observer on high "
             "layer | unshaped freeze |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        after = "never" if r.reached_after_s is None else f"{r.reached_after_s:.1f} s"
        lines.append(f"| {r.kbit} kbit/s | {names[r.expected]} | {after} | "
                     f"{100 * r.audio_loss:.2f} % | {100 * r.audio_loss_step:.2f} % | "
                     f"{r.freeze_s:.1f} s | {r.frames} | {100 * r.unshaped_high:.0f} % | "
                     f"{r.unshaped_freeze_s:.1f} s |")
    return "\n".join(lines)


Launch = Callable[[Path | None, Path | None], Awaitable[Any]]  # (fake audio, fake video)


async def browser_scenario(*, server: Any, launch: Launch, launch_shaped: Launch,
                           shape: Shape, tone: Path, camera: Path, steps: list[Step],
                           log: Callable[[str], None] = print,
                           stats: Callable[[], str] | None = None,
                           trace: bool = False) -> list[StepResult]:
    """Publisher and unshaped observer from ``launch`` (the unshaped namespace), the shaped
    observer from ``launch_shaped``. ``shape(kbit)`` shapes the shaped observer's downlink."""
    from tests.browser.pages import PageLog, join_meeting, new_page, poll

    shape(steps[0][0])
    publisher = await new_page(await launch(tone, camera))
    clean = await new_page(await launch(None, None))
    behind = await new_page(await launch_shaped(None, None))
    logs = [PageLog(p, label) for p, label in
            ((publisher, "publisher"), (clean, "unshaped"), (behind, "shaped"))]
    try:
        publisher_id = await join_meeting(publisher, server.join_link(role="delegate"),
                                          name="Amina Diallo", member_state="Senegal")
        await join_meeting(clean, server.join_link(role="observer"), name="Olga Unshaped")
        await join_meeting(behind, server.join_link(role="observer"), name="Omar Shaped")
    except Exception as err:
        raise AssertionError(f"join failed: {err}\n" + "\n".join(x.tail() for x in logs)) \
            from err
    started = time.monotonic()
    shaped_w = Watcher("shaped", behind, publisher_id, started)
    clean_w = Watcher("unshaped", clean, publisher_id, started)
    tasks = [asyncio.ensure_future(w.run()) for w in (shaped_w, clean_w)]
    try:
        # the publisher's layers are up and the shaped observer receives something
        async def first_frames() -> bool:
            return bool(shaped_w.samples and shaped_w.samples[-1].frames > 0)

        await poll(first_frames, bool, timeout=20)
        results = await run_steps(steps, shape=shape, shaped=shaped_w, unshaped=clean_w,
                                  log=log, stats=stats)
        if trace:
            for r in results:
                log(f"  {r.kbit}: {r.history}")
            if not isinstance(server.workers, LocalWorkers):  # routers in worker processes
                for stats in await server.workers.stats():
                    for p in stats.producers:
                        log(f"  {p.producer_id} {p.source} {p.bitrate_bps:.0f} bit/s "
                            f"{p.packets_received} packets")
                    for s in stats.subscribers:
                        log(f"  {s.participant_id} estimate {s.estimate_bps:.0f}")
                for line in (x.tail(20) for x in logs):
                    log(line)
                return results
            router = next(iter(server.worker().routers.values()))
            for producer in router.producers.values():
                log(f"  {producer} {producer.bitrate_bps:.0f} bit/s {producer.packets_received}"
                    f" packets")
            for sub in router.subscriptions.values():
                log(f"  {sub.participant_id} estimate {sub.estimate.bps:.0f} layers "
                    f"{sub.layers}")
                for at, what in sub.estimate.history:
                    log(f"    {at - started:8.2f} {what}")
            for line in (x.tail(20) for x in logs):
                log(line)
        return results
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        shape(None)


async def standalone(steps: list[Step], trace: bool) -> list[StepResult]:
    import tempfile

    from playwright.async_api import async_playwright

    from tests.browser.chromium import launch_in_namespace, write_namespace_wrapper
    from tests.browser.netns import BrowserNamespace, ShapedNamespace
    from tests.browser.tones import write_camera_y4m, write_tone_wav
    from tests.harness import running_server

    namespace = BrowserNamespace.create()
    shaped = ShapedNamespace.create_shaped(namespace.host_address)
    contexts: list[Any] = []
    try:
        with tempfile.TemporaryDirectory(prefix="rostrum-adaptation-") as tmp_name:
            tmp = Path(tmp_name)
            wrapper = write_namespace_wrapper(tmp, namespace)
            shaped_wrapper = write_namespace_wrapper(tmp, shaped)
            tone = write_tone_wav(tmp / "tone-440.wav", 440.0)
            camera = write_camera_y4m(tmp / "camera.y4m")
            address = namespace.host_address
            async with running_server(host=address, public_host=address,
                                      rtc_addresses=[address]) as server, \
                    async_playwright() as playwright:

                def launcher(which: Path) -> Launch:
                    async def launch(fake_audio: Path | None, fake_video: Path | None) -> Any:
                        context = await launch_in_namespace(
                            playwright, wrapper=which,
                            user_data_dir=tmp / f"profile-{len(contexts)}",
                            fake_audio=fake_audio, fake_video=fake_video,
                            secure_origin=server.base_url)
                        contexts.append(context)
                        return context
                    return launch

                try:
                    return await browser_scenario(
                        server=server, launch=launcher(wrapper),
                        launch_shaped=launcher(shaped_wrapper),
                        shape=shaped.shape_downlink, tone=tone, camera=camera, steps=steps,
                        stats=shaped.downlink_stats, trace=trace)
                finally:
                    for context in contexts:
                        try:
                            await context.close()
                        except Exception:
                            pass
    finally:
        shaped.destroy()
        namespace.destroy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=None,
                        help="length of every step (default: 14, 16, 16, 25)")
    parser.add_argument("--trace", action="store_true", help="print every sample")
    parser.add_argument("--steps", default=None,
                        help="e.g. 2000:8:camera,60:20:none (kbit/s:seconds:expected)")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args()
    steps: list[Step] = DEFAULT_STEPS if args.seconds is None else [
        (k, args.seconds, e) for k, _, e in DEFAULT_STEPS]
    if args.steps:
        steps = []
        for part in args.steps.split(","):
            kbit, seconds, expected = part.split(":")
            steps.append((int(kbit) if kbit != "none" else None, float(seconds),
                          None if expected == "none" else expected))
    results = asyncio.run(standalone(steps, args.trace))
    print()
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in results], indent=1))


if __name__ == "__main__":
    main()
