"""Per-frame speech/silence decision, bit-for-bit the reference's, vectorised.

The reference (FunASR ``E2EVadModel.GetFrameState``) decides, for each 10 ms frame with
silence probability ``p0`` (float32) and energy ``energy_db``::

    silence  if energy_db < decibel_thres                  (no noise-level update)
    speech   if exp(log(1 - p0)) >= exp(log(p0) * ratio) + thres
             and energy_db - noise_average_db >= snr_thres and energy_db >= decibel_thres
    silence  otherwise; when the score test failed, the noise level is updated:
             noise = energy_db if noise < -99.9 else (energy_db + noise * (K - 1)) / K

Two things differ from a literal port, on purpose:

* ``log(0)``: the INT8 model's softmax can give exactly 0 or 1; the reference crashes there.
  We use the limits (``exp(log 0) = 0``). Frames far from the threshold are decided with numpy;
  frames within ``_TIE_EPS`` of it are recomputed with Python's ``math`` exactly as the
  reference does, so float64 ulp differences between ``x`` and ``exp(log(x))`` cannot flip a
  decision. Arithmetic is float64 (what numpy 1.26 gives the reference for ``1.0 - float32``),
  whatever numpy we run on.
* The reference's ONNX port processes a frame twice when ``decibel_thres`` is above the frame
  energy (``GetFrameState`` calls ``DetectOneFrame`` itself before returning). We do not
  reproduce that bug: such a frame is simply silence.
"""

from __future__ import annotations

import math
from array import array
from typing import Final

import numpy as np

from vaddesk.core.params import VadParams

_TIE_EPS: Final = 1e-9
"""Decisions whose margin is within this are recomputed the reference's way (float64 scale ~1)."""

_NOISE_UNSET_DB: Final = -100.0
_PENDING_NOISE_LIMIT: Final = 1 << 16
"""Noise-frame energies folded lazily into the noise average; bounded so memory stays flat."""
_SMALL_BLOCK_FRAMES: Final = 16
"""Blocks up to this many frames are decided in plain Python: numpy's per-call cost dominates
there (a 10-frame streaming push). Same float64 operations, so the same decisions."""


def _reference_score_test(p0: float, ratio: float, thres: float) -> bool:
    """The reference's score test for one frame, with log(0) taken as its limit."""
    noise = math.exp(math.log(p0) * ratio) if p0 > 0.0 else 0.0
    speech_score = 1.0 - p0
    speech = math.exp(math.log(speech_score)) if speech_score > 0.0 else 0.0
    return speech >= noise + thres


def score_test(p0: np.ndarray, ratio: float, thres: float) -> np.ndarray:
    """Boolean per frame: does the network's score alone say speech? (no energy gates)."""
    p = np.asarray(p0, dtype=np.float32).astype(np.float64)
    noise = p if ratio == 1.0 else np.power(p, ratio)
    margin = (1.0 - p) - (noise + thres)
    out: np.ndarray = margin >= 0.0
    close = np.abs(margin) <= _TIE_EPS
    if close.any():
        for i in np.flatnonzero(close).tolist():
            out[i] = _reference_score_test(float(p[i]), ratio, thres)
    return out


def _margin(x: float, ratio: float, thres: float) -> float:
    """The score test's float64 margin for one frame, as :func:`score_test` computes it."""
    return (1.0 - x) - ((x if ratio == 1.0 else x ** ratio) + thres)


def _float_at(bits: int) -> float:
    return float(np.int64(bits).view(np.float64))


def _bits(x: float) -> int:
    return int(np.float64(x).view(np.int64))


