"""A publisher's uplink: what its one connection is allowed to send, and what it is told to
drop when its link cannot carry it all.

Two things are per *connection*, not per track, and both live here:

- **The REMB ceiling.** Chromium applies a received REMB to its whole send-side bandwidth
  estimate (the SSRC list is not used to split it), so one REMB per connection, carrying the
  sum of what every track of that connection may send, is the only consistent signal. Telling
  each video track its own cap (600 kbit/s for ``camera``, 150 kbit/s for ``camera-low``)
  made the last REMB win and capped the whole upload at 150 kbit/s. Each layer's own ceiling
  is the client's business (``sendEncodings[].maxBitrate``).
- **The level.** ``full`` (every layer), ``low`` (the camera's low layer only) or ``audio``
  (no camera). A publisher whose uplink loses packets steps down one level; the router stops
  forwarding the dropped layers at once (subscribers move to the low layer on its keyframe),
  the REMB ceiling falls to what the level sends, and the client is told (``/media``
  ``uplink``) to stop encoding what nobody receives. After a quiet spell it steps up again:
  a trial, judged by loss; a trial that fails doubles the wait before the next one (10 s up
  to 80 s), the same plan as the subscriber side's probing (mediasoup#316: a REMB that went
  down never comes back by itself).

``UplinkPolicy`` is the pure decision (unit-tested); ``Uplink`` runs it once a second on a
publish transport's producers and sends the REMB.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, pack_remb_fci

from . import aiortc_glue

if TYPE_CHECKING:
    from .producer import Producer

logger = logging.getLogger(__name__)

LEVELS = ("audio", "low", "full")  # index: what a level keeps, low → high
FULL, LOW, AUDIO = 2, 1, 0

# what each source may send at most (bits per second on the wire); the client's encodings
# ask for the same (web/static/protocol.js CAMERA_LAYERS)
LAYER_CAPS_BPS = {"camera-low": 150_000, "camera": 600_000, "screen": 1_500_000}
AUDIO_ALLOWANCE_BPS = 70_000  # Opus 32 kbit/s with FEC, headers and RTCP
MIN_REMB_BPS = 30_000

TICK_S = 1.0
LOSSY = 0.08  # an interval losing more than this is congested
CLEAN = 0.02  # an interval losing less than this is clean
MIN_PACKETS = 20  # fewer packets in an interval say nothing about loss
LOSSY_TO_STEP_DOWN = 2  # lossy intervals in a row before a step down
CLEAN_TO_STEP_UP = 3  # clean intervals in a row (after the hold) before a trial step up
HOLD_S = 10.0  # the first wait before a step up
MAX_HOLD_S = 80.0
TRIAL_S = 20.0  # a step down this soon after a step up fails the trial (a browser
# ramps its estimate up over seconds, so congestion shows late)


@dataclass
class UplinkPolicy:
    """Decides a publisher's level from the loss of each interval. Pure: time is passed in."""

    top: int = FULL  # the highest level this publisher has (AUDIO without a camera)
    has_low_layer: bool = True  # without one, LOW is skipped: full goes straight to audio
    level: int = FULL
    hold_s: float = HOLD_S
    changed_at: float = 0.0
    stepped_up_at: float | None = None
    lossy_run: int = 0
    clean_run: int = 0
    history: list[tuple[float, str, float]] = field(default_factory=list)

    def _below(self, level: int) -> int:
        down = level - 1
        if down == LOW and not self.has_low_layer:
            down = AUDIO
        return max(AUDIO, down)

    def _above(self, level: int) -> int:
        up = level + 1
        if up == LOW and not self.has_low_layer:
            up = FULL
        return min(self.top, up)

    def on_interval(self, now: float, expected: int, lost: int) -> int | None:
        """One interval's packets; returns the new level when it changes."""
        if expected < MIN_PACKETS:
            return None  # too little sent to judge (a paused camera, DTX silence)
        fraction = max(0, lost) / expected
        if fraction > LOSSY:
            self.lossy_run += 1
            self.clean_run = 0
        elif fraction < CLEAN:
            self.clean_run += 1
            self.lossy_run = 0
        else:
            self.lossy_run = 0
            self.clean_run = 0
        if self.lossy_run >= LOSSY_TO_STEP_DOWN and self.level > AUDIO:
            if self.stepped_up_at is not None and now - self.stepped_up_at < TRIAL_S:
                self.hold_s = min(MAX_HOLD_S, self.hold_s * 2)  # the trial failed
            self.stepped_up_at = None
            return self._set(now, self._below(self.level), f"loss {fraction:.0%}", fraction)
        if self.stepped_up_at is not None and now - self.stepped_up_at >= TRIAL_S:
            self.stepped_up_at = None
            self.hold_s = HOLD_S  # the trial held: the next wait starts short again
        if (self.level < self.top and self.clean_run >= CLEAN_TO_STEP_UP
                and now - self.changed_at >= self.hold_s):
            self.stepped_up_at = now
            return self._set(now, self._above(self.level), "trial", fraction)
        return None

    def _set(self, now: float, level: int, why: str, fraction: float) -> int | None:
        self.lossy_run = 0
        self.clean_run = 0
        if level == self.level:
            return None
        self.level = level
        self.changed_at = now
        self.history.append((now, LEVELS[level], fraction))
        del self.history[:-50]
        return level


