"""The scrolling live view: the last N seconds of waveform with speech shaded, and the speech
score under it, painted with QPainter straight from a LiveSnapshot.

Why not pyqtgraph here: this view changes completely 30 times a second, and pyqtgraph's scene
machinery (items, bounds, view transforms, axis layout) cost ~8 % of a core per 30 fps on its
own; one paintEvent that draws two paths and a few rectangles costs a fraction of that.
The whole-session overview, redrawn once a second, stays pyqtgraph (vaddesk.gui.live_plot).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

from vaddesk.pipeline.live import LiveSnapshot

BACKGROUND = QColor(0, 0, 0)
SPEECH = QColor(80, 160, 255, 70)
OPEN_SPEECH = QColor(255, 170, 60, 90)  # a segment still open: drawn growing, another colour
WAVE = QColor(200, 200, 200)
SCORE = QColor(255, 120, 120)
TEXT = QColor(170, 170, 170)
GUIDE = QColor(90, 90, 90)
TICK_STEPS_S = (1, 2, 5, 10, 15, 30, 60)


def _over(color: QColor, background: QColor) -> QColor:
    """``color`` alpha-blended over an opaque ``background``, as an opaque colour."""
    a = color.alphaF()
    return QColor(*(round(c * a + b * (1 - a)) for c, b in (
        (color.red(), background.red()), (color.green(), background.green()),
        (color.blue(), background.blue()))))


# The shading is filled opaque, pre-blended over the background: an alpha fill of a tall
# rectangle costs ~25x an opaque one in the raster engine (~55 us against ~2 us each, several
# per frame at 30 fps); the guides and labels it covers are drawn again on top.
SPEECH_FILL = _over(SPEECH, BACKGROUND)
OPEN_SPEECH_FILL = _over(OPEN_SPEECH, BACKGROUND)


def pool(start_ms: int, factor: int, mins: np.ndarray, maxs: np.ndarray
         ) -> tuple[int, np.ndarray, np.ndarray]:
    """Merge ``factor`` 10 ms frames into one bin (min of mins, max of maxs); the oldest
    frames that do not fill a bin are dropped (they are at the left edge of the view)."""
    if factor <= 1:
        return start_ms, mins, maxs
    skip = mins.shape[0] % factor
    lo = mins[skip:].reshape(-1, factor).min(axis=1)
    hi = maxs[skip:].reshape(-1, factor).max(axis=1)
    return start_ms + 10 * skip, lo, hi


class LiveCanvas(QWidget):
    def __init__(self, parent: QWidget | None = None, *, speech: QColor | None = None
                 ) -> None:
        """``speech``: the shading of this lane's speech (a speaker's own colour)."""
        super().__init__(parent)
        self._speech_fill = SPEECH_FILL if speech is None else _over(speech, BACKGROUND)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(160)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)  # we fill every pixel
        self._snap: LiveSnapshot | None = None
        self._snap_key: tuple[object, ...] | None = None
        self._window_ms = 30_000
        self.paints = 0
        self._bg: QPixmap | None = None
        self._bg_key: tuple[int, int, int, float] | None = None

    def set_snapshot(self, snap: LiveSnapshot | None, window_ms: int) -> None:
        window_ms = max(1000, window_ms)
        # Capture blocks are 40 ms and frames 33 ms: about one frame in six brings no new
        # audio; repainting it would draw the same picture.
        key = None if snap is None else (
            snap.recorded_ms, snap.env_start_ms, snap.env_min.shape[0], snap.score_start_ms,
            snap.score.shape[0], snap.segments[-1] if snap.segments else None,
            snap.open_start_ms, window_ms)
        if key is not None and key == self._snap_key:
            return
        self._snap, self._snap_key = snap, key
        self._window_ms = window_ms
        self.update()

    # --- geometry ------------------------------------------------------------------------
    def _areas(self) -> tuple[QRectF, QRectF, float]:
        r = QRectF(self.rect()).adjusted(6, 4, -6, -18)  # room for the time labels
        wave_h = r.height() * 0.7
        wave = QRectF(r.left(), r.top(), r.width(), wave_h - 3)
        score = QRectF(r.left(), r.top() + wave_h + 3, r.width(), r.height() - wave_h - 3)
        return wave, score, r.bottom()

    def _background(self) -> QPixmap:
        """Background, guides and labels: the same every frame (the time axis is relative to
        now), so drawn once per size/window length; text is the costliest thing to paint."""
        key = (self.width(), self.height(), self._window_ms, self.devicePixelRatioF())
        if self._bg is None or self._bg_key != key:
            ratio = self.devicePixelRatioF()
            pix = QPixmap(int(self.width() * ratio), int(self.height() * ratio))
            pix.setDevicePixelRatio(ratio)
            pix.fill(BACKGROUND)
            p = QPainter(pix)
            wave, score, bottom = self._areas()
            window_s = self._window_ms / 1000.0
            scale = wave.width() / window_s
            self._draw_axis(p, wave, score, bottom, window_s,
                            lambda t_s: wave.left() + (t_s + window_s) * scale, 0.0)
            p.end()
            self._bg, self._bg_key = pix, key
        return self._bg

    def paintEvent(self, event) -> None:
        self.paints += 1
        p = QPainter(self)
        p.drawPixmap(0, 0, self._background())
        wave, score, bottom = self._areas()
        snap = self._snap
        window_s = self._window_ms / 1000.0
        now_s = snap.recorded_ms / 1000.0 if snap is not None else 0.0
        left_s = now_s - window_s
        scale = wave.width() / window_s

        def x_of(t_s: float) -> float:
            return wave.left() + (t_s - left_s) * scale

        if snap is None:
            p.end()
            return
        top, height = wave.top(), bottom - wave.top()
        shaded = False
        for seg in snap.segments:
            x0, x1 = max(wave.left(), x_of(seg.start_ms / 1000)), x_of(seg.end_ms / 1000)
            if x1 > x0:
                p.fillRect(QRectF(x0, top, x1 - x0, height), self._speech_fill)
                shaded = True
        if snap.open_start_ms is not None:
            x0 = max(wave.left(), x_of(snap.open_start_ms / 1000))
            p.fillRect(QRectF(x0, top, x_of(now_s) - x0, height), OPEN_SPEECH_FILL)
            shaded = True
        if shaded:
            self._draw_guides(p, wave, score)

        # One vertical stroke (min..max) per pixel column.
        px = max(1, int(wave.width()))
        factor = max(1, -(-self._window_ms // 10 // px))
        start_ms, mins, maxs = pool(snap.env_start_ms, factor, snap.env_min, snap.env_max)
        if mins.size:
            xs = x_of(start_ms / 1000.0) + np.arange(mins.shape[0]) * (factor * 0.01 * scale)
            mid, half = wave.center().y(), wave.height() / 2
            x2 = np.repeat(xs, 2)
            y2 = np.empty(x2.shape[0])
            y2[0::2] = mid - np.clip(maxs, -1, 1) * half
            y2[1::2] = mid - np.clip(mins, -1, 1) * half - 0.5  # >= 1 px even in silence
            p.setPen(QPen(WAVE, 1))
            p.drawPath(pg.arrayToQPath(x2, y2, connect="pairs"))
        score_ms, _, peak = pool(snap.score_start_ms, factor, snap.score, snap.score)
        if peak.size:
            xs = x_of(score_ms / 1000.0) + np.arange(peak.shape[0]) * (factor * 0.01 * scale)
            ys = score.bottom() - np.clip(peak, 0, 1) * score.height()
            p.setPen(QPen(SCORE, 1))
            p.drawPolyline(pg.functions.arrayToQPolygonF(xs, ys))
        p.end()

    @staticmethod
    def _draw_guides(p: QPainter, wave: QRectF, score: QRectF) -> None:
        """The centre line, the score's base line and the two area labels."""
        p.setPen(QPen(GUIDE, 1))
        p.drawLine(QPointF(wave.left(), wave.center().y()), QPointF(wave.right(),
                                                                   wave.center().y()))
        p.drawLine(QPointF(score.left(), score.bottom()), QPointF(score.right(),
                                                                 score.bottom()))
        p.setPen(QPen(TEXT, 1))
        p.drawText(QPointF(wave.left() + 2, wave.top() + 11), "live")
        p.drawText(QPointF(score.left() + 2, score.top() + 11), "speech score")

    def _draw_axis(self, p: QPainter, wave: QRectF, score: QRectF, bottom: float,
                   window_s: float, x_of, now_s: float) -> None:
        self._draw_guides(p, wave, score)
        step = next((s for s in TICK_STEPS_S if window_s / s <= 8), TICK_STEPS_S[-1])
        k = 0
        while k * step <= window_s + 1e-9:
            x = x_of(now_s - k * step)
            label = "now" if k == 0 else f"-{k * step:g} s"
            width = p.fontMetrics().horizontalAdvance(label)
            p.drawLine(QPointF(x, bottom), QPointF(x, bottom + 3))
            p.drawText(QPointF(min(max(x - width / 2, wave.left()), wave.right() - width),
                               bottom + 15), label)
            k += 1
