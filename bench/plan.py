"""The control–media boundary's cost: computing a media plan, applying it, carrying it.

    python -m bench.plan                 # N = 50, 150, 300, 600 participants
    python -m bench.plan --n 300 --repeat 20

In process, no network: the router's maps are filled with stand-ins for producers and
consumers (the forwarding path is not under test here; bench/run.py measures it). Every
participant publishes a microphone and a camera and subscribes (4 seats, a channel slot, a
screen slot); six booths, one live. Per N it prints, in milliseconds (median of --repeat):

- plan: ``media_plan()`` from the roles, the floor and the interpretation state;
- json: the plan to JSON and back (what a worker process would be sent);
- join: ``Router.apply`` of the plan after one more listener joined (no media yet);
- grant: ``Router.apply`` of the plan after the chair gave a delegate the floor;
- reassign_all: re-feeding every subscriber with one view of the maps (what a change of
  seats, presenters or channels costs, and every allocation round's reads);
- baseline: the same re-feed with a view made per subscriber, which reads the maps once per
  subscriber as the router did before views (every plan used to re-feed everyone so).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from interpretation import Interpretation
from meeting_server.media_plan import FloorRules, media_plan
from sfu.plan import MediaPlan
from sfu.router import Router, Subscription


class StandInProducer:
    def __init__(self, producer_id: str, participant_id: str, source: str) -> None:
        self.id = producer_id
        self.participant_id = participant_id
        self.source = source
        self.kind = "audio" if source == "mic" else "video"
        self.closed = False
        self.last_voice_at = 0.0
        self.forwarding = True
        self.bitrate_bps = 40_000.0 if source == "mic" else 500_000.0
        self.consumers: list[Any] = []

    def set_forwarding(self, allowed: bool) -> None:
        self.forwarding = allowed


class StandInConsumer:
    def __init__(self, consumer_id: str, kind: str, purpose: str, slot: int) -> None:
        self.id = consumer_id
        self.mid = consumer_id
        self.kind = kind
        self.purpose = purpose
        self.slot = slot
        self.feeding: Any = None
        self.layer: int | None = None
        self.on_feedback: Any = None

    @property
    def source(self) -> Any:
        return self.feeding

    def set_source(self, producer: Any, drop_current: bool = False) -> None:
        self.feeding = producer


def meeting(n: int) -> tuple[Router, dict[str, str], Interpretation]:
    router = Router("bench")
    roles = {"chair": "chair", "sec": "secretariat"}
    roles.update({f"d{i}": "delegate" for i in range(n - 8)})
    roles.update({f"i{i}": "interpreter" for i in range(6)})
    interp = Interpretation(meeting_id="bench")
    for i, language in enumerate(interp.languages):
        interp.assign(f"i{i}", language)
    interp.go_live("i1")
    for k, pid in enumerate(roles):
        router.seating.arrived(pid)
        for source in ("mic", "camera"):
            router.producer_added(StandInProducer(f"p{k}{source}", pid, source))  # type: ignore[arg-type]
    for k, pid in enumerate(roles):
        seats = [(StandInConsumer(f"c{k}a{s}", "audio", "seat", s),
                  StandInConsumer(f"c{k}v{s}", "video", "seat", s)) for s in range(4)]
        sub = Subscription(pid, seats, StandInConsumer(f"c{k}s", "video", "screen", 0),  # type: ignore[arg-type]
                           StandInConsumer(f"c{k}c", "audio", "channel", 0))  # type: ignore[arg-type]
        sub.channel = "fr" if k % 2 else "floor"
        router.subscription_added(sub)
    return router, roles, interp


def timed(fn: Callable[[], Any], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - start) * 1000)
    return statistics.median(runs)


def measure(n: int, repeat: int) -> dict[str, float]:
    router, roles, interp = meeting(n)
    plan = media_plan("bench", 1, roles, FloorRules(), interp.state)
    router.apply(plan)
    out: dict[str, float] = {}
    out["plan"] = timed(lambda: media_plan("bench", 1, roles, FloorRules(), interp.state),
                        repeat)
    out["json"] = timed(lambda: MediaPlan.from_dict(json.loads(json.dumps(plan.to_dict()))),
                        repeat)
    out["plan_bytes"] = float(len(json.dumps(plan.to_dict())))
    joined = dict(roles)
    versions = iter(range(2, 1 << 30))

    def join() -> None:
        joined[f"late{next(versions)}"] = "delegate"
        router.apply(media_plan("bench", next(versions), joined, FloorRules(), interp.state))

    out["join"] = timed(join, repeat)
    speakers = iter(f"d{i % (n - 8)}" for i in range(1 << 30))

    def grant() -> None:
        router.apply(media_plan("bench", next(versions), joined,
                                FloorRules(speaker=next(speakers)), interp.state))

    out["grant"] = timed(grant, repeat)
    out["reassign_all"] = timed(router.reassign_all, repeat)

    def each() -> None:
        for pid in list(router.subscriptions):
            router.reassign(pid)

    out["baseline"] = timed(each, max(1, repeat // 2))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", default="50,150,300,600")
    parser.add_argument("--repeat", type=int, default=10)
    opts = parser.parse_args()
    print(f"{'N':>5} {'plan ms':>8} {'json ms':>8} {'bytes':>7} {'join ms':>8} "
          f"{'grant ms':>9} {'reassign_all ms':>16} {'baseline ms':>12}")
    for n in (int(x) for x in opts.n.split(",")):
        r = measure(n, opts.repeat)
        print(f"{n:>5} {r['plan']:>8.2f} {r['json']:>8.2f} {int(r['plan_bytes']):>7} "
              f"{r['join']:>8.2f} {r['grant']:>9.2f} {r['reassign_all']:>16.1f} "
              f"{r['baseline']:>12.1f}")


if __name__ == "__main__":
    main()
