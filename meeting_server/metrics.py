"""`GET /metrics`: Prometheus text exposition of the media plane.

Per consumer: the layer it receives, the subscriber's estimate, the loss and RTT its receiver
reports; per producer: bitrate and loss; per publisher: its uplink level and REMB ceiling;
per router: transports, producers, consumers.
Labels are meeting, participant and consumer/producer ids (no names: nothing personal).
"""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web

from sfu.events import ConsumerStats, RouterStats, SubscriberStats, UdpStats
from sfu.worker_client import MediaWorkers, WorkerInfo

LAYER_VALUE = {"camera": 1, "camera-low": 0, "screen": 1}


def _labels(**labels: str) -> str:
    inner = ",".join(f'{k}="{v.replace(chr(92), "").replace(chr(34), "")}"'
                     for k, v in labels.items())
    return "{" + inner + "}"


async def render(workers: MediaWorkers) -> str:
    """The exposition of every worker's stats snapshot (``RouterStats``, sfu/events.py,
    gathered from the worker processes) and of the workers themselves."""
    return render_stats(await workers.stats()) + render_workers(workers.describe())


def render_workers(workers: list[WorkerInfo]) -> str:
    lines: list[str] = []
    families = (
        ("rostrum_worker_up", "gauge", "1 while the SFU worker serves", lambda w: int(w.up)),
        ("rostrum_worker_restarts_total", "counter", "times the SFU worker was restarted",
         lambda w: w.restarts),
        ("rostrum_worker_routers", "gauge", "meetings placed on the SFU worker",
         lambda w: w.routers),
        ("rostrum_worker_consumers", "gauge", "consumers on the SFU worker (its last load)",
         lambda w: w.consumers),
        ("rostrum_worker_packets_per_second", "gauge",
         "packets received and forwarded per second by the SFU worker (its last load)",
         lambda w: w.packets_per_s),
    )
    for name, kind, help_text, value in families:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        for w in workers:
            lines.append(f"{name}{_labels(worker=w.name, pid=str(w.pid))} {value(w):g}")
    muxed = [(w, w.udp) for w in workers if w.udp is not None]
    lines.append("# HELP rostrum_worker_udp_datagrams_total datagrams on the SFU worker's one "
                 "UDP port: in (handed to a connection: stun, media) and out")
    lines.append("# TYPE rostrum_worker_udp_datagrams_total counter")
    for w, udp in muxed:
        for direction, kind, count in (("in", "stun", udp.received_stun),
                                       ("in", "media", udp.received_media),
                                       ("out", "all", udp.sent)):
            labels = _labels(worker=w.name, pid=str(w.pid), port=str(udp.port),
                             direction=direction, kind=kind)
            lines.append(f"rostrum_worker_udp_datagrams_total{labels} {count}")
    lines.append("# HELP rostrum_worker_udp_dropped_total datagrams the SFU worker's UDP port "
                 "dropped, by reason")
    lines.append("# TYPE rostrum_worker_udp_dropped_total counter")
    for w, udp in muxed:
        for reason, count in udp_drop_reasons(udp):
            labels = _labels(worker=w.name, pid=str(w.pid), port=str(udp.port), reason=reason)
            lines.append(f"rostrum_worker_udp_dropped_total{labels} {count}")
    return "\n".join(lines) + "\n"


def udp_drop_reasons(udp: UdpStats) -> tuple[tuple[str, int], ...]:
    """Each drop reason of the mux (sfu/udp_mux.py) and its count."""
    return (("unknown_address", udp.dropped_unknown_address),
            ("not_stun", udp.dropped_not_stun),
            ("unknown_ufrag", udp.dropped_unknown_ufrag),
            ("bad_integrity", udp.dropped_bad_integrity),
            ("unknown_transaction", udp.dropped_unknown_transaction),
            ("overload", udp.dropped_overload))


