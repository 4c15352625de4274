"""The media plan as a pure function of the floor, interpretation and roles
(meeting_server/media_plan.py), and the plan value itself (sfu/plan.py).

The cases are those of the floor's enforcement (tests/integration/test_floor.py: the chair
always heard, a delegate only with the floor, the secretariat unless muted, open meetings)
and of interpretation (tests/unit/test_interpretation*.py: live booth, passthrough, cough,
handover, relay), seen from what the SFU is told to do."""

from __future__ import annotations

import json

import pytest

from interpretation import Interpretation
from meeting_server.media_plan import FloorRules, heard, media_plan
from sfu.plan import ChannelFeed, MediaPlan, PlanError

ROLES = {"chair": "chair", "sec": "secretariat", "ana": "delegate", "ben": "delegate",
         "ivo": "interpreter", "ines": "interpreter", "cap": "captioner", "obs": "observer"}


def plan(floor: FloorRules | None = None, interp: Interpretation | None = None,
         roles: dict[str, str] | None = None) -> MediaPlan:
    return media_plan("m1", 7, ROLES if roles is None else roles, floor or FloorRules(),
                      interp.state if interp is not None else None)


# --- who is heard (forwarded) ----------------------------------------------------------------

def test_chaired_meeting_without_a_speaker_forwards_the_chair_and_the_secretariat() -> None:
    assert plan().forwarded == {"chair", "sec"}


def test_the_floor_holder_is_forwarded_and_nobody_else_among_delegates() -> None:
    p = plan(FloorRules(speaker="ana"))
    assert p.forwarded == {"chair", "sec", "ana"}
    assert p.floor_holder == "ana"
    # the floor goes back: the delegate is gated again
    assert "ana" not in plan(FloorRules(speaker=None)).forwarded


def test_muting_silences_the_secretariat_and_a_speaker_but_never_the_chair() -> None:
    p = plan(FloorRules(speaker="ana", muted=frozenset({"sec", "ana", "chair"})))
    assert p.forwarded == {"chair"}


def test_open_meeting_forwards_everyone_not_muted_except_interpreters_and_listeners() -> None:
    p = plan(FloorRules(mode="open", muted=frozenset({"ben"})))
    assert p.forwarded == {"chair", "sec", "ana"}


@pytest.mark.parametrize("role", ["interpreter", "captioner", "observer"])
def test_roles_never_on_the_floor_are_not_heard_even_given_the_floor(role: str) -> None:
    assert not heard("x", role, FloorRules(speaker="x"))
    assert not heard("x", role, FloorRules(mode="open"))


def test_a_speaker_who_is_not_present_is_not_the_floor_holder() -> None:
    p = plan(FloorRules(speaker="gone"))
    assert p.floor_holder is None and "gone" not in p.forwarded


# --- seats and presenters ---------------------------------------------------------------------

def test_interpreters_take_no_seat_everyone_else_may() -> None:
    assert plan().seated == {"chair", "sec", "ana", "ben", "cap", "obs"}


def test_nobody_presents_until_someone_shares() -> None:
    assert plan().presenters == frozenset()


def test_the_presenters_are_who_shares_in_a_presenting_role_and_present() -> None:
    p = media_plan("m1", 7, ROLES, FloorRules(), None,
                   sharing=frozenset({"ana", "obs", "ivo", "gone"}))
    assert p.presenters == {"ana"}  # an observer, an interpreter, someone gone: never


def test_an_empty_meeting_has_an_empty_plan() -> None:
    p = plan(roles={})
    assert (p.forwarded, p.seated, p.presenters, p.channels, p.incoming, p.floor_holder) == (
        frozenset(), frozenset(), frozenset(), (), (), None)


# --- channels ---------------------------------------------------------------------------------

def booths() -> Interpretation:
    interp = Interpretation(["en", "fr", "es"], meeting_id="m1")
    interp.assign("ivo", "fr")
    interp.assign("ines", "fr")
    return interp


def test_without_interpretation_there_are_no_channels() -> None:
    assert plan().channels == () and plan().incoming == ()


def test_silent_booths_pass_the_floor_through() -> None:
    p = plan(FloorRules(speaker="ana"), booths())
    assert p.channels == tuple(ChannelFeed(ch, follows_floor=True) for ch in ("en", "fr", "es"))
    assert p.feed("fr") is not None and p.feed("fr").original  # type: ignore[union-attr]
    assert p.feed("floor") is None and p.feed("de") is None


def test_a_live_booth_feeds_its_channel_with_the_live_microphone_only() -> None:
    interp = booths()
    interp.go_live("ivo")
    p = plan(FloorRules(speaker="ana"), interp)
    assert p.feed("fr") == ChannelFeed("fr", mic="ivo")
    assert p.feed("en") == ChannelFeed("en", follows_floor=True)
    # the interpreter feeds the channel but is never heard on the floor nor seated
    assert "ivo" not in p.forwarded and "ivo" not in p.seated


