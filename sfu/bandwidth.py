"""How much one subscriber's downlink carries: an estimate from receiver-report loss and REMB,
and probing to find out whether it carries more. Pure: inputs are numbers and times.

- Loss (Galène's rule): above 10 % in two reports in a row, the estimate goes below what is
  being sent, in proportion to the loss (at most once in 2 s: the reports and REMBs of the
  seconds after a cut still describe the queue the old rate filled). The consumer computes
  each loss figure from the cumulative counters of the report blocks over at least 20
  packets or half a second (consumer.py), because a browser sends a report with every NACK
  and most of those cover nothing.
- REMB (the receiver's delay-based estimate) is read as a congestion signal when it is below
  what the SFU sends and the receiver also reports 5 % loss (a REMB dip alone is also what
  a CPU-starved receiver reports). A REMB above it says nothing about the ceiling: a
  receiver only reports up to about 1.5 times what it receives. So once the SFU sends less
  (low layer, audio only), REMB alone never grows back (mediasoup#316).
- The estimate starts unlimited: nothing is held back until the link shows a limit.
- The way up is probing: when the allocator would use more than the estimate, the SFU sends
  padding on top of the media up to a target for 1 s: ×1.5 the estimate, ×2 right after a
  probe passed while far below what is wanted (under 200 kbit/s only after two passes), and
  never more than twice what the link was seen to carry (what is sent with clean reports,
  or a probe that passed lately): an estimate left high while only audio flowed must not
  turn into a probe several times what the link carries.
- A probe ends as failed as soon as the receiver NACKs a packet sent during it (a full
  link's first loss shows within a round trip, so a failed probe costs a few packets, not
  a second of loss), or as soon as its REMB falls 10 % under the one before the probe (the
  receiver's delay-based estimator sees the queue grow before anything is dropped: a
  100 ms buffer swallows a probe 15 % over the link without a single loss), or as soon as
  a report shows packets waiting 60 ms longer than the least of the last 10 s (how long
  ago the newest packet it covers went out: at 60 kbit/s Chromium's REMB sits at its
  30 kbit/s floor and cannot dip, and the buffer holds more than half a second).
- A probe's verdict needs a receiver report that covers most of it. The padding goes on the
  video consumer's media SSRC, so the browser's video report block (every second) covers
  it, also while no video flows; no report within 1.5 s more fails it.
- Nothing is probed for 3 s after a cut (loss or REMB): the link has just said where it is,
  and a probe half again over it on top of the queue the cut is draining only adds loss
  (and, from a browser, a REMB that collapses under the low layer).
- No loss: the target becomes the estimate. Loss: the estimate goes back to where it was
  before the probe and is held there against REMB for 2 s (the loss was the probe's own,
  and a delay-based REMB undershoots while the queue drains), and nothing is probed for
  4 s (5 s when a probe at about the same level failed again just before): a link at its
  limit is not hit again and again (small steps under a recent failure cost the most, for
  nothing: they cannot reach the next layer), and a link that got better is found within
  seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

LOSS_DROP = 0.10
LOSS_CLEAN = 0.02
# after a cut, the reports and REMBs of the next two seconds still describe the queue the
# old rate filled: no second cut on them
DROP_HOLD_S = 2.0
REMB_WITH_LOSS = 0.05  # a REMB under what is sent lowers the estimate with this much loss
PROBE_FAIL_LOSS = 0.03
FLOOR_BPS = 30_000
CEILING_BPS = 20_000_000
PROBE_STEP = 1.5
PROBE_STEP_AGAIN = 2.0
BOLD_FROM_BPS = 200_000
PROBE_REPORT_WAIT_S = 1.5
PROBE_DURATION_S = 1.0
PROBE_MAX_OVER_VERIFIED = 2.0
PROBE_FAIL_NACKS = 1  # packets NACKed during a probe that end it
PROBE_MAX_QUEUE_S = 0.06  # a probe that makes packets wait this much longer ends
DELAY_WINDOW_S = 10.0
PROBE_REMB_DIP = 0.9  # a REMB under this share of the one before the probe ends it
PROBE_NACK_GRACE_S = 0.1  # NACKs this soon after the start are about the time before
PROBE_AFTERMATH_S = 2.0
VERIFIED_MEMORY_S = 10.0
PROBE_QUIET_S = 1.0
CEILING_MEMORY_S = 4.0
CEILING_MEMORY_MAX_S = 5.0
CUT_QUIET_S = 3.0  # no probe this soon after a cut


@dataclass
class BandwidthEstimate:
    # Optimistic until the link says otherwise: a subscriber gets everything until loss or a
    # congested REMB shows a limit (then probing finds the way back up). Starting low instead
    # would hold video back from every listener for the seconds probing takes, on the good
    # links that most listeners have.
    bps: float = 20_000_000.0
    remb_bps: float | None = None
    remb_at: float = -1e9
    loss: float = 0.0
    loss_at: float = -1e9
    clean_since: float = 0.0
    last_drop: float = -1e9
    quiet_until: float = -1e9  # no probe before (a cut just now)
    rtt_s: float | None = None
    probe_target: float | None = None
    probe_started: float = 0.0
    ceiling: float | None = None
    ceiling_until: float = -1e9
    ceiling_memory_s: float = CEILING_MEMORY_S
    last_pass: float = -1e9
    pass_streak: int = 0
    verified_bps: float = 0.0
    verified_at: float = -1e9
    probe_base: float = 0.0
    probe_nacks: int = 0
    probe_remb: float | None = None  # the receiver's REMB when the probe started
    probe_remb_dip: bool = False
    probe_queue: bool = False
    delays: list[tuple[float, float]] = field(default_factory=list)
    protect_bps: float = 0.0
    protect_until: float = -1e9
    loss_from_probe: bool = False
    history: list[tuple[float, str]] = field(default_factory=list)

    # inputs

    def on_loss(self, fraction: float, now: float, sending_bps: float | None = None) -> None:
        """Fraction lost (0..1) from a receiver report; ``sending_bps``: what the SFU sends
        this receiver now."""
        previous, previous_at = self.loss, self.loss_at
        self.loss = min(max(fraction, 0.0), 1.0)
        self.loss_at = now
        # the reports of the second after a failed probe are the probe's own loss
        self.loss_from_probe = now < self.protect_until - PROBE_AFTERMATH_S + 1.2
        if self.loss > LOSS_CLEAN:
            self.clean_since = now
        # two lossy reports in a row (within 3 s): one alone can be a receiver's stall (a
        # loaded machine drops packets from its own socket buffer), not the link
        sustained = previous > LOSS_DROP and now - previous_at < 3.0
        if self.loss > LOSS_DROP and sustained and now - self.last_drop >= DROP_HOLD_S:
            base = self.bps if sending_bps is None else min(self.bps, sending_bps)
            # right after a failed probe, the reports that cover the probe are its own
            # loss; a report after that is the link's
            protected = self._protected(now) if now < self.protect_until - \
                PROBE_AFTERMATH_S + 1.2 else 0.0
            self.bps = max(FLOOR_BPS, base * (1 - 0.5 * self.loss), protected)
            self.last_drop = now
            self.quiet_until = now + CUT_QUIET_S
            self.note(now, f"loss {self.loss:.2f}: {int(self.bps)}")

    def on_remb(self, bps: float, now: float, sending_bps: float | None = None) -> None:
        previous = self.remb_bps
        self.remb_bps = max(float(bps), 0.0)
        self.remb_at = now
        if self.probe_target is not None:
            # during a probe, a REMB that falls is the receiver's delay-based estimator
            # seeing the queue grow: the link is full before it drops anything (a 100 ms
            # buffer swallows a probe 15 % over the link without a single loss)
            if now - self.probe_started > PROBE_NACK_GRACE_S and self.probe_remb is not None \
                    and self.remb_bps < PROBE_REMB_DIP * self.probe_remb:
                self.probe_remb_dip = True
            if self.probe_remb is None:
                self.probe_remb = previous
            return  # the probe's verdict decides, not this REMB
        below = sending_bps is None or self.remb_bps < 0.85 * sending_bps
        # below what is sent *and* with loss: a REMB dip alone is also what a receiver whose
        # CPU is starved reports (its delay-based estimator reads the stall as queuing)
        lowered = max(FLOOR_BPS, self.remb_bps, self._protected(now))
        if below and self.loss > REMB_WITH_LOSS and not self.loss_from_probe and \
                lowered < self.bps and now - self.last_drop >= DROP_HOLD_S:
            self.bps = lowered
            self.last_drop = now
            self.quiet_until = now + CUT_QUIET_S
            self.note(now, f"remb {int(self.bps)}")

    def on_delay(self, delay_s: float, now: float) -> None:
        """How long ago the newest packet a report covers was sent (consumer.py): the round
        trip plus queueing. The least of the last 10 s is the link's own; more than that,
        during a probe, is the queue the probe is filling."""
        self.delays.append((now, delay_s))
        while self.delays and now - self.delays[0][0] > DELAY_WINDOW_S:
            self.delays.pop(0)
        if self.probe_target is not None and now - self.probe_started > PROBE_NACK_GRACE_S:
            base = min(d for _, d in self.delays)
            if delay_s - base > PROBE_MAX_QUEUE_S:
                self.probe_queue = True

    def on_nack(self, count: int, now: float) -> None:
        """Packets a receiver asks for again: during a probe, the first sign that the link
        is full (a NACK comes within a round trip, a report within a second)."""
        if self.probe_target is not None and now - self.probe_started > PROBE_NACK_GRACE_S:
            self.probe_nacks += count

    def _protected(self, now: float) -> float:
        """Right after a failed probe, the level from before it (0 otherwise)."""
        return self.protect_bps if now < self.protect_until else 0.0

    def on_rtt(self, rtt_s: float) -> None:
        self.rtt_s = rtt_s

    def note(self, now: float, what: str) -> None:
        """Keep an event in the history (the last 200), for traces and /metrics."""
        self.history.append((now, what))
        del self.history[:-200]

    # probing

    def probe_for(self, wanted_bps: float, now: float, spent_bps: float = 0.0
                  ) -> float | None:
        """Start a probe towards ``wanted_bps`` (what the allocator would spend with no limit)
        when it is above the estimate and the link has been clean; return the target.
        ``spent_bps``: what is sent now (audio is sent even above the estimate); a probe
        steps up from whichever is higher, or it would probe nothing."""
        if self.probe_target is not None or wanted_bps <= self.bps * 1.05:
            return None
        base = max(self.bps, spent_bps)
        if self.loss > LOSS_CLEAN or now - self.clean_since < PROBE_QUIET_S:
            return None  # the last report was lossy, or was not long ago
        # what the link was seen to carry cleanly: what is sent now (the reports are clean),
        # or a probe that passed lately
        if now - self.verified_at > VERIFIED_MEMORY_S:
            self.verified_bps = 0.0
        if spent_bps > self.verified_bps:
            self.verified_bps, self.verified_at = spent_bps, now
        # a probe that passed just now: the link had room; the next step is bolder
        # (down where audio alone nearly fills the link, only after two passes in a row: a
        # bold step there costs audio)
        step = PROBE_STEP_AGAIN if now - self.last_pass < 3.0 and wanted_bps > 3 * base and (
            base >= BOLD_FROM_BPS or self.pass_streak >= 2) else PROBE_STEP
        if now < self.ceiling_until or now < self.quiet_until:
            return None  # a probe failed lately, or a cut: the link is at its limit
        target = min(wanted_bps * 1.1, base * step, CEILING_BPS)
        if self.verified_bps > 0:
            # at most double what was seen to pass: an estimate left high by a link that
            # got worse since (nothing tested it while only audio flowed) must not send a
            # probe several times what the link carries
            target = min(target, PROBE_MAX_OVER_VERIFIED * self.verified_bps)
        if target <= spent_bps * 1.02:
            return None
        self.probe_target = target
        self.probe_started = now
        self.probe_base = self.bps
        self.probe_nacks = 0
        self.probe_remb = self.remb_bps
        self.probe_remb_dip = False
        self.probe_queue = False
        self.note(now, f"probe {int(target)}")
        return target

    def probe_verdict(self, now: float) -> str | None:
        """"failed", "passed" or None (running, or no probe)."""
        if self.probe_target is None:
            return None
        target = self.probe_target
        # loss decides: a receiver's REMB lags a probe (it reports up to ~1.5 times what it
        # received), so a REMB under the target is no verdict
        lossy = self.loss_at > self.probe_started + 0.2 and self.loss > PROBE_FAIL_LOSS
        if lossy or self.probe_nacks >= PROBE_FAIL_NACKS or self.probe_remb_dip or \
                self.probe_queue:
            self.probe_target = None
            repeated = self.ceiling is not None and now < self.ceiling_until + 4.0 and \
                abs(target - self.ceiling) < 0.3 * self.ceiling
            self.ceiling_memory_s = min(self.ceiling_memory_s * 2, CEILING_MEMORY_MAX_S) \
                if repeated else CEILING_MEMORY_S
            self.ceiling = target
            self.ceiling_until = now + self.ceiling_memory_s
            self.pass_streak = 0
            self.clean_since = now
            # the loss was the probe's own: the link still carries what it carried before,
            # whatever the receiver's delay-based REMB says while the queue drains
            self.bps = max(self.bps, self.probe_base)
            self.protect_bps, self.protect_until = self.probe_base, now + PROBE_AFTERMATH_S
            self.note(now, "probe failed")
            return "failed"
        if now - self.probe_started >= PROBE_DURATION_S:
            # a report that covers most of the probe
            reported = self.loss_at > self.probe_started + 0.7 * PROBE_DURATION_S
            if not reported and now - self.probe_started < PROBE_DURATION_S + PROBE_REPORT_WAIT_S:
                return None  # no report covers the probe yet: silence is no verdict
            self.probe_target = None
            if not reported:
                self.clean_since = now  # wait a little before the next one
                self.note(now, "probe unanswered")
                return "failed"
            self.bps = max(self.bps, target)
            self.verified_bps, self.verified_at = max(self.verified_bps, target), now
            self.last_pass = now
            self.pass_streak += 1
            self.note(now, "probe passed")
            return "passed"
        return None

    def estimate(self) -> float:
        return min(max(self.bps, FLOOR_BPS), CEILING_BPS)
