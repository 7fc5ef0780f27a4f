"""The segment table's confidence column and the low-confidence review bar (real Qt widgets)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from vaddesk.core.confidence import SegmentConfidence
from vaddesk.core.types import Segment
from vaddesk.gui.segment_table import (
    CONFIDENCE_COLUMN,
    LOW_CONFIDENCE_BRUSH,
    SegmentsPanel,
    SegmentTable,
)

SEGS = [Segment(0, 1000), Segment(1500, 2000), Segment(3000, 4200), Segment(5000, 5600)]
CONF = [SegmentConfidence(0.97, 0.40), SegmentConfidence(0.62, 0.05),
        SegmentConfidence(0.91, 0.30), SegmentConfidence(0.74, 0.20)]


@pytest.fixture
def panel(qtbot) -> SegmentsPanel:
    table = SegmentTable()
    panel = SegmentsPanel(table)
    qtbot.addWidget(panel)
    table.set_segments(SEGS, CONF)
    return panel


def test_confidence_column_and_tooltip(panel: SegmentsPanel) -> None:
    model = panel.table.table_model
    assert [model.index(r, CONFIDENCE_COLUMN).data() for r in range(4)] == [
        "0.97", "0.62", "0.91", "0.74"]
    assert model.index(1, CONFIDENCE_COLUMN).data(Qt.ItemDataRole.UserRole) == 0.62
    assert model.index(1, 2).data(Qt.ItemDataRole.ToolTipRole) == (
        "Speech score over the segment: mean 0.62, lowest 0.05")
    # no scores at hand (e.g. a table filled before analysis): an empty cell, no tooltip
    panel.table.set_segments(SEGS)
    assert model.index(0, CONFIDENCE_COLUMN).data() == ""
    assert model.index(0, 0).data(Qt.ItemDataRole.ToolTipRole) is None
    with pytest.raises(ValueError, match="3 confidences for 4 segments"):
        panel.table.set_segments(SEGS, CONF[:3])


def test_highlight_and_next_to_review(qtbot, panel: SegmentsPanel) -> None:
    model = panel.table.table_model
    assert model.flagged_rows() == []  # off until the user asks
    assert not panel.next_button.isEnabled()
    panel.highlight.setChecked(True)
    assert model.flagged_rows() == [1, 3]  # below the default 0.80
    assert model.index(1, 0).data(Qt.ItemDataRole.BackgroundRole) == LOW_CONFIDENCE_BRUSH
    assert model.index(0, 0).data(Qt.ItemDataRole.BackgroundRole) is None
    assert "worth a listen" in model.index(3, 1).data(Qt.ItemDataRole.ToolTipRole)
    chosen: list[int] = []
    panel.table.segment_selected.connect(chosen.append)
    panel.next_button.click()
    panel.next_button.click()
    panel.next_button.click()  # wraps around
    assert chosen == [1, 3, 1] and panel.table.selected_row() == 1
    panel.threshold.setValue(0.7)
    assert model.flagged_rows() == [1]
    panel.threshold.setValue(0.95)
    assert model.flagged_rows() == [1, 2, 3]
    panel.highlight.setChecked(False)
    assert model.flagged_rows() == []
