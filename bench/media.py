"""Pre-encoded media for the load generator, and the packet identities that time it.

`ensure_media()` encodes, once, ten seconds of VP8 (libvpx, 640x360, 30 fps, ~500 kbit/s, a
keyframe every 2 s) and several distinct Opus streams (20 ms frames) with PyAV into
bench/out/ (git-ignored). Publishers replay those packets in a loop through `PacketTrack`:
aiortc's sender *packs* an `av.Packet` without encoding it (`RTCRtpSender._next_encoded_frame`),
so the generator pays no encoding cost.

Timing a packet through an SFU: both SFUs rewrite SSRC, sequence number, timestamp and header
extensions, but forward the payload bytes (Rostrum rewrites only the VP8 descriptor at the
front). The last `TAIL` bytes of every RTP payload the publisher can send are therefore a
name for it: `TailIndex` gives each one a slot number (unique over all streams of the file),
and `SendTimes` is a shared memory-mapped array, one `time.monotonic()` per slot, which the
publisher writes as it sends and the subscribers (other processes, same machine clock) read
as packets arrive.
"""

from __future__ import annotations

import asyncio
import fractions
import hashlib
import json
import mmap
import os
import pickle
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OUT_DIR = Path(__file__).resolve().parent / "out"
TAIL = 8
MEDIA_FORMAT = 2

VIDEO_CLOCK = 90000
AUDIO_CLOCK = 48000


@dataclass(frozen=True)
class MediaSpec:
    seconds: int = 10
    width: int = 640
    height: int = 360
    fps: int = 30
    video_bps: int = 500_000
    gop: int = 60
    audio_streams: int = 7  # floor + six language channels
    audio_bps: int = 32_000

    def key(self) -> str:
        text = json.dumps({"format": MEDIA_FORMAT, **self.__dict__}, sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:12]


@dataclass
class Media:
    spec: MediaSpec
    video: list[tuple[int, bool, bytes]]  # (pts at 1/90000, keyframe, VP8 frame)
    audio: list[list[tuple[int, bytes]]]  # per stream: (pts at 1/48000, Opus packet)

    @property
    def loop_s(self) -> float:
        return float(self.spec.seconds)

    def video_bitrate(self) -> float:
        return sum(len(f) for _, _, f in self.video) * 8 / self.loop_s


