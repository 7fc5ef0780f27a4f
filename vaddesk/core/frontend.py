"""Streaming feature frontend: Kaldi fbank -> LFR(5, 1) -> CMVN, as the reference computes it.

The reference (funasr_onnx ``WavFrontend.fbank`` + ``lfr_cmvn``) runs kaldi-native-fbank (knf)
one frame at a time, which costs ~14 us per 10 ms frame from Python. This module computes the
same features with whole-block numpy operations, reproducing knf 1.23's float32 arithmetic
operation by operation:

- samples are scaled by 32768 (exact in float32) and cut into 400-sample frames, hop 160,
  snip-edges (a frame exists only when all its samples do);
- remove DC: knf sums the frame *sequentially* in float32; we keep that order, divide by 400
  and subtract;
- pre-emphasis 0.97 in float32 (``d[i] -= 0.97f * d[i-1]``, ``d[0] -= 0.97f * d[0]``), then the
  Hamming window (computed in double, stored as float);
- FFT: knf uses KissFFT's real FFT in float32, compiled with ``-ffast-math`` (the compiler
  regrouped some sums); ``_kiss_power`` replays those operations in the same order, as read
  from knf's machine code; power ``re*re + im*im`` in float32;
- mel energies: each bin is a *sequential* float32 dot product over its nonzero weights (one
  vectorised multiply-add per weight position; no BLAS, whose summation order would depend
  on the block size); the weight table is bit-identical to knf's (same libm ``logf``);
- log(max(e, FLT_EPSILON)), computed in double and rounded; knf calls glibc's ``logf``, which
  is not correctly rounded, so ~4 values in 10 000 differ by one float32 ulp (~2e-6);
- LFR stacks frames t-2..t+2 (clamped at both ends: the start repeats frame 0, the end repeats
  the last frame); CMVN is ``(x + AddShift) * Rescale`` in float64 (the reference loads am.mvn
  as float64), rounded to float32.

Result: the features equal the reference's bit for bit except those rare log ulps (max abs
difference ~3e-7). ``fbank="fast"`` swaps the FFT for numpy's double-precision one (cheaper
per call for small streaming blocks, features within ~5e-5); ``fbank="knf"`` runs knf itself
(dev dependency). tests/core/test_frontend.py checks each step against knf's own pieces.

The compiled path: ``vaddesk/core/_fbank.c`` performs the same float32 operations in the same
order (four frames at a time, one per SIMD lane), and calls glibc's ``logf`` as knf does, so
its features equal knf's bit for bit, log included (~1.1 us per frame instead of ~6-13; ~12 us
per 100 ms streaming block instead of ~200-300). It is built when vaddesk is installed
(hatch_build.py). ``fbank="exact"`` (the default) uses it when it is importable and otherwise
falls back, with a logged warning, to the numpy replay (``fbank="numpy"`` forces the replay).

Every step works frame by frame, so the features of a stream cut into chunks of any size are
bitwise identical to the features of the whole array. Memory is bounded: the frontend keeps
fewer than 400 pending samples and at most four fbank frames of context, and processes large
inputs in blocks of ``_BLOCK_FRAMES`` frames.

``energy_db`` reproduces the reference's ``ComputeDecibel`` exactly: ``np.square(x).sum()``
over the frame's 400 unscaled float32 samples (numpy's pairwise float32 sum), then
``10 * math.log10(sum + 1e-6)`` in float64 (numpy 1.26 promotes the scalar there).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Final, Literal, cast

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
_BLOCK_FRAMES: Final = 512  # frames per vectorised block: bounds temporaries, cache-friendly
_ROW_LOOP_MIN_FRAMES: Final = 96  # below this, per-row numpy calls cost more than a cumsum


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


def _libm_logf() -> Callable[[float], float] | None:
    """The C library's logf, which knf's MelScale calls (None if it cannot be loaded).

    glibc's logf is not correctly rounded (max error ~0.82 ulp), so a numpy log rounded to
    float32 differs from it for a few of the 257 FFT bin frequencies, which moves 11 mel
    weights by one ulp. Calling the same libm makes the weight table bit-identical to knf's.
    """
    # find_library needs ldconfig/gcc, which a frozen app's host may lack: try the soname too
    for name in (ctypes.util.find_library("m"), "libm.so.6", ctypes.util.find_library("c")):
        if not name:
            continue
        try:
            fn = ctypes.CDLL(name).logf
            break
        except (OSError, AttributeError):
            continue
    else:
        return None
    fn.restype = ctypes.c_float
    fn.argtypes = [ctypes.c_float]
    return cast(Callable[[float], float], fn)


def _hamming_window() -> np.ndarray:
    # knf: a = 2*pi/(N-1) in double, w[i] = 0.54 - 0.46*cos(a*i) in double, stored as float.
    a = 2.0 * math.pi / (FRAME_LENGTH - 1)
    i = np.arange(FRAME_LENGTH, dtype=np.float64)
    return (0.54 - 0.46 * np.cos(a * i)).astype(np.float32)


def _mel_scale(freq: np.ndarray) -> np.ndarray:
    # knf: 1127.0f * logf(1.0f + freq / 700.0f), every step in float32.
    f32 = np.float32
    inner = (f32(1.0) + freq.astype(f32) / f32(700.0)).astype(f32)
    logf = _libm_logf()
    if logf is not None:
        logs = np.array([logf(float(v)) for v in inner], dtype=f32)
    else:  # correctly rounded log: at most one ulp away from libm's on a few weights
        logs = np.log(inner.astype(np.float64)).astype(f32)
    return (f32(1127.0) * logs).astype(f32)


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
    edges = _mel_scale(np.array([low_freq, high_freq], dtype=f32))
    mel_low, mel_high = edges[0], edges[1]
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
        out[np.arange(NUM_MEL_BINS), index[k]] += table[k, :, 0]
    return out


@dataclass(frozen=True, slots=True)
class _Tables:
    window_col: np.ndarray  # (400, 1) float32
    window_row: np.ndarray  # (400,) float32, the same values
    mel_index: np.ndarray  # (K, 80) FFT bin of each weight
    mel_table: np.ndarray  # (K, 80, 1) float32 weights, broadcast over frames


def _build_tables() -> _Tables:
    index, table = _mel_weights()
    return _Tables(
        window_col=_hamming_window()[:, None].copy(),
        window_row=_hamming_window(),
        mel_index=index,
        mel_table=table[:, :, None].copy(),
    )


_TABLES: Final = _build_tables()

_KISS_N: Final = FFT_SIZE // 2  # KissFFT's real FFT runs a 256-point complex FFT


@dataclass(frozen=True, slots=True)
class _KissTables:
    # (4, 2, 64): row of the real / imaginary part of FFT input l*4 + q at [q, re/im, l], in
    # the digit-reversed order of KissFFT's leaves (row 400 is the zero padding)
    src: np.ndarray
    stages: tuple[tuple[np.ndarray, np.ndarray], ...]  # stages 1..3: tw1..tw3 re, im (3, m)
    # (2 k / N-k, 2 re/im, 128): row of FFT bins k and N - k (k = 1..128) in the last stage's
    # (4 q, 2 re/im, 64 k) output, bin q*64 + k
    split_src: np.ndarray
    super_ri: np.ndarray  # (2, 128, 1) kiss_fftr's split twiddles, re / im
    twiddles: np.ndarray  # (2, 256) float32: cos / sin(-2 pi i / 256), KissFFT's table


def _kiss_leaf_order() -> np.ndarray:
    """KissFFT's leaves (kf_work) copy the input in base-4 digit-reversed order: the complex
    input index at each of the 256 leaf positions."""
    order: list[int] = []

    def leaf(offset: int, stride: int, depth: int) -> None:
        if depth == 4:
            order.append(offset)
            return
        for q in range(4):
            leaf(offset + q * stride, stride * 4, depth + 1)

    leaf(0, 1, 0)
    return np.array(order)


def _build_kiss_tables() -> _KissTables:
    # KissFFT factors 256 as 4*4*4*4 and recurses (kf_work): the leaves copy the input in
    # base-4 digit-reversed order, then the stages run with m = 1, 4, 16, 64 and
    # fstride = 64, 16, 4, 1. Twiddles: (float)cos/sin(-2*pi*i/256), computed in double.
    src = _kiss_leaf_order()  # complex input index j at each leaf position
    even = np.where(2 * src < FRAME_LENGTH, 2 * src, FRAME_LENGTH)
    odd = np.where(2 * src + 1 < FRAME_LENGTH, 2 * src + 1, FRAME_LENGTH)
    tw_r = np.array([math.cos(-2 * math.pi * i / _KISS_N) for i in range(_KISS_N)], np.float32)
    tw_i = np.array([math.sin(-2 * math.pi * i / _KISS_N) for i in range(_KISS_N)], np.float32)
    stages = []
    for m in (4, 16, 64):  # the first stage (m = 1) has only unit twiddles
        fstride = _KISS_N // (4 * m)
        idx = np.arange(1, 4)[:, None] * np.arange(m)[None, :] * fstride  # (3, m): q * k * fs
        stages.append((tw_r[idx], tw_i[idx]))
    # kiss_fftr: phase = -pi * ((k + 1) / 256 + 0.5), k = 0..127, used for bins 1..128
    phase = [-math.pi * ((i + 1) / _KISS_N + 0.5) for i in range(_KISS_N // 2)]
    return _KissTables(
        src=np.stack([even, odd]).reshape(2, _KISS_N // 4, 4).transpose(2, 0, 1).copy(),
        split_src=np.array(
            [[[(p // 64) * 128 + c * 64 + p % 64 for p in bins] for c in (0, 1)]
             for bins in (range(1, 129), range(255, 127, -1))]
        ),
        stages=tuple(stages),
        twiddles=np.stack([tw_r, tw_i]),
        super_ri=np.array(
            [[math.cos(p) for p in phase], [math.sin(p) for p in phase]], dtype=np.float32
        )[:, :, None].copy(),
    )


_KISS: Final = _build_kiss_tables()


def _load_native() -> ModuleType | None:
    """The compiled frontend, configured with this module's tables (None if not built)."""
    try:
        from vaddesk.core import _fbank
    except ImportError as exc:
        log.warning("compiled fbank unavailable (%s): using the slower numpy replay", exc)
        return None
    # The same tables the numpy replay uses, handed over once.
    i32 = np.int32
    table = _TABLES.mel_table[:, :, 0]  # (K, 80), padded with zeros
    lengths = np.count_nonzero(table, axis=0).astype(i32)  # zeros are only the padding
    _fbank.configure(
        _TABLES.window_row,
        _KISS.twiddles[0],
        _KISS.twiddles[1],
        np.ascontiguousarray(_KISS.super_ri[0, :, 0]),
        np.ascontiguousarray(_KISS.super_ri[1, :, 0]),
        _kiss_leaf_order().astype(i32),
        np.ascontiguousarray(_TABLES.mel_index[0], dtype=i32),
        lengths,
        np.concatenate([table[: lengths[b], b] for b in range(NUM_MEL_BINS)]),
    )
    return _fbank


