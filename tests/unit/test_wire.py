"""sfu/wire.py: every command, result and event of the boundary survives a frame round trip;
anything else is refused with WireError (no coercion) and yields nothing."""

from __future__ import annotations

import json
import struct

import pytest

from sfu import commands as c
from sfu import events as e
from sfu.plan import ChannelFeed, MediaPlan
from sfu.wire import MAX_FRAME, TYPES, WireError, frame, from_wire, to_wire, unframe

PLAN = MediaPlan("m1", 4, forwarded=frozenset({"ana", "chair"}), seated=frozenset({"ana"}),
                 presenters=frozenset(), channels=(ChannelFeed("fr", mic="ivo"),
                                                   ChannelFeed("en", follows_floor=True),
                                                   ChannelFeed("es")),
                 incoming=(("ivo", "floor"),), floor_holder="ana")
SLOT = e.Slot("3", "video", "seat", 1, "ana", "camera-low", True, layer="camera-low")
CHANNEL = e.Slot("9", "audio", "channel", 0, None, None, False, channel="fr", original=True)
STATS = e.RouterStats(
    "m1", (e.TransportStats("t1", "ana", "publish", "connected"),),
    (e.ProducerStats("p1", "ana", "mic", "audio", 31_000.5, 100, 2, False),),
    (e.PublisherStats("ana", 1, "low", 190_000.0),),
    (e.SubscriberStats("ben", 1e7, 250_000.0, (
        e.ConsumerStats("c1", "video", "seat", None, 0.0, None, 0),
        e.ConsumerStats("c2", "audio", "channel", "mic", 0.02, 0.031, 55))),), 9)
PIPED = e.PipedProducer(0xDEADBEEF, "p3", "ana", "camera-low", "video", "VP8", 96, 90000)
PIPED_MIC = e.PipedProducer(7, "p1", "ana", "mic", "audio", "opus", 111, 48000, 2)

VALUES = [
    c.ApplyPlan(PLAN), c.Listen("ana", "fr"), c.Pin("ana", None), c.Pin("ana", "ben"),
    c.SetVideo("ana", False), c.GetSlots("ana"),
    c.Publish("ana", "v=0\r\n", (("0", "mic"), ("1", "camera")),
              (("useinbandfec", 1), ("stereo", 0), ("x", "y")), 40),
    c.Publish("ana", "v=0", (("0", "mic"),)), c.Unpublish("ana"), c.Subscribe("ana", 4),
    c.AcceptAnswer("ana", "v=0"), c.CloseParticipant("ana"), c.Answer("v=0"),
    c.Offer("v=0", (SLOT, CHANNEL)), c.Slots(()), c.Done(),
    e.SlotsChanged("m1", "ben", (SLOT, CHANNEL)), e.UplinkChanged("m1", "ana", "audio", 0.31),
    e.SpeakersChanged("m1", ("ana", "chair")), e.FloorVoiceChanged("m1", None),
    e.TransportStateChanged("m1", "ana", "t1", "subscribe", "failed"), STATS,
    # the worker socket's envelope and worker commands
    c.OpenRouter("H264"), c.CloseRouter(), c.GetLoad(),
    c.Load(4242, 7, 1234.5, (STATS,)),
    c.Load(4242, 7, 1234.5, (STATS,), e.UdpStats(40000, 12, 3400, 5600, 7, 2, 1, 1, 0)),
    e.UdpStats(40001, 0, 0, 0, 0, 0, 0, 0, 0),
    c.Request(1, "m1", c.ApplyPlan(PLAN)), c.Request(2, "m1", c.Subscribe("ana", 4)),
    c.Request(3, "", c.GetLoad()), c.Request(4, "m1", c.CloseRouter()),
    c.Reply(1, c.Done(), None), c.Reply(2, c.Offer("v=0", (SLOT,)), None),
    c.Reply(3, c.Load(1, 0, 0.0, ()), None),
    c.Reply(5, None, c.Refusal("conflict", "subscribe first")), c.Refusal("bad-frame", "x"),
    # pipes between workers (sfu/plain_transport.py, sfu/spread.py)
    c.OpenPipe("m1-worker-1-1"), c.PipeAddress("127.0.0.1", 40123),
    c.ConnectPipe("m1-worker-1-1", "127.0.0.1", 40124), c.PipeProducers("m1-worker-1-1"),
    c.PipeProducer("m1-worker-1-1", PIPED), c.PipeProducer("x", PIPED_MIC),
    c.UnpipeProducer("m1-worker-1-1", 0xDEADBEEF), c.ClosePipe("m1-worker-1-1"),
    e.ProducerPiped("m1", "m1-worker-1-1", PIPED_MIC),
    e.PipedProducerClosed("m1", "m1-worker-1-1", 7),
    c.Request(6, "m1", c.PipeProducer("x", PIPED)),
    c.Reply(6, c.PipeAddress("127.0.0.1", 1), None),
    # plain RTP taps (the webcast's)
    c.OpenTap("webcast", "floor", ("127.0.0.1", 40000), ("127.0.0.1", 40002)),
    c.OpenTap("webcast-fr", "fr", ("::1", 40004), None),
    c.OpenTap("picture", None, None, ("127.0.0.1", 40006)),
    c.TapOpened("webcast", "127.0.0.1", 51234), c.CloseTap("webcast"),
    c.PinTap("webcast", ("ana", "chair")), c.PinTap("webcast", ()), c.TapKeyframe("webcast"),
    c.Request(6, "m1", c.OpenTap("webcast", "floor", ("127.0.0.1", 1), None)),
    c.Reply(6, c.TapOpened("webcast", "127.0.0.1", 2), None),
]


