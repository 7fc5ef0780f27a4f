"""The pure segment edits behind the app's editor: snapping, neighbours, origins, labels."""

from __future__ import annotations

import numpy as np

from vaddesk.core import segment_edits as e
from vaddesk.core.types import Segment

SEGS = [Segment(1_000, 2_000), Segment(2_500, 4_000, label="B"), Segment(6_000, 7_000)]


def test_snap_and_quietest_frame() -> None:
    assert [e.snap_ms(x) for x in (1234.9, 1235.0, 1244.99, -3.0)] == [1230, 1240, 1240, 0]
    energy = np.full(300, -20.0)
    energy[140] = -60.0  # 1400 ms: the quietest frame
    energy[95] = -70.0   # quieter, but 105 ms from 1200: out of reach
    assert e.quietest_ms(1_305, energy) == 1_400
    assert e.quietest_ms(1_200, energy) == 1_200  # frames 110-130 tie: the nearest
    flat = np.full(300, -30.0)
    assert e.quietest_ms(1_234, flat) == 1_230  # a tie: the nearest frame
    assert e.quietest_ms(1_234, None) == 1_230


def test_move_edge_keeps_order_length_and_file() -> None:
    out = e.move_edge(SEGS, 1, "start", 1_500, 10_000)  # not across the previous end
    assert out[1] == Segment(2_000, 4_000, origin="edited", label="B")
    assert e.move_edge(SEGS, 1, "end", 2_400, 10_000)[1].end_ms == 2_510  # >= one frame
    assert e.move_edge(SEGS, 2, "end", 99_000, 10_000)[2].end_ms == 10_000
    assert e.move_edge(SEGS, 0, "end", 2_000, 10_000) == SEGS  # no change, no origin change
    added = [Segment(0, 500, origin="added")]
    assert e.move_edge(added, 0, "end", 800, 10_000) == [Segment(0, 800, origin="added")]


def test_split_merge_delete_add_text() -> None:
    split = e.split_at(SEGS, 3_000)
    assert split == [SEGS[0], Segment(2_500, 3_000, origin="edited", label="B"),
                     Segment(3_000, 4_000, origin="edited", label="B"), SEGS[2]]
    assert e.split_at(SEGS, 2_505) is None and e.split_at(SEGS, 5_000) is None
    merged = e.merge_with_next(SEGS, 0)
    assert merged == [Segment(1_000, 4_000, origin="edited", label="B"), SEGS[2]]
    assert e.merge_with_next(SEGS, 2) is None
    assert e.delete(SEGS, 1) == [SEGS[0], SEGS[2]]
    made = e.add(SEGS, 5_500, 4_100, 10_000)  # dragged right to left
    assert made == ([*SEGS[:2], Segment(4_100, 5_500, origin="added"), SEGS[2]], 2)
    trimmed = e.add(SEGS, 4_500, 6_500, 10_000)  # stops where the next segment starts
    assert trimmed is not None and trimmed[0][2] == Segment(4_500, 6_000, origin="added")
    assert e.add(SEGS, 1_500, 1_800, 10_000) is None  # inside a segment
    assert e.add(SEGS, 4_000, 4_005, 10_000) is None  # under a frame
    labelled = e.set_text(SEGS, 0, label="Ann", note="late")
    assert labelled[0] == Segment(1_000, 2_000, label="Ann", note="late")  # origin kept
