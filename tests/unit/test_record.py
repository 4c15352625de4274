"""The statistics of a scripted meeting, computed by hand beforehand: attendance by member
state, interventions and speaking time per member state, language and kind, points of order,
waiting on the speakers' list, captions and chat, and two meetings as a series."""

from __future__ import annotations

from typing import Any

from meeting_server.captions_store import Caption
from meeting_server.chat_store import Message
from meeting_server.record import meeting_record, member_state_rows, series_record
from meeting_server.store import AttendanceRecord

T = 1_000_000.0


def att(pid: str, name: str, state: str, role: str, joined: float, left: float | None,
        org: str = "") -> AttendanceRecord:
    return AttendanceRecord(pid, "m", name, org, state, role, T + joined,
                            None if left is None else T + left)


def log(at: float, event: str, pid: str = "", name: str = "", state: str = "",
        kind: str = "intervention", language: str = "", grant: str = "",
        duration: float | None = None, reason: str = "") -> dict[str, Any]:
    return {"at": T + at, "event": event, "participant_id": pid, "name": name,
            "member_state": state, "kind": kind, "language": language, "grant_id": grant,
            "duration_s": duration, "reason": reason}


ATTENDANCE = [
    att("c", "Chair", "", "chair", 0, 3600),
    att("a1", "Ana", "Kenya", "delegate", 10, 1000),
    att("a2", "Ana", "Kenya", "delegate", 1100, 3600),  # rejoined: one person, two entries
    att("k2", "Kofi", "Kenya", "delegate", 20, 3600),
    att("b", "Ben", "Peru", "delegate", 30, None),  # still here at T+4000
    att("o", "Olu", "", "observer", 40, 100),
]

FLOOR_LOG = [
    log(100, "request", "a1", "Ana", "Kenya", language="en"),
    log(110, "request", "b", "Ben", "Peru", language="es"),
    log(130, "intervention-start", "a1", "Ana", "Kenya", language="en", grant="g1"),  # waited 30
    log(250, "intervention-end", "a1", "Ana", "Kenya", language="en", grant="g1",
        duration=120, reason="released"),
    log(260, "request", "k2", "Kofi", "Kenya", kind="point-of-order", language="fr"),
    log(265, "intervention-start", "k2", "Kofi", "Kenya", kind="point-of-order",
        language="fr", grant="g2"),  # waited 5
    log(295, "intervention-end", "k2", "Kofi", "Kenya", kind="point-of-order", language="fr",
        grant="g2", duration=30, reason="released"),
    log(300, "intervention-start", "b", "Ben", "Peru", language="es", grant="g3"),  # waited 190
    log(480, "intervention-end", "b", "Ben", "Peru", language="es", grant="g3", duration=180,
        reason="expired"),
    log(500, "request", "b", "Ben", "Peru", kind="right-of-reply", language="es"),
    log(520, "withdraw", "b", "Ben", "Peru", kind="right-of-reply"),
    log(600, "request", "b", "Ben", "Peru", kind="point-of-order", language="es"),
    log(610, "deny", "b", "Ben", "Peru", kind="point-of-order"),
    # the chair gives Ana the floor without a request: no waiting counted
    log(1200, "intervention-start", "a2", "Ana", "Kenya", language="en", grant="g4"),
    log(1290, "intervention-end", "a2", "Ana", "Kenya", language="en", grant="g4",
        duration=90, reason="revoked"),
    log(3900, "intervention-start", "b", "Ben", "Peru", language="es", grant="g5"),  # speaking
]


def caption(i: int, language: str, source: str = "console", revised: bool = False) -> Caption:
    return Caption(i, "m", language, T + i, T + i + 1, "x", "", "", "", "", "", source, None,
                   T + 9 if revised else None)


def message(i: int, channel: str, removed: bool = False) -> Message:
    return Message(i, "m", T + i, channel, "", "", "", "a1", "Ana", "delegate", "Kenya", "hi",
                   T + 5 if removed else None)


def scripted() -> dict[str, Any]:
    return meeting_record({"id": "m", "title": "SG13"}, ATTENDANCE, FLOOR_LOG,
                          [caption(1, "en"), caption(2, "en", "http", True), caption(3, "fr")],
                          [message(1, "meeting"), message(2, "meeting", True),
                           message(3, "secretariat")], now=T + 4000)


