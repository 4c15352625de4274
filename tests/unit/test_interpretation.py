"""interpretation/: channels, booths, handover, cough, relay, floor, feeds and their diff."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

import pytest

from interpretation import (
    ERROR_CODES,
    FLOOR,
    UN_LANGUAGES,
    Booth,
    BoothInterpreter,
    BoothWarning,
    Feed,
    FeedKind,
    Floor,
    Handover,
    Interpretation,
    InterpretationError,
    InterpretationState,
    ListenerSettings,
    MicRef,
    channel_feeds,
    channel_ids,
    check_channel,
    diff_feeds,
    meeting_languages,
    validate_language,
)

Change = tuple[InterpretationState, InterpretationState]


class Recorder:
    """An ``on_change`` listener keeping every (before, after) it is shown."""

    def __init__(self) -> None:
        self.changes: list[Change] = []

    def __call__(self, before: InterpretationState, after: InterpretationState) -> None:
        self.changes.append((before, after))


def mic(pid: str) -> MicRef:
    return MicRef(pid)


def live(pid: str) -> Feed:
    return Feed(FeedKind.INTERPRETATION, MicRef(pid))


def passthrough(pid: str | None) -> Feed:
    return Feed(FeedKind.PASSTHROUGH, None if pid is None else MicRef(pid))


def floor(pid: str | None) -> Feed:
    return Feed(FeedKind.FLOOR, None if pid is None else MicRef(pid))


SILENCE = Feed(FeedKind.SILENCE)


def make(languages: list[str] | None = None) -> tuple[Interpretation, Recorder]:
    rec = Recorder()
    return Interpretation(languages, on_change=rec, meeting_id="m1"), rec


def refused(m: Interpretation, rec: Recorder, code: str, op: Callable[[], None]) -> None:
    """``op`` must raise ``code`` and leave everything exactly as it was."""
    before_state = m.state
    before_feeds = m.feeds()
    before_status = m.booth_status()
    before_warnings = m.warnings()
    notified = len(rec.changes)
    with pytest.raises(InterpretationError) as info:
        op()
    assert info.value.code == code, info.value
    assert m.state == before_state
    assert m.state is before_state  # not even a rebuilt equal copy
    assert m.feeds() == before_feeds
    assert m.booth_status() == before_status
    assert m.warnings() == before_warnings
    assert len(rec.changes) == notified


def unchanged(m: Interpretation, rec: Recorder, op: Callable[[], None]) -> None:
    """``op`` must succeed as a no-op: same state, nobody notified."""
    before = m.state
    notified = len(rec.changes)
    op()
    assert m.state is before
    assert len(rec.changes) == notified


@pytest.fixture
def fr() -> tuple[Interpretation, Recorder]:
    """A six-language meeting; fr booth: ana, ben, chloe; en booth: ed; speaker 'del' in ru."""
    m, rec = make()
    for pid in ("ana", "ben", "chloe"):
        m.assign(pid, "fr")
    m.assign("ed", "en")
    m.set_floor("del", "ru")
    rec.changes.clear()
    return m, rec


# --- channels and languages ------------------------------------------------------------------

def test_default_languages_are_the_six_in_un_order() -> None:
    m, _ = make()
    assert UN_LANGUAGES == ("ar", "zh", "en", "fr", "ru", "es")
    assert m.languages == UN_LANGUAGES
    assert m.channels == (FLOOR, "ar", "zh", "en", "fr", "ru", "es")
    assert [b.language for b in m.state.booths] == list(UN_LANGUAGES)
    assert list(m.feeds()) == list(m.channels)


def test_custom_language_set_keeps_its_order() -> None:
    m, _ = make(["fr", "en", "de"])
    assert m.languages == ("fr", "en", "de")
    assert m.channels == ("floor", "fr", "en", "de")
    assert list(m.feeds()) == ["floor", "fr", "en", "de"]
    assert [s["language"] for s in m.booth_status()] == ["fr", "en", "de"]


def test_a_meeting_without_languages_has_only_the_floor() -> None:
    m, _ = make([])
    m.set_floor("del", "en")
    assert m.channels == (FLOOR,)
    assert m.feeds() == {FLOOR: floor("del")}
    assert m.booth_status() == []


def test_languages_from_any_iterable() -> None:
    assert Interpretation(iter(["en", "fr"])).languages == ("en", "fr")
    assert meeting_languages(("zh",)) == ("zh",)
    assert meeting_languages(None) == UN_LANGUAGES


@pytest.mark.parametrize("code", ["EN", "en-GB", "e", "engl", "", " en", "en ", "floor",
                                  "é", "e1", 5, None, b"en"])
def test_malformed_language_codes_are_refused(code: Any) -> None:
    with pytest.raises(InterpretationError) as info:
        validate_language(code)
    assert info.value.code == "invalid-language"
    with pytest.raises(InterpretationError) as info:
        Interpretation(["en", code])
    assert info.value.code == "invalid-language"


@pytest.mark.parametrize("code", ["en", "zh", "fil", "de"])
def test_well_formed_language_codes(code: str) -> None:
    assert validate_language(code) == code


def test_duplicate_languages_are_refused() -> None:
    with pytest.raises(InterpretationError) as info:
        Interpretation(["en", "fr", "en"])
    assert info.value.code == "invalid-language"
    assert "twice" in info.value.message


def test_a_string_is_not_a_language_list() -> None:
    with pytest.raises(InterpretationError) as info:
        meeting_languages("en")
    assert info.value.code == "invalid-language"


def test_channel_ids_and_check_channel() -> None:
    assert channel_ids(("en", "fr")) == ("floor", "en", "fr")
    assert check_channel("floor", ("en",)) == "floor"
    assert check_channel("en", ("en",)) == "en"
    for bad, code in (("fr", "unknown-language"), ("FR", "invalid-language"),
                      (None, "invalid-language")):
        with pytest.raises(InterpretationError) as info:
            check_channel(bad, ("en",))
        assert info.value.code == code


def test_booth_lookup_outside_the_meeting() -> None:
    m, _ = make(["en", "fr"])
    assert m.booth("en").language == "en"
    with pytest.raises(InterpretationError) as info:
        m.booth("ru")
    assert info.value.code == "unknown-language"
    with pytest.raises(InterpretationError) as info:
        m.booth("Russian")
    assert info.value.code == "invalid-language"


# --- errors ----------------------------------------------------------------------------------

def test_error_codes_and_payload() -> None:
    e = InterpretationError("booth-busy", "ana is live")
    assert e.code == "booth-busy" and e.message == "ana is live" and str(e) == "ana is live"
    assert e.to_dict() == {"code": "booth-busy", "message": "ana is live"}
    assert "booth-busy" in repr(e)
    for code in ("not-in-booth", "booth-busy", "not-live", "unknown-language", "forbidden"):
        assert code in ERROR_CODES
    with pytest.raises(ValueError):
        InterpretationError("nope", "x")  # type: ignore[arg-type]


# --- assignment ------------------------------------------------------------------------------

def test_assign_puts_interpreters_in_order_of_assignment(fr: tuple[Interpretation, Recorder]
                                                        ) -> None:
    m, _ = fr
    assert m.booth("fr").interpreter_ids == ("ana", "ben", "chloe")
    assert m.booth_of("ana") == "fr"
    assert m.booth_of("ed") == "en"
    assert m.booth_of("del") is None
    # a new interpreter is silent and hears the floor
    assert m.booth("fr").member("ana") == BoothInterpreter("ana")
    assert m.incoming_for("ana") == floor("del")


def test_assign_again_to_the_same_booth_changes_nothing(fr: tuple[Interpretation, Recorder]
                                                       ) -> None:
    m, rec = fr
    m.go_live("ana")
    unchanged(m, rec, lambda: m.assign("ana", "fr"))
    assert m.booth("fr").live == "ana"


def test_an_interpreter_belongs_to_one_booth(fr: tuple[Interpretation, Recorder]) -> None:
    m, rec = fr
    refused(m, rec, "already-assigned", lambda: m.assign("ana", "en"))
    m.unassign("ana")
    m.assign("ana", "en")
    assert m.booth_of("ana") == "en"
    assert "ana" not in m.booth("fr").interpreter_ids


def test_assign_errors(fr: tuple[Interpretation, Recorder]) -> None:
    m, rec = fr
    refused(m, rec, "unknown-language", lambda: m.assign("zoe", "de"))
    refused(m, rec, "invalid-language", lambda: m.assign("zoe", "French"))
    refused(m, rec, "invalid-participant", lambda: m.assign("", "fr"))
    refused(m, rec, "invalid-participant", lambda: m.assign(None, "fr"))  # type: ignore[arg-type]


def test_unassign_errors(fr: tuple[Interpretation, Recorder]) -> None:
    m, rec = fr
    refused(m, rec, "not-in-booth", lambda: m.unassign("zoe"))
    refused(m, rec, "not-in-booth", lambda: m.unassign("del"))


def test_unassign_the_live_interpreter_silences_the_booth(fr: tuple[Interpretation, Recorder]
                                                         ) -> None:
    m, _ = fr
    m.go_live("ana")
    m.cough_on("ana")
    m.unassign("ana")
    booth = m.booth("fr")
    assert booth.live is None and not booth.coughing
    assert m.feeds()["fr"] == passthrough("del")


def test_unassign_forgets_relay_and_mic_state(fr: tuple[Interpretation, Recorder]) -> None:
    m, _ = fr
    m.set_incoming("ana", "en")
    m.report_mic_open("ana", True)
    m.unassign("ana")
    m.assign("ana", "fr")
    assert m.booth("fr").member("ana") == BoothInterpreter("ana")


def test_unassign_drops_a_handover_involving_the_interpreter(
        fr: tuple[Interpretation, Recorder]) -> None:
    m, _ = fr
    m.go_live("ana")
    m.request_handover("ana", "ben")
    m.unassign("ben")  # the named colleague leaves: the offer goes with them
    assert m.booth("fr").handover is None
    assert m.booth("fr").live == "ana"
    m.request_handover("ana")
    m.unassign("chloe")  # an open offer survives a bystander leaving
    assert m.booth("fr").handover == Handover("ana", None)
    m.unassign("ana")  # the requester leaves: booth silent, offer gone
    assert m.booth("fr").handover is None and m.booth("fr").live is None


def test_remove_participant(fr: tuple[Interpretation, Recorder]) -> None:
    m, rec = fr
    m.go_live("ana")
    m.remove_participant("ana")
    assert m.booth_of("ana") is None
    assert m.feeds()["fr"] == passthrough("del")
    m.remove_participant("del")
    assert m.floor == Floor()
    assert m.feeds()[FLOOR] == floor(None)
    unchanged(m, rec, lambda: m.remove_participant("nobody"))


def test_remove_participant_who_is_both_speaker_and_interpreter() -> None:
    m, _ = make(["en", "fr"])
    m.assign("ana", "fr")
    m.go_live("ana")
    m.set_floor("ana", "en")
    m.remove_participant("ana")
    assert m.state == InterpretationState.initial(["en", "fr"])


# --- the live microphone ---------------------------------------------------------------------

def test_go_live_feeds_the_channel(fr: tuple[Interpretation, Recorder]) -> None:
    m, _ = fr
    assert m.feeds()["fr"] == passthrough("del")
    m.go_live("ana")
    assert m.booth("fr").live == "ana"
    assert m.feeds()["fr"] == live("ana")
    assert not m.feeds()["fr"].original
    # other channels are untouched
    assert m.feeds()["en"] == passthrough("del")


def test_go_live_when_a_colleague_is_live_is_booth_busy(fr: tuple[Interpretation, Recorder]
                                                       ) -> None:
    m, rec = fr
    m.go_live("ana")
    refused(m, rec, "booth-busy", lambda: m.go_live("ben"))
    assert m.booth("fr").live == "ana"


def test_go_live_twice_is_harmless(fr: tuple[Interpretation, Recorder]) -> None:
    m, rec = fr
    m.go_live("ana")
    m.cough_on("ana")
    unchanged(m, rec, lambda: m.go_live("ana"))
    assert m.booth("fr").coughing  # a repeated press does not end a cough


def test_go_live_outside_a_booth(fr: tuple[Interpretation, Recorder]) -> None:
    m, rec = fr
    refused(m, rec, "not-in-booth", lambda: m.go_live("del"))


def test_booths_are_independent(fr: tuple[Interpretation, Recorder]) -> None:
    m, _ = fr
    m.go_live("ana")
    m.go_live("ed")
    assert m.feeds()["fr"] == live("ana")
    assert m.feeds()["en"] == live("ed")


def test_go_off_falls_back_to_the_floor(fr: tuple[Interpretation, Recorder]) -> None:
    m, _ = fr
    m.go_live("ana")
    m.go_off("ana")
    assert m.booth("fr").live is None
    feed = m.feeds()["fr"]
    assert feed == passthrough("del")
    assert feed.original and feed.mic == mic("del")


def test_go_off_by_someone_not_live_changes_nothing(fr: tuple[Interpretation, Recorder]
                                                   ) -> None:
    m, rec = fr
    m.go_live("ana")
    unchanged(m, rec, lambda: m.go_off("ben"))
    assert m.booth("fr").live == "ana"
    refused(m, rec, "not-in-booth", lambda: m.go_off("ed2"))


def test_go_off_ends_cough_and_handover(fr: tuple[Interpretation, Recorder]) -> None:
    m, _ = fr
    m.go_live("ana")
    m.cough_on("ana")
    m.request_handover("ana")
    m.go_off("ana")
    booth = m.booth("fr")
    assert (booth.live, booth.coughing, booth.handover) == (None, False, None)


def test_mute_by_the_secretariat(fr: tuple[Interpretation, Recorder]) -> None:
    m, rec = fr
    m.go_live("ben")
    m.cough_on("ben")
    m.mute("fr")
    assert m.booth("fr").live is None and not m.booth("fr").coughing
    assert m.feeds()["fr"] == passthrough("del")
    unchanged(m, rec, lambda: m.mute("fr"))
    refused(m, rec, "unknown-language", lambda: m.mute("de"))
    refused(m, rec, "invalid-language", lambda: m.mute("FR"))


# --- handover --------------------------------------------------------------------------------

def test_handover_moves_the_microphone_in_one_step(fr: tuple[Interpretation, Recorder]
                                                  ) -> None:
    m, rec = fr
    m.go_live("ana")
    m.request_handover("ana", "ben")
    requested = m.feeds()
    assert requested["fr"] == live("ana")  # a pending request changes no feed
    rec.changes.clear()

    m.accept_handover("ben")

    after = m.feeds()
    assert after["fr"] == live("ben")
    assert diff_feeds(requested, after) == ["fr"]
    # exactly one change was ever observable, straight from ana to ben
    assert len(rec.changes) == 1
    before_state, after_state = rec.changes[0]
    assert before_state.booth("fr").live == "ana"
    assert after_state.booth("fr").live == "ben"
    assert channel_feeds(before_state)["fr"] == live("ana")
    assert channel_feeds(after_state)["fr"] == live("ben")
    assert after_state is m.state
    assert m.booth("fr").handover is None


def test_every_observed_state_during_handovers_has_exactly_one_live_mic(
        fr: tuple[Interpretation, Recorder]) -> None:
    m, rec = fr
    m.go_live("ana")
    rec.changes.clear()
    m.request_handover("ana")
    m.accept_handover("ben")
    m.take_over("chloe")
    m.request_handover("chloe", "ana")
    m.accept_handover("ana")
    m.take_over("ben")
    observed = [m.state] + [s for change in rec.changes for s in change]
    for state in observed:
        feed = channel_feeds(state)["fr"]
        assert feed.kind is FeedKind.INTERPRETATION
        assert feed.mic is not None and feed.mic.participant_id in ("ana", "ben", "chloe")
    lives = [after.booth("fr").live for _, after in rec.changes]
    assert lives == ["ana", "ben", "chloe", "chloe", "ana", "ben"]


def test_handover_to_anyone_in_the_booth(fr: tuple[Interpretation, Recorder]) -> None:
    m, _ = fr
    m.go_live("ana")
    m.request_handover("ana")
    assert m.booth("fr").handover == Handover("ana", None)
    m.accept_handover("chloe")
    assert m.booth("fr").live == "chloe"


def test_handover_ends_a_cough(fr: tuple[Interpretation, Recorder]) -> None:
    m, _ = fr
    m.go_live("ana")
    m.cough_on("ana")
    m.request_handover("ana", "ben")
    assert m.feeds()["fr"] == SILENCE  # the request does not end the cough
    m.accept_handover("ben")
    assert not m.booth("fr").coughing
    assert m.feeds()["fr"] == live("ben")


def test_a_new_request_replaces_the_pending_one(fr: tuple[Interpretation, Recorder]) -> None:
    m, rec = fr
    m.go_live("ana")
    m.request_handover("ana", "ben")
    m.request_handover("ana", "chloe")
    assert m.booth("fr").handover == Handover("ana", "chloe")
    refused(m, rec, "forbidden", lambda: m.accept_handover("ben"))
    m.accept_handover("chloe")
    assert m.booth("fr").live == "chloe"


def test_request_handover_errors(fr: tuple[Interpretation, Recorder]) -> None:
    m, rec = fr
    refused(m, rec, "not-live", lambda: m.request_handover("ana"))  # booth silent
    m.go_live("ana")
    refused(m, rec, "not-live", lambda: m.request_handover("ben"))
    refused(m, rec, "not-in-booth", lambda: m.request_handover("del"))
    refused(m, rec, "forbidden", lambda: m.request_handover("ana", "ana"))
    refused(m, rec, "not-in-booth", lambda: m.request_handover("ana", "ed"))  # other booth
    refused(m, rec, "not-in-booth", lambda: m.request_handover("ana", "zoe"))


def test_accept_handover_errors(fr: tuple[Interpretation, Recorder]) -> None:
    m, rec = fr
    m.go_live("ana")
    refused(m, rec, "no-handover", lambda: m.accept_handover("ben"))
    m.request_handover("ana", "ben")
    refused(m, rec, "forbidden", lambda: m.accept_handover("ana"))
    refused(m, rec, "forbidden", lambda: m.accept_handover("chloe"))
    refused(m, rec, "no-handover", lambda: m.accept_handover("ed"))  # en has none pending
    refused(m, rec, "not-in-booth", lambda: m.accept_handover("zoe"))
    m.request_handover("ana")
    refused(m, rec, "forbidden", lambda: m.accept_handover("ana"))


def test_handover_does_not_cross_booths(fr: tuple[Interpretation, Recorder]) -> None:
    m, rec = fr
    m.assign("eve", "en")
    m.go_live("ana")
    m.go_live("ed")
    m.request_handover("ana")
    refused(m, rec, "no-handover", lambda: m.accept_handover("eve"))  # en has none pending
    assert m.booth("en").live == "ed"


def test_cancel_handover(fr: tuple[Interpretation, Recorder]) -> None:
    m, rec = fr
    m.go_live("ana")
    refused(m, rec, "no-handover", lambda: m.cancel_handover("ana"))
    m.request_handover("ana", "ben")
    refused(m, rec, "forbidden", lambda: m.cancel_handover("chloe"))
    refused(m, rec, "no-handover", lambda: m.cancel_handover("ed"))  # acts on ed's booth
    refused(m, rec, "not-in-booth", lambda: m.cancel_handover("zoe"))
    m.cancel_handover("ana")  # withdrawn
    assert m.booth("fr").handover is None
    m.request_handover("ana", "ben")
    m.cancel_handover("ben")  # declined
    assert m.booth("fr").handover is None
    assert m.booth("fr").live == "ana"
    refused(m, rec, "no-handover", lambda: m.accept_handover("ben"))


def test_take_over_is_immediate_and_atomic(fr: tuple[Interpretation, Recorder]) -> None:
    m, rec = fr
    m.go_live("ana")
    m.cough_on("ana")
    m.request_handover("ana", "ben")
    before = m.feeds()
    rec.changes.clear()
    m.take_over("chloe")
    assert len(rec.changes) == 1
    old, new = rec.changes[0]
    assert (old.booth("fr").live, new.booth("fr").live) == ("ana", "chloe")
    booth = m.booth("fr")
    assert (booth.live, booth.coughing, booth.handover) == ("chloe", False, None)
    assert diff_feeds(before, m.feeds()) == ["fr"]
    assert m.feeds()["fr"] == live("chloe")


def test_take_over_a_silent_booth_goes_live(fr: tuple[Interpretation, Recorder]) -> None:
    m, rec = fr
    m.take_over("ben")
    assert m.feeds()["fr"] == live("ben")
    unchanged(m, rec, lambda: m.take_over("ben"))
    refused(m, rec, "not-in-booth", lambda: m.take_over("ed2"))


# --- cough -----------------------------------------------------------------------------------

def test_cough_keeps_the_channel_but_forwards_nothing(fr: tuple[Interpretation, Recorder]
                                                     ) -> None:
    m, _ = fr
    m.go_live("ana")
    m.cough_on("ana")
    booth = m.booth("fr")
    assert booth.live == "ana" and booth.coughing
    feed = m.feeds()["fr"]
    assert feed == SILENCE
    assert feed.kind is FeedKind.SILENCE
    assert feed.mic is None
    assert not feed.original  # not passthrough: listeners stay on the booth
    status = {s["language"]: s for s in m.booth_status()}["fr"]
    assert status["coughing"] and status["live"] == "ana" and status["feed"] == "silence"
    m.cough_off("ana")
    assert m.feeds()["fr"] == live("ana")


def test_cough_is_idempotent(fr: tuple[Interpretation, Recorder]) -> None:
    m, rec = fr
    m.go_live("ana")
    unchanged(m, rec, lambda: m.cough_off("ana"))  # not coughing
    m.cough_on("ana")
    unchanged(m, rec, lambda: m.cough_on("ana"))  # a held key repeats
    m.cough_off("ana")
    unchanged(m, rec, lambda: m.cough_off("ana"))


def test_cough_needs_a_live_microphone(fr: tuple[Interpretation, Recorder]) -> None:
    m, rec = fr
    refused(m, rec, "not-live", lambda: m.cough_on("ana"))
    m.go_live("ana")
    refused(m, rec, "not-live", lambda: m.cough_on("ben"))
    refused(m, rec, "not-in-booth", lambda: m.cough_on("del"))
    refused(m, rec, "not-in-booth", lambda: m.cough_off("del"))


def test_a_late_cough_release_after_handover_is_ignored(fr: tuple[Interpretation, Recorder]
                                                       ) -> None:
    m, rec = fr
    m.go_live("ana")
    m.cough_on("ana")
    m.take_over("ben")
    m.cough_on("ben")
    unchanged(m, rec, lambda: m.cough_off("ana"))  # ana's key released: ben still coughs
    assert m.booth("fr").coughing


# --- two open microphones --------------------------------------------------------------------

def test_two_open_mics_in_one_booth_is_a_warning(fr: tuple[Interpretation, Recorder]) -> None:
    m, rec = fr
    m.report_mic_open("ana", True)
    assert m.warnings() == []
    m.report_mic_open("ed", True)  # another booth: no pair
    assert m.warnings() == []
    m.report_mic_open("ben", True)
    assert m.warnings() == [BoothWarning("fr", "two-mics-open")]
    assert m.warnings()[0].to_dict() == {"language": "fr", "code": "two-mics-open"}
    m.report_mic_open("chloe", True)
    assert m.warnings() == [BoothWarning("fr", "two-mics-open")]  # one per booth
    status = {s["language"]: s for s in m.booth_status()}
    assert status["fr"]["warnings"] == ["two-mics-open"]
    assert status["fr"]["micsOpen"] == ["ana", "ben", "chloe"]
    assert status["en"]["warnings"] == []
    m.report_mic_open("ana", False)
    m.report_mic_open("chloe", False)
    assert m.warnings() == []
    unchanged(m, rec, lambda: m.report_mic_open("chloe", False))
    refused(m, rec, "not-in-booth", lambda: m.report_mic_open("del", True))


def test_open_mics_do_not_change_feeds(fr: tuple[Interpretation, Recorder]) -> None:
    m, _ = fr
    m.go_live("ana")
    before = m.feeds()
    m.report_mic_open("ana", True)
    m.report_mic_open("ben", True)
    assert m.feeds() == before


def test_warnings_in_every_booth() -> None:
    m, _ = make(["en", "fr"])
    for pid, lang in (("a", "en"), ("b", "en"), ("c", "fr"), ("d", "fr")):
        m.assign(pid, lang)
        m.report_mic_open(pid, True)
    assert m.warnings() == [BoothWarning("en", "two-mics-open"),
                            BoothWarning("fr", "two-mics-open")]


# --- relay -----------------------------------------------------------------------------------

def test_interpreters_hear_the_floor_by_default(fr: tuple[Interpretation, Recorder]) -> None:
    m, _ = fr
    assert m.incoming_for("ana") == floor("del")
    m.go_live("ana")
    assert m.incoming_for("ana") == floor("del")
    assert m.incoming_for("ana").original


def test_relay_from_a_live_booth(fr: tuple[Interpretation, Recorder]) -> None:
    m, _ = fr
    m.go_live("ed")  # en interprets the Russian floor
    m.set_incoming("ana", "en")  # fr works from the English relay
    assert m.incoming_for("ana") == live("ed")
    assert m.incoming_for("ben") == floor("del")


def test_relay_from_a_booth_in_passthrough_is_the_floor(fr: tuple[Interpretation, Recorder]
                                                       ) -> None:
    m, _ = fr
    m.set_incoming("ana", "en")  # en booth silent
    feed = m.incoming_for("ana")
    assert feed == passthrough("del")
    assert feed.mic == mic("del") and feed.original
    m.go_live("ed")
    assert m.incoming_for("ana") == live("ed")
    m.go_off("ed")
    assert m.incoming_for("ana").mic == mic("del")


def test_relay_from_a_coughing_booth_is_silence(fr: tuple[Interpretation, Recorder]) -> None:
    m, _ = fr
    m.go_live("ed")
    m.set_incoming("ana", "en")
    m.cough_on("ed")
    assert m.incoming_for("ana") == SILENCE


def test_relay_with_nobody_on_the_floor(fr: tuple[Interpretation, Recorder]) -> None:
    m, _ = fr
    m.set_floor(None)
    m.set_incoming("ana", "en")
    assert m.incoming_for("ana") == passthrough(None)
    assert m.incoming_for("ben") == floor(None)


def test_relay_chain_resolves_one_level(fr: tuple[Interpretation, Recorder]) -> None:
    """es relays from fr, fr relays from en, en hears the floor: each hears the channel it
    picked, which is that booth's live interpreter."""
    m, _ = fr
    m.assign("eva", "es")
    m.go_live("ed")
    m.set_incoming("ana", "en")
    m.go_live("ana")
    m.set_incoming("eva", "fr")
    assert m.incoming_for("ed") == floor("del")
    assert m.incoming_for("ana") == live("ed")
    assert m.incoming_for("eva") == live("ana")
    assert m.warnings() == []
    # fr goes silent: es now relays a passthrough, i.e. the floor
    m.go_off("ana")
    assert m.incoming_for("eva") == passthrough("del")


