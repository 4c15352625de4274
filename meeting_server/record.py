"""The meeting's record and its statistics, from what the store keeps: the attendance
register, the floor log, the captions and the chat. Pure functions of rows; no I/O
(record_http.py serves them as JSON, CSV and a page with charts).

What it counts:
- attendance by member state: people (distinct name and organization: a rejoin is the same
  person), entries, time present;
- interventions: count and speaking time per member state, per language spoken (declared at
  the request or by the chair) and per kind; points of order (asked and taken);
- waiting on the speakers' list: from a request to the start of the intervention it led to
  (a floor given without a request waits nothing and is not counted; a withdrawn or denied
  request is not counted either);
- captions and chat: lines per language, messages per channel.
What it cannot count: interpretation coverage (minutes each booth was live, minutes of
passthrough). Booth state lives in memory (interpretation/, meeting_server/interpreting.py)
and nothing logs a booth going live or off, so the record says so (``interpretation.available``
false) instead of guessing.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .captions_store import Caption
from .chat_store import Message
from .store import AttendanceRecord

NO_STATE = ""  # participants who gave no member state (secretariat, observers, ...)

INTERPRETATION_MISSING = (
    "Interpretation coverage is not recorded: booth state (live, off, handover, passthrough)"
    " is kept in memory only and no log of it is stored.")


@dataclass
class _Tally:
    count: int = 0
    seconds: float = 0.0

    def add(self, seconds: float) -> None:
        self.count += 1
        self.seconds += seconds

    def to_json(self) -> dict[str, Any]:
        return {"interventions": self.count, "speakingS": round(self.seconds, 3)}


def _sorted(tallies: Mapping[str, _Tally], key: str) -> list[dict[str, Any]]:
    return [{key: name, **tally.to_json()}
            for name, tally in sorted(tallies.items(), key=lambda kv: (-kv[1].seconds, kv[0]))]


def _waits(values: Sequence[float]) -> dict[str, Any]:
    if not values:
        return {"count": 0, "meanS": None, "medianS": None, "maxS": None}
    return {"count": len(values), "meanS": round(statistics.fmean(values), 3),
            "medianS": round(statistics.median(values), 3), "maxS": round(max(values), 3)}


def attendance_stats(rows: Iterable[AttendanceRecord], now: float) -> dict[str, Any]:
    people: dict[str, set[tuple[str, str]]] = {}
    entries: dict[str, int] = {}
    present: dict[str, float] = {}
    roles: dict[str, set[tuple[str, str]]] = {}
    for row in rows:
        state = row.member_state or NO_STATE
        who = (row.name.strip().casefold(), row.organization.strip().casefold())
        people.setdefault(state, set()).add(who)
        roles.setdefault(row.role, set()).add(who)
        entries[state] = entries.get(state, 0) + 1
        present[state] = present.get(state, 0.0) + max(0.0, (row.left_at or now) - row.joined_at)
    by_state = [{"memberState": s, "people": len(people[s]), "entries": entries[s],
                 "presentS": round(present[s], 3)}
                for s in sorted(people, key=lambda s: (s == NO_STATE, s))]
    return {"memberStates": len([s for s in people if s != NO_STATE]),
            "people": len(set().union(*people.values())) if people else 0,
            "byMemberState": by_state,
            "byRole": {role: len(who) for role, who in sorted(roles.items())}}


def floor_stats(log: Iterable[Mapping[str, Any]], now: float) -> dict[str, Any]:
    """Interventions, points of order and waiting from floor-log rows in log order."""
    by_state: dict[str, _Tally] = {}
    by_language: dict[str, _Tally] = {}
    by_kind: dict[str, _Tally] = {}
    total = _Tally()
    open_starts: dict[str, Mapping[str, Any]] = {}  # grant id -> its start row
    pending: dict[tuple[str, str], float] = {}  # (participant, kind) -> requested at
    waits: list[float] = []
    waits_by_state: dict[str, list[float]] = {}
    points_asked = 0
    interventions: list[dict[str, Any]] = []

    def ended(start: Mapping[str, Any], seconds: float, reason: str) -> None:
        state = str(start.get("member_state") or NO_STATE)
        language = str(start.get("language") or "")
        kind = str(start.get("kind") or "intervention")
        for table, key in ((by_state, state), (by_language, language), (by_kind, kind)):
            table.setdefault(key, _Tally()).add(seconds)
        total.add(seconds)
        interventions.append({"name": start.get("name", ""), "memberState": state,
                              "language": language, "kind": kind, "startedAt": start["at"],
                              "durationS": round(seconds, 3), "reason": reason})

    for row in log:
        event = row["event"]
        key = (str(row.get("participant_id", "")), str(row.get("kind") or "intervention"))
        if event == "request":
            pending[key] = float(row["at"])
            if key[1] == "point-of-order":
                points_asked += 1
        elif event in ("withdraw", "deny"):
            pending.pop(key, None)
        elif event == "intervention-start":
            open_starts[str(row.get("grant_id", ""))] = row
            asked = pending.pop(key, None)
            if asked is not None:
                wait = max(0.0, float(row["at"]) - asked)
                waits.append(wait)
                waits_by_state.setdefault(str(row.get("member_state") or NO_STATE),
                                          []).append(wait)
        elif event == "intervention-end":
            start = open_starts.pop(str(row.get("grant_id", "")), None)
            duration = row.get("duration_s")
            seconds = float(duration) if duration is not None else (
                float(row["at"]) - float(start["at"]) if start else 0.0)
            ended(start or row, seconds, str(row.get("reason", "")))
    for start in open_starts.values():  # still speaking
        ended(start, max(0.0, now - float(start["at"])), "speaking")
    interventions.sort(key=lambda i: i["startedAt"])
    return {
        "interventions": total.count,
        "speakingS": round(total.seconds, 3),
        "byMemberState": _sorted(by_state, "memberState"),
        "byLanguage": _sorted(by_language, "language"),
        "byKind": _sorted(by_kind, "kind"),
        "pointsOfOrder": {"asked": points_asked,
                          "taken": by_kind.get("point-of-order", _Tally()).count},
        "waiting": {**_waits(waits), "byMemberState": [
            {"memberState": s, **_waits(v)} for s, v in sorted(waits_by_state.items())]},
        "list": interventions,
    }


def captions_stats(captions: Iterable[Caption]) -> dict[str, Any]:
    by_language: dict[str, dict[str, Any]] = {}
    for c in captions:
        entry = by_language.setdefault(c.language, {"language": c.language, "lines": 0,
                                                    "corrected": 0, "fromCart": 0,
                                                    "firstAt": c.started_at, "lastAt": c.at})
        entry["lines"] += 1
        entry["corrected"] += c.revised_at is not None
        entry["fromCart"] += c.source == "http"
        entry["firstAt"] = min(entry["firstAt"], c.started_at)
        entry["lastAt"] = max(entry["lastAt"], c.at)
    return {"byLanguage": [by_language[k] for k in sorted(by_language)]}


def chat_stats(messages: Iterable[Message]) -> dict[str, Any]:
    by_channel: dict[str, int] = {}
    removed = 0
    for m in messages:
        by_channel[m.channel] = by_channel.get(m.channel, 0) + 1
        removed += m.removed_at is not None
    return {"byChannel": dict(sorted(by_channel.items())), "removed": removed}


def meeting_record(meeting: Mapping[str, Any], attendance: Iterable[AttendanceRecord],
                   floor_log: Iterable[Mapping[str, Any]], captions: Iterable[Caption],
                   chat: Iterable[Message], now: float) -> dict[str, Any]:
    """The record of one meeting. ``meeting``: ``{id, title, createdAt, endedAt}``."""
    return {
        "meeting": dict(meeting),
        "generatedAt": now,
        "attendance": attendance_stats(attendance, now),
        "floor": floor_stats(floor_log, now),
        "captions": captions_stats(captions),
        "chat": chat_stats(chat),
        "interpretation": {"available": False, "missing": INTERPRETATION_MISSING},
    }


def series_record(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Several meetings' records together: per member state, meetings attended,
    interventions and speaking time; per language, the same."""
    states: dict[str, dict[str, Any]] = {}
    languages: dict[str, _Tally] = {}
    for record in records:
        for row in record["attendance"]["byMemberState"]:
            entry = states.setdefault(row["memberState"], {
                "memberState": row["memberState"], "meetings": 0, "presentS": 0.0,
                "interventions": 0, "speakingS": 0.0})
            entry["meetings"] += 1
            entry["presentS"] = round(entry["presentS"] + row["presentS"], 3)
        for row in record["floor"]["byMemberState"]:
            entry = states.setdefault(row["memberState"], {
                "memberState": row["memberState"], "meetings": 0, "presentS": 0.0,
                "interventions": 0, "speakingS": 0.0})
            entry["interventions"] += row["interventions"]
            entry["speakingS"] = round(entry["speakingS"] + row["speakingS"], 3)
        for row in record["floor"]["byLanguage"]:
            tally = languages.setdefault(row["language"], _Tally())
            tally.count += row["interventions"]
            tally.seconds += row["speakingS"]
    return {
        "meetings": [r["meeting"] for r in records],
        "interventions": sum(r["floor"]["interventions"] for r in records),
        "speakingS": round(sum(r["floor"]["speakingS"] for r in records), 3),
        "pointsOfOrder": sum(r["floor"]["pointsOfOrder"]["taken"] for r in records),
        "byMemberState": sorted(states.values(), key=lambda s: (-s["speakingS"],
                                                                s["memberState"])),
        "byLanguage": _sorted(languages, "language"),
    }


def member_state_rows(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One CSV row per member state: attendance, interventions, speaking time, waiting."""
    rows: dict[str, dict[str, Any]] = {}

    def row(state: str) -> dict[str, Any]:
        return rows.setdefault(state, {"member_state": state, "people": 0, "present_s": 0.0,
                                       "interventions": 0, "speaking_s": 0.0,
                                       "mean_wait_s": ""})

    for a in record["attendance"]["byMemberState"]:
        row(a["memberState"]).update(people=a["people"], present_s=a["presentS"])
    for f in record["floor"]["byMemberState"]:
        row(f["memberState"]).update(interventions=f["interventions"], speaking_s=f["speakingS"])
    for w in record["floor"]["waiting"]["byMemberState"]:
        row(w["memberState"])["mean_wait_s"] = w["meanS"]
    return [rows[k] for k in sorted(rows, key=lambda s: (s == NO_STATE, s))]


MEMBER_STATE_COLUMNS = ("member_state", "people", "present_s", "interventions", "speaking_s",
                        "mean_wait_s")
