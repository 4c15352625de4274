"""Adaptive bitrate on a real kernel bottleneck, with Chromium at both ends (issue 5).

A delegate publishes two camera layers (a Y4M camera that costs an encoder what a real one
does) and a tone; an observer in its own network namespace, behind a veth pair whose
downlink `tc tbf` shapes, and an unshaped observer watch. The steps and what each must show:

- 2 Mbit/s: the high layer;
- 300 kbit/s: the low layer within 5 s, audio loss under 2 % once there, and the picture
  keeps decoding;
- 60 kbit/s: audio only, audio loss under 2 % once there;
- 2 Mbit/s again: the high layer within 15 s;
- the unshaped observer stays on the high layer throughout.

The scenario is bench/adaptation.py's (``python -m bench.adaptation`` prints the same table
standalone); the figures of each run are printed with the test's output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.adaptation import Step, StepResult, browser_scenario, table
from tests.browser.netns import ShapedNamespace

pytestmark = [pytest.mark.browser, pytest.mark.network]

STEPS: list[Step] = [(2000, 12.0, "camera"), (300, 14.0, "camera-low"), (60, 16.0, None),
         (2000, 22.0, "camera")]


async def test_each_listener_gets_what_its_own_link_carries(
    launch_browser: Any, make_tone: Any, rostrum_server: Any,
    shaped_namespace: ShapedNamespace, shaped_wrapper: Path, camera_y4m: Path,
) -> None:
    lines: list[str] = []

    def log(line: str) -> None:
        lines.append(line)
        print(line)

    async def launch(fake_audio: Path | None, fake_video: Path | None) -> Any:
        return await launch_browser(fake_audio, fake_video=fake_video)

    async def launch_shaped(fake_audio: Path | None, fake_video: Path | None) -> Any:
        return await launch_browser(fake_audio, fake_video=fake_video, wrapper=shaped_wrapper)

    results: list[StepResult] = await browser_scenario(
        server=rostrum_server, launch=launch, launch_shaped=launch_shaped,
        shape=shaped_namespace.shape_downlink, tone=make_tone(440.0), camera=camera_y4m,
        steps=STEPS, log=log, stats=shaped_namespace.downlink_stats, trace=True)
    print(table(results))
    report = table(results) + "\n" + "\n".join(lines[-120:])
    high, low, audio_only, back = results

    assert high.reached_after_s is not None, f"2 Mbit/s: not on the high layer\n{report}"

    assert low.reached_after_s is not None and low.reached_after_s <= 5.0, \
        f"300 kbit/s: not on the low layer within 5 s\n{report}"
    assert low.audio_loss < 0.02, f"300 kbit/s: audio loss {low.audio_loss:.1%}\n{report}"
    settled_s = low.seconds - low.reached_after_s
    assert low.frames >= 10 * settled_s / 2, \
        f"300 kbit/s: the low layer does not keep decoding\n{report}"

    assert audio_only.reached_after_s is not None, f"60 kbit/s: not audio only\n{report}"
    assert audio_only.audio_loss < 0.02, \
        f"60 kbit/s: audio loss {audio_only.audio_loss:.1%}\n{report}"

    assert back.reached_after_s is not None and back.reached_after_s <= 15.0, \
        f"2 Mbit/s again: not back on the high layer within 15 s\n{report}"

    for step in results:
        assert step.unshaped_high >= 0.95, \
            f"{step.kbit} kbit/s: the unshaped observer left the high layer\n{report}"
