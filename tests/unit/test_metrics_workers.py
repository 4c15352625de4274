"""meeting_server/metrics.py: the workers' families, with the UDP port's counters."""

from __future__ import annotations

import re

from meeting_server.metrics import render_workers
from sfu.events import UdpStats
from sfu.worker_client import WorkerInfo


def test_the_udp_port_counters_are_rendered_per_worker() -> None:
    udp = UdpStats(40000, 12, 3400, 5600, 7, 2, 1, 3, 4, 6)
    text = render_workers([WorkerInfo("worker-0", 11, True, 0, 1, 9, 120.0, udp),
                           WorkerInfo("worker-1", 12, False, 2, 0, 0, 0.0, None)])
    samples = dict(re.findall(r"^(rostrum_worker_udp_\w+\{[^}]*\}) (\S+)$", text, re.M))
    base = 'worker="worker-0",pid="11",port="40000"'
    assert samples == {
        f'rostrum_worker_udp_datagrams_total{{{base},direction="in",kind="stun"}}': "12",
        f'rostrum_worker_udp_datagrams_total{{{base},direction="in",kind="media"}}': "3400",
        f'rostrum_worker_udp_datagrams_total{{{base},direction="out",kind="all"}}': "5600",
        f'rostrum_worker_udp_dropped_total{{{base},reason="unknown_address"}}': "7",
        f'rostrum_worker_udp_dropped_total{{{base},reason="not_stun"}}': "2",
        f'rostrum_worker_udp_dropped_total{{{base},reason="unknown_ufrag"}}': "1",
        f'rostrum_worker_udp_dropped_total{{{base},reason="bad_integrity"}}': "3",
        f'rostrum_worker_udp_dropped_total{{{base},reason="unknown_transaction"}}': "4",
        f'rostrum_worker_udp_dropped_total{{{base},reason="overload"}}': "6",
    }
    assert "# TYPE rostrum_worker_udp_dropped_total counter" in text
    assert 'worker="worker-1"' in text  # its other families are still there
