"""The live view: the last N seconds scrolling (waveform, speech shaded, score curve; a
LiveCanvas) above an overview of the whole session with the live window marked (pyqtgraph).

Drawn only from ``show_snapshot(...)``, which the panel calls from its frame timer: one update
per frame, whatever the audio block rate. The overview is redrawn once a second (and on the
last frame): it changes little from one frame to the next.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QVBoxLayout, QWidget

from vaddesk.core.types import Segment
from vaddesk.gui.live_canvas import LiveCanvas
from vaddesk.gui.time_axis import TimeAxisItem
from vaddesk.pipeline.live import LiveSnapshot

SPEECH_BRUSH = (80, 160, 255, 70)
OPEN_BRUSH = (255, 170, 60, 90)
WAVE_PEN = (200, 200, 200)


def _envelope_xy(start_ms: int, step_ms: int, mins: np.ndarray, maxs: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """One vertical stroke per bin: x = t,t  y = min,max (drawn with connect="pairs")."""
    n = mins.shape[0]
    t = (start_ms + step_ms * np.arange(n)) / 1000.0
    x = np.repeat(t, 2)
    y = np.empty(2 * n, np.float32)
    y[0::2] = mins
    y[1::2] = maxs
    return x, y


def _shade_xy(spans: list[tuple[float, float]], lo: float, hi: float
              ) -> tuple[np.ndarray, np.ndarray]:
    """A curve that is `hi` inside each span and `lo` elsewhere; filled down to `lo`."""
    if not spans:
        return np.zeros(0), np.zeros(0)
    x = np.array([[a, a, b, b] for a, b in spans], float).ravel()
    y = np.tile([lo, hi, hi, lo], len(spans)).astype(float)
    return x, y


class LivePlot(QWidget):
    def __init__(self, parent: QWidget | None = None, *, speech: QColor | None = None,
                 title: str = "whole session") -> None:
        """``speech``: this lane's speech colour (one lane per speaker); ``title``: the
        overview's title."""
        super().__init__(parent)
        self.canvas = LiveCanvas(speech=speech)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("k")
        self.graphics.setMaximumHeight(130)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.graphics)

        self.overview_plot = self.graphics.addPlot(
            row=0, col=0, axisItems={"bottom": TimeAxisItem("bottom")})
        self.overview_plot.setMouseEnabled(x=False, y=False)
        self.overview_plot.hideButtons()
        self.overview_plot.setMenuEnabled(False)
        self.overview_plot.hideAxis("left")
        self.overview_plot.setYRange(-1, 1, padding=0.02)
        self.overview_plot.setTitle(title, size="8pt", justify="left")
        no_pen = pg.mkPen(None)
        # PlotCurveItem, not PlotDataItem: no scatter/downsampling layer to update.
        brush = SPEECH_BRUSH if speech is None else (speech.red(), speech.green(),
                                                     speech.blue(), speech.alpha())
        self.ov_speech = pg.PlotCurveItem(fillLevel=-1.0, brush=brush, pen=no_pen)
        self.ov_open = pg.PlotCurveItem(fillLevel=-1.0, brush=OPEN_BRUSH, pen=no_pen)
        self.ov_wave = pg.PlotCurveItem(pen=pg.mkPen(WAVE_PEN, width=1), connect="pairs")
        self.ov_window = pg.LinearRegionItem(movable=False, brush=(255, 255, 255, 40))
        for item in (self.ov_speech, self.ov_open, self.ov_wave, self.ov_window):
            self.overview_plot.addItem(item)
        self.frames_drawn = 0
        self.overview_every = 30  # frames: once a second at 30 fps
        self._frames_since_overview = self.overview_every
        self._ov_count = -1

    def set_title(self, title: str) -> None:
        self.overview_plot.setTitle(title, size="8pt", justify="left")

    def clear(self) -> None:
        for item in (self.ov_speech, self.ov_open, self.ov_wave):
            item.setData([], [])
        self.canvas.set_snapshot(None, 30_000)
        self._ov_count = -1
        self._frames_since_overview = self.overview_every

    def show_snapshot(self, snap: LiveSnapshot, window_ms: int,
                      all_segments: list[Segment], final: bool = False) -> None:
        self.canvas.set_snapshot(snap, window_ms)
        self._frames_since_overview += 1
        if self._frames_since_overview >= self.overview_every or final:
            self._frames_since_overview = 0
            self._show_overview(snap, all_segments, window_ms)
        self.frames_drawn += 1

    def repaint_now(self) -> None:
        """Paint the live view at once (benchmarks time the frame with it)."""
        self.canvas.repaint()

    def _show_overview(self, snap: LiveSnapshot, all_segments: list[Segment],
                       window_ms: int) -> None:
        bin_ms = snap.overview_bin_ms
        self.ov_wave.setData(*_envelope_xy(0, bin_ms, snap.overview_min, snap.overview_max),
                             skipFiniteCheck=True)
        if len(all_segments) != self._ov_count:
            # Rebuilt only when a segment closed: a 3-hour session has thousands of them.
            spans = [(s.start_ms / 1000.0, s.end_ms / 1000.0) for s in all_segments]
            self.ov_speech.setData(*_shade_xy(spans, -1.0, 1.0))
            self._ov_count = len(all_segments)
        now_s = snap.recorded_ms / 1000.0
        if snap.open_start_ms is not None:
            self.ov_open.setData(*_shade_xy([(snap.open_start_ms / 1000.0, now_s)], -1.0, 1.0))
        else:
            self.ov_open.setData([], [])
        self.overview_plot.setXRange(0, max(now_s, 1.0), padding=0)
        self.ov_window.setRegion((max(0.0, now_s - window_ms / 1000.0), now_s))
        # Apply the new range now: left to the paint, pyqtgraph would update the view matrix
        # during the paint and schedule a second paint.
        self.overview_plot.getViewBox().prepareForPaint()
