"""What one consumer's forwarding state (``Consumer._fw``) holds, before it sends and once its
NACK cache is full: the C ``sfu._fanout.State`` and the Python path's ``PyState``.

    python -m bench.fanout_memory [--consumers 100] [--packets 2000]
    PYTHONPATH=/path/to/other/checkout python bench/fanout_memory.py   # another tree's sfu/

Makes ``--consumers`` video and as many audio states, measures (tracemalloc: every Python
and PyMem allocation, the C state's rings and cache included) what they hold when made,
then sends ``--packets`` VP8 packets of 1,100 bytes to the video ones (C: the producer's one
``forward`` call per packet; Python: the ring and cache updates ``forward_python`` makes)
and 2,000 to the audio ones. The producer's payloads are made before the measurement: they
are the producer's, whatever the consumers keep.
"""

from __future__ import annotations

import argparse
import tracemalloc
from typing import Any

from sfu import fanout


class _Producer:
    pass


class _Seat:
    """A consumer as the C path sees it: its state, armed for ``source``."""

    def __init__(self, source: Any, fw: Any) -> None:
        self._fw = fw
        fw.feed = source  # Consumer._arm: ready, fed by source


def _payload(i: int, size: int) -> bytes:
    return bytes([0x90, 0xC0, 0x80 | ((i >> 8) & 0x7F), i & 0xFF, 0x07]) + bytes(size - 5)


def measure(path: str, video: bool, consumers: int, packets: int) -> tuple[float, float]:
    """Bytes per consumer state: made, and after ``packets`` sent."""
    producer = _Producer()
    payloads = [_payload(i, 1100 if video else 80) for i in range(packets)]
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    states = [fanout.new_state(video, path) for _ in range(consumers)]
    for state in states:
        state.configure(ssrc=7, payload_type=96 if video else 111, vp8=video, ext_mid=1,
                        ext_abs=2, ext_level=0 if video else 3, mid=b"3")
    made = (tracemalloc.get_traced_memory()[0] - base) / consumers
    seats = [_Seat(producer, s) for s in states]
    for i, payload in enumerate(payloads):
        now = i / 1000
        if path == "c":
            assert fanout.native is not None
            fanout.native.forward(producer, seats, i, i * 3000, True, payload, 0x81, 0, now)
        else:
            skip = min(len(payload), 6) if video else 0
            for state in states:  # what forward_python keeps: a head and the payload
                head = bytes(32 + skip)
                try:
                    state.cache_put(i, head, now, payload, skip)
                except TypeError:  # a tree before the shared payload: the whole packet
                    state.cache_put(i, head + payload[skip:], now)
                state.mark_sent(i, now)
    full = (tracemalloc.get_traced_memory()[0] - base) / consumers
    tracemalloc.stop()
    del states, seats
    return made, full


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--consumers", type=int, default=100)
    parser.add_argument("--packets", type=int, default=2000)
    args = parser.parse_args()
    paths = ["c", "python"] if fanout.native is not None else ["python"]
    print(f"{args.consumers} consumers per row, {args.packets} packets sent; "
          "bytes per consumer state")
    print(f"| path | kind | made (nothing sent) | after {args.packets} packets |")
    print("|---|---|---:|---:|")
    for path in paths:
        for video in (True, False):
            made, full = measure(path, video, args.consumers, args.packets)
            kind = "video" if video else "audio"
            print(f"| {path} | {kind} | {made:,.0f} B | {full / 1024:,.1f} KiB |")


if __name__ == "__main__":
    main()
