"""The main window's playback and what it says about itself: the frame timer's work, the
title, the status line and the analysis progress bar.

A base of :class:`vaddesk.gui.main_window.MainWindow`, which builds the widgets and sets the
attributes declared here.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QLabel, QProgressBar

from vaddesk.core.params import VadParams
from vaddesk.core.timefmt import format_ms
from vaddesk.core.types import Segment
from vaddesk.gui.analysis_queue import ItemState
from vaddesk.gui.player import Player
from vaddesk.gui.settings import Key
from vaddesk.gui.window_editing import EditingWindow
from vaddesk.pipeline.analysis import FileAnalysis

APP_NAME = "vaddesk"


class StatusWindow(EditingWindow):
    # Set by MainWindow.__init__.
    player: Player
    placeholder: QLabel
    status_label: QLabel
    progress_bar: QProgressBar
    _current: FileAnalysis | None
    _segments: list[Segment]
    _params: VadParams
    _shown_percent: int
    _recording_to: Path | None

    # --- playback --------------------------------------------------------------------------
    def toggle_play(self) -> None:
        if self.player.is_playing():
            self.player.stop()
            return
        if self._current is None:
            return
        self._play(int(self.waveform.cursor_s() * 1000), None)

    def play_selected_segment(self) -> None:
        row = self.segment_table.selected_row()
        if row is None:
            self.notifier.error("No segment selected",
                                "Select a segment in the table or click a shaded region first.")
            return
        self.play_segment(row)

    def play_segment(self, row: int) -> None:
        if self._current is None or not 0 <= row < len(self._segments):
            return
        seg = self._segments[row]
        self._play(seg.start_ms, seg.end_ms)

    def _play(self, start_ms: int, stop_ms: int | None) -> None:
        assert self._current is not None
        info = self._current.info
        self.player.play(self._current.path, info.sample_rate, info.channels, start_ms, stop_ms)

    # --- frame timer, title, status --------------------------------------------------------
    def _on_frame(self) -> None:
        self.waveform.refresh()
        self.player.poll()
        position = self.player.position_ms()
        if position is not None:
            self.waveform.set_playhead(position / 1000.0)
        self._update_progress()

    def _update_progress(self) -> None:
        running = [i for i in self.queue.items() if i.state is ItemState.RUNNING]
        if running or self.queue.is_busy():
            waiting = sum(1 for i in self.queue.items() if i.state is ItemState.WAITING)
            fraction = running[0].fraction if running else 0.0
            # One number for the bar and the title, taken at the same moment.
            self._shown_percent = int(fraction * 100)
            self.progress_bar.setValue(int(fraction * 1000))
            name = running[0].path.name if running else ""
            self.progress_bar.setFormat(f"{name} {self._shown_percent}%"
                                        + (f" (+{waiting} waiting)" if waiting else ""))
            self.progress_bar.show()
            if running and running[0].item_id == self._current_item:
                self._update_title()
        elif self.progress_bar.isVisible():
            self.progress_bar.hide()

    def _update_title(self) -> None:
        name = ""
        suffix = ""
        if self._current_item is not None and self._current_item in {
                i.item_id for i in self.queue.items()}:
            item = self.queue.item(self._current_item)
            name = item.path.name
            if item.state is ItemState.RUNNING:
                suffix = f" (analysing {self._shown_percent} %)"
            elif item.state is ItemState.WAITING:
                suffix = " (waiting)"
            elif item.state is ItemState.FAILED:
                suffix = " (failed)"
        # [*] shows as '*' while the parameters differ from the chosen preset.
        head = f"{name}{suffix}[*] — {APP_NAME}" if name else f"{APP_NAME}[*]"
        if self._recording_to is not None:
            head = f"● Recording {self._recording_to.name} — {head}"
        if head != self.windowTitle():  # called every frame while a file on screen runs
            self.setWindowTitle(head)
        preset = self.preset_picker.current_preset()
        modified = preset is not None and preset.params != self._params
        if modified != self.isWindowModified():
            self.setWindowModified(modified)
        self.placeholder.setVisible(not name)

    def _update_status(self) -> None:
        if self._current is None:
            self.status_label.setText("")
            return
        info = self._current.info
        speech_ms = sum(s.duration_ms for s in self._segments)
        share = 100.0 * speech_ms / self._current.duration_ms if self._current.duration_ms else 0
        rate, channels = info.sample_rate, info.channels
        self.status_label.setText(
            f"{format_ms(self._current.duration_ms, digits=0)} · {rate / 1000:g} kHz · "
            f"{channels} ch · {len(self._segments)} segment"
            f"{'' if len(self._segments) == 1 else 's'} · speech {share:.0f} %")

    def _set_score_visible(self, visible: bool) -> None:
        self.waveform.set_score_visible(visible)
        self.settings.set(Key.SHOW_SCORE, visible)
