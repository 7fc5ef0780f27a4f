"""The segment list (index, start, end, duration, label, note) as a Qt model + view, synced
with the plot. Label and note are edited in place (F2, or click a selected cell); the edit is
announced (`text_edited`) for the undoable editor to apply, never written here directly.
The speaker column shows only when segments have speakers (one per channel)."""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from vaddesk.core.timefmt import format_ms
from vaddesk.core.types import Segment

COLUMNS = ("#", "start", "end", "duration", "label", "note", "speaker")
TEXT_COLUMNS = {4: "label", 5: "note"}
SPEAKER_COLUMN = 6

_Index = QModelIndex | QPersistentModelIndex


class SegmentTableModel(QAbstractTableModel):
    text_edited = Signal(int, str, str)  # row, "label" | "note", new text

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._segments: list[Segment] = []

    def segments(self) -> list[Segment]:
        return list(self._segments)

    def set_segments(self, segments: list[Segment]) -> None:
        self.beginResetModel()
        self._segments = list(segments)
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 (Qt API)
        return 0 if parent.isValid() else len(self._segments)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        seg = self._segments[index.row()]
        col = index.column()
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
            ms = (seg.start_ms, seg.end_ms, seg.duration_ms)[col - 1]
            return format_ms(ms)
        if role == Qt.ItemDataRole.ToolTipRole and col == 0 and seg.origin != "detected":
            return f"{seg.origin} by you"
        if role == Qt.ItemDataRole.UserRole:  # raw milliseconds for sorting and tests
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
        self.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed
                             | QAbstractItemView.EditTrigger.SelectedClicked)
        self.verticalHeader().hide()
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.setAlternatingRowColors(True)
        self._syncing = False
        self.selectionModel().currentRowChanged.connect(self._on_current_changed)
        self.activated.connect(lambda index: self.segment_activated.emit(index.row()))
        self.setColumnHidden(SPEAKER_COLUMN, True)

    def set_segments(self, segments: list[Segment]) -> None:
        self._syncing = True
        try:
            self.table_model.set_segments(segments)
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
