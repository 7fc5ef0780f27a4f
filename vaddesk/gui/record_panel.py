"""The Record panel: pick a microphone, record, watch speech appear, get the file afterwards.

The source choice adds the computer's audio (the other side of a call): then a
TwoSidedSession records both sides, with a level meter per source, a live lane per speaker
(You, Others) in its own colour, a Speaker column and the talk time (record_sides.py).

A thin layer over vaddesk.pipeline.live: the LiveSession's worker does capture, file and engine;
this widget starts/stops it and draws at a fixed frame rate from its LiveView (one QTimer:
poll the bridge for results, then redraw). Nothing here runs per audio block.

Signals: ``recording_started(Path)``, ``recording_finished(Path)`` (the WAV, after Stop or after
a failure that kept the file; the main window opens it), ``recordings_recovered(list)``
(RecoveredRecording items repaired at start-up).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from vaddesk.audio.capture import (
    Capture,
    CaptureUnavailable,
    InputDevice,
    StreamFactory,
    list_input_devices,
    rescan_devices,
)
from vaddesk.audio.recorder import (
    RecordingStorageError,
    default_recordings_dir,
    recover_recordings,
)
from vaddesk.audio.system_audio import system_audio_capture
from vaddesk.core.presets import DEFAULT_PRESET, all_presets, get_preset
from vaddesk.core.timefmt import format_ms
from vaddesk.core.types import Segment
from vaddesk.core.wording import counted
from vaddesk.gui.live_bridge import LiveBridge
from vaddesk.gui.live_plot import LivePlot
from vaddesk.gui.record_sides import (
    SOURCE_MIC,
    SOURCE_SYSTEM,
    SOURCES,
    SPEAKER_COLOURS,
    TalkStatsLabel,
    make_meter,
    set_meter,
    sides_for,
)
from vaddesk.gui.segment_table import SegmentTable
from vaddesk.gui.settings import Key, Settings
from vaddesk.pipeline.live import (
    EngineFactory,
    LiveOptions,
    LiveSession,
    LiveSnapshot,
    LiveSummary,
)
from vaddesk.pipeline.live_sides import SYSTEM_SPEAKER, TwoSidedSession

log = logging.getLogger(__name__)

FPS_DEFAULT = 30


NO_DEVICE = ("no input device found. Connect a microphone or headset (or switch one on in the "
             "system's sound settings), then click Refresh.")

class RecordPanel(QWidget):
    recording_started = Signal(object)    # Path of the WAV being written
    recording_finished = Signal(object)   # Path of the finished WAV
    recordings_recovered = Signal(list)   # list[RecoveredRecording]

    def __init__(self, parent: QWidget | None = None, *, settings: Settings | None = None,
                 stream_factory: StreamFactory | None = None,
                 devices: Callable[[], Sequence[InputDevice]] | None = None,
                 recordings_dir: Path | None = None, fps: int = FPS_DEFAULT,
                 engine_factory: EngineFactory | None = None,
                 system_capture: Callable[[], Capture] | None = None) -> None:
        """``system_capture`` makes the computer-audio capture (tests inject a simulated one;
        default: the default output's monitor)."""
        super().__init__(parent)
        self._system_capture = system_capture or system_audio_capture
        self._settings = settings if settings is not None else Settings()
        self._stream_factory = stream_factory
        self._devices_provider = devices
        self._engine_factory = engine_factory
        folder = self._settings.get_str(Key.RECORD_FOLDER)
        self.recordings_dir = recordings_dir or (Path(folder) if folder
                                                 else default_recordings_dir())
        self.session: LiveSession | TwoSidedSession | None = None
        self.bridge: LiveBridge | None = None
        self.last_summary: LiveSummary | None = None
        self._segments: list[Segment] = []
        self._devices: list[InputDevice] = []
        self._build_ui()
        self._ticks = 0
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(max(1, round(1000 / fps)))
        self._timer.timeout.connect(self._tick)
        self.refresh_devices(rescan=False)
        self._recover()

    # --- layout ---------------------------------------------------------------------------
    def _build_ui(self) -> None:
        self.device_combo = QComboBox()
        self.device_combo.setMinimumWidth(220)
        self.device_combo.setToolTip("Input device (remembered by name)")
        self.source_combo = QComboBox()
        self.source_combo.setToolTip("What to record: the microphone, the computer's audio "
                                     "(the other side of a call) too, or only that (remembered)")
        for key, label in SOURCES:
            self.source_combo.addItem(label, key)
        index = self.source_combo.findData(self._settings.get_str(Key.RECORD_SOURCE,
                                                                  SOURCE_MIC))
        self.source_combo.setCurrentIndex(max(0, index))
        self.source_combo.currentIndexChanged.connect(
            lambda _i: self._settings.set(Key.RECORD_SOURCE, self.selected_source()))
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(lambda: self.refresh_devices(rescan=True))
        self.preset_combo = QComboBox()
        self.preset_combo.setToolTip("Preset; can be changed while recording (applies to "
                                     "segments that close from now on)")
        presets = all_presets()
        self.preset_combo.addItems(list(presets))
        remembered = self._settings.get_str(Key.RECORD_PRESET, DEFAULT_PRESET)
        self.preset_combo.setCurrentText(remembered if remembered in presets else DEFAULT_PRESET)
        self.preset_combo.currentTextChanged.connect(self._on_preset_changed)
        self.window_spin = QSpinBox()
        self.window_spin.setRange(5, 300)
        self.window_spin.setSuffix(" s")
        self.window_spin.setToolTip("Length of the scrolling live view")
        self.window_spin.setValue(self._settings.get_int(Key.RECORD_WINDOW_S, 30))
        self.window_spin.valueChanged.connect(
            lambda v: self._settings.set(Key.RECORD_WINDOW_S, v))
        self.clips_check = QCheckBox("Write clips as they close")
        self.clips_check.setChecked(self._settings.get_bool(Key.RECORD_CLIPS, False))
        self.clips_check.toggled.connect(lambda v: self._settings.set(Key.RECORD_CLIPS, v))
        self.folder_button = QPushButton("Folder…")
        self.folder_button.setToolTip(str(self.recordings_dir))
        self.folder_button.clicked.connect(self._choose_folder)

        self.record_button = QPushButton("● Record")
        self.record_button.setToolTip("Start / stop recording (Ctrl+R)")
        self.record_button.clicked.connect(self.toggle_recording)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setToolTip("Pause / resume (Ctrl+Shift+R); paused audio is not kept")
        self.pause_button.setEnabled(False)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.record_shortcut = QShortcut(QKeySequence("Ctrl+R"), self)
        self.record_shortcut.activated.connect(self.toggle_recording)
        self.pause_shortcut = QShortcut(QKeySequence("Ctrl+Shift+R"), self)
        self.pause_shortcut.activated.connect(self.toggle_pause)

        self.level_meter = make_meter("mic")
        self.system_meter = make_meter("computer")
        self.system_meter.hide()
        self.elapsed_label = QLabel("0:00:00")
        self.file_label = QLabel("not recording")
        self.file_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.overflow_label = QLabel("overflows: 0")
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        self.status_label.setStyleSheet("color: #c0392b; font-weight: bold;")
        self.status_label.hide()

        self.live_plot = LivePlot()
        self.others_plot = LivePlot(speech=SPEAKER_COLOURS[SYSTEM_SPEAKER],
                                    title="Others (computer audio): whole session")
        self.others_plot.hide()
        self.table = SegmentTable()
        self.table.setMinimumWidth(330)
        self.table.setMaximumWidth(420)
        self.stats_label = TalkStatsLabel()

        top = QHBoxLayout()
        top.addWidget(QLabel("Input:"))
        top.addWidget(self.device_combo, 1)
        top.addWidget(self.source_combo)
        top.addWidget(self.refresh_button)
        top.addWidget(QLabel("Preset:"))
        top.addWidget(self.preset_combo)
        top.addWidget(QLabel("View:"))
        top.addWidget(self.window_spin)
        top.addWidget(self.clips_check)
        top.addWidget(self.folder_button)
        controls = QHBoxLayout()
        controls.addWidget(self.record_button)
        controls.addWidget(self.pause_button)
        controls.addWidget(self.level_meter)
        controls.addWidget(self.system_meter)
        controls.addWidget(self.elapsed_label)
        controls.addWidget(self.file_label, 1)
        controls.addWidget(self.overflow_label)
        middle = QHBoxLayout()
        lanes = QVBoxLayout()
        lanes.addWidget(self.live_plot, 1)
        lanes.addWidget(self.others_plot, 1)
        middle.addLayout(lanes, 1)
        middle.addWidget(self.table)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(controls)
        layout.addWidget(self.status_label)
        layout.addLayout(middle, 1)
        layout.addWidget(self.stats_label)

    # --- devices ----------------------------------------------------------------------------
    def refresh_devices(self, rescan: bool = True) -> None:
        if self.is_recording:
            return
        try:
            if self._devices_provider is not None:
                self._devices = list(self._devices_provider())
            else:
                if rescan:
                    rescan_devices()
                self._devices = list_input_devices()
        except CaptureUnavailable as exc:
            self._devices = []
            self.show_problem(str(exc))
        remembered = self._settings.get_str(Key.RECORD_DEVICE)
        self.device_combo.blockSignals(True)
        self.device_combo.clear()
        for dev in self._devices:
            label = dev.name + ("  (default)" if dev.is_default else "")
            self.device_combo.addItem(label, dev.name)
        names = [d.name for d in self._devices]
        if remembered in names:
            self.device_combo.setCurrentIndex(names.index(remembered))
        else:
            defaults = [i for i, d in enumerate(self._devices) if d.is_default]
            if defaults:
                self.device_combo.setCurrentIndex(defaults[0])
        self.device_combo.blockSignals(False)
        if self._stream_factory is not None and not self._devices:
            self.device_combo.addItem("simulated input", "")
        elif not self._devices:  # say so where the device would be, and what to do
            self.device_combo.addItem("No input device found", "")
            self.show_problem(NO_DEVICE)

    def selected_device_name(self) -> str:
        return str(self.device_combo.currentData() or "")

    def selected_source(self) -> str:
        return str(self.source_combo.currentData() or SOURCE_MIC)

    def select_source(self, source: str) -> None:
        index = self.source_combo.findData(source)
        if index >= 0:
            self.source_combo.setCurrentIndex(index)

    def select_device(self, name: str) -> None:
        index = self.device_combo.findData(name)
        if index >= 0:
            self.device_combo.setCurrentIndex(index)

    # --- recording --------------------------------------------------------------------------
    @property
    def is_recording(self) -> bool:
        return self.session is not None

    def toggle_recording(self) -> None:
        if self.is_recording:
            self.stop_recording()
        else:
            self.start_recording()

    def start_recording(self) -> Path | None:
        if self.is_recording:
            return None
        self.hide_problem()
        name = self.selected_device_name()
        source = self.selected_source()
        if source != SOURCE_SYSTEM and not self._devices and self._stream_factory is None:
            self.show_problem(f"Cannot start recording: {NO_DEVICE}")
            return None

        def mic() -> Capture:
            return Capture(name or None, stream_factory=self._stream_factory,
                           devices=self._devices if self._devices else None)

        session: LiveSession | TwoSidedSession
        try:
            params = get_preset(self.preset_combo.currentText()).params
            options = LiveOptions(out_dir=self.recordings_dir,
                                  write_clips=self.clips_check.isChecked(),
                                  engine_factory=self._engine_factory)
            preset = self.preset_combo.currentText()
            if source == SOURCE_MIC:
                session = LiveSession(mic(), params, options, preset=preset)
            else:
                session = TwoSidedSession(sides_for(source, mic, self._system_capture),
                                          params, options, preset=preset)
            path = session.start()
        except CaptureUnavailable as exc:
            hint = (" Choose “Microphone” to record the microphone alone."
                    if source != SOURCE_MIC and "computer audio" in str(exc) else "")
            self.show_problem(f"Cannot start recording: {exc}.{hint}")
            return None
        except (RecordingStorageError, ValueError, RuntimeError, OSError) as exc:
            self.show_problem(f"Cannot start recording: {exc}")
            return None
        self._settings.set(Key.RECORD_DEVICE, name)
        self.session = session
        self.bridge = LiveBridge(session, self)
        self.bridge.segment_closed.connect(self._on_segment_closed)
        self.bridge.problem_reported.connect(self._on_problem)
        self.bridge.session_ended.connect(self._on_session_ended)
        self._segments = []
        self.table.set_segments([])
        self.live_plot.clear()
        self.others_plot.clear()
        two = isinstance(session, TwoSidedSession) and len(session.sides) == 2
        self.others_plot.setVisible(two)
        self.live_plot.set_title("You (microphone): whole session" if two
                                 else "whole session")
        self.system_meter.setVisible(two)
        self.level_meter.setFormat(("computer" if source == SOURCE_SYSTEM else "mic")
                                   + " %v dBFS")
        self.stats_label.show_stats([], self._speakers())
        self.file_label.setText(path.name)
        self.file_label.setToolTip(str(path))
        self.record_button.setText("■ Stop")
        self.pause_button.setEnabled(True)
        self.pause_button.setText("Pause")
        for widget in (self.device_combo, self.refresh_button, self.clips_check,
                       self.folder_button, self.source_combo):
            widget.setEnabled(False)
        self._timer.start()
        self.recording_started.emit(path)
        return path

    def stop_recording(self) -> None:
        """Ask the worker to stop; the panel finishes when the session reports its end."""
        if self.session is not None:
            self.session.request_stop()
            self.record_button.setEnabled(False)
            self.record_button.setText("Stopping…")

    def toggle_pause(self) -> None:
        if self.session is None:
            return
        if self.session.paused:
            self.session.resume()
            self.pause_button.setText("Pause")
        else:
            self.session.pause()
            self.pause_button.setText("Resume")

    def _on_preset_changed(self, name: str) -> None:
        self._settings.set(Key.RECORD_PRESET, name)
        if self.session is not None:
            try:
                self.session.set_params(get_preset(name).params, name)
            except ValueError as exc:
                self.show_problem(str(exc))

    # --- the frame timer ---------------------------------------------------------------------
    def _tick(self) -> None:
        session, bridge = self.session, self.bridge
        if session is None or bridge is None:
            return
        bridge.poll()  # may end the session (then self.session is None)
        window_ms = self.window_spin.value() * 1000
        snap = self._draw_lanes(session, window_ms)
        self._ticks += 1
        if self._ticks % 3:
            return  # meter and labels at 10 Hz: enough to read, a third of the repaints
        set_meter(self.level_meter, snap.level_db)
        if isinstance(session, TwoSidedSession) and len(session.views) == 2:
            set_meter(self.system_meter, session.views[1].level_db)
        elapsed = format_ms(snap.recorded_ms, digits=0) + ("  (paused)" if snap.paused else "")
        if elapsed != self.elapsed_label.text():
            self.elapsed_label.setText(elapsed)
        overflows = f"overflows: {snap.overflow_count}"
        if overflows != self.overflow_label.text():
            self.overflow_label.setText(overflows)
            self.overflow_label.setStyleSheet("color: #c0392b;" if snap.overflow_count else "")

    def _draw_lanes(self, session: LiveSession | TwoSidedSession, window_ms: int,
                    final: bool = False) -> LiveSnapshot:
        """One lane per side: the first (or only) in the main plot, the others' below."""
        snap = session.view.snapshot(window_ms)
        if isinstance(session, TwoSidedSession) and len(session.views) == 2:
            mine = [s for s in self._segments if s.channel == 0]
            self.live_plot.show_snapshot(snap, window_ms, mine, final=final)
            theirs = [s for s in self._segments if s.channel == 1]
            self.others_plot.show_snapshot(session.views[1].snapshot(window_ms), window_ms,
                                           theirs, final=final)
        else:
            self.live_plot.show_snapshot(snap, window_ms, self._segments, final=final)
        return snap

    def _speakers(self) -> list[str]:
        session = self.session
        if isinstance(session, TwoSidedSession):
            return [side.speaker for side in session.sides]
        return []

    def _on_segment_closed(self, segment: Segment) -> None:
        self._segments.append(segment)
        self.table.set_segments(self._segments)
        self.table.scrollToBottom()
        self.stats_label.show_stats(self._segments, self._speakers())

    def _on_problem(self, message: str, fatal: bool) -> None:
        self.show_problem(message if fatal else f"Warning: {message}")

    def _on_session_ended(self, summary: LiveSummary) -> None:
        self._timer.stop()
        session = self.session
        self.session = None
        if session is not None:
            session.stop()  # the worker has finished; this only joins it
            self._draw_lanes(session, self.window_spin.value() * 1000, final=True)
            if isinstance(session, TwoSidedSession):
                # The summary's order (by start); the stats of the whole recording.
                self._segments = list(summary.segments)
                self.table.set_segments(self._segments)
                speakers = [side.speaker for side in session.sides]
                self.stats_label.show_stats(self._segments, speakers)
        self.last_summary = summary
        self.record_button.setEnabled(True)
        self.record_button.setText("● Record")
        self.pause_button.setEnabled(False)
        self.pause_button.setText("Pause")
        self.level_meter.setValue(-60)
        self.system_meter.setValue(-60)
        for widget in (self.device_combo, self.refresh_button, self.clips_check,
                       self.folder_button, self.source_combo):
            widget.setEnabled(True)
        self.elapsed_label.setText(format_ms(summary.duration_ms, digits=0))
        self.file_label.setText(f"{summary.path.name} — "
                                f"{counted(len(summary.segments), 'segment')}, saved")
        if summary.stop_reason is not None:
            self.show_problem(f"Recording stopped: {summary.stop_reason}. The audio up to "
                              f"{format_ms(summary.duration_ms)} is kept in {summary.path}.")
        self.recording_finished.emit(summary.path)

    # --- messages, folder, recovery ------------------------------------------------------------
    def show_problem(self, message: str) -> None:
        log.warning("record panel: %s", message)
        self.status_label.setText(message)
        self.status_label.show()

    def hide_problem(self) -> None:
        self.status_label.hide()
        self.status_label.setText("")

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Recordings folder",
                                                  str(self.recordings_dir))
        if folder:
            self.recordings_dir = Path(folder)
            self.folder_button.setToolTip(folder)
            self._settings.set(Key.RECORD_FOLDER, folder)
            self._recover()

    def _recover(self) -> None:
        try:
            found = recover_recordings(self.recordings_dir)
        except OSError as exc:
            self.show_problem(f"Could not check {self.recordings_dir} for interrupted "
                              f"recordings: {exc}")
            return
        if found:
            names = ", ".join(f"{f.path.name} ({format_ms(f.duration_ms, digits=0)})"
                              for f in found)
            self.show_problem(f"Repaired {len(found)} recording(s) interrupted by a crash: "
                              f"{names}")
            # Emitted after construction so a main window connected later still hears it.
            QTimer.singleShot(0, lambda: self.recordings_recovered.emit(found))

    def shutdown(self) -> None:
        """Stop a running recording and wait for the file to be closed (window closing)."""
        if self.session is not None:
            session = self.session
            session.request_stop()
            summary = session.stop()
            if self.bridge is not None:
                self.bridge.poll()
            if self.session is not None:
                self._on_session_ended(summary)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)
