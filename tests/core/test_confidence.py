"""Per-segment confidence: mean and lowest speech score over the segment's frames."""

from __future__ import annotations

import numpy as np
import pytest

from vaddesk.core.confidence import SegmentConfidence, segment_confidences
from vaddesk.core.types import FrameTrack, Segment


def test_mean_and_min_over_the_frames_a_segment_covers() -> None:
    score = np.array([0.1, 0.2, 0.9, 0.8, 0.7, 0.3, 1.0, 0.5], dtype=np.float64)
    track = FrameTrack((1.0 - score).astype(np.float32), np.zeros(8))
    got = segment_confidences(track, [Segment(20, 50), Segment(55, 80), Segment(70, 200),
                                      Segment(200, 300)])
    expected = [(0.8, 0.7), (0.75, 0.5), (0.5, 0.5)]
    for conf, (mean, low) in zip(got[:3], expected, strict=True):
        assert conf.score_mean == pytest.approx(mean, abs=1e-6)
        assert conf.score_min == pytest.approx(low, abs=1e-6)
    # frames 6..7 for 55-80 ms: a frame belongs to a segment when it starts inside it
    assert got[3] == SegmentConfidence(0.0, 0.0)  # past the last frame: nothing scored
    assert segment_confidences(track, []) == []


def test_low_confidence_flag() -> None:
    assert SegmentConfidence(0.79, 0.1).is_low()
    assert not SegmentConfidence(0.8, 0.0).is_low()
    assert SegmentConfidence(0.6, 0.5).is_low(0.65) and not SegmentConfidence(0.6, 0.5).is_low(0.5)


def test_vectorised_path_equals_a_plain_loop() -> None:
    rng = np.random.default_rng(3)
    score = rng.uniform(0, 1, 5000)
    track = FrameTrack((1.0 - score).astype(np.float32), np.zeros(5000))
    s32 = 1.0 - track.p0.astype(np.float64)
    edges = np.sort(rng.choice(np.arange(0, 50_100, 10), size=400, replace=False))
    segs = [Segment(int(a), int(b)) for a, b in zip(edges[0::2], edges[1::2], strict=True)]
    segs.append(Segment(49_990, 50_000))  # the last frame
    for segments in (segs, list(reversed(segs))):  # sorted, and not (the loop path)
        got = segment_confidences(track, segments)
        for seg, conf in zip(segments, got, strict=True):
            frames = s32[seg.start_ms // 10:seg.end_ms // 10]
            assert conf.score_mean == pytest.approx(frames.mean(), rel=1e-9)
            assert conf.score_min == frames.min()
