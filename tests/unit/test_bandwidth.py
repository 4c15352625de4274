"""The downlink estimate and its probing (sfu/bandwidth.py) and the allocation of it
(sfu/allocation.py): pure rules with explicit times."""

from __future__ import annotations

import pytest

from sfu.allocation import VideoWant, allocate
from sfu.bandwidth import CEILING_MEMORY_MAX_S, FLOOR_BPS, BandwidthEstimate


def test_heavy_loss_drops_below_what_is_sent_once_in_two_seconds() -> None:
    est = BandwidthEstimate(bps=1_000_000)
    est.on_loss(0.5, now=9.5, sending_bps=800_000)
    assert est.bps == 1_000_000  # one lossy report alone may be a stall, not the link
    est.on_loss(0.5, now=10.0, sending_bps=800_000)
    assert est.bps == 800_000 * 0.75
    est.on_loss(0.5, now=10.4, sending_bps=800_000)  # the same interval, reported again
    assert est.bps == 600_000
    est.on_loss(0.5, now=11.1, sending_bps=600_000)  # still about the old rate's queue
    assert est.bps == 600_000
    est.on_loss(0.5, now=12.1, sending_bps=600_000)
    assert est.bps == 450_000


def test_moderate_loss_holds_and_never_goes_below_the_floor() -> None:
    est = BandwidthEstimate(bps=500_000)
    est.on_loss(0.05, now=1.0, sending_bps=500_000)
    assert est.bps == 500_000
    for i in range(40):
        est.on_loss(1.0, now=2.0 + 1.1 * i, sending_bps=est.bps)
    assert est.bps == FLOOR_BPS


def test_remb_is_a_congestion_signal_only_below_what_is_sent() -> None:
    est = BandwidthEstimate(bps=1_000_000)
    est.on_remb(300_000, now=1.0, sending_bps=200_000)  # above what is sent: no news
    est.on_remb(300_000, now=2.0, sending_bps=200_000)
    assert est.bps == 1_000_000
    est.on_remb(400_000, now=3.0, sending_bps=700_000)  # low REMBs without loss: a
    est.on_remb(400_000, now=4.0, sending_bps=700_000)  # starved receiver, maybe: no cut
    assert est.bps == 1_000_000
    est2 = BandwidthEstimate(bps=1_000_000)
    est2.on_loss(0.03, now=1.0)
    est2.on_remb(400_000, now=1.1, sending_bps=700_000)  # a little loss: not enough
    assert est2.bps == 1_000_000
    est2.on_loss(0.08, now=1.5)
    est2.on_remb(400_000, now=1.6, sending_bps=700_000)  # low, with loss: congestion
    assert est2.bps == 400_000


def test_probe_passes_and_raises_the_estimate() -> None:
    est = BandwidthEstimate(bps=200_000, clean_since=0.0)
    target = est.probe_for(2_000_000, now=5.0)
    assert target == 300_000  # ×1.5, not the whole way
    assert est.probe_for(2_000_000, now=5.1) is None  # one at a time
    assert est.probe_verdict(now=6.0) is None
    assert est.probe_verdict(now=6.6) is None  # no report covers the probe yet
    est.on_loss(0.0, now=6.7)
    assert est.probe_verdict(now=6.8) == "passed"
    assert est.bps == 300_000
    # right after a pass, the next step is bolder
    est.on_loss(0.0, now=7.9)
    assert est.probe_for(2_000_000, now=8.0) == 600_000


def test_a_probe_no_report_covers_fails() -> None:
    est = BandwidthEstimate(bps=200_000, clean_since=0.0)
    est.probe_for(2_000_000, now=5.0)
    assert est.probe_verdict(now=6.6) is None
    assert est.probe_verdict(now=8.1) == "failed"
    assert est.bps == 200_000


def test_no_probe_when_nothing_more_is_wanted_or_the_link_is_not_clean() -> None:
    est = BandwidthEstimate(bps=500_000, clean_since=0.0)
    assert est.probe_for(510_000, now=5.0) is None
    est.on_loss(0.05, now=5.0)
    assert est.probe_for(2_000_000, now=5.5) is None  # lossy a moment ago
    est.on_loss(0.0, now=5.8)
    assert est.probe_for(2_000_000, now=5.9) is None  # clean, but only just
    assert est.probe_for(2_000_000, now=6.1) is not None


def test_a_failed_probe_holds_probing_off_for_a_while() -> None:
    est = BandwidthEstimate(bps=200_000, clean_since=0.0)
    assert est.probe_for(1_000_000, now=5.0) == 300_000
    est.on_loss(0.2, now=5.4, sending_bps=300_000)
    est.on_loss(0.2, now=5.5, sending_bps=300_000)
    assert est.probe_verdict(now=5.6) == "failed"
    assert est.ceiling == 300_000
    assert est.bps == 200_000  # back to where it was before the probe
    est.on_loss(0.0, now=8.5)
    assert est.probe_for(1_000_000, now=9.0) is None  # not within 4 s, not even a smaller one
    assert est.probe_for(1_000_000, now=5.6 + 4.1) == 300_000


def test_a_cut_holds_probing_off_for_three_seconds() -> None:
    # loss: two lossy reports cut the estimate; a clean link right after is not probed yet
    est = BandwidthEstimate(bps=600_000, clean_since=0.0)
    est.on_loss(0.2, now=5.0, sending_bps=600_000)
    est.on_loss(0.2, now=5.5, sending_bps=600_000)
    assert est.bps < 600_000
    est.on_loss(0.0, now=6.0)
    assert est.probe_for(2_000_000, now=7.5) is None  # clean for 1.5 s, but cut 2 s ago
    assert est.probe_for(2_000_000, now=8.6) is not None
    # REMB with loss: the same
    est = BandwidthEstimate(bps=600_000, clean_since=0.0)
    est.on_loss(0.08, now=5.0)
    est.on_remb(250_000, now=5.1, sending_bps=500_000)
    assert est.bps == 250_000
    est.on_loss(0.0, now=5.2)
    assert est.probe_for(2_000_000, now=7.9) is None
    assert est.probe_for(2_000_000, now=8.2) is not None


