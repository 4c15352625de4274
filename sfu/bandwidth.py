"""How much one subscriber's downlink carries: an estimate from receiver-report loss and REMB,
and probing to find out whether it carries more. Pure: inputs are numbers and times.

- Loss (Galène's rule): above 10 % in two reports in a row, the estimate goes below what is
  being sent, in proportion to the loss (at most once a second: several reports describe
  the same interval).
- REMB (the receiver's delay-based estimate) is read as a congestion signal when it is below
  what the SFU sends and the receiver also reports loss (a REMB dip alone is also what a
  CPU-starved receiver reports). A REMB above it says nothing about the ceiling: a
  receiver only reports up to about 1.5 times what it receives. So once the SFU sends less
  (low layer, audio only), REMB alone never grows back (mediasoup#316).
- The estimate starts unlimited: nothing is held back until the link shows a limit.
- The way up is probing: when the allocator would use more than the estimate, the SFU sends
  padding on top of the media up to a target (×1.5 the estimate, ×1.15 near a level that
  failed before) for 1.5 s. No loss: the target becomes the estimate. Loss: the target is
  remembered as a ceiling, not probed again for 8 s (doubling on repeated failure, at most
  32 s), so a link at its limit is not hit again and again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

LOSS_DROP = 0.10
LOSS_CLEAN = 0.02
PROBE_FAIL_LOSS = 0.03
FLOOR_BPS = 30_000
CEILING_BPS = 20_000_000
PROBE_STEP = 1.5
PROBE_STEP_NEAR_CEILING = 1.15
PROBE_DURATION_S = 1.5
PROBE_QUIET_S = 1.0
CEILING_MEMORY_S = 8.0
CEILING_MEMORY_MAX_S = 32.0


@dataclass
class BandwidthEstimate:
    # Optimistic until the link says otherwise: a subscriber gets everything until loss or a
    # congested REMB shows a limit (then probing finds the way back up). Starting low instead
    # would hold video back from every listener for the seconds probing takes, on the good
    # links that most listeners have.
    bps: float = 20_000_000.0
    remb_bps: float | None = None
    remb_at: float = -1e9
    remb_low_count: int = 0
    loss: float = 0.0
    loss_at: float = -1e9
    clean_since: float = 0.0
    last_drop: float = -1e9
    rtt_s: float | None = None
    probe_target: float | None = None
    probe_started: float = 0.0
    ceiling: float | None = None
    ceiling_until: float = -1e9
    ceiling_memory_s: float = CEILING_MEMORY_S
    history: list[tuple[float, str]] = field(default_factory=list)

    # inputs

    def on_loss(self, fraction: float, now: float, sending_bps: float | None = None) -> None:
        """Fraction lost (0..1) from a receiver report; ``sending_bps``: what the SFU sends
        this receiver now."""
        previous, previous_at = self.loss, self.loss_at
        self.loss = min(max(fraction, 0.0), 1.0)
        self.loss_at = now
        if self.loss > LOSS_CLEAN:
            self.clean_since = now
        # two lossy reports in a row (within 3 s): one alone can be a receiver's stall (a
        # loaded machine drops packets from its own socket buffer), not the link
        sustained = previous > LOSS_DROP and now - previous_at < 3.0
        if self.loss > LOSS_DROP and sustained and now - self.last_drop >= 1.0:
            base = self.bps if sending_bps is None else min(self.bps, sending_bps)
            self.bps = max(FLOOR_BPS, base * (1 - 0.5 * self.loss))
            self.last_drop = now
            self.history.append((now, f"loss {self.loss:.2f}: {int(self.bps)}"))

    def on_remb(self, bps: float, now: float, sending_bps: float | None = None) -> None:
        self.remb_bps = max(float(bps), 0.0)
        self.remb_at = now
        below = sending_bps is None or self.remb_bps < 0.85 * sending_bps
        self.remb_low_count = self.remb_low_count + 1 if below else 0
        # below what is sent *and* with loss: a REMB dip alone is also what a receiver whose
        # CPU is starved reports (its delay-based estimator reads the stall as queuing)
        if below and self.loss > LOSS_CLEAN and self.remb_bps < self.bps:
            self.bps = max(FLOOR_BPS, self.remb_bps)
            self.history.append((now, f"remb {int(self.bps)}"))

    def on_rtt(self, rtt_s: float) -> None:
        self.rtt_s = rtt_s

    # probing

    def probe_for(self, wanted_bps: float, now: float) -> float | None:
        """Start a probe towards ``wanted_bps`` (what the allocator would spend with no limit)
        when it is above the estimate and the link has been clean; return the target."""
        if self.probe_target is not None or wanted_bps <= self.bps * 1.05:
            return None
        if self.loss > LOSS_CLEAN or now - self.clean_since < PROBE_QUIET_S:
            return None  # the last report was lossy, or was not long ago
        step = PROBE_STEP
        ceiling = self.ceiling if now < self.ceiling_until else None
        if ceiling is not None:
            if self.bps * PROBE_STEP_NEAR_CEILING > 0.95 * ceiling:
                return None  # right under a level that failed recently
            step = PROBE_STEP_NEAR_CEILING if self.bps * PROBE_STEP > 0.8 * ceiling else step
        target = min(wanted_bps * 1.1, self.bps * step, CEILING_BPS)
        if ceiling is not None:
            target = min(target, 0.95 * ceiling)
        self.probe_target = target
        self.probe_started = now
        self.history.append((now, f"probe {int(target)}"))
        return target

    def probe_verdict(self, now: float) -> str | None:
        """"failed", "passed" or None (running, or no probe)."""
        if self.probe_target is None:
            return None
        target = self.probe_target
        # loss decides: a receiver's REMB lags a probe (it reports up to ~1.5 times what it
        # received), so a REMB under the target is no verdict
        lossy = self.loss_at > self.probe_started + 0.2 and self.loss > PROBE_FAIL_LOSS
        if lossy:
            self.probe_target = None
            repeated = self.ceiling is not None and now < self.ceiling_until + 4.0 and \
                abs(target - self.ceiling) < 0.3 * self.ceiling
            self.ceiling_memory_s = min(self.ceiling_memory_s * 2, CEILING_MEMORY_MAX_S) \
                if repeated else CEILING_MEMORY_S
            self.ceiling = target
            self.ceiling_until = now + self.ceiling_memory_s
            self.clean_since = now
            self.history.append((now, "probe failed"))
            return "failed"
        if now - self.probe_started >= PROBE_DURATION_S:
            self.probe_target = None
            self.bps = max(self.bps, target)
            self.history.append((now, "probe passed"))
            return "passed"
        return None

    def estimate(self) -> float:
        return min(max(self.bps, FLOOR_BPS), CEILING_BPS)
