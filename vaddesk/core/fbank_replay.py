"""The numpy replay of kaldi-native-fbank's float32 fbank: whole blocks of frames at once.

kaldi-native-fbank 1.23 (knf, the reference frontend) computes each 25 ms frame in float32;
this module performs the same float32 operations in the same order, vectorised over frames
(every elementwise float32 operation rounds each value on its own, so vectorising cannot
change a result):

- samples are scaled by 32768 (exact in float32) and cut into 400-sample frames, hop 160,
  snip-edges (a frame exists only when all its samples do);
- remove DC: knf sums the frame *sequentially* in float32; that order is kept, then the sum
  is divided by 400 and subtracted;
- pre-emphasis 0.97 in float32 (``d[i] -= 0.97f * d[i-1]``, ``d[0] -= 0.97f * d[0]``), then the
  Hamming window;
- FFT: knf uses KissFFT's real FFT in float32, compiled with ``-ffast-math`` (its compiler
  regrouped some sums); ``kiss_power`` replays those operations in the same order, as read
  from knf's machine code; power ``re*re + im*im`` in float32;
- mel energies: each bin is a *sequential* float32 dot product over its nonzero weights (one
  vectorised multiply-add per weight position; no BLAS, whose summation order would depend
  on the block size);
- log(max(e, FLT_EPSILON)): computed in double and rounded to float32. knf calls glibc's
  ``logf``, which is not correctly rounded.

Exactness: everything up to the log is bit-identical to knf (the power spectra and mel
energies are checked against knf's own Rfft and MelBanks); the log differs from glibc's
``logf`` by one float32 ulp on about 2.5 log-mel values in 10 000 and never by more (1 314 of
5 335 920 values on the test corpus and the bundled sample). That is the only difference from
the compiled fbank (_fbank.c), which calls ``logf`` itself and so equals knf bit for bit.

``energy_db`` reproduces the reference's ``ComputeDecibel`` exactly: ``np.square(x).sum()``
over the frame's 400 unscaled float32 samples (numpy's pairwise float32 sum), then
``10 * math.log10(sum + 1e-6)`` in float64 (numpy 1.26 promotes the scalar there).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Final

import numpy as np

from vaddesk.core.fbank_tables import (
    FLT_EPSILON,
    FRAME_LENGTH,
    FRAME_SHIFT,
    KISS,
    KISS_N,
    NUM_MEL_BINS,
    PREEMPH,
    TABLES,
    WAVE_SCALE,
)

_ROW_LOOP_MIN_FRAMES: Final = 96  # below this, per-row numpy calls cost more than a cumsum
_STACKED_MAX_FRAMES: Final = 64
"""kiss_power works on at most this many frames at a time (larger blocks go in pieces)."""


def frames_view(samples: np.ndarray, num_frames: int) -> np.ndarray:
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


def windowed_frames(frames: np.ndarray) -> np.ndarray:
    """(n, 400) unscaled float32 frames -> (400, n) float32 frames ready for the FFT.

    Scale, remove DC, pre-emphasis, Hamming window: knf's ``ProcessWindow`` bit for bit.
    Works frame-per-column ((400, n) layout): every numpy call runs along contiguous rows.
    """
    f32 = np.float32
    n = frames.shape[0]
    if n < _ROW_LOOP_MIN_FRAMES:
        return _windowed_frames_small(frames)
    x = np.multiply(frames.T, WAVE_SCALE, out=np.empty((FRAME_LENGTH, n), dtype=f32))  # exact
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
    np.multiply(x[:-1], PREEMPH, out=y[1:])
    np.subtract(x[1:], y[1:], out=y[1:])
    np.subtract(x[0], PREEMPH * x[0], out=y[0])
    y *= TABLES.window_col
    return y


def _windowed_frames_small(frames: np.ndarray) -> np.ndarray:
    """``windowed_frames`` for a few frames (streaming): the same operations in the frames'
    own (n, 400) layout (no transposed copy, no broadcast column), returned as a (400, n) view.
    """
    f32 = np.float32
    x = frames * WAVE_SCALE  # exact
    total = np.cumsum(x, axis=1, dtype=f32)[:, -1:]  # sequential float32 sum of each frame
    x -= total / f32(FRAME_LENGTH)
    y = np.empty_like(x)
    np.multiply(x[:, :-1], PREEMPH, out=y[:, 1:])
    np.subtract(x[:, 1:], y[:, 1:], out=y[:, 1:])
    np.subtract(x[:, 0], PREEMPH * x[:, 0], out=y[:, 0])
    y *= TABLES.window_row
    return y.T


def kiss_power(y: np.ndarray) -> np.ndarray:
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
        power = np.empty((KISS_N + 1, n), dtype=np.float32)
        for start in range(0, n, _STACKED_MAX_FRAMES):
            power[:, start : start + _STACKED_MAX_FRAMES] = kiss_power(
                y[:, start : start + _STACKED_MAX_FRAMES]
            )
        return power
    src = np.empty((FRAME_LENGTH + 1, n), dtype=np.float32)
    src[:FRAME_LENGTH] = y
    src[FRAME_LENGTH] = 0.0  # the zero padding 400..511
    a = src[KISS.src].reshape(4, 2, -1)  # (q, re/im, l*n): stage 1 inputs, digit-reversed
    o = np.empty_like(a)
    x = KISS_N // 4 * n  # values per (q, re/im) block
    work = np.empty(23 * x, dtype=np.float32)
    m = 1
    for stage in range(4):
        _kiss_radix4(a, o, _kiss_twiddles(stage, n), work, x)
        big_l = KISS_N // (4 * m)
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
    big_l = KISS_N // (4 * m)
    shape = (3, 1, big_l, m, n)
    tr, ti = (
        np.broadcast_to(t[:, None, None, :, None], shape).reshape(3, 1, -1).copy()
        for t in KISS.stages[stage - 1]
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
    half = KISS_N // 2
    f32 = np.float32
    rows = o.reshape(-1, n)
    fb = rows[KISS.split_src]  # (2 fwd/bwd, 2 re/im, 128, n): bins k and N - k
    power = np.empty((KISS_N + 1, n), dtype=f32)
    zr0, zi0 = rows[0], rows[KISS_N // 4]
    dc = zr0 + zi0
    nyquist = zr0 - zi0
    np.multiply(dc, dc, out=power[0])
    np.multiply(nyquist, nyquist, out=power[KISS_N])
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
    power[half:KISS_N] = re[1, ::-1]
    return power


@lru_cache(maxsize=8)
def _split_twiddles(n: int) -> np.ndarray:
    """kiss_fftr's split twiddles expanded to (2, 128, n) (contiguous operands for small n)."""
    return np.broadcast_to(KISS.super_ri, (2, KISS_N // 2, n)).copy()


@lru_cache(maxsize=8)
def _mel_table(n: int) -> np.ndarray:
    """The (K, 80, 1) mel weights expanded to (K, 80, n) for small n (contiguous operands)."""
    table = TABLES.mel_table
    return np.broadcast_to(table, (table.shape[0], NUM_MEL_BINS, n)).copy()


def log_fbank(frames: np.ndarray) -> np.ndarray:
    """(n, 400) unscaled float32 frames -> (80, n) float32 log-mel energies, as knf (see the
    module docstring for the one-ulp log)."""
    y = windowed_frames(frames)
    n = y.shape[1]
    if n <= _STACKED_MAX_FRAMES:
        return mel_log(kiss_power(y))
    # FFT and mel in cache-sized pieces (frames are independent: the same numbers)
    out = np.empty((NUM_MEL_BINS, n), dtype=np.float32)
    for start in range(0, n, _STACKED_MAX_FRAMES):
        piece = slice(start, start + _STACKED_MAX_FRAMES)
        out[:, piece] = mel_log(kiss_power(y[:, piece]))
    return out


def mel_log(power_t: np.ndarray) -> np.ndarray:
    """(257, n) float32 power spectra -> (80, n) float32 log mel energies, knf's arithmetic."""
    f32 = np.float32
    # products[k, b, t] = weight k of mel bin b times its FFT bin's power in frame t; then add
    # them up in k order: knf's sequential float32 dot product, vectorised over bins and frames
    products = power_t[TABLES.mel_index]
    n = power_t.shape[1]
    products *= _mel_table(n) if n <= _STACKED_MAX_FRAMES else TABLES.mel_table
    # A reduction over the outer axis adds row by row (numpy's pairwise summation only runs
    # along the contiguous inner axis, here 80 * n values): the sequential sum in one call.
    acc = np.add.reduce(products, axis=0)
    np.maximum(acc, f32(FLT_EPSILON), out=acc)
    return np.log(acc.astype(np.float64)).astype(f32)


def energy_db(frames: np.ndarray) -> np.ndarray:
    """(n, 400) unscaled float32 frames -> (n,) float64 decibels, as the reference computes."""
    # Per-row float32 pairwise sum (same as the reference's 1-D ``np.square(x).sum()``), then
    # float64 for ``+ 1e-6`` and math.log10 (numpy's log10 differs from libm's in the last
    # bit for some values; the reference calls math.log10).
    power = np.square(frames).sum(axis=1, dtype=np.float32).astype(np.float64) + 1e-6
    log10 = math.log10
    return np.array([10 * log10(p) for p in power.tolist()], dtype=np.float64)