def layers_kept(level: int, sources: set[str]) -> set[str]:
    """The sources a publisher at ``level`` sends: the microphone always, the screen always
    (it is not the camera: documents matter more than faces), the camera's layers as the
    level allows."""
    kept = {s for s in sources if s not in ("camera", "camera-low")}
    if level == FULL:
        kept |= sources & {"camera", "camera-low"}
    elif level == LOW:
        kept |= sources & {"camera-low"} or sources & {"camera"}
    return kept


def remb_ceiling(level: int, sources: set[str]) -> int:
    """The connection's REMB: the caps of what the level sends, plus audio."""
    total = AUDIO_ALLOWANCE_BPS if "mic" in sources else 0
    for source in layers_kept(level, sources):
        total += LAYER_CAPS_BPS.get(source, 0)
    return max(MIN_REMB_BPS, total)


class Uplink:
    """Runs the policy on one publish transport's producers and sends its REMB."""

    def __init__(self, *, participant_id: str, producers: dict[str, Producer],
                 dtls_transport: Any, on_level: Callable[[Uplink], None]) -> None:
        self.participant_id = participant_id
        self._producers = producers
        self._dtls = dtls_transport
        self._on_level = on_level
        sources = self.sources
        self.policy = UplinkPolicy(has_low_layer="camera-low" in sources,
                                   top=FULL if sources & {"camera", "camera-low"} else AUDIO)
        self.policy.level = self.policy.top
        self._marks: dict[str, tuple[int, int]] = {}
        self._rtcp_ssrc = 0x52535452  # "RSTR": the SFU's REMB sender on this connection
        self._task: asyncio.Task[None] | None = None
        self.remb_bps = remb_ceiling(self.policy.level, sources)
        self.last_loss = 0.0

    @property
    def sources(self) -> set[str]:
        return {p.source for p in self._producers.values() if not p.closed}

    @property
    def level(self) -> str:
        return LEVELS[self.policy.level]

    def keeps(self, source: str) -> bool:
        """Whether the publisher's ``source`` is sent (and may be forwarded) at this level."""
        if source not in ("camera", "camera-low"):
            return True
        return source in layers_kept(self.policy.level, self.sources)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def _interval(self) -> tuple[int, int]:
        """Packets expected and lost since the last interval, over every forwarded stream."""
        expected = lost = 0
        for producer in self._producers.values():
            if producer.closed or not self.keeps(producer.source):
                self._marks.pop(producer.id, None)
                continue
            e, r = producer.packet_counts()
            before = self._marks.get(producer.id)
            self._marks[producer.id] = (e, r)
            if before is None:
                continue
            de, dr = e - before[0], r - before[1]
            if de > 0:
                expected += de
                lost += max(0, de - dr)
        return expected, lost

    def tick(self, now: float) -> bool:
        """One interval; True when the level changed."""
        expected, lost = self._interval()
        self.last_loss = lost / expected if expected else 0.0
        changed = self.policy.on_interval(now, expected, lost) is not None
        self.remb_bps = remb_ceiling(self.policy.level, self.sources)
        if changed:
            logger.info("[%s] uplink %s (loss %.0f%%)", self.participant_id, self.level,
                        100 * self.last_loss)
            self._marks.clear()  # the streams just dropped or added: start counting anew
            try:
                self._on_level(self)
            except Exception:
                logger.exception("[%s] uplink listener failed", self.participant_id)
        return changed

    async def send_remb(self) -> None:
        ssrcs = [p.media_ssrc for p in self._producers.values()
                 if p.kind == "video" and not p.closed and p.media_ssrc is not None]
        if not ssrcs:
            return
        packet = RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=self._rtcp_ssrc, media_ssrc=0,
                                fci=pack_remb_fci(int(self.remb_bps), ssrcs))
        await aiortc_glue.send_rtp(self._dtls, bytes(packet))

    async def _run(self) -> None:
        try:
            while True:
                await asyncio.sleep(TICK_S)
                self.tick(time.monotonic())
                # told every second and steady within a level: an encoder may restart (and
                # send a keyframe) on every new value it is told
                await self.send_remb()
        except asyncio.CancelledError:
            pass
        except Exception:
            logger.exception("[%s] uplink loop failed", self.participant_id)
