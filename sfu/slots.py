"""Which publisher feeds which seat of a subscriber: pure rules, no I/O.

A subscriber's connection carries a fixed number of seats (an audio and a video m-line each,
in one MediaStream so the browser keeps them in sync) and one screen slot. Seats go to the
subscriber's pin first, then to whoever spoke most recently, then in order of arrival. A
participant who already has a seat keeps it while they stay among the top candidates, so
tiles do not reshuffle when someone new speaks.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


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


@dataclass
class Seating:
    """Seat choice for one router's subscribers: the participants' order of arrival and the
    rules above. The router gives it who may be seated and when each last spoke."""

    _arrival: dict[str, int] = field(default_factory=dict)
    _arrivals: itertools.count[int] = field(default_factory=itertools.count)

    def arrived(self, participant_id: str) -> None:
        self._arrival.setdefault(participant_id, next(self._arrivals))

    def left(self, participant_id: str) -> None:
        self._arrival.pop(participant_id, None)

    def choose(self, current: Sequence[str | None], voices: Mapping[str, float],
               pinned: str | None, seats: int) -> list[str | None]:
        """Who sits in each of ``seats`` seats, from the candidates' last voice times."""
        candidates = [Candidate(pid, voice, self._arrival.get(pid, 1 << 30))
                      for pid, voice in voices.items()]
        return assign_seats(current, rank(candidates, pinned), seats)

    def ranking(self, voices: Mapping[str, float]) -> list[str]:
        """Every candidate by priority without a pin: one sort for a whole pass over the
        subscribers (``choose_ranked``)."""
        return rank([Candidate(pid, voice, self._arrival.get(pid, 1 << 30))
                     for pid, voice in voices.items()], None)

    @staticmethod
    def choose_ranked(current: Sequence[str | None], ranking: Sequence[str],
                      voices: Mapping[str, float], subscriber: str, pinned: str | None,
                      seats: int) -> list[str | None]:
        """``choose`` for one subscriber from the pass's ``ranking``: the same seats as
        ranking the candidates other than the subscriber with their pin (a stable sort keeps
        everyone else's order when the subscriber and the pin are taken out)."""
        top: list[str] = []
        if pinned is not None and pinned != subscriber and pinned in voices:
            top.append(pinned)
        for pid in ranking:
            if len(top) >= seats:
                break
            if pid != subscriber and pid != pinned:
                top.append(pid)
        return assign_seats(current, top, seats)
