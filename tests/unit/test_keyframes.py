"""sfu/keyframes.py: keyframe requests towards one publisher, merged per interval."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from sfu.keyframes import KeyframeThrottle

INTERVAL = 0.1


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.times: list[float] = []
        self.fail = fail

    async def __call__(self) -> None:
        self.times.append(time.monotonic())
        if self.fail:
            raise RuntimeError("publisher gone")


async def settle() -> None:
    """Let tasks created by call_soon/ensure_future run."""
    for _ in range(3):
        await asyncio.sleep(0)


async def test_first_request_is_sent_at_once() -> None:
    rec = Recorder()
    throttle = KeyframeThrottle(rec, interval_s=INTERVAL)
    start = time.monotonic()
    throttle.request()
    assert throttle.sent == 1
    assert throttle.merged == 0
    await settle()
    assert len(rec.times) == 1
    assert rec.times[0] - start < INTERVAL / 2
    throttle.close()


async def test_requests_inside_interval_merge_into_one_deferred_send() -> None:
    rec = Recorder()
    throttle = KeyframeThrottle(rec, interval_s=INTERVAL)
    start = time.monotonic()
    throttle.request()
    await settle()
    for _ in range(5):
        throttle.request()
    assert throttle.sent == 1
    assert throttle.merged == 5
    await settle()
    assert len(rec.times) == 1  # nothing more before the interval ends
    await asyncio.sleep(INTERVAL * 1.2)
    await settle()
    assert len(rec.times) == 2  # exactly one deferred send
    assert throttle.sent == 2
    assert rec.times[1] - start >= INTERVAL * 0.9
    # and no further sends after that
    await asyncio.sleep(INTERVAL * 0.2)
    assert len(rec.times) == 2
    throttle.close()


async def test_deferred_send_at_end_of_interval_not_later() -> None:
    interval = 0.2  # wide enough that a loaded machine's scheduling does not decide it
    rec = Recorder()
    throttle = KeyframeThrottle(rec, interval_s=interval)
    throttle.request()
    await settle()
    await asyncio.sleep(interval * 0.5)
    throttle.request()  # halfway through: deferred for ~interval/2
    assert len(rec.times) == 1
    await asyncio.sleep(interval * 0.5 + 0.1)
    await settle()
    assert len(rec.times) == 2
    gap = rec.times[1] - rec.times[0]
    assert interval * 0.9 <= gap < interval + 0.1
    throttle.close()


async def test_request_after_interval_is_sent_at_once() -> None:
    rec = Recorder()
    throttle = KeyframeThrottle(rec, interval_s=0.04)
    throttle.request()
    await asyncio.sleep(0.05)
    throttle.request()
    assert throttle.sent == 2
    assert throttle.merged == 0
    await settle()
    assert len(rec.times) == 2
    throttle.close()


async def test_request_right_after_deferred_send_is_deferred_again() -> None:
    rec = Recorder()
    throttle = KeyframeThrottle(rec, interval_s=0.04)
    throttle.request()
    throttle.request()  # deferred
    await asyncio.sleep(0.05)
    await settle()
    assert throttle.sent == 2
    throttle.request()  # the deferred send just happened: wait a full interval again
    assert throttle.sent == 2
    assert throttle.merged == 2
    throttle.close()
    await asyncio.sleep(0.05)
    assert throttle.sent == 2
    assert len(rec.times) == 2


async def test_close_cancels_pending_send() -> None:
    rec = Recorder()
    throttle = KeyframeThrottle(rec, interval_s=INTERVAL)
    throttle.request()
    throttle.request()
    throttle.close()
    await asyncio.sleep(INTERVAL * 1.2)
    await settle()
    assert len(rec.times) == 1
    assert throttle.sent == 1


async def test_close_without_pending_and_twice_is_harmless() -> None:
    rec = Recorder()
    throttle = KeyframeThrottle(rec, interval_s=INTERVAL)
    throttle.close()
    throttle.request()
    throttle.close()
    throttle.close()
    await settle()
    assert len(rec.times) == 1


async def test_failing_send_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    rec = Recorder(fail=True)
    throttle = KeyframeThrottle(rec, interval_s=0.03)
    loop_errors: list[dict] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, ctx: loop_errors.append(ctx))
    try:
        with caplog.at_level(logging.ERROR, logger="sfu.keyframes"):
            throttle.request()  # must not raise
            await settle()
            throttle.request()
            await asyncio.sleep(0.045)
            await settle()
    finally:
        loop.set_exception_handler(None)
    assert len(rec.times) == 2
    assert throttle.sent == 2
    failures = [r for r in caplog.records if r.name == "sfu.keyframes"]
    assert len(failures) == 2
    assert all(r.levelno == logging.ERROR and r.exc_info for r in failures)
    assert "publisher gone" in caplog.text
    assert loop_errors == []  # no "Task exception was never retrieved"
    throttle.close()


async def test_failing_send_does_not_stop_later_requests() -> None:
    calls = 0

    async def flaky() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("boom")

    throttle = KeyframeThrottle(flaky, interval_s=0.03)
    throttle.request()
    await asyncio.sleep(0.04)
    throttle.request()
    await settle()
    assert calls == 2
    throttle.close()


async def test_counters_many_requests() -> None:
    rec = Recorder()
    throttle = KeyframeThrottle(rec, interval_s=INTERVAL)
    for _ in range(100):
        throttle.request()
    assert throttle.sent == 1
    assert throttle.merged == 99
    throttle.close()
    await settle()
    assert len(rec.times) == 1