_NATIVE: Final = _load_native()


def native_available() -> bool:
    """True when the compiled exact frontend is in use for ``fbank="exact"``."""
    return _NATIVE is not None


def native_module_file() -> str | None:
    """Where the compiled frontend was loaded from (None if it is not available)."""
    return None if _NATIVE is None else str(_NATIVE.__file__)


_STACKED_MAX_FRAMES: Final = 64
"""_kiss_power works on at most this many frames at a time (larger blocks go in pieces)."""


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
    step = samples.strides[0]
    if samples.flags.c_contiguous and samples.dtype == np.float32:
        # the ndarray constructor: ~1 us, where as_strided costs ~10 us (it matters per block)
        view: np.ndarray = np.ndarray(
            (num_frames, FRAME_LENGTH), np.float32, buffer=samples,
            strides=(FRAME_SHIFT * step, step),
        )  # fmt: skip
        view.flags.writeable = False
        return view
    return np.lib.stride_tricks.as_strided(
        samples,
        shape=(num_frames, FRAME_LENGTH),
        strides=(FRAME_SHIFT * step, step),
        writeable=False,
    )


def _windowed_frames(frames: np.ndarray) -> np.ndarray:
    """(n, 400) unscaled float32 frames -> (400, n) float32 frames ready for the FFT.

    Scale, remove DC, pre-emphasis, Hamming window: knf's ``ProcessWindow`` bit for bit.
    Works frame-per-column ((400, n) layout): every numpy call runs along contiguous rows.
    """
    f32 = np.float32
    n = frames.shape[0]
    if n < _ROW_LOOP_MIN_FRAMES:
        return _windowed_frames_small(frames)
    x = np.multiply(frames.T, _WAVE_SCALE, out=np.empty((FRAME_LENGTH, n), dtype=f32))  # exact
    # Remove DC. knf sums each frame left to right in float32, but numpy's reductions use
    # pairwise sums along a contiguous axis. For big blocks: a reduction over the 400 rows,
    # vectorised over the frames; for small blocks (streaming) a cumulative sum per frame
    # (with n = 1 the reduction would run along the frame: pairwise). Both are the same
    # sequential float32 sums.
    # numpy reduces over the outer axis of a C-ordered array row by row (its pairwise
    # summation only applies along the contiguous inner axis): the sequential sum, ~8x faster
    # than a Python loop over the 400 rows.
    total = np.add.reduce(x, axis=0)
    x -= total / f32(FRAME_LENGTH)
    # Pre-emphasis, knf order: d[i] -= c*d[i-1] using the not-yet-updated d[i-1].
    y = np.empty_like(x)
    np.multiply(x[:-1], _PREEMPH, out=y[1:])
    np.subtract(x[1:], y[1:], out=y[1:])
    np.subtract(x[0], _PREEMPH * x[0], out=y[0])
    y *= _TABLES.window_col
    return y


