"""Keep the far side of a call out of the microphone's segments (loudspeaker bleed).

With loudspeakers instead of headphones, what the computer plays reaches the microphone a few
tens of milliseconds later and some 10-20 dB quieter. Segmenting the microphone alone would
then find "You" speaking whenever the others do. ``BleedGate`` looks at each 10 ms microphone
frame next to the computer-audio channel around the same time: a frame whose energy is
explained by the far side (no louder than the far side at the measured acoustic delay, minus
the measured coupling, plus a margin) is replaced by noise at the microphone's own background
level (its 10th-percentile frame energy over the last 10 s) before the engine hears it:
attenuating it is not enough, the model hears the shape of speech at any level (bleed 40 dB
down still made a segment). The far side's level is held with a decay of 1 dB per frame, as
the room's reverberation holds its sound after each word. A frame where the user speaks over
the far side is louder than the bleed alone and passes, if it is one of a run of at least
40 ms of such frames: a lone frame above the line is a level wobble of the bleed, and let
through it is a click the model takes for a speech onset. Only what the engine hears is
gated: the recording keeps the microphone as it was.

The delay is measured as it goes: every 250 ms, the lag (within the delay window) at which
the two channels' frame energies correlate best over the last 10 s, if they correlate
strongly (r > 0.6) and the far side spoke in them; with the far side speaking and no such
lag, there is no bleed (any more). The far side is read at that lag +-20 ms. Until a delay
is measured nothing is gated: without it there is no evidence of bleed (headphones), and
crosstalk must stay. While the far side speaks and no delay is known yet, microphone frames
wait for one (up to 1 s, once). The coupling (how much quieter the bleed is) is measured
too: the 20th percentile of (microphone dB - far-side dB) over the last 30 s of frames where
the far side is active. Bleed
frames dominate that low percentile while the user speaking over the far side raises only the
upper ones. With headphones the coupling measures very low (-40 dB or less) and the gate only
ever touches frames far quieter than the far side. Until 1 s of far-side activity is seen, a
coupling of -10 dB is assumed.

Frames are decided every 250 ms, ``lookahead_ms`` plus 30 ms late (the far side's frames that
far ahead are needed when the microphone path is faster than the loopback path, and the next
three microphone frames say whether a run of loud frames is long enough): the microphone's
engine hears at most ~0.35 s later than it would without the gate; ``flush()`` returns the
rest. bench/bench_bleed.py measures the gate across delays, couplings, reverberation and
room noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from vaddesk.core.types import FRAME_SHIFT_SAMPLES

INITIAL_FLOOR_DB: Final = -70.0   # a gated frame becomes noise at the mic's background level
FLOOR_PERCENTILE: Final = 10.0
ACTIVE_DB: Final = -45.0          # far-side frames louder than this are "active"
INITIAL_COUPLING_DB: Final = -10.0
HISTORY_FRAMES: Final = 3000      # 30 s of active far-side frames for the coupling estimate
MIN_HISTORY_FRAMES: Final = 100
PERCENTILE: Final = 20.0
DELAY_HISTORY_FRAMES: Final = 1000   # 10 s of frames for the delay estimate
DELAY_EVERY_FRAMES: Final = 25     # estimates updated every 250 ms
MIN_DELAY_CORRELATION: Final = 0.6
"""Bleed correlates 0.8-0.99 at its lag (measured on the tests' calls); two people talking
over each other, 0.25 at most."""
MIN_ACTIVE_FOR_DELAY: Final = 20  # far-side frames the 10 s must hold to say anything
DELAY_SPREAD_FRAMES: Final = 2       # the far side is read at the delay +-20 ms
DECAY_DB_PER_FRAME: Final = 1.0
"""The far side's sound lingers in the room after it stops: the expected bleed of a frame is
at least the previous frame's minus this (60 dB in 0.6 s, a furnished room's RT60); without
it a reverberation tail louder than the far side at the delay made "You" after the far side's
words (bench/bench_bleed.py, RT60 0.5 s)."""
MIN_OPEN_FRAMES: Final = 4
"""A microphone frame louder than the expected bleed passes only within a run of at least this
many such frames (40 ms) where the far side is active: a single frame of bleed above the line
(framing, a level wobble) spliced into the gated noise is a click the model hears as a speech
onset (measured on real PulseAudio: one 10 ms frame at -31 dB in a -61 dB floor started a
"You" segment 500 ms before the user spoke). Speech over the far side lasts longer."""
HOLD_FRAMES: Final = 100
"""While the far side speaks and no delay is measured yet, mic frames wait up to 1 s for one
(once per session: bleed from the first words on is caught, headphones cost 1 s once)."""


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
        self._in_mic = np.zeros(0, np.float32)   # less than a frame, or not yet framed
        self._in_far = np.zeros(0, np.float32)
        self._arrived = 0                        # frames framed so far
        self._hold_expired = False
        self._mic = np.zeros(0, np.float32)      # samples not yet decided
        self._mic_db = np.zeros(0)               # their frames' energies
        self._far_db = np.full(self._back, -100.0)  # far frames from (decided - back) on
        self._held_db = -100.0                   # expected bleed (dB) of the last decided frame
        self._prev_open = np.zeros(MIN_OPEN_FRAMES - 1, bool)  # last decided frames' flags
        self._diffs = np.zeros(HISTORY_FRAMES)
        self._diff_count = 0
        self._coupling_db = INITIAL_COUPLING_DB
        self._gain = 1.0
        self._floor_db = INITIAL_FLOOR_DB
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
        self._in_mic = np.concatenate((self._in_mic, mic.astype(np.float32, copy=False)))
        self._in_far = np.concatenate((self._in_far, far.astype(np.float32, copy=False)))
        out = [np.zeros(0, np.float32)]
        # Whole frames, in pieces that end where the estimates are updated (every
        # DELAY_EVERY_FRAMES frames of the stream): the output never depends on block sizes.
        while self._in_mic.shape[0] >= FRAME_SHIFT_SAMPLES:
            whole = self._in_mic.shape[0] // FRAME_SHIFT_SAMPLES
            take = min(whole, DELAY_EVERY_FRAMES - self._arrived % DELAY_EVERY_FRAMES)
            n = take * FRAME_SHIFT_SAMPLES
            self._arrive(self._in_mic[:n], self._in_far[:n])
            self._in_mic, self._in_far = self._in_mic[n:], self._in_far[n:]
            # Decisions and estimates only at the boundaries, decisions first: every frame is
            # decided at the same point of the stream whatever the block sizes (live blocks,
            # a file read later), so the same audio always gives the same output.
            if self._arrived % DELAY_EVERY_FRAMES == 0:
                ready, known = self._ready()
                # The last MIN_OPEN_FRAMES - 1 known frames wait: they tell whether a run
                # of open frames just before them is long enough.
                out.append(self._decide(min(ready, known - (MIN_OPEN_FRAMES - 1)), known))
                self._update_estimates()
        return np.concatenate(out) if len(out) > 2 else out[-1]

    def _arrive(self, mic: np.ndarray, far: np.ndarray) -> None:
        mic_db, far_db = frame_db(mic), frame_db(far)
        self._mic = np.concatenate((self._mic, mic))
        self._mic_db = np.concatenate((self._mic_db, mic_db))
        self._far_db = np.concatenate((self._far_db, far_db))
        self._hist_mic = np.concatenate((self._hist_mic, mic_db))[-DELAY_HISTORY_FRAMES:]
        self._hist_far = np.concatenate((self._hist_far, far_db))[-DELAY_HISTORY_FRAMES:]
        self._arrived += mic_db.shape[0]

    def _ready(self) -> tuple[int, int]:
        """(frames that can be decided, frames whose far-side window is known): the first are
        those of the second not waiting for a delay (see HOLD_FRAMES)."""
        ready = known = max(0, min(self._mic_db.shape[0],
                                   self._far_db.shape[0] - self._back - self._ahead))
        if self.delay_frames is not None or self._hold_expired or ready == 0:
            return ready, known
        width = self._back + self._ahead + 1
        windows = np.lib.stride_tricks.sliding_window_view(
            self._far_db[:ready + width - 1], width)
        active = np.flatnonzero(windows.max(axis=1) > ACTIVE_DB)
        if active.size == 0:
            return ready, known
        first = int(active[0])
        if self._arrived - (self.frames + first) > HOLD_FRAMES:
            self._hold_expired = True  # no bleed evidence in time: headphones, stop waiting
            return ready, known
        return first, known

    def flush(self) -> np.ndarray:
        """The frames held back, and any partial frame (ungated)."""
        n = self._mic_db.shape[0]
        out = self._decide(n, n)
        rest = np.concatenate((self._mic, self._in_mic))  # a partial frame at most
        self._mic = self._in_mic = self._in_far = np.zeros(0, np.float32)
        return np.concatenate((out, rest))

    def _decide(self, count: int, known: int) -> np.ndarray:
        """Gate the next ``count`` frames; frames up to ``known`` are looked at (not decided)
        for the length of open runs."""
        if count <= 0:
            return np.zeros(0, np.float32)
        bleed_now, expected, loudest = self._bleed_flags(known)
        # The runs of open frames (active, louder than the expected bleed) around the decided
        # ones: the last decided frames' flags before, the known frames after.
        open_ = np.concatenate((self._prev_open, ~bleed_now & (expected > ACTIVE_DB)))
        k = self._prev_open.shape[0]
        short = _short_runs(open_, MIN_OPEN_FRAMES)[k:k + count]
        bleed = bleed_now[:count] | short
        self._prev_open = open_[:k + count][-k:]
        self._held_db = float(expected[count - 1])
        # The coupling is learned against the far side itself, not the reverberation hold:
        # the hold's tails (quieter on the mic than the hold when the room is dry) would drag
        # the low percentile down and with it the line.
        active = loudest[:count] > ACTIVE_DB
        self._learn((self._mic_db[:count] - loudest[:count])[active])
        gains = np.where(bleed, 0.0, 1.0)
        # Per-sample gain ramps from the previous frame's gain: no clicks for the engine.
        ramp = np.linspace(0.0, 1.0, FRAME_SHIFT_SAMPLES, endpoint=False)
        prev = np.concatenate(([self._gain], gains[:-1]))
        per_sample = (prev[:, None] + (gains - prev)[:, None] * ramp[None, :]).reshape(-1)
        self._gain = float(gains[-1])
        n = count * FRAME_SHIFT_SAMPLES
        # The background the user's room has: a quieter or louder "hole" where a bleed frame
        # was would itself look like an event to the model (measured: with a fixed -70 dB
        # floor in a -61 dB room, the few bleed frames left ungated around a gated stretch
        # made a segment; at the room's level they did not).
        floor = self._rng.standard_normal(n) * 10 ** (self._floor_db / 20)
        out = (self._mic[:n] * per_sample + floor * (1.0 - per_sample)).astype(np.float32)
        self._mic = self._mic[n:]
        self._mic_db = self._mic_db[count:]
        self._far_db = self._far_db[count:]
        self.frames += count
        self.gated_frames += int(bleed.sum())
        return out

    def _bleed_flags(self, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(is bleed, expected far-side dB with the room's reverberation, far-side dB at the
        delay) of the next ``count`` frames (not yet decided)."""
        far = self._far_db
        width = self._back + self._ahead + 1
        pad = max(0, count + width - 1 - far.shape[0])
        if pad:
            far = np.concatenate((far, np.full(pad, -100.0)))
        if self.delay_frames is None:  # nothing is active: nothing is gated
            silent = np.full(count, -100.0)
            return np.zeros(count, bool), silent, silent
        # window of frame i: far[i .. i + back + ahead] (far[0] is `back` frames before i=0);
        # column `back` of a window is the same time as the mic frame
        windows = np.lib.stride_tricks.sliding_window_view(far[:count + width - 1], width)
        at = self._back - self.delay_frames
        lo, hi = max(0, at - DELAY_SPREAD_FRAMES), min(width, at + DELAY_SPREAD_FRAMES + 1)
        loudest = windows[:, lo:hi].max(axis=1)
        # The room's reverberation: the expected bleed decays no faster than DECAY_DB_PER_FRAME
        # (a running max of loudest[j] - decay * (i - j), the previous frame's included).
        steps = DECAY_DB_PER_FRAME * np.arange(count + 1)
        held = np.maximum.accumulate(np.concatenate(([self._held_db], loudest)) + steps)
        expected = (held - steps)[1:]
        diff = self._mic_db[:count] - expected
        active = expected > ACTIVE_DB
        return active & (diff < self._coupling_db + self.settings.margin_db), expected, loudest

    def _update_estimates(self) -> None:
        """Every 250 ms: the coupling from the collected differences, and the acoustic delay
        over the last 10 s (see the module docstring)."""
        if self._hist_mic.shape[0] >= MIN_HISTORY_FRAMES:
            self._floor_db = float(np.percentile(self._hist_mic, FLOOR_PERCENTILE))
        filled = min(self._diff_count, HISTORY_FRAMES)
        if filled >= MIN_HISTORY_FRAMES:
            self._coupling_db = float(np.percentile(self._diffs[:filled], PERCENTILE))
        n = self._hist_mic.shape[0]
        if n < 2 * (self._back + self._ahead) or \
                int((self._hist_far > ACTIVE_DB).sum()) < MIN_ACTIVE_FOR_DELAY:
            return  # the far side has not spoken lately: nothing to learn the delay from
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
        self.delay_frames = best

    def _learn(self, diffs: np.ndarray) -> None:
        if diffs.size == 0:
            return
        diffs = diffs[-HISTORY_FRAMES:]
        idx = (self._diff_count + np.arange(diffs.size)) % HISTORY_FRAMES
        self._diffs[idx] = diffs
        self._diff_count += diffs.size


def _short_runs(flags: np.ndarray, min_len: int) -> np.ndarray:
    """True where ``flags`` is True in a run of fewer than ``min_len`` Trues."""
    edges = np.diff(np.concatenate(([0], flags.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    out = np.zeros(flags.shape[0], bool)
    for start, end in zip(starts, ends, strict=True):
        if end - start < min_len:
            out[start:end] = True
    return out
