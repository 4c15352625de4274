"""Where a spread meeting's next listener goes (``WorkerPool.place_listener``, sfu/spread.py):
home while the home worker has fewer consumers than the limit (its last load plus what was
placed on it since), then the least loaded worker under the limit, then the least loaded of
all; with no limit, always home."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sfu.commands import Load
from sfu.worker_client import WorkerPool


def pool(limit: int, consumers: list[int], pending: list[int] | None = None) -> WorkerPool:
    # never started: no process, no socket folder made
    workers = WorkerPool(len(consumers), {}, Path("/nonexistent"), max_consumers=limit)
    for slot, n, extra in zip(workers.slots, consumers, pending or [0] * len(consumers),
                              strict=True):
        slot.up = True
        slot.connection = object()  # type: ignore[assignment]  # placement only reads it
        slot.load = Load(1000 + slot.index, n, 0.0, ())
        slot.pending = extra
    return workers


def names(workers: WorkerPool, home: int) -> str:
    return workers.place_listener(workers.slots[home]).name


def test_home_until_the_limit_then_the_least_loaded() -> None:
    assert names(pool(100, [90, 0, 0]), 0) == "worker-0"
    assert names(pool(100, [100, 40, 10]), 0) == "worker-2"
    assert names(pool(100, [100, 10, 10]), 0) == "worker-1"  # a tie: the lower index
    # what was placed since the last load counts: listeners arriving together spread
    assert names(pool(100, [60, 0, 0], [40, 0, 0]), 0) == "worker-1"
    assert names(pool(100, [100, 20, 0], [0, 0, 30]), 0) == "worker-1"


def test_every_worker_over_the_limit_the_least_loaded_of_all() -> None:
    assert names(pool(100, [300, 150, 120]), 0) == "worker-2"
    assert names(pool(100, [300, 150, 120]), 2) == "worker-2"


def test_no_limit_keeps_every_listener_home() -> None:
    assert names(pool(0, [10_000, 0]), 0) == "worker-0"


def test_a_worker_that_is_down_takes_nobody() -> None:
    workers: Any = pool(100, [100, 0, 50])
    workers.slots[1].up = False
    assert names(workers, 0) == "worker-2"


def test_a_negative_limit_is_refused() -> None:
    try:
        WorkerPool(2, {}, Path("/nonexistent"), max_consumers=-1)
    except ValueError as exc:
        assert "max_consumers" in str(exc)
    else:
        raise AssertionError("a negative limit was accepted")
