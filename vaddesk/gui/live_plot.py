"""The live view: the last N seconds scrolling (waveform, speech shaded, score curve) and an
overview of the whole session with the live window marked.

Drawn only from ``show(snapshot, window_ms)``, which the panel calls from its frame timer:
every item gets one ``setData`` per frame, whatever the audio block rate.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from vaddesk.audio.live import LiveSnapshot
from vaddesk.core.types import Segment

SPEECH_BRUSH = (80, 160, 255, 70)
OPEN_BRUSH = (255, 170, 60, 90)    # a segment still open: drawn growing, in another colour
WAVE_PEN = (200, 200, 200)
SCORE_PEN = (255, 120, 120)


def _envelope_xy(start_ms: int, step_ms: int, mins: np.ndarray, maxs: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """One vertical stroke per bin: x = t,t  y = min,max (drawn as a connected line)."""
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
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("k")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics)

        self.wave_plot = self.graphics.addPlot(row=0, col=0)
        self.score_plot = self.graphics.addPlot(row=1, col=0)
        self.overview_plot = self.graphics.addPlot(row=2, col=0)
        self.graphics.ci.layout.setRowStretchFactor(0, 5)
        self.graphics.ci.layout.setRowStretchFactor(1, 2)
        self.graphics.ci.layout.setRowStretchFactor(2, 2)
        for plot in (self.wave_plot, self.score_plot, self.overview_plot):
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            plot.setMenuEnabled(False)
            plot.showGrid(x=True, y=False, alpha=0.2)
        self.score_plot.setXLink(self.wave_plot)
        self.wave_plot.setYRange(-1, 1, padding=0.02)
        self.wave_plot.getAxis("left").setWidth(40)
        self.score_plot.setYRange(0, 1, padding=0.05)
        self.score_plot.getAxis("left").setWidth(40)
        self.overview_plot.setYRange(-1, 1, padding=0.02)
        self.overview_plot.getAxis("left").setWidth(40)
        self.wave_plot.setLabel("left", "live")
        self.score_plot.setLabel("left", "score")
        self.overview_plot.setLabel("left", "session")

        self.speech = pg.PlotDataItem(fillLevel=-1.0, brush=SPEECH_BRUSH, pen=None)
        self.open_speech = pg.PlotDataItem(fillLevel=-1.0, brush=OPEN_BRUSH, pen=None)
        self.wave = pg.PlotDataItem(pen=pg.mkPen(WAVE_PEN, width=1))
        self.score = pg.PlotDataItem(pen=pg.mkPen(SCORE_PEN, width=1))
        self.ov_speech = pg.PlotDataItem(fillLevel=-1.0, brush=SPEECH_BRUSH, pen=None)
        self.ov_open = pg.PlotDataItem(fillLevel=-1.0, brush=OPEN_BRUSH, pen=None)
        self.ov_wave = pg.PlotDataItem(pen=pg.mkPen(WAVE_PEN, width=1))
        self.ov_window = pg.LinearRegionItem(movable=False, brush=(255, 255, 255, 40))
        for item in (self.speech, self.open_speech, self.wave):
            self.wave_plot.addItem(item)
        self.score_plot.addItem(self.score)
        for item in (self.ov_speech, self.ov_open, self.ov_wave, self.ov_window):
            self.overview_plot.addItem(item)
        self.frames_drawn = 0
        self._ov_count = -1

    def clear(self) -> None:
        for item in (self.speech, self.open_speech, self.wave, self.score, self.ov_speech,
                     self.ov_open, self.ov_wave):
            item.setData([], [])
        self._ov_count = -1

    def show_snapshot(self, snap: LiveSnapshot, window_ms: int,
                      all_segments: list[Segment]) -> None:
        end_s = max(snap.recorded_ms, window_ms) / 1000.0
        start_s = end_s - window_ms / 1000.0
        self.wave.setData(*_envelope_xy(snap.env_start_ms, 10, snap.env_min, snap.env_max))
        score_t = (snap.score_start_ms + 10 * np.arange(snap.score.shape[0])) / 1000.0
        self.score.setData(score_t, snap.score)
        spans = [(s.start_ms / 1000.0, s.end_ms / 1000.0) for s in snap.segments]
        self.speech.setData(*_shade_xy(spans, -1.0, 1.0))
        opened = []
        if snap.open_start_ms is not None:
            # Open: shaded from its start to "now", growing every frame until it closes.
            opened = [(snap.open_start_ms / 1000.0, snap.recorded_ms / 1000.0)]
            self.open_speech.setData(*_shade_xy(opened, -1.0, 1.0))
        else:
            self.open_speech.setData([], [])
        self.wave_plot.setXRange(start_s, end_s, padding=0)

        bin_ms = snap.overview_bin_ms
        self.ov_wave.setData(*_envelope_xy(0, bin_ms, snap.overview_min, snap.overview_max))
        if len(all_segments) != self._ov_count:
            # Rebuilt only when a segment closed: a 3-hour session has thousands of them.
            ov_spans = [(s.start_ms / 1000.0, s.end_ms / 1000.0) for s in all_segments]
            self.ov_speech.setData(*_shade_xy(ov_spans, -1.0, 1.0))
            self._ov_count = len(all_segments)
        if snap.open_start_ms is not None:
            self.ov_open.setData(*_shade_xy(opened, -1.0, 1.0))
        else:
            self.ov_open.setData([], [])
        total_s = max(snap.recorded_ms / 1000.0, 1.0)
        self.overview_plot.setXRange(0, total_s, padding=0)
        self.ov_window.setRegion((max(0.0, start_s), end_s))
        self.frames_drawn += 1
