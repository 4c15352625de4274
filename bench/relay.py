"""Baseline peer: aiortc's MediaRelay, the re-encoding path of aiortc's examples.

    python -m bench.relay --port P

One publisher posts its offer to /publish; its tracks are decoded by aiortc and relayed with
`MediaRelay` (unbuffered) to every subscriber, whose sender encodes them again (one VP8 and
one Opus encoder per subscriber). A subscriber posts a recvonly offer to /subscribe. Loopback
only, no ICE server.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any

from aiohttp import web
from aiortc import RTCSessionDescription
from aiortc.contrib.media import MediaRelay

from sfu import aiortc_glue

logger = logging.getLogger("bench.relay")


class RelayServer:
    def __init__(self) -> None:
        self.relay = MediaRelay()
        self.tracks: dict[str, Any] = {}
        self.pcs: set[Any] = set()

    async def publish(self, request: web.Request) -> web.Response:
        body = await request.json()
        pc = aiortc_glue.create_peer_connection(())
        self.pcs.add(pc)

        @pc.on("track")
        def on_track(track: Any) -> None:
            self.tracks[track.kind] = track

        await pc.setRemoteDescription(RTCSessionDescription(body["sdp"], "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        return web.json_response({"ok": True, "sdp": pc.localDescription.sdp})

    async def subscribe(self, request: web.Request) -> web.Response:
        body = await request.json()
        pc = aiortc_glue.create_peer_connection(())
        self.pcs.add(pc)
        await pc.setRemoteDescription(RTCSessionDescription(body["sdp"], "offer"))
        for transceiver in pc.getTransceivers():
            track = self.tracks.get(transceiver.kind)
            if track is not None:
                pc.addTrack(self.relay.subscribe(track, buffered=False))
        await pc.setLocalDescription(await pc.createAnswer())
        return web.json_response({"ok": True, "sdp": pc.localDescription.sdp})

    async def healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "pcs": len(self.pcs), "tracks": list(self.tracks)})

    async def close(self, app: web.Application) -> None:
        await asyncio.gather(*(pc.close() for pc in self.pcs), return_exceptions=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.relay")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    aiortc_glue.restrict_host_addresses(["127.0.0.1"])
    server = RelayServer()
    app = web.Application()
    app.router.add_post("/publish", server.publish)
    app.router.add_post("/subscribe", server.subscribe)
    app.router.add_get("/healthz", server.healthz)
    app.on_shutdown.append(server.close)
    web.run_app(app, host="127.0.0.1", port=args.port, print=lambda *_: None)


if __name__ == "__main__":
    main()