def render_stats(routers: list[RouterStats]) -> str:
    lines: list[str] = []

    def family(name: str, kind: str, help_text: str, samples: Iterable[tuple[str, float]]
               ) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            lines.append(f"{name}{labels} {value:g}")

    family("rostrum_transports", "gauge", "WebRTC connections per meeting",
           ((_labels(meeting=r.meeting_id), len(r.transports)) for r in routers))
    family("rostrum_producers", "gauge", "incoming tracks per meeting",
           ((_labels(meeting=r.meeting_id), len(r.producers)) for r in routers))
    family("rostrum_consumers", "gauge", "outgoing slots per meeting",
           ((_labels(meeting=r.meeting_id), r.consumers) for r in routers))
    producers = [(r.meeting_id, p) for r in routers for p in r.producers]
    family("rostrum_producer_bitrate_bps", "gauge", "measured bitrate of an incoming track",
           ((_labels(meeting=m, participant=p.participant_id, producer=p.producer_id,
                     source=p.source), round(p.bitrate_bps)) for m, p in producers))
    family("rostrum_producer_packets_lost", "counter", "packets lost from the publisher",
           ((_labels(meeting=m, participant=p.participant_id, producer=p.producer_id,
                     source=p.source), p.packets_lost) for m, p in producers))
    uplinks = [(r.meeting_id, u) for r in routers for u in r.publishers]
    family("rostrum_publisher_uplink_level", "gauge",
           "what a publisher may send: 2 every layer, 1 the camera's low layer, 0 audio only",
           ((_labels(meeting=m, participant=u.participant_id), u.uplink_level)
            for m, u in uplinks))
    family("rostrum_publisher_remb_bps", "gauge",
           "the REMB ceiling told to a publisher's connection",
           ((_labels(meeting=m, participant=u.participant_id), u.remb_bps)
            for m, u in uplinks))
    subs = [(r.meeting_id, s) for r in routers for s in r.subscribers]
    family("rostrum_subscriber_estimate_bps", "gauge",
           "downlink bandwidth estimate of a subscriber",
           ((_labels(meeting=m, participant=s.participant_id), round(s.estimate_bps))
            for m, s in subs))
    family("rostrum_subscriber_sending_bps", "gauge",
           "what the SFU sends a subscriber (media it chose)",
           ((_labels(meeting=m, participant=s.participant_id), round(s.sending_bps))
            for m, s in subs))
    consumers = [(m, s, c) for m, s in subs for c in _metric_order(s)]

    def clabels(m: str, s: SubscriberStats, c: ConsumerStats) -> str:
        return _labels(meeting=m, participant=s.participant_id,
                       consumer=c.consumer_id, kind=c.kind,
                       purpose=c.purpose)

    family("rostrum_consumer_layer", "gauge",
           "layer a video slot receives: 1 high, 0 low, -1 none (audio only)",
           ((clabels(m, s, c), LAYER_VALUE.get(c.source, 1) if c.source else -1)
            for m, s, c in consumers if c.kind == "video"))
    family("rostrum_consumer_loss_ratio", "gauge", "fraction lost reported by the receiver",
           ((clabels(m, s, c), round(c.fraction_lost, 4)) for m, s, c in consumers))
    family("rostrum_consumer_rtt_seconds", "gauge", "round-trip time to the receiver",
           ((clabels(m, s, c), round(c.rtt_s, 4)) for m, s, c in consumers
            if c.rtt_s is not None))
    family("rostrum_consumer_packets_sent", "counter", "packets forwarded on a slot",
           ((clabels(m, s, c), c.packets_sent) for m, s, c in consumers))
    return "\n".join(lines) + "\n"


def _metric_order(s: SubscriberStats) -> list[ConsumerStats]:
    """Seats first, then the channel slot, then the screen (the order /metrics always had)."""
    rank = {"seat": 0, "channel": 1, "screen": 2}
    return sorted(s.consumers, key=lambda c: rank.get(c.purpose, 3))


def add_route(app: web.Application, worker_key: web.AppKey[MediaWorkers]) -> None:
    async def metrics(request: web.Request) -> web.Response:
        return web.Response(text=await render(request.app[worker_key]),
                            content_type="text/plain", charset="utf-8",
                            headers={"X-Content-Type-Options": "nosniff"})

    app.router.add_get("/metrics", metrics)
