"""sfu/slots.py: who gets which seat of a subscriber."""

from __future__ import annotations

import random

import pytest

from sfu.slots import Candidate, assign_seats, rank


def c(pid: str, voice: float = 0.0, arrival: int = 0) -> Candidate:
    return Candidate(participant_id=pid, last_voice_at=voice, arrival=arrival)


# --- rank ------------------------------------------------------------------------------------

def test_rank_empty() -> None:
    assert rank([], None) == []
    assert rank([], "nobody") == []


def test_rank_by_arrival_when_nobody_spoke() -> None:
    cands = [c("c", arrival=3), c("a", arrival=1), c("b", arrival=2)]
    assert rank(cands, None) == ["a", "b", "c"]


def test_rank_most_recent_voice_first() -> None:
    cands = [c("a", voice=10.0, arrival=1), c("b", voice=30.0, arrival=2),
             c("c", voice=20.0, arrival=3), c("d", voice=0.0, arrival=0)]
    assert rank(cands, None) == ["b", "c", "a", "d"]


def test_rank_voice_beats_arrival() -> None:
    cands = [c("early", arrival=0), c("talker", voice=5.0, arrival=99)]
    assert rank(cands, None) == ["talker", "early"]


def test_rank_voice_tie_broken_by_arrival() -> None:
    cands = [c("x", voice=7.0, arrival=5), c("y", voice=7.0, arrival=2),
             c("z", voice=7.0, arrival=9)]
    assert rank(cands, None) == ["y", "x", "z"]


def test_rank_pin_first_even_if_silent_and_late() -> None:
    cands = [c("a", voice=100.0, arrival=0), c("b", voice=50.0, arrival=1),
             c("pinned", voice=0.0, arrival=50)]
    assert rank(cands, "pinned") == ["pinned", "a", "b"]


def test_rank_pin_already_first() -> None:
    cands = [c("a", voice=100.0, arrival=0), c("b", voice=50.0, arrival=1)]
    assert rank(cands, "a") == ["a", "b"]


def test_rank_pin_not_among_candidates_is_ignored() -> None:
    cands = [c("a", voice=1.0, arrival=2), c("b", voice=2.0, arrival=1)]
    assert rank(cands, "gone") == rank(cands, None) == ["b", "a"]


def test_rank_does_not_mutate_input_and_accepts_tuples() -> None:
    cands = (c("b", arrival=2), c("a", arrival=1))
    before = list(cands)
    assert rank(cands, None) == ["a", "b"]
    assert list(cands) == before


def test_rank_is_independent_of_input_order() -> None:
    cands = [c(f"p{i}", voice=float(i % 4), arrival=i) for i in range(12)]
    expected = rank(cands, "p7")
    assert expected[0] == "p7"
    rnd = random.Random(7)
    for _ in range(20):
        shuffled = list(cands)
        rnd.shuffle(shuffled)
        assert rank(shuffled, "p7") == expected


# --- assign_seats ----------------------------------------------------------------------------

def test_assign_empty_everything() -> None:
    assert assign_seats([], [], 0) == []
    assert assign_seats([], [], 3) == [None, None, None]
    assert assign_seats([None, None], [], 2) == [None, None]


def test_assign_fills_in_rank_order() -> None:
    assert assign_seats([None] * 3, ["a", "b", "c", "d"], 3) == ["a", "b", "c"]
    assert assign_seats([], ["a", "b", "c", "d"], 3) == ["a", "b", "c"]


def test_assign_fewer_candidates_than_seats() -> None:
    assert assign_seats([], ["a", "b"], 4) == ["a", "b", None, None]
    assert assign_seats([None, "b", None, None], ["a", "b"], 4) == ["a", "b", None, None]
    assert assign_seats([None, None, None, "a"], ["a"], 4) == [None, None, None, "a"]


def test_seated_participants_keep_their_seats() -> None:
    current = ["c", "a", "b"]
    # ranking changed order but all three still qualify: nobody moves
    assert assign_seats(current, ["a", "b", "c"], 3) == ["c", "a", "b"]
    assert assign_seats(current, ["b", "c", "a", "d"], 3) == ["c", "a", "b"]


def test_vacancy_filled_by_the_highest_ranked_waiting() -> None:
    current = ["a", None, "c"]
    assert assign_seats(current, ["x", "a", "c", "y"], 3) == ["a", "x", "c"]


def test_only_those_falling_out_of_top_n_are_evicted() -> None:
    current = ["a", "b", "c"]
    # new speaker "d" ranks first; "b" fell to 4th -> only b's seat changes
    assert assign_seats(current, ["d", "a", "c", "b"], 3) == ["a", "d", "c"]


def test_several_evictions_fill_in_rank_order_by_seat_position() -> None:
    current = ["a", "b", "c", "d"]
    # top four is now: y, a, x, d -> seats of b (1) and c (2) go to y then x
    assert assign_seats(current, ["y", "a", "x", "d", "b", "c"], 4) == ["a", "y", "x", "d"]


