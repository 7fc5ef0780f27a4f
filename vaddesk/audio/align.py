"""Put a second audio stream (the computer's audio) on the clock of the first (the microphone).

Two sound devices run on two crystals: at 16 kHz nominal one may deliver 16 001.6 samples a
second while the other delivers 16 000 (100 ppm), 360 ms apart after an hour. ``DriftAligner``
measures both delivery rates against one monotonic clock (least squares over everything seen
so far, so the estimate keeps improving: ~2 ppm after ten minutes with 30 ms arrival jitter)
and resamples the follower by the measured ratio.

The resampler is a 16-tap Kaiser-windowed sinc interpolator at a fractional read position, not
soxr: python-soxr has no variable-rate mode, so following a ratio that is re-estimated every
second would mean rebuilding a soxr stream each time, with a filter transient at every seam.
Halfway between two samples (its worst phase) the interpolator is flat to 6 kHz (-0.13 dB)
and -2.7 dB at 7 kHz, at 16 kHz.

The read position follows a target line: output sample j reads the follower at
``start + (j - j0) * ratio``, with the latest ratio. A changed estimate is therefore not a jump:
the step is steered toward the line over ``correct_over_s`` seconds, so the alignment error at
any time is the error of the current estimate over the whole stream (checked with a simulated
hour at 100 ppm: tests/audio/test_align.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

TAPS: Final = 16
PHASES: Final = 512
KAISER_BETA: Final = 8.0
MIN_FIT_S: Final = 20.0
"""Below this much delivery history the rates are not estimated (nominal ratio 1): sound
servers deliver the first second or two in bursts (PulseAudio monitors: ~1 s at once), and a
rate fitted over a few seconds of that is off by percents, a pitch shift that wrecks the
channel (measured: correlation with what was played fell from 0.99 to 0.45)."""
MAX_DRIFT: Final = 1e-3
"""Sound-card clocks differ by tens of ppm, 100 ppm for poor ones: an estimate beyond 0.1 %
is a delivery hiccup, not a clock, and is clamped."""
MAX_CORRECTION: Final = 1e-3
"""The step never departs more than 0.1 % from the estimate while steering to the line."""


def _sinc_table(taps: int = TAPS, phases: int = PHASES) -> np.ndarray:
    """(phases + 1, taps) filters: row k delays by k / phases of a sample (sum 1 each)."""
    half = taps // 2
    frac = np.arange(phases + 1)[:, None] / phases
    x = np.arange(-half + 1, half + 1)[None, :] - frac  # tap k reads input i - half + 1 + k
    window = np.kaiser(2 * half * 64 + 1, KAISER_BETA)
    pos = (x + half) / (2 * half) * (window.size - 1)
    w = np.interp(pos, np.arange(window.size), window)
    # Cutoff at Nyquist: phase 0 is then the identity (sinc is 0 at the other integers), and
    # at ratios this close to 1 nothing folds back from above it.
    table = np.sinc(x) * w
    table /= table.sum(axis=1, keepdims=True)
    return table.astype(np.float32)


_TABLE: Final = _sinc_table()


class RateMeter:
    """Least-squares delivery rate (samples per second) of one stream against a clock."""

    def __init__(self) -> None:
        self._t0: float | None = None
        self.count = 0
        self._n = 0
        self._st = self._sn = self._stt = self._stn = 0.0
        self.span_s = 0.0
        self._first_samples = 0

    def add(self, samples: int, at: float) -> None:
        """``samples`` more arrived; the block ended at clock time ``at`` (seconds)."""
        self.count += samples
        if self._t0 is None:
            self._t0 = at
            self._first_samples = samples
        t = at - self._t0
        self._n += 1
        self._st += t
        self._sn += self.count
        self._stt += t * t
        self._stn += t * self.count
        self.span_s = t

    @property
    def first_at(self) -> float | None:
        return self._t0

    @property
    def first_samples(self) -> int:
        return self._first_samples

    def rate(self) -> float | None:
        if self._n < 3 or self.span_s < MIN_FIT_S:
            return None
        n = self._n
        var = self._stt - self._st * self._st / n
        if var <= 0:
            return None
        return (self._stn - self._st * self._sn / n) / var

    def start_time(self, rate: float) -> float:
        """Clock time of sample 0 on the fitted line (arrival jitter averaged out)."""
        assert self._t0 is not None and self._n > 0
        intercept = self._sn / self._n - rate * self._st / self._n
        return self._t0 - intercept / rate


@dataclass(frozen=True, slots=True)
class AlignState:
    ratio: float          # follower samples per reference sample (1 + drift)
    error_samples: float  # read position minus the target line, in follower samples


class DriftAligner:
    """Follower samples in, follower samples on the reference's clock out (float32 mono).

    Call ``reference(n, at)`` for every reference block and ``follower(samples, at)`` for every
    follower block (``at``: clock time the block arrived, e.g. time.monotonic()). The first
    follower sample is placed where its arrival says it belongs on the reference timeline
    (zeros before it, or its head dropped, when the two streams started apart).
    """

    def __init__(self, rate_hz: int = 16_000, *, update_every_s: float = 1.0,
                 correct_over_s: float = 10.0) -> None:
        self.rate_hz = rate_hz
        self._update_every_s = update_every_s
        self._correct_samples = correct_over_s * rate_hz
        self._ref = RateMeter()
        self._fol = RateMeter()
        self._ratio = 1.0
        self._step = 1.0
        self._last_update: float | None = None
        self._buf = np.zeros(0, np.float32)
        self._buf_start = 0          # follower index of _buf[0]
        self._pos = 0.0              # follower index (fractional) of the next output sample
        self._start_pos = 0.0        # where output 0 reads the follower
        self._out_count = 0
        self._pending: list[tuple[np.ndarray, float]] = []
        self._placed = False

    @property
    def state(self) -> AlignState:
        target = self._start_pos + self._out_count * self._ratio
        return AlignState(self._ratio, self._pos - target)

    @property
    def drift_ppm(self) -> float:
        return (self._ratio - 1.0) * 1e6

    def reference(self, samples: int, at: float) -> None:
        self._ref.add(samples, at)

    @property
    def pending_samples(self) -> int:
        """Follower samples kept because the reference has not started yet."""
        return sum(int(b.shape[0]) for b, _ in self._pending)

    def drop_pending(self, keep_samples: int) -> int:
        """Let go of the oldest waiting follower blocks beyond ``keep_samples`` (a reference
        that never starts must not grow memory); returns how many samples went."""
        dropped = 0
        while self._pending and self.pending_samples - int(self._pending[0][0].shape[0]) \
                >= keep_samples:
            dropped += int(self._pending.pop(0)[0].shape[0])
        return dropped

    def follower(self, samples: np.ndarray, at: float) -> np.ndarray:
        self._fol.add(int(samples.shape[0]), at)
        if not self._placed:
            if self._ref.first_at is None:  # nothing to align to yet: keep it
                self._pending.append((samples, at))
                return np.zeros(0, np.float32)
            self._place(samples, at)
            pending, self._pending = self._pending, []
            blocks = [b for b, _ in pending] + [samples]
            samples = np.concatenate(blocks) if len(blocks) > 1 else samples
        self._maybe_update(at)
        return self._resample(samples)

    def _place(self, samples: np.ndarray, at: float) -> None:
        """Where follower sample 0 sits on the reference timeline, from the two arrivals."""
        first = self._pending[0] if self._pending else (samples, at)
        assert self._ref.first_at is not None
        fol_start = first[1] - first[0].shape[0] / self.rate_hz
        ref_start = self._ref.first_at - self._ref.first_samples / self.rate_hz
        # Negative read positions read the zeros before the stream: a follower that started
        # later than the reference begins with silence. Refined by the fit later (_update).
        self._start_pos = self._pos = (ref_start - fol_start) * self.rate_hz
        self._placed = True

    def _maybe_update(self, at: float) -> None:
        if self._last_update is not None and at - self._last_update < self._update_every_s:
            return
        self._last_update = at
        r0, r1 = self._ref.rate(), self._fol.rate()
        if r0 is None or r1 is None or r0 <= 0 or r1 <= 0:
            return
        self._ratio = min(1 + MAX_DRIFT, max(1 - MAX_DRIFT, r1 / r0))
        # Follower index at reference sample j: (ref_start - fol_start) * r1 + j * r1 / r0.
        self._start_pos = (self._ref.start_time(r0) - self._fol.start_time(r1)) * r1

    def _resample(self, samples: np.ndarray) -> np.ndarray:
        self._buf = np.concatenate((self._buf, samples.astype(np.float32, copy=False)))
        half = TAPS // 2
        buf_end = self._buf_start + self._buf.shape[0]
        # Steer the step toward the target line (see the module docstring).
        error = self.state.error_samples
        step = self._ratio - max(-MAX_CORRECTION, min(MAX_CORRECTION,
                                                      error / self._correct_samples))
        # Outputs whose whole filter is inside the buffer (or before the stream start).
        last_ok = buf_end - half - 1  # the read position may go up to here
        if self._pos > last_ok:
            return np.zeros(0, np.float32)
        count = int((last_ok - self._pos) // step) + 1
        positions = self._pos + step * np.arange(count)
        base = np.floor(positions).astype(np.int64)
        frac = positions - base
        phase = np.rint(frac * PHASES).astype(np.int64)
        idx = (base - self._buf_start - half + 1)[:, None] + np.arange(TAPS)[None, :]
        padded_before = max(0, -int(idx.min()))  # positions before the stream read zeros
        src = self._buf
        if padded_before:
            src = np.concatenate((np.zeros(padded_before, np.float32), src))
            idx = idx + padded_before
        out = np.einsum("ij,ij->i", src[idx], _TABLE[phase]).astype(np.float32)
        self._pos += step * count
        self._out_count += count
        keep_from = int(np.floor(self._pos)) - half + 1 - self._buf_start
        if keep_from > 0:
            self._buf = self._buf[keep_from:]
            self._buf_start += keep_from
        return out
