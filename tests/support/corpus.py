"""The test corpus: deterministic recordings built from espeak-ng speech over synthetic noise.

Every fidelity test and benchmark runs on these files, so they are generated, never committed:
espeak-ng speech (several voices and rates, English sentences) with pauses from 0.1 s to 5 s,
mixed over white / pink / 50 Hz hum / music-like noise at 20, 10, 5 and 0 dB SNR, at quiet
(-35 dBFS) and loud (clipped) levels, plus digital silence, noise only, music only and one file of
near-continuous speech longer than 60 s (the reference's `max_single_segment_time` hard cut).

The files (16 kHz mono float32 WAV) are cached in ``tests/.corpus/<key>/`` where the key hashes
the generator version, the specs below and the espeak-ng version (its output is deterministic for
a given version), so a repeated run reuses them and a change to any of those regenerates them.

Use from tests through the session fixture ``corpus`` (tests/conftest.py), from anything else::

    from tests.support.corpus import ensure_corpus, build_long_file, read_wav
    paths = ensure_corpus()                       # list[Path], ~10 min of audio in total
    long_wav = build_long_file(30 * 60)           # >= 30 min, concatenated corpus files
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final, Literal

import numpy as np
import soundfile as sf
import soxr

GENERATOR_VERSION: Final = 1
"""Bump when the generator changes its output; the cache key changes with it."""

SAMPLE_RATE: Final = 16_000
CORPUS_ROOT: Final = Path(__file__).resolve().parents[1] / ".corpus"

Noise = Literal["none", "white", "pink", "hum", "music"]
Level = Literal["normal", "quiet", "loud"]

# Harvard sentences (IEEE 1969 recommended practice for speech quality measurements).
SENTENCES: Final = (
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It's easy to tell the depth of a well.",
    "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.",
    "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.",
    "The hogs were fed chopped corn and garbage.",
    "Four hours of steady work faced us.",
    "A large size in stockings is hard to sell.",
    "The boy was there when the sun rose.",
    "A rod is used to catch pink salmon.",
    "The source of the huge river is the clear spring.",
    "Kick the ball straight and follow through.",
    "Help the woman get back to her feet.",
    "A pot of tea helps to pass the evening.",
    "Smoky fires lack flame and heat.",
    "The soft cushion broke the man's fall.",
    "The salt breeze came across from the sea.",
    "The girl at the booth sold fifty bonds.",
)

VOICES: Final = ("en-us", "en-gb", "en-us+f3", "en-gb-x-rp+m3", "en-gb-scotland", "en-us+f2")
RATES_WPM: Final = (130, 150, 175, 200)
PAUSES_S: Final = (0.1, 0.2, 0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 3.0, 5.0)


@dataclass(frozen=True, slots=True)
class RecordingSpec:
    """How one corpus file is made; the seed fixes sentence/voice choice and the noise."""

    name: str
    seed: int
    utterances: int = 6
    pauses_s: tuple[float, ...] = PAUSES_S
    noise: Noise = "none"
    snr_db: float | None = None
    level: Level = "normal"
    lead_s: float = 0.5
    tail_s: float = 1.0
    duration_s: float | None = None  # speech-free files: fixed length
    continuous_s: float | None = None  # near-continuous speech at least this long


def _specs() -> tuple[RecordingSpec, ...]:
    specs = [
        RecordingSpec("clean_short_pauses", 1, utterances=7, pauses_s=(0.1, 0.2, 0.3, 0.4, 0.5)),
        RecordingSpec("clean_long_pauses", 2, utterances=6,
                      pauses_s=(0.8, 1.0, 1.5, 2.0, 3.0, 5.0)),
    ]
    seed = 10
    for noise in ("white", "pink", "hum", "music"):
        for snr in (20.0, 10.0, 5.0, 0.0):
            specs.append(RecordingSpec(f"{noise}_{int(snr)}db", seed, noise=noise, snr_db=snr))
            seed += 1
    specs += [
        RecordingSpec("quiet_clean", 40, level="quiet"),
        RecordingSpec("quiet_pink_10db", 41, noise="pink", snr_db=10.0, level="quiet"),
        RecordingSpec("loud_clipped", 42, level="loud"),
        RecordingSpec("loud_white_10db", 43, noise="white", snr_db=10.0, level="loud"),
        RecordingSpec("digital_silence", 50, utterances=0, duration_s=8.0),
        RecordingSpec("noise_only_pink_hum", 51, utterances=0, noise="pink", duration_s=8.0),
        RecordingSpec("music_only", 52, utterances=0, noise="music", duration_s=8.0),
        RecordingSpec("long_continuous", 60, noise="white", snr_db=20.0,
                      pauses_s=(0.1, 0.15, 0.2, 0.25), continuous_s=75.0),
    ]
    return tuple(specs)


SPECS: Final = _specs()


# --- building blocks -------------------------------------------------------------------------

def espeak_version() -> str:
    out = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def _speak(text: str, voice: str, rate_wpm: int, workdir: Path) -> np.ndarray:
    """espeak-ng speech resampled to 16 kHz, its leading/trailing silence trimmed."""
    wav = workdir / "utt.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate_wpm), "-w", str(wav), text],
                   check=True, capture_output=True)
    audio, rate = sf.read(wav, dtype="float64")
    audio = soxr.resample(audio, rate, SAMPLE_RATE, quality="HQ")
    loud = np.flatnonzero(np.abs(audio) > 1e-3)
    # Trim so the pauses between utterances are exactly the ones the spec asks for.
    return np.asarray(audio[loud[0]:loud[-1] + 1] if loud.size else audio[:0], dtype=np.float64)


def _white(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.standard_normal(n)


def _pink(rng: np.random.Generator, n: int) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.arange(spectrum.size, dtype=np.float64)
    freqs[0] = 1.0
    pink = np.fft.irfft(spectrum / np.sqrt(freqs), n)
    return pink / np.sqrt(np.mean(pink**2))


def _hum(rng: np.random.Generator, n: int) -> np.ndarray:
    """Mains hum: 50 Hz and its first 9 harmonics (1/k amplitudes, random phases)."""
    t = np.arange(n) / SAMPLE_RATE
    phases = rng.uniform(0, 2 * np.pi, 10)
    return sum((np.sin(2 * np.pi * 50 * k * t + phases[k - 1]) / k for k in range(1, 11)),
               np.zeros(n))


def _music(rng: np.random.Generator, n: int) -> np.ndarray:
    """Tonal, chord-based background: triads of harmonic tones with plucked envelopes."""
    scale = 220.0 * 2 ** (np.array([0, 2, 3, 5, 7, 8, 10, 12, 14, 15]) / 12)  # A minor
    out = np.zeros(n)
    pos = 0
    while pos < n:
        length = int(rng.uniform(0.4, 1.2) * SAMPLE_RATE)
        t = np.arange(min(length, n - pos)) / SAMPLE_RATE
        envelope = np.minimum(t / 0.02, 1.0) * np.exp(-t * rng.uniform(1.0, 4.0))
        root = int(rng.integers(0, 5))
        notes = [scale[root], scale[root + 2], scale[root + 4], scale[root] / 2]
        chord = np.zeros(t.size)
        for f0 in notes:
            for h in range(1, 5):
                chord += np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 2 * np.pi)) / h
        out[pos:pos + t.size] = chord * envelope
        pos += length
    return out


_NOISE = {"white": _white, "pink": _pink, "hum": _hum, "music": _music}


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x**2))) if x.size else 0.0


def _db_to_amp(db: float) -> float:
    return float(10 ** (db / 20))


def synthesize(spec: RecordingSpec, workdir: Path) -> np.ndarray:
    """One corpus recording as float32 samples in [-1, 1]."""
    rng = np.random.default_rng(spec.seed)
    pieces: list[np.ndarray] = [np.zeros(int(spec.lead_s * SAMPLE_RATE))]
    speech_parts: list[np.ndarray] = []
    if spec.utterances or spec.continuous_s:
        total = 0.0
        i = 0
        while (i < spec.utterances) if spec.continuous_s is None else (total < spec.continuous_s):
            if i:
                pause = float(rng.choice(spec.pauses_s))
                pieces.append(np.zeros(int(pause * SAMPLE_RATE)))
                total += pause
            text = SENTENCES[int(rng.integers(len(SENTENCES)))]
            utt = _speak(text, VOICES[int(rng.integers(len(VOICES)))],
                         RATES_WPM[int(rng.integers(len(RATES_WPM)))], workdir)
            pieces.append(utt)
            speech_parts.append(utt)
            total += utt.size / SAMPLE_RATE
            i += 1
        pieces.append(np.zeros(int(spec.tail_s * SAMPLE_RATE)))
    else:
        pieces.append(np.zeros(int((spec.duration_s or 0.0) * SAMPLE_RATE)))
    speech = np.concatenate(pieces)

    # Level: speech RMS over its active parts at -20 dBFS (normal) or -35 dBFS (quiet).
    active_rms = _rms(np.concatenate(speech_parts)) if speech_parts else 0.0
    target_db = -35.0 if spec.level == "quiet" else -20.0
    if active_rms > 0:
        speech *= _db_to_amp(target_db) / active_rms

    mix = speech
    if spec.noise != "none":
        noise = _NOISE[spec.noise](rng, speech.size)
        if spec.utterances == 0 and spec.noise == "pink":
            noise = noise + 0.3 * _hum(rng, speech.size)  # the "noise only" file: fan + hum
        noise_rms = _rms(noise)
        # Speech-free files get a plausible room level of -30 dBFS.
        has_snr = spec.snr_db is not None and active_rms > 0
        noise_db = target_db - (spec.snr_db or 0.0) if has_snr else -30.0
        mix = speech + noise * (_db_to_amp(noise_db) / noise_rms)

    if spec.level == "loud":
        # Near full scale with light clipping: the 99.9th percentile of |x| lands on 1.0.
        mix = mix / np.quantile(np.abs(mix), 0.999)
        mix = np.clip(mix, -1.0, 1.0)
    else:
        # Speech from espeak-ng is peaky: keep normal files unclipped (the SNR is unchanged).
        peak = float(np.max(np.abs(mix), initial=0.0))
        if peak > 0.9:
            mix = mix * (0.9 / peak)
    return mix.astype(np.float32)


# --- the cached corpus -----------------------------------------------------------------------

def corpus_key() -> str:
    blob = json.dumps({"generator": GENERATOR_VERSION, "espeak": espeak_version(),
                       "specs": [asdict(s) for s in SPECS], "sentences": SENTENCES},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def corpus_dir() -> Path:
    return CORPUS_ROOT / corpus_key()


def _write_wav(path: Path, samples: np.ndarray, subtype: str = "FLOAT") -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    sf.write(tmp, samples, SAMPLE_RATE, subtype=subtype, format="WAV")
    os.replace(tmp, path)


def ensure_corpus() -> list[Path]:
    """Generate the corpus if it is not cached yet; return its WAV paths in spec order."""
    final = corpus_dir()
    if not (final / "manifest.json").is_file():
        CORPUS_ROOT.mkdir(parents=True, exist_ok=True)
        # Build in a private folder and rename it into place, so two processes generating at
        # once (tests and a benchmark) never see a half-written corpus.
        staging = Path(tempfile.mkdtemp(prefix=f"{final.name}.", dir=CORPUS_ROOT))
        try:
            manifest = {}
            with tempfile.TemporaryDirectory() as work:
                for spec in SPECS:
                    samples = synthesize(spec, Path(work))
                    _write_wav(staging / f"{spec.name}.wav", samples)
                    manifest[spec.name] = {"samples": int(samples.size), **asdict(spec)}
            (staging / "manifest.json").write_text(json.dumps(manifest, indent=1))
            try:
                staging.rename(final)
            except OSError:
                if not (final / "manifest.json").is_file():
                    raise
        finally:
            if staging.exists():
                shutil.rmtree(staging)
    return [final / f"{spec.name}.wav" for spec in SPECS]


def read_wav(path: Path) -> np.ndarray:
    """A corpus WAV as float32 16 kHz mono."""
    samples, rate = sf.read(path, dtype="float32")
    if rate != SAMPLE_RATE or samples.ndim != 1:
        raise ValueError(f"{path}: expected 16 kHz mono, got {rate} Hz, shape {samples.shape}")
    return np.asarray(samples, dtype=np.float32)


def concatenate(paths: Sequence[Path], min_duration_s: float) -> np.ndarray:
    """Corpus files one after another, repeated until at least `min_duration_s` long."""
    clips = [read_wav(p) for p in paths]
    need = int(min_duration_s * SAMPLE_RATE)
    out = np.empty(need + max(c.size for c in clips), dtype=np.float32)
    pos = 0
    i = 0
    while pos < need:
        clip = clips[i % len(clips)]
        out[pos:pos + clip.size] = clip
        pos += clip.size
        i += 1
    return out[:pos]


def build_long_file(min_duration_s: float, *, subtype: str = "PCM_16") -> Path:
    """A WAV of at least `min_duration_s`, the corpus concatenated (cached beside the corpus).

    16-bit PCM by default: what real long recordings are, and half the size on disk.
    """
    paths = ensure_corpus()
    out = corpus_dir() / f"long_{int(min_duration_s)}s_{subtype.lower()}.wav"
    if not out.is_file():
        _write_wav(out, concatenate(paths, min_duration_s), subtype=subtype)
    return out


if __name__ == "__main__":
    for p in ensure_corpus():
        info = sf.info(p)
        print(f"{p.name:28s} {info.duration:7.2f} s")
