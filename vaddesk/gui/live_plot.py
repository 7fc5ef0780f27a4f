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


def _pool(start_ms: int, factor: int, mins: np.ndarray, maxs: np.ndarray
          ) -> tuple[int, np.ndarray, np.ndarray]:
    """Merge ``factor`` 10 ms frames into one bin (min of mins, max of maxs); the oldest
    frames that do not fill a bin are dropped (they are at the left edge of the view)."""
    if factor == 1:
        return start_ms, mins, maxs
    skip = mins.shape[0] % factor
    lo = mins[skip:].reshape(-1, factor).min(axis=1)
    hi = maxs[skip:].reshape(-1, factor).max(axis=1)
    return start_ms + 10 * skip, lo, hi


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
        self.score_plot.setXLink(self.wave_plot)
        self.wave_plot.setYRange(-1, 1, padding=0.02)
        self.score_plot.setYRange(0, 1, padding=0.05)
        self.overview_plot.setYRange(-1, 1, padding=0.02)
        # Axes are the costliest thing to paint (text, redrawn whenever the range scrolls):
        # only the time axes under the score and the overview; the rows carry titles instead.
        self.wave_plot.hideAxis("bottom")
        self.score_plot.setLabel("bottom", "seconds before now")
        for plot, title in ((self.wave_plot, "live waveform, speech shaded"),
                            (self.score_plot, "speech score"),
                            (self.overview_plot, "whole session")):
            plot.hideAxis("left")
            plot.setTitle(title, size="8pt", justify="left")

        # PlotCurveItem, not PlotDataItem: no scatter/downsampling layer to update every frame.
        no_pen = pg.mkPen(None)
        self.speech = pg.PlotCurveItem(fillLevel=-1.0, brush=SPEECH_BRUSH, pen=no_pen)
        self.open_speech = pg.PlotCurveItem(fillLevel=-1.0, brush=OPEN_BRUSH, pen=no_pen)
        # connect="pairs": each min/max pair is one vertical stroke, nothing drawn between them.
        self.wave = pg.PlotCurveItem(pen=pg.mkPen(WAVE_PEN, width=1), connect="pairs")
        self.score = pg.PlotCurveItem(pen=pg.mkPen(SCORE_PEN, width=1))
        self.ov_speech = pg.PlotCurveItem(fillLevel=-1.0, brush=SPEECH_BRUSH, pen=no_pen)
        self.ov_open = pg.PlotCurveItem(fillLevel=-1.0, brush=OPEN_BRUSH, pen=no_pen)
        self.ov_wave = pg.PlotCurveItem(pen=pg.mkPen(WAVE_PEN, width=1))
        self.ov_window = pg.LinearRegionItem(movable=False, brush=(255, 255, 255, 40))
        for item in (self.speech, self.open_speech, self.wave):
            self.wave_plot.addItem(item)
        self.score_plot.addItem(self.score)
        for item in (self.ov_speech, self.ov_open, self.ov_wave, self.ov_window):
            self.overview_plot.addItem(item)
        self.frames_drawn = 0
        self._window_ms = 0
        self._shown_segments: tuple[Segment, ...] = ()
        self.overview_every = 30  # frames: the overview is redrawn once a second at 30 fps
        self._frames_since_overview = 10
        self._ov_count = -1

    def clear(self) -> None:
        for item in (self.speech, self.open_speech, self.wave, self.score, self.ov_speech,
                     self.ov_open, self.ov_wave):
            item.setData([], [])
        self._ov_count = -1
        self._shown_segments = ()

    def show_snapshot(self, snap: LiveSnapshot, window_ms: int,
                      all_segments: list[Segment], final: bool = False) -> None:
        end_s = max(snap.recorded_ms, window_ms) / 1000.0
        start_s = end_s - window_ms / 1000.0
        # One min/max pair per pixel column: more points than pixels only cost paint time.
        px = max(100, int(self.wave_plot.getViewBox().width()))
        factor = max(1, -(-window_ms // 10 // px))
        start_ms, mins, maxs = _pool(snap.env_start_ms, factor, snap.env_min, snap.env_max)
        wx, wy = _envelope_xy(start_ms, 10 * factor, mins, maxs)
        self.wave.setData(wx, wy, skipFiniteCheck=True)
        score_ms, _, score = _pool(snap.score_start_ms, factor, snap.score, snap.score)
        self.score.setData((score_ms + 10 * factor * np.arange(score.shape[0])) / 1000.0, score,
                           skipFiniteCheck=True)
        if snap.segments != self._shown_segments:  # in data coordinates: scrolling moves them
            self._shown_segments = snap.segments
            spans = [(s.start_ms / 1000.0, s.end_ms / 1000.0) for s in snap.segments]
            self.speech.setData(*_shade_xy(spans, -1.0, 1.0))
        opened = []
        if snap.open_start_ms is not None:
            # Open: shaded from its start to "now", growing every frame until it closes.
            opened = [(snap.open_start_ms / 1000.0, snap.recorded_ms / 1000.0)]
            self.open_speech.setData(*_shade_xy(opened, -1.0, 1.0))
        else:
            self.open_speech.setData([], [])
        # The view is fixed at [-window, 0] and the items slide left: the time axis never
        # changes, so its labels are not laid out again every frame (its biggest cost).
        now_s = snap.recorded_ms / 1000.0
        for item in (self.wave, self.score, self.speech, self.open_speech):
            item.setPos(-now_s, 0.0)
        if window_ms != self._window_ms:
            self._window_ms = window_ms
            self.wave_plot.setXRange(-window_ms / 1000.0, 0.0, padding=0)

        # The overview changes little per frame: redrawn a few times a second (its area of the
        # view is then not repainted at all in between).
        self._frames_since_overview += 1
        if self._frames_since_overview >= self.overview_every or final:
            self._frames_since_overview = 0
            self._show_overview(snap, all_segments, opened, start_s, end_s)
        # Apply the new ranges now: left to the paint, pyqtgraph would update the view matrix
        # during the paint and schedule a second full paint of every frame.
        for plot in (self.wave_plot, self.score_plot):
            plot.getViewBox().prepareForPaint()
        self.frames_drawn += 1

    def _show_overview(self, snap: LiveSnapshot, all_segments: list[Segment],
                       opened: list[tuple[float, float]], start_s: float, end_s: float) -> None:
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
        self.overview_plot.getViewBox().prepareForPaint()
