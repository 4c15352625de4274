"""Transport: one WebRTC connection of one participant (aiortc's RTCPeerConnection).

A *publish* transport answers the client's offer and turns each incoming m-line into a
Producer. A *subscribe* transport offers a fixed set of seats (audio + video m-lines sharing
one MediaStream) and a screen slot, each a Consumer; the router switches their sources later
without renegotiating. Closing the transport closes its producers and consumers.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from aiortc import RTCRtpReceiver, RTCRtpTransceiver, RTCSessionDescription
from aiortc.codecs import is_rtx

from . import aiortc_glue
from .consumer import Consumer
from .producer import Producer
from .sdp import (
    SdpError,
    bundle_only_mids,
    drop_mdns_candidates,
    fill_rejected,
    media_lines,
    open_publish_offer,
    restore_rejected,
    set_codec_parameters,
)
from .uplink import Uplink

if TYPE_CHECKING:
    from .router import Router, Subscription

logger = logging.getLogger(__name__)

# "camera" is the camera's high layer; "camera-low" its low layer (the same camera, sent a
# second time at a quarter of the pixels): the router gives each subscriber the one that fits
SOURCE_KINDS = {"mic": "audio", "camera": "video", "camera-low": "video", "screen": "video"}


def codec_preferences(kind: str, video_codec: str) -> list[Any]:
    """The one codec (plus its RTX) this meeting forwards for a kind: a forwarding SFU can
    only pass on what every subscriber decodes."""
    wanted = "opus" if kind == "audio" else video_codec.lower()
    caps = RTCRtpReceiver.getCapabilities(kind)
    assert caps is not None
    chosen = [c for c in caps.codecs if c.name.lower() == wanted]
    if kind == "video":
        chosen += [c for c in caps.codecs if is_rtx(c)]
    return chosen


class Transport:
    def __init__(self, *, router: Router, transport_id: str, participant_id: str,
                 direction: str) -> None:
        if direction not in ("publish", "subscribe"):
            raise ValueError(direction)
        self.router = router
        self.id = transport_id
        self.participant_id = participant_id
        self.direction = direction
        self.pc = aiortc_glue.create_peer_connection(router.ice_servers, router.udp_mux,
                                                     router.dtls_certificate,
                                                     router.dtls_handshakes)
        self.producers: dict[str, Producer] = {}
        self.consumers: dict[str, Consumer] = {}
        self.subscription: Subscription | None = None
        self.uplink: Uplink | None = None  # publish: the connection's REMB and level
        self.closed = False
        self._negotiated = False
        self._answering = False  # accept_answer is between its checks and aiortc's
        self._close_task: asyncio.Task[None] | None = None
        self._prefix = f"[{router.meeting_id} {participant_id} {transport_id}]"
        self.pc.on("connectionstatechange", self._on_connection_state)

    def __repr__(self) -> str:
        return f"Transport({self.id} {self.participant_id} {self.direction})"

    @property
    def connection_state(self) -> str:
        return str(self.pc.connectionState)

    def _on_connection_state(self) -> None:
        state = self.pc.connectionState
        logger.info("%s connection %s", self._prefix, state)
        self.router.transport_state_changed(self, str(state))
        if state == "failed" and not self.closed and self._close_task is None:
            self._close_task = asyncio.ensure_future(self.close())

    # publish

    async def answer_publish(self, offer_sdp: str, sources: dict[str, str],
                             opus: dict[str, int | str] | None = None,
                             opus_ptime: int | None = None) -> str:
        """Answer a publisher's offer; each m-line named in ``sources`` becomes a producer.
        ``opus``: the fmtp parameters the publisher's Opus encoder is to follow;
        ``opus_ptime``: the packet duration it is asked for (ms)."""
        if self.direction != "publish" or self._negotiated:
            raise SdpError("this transport is not waiting for a publish offer")
        # a bundle-only m-line (Firefox's second of a kind) is live; a refused one (port 0:
        # a stopped transceiver) is answered refused and publishes nothing
        offered = media_lines(offer_sdp, allow_rejected=True)
        bundled = bundle_only_mids(offer_sdp)
        refused = {line.mid for line in offered if line.rejected and line.mid not in bundled}
        sdp_in = open_publish_offer(offer_sdp) if any(line.rejected for line in offered) \
            else offer_sdp
        lines = media_lines(sdp_in)
        if len(lines) > 4:
            raise SdpError("at most four m-lines (mic, camera, camera-low, screen) may be "
                           "published")
        mids = {line.mid for line in lines}
        if not mids <= set(sources) or not set(sources) <= mids | refused:
            raise SdpError("sources must name every m-line of the offer by its mid")
        sources = {mid: source for mid, source in sources.items() if mid in mids}
        if len(set(sources.values())) != len(sources):
            raise SdpError("each source may be published once")
        for line in lines:
            source = sources[line.mid]
            if SOURCE_KINDS.get(source) != line.kind:
                raise SdpError(f"m-line {line.mid} is {line.kind}, not a {source}")
            if line.direction not in ("sendonly", "sendrecv"):
                raise SdpError(f"m-line {line.mid} does not send")
            wanted = "opus" if line.kind == "audio" else self.router.video_codec.lower()
            if wanted not in line.codecs:
                raise SdpError(f"m-line {line.mid} ({source}) offers no {wanted.upper()}, the"
                               f" codec of this meeting: publish without it")
        self._negotiated = True
        transceivers: list[tuple[RTCRtpTransceiver, str]] = []
        for line in lines:
            transceiver = aiortc_glue.add_transceiver(self.pc, line.kind, "recvonly")
            transceiver.setCodecPreferences(codec_preferences(line.kind, self.router.video_codec))
            transceivers.append((transceiver, sources[line.mid]))
        try:
            await self.pc.setRemoteDescription(
                RTCSessionDescription(sdp=drop_mdns_candidates(sdp_in), type="offer"))
        except Exception as exc:
            raise SdpError(f"offer rejected: {exc}") from exc
        for transceiver, source in transceivers:
            producer = Producer(
                producer_id=self.router.next_id("p"), participant_id=self.participant_id,
                kind=transceiver.kind, source=source, transport=transceiver.receiver.transport,
                keyframe_interval_s=self.router.keyframe_interval_s,
                on_close=self.router.producer_closed)
            producer.attach(transceiver.receiver)
            self.producers[producer.id] = producer
        answer = await self.pc.createAnswer()
        await self.pc.setLocalDescription(answer)
        self.uplink = Uplink(participant_id=self.participant_id, producers=self.producers,
                             dtls_transport=transceivers[0][0].receiver.transport,
                             on_level=self.router.uplink_changed)
        for producer in self.producers.values():
            self.router.producer_added(producer)
        self.uplink.start()
        answer_sdp = str(self.pc.localDescription.sdp)
        if refused:
            answer_sdp = restore_rejected(answer_sdp, offer_sdp)
        if opus:
            answer_sdp = set_codec_parameters(answer_sdp, "opus", opus, ptime=opus_ptime)
        return answer_sdp

    # subscribe

    async def offer_subscribe(self, seats: int, screen: bool = True) -> str:
        from .router import Subscription

        if self.direction != "subscribe" or self._negotiated:
            raise SdpError("this transport has already made its offer")
        self._negotiated = True
        pairs: list[tuple[Consumer, Consumer]] = []
        created: list[tuple[Consumer, RTCRtpTransceiver]] = []
        for seat in range(seats):
            if seat:
                # a turn of the event loop between seats: forwarding for everyone else goes
                # on while a subscriber's transceivers are made (issue 14: a join holds the
                # loop a few milliseconds at a time, not the whole offer)
                await asyncio.sleep(0)
            pair = []
            stream_id = f"seat{seat}"
            for kind in ("audio", "video"):
                transceiver = aiortc_glue.add_transceiver(self.pc, kind, "sendonly")
                transceiver.setCodecPreferences(codec_preferences(kind, self.router.video_codec))
                aiortc_glue.set_sender_stream_id(transceiver.sender, stream_id)
                consumer = self._consumer(kind, seat, "seat", transceiver)
                created.append((consumer, transceiver))
                pair.append(consumer)
            pairs.append((pair[0], pair[1]))
        channel = aiortc_glue.add_transceiver(self.pc, "audio", "sendonly")
        channel.setCodecPreferences(codec_preferences("audio", self.router.video_codec))
        aiortc_glue.set_sender_stream_id(channel.sender, "channel")
        channel_consumer = self._consumer("audio", 0, "channel", channel)
        created.append((channel_consumer, channel))
        screen_consumer = None
        if screen:
            transceiver = aiortc_glue.add_transceiver(self.pc, "video", "sendonly")
            transceiver.setCodecPreferences(codec_preferences("video", self.router.video_codec))
            aiortc_glue.set_sender_stream_id(transceiver.sender, "screen")
            screen_consumer = self._consumer("video", 0, "screen", transceiver)
            created.append((screen_consumer, transceiver))
        await asyncio.sleep(0)
        offer = await self.pc.createOffer()
        await asyncio.sleep(0)
        await self.pc.setLocalDescription(offer)
        for consumer, transceiver in created:
            consumer.mid = transceiver.mid
        self.subscription = Subscription(participant_id=self.participant_id, seats=pairs,
                                         screen=screen_consumer, channel_slot=channel_consumer)
        return str(self.pc.localDescription.sdp)

    def _consumer(self, kind: str, slot: int, purpose: str, transceiver: RTCRtpTransceiver
                  ) -> Consumer:
        consumer = Consumer(consumer_id=self.router.next_id("c"),
                            subscriber_id=self.participant_id, kind=kind, slot=slot,
                            purpose=purpose, sender=transceiver.sender,
                            on_source_closed=self._consumer_lost_source)
        consumer.attach()
        self.consumers[consumer.id] = consumer
        return consumer

    def _consumer_lost_source(self, consumer: Consumer) -> None:
        if not self.closed:
            self.router.reassign(self.participant_id)

    async def accept_answer(self, answer_sdp: str) -> None:
        if self.direction != "subscribe" or self.subscription is None:
            raise SdpError("no subscribe offer is waiting for an answer")
        if self.pc.remoteDescription is not None or self._answering:
            raise SdpError("the answer was already given")
        lines = media_lines(answer_sdp, allow_rejected=True)
        expected = [c.mid for c in self.consumers.values()]
        if sorted(line.mid for line in lines) != sorted(m for m in expected if m):
            raise SdpError("the answer must answer every slot of the offer")
        rejected = {line.mid for line in lines if line.rejected}
        if any(c.kind == "audio" and c.mid in rejected for c in self.consumers.values()):
            raise SdpError("the answer may refuse video slots, never an audio slot")
        if rejected:  # a browser without the meeting's video codec: audio only
            answer_sdp = fill_rejected(answer_sdp, str(self.pc.localDescription.sdp))
        self._answering = True  # an answer given meanwhile is refused (it was checked)
        try:
            await asyncio.sleep(0)  # the answer was parsed once: aiortc parses it again
            await self.pc.setRemoteDescription(
                RTCSessionDescription(sdp=drop_mdns_candidates(answer_sdp), type="answer"))
        except Exception as exc:
            raise SdpError(f"answer rejected: {exc}") from exc
        finally:
            self._answering = False
        self.router.subscription_added(self.subscription)
        video = {c.mid for c in self.consumers.values() if c.kind == "video"}
        if rejected and video <= rejected:
            logger.info("%s refused every video slot: audio only", self._prefix)
            self.router.set_video_allowed(self.participant_id, False)

    # lifecycle

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.uplink is not None:
            await self.uplink.close()
        for producer in list(self.producers.values()):
            await producer.close()
        for consumer in list(self.consumers.values()):
            await consumer.close()
        try:
            await self.pc.close()
        except Exception:
            logger.exception("%s closing the peer connection failed", self._prefix)
        self.producers.clear()
        self.consumers.clear()
        self.router.transport_closed(self)
        logger.info("%s closed", self._prefix)