def _video_frames(spec: MediaSpec) -> Any:
    """Moving gradients, a textured band scrolling sideways and a bouncing box, made directly
    in YUV 4:2:0 (cheap to draw, and enough inter-frame change for realistic VP8 packets)."""
    import numpy as np
    from av import VideoFrame

    h, w = spec.height, spec.width
    rng = np.random.default_rng(1)
    texture = rng.integers(16, 235, (h // 32, w // 4), dtype=np.uint8).repeat(8, 0).repeat(8, 1)
    ramp_x = np.arange(w) % 256
    ramp_y = np.arange(h)
    for n in range(spec.seconds * spec.fps):
        yuv = np.empty((h * 3 // 2, w), np.uint8)
        luma = yuv[:h]
        luma[:] = ramp_x[None, :] // 2 + ((ramp_y[:, None] + 2 * n) % 256) // 2
        x0 = (6 * n) % w
        luma[h // 3:h // 3 + texture.shape[0]] = texture[:, x0:x0 + w]
        bx = (n * 7) % (w - 80)
        by = int((h - 80) * (0.5 + 0.4 * np.sin(n / 20)))
        luma[by:by + 80, bx:bx + 80] = 235
        chroma = yuv[h:]
        chroma[:] = 128 + ((n + np.arange(w)[None, :] // 8) % 32)
        frame = VideoFrame.from_ndarray(yuv, format="yuv420p")
        frame.pts = n
        frame.time_base = fractions.Fraction(1, spec.fps)
        yield frame


def _encode_video(spec: MediaSpec) -> list[tuple[int, bool, bytes]]:
    import av

    ctx = av.CodecContext.create("libvpx", "w")
    ctx.width, ctx.height = spec.width, spec.height
    ctx.pix_fmt = "yuv420p"
    ctx.time_base = fractions.Fraction(1, spec.fps)
    ctx.framerate = fractions.Fraction(spec.fps, 1)
    ctx.bit_rate = spec.video_bps
    ctx.gop_size = spec.gop
    ctx.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0",
                   "error-resilient": "1", "qmin": "4", "qmax": "56",
                   "kf-max-dist": str(spec.gop), "kf-min-dist": str(spec.gop)}
    out: list[tuple[int, bool, bytes]] = []
    for frame in [*_video_frames(spec), None]:
        for packet in ctx.encode(frame):
            pts = int(packet.pts or 0) * VIDEO_CLOCK // spec.fps
            out.append((pts, bool(packet.is_keyframe), bytes(packet)))
    out.sort(key=lambda p: p[0])
    if not out or not out[0][1]:
        raise RuntimeError("the VP8 encoder did not start with a keyframe")
    return out


def _encode_audio(spec: MediaSpec, stream: int) -> list[tuple[int, bytes]]:
    import av
    import numpy as np

    ctx = av.CodecContext.create("libopus", "w")
    ctx.sample_rate = AUDIO_CLOCK
    ctx.layout = "mono"
    ctx.format = "s16"
    ctx.bit_rate = spec.audio_bps
    ctx.time_base = fractions.Fraction(1, AUDIO_CLOCK)
    ctx.options = {"frame_duration": "20", "application": "voip"}
    rng = np.random.default_rng(100 + stream)
    samples = AUDIO_CLOCK * spec.seconds
    t = np.arange(samples) / AUDIO_CLOCK
    base = 180.0 + 45.0 * stream
    phase = 2 * np.pi * (base * t + 40.0 * t * t / spec.seconds)  # a slow chirp
    envelope = 0.5 + 0.4 * np.sin(2 * np.pi * (0.7 + 0.1 * stream) * t)
    signal = envelope * np.sin(phase) + 0.15 * rng.standard_normal(samples)
    pcm = (np.clip(signal, -1, 1) * 12000).astype(np.int16)
    out: list[tuple[int, bytes]] = []
    step = AUDIO_CLOCK // 50
    for i in range(0, samples, step):
        frame = av.AudioFrame.from_ndarray(pcm[None, i:i + step], format="s16", layout="mono")
        frame.sample_rate = AUDIO_CLOCK
        frame.pts = i
        frame.time_base = fractions.Fraction(1, AUDIO_CLOCK)
        for packet in ctx.encode(frame):
            out.append((int(packet.pts or 0), bytes(packet)))
    for packet in ctx.encode(None):
        out.append((int(packet.pts or 0), bytes(packet)))
    # one packet per 20 ms, pts from 0, inside the loop
    out = [(i * step, data) for i, (_, data) in enumerate(out)][: samples // step]
    return out


def ensure_media(spec: MediaSpec | None = None, out_dir: Path = OUT_DIR) -> Path:
    """The pre-encoded media file for ``spec``, encoded now if it is not there yet."""
    spec = spec or MediaSpec()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"media-{spec.key()}.pkl"
    if path.exists():
        return path
    media = Media(spec=spec, video=_encode_video(spec),
                  audio=[_encode_audio(spec, k) for k in range(spec.audio_streams)])
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    with open(tmp, "wb") as f:
        pickle.dump({"spec": spec.__dict__, "video": media.video, "audio": media.audio}, f)
    os.replace(tmp, path)
    return path


def load_media(path: Path) -> Media:
    with open(path, "rb") as f:
        raw = pickle.load(f)
    return Media(spec=MediaSpec(**raw["spec"]), video=raw["video"], audio=raw["audio"])


def vp8_payloads(frame: bytes) -> list[bytes]:
    """The RTP payloads aiortc's VP8 packer makes of one frame (its descriptor always carries
    a 15-bit picture id, so the split does not depend on the picture id)."""
    from aiortc.codecs.vpx import Vp8Encoder

    return list(Vp8Encoder._packetize(frame, 1000))


class TailIndex:
    """Slot numbers for every RTP payload the file can produce, by the payload's last bytes.

    Streams: 0 is the video, 1 + k is audio stream k. A tail seen twice (in the same or
    another stream) is ambiguous and gets no slot."""

    def __init__(self, media: Media) -> None:
        self.slots: dict[bytes, int] = {}
        self.stream_of: list[int] = []
        self.first_slot: list[int] = []
        self.packets_per_loop: list[int] = []
        seen: dict[bytes, int] = {}
        streams: list[list[bytes]] = [
            [p for _, _, frame in media.video for p in vp8_payloads(frame)]]
        streams += [[data for _, data in audio] for audio in media.audio]
        for stream, payloads in enumerate(streams):
            self.first_slot.append(len(self.stream_of))
            self.packets_per_loop.append(len(payloads))
            for payload in payloads:
                tail = payload[-TAIL:]
                seen[tail] = seen.get(tail, 0) + 1
                self.slots[tail] = len(self.stream_of)
                self.stream_of.append(stream)
        self.ambiguous = 0
        for tail, count in seen.items():
            if count > 1:
                del self.slots[tail]
                self.ambiguous += count
        self.size = len(self.stream_of)
        self.streams = len(streams)

    def slot(self, payload: bytes) -> int:
        return self.slots.get(payload[-TAIL:], -1)


class SendTimes:
    """A shared array of doubles (one per slot) in a file, mapped by every generator process."""

    def __init__(self, path: Path, size: int, create: bool = False) -> None:
        self.path = path
        if create:
            with open(path, "wb") as f:
                f.write(b"\x00" * (8 * max(size, 1)))
        self._file = open(path, "r+b")
        self._map = mmap.mmap(self._file.fileno(), 8 * max(size, 1))
        self.times = memoryview(self._map).cast("d")

    def close(self) -> None:
        try:
            self.times.release()
            self._map.close()
        except (BufferError, ValueError):
            pass
        self._file.close()


def payload_bounds(data: bytes) -> tuple[int, int]:
    """(start, end) of the payload of a plain RTP packet: after CSRCs and the extension
    block, before padding."""
    first = data[0]
    pos = 12 + 4 * (first & 0x0F)
    if first & 0x10:
        pos += 4 + 4 * ((data[pos + 2] << 8) | data[pos + 3])
    end = len(data)
    if first & 0x20:
        end -= data[-1]
    return pos, end


class PacketTrack:
    """Replays pre-encoded packets of one stream in real time, looping; `recv()` returns an
    `av.Packet`, which aiortc's sender packetizes without encoding."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:  # built on aiortc's base lazily
        from aiortc import MediaStreamTrack

        class _PacketTrack(MediaStreamTrack):
            def __init__(self, kind: str, packets: list[tuple[int, bytes]], clock: int,
                         loop_s: float) -> None:
                super().__init__()
                self.kind = kind
                self._packets = packets
                self._clock = clock
                self._loop_pts = round(loop_s * clock)
                self._time_base = fractions.Fraction(1, clock)
                self._n = 0
                self._start: float | None = None

            async def recv(self) -> Any:
                import av

                count = len(self._packets)
                loop, i = divmod(self._n, count)
                pts = loop * self._loop_pts + self._packets[i][0]
                if self._start is None:
                    self._start = time.monotonic()
                wait = self._start + pts / self._clock - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                packet = av.Packet(self._packets[i][1])
                packet.pts = pts
                packet.time_base = self._time_base
                self._n += 1
                return packet

        return _PacketTrack(*args, **kwargs)


def video_track(media: Media) -> Any:
    return PacketTrack("video", [(pts, data) for pts, _, data in media.video], VIDEO_CLOCK,
                       media.loop_s)


def audio_track(media: Media, stream: int) -> Any:
    return PacketTrack("audio", media.audio[stream], AUDIO_CLOCK, media.loop_s)


if __name__ == "__main__":
    t = time.perf_counter()
    p = ensure_media()
    m = load_media(p)
    idx = TailIndex(m)
    print(f"{p} ({time.perf_counter() - t:.1f} s): video {len(m.video)} frames "
          f"{m.video_bitrate() / 1000:.0f} kbit/s, {sum(k for _, k, _ in m.video)} keyframes, "
          f"{idx.packets_per_loop[0]} RTP packets/loop; audio {len(m.audio)} x "
          f"{len(m.audio[0])} packets; {idx.size} slots, {idx.ambiguous} ambiguous tails")
