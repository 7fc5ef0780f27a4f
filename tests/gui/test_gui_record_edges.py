"""The Record panel as a first-time user met it: Ctrl+R with the panel out of sight, no
microphone at all, and a layout saved with the panel open (pytest-qt offscreen; the audio is a
simulated stream, as no test machine has a microphone)."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt

from vaddesk.audio.capture import ArrayInputStream
from vaddesk.gui import main_window as main_window_module
from vaddesk.gui.main_window import MainWindow
from vaddesk.gui.notifier import RecordingNotifier
from vaddesk.gui.record_panel import RecordPanel
from vaddesk.gui.segment_table import TEXT_COLUMNS
from vaddesk.gui.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


def _window(qtbot, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
            **panel: object) -> MainWindow:
    monkeypatch.setenv("VADDESK_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("VADDESK_EDITS_DIR", str(tmp_path / "edits"))
    monkeypatch.setattr(main_window_module, "RecordPanel", functools.partial(
        RecordPanel, recordings_dir=tmp_path / "rec", **panel))
    win = MainWindow(settings, RecordingNotifier(), record_panel=True)
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    qtbot.wait(50)
    return win


def test_ctrl_r_brings_the_panel_forward_and_the_title_says_recording(
        qtbot, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tone = (0.1 * np.sin(np.arange(16_000 * 30) / 16_000 * 2 * np.pi * 220)).astype(np.float32)
    win = _window(qtbot, settings, tmp_path, monkeypatch,
                  stream_factory=ArrayInputStream.factory(tone, speed=1.0))
    assert win.record_dock is not None and win.record_panel is not None
    assert not win.record_dock.isVisible()  # out of sight, behind/instead of the queue
    qtbot.keyClick(win, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: win.record_panel.is_recording, timeout=10_000)
    assert win.record_dock.isVisible() and not win.record_dock.visibleRegion().isEmpty()
    assert win.windowTitle().startswith("● Recording ")
    assert win.statusBar().currentMessage().startswith("● Recording to ")
    qtbot.keyClick(win, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not win.record_panel.is_recording, timeout=10_000)
    qtbot.waitUntil(lambda: not win.windowTitle().startswith("●"), timeout=10_000)
    win.shutdown()


def test_no_microphone_says_so_and_what_to_do(qtbot, settings: Settings, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    win = _window(qtbot, settings, tmp_path, monkeypatch, devices=lambda: [])
    panel = win.record_panel
    assert panel is not None
    assert panel.device_combo.currentText() == "No input device found"
    assert panel.status_label.text() == (
        "no input device found. Connect a microphone or headset (or switch one on in the "
        "system's sound settings), then click Refresh.")
    assert panel.start_recording() is None
    text = panel.status_label.text()
    assert text.startswith("Cannot start recording: no input device found. Connect a "
                           "microphone") and text.endswith("then click Refresh.")
    assert "simulated" not in text and "-1" not in text
    # The live table has no editor behind it: no label/note cells to type into there.
    assert all(panel.table.isColumnHidden(c) for c in TEXT_COLUMNS)
    assert not any(win.segment_table.isColumnHidden(c) for c in TEXT_COLUMNS)
    win.shutdown()


def test_a_layout_saved_with_the_panel_open_starts_with_queue_and_waveform(
        qtbot, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _window(qtbot, settings, tmp_path, monkeypatch, devices=lambda: [])
    first.show_record_panel()
    qtbot.wait(50)
    first.close()  # saves the layout with the Record panel open
    second = _window(qtbot, settings, tmp_path, monkeypatch, devices=lambda: [])
    qtbot.wait(100)
    assert second.record_dock is not None and not second.record_dock.isVisible()
    assert second.queue_dock.isVisible()
    assert second.waveform.height() >= 300, second.waveform.height()
    tree = second.queue_panel.tree
    row_px = max(tree.sizeHintForRow(0), tree.fontMetrics().height() + 4)
    assert tree.viewport().height() // row_px >= 6, (tree.viewport().height(), row_px)
    second.shutdown()
