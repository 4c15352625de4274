"""The cost of a pipe per packet (sfu/plain_transport.py, ``PipeTransport``), side by side
with the cost of one listener's consumer, in one run.

    python -m bench.pipes                 # 20000 packets per case
    python -m bench.pipes --packets 50000

Two routers of one meeting in this process (the two workers of a spread meeting, without
the processes), a microphone producer at home fed synthetic Opus packets with an audio
level, as the publisher's connection hands them over. Cases, each measured in process CPU
time per packet:

- ``home, no consumer``: the producer's own work (statistics, level, gating);
- ``home + 1 plain consumer``: one more listener on the home worker (a plain RTP consumer:
  the rewrite a WebRTC consumer does, without SRTP), the unit a pipe is weighed against;
- ``home + pipe, sending end``: the pipe's home end (rewrite of the SSRC, the level kept,
  ``sendto`` on loopback);
- ``pipe, receiving end``: the other worker's end (``recvfrom``, parse, the piped
  producer's statistics, level and gating), which is what a packet costs there before any
  listener.

A pipe is paid once per producer and worker, however many listeners it feeds there. The
machine is shared: read the rows against each other, not alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import time

from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpReceiveParameters
from aiortc.rtp import RtpPacket

from sfu.events import PipedProducer
from sfu.plain_transport import PipeTransport, PlainCodec, PlainTransport, run_now
from sfu.plan import MediaPlan
from sfu.producer import Producer
from sfu.router import Router

OPUS = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2,
                             payloadType=111)


def packets(count: int) -> list[RtpPacket]:
    out = []
    for i in range(count):
        packet = RtpPacket(payload_type=111, sequence_number=i & 0xFFFF, timestamp=960 * i,
                           ssrc=0x1234, payload=bytes(80))
        packet.extensions.audio_level = (True, 30)
        out.append(packet)
    return out


class NoUplink:
    """The publisher's connection, for the producer's receiver reports: they go nowhere."""

    async def _send_rtp(self, data: bytes) -> None:
        return None


def cpu() -> float:
    return time.process_time()


class Arrivals:
    """The far end's packets: ``wait(n)`` returns once it took ``n`` (or after a second)."""

    def __init__(self) -> None:
        self.count = 0
        self.target = 0
        self.reached = asyncio.Event()

    def took(self) -> None:
        self.count += 1
        if self.count >= self.target:
            self.reached.set()

    async def wait(self, n: int) -> None:
        self.target = n
        if self.count >= n:
            return
        self.reached.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.reached.wait(), 1.0)


async def feed(producer: Producer, batch: list[RtpPacket],
               arrivals: Arrivals | None = None) -> float:
    """CPU seconds to hand ``batch`` to the producer, 50 packets at a time; between two the
    loop runs (with ``arrivals``, until the far end took them: no socket buffer
    overflows)."""
    spent = 0.0
    first = arrivals.count if arrivals is not None else 0
    for start in range(0, len(batch), 50):
        begin = cpu()
        for packet in batch[start:start + 50]:
            run_now(producer.handle_rtp(packet, 0))
        spent += cpu() - begin
        if arrivals is not None:
            await arrivals.wait(first + min(start + 50, len(batch)))
        await asyncio.sleep(0)
    return spent


async def main(count: int) -> None:
    home = Router("bench-pipe")
    there = Router("bench-pipe")
    plan = MediaPlan("bench-pipe", 1, forwarded=frozenset({"ana"}), seated=frozenset({"ana"}))
    home.apply(plan)
    there.apply(plan)

    class Sink(asyncio.DatagramProtocol):
        received = 0

        def datagram_received(self, data: bytes, addr: object) -> None:
            Sink.received += 1

    loop = asyncio.get_running_loop()
    sink, _ = await loop.create_datagram_endpoint(Sink, local_addr=("127.0.0.1", 0))
    sink_port = sink.get_extra_info("sockname")[1]

    producer = Producer(producer_id="p1", participant_id="ana", kind="audio", source="mic",
                        transport=NoUplink())
    producer.configure(RTCRtpReceiveParameters(codecs=[OPUS]))
    home.producer_added(producer)
    rows: list[tuple[str, float]] = []

    rows.append(("home, no consumer", await feed(producer, packets(count)) / count))

    plain = PlainTransport(router=home, participant_id="listener")
    await plain.open()
    consumer = plain.add_consumer("audio", "channel", 0, PlainCodec.for_kind("audio"),
                                  ("127.0.0.1", sink_port))
    consumer.start()
    consumer.set_source(producer)
    base = rows[0][1]
    with_one = await feed(producer, packets(count)) / count
    rows.append(("home + 1 plain consumer", with_one))
    await consumer.close()

    piped: list[PipedProducer] = []  # what the control plane relays, here in this process
    sending = PipeTransport(router=home, pipe_id="bench", on_piped=piped.append)
    receiving = PipeTransport(router=there, pipe_id="bench")
    here = await sending.open()
    far = await receiving.open()
    receiving.connect(*here)
    sending.connect(*far)
    sending.pipe_producers()
    run_now(producer.handle_rtp(packets(1)[0], 0))  # the first packet announces it
    receiving.produce(piped[0])
    # the receiving end's CPU: what its datagram callback spends (recvfrom is the loop's)
    spent_receiving = 0.0
    original = receiving.datagram_received

    arrivals = Arrivals()

    def timed(data: bytes, addr: object) -> None:
        nonlocal spent_receiving
        begin = cpu()
        original(data, addr)
        spent_receiving += cpu() - begin
        arrivals.took()
    receiving.datagram_received = timed  # type: ignore[method-assign]
    before = receiving.packets_received
    sending_cost = await feed(producer, packets(count), arrivals) / count
    got = receiving.packets_received - before
    rows.append(("home + pipe, sending end", sending_cost))
    rows.append(("pipe, receiving end (callback)", spent_receiving / max(got, 1)))

    print(f"\n{count} Opus packets per case, pid {os.getpid()}, "
          f"{os.cpu_count()} cores (shared)\n")
    print("| case | CPU µs/packet | over the producer alone |")
    print("|---|---:|---:|")
    for name, value in rows:
        print(f"| {name} | {value * 1e6:.1f} | {(value - base) * 1e6:+.1f} |")
    receiving_cost = spent_receiving / max(got, 1)
    print(f"\none more listener's consumer: +{(with_one - base) * 1e6:.1f} µs per packet; "
          f"a pipe: +{(sending_cost - base) * 1e6:.1f} µs at home and "
          f"{receiving_cost * 1e6:.1f} µs on the other worker (the piped producer's own "
          f"work included), {(sending_cost - base + receiving_cost) * 1e6:.1f} µs in all "
          f"(the far end took {got}/{count} packets over loopback UDP)")
    for transport in (sending, receiving, plain):
        await transport.close()
    await home.close()
    await there.close()
    sink.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.pipes")
    parser.add_argument("--packets", type=int, default=20000)
    args = parser.parse_args()
    asyncio.run(main(args.packets))