def test_relay_back_to_the_floor(fr: tuple[Interpretation, Recorder]) -> None:
    m, _ = fr
    m.go_live("ed")
    m.set_incoming("ana", "en")
    m.set_incoming("ana", FLOOR)
    assert m.incoming_for("ana") == floor("del")


def test_relay_errors(fr: tuple[Interpretation, Recorder]) -> None:
    m, rec = fr
    refused(m, rec, "forbidden", lambda: m.set_incoming("ana", "fr"))  # own booth
    refused(m, rec, "unknown-language", lambda: m.set_incoming("ana", "de"))
    refused(m, rec, "invalid-language", lambda: m.set_incoming("ana", "English"))
    refused(m, rec, "not-in-booth", lambda: m.set_incoming("del", "en"))
    with pytest.raises(InterpretationError) as info:
        m.incoming_for("del")
    assert info.value.code == "not-in-booth"


def test_incoming_feeds_and_their_diff(fr: tuple[Interpretation, Recorder]) -> None:
    m, _ = fr
    m.set_incoming("ana", "en")
    before = m.incoming_feeds()
    assert before == {"ana": passthrough("del"), "ben": floor("del"),
                      "chloe": floor("del"), "ed": floor("del")}
    m.go_live("ed")
    after = m.incoming_feeds()
    assert diff_feeds(before, after) == ["ana"]
    assert after["ana"] == live("ed")


