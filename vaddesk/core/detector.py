"""Endpoint detector: the reference's smoothing window and start/end state machine, frame-exact.

The reference (FunASR ``E2EVadModel``) walks every frame through a 20-frame window and a
three-state machine, moving a "data buffer" pointer as it goes. This module computes the same
segments without visiting frames one by one: frame decisions and window sums are numpy arrays,
and the state machine jumps from one window flip to the next. A streaming push of a few frames
(<= 16) does the same in plain Python over lists, because there numpy's per-call cost, and the
cache misses of its code between two network calls, would dominate. It is causal, so feeding
frames in blocks of any size gives the same events at the same frames; memory is bounded by the
window (plus, with ``split_at_pause``, one segment of history).

Reference behaviour reproduced (F = 10 ms frames; W, T1, T2 = window, sil->speech and
speech->sil thresholds in frames):

* Window: the number of speech decisions among the last W frames *since the last segment end*
  (the reference resets its window after every end). Silence -> speech when the sum >= T1;
  speech -> silence when the sum <= T2.
* Start: at the silence -> speech flip at frame t the segment starts at
  ``max(data_start, t - (W + lookback))``; ``data_start`` is the reference's data-buffer pointer,
  one past the previous segment's last frame (two past it when ``extend`` is off, a quirk of
  the reference's bookkeeping that we keep because it moves starts).
* End: after a speech -> silence flip at frame f, the end is decided at frame
  ``e = f + k`` (``k = (max_end_silence - speech_to_sil) / F``) unless the window flips back
  first; the segment's last frame is ``e - max(0, k - lookahead - 1)`` (``e - k`` without
  extend), i.e. ``f + min(k, lookahead + 1)``.
  ``end_ms = (end_frame + 1) * 10``, ``start_ms = start_frame * 10``.
* Hard cut: at the first frame after the opening flip with ``t - start + 1 > max_segment``
  the segment ends at ``t`` (a silence-count end at the same frame wins).
* ``detect_mode`` single: stop after the first segment, or give up when no speech started
  within ``max_start_silence_ms``.
* End of stream: an open segment closes at the last frame.

Beyond the reference (all off in the ``funasr`` preset):

* ``split_at_pause``: at the hard-cut frame, a segment in a pause (window already silent) ends
  at that pause as if its end silence had elapsed; a segment in speech is split at the longest
  run of silence decisions in its second half up to the limit (frames
  [start + max_segment/2, cut]; ties: the latest; no silent frame: the lowest speech score
  smoothed over the window). The split is at the middle of the run: the first part ends and
  the remainder opens there and continues as a new segment (no part exceeds the limit; every
  part ended by a split is at least half of it). History kept: one segment.
* ``dynamic_end_silence``: the end silence shrinks as the segment grows, see
  :func:`dynamic_end_silence_ms`.
"""

from __future__ import annotations

import enum
import logging
from bisect import bisect_right
from typing import Final

import numpy as np

from vaddesk.core.decision import FrameClassifier
from vaddesk.core.frame_history import (
    MAX_WINDOW_FRAMES,
    SMALL_SCAN_FRAMES,
    TRIM_SLACK_FRAMES,
    FrameHistory,
    true_runs,
)
from vaddesk.core.params import VadParams
from vaddesk.core.postprocess import SegmentShaper
from vaddesk.core.types import FRAME_SHIFT_MS, Segment, SegmentClosed, VadEvent

log = logging.getLogger(__name__)

DYNAMIC_FULL_UNTIL_MS: Final = 10_000
"""Dynamic end silence: the full ``max_end_silence_ms`` applies to the first 10 s of a segment."""
DYNAMIC_FLOOR_FROM_MS: Final = 50_000
"""... then it falls linearly to its floor, reached after 50 s of segment."""
DYNAMIC_FLOOR_MS: Final = 300
"""The floor is max(300 ms, max_end_silence_ms / 4) (never above max_end_silence_ms)."""

