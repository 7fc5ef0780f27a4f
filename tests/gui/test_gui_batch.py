"""Folder batch in the real window: every file gets a state; one corrupt file never stops the
rest; cancel one (waiting or running) or all; export all."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from tests.support.gui_fixtures import (
    engine_segments,
    make_long_recording,
    make_recording,
    tools_missing,
)
from vaddesk.core.engine import resegment
from vaddesk.core.presets import get_preset
from vaddesk.gui.analysis_queue import ItemState
from vaddesk.gui.main_window import MainWindow
from vaddesk.gui.notifier import RecordingNotifier
from vaddesk.gui.settings import Settings

pytestmark = pytest.mark.skipif(bool(tools_missing()), reason=f"needs {tools_missing()}")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """a.wav (16 kHz), sub/b.flac (44.1 kHz), c.wav (text, not audio)."""
    root = tmp_path_factory.mktemp("batch")
    work = tmp_path_factory.mktemp("batch-work")
    a = make_recording(work, "a.wav")
    (root / "sub").mkdir()
    (root / "a.wav").write_bytes(a.read_bytes())
    subprocess.run(["sox", "-R", str(a), "-r", "44100", str(root / "sub" / "b.flac")], check=True,
                   capture_output=True)
    (root / "c.wav").write_text("meeting notes, not a recording\n", "utf-8")
    return root


@pytest.fixture
def window(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("VADDESK_CONFIG_DIR", str(tmp_path / "config"))
    settings = Settings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    win = MainWindow(settings, RecordingNotifier(), record_panel=False)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()


def test_folder_batch_two_done_one_failed_then_export_all(qtbot, window: MainWindow,
                                                          folder: Path, tmp_path: Path) -> None:
    with qtbot.waitSignal(window.queue.queue_drained, timeout=120_000):
        ids = window.open_paths([str(folder)])
    assert len(ids) == 3
    items = {str(i.relpath): i for i in window.queue.items()}
    assert set(items) == {"a.wav", "c.wav", "sub/b.flac"}
    meeting = get_preset("meeting").params
    for name in ("a.wav", "sub/b.flac"):
        item = items[name]
        assert item.state is ItemState.DONE
        assert item.analysis is not None
        assert item.analysis.segments == engine_segments(folder / name, meeting)
    bad = items["c.wav"]
    assert bad.state is ItemState.FAILED
    assert "not an audio file" in bad.reason
    texts = window.queue_panel.row_texts()
    n_a = len(items["a.wav"].analysis.segments)  # type: ignore[union-attr]
    assert texts[items["a.wav"].item_id] == f"done: {n_a} segments"
    assert texts[bad.item_id] == f"failed: {bad.reason}"
    # A failure inside a batch is shown in the queue, not as a dialog per file.
    notifier = window.notifier
    assert isinstance(notifier, RecordingNotifier)
    assert [m for m in notifier.messages if m.kind == "error"] == []
    # The first file is on screen.
    assert window.current_analysis() is items["a.wav"].analysis

    # Export all, with a changed value: every finished file, re-segmented, sub-folders mirrored.
    window.param_panel.set_value("max_end_silence_ms", 2000)
    out = tmp_path / "all"
    window.export_all()
    dialog = window.export_dialog
    assert dialog is not None
    dialog.folder_edit.setText(str(out))
    with qtbot.waitSignal(window.export_finished, timeout=30_000) as blocker:
        dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
    assert blocker.args[0].failures == []
    for name, json_path in (("a.wav", out / "a.json"), ("sub/b.flac", out / "sub" / "b.json")):
        doc = json.loads(json_path.read_text("utf-8"))
        analysis = items[name].analysis
        assert analysis is not None
        expected = resegment(analysis.track, window.params())
        assert [(s["start_ms"], s["end_ms"]) for s in doc["segments"]] == [
            (s.start_ms, s.end_ms) for s in expected]
        assert doc["parameters"]["max_end_silence_ms"] == 2000
    assert not (out / "c.json").exists()


def test_cancel_waiting_and_running(qtbot, window: MainWindow, folder: Path,
                                    tmp_path: Path) -> None:
    long_file = make_long_recording(folder / "a.wav", tmp_path / "long.wav", 600)
    first, second = window.open_paths([str(long_file), str(folder / "a.wav")])
    window.queue.cancel(second)  # still waiting: cancelled at once
    assert window.queue.item(second).state is ItemState.CANCELLED

    def running_with_progress() -> None:
        item = window.queue.item(first)
        assert item.state is ItemState.RUNNING and item.done_ms > 0

    qtbot.waitUntil(running_with_progress, timeout=60_000)
    # Work in progress is visible in the title and the queue.
    assert window.windowTitle().startswith("long.wav (analysing ")
    assert window.queue_panel.row_texts()[first].startswith("running ")
    with qtbot.waitSignal(window.queue.queue_drained, timeout=60_000):
        window.queue_panel.cancel_all_button.click()
    assert window.queue.item(first).state is ItemState.CANCELLED
    assert window.queue_panel.row_texts()[first] == "cancelled"
    # The worker goes on with new files after a cancel.
    with qtbot.waitSignal(window.file_shown, timeout=60_000):
        window.open_paths([str(folder / "a.wav")])


def test_slider_after_the_queue_dropped_the_file_on_screen(qtbot, window: MainWindow,
                                                           folder: Path) -> None:
    """The queue (the model) may drop finished items while their file is still on screen; a
    later re-segmentation must not look the dropped item up (it raised KeyError)."""
    with qtbot.waitSignal(window.queue.queue_drained, timeout=120_000):
        window.open_paths([str(folder / "a.wav")])
    analysis = window.current_analysis()
    assert analysis is not None
    window.queue.remove_finished()
    assert window.queue.items() == []
    window.param_panel.set_value("max_end_silence_ms", 2000)  # pytest-qt fails on a slot error
    qtbot.waitUntil(lambda: window.segments() == resegment(analysis.track, window.params()))