def test_relay_loop_is_a_warning(fr: tuple[Interpretation, Recorder]) -> None:
    m, _ = fr
    m.assign("eva", "es")
    m.set_incoming("ed", "fr")
    m.set_incoming("ana", "en")
    m.set_incoming("eva", "en")
    assert m.warnings() == []  # nobody live: every chain ends at the floor
    m.go_live("ed")
    m.go_live("eva")
    assert m.warnings() == []  # fr silent: en hears the floor through it
    m.go_live("ana")
    # en <-> fr loop, and es hangs off it: nobody of the three hears the speaker
    assert m.warnings() == [BoothWarning("en", "relay-loop"), BoothWarning("fr", "relay-loop"),
                            BoothWarning("es", "relay-loop")]
    # feeds are still well defined (no recursion)
    assert m.incoming_for("ed") == live("ana")
    assert m.incoming_for("ana") == live("ed")
    assert m.incoming_for("eva") == live("ed")
    status = {s["language"]: s for s in m.booth_status()}
    assert status["fr"]["warnings"] == ["relay-loop"]
    m.set_incoming("ed", FLOOR)
    assert m.warnings() == []


# --- the floor -------------------------------------------------------------------------------

def test_floor_speaker_feeds_floor_and_every_silent_booth() -> None:
    m, _ = make()
    assert m.feeds() == {FLOOR: floor(None), **{lang: passthrough(None)
                                               for lang in UN_LANGUAGES}}
    m.set_floor("del", "zh")
    assert m.floor == Floor("del", "zh")
    f = m.feeds()
    assert f[FLOOR] == floor("del") and f[FLOOR].original
    assert all(f[lang] == passthrough("del") for lang in UN_LANGUAGES)
    assert all(f[lang].original for lang in UN_LANGUAGES)
    m.set_floor(None)
    assert m.feeds()[FLOOR] == floor(None)
    assert m.floor == Floor()


