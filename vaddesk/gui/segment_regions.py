"""One graphics item that shades every speech segment (thousands stay cheap).

A LinearRegionItem per segment costs a QGraphicsItem each and makes a 3-hour file with 3000
segments crawl; this item keeps the segments as two sorted arrays and paints only those that
intersect the visible range.

Segments that carry a speaker (each channel of a call analysed on its own) are drawn in one
lane per speaker: lane k (the channel) is the k-th horizontal band from the top, in the
speaker's colour; the two sides of a call may overlap in time and each stays visible.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QLineF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen

from vaddesk.core.types import Segment

SEGMENT_FILL = QColor(46, 160, 67, 70)
SELECTED_FILL = QColor(255, 190, 40, 110)
SELECTED_EDGE = QColor(255, 160, 0, 255)
# Segment edges: touching segments (a split) stay visibly two, and edges show where to drag.
BOUNDARY = QColor(20, 110, 40, 220)
LANE_FILLS = (QColor(80, 160, 255, 90), QColor(80, 210, 120, 100), QColor(200, 120, 255, 90),
              QColor(255, 170, 60, 90))  # You blue, Others green, as in the Record panel


class SegmentRegionsItem(pg.GraphicsObject):
    def __init__(self, y_low: float = -1e3, y_high: float = 1e3) -> None:
        super().__init__()
        self._starts_s = np.zeros(0)
        self._ends_s = np.zeros(0)
        self._selected: int | None = None
        self._lanes = np.zeros(0, dtype=np.int64)
        self.lane_count = 1
        self._y_low, self._y_high = y_low, y_high
        self.setZValue(-10)  # under the waveform

    def set_segments(self, segments: list[Segment]) -> None:
        self.prepareGeometryChange()
        self._starts_s = np.array([s.start_ms for s in segments], dtype=np.float64) / 1000.0
        self._ends_s = np.array([s.end_ms for s in segments], dtype=np.float64) / 1000.0
        self._lanes = np.array([s.channel or 0 for s in segments], dtype=np.int64)
        speakers = any(s.speaker for s in segments)
        self.lane_count = int(self._lanes.max()) + 1 if speakers and segments else 1
        if self._selected is not None and self._selected >= len(segments):
            self._selected = None
        self.update()

    def set_selected(self, index: int | None) -> None:
        self._selected = index
        self.update()

    def edges_s(self) -> tuple[np.ndarray, np.ndarray]:
        """Start and end times (s) of every segment, sorted by start."""
        return self._starts_s, self._ends_s

    def index_at(self, x_s: float) -> int | None:
        """The segment containing time x_s (seconds), if any."""
        i = int(np.searchsorted(self._starts_s, x_s, side="right")) - 1
        if 0 <= i < self._ends_s.size and x_s <= self._ends_s[i]:
            return i
        return None

    def boundingRect(self) -> QRectF:
        end = float(self._ends_s[-1]) if self._ends_s.size else 0.0
        return QRectF(0.0, self._y_low, max(end, 1e-3), self._y_high - self._y_low)

    def paint(self, painter: QPainter, *args) -> None:
        if not self._starts_s.size:
            return
        view = self.getViewBox()
        if view is None:
            return
        (x0, x1), (y0, y1) = view.viewRange()
        if self.lane_count > 1:
            self._paint_lanes(painter, x0, x1, y0, y1)
            return
        first = int(np.searchsorted(self._ends_s, x0, side="left"))
        last = int(np.searchsorted(self._starts_s, x1, side="right"))
        # Only the visible regions, clipped to the visible height, in one drawRects call
        # without outlines: rasterising far-off or stroked rectangles is what costs.
        starts = np.maximum(self._starts_s[first:last], x0)
        ends = np.minimum(self._ends_s[first:last], x1)
        height = y1 - y0
        rects = [QRectF(float(a), y0, float(b - a), height)
                 for a, b in zip(starts, ends, strict=True)]
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QBrush(SEGMENT_FILL))
        if rects:
            painter.drawRects(rects)
        i = self._selected
        if i is not None and first <= i < last:
            pen = QPen(SELECTED_EDGE)
            pen.setCosmetic(True)
            pen.setWidth(2)
            painter.setPen(pen)
            painter.setBrush(QBrush(SELECTED_FILL))
            a, b = max(self._starts_s[i], x0), min(self._ends_s[i], x1)
            painter.drawRect(QRectF(float(a), y0, float(b - a), height))
        if rects:  # edges last: a split stays visible even next to the selected segment
            edge = QPen(BOUNDARY)
            edge.setCosmetic(True)
            edge.setWidth(1)
            painter.setPen(edge)
            edges = np.concatenate([self._starts_s[first:last], self._ends_s[first:last]])
            painter.drawLines([QLineF(float(x), y0, float(x), y1)
                               for x in edges[(edges >= x0) & (edges <= x1)]])

    def _paint_lanes(self, painter: QPainter, x0: float, x1: float, y0: float, y1: float
                     ) -> None:
        """One band per lane (top = lane 0), each segment in its own lane's band and colour.
        Lanes overlap in time, so ends are not sorted: the visible ones are found by mask."""
        band = (y1 - y0) / self.lane_count
        visible = (self._ends_s >= x0) & (self._starts_s <= x1)
        edge = QPen(BOUNDARY)
        edge.setCosmetic(True)
        edge.setWidth(1)
        for lane in range(self.lane_count):
            idx = np.flatnonzero(visible & (self._lanes == lane))
            if not idx.size:
                continue
            top = y1 - band * (lane + 1)
            starts = np.maximum(self._starts_s[idx], x0)
            ends = np.minimum(self._ends_s[idx], x1)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QBrush(LANE_FILLS[lane % len(LANE_FILLS)]))
            painter.drawRects([QRectF(float(a), top, float(b - a), band)
                               for a, b in zip(starts, ends, strict=True)])
            painter.setPen(edge)
            xs = np.concatenate([self._starts_s[idx], self._ends_s[idx]])
            painter.drawLines([QLineF(float(x), top, float(x), top + band)
                               for x in xs[(xs >= x0) & (xs <= x1)]])
        i = self._selected
        if i is not None and i < self._starts_s.size and visible[i]:
            pen = QPen(SELECTED_EDGE)
            pen.setCosmetic(True)
            pen.setWidth(2)
            painter.setPen(pen)
            painter.setBrush(QBrush(SELECTED_FILL))
            a, b = max(self._starts_s[i], x0), min(self._ends_s[i], x1)
            top = y1 - band * (int(self._lanes[i]) + 1)
            painter.drawRect(QRectF(float(a), top, float(b - a), band))