_FLOAT32: Final = np.dtype(np.float32)
_FLOAT64: Final = np.dtype(np.float64)


def dynamic_end_silence_ms(max_end_silence_ms: int, elapsed_ms: int) -> int:
    """End silence for a segment that has lasted ``elapsed_ms`` (multiple of 10 ms).

    Full value up to 10 s, then linear down to ``max(300, max_end_silence_ms // 4)`` at 50 s,
    rounded down to a whole frame. E.g. 1200 ms -> 1200 (0-10 s), 750 (30 s), 300 (>= 50 s).
    """
    floor = min(max_end_silence_ms, max(DYNAMIC_FLOOR_MS, max_end_silence_ms // 4 // 10 * 10))
    if elapsed_ms <= DYNAMIC_FULL_UNTIL_MS:
        return max_end_silence_ms
    if elapsed_ms >= DYNAMIC_FLOOR_FROM_MS:
        return floor
    span = DYNAMIC_FLOOR_FROM_MS - DYNAMIC_FULL_UNTIL_MS
    drop = (max_end_silence_ms - floor) * (elapsed_ms - DYNAMIC_FULL_UNTIL_MS) // span
    value = max_end_silence_ms - drop
    return value - value % FRAME_SHIFT_MS


class _Phase(enum.Enum):
    IDLE = "idle"  # no segment open (reference: start point not detected)
    SPEECH = "speech"  # segment open, window says speech
    PAUSE = "pause"  # segment open, window flipped to silence; counting end silence
    DONE = "done"  # detect_mode single finished


class EndpointDetector:
    """Streaming endpoint detector over per-frame (p0, energy_db).

    ``push`` takes the next frames' silence probabilities and energies and returns the events
    decided by them; ``finish`` ends the stream. ``detect_segments`` is the one-call form.
    """

    def __init__(self, params: VadParams | None = None) -> None:
        self._params = params if params is not None else VadParams()
        self._classifier = FrameClassifier(self._params)
        self._shaper = SegmentShaper(self._params)
        self._derive()
        self.reset()

    # --- configuration -----------------------------------------------------------------------
    def _derive(self) -> None:
        p = self._params
        f = FRAME_SHIFT_MS
        self._win = p.window_size_ms // f
        self._t_up = p.sil_to_speech_ms // f
        self._t_down = p.speech_to_sil_ms // f
        self._latency = self._win + (p.lookback_start_ms // f if p.extend else 0)
        self._lookahead = p.lookahead_end_ms // f
        self._max_seg = p.max_segment_ms // f
        self._k_end = (p.max_end_silence_ms - p.speech_to_sil_ms) // f
        self._start_timeout = p.max_start_silence_ms // f

    @property
    def params(self) -> VadParams:
        return self._params

    def set_params(self, params: VadParams) -> None:
        """New parameters apply from the next frame; decided segments stay as they are."""
        self._params = params
        self._classifier.set_params(params)
        self._shaper.set_params(params)
        self._derive()
        if self._phase is _Phase.PAUSE:
            # a shorter end silence that has already elapsed ends the segment at the next frame
            self._end_at = max(self._end_frame_after(self._pause_flip), self._pos)

    def reset(self) -> None:
        self._classifier.reset()
        self._shaper.reset()
        self._frames = FrameHistory()
        self._pos = 0  # next frame to run through the state machine
        self._phase = _Phase.IDLE
        self._reset_frame = -1  # window counts frames after this one
        self._data_start = 0  # the reference's data_buf_start_frame
        self._seg_start = 0
        self._check_from = 0  # first frame where the hard-cut check applies
        self._pause_flip = 0
        self._end_at = 0

    # --- state -------------------------------------------------------------------------------
    @property
    def frames_done(self) -> int:
        return self._frames.end

    @property
    def buffered_frames(self) -> int:
        """Frames of history held (bounded: window + slack, plus one segment with split)."""
        return self._frames.size

    @property
    def is_speech_detected(self) -> bool:
        return self._shaper.open_start_ms is not None

    @property
    def open_start_ms(self) -> int | None:
        return self._shaper.open_start_ms

    # --- feeding -----------------------------------------------------------------------------
    def push(self, p0: np.ndarray, energy_db: np.ndarray, *, last: bool = False) -> list[VadEvent]:
        """Run the next frames; ``last=True`` promises that no more frames follow (a hint only)."""
        if (type(p0) is np.ndarray and type(energy_db) is np.ndarray
                and p0.dtype == _FLOAT32 and energy_db.dtype == _FLOAT64
                and p0.ndim == 1 and energy_db.ndim == 1):
            energy = energy_db  # the engine's arrays: nothing to convert
        else:
            p0 = np.asarray(p0, dtype=np.float32).reshape(-1)
            energy = np.asarray(energy_db, dtype=np.float64).reshape(-1)
        m = p0.shape[0]
        if m != energy.shape[0]:
            raise ValueError(f"p0 and energy_db differ in length ({m} vs {energy.shape[0]})")
        if m == 0:
            return []
        if m <= SMALL_SCAN_FRAMES:
            # a streaming push: decided in Python floats, its frames wait in Python lists
            probs = p0.tolist()
            small = self._classifier.classify_small(probs, energy.tolist(), last)
            if small is not None:
                self._frames.append_small(small, probs, self._win)
                return self._advance()
        dec = self._classifier.classify(p0, energy, last=last)
        self._frames.append(dec, p0)
        return self._advance()

    def _advance(self) -> list[VadEvent]:
        """Run the state machine over the frames just appended; publish what they decided."""
        events = self._run()
        if self._shaper.holds_close:
            events += self._shaper.on_progress(self._earliest_next_start() * FRAME_SHIFT_MS,
                                               self._frames.end * FRAME_SHIFT_MS)
        # (a trim can only drop frames more than a window and the slack behind _pos)
        if self._pos - self._frames.base > MAX_WINDOW_FRAMES + TRIM_SLACK_FRAMES:
            self._trim()
        return events

    def finish(self) -> list[VadEvent]:
        """End of stream: an open segment closes at the last frame. Call reset() to reuse."""
        events: list[VadEvent] = []
        end_ms = self._frames.end * FRAME_SHIFT_MS
        if self._phase in (_Phase.SPEECH, _Phase.PAUSE):
            events += self._close(end_ms)
            self._phase = _Phase.DONE
        events += self._shaper.on_finish(end_ms)
        return events

    # --- the state machine -------------------------------------------------------------------
    def _earliest_next_start(self) -> int:
        if self._phase is _Phase.DONE:
            return 1 << 62
        if self._phase is _Phase.IDLE:
            return max(self._data_start, self._pos - self._latency)
        return self._pos  # a split may open a segment; the shaper has nothing pending then

    def _trim(self) -> None:
        # Keep the largest window any parameters allow, so set_params() can widen it live.
        keep = self._pos - MAX_WINDOW_FRAMES
        if self._params.split_at_pause and self._phase in (_Phase.SPEECH, _Phase.PAUSE):
            keep = min(keep, self._seg_start)
        self._frames.trim(max(0, keep))

    def _open(self, start_frame: int) -> list[VadEvent]:
        return self._shaper.on_open(start_frame * FRAME_SHIFT_MS)

    def _close(self, end_ms: int) -> list[VadEvent]:
        return self._shaper.on_close(end_ms)

    def _window_scan(self, scan_from: int) -> None:
        """Full-window sums for frames [scan_from, end) (their threshold crossings on demand)."""
        fr = self._frames
        end, w = fr.end, self._win
        left = max(scan_from + 1 - w, 0)
        tail = fr.tail
        fr.scan_from = scan_from
        if end - scan_from <= SMALL_SCAN_FRAMES and len(tail) >= end + 1 - left:
            # csum before frame i is tail[i - end - 1]
            e1 = end + 1
            fr.small = True
            fr.step = -1
            fr.sums_list = [tail[t - end] - tail[max(t + 1 - w, 0) - e1]
                            for t in range(scan_from, end)]
            return
        fr.small = False
        a, b = scan_from - fr.base, end - fr.base
        if left > 0:  # whole windows: two slices of the running sum
            sums = fr.csum[a + 1:b + 1] - fr.csum[a + 1 - w:b + 1 - w]
        else:
            t = np.arange(scan_from, end, dtype=np.int64)
            lefts = np.maximum(t - w + 1, 0)
            sums = fr.csum[t + 1 - fr.base] - fr.csum[lefts - fr.base]
        fr.sums = sums
        fr.runs = {}

    def _first(self, up: bool, a: int, lim: int) -> int | None:
        """First frame t in [a, lim) whose window sum crosses the up (>= T1) or down (<= T2)
        threshold, counting only frames after the last reset."""
        if a >= lim:
            return None
        fr = self._frames
        if fr.small:
            return self._first_small(up, a, lim)
        edge = self._reset_frame + self._win  # below this the window is cut by the reset
        if a < edge:
            # Here the window holds only frames since the reset: its sum,
            # csum[t + 1] - csum[reset + 1], never decreases with t.
            b = min(lim, edge)
            floor = int(fr.csum[self._reset_frame + 1 - fr.base])
            if up:
                # first t with csum[t + 1] >= floor + T1 (csum is non-decreasing)
                i = int(np.searchsorted(fr.csum, floor + self._t_up, side="left"))
                t = max(a, i - 1 + fr.base)
                if t < b:
                    return t
            elif int(fr.csum[a + 1 - fr.base]) - floor <= self._t_down:
                return a
            a = b
            if a >= lim:
                return None
        runs = fr.runs.get(up)
        if runs is None:
            mask = fr.sums >= self._t_up if up else fr.sums <= self._t_down
            runs = true_runs(mask, fr.scan_from)
            fr.runs[up] = runs
        starts, ends = runs
        i = bisect_right(starts, a) - 1
        if i >= 0 and ends[i] > a:
            return a  # a is inside a run
        if i + 1 < len(starts) and starts[i + 1] < lim:
            return starts[i + 1]
        return None

    def _first_small(self, up: bool, a: int, lim: int) -> int | None:
        """:meth:`_first` over a small scan, by walking its few frames."""
        if a >= lim:
            return None
        fr = self._frames
        reset = self._reset_frame
        edge = reset + self._win
        if a < edge:
            tail = fr.tail
            end = fr.end
            b = min(lim, edge)
            floor = tail[reset - end]  # csum[reset + 1]
            if up:
                target = floor + self._t_up
                if tail[b - 1 - end] >= target:  # csum[t + 1] never decreases: a t exists
                    for t in range(a, b):
                        if tail[t - end] >= target:  # csum[t + 1]
                            return t
            elif tail[a - end] - floor <= self._t_down:
                return a
            a = b
            if a >= lim:
                return None
        off = fr.scan_from
        step = fr.step
        if step >= 0:  # one decision in the push: the sums are monotonic
            tail = fr.tail
            new_at, left_at = fr.new_at - off, fr.left_at - off  # sum(t): these + t
            if up:
                threshold = self._t_up
                if step == 0:  # falling: the first is the largest
                    return a if tail[new_at + a] - tail[left_at + a] >= threshold else None
                if tail[new_at + lim - 1] - tail[left_at + lim - 1] < threshold:
                    return None  # rising: the last is the largest
                for t in range(a, lim):
                    if tail[new_at + t] - tail[left_at + t] >= threshold:
                        return t
            else:
                threshold = self._t_down
                if step == 1:  # rising: the first is the smallest
                    return a if tail[new_at + a] - tail[left_at + a] <= threshold else None
                if tail[new_at + lim - 1] - tail[left_at + lim - 1] > threshold:
                    return None  # falling: the last is the smallest
                for t in range(a, lim):
                    if tail[new_at + t] - tail[left_at + t] <= threshold:
                        return t
            return None
        sums = fr.sums_list[a - off:lim - off]
        # max/min rule out the usual case (no flip in these frames) in one C call
        if up:
            threshold = self._t_up
            if max(sums) >= threshold:
                for i, value in enumerate(sums):
                    if value >= threshold:
                        return a + i
        else:
            threshold = self._t_down
            if min(sums) <= threshold:
                for i, value in enumerate(sums):
                    if value <= threshold:
                        return a + i
        return None

    def _k_at(self, frame: int) -> int:
        """End-silence count (frames) that ends the segment when reached at ``frame``."""
        p = self._params
        if not p.dynamic_end_silence:
            return self._k_end
        elapsed = (frame - self._seg_start) * FRAME_SHIFT_MS
        sil = dynamic_end_silence_ms(p.max_end_silence_ms, elapsed)
        sil = max(sil, p.speech_to_sil_ms + FRAME_SHIFT_MS)
        return (sil - p.speech_to_sil_ms) // FRAME_SHIFT_MS

    def _end_frame_after(self, flip: int) -> int:
        """Frame at which the silence that began after ``flip`` ends the segment."""
        k0 = self._k_at(flip + 1)
        if not self._params.dynamic_end_silence or self._k_at(flip + k0) == k0:
            return flip + k0
        # t - flip - k(t) strictly increases with t (k never grows): binary search for the
        # first t in (flip, flip + k0] where it reaches 0.
        lo, hi = flip + 1, flip + k0
        while lo < hi:
            mid = (lo + hi) // 2
            if mid - flip >= self._k_at(mid):
                hi = mid
            else:
                lo = mid + 1
        return lo

    def _cut_frame(self) -> int:
        return max(self._seg_start + self._max_seg, self._check_from, self._pos)

    def _run(self) -> list[VadEvent]:
        events: list[VadEvent] = []
        n = self._frames.end
        if self._pos >= n:
            return events
        fr = self._frames
        if not (fr.small and fr.scan_from == self._pos):  # else made by append_small
            self._window_scan(self._pos)
        first = self._first_small if fr.small else self._first
        single = self._params.detect_mode == "single"
        while self._pos < n:
            phase = self._phase
            if phase is _Phase.DONE:
                self._pos = n
                break
            if phase is _Phase.IDLE:
                t = first(True, self._pos, n)
                to = self._start_timeout
                if single and to < n and (t is None or t > to):
                    self._phase = _Phase.DONE  # no speech within max_start_silence_ms
                    continue
                if t is None:
                    self._pos = n
                    break
                start = max(self._data_start, t - self._latency)
                self._seg_start = start
                self._check_from = t + 1
                self._phase = _Phase.SPEECH
                self._pos = t + 1
                events += self._open(start)
            elif phase is _Phase.SPEECH:
                cut = self._cut_frame()
                f = first(False, self._pos, min(n, cut + 1))
                if f is not None and f < cut:
                    self._enter_pause(f)
                elif cut < n:
                    events += self._hard_cut(cut, flip_down=f == cut)
                else:
                    self._pos = n
            else:  # PAUSE
                cut = self._cut_frame()
                end_at = self._end_at
                g = first(True, self._pos, min(n, end_at + 1))
                if cut < end_at and cut < n and (g is None or cut <= g):
                    events += self._hard_cut(cut, flip_down=False)
                elif g is not None:
                    self._phase = _Phase.SPEECH
                    self._pos = g + 1
                elif end_at < n:
                    events += self._silence_end(end_at)
                else:
                    self._pos = n
        return events

    def _enter_pause(self, flip: int) -> None:
        self._phase = _Phase.PAUSE
        self._pause_flip = flip
        self._end_at = self._end_frame_after(flip)
        self._pos = flip + 1

    def _after_end(self, frame: int) -> None:
        self._reset_frame = frame
        self._pos = frame + 1
        self._phase = _Phase.DONE if self._params.detect_mode == "single" else _Phase.IDLE

    def _silence_end(self, e: int) -> list[VadEvent]:
        f = self._pause_flip
        # The reference ends at e - max(0, k - lookahead - 1) with k = e - f silent frames
        # (e - k without extend): written from the flip, that is the form below, which also
        # holds when the dynamic schedule shrank k during the pause.
        if self._params.extend:
            end_frame = f + min(e - f, self._lookahead + 1)
            last_kept = f + min(self._lookahead, e - f - 1)
        else:
            end_frame = f
            last_kept = f
        # The reference's data pointer: one past every frame it has handed out, and the end
        # frame is handed out once more (hence +2 when extend is off).
        self._data_start = max(last_kept + 1, end_frame) + 1
        events = self._close((end_frame + 1) * FRAME_SHIFT_MS)
        self._after_end(e)
        return events

    def _hard_cut(self, cut: int, flip_down: bool) -> list[VadEvent]:
        if not self._params.split_at_pause:
            self._data_start = cut + 1
            events = self._close((cut + 1) * FRAME_SHIFT_MS)
            self._after_end(cut)
            return events
        if self._phase is _Phase.PAUSE:
            # The limit falls in a pause: end there as if its end silence had elapsed (same
            # end frame as a silence end) and start afresh after the limit. (Splitting at an
            # earlier pause instead would leave a remainder that is mostly this pause.)
            f = self._pause_flip
            extra = min(cut - f, self._lookahead + 1) if self._params.extend else 0
            end_frame = f + extra
            self._data_start = cut + 1
            events = self._close((end_frame + 1) * FRAME_SHIFT_MS)
            self._after_end(cut)
            return events
        split = self._split_frame(cut)
        events = self._close(split * FRAME_SHIFT_MS)
        events += self._open(split)
        self._seg_start = split
        self._check_from = cut + 1
        self._pos = cut + 1
        if flip_down:
            self._enter_pause(cut)
        return events

    def _split_frame(self, cut: int) -> int:
        """Where to split a segment that reached its limit at frame ``cut``.

        Looks at frames [start + max_segment/2, cut]: the middle of the longest run of silence
        decisions (ties: the latest), or, without any, the frame with the lowest speech score
        smoothed over the window (ties: the latest).
        """
        fr = self._frames
        lo = self._seg_start + self._max_seg // 2
        lo = min(max(lo, self._seg_start + 1, fr.base), cut)
        dec = np.diff(fr.csum[lo - fr.base: cut + 2 - fr.base])
        silent = np.concatenate([[0], (dec == 0).astype(np.int8), [0]])
        edges = np.diff(silent)
        run_starts = np.flatnonzero(edges == 1)
        run_ends = np.flatnonzero(edges == -1)
        if run_starts.size:
            lengths = run_ends - run_starts
            best = int(np.flatnonzero(lengths == lengths.max())[-1])
            middle = lo + int(run_starts[best]) + int(lengths[best]) // 2
            return middle
        score = 1.0 - fr.p0[lo - fr.base: cut + 1 - fr.base].astype(np.float64)
        half = self._win // 2
        csum = np.concatenate([[0.0], np.cumsum(score)])
        idx = np.arange(score.shape[0])
        left = np.maximum(idx - half, 0)
        right = np.minimum(idx + half + 1, score.shape[0])
        smooth = (csum[right] - csum[left]) / (right - left)
        best = int(np.flatnonzero(smooth == smooth.min())[-1])
        return max(lo + best, self._seg_start + 1)


def detect_segments(p0: np.ndarray, energy_db: np.ndarray,
                    params: VadParams | None = None) -> list[Segment]:
    """Segments of a whole stream given its per-frame silence probability and energy."""
    det = EndpointDetector(params)
    events = det.push(p0, energy_db, last=True) + det.finish()
    return [e.segment for e in events if isinstance(e, SegmentClosed)]
