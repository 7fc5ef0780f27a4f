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

Where the two streams sit relative to each other comes from the same arrival times. A block
that arrives at clock time ``at`` after ``count`` samples in all says the stream's sample 0 was
captured at ``at - count / rate`` at the latest: every block arrives some time after its last
sample was captured (device buffer, sound-server fragment, and, under CPU load, the wait of the
callback thread for a core and the GIL). The least delayed blocks tell the truth, so each
stream's start is the EARLIEST of these over its recent blocks (``RateMeter.earliest_start``),
not its first block's (measured on a loaded 2-core machine: a first block up to 36 ms later
than the least delayed block of the next two seconds, which put the channels 21 ms apart) and
not the mean of all (the two streams' mean delays differ). The follower is placed only once
both streams have ``PLACE_AFTER_S`` of audio (kept until then); once the rates are fitted,
the placement is re-taken with them every ``update_every_s`` and steered to like a rate
change. Latency that no block ever shows (a device buffer that is never emptied early) stays:
on the test PulseAudio the channels sit ~5 ms apart from it (docs/live.md).

The read position follows a target line: output sample j reads the follower at
``start + (j - j0) * ratio``, with the latest ratio. A changed estimate is therefore not a jump:
the step is steered toward the line over ``correct_over_s`` seconds, so the alignment error at
any time is the error of the current estimate over the whole stream (checked with a simulated
hour at 100 ppm: tests/audio/test_align.py).
"""

from __future__ import annotations

from collections import deque
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
PLACE_AFTER_S: Final = 1.0
"""Audio both streams need before the follower is placed (its blocks wait until then): 25
blocks of 40 ms, enough for one of them to have arrived without a scheduling delay. Less than
the 2 s the recording lets the computer audio lag before it fills silence in."""
RECENT_BLOCKS: Final = 1024
"""Blocks whose arrivals place a stream (~40 s at 40 ms): recent ones, so that the line through
them is exact now even when the fitted rate is a few ppm off."""
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

    def __init__(self, nominal_hz: float = 16_000.0) -> None:
        self.nominal_hz = nominal_hz
        self._recent: deque[tuple[int, float]] = deque(maxlen=RECENT_BLOCKS)
        self._t0: float | None = None
        self.count = 0
        self._n = 0
        self._st = self._sn = self._stt = self._stn = 0.0
        self.span_s = 0.0

    def add(self, samples: int, at: float) -> None:
        """``samples`` more arrived; the block ended at clock time ``at`` (seconds)."""
        self.count += samples
        self._recent.append((self.count, at))
        if self._t0 is None:
            self._t0 = at
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

    def rate(self) -> float | None:
        if self._n < 3 or self.span_s < MIN_FIT_S:
            return None
        n = self._n
        var = self._stt - self._st * self._st / n
        if var <= 0:
            return None
        return (self._stn - self._st * self._sn / n) / var

    def earliest_start(self, rate: float | None = None) -> float:
        """Clock time of sample 0 from the least delayed recent block, at ``rate`` samples per
        second (default: nominal): no block arrives before its samples were captured."""
        assert self._recent
        counts, ats = np.array(self._recent, dtype=np.float64).T
        return float(np.min(ats - counts / (rate or self.nominal_hz)))


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
                 correct_over_s: float = 10.0, pace_x: float = 1.0) -> None:
        """``pace_x``: audio seconds the streams deliver per clock second (1 for devices;
        simulated streams played faster than real time say so, or their arrivals would
        place them wrong)."""
        self.rate_hz = rate_hz
        self._clock_rate_hz = rate_hz * pace_x
        self._place_after_s = PLACE_AFTER_S / pace_x  # clock seconds
        self._update_every_s = update_every_s
        self._correct_samples = correct_over_s * rate_hz
        self._ref = RateMeter(self._clock_rate_hz)
        self._fol = RateMeter(self._clock_rate_hz)
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
            self._pending.append((samples, at))
            if self._ref.first_at is None or min(self._ref.span_s, self._fol.span_s) \
                    < self._place_after_s:  # nothing (or too little) to align to yet: keep it
                return np.zeros(0, np.float32)
            return self.flush()
        self._maybe_update(at)
        return self._resample(samples)

    def flush(self) -> np.ndarray:
        """Place the follower with the history there is and return its waiting samples
        (aligned); nothing while the reference has not started. For the end of a recording
        shorter than ``PLACE_AFTER_S``."""
        if self._placed or not self._pending or self._ref.first_at is None:
            return np.zeros(0, np.float32)
        self._place()
        pending, self._pending = self._pending, []
        samples = np.concatenate([b for b, _ in pending])
        self._last_update = pending[-1][1]
        return self._resample(samples)

    def _place(self) -> None:
        """Where follower sample 0 sits on the reference timeline, from the least delayed
        arrivals of each (module docstring)."""
        # Negative read positions read the zeros before the stream: a follower that started
        # later than the reference begins with silence. Re-taken once rates are fitted.
        self._start_pos = self._pos = self._placement(None, None)
        self._placed = True

    def _placement(self, r0: float | None, r1: float | None) -> float:
        """Follower index at reference sample 0, at the fitted rates (nominal without)."""
        return (self._ref.earliest_start(r0) - self._fol.earliest_start(r1)) \
            * (r1 or self._clock_rate_hz)

    def _maybe_update(self, at: float) -> None:
        if self._last_update is not None and at - self._last_update < self._update_every_s:
            return
        self._last_update = at
        r0, r1 = self._ref.rate(), self._fol.rate()
        if r0 is None or r1 is None or r0 <= 0 or r1 <= 0:
            # No rates yet: the placement stays. Re-taking it from more history moved it by
            # 2-3 ms within seconds on real PulseAudio, and steering there warps the channel
            # (0.1 % for seconds: the far side's correlation with what was played fell to 0.5).
            return
        self._ratio = min(1 + MAX_DRIFT, max(1 - MAX_DRIFT, r1 / r0))
        # Follower index at reference sample j: (ref_start - fol_start) * r1 + j * r1 / r0.
        self._start_pos = self._placement(r0, r1)

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
