"""Interpretation coverage: what the booth log records of a real ``Interpretation`` as it
changes, and the coverage of a scripted meeting computed by hand beforehand (minutes live
per booth and per interpreter, cough, relay, passthrough, handovers, and the gaps where a
channel carried the floor while the floor spoke another language)."""

from __future__ import annotations

from typing import Any

from interpretation import Interpretation
from meeting_server.record import interpretation_rows, meeting_record, series_record
from meeting_server.record_booths import ChannelState, change_event, snapshot

T = 2_000_000.0


def row(at: float, channel: str, state: str, event: str, name: str = "",
        incoming: str = "", language: str = "") -> dict[str, Any]:
    return {"at": T + at, "channel": channel, "state": state, "event": event,
            "participant_id": name.lower(), "name": name, "incoming": incoming,
            "language": language}


LOG = [
    row(0, "floor", "none", "opened"),
    row(0, "en", "off", "opened"), row(0, "fr", "off", "opened"), row(0, "es", "off", "opened"),
    row(10, "floor", "speaking", "floor", "Ana", language="en"),
    row(40, "fr", "live", "live", "Fatou", "floor"),
    row(100, "es", "live", "live", "Sara", "fr"),  # relays from the French booth
    row(160, "fr", "cough", "cough-on", "Fatou", "floor"),
    row(170, "fr", "live", "cough-off", "Fatou", "floor"),
    row(200, "fr", "live", "handover", "Jean", "floor"),
    row(260, "floor", "speaking", "floor", "Luc", language="fr"),
    row(300, "fr", "off", "off"),
    row(320, "floor", "none", "floor"),
    *(row(400, ch, "closed", "meeting-closed") for ch in ("floor", "en", "fr", "es")),
]


def scripted() -> dict[str, Any]:
    return meeting_record({"id": "m", "title": "SG13", "languages": ["en", "fr", "es"]},
                          [], [], [], [], now=T + 1000, booth_log=LOG)


def test_coverage_per_booth_of_a_scripted_meeting() -> None:
    i = scripted()["interpretation"]
    assert i["available"] is True
    by = {b["language"]: b for b in i["byLanguage"]}
    assert list(by) == ["en", "fr", "es"]
    assert by["en"] == {"language": "en", "liveS": 0.0, "coughS": 0.0, "passthroughS": 400.0,
                        "neededS": 60.0, "coveredS": 0.0, "gapS": 60.0, "gaps": 1,
                        "handovers": 0, "relayS": {}, "byInterpreter": []}
    assert by["fr"] == {"language": "fr", "liveS": 260.0, "coughS": 10.0,
                        "passthroughS": 140.0, "neededS": 250.0, "coveredS": 220.0,
                        "gapS": 30.0, "gaps": 1, "handovers": 1, "relayS": {},
                        "byInterpreter": [{"name": "Fatou", "liveS": 160.0},
                                          {"name": "Jean", "liveS": 100.0}]}
    assert by["es"] == {"language": "es", "liveS": 300.0, "coughS": 0.0,
                        "passthroughS": 100.0, "neededS": 310.0, "coveredS": 220.0,
                        "gapS": 90.0, "gaps": 1, "handovers": 0, "relayS": {"fr": 300.0},
                        "byInterpreter": [{"name": "Sara", "liveS": 300.0}]}
    assert (i["liveS"], i["passthroughS"], i["gapS"], i["handovers"]) == (560.0, 640.0,
                                                                         180.0, 1)
    assert i["gaps"] == [
        {"language": "es", "startedAt": T + 10, "floorLanguage": "en", "durationS": 90.0},
        {"language": "fr", "startedAt": T + 10, "floorLanguage": "en", "durationS": 30.0},
        {"language": "en", "startedAt": T + 260, "floorLanguage": "fr", "durationS": 60.0}]
    fr = [(p["state"], p["interpreter"], p["startedAt"] - T, p["durationS"], p["endedBy"])
          for p in i["periods"] if p["language"] == "fr"]
    assert fr == [("off", "", 0, 40.0, "live"), ("live", "Fatou", 40, 120.0, "cough-on"),
                  ("cough", "Fatou", 160, 10.0, "cough-off"),
                  ("live", "Fatou", 170, 30.0, "handover"), ("live", "Jean", 200, 100.0, "off"),
                  ("off", "", 300, 100.0, "meeting-closed")]


def test_open_periods_end_now_and_csv_rows_and_series() -> None:
    running = meeting_record({"id": "m", "title": "SG13", "languages": ["en", "fr", "es"]},
                             [], [], [], [], now=T + 350, booth_log=LOG[:-4])
    by = {b["language"]: b for b in running["interpretation"]["byLanguage"]}
    assert by["en"]["passthroughS"] == 350.0 and by["es"]["liveS"] == 250.0
    rows = {r["language"]: r for r in interpretation_rows(scripted())}
    assert rows["es"]["relayS"] == "fr=300.0" and rows["fr"]["interpreters"] == \
        "Fatou=160.0;Jean=100.0"
    series = series_record([scripted(), scripted()])
    assert series["interpretation"][1] == {"language": "es", "liveS": 600.0,
                                           "passthroughS": 200.0, "neededS": 620.0,
                                           "gapS": 180.0, "handovers": 0}


def test_no_booth_log_is_said_so() -> None:
    i = meeting_record({"id": "m", "title": "t", "languages": ["en"]}, [], [], [], [],
                       now=T)["interpretation"]
    assert i["available"] is False and i["byLanguage"][0]["liveS"] == 0.0


def test_what_the_log_sees_of_a_real_interpretation() -> None:
    interp = Interpretation(["en", "fr"], meeting_id="m")
    seen: list[tuple[str, str]] = []
    logged: dict[str, ChannelState] = {}

    def observe() -> None:
        for channel, now in snapshot(interp).items():
            if logged.get(channel) != now:
                seen.append((channel, change_event(channel, logged.get(channel), now)))
                logged[channel] = now

    observe()
    interp.assign("a", "fr")
    interp.assign("b", "fr")
    interp.assign("c", "en")
    observe()  # assignment alone changes no channel
    interp.go_live("a")
    observe()
    interp.cough_on("a")
    observe()
    interp.cough_off("a")
    observe()
    interp.set_incoming("a", "en")
    observe()
    interp.request_handover("a", "b")
    observe()  # a pending handover changes no channel
    interp.accept_handover("b")
    observe()
    interp.set_floor("p", "en")
    observe()
    interp.go_off("b")
    observe()
    assert seen == [("floor", "opened"), ("en", "opened"), ("fr", "opened"), ("fr", "live"),
                    ("fr", "cough-on"), ("fr", "cough-off"), ("fr", "relay"),
                    ("fr", "handover"), ("floor", "floor"), ("fr", "off")]
    assert logged["floor"] == ChannelState("speaking", "p", language="en")
    assert logged["fr"] == ChannelState("off")
