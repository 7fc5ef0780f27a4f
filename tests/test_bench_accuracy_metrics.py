"""bench/bench_accuracy.py's metrics on hand-made label and segment masks (10 ms frames)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import bench_accuracy as ba


def mask(n: int, *runs: tuple[int, int]) -> np.ndarray:
    m = np.zeros(n, dtype=bool)
    for a, b in runs:
        m[a:b] = True
    return m


def test_mask_of_and_merge_at_800_ms() -> None:
    assert ba.mask_of([(100, 250), (995, 1000)], 12).nonzero()[0].tolist() == [10, 11]
    ref = mask(400, (10, 50), (120, 150), (300, 320))  # gaps of 700 ms and 1500 ms
    assert ba.merged(ref).nonzero()[0].tolist() == list(range(10, 150)) + list(range(300, 320))


def test_counts_frame_utterance_edges_and_boundary_errors() -> None:
    ref = mask(400, (10, 50), (120, 150), (300, 320))
    hyp = mask(400, (5, 40), (45, 150), (330, 340))
    c = ba.Counts()
    c.add(ref, hyp)
    row = c.row()
    # frames: tp = 30 + 5 + 30 = 65, fp = 5 + 70 (pause 50..120) + 10 = 85, fn = 5 + 20 = 25
    assert (c.tp, c.fp, c.fn) == (65, 85, 25)
    assert row["frame_precision"] == round(65 / 150, 4)
    assert row["frame_recall"] == round(65 / 90, 4)
    # utterance level: the 700 ms pause is speech (labels merged), the 1.5 s one is not
    assert (c.utp, c.ufp, c.ufn) == (135, 15, 25)
    # missed: 5 frames inside utterance 1 (40..45), 20 frames of an utterance no segment touches
    assert (c.miss_edge, c.miss_inside, c.miss_whole) == (0, 5, 20)
    # utterance 10..150 matched with segment 45..150 (largest overlap): start +350, end 0 ms
    assert c.start_err == [350] and c.end_err == [0]