def test_floor_language_may_be_unknown_or_outside_the_meeting() -> None:
    m, _ = make(["en", "fr"])
    m.set_floor("del")
    assert m.floor == Floor("del", None)
    m.set_floor("del", "de")  # nobody has a booth for German: every booth interprets
    assert m.floor == Floor("del", "de")
    assert not any(s["floorLanguage"] for s in m.booth_status())


def test_no_floor_language_without_a_speaker() -> None:
    m, _ = make()
    m.set_floor(None, "en")
    assert m.floor == Floor()
    with pytest.raises(ValueError):
        Floor(None, "en")


def test_set_floor_errors(fr: tuple[Interpretation, Recorder]) -> None:
    m, rec = fr
    refused(m, rec, "invalid-language", lambda: m.set_floor("del2", "English"))
    refused(m, rec, "invalid-participant", lambda: m.set_floor("", "en"))
    unchanged(m, rec, lambda: m.set_floor("del", "ru"))


# --- the booth of the floor's language -------------------------------------------------------

def test_silent_booth_of_the_floor_language_carries_the_original(
        fr: tuple[Interpretation, Recorder]) -> None:
    m, _ = fr
    m.set_floor("del", "fr")
    feed = m.feeds()["fr"]
    assert feed == passthrough("del") and feed.original
    status = {s["language"]: s for s in m.booth_status()}
    assert status["fr"]["floorLanguage"] and status["fr"]["original"]
    assert not status["en"]["floorLanguage"]


