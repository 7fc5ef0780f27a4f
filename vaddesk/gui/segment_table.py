"""The segment list (index, start, end, duration, label, note, speaker, confidence) as a Qt
model + view, synced with the plot. Label and note are edited in place (F2, or click a selected
cell); the edit is announced (`text_edited`) for the undoable editor to apply, never written here
directly. The speaker column shows only when segments have speakers (one per channel).
Segments the network was unsure about can be highlighted for review (:class:`SegmentsPanel`)."""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from vaddesk.core.confidence import LOW_CONFIDENCE_MEAN, SegmentConfidence
from vaddesk.core.timefmt import format_ms
from vaddesk.core.types import Segment

COLUMNS = ("#", "start", "end", "duration", "label", "note", "speaker", "confidence")
TEXT_COLUMNS = {4: "label", 5: "note"}
SPEAKER_COLUMN = 6
CONFIDENCE_COLUMN = 7
LOW_CONFIDENCE_BRUSH = QBrush(QColor(255, 214, 153))  # amber: stands out in light and dark

_Index = QModelIndex | QPersistentModelIndex


class SegmentTableModel(QAbstractTableModel):
    text_edited = Signal(int, str, str)  # row, "label" | "note", new text

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._segments: list[Segment] = []
        self._confidences: list[SegmentConfidence] | None = None
        self._review_below: float | None = None  # highlight rows under this mean score

    def segments(self) -> list[Segment]:
        return list(self._segments)

    def set_segments(self, segments: list[Segment],
                     confidences: list[SegmentConfidence] | None = None) -> None:
        if confidences is not None and len(confidences) != len(segments):
            raise ValueError(f"{len(confidences)} confidences for {len(segments)} segments")
        self.beginResetModel()
        self._segments = list(segments)
        self._confidences = list(confidences) if confidences is not None else None
        self.endResetModel()

    def set_review_threshold(self, below: float | None) -> None:
        """Highlight segments whose mean score is below ``below`` (None: no highlight)."""
        self._review_below = below
        if self._segments:
            self.dataChanged.emit(self.index(0, 0),
                                  self.index(len(self._segments) - 1, len(COLUMNS) - 1))

    def is_flagged(self, row: int) -> bool:
        return (self._review_below is not None and self._confidences is not None
                and self._confidences[row].is_low(self._review_below))

    def flagged_rows(self) -> list[int]:
        return [r for r in range(len(self._segments)) if self.is_flagged(r)]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 (Qt API)
        return 0 if parent.isValid() else len(self._segments)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        seg = self._segments[index.row()]
        col = index.column()
        conf = self._confidences[index.row()] if self._confidences is not None else None
        if role == Qt.ItemDataRole.BackgroundRole and self.is_flagged(index.row()):
            return LOW_CONFIDENCE_BRUSH
        if role == Qt.ItemDataRole.ForegroundRole and self.is_flagged(index.row()):
            return QBrush(QColor(0, 0, 0))
        if col in TEXT_COLUMNS:
            if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole,
                        Qt.ItemDataRole.UserRole):
                return seg.label if col == 4 else seg.note
            if role == Qt.ItemDataRole.ToolTipRole:
                return "F2 or click the selected cell to edit"
            return None
        if col == SPEAKER_COLUMN:
            if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.UserRole):
                return seg.speaker or ""
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return str(index.row() + 1) + ("" if seg.origin == "detected" else " ✎")
            if col == CONFIDENCE_COLUMN:
                return "" if conf is None else f"{conf.score_mean:.2f}"
            ms = (seg.start_ms, seg.end_ms, seg.duration_ms)[col - 1]
            return format_ms(ms)
        if role == Qt.ItemDataRole.ToolTipRole and col == 0 and seg.origin != "detected":
            return f"{seg.origin} by you"
        if role == Qt.ItemDataRole.ToolTipRole and conf is not None:
            flag = "\nBelow the review threshold: worth a listen." if self.is_flagged(
                index.row()) else ""
            return (f"Speech score over the segment: mean {conf.score_mean:.2f}, "
                    f"lowest {conf.score_min:.2f}{flag}")
        if role == Qt.ItemDataRole.UserRole:  # raw values for sorting and tests
            if col == CONFIDENCE_COLUMN:
                return None if conf is None else conf.score_mean
            return (index.row(), seg.start_ms, seg.end_ms, seg.duration_ms)[col]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        flags = super().flags(index)
        if index.isValid() and index.column() in TEXT_COLUMNS:
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def setData(self, index: _Index, value: object, role: int = Qt.ItemDataRole.EditRole
                ) -> bool:
        if not index.isValid() or index.column() not in TEXT_COLUMNS \
                or role != Qt.ItemDataRole.EditRole:
            return False
        text = " ".join(str(value).split()) if index.column() == 4 else str(value).strip()
        self.text_edited.emit(index.row(), TEXT_COLUMNS[index.column()], text)
        return True

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None


