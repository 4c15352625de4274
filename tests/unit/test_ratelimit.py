"""meeting_server/ratelimit.py: token buckets, bounded maps, the client's address."""

from __future__ import annotations

import pytest

from meeting_server.ratelimit import (
    Bucket,
    Buckets,
    Limit,
    RateLimits,
    RateSettings,
    _networks,
    client_address,
)


def test_a_bucket_allows_its_burst_then_its_rate() -> None:
    bucket = Bucket(Limit(rate=2, burst=5), now=0.0)
    assert [bucket.take(0.0) for _ in range(6)] == [True] * 5 + [False]
    assert bucket.retry_after() == pytest.approx(0.5)
    assert bucket.take(0.5) and not bucket.take(0.5)
    assert bucket.take(100.0)  # refills, but never beyond the burst
    assert bucket.level == pytest.approx(4.0)


def test_a_clock_going_backwards_gives_nothing_back() -> None:
    bucket = Bucket(Limit(rate=1, burst=1), now=10.0)
    assert bucket.take(10.0)
    assert not bucket.take(5.0)


def test_buckets_are_bounded() -> None:
    buckets = Buckets(Limit(rate=1, burst=1), max_keys=100)
    for i in range(10_000):
        buckets.take(f"10.0.{i // 256}.{i % 256}", 0.0)
    assert len(buckets) == 100


def test_one_connection_cannot_spend_anothers_budget() -> None:
    now = [0.0]
    limits = RateLimits(RateSettings(event_per_connection=Limit(1, 3),
                                     event_per_address=Limit(1, 100)), clock=lambda: now[0])
    assert all(limits.event("a", "1.2.3.4") for _ in range(3))
    assert not limits.event("a", "1.2.3.4")
    assert limits.event("b", "1.2.3.4")
    assert limits.refused["event"] == 1


def test_an_address_shares_one_budget_across_connections() -> None:
    limits = RateLimits(RateSettings(event_per_connection=Limit(1, 100),
                                     event_per_address=Limit(1, 5)), clock=lambda: 0.0)
    allowed = [limits.event(f"c{i}", "1.2.3.4") for i in range(8)]
    assert allowed == [True] * 5 + [False] * 3
    assert limits.event("c9", "5.6.7.8")


TRUSTED = _networks(["127.0.0.1", "10.0.0.0/8"])


@pytest.mark.parametrize("remote,xff,expected", [
    ("203.0.113.5", None, "203.0.113.5"),
    ("203.0.113.5", "198.51.100.1", "203.0.113.5"),  # not a proxy: its header is not believed
    ("127.0.0.1", "198.51.100.1", "198.51.100.1"),
    ("127.0.0.1", "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # the left is the client's word
    ("127.0.0.1", "198.51.100.1, 10.1.2.3", "198.51.100.1"),  # two proxies of ours
    ("127.0.0.1", "not-an-ip", "127.0.0.1"),
    ("127.0.0.1", "", "127.0.0.1"),
    ("127.0.0.1", "10.1.2.3", "10.1.2.3"),  # only proxies: the first hop
    (None, None, "-"),
])
def test_client_address(remote: str | None, xff: str | None, expected: str) -> None:
    assert client_address(remote, xff, TRUSTED) == expected
