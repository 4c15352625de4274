"""Router.apply with stand-ins for producers and consumers: a plan re-feeds only the
subscribers its change touches, and that is never less than re-feeding everyone would have
changed; slots say what is forwarded; the seats follow `seated`, the screen `presenters`,
the channel slot the plan's feeds and an interpreter's `incoming`."""

from __future__ import annotations

import random

from bench.plan import StandInConsumer, StandInProducer
from sfu.events import RouterEvent, SlotsChanged
from sfu.plan import ChannelFeed, MediaPlan
from sfu.router import Router, Subscription

PEOPLE = ["chair", "sec", "ana", "ben", "caro", "ivo", "ines"]
CHANNELS = ("en", "fr")


def meeting(seats: int = 2) -> tuple[Router, list[RouterEvent]]:
    router = Router("m1")
    events: list[RouterEvent] = []
    router.on_event(events.append)
    for k, pid in enumerate(PEOPLE):
        router.seating.arrived(pid)
        for source in ("mic", "camera") + (("screen",) if pid in ("ana", "ben") else ()):
            router.producer_added(StandInProducer(f"p{k}{source}", pid, source))  # type: ignore[arg-type]
    for k, pid in enumerate(PEOPLE):
        pairs = [(StandInConsumer(f"c{k}a{s}", "audio", "seat", s),
                  StandInConsumer(f"c{k}v{s}", "video", "seat", s)) for s in range(seats)]
        sub = Subscription(pid, pairs, StandInConsumer(f"c{k}s", "video", "screen", 0),  # type: ignore[arg-type]
                           StandInConsumer(f"c{k}c", "audio", "channel", 0))  # type: ignore[arg-type]
        sub.channel = ("floor", *CHANNELS)[k % 3]
        router.subscription_added(sub)
    return router, events


def random_plan(rnd: random.Random, version: int) -> MediaPlan:
    def some() -> frozenset[str]:
        return frozenset(p for p in PEOPLE if rnd.random() < 0.5)

    channels = []
    for channel in CHANNELS:
        choice = rnd.randrange(3)
        channels.append(ChannelFeed(channel, mic=rnd.choice(["ivo", "ines"]))
                        if choice == 0 else ChannelFeed(channel, follows_floor=choice == 1))
    incoming = tuple((pid, rnd.choice(("floor",) + CHANNELS)) for pid in ("ivo", "ines")
                     if rnd.random() < 0.5)
    return MediaPlan("m1", version, forwarded=some(), seated=some(), presenters=some(),
                     channels=tuple(channels), incoming=incoming,
                     floor_holder=rnd.choice([None, *PEOPLE]))


def slots_changed(events: list[RouterEvent]) -> list[SlotsChanged]:
    return [e for e in events if isinstance(e, SlotsChanged)]


def test_a_targeted_apply_leaves_nothing_for_a_full_re_feed_to_change() -> None:
    rnd = random.Random(16)
    for run in range(6):
        router, events = meeting()
        for version in range(1, 25):
            plan = random_plan(rnd, version)
            if rnd.random() < 0.5:  # often only the floor moves (a grant, a mute)
                plan = MediaPlan("m1", version, forwarded=random_plan(rnd, 0).forwarded,
                                 seated=router.plan.seated, presenters=router.plan.presenters,
                                 channels=router.plan.channels, incoming=router.plan.incoming,
                                 floor_holder=rnd.choice([None, *PEOPLE]))
            for producer in router.producers.values():  # someone spoke: seats re-ranked
                if rnd.random() < 0.2:                  # (the speaker loop's business)
                    producer.last_voice_at = float(version)
            router.reassign_all()
            router.apply(plan)
            before = len(events)
            router.reassign_all()
            missed = slots_changed(events[before:])
            assert missed == [], (run, version, plan, missed)


def test_slots_follow_the_plan() -> None:
    router, events = meeting(seats=4)
    router.apply(MediaPlan("m1", 1, forwarded=frozenset({"chair"}),
                           seated=frozenset({"chair", "ana", "ben"}),
                           presenters=frozenset({"ana"}),
                           channels=(ChannelFeed("en", mic="ivo"),
                                     ChannelFeed("fr", follows_floor=True)),
                           incoming=(("ines", "en"),), floor_holder="ana"))
    ben = {s.mid: s for s in router.slots("ben")}
    seated = {s.participant_id for s in ben.values() if s.purpose == "seat"} - {None}
    assert seated == {"chair", "ana"}  # not ben himself, no interpreter, nobody unseated
    audio = {s.participant_id: s.forwarded for s in ben.values()
             if s.purpose == "seat" and s.kind == "audio" and s.participant_id}
    assert audio == {"chair": True, "ana": False}  # ana is seated but not heard
    screen = next(s for s in ben.values() if s.purpose == "screen")
    assert (screen.participant_id, screen.forwarded) == ("ana", True)
    assert next(s for s in router.slots("ana") if s.purpose == "screen").participant_id is None
    # the interpreter hears the plan's channel: the en booth's microphone
    channel = next(s for s in router.slots("ines") if s.purpose == "channel")
    assert (channel.channel, channel.participant_id, channel.forwarded, channel.original) == (
        "en", "ivo", True, False)
    # fr passes the floor through: a subscriber's channel slot carries nothing (its seats carry
    # the floor, and its page plays them for an original channel); a webcast tap, which has no
    # seats, gets the floor's voice: the floor holder's is not forwarded, so the chair's
    router.listen("caro", "fr")
    fr = next(s for s in router.slots("caro") if s.purpose == "channel")
    assert (fr.channel, fr.participant_id, fr.original) == ("fr", None, True)
    tap = Subscription("webcast-fr", [], None,
                       StandInConsumer("tap-c", "audio", "channel", 0),  # type: ignore[arg-type]
                       tap=True)
    tap.channel = "fr"
    router.subscription_added(tap)
    fr = next(s for s in router.slots("webcast-fr") if s.purpose == "channel")
    assert (fr.channel, fr.participant_id, fr.original) == ("fr", "chair", True)
    # the floor moves to ana: her seat says forwarded, in a new slots event
    before = len(events)
    router.apply(MediaPlan("m1", 2, forwarded=frozenset({"chair", "ana"}),
                           seated=router.plan.seated, presenters=router.plan.presenters,
                           channels=router.plan.channels, incoming=router.plan.incoming,
                           floor_holder="ana"))
    told = {e.participant_id for e in slots_changed(events[before:])}
    assert "ben" in told
    assert next(s for s in router.slots("ben") if s.participant_id == "ana"
                and s.kind == "audio").forwarded
    fr = next(s for s in router.slots("webcast-fr") if s.purpose == "channel")
    assert fr.participant_id == "ana"  # the floor holder is the floor's voice now
