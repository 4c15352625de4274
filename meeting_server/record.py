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
- captions and chat: lines per language, messages per channel;
- interpretation coverage, from the booth log (record_booths.py): per booth, the time it was
  live (and with whom, coughing, relaying from which booth), the time its channel carried the
  floor (passthrough), handovers, and the gaps: the time its channel carried the floor while
  the floor spoke another language (declared at the request or by the chair; a floor whose
  language is not known makes no gap, since nobody can say it needed interpreting).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .captions_store import Caption
from .chat_store import Message
from .store import AttendanceRecord

NO_STATE = ""  # participants who gave no member state (secretariat, observers, ...)

LIVE_STATES = ("live", "cough")


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


@dataclass
class _Coverage:
    live: float = 0.0
    cough: float = 0.0
    passthrough: float = 0.0
    needed: float = 0.0
    gap: float = 0.0
    gaps: int = 0
    handovers: int = 0
    relay: dict[str, float] = field(default_factory=dict)
    interpreters: dict[str, float] = field(default_factory=dict)

    def to_json(self, language: str) -> dict[str, Any]:
        return {"language": language, "liveS": round(self.live, 3),
                "coughS": round(self.cough, 3), "passthroughS": round(self.passthrough, 3),
                "neededS": round(self.needed, 3),
                "coveredS": round(max(0.0, self.needed - self.gap), 3),
                "gapS": round(self.gap, 3), "gaps": self.gaps, "handovers": self.handovers,
                "relayS": {k: round(v, 3) for k, v in sorted(self.relay.items())},
                "byInterpreter": [{"name": n, "liveS": round(v, 3)} for n, v in sorted(
                    self.interpreters.items(), key=lambda kv: (-kv[1], kv[0]))]}


def interpretation_stats(log: Sequence[Mapping[str, Any]], languages: Sequence[str],
                         now: float) -> dict[str, Any]:
    """Interpretation coverage from booth-log rows in log order (record_booths.py); periods
    still open end at ``now`` (the meeting's end, or the time of the report)."""
    booths: dict[str, _Coverage] = {lang: _Coverage() for lang in languages}
    current: dict[str, Mapping[str, Any]] = {}  # channel -> its last row
    open_periods: dict[str, dict[str, Any]] = {}
    open_gaps: dict[str, dict[str, Any]] = {}
    periods: list[dict[str, Any]] = []
    gaps: list[dict[str, Any]] = []
    clock: float | None = None

    def floor_language() -> str:
        floor = current.get("floor")
        return str(floor.get("language") or "") if floor and floor["state"] == "speaking" \
            else ""

    def advance(to: float) -> None:
        nonlocal clock
        seconds = 0.0 if clock is None else max(0.0, to - clock)
        clock = to if clock is None else max(clock, to)
        if not seconds:
            return
        spoken = floor_language()
        for channel, row in current.items():
            if channel == "floor":
                continue
            booth = booths.setdefault(channel, _Coverage())
            needed = bool(spoken) and spoken != channel
            booth.needed += seconds if needed else 0.0
            if row["state"] in LIVE_STATES:
                booth.live += seconds
                name = str(row.get("name") or row.get("participant_id") or "")
                booth.interpreters[name] = booth.interpreters.get(name, 0.0) + seconds
                booth.cough += seconds if row["state"] == "cough" else 0.0
                source = str(row.get("incoming") or "floor")
                if source != "floor":
                    booth.relay[source] = booth.relay.get(source, 0.0) + seconds
            elif row["state"] == "off":
                booth.passthrough += seconds
                booth.gap += seconds if needed else 0.0

    def end_period(channel: str, at: float, ended_by: str) -> None:
        period = open_periods.pop(channel, None)
        if period is not None:
            period.update(durationS=round(max(0.0, at - period["startedAt"]), 3),
                          endedBy=ended_by)
            periods.append(period)

    def follow_gaps(at: float) -> None:
        spoken = floor_language()
        for channel, row in current.items():
            if channel == "floor":
                continue
            is_gap = row["state"] == "off" and bool(spoken) and spoken != channel
            gap = open_gaps.get(channel)
            if is_gap and gap is None:
                open_gaps[channel] = {"language": channel, "startedAt": at,
                                      "floorLanguage": spoken}
            elif not is_gap and gap is not None:
                del open_gaps[channel]
                gap["durationS"] = round(max(0.0, at - gap["startedAt"]), 3)
                gaps.append(gap)
                booths.setdefault(channel, _Coverage()).gaps += 1

    for row in log:
        at = float(row["at"])
        advance(at)
        channel = str(row["channel"])
        if channel != "floor":
            end_period(channel, at, str(row["event"]))
            if row["event"] == "handover":
                booths.setdefault(channel, _Coverage()).handovers += 1
            if row["state"] != "closed":
                open_periods[channel] = {
                    "language": channel, "state": row["state"],
                    "interpreter": str(row.get("name") or ""),
                    "incoming": str(row.get("incoming") or ""), "startedAt": at}
        current[channel] = row
        follow_gaps(at)
    end = max(now, clock or now)
    advance(end)
    for channel in list(open_periods):
        end_period(channel, end, "")
    for channel, gap in open_gaps.items():  # still open
        gap["durationS"] = round(max(0.0, end - gap["startedAt"]), 3)
        gaps.append(gap)
        booths.setdefault(channel, _Coverage()).gaps += 1
    periods.sort(key=lambda p: (p["startedAt"], p["language"]))
    gaps.sort(key=lambda g: (g["startedAt"], g["language"]))
    by_language = [booths[k].to_json(k) for k in booths]
    return {
        "available": bool(log),
        "liveS": round(sum(b.live for b in booths.values()), 3),
        "passthroughS": round(sum(b.passthrough for b in booths.values()), 3),
        "gapS": round(sum(b.gap for b in booths.values()), 3),
        "handovers": sum(b.handovers for b in booths.values()),
        "byLanguage": by_language,
        "periods": periods,
        "gaps": gaps,
    }


