"""Three delegates in Chromium join one meeting, publish mic + camera and subscribe: each sees
the other two's video and hears the other two's tones, and not its own.

Each delegate is its own Chromium process (one fake microphone per process) fed a distinct tone;
a listener names what it hears with WebAudio (web/static/diagnostics.js).
"""

from __future__ import annotations

import asyncio
import json
from functools import partial
from typing import Any

import pytest

from tests.browser.pages import (
    PageLog,
    client_state,
    heard,
    join_meeting,
    local_candidate_addresses,
    poll,
    slot_stats,
)

pytestmark = [pytest.mark.browser, pytest.mark.network]

DELEGATES: dict[str, tuple[float, str, str]] = {
    # name: (tone Hz, organization, member state)
    "Amina Diallo": (440.0, "Ministry of Communications", "Senegal"),
    "Bruno Keller": (660.0, "OFCOM", "Switzerland"),
    "Chen Wei": (880.0, "CAICT", "China"),
}
TOLERANCE_HZ = 15.0
DEADLINE_S = 30.0


def _near(frequency: float | None, target: float) -> bool:
    return frequency is not None and abs(frequency - target) <= TOLERANCE_HZ


async def _video_progress(page: Any) -> dict[str, dict[str, int]]:
    """participantId → frames decoded over one second and frame width, per fed video slot."""
    before = {s["mid"]: s for s in await slot_stats(page)}
    await asyncio.sleep(1.0)
    out: dict[str, dict[str, int]] = {}
    for s in await slot_stats(page):
        if s["kind"] != "video" or not s["participantId"]:
            continue
        gained = s["framesDecoded"] - before.get(s["mid"], {}).get("framesDecoded", 0)
        out[s["participantId"]] = {"framesGained": gained, "frameWidth": s["frameWidth"]}
    return out


async def test_three_delegates_see_and_hear_each_other(
    launch_browser: Any, make_tone: Any, rostrum_server: Any, browser_namespace: Any
) -> None:
    pages: dict[str, Any] = {}
    logs: dict[str, PageLog] = {}
    ids: dict[str, str] = {}
    for name, (tone, organization, member_state) in DELEGATES.items():
        context = await launch_browser(make_tone(tone))
        page = context.pages[0] if context.pages else await context.new_page()
        logs[name] = PageLog(page, name)
        pages[name] = page
        link = rostrum_server.join_link(role="delegate")
        try:
            ids[name] = await join_meeting(
                page, link, name=name, organization=organization, member_state=member_state
            )
        except Exception as err:
            raise AssertionError(f"{name} could not join: {err}\n{logs[name].tail()}") from err
    names_by_id = {pid: name for name, pid in ids.items()}

    async def report(name: str) -> str:
        state = await client_state(pages[name])
        stats = await slot_stats(pages[name])
        return (
            f"--- {name} ({ids[name]}), ids: {json.dumps(names_by_id)}\n"
            f"state: {json.dumps(state, indent=1)}\nstats: {json.dumps(stats, indent=1)}\n"
            f"{logs[name].tail()}"
        )

    # Video: frames from both others decode and keep decoding.
    for name, page in pages.items():
        others = {ids[o] for o in DELEGATES if o != name}

        def video_ok(progress: dict[str, dict[str, int]], others: set[str] = others) -> bool:
            return all(
                pid in progress
                and progress[pid]["framesGained"] > 0
                and progress[pid]["frameWidth"] > 0
                for pid in others
            )

        progress = await poll(partial(_video_progress, page), video_ok, timeout=DEADLINE_S)
        if not video_ok(progress):
            pytest.fail(
                f"{name} does not decode video from both others: {progress}\n{await report(name)}"
            )
        assert ids[name] not in progress, f"{name} receives its own camera"

    # Traffic rule: no ICE servers unless configured, and host candidates are the namespace's
    # own address (no mDNS names, nothing else). Both connections are up by now.
    for name, page in pages.items():
        assert await page.evaluate("window.rostrum.client.iceServers") == [], name
        addresses = await local_candidate_addresses(page)
        assert addresses and set(addresses) == {browser_namespace.ns_address}, (name, addresses)

    # Audio: each listener hears both other tones, each on the slot announced for its speaker,
    # and never its own tone.
    for name, page in pages.items():
        own_tone = DELEGATES[name][0]
        expected = {ids[o]: DELEGATES[o][0] for o in DELEGATES if o != name}

        def audio_ok(
            slots: list[dict[str, Any]],
            expected: dict[str, float] = expected,
            own_tone: float = own_tone,
        ) -> bool:
            if any(_near(s["frequency"], own_tone) for s in slots):
                return False
            return all(
                any(s["participantId"] == pid and _near(s["frequency"], tone) for s in slots)
                for pid, tone in expected.items()
            )

        slots = await poll(partial(heard, page), audio_ok, timeout=DEADLINE_S)
        if not audio_ok(slots):
            want = {names_by_id[pid]: tone for pid, tone in expected.items()}
            pytest.fail(
                f"{name} (own tone {own_tone} Hz) should hear {want} on the slots announced "
                f"for them; heard {slots}\n{await report(name)}"
            )
