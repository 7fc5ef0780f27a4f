"""How sure the network was about each segment: its speech scores over the segment's frames.

``score_mean`` is the mean of the speech score ``1 - p0`` over the 10 ms frames a segment
covers (a frame belongs to a segment when it starts inside it); ``score_min`` is the lowest of
them. Speech the model knows scores ~0.95 and more on average; a segment with a low mean is
worth a listen (noise, music, a cough, far-away speech). Pads and pauses kept inside a segment
are part of it and lower both figures: compare segments of one preset with each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from vaddesk.core.types import FRAME_SHIFT_MS, FrameTrack, Segment

LOW_CONFIDENCE_MEAN: Final = 0.8
"""Default review threshold: segments whose score_mean is below this are flagged."""


@dataclass(frozen=True, slots=True)
class SegmentConfidence:
    score_mean: float  # mean speech score (0..1) over the segment's frames
    score_min: float  # lowest speech score (0..1) among them

    def is_low(self, threshold: float = LOW_CONFIDENCE_MEAN) -> bool:
        return self.score_mean < threshold


def segment_confidences(track: FrameTrack, segments: Sequence[Segment]
                        ) -> list[SegmentConfidence]:
    """One SegmentConfidence per segment; a segment with no scored frame gets 0 / 0."""
    if not segments:
        return []
    score = 1.0 - track.p0.astype(np.float64)
    n = score.shape[0]
    csum = np.concatenate(([0.0], np.cumsum(score)))
    # one vectorised pass (an hour has ~1000 segments; the app recomputes on every edit)
    bounds = np.array([(s.start_ms, s.end_ms) for s in segments], dtype=np.int64)
    a = np.minimum(-(-bounds[:, 0] // FRAME_SHIFT_MS), n)
    b = np.minimum(-(-bounds[:, 1] // FRAME_SHIFT_MS), n)
    has = b > a
    length = np.where(has, b - a, 1)
    mean = np.where(has, (csum[b] - csum[a]) / length, 0.0)
    low = np.zeros(len(segments))
    a, b = a[has], b[has]
    if a.size and bool(np.all(a[1:] >= b[:-1])):
        # sorted, non-overlapping: one reduceat over [a0, b0, a1, b1, ...]; even outputs are
        # the minima of [a_i, b_i) (a sentinel stands past the last frame for b = n)
        ext = np.append(score, np.inf)
        low[has] = np.minimum.reduceat(ext, np.column_stack((a, b)).reshape(-1))[0::2]
    elif a.size:
        low[has] = [score[s:e].min() for s, e in zip(a, b, strict=True)]
    return [SegmentConfidence(float(m), float(lo)) for m, lo in zip(mean, low, strict=True)]
