"""The load generator: one process of publishers or of subscribers, driven by bench/run.py.

    python -m bench.loadgen --role pub|sub --system rostrum|janus|relay --url URL \
        --media bench/out/media-*.pkl --times /dev/shm/...

It reads one JSON command per line on stdin and answers one JSON line on stdout (logs go to
stderr). Publishers replay pre-encoded packets (no encoding); subscribers count and time
packets without decoding them (bench/clients.py). Commands:

  {"op": "publish", "peers": [{"name", "token"|"feed", "audio": k|null, "video": bool}]}
  {"op": "add", "count": k, "token": T | "streams": [[...]] | "audio"/"video": bool}
  {"op": "flowing", "within": s, "video": bool}  how many subscribers received a packet
                                        (and a video packet) that recently
  {"op": "window", "t0": t, "t1": t}    count from t0 to t1 (time.monotonic, shared clock)
  {"op": "report"}                      the counts of the last window
  {"op": "quit"}
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import aiohttp

from sfu import aiortc_glue

from .clients import (
    JanusPeer,
    JanusSession,
    PublisherStamp,
    RelayPeer,
    RostrumPeer,
    SubscriberTap,
    Window,
    wait_connected,
)
from .media import SendTimes, TailIndex, audio_track, load_media, video_track

logger = logging.getLogger("bench.loadgen")

HIST_BIN_S = 50e-6
HIST_BINS = 40000  # 2 s; later packets go to the last bin


class Generator:
    def __init__(self, args: argparse.Namespace) -> None:
        self.role = args.role
        self.system = args.system
        self.url = args.url
        self.room = args.room
        self.media = load_media(Path(args.media))
        self.index = TailIndex(self.media)
        self.times = SendTimes(Path(args.times), self.index.size)
        self.peers: list[Any] = []
        self.taps: list[SubscriberTap] = []
        self.tap_peer: dict[int, Any] = {}
        self.tap_expect: dict[int, tuple[int, int]] = {}
        self.stamps: list[PublisherStamp] = []
        self.janus: JanusSession | None = None
        self.http: aiohttp.ClientSession | None = None
        self.failures: list[str] = []

    async def setup(self) -> None:
        if self.system == "janus":
            self.janus = JanusSession(self.url)
            await self.janus.start()
        elif self.system == "relay":
            self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))

    # publishers

    async def publish(self, peers: list[dict[str, Any]]) -> dict[str, Any]:
        ids = []
        booths: list[tuple[Any, str]] = []
        for spec in peers:
            audio = audio_track(self.media, spec["audio"]) if spec.get("audio") is not None \
                else None
            video = video_track(self.media) if spec.get("video") else None
            if self.system == "rostrum":
                peer: Any = RostrumPeer(self.url, spec["token"], spec["name"])
                await peer.join()
                pc = await peer.publish(audio=audio, video=video)
                ids.append(peer.participant_id)
                if spec.get("booth"):
                    booths.append((peer, spec["booth"]))
            elif self.system == "janus":
                assert self.janus is not None
                peer = JanusPeer(self.janus, self.room)
                pc = await peer.publish(spec["feed"], spec["name"], audio=audio, video=video)
                ids.append(spec["feed"])
            else:
                assert self.http is not None
                peer = RelayPeer(self.url, self.http)
                pc = await peer.publish(audio=audio, video=video)
                ids.append(spec["name"])
            stamp = PublisherStamp(self.index, self.times, self.media.loop_s)
            stamp.attach(pc)
            self.stamps.append(stamp)
            self.peers.append(peer)
            await wait_connected(pc)
        if booths:  # Rostrum: the chair (first peer) seats each interpreter, who goes live
            chair = self.peers[0]
            for peer, language in booths:
                await chair.call("/interpretation", "assign",
                                 {"participantId": peer.participant_id, "language": language})
                await peer.call("/interpretation", "live", {})
        return {"ok": True, "ids": ids}

    # subscribers

    async def _one_subscriber(self, n: int, cmd: dict[str, Any]) -> None:
        tap = SubscriberTap(self.index, self.times)
        if self.system == "rostrum":
            peer: Any = RostrumPeer(self.url, cmd["token"], f"listener {n}")
            self.peers.append(peer)
            await peer.join()
            pc = await peer.subscribe(tap)
            channels = cmd.get("listen")
            if channels:
                await peer.call("/interpretation", "listen",
                                {"channel": channels[n % len(channels)]})
            self.tap_peer[id(tap)] = peer
        elif self.system == "janus":
            assert self.janus is not None
            peer = JanusPeer(self.janus, self.room)
            self.peers.append(peer)
            choices = cmd["streams"]
            streams = choices[n % len(choices)]
            pc = await peer.subscribe(tap, streams)
            # every feed has a microphone; the camera is the floor's (feed 1)
            self.tap_expect[id(tap)] = (len(streams),
                                        sum(1 for s in streams if s["feed"] == 1))
        else:
            assert self.http is not None
            peer = RelayPeer(self.url, self.http)
            self.peers.append(peer)
            pc = await peer.subscribe(tap, audio=cmd.get("audio", True),
                                      video=cmd.get("video", True))
            self.tap_expect[id(tap)] = (int(cmd.get("audio", True)), int(cmd.get("video", True)))
        await wait_connected(pc, timeout=60)
        tap.hook(pc)
        self.taps.append(tap)

    async def add(self, cmd: dict[str, Any]) -> dict[str, Any]:
        count = int(cmd["count"])
        limit = asyncio.Semaphore(int(cmd.get("concurrency", 8)))
        base = int(cmd.get("first", len(self.taps)))
        before = len(self.taps)

        async def one(n: int) -> None:
            async with limit:
                try:
                    await self._one_subscriber(n, cmd)
                except Exception as exc:
                    self.failures.append(f"{type(exc).__name__}: {exc}")
                    logger.warning("subscriber %d failed: %s", n, exc)

        await asyncio.gather(*(one(base + i) for i in range(count)))
        return {"ok": True, "connected": len(self.taps) - before,
                "failed": count - (len(self.taps) - before), "errors": self.failures[-3:]}

    def flowing(self, within: float, video: bool) -> dict[str, Any]:
        now = time.monotonic()
        live = sum(1 for t in self.taps if t.first_at is not None and now - t.last_at < within
                   and (not video or now - t.last_video_at < within))
        return {"ok": True, "flowing": live, "subscribers": len(self.taps)}

    # measurement

    def window(self, t0: float, t1: float) -> dict[str, Any]:
        Window.t0, Window.t1 = t0, t1
        for tap in self.taps:
            tap.reset_window()
        for stamp in self.stamps:  # in place: the send hook holds these objects
            for i in range(len(stamp.sent_in_window)):
                stamp.sent_in_window[i] = 0
            for k in stamp.frames_in_window:
                stamp.frames_in_window[k] = 0
        return {"ok": True}

    def report(self) -> dict[str, Any]:
        if self.role == "pub":
            sent = [0] * self.index.streams
            frames = {"audio": 0, "video": 0}
            for stamp in self.stamps:
                for i, v in enumerate(stamp.sent_in_window):
                    sent[i] += v
                for k, v in stamp.frames_in_window.items():
                    frames[k] += v
            states = [str(getattr(p.pc, "connectionState", "?")) for p in self.peers]
            return {"ok": True, "sent": sent, "frames": frames,
                    "total": sum(s.sent_total for s in self.stamps), "states": states}
        import numpy as np

        subs = []
        counts = np.zeros(HIST_BINS + 1, dtype=np.int64)
        for tap in self.taps:
            peer = self.tap_peer.get(id(tap))
            expect = peer.expected_streams() if peer is not None else self.tap_expect.get(id(tap))
            subs.append(tap.report(expect))
            if len(tap.delays):
                d = np.frombuffer(tap.delays, dtype=np.float64)
                bins = np.clip((d / HIST_BIN_S).astype(np.int64), 0, HIST_BINS)
                counts += np.bincount(bins, minlength=HIST_BINS + 1)
        nz = np.nonzero(counts)[0]
        return {"ok": True, "subscribers": subs, "failures": len(self.failures),
                "hist": [[int(i), int(counts[i])] for i in nz], "hist_bin_s": HIST_BIN_S}

    async def close(self) -> None:
        for tap in self.taps:
            tap.stop()
        for peer in self.peers:
            try:
                await asyncio.wait_for(peer.close(), 5)
            except Exception:
                pass
        if self.janus is not None:
            await self.janus.close()
        if self.http is not None:
            await self.http.close()
        self.times.close()


async def serve(args: argparse.Namespace) -> None:
    aiortc_glue.restrict_host_addresses(["127.0.0.1"])
    # aioice sends each ICE consent check once (no retransmission, ~0.5 s timeout) and closes
    # the connection after 6 misses in a row: a generator busy connecting hundreds of
    # subscribers would drop its own publisher. The generator's side never gives up; the
    # system under test keeps its own rule (a drop on its side is a finding, not noise).
    import aioice.ice

    aioice.ice.CONSENT_FAILURES = 1_000_000
    gen = Generator(args)
    await gen.setup()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def answer(reply: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()

    answer({"ok": True, "ready": True, "pid": os.getpid()})
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            cmd = json.loads(line)
            op = cmd.get("op")
            try:
                if op == "publish":
                    reply = await gen.publish(cmd["peers"])
                elif op == "add":
                    reply = await gen.add(cmd)
                elif op == "flowing":
                    reply = gen.flowing(float(cmd.get("within", 1.0)), bool(cmd.get("video")))
                elif op == "window":
                    reply = gen.window(float(cmd["t0"]), float(cmd["t1"]))
                elif op == "report":
                    reply = gen.report()
                elif op == "quit":
                    answer({"ok": True})
                    break
                else:
                    reply = {"ok": False, "error": f"unknown op {op}"}
            except Exception as exc:
                logger.error("%s failed:\n%s", op, traceback.format_exc())
                reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            answer(reply)
    finally:
        await gen.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen")
    parser.add_argument("--role", choices=["pub", "sub"], required=True)
    parser.add_argument("--system", choices=["rostrum", "janus", "relay"], required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--room", type=int, default=0)
    parser.add_argument("--media", required=True)
    parser.add_argument("--times", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format=f"%(asctime)s {args.role}[{os.getpid()}] %(levelname)s "
                               "%(name)s: %(message)s")
    if args.role == "pub":  # a publisher whose connection drops says why (e.g. ICE consent)
        logging.getLogger("aioice.ice").setLevel(logging.INFO)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
