"""Calibration audio for the INT8 model: espeak-ng speech over noise, fully deterministic.

Speech comes from espeak-ng (several languages, voices and rates; the model was trained on
Mandarin, the users speak many languages), with pauses between sentences, mixed over white,
pink or hum noise at 30..0 dB SNR and at several levels. Every random choice comes from a
seeded ``numpy.random.default_rng``, and espeak-ng's output is deterministic for a given
version, so the same espeak-ng gives the same calibration set.

The sentences are Harvard lists 3-4 (IEEE 1969), not the list 1 sentences the test corpus
uses, so the fidelity tests do not run on calibration speech.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import soundfile as sf
import soxr

SAMPLE_RATE: Final = 16_000

SENTENCES: Final = (
    ("en-us", "The small pup gnawed a hole in the sock. The fish twisted and turned."),
    (
        "en-gb",
        "Press the pants and sew a button on the vest. The swan dive was far short of perfect.",
    ),
    ("en-us+f3", "The beauty of the view stunned the young boy. Two blue fish swam in the tank."),
    ("en-gb-scotland", "Her purse was full of useless trash. The colt reared and threw the rider."),
    (
        "en-us+m3",
        "It snowed, rained and hailed the same morning. Read verse out loud for pleasure.",
    ),
    ("de", "Der Zug kommt heute etwas später an. Wir treffen uns morgen früh im Büro."),
    ("fr", "La réunion commence à dix heures précises. Nous avons terminé le projet hier soir."),
    ("cmn", "今天下午三点开会，请大家准时参加。这个项目的进度需要再讨论一下。"),
    ("es", "El informe está casi terminado. Mañana lo enviamos al cliente."),
    ("en-us+f2", "Hoist the load to your left shoulder. Take the winding path to reach the lake."),
)
RATES_WPM: Final = (140, 175, 210)
PAUSES_S: Final = (0.15, 0.4, 0.9, 2.0)
SNRS_DB: Final = (30.0, 15.0, 5.0, 0.0)
LEVELS: Final = (1.0, 0.3, 0.05)


@dataclass(frozen=True, slots=True)
class CalibrationClip:
    name: str
    samples: np.ndarray  # float32, 16 kHz mono


def _speak(voice: str, text: str, rate_wpm: int, workdir: Path) -> np.ndarray:
    wav = workdir / "tts.wav"
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(rate_wpm), "-w", str(wav), text],
        check=True,
        capture_output=True,
    )
    audio, sr = sf.read(wav, dtype="float32", always_2d=False)
    return np.asarray(soxr.resample(audio, sr, SAMPLE_RATE), dtype=np.float32)


def _noise(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "white":
        return rng.standard_normal(n)
    if kind == "pink":
        spectrum = np.fft.rfft(rng.standard_normal(n))
        freqs = np.arange(spectrum.shape[0], dtype=np.float64)
        freqs[0] = 1.0
        return np.fft.irfft(spectrum / np.sqrt(freqs), n)
    t = np.arange(n) / SAMPLE_RATE  # hum: 50 Hz and harmonics
    phases = rng.uniform(0, 2 * np.pi, 4)
    return sum(np.sin(2 * np.pi * 50 * (k + 1) * t + phases[k]) / (k + 1) for k in range(4))


def calibration_clips(seed: int = 2024, variant: int = 0) -> list[CalibrationClip]:
    """About 2 minutes of speech-over-noise clips, the same for the same seed and variant.

    ``variant`` != 0 pairs the sentences with other rates, pauses, noises, SNRs and levels
    (and the sentences in reverse order): a held-out set for checking the INT8 model.
    """
    rng = np.random.default_rng(seed)
    clips: list[CalibrationClip] = []
    sentences = SENTENCES if variant % 2 == 0 else tuple(reversed(SENTENCES))
    with tempfile.TemporaryDirectory(prefix="vaddesk-calib-") as tmp:
        workdir = Path(tmp)
        for j, (voice, text) in enumerate(sentences):
            i = j + variant
            rate = RATES_WPM[i % len(RATES_WPM)]
            speech = _speak(voice, text, rate, workdir)
            pause = np.zeros(int(PAUSES_S[i % len(PAUSES_S)] * SAMPLE_RATE), dtype=np.float32)
            lead = np.zeros(int(rng.uniform(0.2, 1.0) * SAMPLE_RATE), dtype=np.float32)
            clean = np.concatenate([lead, speech, pause, speech, pause])
            noise_kind = ("white", "pink", "hum")[i % 3]
            noise = _noise(noise_kind, clean.shape[0], rng)
            snr_db = SNRS_DB[i % len(SNRS_DB)]
            speech_power = float(np.mean(speech.astype(np.float64) ** 2))
            noise *= np.sqrt(speech_power / np.mean(noise**2) / 10 ** (snr_db / 10))
            mixed = clean + noise
            level = LEVELS[i % len(LEVELS)]
            mixed *= level / max(float(np.max(np.abs(mixed))), 1e-9)
            name = f"{i:02d}-{voice}-{rate}wpm-{noise_kind}-{snr_db:g}dB-x{level:g}"
            clips.append(CalibrationClip(name=name, samples=mixed.astype(np.float32)))
    return clips
