"""Driving the meeting page (web/templates/meeting.html) from Playwright.

The page exposes `window.rostrum` (web/static/meeting.js) for tests: `view`, `error`, `client`,
`stats()`, `frequencies()`, `room`, `mix()`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


class PageLog:
    """Console messages and page errors of one page, for failure reports."""

    def __init__(self, page: Any, label: str) -> None:
        self.label = label
        self.lines: list[str] = []
        page.on(
            "console", lambda msg: self.lines.append(f"[{label}] console.{msg.type}: {msg.text}")
        )
        page.on("pageerror", lambda err: self.lines.append(f"[{label}] pageerror: {err}"))
        page.on("response", self._on_response)

    def _on_response(self, response: Any) -> None:
        if response.status >= 400:
            self.lines.append(f"[{self.label}] HTTP {response.status} {response.url}")

    def tail(self, n: int = 30) -> str:
        return "\n".join(self.lines[-n:])


async def poll(
    probe: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    *,
    timeout: float = 30.0,
    interval: float = 0.5,
) -> T:
    """Call `probe` until `done(result)` or the deadline; returns the last result either way."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if done(result) or time.monotonic() >= deadline:
            return result
        await asyncio.sleep(interval)


async def wait_for_view(page: Any, view: str, timeout: float = 20.0) -> None:
    """Wait until the page reaches `view`; fail early with the page's error if it shows one.
    Polls with `evaluate` (never a string compiled in the page): works with the page's
    Content-Security-Policy in force (`launch_browser(..., bypass_csp=False)`)."""
    await poll(lambda: page.evaluate("() => window.rostrum?.view"),
               lambda v: v in (view, "error"), timeout=timeout, interval=0.1)
    state = await page.evaluate(
        "() => ({view: window.rostrum?.view, error: window.rostrum?.error})")
    if state["view"] != view:
        raise AssertionError(f"page shows an error instead of {view!r}: {state['error']}")


async def join_meeting(
    page: Any,
    link: str,
    *,
    name: str,
    organization: str = "",
    member_state: str = "",
    original_sound: bool = True,
) -> str:
    """Open a join link, fill the join form, press Join, wait for the room; returns own id.

    `original_sound` turns off echo cancellation, noise suppression and gain control: a steady
    test tone is exactly what a noise suppressor learns to remove.
    """
    await page.goto(link)
    await wait_for_view(page, "join")
    await page.fill("#join-name", name)
    await page.fill("#join-organization", organization)
    await page.fill("#join-member-state", member_state)
    # Devices are listed once the preview stream is open (roles that never send media, the
    # observer and the captioner, are not asked for devices at all).
    if await page.locator("#join-microphone").count():
        await poll(lambda: page.evaluate(
            "() => document.querySelectorAll('#join-microphone option').length"),
            lambda n: n > 1, timeout=30, interval=0.1)
        if original_sound:
            await page.check("#join-original-sound")
    await page.click("#join-submit")
    await wait_for_view(page, "room")
    return str(await page.evaluate("window.rostrum.client.self.id"))


async def slot_stats(page: Any) -> list[dict[str, Any]]:
    return list(await page.evaluate("window.rostrum.stats()"))


async def heard(page: Any) -> list[dict[str, Any]]:
    """Dominant frequency per audio slot (about 1.5 s of listening)."""
    return list(await page.evaluate("window.rostrum.frequencies()"))


async def client_state(page: Any) -> dict[str, Any]:
    return dict(
        await page.evaluate(
            """() => {
                const c = window.rostrum.client;
                return {
                    view: window.rostrum.view,
                    error: window.rostrum.error,
                    connections: c.connectionStates,
                    self: c.self,
                    participants: c.participants,
                    slots: c.slots.map(({track, participant, ...s}) =>
                        ({...s, track: track ? {muted: track.muted, readyState: track.readyState} : null})),
                    notice: document.querySelector('#room-error:not([hidden])')?.textContent ?? null,
                };
            }"""
        )
    )


async def local_candidate_addresses(page: Any) -> list[str]:
    """Addresses of the local ICE candidates of both peer connections (from getStats)."""
    return list(
        await page.evaluate(
            """async () => {
                const out = [];
                for (const which of ['publish', 'subscribe']) {
                    const report = await window.rostrum.client.rawStats(which);
                    report?.forEach((s) => {
                        if (s.type === 'local-candidate') out.push(s.address ?? s.ip ?? '');
                    });
                }
                return out;
            }"""
        )
    )


async def new_page(context: Any) -> Any:
    """The first page of a persistent context (Chromium opens one), or a new one."""
    return context.pages[0] if context.pages else await context.new_page()


async def mix(page: Any) -> dict[str, Any]:
    """What the page's audio mixer plays now: `{webAudio, choice, mix: {frequency, db},
    routes: [{mid, role, participantId, level, db}]}` (web/static/diagnostics.js)."""
    return dict(await page.evaluate("window.rostrum.mix()"))


async def floor_state(page: Any) -> dict[str, Any] | None:
    state = await page.evaluate("window.rostrum.client.floor")
    return dict(state) if state else None


async def interpretation_state(page: Any) -> dict[str, Any] | None:
    state = await page.evaluate("window.rostrum.client.interpretation")
    return dict(state) if state else None


async def outbound_video(page: Any, field: str) -> dict[str, int]:
    """mid → one counter of each video `outbound-rtp` of the page's publish connection
    (`packetsSent`, `frameWidth`, ...; 0 while the browser reports none)."""
    return dict(
        await page.evaluate(
            """async (field) => {
                const out = {};
                const report = await window.rostrum.client.rawStats('publish');
                report?.forEach((s) => {
                    if (s.type === 'outbound-rtp' && s.kind === 'video' && s.mid !== undefined)
                        out[s.mid] = s[field] ?? 0;
                });
                return out;
            }""",
            field,
        )
    )
