"""The batch queue: every opened file with its state, cancel one or all, export all."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from vaddesk.core.wording import counted
from vaddesk.gui.analysis_queue import AnalysisQueue, ItemState, QueueItem

STATE_COLORS = {
    ItemState.WAITING: QColor(110, 110, 110),
    ItemState.RUNNING: QColor(30, 90, 200),
    ItemState.DONE: QColor(20, 130, 50),
    ItemState.FAILED: QColor(190, 20, 30),
    ItemState.CANCELLED: QColor(140, 110, 30),
}
WARNING_COLOR = QColor(170, 110, 0)  # done, but the file was damaged (see the banner)
_ID_ROLE = Qt.ItemDataRole.UserRole


def describe(item: QueueItem, segment_count: int | None = None) -> str:
    """The status text of one item, as the panel shows it (segment_count: with the values now
    on screen, when they differ from those the file was analysed with)."""
    if item.state is ItemState.RUNNING:
        return f"running {item.fraction * 100:.0f} %"
    if item.state is ItemState.DONE and item.analysis is not None:
        n = len(item.analysis.segments) if segment_count is None else segment_count
        warned = ", with a warning" if item.analysis.info.warnings else ""
        return f"done{warned}: {counted(n, 'segment')}"
    if item.state is ItemState.FAILED:
        return f"failed: {item.reason}"
    return item.state.value


class QueuePanel(QWidget):
    item_chosen = Signal(int)  # the user picked a file to show
    export_all_requested = Signal()

    def __init__(self, queue: AnalysisQueue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._queue = queue
        self.tree = QTreeWidget()
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["file", "state"])
        self.tree.setRootIsDecorated(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.tree.header().setStretchLastSection(True)
        self.tree.setColumnWidth(0, 260)
        self.tree.itemSelectionChanged.connect(self._on_selection)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Cancel the selected files")
        self.cancel_all_button = QPushButton("Cancel all")
        self.export_all_button = QPushButton("Export all…")
        self.export_all_button.setToolTip("Export every finished file with the current values")
        self.clear_button = QPushButton("Clear finished")
        self.cancel_button.clicked.connect(self.cancel_selected)
        self.cancel_all_button.clicked.connect(queue.cancel_all)
        self.export_all_button.clicked.connect(self.export_all_requested)
        self.clear_button.clicked.connect(self._clear_finished)
        buttons = QHBoxLayout()
        for b in (self.cancel_button, self.cancel_all_button, self.export_all_button,
                  self.clear_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.tree)
        layout.addLayout(buttons)
        self._rows: dict[int, QTreeWidgetItem] = {}
        queue.item_added.connect(self._on_item_added)
        queue.item_changed.connect(self._on_item_changed)
        self._update_buttons()

    def row_texts(self) -> dict[int, str]:
        """item id -> status text (what a user reads; tests check it)."""
        return {item_id: row.text(1) for item_id, row in self._rows.items()}

    def select_item(self, item_id: int) -> None:
        row = self._rows.get(item_id)
        if row is not None:
            self.tree.blockSignals(True)
            self.tree.setCurrentItem(row)
            self.tree.blockSignals(False)

    def show_segment_count(self, item_id: int, count: int) -> None:
        """The file on screen was re-segmented: show its current number of segments."""
        row, item = self._rows.get(item_id), self._queue.get(item_id)
        if row is not None and item is not None and item.state is ItemState.DONE:
            row.setText(1, describe(item, count))

    def cancel_selected(self) -> None:
        for row in self.tree.selectedItems():
            self._queue.cancel(int(row.data(0, _ID_ROLE)))

    def _clear_finished(self) -> None:
        self._queue.remove_finished()
        present = {i.item_id for i in self._queue.items()}
        for item_id in [i for i in self._rows if i not in present]:
            row = self._rows.pop(item_id)
            self.tree.takeTopLevelItem(self.tree.indexOfTopLevelItem(row))
        self._update_buttons()

    def _on_item_added(self, item_id: int) -> None:
        item = self._queue.item(item_id)
        row = QTreeWidgetItem([str(item.relpath), ""])
        row.setData(0, _ID_ROLE, item_id)
        row.setToolTip(0, str(item.path))
        self.tree.addTopLevelItem(row)
        self._rows[item_id] = row
        self._on_item_changed(item_id)

    def _on_item_changed(self, item_id: int) -> None:
        row = self._rows.get(item_id)
        if row is None:
            return
        item = self._queue.item(item_id)
        row.setText(1, describe(item))
        warnings = item.analysis.info.warnings if item.analysis is not None else ()
        row.setToolTip(1, "\n".join([describe(item), *warnings]))
        row.setForeground(1, QBrush(WARNING_COLOR if warnings else STATE_COLORS[item.state]))
        self._update_buttons()

    def _on_selection(self) -> None:
        rows = self.tree.selectedItems()
        if len(rows) == 1:
            self.item_chosen.emit(int(rows[0].data(0, _ID_ROLE)))

    def _update_buttons(self) -> None:
        busy = self._queue.is_busy()
        self.cancel_button.setEnabled(busy)  # nothing waits or runs: nothing to cancel
        self.cancel_all_button.setEnabled(busy)
        self.export_all_button.setEnabled(bool(self._queue.done_items()))
