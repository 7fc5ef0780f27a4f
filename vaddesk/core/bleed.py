"""Keep the far side of a call out of the microphone's segments (loudspeaker bleed).

With loudspeakers instead of headphones, what the computer plays reaches the microphone a few
tens of milliseconds later and some 10-20 dB quieter. Segmenting the microphone alone would
then find "You" speaking whenever the others do. ``BleedGate`` looks at each 10 ms microphone
frame next to the computer-audio channel around the same time: a frame whose energy is
explained by the far side (no louder than the far side at the measured acoustic delay, minus
the measured coupling, plus a margin) is replaced by a quiet noise floor (-70 dBFS) before
the engine hears it: attenuating it is not enough, the model hears the shape of speech at any
level (bleed 40 dB down still made a segment). A frame where the user speaks over the far
side is louder than the bleed alone and passes. Only what the engine hears is gated: the
recording keeps the microphone as it was.

The delay is measured as it goes: every second, the lag (within the delay window) at which
the two channels' frame energies correlate best over the last 10 s, if they correlate at all
(r > 0.3); the far side is read at that lag +-20 ms. Until a delay is measured, the loudest
far-side frame of the whole window is used. The coupling (how much quieter the bleed is) is
measured too: the 20th percentile of (microphone dB - far-side dB) over the last 30 s of
frames where the far side is active. Bleed
frames dominate that low percentile while the user speaking over the far side raises only the
upper ones. With headphones the coupling measures very low (-40 dB or less) and the gate only
ever touches frames far quieter than the far side. Until 1 s of far-side activity is seen, a
coupling of -10 dB is assumed.

Frames are decided ``lookahead_ms`` late (the far side's frames that far ahead are needed when
the microphone path is faster than the loopback path); ``flush()`` returns the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from vaddesk.core.types import FRAME_SHIFT_SAMPLES

FLOOR_NOISE_RMS: Final = 10 ** (-70 / 20)  # what a gated frame becomes
ACTIVE_DB: Final = -45.0          # far-side frames louder than this are "active"
INITIAL_COUPLING_DB: Final = -10.0
HISTORY_FRAMES: Final = 3000      # 30 s of active far-side frames for the coupling estimate
MIN_HISTORY_FRAMES: Final = 100
PERCENTILE: Final = 20.0
DELAY_HISTORY_FRAMES: Final = 1000   # 10 s of frames for the delay estimate
DELAY_EVERY_FRAMES: Final = 100
MIN_DELAY_CORRELATION: Final = 0.3
DELAY_SPREAD_FRAMES: Final = 2       # the far side is read at the delay +-20 ms


@dataclass(frozen=True, slots=True)
class BleedSettings:
    max_delay_ms: int = 250     # bleed arrives up to this late on the mic
    lookahead_ms: int = 60      # ... or this early (the loopback path being slower)
    margin_db: float = 8.0      # how much louder than the expected bleed a frame must be


def frame_db(samples: np.ndarray) -> np.ndarray:
    """Mean-square energy in dB of each whole 10 ms frame."""
    n = samples.shape[0] // FRAME_SHIFT_SAMPLES
    frames = samples[:n * FRAME_SHIFT_SAMPLES].reshape(n, FRAME_SHIFT_SAMPLES)
    power = np.einsum("ij,ij->i", frames, frames, dtype=np.float64) / FRAME_SHIFT_SAMPLES
    return np.asarray(10.0 * np.log10(power + 1e-10))


class BleedGate:
    """Feed equal-length blocks of microphone and far-side audio; get the gated microphone
    (delayed by ``lookahead_ms`` and whole frames; ``flush()`` at the end)."""

    def __init__(self, settings: BleedSettings | None = None) -> None:
        self.settings = s = settings or BleedSettings()
        self._ahead = s.lookahead_ms // 10
        self._back = s.max_delay_ms // 10
        self._mic = np.zeros(0, np.float32)      # samples not yet decided
        self._mic_db = np.zeros(0)               # their frames' energies
        self._far_tail = np.zeros(0, np.float32) # < one frame of far samples
        self._far_db = np.full(self._back, -100.0)  # far frames from (decided - back) on
        self._diffs = np.zeros(HISTORY_FRAMES)
        self._diff_count = 0
        self._coupling_db = INITIAL_COUPLING_DB
        self._gain = 1.0
        self._rng = np.random.default_rng(0)  # the same input always gives the same output
        self._hist_mic = np.zeros(0)
        self._hist_far = np.zeros(0)   # far frame at the same time as _hist_mic's
        self.delay_frames: int | None = None
        self.gated_frames = 0
        self.frames = 0

    @property
    def coupling_db(self) -> float:
        return self._coupling_db

    def process(self, mic: np.ndarray, far: np.ndarray) -> np.ndarray:
        if mic.shape != far.shape:
            raise ValueError(f"mic {mic.shape} and far side {far.shape} differ in length")
        self._mic = np.concatenate((self._mic, mic.astype(np.float32, copy=False)))
        far_all = np.concatenate((self._far_tail, far.astype(np.float32, copy=False)))
        new_far = frame_db(far_all)
        self._far_tail = far_all[new_far.shape[0] * FRAME_SHIFT_SAMPLES:]
        self._far_db = np.concatenate((self._far_db, new_far))
        whole = self._mic.shape[0] // FRAME_SHIFT_SAMPLES - self._mic_db.shape[0]
        start = self._mic_db.shape[0] * FRAME_SHIFT_SAMPLES
        self._mic_db = np.concatenate((self._mic_db,
                                       frame_db(self._mic[start:start
                                                          + whole * FRAME_SHIFT_SAMPLES])))
        # Decidable: frames whose far-side window (up to `ahead` frames later) is known.
        ready = max(0, min(self._mic_db.shape[0],
                           self._far_db.shape[0] - self._back - self._ahead))
        return self._decide(ready)

    def flush(self) -> np.ndarray:
        """The frames held back for the look-ahead, and any partial frame (ungated)."""
        out = self._decide(self._mic_db.shape[0])
        rest, self._mic = self._mic, np.zeros(0, np.float32)
        return np.concatenate((out, rest))

    def _decide(self, count: int) -> np.ndarray:
        """Decide `count` frames, in pieces that end where the estimates are updated (every
        DELAY_EVERY_FRAMES frames of the stream): the output never depends on block sizes."""
        parts = [np.zeros(0, np.float32)]
        while count > 0:
            take = min(count, DELAY_EVERY_FRAMES - self.frames % DELAY_EVERY_FRAMES)
            parts.append(self._decide_piece(take))
            count -= take
            if self.frames % DELAY_EVERY_FRAMES == 0:
                self._update_estimates()
        return np.concatenate(parts) if len(parts) > 2 else parts[-1]

    def _decide_piece(self, count: int) -> np.ndarray:
        far = self._far_db
        width = self._back + self._ahead + 1
        pad = max(0, count + width - 1 - far.shape[0])
        if pad:
            far = np.concatenate((far, np.full(pad, -100.0)))
        # window of frame i: far[i .. i + back + ahead] (far[0] is `back` frames before i=0)
        windows = np.lib.stride_tricks.sliding_window_view(far[:count + width - 1], width)
        mic_db = self._mic_db[:count]
        self._hist_mic = np.concatenate((self._hist_mic, mic_db))[-DELAY_HISTORY_FRAMES:]
        self._hist_far = np.concatenate((self._hist_far, far[self._back:self._back + count])
                                        )[-DELAY_HISTORY_FRAMES:]
        if self.delay_frames is None:
            loudest = windows.max(axis=1)
        else:  # column `back` of a window is the same time as the mic frame
            at = self._back - self.delay_frames
            lo, hi = max(0, at - DELAY_SPREAD_FRAMES), min(width, at + DELAY_SPREAD_FRAMES + 1)
            loudest = windows[:, lo:hi].max(axis=1)
        diff = mic_db - loudest
        active = loudest > ACTIVE_DB
        if self.delay_frames is not None:  # the whole window's max would understate it
            self._learn(diff[active])
        bleed = active & (diff < self._coupling_db + self.settings.margin_db)
        gains = np.where(bleed, 0.0, 1.0)
        # Per-sample gain ramps from the previous frame's gain: no clicks for the engine.
        ramp = np.linspace(0.0, 1.0, FRAME_SHIFT_SAMPLES, endpoint=False)
        prev = np.concatenate(([self._gain], gains[:-1]))
        per_sample = (prev[:, None] + (gains - prev)[:, None] * ramp[None, :]).reshape(-1)
        self._gain = float(gains[-1])
        n = count * FRAME_SHIFT_SAMPLES
        floor = self._rng.standard_normal(n) * FLOOR_NOISE_RMS
        out = (self._mic[:n] * per_sample + floor * (1.0 - per_sample)).astype(np.float32)
        self._mic = self._mic[n:]
        self._mic_db = self._mic_db[count:]
        self._far_db = self._far_db[count:]
        self.frames += count
        self.gated_frames += int(bleed.sum())
        return out

    def _update_estimates(self) -> None:
        """Every second: the coupling from the collected differences, and the acoustic delay
        over the last 10 s (see the module docstring)."""
        filled = min(self._diff_count, HISTORY_FRAMES)
        if filled >= MIN_HISTORY_FRAMES:
            self._coupling_db = float(np.percentile(self._diffs[:filled], PERCENTILE))
        n = self._hist_mic.shape[0]
        if n < 2 * (self._back + self._ahead):
            return
        # dB above a -60 dB floor: silence weighs nothing, loud frames most.
        m = np.maximum(self._hist_mic, -60.0) + 60.0
        f = np.maximum(self._hist_far, -60.0) + 60.0
        best, best_r = None, MIN_DELAY_CORRELATION
        for lag in range(-self._ahead, self._back + 1):  # mic[t] vs far[t - lag]
            a = m[max(lag, 0):n + min(lag, 0)]
            b = f[max(-lag, 0):n - max(lag, 0)]
            if a.std() < 1e-6 or b.std() < 1e-6:
                continue
            r = float(np.corrcoef(a, b)[0, 1])
            if r > best_r:
                best, best_r = lag, r
        if best is not None:
            self.delay_frames = best

    def _learn(self, diffs: np.ndarray) -> None:
        if diffs.size == 0:
            return
        diffs = diffs[-HISTORY_FRAMES:]
        idx = (self._diff_count + np.arange(diffs.size)) % HISTORY_FRAMES
        self._diffs[idx] = diffs
        self._diff_count += diffs.size
