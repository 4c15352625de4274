"""The webcast's figures on this machine.

``python -m bench.webcast cpu``     the webcast process's CPU for one meeting (seven channels
                                    and the two-rung ladder), fed a 640x360 VP8 camera and
                                    seven Opus tones over its plain RTP taps, next to the same
                                    process with nothing to read (slate and silence)
``python -m bench.webcast delay``   glass-to-glass: a tone burst's onset at the floor speaker
                                    (an aiortc publisher, through the real server and SFU) to
                                    its onset in the HLS audio, fetched as a player would
``python -m bench.webcast viewers [--viewers 2000]``
                                    a viewer load generator against the real server (a
                                    subprocess): each viewer fetches the low rung's and one
                                    language's playlist every segment and each new segment, at
                                    real pace; the share of segments fetched in time (within a
                                    segment's duration of being listed), p50/p99 fetch times,
                                    the server's CPU; next to a run with a tenth of the viewers
``--smoke`` shortens every run (CI); ``--nginx`` adds the viewers' run with Debian's nginx
(proxy_cache, as docs/operations.md configures it) in front of the server.
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import json
import math
import multiprocessing
import os
import random
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.procstat import cpu_seconds, machine_cpu

CHANNELS = ("floor", "ar", "zh", "en", "fr", "ru", "es")
TONES = (440, 494, 523, 587, 659, 698, 784)


def free_even_ports(count: int) -> list[int]:
    from meeting_server.webcast_process import free_even_ports as free

    return free(count)


def feed(video_port: int, audio_ports: list[int], seconds: float) -> None:
    """A 640x360 VP8 camera (25 fps) and one Opus tone per channel (20 ms packets), as plain
    RTP, at real pace (run in a process of its own)."""
    import av
    from aiortc.codecs import get_encoder
    from aiortc.rtcrtpparameters import RTCRtpCodecParameters
    from aiortc.rtp import RtpPacket

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    opus = [get_encoder(RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000,
                                              channels=2, payloadType=111))
            for _ in audio_ports]
    vp8 = get_encoder(RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000,
                                            payloadType=96))
    seqs = [0] * len(audio_ports)
    vseq = 0
    rng = np.random.default_rng(1)
    texture = np.repeat(np.repeat(rng.integers(0, 256, (90, 320, 3), dtype=np.uint8), 4, 0),
                        4, 1)
    start = time.monotonic()
    n = 0
    while time.monotonic() - start < seconds:
        for i, (encoder, port) in enumerate(zip(opus, audio_ports, strict=True)):
            t = np.arange(n * 960, (n + 1) * 960) / 48000
            pcm = (np.sin(2 * math.pi * TONES[i % len(TONES)] * t) * 8000).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate, frame.pts = 48000, n * 960
            frame.time_base = fractions.Fraction(1, 48000)
            payloads, ts = encoder.encode(frame)
            for payload in payloads:
                sock.sendto(RtpPacket(payload_type=111, sequence_number=seqs[i] & 0xFFFF,
                                      timestamp=ts, ssrc=1000 + i, payload=payload).serialize(),
                            ("127.0.0.1", port))
                seqs[i] += 1
        if n % 2 == 0:
            shift = (n * 3) % 640
            img = np.ascontiguousarray(texture[:, shift:shift + 640])
            picture = av.VideoFrame.from_ndarray(img, format="rgb24")
            picture.pts, picture.time_base = n * 1800, fractions.Fraction(1, 90000)
            payloads, ts = vp8.encode(picture, force_keyframe=n % 100 == 0)
            for i, payload in enumerate(payloads):
                sock.sendto(RtpPacket(payload_type=96, sequence_number=vseq & 0xFFFF,
                                      timestamp=ts, ssrc=2222, payload=payload,
                                      marker=i == len(payloads) - 1).serialize(),
                            ("127.0.0.1", video_port))
                vseq += 1
        n += 1
        time.sleep(max(0.0, start + n * 0.02 - time.monotonic()))


def start_webcast(folder: Path, meeting_id: str = "bench") -> tuple[subprocess.Popen[bytes],
                                                                   list[int]]:
    from webcast.layout import Job

    ports = free_even_ports(len(CHANNELS) + 1)
    job = Job(meeting_id=meeting_id, title="Bench study group", folder=str(folder),
              channels=CHANNELS, audio_ports=tuple(ports[1:]), video_port=ports[0])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "job.json").write_text(job.to_json(), encoding="utf-8")
    process = subprocess.Popen([sys.executable, "-m", "webcast.process",
                                str(folder / "job.json")], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert process.stdout is not None
    ready = json.loads(process.stdout.readline())
    assert ready["event"] == "ready", ready
    # its figures every 5 s would fill the pipe in about ten minutes and stop the process
    import threading

    threading.Thread(target=process.stdout.read, daemon=True).start()
    return process, ports


def stop_webcast(process: subprocess.Popen[bytes]) -> None:
    if process.stdin is not None:
        process.stdin.close()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


def measure_cpu(seconds: float, fed: bool) -> float:
    folder = Path(tempfile.mkdtemp(prefix="rostrum-bench-webcast-"))
    try:
        process, ports = start_webcast(folder)
        feeder = None
        if fed:
            feeder = multiprocessing.get_context("spawn").Process(
                target=feed, args=(ports[0], ports[1:], seconds + 4))
            feeder.start()
        time.sleep(3.0)  # let the encoders settle
        before, t0 = cpu_seconds(process.pid), time.monotonic()
        time.sleep(seconds)
        used = (cpu_seconds(process.pid) - before) / (time.monotonic() - t0)
        stop_webcast(process)
        if feeder is not None:
            feeder.join(10)
        return used
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def bench_cpu(smoke: bool) -> None:
    seconds = 5.0 if smoke else 20.0
    idle = measure_cpu(seconds, fed=False)
    fed = measure_cpu(seconds, fed=True)
    print(f"webcast process CPU, one meeting, {len(CHANNELS)} channels + 640x360/320x180 "
          f"H.264 ladder, over {seconds:.0f} s (share of one core):")
    print(f"  nothing to read (slate, silence)   {idle * 100:5.1f} %")
    print(f"  camera 640x360 VP8 + 7 Opus tones  {fed * 100:5.1f} %")


# glass-to-glass

async def bench_delay(smoke: bool) -> None:
    import aiohttp
    import av

    from bench.interpretation_latency import BURST_HZ, BurstTrack
    from tests.harness import running_server
    from tests.peers import TestPeer
    from webcast.playlist import parse_media

    bursts = 6 if smoke else 20
    async with running_server(floor_mode="chaired") as srv, aiohttp.ClientSession() as http:
        await http.post(f"{srv.base_url}/api/meetings/{srv.meeting_id}/webcast",
                        json={"access": "public"},
                        headers={"Authorization": f"Bearer {srv.token('secretariat')}"})
        chair = TestPeer(srv.base_url, srv.token("chair"), "Chair")
        await chair.join()
        track = BurstTrack()
        assert (await chair.publish(audio=track))["ok"]
        base = f"{srv.base_url}/m/{srv.meeting_id}/webcast/audio/floor"
        wall_minus_mono = time.time() - time.monotonic()
        seen: dict[str, float] = {}  # segment -> when it was first listed (wall)
        onsets_stream: list[float] = []
        listed: list[tuple[float, float]] = []  # (onset in the stream's clock, listed at)
        init: bytes | None = None
        deadline = time.monotonic() + bursts + 12
        while time.monotonic() < deadline and len(onsets_stream) < bursts:
            async with http.get(f"{base}/index.m3u8") as r:
                if r.status != 200:
                    await asyncio.sleep(0.1)
                    continue
                playlist = parse_media(await r.text())
            now = time.time()
            for segment in playlist.segments:
                if segment.uri in seen:
                    continue
                seen[segment.uri] = now
                if init is None:
                    async with http.get(f"{base}/{segment.map_uri}") as r:
                        init = await r.read()
                async with http.get(f"{base}/{segment.uri}") as r:
                    body = await r.read()
                start = _pdt(segment.program_date_time)
                samples = _decode(av, init + body)
                for offset in _onsets(samples, BURST_HZ):
                    onsets_stream.append(start + offset)
                    listed.append((start + offset, now))
            await asyncio.sleep(0.1)
        sent = [t + wall_minus_mono for t in track.onsets]
        media, available = [], []
        for stream_at, listed_at in listed:
            match = min(sent, key=lambda s: abs(stream_at - s - 0.3))
            if abs(stream_at - match) < 0.9:
                media.append(stream_at - match)
                available.append(listed_at - match)
        await chair.close()
    print(f"glass-to-glass, {len(media)} bursts (speaker -> SFU -> tap -> webcast process -> "
          "HLS over HTTP):")
    print(f"  onset in the stream's clock (PDT) - sent   {_summary(media)}")
    print(f"  segment listed in the playlist - sent      {_summary(available)}")
    print("  (a player at hls.js's live edge, liveSyncDurationCount=2, plays about "
          "two segments (4 s) behind the newest segment's end: add that for the ear)")


def _pdt(stamp: str | None) -> float:
    from datetime import datetime

    assert stamp is not None
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def _decode(av: Any, data: bytes) -> np.ndarray:
    import io

    with av.open(io.BytesIO(data), format="mp4") as container:
        return np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])


def _onsets(samples: np.ndarray, frequency: float, rate: int = 48000) -> list[float]:
    """Where a burst starts (s into the samples): 5 ms windows crossing an energy edge."""
    window = rate // 200
    out: list[float] = []
    loud_before = True
    for i in range(0, len(samples) - window, window):
        loud = float(np.sqrt(np.mean(samples[i:i + window] ** 2))) > 0.05
        if loud and not loud_before:
            out.append(i / rate)
        loud_before = loud
    return out


def _summary(values: list[float]) -> str:
    if not values:
        return "no data"
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
    return (f"p50 {statistics.median(values) * 1000:6.0f} ms   p95 {p95 * 1000:6.0f} ms   "
            f"max {values[-1] * 1000:6.0f} ms")


# viewers

class _Connection(asyncio.Protocol):
    """One viewer's keep-alive HTTP/1.1 connection, as cheap as Python gets (no client
    library: 2,000 viewers' requests must leave the two cores to the servers)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.header_end = -1
        self.need = -1
        self.status = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.need < 0:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            at = head.find(b"\r\ncontent-length:")
            if at < 0:
                self._fail(ConnectionError("no Content-Length"))
                return
            line_end = head.find(b"\r\n", at + 2)
            self.status = int(head[9:12])
            self.header_end = end + 4
            self.need = self.header_end + int(head[at + 17:line_end if line_end > 0 else None])
        if len(self.buffer) >= self.need:
            body = bytes(self.buffer[self.header_end:self.need])
            del self.buffer[:self.need]
            self.need = -1
            if self.waiter is not None and not self.waiter.done():
                self.waiter.set_result((self.status, body))

    def _fail(self, exc: Exception) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self._fail(ConnectionError("closed"))

    async def get(self, path: str) -> tuple[int, bytes]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
        return await self.waiter