def test_nacks_or_a_falling_remb_end_a_probe_at_once() -> None:
    est = BandwidthEstimate(bps=200_000, clean_since=0.0)
    est.on_remb(400_000, now=4.0, sending_bps=200_000)
    assert est.probe_for(1_000_000, now=5.0) == 300_000
    est.on_nack(2, now=5.05)  # about the time before the probe
    assert est.probe_verdict(now=5.31) is None
    est.on_nack(1, now=5.4)
    assert est.probe_verdict(now=5.41) == "failed"
    est2 = BandwidthEstimate(bps=200_000, clean_since=0.0)
    est2.on_remb(400_000, now=4.0, sending_bps=200_000)
    est2.probe_for(1_000_000, now=5.0)
    est2.on_remb(380_000, now=5.3, sending_bps=200_000)  # 5 % lower: noise
    assert est2.probe_verdict(now=5.31) is None
    est2.on_remb(330_000, now=5.5, sending_bps=200_000)  # the queue grows
    assert est2.probe_verdict(now=5.51) == "failed"
    assert est2.bps == 200_000


def test_probe_verdict_is_loss_not_a_lagging_remb() -> None:
    est = BandwidthEstimate(bps=400_000, clean_since=0.0)
    target = est.probe_for(2_000_000, now=5.0)
    assert target == 600_000
    est.on_remb(300_000, now=5.5, sending_bps=600_000)  # REMB lags the probe
    assert est.probe_verdict(now=5.6) is None
    est.on_loss(0.08, now=5.8, sending_bps=600_000)
    assert est.probe_verdict(now=5.9) == "failed"


def test_repeated_failure_at_the_same_level_remembers_longer() -> None:
    est = BandwidthEstimate(bps=200_000, clean_since=0.0)
    est.probe_for(1_000_000, now=5.0)
    est.on_loss(0.2, now=5.5)
    est.probe_verdict(now=5.6)
    first = est.ceiling_until - 5.6
    est.bps = 200_000
    est.on_loss(0.0, now=8.0)
    assert est.probe_for(1_000_000, now=9.7) is not None
    est.on_loss(0.2, now=10.0)
    est.probe_verdict(now=10.1)
    assert est.ceiling_until - 10.1 == pytest.approx(min(2 * first, CEILING_MEMORY_MAX_S))


def test_allocation_audio_first_then_floor_speaker_then_others() -> None:
    floor = VideoWant("floor", 0, (150_000, 600_000), None)
    other = VideoWant("other", 1, (150_000, 600_000), None)
    # plenty: everyone steps up one layer per round
    a = allocate(3_000_000, 50_000, [other, floor])
    assert a.layers == {"floor": 0, "other": 0}
    a = allocate(3_000_000, 50_000, [VideoWant("floor", 0, (150_000, 600_000), 0),
                                     VideoWant("other", 1, (150_000, 600_000), 0)])
    assert a.layers == {"floor": 1, "other": 1}
    assert a.wanted_bps == 50_000 + 1.3 * (600_000 + 600_000)  # margin included
    # 300 kbit/s: the floor speaker's low layer only
    a = allocate(300_000, 50_000, [VideoWant("floor", 0, (150_000, 600_000), 1),
                                   VideoWant("other", 1, (150_000, 600_000), 1)])
    assert a.layers == {"floor": 0, "other": None}
    # 60 kbit/s: audio only
    a = allocate(60_000, 50_000, [VideoWant("floor", 0, (150_000, 600_000), 0)])
    assert a.layers == {"floor": None}
    assert a.spent_bps == 50_000


def test_allocation_hysteresis_up_needs_margin_down_is_immediate() -> None:
    want_low = VideoWant("v", 1, (150_000, 600_000), 0)
    # 700k fits high (650k) but not with 30 % margin on the step: stays low
    assert allocate(700_000, 50_000, [want_low]).layers == {"v": 0}
    want_high = VideoWant("v", 1, (150_000, 600_000), 1)
    # already high and it fits: stays high
    assert allocate(700_000, 50_000, [want_high]).layers == {"v": 1}
    # a little over the estimate: kept (the tolerance; loss would lower the estimate)
    assert allocate(600_000, 50_000, [want_high]).layers == {"v": 1}
    # no longer fits: down at once
    assert allocate(500_000, 50_000, [want_high]).layers == {"v": 0}


def test_low_bandwidth_switch_is_audio_only() -> None:
    a = allocate(5_000_000, 50_000, [VideoWant("v", 1, (150_000, 600_000), 1)],
                 video_allowed=False)
    assert a.layers == {"v": None} and a.wanted_bps == 50_000


def test_a_probe_that_fills_a_queue_ends_before_anything_is_lost() -> None:
    est = BandwidthEstimate(bps=50_000, clean_since=0.0)
    for t in range(10):
        est.on_delay(0.004 + 0.001 * (t % 3), now=float(t))  # the link's own round trip
    assert est.probe_for(1_000_000, now=10.0) == 75_000
    est.on_delay(0.03, now=10.3)  # 25 ms more: jitter, not a queue
    assert est.probe_verdict(now=10.31) is None
    est.on_delay(0.2, now=10.6)  # packets wait 200 ms: the probe fills the buffer
    assert est.probe_verdict(now=10.61) == "failed"
    assert est.bps == 50_000