def test_live_booth_of_the_floor_language_keeps_its_channel(
        fr: tuple[Interpretation, Recorder]) -> None:
    """The live microphone wins over the declared floor language (décalage, wrong or changed
    declarations); the status says the floor is in the booth's language."""
    m, _ = fr
    m.go_live("ana")
    m.set_floor("del", "fr")
    assert m.feeds()["fr"] == live("ana")
    status = {s["language"]: s for s in m.booth_status()}["fr"]
    assert status["floorLanguage"] and not status["original"] and status["live"] == "ana"


def test_floor_change_never_switches_a_live_channel(fr: tuple[Interpretation, Recorder]
                                                   ) -> None:
    """Décalage: the floor passes from an English speaker to a French one while fr is still
    finishing the last sentence; fr keeps its channel until the interpreter switches off."""
    m, _ = fr
    m.set_floor("eng-del", "en")
    m.go_live("ana")
    before = m.feeds()
    m.set_floor("fra-del", "fr")
    after = m.feeds()
    assert after["fr"] == live("ana")
    changed = diff_feeds(before, after)
    assert "fr" not in changed
    assert changed == [FLOOR, "ar", "zh", "en", "ru", "es"]  # the floor and the passthroughs
    m.go_off("ana")
    assert m.feeds()["fr"] == passthrough("fra-del")


