"""The score line the GUI draws is the engine's own frame decision (core/decision.py)."""

from __future__ import annotations

import numpy as np
import pytest

from vaddesk.core.decision import score_test, score_threshold
from vaddesk.core.params import VadParams


def test_threshold_line_is_the_engines_frame_decision() -> None:
    params = VadParams()
    assert score_threshold(params) == pytest.approx(0.8, abs=1e-9)
    params = VadParams(speech_noise_thres=0.3, speech_to_noise_ratio=2.0)
    line = score_threshold(params)
    for p0 in np.linspace(0.0, 1.0, 2001):
        score = 1 - p0
        if abs(score - line) > 1e-9:  # exactly on the line, rounding decides
            assert ((1 - p0) >= p0**2.0 + 0.3) == (score > line)


@pytest.mark.parametrize(("ratio", "thres"), [(1.0, 0.6), (2.0, 0.3), (0.5, 0.1)])
def test_threshold_line_splits_the_engines_score_test(ratio: float, thres: float) -> None:
    line = score_threshold(VadParams(speech_noise_thres=thres, speech_to_noise_ratio=ratio))
    p0 = np.linspace(0.0, 1.0, 4001, dtype=np.float32)
    away = np.abs((1 - p0.astype(np.float64)) - line) > 1e-6
    decided = score_test(p0, ratio, thres)
    np.testing.assert_array_equal(decided[away], ((1 - p0.astype(np.float64)) > line)[away])
    assert decided.any() and not decided.all()