def meeting_record(meeting: Mapping[str, Any], attendance: Iterable[AttendanceRecord],
                   floor_log: Iterable[Mapping[str, Any]], captions: Iterable[Caption],
                   chat: Iterable[Message], now: float,
                   booth_log: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """The record of one meeting. ``meeting``: ``{id, title, languages, createdAt,
    endedAt}``; open periods end at the meeting's end, or ``now`` while it runs."""
    end = meeting.get("endedAt") or now
    return {
        "meeting": dict(meeting),
        "generatedAt": now,
        "attendance": attendance_stats(attendance, now),
        "floor": floor_stats(floor_log, now),
        "captions": captions_stats(captions),
        "chat": chat_stats(chat),
        "interpretation": interpretation_stats(booth_log, list(meeting.get("languages", ())),
                                               end),
    }


def series_record(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Several meetings' records together: per member state, meetings attended,
    interventions and speaking time; per language, the same."""
    states: dict[str, dict[str, Any]] = {}
    languages: dict[str, _Tally] = {}
    booths: dict[str, dict[str, Any]] = {}
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
        for row in record.get("interpretation", {}).get("byLanguage", ()):
            entry = booths.setdefault(row["language"], {
                "language": row["language"], "liveS": 0.0, "passthroughS": 0.0,
                "neededS": 0.0, "gapS": 0.0, "handovers": 0})
            for key in ("liveS", "passthroughS", "neededS", "gapS"):
                entry[key] = round(entry[key] + row[key], 3)
            entry["handovers"] += row["handovers"]
    return {
        "meetings": [r["meeting"] for r in records],
        "interventions": sum(r["floor"]["interventions"] for r in records),
        "speakingS": round(sum(r["floor"]["speakingS"] for r in records), 3),
        "pointsOfOrder": sum(r["floor"]["pointsOfOrder"]["taken"] for r in records),
        "byMemberState": sorted(states.values(), key=lambda s: (-s["speakingS"],
                                                                s["memberState"])),
        "byLanguage": _sorted(languages, "language"),
        "interpretation": [booths[k] for k in sorted(booths)],
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


INTERPRETATION_COLUMNS = ("language", "liveS", "coughS", "passthroughS", "neededS", "coveredS",
                          "gapS", "gaps", "handovers", "relayS", "interpreters")
PERIOD_COLUMNS = ("startedAt", "language", "state", "interpreter", "incoming", "durationS",
                  "endedBy")
GAP_COLUMNS = ("startedAt", "language", "floorLanguage", "durationS")


def interpretation_rows(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One CSV row per booth: coverage, relay time by source and time by interpreter as
    ``source=seconds`` / ``name=seconds`` lists separated by ``;``."""
    return [{**row,
             "relayS": ";".join(f"{k}={v}" for k, v in row["relayS"].items()),
             "interpreters": ";".join(f"{i['name']}={i['liveS']}" for i in row["byInterpreter"])}
            for row in record["interpretation"]["byLanguage"]]


MEMBER_STATE_COLUMNS = ("member_state", "people", "present_s", "interventions", "speaking_s",
                        "mean_wait_s")