def test_every_type_of_the_table_is_covered() -> None:
    assert {type(v).__name__ for v in VALUES} | {"Slot", "TransportStats", "ProducerStats",
                                                  "PublisherStats", "SubscriberStats",
                                                  "ConsumerStats", "PipedProducer"} \
        == set(TYPES)


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_round_trip(value: object) -> None:
    data = to_wire(value)
    assert json.loads(json.dumps(data)) == data
    assert from_wire(data) == value
    values, rest = unframe(frame(value))
    assert values == [value] and rest == b""


def test_a_stream_of_frames_cut_anywhere() -> None:
    stream = b"".join(frame(v) for v in VALUES)
    for cut in (0, 1, 3, 4, 5, 50, len(stream) // 2, len(stream) - 1):
        first, rest = unframe(stream[:cut])
        second, left = unframe(rest + stream[cut:])
        assert first + second == VALUES and left == b""


def good(value: object) -> dict[str, object]:
    data: dict[str, object] = to_wire(value)
    return data


@pytest.mark.parametrize("data", [
    None, [], "Listen", {"participant_id": "a"}, {"type": "Nope"},
    {"type": "CommandError", "code": "x", "message": "y"},
    {**good(c.Listen("a", "fr")), "channel": 3},
    {**good(c.Listen("a", "fr")), "extra": 1},
    {"type": "Listen", "participant_id": "a"},
    {**good(c.SetVideo("a", True)), "enabled": 1},
    {**good(c.SetVideo("a", True)), "enabled": "yes"},
    {**good(c.Subscribe("a", 4)), "seats": "4"},
    {**good(c.Subscribe("a", 4)), "seats": True},
    {**good(c.Subscribe("a", 4)), "seats": 4.0},
    {**good(c.Publish("a", "v=0", (("0", "mic"),))), "sources": [["0"]]},
    {**good(c.Publish("a", "v=0", (("0", "mic"),))), "opus": [["x", True]]},
    {**good(c.Pin("a", None)), "pinned": 0},
    {**good(c.ApplyPlan(PLAN)), "plan": {**PLAN.to_dict(), "version": "4"}},
    {**good(c.ApplyPlan(PLAN)), "plan": {**PLAN.to_dict(), "forwarded": [1]}},
    {**good(e.SlotsChanged("m", "p", (SLOT,))), "slots": [{"type": "Listen"}]},
    {**good(e.UplinkChanged("m", "p", "low", 0.1)), "loss": "0.1"},
    {**good(c.ConnectPipe("x", "127.0.0.1", 1)), "port": "1"},
    {**good(c.PipeProducer("x", PIPED)), "producer": {**good(PIPED), "ssrc": -1}},
    {**good(c.PipeProducer("x", PIPED)), "producer": {**good(PIPED), "ssrc": 1 << 32}},
    {**good(c.PipeProducer("x", PIPED)), "producer": {**good(PIPED), "kind": "data"}},
    {**good(c.PipeProducer("x", PIPED)), "producer": {**good(PIPED), "payload_type": 128}},
    {**good(c.PipeProducer("x", PIPED)), "producer": {**good(PIPED), "channels": 0}},
    {**good(c.UnpipeProducer("x", 1)), "ssrc": "1"},
    {**good(c.OpenTap("w", "fr", ("127.0.0.1", 1), None)), "audio": ["127.0.0.1"]},
    {**good(c.OpenTap("w", "fr", ("127.0.0.1", 1), None)), "audio": ["127.0.0.1", "1"]},
    {**good(c.OpenTap("w", "fr", ("127.0.0.1", 1), None)), "audio": "127.0.0.1:1"},
    {**good(c.OpenTap("w", "fr", ("127.0.0.1", 1), None)), "channel": 7},
    {"type": "OpenTap", "tap_id": "w", "channel": None, "audio": None},
    {**good(c.PinTap("w", ())), "candidates": "ana"},
    {**good(c.PinTap("w", ())), "candidates": [1]},
    {**good(c.TapOpened("w", "h", 1)), "port": 1.0},
])
def test_refused_without_coercion(data: object) -> None:
    with pytest.raises(WireError):
        from_wire(data)


@pytest.mark.parametrize("buffer", [
    struct.pack(">I", 2) + b"{]", struct.pack(">I", 2) + b"\xff\xfe",
    struct.pack(">I", MAX_FRAME + 1), struct.pack(">I", 4) + b"null",
    struct.pack(">I", 5000) + b"[" * 2500 + b"]" * 2500,
])
def test_bad_frames_raise(buffer: bytes) -> None:
    with pytest.raises(WireError):
        unframe(buffer)


def test_only_boundary_values_are_framed() -> None:
    with pytest.raises(WireError):
        frame({"type": "Listen"})
    with pytest.raises(WireError):
        frame(c.CommandError("conflict", "x"))
