"""The boundary stage: segments straight from the cached frame scores, by hysteresis.

The reference's machine (see ``detector``) decides from a 200 ms window of thresholded frames,
back-dates starts by its look-back and keeps a look-ahead after the last speech: its segments
start about 250 ms before the words and end about 200 ms after them. The network's frame
scores are sharper than that. With ``boundary_stage`` on, this stage replaces the machine and
works from the scores alone (no second network pass, so ``resegment()`` stays instant):

* Scores: ``s = 1 - p0`` per 10 ms frame, in thousandths (integers, so that sums over any
  split of the stream are exact and streaming gives bit for bit the offline decisions); frames
  quieter than ``decibel_thres_db`` score 0. ``score_smooth_ms`` averages them over a centred
  window of that many milliseconds (cut at the file's edges: the mean of the frames there).
* Hysteresis: a frame is *confident* when its score >= ``enter_score`` and *active* when it
  is >= ``exit_score``. A segment opens at a confident frame, back-dated to the start of the
  run of active frames it belongs to (at most ``BACKTRACK_MAX_MS`` back, and less than
  ``max_segment_ms``). It goes on while
  frames are active or the silence between them is shorter than ``min_silence_ms``; it ends
  after its last active frame (trimmed: no look-ahead).
* ``max_segment_ms`` cuts a segment that grows that long; the next confident frame (from the
  cut on) opens the next one.
* Then the shaper of ``postprocess`` applies ``min_segment_ms`` and the pads, as everywhere.

Ignored while the stage is on: the window, threshold and end-silence parameters of the
reference (window_size_ms ... lookahead_end_ms, speech_noise_thres, speech_to_noise_ratio,
snr_thres_db, split_at_pause, dynamic_end_silence). ``detect_mode`` 'single' is refused by
VadParams.

Streaming: a frame is decided once the frames its smoothing window needs have arrived (half a
window later); a segment closes ``min_silence_ms`` after its last active frame. The decisions
are those of an offline run (same integer arithmetic, same rules, see the tests).
"""

from __future__ import annotations

import enum
from typing import Final

import numpy as np

from vaddesk.core.params import VadParams
from vaddesk.core.postprocess import SegmentShaper
from vaddesk.core.types import FRAME_SHIFT_MS, Segment, SegmentClosed, VadEvent

SCORE_SCALE: Final = 1000
"""Scores are compared in thousandths: integer sums are exact in any order."""
BACKTRACK_MAX_MS: Final = 1000
"""A start is back-dated over a run of active frames by at most this much (bounded memory)."""
_BACKTRACK_FRAMES: Final = BACKTRACK_MAX_MS // FRAME_SHIFT_MS
_HISTORY_FRAMES: Final = 128
"""Scores kept after a push: the widest smoothing window (1 s: 49 frames before and 50 after
a frame) fits, so set_params() can widen it live."""
_SMALL_PUSH_FRAMES: Final = 16
"""Pushes of up to this many frames (a streaming push) are decided in plain Python, frame by
frame: numpy's per-call cost would dominate there. Same integer rules, same decisions."""
_NEVER: Final = 1 << 62


class _State(enum.Enum):
    IDLE = "idle"
    OPEN = "open"


def quantized_scores(p0: np.ndarray, energy_db: np.ndarray, decibel_thres_db: float) -> np.ndarray:
    """Speech scores ``1 - p0`` in thousandths (int64); frames below the energy gate are 0."""
    q = np.rint((1.0 - np.asarray(p0, dtype=np.float32).astype(np.float64)) * SCORE_SCALE)
    out = q.astype(np.int64)
    if decibel_thres_db > -100.0:
        out[np.asarray(energy_db, dtype=np.float64) < decibel_thres_db] = 0
    return out


def smoothing_halves(params: VadParams) -> tuple[int, int]:
    """Frames before and after a frame in its smoothing window."""
    n = params.score_smooth_ms // FRAME_SHIFT_MS
    return (n - 1) // 2, n // 2


