"""Downlink: one subscriber's bandwidth, beside ``Uplink`` (a publisher's).

It holds the subscriber's estimate (``BandwidthEstimate``), the layer chosen for each of its
video slots, the listener's "low bandwidth" switch and the probe padding owed, and turns an
allocation (``allocation.allocate``) into layer choices with the audio-only delay. The
Router says what each slot could carry (``VideoWant``, from its maps of producers) and
applies the layers this object chose; the rules here were tuned on shaped links
(docs/architecture.md, "Adaptive bitrate") and were moved out of the router unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from .allocation import VideoWant, allocate
from .bandwidth import BandwidthEstimate

REPAIR_SHARE = 0.2  # retransmissions to a subscriber: at most this share of its estimate
REPAIR_MIN_BPS = 32_000
TRICKLE_BYTES = 40  # padding for feedback while no video flows: about 1.5 kbit/s
AUDIO_ONLY_AFTER_S = 2.0
PROBE_TICK_S = 0.02
TRICKLE_EVERY = int(0.5 / PROBE_TICK_S)


class RepairBudget(Protocol):
    repair_bps: float | None


class PaddingCarrier(Protocol):
    def send_padding(self, size: int) -> int: ...


@dataclass
class Downlink:
    estimate: BandwidthEstimate = field(default_factory=BandwidthEstimate)
    layers: dict[str, int | None] = field(default_factory=dict)  # video slot -> layer
    video_allowed: bool = True
    last_allocation_bps: float = 0.0
    probe_bps: float = 0.0  # padding to send on top of the media while probing
    padding_owed: float = 0.0  # bytes of probe padding not sent yet
    cut_since: dict[str, float] = field(default_factory=dict)  # video slot -> asked to cut

    def feedback(self, kind: str, value: float) -> None:
        """A consumer's report from the subscriber (loss, REMB, RTT, NACKs, delay)."""
        now = time.monotonic()
        if kind == "loss":
            self.estimate.on_loss(value, now, self.last_allocation_bps or None)
        elif kind == "remb":
            self.estimate.on_remb(value, now, self.last_allocation_bps or None)
        elif kind == "rtt":
            self.estimate.on_rtt(value)
        elif kind == "nack":
            self.estimate.on_nack(int(value), now)
        elif kind == "delay":
            self.estimate.on_delay(value, now)

    def spend(self, now: float, audio_bps: float, wants: list[VideoWant],
              repairs: Sequence[RepairBudget]) -> bool:
        """Spend the estimate: audio first, then the floor speaker's video, then the other
        seats, then the screen. Sets each repaired consumer's budget and the probe padding;
        True when a slot's layer changed (the router then re-feeds the slots)."""
        self.estimate.probe_verdict(now)
        estimate = self.estimate.estimate()
        result = allocate(estimate, audio_bps, wants, video_allowed=self.video_allowed)
        self.last_allocation_bps = result.spent_bps
        # repairs get a share of the link on top of what the allocation spends
        repair_bps = max(REPAIR_MIN_BPS, REPAIR_SHARE * estimate)
        for consumer in repairs:
            consumer.repair_bps = repair_bps
        self.estimate.probe_for(result.wanted_bps, now, result.spent_bps)
        target = self.estimate.probe_target
        self.probe_bps = max(0.0, target - result.spent_bps) if target is not None else 0.0
        if self.probe_bps <= 0:
            self.padding_owed = 0.0  # (the router's tick skips a subscriber not probing)
        changed = False
        for key, layer in result.layers.items():
            current = self.layers.get(key, "unset")
            if layer is None and isinstance(current, int) and self.video_allowed:
                # cutting a picture altogether is the drastic step: only when the allocation
                # has asked for it for AUDIO_ONLY_AFTER_S; meanwhile the lowest layer (a
                # lower layer happens at once)
                since = self.cut_since.setdefault(key, now)
                lowest = next((w.layers[0] for w in wants if w.key == key), 0.0)
                # a link that collapsed (the estimate under half what the lowest layer and
                # the audio take) is cut at once: waiting floods it for two seconds
                collapsed = estimate < 0.5 * (lowest + audio_bps)
                if now - since < AUDIO_ONLY_AFTER_S and not collapsed:
                    layer = 0
            else:
                self.cut_since.pop(key, None)
            if current != layer:
                self.layers[key] = layer
                changed = True
                self.estimate.note(now, f"{key} layer {current} -> {layer} "
                                        f"(estimate {int(estimate)})")
        return changed

    def check_probe(self) -> bool:
        """The first half of a probing tick (every ``PROBE_TICK_S``): a probe that failed
        stops at once (the link is full); True when one just passed, to be spent now
        (``spend``) rather than at the next allocation round."""
        if self.probe_bps > 0:
            verdict = self.estimate.probe_verdict(time.monotonic())
            if verdict == "failed":
                self.probe_bps = 0.0
                self.padding_owed = 0.0
            elif verdict == "passed":
                return True
        return False

    def send_owed(self, carrier: PaddingCarrier, tick: int, video_flows: bool) -> None:
        """The second half of a probing tick: the padding owed, on ``carrier`` (a video
        consumer, on its media SSRC, between frames: a tick that finds a frame half sent
        leaves its share to the next); while no video flows, a trickle every 500 ms, so the
        browser's video reports say what the link does every second (audio is reported only
        every ~5 s)."""
        if self.probe_bps > 0:
            # owed bytes carry over a skipped tick, at most 100 ms worth
            self.padding_owed = min(self.padding_owed + self.probe_bps * PROBE_TICK_S / 8,
                                    self.probe_bps * 0.1 / 8)
            self.padding_owed -= carrier.send_padding(int(self.padding_owed))
        else:
            self.padding_owed = 0.0
            if tick % TRICKLE_EVERY == 0 and self.video_allowed and not video_flows:
                carrier.send_padding(TRICKLE_BYTES)