def score_cutoffs(ratio: float, thres: float) -> tuple[float, float]:
    """``(sure_speech, sure_silence)``: a frame with ``0 <= p0 <= sure_speech`` passes the score
    test and one with ``p0 >= sure_silence`` fails it, with no arithmetic per frame.

    The margin decreases with p0 (``1 - p0`` falls, ``p0 ** ratio`` grows; rounding keeps
    that order, up to an ulp of ``pow``). The cut-offs are the last p0 in [0, 1] whose margin
    is above ``2 * _TIE_EPS`` and the first whose margin is below ``-2 * _TIE_EPS``: any p0
    beyond them has a margin at least that far from 0 (less an ulp), so the per-frame test
    and the reference's recomputation near the threshold both give the same answer.
    (-1.0, inf) when no such p0 exists.
    """
    sure = 2 * _TIE_EPS
    lo_bits, hi_bits = _bits(0.0), _bits(1.0)  # non-negative doubles order like their bits
    speech = -1.0
    if _margin(0.0, ratio, thres) > sure:
        a, b = lo_bits, hi_bits
        if _margin(1.0, ratio, thres) > sure:
            a = b
        while a < b:  # last x with margin > sure
            mid = (a + b + 1) // 2
            if _margin(_float_at(mid), ratio, thres) > sure:
                a = mid
            else:
                b = mid - 1
        speech = _float_at(a)
    silence = math.inf
    if _margin(1.0, ratio, thres) < -sure:
        a, b = lo_bits, hi_bits
        while a < b:  # first x with margin < -sure
            mid = (a + b) // 2
            if _margin(_float_at(mid), ratio, thres) < -sure:
                b = mid
            else:
                a = mid + 1
        silence = _float_at(a)
    return speech, silence


def score_threshold(params: VadParams) -> float:
    """The speech score (1 - p0) above which one frame passes the score test for ``params``.

    The p0 where the score test's margin crosses 0, by bisection (the margin decreases with
    p0), so a line drawn there is the engine's frame decision, not an approximation of it.
    With the boundary stage on, it is the stage's ``enter_score`` (where segments open).
    """
    if params.boundary_stage:
        return params.enter_score
    ratio, thres = params.speech_to_noise_ratio, params.speech_noise_thres
    lo, hi = 0.0, 1.0
    for _ in range(40):
        mid = (lo + hi) / 2
        if _margin(mid, ratio, thres) >= 0.0:
            lo = mid
        else:
            hi = mid
    return 1.0 - lo