def test_attendance_by_member_state() -> None:
    a = scripted()["attendance"]
    assert a["memberStates"] == 2 and a["people"] == 5
    assert a["byMemberState"] == [
        {"memberState": "Kenya", "people": 2, "entries": 3,
         "presentS": (1000 - 10) + (3600 - 1100) + (3600 - 20)},
        {"memberState": "Peru", "people": 1, "entries": 1, "presentS": 4000 - 30},
        {"memberState": "", "people": 2, "entries": 2, "presentS": 3600 + 60},
    ]
    assert a["byRole"] == {"chair": 1, "delegate": 3, "observer": 1}


def test_interventions_speaking_time_points_of_order_and_waiting() -> None:
    f = scripted()["floor"]
    assert f["interventions"] == 5
    assert f["speakingS"] == 120 + 30 + 180 + 90 + 100
    assert f["byMemberState"] == [
        {"memberState": "Peru", "interventions": 2, "speakingS": 280.0},
        {"memberState": "Kenya", "interventions": 3, "speakingS": 240.0},
    ]
    assert f["byLanguage"] == [
        {"language": "es", "interventions": 2, "speakingS": 280.0},
        {"language": "en", "interventions": 2, "speakingS": 210.0},
        {"language": "fr", "interventions": 1, "speakingS": 30.0},
    ]
    assert f["byKind"] == [
        {"kind": "intervention", "interventions": 4, "speakingS": 490.0},
        {"kind": "point-of-order", "interventions": 1, "speakingS": 30.0},
    ]
    assert f["pointsOfOrder"] == {"asked": 2, "taken": 1}
    assert f["waiting"]["count"] == 3
    assert (f["waiting"]["meanS"], f["waiting"]["medianS"], f["waiting"]["maxS"]) == \
        (75.0, 30.0, 190.0)
    assert f["waiting"]["byMemberState"] == [
        {"memberState": "Kenya", "count": 2, "meanS": 17.5, "medianS": 17.5, "maxS": 30.0},
        {"memberState": "Peru", "count": 1, "meanS": 190.0, "medianS": 190.0, "maxS": 190.0},
    ]
    assert [(i["name"], i["durationS"], i["reason"]) for i in f["list"]] == [
        ("Ana", 120.0, "released"), ("Kofi", 30.0, "released"), ("Ben", 180.0, "expired"),
        ("Ana", 90.0, "revoked"), ("Ben", 100.0, "speaking")]


def test_captions_chat_and_no_booth_log() -> None:
    record = scripted()
    assert record["captions"]["byLanguage"] == [
        {"language": "en", "lines": 2, "corrected": 1, "fromCart": 1, "firstAt": T + 1,
         "lastAt": T + 3},
        {"language": "fr", "lines": 1, "corrected": 0, "fromCart": 0, "firstAt": T + 3,
         "lastAt": T + 4}]
    assert record["chat"] == {"byChannel": {"meeting": 2, "secretariat": 1}, "removed": 1}
    # no booth log given: nothing to count (tests/unit/test_record_booths.py counts one)
    assert record["interpretation"]["available"] is False
    assert record["interpretation"]["byLanguage"] == []


def test_csv_rows_and_a_series() -> None:
    record = scripted()
    assert member_state_rows(record) == [
        {"member_state": "Kenya", "people": 2, "present_s": 7070.0, "interventions": 3,
         "speaking_s": 240.0, "mean_wait_s": 17.5},
        {"member_state": "Peru", "people": 1, "present_s": 3970.0, "interventions": 2,
         "speaking_s": 280.0, "mean_wait_s": 190.0},
        {"member_state": "", "people": 2, "present_s": 3660.0, "interventions": 0,
         "speaking_s": 0.0, "mean_wait_s": ""},
    ]
    series = series_record([record, record])
    assert series["interventions"] == 10 and series["speakingS"] == 1040.0
    assert series["pointsOfOrder"] == 2
    assert series["byMemberState"][0] == {"memberState": "Peru", "meetings": 2,
                                          "presentS": 7940.0, "interventions": 4,
                                          "speakingS": 560.0}
    assert series["byLanguage"][0] == {"language": "es", "interventions": 4, "speakingS": 560.0}
