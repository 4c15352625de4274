"""`GET /metrics`: Prometheus text exposition of the media plane.

Per consumer: the layer it receives, the subscriber's estimate, the loss and RTT its receiver
reports; per producer: bitrate and loss; per publisher: its uplink level and REMB ceiling;
per router: transports, producers, consumers.
Labels are meeting, participant and consumer/producer ids (no names: nothing personal).
"""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web

from sfu.consumer import Consumer
from sfu.router import Subscription
from sfu.worker import Worker

LAYER_VALUE = {"camera": 1, "camera-low": 0, "screen": 1}


def _labels(**labels: str) -> str:
    inner = ",".join(f'{k}="{v.replace(chr(92), "").replace(chr(34), "")}"'
                     for k, v in labels.items())
    return "{" + inner + "}"


def render(worker: Worker) -> str:
    lines: list[str] = []

    def family(name: str, kind: str, help_text: str, samples: Iterable[tuple[str, float]]
               ) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            lines.append(f"{name}{labels} {value:g}")

    routers = list(worker.routers.items())
    family("rostrum_transports", "gauge", "WebRTC connections per meeting",
           ((_labels(meeting=m), len(r.transports)) for m, r in routers))
    family("rostrum_producers", "gauge", "incoming tracks per meeting",
           ((_labels(meeting=m), len(r.producers)) for m, r in routers))
    family("rostrum_consumers", "gauge", "outgoing slots per meeting",
           ((_labels(meeting=m), r.counts()["consumers"]) for m, r in routers))
    producers = [(m, p) for m, r in routers for p in r.producers.values()]
    family("rostrum_producer_bitrate_bps", "gauge", "measured bitrate of an incoming track",
           ((_labels(meeting=m, participant=p.participant_id, producer=p.id, source=p.source),
             round(p.bitrate_bps)) for m, p in producers))
    family("rostrum_producer_packets_lost", "counter", "packets lost from the publisher",
           ((_labels(meeting=m, participant=p.participant_id, producer=p.id, source=p.source),
             p.loss()[1]) for m, p in producers))
    subs = [(m, r, s) for m, r in routers for s in r.subscriptions.values()]
    uplinks = [(m, t) for m, r in routers for t in r.transports.values()
               if t.uplink is not None and not t.closed]
    family("rostrum_publisher_uplink_level", "gauge",
           "what a publisher may send: 2 every layer, 1 the camera's low layer, 0 audio only",
           ((_labels(meeting=m, participant=t.participant_id), t.uplink.policy.level)
            for m, t in uplinks if t.uplink is not None))
    family("rostrum_publisher_remb_bps", "gauge",
           "the REMB ceiling told to a publisher's connection",
           ((_labels(meeting=m, participant=t.participant_id), t.uplink.remb_bps)
            for m, t in uplinks if t.uplink is not None))
    family("rostrum_subscriber_estimate_bps", "gauge",
           "downlink bandwidth estimate of a subscriber",
           ((_labels(meeting=m, participant=s.participant_id), round(s.estimate.estimate()))
            for m, _, s in subs))
    family("rostrum_subscriber_sending_bps", "gauge",
           "what the SFU sends a subscriber (media it chose)",
           ((_labels(meeting=m, participant=s.participant_id), round(s.last_allocation_bps))
            for m, _, s in subs))
    consumers = []
    for m, _, s in subs:
        for c in [c for seat in s.seats for c in seat] + [s.channel_slot, s.screen]:
            if c is not None:
                consumers.append((m, s, c))

    def clabels(m: str, s: Subscription, c: Consumer) -> str:
        return _labels(meeting=m, participant=s.participant_id,
                       consumer=c.id, kind=c.kind,
                       purpose=c.purpose)

    family("rostrum_consumer_layer", "gauge",
           "layer a video slot receives: 1 high, 0 low, -1 none (audio only)",
           ((clabels(m, s, c), LAYER_VALUE.get(c.source.source, 1) if c.source else -1)
            for m, s, c in consumers if c.kind == "video"))
    family("rostrum_consumer_loss_ratio", "gauge", "fraction lost reported by the receiver",
           ((clabels(m, s, c), round(c.fraction_lost, 4)) for m, s, c in consumers))
    family("rostrum_consumer_rtt_seconds", "gauge", "round-trip time to the receiver",
           ((clabels(m, s, c), round(c.rtt_s, 4)) for m, s, c in consumers
            if c.rtt_s is not None))
    family("rostrum_consumer_packets_sent", "counter", "packets forwarded on a slot",
           ((clabels(m, s, c), c.packets_sent) for m, s, c in consumers))
    return "\n".join(lines) + "\n"


def add_route(app: web.Application, worker_key: web.AppKey[Worker]) -> None:
    async def metrics(request: web.Request) -> web.Response:
        return web.Response(text=render(request.app[worker_key]),
                            content_type="text/plain", charset="utf-8",
                            headers={"X-Content-Type-Options": "nosniff"})

    app.router.add_get("/metrics", metrics)
