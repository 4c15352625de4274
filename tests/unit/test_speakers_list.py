"""meeting_server/speakers_list.py: the speakers' list and the floor (after BFCP, RFC 8855)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from meeting_server.speakers_list import Ended, FloorError, FloorRequest, Grant, SpeakersList

POO = "point-of-order"
ROR = "right-of-reply"
INT = "intervention"


def snapshot(sl: SpeakersList) -> tuple[list[FloorRequest], Grant | None]:
    return (list(sl.queue), sl.speaker)


def refused(sl: SpeakersList, code: str, action: Callable[[], Any]) -> FloorError:
    """The action raises FloorError with ``code`` and leaves the list and the floor as they were."""
    before = snapshot(sl)
    with pytest.raises(FloorError) as info:
        action()
    assert info.value.code == code
    assert info.value.message
    assert str(info.value) == info.value.message
    assert snapshot(sl) == before
    return info.value


def ask(sl: SpeakersList, pid: str, kind: str = INT, now: float = 0.0,
        language: str = "en", note: str = "") -> FloorRequest:
    return sl.request(pid, kind, note, language, now)


def order(sl: SpeakersList) -> list[tuple[str, str]]:
    return [(r.participant_id, r.kind) for r in sl.queue]


# --- request: the FloorRequest itself -------------------------------------------------------

def test_request_fields() -> None:
    sl = SpeakersList()
    r = sl.request("alice", INT, "on item 3", "fr", 12.5)
    assert r == FloorRequest(id=r.id, participant_id="alice", kind=INT, note="on item 3",
                             language="fr", requested_at=12.5)
    assert sl.queue == [r]
    assert sl.speaker is None


def test_request_ids_are_unique_and_never_reused() -> None:
    sl = SpeakersList()
    a = ask(sl, "a")
    sl.withdraw("a", a.id)
    b = ask(sl, "a")
    c = ask(sl, "c")
    ids = [a.id, b.id, c.id]
    assert len(set(ids)) == 3
    assert ids == ["r1", "r2", "r3"]


def test_request_ids_per_list() -> None:
    one, two = SpeakersList(), SpeakersList()
    assert ask(one, "a").id == ask(two, "a").id == "r1"


def test_request_unknown_kind_refused() -> None:
    sl = SpeakersList()
    ask(sl, "a")
    for kind in ("", "Intervention", "point_of_order", "motion"):
        refused(sl, "bad-request", lambda k=kind: ask(sl, "b", k))  # type: ignore[misc]


# --- ordering --------------------------------------------------------------------------------

def test_interventions_fifo() -> None:
    sl = SpeakersList()
    for i, pid in enumerate("abcde"):
        ask(sl, pid, now=float(i))
    assert [r.participant_id for r in sl.queue] == list("abcde")


def test_point_of_order_goes_to_head() -> None:
    sl = SpeakersList()
    ask(sl, "a")
    ask(sl, "b")
    ask(sl, "c", POO)
    assert order(sl) == [("c", POO), ("a", INT), ("b", INT)]


def test_point_of_order_after_earlier_points_of_order() -> None:
    sl = SpeakersList()
    ask(sl, "a")
    ask(sl, "p1", POO)
    ask(sl, "b")
    ask(sl, "p2", POO)
    ask(sl, "p3", POO)
    assert order(sl) == [("p1", POO), ("p2", POO), ("p3", POO), ("a", INT), ("b", INT)]


def test_right_of_reply_after_points_of_order_before_interventions() -> None:
    sl = SpeakersList()
    ask(sl, "a")
    ask(sl, "p1", POO)
    ask(sl, "r1", ROR)
    ask(sl, "b")
    ask(sl, "r2", ROR)
    ask(sl, "p2", POO)
    assert order(sl) == [("p1", POO), ("p2", POO), ("r1", ROR), ("r2", ROR),
                         ("a", INT), ("b", INT)]


def test_right_of_reply_alone_goes_before_interventions() -> None:
    sl = SpeakersList()
    ask(sl, "a")
    ask(sl, "r", ROR)
    assert order(sl) == [("r", ROR), ("a", INT)]


def test_point_of_order_on_empty_list() -> None:
    sl = SpeakersList()
    ask(sl, "p", POO)
    assert order(sl) == [("p", POO)]


def test_mixed_sequence_keeps_priority_and_fifo_within_kind() -> None:
    sl = SpeakersList()
    seq = [("a", INT), ("b", ROR), ("c", POO), ("d", INT), ("e", ROR), ("f", POO),
           ("g", INT)]
    for i, (pid, kind) in enumerate(seq):
        ask(sl, pid, kind, now=float(i))
    prio = {POO: 0, ROR: 1, INT: 2}
    expected = sorted(seq, key=lambda pk: prio[pk[1]])  # stable: FIFO within a kind
    assert order(sl) == expected


def test_new_point_of_order_after_earlier_point_of_order_even_after_chair_reorder() -> None:
    """The chair moved an intervention ahead of a point of order; a new point of order must
    still come after the earlier point of order ("after every request of the same or higher
    priority")."""
    sl = SpeakersList()
    p1 = ask(sl, "p1", POO)
    a = ask(sl, "a")
    sl.reorder([a.id, p1.id])
    p2 = ask(sl, "p2", POO)
    ids = [r.id for r in sl.queue]
    assert ids.index(p2.id) > ids.index(p1.id), order(sl)


def test_new_right_of_reply_after_earlier_right_of_reply_even_after_chair_reorder() -> None:
    sl = SpeakersList()
    r1 = ask(sl, "r1", ROR)
    a = ask(sl, "a")
    sl.reorder([a.id, r1.id])
    r2 = ask(sl, "r2", ROR)
    ids = [r.id for r in sl.queue]
    assert ids.index(r2.id) > ids.index(r1.id), order(sl)


def test_new_intervention_goes_last_after_chair_reorder() -> None:
    sl = SpeakersList()
    a = ask(sl, "a")
    p = ask(sl, "p", POO)
    sl.reorder([a.id, p.id])
    b = ask(sl, "b")
    assert [r.id for r in sl.queue] == [a.id, p.id, b.id]


# --- duplicates and the current speaker -------------------------------------------------------

@pytest.mark.parametrize("kind", [INT, POO, ROR])
def test_duplicate_request_of_same_kind_refused(kind: str) -> None:
    sl = SpeakersList()
    ask(sl, "a", kind)
    ask(sl, "b", kind)
    refused(sl, "conflict", lambda: ask(sl, "a", kind, now=5.0))


def test_participant_may_hold_intervention_and_point_of_order() -> None:
    sl = SpeakersList()
    i = ask(sl, "a")
    p = ask(sl, "a", POO)
    assert sl.queue == [p, i]


def test_participant_may_hold_all_three_kinds() -> None:
    sl = SpeakersList()
    ask(sl, "a", INT)
    ask(sl, "a", ROR)
    ask(sl, "a", POO)
    assert order(sl) == [("a", POO), ("a", ROR), ("a", INT)]


def test_request_again_after_withdraw_allowed() -> None:
    sl = SpeakersList()
    r = ask(sl, "a")
    sl.withdraw("a", r.id)
    r2 = ask(sl, "a")
    assert sl.queue == [r2]


def test_current_speaker_asking_for_intervention_refused() -> None:
    sl = SpeakersList()
    sl.grant(now=0.0, participant_id="a")
    ask(sl, "b")
    refused(sl, "conflict", lambda: ask(sl, "a", INT, now=1.0))


@pytest.mark.parametrize("kind", [POO, ROR])
def test_current_speaker_may_raise_point_of_order_or_reply(kind: str) -> None:
    sl = SpeakersList()
    sl.grant(now=0.0, participant_id="a")
    r = ask(sl, "a", kind)
    assert sl.queue == [r]


def test_speaker_can_request_again_after_release() -> None:
    sl = SpeakersList()
    sl.grant(now=0.0, participant_id="a")
    sl.release("a", now=10.0)
    r = ask(sl, "a")
    assert sl.queue == [r]


# --- withdraw --------------------------------------------------------------------------------

def test_withdraw_own_request() -> None:
    sl = SpeakersList()
    a = ask(sl, "a")
    b = ask(sl, "b")
    assert sl.withdraw("a", a.id) == a
    assert sl.queue == [b]


def test_withdraw_one_of_two_own_requests() -> None:
    sl = SpeakersList()
    i = ask(sl, "a")
    p = ask(sl, "a", POO)
    assert sl.withdraw("a", p.id) == p
    assert sl.queue == [i]


def test_withdraw_someone_elses_request_forbidden() -> None:
    sl = SpeakersList()
    a = ask(sl, "a")
    ask(sl, "b")
    refused(sl, "forbidden", lambda: sl.withdraw("b", a.id))


def test_withdraw_unknown_request_not_found() -> None:
    sl = SpeakersList()
    ask(sl, "a")
    refused(sl, "not-found", lambda: sl.withdraw("a", "r99"))
    refused(sl, "not-found", lambda: sl.withdraw("a", ""))


def test_withdraw_twice_not_found() -> None:
    sl = SpeakersList()
    a = ask(sl, "a")
    sl.withdraw("a", a.id)
    refused(sl, "not-found", lambda: sl.withdraw("a", a.id))


def test_withdraw_granted_request_not_found() -> None:
    sl = SpeakersList()
    a = ask(sl, "a")
    sl.grant(now=1.0, request_id=a.id)
    refused(sl, "not-found", lambda: sl.withdraw("a", a.id))


def test_withdraw_all() -> None:
    sl = SpeakersList()
    a1 = ask(sl, "a")
    b = ask(sl, "b")
    a2 = ask(sl, "a", POO)
    a3 = ask(sl, "a", ROR)
    gone = sl.withdraw_all("a")
    assert gone == [a2, a3, a1]  # in queue order
    assert sl.queue == [b]


def test_withdraw_all_nothing_queued() -> None:
    sl = SpeakersList()
    b = ask(sl, "b")
    assert sl.withdraw_all("a") == []
    assert sl.queue == [b]


def test_withdraw_all_leaves_the_floor_alone() -> None:
    sl = SpeakersList()
    g, _ = sl.grant(now=0.0, participant_id="a")
    ask(sl, "a", POO)
    sl.withdraw_all("a")
    assert sl.queue == []
    assert sl.speaker == g


# --- grant -----------------------------------------------------------------------------------

def test_grant_from_request() -> None:
    sl = SpeakersList(default_limit_s=120.0)
    a = ask(sl, "a", language="fr", note="n")
    b = ask(sl, "b")
    grant, ended = sl.grant(now=50.0, request_id=a.id)
    assert grant == Grant(request_id=a.id, participant_id="a", kind=INT, language="fr",
                          granted_at=50.0, limit_s=120.0)
    assert ended is None
    assert sl.speaker == grant
    assert sl.queue == [b]


def test_grant_from_request_keeps_its_kind() -> None:
    sl = SpeakersList()
    p = ask(sl, "a", POO)
    grant, _ = sl.grant(now=1.0, request_id=p.id)
    assert grant.kind == POO
    assert grant.request_id == p.id


def test_grant_from_request_language_override() -> None:
    sl = SpeakersList()
    a = ask(sl, "a", language="fr")
    grant, _ = sl.grant(now=1.0, request_id=a.id, language="es")
    assert grant.language == "es"


def test_grant_from_request_not_first_in_queue() -> None:
    sl = SpeakersList()
    a = ask(sl, "a")
    b = ask(sl, "b")
    c = ask(sl, "c")
    sl.grant(now=1.0, request_id=b.id)
    assert sl.queue == [a, c]


def test_grant_from_point_of_order_leaves_other_requests_of_that_participant() -> None:
    sl = SpeakersList()
    i = ask(sl, "a")
    p = ask(sl, "a", POO)
    sl.grant(now=1.0, request_id=p.id)
    assert sl.queue == [i]


def test_grant_unknown_request_not_found() -> None:
    sl = SpeakersList()
    ask(sl, "a")
    refused(sl, "not-found", lambda: sl.grant(now=1.0, request_id="r42"))


def test_grant_unknown_request_while_someone_speaks_not_found() -> None:
    sl = SpeakersList()
    sl.grant(now=0.0, participant_id="s")
    ask(sl, "a")
    refused(sl, "not-found", lambda: sl.grant(now=1.0, request_id="nope"))


def test_grant_needs_request_or_participant() -> None:
    sl = SpeakersList()
    ask(sl, "a")
    refused(sl, "bad-request", lambda: sl.grant(now=1.0))
    sl.grant(now=0.0, participant_id="s")
    refused(sl, "bad-request", lambda: sl.grant(now=1.0))


def test_grant_directly_to_participant() -> None:
    sl = SpeakersList(default_limit_s=90.0)
    grant, ended = sl.grant(now=7.0, participant_id="a", language="de")
    assert grant == Grant(request_id=None, participant_id="a", kind=INT, language="de",
                          granted_at=7.0, limit_s=90.0)
    assert ended is None
    assert sl.speaker == grant


def test_grant_directly_default_language_empty() -> None:
    sl = SpeakersList()
    grant, _ = sl.grant(now=7.0, participant_id="a")
    assert grant.language == ""


def test_grant_directly_removes_pending_intervention_only() -> None:
    sl = SpeakersList()
    ai = ask(sl, "a")
    b = ask(sl, "b")
    ap = ask(sl, "a", POO)
    ar = ask(sl, "a", ROR)
    sl.grant(now=1.0, participant_id="a")
    assert ai not in sl.queue
    assert sl.queue == [ap, ar, b]


def test_grant_directly_without_pending_request_leaves_queue() -> None:
    sl = SpeakersList()
    a = ask(sl, "a")
    sl.grant(now=1.0, participant_id="z")
    assert sl.queue == [a]


def test_grant_request_id_wins_over_participant() -> None:
    sl = SpeakersList()
    a = ask(sl, "a")
    b = ask(sl, "b")
    grant, _ = sl.grant(now=1.0, request_id=a.id, participant_id="b")
    assert grant.participant_id == "a"
    assert sl.queue == [b]


# --- grant: limits ---------------------------------------------------------------------------

def test_limit_default_is_meeting_default() -> None:
    sl = SpeakersList()
    assert sl.default_limit_s == 180.0
    grant, _ = sl.grant(now=0.0, participant_id="a")
    assert grant.limit_s == 180.0


@pytest.mark.parametrize("minus_one", [-1, -1.0])
def test_limit_minus_one_means_default(minus_one: float) -> None:
    sl = SpeakersList(default_limit_s=60.0)
    grant, _ = sl.grant(now=0.0, participant_id="a", limit_s=minus_one)
    assert grant.limit_s == 60.0


def test_limit_default_when_meeting_has_no_limit() -> None:
    sl = SpeakersList(default_limit_s=None)
    grant, _ = sl.grant(now=0.0, participant_id="a")
    assert grant.limit_s is None
    assert grant.remaining(1000.0) is None


def test_limit_none_is_unlimited() -> None:
    sl = SpeakersList(default_limit_s=60.0)
    grant, _ = sl.grant(now=0.0, participant_id="a", limit_s=None)
    assert grant.limit_s is None


@pytest.mark.parametrize("limit", [5, 5.0, 30.0, 3599.5, 3600, 3600.0])
def test_limit_in_range(limit: float) -> None:
    sl = SpeakersList()
    grant, _ = sl.grant(now=0.0, participant_id="a", limit_s=limit)
    assert grant.limit_s == limit


@pytest.mark.parametrize("limit", [0, 0.0, 4.999, -0.5, -2.0, -3600.0, 3600.001, 1e9,
                                   math.inf, -math.inf, math.nan])
def test_limit_out_of_range_refused(limit: float) -> None:
    sl = SpeakersList()
    a = ask(sl, "a")
    ask(sl, "b")
    refused(sl, "bad-request", lambda: sl.grant(now=1.0, request_id=a.id, limit_s=limit))
    refused(sl, "bad-request", lambda: sl.grant(now=1.0, participant_id="b", limit_s=limit))
    sl.grant(now=2.0, participant_id="s")
    refused(sl, "bad-request", lambda: sl.grant(now=3.0, request_id=a.id, limit_s=limit))


def test_limit_checked_before_request_lookup() -> None:
    sl = SpeakersList()
    refused(sl, "bad-request", lambda: sl.grant(now=1.0, request_id="r9", limit_s=1.0))


# --- grant while someone speaks ---------------------------------------------------------------

def test_grant_while_speaking_replaces() -> None:
    sl = SpeakersList()
    first, _ = sl.grant(now=10.0, participant_id="a")
    b = ask(sl, "b", now=11.0)
    second, ended = sl.grant(now=40.0, request_id=b.id)
    assert ended == Ended(grant=first, ended_at=40.0, reason="replaced")
    assert ended.duration_s == 30.0
    assert sl.speaker == second
    assert sl.queue == []


def test_grant_directly_while_speaking_replaces() -> None:
    sl = SpeakersList()
    first, _ = sl.grant(now=100.0, participant_id="a", limit_s=None)
    second, ended = sl.grant(now=162.5, participant_id="b")
    assert ended is not None
    assert ended.grant == first
    assert ended.reason == "replaced"
    assert ended.ended_at == 162.5
    assert ended.duration_s == 62.5
    assert sl.speaker == second


def test_refused_grant_does_not_end_current_speaker() -> None:
    sl = SpeakersList()
    first, _ = sl.grant(now=0.0, participant_id="a")
    b = ask(sl, "b")
    refused(sl, "bad-request", lambda: sl.grant(now=5.0, request_id=b.id, limit_s=2.0))
    assert sl.speaker == first


# --- deny ------------------------------------------------------------------------------------

def test_deny() -> None:
    sl = SpeakersList()
    a = ask(sl, "a")
    b = ask(sl, "b")
    assert sl.deny(a.id) == a
    assert sl.queue == [b]
    assert sl.speaker is None


def test_deny_keeps_speaker() -> None:
    sl = SpeakersList()
    g, _ = sl.grant(now=0.0, participant_id="s")
    a = ask(sl, "a")
    sl.deny(a.id)
    assert sl.speaker == g
    assert sl.queue == []


def test_deny_unknown_not_found() -> None:
    sl = SpeakersList()
    a = ask(sl, "a")
    refused(sl, "not-found", lambda: sl.deny("r99"))
    sl.deny(a.id)
    refused(sl, "not-found", lambda: sl.deny(a.id))


# --- revoke ----------------------------------------------------------------------------------

def test_revoke() -> None:
    sl = SpeakersList()
    g, _ = sl.grant(now=10.0, participant_id="a")
    b = ask(sl, "b")
    ended = sl.revoke(now=25.0)
    assert ended == Ended(grant=g, ended_at=25.0, reason="revoked")
    assert ended.duration_s == 15.0
    assert sl.speaker is None
    assert sl.queue == [b]


def test_revoke_with_reason() -> None:
    sl = SpeakersList()
    sl.grant(now=0.0, participant_id="a")
    assert sl.revoke(now=180.0, reason="expired").reason == "expired"


def test_revoke_nobody_speaking_conflict() -> None:
    sl = SpeakersList()
    ask(sl, "a")
    refused(sl, "conflict", lambda: sl.revoke(now=1.0))
    sl.grant(now=1.0, participant_id="s")
    sl.revoke(now=2.0)
    refused(sl, "conflict", lambda: sl.revoke(now=3.0))


# --- release ---------------------------------------------------------------------------------

def test_release_by_speaker() -> None:
    sl = SpeakersList()
    g, _ = sl.grant(now=3.0, participant_id="a")
    ended = sl.release("a", now=8.0)
    assert ended == Ended(grant=g, ended_at=8.0, reason="released")
    assert ended.duration_s == 5.0
    assert sl.speaker is None


def test_release_left() -> None:
    sl = SpeakersList()
    sl.grant(now=3.0, participant_id="a")
    assert sl.release("a", now=8.0, reason="left").reason == "left"


def test_release_by_someone_else_conflict() -> None:
    sl = SpeakersList()
    sl.grant(now=0.0, participant_id="a")
    ask(sl, "b")
    refused(sl, "conflict", lambda: sl.release("b", now=1.0))


def test_release_nobody_speaking_conflict() -> None:
    sl = SpeakersList()
    ask(sl, "a")
    refused(sl, "conflict", lambda: sl.release("a", now=1.0))


def test_release_keeps_queue() -> None:
    sl = SpeakersList()
    sl.grant(now=0.0, participant_id="a")
    a = ask(sl, "a", POO)
    b = ask(sl, "b")
    sl.release("a", now=2.0)
    assert sl.queue == [a, b]


# --- reorder ---------------------------------------------------------------------------------

def test_reorder() -> None:
    sl = SpeakersList()
    a, b, c = ask(sl, "a"), ask(sl, "b"), ask(sl, "c")
    sl.reorder([c.id, a.id, b.id])
    assert sl.queue == [c, a, b]


def test_reorder_across_kinds() -> None:
    sl = SpeakersList()
    a = ask(sl, "a")
    p = ask(sl, "p", POO)
    sl.reorder([a.id, p.id])
    assert sl.queue == [a, p]


def test_reorder_empty() -> None:
    sl = SpeakersList()
    sl.reorder([])
    assert sl.queue == []


def test_reorder_same_order() -> None:
    sl = SpeakersList()
    a, b = ask(sl, "a"), ask(sl, "b")
    sl.reorder([a.id, b.id])
    assert sl.queue == [a, b]


@pytest.mark.parametrize("bad", [
    [],                       # names nothing
    ["r1", "r2"],             # misses one
    ["r1", "r2", "r3", "r4"],  # unknown extra
    ["r1", "r1", "r2"],       # duplicate, missing r3
    ["r1", "r2", "r3", "r3"],  # duplicate
    ["r3", "r2", "r9"],       # unknown instead of one
])
def test_reorder_must_name_every_queued_id_once(bad: list[str]) -> None:
    sl = SpeakersList()
    for pid in "abc":
        ask(sl, pid)
    assert [r.id for r in sl.queue] == ["r1", "r2", "r3"]
    refused(sl, "conflict", lambda: sl.reorder(bad))


def test_reorder_stale_after_withdraw() -> None:
    sl = SpeakersList()
    a, b, c = ask(sl, "a"), ask(sl, "b"), ask(sl, "c")
    stale = [c.id, b.id, a.id]
    sl.withdraw("b", b.id)
    refused(sl, "conflict", lambda: sl.reorder(stale))
    assert sl.queue == [a, c]


def test_reorder_stale_after_new_request() -> None:
    sl = SpeakersList()
    a, b = ask(sl, "a"), ask(sl, "b")
    stale = [b.id, a.id]
    c = ask(sl, "c")
    refused(sl, "conflict", lambda: sl.reorder(stale))
    assert sl.queue == [a, b, c]


def test_reorder_on_empty_with_ids_refused() -> None:
    sl = SpeakersList()
    refused(sl, "conflict", lambda: sl.reorder(["r1"]))


# --- extend ----------------------------------------------------------------------------------

def test_extend_adds_time() -> None:
    sl = SpeakersList()
    g, _ = sl.grant(now=0.0, participant_id="a", limit_s=60.0)
    extended = sl.extend(30.0)
    assert extended == Grant(g.request_id, "a", INT, g.language, 0.0, 90.0)
    assert sl.speaker == extended
    assert extended.remaining(80.0) == 10.0


def test_extend_negative_shortens() -> None:
    sl = SpeakersList()
    sl.grant(now=0.0, participant_id="a", limit_s=60.0)
    assert sl.extend(-20.0).limit_s == 40.0


def test_extend_keeps_granted_at_and_identity() -> None:
    sl = SpeakersList()
    r = ask(sl, "a", POO, language="ar")
    g, _ = sl.grant(now=33.0, request_id=r.id, limit_s=100.0)
    e = sl.extend(10.0)
    assert (e.request_id, e.participant_id, e.kind, e.language, e.granted_at) == \
        (g.request_id, g.participant_id, g.kind, g.language, g.granted_at)


@pytest.mark.parametrize("seconds,expected", [(-55.0, 5.0), (-59.0, 5.0), (-3600.0, 5.0),
                                              (-50.0, 10.0), (-55.5, 5.0)])
def test_extend_minimum_five_seconds(seconds: float, expected: float) -> None:
    sl = SpeakersList()
    sl.grant(now=0.0, participant_id="a", limit_s=60.0)
    assert sl.extend(seconds).limit_s == expected


@pytest.mark.parametrize("seconds", [-3600, -3600.0, 3600, 3600.0, 0.0])
def test_extend_bounds_inclusive(seconds: float) -> None:
    sl = SpeakersList()
    sl.grant(now=0.0, participant_id="a", limit_s=60.0)
    assert sl.extend(seconds).limit_s == max(5.0, 60.0 + seconds)


@pytest.mark.parametrize("seconds", [3600.001, -3600.001, 1e6, math.inf, -math.inf, math.nan])
def test_extend_out_of_range_refused(seconds: float) -> None:
    sl = SpeakersList()
    sl.grant(now=0.0, participant_id="a", limit_s=60.0)
    ask(sl, "b")
    refused(sl, "bad-request", lambda: sl.extend(seconds))


def test_extend_nobody_speaking_conflict() -> None:
    sl = SpeakersList()
    ask(sl, "a")
    refused(sl, "conflict", lambda: sl.extend(30.0))
    refused(sl, "conflict", lambda: sl.extend(1e9))  # no speaker is checked first


def test_extend_unlimited_counts_from_now() -> None:
    """An unlimited intervention extended by 60 s ends 60 s after the extension."""
    sl = SpeakersList()
    sl.grant(now=0.0, participant_id="a", limit_s=None)
    extended = sl.extend(60.0, now=100.0)
    assert extended.limit_s == 160.0
    assert extended.remaining(100.0) == 60.0


def test_extend_never_beyond_two_hours() -> None:
    sl = SpeakersList()
    sl.grant(now=0.0, participant_id="a", limit_s=3600.0)
    assert sl.extend(3600.0).limit_s == 7200.0
    assert sl.extend(3600.0).limit_s == 7200.0


def test_extend_unlimited_without_a_clock_counts_from_the_grant() -> None:
    """Without ``now``, an unlimited grant extended gets a limit counted from the grant."""
    sl = SpeakersList()
    sl.grant(now=0.0, participant_id="a", limit_s=None)
    assert sl.extend(60.0).limit_s == 60.0
    sl.revoke(now=1.0)
    sl.grant(now=2.0, participant_id="b", limit_s=None)
    assert sl.extend(-10.0).limit_s == 5.0


def test_extend_repeatedly() -> None:
    sl = SpeakersList()
    sl.grant(now=0.0, participant_id="a", limit_s=60.0)
    sl.extend(30.0)
    sl.extend(30.0)
    assert sl.speaker is not None and sl.speaker.limit_s == 120.0


# --- position --------------------------------------------------------------------------------

def test_position() -> None:
    sl = SpeakersList()
    ask(sl, "a")
    ask(sl, "b")
    ask(sl, "c", POO)
    assert sl.position("c") == 1
    assert sl.position("a") == 2
    assert sl.position("b") == 3
    assert sl.position("z") is None


def test_position_first_of_several_requests() -> None:
    sl = SpeakersList()
    ask(sl, "b")
    ask(sl, "a")
    ask(sl, "a", ROR)
    assert sl.position("a") == 1


def test_position_of_speaker_not_in_queue() -> None:
    sl = SpeakersList()
    a = ask(sl, "a")
    sl.grant(now=0.0, request_id=a.id)
    assert sl.position("a") is None


def test_position_empty() -> None:
    assert SpeakersList().position("a") is None


# --- Grant.remaining, Ended.duration_s --------------------------------------------------------

def test_grant_remaining() -> None:
    g = Grant(None, "a", INT, "en", granted_at=100.0, limit_s=60.0)
    assert g.remaining(100.0) == 60.0
    assert g.remaining(130.0) == 30.0
    assert g.remaining(160.0) == 0.0
    assert g.remaining(175.0) == -15.0  # overrun is negative, not clamped


def test_grant_remaining_unlimited() -> None:
    g = Grant(None, "a", INT, "en", granted_at=100.0, limit_s=None)
    assert g.remaining(100.0) is None
    assert g.remaining(1e9) is None


def test_ended_duration() -> None:
    g = Grant(None, "a", INT, "en", granted_at=100.0, limit_s=60.0)
    assert Ended(g, 100.0, "released").duration_s == 0.0
    assert Ended(g, 145.5, "released").duration_s == 45.5
    assert Ended(g, 400.0, "expired").duration_s == 300.0


def test_ended_duration_never_negative() -> None:
    g = Grant(None, "a", INT, "en", granted_at=100.0, limit_s=None)
    assert Ended(g, 99.0, "revoked").duration_s == 0.0


def test_grant_and_ended_are_frozen() -> None:
    g = Grant(None, "a", INT, "en", granted_at=0.0, limit_s=None)
    with pytest.raises(AttributeError):
        g.limit_s = 5.0  # type: ignore[misc]
    e = Ended(g, 1.0, "released")
    with pytest.raises(AttributeError):
        e.reason = "x"  # type: ignore[misc]


# --- a full session --------------------------------------------------------------------------

def test_session_walkthrough() -> None:
    sl = SpeakersList(default_limit_s=120.0)
    a = ask(sl, "a", now=0.0)
    b = ask(sl, "b", now=1.0)
    g1, e0 = sl.grant(now=10.0, request_id=a.id)
    assert e0 is None and sl.queue == [b]
    p = ask(sl, "c", POO, now=20.0)
    assert sl.queue == [p, b]
    g2, e1 = sl.grant(now=25.0, request_id=p.id, limit_s=None)
    assert e1 is not None and e1.grant == g1 and e1.reason == "replaced"
    assert e1.duration_s == 15.0
    e2 = sl.release("c", now=40.0)
    assert e2.grant == g2 and e2.duration_s == 15.0
    g3, e3 = sl.grant(now=41.0, request_id=b.id)
    assert e3 is None and g3.limit_s == 120.0 and g3.remaining(100.0) == 61.0
    sl.extend(-200.0)
    assert sl.speaker is not None and sl.speaker.limit_s == 5.0
    e4 = sl.revoke(now=46.0, reason="expired")
    assert e4.duration_s == 5.0
    assert sl.speaker is None and sl.queue == []


def test_a_snapshot_restores_the_queue_of_those_present_and_the_ids_continue() -> None:
    from meeting_server.speakers_list import SpeakersList as Speakers

    speakers = Speakers(default_limit_s=120.0, close_on_expiry=True)
    a = speakers.request("ana", "intervention", "item 3", "fr", 1.0)
    speakers.request("gone", "intervention", "", "", 2.0)
    b = speakers.request("ben", "point-of-order", "", "", 3.0)
    speakers.grant(now=4.0, participant_id="chair")
    state = speakers.snapshot()
    assert speakers.request("cy", "intervention", "", "", 5.0).id == "r4"  # not consumed
    again = Speakers()
    restored = again.restore(state, {"ana", "ben"})
    assert [r.id for r in restored] == [b.id, a.id]
    assert [r.participant_id for r in again.queue] == ["ben", "ana"]
    assert again.queue[1].note == "item 3" and again.queue[1].language == "fr"
    assert again.default_limit_s == 120.0 and again.close_on_expiry is True
    assert again.speaker is None  # the floor is not given back after a restart
    assert again.request("dan", "intervention", "", "", 6.0).id == "r4"
    # a bad snapshot restores nothing and raises nothing
    broken = Speakers()
    assert broken.restore({"queue": [{"participantId": "ana", "kind": "shout"}, 3]},
                          {"ana"}) == []
