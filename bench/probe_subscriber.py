"""A subscriber for shaped-link runs: joins, subscribes with aiortc's own receivers (so the
receiver reports, REMB, NACKs and PLIs are aiortc's, not ours), decodes, and prints one JSON
line per half second: the frame width it decodes, frames, audio packets received and lost.

Run inside a network namespace: ``ip netns exec NS python -m bench.probe_subscriber URL TOKEN
ADDRESS SECONDS``. ADDRESS is the namespace's own address (ICE uses only it).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import socketio
from aiortc import RTCSessionDescription

from sfu import aiortc_glue


async def main(url: str, token: str, address: str, seconds: float) -> None:
    aiortc_glue.restrict_host_addresses([address])
    sio = socketio.AsyncClient(reconnection=False)
    slots: list[dict[str, Any]] = []

    @sio.on("slots", namespace="/media")  # type: ignore[misc]
    async def on_slots(data: dict[str, Any]) -> None:
        slots[:] = data["slots"]

    await sio.connect(url, namespaces=["/room", "/media"], auth={"token": token},
                      transports=["websocket"], wait_timeout=10)
    reply = await sio.call("join", {"name": "Probe"}, namespace="/room", timeout=10)
    assert reply["ok"], reply
    offer = await sio.call("subscribe", {}, namespace="/media", timeout=20)
    assert offer["ok"], offer
    pc = aiortc_glue.create_peer_connection(())
    # A loss-only receiver: without abs-send-time aiortc sends no REMB. aiortc's delay-based
    # estimator timestamps arrivals on its event loop, so a loaded loop (this process decodes
    # video in Python) reads as queuing delay and its REMB collapses to a few kbit/s. The
    # receiver reports (loss, RTT) stay exact. Chromium's REMB is covered by the browser test.
    sdp = "\r\n".join(line for line in offer["sdp"].splitlines()
                       if "abs-send-time" not in line) + "\r\n"
    await pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
    await pc.setLocalDescription(await pc.createAnswer())
    answer = await sio.call("subscribe-answer", {"sdp": pc.localDescription.sdp},
                            namespace="/media", timeout=20)
    assert answer["ok"], answer
    slots[:] = answer["slots"]
    state: dict[str, Any] = {"width": 0, "frames": 0, "last_frame": 0.0, "freeze_s": 0.0}
    tracks = {t.mid: t.receiver.track for t in pc.getTransceivers()}

    async def read_video(track: Any) -> None:
        while True:
            frame = await track.recv()
            now = time.monotonic()
            if state["last_frame"] and now - state["last_frame"] > 0.2:
                state["freeze_s"] += now - state["last_frame"]
            state["last_frame"] = now
            state["width"] = frame.width
            state["frames"] += 1

    async def drain(track: Any) -> None:
        while True:
            await track.recv()

    tasks = []
    for track in tracks.values():
        tasks.append(asyncio.ensure_future(read_video(track) if track.kind == "video"
                                           else drain(track)))
    started = time.monotonic()
    try:
        while time.monotonic() - started < seconds:
            await asyncio.sleep(0.5)
            audio_received = audio_lost = 0
            for t in pc.getTransceivers():
                if t.kind != "audio":
                    continue
                stats = await t.receiver.getStats()
                for s in stats.values():
                    if s.type == "inbound-rtp":
                        audio_received += s.packetsReceived
                        audio_lost += s.packetsLost
            now = time.monotonic()
            stalled = state["last_frame"] == 0 or now - state["last_frame"] > 0.5
            layers = [s.get("layer") for s in slots if s["kind"] == "video" and s["purpose"]
                      == "seat" and s.get("participantId")]
            print(json.dumps({"t": round(now - started, 2), "width": 0 if stalled else
                              state["width"], "frames": state["frames"],
                              "freeze_s": round(state["freeze_s"], 2),
                              "audio_received": audio_received, "audio_lost": audio_lost,
                              "layers": layers}), flush=True)
    finally:
        for task in tasks:
            task.cancel()
        await pc.close()
        await sio.disconnect()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])))