class _Machine:
    """The hysteresis rules over decided frames, one run of frames at a time (not per frame:
    an hour is 360 000 frames and re-segmentation must stay instant)."""

    def __init__(self, params: VadParams, shaper: SegmentShaper) -> None:
        self._shaper = shaper
        self.set_params(params)
        self.reset()

    def set_params(self, params: VadParams) -> None:
        self._min_sil = params.min_silence_ms // FRAME_SHIFT_MS
        self._max_seg = params.max_segment_ms // FRAME_SHIFT_MS

    def reset(self) -> None:
        self.state = _State.IDLE
        self.run_start: int | None = None  # IDLE: start of the active run the last frame is in
        self.start = 0  # OPEN: first frame of the segment
        self.last_act = 0  # OPEN: last active frame so far

    def earliest_next_start(self, frontier: int) -> int:
        """No later segment can start before this frame (for the shaper's end padding)."""
        if self.state is _State.OPEN:
            return frontier
        if self.run_start is not None:
            return max(self.run_start, frontier - _BACKTRACK_FRAMES)
        return frontier

    def run(self, act: np.ndarray, conf: np.ndarray, p: int) -> list[VadEvent]:
        """Apply the rules to decided frames ``p .. p + len(act)`` (absolute indices).

        The loop turns once per segment edge: confident frames, silent frames and the long
        silences (>= min_silence_ms) are found with binary searches in index arrays.
        """
        q = p + act.shape[0]
        if q == p:
            return []
        silent = ~act
        act_idx = np.flatnonzero(act) + p
        non_idx = np.flatnonzero(silent) + p
        conf_idx = np.flatnonzero(conf) + p
        # runs of silent frames; one that goes on from before the chunk starts after last_act
        run_from = np.flatnonzero(silent & ~np.concatenate(([False], silent[:-1]))) + p
        run_to = np.flatnonzero(silent & ~np.concatenate((silent[1:], [False]))) + p + 1
        if self.state is _State.OPEN and run_from.size and run_from[0] == p:
            run_from[0] = self.last_act + 1
        long_from = run_from[run_to - run_from >= self._min_sil]
        events: list[VadEvent] = []
        f = p
        while f < q:
            if self.state is _State.IDLE:
                i = int(np.searchsorted(conf_idx, f))
                c = int(conf_idx[i]) if i < conf_idx.size else q
                # start of the active run that frame c (or the chunk's end) is in
                j = int(np.searchsorted(non_idx, c)) - 1
                if j >= 0 and non_idx[j] >= f:
                    rs = int(non_idx[j]) + 1
                else:
                    rs = self.run_start if self.run_start is not None else f
                if c >= q:  # no confident frame left: remember the run for a later back-date
                    self.run_start = rs if act[q - 1 - p] else None
                    return events
                # (never back so far that the segment is already longer than the maximum)
                start = max(rs, c - _BACKTRACK_FRAMES, c - self._max_seg + 1)
                events += self._shaper.on_open(start * FRAME_SHIFT_MS)
                self.state, self.start, self.last_act, self.run_start = _State.OPEN, start, c, None
                f = c + 1
                continue
            # OPEN: frames (last_act, f) are silent. The segment ends at the first long
            # silence after last_act, unless the cut at start + max_seg comes first.
            cut = self.start + self._max_seg
            k = int(np.searchsorted(long_from, self.last_act + 1))
            silence_end = int(long_from[k]) - 1 + self._min_sil if k < long_from.size else _NEVER
            if cut <= silence_end:
                upto = min(cut, q)
                a = int(np.searchsorted(act_idx, upto)) - 1
                if a >= 0 and act_idx[a] >= f:
                    self.last_act = int(act_idx[a])
                if cut >= q:
                    return events  # decided later
                f = cut
            else:
                self.last_act = int(long_from[k]) - 1
                f = silence_end + 1
            events += self._shaper.on_close((self.last_act + 1) * FRAME_SHIFT_MS)
            self.state, self.run_start = _State.IDLE, None
        return events

    def step(self, acts: list[bool], confs: list[bool], p: int) -> list[VadEvent]:
        """:meth:`run` frame by frame in plain Python (for a few frames: a streaming push)."""
        events: list[VadEvent] = []
        min_sil, max_seg = self._min_sil, self._max_seg
        for f, (act, conf) in enumerate(zip(acts, confs, strict=True), p):
            if self.state is _State.OPEN and f - self.start >= max_seg:  # the cut
                events += self._shaper.on_close((self.last_act + 1) * FRAME_SHIFT_MS)
                self.state, self.run_start = _State.IDLE, None
            if self.state is _State.IDLE:
                if not act:
                    self.run_start = None
                    continue
                if self.run_start is None:
                    self.run_start = f
                if conf:
                    start = max(self.run_start, f - _BACKTRACK_FRAMES, f - max_seg + 1)
                    events += self._shaper.on_open(start * FRAME_SHIFT_MS)
                    self.state, self.start, self.last_act = _State.OPEN, start, f
                    self.run_start = None
                continue
            if act:
                self.last_act = f
            elif f - self.last_act >= min_sil:
                events += self._shaper.on_close((self.last_act + 1) * FRAME_SHIFT_MS)
                self.state, self.run_start = _State.IDLE, None
        return events

    def finish(self) -> list[VadEvent]:
        if self.state is _State.OPEN:
            self.state = _State.IDLE
            return self._shaper.on_close((self.last_act + 1) * FRAME_SHIFT_MS)
        return []


