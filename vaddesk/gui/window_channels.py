"""The main window's "Each channel as a speaker" toggle and the talk-time line (kept out of
main_window.py, which holds the window's layout and flow).

With the toggle on, a file with two or more channels is analysed channel by channel
(pipeline/channel_analysis.py): one speaker and one waveform lane per channel, a Speaker
column, and the talk time per speaker in the status bar.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel

from vaddesk.core.types import Segment
from vaddesk.gui.analysis_queue import AnalysisQueue
from vaddesk.gui.record_sides import stats_text
from vaddesk.gui.settings import Key, Settings
from vaddesk.pipeline.analysis import FileAnalysis

if TYPE_CHECKING:  # the window calls this module; only its type is needed here
    from vaddesk.gui.main_window import MainWindow

TIP = ("Files with 2 or more channels (a call with one side per channel, a recording with "
       "computer audio): analyse each channel on its own, one speaker and one lane per "
       "channel (remembered)")


def install(window: MainWindow) -> tuple[QAction, QLabel]:
    """The window's checkable View-menu action (set from the settings, before any file is on
    screen) and the talk-time label in its status bar (updated as segments change)."""
    def reanalyse(path: Path) -> None:
        # A new queue item: opening the path again would show the analysis it already has.
        window.show_item(window.queue.add(path))

    def toggled(on: bool) -> None:
        set_per_channel(on, window.settings, window.queue, window.current_analysis(),
                        reanalyse)
    action: QAction = window._action("Each channel as a speaker", toggled, None, TIP,
                                     checkable=True)
    on = window.settings.get_bool(Key.ANALYSE_PER_CHANNEL, False)
    action.blockSignals(True)
    action.setChecked(on)
    action.blockSignals(False)
    window.queue.per_channel = on
    label = QLabel()
    label.setToolTip("Talk time per speaker: speech, share of all speech, turns, longest "
                     "turn; and how long two spoke at once")
    window.statusBar().addWidget(label)
    window.segments_changed.connect(
        lambda segments: label.setText(talk_time(window.current_analysis(), segments)))
    return action, label


def set_per_channel(on: bool, settings: Settings, queue: AnalysisQueue,
                    current: FileAnalysis | None, reanalyse: Callable[[Path], None]
                    ) -> None:
    """New analyses follow the toggle; the file on screen is analysed again if it has several
    channels and was analysed the other way."""
    settings.set(Key.ANALYSE_PER_CHANNEL, on)
    queue.per_channel = on
    if current is not None and current.info.channels > 1 and \
            bool(current.channel_tracks) != on:
        reanalyse(current.path)


def talk_time(current: FileAnalysis | None, segments: Sequence[Segment]) -> str:
    """"You 1:02 (45 %), ..." for a file analysed per channel, else ""."""
    if current is None or not current.channel_tracks:
        return ""
    speakers = [t.channel.speaker or "" for t in current.channel_tracks]
    return stats_text(segments, speakers)
