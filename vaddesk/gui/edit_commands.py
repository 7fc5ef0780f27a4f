"""The segment editor: every edit is one QUndoCommand on one QUndoStack.

A command stores the whole segment list before and after (a few thousand small frozen
dataclasses at most), so undo and redo restore the exact segments whatever the edit was; the
edits themselves are the pure functions of vaddesk.core.segment_edits.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from vaddesk.core import segment_edits as edits
from vaddesk.core.types import Segment


class ReplaceSegments(QUndoCommand):
    def __init__(self, editor: SegmentEditor, before: list[Segment], after: list[Segment],
                 text: str, select_before: int | None, select_after: int | None) -> None:
        super().__init__(text)
        self._editor = editor
        self._before, self._after = before, after
        self._select_before, self._select_after = select_before, select_after

    def redo(self) -> None:
        self._editor._apply(self._after, self._select_after)

    def undo(self) -> None:
        self._editor._apply(self._before, self._select_before)


class SegmentEditor(QObject):
    """The segments on screen and their edit history (reset when detection runs again)."""

    segments_edited = Signal(object, object)  # list[Segment], row to select (or None)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self._segments: list[Segment] = []
        self._detected: list[Segment] = []
        self._duration_ms = 0
        self._energy_db: np.ndarray | None = None
        self._selected: int | None = None

    # --- state -----------------------------------------------------------------------------
    def reset(self, segments: list[Segment], duration_ms: int,
              energy_db: np.ndarray | None) -> None:
        """New detected segments (a file shown, values changed): no history to undo."""
        self.undo_stack.clear()
        self._segments = list(segments)
        self._detected = list(segments)
        self._duration_ms = duration_ms
        self._energy_db = energy_db

    def segments(self) -> list[Segment]:
        return list(self._segments)

    def detected(self) -> list[Segment]:
        return list(self._detected)

    def has_edits(self) -> bool:
        return self._segments != self._detected

    def set_selected(self, row: int | None) -> None:
        self._selected = row

    def selected(self) -> int | None:
        return self._selected

    def _apply(self, segments: list[Segment], select: int | None) -> None:
        self._segments = list(segments)
        self._selected = select
        self.segments_edited.emit(list(segments), select)

    def push(self, after: list[Segment], text: str, select: int | None) -> None:
        if after == self._segments:
            return
        self.undo_stack.push(ReplaceSegments(self, list(self._segments), list(after), text,
                                             self._selected, select))

    # --- edits -----------------------------------------------------------------------------
    def boundary_ms(self, ms: float, quiet: bool) -> int:
        """Where a dragged boundary lands: the 10 ms frame, or (quiet) the quietest frame
        within 100 ms."""
        return edits.quietest_ms(ms, self._energy_db) if quiet else edits.snap_ms(ms)

    def preview_edge(self, index: int, edge: edits.Edge, ms: float, quiet: bool
                     ) -> list[Segment]:
        return edits.move_edge(self._segments, index, edge, self.boundary_ms(ms, quiet),
                               self._duration_ms)

    def move_edge(self, index: int, edge: edits.Edge, ms: float, quiet: bool = False) -> None:
        moved = self._segments[index]
        after = self.preview_edge(index, edge, ms, quiet)
        row = next((i for i, s in enumerate(after)
                    if (s.start_ms if edge == "end" else s.end_ms)
                    == (moved.start_ms if edge == "end" else moved.end_ms)), index)
        self.push(after, f"Move {edge} of segment {index + 1}", row)

    def nudge(self, index: int, edge: edits.Edge, delta_ms: int) -> None:
        seg = self._segments[index]
        self.move_edge(index, edge, (seg.start_ms if edge == "start" else seg.end_ms)
                       + delta_ms)

    def split(self, at_ms: float) -> bool:
        after = edits.split_at(self._segments, edits.snap_ms(at_ms))
        if after is None:
            return False
        row = next(i for i, s in enumerate(after) if s.end_ms == edits.snap_ms(at_ms)
                   and s not in self._segments)
        self.push(after, "Split segment", row)
        return True

    def merge_with_next(self, index: int) -> bool:
        after = edits.merge_with_next(self._segments, index)
        if after is None:
            return False
        self.push(after, f"Merge segments {index + 1} and {index + 2}", index)
        return True

    def delete(self, index: int) -> None:
        after = edits.delete(self._segments, index)
        self.push(after, f"Delete segment {index + 1}",
                  min(index, len(after) - 1) if after else None)

    def add(self, start_ms: float, end_ms: float) -> bool:
        made = edits.add(self._segments, edits.snap_ms(start_ms), edits.snap_ms(end_ms),
                         self._duration_ms)
        if made is None:
            return False
        after, row = made
        self.push(after, "Add segment", row)
        return True

    def set_label(self, index: int, text: str) -> None:
        self.push(edits.set_text(self._segments, index, label=text),
                  f"Label segment {index + 1}", index)

    def set_note(self, index: int, text: str) -> None:
        self.push(edits.set_text(self._segments, index, note=text),
                  f"Note on segment {index + 1}", index)

    def redetect(self, segments: list[Segment]) -> None:
        """Detected again over edits: one undoable step (undo brings the edits back)."""
        self._detected = list(segments)
        self.push(list(segments), "Detect again", None)

    def restore(self, segments: list[Segment]) -> None:
        """Edits saved earlier, as one undoable step on top of the detected segments."""
        self.push(list(segments), "Restore saved edits", None)
