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
    score = 1.0 - track.p0.astype(np.float64)
    csum = np.concatenate(([0.0], np.cumsum(score)))
    n = score.shape[0]
    out = []
    for seg in segments:
        a = min(-(-seg.start_ms // FRAME_SHIFT_MS), n)
        b = min(-(-seg.end_ms // FRAME_SHIFT_MS), n)
        if b <= a:
            out.append(SegmentConfidence(0.0, 0.0))
            continue
        out.append(SegmentConfidence(float((csum[b] - csum[a]) / (b - a)),
                                     float(score[a:b].min())))
    return out
