"""The fbank's constant tables, built once at import with kaldi-native-fbank's float32 arithmetic.

kaldi-native-fbank 1.23 (knf, the reference frontend) builds its Hamming window in double and
stores it as float, its mel weights in float32 with the C library's ``logf``, and its KissFFT
twiddles as ``(float)cos/sin`` of a double angle. The tables below are built the same way, so
they equal knf's bit for bit (tests/core/test_frontend.py compares the mel weights with knf's
own matrix). Both the numpy replay (fbank_replay.py) and the compiled fbank (_fbank.c, handed
these tables by fbank_native.py) read them; neither holds constants of its own.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, cast

import numpy as np

FRAME_LENGTH: Final = 400  # samples, 25 ms
FRAME_SHIFT: Final = 160  # samples, 10 ms
FFT_SIZE: Final = 512  # FRAME_LENGTH rounded up to a power of two
NUM_MEL_BINS: Final = 80
KISS_N: Final = FFT_SIZE // 2  # KissFFT's real FFT runs a 256-point complex FFT

SAMPLE_RATE_HZ: Final = 16_000.0
PREEMPH: Final = np.float32(0.97)
WAVE_SCALE: Final = np.float32(32768.0)  # knf works on int16-scaled samples
FLT_EPSILON: Final = float(np.finfo(np.float32).eps)  # knf's floor before the log


def _libm_logf() -> Callable[[float], float] | None:
    """The C library's logf, which knf's MelScale calls (None if it cannot be loaded).

    glibc's logf is not correctly rounded (max error ~0.82 ulp), so a numpy log rounded to
    float32 differs from it for a few of the 257 FFT bin frequencies, which moves 11 mel
    weights by one ulp. Calling the same libm makes the weight table bit-identical to knf's.
    """
    # find_library needs ldconfig/gcc, which a frozen app's host may lack: try the soname too.
    # On Windows the C library's logf lives in ucrtbase (what MSVC-built code, knf included,
    # calls); on macOS find_library("m") finds libSystem's.
    for name in (
        ctypes.util.find_library("m"),
        "libm.so.6",
        "ucrtbase",
        ctypes.util.find_library("c"),
    ):
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
    fft_bin_width = f32(SAMPLE_RATE_HZ) / f32(FFT_SIZE)
    low_freq = f32(20.0)
    high_freq = f32(0.5) * f32(SAMPLE_RATE_HZ)  # high_freq = 0 -> nyquist
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
    index, table = TABLES.mel_index, TABLES.mel_table
    out = np.zeros((NUM_MEL_BINS, FFT_SIZE // 2 + 1), dtype=np.float32)
    for k in range(index.shape[0]):
        out[np.arange(NUM_MEL_BINS), index[k]] += table[k, :, 0]
    return out


@dataclass(frozen=True, slots=True)
class FbankTables:
    window_col: np.ndarray  # (400, 1) float32
    window_row: np.ndarray  # (400,) float32, the same values
    mel_index: np.ndarray  # (K, 80) FFT bin of each weight
    mel_table: np.ndarray  # (K, 80, 1) float32 weights, broadcast over frames


def _build_tables() -> FbankTables:
    index, table = _mel_weights()
    return FbankTables(
        window_col=_hamming_window()[:, None].copy(),
        window_row=_hamming_window(),
        mel_index=index,
        mel_table=table[:, :, None].copy(),
    )


TABLES: Final = _build_tables()


@dataclass(frozen=True, slots=True)
class KissTables:
    # (4, 2, 64): row of the real / imaginary part of FFT input l*4 + q at [q, re/im, l], in
    # the digit-reversed order of KissFFT's leaves (row 400 is the zero padding)
    src: np.ndarray
    stages: tuple[tuple[np.ndarray, np.ndarray], ...]  # stages 1..3: tw1..tw3 re, im (3, m)
    # (2 k / N-k, 2 re/im, 128): row of FFT bins k and N - k (k = 1..128) in the last stage's
    # (4 q, 2 re/im, 64 k) output, bin q*64 + k
    split_src: np.ndarray
    super_ri: np.ndarray  # (2, 128, 1) kiss_fftr's split twiddles, re / im
    twiddles: np.ndarray  # (2, 256) float32: cos / sin(-2 pi i / 256), KissFFT's table


def kiss_leaf_order() -> np.ndarray:
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


def _build_kiss_tables() -> KissTables:
    # KissFFT factors 256 as 4*4*4*4 and recurses (kf_work): the leaves copy the input in
    # base-4 digit-reversed order, then the stages run with m = 1, 4, 16, 64 and
    # fstride = 64, 16, 4, 1. Twiddles: (float)cos/sin(-2*pi*i/256), computed in double.
    src = kiss_leaf_order()  # complex input index j at each leaf position
    even = np.where(2 * src < FRAME_LENGTH, 2 * src, FRAME_LENGTH)
    odd = np.where(2 * src + 1 < FRAME_LENGTH, 2 * src + 1, FRAME_LENGTH)
    tw_r = np.array([math.cos(-2 * math.pi * i / KISS_N) for i in range(KISS_N)], np.float32)
    tw_i = np.array([math.sin(-2 * math.pi * i / KISS_N) for i in range(KISS_N)], np.float32)
    stages = []
    for m in (4, 16, 64):  # the first stage (m = 1) has only unit twiddles
        fstride = KISS_N // (4 * m)
        idx = np.arange(1, 4)[:, None] * np.arange(m)[None, :] * fstride  # (3, m): q * k * fs
        stages.append((tw_r[idx], tw_i[idx]))
    # kiss_fftr: phase = -pi * ((k + 1) / 256 + 0.5), k = 0..127, used for bins 1..128
    phase = [-math.pi * ((i + 1) / KISS_N + 0.5) for i in range(KISS_N // 2)]
    return KissTables(
        src=np.stack([even, odd]).reshape(2, KISS_N // 4, 4).transpose(2, 0, 1).copy(),
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


KISS: Final = _build_kiss_tables()
