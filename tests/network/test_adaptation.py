"""Adaptive bitrate on a real kernel bottleneck: a subscriber (aiortc, decoding, in its own
network namespace) whose downlink is shaped with tc tbf, and an unshaped one.

The scenario is bench/adaptation.py's; this test asserts the issue's criteria on it:
- 2 Mbit/s: the high layer;
- 300 kbit/s: the low layer within 5 s, audio loss under 2 % once there, video decoding;
- 60 kbit/s: audio only, audio loss under 2 % once there;
- back at 2 Mbit/s: the high layer again within 15 s;
- the unshaped subscriber keeps the high layer throughout.
"""

from __future__ import annotations

import os
import shutil

from bench.adaptation import DEFAULT_STEPS, run_scenario, table
from tests.requirements import require


async def test_layers_follow_a_shaped_downlink() -> None:
    require(os.geteuid() == 0, "root, for network namespaces and tc")
    require(shutil.which("ip") is not None and shutil.which("tc") is not None,
            "iproute2 (ip, tc)")
    results = await run_scenario(DEFAULT_STEPS)
    print("\n" + table(results))
    high, low, audio_only, back = results
    assert high.reached_after_s is not None, table(results)
    assert low.reached_after_s is not None and low.reached_after_s <= 5.0, table(results)
    assert low.audio_loss < 0.02, table(results)
    assert low.frames > 50, table(results)  # video keeps decoding
    assert audio_only.reached_after_s is not None, table(results)
    assert audio_only.audio_loss < 0.02, table(results)
    assert back.reached_after_s is not None and back.reached_after_s <= 15.0, table(results)
    for step in results:
        assert step.unshaped_high > 0.9, table(results)
