"""The whole file at a glance: coarse envelope, segments, and the visible window as a region.

Dragging the region pans the main view; clicking elsewhere centres the main view there.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor

from vaddesk.audio.envelope import PeakEnvelope
from vaddesk.core.types import Segment
from vaddesk.gui.segment_regions import SegmentRegionsItem

OVERVIEW_BINS = 1500


class OverviewStrip(pg.PlotWidget):
    range_requested = Signal(float, float)  # seconds: the user moved the window

    def __init__(self, parent=None) -> None:
        super().__init__(parent, background="w")
        self.setFixedHeight(70)
        self.setToolTip("Whole file: drag the highlighted window to move the view")
        plot = self.getPlotItem()
        plot.hideAxis("left")
        plot.hideAxis("bottom")
        plot.hideButtons()
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(x=False, y=False)
        plot.getViewBox().setDefaultPadding(0.0)
        self._regions = SegmentRegionsItem()
        plot.addItem(self._regions, ignoreBounds=True)
        self._curve = pg.PlotDataItem(pen=pg.mkPen(QColor(90, 120, 170), width=1), antialias=False)
        plot.addItem(self._curve)
        self._window = pg.LinearRegionItem((0.0, 1.0), brush=pg.mkBrush(50, 90, 200, 40),
                                           pen=pg.mkPen(50, 90, 200, 200))
        self._window.setZValue(10)
        self._window.sigRegionChanged.connect(self._on_window_dragged)
        plot.addItem(self._window, ignoreBounds=True)
        self._updating = False
        self._duration_s = 0.0
        self.scene().sigMouseClicked.connect(self._on_clicked)

    def set_envelope(self, envelope: PeakEnvelope, duration_s: float) -> None:
        self._duration_s = max(duration_s, 1e-3)
        plot = self.getPlotItem()
        if envelope.num_samples:
            win = envelope.window(0.0, envelope.duration_s, OVERVIEW_BINS)
            x = np.repeat(win.start_s, 2)
            y = np.empty(x.size, dtype=np.float32)
            y[0::2], y[1::2] = win.mins, win.maxs
            self._curve.setData(x, y)
            peak = float(max(-win.mins.min(), win.maxs.max())) if win.mins.size else 1.0
            plot.setYRange(-max(peak, 1e-4), max(peak, 1e-4), padding=0.05)
        else:
            self._curve.clear()
        plot.setXRange(0.0, self._duration_s, padding=0.0)
        self._window.setBounds((0.0, self._duration_s))

    def clear_file(self) -> None:
        """No file: no envelope, no segments, the window over nothing (a new file is coming).

        Not `clear()`: pg.PlotWidget binds that name to PlotItem.clear, which removes every
        item from the plot."""
        self.set_envelope(PeakEnvelope.empty(), 0.0)
        self.set_segments([])
        self.set_visible_range(0.0, 1e-3)

    def show_length(self, duration_s: float) -> None:
        """A file of this length is coming (no audio yet): the window over all of it."""
        self._duration_s = max(duration_s, 1e-3)
        self.getPlotItem().setXRange(0.0, self._duration_s, padding=0.0)
        self._window.setBounds((0.0, self._duration_s))
        self.set_visible_range(0.0, self._duration_s)

    def set_segments(self, segments: list[Segment]) -> None:
        self._regions.set_segments(segments)

    def set_visible_range(self, start_s: float, stop_s: float) -> None:
        self._updating = True
        try:
            self._window.setRegion((start_s, stop_s))
        finally:
            self._updating = False

    def _on_window_dragged(self) -> None:
        if not self._updating:
            start, stop = self._window.getRegion()
            self.range_requested.emit(float(start), float(stop))

    def _on_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        view = self.getPlotItem().getViewBox()
        x = float(view.mapSceneToView(event.scenePos()).x())
        start, stop = self._window.getRegion()
        half = (stop - start) / 2
        self.range_requested.emit(x - half, x + half)
