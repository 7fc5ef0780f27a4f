"""The boundary stage: its rules on hand-made score sequences, streaming = offline, resegment."""

from __future__ import annotations

import numpy as np
import pytest

from vaddesk.core.boundaries import BACKTRACK_MAX_MS, BoundaryStage, stage_segments
from vaddesk.core.params import VadParams
from vaddesk.core.types import Segment, SegmentClosed, SegmentDiscarded, SegmentOpened

STAGE = VadParams(boundary_stage=True, enter_score=0.6, exit_score=0.4, min_silence_ms=50,
                  score_smooth_ms=10)


def scores(*runs: tuple[float, int]) -> np.ndarray:
    """p0 for runs of (speech score, frames)."""
    return np.concatenate([np.full(n, 1.0 - s, dtype=np.float32) for s, n in runs])


def segs(p0: np.ndarray, params: VadParams = STAGE, energy: np.ndarray | None = None
         ) -> list[tuple[int, int]]:
    e = np.zeros(p0.shape[0]) if energy is None else energy
    return [(s.start_ms, s.end_ms) for s in stage_segments(p0, e, params)]


def oracle(p0: np.ndarray, energy: np.ndarray, p: VadParams) -> list[tuple[int, int]]:
    """The rules frame by frame, in plain Python (raw segments: no pads, no minimum)."""
    q = [0 if (p.decibel_thres_db > -100 and e < p.decibel_thres_db)
         else int(np.rint((1.0 - np.float64(np.float32(x))) * 1000))
         for x, e in zip(p0, energy, strict=True)]
    n = len(q)
    w = p.score_smooth_ms // 10
    a, b = (w - 1) // 2, w // 2
    enter, exit_ = round(p.enter_score * 1000), round(p.exit_score * 1000)
    act, conf = [], []
    for f in range(n):
        win = q[max(f - a, 0):min(f + b + 1, n)]
        act.append(sum(win) >= exit_ * len(win))
        conf.append(sum(win) >= enter * len(win))
    out = []
    open_, run_start, start, last = False, None, 0, 0
    min_sil, max_seg, back = p.min_silence_ms // 10, p.max_segment_ms // 10, BACKTRACK_MAX_MS // 10
    for f in range(n):
        if open_ and f - start >= max_seg:
            out.append((start * 10, (last + 1) * 10))
            open_, run_start = False, None
        if not open_:
            # the active run frame f is in (None: f is silent)
            run_start = (f if run_start is None else run_start) if act[f] else None
            if conf[f]:
                start = max(run_start if run_start is not None else f, f - back, f - max_seg + 1)
                open_, last, run_start = True, f, None
            continue
        if act[f]:
            last = f
        elif f - last >= min_sil:
            out.append((start * 10, (last + 1) * 10))
            open_ = False
    if open_:
        out.append((start * 10, (last + 1) * 10))
    return out


def test_hysteresis_opens_at_enter_and_back_dates_over_the_active_run() -> None:
    p0 = scores((0.1, 20), (0.5, 5), (0.9, 10), (0.5, 3), (0.1, 30))
    # active (>= 0.4) from frame 20, confident from 25; ends after the last active frame 37
    assert segs(p0) == [(200, 380)]
    # an active run with no confident frame is no segment
    assert segs(scores((0.1, 20), (0.5, 30), (0.1, 20))) == []


def test_enter_and_exit_scores_move_the_edges() -> None:
    p0 = scores((0.1, 10), (0.5, 5), (0.7, 10), (0.5, 5), (0.1, 20))
    assert segs(p0) == [(100, 300)]
    assert segs(p0, STAGE.replace(exit_score=0.6)) == [(150, 250)]
    assert segs(p0, STAGE.replace(enter_score=0.8, exit_score=0.4)) == []


def test_min_silence_joins_or_splits() -> None:
    p0 = scores((0.1, 10), (0.9, 10), (0.1, 4), (0.9, 10), (0.1, 5), (0.9, 10), (0.1, 20))
    # pauses of 40 and 50 ms: 50 ms ends a segment, 40 ms does not
    assert segs(p0) == [(100, 340), (390, 490)]
    assert segs(p0, STAGE.replace(min_silence_ms=40)) == [(100, 200), (240, 340), (390, 490)]
    assert segs(p0, STAGE.replace(min_silence_ms=60)) == [(100, 490)]


def test_smoothing_bridges_a_dip_and_sees_the_file_edges() -> None:
    p0 = scores((0.9, 10), (0.0, 2), (0.9, 10), (0.1, 40))
    raw = STAGE.replace(min_silence_ms=10)
    assert segs(p0, raw) == [(0, 100), (120, 220)]
    # a 50 ms mean lifts the 2-frame dip above exit; at frame 0 the window is cut to the file
    assert segs(p0, raw.replace(score_smooth_ms=50)) == [(0, 230)]


def test_backtrack_is_bounded() -> None:
    p0 = scores((0.5, 150), (0.9, 10), (0.1, 10))
    assert segs(p0) == [(1500 - BACKTRACK_MAX_MS, 1600)]


