"""The control–media boundary: ``sfu`` imports nothing from ``meeting_server``; importing the
SFU changes no process-wide state; commands and events are plain values; ``Router.apply``
gates microphones and refuses another meeting's plan."""

from __future__ import annotations

import ast
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from sfu import commands, events
from sfu.plan import ChannelFeed, MediaPlan, PlanError
from sfu.router import Router

SFU = Path(__file__).resolve().parents[2] / "sfu"


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, absolute (``from . import x`` counts as ``sfu.x``)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                out.add("sfu." + (node.module or ""))
            elif node.module:
                out.add(node.module)
    return out


def test_sfu_imports_nothing_from_the_control_plane() -> None:
    files = sorted(SFU.rglob("*.py"))
    assert len(files) > 10, files  # the walk really saw the package
    offenders = {str(f.relative_to(SFU)): sorted(m for m in imported_modules(f)
                                                 if m.split(".")[0] == "meeting_server")
                 for f in files}
    assert {f: m for f, m in offenders.items() if m} == {}


def test_the_import_walk_sees_a_control_plane_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nfrom meeting_server.config import Config\n"
                   "if True:\n    import meeting_server.floor\n")
    assert {"meeting_server.config", "meeting_server.floor"} <= imported_modules(bad)


def test_importing_the_sfu_leaves_aioice_alone_until_the_policy_is_installed() -> None:
    code = (
        "import aioice.ice\n"
        "original = (aioice.ice.Connection.query_consent, aioice.ice.get_host_addresses)\n"
        "import sfu.worker, sfu.router, sfu.aiortc_glue as g\n"
        "from sfu.worker import Worker\n"
        "Worker(rtc_addresses=('127.0.0.1',))\n"
        "assert (aioice.ice.Connection.query_consent, aioice.ice.get_host_addresses) "
        "== original, 'patched on import or by Worker()'\n"
        "assert not g.ice_policy_installed()\n"
        "g.install_ice_policy(['127.0.0.1'])\n"
        "first = (aioice.ice.Connection.query_consent, g._allowed_addresses)\n"
        "g.install_ice_policy(['127.0.0.1'])\n"
        "assert (aioice.ice.Connection.query_consent, g._allowed_addresses) == first\n"
        "assert g.ice_policy_installed()\n"
        "assert aioice.ice.get_host_addresses(True, False) == ['127.0.0.1']\n"
        "assert 'meeting_server' not in ' '.join(__import__('sys').modules), 'control plane'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=SFU.parent, timeout=60)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("cls", [events.Slot, events.SlotsChanged, events.UplinkChanged,
                                 events.SpeakersChanged,
                                 events.FloorVoiceChanged, events.TransportStateChanged,
                                 events.RouterStats, MediaPlan, ChannelFeed])
def test_commands_and_events_are_frozen_dataclasses(cls: type) -> None:
    assert dataclasses.is_dataclass(cls)
    assert cls.__dataclass_params__.frozen  # type: ignore[attr-defined]


def test_events_serialise_to_json() -> None:
    slot = events.Slot("0", "audio", "seat", 0, "ana", "mic", forwarded=False)
    values: list[events.RouterEvent | events.RouterStats] = [
                  events.SlotsChanged("m1", "ben", (slot,)),
                  events.UplinkChanged("m1", "ana", "low", 0.12),
                  events.FloorVoiceChanged("m1", None),
                  events.TransportStateChanged("m1", "ana", "t1", "publish", "connected"),
                  events.RouterStats("m1", (), (), (), (), 0)]
    for event in values:
        assert json.loads(json.dumps(event.to_dict())) == event.to_dict()
    assert slot.to_json() == {"mid": "0", "kind": "audio", "purpose": "seat", "seat": 0,
                              "participantId": "ana", "source": "mic", "forwarded": False}


def test_commands_and_results_serialise_to_json() -> None:
    plan = MediaPlan("m1", 3, forwarded=frozenset({"ana"}),
                     channels=(ChannelFeed("fr", mic="ivo"),))
    slot = events.Slot("1", "video", "seat", 0, "ana", "camera", True, layer="camera")
    values: list[commands._Value] = [
        commands.ApplyPlan(plan), commands.Listen("ana", "fr"), commands.Pin("ana", None),
        commands.SetVideo("ana", False), commands.GetSlots("ana"),
        commands.Publish("ana", "v=0", (("0", "mic"),), (("useinbandfec", 1),), 40),
        commands.Unpublish("ana"), commands.Subscribe("ana", 4),
        commands.AcceptAnswer("ana", "v=0"), commands.CloseParticipant("ana"),
        commands.Answer("v=0"), commands.Offer("v=0", (slot,)), commands.Slots((slot,)),
        commands.Done(), commands.OpenTap("webcast", "floor", ("127.0.0.1", 1), None),
        commands.CloseTap("webcast"), commands.PinTap("webcast", ("ana",)),
        commands.TapKeyframe("webcast"), commands.TapOpened("webcast", "127.0.0.1", 2)]
    for value in values:
        assert dataclasses.is_dataclass(value)
        data = value.to_dict()
        assert json.loads(json.dumps(data)) == data
        assert data["command"] == type(value).__name__
    assert commands.ApplyPlan(plan).to_dict()["plan"] == plan.to_dict()
    assert MediaPlan.from_dict(commands.ApplyPlan(plan).to_dict()["plan"]) == plan


