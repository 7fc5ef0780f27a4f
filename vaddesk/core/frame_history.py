"""The endpoint detector's decision history: running sums of frame decisions, kept in
preallocated numpy buffers, with a Python mirror of the last entries for small pushes.

The state machine that reads it is :mod:`vaddesk.core.detector`.
"""

from __future__ import annotations

import dataclasses
from typing import Final

import numpy as np

from vaddesk.core.params import VadParams
from vaddesk.core.types import FRAME_SHIFT_MS

TRIM_SLACK_FRAMES: Final = 2048
_INITIAL_CAPACITY: Final = 4096
SMALL_SCAN_FRAMES: Final = 16
"""Pushes of up to this many frames run in plain Python (a streaming push): numpy's per-call
cost, and the cache misses of its many code paths between two network calls, dominate there."""
MAX_WINDOW_FRAMES: Final = int(
    next(f for f in dataclasses.fields(VadParams) if f.name == "window_size_ms").metadata["max"]
) // FRAME_SHIFT_MS
TAIL_FRAMES: Final = MAX_WINDOW_FRAMES + SMALL_SCAN_FRAMES + 2
"""Running-sum entries mirrored in Python: a window and a small push, plus the entry before."""


class FrameHistory:
    """Decision history from frame ``base`` on, with the per-push window sums.

    Only the running sum of decisions is stored (a frame's decision is the difference of two
    neighbours), in absolute terms: ``csum[i]`` counts the speech decisions before frame
    ``base + i`` since the stream began, so trimming the front shifts it without rewriting it.
    ``p0`` and ``csum`` are views of preallocated buffers (a concatenation of the whole history
    cost more than the rest of a 10-frame push).

    ``tail`` mirrors the last entries of the running sum (at least ``TAIL_FRAMES``, or all of
    them) as Python ints: ``tail[i - end - 1]`` is the count before absolute frame ``i``. A
    small push reads its window sums there, and its frames wait in Python lists (``p0`` in
    ``_wait_p0``, sums at the end of ``tail``) until something needs the arrays: no numpy
    call per streaming push.
    """

    def __init__(self) -> None:
        self.base = 0
        self._n = 0  # frames held, the waiting ones included
        self._wait_p0: list[float] = []
        self._p0 = np.zeros(_INITIAL_CAPACITY, dtype=np.float32)
        self._csum = np.zeros(_INITIAL_CAPACITY + 1, dtype=np.int64)
        self.tail: list[int] = [0]
        # Per push (set by the window scan), for frames from `scan_from` on: the full-window
        # sums, as a list (`small`, a few frames) or an array; for an array, computed on first
        # use, the runs [start, end) where they are >= T1 ("hi") or <= T2 ("lo"), as sorted
        # lists: a search is then one bisect.
        self.scan_from = 0
        self.small = False
        self.sums_list: list[int] = []
        # A small push of one decision (`step` 1: all speech, 0: all silence; -1: mixed, see
        # `sums_list`) keeps no sums: the window sum of frame scan_from + j is
        # tail[new_at + j] - tail[left_at + j].
        self.step = -1
        self.new_at = 0
        self.left_at = 0
        self.sums = np.zeros(0, dtype=np.int64)
        self.runs: dict[bool, tuple[list[int], list[int]]] = {}

    @property
    def end(self) -> int:
        return self.base + self._n

    @property
    def size(self) -> int:
        return self._n

    @property
    def p0(self) -> np.ndarray:
        self._settle()
        return self._p0[:self._n]

    @property
    def csum(self) -> np.ndarray:
        self._settle()
        return self._csum[:self._n + 1]

    def _settle(self) -> None:
        """Write the waiting frames into the arrays."""
        k = len(self._wait_p0)
        if not k:
            return
        n = self._n - k
        self._reserve(n, k)
        self._p0[n:n + k] = self._wait_p0
        self._csum[n + 1:n + k + 1] = self.tail[-k:]
        self._wait_p0 = []

    def _reserve(self, n: int, m: int) -> None:
        if n + m > self._p0.shape[0]:
            cap = max(2 * self._p0.shape[0], n + m)
            self._p0 = np.concatenate([self._p0[:n], np.zeros(cap - n, dtype=np.float32)])
            self._csum = np.concatenate([self._csum[:n + 1], np.zeros(cap - n, dtype=np.int64)])

    def append(self, dec: np.ndarray, p0: np.ndarray) -> None:
        """Append a block's decisions (bool array) and silence probabilities."""
        self._settle()
        n, m = self._n, int(dec.shape[0])
        self._reserve(n, m)
        self._p0[n:n + m] = p0
        out = self._csum[n + 1:n + m + 1]
        np.cumsum(dec, dtype=np.int64, out=out)
        out += self._csum[n]
        self._n = n + m
        self.tail = self._csum[max(0, n + m + 1 - TAIL_FRAMES):n + m + 1].tolist()
        self.small = False

    def append_small(self, dec: list[bool], p0: list[float], win: int) -> None:
        """:meth:`append` for a few frames given as Python values (they wait in lists); also
        makes the full-window sums (``win`` frames) of the new frames, the scan of the push."""
        tail = self.tail
        m = len(dec)
        if len(tail) + m > 2 * TAIL_FRAMES:
            self._settle()
            del tail[:-TAIL_FRAMES]
        end = self.base + self._n
        total = tail[-1]
        # The count before absolute frame i is tail[i - start]; the window of frame t holds
        # frames [t + 1 - win, t], so its sum is (count before t + 1) - (count before t + 1 - win).
        # Both indices are >= start: the tail covers a window before the push.
        start = end + 1 - len(tail)
        left = end + 1 - win - start
        self._wait_p0 += p0
        self._n += m
        self.scan_from = end
        first = dec[0]
        if left >= 0 and dec.count(first) == m:
            # One decision for the whole push (most pushes): the running sum rises by one per
            # frame or stays flat, so the window sums only rise (speech) or only fall
            # (silence), and _first_small reads the one or two it needs from the tail.
            self.new_at = len(tail)
            self.left_at = left
            if first:
                tail += range(total + 1, total + m + 1)
            else:
                tail += [total] * m
            self.step = 1 if first else 0
            self.small = True
            return
        self.step = -1
        sums: list[int] = []
        # At the stream's start a window begins at frame 0 (count 0 at tail[0]). A tail
        # without a whole window before the push (not reached: a trim keeps one) makes no
        # sums, and the scan then uses the arrays.
        with_sums = left >= 0 or start == 0
        for d in dec:
            total += d
            tail.append(total)
            if with_sums:
                sums.append(total - tail[max(left, 0)])
            left += 1
        self.small = with_sums
        self.sums_list = sums

    def trim(self, keep_from: int) -> None:
        drop = keep_from - self.base
        if drop <= TRIM_SLACK_FRAMES:
            return
        self._settle()
        n = self._n - drop
        self._p0[:n] = self._p0[drop:self._n].copy()
        self._csum[:n + 1] = self._csum[drop:self._n + 1].copy()
        self._n = n
        self.base = keep_from


def true_runs(mask: np.ndarray, offset: int) -> tuple[list[int], list[int]]:
    """Starts and ends (exclusive) of the runs of True in ``mask``, shifted by ``offset``."""
    n = int(mask.shape[0])
    if n == 0:
        return [], []
    changes = (np.flatnonzero(mask[1:] != mask[:-1]) + (offset + 1)).tolist()
    # Run boundaries alternate start, end, start, ...
    bounds = ([offset] if mask[0] else []) + changes + ([offset + n] if mask[-1] else [])
    return bounds[0::2], bounds[1::2]