class SegmentTable(QTableView):
    segment_selected = Signal(int)  # row index chosen by the user
    segment_activated = Signal(int)  # double-click / Enter: play it

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table_model = SegmentTableModel(self)
        self.setModel(self.table_model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.verticalHeader().hide()
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        # times and scores are never cut ("0:00....") however narrow the dock; text takes the rest
        for col in (0, 1, 2, 3, CONFIDENCE_COLUMN):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.setAlternatingRowColors(True)
        self._syncing = False
        self.selectionModel().currentRowChanged.connect(self._on_current_changed)
        self.activated.connect(lambda index: self.segment_activated.emit(index.row()))
        self.setColumnHidden(SPEAKER_COLUMN, True)
        self.set_text_editing(False)

    def set_text_editing(self, on: bool) -> None:
        """Show the label and note columns and let them be typed in (the main window's table,
        which has an editor to apply them); a table without one (the live recording's) hides
        them rather than offer edits that would go nowhere."""
        for column in TEXT_COLUMNS:
            self.setColumnHidden(column, not on)
        self.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed
                             | QAbstractItemView.EditTrigger.SelectedClicked if on
                             else QAbstractItemView.EditTrigger.NoEditTriggers)

    def set_segments(self, segments: list[Segment],
                     confidences: list[SegmentConfidence] | None = None) -> None:
        self._syncing = True
        try:
            self.table_model.set_segments(segments, confidences)
        finally:
            self._syncing = False
        self.setColumnHidden(SPEAKER_COLUMN, not any(s.speaker for s in segments))

    def segments(self) -> list[Segment]:
        return self.table_model.segments()

    def selected_row(self) -> int | None:
        rows = self.selectionModel().selectedRows()
        return rows[0].row() if rows else None

    def select_row(self, row: int | None) -> None:
        """Select a row without announcing it (the plot asked for it)."""
        self._syncing = True
        try:
            if row is None or not 0 <= row < self.table_model.rowCount():
                self.clearSelection()
                return
            index = self.table_model.index(row, 0)
            self.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows)
            self.scrollTo(index)
        finally:
            self._syncing = False

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not self._syncing and current.isValid():
            self.segment_selected.emit(current.row())


class SegmentsPanel(QWidget):
    """The segment table under a review bar: 'Highlight low confidence below [0.80]' and a
    'Next to review' button that selects the next highlighted segment."""

    def __init__(self, table: SegmentTable, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = table
        self.highlight = QCheckBox("Highlight low confidence below")
        self.highlight.setToolTip("Mark segments whose mean speech score is below the value, "
                                  "to listen to them first (noise, music, far speech)")
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setDecimals(2)
        self.threshold.setValue(LOW_CONFIDENCE_MEAN)
        self.next_button = QPushButton("Next to review")
        self.next_button.setToolTip("Select the next highlighted segment")
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.highlight)
        bar.addWidget(self.threshold)
        bar.addStretch(1)
        bar.addWidget(self.next_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(table, 1)
        self.highlight.toggled.connect(self._apply)
        self.threshold.valueChanged.connect(self._apply)
        self.next_button.clicked.connect(self.select_next_flagged)
        self._apply()

    def _apply(self) -> None:
        on = self.highlight.isChecked()
        self.threshold.setEnabled(on)
        self.next_button.setEnabled(on)
        self.table.table_model.set_review_threshold(self.threshold.value() if on else None)

    def select_next_flagged(self) -> None:
        """Select (and announce, so the plot follows) the next highlighted row, wrapping."""
        rows = self.table.table_model.flagged_rows()
        if not rows:
            return
        current = self.table.selected_row()
        after = [r for r in rows if current is None or r > current]
        row = after[0] if after else rows[0]
        self.table.select_row(row)
        self.table.segment_selected.emit(row)