def viewer_process(base: str, viewers: int, seconds: float, seed: int,
                   results: Any) -> None:
    asyncio.run(_viewers(base, viewers, seconds, seed, results))


async def _viewers(base: str, viewers: int, seconds: float, seed: int, results: Any) -> None:
    from urllib.parse import urlsplit

    from webcast.playlist import parse_media

    url = urlsplit(base)
    host, port, prefix = url.hostname or "127.0.0.1", url.port or 80, url.path
    loop = asyncio.get_running_loop()
    rng = random.Random(seed)
    fetch_times: list[float] = []
    segments = {"in_time": 0, "late": 0, "failed": 0}
    per_viewer: list[int] = []
    statuses: dict[int, int] = {}  # what the failed requests got (0: no answer)
    parsed: dict[bytes, list[tuple[str, str | None]]] = {}  # the same playlist, parsed once
    cpu0 = time.process_time()
    stop_at = time.monotonic() + seconds

    def listing(body: bytes) -> list[tuple[str, str | None]]:
        found = parsed.get(body)
        if found is None:
            if len(parsed) > 256:
                parsed.clear()
            found = parsed[body] = [(s.uri, s.map_uri)
                                    for s in parse_media(body.decode()).segments]
        return found

    async def viewer() -> None:
        language = rng.choice(CHANNELS)
        await asyncio.sleep(rng.random() * 2.0)  # viewers do not arrive in step
        connection: _Connection | None = None
        have: dict[str, set[str]] = {"video/lo": set(), f"audio/{language}": set()}
        fetched = 0
        first = {rendition: True for rendition in have}

        async def get(path: str) -> bytes | None:
            nonlocal connection
            t0 = time.monotonic()
            try:
                if connection is None or connection.transport is None:
                    _, connection = await loop.create_connection(_Connection, host, port)
                status, body = await asyncio.wait_for(connection.get(prefix + path), 20)
            except (OSError, ConnectionError, TimeoutError, ValueError):
                status, body = 0, b""
                if connection is not None and connection.transport is not None:
                    connection.transport.close()
                connection = None
            fetch_times.append(time.monotonic() - t0)
            if status != 200:
                statuses[status] = statuses.get(status, 0) + 1
            return body if status == 200 else None

        while time.monotonic() < stop_at:
            started = time.monotonic()
            for rendition, done in have.items():
                body = await get(f"/{rendition}/index.m3u8")
                if body is None:
                    continue
                listed = listing(body)
                listed_at = time.monotonic()
                wanted = [s for s in listed if s[0] not in done]
                if first[rendition] and wanted:  # start at the live edge, as a player does
                    first[rendition] = False
                    done.update(uri for uri, _ in wanted[:-1])
                    wanted = wanted[-1:]
                    if wanted[0][1]:
                        await get(f"/{rendition}/{wanted[0][1]}")
                for uri, _ in wanted:
                    data = await get(f"/{rendition}/{uri}")
                    done.add(uri)
                    fetched += 1
                    if data is None:
                        segments["failed"] += 1
                    elif time.monotonic() - listed_at <= 2.0:
                        segments["in_time"] += 1
                    else:
                        segments["late"] += 1
            await asyncio.sleep(max(0.0, 2.0 - (time.monotonic() - started)))
        per_viewer.append(fetched)
        if connection is not None and connection.transport is not None:
            connection.transport.close()

    await asyncio.gather(*(viewer() for _ in range(viewers)))
    results.put({"fetch": fetch_times, "per_viewer": per_viewer,
                 "cpu": time.process_time() - cpu0, "statuses": statuses, **segments})


