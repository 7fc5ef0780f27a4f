"""Multi-resolution peak envelope (min/max per bin) of a 16 kHz waveform, built block by block.

A 3-hour recording is 173 M samples at 16 kHz (690 MB as float32). A waveform view never needs
them: a screen is ~2000 pixels wide, so it draws one min/max pair per pixel. The builder folds
each decoded block into min/max bins of BASE_BIN_SAMPLES (2 ms) while the file is decoded, then
stacks coarser levels (x4 each), so any zoom level is a slice of one small array. Bins are kept
as float16: a 3-hour file costs ~29 MB for all levels, 60 minutes ~10 MB.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from vaddesk.core.types import SAMPLE_RATE

BASE_BIN_SAMPLES: Final = 32
"""Samples per bin at the finest level: 2 ms at 16 kHz, the deepest zoom the view draws."""

LEVEL_FACTOR: Final = 4
"""Each level's bin covers this many bins of the level below."""

_MIN_LEVEL_BINS: Final = 512  # stop building coarser levels once a level is this short

_STORE_DTYPE: Final = np.float16


@dataclass(frozen=True, slots=True)
class EnvelopeLevel:
    bin_samples: int
    mins: np.ndarray  # float16, one value per bin
    maxs: np.ndarray

    @property
    def num_bins(self) -> int:
        return int(self.mins.shape[0])


@dataclass(frozen=True, slots=True)
class EnvelopeWindow:
    """The bins of one level that cover a time range, ready to draw."""

    bin_samples: int
    start_s: np.ndarray  # float64 start time of each bin, seconds
    mins: np.ndarray  # float32
    maxs: np.ndarray


@dataclass(frozen=True, slots=True)
class PeakEnvelope:
    levels: tuple[EnvelopeLevel, ...]  # finest first
    num_samples: int
    sample_rate: int = SAMPLE_RATE

    @property
    def duration_s(self) -> float:
        return self.num_samples / self.sample_rate

    @property
    def nbytes(self) -> int:
        return sum(lv.mins.nbytes + lv.maxs.nbytes for lv in self.levels)

    def window(self, start_s: float, stop_s: float, max_bins: int) -> EnvelopeWindow:
        """Bins covering [start_s, stop_s) from the finest level that needs at most max_bins.

        Falls back to the coarsest level when even it has more bins in the range (a window
        wider than the file at a tiny max_bins); the caller then draws a few more points.
        """
        start_s = max(0.0, start_s)
        stop_s = min(self.duration_s, max(stop_s, start_s))
        span_samples = (stop_s - start_s) * self.sample_rate
        chosen = self.levels[-1]
        for level in self.levels:
            if span_samples / level.bin_samples <= max_bins:
                chosen = level
                break
        i0 = int(start_s * self.sample_rate) // chosen.bin_samples
        i1 = min(chosen.num_bins, -(-int(np.ceil(stop_s * self.sample_rate)) // chosen.bin_samples)
                 + 1)
        i0 = min(i0, i1)
        idx = np.arange(i0, i1, dtype=np.float64)
        return EnvelopeWindow(chosen.bin_samples, idx * chosen.bin_samples / self.sample_rate,
                              chosen.mins[i0:i1].astype(np.float32),
                              chosen.maxs[i0:i1].astype(np.float32))

    def coarse(self, min_bin_samples: int) -> PeakEnvelope:
        """Only the levels with bins of at least min_bin_samples (a small copy for previews)."""
        kept = tuple(lv for lv in self.levels if lv.bin_samples >= min_bin_samples)
        return PeakEnvelope(kept or self.levels[-1:], self.num_samples, self.sample_rate)

    @classmethod
    def empty(cls) -> PeakEnvelope:
        z = np.zeros(0, dtype=_STORE_DTYPE)
        return cls((EnvelopeLevel(BASE_BIN_SAMPLES, z, z),), 0)


def _coarser(level: EnvelopeLevel) -> EnvelopeLevel:
    n = level.num_bins
    whole = n // LEVEL_FACTOR * LEVEL_FACTOR
    mins = level.mins[:whole].reshape(-1, LEVEL_FACTOR).min(axis=1)
    maxs = level.maxs[:whole].reshape(-1, LEVEL_FACTOR).max(axis=1)
    if whole < n:  # the ragged tail becomes one shorter bin
        mins = np.append(mins, level.mins[whole:].min())
        maxs = np.append(maxs, level.maxs[whole:].max())
    return EnvelopeLevel(level.bin_samples * LEVEL_FACTOR, mins.astype(_STORE_DTYPE),
                         maxs.astype(_STORE_DTYPE))


class EnvelopeBuilder:
    """Feed float32 16 kHz mono blocks of any length with add(); finish() gives the envelope.

    Only the bins are kept, never the samples (plus a carry of < BASE_BIN_SAMPLES samples).
    """

    def __init__(self, sample_rate: int = SAMPLE_RATE) -> None:
        self._sample_rate = sample_rate
        self._mins: list[np.ndarray] = []
        self._maxs: list[np.ndarray] = []
        self._carry = np.zeros(0, dtype=np.float32)
        self._num_samples = 0

    @property
    def num_samples(self) -> int:
        return self._num_samples

    def add(self, block: np.ndarray) -> None:
        samples = np.asarray(block, dtype=np.float32).reshape(-1)
        self._num_samples += samples.size
        if self._carry.size:
            samples = np.concatenate([self._carry, samples])
        whole = samples.size // BASE_BIN_SAMPLES * BASE_BIN_SAMPLES
        if whole:
            bins = samples[:whole].reshape(-1, BASE_BIN_SAMPLES)
            self._mins.append(bins.min(axis=1).astype(_STORE_DTYPE))
            self._maxs.append(bins.max(axis=1).astype(_STORE_DTYPE))
        self._carry = samples[whole:].copy()

    def snapshot(self) -> PeakEnvelope:
        """The envelope of everything added so far (the builder can go on)."""
        mins = list(self._mins)
        maxs = list(self._maxs)
        if self._carry.size:
            mins.append(np.array([self._carry.min()], dtype=_STORE_DTYPE))
            maxs.append(np.array([self._carry.max()], dtype=_STORE_DTYPE))
        base_min = np.concatenate(mins) if mins else np.zeros(0, dtype=_STORE_DTYPE)
        base_max = np.concatenate(maxs) if maxs else np.zeros(0, dtype=_STORE_DTYPE)
        # Keep one concatenated chunk so later snapshots do not re-join thousands of pieces.
        if len(self._mins) > 1:
            self._mins = [base_min[: base_min.size - (1 if self._carry.size else 0)]]
            self._maxs = [base_max[: base_max.size - (1 if self._carry.size else 0)]]
        levels = [EnvelopeLevel(BASE_BIN_SAMPLES, base_min, base_max)]
        while levels[-1].num_bins > _MIN_LEVEL_BINS:
            levels.append(_coarser(levels[-1]))
        return PeakEnvelope(tuple(levels), self._num_samples, self._sample_rate)

    def finish(self) -> PeakEnvelope:
        return self.snapshot()
