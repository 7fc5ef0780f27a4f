"""The main plot: peak envelope, shaded segments, cursor, play-head and the speech-score lane.

Nothing here redraws on its own: changes mark the view dirty and `refresh()` (called by the
window's frame timer at a fixed rate) re-slices the envelope for the visible range. The
envelope drawn is about one min/max pair per pixel from the matching level, so a 3-hour file
costs the same per frame as a 3-second one. The score curve uses pyqtgraph's peak downsampling and
clip-to-view for the same reason.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent

from vaddesk.audio.envelope import BASE_BIN_SAMPLES, EnvelopeBuilder, PeakEnvelope
from vaddesk.core.decision import score_threshold
from vaddesk.core.params import VadParams
from vaddesk.core.types import FRAME_SHIFT_MS, FrameTrack, Segment
from vaddesk.gui.segment_regions import SegmentRegionsItem
from vaddesk.gui.time_axis import TimeAxisItem

FRAMES_PER_S = 1000 // FRAME_SHIFT_MS
MIN_VISIBLE_S = 0.5  # deepest zoom: 2 ms envelope bins still give ~1 point per pixel
WAVE_COLOR = QColor(60, 110, 200)
SCORE_COLOR = QColor(200, 80, 40)
ZOOM_STEP = 1.5
LABEL_BELOW_ABOVE = 0.6  # threshold-line values whose label goes under the line


class WaveformView(pg.GraphicsLayoutWidget):
    segment_clicked = Signal(int)  # index into the current segments
    cursor_moved = Signal(float)  # seconds
    view_range_changed = Signal(float, float)  # seconds

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setToolTip("Wheel: zoom · drag a segment: pan · drag its edge: move it (Shift: to "
                        "the quietest frame) · drag across empty time: add a segment · +/−: "
                        "zoom · ←/→: pan · 0: whole file · click: set cursor or select")
        self._envelope = PeakEnvelope.empty()
        self._duration_s = 0.0
        self._dirty = True
        self._peak = 1.0
        self._lanes: list[PeakEnvelope] = []
        self._lane_curves: list[pg.PlotDataItem] = []
        self._lane_labels: list[pg.TextItem] = []

        self.wave_plot: pg.PlotItem = self.addPlot(row=0, col=0,
                                                   axisItems={"bottom": TimeAxisItem()})
        self.wave_plot.setLabel("left", "amplitude")
        self.wave_plot.getAxis("left").enableAutoSIPrefix(False)
        self.wave_plot.setMouseEnabled(x=True, y=False)
        self.wave_plot.hideButtons()
        self.wave_plot.setMenuEnabled(False)
        self.wave_plot.showGrid(x=True, y=False, alpha=0.15)
        self.wave_plot.getViewBox().setDefaultPadding(0.0)
        self.regions = SegmentRegionsItem()
        self.wave_plot.addItem(self.regions, ignoreBounds=True)
        self.wave_curve = pg.PlotDataItem(pen=pg.mkPen(WAVE_COLOR, width=1), antialias=False)
        self.wave_plot.addItem(self.wave_curve)
        dashed = pg.mkPen((90, 90, 90), width=1, style=Qt.PenStyle.DashLine)
        self.cursor_line = pg.InfiniteLine(0.0, angle=90, movable=True, pen=dashed)
        self.cursor_line.sigPositionChangeFinished.connect(
            lambda line: self.cursor_moved.emit(float(line.value())))
        self.playhead = pg.InfiniteLine(0.0, angle=90, movable=False,
                                        pen=pg.mkPen((220, 30, 30), width=2))
        self.playhead.setVisible(False)
        self.wave_plot.addItem(self.cursor_line, ignoreBounds=True)
        self.wave_plot.addItem(self.playhead, ignoreBounds=True)

        self.score_plot: pg.PlotItem = self.addPlot(row=1, col=0,
                                                    axisItems={"bottom": TimeAxisItem()})
        self.score_plot.setLabel("left", "speech score")
        self.score_plot.setXLink(self.wave_plot)
        self.score_plot.setMouseEnabled(x=True, y=False)
        self.score_plot.hideButtons()
        self.score_plot.setMenuEnabled(False)
        self.score_plot.setYRange(0.0, 1.0, padding=0.05)
        self.score_plot.getAxis("left").setTicks([[(0.0, "0"), (0.5, "0.5"), (1.0, "1")]])
        self.score_regions = SegmentRegionsItem()
        self.score_plot.addItem(self.score_regions, ignoreBounds=True)
        self.score_curve = pg.PlotDataItem(pen=pg.mkPen(SCORE_COLOR, width=1), antialias=False)
        # Drawn like the waveform: ~one min/max pair per pixel for the visible range only, so
        # single-frame spikes stay visible and a 3-hour track (1 M frames) costs no more than a
        # short one (pyqtgraph's own peak downsampling re-scanned the whole track per frame).
        self._score = np.zeros(0, dtype=np.float32)
        self._score_env: PeakEnvelope | None = None
        self.score_plot.addItem(self.score_curve)
        self.threshold_line = pg.InfiniteLine(0.8, angle=0, movable=False,
                                              pen=pg.mkPen(SCORE_COLOR, width=1,
                                                           style=Qt.PenStyle.DotLine),
                                              label="", labelOpts={
                                                  "position": 0.01, "color": SCORE_COLOR,
                                                  "anchors": [(0, 1), (0, 1)]})
        self.score_plot.addItem(self.threshold_line, ignoreBounds=True)
        # Equal left-axis widths keep the two plots' time axes aligned pixel for pixel.
        for plot in (self.wave_plot, self.score_plot):
            plot.getAxis("left").setWidth(56)
        self.ci.layout.setRowStretchFactor(0, 3)
        self.ci.layout.setRowStretchFactor(1, 1)
        self.wave_plot.getAxis("bottom").setStyle(showValues=False)

        self.wave_plot.sigXRangeChanged.connect(self._on_x_range_changed)
        self.wave_plot.getViewBox().sigResized.connect(lambda _v: self._place_lane_labels())
        self.scene().sigMouseClicked.connect(self._on_scene_clicked)
        self.set_duration(0.0)

    # --- data ------------------------------------------------------------------------------
    def set_envelope(self, envelope: PeakEnvelope, duration_s: float | None = None) -> None:
        self._envelope = envelope
        coarsest = envelope.levels[-1]
        if coarsest.num_bins:
            peak = float(max(-coarsest.mins.min(), coarsest.maxs.max()))
            self._peak = peak if peak > 1e-4 else 1.0
        self.wave_plot.setYRange(-self._peak, self._peak, padding=0.05)
        # Five labelled ticks at a round value below the peak (pyqtgraph's own are too dense).
        unit = 10.0 ** np.floor(np.log10(self._peak))
        top = float(np.floor(self._peak / unit) * unit)
        self.wave_plot.getAxis("left").setTicks(
            [[(v, f"{v:.2g}") for v in (-top, -top / 2, 0.0, top / 2, top)]])
        self.set_duration(duration_s if duration_s is not None else envelope.duration_s)
        self._dirty = True

    def set_lanes(self, envelopes: Sequence[PeakEnvelope], names: Sequence[str]) -> None:
        """One lane per speaker (each channel of a call analysed on its own): lane k is the
        k-th band from the top, drawing channel k's waveform at 1/n of the height, labelled
        with its speaker, over that speaker's segments (SegmentRegionsItem's lanes). Fewer
        than two envelopes: the single waveform of set_envelope()."""
        for curve in self._lane_curves:
            self.wave_plot.removeItem(curve)
        for label in self._lane_labels:
            label.setParentItem(None)
            if label.scene() is not None:
                label.scene().removeItem(label)
        self._lane_curves, self._lane_labels = [], []
        self._lanes = list(envelopes) if len(envelopes) > 1 else []
        if self._lanes:
            peaks = [float(max(-e.levels[-1].mins.min(), e.levels[-1].maxs.max()))
                     for e in self._lanes if e.levels[-1].num_bins]
            self._peak = max([p for p in peaks if p > 1e-4], default=1.0)
            self.wave_plot.setYRange(-self._peak, self._peak, padding=0.05)
            self.wave_plot.getAxis("left").setTicks(
                [[(self._lane_center(k), name) for k, name in enumerate(names)]])
            for _ in self._lanes[1:]:
                curve = pg.PlotDataItem(pen=pg.mkPen(WAVE_COLOR, width=1), antialias=False)
                self.wave_plot.addItem(curve)
                self._lane_curves.append(curve)
            # The names in the lanes' top-left corners, in view pixels (they do not scroll):
            # the axis has no room for them.
            view = self.wave_plot.getViewBox()
            for name in names:
                label = pg.TextItem(name, color=(40, 40, 40), anchor=(0, 0))
                label.setParentItem(view)
                self._lane_labels.append(label)
            self._place_lane_labels()
        self._dirty = True

    def _place_lane_labels(self) -> None:
        view = self.wave_plot.getViewBox()
        for k, label in enumerate(self._lane_labels):
            label.setPos(4, view.height() * k / len(self._lane_labels))

    def _lane_center(self, lane: int) -> float:
        band = 2 * self._peak / len(self._lanes)
        return self._peak - band * (lane + 0.5)

    def set_duration(self, duration_s: float) -> None:
        first = self._duration_s == 0.0
        self._duration_s = max(duration_s, 0.0)
        limit = max(self._duration_s, MIN_VISIBLE_S)
        for plot in (self.wave_plot, self.score_plot):
            plot.setLimits(xMin=0.0, xMax=limit, minXRange=min(MIN_VISIBLE_S, limit),
                           maxXRange=limit)
        if first or self._duration_s > 0:
            self.wave_plot.setXRange(0.0, limit, padding=0.0)

    def duration_s(self) -> float:
        return self._duration_s

    def set_track(self, track: FrameTrack | None) -> None:
        self._dirty = True
        if track is None or track.num_frames == 0:
            self._score = np.zeros(0, dtype=np.float32)
            self._score_env = None
            self.score_curve.clear()
            return
        self._score = np.ascontiguousarray(track.speech_score, dtype=np.float32)
        builder = EnvelopeBuilder(sample_rate=FRAMES_PER_S)
        builder.add(self._score)
        self._score_env = builder.finish()

    def _refresh_score(self, x0: float, x1: float, pixels: int) -> None:
        n = self._score.size
        if n == 0 or not self.score_plot.isVisible():
            return
        i0 = max(0, int(x0 * FRAMES_PER_S))
        i1 = min(n, int(np.ceil(x1 * FRAMES_PER_S)) + 1)
        factor = (i1 - i0) // pixels
        if factor < 2:  # few enough frames: every one of them
            x = np.arange(i0, i1, dtype=np.float64) / FRAMES_PER_S
            self.score_curve.setData(x, self._score[i0:i1])
            return
        if factor < BASE_BIN_SAMPLES or self._score_env is None:  # min/max of raw frames
            i0 -= i0 % factor
            whole = (i1 - i0) // factor * factor
            block = self._score[i0:i0 + whole].reshape(-1, factor)
            starts = (i0 + np.arange(block.shape[0]) * factor) / FRAMES_PER_S
            lows, highs = block.min(axis=1), block.max(axis=1)
        else:
            win = self._score_env.window(x0, x1, max_bins=pixels)
            starts, lows, highs = win.start_s, win.mins, win.maxs
        x = np.repeat(starts, 2)
        y = np.empty(x.size, dtype=np.float32)
        y[0::2], y[1::2] = lows, highs
        self.score_curve.setData(x, y)

    def set_segments(self, segments: list[Segment]) -> None:
        self.regions.set_segments(segments)
        self.score_regions.set_segments(segments)

    def set_params(self, params: VadParams) -> None:
        # The line is where the model's score passes the frame test for these values: not the
        # "speech threshold" box itself (the test weighs speech against noise), so say both.
        value = score_threshold(params)
        self.threshold_line.setValue(value)
        # The label sits above a low line and below a high one: above a line at 0.9 (the
        # default preset's enter score) it ran off the top of the lane, cut in half.
        label = self.threshold_line.label
        label.anchors = [(0, 0), (0, 0)] if value > LABEL_BELOW_ABOVE else [(0, 1), (0, 1)]
        label.updatePosition()
        if params.boundary_stage:  # the stage opens segments at its enter score
            self.threshold_line.label.setFormat(f"enter score {value:.2f} (boundary stage)")
            self.threshold_line.setToolTip(
                "A segment opens where the score reaches this line and goes on while it stays "
                "above the exit score (pauses shorter than the minimum silence stay inside)")
            return
        self.threshold_line.label.setFormat(
            f"frame cut-off {value:.2f} (speech threshold {params.speech_noise_thres:.2f})")
        self.threshold_line.setToolTip(
            "A frame counts as speech when the score is above this line: the speech threshold "
            "and the speech-to-noise ratio decide where it lies")

    def set_selected(self, index: int | None) -> None:
        self.regions.set_selected(index)
        self.score_regions.set_selected(index)

    def set_score_visible(self, visible: bool) -> None:
        self.score_plot.setVisible(visible)
        self._dirty = True
        self.wave_plot.getAxis("bottom").setStyle(showValues=not visible)

    def set_playhead(self, seconds: float | None) -> None:
        if seconds is None:
            self.playhead.setVisible(False)
        else:
            self.playhead.setValue(seconds)
            self.playhead.setVisible(True)

    def cursor_s(self) -> float:
        return float(self.cursor_line.value())

    def set_cursor(self, seconds: float) -> None:
        self.cursor_line.setValue(max(0.0, min(seconds, self._duration_s)))

    def clear_file(self) -> None:
        self.set_lanes([], [])
        self._envelope = PeakEnvelope.empty()
        self.wave_curve.clear()
        self.set_track(None)
        self.set_segments([])
        self.set_playhead(None)
        self._duration_s = 0.0
        self._dirty = True

    # --- view range ------------------------------------------------------------------------
    def visible_range(self) -> tuple[float, float]:
        (x0, x1), _ = self.wave_plot.viewRange()
        return float(x0), float(x1)

    def set_visible_range(self, start_s: float, stop_s: float) -> None:
        self.wave_plot.setXRange(start_s, stop_s, padding=0.0)

    def zoom(self, factor: float, center_s: float | None = None) -> None:
        x0, x1 = self.visible_range()
        center = (x0 + x1) / 2 if center_s is None else center_s
        half = (x1 - x0) / 2 / factor
        self.set_visible_range(center - half, center + half)

    def pan(self, fraction: float) -> None:
        x0, x1 = self.visible_range()
        shift = (x1 - x0) * fraction
        self.set_visible_range(x0 + shift, x1 + shift)

    def show_all(self) -> None:
        self.set_visible_range(0.0, max(self._duration_s, MIN_VISIBLE_S))

    def ensure_visible(self, start_s: float, stop_s: float) -> None:
        """Scroll (and zoom out if needed) so that [start_s, stop_s] shows with a margin."""
        x0, x1 = self.visible_range()
        if start_s >= x0 and stop_s <= x1:
            return
        width = max(x1 - x0, (stop_s - start_s) * 1.5)
        center = (start_s + stop_s) / 2
        self.set_visible_range(center - width / 2, center + width / 2)

    def _on_x_range_changed(self, *_args) -> None:
        self._dirty = True
        x0, x1 = self.visible_range()
        self.view_range_changed.emit(x0, x1)

    def is_dirty(self) -> bool:
        return self._dirty

    def refresh(self) -> None:
        """Re-slice the envelope for the visible range (the frame timer calls this)."""
        if not self._dirty:
            return
        self._dirty = False
        if self._envelope.num_samples == 0:
            self.wave_curve.clear()
            return
        x0, x1 = self.visible_range()
        pixels = max(200, int(self.wave_plot.getViewBox().width()))
        self._refresh_score(x0, x1, pixels)
        curves = [self.wave_curve, *self._lane_curves]
        for k, envelope in enumerate(self._lanes or [self._envelope]):
            win = envelope.window(x0, x1, max_bins=pixels)
            # Interleave min and max of each bin: the zig-zag fills the band at >= 1 bin per
            # pixel.
            x = np.repeat(win.start_s + win.bin_samples / (2 * envelope.sample_rate), 2)
            y = np.empty(x.size, dtype=np.float32)
            y[0::2] = win.mins
            y[1::2] = win.maxs
            if self._lanes:  # squeezed into lane k's band
                y = y / len(self._lanes) + self._lane_center(k)
            curves[k].setData(x, y)

    # --- input -----------------------------------------------------------------------------
    def wave_time_at(self, pos: QPoint) -> float | None:
        """The time (s) under a viewport pixel of the waveform plot; None outside it."""
        scene_pos = self.mapToScene(pos)
        view = self.wave_plot.getViewBox()
        if not view.sceneBoundingRect().contains(scene_pos):
            return None
        return float(view.mapSceneToView(scene_pos).x())

    def wave_pixel_of(self, seconds: float) -> QPoint:
        """The viewport pixel of a time on the waveform plot (vertically centred)."""
        view = self.wave_plot.getViewBox()
        scene = view.mapViewToScene(QPointF(seconds, 0.0))
        centre_y = view.sceneBoundingRect().center().y()
        return self.mapFromScene(QPointF(scene.x(), centre_y))

    def click_at(self, seconds: float) -> None:
        """What a click at a time does: move the cursor there, select the segment there."""
        self.set_cursor(seconds)
        self.cursor_moved.emit(self.cursor_s())
        index = self.regions.index_at(seconds)
        if index is not None:
            self.segment_clicked.emit(index)

    def _on_scene_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or event.double():
            return
        for plot in (self.wave_plot, self.score_plot):
            view = plot.getViewBox()
            if plot.isVisible() and view.sceneBoundingRect().contains(event.scenePos()):
                self.click_at(float(view.mapSceneToView(event.scenePos()).x()))
                return

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        big = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom(ZOOM_STEP)
        elif key in (Qt.Key.Key_Minus, Qt.Key.Key_Underscore):
            self.zoom(1 / ZOOM_STEP)
        elif key == Qt.Key.Key_Left:
            self.pan(-0.5 if big else -0.1)
        elif key == Qt.Key.Key_Right:
            self.pan(0.5 if big else 0.1)
        elif key == Qt.Key.Key_Home:
            x0, x1 = self.visible_range()
            self.set_visible_range(0.0, x1 - x0)
        elif key == Qt.Key.Key_End:
            x0, x1 = self.visible_range()
            self.set_visible_range(self._duration_s - (x1 - x0), self._duration_s)
        elif key == Qt.Key.Key_0:
            self.show_all()
        else:
            super().keyPressEvent(event)
