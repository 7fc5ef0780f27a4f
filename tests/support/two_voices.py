"""Two sides of a call as separate mono 16 kHz recordings (espeak-ng), and the stereo file
that holds them as channel 0 and channel 1.

Side A ("near") and side B ("far") take turns, with one stretch where B starts before A has
finished (crosstalk), so per-channel segments overlap in time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import numpy as np
import soundfile as sf
import soxr

from tests.support.audio_fixtures import _speak

RATE: Final = 16_000
# (start_s, text) per side; B's second line starts while A's second line is still going.
SIDE_A: Final = ((0.5, "Hello, thanks for calling, how can I help you today?"),
                 (7.0, "I see, let me check your account for a moment please."))
SIDE_B: Final = ((3.6, "Hi, my last invoice looks wrong."),
                 (8.2, "It was charged twice in March."))


def _side(folder: Path, lines: tuple[tuple[float, str], ...], voice: str, total_s: float,
          seed: int) -> np.ndarray:
    out = np.zeros(int(total_s * RATE), np.float32)
    for i, (start_s, text) in enumerate(lines):
        speech48 = _speak(text, folder / f"_{voice}_{i}.wav", voice)


        speech = soxr.resample(speech48, 48_000, RATE, quality="HQ").astype(np.float32)
        speech *= 0.5 / max(1e-9, float(np.abs(speech).max()))
        begin = int(start_s * RATE)
        out[begin:begin + speech.size] += speech[: out.size - begin]
    rng = np.random.default_rng(seed)
    out += rng.normal(0, 10 ** (-60 / 20), out.shape).astype(np.float32)
    return out


def make_two_sides(folder: Path, total_s: float = 12.0) -> tuple[Path, Path, Path]:
    """(side_a.wav, side_b.wav, call_stereo.wav), 16-bit PCM at 16 kHz."""
    folder.mkdir(parents=True, exist_ok=True)
    a_path, b_path, st_path = (folder / "side_a.wav", folder / "side_b.wav",
                               folder / "call_stereo.wav")
    if not st_path.exists():
        a = _side(folder, SIDE_A, "en-us", total_s, 1)
        b = _side(folder, SIDE_B, "en-gb", total_s, 2)
        sf.write(a_path, a, RATE, subtype="PCM_16")
        sf.write(b_path, b, RATE, subtype="PCM_16")
        # The stereo file holds exactly the samples of the two mono files.
        a16, _ = sf.read(a_path, dtype="int16")
        b16, _ = sf.read(b_path, dtype="int16")
        sf.write(st_path, np.stack([a16, b16], axis=1), RATE, subtype="PCM_16")
    return a_path, b_path, st_path
