"""Tone WAV files for Chromium's fake microphone (`--use-file-for-fake-audio-capture`), and
telling a tone when it arrives (`near`, `peer_hears`)."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path
from typing import Any

import numpy as np

from tests.peers import TestPeer, dominant_frequency

SAMPLE_RATE = 48_000


def write_tone_wav(
    path: Path, frequency: float, *, seconds: float = 10.0, amplitude: float = 0.5
) -> Path:
    """Write a sine tone as a 48 kHz, 16-bit mono WAV and return its path.

    The length is rounded to a whole number of periods so that Chromium, which loops the file,
    plays a continuous tone without a click at the seam.
    """
    periods = max(1, round(frequency * seconds))
    n = round(periods * SAMPLE_RATE / frequency)
    t = np.arange(n) / SAMPLE_RATE
    samples = (amplitude * 32767 * np.sin(2 * np.pi * frequency * t)).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(samples.tobytes())
    return path


def write_camera_y4m(
    path: Path, *, width: int = 640, height: int = 360, fps: int = 30, seconds: float = 4.0
) -> Path:
    """Write a Y4M video for Chromium's fake camera (`--use-file-for-fake-video-capture`)
    that costs an encoder what a real camera does: a textured picture panning steadily
    (predictable, as a camera's scene is) with fresh grain in every frame (as a sensor's
    noise). Chromium's built-in fake camera, a flat frame with a moving dot, compresses to a
    fraction of a real camera's bitrate, so a 640x360 layer never needs its 600 kbit/s."""
    rng = np.random.default_rng(11)
    small = rng.integers(16, 236, (height // 4, 2 * width // 4), dtype=np.uint8)
    texture = np.repeat(np.repeat(small, 4, axis=0), 4, axis=1)
    chroma = np.full((height // 2) * (width // 2), 128, np.uint8).tobytes()
    frames = max(1, round(fps * seconds))
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for n in range(frames):
            shift = (n * 3) % width
            luma = np.ascontiguousarray(texture[:, shift:shift + width])
            grain = rng.integers(0, 2, luma.shape, dtype=np.uint8) * 6
            luma = np.clip(luma.astype(np.int16) + grain, 0, 255).astype(np.uint8)
            out.write(b"FRAME\n")
            out.write(luma.tobytes())
            out.write(chroma)
            out.write(chroma)
    return path


def near(frequency: Any, target: float, tolerance: float = 25.0) -> bool:
    """Whether a measured frequency (a number, or whatever a page reported) is ``target``."""
    return isinstance(frequency, int | float) and abs(frequency - target) <= tolerance


async def peer_hears(peer: TestPeer, participant_id: str, target: float) -> bool:
    """Whether an aiortc peer's seat for ``participant_id`` carries the ``target`` tone now
    (half a second of decoded audio; False while it has no such seat, or the seat carries
    nothing: a seat without packets delivers no frame at all)."""
    mid = peer.slot_of(participant_id, "audio")
    if mid is None or mid not in peer.tracks:
        return False
    try:
        return near(await asyncio.wait_for(dominant_frequency(peer.tracks[mid], seconds=0.5),
                                           3.0), target)
    except TimeoutError:
        return False