async def test_control_commands_refused_change_nothing() -> None:
    router = Router("m1")
    for command in (commands.Listen("nobody", "fr"), commands.Pin("nobody", "ana"),
                    commands.SetVideo("nobody", False)):
        with pytest.raises(commands.CommandError) as info:
            router.execute(command)
        assert info.value.code == "conflict"
    with pytest.raises(commands.CommandError) as info:
        router.execute(commands.ApplyPlan(MediaPlan("other")))
    assert info.value.code == "bad-request" and router.plan == MediaPlan("m1")
    assert router.execute(commands.GetSlots("nobody")) == commands.Slots(())
    with pytest.raises(commands.CommandError) as info:
        await router.negotiate(commands.AcceptAnswer("nobody", "v=0"))
    assert info.value.code == "conflict" and router.transports == {}
    assert await router.negotiate(commands.Unpublish("nobody")) == commands.Done()
    await router.close()


class FakeMic:
    """What the router reads of a producer when it gates and ranks microphones."""

    kind = "audio"
    source = "mic"
    closed = False
    last_voice_at = 0.0
    bitrate_bps = 0.0

    def __init__(self, producer_id: str, participant_id: str) -> None:
        self.id = producer_id
        self.participant_id = participant_id
        self.forwarding = True
        self.consumers: list[object] = []

    def set_forwarding(self, allowed: bool) -> None:
        self.forwarding = allowed


async def test_apply_gates_microphones_and_follows_the_floor_voice() -> None:
    router = Router("m1")
    seen: list[events.RouterEvent] = []
    router.on_event(seen.append)
    ana, ben = FakeMic("p1", "ana"), FakeMic("p2", "ben")
    router.producer_added(ana)  # type: ignore[arg-type]
    router.producer_added(ben)  # type: ignore[arg-type]
    # before any plan nobody is heard: the SFU enforces the floor from the start
    assert (ana.forwarding, ben.forwarding) == (False, False)
    router.apply(MediaPlan("m1", 1, forwarded=frozenset({"ana"}), floor_holder="ana",
                           channels=(ChannelFeed("fr", follows_floor=True),)))
    assert (ana.forwarding, ben.forwarding) == (True, False)
    assert router.floor_source() is ana  # type: ignore[comparison-overlap]
    assert events.FloorVoiceChanged("m1", "ana") in seen
    router.apply(MediaPlan("m1", 2, forwarded=frozenset({"ben"})))
    assert (ana.forwarding, ben.forwarding) == (False, True)
    assert seen[-1] == events.FloorVoiceChanged("m1", "ben")
    with pytest.raises(PlanError):
        router.apply(MediaPlan("m2", 3, forwarded=frozenset({"ana"})))
    assert (ana.forwarding, ben.forwarding) == (False, True)  # the bad plan changed nothing
    assert router.plan.version == 2
    await router.close()


async def test_tap_commands_refuse_bad_input_and_close_with_the_router() -> None:
    router = Router("m1")
    here = ("127.0.0.1", 40000)
    for command in (commands.OpenTap("", "fr", here, None),
                    commands.OpenTap("x" * 65, "fr", here, None),
                    commands.OpenTap("tap\n", "fr", here, None),
                    commands.OpenTap("t", None, None, None),
                    commands.OpenTap("t", "fr", None, here),
                    commands.OpenTap("t", None, here, None),
                    commands.OpenTap("t", "", here, None),
                    commands.OpenTap("t", "fr", ("localhost", 40000), None),
                    commands.OpenTap("t", "fr", here, ("127.0.0.1", 0)),
                    commands.OpenTap("t", "fr", ("127.0.0.1", 65536), None)):
        with pytest.raises(commands.CommandError) as info:
            await router.negotiate(command)
        assert info.value.code == "bad-request", command
        assert router.taps == {} and router.transports == {} and router.subscriptions == {}
    for control in (commands.PinTap("t", ()), commands.TapKeyframe("t")):
        with pytest.raises(commands.CommandError) as info:
            router.execute(control)
        assert info.value.code == "not-found"
    opened = await router.negotiate(commands.OpenTap("t", "floor", here, ("::1", 40002)))
    assert isinstance(opened, commands.TapOpened) and opened.tap_id == "t"
    assert opened.host == "127.0.0.1" and 0 < opened.port < 65536
    tap = router.taps["t"]
    assert tap.id in router.transports and "t" in router.subscriptions
    with pytest.raises(commands.CommandError) as info:  # the name is taken
        await router.negotiate(commands.OpenTap("t", "fr", here, None))
    assert info.value.code == "conflict" and router.taps["t"] is tap
    # nobody of the candidates sends a camera: the seat is not pinned
    assert router.execute(commands.PinTap("t", ("ana", "ben"))) == commands.Done()
    assert router.subscriptions["t"].pinned is None
    assert router.execute(commands.TapKeyframe("t")) == commands.Done()
    slots = router.execute(commands.GetSlots("t"))
    assert isinstance(slots, commands.Slots)
    assert sorted((s.purpose, s.kind) for s in slots.slots) == [
        ("channel", "audio"), ("seat", "audio"), ("seat", "video")]
    # closing: the name is free again; an unknown tap closes without error
    assert await router.negotiate(commands.CloseTap("t")) == commands.Done()
    assert tap.closed and router.taps == {} and router.transports == {}
    assert "t" not in router.subscriptions
    assert await router.negotiate(commands.CloseTap("t")) == commands.Done()
    await router.negotiate(commands.OpenTap("t", "fr", here, None))
    again = router.taps["t"]
    await router.close()
    assert again.closed and router.taps == {}
    with pytest.raises(commands.CommandError) as info:
        await router.negotiate(commands.OpenTap("u", "fr", here, None))
    assert info.value.code == "conflict"
