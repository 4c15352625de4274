"""The send path alone: CPU per forwarded packet, Python reference against sfu/_fanout.c.

One process, no network peers: a Producer fed VP8 and Opus packets, N consumers of it on
each path, every copy SRTP-protected (AES_CM_128_HMAC_SHA1_80, a fixed key) and sent over
loopback UDP to a socket that nobody reads (the kernel drops what overflows: the send cost
is paid all the same). The Python path sends as ``aiortc_glue.rtp_sender`` does (pylibsrtp
``protect`` then ``sendto``); the C path is the producer's one ``sfu._fanout.forward`` call
per packet. Same packets, same consumers, same run, side by side.

    python -m bench.fanout                 # N = 100, 300; 2000 packets per point (after
                                           # 1100 that fill the NACK caches)
    python -m bench.fanout --n 10,100,300 --packets 5000
"""

from __future__ import annotations

import argparse
import asyncio
import random
import socket
import time
from typing import Any

from aiortc.rtcrtpparameters import (
    RTCRtpCodecParameters,
    RTCRtpDecodingParameters,
    RTCRtpReceiveParameters,
)
from aiortc.rtp import RtpPacket
from pylibsrtp import Policy, Session

from sfu import fanout
from sfu.consumer import Consumer
from sfu.producer import Producer

KEY = bytes(range(30))
WARMUP = 1100  # packets before the measurement: the caches are full, as in a meeting


class _Publisher:
    async def _send_rtp(self, data: bytes) -> None:
        pass


def _producer(kind: str) -> Producer:
    producer = Producer(producer_id=kind, participant_id="pub", kind=kind,
                        source="camera" if kind == "video" else "mic", transport=_Publisher())
    mime, clock, pt = ("video/VP8", 90000, 96) if kind == "video" else ("audio/opus", 48000, 111)
    producer._on_parameters(RTCRtpReceiveParameters(
        codecs=[RTCRtpCodecParameters(mimeType=mime, clockRate=clock, payloadType=pt,
                                      channels=2 if kind == "audio" else None)],
        encodings=[RTCRtpDecodingParameters(ssrc=1000 if kind == "video" else 2000,
                                            payloadType=pt)]))
    producer._fanout_c = False  # set per run below
    return producer


def _consumers(n: int, kind: str, mode: str, sock: socket.socket, sink: tuple[str, int]
               ) -> list[Consumer]:
    out = []
    for k in range(n):
        consumer = Consumer(consumer_id=f"{mode}{k}", subscriber_id=f"s{k}", kind=kind,
                            slot=0, purpose="seat", sender=None, fanout_mode=mode)
        consumer.payload_type = 96 if kind == "video" else 111
        consumer.codec_name = "VP8" if kind == "video" else "OPUS"
        consumer.mid = str(k % 8)
        consumer._ext_mid, consumer._ext_abs = 4, 2
        consumer._ext_level = 1 if kind == "audio" else None
        consumer._ext_fixed = consumer._fixed_extensions()
        if mode == "c":
            assert fanout.native is not None
            consumer.use_tx(fanout.native.Tx(sock.fileno(), *sink, profile=1, key=KEY))
        else:
            session = Session(Policy(key=KEY, ssrc_type=Policy.SSRC_ANY_OUTBOUND,
                                     srtp_profile=Policy.SRTP_PROFILE_AES128_CM_SHA1_80))

            def send(data: bytes, session: Any = session) -> bool:
                sock.sendto(session.protect(data), sink)
                return True

            consumer.use_python_sender(send)
        consumer.ready = True
        out.append(consumer)
    return out


def _packets(kind: str, count: int) -> list[RtpPacket]:
    rng = random.Random(1)
    out = []
    for i in range(count):
        if kind == "video":
            header = b"\x10\x02\x00\x9d\x01\x2a" if i == 0 else b"\xb1\x55\x00\xe4"
            payload = bytes([0x90, 0x80, 0x80 | (i >> 8 & 0x7F), i & 0xFF]) + header + \
                rng.randbytes(1000)  # a keyframe first, then inter frames
            packet = RtpPacket(payload_type=96, sequence_number=i & 0xFFFF,
                               timestamp=(i // 3) * 3000, ssrc=1000, payload=payload,
                               marker=int(i % 3 == 2))
        else:
            packet = RtpPacket(payload_type=111, sequence_number=i & 0xFFFF,
                               timestamp=i * 960, ssrc=2000, payload=rng.randbytes(80))
            packet.extensions.audio_level = (True, 30)
        out.append(packet)
    return out


async def _measure(kind: str, n: int, mode: str, packets: list[RtpPacket]) -> float:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)
    try:
        producer = _producer(kind)
        producer._fanout_c = mode == "c"
        consumers = _consumers(n, kind, mode, sock, sink.getsockname())
        for consumer in consumers:
            consumer.set_source(producer)
        # the first packet is a switch for every consumer (Python decides it); then the
        # NACK caches (1024 packets per video consumer) fill, and only the steady state
        # after that is measured
        for packet in packets[:WARMUP]:
            await producer.handle_rtp(packet, 0)
        start = time.process_time()
        for packet in packets[WARMUP:]:
            await producer.handle_rtp(packet, 0)
        elapsed = time.process_time() - start
        sent = sum(c.packets_sent for c in consumers)
        assert sent == n * len(packets), (sent, n * len(packets))
        await producer.close()
        return 1e6 * elapsed / (n * (len(packets) - WARMUP))
    finally:
        sock.close()
        sink.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", default="100,300", help="consumers per producer")
    parser.add_argument("--packets", type=int, default=2000, help="packets per point")
    opts = parser.parse_args()
    if fanout.native is None:
        raise SystemExit("sfu._fanout is not built (scripts/setup.sh)")
    print("| kind | N | Python µs/copy | C µs/copy | ratio |")
    print("|---|---|---|---|---|")
    for kind in ("video", "audio"):
        packets = _packets(kind, WARMUP + opts.packets)
        for n in (int(x) for x in opts.n.split(",")):
            python = await _measure(kind, n, "python", packets)
            c = await _measure(kind, n, "c", packets)
            print(f"| {kind} | {n} | {python:.2f} | {c:.2f} | {python / c:.1f}x |", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
