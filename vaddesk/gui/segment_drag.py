"""Mouse editing on the waveform: drag a segment's edge, drag across empty time to add one.

An event filter on the plot's viewport sees presses before pyqtgraph does: a press within
EDGE_GRAB_PX of a segment edge starts moving that edge, a press on empty time starts a new
segment; anything else (a press inside a segment) goes on to pyqtgraph, which pans. While
dragging, the regions show the edit live; one undoable command is pushed on release. A press
on empty time that never moves is a click (cursor, selection) as before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPoint, Qt
from PySide6.QtGui import QMouseEvent

from vaddesk.core.segment_edits import Edge
from vaddesk.core.types import Segment
from vaddesk.gui.edit_commands import SegmentEditor
from vaddesk.gui.waveform_view import WaveformView

EDGE_GRAB_PX = 5
DRAG_START_PX = 3


@dataclass
class _Drag:
    press: QPoint
    start_s: float
    index: int | None = None  # moving an edge of this segment; None = adding
    edge: Edge = "start"
    moved: bool = False


class SegmentDragController(QObject):
    def __init__(self, view: WaveformView, editor: SegmentEditor) -> None:
        super().__init__(view)
        self._view = view
        self._editor = editor
        self._drag: _Drag | None = None
        self.enabled = True
        view.viewport().installEventFilter(self)
        view.viewport().setMouseTracking(True)

    def _edge_at(self, pos: QPoint) -> tuple[int, Edge] | None:
        """The segment edge within EDGE_GRAB_PX of `pos` (nearest; on a boundary two segments
        share, the one on the side of the pointer)."""
        at = self._time(pos)
        lo = self._time(QPoint(pos.x() - EDGE_GRAB_PX, pos.y()))
        hi = self._time(QPoint(pos.x() + EDGE_GRAB_PX, pos.y()))
        starts, ends = self._view.regions.edges_s()
        found: list[tuple[float, int, int, Edge]] = []
        for edge, times in (("start", starts), ("end", ends)):
            for i in np.flatnonzero((times >= lo) & (times <= hi)):
                x = float(times[i])
                on_its_side = (at >= x) == (edge == "start")
                found.append((abs(x - at), 0 if on_its_side else 1, int(i), edge))  # type: ignore[arg-type]
        if not found:
            return None
        _, _, index, edge = min(found)
        return index, edge

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not self.enabled:
            return False
        kind = event.type()
        if kind == QEvent.Type.MouseButtonPress:
            return self._press(event)  # type: ignore[arg-type]
        if kind == QEvent.Type.MouseMove:
            return self._move(event)  # type: ignore[arg-type]
        if kind == QEvent.Type.MouseButtonRelease:
            return self._release(event)  # type: ignore[arg-type]
        return False

    def _press(self, event: QMouseEvent) -> bool:
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        pos = event.position().toPoint()
        at_s = self._view.wave_time_at(pos)
        if at_s is None:
            return False
        hit = self._edge_at(pos)
        if hit is not None:
            self._drag = _Drag(pos, at_s, hit[0], hit[1])
            return True
        if self._view.regions.index_at(at_s) is None:  # empty time: add (or just a click)
            self._drag = _Drag(pos, at_s)
            return True
        return False  # inside a segment: pyqtgraph pans

    def _move(self, event: QMouseEvent) -> bool:
        pos = event.position().toPoint()
        drag = self._drag
        if drag is None:
            hit = self._edge_at(pos) if self._view.wave_time_at(pos) is not None else None
            shape = Qt.CursorShape.SizeHorCursor if hit else Qt.CursorShape.ArrowCursor
            self._view.viewport().setCursor(shape)
            return False
        if not drag.moved and abs(pos.x() - drag.press.x()) < DRAG_START_PX:
            return True
        drag.moved = True
        self._view.set_segments(self._preview(pos, self._quiet(event)))
        return True

    def _release(self, event: QMouseEvent) -> bool:
        drag, self._drag = self._drag, None
        if drag is None or event.button() != Qt.MouseButton.LeftButton:
            return False
        pos = event.position().toPoint()
        if not drag.moved:
            self._view.set_segments(self._editor.segments())
            self._view.click_at(drag.start_s)
            return True
        at_s = self._time(pos)
        if drag.index is not None:
            self._editor.move_edge(drag.index, drag.edge, at_s * 1000.0, self._quiet(event))
        elif not self._editor.add(drag.start_s * 1000.0, at_s * 1000.0):
            self._view.set_segments(self._editor.segments())  # nothing to add: drop preview
        return True

    def _time(self, pos: QPoint) -> float:
        view = self._view.wave_plot.getViewBox()
        return float(view.mapSceneToView(self._view.mapToScene(pos)).x())

    @staticmethod
    def _quiet(event: QMouseEvent) -> bool:
        return bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)

    def _preview(self, pos: QPoint, quiet: bool) -> list[Segment]:
        drag = self._drag
        assert drag is not None
        at_ms = self._time(pos) * 1000.0
        if drag.index is not None:
            return self._editor.preview_edge(drag.index, drag.edge, at_ms, quiet)
        lo, hi = sorted((drag.start_s * 1000.0, at_ms))
        return sorted([*self._editor.segments(), Segment(int(lo), int(hi), origin="added")],
                      key=lambda s: s.start_ms)