class BoundaryStage:
    """Streaming boundary stage over per-frame (p0, energy_db); the detector's interface.

    ``push`` takes the next frames and returns the events they decided; ``finish`` ends the
    stream. ``frame_offset`` places frame 0 of this stage later in the stream (the engine
    switches to the stage mid-stream when the parameters change live).
    """

    def __init__(self, params: VadParams, frame_offset: int = 0) -> None:
        self._params = params
        self._offset = frame_offset
        self._shaper = SegmentShaper(params)
        self._machine = _Machine(params, self._shaper)
        self.reset()

    @property
    def params(self) -> VadParams:
        return self._params

    def set_params(self, params: VadParams) -> None:
        """New values apply to frames decided from now on (the smoothing window too)."""
        self._params = params
        self._shaper.set_params(params)
        self._machine.set_params(params)

    def reset(self) -> None:
        self._shaper.reset()
        self._machine.reset()
        self._hist: list[int] = []  # scores of the last frames: [_hist_base, _pushed)
        self._hist_base = self._offset
        self._pushed = self._offset
        self._decided = self._offset

    @property
    def frames_done(self) -> int:
        return self._pushed

    @property
    def is_speech_detected(self) -> bool:
        return self._shaper.open_start_ms is not None

    @property
    def open_start_ms(self) -> int | None:
        return self._shaper.open_start_ms

    def push(self, p0: np.ndarray, energy_db: np.ndarray, *, last: bool = False) -> list[VadEvent]:
        p0 = np.asarray(p0, dtype=np.float32).reshape(-1)
        energy = np.asarray(energy_db, dtype=np.float64).reshape(-1)
        m = p0.shape[0]
        if m != energy.shape[0]:
            raise ValueError(f"p0 and energy_db differ in length ({m} vs {energy.shape[0]})")
        if m == 0:
            return self._progress()
        if m <= _SMALL_PUSH_FRAMES and not last:
            return self._push_small(p0.tolist(), energy.tolist())
        q_new = quantized_scores(p0, energy, self._params.decibel_thres_db)
        q = np.concatenate([np.array(self._hist, dtype=np.int64), q_new])
        q_base = self._hist_base
        self._pushed += m
        events = self._decide(q, q_base, last)
        self._hist = q[-_HISTORY_FRAMES:].tolist()
        self._hist_base = self._pushed - len(self._hist)
        return events

    def _push_small(self, probs: list[float], energies: list[float]) -> list[VadEvent]:
        """A streaming push: scores, windows and rules in Python ints (see quantized_scores
        and _thresholds for the same operations on arrays; round() is numpy's rint)."""
        params = self._params
        gate = params.decibel_thres_db
        hist = self._hist
        if gate > -100.0:
            hist += [0 if e < gate else round((1.0 - x) * SCORE_SCALE)
                     for x, e in zip(probs, energies, strict=True)]
        else:
            hist += [round((1.0 - x) * SCORE_SCALE) for x in probs]
        self._pushed += len(probs)
        before, after = smoothing_halves(params)
        upto = self._pushed - after
        events: list[VadEvent] = []
        if upto > self._decided:
            enter = round(params.enter_score * SCORE_SCALE)
            exit_ = round(params.exit_score * SCORE_SCALE)
            base, first = self._hist_base, self._offset
            acts, confs = [], []
            for f in range(self._decided, upto):
                lo = max(f - before, first)
                total = sum(hist[lo - base:f + after + 1 - base])
                count = f + after + 1 - lo
                acts.append(total >= exit_ * count)
                confs.append(total >= enter * count)
            events = self._machine.step(acts, confs, self._decided)
            self._decided = upto
        if len(hist) > 2 * _HISTORY_FRAMES:
            del hist[:len(hist) - _HISTORY_FRAMES]
            self._hist_base = self._pushed - _HISTORY_FRAMES
        return events + self._progress()

    def _decide(self, q: np.ndarray, q_base: int, last: bool) -> list[VadEvent]:
        before, after = smoothing_halves(self._params)
        upto = self._pushed if last else self._pushed - after
        events: list[VadEvent] = []
        if upto > self._decided:
            act, conf = _thresholds(q, q_base, self._offset, self._pushed, self._decided, upto,
                                    before, after, self._params)
            events += self._machine.run(act, conf, self._decided)
            self._decided = upto
        return events + self._progress()

    def _progress(self) -> list[VadEvent]:
        """Publish a close held for its end pad once no later segment can start inside it."""
        if not self._shaper.holds_close:
            return []
        return self._shaper.on_progress(
            self._machine.earliest_next_start(self._decided) * FRAME_SHIFT_MS,
            self._decided * FRAME_SHIFT_MS)

    def finish(self) -> list[VadEvent]:
        """End of stream: the last frames are decided with the window cut at the end."""
        events = self._decide(np.array(self._hist, dtype=np.int64), self._hist_base, last=True)
        events += self._machine.finish()
        events += self._shaper.on_finish(self._pushed * FRAME_SHIFT_MS)
        return events


