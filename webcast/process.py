"""The webcast process of one meeting: plain RTP taps in, CMAF HLS out (PyAV).

``python -m webcast.process <job.json>``. It never runs on the server's event loop: the
control plane starts it as a subprocess and supervises it (``meeting_server/webcast.py``).

- A reader thread opens the taps through their SDP (FFmpeg's RTP demuxer), decodes the
  floor video once and each channel's Opus once, and leaves the newest picture and each
  channel's samples in buffers.
- The main thread runs the output clock: every 1/fps s a picture per rung (the newest
  camera picture, or a slate with the meeting's title when no camera has sent for a
  while; a keyframe at every segment start, so segments of every rung align) and, per
  channel, the samples due (silence where a channel has none), AAC-encoded. Each
  rendition has its own FFmpeg HLS muxer (fMP4, ``segment_s`` segments) writing this
  generation's playlist; after each change the rendition's public ``index.m3u8`` is
  rewritten as every generation joined (``webcast.publish``).
- stdin: a line ``end`` finishes the webcast (last segments, EXT-X-ENDLIST); end of input
  (the server went away) or SIGTERM stops it without ending, so a next generation
  continues the playlists. stdout: one JSON line per event (ready, figures).
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
import time
from collections import deque
from fractions import Fraction
from io import BytesIO
from pathlib import Path
from typing import Any

import av
import numpy as np
from av.audio.resampler import AudioResampler
from av.video.frame import PictureType, VideoFrame

from .layout import Job, generations, master_playlist, rendition_dirs
from .playlist import write_master
from .publish import RenditionPublisher, write_atomic
from .sdp import TapStream, tap_sdp

logger = logging.getLogger("webcast.process")

RATE = 48_000
AAC_FRAME = 1024
PRIME_S = 0.06  # a channel that ran dry plays again once this much is buffered
MAX_BUFFER_S = 0.4  # more than this buffered: the oldest is dropped (latency stays bounded)
CAMERA_TIMEOUT_S = 1.5  # no camera picture for this long: the slate


def emit(event: str, **fields: Any) -> None:
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


class ChannelBuffer:
    """One channel's decoded samples (mono float32), filled by the reader thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.chunks: deque[np.ndarray] = deque()
        self.size = 0
        self.primed = False
        self.underruns = 0
        self.dropped = 0
        self.received = 0

    def push(self, samples: np.ndarray) -> None:
        with self.lock:
            self.chunks.append(samples)
            self.size += len(samples)
            self.received += len(samples)
            while self.size > MAX_BUFFER_S * RATE and len(self.chunks) > 1:
                old = self.chunks.popleft()
                self.size -= len(old)
                self.dropped += len(old)

    def take(self, n: int) -> np.ndarray:
        out = np.zeros(n, dtype=np.float32)
        with self.lock:
            if not self.primed:
                if self.size < PRIME_S * RATE:
                    return out
                self.primed = True
            filled = 0
            while filled < n and self.chunks:
                chunk = self.chunks[0]
                used = min(n - filled, len(chunk))
                out[filled:filled + used] = chunk[:used]
                filled += used
                if used == len(chunk):
                    self.chunks.popleft()
                else:
                    self.chunks[0] = chunk[used:]
            self.size -= filled
            if filled < n:
                self.primed = False
                if self.received:
                    self.underruns += 1
        return out


class Picture:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.frame: VideoFrame | None = None
        self.at = 0.0
        self.decoded = 0
        self.size: tuple[int, int] | None = None

    def put(self, frame: VideoFrame) -> None:
        with self.lock:
            self.frame = frame
            self.at = time.monotonic()
            self.decoded += 1
            self.size = (frame.width, frame.height)

    def get(self) -> VideoFrame | None:
        with self.lock:
            if self.frame is None or time.monotonic() - self.at > CAMERA_TIMEOUT_S:
                return None
            return self.frame


