"""Spending one subscriber's bandwidth estimate: audio first, then the floor speaker's video,
then other video, then the screen, with hysteresis. Pure: no I/O.

Each video slot wants one of its publisher's layers (ordered low → high, with their measured
bitrates) or nothing. Audio is always reserved first: audio must survive on any link that can
carry it. A slot is moved *down* as soon as what is chosen no longer fits; it is moved *up*
only when the higher layer fits with 30 % to spare (or as a trial, see bandwidth.py), so a
link near a threshold does not make the picture flap. How to learn that more fits is the
estimator's business (probing, bandwidth.py): the allocation says what it would spend.
"""

from __future__ import annotations

from dataclasses import dataclass

UP_MARGIN = 1.3
KEEP_TOLERANCE = 1.15


@dataclass(frozen=True, slots=True)
class VideoWant:
    key: str  # consumer id
    priority: int  # 0: the floor speaker, 1: other seats, 2: the screen
    layers: tuple[float, ...]  # measured bitrate of each layer, low → high (bits per second)
    current: int | None  # the layer it receives now (index), None: none


@dataclass(frozen=True, slots=True)
class Allocation:
    layers: dict[str, int | None]
    spent_bps: float
    wanted_bps: float  # what it takes to step every slot up, margin included (probe target)


def allocate(estimate_bps: float, audio_bps: float, wants: list[VideoWant], *,
             video_allowed: bool = True) -> Allocation:
    budget = estimate_bps - audio_bps
    out: dict[str, int | None] = {w.key: None for w in wants}
    if not video_allowed:
        return Allocation(out, audio_bps, audio_bps)
    # what stepping every slot up to its top layer takes, with the margin pass 2 asks for:
    # the estimator probes up to this, so a slot without video can get it back (a target
    # of the bare sum stops probing below what pass 2 needs, and the slot stays without)
    wanted = audio_bps + UP_MARGIN * sum(w.layers[-1] for w in wants if w.layers)
    ordered = sorted(wants, key=lambda w: (w.priority, w.key))
    spent = 0.0
    # pass 1: keep or lower each slot's current layer, in priority order. The layer a slot
    # has is kept while it fits within KEEP_TOLERANCE of the budget (a lower one must fit
    # the budget itself): an estimate is an estimate, and a link really too small for it
    # shows loss, which lowers the estimate further
    for want in ordered:
        layer = want.current
        if layer is not None:
            layer = min(layer, len(want.layers) - 1)
        while layer is not None and spent + want.layers[layer] > budget * (
                KEEP_TOLERANCE if layer == want.current else 1.0):
            layer = layer - 1 if layer > 0 else None
        out[want.key] = layer
        if layer is not None:
            spent += want.layers[layer]
    # pass 2: step up where the next layer fits with margin (one step per round)
    for want in ordered:
        layer = out[want.key]
        nxt = 0 if layer is None else layer + 1
        if nxt >= len(want.layers):
            continue
        extra = want.layers[nxt] - (want.layers[layer] if layer is not None else 0.0)
        if spent + extra * UP_MARGIN <= budget:
            out[want.key] = nxt
            spent += extra
    return Allocation(out, audio_bps + spent, wanted)
