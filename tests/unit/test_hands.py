"""meeting_server/hands.py: show of hands (yes / no / abstain)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from meeting_server.hands import ANSWERS, MODES, HandsError, Question


def per_participant(qid: str = "q1", text: str = "Adopt item 4?") -> Question:
    return Question(id=qid, text=text, mode="participant", opened_at=100.0)


def per_state(qid: str = "q2", text: str = "Agree?") -> Question:
    return Question(id=qid, text=text, mode="member-state", opened_at=100.0)


def refused(q: Question, code: str, action: Callable[[], Any]) -> HandsError:
    before = (dict(q.answers), q.closed_at)
    with pytest.raises(HandsError) as info:
        action()
    assert info.value.code == code
    assert info.value.message
    assert str(info.value) == info.value.message
    assert (dict(q.answers), q.closed_at) == before
    return info.value


def test_constants() -> None:
    assert ANSWERS == ("yes", "no", "abstain")
    assert MODES == ("participant", "member-state")


def test_new_question_is_open_and_empty() -> None:
    q = per_participant()
    assert q.open
    assert q.closed_at is None
    assert q.answers == {}
    assert q.totals() == {"yes": 0, "no": 0, "abstain": 0}


def test_closed_question() -> None:
    q = per_participant()
    q.closed_at = 200.0
    assert not q.open


def test_closed_at_zero_is_closed() -> None:
    q = per_participant()
    q.closed_at = 0.0
    assert not q.open


# --- per participant -------------------------------------------------------------------------

def test_answer_per_participant() -> None:
    q = per_participant()
    assert q.answer("alice", "FR", "yes") == "p:alice"
    assert q.answer("bob", "", "no") == "p:bob"
    assert q.answers == {"p:alice": ("alice", "yes"), "p:bob": ("bob", "no")}


def test_participant_may_change_answer() -> None:
    q = per_participant()
    q.answer("alice", "", "yes")
    q.answer("alice", "", "abstain")
    assert q.answers == {"p:alice": ("alice", "abstain")}
    assert q.totals() == {"yes": 0, "no": 0, "abstain": 1}


def test_delegates_of_one_state_count_separately_per_participant() -> None:
    q = per_participant()
    q.answer("a1", "FR", "yes")
    q.answer("a2", "FR", "no")
    assert q.totals() == {"yes": 1, "no": 1, "abstain": 0}


def test_voter_key_per_participant_ignores_member_state() -> None:
    q = per_participant()
    assert q.voter_key("alice", "") == "p:alice"
    assert q.voter_key("alice", "DE") == "p:alice"


# --- per member state ------------------------------------------------------------------------

def test_answer_per_member_state() -> None:
    q = per_state()
    assert q.answer("alice", "FR", "yes") == "ms:fr"
    assert q.answers == {"ms:fr": ("alice", "yes")}


def test_member_state_key_case_insensitive() -> None:
    q = per_state()
    assert q.voter_key("a", "FR") == q.voter_key("b", "fr") == q.voter_key("c", "Fr") == "ms:fr"
    assert q.voter_key("a", "STRASSE") == q.voter_key("b", "straße")  # casefold, not lower


def test_member_state_last_answer_counts() -> None:
    q = per_state()
    q.answer("alice", "FR", "yes")
    q.answer("bob", "fr", "no")
    assert q.answers == {"ms:fr": ("bob", "no")}
    assert q.totals() == {"yes": 0, "no": 1, "abstain": 0}
    q.answer("alice", "Fr", "abstain")
    assert q.answers == {"ms:fr": ("alice", "abstain")}
    assert q.totals() == {"yes": 0, "no": 0, "abstain": 1}


def test_member_states_count_separately() -> None:
    q = per_state()
    q.answer("a", "FR", "yes")
    q.answer("b", "DE", "yes")
    q.answer("c", "IT", "no")
    assert q.totals() == {"yes": 2, "no": 1, "abstain": 0}


def test_participant_without_member_state_forbidden() -> None:
    q = per_state()
    q.answer("a", "FR", "yes")
    refused(q, "forbidden", lambda: q.answer("x", "", "no"))
    with pytest.raises(HandsError) as info:
        q.voter_key("x", "")
    assert info.value.code == "forbidden"


# --- refusals --------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [per_participant, per_state])
def test_closed_question_refused(make: Callable[[], Question]) -> None:
    q = make()
    q.answer("a", "FR", "yes")
    q.closed_at = 150.0
    refused(q, "conflict", lambda: q.answer("b", "DE", "no"))
    refused(q, "conflict", lambda: q.answer("a", "FR", "no"))
    refused(q, "conflict", lambda: q.answer("a", "FR", "maybe"))  # closed is checked first
    assert q.totals() == {"yes": 1, "no": 0, "abstain": 0}


@pytest.mark.parametrize("bad", ["", "Yes", "YES", "y", "maybe", "abstention", " yes"])
@pytest.mark.parametrize("make", [per_participant, per_state])
def test_bad_answer_refused(make: Callable[[], Question], bad: str) -> None:
    q = make()
    q.answer("a", "FR", "no")
    refused(q, "bad-request", lambda: q.answer("b", "DE", bad))
    refused(q, "bad-request", lambda: q.answer("a", "FR", bad))


def test_bad_answer_checked_before_member_state() -> None:
    q = per_state()
    refused(q, "bad-request", lambda: q.answer("x", "", "maybe"))


# --- totals and to_json ----------------------------------------------------------------------

def test_totals() -> None:
    q = per_participant()
    for pid, a in [("a", "yes"), ("b", "yes"), ("c", "no"), ("d", "abstain"), ("e", "yes")]:
        q.answer(pid, "", a)
    assert q.totals() == {"yes": 3, "no": 1, "abstain": 1}
    assert list(q.totals()) == list(ANSWERS)


def test_to_json_without_answers() -> None:
    q = per_participant("q7", "Close the list?")
    q.answer("a", "", "yes")
    q.answer("b", "", "no")
    assert q.to_json() == {"id": "q7", "text": "Close the list?", "mode": "participant",
                           "open": True, "totals": {"yes": 1, "no": 1, "abstain": 0}}
    assert "answers" not in q.to_json(with_answers=False)


def test_to_json_with_answers() -> None:
    q = per_state("q8", "Agree?")
    q.answer("alice", "FR", "yes")
    q.answer("bob", "DE", "no")
    q.answer("carl", "fr", "abstain")
    q.closed_at = 300.0
    assert q.to_json(with_answers=True) == {
        "id": "q8", "text": "Agree?", "mode": "member-state", "open": False,
        "totals": {"yes": 0, "no": 1, "abstain": 1},
        "answers": [
            {"voter": "ms:fr", "participantId": "carl", "answer": "abstain"},
            {"voter": "ms:de", "participantId": "bob", "answer": "no"},
        ],
    }


def test_to_json_empty() -> None:
    q = per_participant("q9", "?")
    assert q.to_json(with_answers=True) == {
        "id": "q9", "text": "?", "mode": "participant", "open": True,
        "totals": {"yes": 0, "no": 0, "abstain": 0}, "answers": []}
