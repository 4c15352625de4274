"""The archive's chapters from the floor log (pure): every intervention (speaker, member
state, declared language, start, duration) as a jump point into the recording."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Chapter:
    start_s: float  # offset into the recording
    duration_s: float | None  # None: still speaking when the recording ended
    at: float  # wall clock (unix seconds) of the start
    name: str
    member_state: str
    organization: str
    language: str
    kind: str

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        return {"startS": round(data.pop("start_s"), 3),
                "durationS": None if self.duration_s is None else round(self.duration_s, 3),
                "at": self.at, "name": self.name, "memberState": self.member_state,
                "organization": self.organization, "language": self.language,
                "kind": self.kind}


def chapters(floor_log: Iterable[Mapping[str, Any]], recording_start: float,
             recording_end: float | None = None) -> list[Chapter]:
    """``recording_start``: the wall-clock time of the recording's first sample; an
    intervention that began before it starts the recording at 0."""
    out: list[Chapter] = []
    open_by_grant: dict[str, int] = {}
    for row in floor_log:
        event = row.get("event")
        at = float(row.get("at") or 0.0)
        if event == "intervention-start":
            if recording_end is not None and at > recording_end:
                continue
            grant = str(row.get("grant_id") or f"row{len(out)}")
            open_by_grant[grant] = len(out)
            out.append(Chapter(max(0.0, at - recording_start), None, at,
                               str(row.get("name") or ""), str(row.get("member_state") or ""),
                               str(row.get("organization") or ""),
                               str(row.get("language") or ""), str(row.get("kind") or "")))
        elif event == "intervention-end":
            index = open_by_grant.pop(str(row.get("grant_id") or ""), None)
            if index is None:
                continue
            start = out[index]
            duration = row.get("duration_s")
            end = at if duration is None else start.at + float(duration)
            out[index] = Chapter(start.start_s, max(0.0, end - max(start.at, recording_start)),
                                 start.at, start.name, start.member_state,
                                 start.organization, start.language, start.kind)
    return out
