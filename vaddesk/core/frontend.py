"""Streaming feature frontend: Kaldi fbank -> LFR(5, 1) -> CMVN, bit-exact to the reference.

The reference (funasr_onnx ``WavFrontend.fbank`` + ``lfr_cmvn``) runs kaldi-native-fbank (knf)
one frame at a time, which costs ~14 us per 10 ms frame from Python. This module computes the
same numbers with whole-block numpy operations, reproducing knf's arithmetic step by step so the
result is bitwise identical, not merely close:

- samples are scaled by 32768 (exact in float32) and cut into 400-sample frames, hop 160,
  snip-edges (a frame exists only when all its samples do);
- remove DC: knf sums the frame *sequentially* in float32 (``cumsum`` reproduces that order),
  divides by 400 and subtracts;
- pre-emphasis 0.97 in float32 (``d[i] -= 0.97f * d[i-1]``, ``d[0] -= 0.97f * d[0]``), then the
  Hamming window (computed in double, stored as float);
- zero-pad to 512 and a real FFT in double (knf uses Ooura's double rdft), rounded to float32;
  power ``re*re + im*im`` in float32;
- mel energies: each bin is a *sequential* float32 dot product over its nonzero weights, which
  we reproduce with one vectorised multiply-add per weight position (no BLAS: a BLAS dot would
  change the summation order with the block size);
- log(max(e, FLT_EPSILON)), computed in double and rounded (knf calls logf);
- LFR stacks frames t-2..t+2 (clamped at both ends: the start repeats frame 0, the end repeats
  the last frame); CMVN is ``(x + AddShift) * Rescale`` in float64 (the reference loads am.mvn
  as float64), rounded to float32.

Every step works row by row, so the features of a stream cut into chunks of any size are
bitwise identical to the features of the whole array. Memory is bounded: the frontend keeps
fewer than 400 pending samples and at most four fbank frames of context, and processes large
inputs in fixed blocks of ``_BLOCK_FRAMES`` frames.

``energy_db`` reproduces the reference's ``ComputeDecibel``: ``np.square(x).sum()`` over the
frame's 400 unscaled float32 samples (numpy's pairwise float32 sum), then
``10 * log10(sum + 1e-6)`` in float64.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final

import numpy as np

from vaddesk import paths
from vaddesk.core.model import verify_model_file

log = logging.getLogger(__name__)

FRAME_LENGTH: Final = 400  # samples, 25 ms
FRAME_SHIFT: Final = 160  # samples, 10 ms
FFT_SIZE: Final = 512  # FRAME_LENGTH rounded up to a power of two
NUM_MEL_BINS: Final = 80
LFR_M: Final = 5
LFR_CONTEXT: Final = (LFR_M - 1) // 2  # 2 frames each side
FEATURE_DIM: Final = NUM_MEL_BINS * LFR_M  # 400
CMVN_FILE: Final = "am.mvn"

_SAMPLE_RATE_HZ: Final = 16_000.0
_PREEMPH: Final = np.float32(0.97)
_WAVE_SCALE: Final = np.float32(32768.0)
_FLT_EPSILON: Final = float(np.finfo(np.float32).eps)
_BLOCK_FRAMES: Final = 1024  # frames per vectorised block: bounds temporaries (~10 MB)


@dataclass(frozen=True, slots=True)
class FrontendFrames:
    """Feature rows decided so far, aligned with their frame energies.

    Row ``i`` is global frame ``first_frame + i`` (10 ms hop, 25 ms window).
    """

    features: np.ndarray  # (n, 400) float32: fbank -> LFR -> CMVN
    energy_db: np.ndarray  # (n,) float64: 10*log10(sum(x^2) + 1e-6), unscaled waveform
    first_frame: int

    @property
    def num_frames(self) -> int:
        return int(self.features.shape[0])


def _empty(first_frame: int) -> FrontendFrames:
    return FrontendFrames(
        features=np.zeros((0, FEATURE_DIM), dtype=np.float32),
        energy_db=np.zeros(0, dtype=np.float64),
        first_frame=first_frame,
    )


# --- constant tables (built once, with knf's float32 arithmetic) ---------------------------


def _hamming_window() -> np.ndarray:
    # knf: a = 2*pi/(N-1) in double, w[i] = 0.54 - 0.46*cos(a*i) in double, stored as float.
    a = 2.0 * math.pi / (FRAME_LENGTH - 1)
    i = np.arange(FRAME_LENGTH, dtype=np.float64)
    return (0.54 - 0.46 * np.cos(a * i)).astype(np.float32)


def _mel_scale(freq: np.ndarray) -> np.ndarray:
    # knf: 1127.0f * logf(1.0f + freq / 700.0f), every step in float32.
    f32 = np.float32
    inner = (f32(1.0) + freq.astype(f32) / f32(700.0)).astype(f32)
    return (f32(1127.0) * np.log(inner.astype(np.float64)).astype(f32)).astype(f32)


def _mel_weights() -> tuple[np.ndarray, np.ndarray]:
    """Triangular mel weights as (K, 80) index and weight tables, knf's float32 arithmetic.

    Row k holds, for every mel bin, the FFT bin index and weight of that bin's k-th nonzero
    weight (bins shorter than K are padded with weight 0, which adds exactly nothing).
    """
    f32 = np.float32
    num_fft_bins = FFT_SIZE // 2
    fft_bin_width = f32(_SAMPLE_RATE_HZ) / f32(FFT_SIZE)
    low_freq = f32(20.0)
    high_freq = f32(0.5) * f32(_SAMPLE_RATE_HZ)  # high_freq = 0 -> nyquist
    mel_low = _mel_scale(np.array([low_freq]))[0]
    mel_high = _mel_scale(np.array([high_freq]))[0]
    mel_delta = f32((mel_high - mel_low) / f32(NUM_MEL_BINS + 1))
    mel = _mel_scale((fft_bin_width * np.arange(num_fft_bins, dtype=f32)).astype(f32))

    offsets: list[int] = []
    weights: list[np.ndarray] = []
    for b in range(NUM_MEL_BINS):
        left = f32(mel_low + f32(b) * mel_delta)
        center = f32(mel_low + f32(b + 1) * mel_delta)
        right = f32(mel_low + f32(b + 2) * mel_delta)
        inside = np.nonzero((mel > left) & (mel < right))[0]
        m = mel[inside]
        rising = ((m - left) / f32(center - left)).astype(f32)
        falling = ((right - m) / f32(right - center)).astype(f32)
        w = np.where(m <= center, rising, falling).astype(f32)
        offsets.append(int(inside[0]))
        weights.append(w)
    k_max = max(len(w) for w in weights)
    index = np.zeros((k_max, NUM_MEL_BINS), dtype=np.intp)
    table = np.zeros((k_max, NUM_MEL_BINS), dtype=np.float32)
    for b, (off, w) in enumerate(zip(offsets, weights, strict=True)):
        index[:, b] = off  # padding rows point at a valid bin; their weight is 0
        index[: len(w), b] = off + np.arange(len(w))
        table[: len(w), b] = w
    return index, table


def mel_weight_matrix() -> np.ndarray:
    """The (80, 257) mel weight matrix, for comparing with knf's ``MelBanks.get_matrix()``."""
    index, table = _TABLES.mel_index, _TABLES.mel_table
    out = np.zeros((NUM_MEL_BINS, FFT_SIZE // 2 + 1), dtype=np.float32)
    for k in range(index.shape[0]):
        out[np.arange(NUM_MEL_BINS), index[k]] += table[k]
    return out


@dataclass(frozen=True, slots=True)
class _Tables:
    window: np.ndarray
    mel_index: np.ndarray
    mel_table: np.ndarray


def _build_tables() -> _Tables:
    index, table = _mel_weights()
    return _Tables(window=_hamming_window(), mel_index=index, mel_table=table)


_TABLES: Final = _build_tables()


@lru_cache(maxsize=8)
def _load_cmvn_cached(path: str, mtime_ns: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    del mtime_ns, size  # cache key only: a changed file is read again
    shift: np.ndarray | None = None
    scale: np.ndarray | None = None
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines[:-1]):
        head = line.split()[:1]
        nxt = lines[i + 1].split()
        if not head or not nxt or nxt[0] != "<LearnRateCoef>":
            continue
        # "<LearnRateCoef> 0 [ v1 v2 ... ]": the values sit between the brackets.
        values = np.array([float(v) for v in nxt[3:-1]], dtype=np.float64)
        if head[0] == "<AddShift>":
            shift = values
        elif head[0] == "<Rescale>":
            scale = values
    if (
        shift is None
        or scale is None
        or shift.shape != (FEATURE_DIM,)
        or scale.shape != (FEATURE_DIM,)
    ):
        raise ValueError(
            f"{path}: not a usable CMVN file (need <AddShift> and <Rescale> with "
            f"{FEATURE_DIM} values each)"
        )
    shift.setflags(write=False)
    scale.setflags(write=False)
    return shift, scale


def load_cmvn(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(AddShift, Rescale) from a Kaldi nnet am.mvn file, as float64 like the reference."""
    st = path.stat()
    return _load_cmvn_cached(str(path), st.st_mtime_ns, st.st_size)


# --- the block computations ----------------------------------------------------------------


def _frames_view(samples: np.ndarray, num_frames: int) -> np.ndarray:
    """(num_frames, 400) read-only view of overlapping frames, hop 160."""
    return np.lib.stride_tricks.as_strided(
        samples,
        shape=(num_frames, FRAME_LENGTH),
        strides=(FRAME_SHIFT * samples.strides[0], samples.strides[0]),
        writeable=False,
    )


def _log_fbank(frames: np.ndarray) -> np.ndarray:
    """(n, 400) unscaled float32 frames -> (n, 80) float32 log-mel energies, as knf computes."""
    f32 = np.float32
    x = frames * _WAVE_SCALE  # exact: a power of two
    # Remove DC with knf's sequential float32 sum (cumsum keeps left-to-right order).
    mean = np.cumsum(x, axis=1, dtype=f32)[:, -1] / f32(FRAME_LENGTH)
    x -= mean[:, None]
    # Pre-emphasis, knf order: d[i] -= c*d[i-1] using the not-yet-updated d[i-1].
    y = np.empty_like(x)
    y[:, 1:] = x[:, 1:] - _PREEMPH * x[:, :-1]
    y[:, 0] = x[:, 0] - _PREEMPH * x[:, 0]
    y *= _TABLES.window
    spec = np.fft.rfft(y.astype(np.float64), n=FFT_SIZE, axis=1)
    re = spec.real.astype(f32)
    im = spec.imag.astype(f32)
    power_t = np.ascontiguousarray((re * re + im * im).T)  # (257, n): row gathers are cheap
    index, table = _TABLES.mel_index, _TABLES.mel_table
    acc = np.zeros((NUM_MEL_BINS, frames.shape[0]), dtype=f32)
    for k in range(index.shape[0]):
        acc += table[k][:, None] * power_t[index[k]]
    np.maximum(acc, f32(_FLT_EPSILON), out=acc)
    return np.log(acc.T.astype(np.float64)).astype(f32)


def _energy_db(frames: np.ndarray) -> np.ndarray:
    """(n, 400) unscaled float32 frames -> (n,) float64 decibels, as the reference computes."""
    # Per-row float32 pairwise sum (same as the reference's 1-D ``np.square(x).sum()``), then
    # float64 for ``+ 1e-6`` and log10 (numpy 1.26 promotes the scalar sum to float64 there).
    power = np.square(frames).sum(axis=1, dtype=np.float32).astype(np.float64)
    return 10.0 * np.log10(power + 1e-6)


class StreamingFrontend:
    """Features for a 16 kHz stream fed in chunks of any length.

    ``accept`` returns the rows that are final so far (each feature row needs the fbank
    frames two ahead, so rows trail the input by 2 frames + up to 400 pending samples);
    ``finish`` returns the rest, repeating the last fbank frame as the reference does.
    """

    def __init__(self, cmvn_path: Path | None = None) -> None:
        if cmvn_path is None:
            # The shipped file is checked against models/manifest.json (a custom path is not).
            cmvn_path = paths.model_file(CMVN_FILE)
            verify_model_file(cmvn_path)
        self._cmvn_shift, self._cmvn_scale = load_cmvn(cmvn_path)
        self._pending = np.zeros(0, dtype=np.float32)  # samples from the next frame's start
        self._fbank_done = 0  # fbank frames computed
        self._emitted = 0  # feature rows returned
        # Fbank rows from global index (emitted - 2) [clamped at 0] to fbank_done - 1, and the
        # energies of frames emitted .. fbank_done - 1. Never more than a few rows.
        self._fbank_tail = np.zeros((0, NUM_MEL_BINS), dtype=np.float32)
        self._energy_tail = np.zeros(0, dtype=np.float64)

    @property
    def frames_emitted(self) -> int:
        return self._emitted

    def reset(self) -> None:
        self._pending = np.zeros(0, dtype=np.float32)
        self._fbank_done = 0
        self._emitted = 0
        self._fbank_tail = np.zeros((0, NUM_MEL_BINS), dtype=np.float32)
        self._energy_tail = np.zeros(0, dtype=np.float64)

    def accept(self, samples: np.ndarray) -> FrontendFrames:
        samples = _as_mono_float32(samples)
        first = self._emitted
        parts: list[FrontendFrames] = []
        # Bounded work per step: at most _BLOCK_FRAMES frames' worth of samples at a time.
        step = _BLOCK_FRAMES * FRAME_SHIFT
        for start in range(0, samples.shape[0], step):
            out = self._accept_block(samples[start : start + step])
            if out.num_frames:
                parts.append(out)
        return _concat(parts, first)

    def finish(self) -> FrontendFrames:
        """End of stream: the remaining rows (the last fbank frame repeated as right context)."""
        first = self._emitted
        if self._fbank_done == 0:
            return _empty(first)
        last = self._fbank_tail[-1:]
        right = np.repeat(last, LFR_CONTEXT, axis=0)
        out = self._emit(np.concatenate([self._fbank_tail, right]), final=True)
        self._pending = np.zeros(0, dtype=np.float32)
        return out if out.num_frames else _empty(first)

    # -- internals --

    def _accept_block(self, samples: np.ndarray) -> FrontendFrames:
        buf = np.concatenate([self._pending, samples]) if self._pending.size else samples
        n_new = (
            0 if buf.shape[0] < FRAME_LENGTH else 1 + (buf.shape[0] - FRAME_LENGTH) // FRAME_SHIFT
        )
        if n_new == 0:
            self._pending = np.array(buf, dtype=np.float32, copy=True)
            return _empty(self._emitted)
        frames = _frames_view(np.ascontiguousarray(buf), n_new)
        fbank = _log_fbank(frames)
        energy = _energy_db(frames)
        self._pending = np.array(buf[n_new * FRAME_SHIFT :], dtype=np.float32, copy=True)
        self._fbank_done += n_new
        self._energy_tail = np.concatenate([self._energy_tail, energy])
        self._fbank_tail = np.concatenate([self._fbank_tail, fbank])
        return self._emit(self._fbank_tail, final=False)

    def _emit(self, rows: np.ndarray, *, final: bool) -> FrontendFrames:
        """Stack and normalise every row whose 5-frame context is in ``rows``.

        ``rows`` starts at global fbank index max(0, emitted - 2); at the stream start the
        left context is frame 0 repeated.
        """
        first = self._emitted
        left_missing = LFR_CONTEXT - min(first, LFR_CONTEXT)
        if left_missing:
            rows = np.concatenate([np.repeat(rows[:1], left_missing, axis=0), rows])
        count = rows.shape[0] - (LFR_M - 1)
        if count <= 0:
            return _empty(first)
        stacked = np.concatenate([rows[k : k + count] for k in range(LFR_M)], axis=1)
        features = ((stacked + self._cmvn_shift) * self._cmvn_scale).astype(np.float32)
        energy = self._energy_tail[:count]
        self._energy_tail = self._energy_tail[count:].copy()
        self._emitted += count
        if not final:
            # Keep the context the next rows need: fbank frames from (emitted - 2).
            keep_from = self._emitted - LFR_CONTEXT  # global index
            tail_start = self._fbank_done - self._fbank_tail.shape[0]
            self._fbank_tail = self._fbank_tail[max(0, keep_from - tail_start) :].copy()
        else:
            self._fbank_tail = np.zeros((0, NUM_MEL_BINS), dtype=np.float32)
        return FrontendFrames(features=features, energy_db=energy, first_frame=first)


def _as_mono_float32(samples: np.ndarray) -> np.ndarray:
    arr = np.asarray(samples)
    if arr.ndim != 1:
        raise ValueError(f"expected a 1-D mono waveform, got shape {arr.shape}")
    if arr.dtype != np.float32:
        if not np.issubdtype(arr.dtype, np.floating):
            raise ValueError(f"expected float32 samples in [-1, 1], got dtype {arr.dtype}")
        arr = arr.astype(np.float32)
    return arr


def _concat(parts: list[FrontendFrames], first: int) -> FrontendFrames:
    if not parts:
        return _empty(first)
    if len(parts) == 1:
        return parts[0]
    return FrontendFrames(
        features=np.concatenate([p.features for p in parts]),
        energy_db=np.concatenate([p.energy_db for p in parts]),
        first_frame=first,
    )


def compute_features(samples: np.ndarray, cmvn_path: Path | None = None) -> FrontendFrames:
    """Features of a whole waveform at once (same rows as streaming it in any chunks)."""
    frontend = StreamingFrontend(cmvn_path)
    head = frontend.accept(samples)
    tail = frontend.finish()
    return _concat([p for p in (head, tail) if p.num_frames], 0)