def test_declared_language_wrong_the_booth_interprets_anyway(
        fr: tuple[Interpretation, Recorder]) -> None:
    m, _ = fr
    m.set_floor("del", "fr")  # announced French from the profile, speaks English
    m.go_live("ben")
    assert m.feeds()["fr"] == live("ben")


# --- feeds and their diff --------------------------------------------------------------------

def test_feed_values() -> None:
    assert MicRef("ana").as_tuple() == ("ana", "mic")
    assert MicRef("ana").source == "mic"
    assert live("ana").to_dict() == {"kind": "interpretation", "participantId": "ana",
                                     "source": "mic", "original": False}
    assert SILENCE.to_dict() == {"kind": "silence", "participantId": None, "source": None,
                                 "original": False}
    assert passthrough("d").to_dict()["original"] is True
    assert floor(None).to_dict() == {"kind": "floor", "participantId": None, "source": None,
                                     "original": True}
    with pytest.raises(ValueError):
        Feed(FeedKind.INTERPRETATION)
    with pytest.raises(ValueError):
        Feed(FeedKind.SILENCE, MicRef("ana"))


def test_diff_of_identical_feeds_is_empty(fr: tuple[Interpretation, Recorder]) -> None:
    m, _ = fr
    assert diff_feeds(m.feeds(), m.feeds()) == []