NGINX_CONF = """
{user}worker_processes 1;
error_log {prefix}/error.log warn;
pid {prefix}/nginx.pid;
events {{ worker_connections 8192; }}
worker_rlimit_nofile 16384;
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    proxy_cache_path {prefix}/cache levels=1:2 keys_zone=webcast:50m max_size=2g
                     inactive=2h use_temp_path=off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    upstream rostrum {{ server 127.0.0.1:{upstream}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://rostrum;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache webcast;
            proxy_cache_key $uri;
            proxy_cache_lock on;
            proxy_cache_valid 200 1s;
            proxy_cache_use_stale updating;
            proxy_cache_background_update on;
        }}
    }}
}}
"""


def _start_nginx(data: Path, upstream: int) -> tuple[subprocess.Popen[bytes], int]:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        raise SystemExit("nginx is missing: SETUP_TEST=1 bash scripts/setup.sh installs it")
    prefix = data / "nginx"
    prefix.mkdir()
    port = _free_tcp_port()
    # the data folder is private (mkdtemp): workers run as root when the bench does
    user = "user root;\n" if os.geteuid() == 0 else ""
    (prefix / "nginx.conf").write_text(NGINX_CONF.format(prefix=prefix, upstream=upstream,
                                                         port=port, user=user))
    process = subprocess.Popen([binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf"),
                                "-g", "daemon off;"], stderr=subprocess.DEVNULL)
    _wait_http(f"http://127.0.0.1:{port}")
    return process, port


