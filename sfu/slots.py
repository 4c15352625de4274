"""Which publisher feeds which seat of a subscriber: pure rules, no I/O.

A subscriber's connection carries a fixed number of seats (an audio and a video m-line each,
in one MediaStream so the browser keeps them in sync) and one screen slot. Seats go to the
subscriber's pin first, then to whoever spoke most recently, then in order of arrival. A
participant who already has a seat keeps it while they stay among the top candidates, so
tiles do not reshuffle when someone new speaks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Candidate:
    participant_id: str
    last_voice_at: float  # monotonic seconds, 0 when never heard
    arrival: int  # order of arrival in the meeting


def rank(candidates: Sequence[Candidate], pinned: str | None) -> list[str]:
    """Candidates by priority: the pin, then the most recent voice, then arrival."""
    ordered = sorted(
        candidates,
        key=lambda c: (c.participant_id != pinned, -c.last_voice_at, c.arrival),
    )
    return [c.participant_id for c in ordered]


def assign_seats(current: Sequence[str | None], ranked: Sequence[str], seats: int
                 ) -> list[str | None]:
    """Seat the top ``seats`` of ``ranked``, keeping everyone already seated in place."""
    top = list(ranked[:seats])
    chosen = set(top)
    out: list[str | None] = [p if p in chosen else None for p in current[:seats]]
    out += [None] * (seats - len(out))
    seated = {p for p in out if p is not None}
    waiting = [p for p in top if p not in seated]
    for i, occupant in enumerate(out):
        if occupant is None and waiting:
            out[i] = waiting.pop(0)
    return out