class FrameClassifier:
    """Turns (p0, energy_db) blocks into speech decisions, carrying the noise level across blocks.

    The noise average is a sequential recurrence; it only matters when the SNR gate can reject
    a frame. Noise-frame energies are kept pending and folded into the exact average (a Python
    loop, in the reference's float order) only when a frame's gate is in doubt or when the
    pending frames get many, so the default parameters cost next to nothing.
    """

    def __init__(self, params: VadParams) -> None:
        self._params = params
        self._cutoffs = score_cutoffs(params.speech_to_noise_ratio, params.speech_noise_thres)
        self.reset()

    def set_params(self, params: VadParams) -> None:
        if params.noise_frames_for_snr != self._params.noise_frames_for_snr:
            self._fold()  # frames seen so far are averaged with the old count
        self._params = params
        self._cutoffs = score_cutoffs(params.speech_to_noise_ratio, params.speech_noise_thres)

    def reset(self) -> None:
        self._noise_db = _NOISE_UNSET_DB
        # noise-frame energies (in frame order) of blocks not yet folded into the noise level
        self._pending = array("d")
        self._pending_frames = 0
        self._pending_max_db = -math.inf  # upper bound of their noise-frame energies

    def _fold(self) -> None:
        k = self._params.noise_frames_for_snr
        noise = self._noise_db
        for x in self._pending:
            noise = x if noise < -99.9 else (x + noise * (k - 1)) / k
        self._noise_db = noise
        self._pending = array("d")
        self._pending_frames = 0
        self._pending_max_db = -math.inf

    def classify(self, p0: np.ndarray, energy_db: np.ndarray, *, last: bool = False) -> np.ndarray:
        """Decisions (bool array) for the next frames. ``last``: no more blocks will follow."""
        p = self._params
        energy = np.asarray(energy_db, dtype=np.float64)
        if 0 < energy.shape[0] <= _SMALL_BLOCK_FRAMES:
            small = self.classify_small(np.asarray(p0, dtype=np.float32).tolist(),
                                        energy.tolist(), last)
            if small is not None:
                return np.array(small, dtype=bool)
        scored = score_test(p0, p.speech_to_noise_ratio, p.speech_noise_thres)
        loud = energy >= p.decibel_thres_db
        noise_frames = loud & ~scored
        speech = scored & loud
        # The noise level before any frame of this block is at most the largest energy seen
        # (it is a running mean of energies, or the -100 dB sentinel): if even the quietest
        # frame beats that by snr_thres_db, no frame of this block can fail the SNR gate.
        e_min, e_max = float(energy.min()), float(energy.max())
        upper = max(self._noise_db, self._pending_max_db, e_max)
        if e_min - upper < p.snr_thres_db and speech.any():
            return self._apply_snr_gate(energy, noise_frames, speech)
        self._pending.frombytes(energy[noise_frames].tobytes())
        self._note_pending(int(energy.shape[0]), e_max, last)
        return speech

    def _note_pending(self, frames: int, e_max: float, last: bool) -> None:
        self._pending_frames += frames
        self._pending_max_db = max(self._pending_max_db, e_max)
        if self._pending_frames > _PENDING_NOISE_LIMIT and not last:
            self._fold()

    def classify_small(self, probs: list[float], energies: list[float],
                       last: bool = False) -> list[bool] | None:
        """:meth:`classify` for a few frames given as Python floats (p0 values of float32,
        energies), decided in Python; decisions as a list (None: not handled here, use
        :meth:`classify`).

        The margin is the same float64 expression as :func:`score_test`'s; a power that
        differs from numpy's by an ulp can only matter within ``_TIE_EPS``, where both
        recompute the reference's way. NaN inputs and negative ``p0`` go the numpy way.
        """
        p = self._params
        ratio, thres, db_thres = p.speech_to_noise_ratio, p.speech_noise_thres, p.decibel_thres_db
        speech: list[bool] = []
        noise_energies: list[float] = []
        any_speech = False
        sure_speech, sure_silence = self._cutoffs
        for x, e in zip(probs, energies, strict=True):
            if sure_speech >= x >= 0.0:
                scored = True
            elif x >= sure_silence:
                scored = False
            else:
                if not x >= 0.0:
                    return None
                margin = (1.0 - x) - ((x if ratio == 1.0 else x ** ratio) + thres)
                if -_TIE_EPS <= margin <= _TIE_EPS:
                    scored = _reference_score_test(x, ratio, thres)
                else:
                    scored = margin >= 0.0
            if e != e:
                return None
            if e >= db_thres:
                if scored:
                    any_speech = True
                else:
                    noise_energies.append(e)
                speech.append(scored)
            else:
                speech.append(False)
        e_min, e_max = min(energies), max(energies)
        if any_speech and e_min - max(self._noise_db, self._pending_max_db, e_max) < p.snr_thres_db:
            energy = np.array(energies, dtype=np.float64)
            loud = energy >= db_thres
            out = np.array(speech, dtype=bool)
            gated: list[bool] = self._apply_snr_gate(energy, loud & ~out, out).tolist()
            return gated
        self._pending.extend(noise_energies)
        self._note_pending(len(energies), e_max, last)
        return speech

    def _apply_snr_gate(self, energy: np.ndarray, noise_frames: np.ndarray,
                        speech: np.ndarray) -> np.ndarray:
        """Exact sequential noise average; returns decisions with the SNR gate applied."""
        self._fold()
        k = self._params.noise_frames_for_snr
        noise = self._noise_db
        after = [noise]  # noise level after 0, 1, 2, ... noise frames of this block
        for x in energy[noise_frames].tolist():
            noise = x if noise < -99.9 else (x + noise * (k - 1)) / k
            after.append(noise)
        seen_before = np.cumsum(noise_frames) - noise_frames  # noise frames before each frame
        before = np.asarray(after, dtype=np.float64)[seen_before]
        self._noise_db = noise
        out: np.ndarray = speech & ((energy - before) >= self._params.snr_thres_db)
        return out