def _children(pid: int) -> list[int]:
    from bench.procstat import tree_pids

    return [p for p in tree_pids(pid) if p != pid]


def bench_viewers(viewers: int, smoke: bool, with_nginx: bool = False,
                  workers: int = 1) -> None:
    from meeting_server.tokens import issue

    seconds = 10.0 if smoke else 40.0
    data = Path(tempfile.mkdtemp(prefix="rostrum-bench-viewers-"))
    secret = secrets.token_urlsafe(16)
    port = _free_tcp_port()
    # --secret=...: a secret starting with "-" is not taken for an option
    server = subprocess.Popen([sys.executable, "-m", "meeting_server", "--demo",
                               "--data-dir", str(data), "--port", str(port),
                               f"--secret={secret}", "--rtc-port", "0"], stdout=subprocess.DEVNULL,
                              stderr=(data / "server.log").open("wb"))
    webcast = None
    feeder = None
    try:
        base_url = f"http://127.0.0.1:{port}"
        try:
            _wait_http(base_url)
        except RuntimeError:
            print((data / "server.log").read_text(errors="replace")[-3000:], file=sys.stderr)
            raise
        import urllib.request

        request = urllib.request.Request(
            f"{base_url}/api/meetings/demo/webcast", data=b'{"access": "public"}',
            headers={"Authorization": f"Bearer {issue(secret, 'demo', 'secretariat', 600)}",
                     "Content-Type": "application/json"}, method="POST")
        urllib.request.urlopen(request).read()
        webcast, ports = start_webcast(data / "webcast" / "demo", meeting_id="demo")
        # the camera and the voices go on until the last run is over (terminated below)
        feeder = multiprocessing.get_context("spawn").Process(
            target=feed, args=(ports[0], ports[1:], 24 * 3600.0))
        feeder.start()
        time.sleep(6.0)  # a few segments
        base = f"{base_url}/m/demo/webcast"
        print(f"viewers fetching the low rung (320x180) and one language each, at real pace, "
              f"for {seconds:.0f} s; the load generator: {workers} process(es), one "
              f"keep-alive connection per viewer, on the same two cores")
        runs = [("aiohttp alone", base, [server.pid], count)
                for count in (max(1, viewers // 10), viewers)]
        nginx = None
        if with_nginx:
            nginx, nginx_port = _start_nginx(data, port)
            runs.append(("nginx in front", f"http://127.0.0.1:{nginx_port}/m/demo/webcast",
                         [server.pid, nginx.pid], viewers))
        try:
            print("  server          viewers | in time (of all)        late  failed | "
                  "segs/viewer (expected) | req/s  p50    p99    | server CPU  load gen "
                  "CPU  machine | webcast process listed")
            for label, url, pids, count in runs:
                _run_viewers(label, url, count, seconds, pids, workers)
        finally:
            if nginx is not None:
                nginx.terminate()
                nginx.wait(10)
    finally:
        if feeder is not None:
            feeder.terminate()
        if webcast is not None:
            stop_webcast(webcast)
        server.terminate()
        server.wait(10)
        shutil.rmtree(data, ignore_errors=True)


def _run_viewers(label: str, base: str, viewers: int, seconds: float, server_pids: list[int],
                 workers: int) -> None:
    ctx = multiprocessing.get_context("spawn")
    results: Any = ctx.Queue()
    workers = min(workers, viewers)
    listed_before = _listed_segments(base)
    procs = [ctx.Process(target=viewer_process,
                         args=(base, viewers // workers + (i < viewers % workers), seconds,
                               i, results)) for i in range(workers)]
    # the server, and nginx with its workers (its cache loader exits after a while)
    pids = sorted({server_pids[0], *(c for p in server_pids[1:] for c in (p, *_children(p)))})
    cpu0, t0 = {p: _cpu(p) for p in pids}, time.monotonic()
    busy0, total0 = machine_cpu()
    for p in procs:
        p.start()
    gathered = [results.get(timeout=seconds + 120) for _ in procs]
    elapsed = time.monotonic() - t0
    server_cpu = sum(max(0.0, _cpu(p) - cpu0[p]) for p in pids) / elapsed
    busy1, total1 = machine_cpu()
    for p in procs:
        p.join(10)
    fetch = sorted(x for g in gathered for x in g["fetch"])
    per_viewer = sorted(x for g in gathered for x in g["per_viewer"])
    listed_after = _listed_segments(base)
    in_time = sum(g["in_time"] for g in gathered)
    late = sum(g["late"] for g in gathered)
    failed = sum(g["failed"] for g in gathered)
    total = max(1, in_time + late + failed)
    generator_cpu = sum(g["cpu"] for g in gathered) / elapsed
    p99 = fetch[min(len(fetch) - 1, int(0.99 * len(fetch)))] if fetch else float("nan")
    p50 = statistics.median(fetch) if fetch else float("nan")
    # two renditions, a segment every 2 s, the first one at the live edge
    expected = 2 * (seconds / 2.0)
    print(f"  {label:15s} {viewers:5d} | {100 * in_time / total:6.2f} % "
          f"({in_time:6d}/{total:6d}) {late:6d} {failed:6d} | "
          f"p50 {statistics.median(per_viewer) if per_viewer else 0:4.0f} "
          f"min {per_viewer[0] if per_viewer else 0:3d} ({expected:.0f}) | "
          f"{len(fetch) / elapsed:5.0f} {p50 * 1000:5.0f}ms {p99 * 1000:5.0f}ms | "
          f"{server_cpu * 100:4.0f} %      {generator_cpu * 100:4.0f} %      "
          f"{100 * (busy1 - busy0) / max(1e-9, total1 - total0):3.0f} % | "
          f"{listed_after - listed_before} new segments during the run", flush=True)
    statuses: dict[int, int] = {}
    for g in gathered:
        for status, n in g["statuses"].items():
            statuses[status] = statuses.get(status, 0) + n
    if statuses:
        print(f"    failed requests by status (0: no answer): {statuses}", flush=True)


def _cpu(pid: int) -> float:
    """CPU seconds of a process, 0 once it is gone."""
    try:
        return cpu_seconds(pid)
    except OSError:
        return 0.0


def _listed_segments(base: str) -> int:
    import urllib.request

    from webcast.playlist import parse_media

    with urllib.request.urlopen(f"{base}/video/lo/index.m3u8", timeout=5) as r:
        playlist = parse_media(r.read().decode())
    return playlist.media_sequence + len(playlist.segments)


def _free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(base: str) -> None:
    import urllib.request

    deadline = time.monotonic() + 60  # a loaded machine starts the server slowly
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=1).read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("cpu", "delay", "viewers", "all"))
    parser.add_argument("--viewers", type=int, default=2000)
    parser.add_argument("--smoke", action="store_true", help="short runs (CI)")
    parser.add_argument("--nginx", action="store_true",
                        help="also with Debian's nginx (proxy_cache) in front")
    parser.add_argument("--workers", type=int, default=1,
                        help="load generator processes (viewers' share of the cores)")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    if args.what in ("cpu", "all"):
        bench_cpu(args.smoke)
    if args.what in ("delay", "all"):
        asyncio.run(bench_delay(args.smoke))
    if args.what in ("viewers", "all"):
        bench_viewers(200 if args.smoke else args.viewers, args.smoke, args.nginx,
                      args.workers)


if __name__ == "__main__":
    main()