def test_diff_lists_changed_channels_in_channel_order(fr: tuple[Interpretation, Recorder]
                                                     ) -> None:
    m, _ = fr
    before = m.feeds()
    m.go_live("ed")
    m.go_live("ana")
    assert diff_feeds(before, m.feeds()) == ["en", "fr"]
    before = m.feeds()
    m.cough_on("ana")
    assert diff_feeds(before, m.feeds()) == ["fr"]
    before = m.feeds()
    m.go_off("ed")
    assert diff_feeds(before, m.feeds()) == ["en"]


def test_diff_counts_a_change_of_kind_with_the_same_source() -> None:
    """No floor speaker: a coughing booth and a silent one both forward nothing, but one is
    "original" and the other is not."""
    m, _ = make(["en"])
    m.assign("ed", "en")
    m.go_live("ed")
    m.cough_on("ed")
    before = m.feeds()
    m.go_off("ed")
    after = m.feeds()
    assert before["en"].mic is None and after["en"].mic is None
    assert diff_feeds(before, after) == ["en"]


def test_diff_with_added_and_removed_keys() -> None:
    a = {"floor": floor(None), "en": passthrough(None)}
    b = {"floor": floor(None), "fr": passthrough(None)}
    assert diff_feeds(a, b) == ["fr", "en"]


def test_feed_resolution_by_hand() -> None:
    """The whole resolution on a hand-built state."""
    state = InterpretationState(
        languages=("en", "fr", "ru"),
        booths=(
            Booth("en", (BoothInterpreter("ed"),), live="ed"),
            Booth("fr", (BoothInterpreter("ana", incoming="en"), BoothInterpreter("ben")),
                  live="ana", coughing=True),
            Booth("ru", (BoothInterpreter("ivan", incoming="fr"),)),
        ),
        floor=Floor("del", "ru"),
    )
    assert channel_feeds(state) == {"floor": floor("del"), "en": live("ed"), "fr": SILENCE,
                                    "ru": passthrough("del")}


# --- status for the UI -----------------------------------------------------------------------

def test_booth_status(fr: tuple[Interpretation, Recorder]) -> None:
    m, _ = fr
    m.go_live("ana")
    m.request_handover("ana", "ben")
    m.set_incoming("chloe", "en")
    m.report_mic_open("ana", True)
    m.set_floor("del", "en")
    status = m.booth_status()
    assert [s["language"] for s in status] == list(UN_LANGUAGES)
    by_lang = {s["language"]: s for s in status}
    assert by_lang["fr"] == {
        "language": "fr",
        "interpreters": ["ana", "ben", "chloe"],
        "live": "ana",
        "coughing": False,
        "handover": {"from": "ana", "to": "ben"},
        "micsOpen": ["ana"],
        "incoming": {"ana": "floor", "ben": "floor", "chloe": "en"},
        "feed": "interpretation",
        "original": False,
        "floorLanguage": False,
        "warnings": [],
    }
    assert by_lang["en"] == {
        "language": "en", "interpreters": ["ed"], "live": None, "coughing": False,
        "handover": None, "micsOpen": [], "incoming": {"ed": "floor"},
        "feed": "passthrough", "original": True, "floorLanguage": True, "warnings": [],
    }
    assert by_lang["ar"]["interpreters"] == [] and by_lang["ar"]["live"] is None
    m.request_handover("ana")
    assert {s["language"]: s for s in m.booth_status()}["fr"]["handover"] == {
        "from": "ana", "to": None}