def _windowed_frames_small(frames: np.ndarray) -> np.ndarray:
    """``_windowed_frames`` for a few frames (streaming): the same operations in the frames'
    own (n, 400) layout (no transposed copy, no broadcast column), returned as a (400, n) view.
    """
    f32 = np.float32
    x = frames * _WAVE_SCALE  # exact
    total = np.cumsum(x, axis=1, dtype=f32)[:, -1:]  # sequential float32 sum of each frame
    x -= total / f32(FRAME_LENGTH)
    y = np.empty_like(x)
    np.multiply(x[:, :-1], _PREEMPH, out=y[:, 1:])
    np.subtract(x[:, 1:], y[:, 1:], out=y[:, 1:])
    np.subtract(x[:, 0], _PREEMPH * x[:, 0], out=y[:, 0])
    y *= _TABLES.window_row
    return y.T


def _kiss_power(y: np.ndarray) -> np.ndarray:
    """(400, n) windowed frames -> (257, n) float32 power spectra, bit-identical to knf.

    knf (>= 1.21) computes its FFT with KissFFT's ``kiss_fftr`` in float32, compiled with
    ``-ffast-math``, so the compiler regrouped some sums. This reproduces that code operation
    by operation (as read from knf 1.23's machine code), vectorised over the frames: a
    256-point complex FFT of the frame's (even, odd) sample pairs in four radix-4 stages,
    then the real-FFT split with the "super twiddles".

    Layout: streaming feeds ~10 frames per call, where numpy's fixed cost per call dominates
    and a call on a strided multi-dimensional view costs ~6x one on a contiguous array. So
    each stage keeps its data as (4 butterfly inputs q, 2 re/im, L*m*n) contiguous blocks:
    every operand is contiguous, re and im of an input are one block, and one transposed copy
    per stage regroups the outputs for the next stage. Elementwise float32 operations round
    each value on its own, so the grouping cannot change any result.
    """
    n = y.shape[1]
    if n > _STACKED_MAX_FRAMES:
        # Large blocks go in 64-frame pieces: the work buffers stay in cache (~2x faster per
        # frame than one pass over 512 frames); frames are independent, the result the same.
        power = np.empty((_KISS_N + 1, n), dtype=np.float32)
        for start in range(0, n, _STACKED_MAX_FRAMES):
            power[:, start : start + _STACKED_MAX_FRAMES] = _kiss_power(
                y[:, start : start + _STACKED_MAX_FRAMES]
            )
        return power
    src = np.empty((FRAME_LENGTH + 1, n), dtype=np.float32)
    src[:FRAME_LENGTH] = y
    src[FRAME_LENGTH] = 0.0  # the zero padding 400..511
    a = src[_KISS.src].reshape(4, 2, -1)  # (q, re/im, l*n): stage 1 inputs, digit-reversed
    o = np.empty_like(a)
    x = _KISS_N // 4 * n  # values per (q, re/im) block
    work = np.empty(23 * x, dtype=np.float32)
    m = 1
    for stage in range(4):
        _kiss_radix4(a, o, _kiss_twiddles(stage, n), work, x)
        big_l = _KISS_N // (4 * m)
        if stage < 3:
            # (q, c, l', q', k, t) -> next stage's (q', c, l', q, k, t), k' = q*m + k
            six = o.reshape(4, 2, big_l // 4, 4, m, n)
            np.copyto(a.reshape(4, 2, big_l // 4, 4, m, n), six.transpose(3, 1, 2, 0, 4, 5))
        m *= 4
    return _kiss_split_power(o, n)


@lru_cache(maxsize=32)
def _kiss_twiddles(stage: int, n: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Twiddles tw1..tw3 (re, im) of a stage for n frames, expanded to (3, 1, L*m*n)
    contiguous arrays (a broadcasting view costs more per call than the multiply itself);
    None for the first stage (unit twiddles). ~4.6 kB per frame and stage."""
    if stage == 0:
        return None
    m = 4**stage
    big_l = _KISS_N // (4 * m)
    shape = (3, 1, big_l, m, n)
    tr, ti = (
        np.broadcast_to(t[:, None, None, :, None], shape).reshape(3, 1, -1).copy()
        for t in _KISS.stages[stage - 1]
    )
    return tr, ti


def _kiss_radix4(
    a: np.ndarray,
    o: np.ndarray,
    tw: tuple[np.ndarray, np.ndarray] | None,
    work: np.ndarray,
    x: int,
) -> None:
    """One stage of radix-4 butterflies: KissFFT's kf_bfly4 as knf's compiler arranged it.

    ``a``/``o``: (4 inputs/outputs q, 2 re/im, x). With s_q = F_q * tw_q (complex),
    a2/b2 = the real/imaginary products of s1, a3/b3 of s2:
    F0r = ((F0r + a2) - b2) + ((s0r - b3) + a3), ...; see the comments for each output.
    """
    mul, add, sub = np.multiply, np.add, np.subtract
    p = work[: 2 * x].reshape(2, x)  # [(F0 + s1)r, (F0 + s1)i]
    s3 = work[2 * x : 4 * x].reshape(2, x)  # [s3r, s3i]
    s5 = work[4 * x : 6 * x].reshape(2, x)  # [s5r, s5i]
    s4r = work[6 * x : 7 * x]
    if tw is None:
        # All twiddles are exactly 1 - 0i: each product equals its input (up to the sign of
        # a zero, which never changes a nonzero result), so only the sums remain.
        add(a[0], a[2], out=p)
        sub(a[0], a[2], out=s5)
        add(a[1], a[3], out=s3)  # s3 = s0 + s2
        sub(a[1, 0], a[3, 0], out=s4r)  # s4r = s0r - s2r
        s0i, s2i = a[1, 1], a[3, 1]
    else:
        tr, ti = tw
        u = work[7 * x : 13 * x].reshape(3, 2, x)
        v = work[13 * x : 19 * x].reshape(3, 2, x)
        mul(a[1:], tr, out=u)  # u[q-1] = [Fq_r * tq_r, Fq_i * tq_r]
        mul(a[1:], ti, out=v)  # v[q-1] = [Fq_r * tq_i, Fq_i * tq_i]
        si = work[19 * x : 22 * x].reshape(3, x)
        add(u[:, 1], v[:, 0], out=si)  # [s0i, s1i, s2i] = Fq_i*tq_r + Fq_r*tq_i
        s0r = work[22 * x : 23 * x]
        sub(u[0, 0], v[0, 1], out=s0r)  # s0r = F1r*t1r - F1i*t1i
        a2, b2, a3, b3 = u[1, 0], v[1, 1], u[2, 0], v[2, 1]
        s0i, s1i, s2i = si[0], si[1], si[2]
        add(a[0, 0], a2, out=p[0])
        p[0] -= b2  # "F0 + s1" regrouped as (F0r + a2) - b2
        add(a[0, 1], s1i, out=p[1])
        add(a[0, 0], b2, out=s5[0])
        s5[0] -= a2  # s5r: "F0 - s1" regrouped as (F0r + b2) - a2
        sub(a[0, 1], s1i, out=s5[1])
        sub(s0r, b3, out=s3[0])
        s3[0] += a3  # s3r: "s0 + s2" regrouped as (s0r - b3) + a3
        add(s2i, s0i, out=s3[1])
        sub(s0r, a3, out=s4r)
        s4r += b3  # s4r: "s0 - s2" regrouped as (s0r - a3) + b3
    add(p, s3, out=o[0])  # F0 = (F0 + s1) + s3
    sub(p, s3, out=o[2])  # F2 = (F0 + s1) - s3
    add(s5[0], s2i, out=o[3, 0])
    o[3, 0] -= s0i  # F3r = (s5r + s2i) - s0i
    add(s5[0], s0i, out=o[1, 0])
    o[1, 0] -= s2i  # F1r = (s5r + s0i) - s2i
    add(s5[1], s4r, out=o[3, 1])  # F3i = s5i + s4r
    sub(s5[1], s4r, out=o[1, 1])  # F1i = s5i - s4r


def _kiss_split_power(o: np.ndarray, n: int) -> np.ndarray:
    """kiss_fftr's split of the 256-point complex FFT into the 512-point real spectrum, then
    knf's power spectrum ``re*re + im*im``: (257, n) float32.

    ``o`` is the last stage's output, (4 q, 2 re/im, 64 k, n) for FFT bin q*64 + k. One gather
    brings bins k and N - k (k = 1..128) side by side; every later operation is contiguous.
    """
    half = _KISS_N // 2
    f32 = np.float32
    rows = o.reshape(-1, n)
    fb = rows[_KISS.split_src]  # (2 fwd/bwd, 2 re/im, 128, n): bins k and N - k
    power = np.empty((_KISS_N + 1, n), dtype=f32)
    zr0, zi0 = rows[0], rows[_KISS_N // 4]
    dc = zr0 + zi0
    nyquist = zr0 - zi0
    np.multiply(dc, dc, out=power[0])
    np.multiply(nyquist, nyquist, out=power[_KISS_N])
    g = np.empty((4, half, n), dtype=f32)
    np.add(fb[0], fb[1], out=g[0:2])  # [f1r, f2i]
    np.subtract(fb[0], fb[1], out=g[2:4])  # [f2r, f1i]
    f1r, f1i = g[0], g[3]
    sup = _split_twiddles(n)  # (2, 128, n): [super_r, super_i]
    ab = g[2:0:-1] * sup  # [a, b] = [f2r * sr, f2i * si]
    tw = g[1:3] * sup  # [f2i * sr, f2r * si]
    twi = np.add(tw[0], tw[1], out=tw[0])
    h = f32(0.5)
    re = f1r + ab  # [f1r + a, f1r + b]
    re -= ab[::-1]  # [re_k = (f1r + a) - b, re_nk = (f1r + b) - a]
    re *= h
    im = np.empty((2, half, n), dtype=f32)
    np.add(f1i, twi, out=im[0])  # im_k = f1i + twi
    np.subtract(twi, f1i, out=im[1])  # im_nk = (zi[N-k] - zi[k]) + twi, i.e. twi - f1i exactly
    im *= h
    re *= re
    im *= im
    re += im
    # k = 128 is written twice by kiss_fftr; the N - k values are written last and win
    power[1 : half + 1] = re[0]
    power[half:_KISS_N] = re[1, ::-1]
    return power


@lru_cache(maxsize=8)
def _split_twiddles(n: int) -> np.ndarray:
    """kiss_fftr's split twiddles expanded to (2, 128, n) (contiguous operands for small n)."""
    return np.broadcast_to(_KISS.super_ri, (2, _KISS_N // 2, n)).copy()


@lru_cache(maxsize=8)
def _mel_table(n: int) -> np.ndarray:
    """The (K, 80, 1) mel weights expanded to (K, 80, n) for small n (contiguous operands)."""
    table = _TABLES.mel_table
    return np.broadcast_to(table, (table.shape[0], NUM_MEL_BINS, n)).copy()


def _log_fbank_exact(frames: np.ndarray) -> np.ndarray:
    """(n, 400) unscaled float32 frames -> (80, n) float32 log-mel energies, as knf."""
    y = _windowed_frames(frames)
    n = y.shape[1]
    if n <= _STACKED_MAX_FRAMES:
        return _mel_log(_kiss_power(y))
    # FFT and mel in cache-sized pieces (frames are independent: the same numbers)
    out = np.empty((NUM_MEL_BINS, n), dtype=np.float32)
    for start in range(0, n, _STACKED_MAX_FRAMES):
        piece = slice(start, start + _STACKED_MAX_FRAMES)
        out[:, piece] = _mel_log(_kiss_power(y[:, piece]))
    return out


def _log_fbank_fast(frames: np.ndarray) -> np.ndarray:
    """Like ``_log_fbank_exact`` but with a double-precision FFT (numpy's pocketfft).

    Cheaper per call for small blocks; differs from knf by float32 rounding of the FFT
    (features within ~5e-5 of the reference's).
    """
    f32 = np.float32
    spec = np.fft.rfft(_windowed_frames(frames).T.astype(np.float64), n=FFT_SIZE, axis=1)
    re = spec.real.astype(f32)
    im = spec.imag.astype(f32)
    re *= re
    im *= im
    re += im
    return _mel_log(np.ascontiguousarray(re.T))


def _mel_log(power_t: np.ndarray) -> np.ndarray:
    """(257, n) float32 power spectra -> (80, n) float32 log mel energies, knf's arithmetic."""
    f32 = np.float32
    # products[k, b, t] = weight k of mel bin b times its FFT bin's power in frame t; then add
    # them up in k order: knf's sequential float32 dot product, vectorised over bins and frames
    products = power_t[_TABLES.mel_index]
    n = power_t.shape[1]
    products *= _mel_table(n) if n <= _STACKED_MAX_FRAMES else _TABLES.mel_table
    # A reduction over the outer axis adds row by row (numpy's pairwise summation only runs
    # along the contiguous inner axis, here 80 * n values): the sequential sum in one call.
    acc = np.add.reduce(products, axis=0)
    np.maximum(acc, f32(_FLT_EPSILON), out=acc)
    return np.log(acc.astype(np.float64)).astype(f32)


def _log_fbank_knf(frames: np.ndarray) -> np.ndarray:
    """The reference's own fbank (kaldi-native-fbank), for checks: (n, 400) -> (80, n)."""
    import kaldi_native_fbank as knf  # test/dev dependency only

    opts = knf.FbankOptions()
    opts.frame_opts.samp_freq = _SAMPLE_RATE_HZ
    opts.frame_opts.dither = 0.0
    opts.frame_opts.window_type = "hamming"
    opts.frame_opts.frame_shift_ms = 10.0
    opts.frame_opts.frame_length_ms = 25.0
    opts.frame_opts.snip_edges = True
    opts.mel_opts.num_bins = NUM_MEL_BINS
    opts.energy_floor = 0
    n = frames.shape[0]
    # Frames are independent (snip edges, no dither): recompute them from their samples.
    samples = np.concatenate([frames[:, :FRAME_SHIFT].reshape(-1), frames[-1, FRAME_SHIFT:]])
    fbank = knf.OnlineFbank(opts)
    fbank.accept_waveform(_SAMPLE_RATE_HZ, (samples * _WAVE_SCALE).tolist())
    return np.array([fbank.get_frame(i) for i in range(n)], dtype=np.float32).T.copy()


def _energy_db(frames: np.ndarray) -> np.ndarray:
    """(n, 400) unscaled float32 frames -> (n,) float64 decibels, as the reference computes."""
    # Per-row float32 pairwise sum (same as the reference's 1-D ``np.square(x).sum()``), then
    # float64 for ``+ 1e-6`` and math.log10 (numpy's log10 differs from libm's in the last
    # bit for some values; the reference calls math.log10).
    power = np.square(frames).sum(axis=1, dtype=np.float32).astype(np.float64) + 1e-6
    log10 = math.log10
    return np.array([10 * log10(p) for p in power.tolist()], dtype=np.float64)


FbankBackend = Literal["exact", "numpy", "fast", "knf"]
_FBANK_FUNCTIONS: Final = {
    "exact": _log_fbank_exact,  # the compiled path replaces it when available
    "numpy": _log_fbank_exact,
    "fast": _log_fbank_fast,
    "knf": _log_fbank_knf,
}


class StreamingFrontend:
    """Features for a 16 kHz stream fed in chunks of any length.

    ``accept`` returns the rows that are final so far (each feature row needs the fbank
    frames two ahead, so rows trail the input by 2 frames + up to 400 pending samples);
    ``finish`` returns the rest, repeating the last fbank frame as the reference does.

    ``fbank``: "exact" (default) reproduces the reference's knf arithmetic (see the module
    docstring), compiled when available; "numpy" forces the numpy replay of it; "fast" uses a
    double-precision FFT (features within ~5e-5 of the reference's); "knf" runs
    kaldi-native-fbank itself (dev dependency, slower). A stream and the offline run it is
    compared with must use the same choice.
    """

    def __init__(self, cmvn_path: Path | None = None, *, fbank: FbankBackend = "exact") -> None:
        if cmvn_path is None:
            # The shipped file is checked against models/manifest.json (a custom path is not).
            cmvn_path = paths.model_file(CMVN_FILE)
            verify_model_file(cmvn_path)
        if fbank not in _FBANK_FUNCTIONS:
            raise ValueError(f"fbank must be one of {sorted(_FBANK_FUNCTIONS)}, got {fbank!r}")
        self._fbank_fn = _FBANK_FUNCTIONS[fbank]
        self._native = _NATIVE if fbank == "exact" else None
        shift, scale = load_cmvn(cmvn_path)
        # am.mvn repeats one 80-dim vector for each of the 5 stacked frames; then CMVN can be
        # applied once per fbank frame before stacking (5x less work, identical numbers: each
        # element is still (float64(x) + shift) * scale rounded to float32).
        self._per_frame_cmvn = all(
            np.array_equal(v[:NUM_MEL_BINS], v[k * NUM_MEL_BINS : (k + 1) * NUM_MEL_BINS])
            for v in (shift, scale)
            for k in range(LFR_M)
        )
        # per-frame CMVN vectors (80 values; the numpy path broadcasts them as columns)
        self._shift_80 = np.ascontiguousarray(shift[:NUM_MEL_BINS])
        self._scale_80 = np.ascontiguousarray(scale[:NUM_MEL_BINS])
        self._cmvn_shift, self._cmvn_scale = shift, scale
        self.reset()

    @property
    def frames_emitted(self) -> int:
        return self._emitted

    def reset(self) -> None:
        self._pending = np.zeros(0, dtype=np.float32)  # samples from the next frame's start
        self._fbank_done = 0  # fbank frames computed
        self._emitted = 0  # feature rows returned
        # Fbank rows (normalised if per-frame CMVN) from global index max(0, emitted - 2) to
        # fbank_done - 1, and the energies of frames emitted .. fbank_done - 1: a few rows.
        self._rows_tail = np.zeros((0, NUM_MEL_BINS), dtype=np.float32)
        self._energy_tail = np.zeros(0, dtype=np.float64)

    def accept(self, samples: np.ndarray) -> FrontendFrames:
        samples = _as_mono_float32(samples)
        rows_parts = [self._rows_tail]
        energy_parts = [self._energy_tail]
        # Bounded work per step: at most _BLOCK_FRAMES frames' worth of samples at a time.
        step = _BLOCK_FRAMES * FRAME_SHIFT
        for start in range(0, samples.shape[0], step):
            self._fbank_block(samples[start : start + step], rows_parts, energy_parts)
        if len(rows_parts) > 1:
            self._rows_tail = np.concatenate(rows_parts)
            self._energy_tail = np.concatenate(energy_parts)
        return self._emit(self._rows_tail, final=False)

    def finish(self) -> FrontendFrames:
        """End of stream: the remaining rows (the last fbank frame repeated as right context).

        The frontend is then empty; call ``reset`` before feeding a new stream.
        """
        first = self._emitted
        self._pending = np.zeros(0, dtype=np.float32)
        if self._rows_tail.shape[0] == 0:
            return _empty(first)
        right = np.repeat(self._rows_tail[-1:], LFR_CONTEXT, axis=0)
        out = self._emit(np.concatenate([self._rows_tail, right]), final=True)
        return out

    # -- internals --

    def _fbank_block(
        self, samples: np.ndarray, rows_parts: list[np.ndarray], energy_parts: list[np.ndarray]
    ) -> None:
        """Turn pending + ``samples`` into fbank rows and energies for every complete frame."""
        buf = np.concatenate([self._pending, samples]) if self._pending.size else samples
        length = buf.shape[0]
        n_new = 0 if length < FRAME_LENGTH else 1 + (length - FRAME_LENGTH) // FRAME_SHIFT
        if n_new == 0:
            self._pending = np.array(buf, dtype=np.float32, copy=True)
            return
        buf = np.ascontiguousarray(buf)
        if self._native is not None:
            # fbank rows (CMVN applied when it is per frame) and energies in one compiled call
            rows_t = np.empty((n_new, NUM_MEL_BINS), dtype=np.float32)
            energy = np.empty(n_new, dtype=np.float64)
            if self._per_frame_cmvn:
                self._native.fbank(buf, n_new, rows_t, energy, self._shift_80, self._scale_80)
            else:
                self._native.fbank(buf, n_new, rows_t, energy)
            rows_parts.append(rows_t)
            energy_parts.append(energy)
        else:
            frames = _frames_view(buf, n_new)
            rows = self._fbank_fn(frames)  # (80, n)
            if self._per_frame_cmvn:
                rows = ((rows + self._shift_80[:, None]) * self._scale_80[:, None]).astype(
                    np.float32
                )
            rows_parts.append(rows.T)
            energy_parts.append(_energy_db(frames))
        self._pending = np.array(buf[n_new * FRAME_SHIFT :], dtype=np.float32, copy=True)
        self._fbank_done += n_new

    def _emit(self, rows: np.ndarray, *, final: bool) -> FrontendFrames:
        """Stack every row whose 5-frame context is in ``rows``.

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
        # Feature row i is fbank rows i..i+4 side by side, which in a C-ordered (n, 80) array
        # are 400 consecutive floats: an overlapping strided view, copied once.
        rows = np.ascontiguousarray(rows, dtype=np.float32)
        step = rows.strides[1]
        features: np.ndarray = np.ndarray(
            (count, FEATURE_DIM), np.float32, buffer=rows, strides=(NUM_MEL_BINS * step, step)
        ).copy()
        if not self._per_frame_cmvn:
            features = ((features + self._cmvn_shift) * self._cmvn_scale).astype(np.float32)
        energy = self._energy_tail[:count]
        self._energy_tail = self._energy_tail[count:].copy()
        self._emitted += count
        if final:
            self._rows_tail = np.zeros((0, NUM_MEL_BINS), dtype=np.float32)
        else:
            # Keep the context the next rows need: fbank frames from (emitted - 2) on.
            tail_start = self._fbank_done - self._rows_tail.shape[0]  # global index of row 0
            keep_from = max(0, self._emitted - LFR_CONTEXT - tail_start)
            self._rows_tail = self._rows_tail[keep_from:].copy()
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


def compute_features(
    samples: np.ndarray, cmvn_path: Path | None = None, *, fbank: FbankBackend = "exact"
) -> FrontendFrames:
    """Features of a whole waveform at once (same rows as streaming it in any chunks)."""
    frontend = StreamingFrontend(cmvn_path, fbank=fbank)
    head = frontend.accept(samples)
    tail = frontend.finish()
    return _concat([p for p in (head, tail) if p.num_frames], 0)
