"""Tone WAV files for Chromium's fake microphone (`--use-file-for-fake-audio-capture`)."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

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