def test_a_cough_keeps_the_channel_and_forwards_nothing() -> None:
    interp = booths()
    interp.go_live("ivo")
    interp.cough_on("ivo")
    feed = plan(interp=interp).feed("fr")
    assert feed == ChannelFeed("fr") and feed.mic is None and not feed.original
    interp.cough_off("ivo")
    assert plan(interp=interp).feed("fr") == ChannelFeed("fr", mic="ivo")


def test_a_handover_moves_the_channel_to_the_colleague_in_one_plan() -> None:
    interp = booths()
    interp.go_live("ivo")
    before = plan(interp=interp)
    interp.request_handover("ivo", "ines")
    assert plan(interp=interp).feed("fr") == ChannelFeed("fr", mic="ivo")  # still ivo
    interp.accept_handover("ines")
    after = plan(interp=interp)
    assert after.feed("fr") == ChannelFeed("fr", mic="ines")
    assert after.changes(before) is after


def test_the_floor_language_never_overrides_a_live_booth() -> None:
    interp = booths()
    interp.go_live("ivo")
    interp.set_floor("ana", "fr")
    assert plan(FloorRules(speaker="ana"), interp).feed("fr") == ChannelFeed("fr", mic="ivo")


def test_interpreters_hear_the_floor_or_the_booth_they_relay_from() -> None:
    interp = Interpretation(["en", "fr", "es"], meeting_id="m1")
    interp.assign("ivo", "fr")
    interp.assign("ines", "es")
    assert plan(interp=interp).incoming == (("ivo", "floor"), ("ines", "floor"))
    interp.set_incoming("ines", "fr")
    p = plan(interp=interp)
    assert p.incoming_of("ines") == "fr" and p.incoming_of("ivo") == "floor"
    assert p.incoming_of("ana") is None
    interp.unassign("ines")
    assert plan(interp=interp).incoming_of("ines") is None


# --- the value --------------------------------------------------------------------------------

def test_a_plan_round_trips_through_json() -> None:
    interp = booths()
    interp.go_live("ivo")
    interp.assign("ana2", "es")
    interp.set_incoming("ana2", "fr")
    p = plan(FloorRules(speaker="ana", muted=frozenset({"sec"})), interp)
    again = MediaPlan.from_dict(json.loads(json.dumps(p.to_dict())))
    assert again == p and again.version == 7
    assert again.feed("fr") == ChannelFeed("fr", mic="ivo")


def test_changes_ignores_the_version_only() -> None:
    a = plan(FloorRules(speaker="ana"))
    b = media_plan("m1", 8, ROLES, FloorRules(speaker="ana"), None)
    assert b.changes(a) is None
    assert b.changes(None) is b
    assert plan(FloorRules(speaker="ben")).changes(a) is not None


def test_plans_are_immutable() -> None:
    p = plan()
    with pytest.raises(AttributeError):
        p.forwarded = frozenset({"ana"})  # type: ignore[misc]


@pytest.mark.parametrize("bad", [
    {},
    {"meetingId": "m1", "version": "1", "forwarded": [], "seated": [], "presenters": [],
     "channels": [], "incoming": [], "floorHolder": None},
    {"meetingId": "m1", "version": 1, "forwarded": "ana", "seated": [], "presenters": [],
     "channels": [], "incoming": [], "floorHolder": None},
    {"meetingId": "m1", "version": 1, "forwarded": [], "seated": [], "presenters": [],
     "channels": [{"channel": "fr", "mic": "ivo", "followsFloor": True}], "incoming": [],
     "floorHolder": None},
    {"meetingId": "m1", "version": 1, "forwarded": [], "seated": [], "presenters": [],
     "channels": [{"channel": "floor", "mic": None, "followsFloor": True}], "incoming": [],
     "floorHolder": None},
    {"meetingId": "m1", "version": 1, "forwarded": [], "seated": [], "presenters": [],
     "channels": [], "incoming": [["ivo", "fr"], ["ivo", "es"]], "floorHolder": None},
    {"meetingId": "m1", "version": 1, "forwarded": [], "seated": [], "presenters": [],
     "channels": [], "incoming": [["ivo"]], "floorHolder": 3},
])
def test_a_bad_plan_is_refused_with_a_plan_error(bad: dict[str, object]) -> None:
    with pytest.raises(PlanError):
        MediaPlan.from_dict(bad)


def test_a_channel_fed_twice_is_refused() -> None:
    with pytest.raises(PlanError):
        MediaPlan("m1", channels=(ChannelFeed("fr"), ChannelFeed("fr", mic="ivo")))
