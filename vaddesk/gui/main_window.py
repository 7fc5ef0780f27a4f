"""The main window: opens files, shows one analysed file, tunes parameters, exports.

Data flows one way: AnalysisQueue (worker thread: decode -> engine -> envelope) -> FileAnalysis
-> this window -> views and exporters. Parameter changes never re-run the model: they call
engine.resegment() on the cached frame track. All drawing happens on the frame timer.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from vaddesk.core import presets as preset_store
from vaddesk.core.engine import Precision
from vaddesk.core.params import VadParams
from vaddesk.core.timefmt import format_ms
from vaddesk.core.types import Segment
from vaddesk.gui import window_channels as channels_ui
from vaddesk.gui.analysis_queue import AnalysisQueue, ItemState
from vaddesk.gui.damage_banner import DamageBanner
from vaddesk.gui.export_dialog import ExportDialog
from vaddesk.gui.notifier import Notifier
from vaddesk.gui.overview_strip import OverviewStrip
from vaddesk.gui.param_panel import ParamPanel
from vaddesk.gui.player import Player
from vaddesk.gui.preset_picker import PresetPicker
from vaddesk.gui.queue_panel import QueuePanel
from vaddesk.gui.record_panel import RecordPanel
from vaddesk.gui.segment_table import SegmentsPanel, SegmentTable
from vaddesk.gui.settings import Key, Settings
from vaddesk.gui.waveform_view import WaveformView
from vaddesk.gui.window_files import audio_filter, queue_paths
from vaddesk.gui.window_status import StatusWindow
from vaddesk.pipeline.analysis import FileAnalysis

log = logging.getLogger(__name__)

FRAME_INTERVAL_MS = 33  # ~30 fps: the only place views are redrawn
QUEUE_DOCK_PX = 210  # the Files queue shows 6+ rows; the waveform keeps 400+ px at 1280x800


class MainWindow(StatusWindow):
    file_shown = Signal(object)  # FileAnalysis now on screen
    segments_changed = Signal(object)  # list[Segment] now on screen

    def __init__(self, settings: Settings | None = None, notifier: Notifier | None = None,
                 player: Player | None = None, precision: Precision = "int8",
                 record_panel: bool = True) -> None:
        super().__init__()
        self._with_record_panel = record_panel
        self.record_panel: RecordPanel | None = None
        self.setObjectName("vaddesk-main-window")
        self.settings = settings or Settings()
        self.notifier = notifier or Notifier()
        self.notifier.set_parent(self)
        self.player = player or Player()
        self.player.setParent(self)
        self.precision = precision
        self._params = VadParams()
        self._current: FileAnalysis | None = None
        self._current_item: int | None = None
        self._wanted_item: int | None = None
        self._wanted_batch: list[int] = []
        self._segments: list[Segment] = []
        self._resegment_pending = False
        self._recent_when_done: set[int] = set()
        self._shown_percent = 0  # progress of the running file, as the status bar shows it
        self._recording_to: Path | None = None  # the live recording's file while it runs
        self._export_busy = False
        self.export_dialog: ExportDialog | None = None

        self.queue = AnalysisQueue(lambda: self._params, precision, self)
        self._build_views()
        self._build_actions()
        self._build_editing()
        self._build_export_thread()
        self._connect()
        self.setAcceptDrops(True)
        self.resize(1280, 800)
        self._restore_settings()
        self.resume_watching()
        self._update_watch_actions()
        self._frame_timer = QTimer(self)
        self._frame_timer.setInterval(FRAME_INTERVAL_MS)
        self._frame_timer.timeout.connect(self._on_frame)
        self._frame_timer.start()
        self._update_title()

    # --- construction ----------------------------------------------------------------------
    def _build_views(self) -> None:
        self.overview = OverviewStrip()
        self.waveform = WaveformView()
        self.placeholder = QLabel("Open a recording (Ctrl+O), a folder (Ctrl+Shift+O) or drop "
                                  "files here.")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setStyleSheet("color: #666; font-size: 15px; padding: 6px;")
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 0)
        layout.addWidget(self.placeholder)
        self.damage_banner = DamageBanner(self.notifier)  # warnings of a damaged file
        layout.addWidget(self.damage_banner)
        layout.addWidget(self.overview)
        layout.addWidget(self.waveform, 1)
        self.setCentralWidget(central)

        # The right-hand docks run down to the status bar, so the bottom docks (files, record)
        # sit under the waveform only and the window fits a 1280x800 screen.
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.param_panel = ParamPanel()
        self.preset_picker = PresetPicker(lambda: self._params, self.notifier)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.addWidget(QLabel("<b>Preset</b>"))
        side_layout.addWidget(self.preset_picker)
        side_layout.addWidget(QLabel("<b>Parameters</b>"))
        side_layout.addWidget(self.param_panel, 1)
        self.params_dock = self._dock("Parameters", side, Qt.DockWidgetArea.RightDockWidgetArea)

        self.segment_table = SegmentTable()
        self.segments_panel = SegmentsPanel(self.segment_table)
        self.segments_dock = self._dock("Segments", self.segments_panel,
                                        Qt.DockWidgetArea.RightDockWidgetArea)
        self.queue_panel = QueuePanel(self.queue)
        self.queue_dock = self._dock("Files", self.queue_panel,
                                     Qt.DockWidgetArea.BottomDockWidgetArea)
        self.record_dock = self._add_record_panel()

        self.status_label = QLabel()
        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(220)
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.hide()
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().addPermanentWidget(self.progress_bar)

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock-{title.lower()}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _add_record_panel(self) -> QDockWidget | None:
        """The live-recording panel as a "Record" dock; a finished recording opens
        like any file."""
        if not self._with_record_panel:
            return None
        try:
            panel = RecordPanel(settings=self.settings)
        except Exception:  # a broken audio stack must not keep the window from opening
            log.exception("the Record panel failed to start")
            return None
        self.record_panel = panel
        # Ctrl+R is the window's action (it brings the panel forward first); the panel's own
        # shortcut would make the key ambiguous, and fire while the panel is out of sight.
        panel.record_shortcut.setEnabled(False)
        panel.recording_started.connect(self._on_recording_started)
        panel.recording_finished.connect(self._on_recording_finished)
        panel.recording_finished.connect(lambda path: self.open_paths([str(path)]))
        panel.recordings_recovered.connect(self._on_recordings_recovered)
        dock = self._dock("Record", panel, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.tabifyDockWidget(self.queue_dock, dock)
        # Hidden until asked for (toolbar "Record", View menu): its live plot needs ~320 px of
        # height that the waveform would lose; a saved layout that showed it restores it.
        dock.hide()
        self.queue_dock.raise_()
        return dock

    def show_record_panel(self) -> None:
        if self.record_dock is None:
            self.notifier.error("Recording unavailable", "The Record panel could not start; "
                                "see the log file for why (often no audio input support).")
            return
        self.record_dock.show()
        self.record_dock.raise_()

    def toggle_recording(self) -> None:
        """Ctrl+R: start (with the Record panel in front, so it is never unseen) or stop."""
        self.show_record_panel()
        if self.record_panel is not None:
            self.record_panel.toggle_recording()

    def _on_recording_started(self, path: Path) -> None:
        self.show_record_panel()
        self._recording_to = path
        self.statusBar().showMessage(f"● Recording to {path.name}")
        self._update_title()

    def _on_recording_finished(self, _path: Path) -> None:
        self._recording_to = None
        self.statusBar().clearMessage()
        self._update_title()

    def _on_recordings_recovered(self, found: list) -> None:
        lines = "\n".join(f"• {r.path} ({format_ms(r.duration_ms, digits=0)})"
                          for r in found)
        self.notifier.info("Recordings recovered",
                           f"These recordings were left open by a crash and have been "
                           f"repaired; they open like any file:\n{lines}")

    def _action(self, text: str, slot, shortcut: QKeySequence | str | None = None,
                tip: str = "", checkable: bool = False) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(tip or text)
        action.setStatusTip(tip or text)
        action.setCheckable(checkable)
        if checkable:
            action.toggled.connect(slot)
        else:
            action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        a = self._action
        keys = QKeySequence.StandardKey
        self.open_action = a("Open files…", self.choose_files, QKeySequence(keys.Open),
                             "Open one or more recordings")
        self.open_folder_action = a("Open folder…", self.choose_folder, "Ctrl+Shift+O",
                                    "Open every recording in a folder (and its sub-folders)")
        self.open_url_action = a("Open URL…", self.choose_url, "Ctrl+U",
                                 "Download a recording (or an HLS playlist) and open it")
        self.watch_action = a("Watch a folder…", self.choose_watch_folder, None,
                              "Add new recordings to the queue as they land in a folder")
        self.stop_watch_action = a("Stop watching", self.stop_watching, None,
                                   "Stop adding new recordings from the watched folder")
        self.export_action = a("Export…", self.export_current, "Ctrl+E",
                               "Export the segments of the file on screen")
        self.export_all_action = a("Export all…", self.export_all, "Ctrl+Shift+E",
                                   "Export every finished file in the queue")
        self.quit_action = a("Quit", self.close, QKeySequence(QKeySequence.StandardKey.Quit))
        self.play_action = a("Play/Pause", self.toggle_play, "Space",
                             "Play from the cursor, or stop")
        self.play_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.play_segment_action = a("Play segment", self.play_selected_segment, "P",
                                     "Play the selected segment")
        self.score_action = a("Speech score", self._set_score_visible, "S",
                              "Show the model's per-frame speech score", checkable=True)
        self.per_channel_action, self.talk_label = channels_ui.install(self)
        self.record_action = a("Record…", self.show_record_panel, None,
                               "Record a meeting live (shows the Record panel)")
        self.record_toggle_action = a("Start/stop recording", self.toggle_recording, "Ctrl+R",
                                      "Start or stop a live recording (shows the Record panel)")
        self.zoom_in_action = a("Zoom in", lambda: self.waveform.zoom(1.5), "Ctrl+=")
        self.zoom_out_action = a("Zoom out", lambda: self.waveform.zoom(1 / 1.5), "Ctrl+-")
        self.zoom_fit_action = a("Whole file", self.waveform.show_all, "Ctrl+0")

        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addActions([self.open_action, self.open_folder_action, self.open_url_action])
        self.recent_menu = file_menu.addMenu("Open recent")
        file_menu.addActions([self.watch_action, self.stop_watch_action])
        file_menu.addSeparator()
        file_menu.addActions([self.export_action, self.export_all_action])
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        view_menu = menu.addMenu("&View")
        view_menu.addActions([self.score_action, self.per_channel_action, self.zoom_in_action,
                              self.zoom_out_action, self.zoom_fit_action])
        view_menu.addSeparator()
        for dock in (self.params_dock, self.segments_dock, self.queue_dock, self.record_dock):
            if dock is not None:
                view_menu.addAction(dock.toggleViewAction())
        play_menu = menu.addMenu("&Play")
        play_menu.addActions([self.play_action, self.play_segment_action])

        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("toolbar-main")
        toolbar.addActions([self.open_action, self.open_folder_action, self.record_action,
                            self.export_action])
        toolbar.addSeparator()
        toolbar.addActions([self.play_action, self.play_segment_action])
        toolbar.addSeparator()
        toolbar.addActions([self.zoom_in_action, self.zoom_out_action, self.zoom_fit_action,
                            self.score_action])
        self._rebuild_recent_menu()

    def _connect(self) -> None:
        self.queue.item_changed.connect(self._on_item_changed)
        self.queue.item_finished.connect(self._on_item_finished)
        self.queue.partial_envelope_arrived.connect(self._on_partial_envelope)
        self.queue_panel.item_chosen.connect(self.show_item)
        self.queue_panel.export_all_requested.connect(self.export_all)
        self.param_panel.params_edited.connect(self._on_params_edited)
        self.preset_picker.preset_chosen.connect(self.apply_preset)
        self.segment_table.segment_selected.connect(self._on_row_selected)
        self.segment_table.segment_activated.connect(self.play_segment)
        self.waveform.segment_clicked.connect(self._on_region_clicked)
        self.waveform.view_range_changed.connect(self.overview.set_visible_range)
        self.overview.range_requested.connect(self.waveform.set_visible_range)
        self.player.playback_failed.connect(
            lambda text: self.notifier.error("Cannot play audio", text))
        self.player.playback_stopped.connect(lambda: self.waveform.set_playhead(None))

    def _default_dock_sizes(self) -> None:
        # Docks only take sizes once the window is laid out; a saved layout wins.
        self.resizeDocks([self.queue_dock], [QUEUE_DOCK_PX], Qt.Orientation.Vertical)
        self.resizeDocks([self.params_dock, self.segments_dock], [340, 400],
                         Qt.Orientation.Vertical)
        self.resizeDocks([self.params_dock], [400], Qt.Orientation.Horizontal)

    def _restore_settings(self) -> None:
        geometry = self.settings.get_bytes(Key.WINDOW_GEOMETRY)
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self.settings.get_bytes(Key.WINDOW_STATE)
        if state is None or not self.restoreState(state):
            QTimer.singleShot(0, self._default_dock_sizes)
        elif self.record_dock is not None and not self.record_dock.isHidden():
            # A layout saved while the Record panel was open: start with the files queue and
            # a full-height waveform again; Record (or Ctrl+R) brings the panel back.
            self.record_dock.hide()
            self.queue_dock.raise_()
            QTimer.singleShot(0, self._default_dock_sizes)
        self.score_action.setChecked(self.settings.get_bool(Key.SHOW_SCORE, True))
        self._set_score_visible(self.score_action.isChecked())
        name = self.settings.get_str(Key.LAST_PRESET, preset_store.DEFAULT_PRESET)
        if not self.preset_picker.select(name):
            self.preset_picker.select(preset_store.DEFAULT_PRESET)

    # --- opening files ---------------------------------------------------------------------
    def choose_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Open recordings",
                                                self.settings.get_str(Key.LAST_OPEN_DIR),
                                                audio_filter())
        if files:
            self.open_paths(files)

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of recordings",
                                                  self.settings.get_str(Key.LAST_OPEN_DIR))
        if folder:
            self.open_paths([folder])

    def open_paths(self, paths: list[str]) -> list[int]:
        """Queue files and folders (folders recursively); returns the new queue item ids."""
        new_ids = queue_paths(paths, self.queue, self.settings, self.notifier)
        self._rebuild_recent_menu()
        self._recent_when_done.update(
            i for i in new_ids if not self.queue.item(i).relpath.parent.parts)
        if new_ids:
            first = self.queue.item(new_ids[0])
            if first.state is ItemState.DONE:  # already open: show it, do not queue it again
                self._wanted_item = None
                self.show_item(first.item_id)
                return new_ids
            self._wanted_batch = list(new_ids)
            self._wanted_item = new_ids[0]
            self._show_progress_of(new_ids[0])
        return new_ids

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.get_list(Key.RECENT_FILES)
        for path in recent:
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _checked=False, p=path: self.open_paths([p]))
        self.recent_menu.setEnabled(bool(recent))

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_paths(paths)

    # --- queue events ----------------------------------------------------------------------
    def _show_progress_of(self, item_id: int) -> None:
        """Put a file that is not analysed yet on screen (title, progress, partial wave)."""
        self._current_item = item_id
        self._current = None
        self._show_detected([])
        self.waveform.clear_file()
        self.overview.clear_file()  # nothing of the previous file stays, not even its window
        self.queue_panel.select_item(item_id)
        self.damage_banner.show_for(None)
        self._update_title()

    def _on_item_changed(self, item_id: int) -> None:
        if item_id == self._current_item:
            item = self.queue.item(item_id)
            if self._current is None and item.total_ms > 0 and self.waveform.duration_s() == 0:
                # Its length is known before any audio arrives: show it whole from the start,
                # not at the previous file's zoom.
                self.waveform.set_duration(item.total_ms / 1000.0)
                self.overview.show_length(item.total_ms / 1000.0)
            self._update_title()

    def _on_partial_envelope(self, item_id: int, envelope) -> None:
        if item_id == self._current_item and self._current is None:
            item = self.queue.item(item_id)
            duration_s = item.total_ms / 1000.0
            self.placeholder.hide()
            self.waveform.set_envelope(envelope, duration_s)
            self.overview.set_envelope(envelope, duration_s)

    def _on_item_finished(self, item_id: int) -> None:
        item = self.queue.item(item_id)
        if item_id in self._recent_when_done:  # only a file that opened is offered again
            self._recent_when_done.discard(item_id)
            if item.state is ItemState.DONE:
                self.settings.add_recent_file(str(item.path.resolve()))
                self._rebuild_recent_menu()
        if item_id != self._wanted_item:
            return
        if item.state is ItemState.DONE:
            self._wanted_item = None
            self.show_item(item_id)
            return
        if item.state is ItemState.FAILED and len(self._wanted_batch) == 1:
            self.notifier.error(f"Cannot open {item.path.name}",
                                f"{item.reason}\n\nFile: {item.path}")
        # In a batch, try to show the next file of the same batch instead.
        later = [i for i in self._wanted_batch if i > item_id]
        self._wanted_item = later[0] if later else None
        if self._wanted_item is not None:
            self._show_progress_of(self._wanted_item)
        else:
            self._update_title()

    def show_item(self, item_id: int) -> None:
        item = self.queue.item(item_id)
        self.queue_panel.select_item(item_id)
        if item.analysis is None:
            if item.state in (ItemState.WAITING, ItemState.RUNNING):
                self._wanted_item = item_id
                self._show_progress_of(item_id)
            return
        self._current_item = item_id
        self.show_analysis(item.analysis)

    def show_analysis(self, analysis: FileAnalysis) -> None:
        self.player.stop()
        self._current = analysis
        self.placeholder.hide()
        duration_s = analysis.duration_ms / 1000.0
        self.waveform.set_envelope(analysis.envelope, duration_s)
        self.waveform.set_lanes([t.envelope for t in analysis.channel_tracks],
                                [t.channel.speaker or "" for t in analysis.channel_tracks])
        self.waveform.set_track(analysis.track)
        self.waveform.set_cursor(0.0)
        self.overview.set_envelope(analysis.envelope, duration_s)
        self.damage_banner.show_for(analysis)
        self.waveform.show_all()
        self.overview.set_visible_range(*self.waveform.visible_range())
        if analysis.params == self._params:
            self._show_detected(list(analysis.segments))
        else:
            self._show_detected(analysis.resegment(self._params))
        self._update_title()
        self._offer_saved_edits()
        self.file_shown.emit(analysis)

    # --- parameters ------------------------------------------------------------------------
    def params(self) -> VadParams:
        return self._params

    def segments(self) -> list[Segment]:
        return list(self._segments)

    def current_analysis(self) -> FileAnalysis | None:
        return self._current

    def apply_preset(self, name: str) -> None:
        try:
            preset = preset_store.get_preset(name)
        except ValueError as exc:
            self.notifier.error("Unknown preset", str(exc))
            return
        self._params = preset.params
        self.param_panel.set_params(preset.params)
        self.preset_picker.set_modified(False)
        self.settings.set(Key.LAST_PRESET, name)
        self._params_changed()

    def _on_params_edited(self, params: VadParams) -> None:
        self._params = params
        preset = self.preset_picker.current_preset()
        self.preset_picker.set_modified(preset is None or preset.params != params)
        self._params_changed()

    def _params_changed(self) -> None:
        self.waveform.set_params(self._params)
        self._update_title()
        # Coalesce: a slider drag emits many values; re-segment once per event-loop pass.
        if not self._resegment_pending:
            self._resegment_pending = True
            QTimer.singleShot(0, self._resegment_now)

    def _resegment_now(self) -> None:
        self._resegment_pending = False
        self._refresh_queue_counts()
        current = self._current
        if current is None:
            return
        if self.editor.has_edits():  # ask before new values replace what the person edited
            self._ask_keep_or_detect(
                lambda: self.editor.redetect(current.resegment(self._params)))
            return
        self._show_detected(current.resegment(self._params))

    def _set_segments(self, segments: list[Segment]) -> None:
        selected = self.segment_table.selected_row()
        self._segments = segments
        self.waveform.set_segments(segments)
        self.overview.set_segments(segments)
        self.segment_table.set_segments(segments, None if self._current is None else
                                        self._current.confidences(segments))
        if selected is not None and selected < len(segments):
            self.segment_table.select_row(selected)
            self.waveform.set_selected(selected)
        else:
            self.waveform.set_selected(None)
        self._update_status()
        if self._current is not None and self._current_item is not None:
            self.queue_panel.show_segment_count(self._current_item, len(segments))
        self.segments_changed.emit(list(segments))

    # --- table <-> plot --------------------------------------------------------------------
    def _on_row_selected(self, row: int) -> None:
        self.editor.set_selected(row)
        seg = self._segments[row]
        self.waveform.set_selected(row)
        self.waveform.ensure_visible(seg.start_ms / 1000.0, seg.end_ms / 1000.0)
        self.waveform.set_cursor(seg.start_ms / 1000.0)

    def _on_region_clicked(self, index: int) -> None:
        self.editor.set_selected(index)
        self.waveform.set_selected(index)
        self.segment_table.select_row(index)

    # --- shutdown --------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        self.settings.set(Key.WINDOW_GEOMETRY, self.saveGeometry())
        self.settings.set(Key.WINDOW_STATE, self.saveState())
        self.settings.sync()
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop playback and every worker thread (idempotent)."""
        self._frame_timer.stop()
        self.cancel_downloads()
        self.player.stop()
        if self.record_panel is not None:
            self.record_panel.shutdown()
        self.queue.shutdown()
        self._export_thread.quit()
        self._export_thread.wait()
