"""The parameter panel with the boundary stage: its controls, and which ones act (real Qt)."""

from __future__ import annotations

from vaddesk.core.decision import score_threshold
from vaddesk.core.params import VadParams
from vaddesk.core.presets import get_preset
from vaddesk.gui.param_panel import REFERENCE_ONLY, STAGE_ONLY, ParamPanel


def test_stage_controls_edit_the_stage_and_grey_out_what_it_ignores(qtbot) -> None:
    panel = ParamPanel()
    qtbot.addWidget(panel)
    meeting = get_preset("meeting").params
    panel.set_params(meeting)
    assert meeting.boundary_stage
    assert all(panel.row(n).spin.isEnabled() for n in STAGE_ONLY)
    assert not any(panel.row(n).spin.isEnabled() for n in REFERENCE_ONLY if n in
                   ("max_end_silence_ms", "speech_noise_thres"))
    assert panel.row("enter_score").spin.value() == meeting.enter_score
    edited: list[VadParams] = []
    panel.params_edited.connect(edited.append)
    panel.set_value("min_silence_ms", 300)
    assert edited[-1] == meeting.replace(min_silence_ms=300)
    panel.set_value("exit_score", 0.95)  # above enter_score: refused with the engine's words
    assert edited[-1] == meeting.replace(min_silence_ms=300)
    assert not panel._error.isHidden()
    assert "exit_score must not exceed enter_score" in panel._error.text()
    # back to the reference's rules: their controls act again, the stage's are greyed out
    panel.set_params(get_preset("funasr").params)
    assert panel.row("max_end_silence_ms").spin.isEnabled()
    assert not panel.row("enter_score").spin.isEnabled()


def test_threshold_line_is_where_segments_open() -> None:
    stage = VadParams(boundary_stage=True, enter_score=0.85, exit_score=0.4)
    assert score_threshold(stage) == 0.85
    assert score_threshold(stage.replace(boundary_stage=False)) == score_threshold(VadParams())