def test_booth_status_is_plain_json(fr: tuple[Interpretation, Recorder]) -> None:
    import json
    m, _ = fr
    m.go_live("ana")
    m.cough_on("ana")
    assert json.loads(json.dumps(m.booth_status())) == m.booth_status()


# --- change notifications --------------------------------------------------------------------

def test_on_change_once_per_change_and_never_for_no_ops_or_errors(
        fr: tuple[Interpretation, Recorder]) -> None:
    m, rec = fr
    m.go_live("ana")
    assert len(rec.changes) == 1
    before, after = rec.changes[0]
    assert before.booth("fr").live is None and after.booth("fr").live == "ana"
    m.go_live("ana")
    with pytest.raises(InterpretationError):
        m.go_live("ben")
    assert len(rec.changes) == 1


def test_a_failing_listener_is_logged_and_the_change_stands(
        caplog: pytest.LogCaptureFixture) -> None:
    def boom(before: InterpretationState, after: InterpretationState) -> None:
        raise RuntimeError("listener bug")

    m = Interpretation(["en"], on_change=boom, meeting_id="m42")
    m.assign("ed", "en")
    with caplog.at_level(logging.ERROR, logger="interpretation.rules"):
        m.go_live("ed")
    assert m.booth("en").live == "ed"
    assert any("m42" in r.getMessage() and r.exc_info for r in caplog.records)


def test_works_without_a_listener() -> None:
    m = Interpretation(["en"])
    m.assign("ed", "en")
    m.go_live("ed")
    assert m.feeds()["en"] == live("ed")


# --- invariants of the values ----------------------------------------------------------------

def test_booth_values_cannot_express_bad_states() -> None:
    a, b = BoothInterpreter("a"), BoothInterpreter("b")
    with pytest.raises(ValueError):
        Booth("en", (a, a))
    with pytest.raises(ValueError):
        Booth("en", (a,), live="b")
    with pytest.raises(ValueError):
        Booth("en", (a,), coughing=True)
    with pytest.raises(ValueError):
        Booth("en", (a, b), live="a", handover=Handover("b"))
    with pytest.raises(ValueError):
        Booth("en", (a, b), live="a", handover=Handover("a", "a"))
    with pytest.raises(ValueError):
        Booth("en", (a, b), live="a", handover=Handover("a", "z"))
    with pytest.raises(ValueError):
        Booth("en", (BoothInterpreter("a", incoming="en"),))
    with pytest.raises(InterpretationError):
        Booth("EN")


def test_state_values_cannot_express_bad_states() -> None:
    with pytest.raises(ValueError):
        InterpretationState(languages=("en",), booths=())
    with pytest.raises(ValueError):
        InterpretationState(languages=("en", "fr"), booths=(
            Booth("en", (BoothInterpreter("a"),)), Booth("fr", (BoothInterpreter("a"),))))
    with pytest.raises(ValueError):
        InterpretationState(languages=("en",), booths=(
            Booth("en", (BoothInterpreter("a", incoming="ru"),)),))


# --- listener settings -----------------------------------------------------------------------

def test_listener_settings_defaults_and_levels() -> None:
    assert ListenerSettings() == ListenerSettings(FLOOR, 0.0)
    for level in (0, 0.0, 0.25, 1, 1.0):
        s = ListenerSettings("fr", level)
        assert s.floor_under == float(level) and isinstance(s.floor_under, float)
    assert ListenerSettings("fr", 1) == ListenerSettings("fr", 1.0)


@pytest.mark.parametrize("level", [-0.01, 1.01, math.nan, math.inf, -math.inf, True, "0.5",
                                   None])
def test_listener_settings_refuse_bad_levels(level: Any) -> None:
    with pytest.raises(InterpretationError) as info:
        ListenerSettings("fr", level)
    assert info.value.code == "invalid-level"


def test_listener_settings_against_the_meeting() -> None:
    langs = ("en", "fr")
    assert ListenerSettings.for_meeting(langs, "fr", 0.3) == ListenerSettings("fr", 0.3)
    assert ListenerSettings.for_meeting(langs, FLOOR) == ListenerSettings()
    for channel, code in (("ru", "unknown-language"), ("French", "invalid-language")):
        with pytest.raises(InterpretationError) as info:
            ListenerSettings.for_meeting(langs, channel)
        assert info.value.code == code
    with pytest.raises(InterpretationError) as info:
        ListenerSettings.for_meeting(langs, "fr", 2)
    assert info.value.code == "invalid-level"
    with pytest.raises(InterpretationError) as info:
        ListenerSettings("French")
    assert info.value.code == "invalid-language"


def test_listener_default_channel() -> None:
    assert ListenerSettings.default_for(UN_LANGUAGES, "ru") == ListenerSettings("ru")
    assert ListenerSettings.default_for(["en", "fr"], "ru") == ListenerSettings(FLOOR)
    assert ListenerSettings.default_for(UN_LANGUAGES, None) == ListenerSettings(FLOOR)


def test_floor_under_only_under_an_interpretation(fr: tuple[Interpretation, Recorder]) -> None:
    m, _ = fr
    s = ListenerSettings("fr", 0.3)
    assert s.floor_under_gain(m.feeds()["fr"]) == 0.0  # passthrough: already the floor
    m.go_live("ana")
    assert s.floor_under_gain(m.feeds()["fr"]) == 0.3
    m.cough_on("ana")
    assert s.floor_under_gain(m.feeds()["fr"]) == 0.3  # the floor goes on under a cough
    assert ListenerSettings(FLOOR, 0.5).floor_under_gain(m.feeds()[FLOOR]) == 0.0