def test_departed_participant_leaves_a_vacancy_when_nobody_waits() -> None:
    assert assign_seats(["a", "b", "c"], ["a", "c"], 3) == ["a", None, "c"]


def test_pinned_participant_takes_a_seat_without_moving_others() -> None:
    cands = [c("a", voice=30, arrival=0), c("b", voice=20, arrival=1),
             c("c", voice=10, arrival=2), c("pin", voice=0, arrival=3)]
    seats = assign_seats([None] * 3, rank(cands, None), 3)
    assert seats == ["a", "b", "c"]
    seats = assign_seats(seats, rank(cands, "pin"), 3)
    assert seats == ["a", "b", "pin"]  # c (lowest) gave way; a and b did not move


def test_current_shorter_than_seats() -> None:
    assert assign_seats(["b"], ["a", "b", "c"], 3) == ["b", "a", "c"]
    assert assign_seats(["z"], ["a", "b", "c"], 3) == ["a", "b", "c"]


def test_current_longer_than_seats() -> None:
    # only the first `seats` entries of current count as seats
    assert assign_seats(["a", "b", "c", "d"], ["b", "a", "c", "d"], 2) == ["a", "b"]
    assert assign_seats(["a", "b", "c", "d"], ["d", "c", "b", "a"], 2) == ["d", "c"]
    assert assign_seats(["a", "x", "c", "d"], ["d", "a", "c"], 2) == ["a", "d"]
    out = assign_seats(["x", "y", "a", "b"], ["a", "b"], 2)
    assert out == ["a", "b"]


def test_zero_seats() -> None:
    assert assign_seats(["a", "b"], ["a", "b"], 0) == []


def test_output_length_is_always_seats() -> None:
    rnd = random.Random(3)
    people = [f"p{i}" for i in range(10)]
    for _ in range(300):
        seats = rnd.randrange(0, 7)
        ranked = rnd.sample(people, rnd.randrange(0, 10))
        current = [rnd.choice(people + [None]) for _ in range(rnd.randrange(0, 9))]
        # a valid seating never holds one participant twice
        seen: set[str] = set()
        current = [p if p is None or (p not in seen and not seen.add(p)) else None
                   for p in current]
        out = assign_seats(current, ranked, seats)
        assert len(out) == seats
        seated = [p for p in out if p is not None]
        # exactly the top N are seated, each once
        assert len(seated) == len(set(seated))
        assert set(seated) == set(ranked[:seats])
        # whoever stays in the top N keeps their seat
        for i, p in enumerate(current[:seats]):
            if p in ranked[:seats]:
                assert out[i] == p


def test_stable_under_repeated_assignment() -> None:
    ranked = ["d", "b", "a", "c", "e"]
    first = assign_seats([], ranked, 3)
    assert assign_seats(first, ranked, 3) == first
    assert assign_seats(first, list(reversed(ranked[:3])) + ranked[3:], 3) == first


def test_inputs_not_mutated() -> None:
    current = ["a", None]
    ranked = ["b", "a"]
    assign_seats(current, ranked, 2)
    assert current == ["a", None] and ranked == ["b", "a"]


@pytest.mark.parametrize("seats", [1, 2, 5])
def test_tuple_inputs(seats: int) -> None:
    out = assign_seats(("a",), ("b", "a", "c", "d", "e"), seats)
    assert len(out) == seats
    assert {p for p in out if p} == set(("b", "a", "c", "d", "e")[:seats])


# --- Seating: one ranking per pass gives every subscriber the seats of its own ranking ---------

def test_choose_ranked_equals_choose_for_every_subscriber_and_pin() -> None:
    from sfu.slots import Seating

    rnd = random.Random(15)
    for case in range(300):
        seating = Seating()
        people = [f"p{i}" for i in range(rnd.randint(0, 12))]
        for pid in rnd.sample(people, len(people)):
            seating.arrived(pid)
        # a few ties on voice (and never heard: 0.0), some without an arrival
        voices = {pid: rnd.choice([0.0, 0.0, 1.0, 2.0, rnd.random() * 10]) for pid in people
                  if rnd.random() < 0.9}
        if people and rnd.random() < 0.2:
            seating.left(rnd.choice(people))
        ranking = seating.ranking(voices)
        for subscriber in [*people, "nobody"]:
            current = [rnd.choice([None, *people]) for _ in range(rnd.randint(0, 5))]
            pinned = rnd.choice([None, "gone", subscriber, *people])
            seats = rnd.randint(1, 5)
            own = {pid: v for pid, v in voices.items() if pid != subscriber}
            expected = seating.choose(current, own, pinned, seats)
            got = seating.choose_ranked(current, ranking, voices, subscriber, pinned, seats)
            assert got == expected, (case, subscriber, pinned, seats, voices, current)