def slate(title: str, width: int, height: int) -> VideoFrame:
    """A still picture with the meeting's title, for when nobody is on camera."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (width, height), (12, 36, 72))
    draw = ImageDraw.Draw(image)
    font: Any
    for name in ("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
                 "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"):
        try:
            font = ImageFont.truetype(name, max(12, height // 14))
            break
        except OSError:
            continue
    else:
        font = ImageFont.load_default()
    text = title[:60]
    box = draw.textbbox((0, 0), text, font=font)
    draw.text(((width - (box[2] - box[0])) / 2, (height - (box[3] - box[1])) / 2), text,
              fill=(255, 255, 255), font=font)
    return VideoFrame.from_ndarray(np.asarray(image), format="rgb24").reformat(
        format="yuv420p")


class Output:
    """One rendition of one generation: an FFmpeg HLS muxer (fMP4) and its stream."""

    def __init__(self, folder: Path, generation: int, segment_s: float) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.container = av.open(str(folder / f"g{generation}.m3u8"), "w", format="hls",
                                 options={
                                     "hls_time": f"{segment_s:g}",
                                     "hls_segment_type": "fmp4",
                                     "hls_list_size": "0",
                                     "hls_playlist_type": "event",
                                     "hls_flags": "independent_segments+temp_file+"
                                                  "omit_endlist+program_date_time",
                                     "hls_fmp4_init_filename": f"init-g{generation}.mp4",
                                     "hls_segment_filename":
                                         str(folder / f"g{generation}-%05d.m4s"),
                                 })
        self.stream: Any = None
        self.publisher = RenditionPublisher(folder, generation)

    def mux(self, frame: Any) -> None:
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def close(self) -> None:
        try:
            self.mux(None)
        finally:
            self.container.close()


class Webcast:
    def __init__(self, job: Job) -> None:
        self.job = job
        self.root = Path(job.folder)
        self.root.mkdir(parents=True, exist_ok=True)
        dirs = rendition_dirs(job)
        seen = [g for d in dirs for g in generations(self.root / d)]
        self.generation = max(seen, default=0) + 1
        self.channels = [ChannelBuffer() for _ in job.channels]
        self.picture = Picture()
        self.stop_event = threading.Event()
        self.ended = False
        self.reader_error: str | None = None
        self.read_timeouts = 0  # FFmpeg's 10 s "nothing received" timeouts, read through
        self.video: list[Output] = []
        self.audio: list[Output] = []
        self.slate = [slate(job.title, r.width, r.height) for r in job.rungs]

    # outputs

    def open_outputs(self) -> None:
        job = self.job
        for rung in job.rungs:
            out = Output(self.root / "video" / rung.name, self.generation, job.segment_s)
            gop = max(1, round(job.segment_s * job.fps))
            stream = out.container.add_stream("libx264", rate=job.fps, options={
                "preset": "veryfast", "tune": "zerolatency", "profile": "main",
                "level": "3.1", "forced-idr": "1", "threads": "1",
                "x264-params": f"scenecut=0:keyint={gop}:min-keyint={gop}"})
            stream.width, stream.height = rung.width, rung.height
            stream.pix_fmt = "yuv420p"
            stream.bit_rate = rung.bitrate
            stream.codec_context.time_base = Fraction(1, job.fps)
            out.stream = stream
            self.video.append(out)
        for channel in job.channels:
            out = Output(self.root / "audio" / channel, self.generation, job.segment_s)
            audio = out.container.add_stream("aac", rate=RATE, layout="mono")
            audio.bit_rate = job.audio_bitrate
            audio.metadata["language"] = "mul" if channel == "floor" else channel
            out.stream = audio
            self.audio.append(out)
        write_atomic(self.root / "master.m3u8", write_master(master_playlist(job)))

    # input

    def sdp(self) -> str:
        job = self.job
        video_pt, video_codec = (102, "H264") if job.video_codec.upper() == "H264" \
            else (96, "VP8")
        streams = [TapStream("video", video_codec, video_pt, 90000, job.video_port,
                             label="video")]
        streams += [TapStream("audio", "opus", 111, RATE, port, channels=2, label=channel)
                    for channel, port in zip(job.channels, job.audio_ports, strict=True)]
        return tap_sdp(streams, host=job.host)

    def open_input(self) -> Any:
        return av.open(BytesIO(self.sdp().encode()), format="sdp", options={
            "protocol_whitelist": "pipe,file,udp,rtp", "analyzeduration": "0",
            "probesize": "32", "reorder_queue_size": "0", "rtsp_flags": "rtcp_to_source",
            "buffer_size": "1048576"})

    def read(self, container: Any) -> None:
        """The reader thread: demux and decode; never blocks the output clock."""
        resamplers = [AudioResampler(format="flt", layout="mono", rate=RATE)
                      for _ in self.channels]
        try:
            while not self.stop_event.is_set():
                try:
                    self._demux(container, resamplers)
                except av.error.TimeoutError:
                    # FFmpeg's RTP reader gives up after 10 s without a packet on any tap
                    # (nobody speaks, no camera): the taps are still there, read on
                    self.read_timeouts += 1
                    continue
                break
        except Exception as exc:  # reported; the supervisor restarts the process
            self.reader_error = repr(exc)
            logger.exception("reader failed")
            self.stop_event.set()

    def _demux(self, container: Any, resamplers: list[AudioResampler]) -> None:
        for packet in container.demux():
            if self.stop_event.is_set():
                return
            if packet.size == 0:
                continue
            index = packet.stream.index
            try:
                frames = packet.decode()
            except av.error.FFmpegError:
                continue  # a lost packet; the next keyframe (or Opus frame) recovers
            for frame in frames:
                if index == 0:
                    self.picture.put(frame)
                else:
                    for out in resamplers[index - 1].resample(frame):
                        self.channels[index - 1].push(
                            out.to_ndarray().reshape(-1).astype(np.float32))

    # the output clock

    def run(self) -> int:
        container = self.open_input()
        self.open_outputs()
        reader = threading.Thread(target=self.read, args=(container,), daemon=True)
        reader.start()
        job = self.job
        emit("ready", generation=self.generation, pid=None)
        t0 = time.monotonic()
        tick = 0
        samples = 0
        gop = max(1, round(job.segment_s * job.fps))
        last_figures = t0
        while not self.stop_event.is_set():
            now = time.monotonic()
            due_tick = int((now - t0) * job.fps)
            while tick <= due_tick:
                camera = self.picture.get()
                for i, (out, rung) in enumerate(zip(self.video, job.rungs, strict=True)):
                    if camera is None:
                        frame = self.slate[i]
                    else:
                        frame = camera.reformat(width=rung.width, height=rung.height,
                                                format="yuv420p")
                    frame.pts = tick
                    frame.time_base = Fraction(1, job.fps)
                    frame.pict_type = PictureType.I if tick % gop == 0 else PictureType.NONE
                    out.mux(frame)
                tick += 1
            due_samples = int((now - t0) * RATE)
            while samples + AAC_FRAME <= due_samples:
                for buffer, out in zip(self.channels, self.audio, strict=True):
                    data = buffer.take(AAC_FRAME)
                    sound = av.AudioFrame.from_ndarray(data.reshape(1, -1), format="flt",
                                                       layout="mono")
                    sound.sample_rate = RATE
                    sound.pts = samples
                    sound.time_base = Fraction(1, RATE)
                    out.mux(sound)
                samples += AAC_FRAME
            for out in (*self.video, *self.audio):
                out.publisher.publish()
            if now - last_figures >= 5.0:
                last_figures = now
                self.figures()
            time.sleep(max(0.0, t0 + tick / job.fps - time.monotonic()))
        self.stop_event.set()
        for out in (*self.video, *self.audio):
            try:
                out.close()
            except Exception:
                logger.exception("closing %s failed", out.folder)
        for out in (*self.video, *self.audio):
            out.publisher.publish(ended=self.ended, force=True)
        self.figures()
        # the input stays open: the reader thread may be blocked in it, and the process ends
        emit("stopped", ended=self.ended, error=self.reader_error)
        return 1 if self.reader_error else 0

    def figures(self) -> None:
        emit("figures", generation=self.generation,
             pictures=self.picture.decoded, size=self.picture.size,
             segments=self.audio[0].publisher.segments if self.audio else 0,
             readTimeouts=self.read_timeouts,
             channels={c: {"received": b.received, "underruns": b.underruns,
                           "dropped": b.dropped}
                       for c, b in zip(self.job.channels, self.channels, strict=True)})


def _watch_stdin(webcast: Webcast) -> None:
    for line in sys.stdin:
        if line.strip() == "end":
            webcast.ended = True
            break
    webcast.stop_event.set()


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s webcast %(levelname)s %(message)s")
    if len(argv) != 2:
        print("usage: python -m webcast.process <job.json>", file=sys.stderr)
        return 2
    job = Job.from_json(Path(argv[1]).read_text(encoding="utf-8"))
    webcast = Webcast(job)
    signal.signal(signal.SIGTERM, lambda *_: webcast.stop_event.set())
    threading.Thread(target=_watch_stdin, args=(webcast,), daemon=True).start()
    return webcast.run()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
