"""Signaling clients for the systems under test, and the generator's packet hooks.

Every peer connection is made with `sfu.aiortc_glue.create_peer_connection(())` (no ICE
server, never aiortc's default public STUN server); every generator process calls
`restrict_host_addresses(["127.0.0.1"])` so ICE uses loopback only.

Hooks (private aiortc names, used only by the load generator):
- publisher: `RTCDtlsTransport._send_rtp` is wrapped on the instance to stamp each media
  packet's send time into the shared `SendTimes` slot named by its payload tail;
- subscriber: each transceiver is taken over with `sfu.aiortc_glue.take_over_receiver` (so
  aiortc starts no decoder and no RTCP loop), and the connection's
  `RTCDtlsTransport._handle_rtp_data` is replaced by a counter that reads the decrypted packet's
  header and payload tail with slicing only (no `RtpPacket.parse`, no decoding).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from array import array
from typing import Any

import aiohttp
import socketio
from aiortc import RTCSessionDescription
from aiortc.codecs import is_rtx

from sfu import aiortc_glue

from .media import TAIL, SendTimes, TailIndex, payload_bounds

logger = logging.getLogger("bench.clients")

_txn = itertools.count(1)


def new_pc() -> Any:
    return aiortc_glue.create_peer_connection(())


def dtls_of(pc: Any) -> Any:
    for t in pc.getTransceivers():
        if t.receiver.transport is not None:
            return t.receiver.transport
        if t.sender.transport is not None:
            return t.sender.transport
    raise RuntimeError("peer connection has no transport yet")


# ------------------------------------------------------------------ measurement window


class Window:
    """The measured interval, in `time.monotonic()` seconds (shared by all processes)."""

    t0 = float("inf")
    t1 = float("-inf")


# ------------------------------------------------------------------ publisher hook


class PublisherStamp:
    """Counts and stamps what one publisher connection sends."""

    def __init__(self, index: TailIndex, times: SendTimes, loop_s: float) -> None:
        self.index = index
        self.times = times.times
        self.half_loop = loop_s / 2
        self.sent_in_window = [0] * index.streams
        self.sent_total = 0
        self.frames_in_window = {"audio": 0, "video": 0}

    def attach(self, pc: Any) -> None:
        transport = dtls_of(pc)
        original = transport._send_rtp
        slots = self.index.slots
        stream_of = self.index.stream_of
        times = self.times
        half = self.half_loop
        sent = self.sent_in_window
        frames = self.frames_in_window

        async def send_rtp(data: bytes) -> None:
            if not (192 <= data[1] <= 208):  # not RTCP
                start, end = payload_bounds(data)
                slot = slots.get(data[max(start, end - TAIL):end], -1)
                if slot >= 0:
                    now = time.monotonic()
                    if now - times[slot] > half:  # first send, not a retransmission
                        times[slot] = now
                        self.sent_total += 1
                        if Window.t0 <= now <= Window.t1:
                            stream = stream_of[slot]
                            sent[stream] += 1
                            if stream == 0:
                                if data[1] & 0x80:
                                    frames["video"] += 1
                            else:
                                frames["audio"] += 1
            await original(data)

        transport._send_rtp = send_rtp


# ------------------------------------------------------------------ subscriber hook


class SubscriberTap:
    """Counts what one subscriber connection receives, and how late it is.

    Cheap on purpose (one generator process carries hundreds of subscribers): once the
    connection is up, the ICE socket's `datagram_received` is replaced, so an SRTP packet skips
    aioice's STUN parsing, its queue and aiortc's receive loop. SRTP leaves the RTP header in
    clear, so every packet is counted from its header alone: per SSRC, packets in the window and
    the span of sequence numbers (loss = span - received, as in an RTCP receiver report). One
    packet in `SAMPLE` per SSRC is decrypted to read its payload tail, which names the
    publisher's packet and so its send time (the added delay). RTCP goes the ordinary way.
    """

    SAMPLE = 4

    def __init__(self, index: TailIndex, times: SendTimes) -> None:
        self.index = index
        self.times = times.times
        # ssrc -> [kind, packets in window, first ext seq, last ext seq, frames in window,
        #          packets since the last sample]
        self.streams: dict[int, list[Any]] = {}
        self.delays = array("d")
        self.total = 0
        self.decrypted = 0
        self.unknown = 0
        self.pt_kind: dict[int, str] = {}
        self.first_at: float | None = None
        self.last_at = 0.0
        self.last_video_at = 0.0
        self._taken: set[int] = set()
        self._hooked = False
        self._feedback: asyncio.Task[None] | None = None
        self.last_seq: dict[int, int] = {}  # media SSRC -> last sequence number (for RTCP)

    def attach(self, pc: Any) -> None:
        """Before negotiation ends: aiortc gets no decoder and no RTCP loop for the slots."""
        for transceiver in pc.getTransceivers():
            self._take_over(transceiver)

    def hook(self, pc: Any) -> None:
        """Once connected: count at the socket."""
        if self._hooked:
            return
        self._hooked = True
        dtls = dtls_of(pc)
        connection = dtls.transport._connection
        rx = dtls._rx_srtp
        slots = self.index.slots
        times = self.times
        delays = self.delays
        pt_kind = self.pt_kind
        streams = self.streams
        sample = self.SAMPLE
        last_seq = self.last_seq

        def on_rtp(data: bytes) -> None:
            now = time.monotonic()
            self.total += 1
            if self.first_at is None:
                self.first_at = now
            self.last_at = now
            kind = pt_kind.get(data[1] & 0x7F)
            if kind is None:
                return  # RTX (padding probes, retransmissions) or unknown
            ssrc = int.from_bytes(data[8:12], "big")
            seq = (data[2] << 8) | data[3]
            last_seq[ssrc] = seq
            if kind == "video":
                self.last_video_at = now
            if not Window.t0 <= now <= Window.t1:
                return
            st = streams.get(ssrc)
            if st is None:
                st = streams[ssrc] = [kind, 0, seq, seq, 0, sample - 1]
            st[1] += 1
            last = st[3]
            delta = (seq - (last & 0xFFFF)) & 0xFFFF
            if delta < 0x8000:
                st[3] = last + delta
            if data[1] & 0x80 or st[0] == "audio":
                st[4] += 1
            st[5] += 1
            if st[5] < sample:
                return
            st[5] = 0
            try:
                plain = rx.unprotect(data)
            except Exception:
                return
            self.decrypted += 1
            start, end = payload_bounds(plain)
            slot = slots.get(plain[max(start, end - TAIL):end], -1)
            if slot < 0:
                self.unknown += 1
                return
            sent = times[slot]
            if 0 <= now - sent < 10:
                delays.append(now - sent)

        for protocol in connection._protocols:
            ordinary = protocol.datagram_received

            def datagram_received(data: bytes, addr: Any, ordinary: Any = ordinary) -> None:
                if len(data) > 12 and 127 < data[0] < 192 and not 192 <= data[1] <= 208:
                    on_rtp(data)
                else:
                    ordinary(data, addr)

            protocol.datagram_received = datagram_received
        self._feedback = asyncio.ensure_future(self._send_feedback(dtls))

    async def _send_feedback(self, dtls: Any) -> None:
        """What a browser sends about once a second: a receiver report per stream and a REMB.
        It reports no loss and a generous 10 Mbit/s estimate, so that a bandwidth-adapting
        SFU keeps forwarding everything: the bench measures forwarding at full load."""
        from aiortc.rtp import (
            RTCP_PSFB_APP,
            RtcpPsfbPacket,
            RtcpReceiverInfo,
            RtcpRrPacket,
            pack_remb_fci,
        )

        own_ssrc = random.getrandbits(32)
        try:
            while True:
                await asyncio.sleep(0.8 + 0.4 * random.random())
                if not self.last_seq:
                    continue
                ssrcs = list(self.last_seq)
                rr = RtcpRrPacket(ssrc=own_ssrc, reports=[
                    RtcpReceiverInfo(ssrc=ssrc, fraction_lost=0, packets_lost=0,
                                     highest_sequence=seq, jitter=0, lsr=0, dlsr=0)
                    for ssrc, seq in self.last_seq.items()][:31])
                remb = RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=own_ssrc, media_ssrc=0,
                                      fci=pack_remb_fci(10_000_000, ssrcs))
                if not await aiortc_glue.send_rtp(dtls, bytes(rr) + bytes(remb)):
                    return
        except asyncio.CancelledError:
            pass

    def stop(self) -> None:
        if self._feedback is not None:
            self._feedback.cancel()

    def _take_over(self, transceiver: Any) -> None:
        if id(transceiver) in self._taken:
            return
        self._taken.add(id(transceiver))
        kind = transceiver.kind

        def on_parameters(parameters: Any) -> None:
            for codec in parameters.codecs:
                if not is_rtx(codec):
                    self.pt_kind[codec.payloadType] = kind

        async def on_rtp(packet: Any, arrival_time_ms: int) -> None:
            return None

        async def on_rtcp(packet: Any) -> None:
            return None

        aiortc_glue.take_over_receiver(transceiver.receiver, on_parameters=on_parameters,
                                       on_rtp=on_rtp, on_rtcp=on_rtcp)

    def reset_window(self) -> None:
        self.streams.clear()
        del self.delays[:]

    def report(self, expect: tuple[int, int] | None = None) -> dict[str, Any]:
        streams = []
        for kind, count, first, last, frames, _ in self.streams.values():
            streams.append({"kind": kind, "received": count, "expected": last - first + 1,
                            "frames": frames})
        return {"streams": streams, "total": self.total, "decrypted": self.decrypted,
                "unknown": self.unknown, "expect": list(expect) if expect else None}


async def wait_connected(pc: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while pc.connectionState != "connected":
        if pc.connectionState in ("failed", "closed"):
            raise ConnectionError(f"peer connection {pc.connectionState}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"peer connection still {pc.connectionState}")
        await asyncio.sleep(0.05)


# ------------------------------------------------------------------ Rostrum


class RostrumPeer:
    """One participant on Rostrum's Socket.IO signaling (docs/protocol.md)."""

    def __init__(self, base_url: str, token: str, name: str) -> None:
        self.base_url = base_url
        self.token = token
        self.name = name
        self.sio = socketio.AsyncClient(reconnection=False)
        self.pc: Any = None
        self.participant_id = ""
        self.slots: list[dict[str, Any]] = []

        async def on_slots(data: Any) -> None:
            self.slots = data.get("slots", [])

        self.sio.on("slots", on_slots, namespace="/media")

    async def call(self, namespace: str, event: str, data: Any) -> dict[str, Any]:
        reply = await self.sio.call(event, data, namespace=namespace, timeout=60)
        if not isinstance(reply, dict) or not reply.get("ok"):
            raise RuntimeError(f"{self.name}: {event} refused: {reply}")
        return reply

    async def join(self) -> None:
        await self.sio.connect(self.base_url, namespaces=["/room", "/media", "/interpretation"],
                               auth={"token": self.token}, transports=["websocket"],
                               wait_timeout=30)
        reply = await self.call("/room", "join", {"name": self.name})
        self.participant_id = reply["self"]["id"]

    async def publish(self, audio: Any = None, video: Any = None) -> Any:
        pc = self.pc = new_pc()
        sources = []
        if audio is not None:
            sources.append((pc.addTransceiver(audio, direction="sendonly"), "mic"))
        if video is not None:
            sources.append((pc.addTransceiver(video, direction="sendonly"), "camera"))
        await pc.setLocalDescription(await pc.createOffer())
        reply = await self.call("/media", "publish", {
            "sdp": pc.localDescription.sdp, "sources": {t.mid: s for t, s in sources}})
        await pc.setRemoteDescription(RTCSessionDescription(reply["sdp"], "answer"))
        return pc

    async def subscribe(self, tap: SubscriberTap) -> Any:
        reply = await self.call("/media", "subscribe", {})
        pc = self.pc = new_pc()
        await pc.setRemoteDescription(RTCSessionDescription(reply["sdp"], "offer"))
        tap.attach(pc)
        await pc.setLocalDescription(await pc.createAnswer())
        answer = await self.call("/media", "subscribe-answer", {"sdp": pc.localDescription.sdp})
        self.slots = answer.get("slots", self.slots)
        return pc

    def expected_streams(self) -> tuple[int, int]:
        """(audio, video) slots the server says are fed now."""
        fed = [s for s in self.slots if s.get("participantId")]
        return (sum(1 for s in fed if s["kind"] == "audio"),
                sum(1 for s in fed if s["kind"] == "video"))

    async def close(self) -> None:
        if self.pc is not None:
            await self.pc.close()
        if self.sio.connected:
            await self.sio.disconnect()


