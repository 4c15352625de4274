"""interpretation/: every refusal on a busy meeting changes nothing; random operation
sequences keep the invariants (one live microphone, no gap on handover, feeds as the rules
say)."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from interpretation import (
    ERROR_CODES,
    FLOOR,
    FeedKind,
    Interpretation,
    InterpretationError,
    InterpretationState,
    MicRef,
    channel_feeds,
)

Op = Callable[[Interpretation], None]


def busy() -> tuple[Interpretation, list[tuple[InterpretationState, InterpretationState]]]:
    """en: ed live, hearing the floor; fr: ana live and coughing with
    a handover offered to ben, chloe relaying from en; ru: ivan silent; floor: del in es;
    ben's and chloe's clients report open microphones."""
    changes: list[tuple[InterpretationState, InterpretationState]] = []
    m = Interpretation(["en", "fr", "ru", "es"],
                       on_change=lambda a, b: changes.append((a, b)))
    for pid, lang in (("ed", "en"), ("ana", "fr"), ("ben", "fr"), ("chloe", "fr"),
                      ("ivan", "ru")):
        m.assign(pid, lang)
    m.go_live("ed")
    m.go_live("ana")
    m.cough_on("ana")
    m.request_handover("ana", "ben")
    m.set_incoming("chloe", "en")
    m.report_mic_open("ben", True)
    m.report_mic_open("chloe", True)
    m.set_floor("del", "es")
    changes.clear()
    return m, changes


REFUSALS: list[tuple[str, str, Op]] = [
    ("assign-unknown-language", "unknown-language", lambda m: m.assign("zoe", "ar")),
    ("assign-bad-language", "invalid-language", lambda m: m.assign("zoe", "Arabic")),
    ("assign-bad-id", "invalid-participant", lambda m: m.assign("", "en")),
    ("assign-other-booth", "already-assigned", lambda m: m.assign("ana", "ru")),
    ("unassign-stranger", "not-in-booth", lambda m: m.unassign("del")),
    ("go-live-stranger", "not-in-booth", lambda m: m.go_live("del")),
    ("go-live-busy", "booth-busy", lambda m: m.go_live("chloe")),
    ("go-off-stranger", "not-in-booth", lambda m: m.go_off("zoe")),
    ("mute-unknown", "unknown-language", lambda m: m.mute("zh")),
    ("mute-bad", "invalid-language", lambda m: m.mute("")),
    ("request-not-live", "not-live", lambda m: m.request_handover("chloe")),
    ("request-silent-booth", "not-live", lambda m: m.request_handover("ivan")),
    ("request-to-self", "forbidden", lambda m: m.request_handover("ana", "ana")),
    ("request-to-other-booth", "not-in-booth", lambda m: m.request_handover("ana", "ed")),
    ("request-stranger", "not-in-booth", lambda m: m.request_handover("del")),
    ("accept-own", "forbidden", lambda m: m.accept_handover("ana")),
    ("accept-not-offered", "forbidden", lambda m: m.accept_handover("chloe")),
    ("accept-none-pending", "no-handover", lambda m: m.accept_handover("ivan")),
    ("accept-stranger", "not-in-booth", lambda m: m.accept_handover("del")),
    ("cancel-bystander", "forbidden", lambda m: m.cancel_handover("chloe")),
    ("cancel-none-pending", "no-handover", lambda m: m.cancel_handover("ed")),
    ("cancel-stranger", "not-in-booth", lambda m: m.cancel_handover("del")),
    ("take-over-stranger", "not-in-booth", lambda m: m.take_over("del")),
    ("cough-not-live", "not-live", lambda m: m.cough_on("ben")),
    ("cough-silent-booth", "not-live", lambda m: m.cough_on("ivan")),
    ("cough-stranger", "not-in-booth", lambda m: m.cough_on("del")),
    ("cough-off-stranger", "not-in-booth", lambda m: m.cough_off("del")),
    ("mic-stranger", "not-in-booth", lambda m: m.report_mic_open("del", True)),
    ("relay-own-booth", "forbidden", lambda m: m.set_incoming("chloe", "fr")),
    ("relay-unknown", "unknown-language", lambda m: m.set_incoming("chloe", "ar")),
    ("relay-bad", "invalid-language", lambda m: m.set_incoming("chloe", "Floor")),
    ("relay-stranger", "not-in-booth", lambda m: m.set_incoming("del", "en")),
    ("floor-bad-language", "invalid-language", lambda m: m.set_floor("x", "Spanish")),
    ("floor-bad-id", "invalid-participant", lambda m: m.set_floor("", "en")),
]


@pytest.mark.parametrize("code,op", [(c, o) for _, c, o in REFUSALS],
                         ids=[name for name, _, _ in REFUSALS])
def test_a_refusal_on_a_busy_meeting_changes_nothing(code: str, op: Op) -> None:
    m, changes = busy()
    state, feeds, incoming = m.state, m.feeds(), m.incoming_feeds()
    status, warnings = m.booth_status(), m.warnings()
    with pytest.raises(InterpretationError) as info:
        op(m)
    assert info.value.code == code
    assert m.state is state
    assert m.feeds() == feeds
    assert m.incoming_feeds() == incoming
    assert m.booth_status() == status
    assert m.warnings() == warnings
    assert changes == []


def test_the_busy_meeting_is_what_it_says() -> None:
    m, _ = busy()
    f = m.feeds()
    assert f[FLOOR].mic == MicRef("del")
    assert f["en"].kind is FeedKind.INTERPRETATION and f["en"].mic == MicRef("ed")
    assert f["fr"].kind is FeedKind.SILENCE
    assert f["ru"].kind is FeedKind.PASSTHROUGH and f["ru"].mic == MicRef("del")
    assert [w.code for w in m.warnings()] == ["two-mics-open"]


# --- random sequences ------------------------------------------------------------------------

PEOPLE = ["a", "b", "c", "d", "e", "f", "g", "speaker", ""]
LANGS = ["en", "fr", "ru", "de", "XX"]  # de: not in the meeting; XX: malformed
SOURCES = [FLOOR, "en", "fr", "ru", "de", "Floor"]


def random_op(rng: random.Random) -> tuple[str, Op]:
    p, q = rng.choice(PEOPLE), rng.choice([*PEOPLE, None])
    lang, src = rng.choice(LANGS), rng.choice(SOURCES)
    choices: list[tuple[str, Op]] = [
        ("assign", lambda m: m.assign(p, lang)),
        ("assign", lambda m: m.assign(p, lang)),
        ("unassign", lambda m: m.unassign(p)),
        ("go_live", lambda m: m.go_live(p)),
        ("go_live", lambda m: m.go_live(p)),
        ("go_off", lambda m: m.go_off(p)),
        ("mute", lambda m: m.mute(lang)),
        ("request_handover", lambda m: m.request_handover(p, q)),
        ("request_handover", lambda m: m.request_handover(p)),
        ("accept_handover", lambda m: m.accept_handover(p)),
        ("accept_handover", lambda m: m.accept_handover(p)),
        ("cancel_handover", lambda m: m.cancel_handover(p)),
        ("take_over", lambda m: m.take_over(p)),
        ("cough_on", lambda m: m.cough_on(p)),
        ("cough_off", lambda m: m.cough_off(p)),
        ("report_mic_open", lambda m: m.report_mic_open(p, rng.random() < 0.5)),
        ("set_incoming", lambda m: m.set_incoming(p, src)),
        ("set_floor", lambda m: m.set_floor(q, rng.choice(LANGS + [None]))),
        ("remove_participant", lambda m: m.remove_participant(p)),
    ]
    return rng.choice(choices)


def expected_feeds(state: InterpretationState) -> dict[str, tuple[str, str | None]]:
    """The rules, written again from the booth status dicts: (kind, participant)."""
    from interpretation import booth_status
    speaker = state.floor.speaker
    out: dict[str, tuple[str, str | None]] = {FLOOR: ("floor", speaker)}
    for s in booth_status(state):
        if s["live"] is None:
            out[s["language"]] = ("passthrough", speaker)
        elif s["coughing"]:
            out[s["language"]] = ("silence", None)
        else:
            out[s["language"]] = ("interpretation", s["live"])
    return out


@pytest.mark.parametrize("seed", range(30))
def test_random_sequences_keep_the_rules(seed: int) -> None:
    rng = random.Random(seed)
    changes: list[tuple[InterpretationState, InterpretationState]] = []
    m = Interpretation(["en", "fr", "ru"], on_change=lambda a, b: changes.append((a, b)))
    refusals = successes = handovers = 0
    for _ in range(400):
        name, op = random_op(rng)
        before = m.state
        changes.clear()
        try:
            op(m)
        except InterpretationError as e:
            refusals += 1
            assert e.code in ERROR_CODES
            assert m.state is before, (name, e)
            assert changes == []
            continue
        successes += 1
        after = m.state
        if after is before:
            assert changes == []
        else:
            assert changes == [(before, after)]  # one commit per operation
        for old, new in zip(before.booths, after.booths, strict=True):
            if old.live is not None and new.live is not None and old.live != new.live:
                # the microphone moved between two interpreters: only these do that, in one
                # step, so no state with no live microphone (or two) was ever visible
                assert name in ("accept_handover", "take_over")
                handovers += 1
            if name in ("accept_handover", "take_over") and old.live is not None:
                assert new.live is not None
        # the feeds are what the rules say
        got = {ch: (f.kind.value, f.mic.participant_id if f.mic else None)
               for ch, f in channel_feeds(after).items()}
        assert got == expected_feeds(after)
        # every interpreter hears a channel of the meeting other than their own
        for booth in after.booths:
            for i in booth.interpreters:
                assert i.incoming != booth.language
                assert m.incoming_for(i.participant_id) == m.feeds()[i.incoming]
        # one booth per interpreter, everywhere
        ids = [i for b in after.booths for i in b.interpreter_ids]
        assert len(ids) == len(set(ids))
        # status and warnings are always computable (and loops do not hang)
        m.booth_status()
        m.warnings()
    assert refusals > 0 and successes > 0
    if seed == 0:
        assert handovers > 0
