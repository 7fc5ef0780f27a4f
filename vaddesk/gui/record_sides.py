"""The Record panel's pieces for recording both sides of a call: the source choice, a level
meter per source, a live lane per speaker in its own colour, and the talk-time line.

The panel (record_panel.py) builds a TwoSidedSession from ``sides_for()`` when the source is
not the microphone alone; everything here is drawn from the panel's frame timer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QProgressBar, QWidget

from vaddesk.audio.capture import Capture
from vaddesk.core.talk_stats import talk_stats
from vaddesk.core.timefmt import format_ms
from vaddesk.core.types import Segment
from vaddesk.core.wording import counted
from vaddesk.pipeline.live_sides import (
    MIC_SOURCE,
    MIC_SPEAKER,
    SYSTEM_SOURCE,
    SYSTEM_SPEAKER,
    Side,
)

SOURCE_MIC: Final = "mic"
SOURCE_BOTH: Final = "mic+system"
SOURCE_SYSTEM: Final = "system"
SOURCES: Final = (
    (SOURCE_MIC, "Microphone"),
    (SOURCE_BOTH, "Microphone + computer audio"),
    (SOURCE_SYSTEM, "Computer audio only"),
)
SPEAKER_COLOURS: Final = {
    MIC_SPEAKER: QColor(80, 160, 255, 70),      # the same blue as a one-speaker recording
    SYSTEM_SPEAKER: QColor(80, 210, 120, 80),   # green: the others
}


def sides_for(source: str, mic: Callable[[], Capture],
              system: Callable[[], Capture]) -> list[Side]:
    """The sides to record for a source choice (captures made here; CaptureUnavailable from
    either says what is missing)."""
    sides = []
    if source in (SOURCE_MIC, SOURCE_BOTH):
        sides.append(Side(mic(), MIC_SPEAKER, MIC_SOURCE))
    if source in (SOURCE_BOTH, SOURCE_SYSTEM):
        sides.append(Side(system(), SYSTEM_SPEAKER, SYSTEM_SOURCE))
    return sides


def make_meter(name: str, parent: QWidget | None = None) -> QProgressBar:
    meter = QProgressBar(parent)
    meter.setRange(-60, 0)
    meter.setValue(-60)
    meter.setFormat(f"{name} %v dBFS")
    meter.setMinimumWidth(170)
    meter.setMaximumWidth(200)
    meter.setToolTip(f"Input level of the {name}")
    return meter


def set_meter(meter: QProgressBar, level_db: float) -> None:
    level = max(-60, min(0, round(level_db)))
    if level != meter.value():
        # QProgressBar.setValue repaints at once (~2 ms); with updates off it only schedules
        # a paint, drawn with the canvas's.
        meter.setUpdatesEnabled(False)
        meter.setValue(level)
        meter.setUpdatesEnabled(True)


def stats_text(segments: Sequence[Segment], speakers: Sequence[str]) -> str:
    """One line: each speaker's talk time, share, turns and longest turn; then crosstalk."""
    stats = talk_stats(segments, speakers)
    parts = [f"{s.speaker} {format_ms(s.speech_ms, digits=0)} ({s.share * 100:.0f} %), "
             f"{counted(s.turns, 'turn')}, longest "
             f"{format_ms(s.longest_turn_ms, digits=0)}" for s in stats.speakers]
    return "   ·   ".join(parts) + f"   ·   both at once {format_ms(stats.overlap_ms, digits=0)}"


class TalkStatsLabel(QLabel):
    """Talk time per speaker, updated when a segment closes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setToolTip("Talk time per speaker: speech, share of all speech, turns, longest "
                        "turn; and how long both spoke at once")
        self.hide()

    def show_stats(self, segments: Sequence[Segment], speakers: Sequence[str]) -> None:
        if len(speakers) < 2:
            self.hide()
            return
        self.setText(stats_text(segments, speakers))
        self.show()
