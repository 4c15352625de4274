"""sfu/collector.py: live connections' objects out of the collector's full passes, and what
closed connections left freed again."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from sfu.collector import Collector
from sfu.events import TransportStateChanged


class Cycle:
    def __init__(self) -> None:
        self.me = self


def state(transport: str, value: str) -> TransportStateChanged:
    return TransportStateChanged("m1", f"p-{transport}", transport, "subscribe", value)


@pytest.fixture
def collector() -> Iterator[Collector]:
    gc.unfreeze()
    try:
        yield Collector(release_share=0.25, release_min=2)
    finally:
        gc.unfreeze()  # the test process keeps CPython's defaults


def test_a_connection_up_freezes_what_lives_and_closes_release_it(collector: Collector) -> None:
    kept = Cycle()  # what a live connection holds: a cycle
    ref = weakref.ref(kept)
    collector.on_event(state("t1", "connecting"))
    assert gc.get_freeze_count() == 0
    collector.on_event(state("t1", "connected"))
    frozen = gc.get_freeze_count()
    assert frozen > 0 and collector.up == {("m1", "t1")}
    del kept
    gc.collect()
    assert ref() is not None  # frozen: no pass walks it
    collector.on_event(state("t1", "connected"))  # the same connection again: no new freeze
    assert collector.freezes == 1
    collector.on_event(state("t9", "closed"))  # never connected: not counted
    assert collector.closed_since_release == 0
    collector.on_event(state("t2", "connected"))
    collector.on_event(state("t1", "failed"))
    collector.on_event(state("t1", "closed"))  # failed, then closed: one connection
    assert collector.closed_since_release == 1 and gc.get_freeze_count() > 0
    collector.on_event(state("t2", "closed"))  # release_min reached
    assert collector.releases == 1 and collector.closed_since_release == 0
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert ref() is None  # the cycle a closed connection left is freed


def test_releases_wait_for_a_share_of_the_live_connections(collector: Collector) -> None:
    for n in range(12):
        collector.on_event(state(f"t{n}", "connected"))
    collector.on_event(state("t0", "closed"))
    collector.on_event(state("t1", "closed"))  # 2 < 0.25 x 10 live
    assert collector.releases == 0
    collector.on_event(state("t2", "closed"))  # 3 >= 0.25 x 9
    assert collector.releases == 1
    collector.start()  # start-up: everything made so far frozen
    assert gc.get_freeze_count() > 0
    with pytest.raises(ValueError):
        Collector(release_share=0)
