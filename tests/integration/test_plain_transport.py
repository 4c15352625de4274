"""PlainTransport: a subscriber over plain RTP, fed by the router like a browser is.

Real server, real aiortc publishers; the test reads the plain RTP on loopback UDP sockets
itself, decodes the Opus, checks the camera arrives from a keyframe on, and sends the PLI
and receiver reports a reader would."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import av
import numpy as np
import pytest
from aiortc.rtp import RTCP_PSFB_PLI, RtcpPsfbPacket, RtpPacket

from sfu.plain_transport import PlainTransport
from sfu.vp8 import is_vp8_keyframe
from tests.harness import ServerHandle, running_server
from tests.peers import PatternTrack, TestPeer, ToneTrack


class Reader(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.packets: list[tuple[float, RtpPacket]] = []
        self.rtcp: list[bytes] = []

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if 192 <= data[1] <= 223:
            self.rtcp.append(data)
        else:
            self.packets.append((time.monotonic(), RtpPacket.parse(data)))


async def reader(port_pair: bool = True) -> tuple[asyncio.DatagramTransport, Reader, int]:
    """A UDP socket on an even port (a reader's RTP), and the RTCP one after it."""
    loop = asyncio.get_running_loop()
    for _ in range(50):
        sock, proto = await loop.create_datagram_endpoint(Reader, local_addr=("127.0.0.1", 0))
        port = sock.get_extra_info("sockname")[1]
        if port % 2 == 0:
            return sock, proto, port
        sock.close()
    raise AssertionError("no even port")


async def chair_and_delegate(srv: ServerHandle) -> tuple[TestPeer, TestPeer]:
    """The meeting's chair and a delegate, joined (the caller closes them)."""
    chair = TestPeer(srv.base_url, srv.token("chair"), "Chair")
    delegate = TestPeer(srv.base_url, srv.token("delegate"), "Delegate")
    for peer in (chair, delegate):
        await peer.join()
    return chair, delegate


def dominant(payloads: list[bytes]) -> float:
    decoder = av.CodecContext.create("libopus", "r")
    decoder.sample_rate = 48000
    samples = []
    for payload in payloads:
        for frame in decoder.decode(av.Packet(payload)):
            data = frame.to_ndarray().reshape(-1, frame.layout.nb_channels).mean(axis=1)
            samples.append(data)
    signal = np.concatenate(samples)
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    return float(np.fft.rfftfreq(len(signal), 1 / 48000)[int(np.argmax(spectrum))])


def continuous(packets: list[tuple[float, RtpPacket]]) -> int:
    """The largest step between consecutive sequence numbers."""
    seqs = [p.sequence_number for _, p in packets]
    return max(((b - a) & 0xFFFF for a, b in itertools.pairwise(seqs)), default=1)


@pytest.mark.in_process
async def test_plain_transport_follows_the_floor_and_relays_keyframe_requests() -> None:
    async with running_server(floor_mode="open") as srv:
        chair, delegate = await chair_and_delegate(srv)
        video_sock, video, video_port = await reader()
        audio_sock, audio, audio_port = await reader()
        tap: PlainTransport | None = None
        try:
            assert (await chair.publish(audio=ToneTrack(440),
                                        video=PatternTrack(320, 180)))["ok"]
            router = srv.router()
            tap = PlainTransport(router=router, participant_id="tap-test")
            await tap.open()
            tap.subscribe(video=("127.0.0.1", video_port), channel="floor",
                          audio=("127.0.0.1", audio_port))
            tap.pin(chair.participant_id)
            assert tap.id in router.transports
            # the tone's packets, however loaded the machine (> 30 is 0.6 s of Opus)
            await chair.wait_for(lambda: len(audio.packets) > 30 and bool(video.packets),
                                 timeout=15, what="the floor's voice and picture at the reader")
            # the camera, from a keyframe on; the floor's voice, continuous
            assert video.packets, "no video reached the plain reader"
            assert is_vp8_keyframe(video.packets[0][1].payload)
            assert len(audio.packets) > 30
            assert continuous(audio.packets) == 1
            assert abs(dominant([p.payload for _, p in audio.packets]) - 440) < 15
            # the floor's voice moves to the delegate (open meeting): the same stream goes
            # on, sequence unbroken, with the new tone
            assert (await chair.call("/media", "unpublish", {}))["ok"]
            assert (await delegate.publish(audio=ToneTrack(880)))["ok"]
            await asyncio.sleep(2.0)
            recent = [p for t, p in audio.packets if t > time.monotonic() - 0.8]
            assert abs(dominant([p.payload for p in recent]) - 880) < 15
            assert len({p.ssrc for _, p in audio.packets}) == 1
            assert continuous(audio.packets) == 1
        finally:
            if tap is not None:
                await tap.close()
            video_sock.close()
            audio_sock.close()
            for peer in (chair, delegate):
                await peer.close()


@pytest.mark.in_process
async def test_a_readers_pli_reaches_the_publisher_and_close_detaches() -> None:
    async with running_server(floor_mode="open") as srv:
        chair = TestPeer(srv.base_url, srv.token("chair"), "Chair")
        await chair.join()
        video_sock, video, video_port = await reader()
        tap: PlainTransport | None = None
        try:
            assert (await chair.publish(audio=ToneTrack(440),
                                        video=PatternTrack(320, 180)))["ok"]
            router = srv.router()
            tap = PlainTransport(router=router, participant_id="tap-pli")
            await tap.open()
            sub = tap.subscribe(video=("127.0.0.1", video_port))
            await asyncio.sleep(1.5)
            consumer = sub.seats[0][1]
            assert any(is_vp8_keyframe(p.payload) for _, p in video.packets)
            # the reader asks for a keyframe: RTCP to the RTP source address
            pli = RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=1234, media_ssrc=consumer.ssrc)
            video_sock.sendto(bytes(pli), tap.local_address)
            before = len(video.packets)
            await asyncio.sleep(1.5)
            assert consumer.plis_received == 1
            fresh = [p for _, p in video.packets[before:]]
            assert any(is_vp8_keyframe(p.payload) for p in fresh), \
                "the PLI did not bring a keyframe"
            # closing detaches every consumer from its producer
            producers = list(router.producers.values())
            await tap.close()
            assert tap.id not in router.transports
            assert "tap-pli" not in router.subscriptions
            assert all(c not in p.consumers for p in producers
                       for c in (sub.seats[0][0], sub.seats[0][1]))
            # bad input: garbage RTCP is counted, never raised
            tap2 = PlainTransport(router=router, participant_id="tap-garbage")
            await tap2.open()
            tap2.rtcp_received(b"\x81\xc9\x00")
            assert tap2.rtcp_errors == 1
            await tap2.close()
        finally:
            if tap is not None:
                await tap.close()
            video_sock.close()
            await chair.close()