def test_max_segment_cuts_and_reopens() -> None:
    p0 = scores((0.9, 120), (0.1, 10))
    assert segs(p0, STAGE.replace(max_segment_ms=500)) == [(0, 500), (500, 1000), (1000, 1200)]


def test_energy_gate_pads_and_minimum() -> None:
    p0 = scores((0.1, 10), (0.9, 10), (0.1, 30), (0.9, 3), (0.1, 30))
    energy = np.zeros(p0.shape[0])
    energy[10:15] = -80.0
    gated = STAGE.replace(decibel_thres_db=-60.0)
    assert segs(p0, gated, energy) == [(150, 200), (500, 530)]
    assert segs(p0, STAGE.replace(min_segment_ms=40)) == [(100, 200)]
    assert segs(p0, STAGE.replace(pad_start_ms=200, pad_end_ms=50)) == [(0, 250), (300, 580)]


def test_file_edges_and_empty_input() -> None:
    assert segs(np.zeros(0, dtype=np.float32)) == []
    assert segs(scores((0.9, 7))) == [(0, 70)]  # speech from the first to the last frame
    assert segs(scores((0.9, 7), (0.1, 2))) == [(0, 70)]  # ends before min_silence elapsed
    stage = BoundaryStage(STAGE)
    assert stage.finish() == []


def test_bad_values_name_the_parameter_and_range() -> None:
    with pytest.raises(ValueError, match=r"enter_score = 1.5 is out of range: allowed 0.01 to 1"):
        VadParams(enter_score=1.5)
    with pytest.raises(ValueError, match=r"min_silence_ms = 5 is out of range: allowed 10"):
        VadParams(min_silence_ms=5)
    with pytest.raises(ValueError, match="exit_score must not exceed enter_score"):
        VadParams(enter_score=0.3, exit_score=0.5)
    with pytest.raises(ValueError, match="score_smooth_ms = 25 must be a multiple of 10"):
        VadParams(score_smooth_ms=25)
    with pytest.raises(ValueError, match="boundary_stage works with detect_mode 'multiple'"):
        STAGE.replace(detect_mode="single")


def _random_case(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, VadParams]:
    n = int(rng.integers(0, 900))
    # piecewise scores with noise: runs of speech-like and silence-like stretches
    levels = rng.choice([0.05, 0.3, 0.45, 0.55, 0.7, 0.95], size=n // 7 + 1)
    p = 1.0 - np.repeat(levels, 7)[:n] + rng.normal(0, 0.15, n)
    p0 = np.clip(p, 0, 1).astype(np.float32)
    energy = rng.normal(-40, 15, n)
    enter = float(rng.choice([0.3, 0.5, 0.6, 0.8]))
    params = VadParams(boundary_stage=True, enter_score=enter,
                       exit_score=float(rng.choice([0.0, 0.2, 0.35])) if enter > 0.35 else 0.2,
                       min_silence_ms=int(rng.choice([10, 50, 200, 600])),
                       score_smooth_ms=int(rng.choice([10, 20, 50, 110, 300])),
                       max_segment_ms=int(rng.choice([500, 2000, 60_000])),
                       decibel_thres_db=float(rng.choice([-100.0, -45.0])))
    return p0, energy, params


def test_offline_equals_the_frame_by_frame_rules() -> None:
    rng = np.random.default_rng(13)
    for _ in range(150):
        p0, energy, params = _random_case(rng)
        got = [(s.start_ms, s.end_ms) for s in stage_segments(p0, energy, params)]
        assert got == oracle(p0, energy, params), params
        assert all(end > start for start, end in got)


def _stream(p0: np.ndarray, energy: np.ndarray, params: VadParams,
            sizes: list[int]) -> list[Segment]:
    stage = BoundaryStage(params)
    events = []
    pos, i = 0, 0
    while pos < p0.shape[0]:
        k = sizes[i % len(sizes)]
        events += stage.push(p0[pos:pos + k], energy[pos:pos + k])
        pos += k
        i += 1
    events += stage.finish()
    opened: list[int] = []
    closed = []
    for e in events:  # the event protocol holds: each close follows its open
        if isinstance(e, SegmentOpened):
            opened.append(e.start_ms)
        elif isinstance(e, SegmentDiscarded):
            assert opened.pop() == e.start_ms
        elif isinstance(e, SegmentClosed):
            assert opened.pop() == e.segment.start_ms
            closed.append(e.segment)
    assert opened == []
    return closed


def test_streaming_equals_offline_in_any_blocks() -> None:
    rng = np.random.default_rng(7)
    for _ in range(80):
        p0, energy, params = _random_case(rng)
        params = params.replace(pad_start_ms=int(rng.choice([0, 100])),
                                pad_end_ms=int(rng.choice([0, 150])),
                                min_segment_ms=int(rng.choice([0, 200])))
        offline = stage_segments(p0, energy, params)
        for sizes in ([1], [10], [3, 17, 1], [2, 16, 64], [1000]):
            assert _stream(p0, energy, params, sizes) == offline, (params, sizes)

