"""Which archived webcasts the retention setting lets go (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

DAY_S = 86_400


@dataclass(frozen=True)
class Archived:
    meeting_id: str
    ended_at: float
    retention_days: int | None  # None: kept until the secretariat deletes it


def expired(archives: Iterable[Archived], now: float) -> list[str]:
    return [a.meeting_id for a in archives
            if a.retention_days is not None and now >= a.ended_at + a.retention_days * DAY_S]