def _thresholds(q: np.ndarray, q_base: int, first: int, end: int, lo: int, hi: int,
                before: int, after: int, params: VadParams) -> tuple[np.ndarray, np.ndarray]:
    """Active and confident flags of frames [lo, hi): windows [f-before, f+after] cut to the
    frames [first, end) of the stream; ``q`` holds frames from ``q_base``."""
    enter = round(params.enter_score * SCORE_SCALE)
    exit_ = round(params.exit_score * SCORE_SCALE)
    if before == 0 and after == 0:  # no smoothing: each frame on its own
        own = q[lo - q_base:hi - q_base]
        return own >= exit_, own >= enter
    a = max(lo - before, first)
    b = min(hi + after, end)
    csum = np.zeros(b - a + 1, dtype=np.int64)
    np.cumsum(q[a - q_base:b - q_base], out=csum[1:])
    idx = np.arange(lo, hi, dtype=np.int64)
    left = np.maximum(idx - before, first) - a
    right = np.minimum(idx + after + 1, end) - a
    total = csum[right] - csum[left]
    count = right - left
    return total >= exit_ * count, total >= enter * count


def stage_segments(p0: np.ndarray, energy_db: np.ndarray, params: VadParams) -> list[Segment]:
    """Segments of a whole stream by the boundary stage (the offline form of BoundaryStage)."""
    stage = BoundaryStage(params)
    events = stage.push(p0, energy_db, last=True) + stage.finish()
    return [e.segment for e in events if isinstance(e, SegmentClosed)]