# ------------------------------------------------------------------ Janus (HTTP API)


class JanusError(RuntimeError):
    pass


class JanusSession:
    """A Janus API session over HTTP, with one long poll delivering events to handles."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.http: aiohttp.ClientSession | None = None
        self.id: int | None = None
        self._events: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._poll: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))
        reply = await self._post(self.base_url, {"janus": "create"})
        self.id = reply["data"]["id"]
        self._poll = asyncio.ensure_future(self._long_poll())

    async def _post(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        assert self.http is not None
        body = {**body, "transaction": body.get("transaction") or f"t{next(_txn)}"}
        async with self.http.post(url, json=body) as response:
            reply = await response.json(content_type=None)
        if reply.get("janus") == "error":
            raise JanusError(f"{body.get('janus')}: {reply['error']}")
        return dict(reply)

    async def _long_poll(self) -> None:
        assert self.http is not None
        url = f"{self.base_url}/{self.id}?maxev=50"
        while True:
            try:
                async with self.http.get(url) as response:
                    reply = await response.json(content_type=None)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Janus gone: fail every waiter
                for fut in self._events.values():
                    if not fut.done():
                        fut.set_exception(JanusError(f"long poll failed: {exc}"))
                return
            for event in reply if isinstance(reply, list) else [reply]:
                txn = event.get("transaction")
                if event.get("janus") == "event" and txn in self._events:
                    fut = self._events.pop(txn)
                    if not fut.done():
                        fut.set_result(event)

    async def attach(self) -> JanusHandle:
        reply = await self._post(f"{self.base_url}/{self.id}",
                                 {"janus": "attach", "plugin": "janus.plugin.videoroom"})
        return JanusHandle(self, reply["data"]["id"])

    async def close(self) -> None:
        if self._poll is not None:
            self._poll.cancel()
            await asyncio.gather(self._poll, return_exceptions=True)
        if self.http is not None:
            try:
                await self._post(f"{self.base_url}/{self.id}", {"janus": "destroy"})
            except Exception:
                pass
            await self.http.close()


class JanusHandle:
    def __init__(self, session: JanusSession, handle_id: int) -> None:
        self.session = session
        self.id = handle_id

    @property
    def url(self) -> str:
        return f"{self.session.base_url}/{self.session.id}/{self.id}"

    async def request(self, body: dict[str, Any]) -> dict[str, Any]:
        """A synchronous plugin request (create, list, ...): the answer is in the reply."""
        reply = await self.session._post(self.url, {"janus": "message", "body": body})
        data = reply.get("plugindata", {}).get("data", {})
        if "error" in data:
            raise JanusError(f"{body.get('request')}: {data['error']}")
        return dict(data)

    async def message(self, body: dict[str, Any], jsep: dict[str, Any] | None = None,
                      timeout: float = 60) -> dict[str, Any]:
        """An asynchronous plugin request: Janus acks, the answer comes as an event."""
        txn = f"t{next(_txn)}"
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.session._events[txn] = fut
        msg: dict[str, Any] = {"janus": "message", "body": body, "transaction": txn}
        if jsep is not None:
            msg["jsep"] = jsep
        await self.session._post(self.url, msg)
        event = await asyncio.wait_for(fut, timeout)
        data = event.get("plugindata", {}).get("data", {})
        if "error" in data:
            raise JanusError(f"{body.get('request')}: {data['error']}")
        return event


class JanusPeer:
    """A VideoRoom publisher or subscriber on one handle."""

    def __init__(self, session: JanusSession, room: int) -> None:
        self.session = session
        self.room = room
        self.handle: JanusHandle | None = None
        self.pc: Any = None

    async def publish(self, feed_id: int, name: str, audio: Any = None, video: Any = None
                      ) -> Any:
        self.handle = await self.session.attach()
        await self.handle.message({"request": "join", "ptype": "publisher", "room": self.room,
                                   "id": feed_id, "display": name})
        pc = self.pc = new_pc()
        if audio is not None:
            pc.addTransceiver(audio, direction="sendonly")
        if video is not None:
            pc.addTransceiver(video, direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        event = await self.handle.message(
            {"request": "publish"},
            jsep={"type": "offer", "sdp": pc.localDescription.sdp, "trickle": False})
        jsep = event.get("jsep")
        if not jsep:
            raise JanusError(f"publish: no answer in {event}")
        await pc.setRemoteDescription(RTCSessionDescription(jsep["sdp"], "answer"))
        return pc

    async def subscribe(self, tap: SubscriberTap, streams: list[dict[str, Any]]) -> Any:
        self.handle = await self.session.attach()
        event = await self.handle.message({"request": "join", "ptype": "subscriber",
                                           "room": self.room, "streams": streams})
        jsep = event.get("jsep")
        if not jsep:
            raise JanusError(f"subscribe: no offer in {event}")
        pc = self.pc = new_pc()
        await pc.setRemoteDescription(RTCSessionDescription(jsep["sdp"], "offer"))
        tap.attach(pc)
        await pc.setLocalDescription(await pc.createAnswer())
        await self.handle.message(
            {"request": "start"},
            jsep={"type": "answer", "sdp": pc.localDescription.sdp, "trickle": False})
        return pc

    async def close(self) -> None:
        if self.pc is not None:
            await self.pc.close()


# ------------------------------------------------------------------ aiortc MediaRelay


class RelayPeer:
    """A peer of bench/relay.py (aiortc MediaRelay, decode + re-encode per subscriber)."""

    def __init__(self, base_url: str, http: aiohttp.ClientSession) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = http
        self.pc: Any = None

    async def _exchange(self, path: str, sdp: str) -> str:
        async with self.http.post(f"{self.base_url}{path}", json={"sdp": sdp}) as response:
            reply = await response.json()
        if not reply.get("ok"):
            raise RuntimeError(f"relay {path}: {reply}")
        return str(reply["sdp"])

    async def publish(self, audio: Any = None, video: Any = None) -> Any:
        pc = self.pc = new_pc()
        if audio is not None:
            pc.addTransceiver(audio, direction="sendonly")
        if video is not None:
            pc.addTransceiver(video, direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        answer = await self._exchange("/publish", pc.localDescription.sdp)
        await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        return pc

    async def subscribe(self, tap: SubscriberTap, audio: bool = True, video: bool = True
                        ) -> Any:
        pc = self.pc = new_pc()
        if audio:
            pc.addTransceiver("audio", direction="recvonly")
        if video:
            pc.addTransceiver("video", direction="recvonly")
        tap.attach(pc)
        await pc.setLocalDescription(await pc.createOffer())
        answer = await self._exchange("/subscribe", pc.localDescription.sdp)
        await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        return pc

    async def close(self) -> None:
        if self.pc is not None:
            await self.pc.close()
