"""The real main window, offscreen, on a generated recording (pytest-qt).

No fakes: the real decoder, the real INT8 engine (in the GUI's worker process), the real
exporters, the real sounddevice (which finds no output device on CI and must say so).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile as sf
from PySide6.QtCore import QPointF, QSettings, Qt

from tests.support.gui_fixtures import engine_segments, make_recording, tools_missing
from vaddesk.core.confidence import segment_confidences
from vaddesk.core.engine import resegment
from vaddesk.core.presets import get_preset
from vaddesk.export import EXTENSIONS, FORMATS
from vaddesk.gui.analysis_queue import ItemState
from vaddesk.gui.main_window import MainWindow
from vaddesk.gui.notifier import RecordingNotifier
from vaddesk.gui.segment_table import CONFIDENCE_COLUMN
from vaddesk.gui.settings import Key, Settings

pytestmark = pytest.mark.skipif(bool(tools_missing()), reason=f"needs {tools_missing()}")

ANALYSIS_TIMEOUT_MS = 90_000


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_recording(tmp_path_factory.mktemp("gui-rec"))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


@pytest.fixture
def window(qtbot, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("VADDESK_CONFIG_DIR", str(tmp_path / "config"))
    win = MainWindow(settings, RecordingNotifier(), record_panel=False)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()


def open_and_wait(qtbot, window: MainWindow, path: Path) -> None:
    with qtbot.waitSignal(window.file_shown, timeout=ANALYSIS_TIMEOUT_MS):
        window.open_paths([str(path)])


def test_open_shows_the_engines_segments(qtbot, spawned_analysis: None, window: MainWindow,
                                        recording: Path) -> None:
    # spawned_analysis: this window spawns its analysis process as the app does (the other
    # GUI tests fork theirs from a forkserver, tests/gui/conftest.py).
    assert window.preset_picker.current_name() == "meeting"
    open_and_wait(qtbot, window, recording)
    params = get_preset("meeting").params
    expected = engine_segments(recording, params)
    assert len(expected) >= 4
    assert window.params() == params
    assert window.segment_table.segments() == expected
    assert window.segments() == expected
    # The table shows what a person reads: 1-based index and h:mm:ss.mmm times.
    model = window.segment_table.table_model
    first = expected[0]
    assert model.rowCount() == len(expected)
    assert model.index(0, 0).data() == "1"
    assert model.index(0, 1).data() == f"0:{first.start_ms // 1000:02d}.{first.start_ms % 1000:03d}"
    assert window.windowTitle().replace("[*]", "") == f"{recording.name} — vaddesk"
    assert not window.isWindowModified()
    # The plots hold the same file: duration, envelope drawn, score curve one value per frame.
    analysis = window.current_analysis()
    assert analysis is not None
    assert window.waveform.visible_range() == (0.0, analysis.duration_ms / 1000)
    window.waveform.refresh()
    x, _y = window.waveform.wave_curve.getData()
    assert x is not None and len(x) > 100
    # Zoomed to 5 s, the score lane shows every frame's score exactly.
    window.waveform.set_visible_range(2.0, 7.0)
    window.waveform.refresh()
    sx, sy = window.waveform.score_curve.getData()
    assert sx is not None and sy is not None
    assert sx[0] == 2.0 and sx.size == 501
    assert list(sy) == list(analysis.track.speech_score[200:701].astype("float32"))
    assert window.queue_panel.row_texts() == {1: f"done: {len(expected)} segments"}


def test_presets_and_end_silence_resegment(qtbot, window: MainWindow, recording: Path) -> None:
    open_and_wait(qtbot, window, recording)
    analysis = window.current_analysis()
    assert analysis is not None
    meeting = list(window.segments())

    with qtbot.waitSignal(window.segments_changed, timeout=5000) as blocker:
        window.preset_picker.select("dialogue")
    dialogue = get_preset("dialogue").params
    assert window.params() == dialogue
    assert blocker.args[0] == resegment(analysis.track, dialogue)
    assert window.segments() == resegment(analysis.track, dialogue)
    assert window.segments() != meeting
    assert window.param_panel.row("min_silence_ms").spin.value() == dialogue.min_silence_ms

    # Move the min-silence slider up: pauses under 1.2 s no longer end a segment.
    slider = window.param_panel.row("min_silence_ms").slider
    with qtbot.waitSignal(window.segments_changed, timeout=5000):
        slider.setValue(1200 // 10)
    longer = dialogue.replace(min_silence_ms=1200)
    assert window.params() == longer
    assert window.param_panel.row("min_silence_ms").spin.value() == 1200
    assert window.segments() == resegment(analysis.track, longer)
    assert len(window.segments()) < len(resegment(analysis.track, dialogue))
    assert window.segment_table.segments() == window.segments()
    assert window.isWindowModified()  # values differ from the chosen preset
    assert window.queue_panel.row_texts()[1] == f"done: {len(window.segments())} segments"
    # the confidence column holds each segment's mean score over the cached track
    model = window.segment_table.table_model
    want = segment_confidences(analysis.track, window.segments())
    assert [model.index(r, CONFIDENCE_COLUMN).data() for r in range(model.rowCount())] == [
        f"{c.score_mean:.2f}" for c in want]

    # A value the engine rejects is explained, not applied.
    window.param_panel.set_value("exit_score", 0.99)
    assert window.params() == longer  # exit_score above enter_score
    window.param_panel.set_value("exit_score", dialogue.exit_score)
    window.param_panel.set_value("min_silence_ms", 10)
    assert window.params() == longer.replace(min_silence_ms=10)
    window.param_panel.set_value("max_segment_ms", 500)
    assert window.params().max_segment_ms == 500


def test_user_presets_save_rename_delete(qtbot, window: MainWindow, tmp_path: Path) -> None:
    notifier = window.notifier
    assert isinstance(notifier, RecordingNotifier)
    window.param_panel.set_value("max_end_silence_ms", 1700)
    notifier.text_replies.append("long pauses")
    window.preset_picker.save_as()
    assert (tmp_path / "config" / "presets" / "long pauses.json").is_file()
    assert window.preset_picker.current_name() == "long pauses"
    assert get_preset("long pauses").params.max_end_silence_ms == 1700
    assert not window.isWindowModified()

    notifier.text_replies.append("calm")
    window.preset_picker.rename_current()
    assert window.preset_picker.current_name() == "calm"
    assert "long pauses" not in window.preset_picker.names()

    notifier.confirm_replies.append(True)
    window.preset_picker.delete_current()
    assert "calm" not in window.preset_picker.names()
    assert window.preset_picker.current_name() == "meeting"
    # Built-ins cannot be deleted; the person is told why.
    window.preset_picker.delete_current()
    assert notifier.messages[-1].title == "Cannot delete"


def test_table_and_plot_select_each_other(qtbot, window: MainWindow, recording: Path) -> None:
    open_and_wait(qtbot, window, recording)
    segments = window.segments()
    # Row -> plot: the region is highlighted and the cursor moves to its start.
    window.segment_table.selectRow(2)
    assert window.waveform.regions._selected == 2
    assert window.waveform.cursor_s() == segments[2].start_ms / 1000
    # Plot -> row: a real mouse click in the middle of segment 1's shaded region.
    window.waveform.show_all()
    seg = segments[1]
    view = window.waveform.wave_plot.getViewBox()
    scene_pos = view.mapViewToScene(QPointF((seg.start_ms + seg.end_ms) / 2000, 0.0))
    widget_pos = window.waveform.mapFromScene(scene_pos)
    qtbot.mouseClick(window.waveform.viewport(), Qt.MouseButton.LeftButton, pos=widget_pos)
    assert window.segment_table.selected_row() == 1
    assert window.waveform.regions._selected == 1


def test_export_writes_the_files_and_says_where(qtbot, window: MainWindow, recording: Path,
                                               tmp_path: Path, settings: Settings) -> None:
    open_and_wait(qtbot, window, recording)
    out = tmp_path / "exported"
    window.export_current()
    dialog = window.export_dialog
    assert dialog is not None and dialog.isVisible()
    dialog.folder_edit.setText(str(out))
    for box in dialog.format_boxes.values():
        box.setChecked(True)
    dialog.clips_box.setChecked(True)
    with qtbot.waitSignal(window.export_finished, timeout=30_000) as blocker:
        dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
    outcome = blocker.args[0]
    assert outcome.failures == []
    stem = recording.stem
    n = len(window.segments())
    names = {p.relative_to(out).as_posix() for p in outcome.written}
    for fmt in FORMATS:
        assert f"{stem}{EXTENSIONS[fmt]}" in names
    clips = sorted((out / f"{stem}_clips").glob("*.wav"))
    assert len(clips) == n
    doc = json.loads((out / f"{stem}.json").read_text("utf-8"))
    assert [(s["start_ms"], s["end_ms"]) for s in doc["segments"]] == [
        (s.start_ms, s.end_ms) for s in window.segments()]
    assert doc["preset"] == "meeting"
    assert doc["parameters"] == window.params().to_dict()
    notifier = window.notifier
    assert isinstance(notifier, RecordingNotifier)
    assert notifier.messages[-1].title == "Export finished"
    assert str(out) in notifier.messages[-1].text
    assert "Open folder" in notifier.actions
    # The choices are remembered for next time.
    assert settings.get_str(Key.LAST_EXPORT_DIR) == str(out)
    assert settings.get_bool(Key.EXPORT_CLIPS) is True

    # Exporting again into the same folder: the dialog itself says what exists and offers
    # Overwrite / another folder (nothing is written, no "Export incomplete" afterwards).
    window.export_current()
    again = window.export_dialog
    assert again is not None
    before = len(notifier.messages)
    again.buttons.button(again.buttons.StandardButton.Ok).click()
    assert again.isVisible() and len(notifier.messages) == before
    assert again.exists_row.isVisible()
    assert again.error_label.text().startswith(f"{len(outcome.written)} of these files exist "
                                               "already in this folder: ")
    assert "--" not in again.error_label.text()  # the dialog's words, not the CLI's
    assert [b.text() for b in (again.overwrite_button, again.other_folder_button)] == [
        "Overwrite them", "Choose another folder…"]
    # With speech-only audio ticked too, "Overwrite them" exports everything again.
    again.speech_box.setChecked(True)
    again.gap_spin.setValue(200)
    with qtbot.waitSignal(window.export_finished, timeout=30_000) as blocker:
        again.overwrite_button.click()
    rewritten = blocker.args[0]
    assert rewritten.failures == [] and not again.isVisible()
    speech = out / f"{stem}.speech.wav"
    assert speech in rewritten.written
    doc = json.loads((out / f"{stem}.json").read_text("utf-8"))
    parts = doc["condensed"]["parts"]
    assert [(p["start_ms"], p["end_ms"]) for p in parts] == [
        (s.start_ms, s.end_ms) for s in window.segments()]
    lengths = [s.end_ms * 16 - s.start_ms * 16 for s in window.segments()]  # 16 kHz file
    assert sf.info(str(speech)).frames == sum(lengths) + 3_200 * (len(lengths) - 1)


def test_play_reports_a_missing_output_device(qtbot, window: MainWindow,
                                              recording: Path) -> None:
    import sounddevice as sd

    open_and_wait(qtbot, window, recording)
    try:
        has_output = any(d["max_output_channels"] > 0 for d in sd.query_devices())
    except Exception:
        has_output = False
    notifier = window.notifier
    assert isinstance(notifier, RecordingNotifier)
    window.segment_table.selectRow(0)
    if has_output:  # a machine with sound: playback starts and the play-head moves
        with qtbot.waitSignal(window.player.playback_started, timeout=5000):
            window.play_selected_segment()
        window.player.stop()
        return
    window.play_selected_segment()
    assert notifier.messages[-1].title == "Cannot play audio"
    assert "No sound output is available" in notifier.messages[-1].text
    qtbot.keyClick(window, Qt.Key.Key_Space)  # Space = play from the cursor: same message
    assert notifier.messages[-1].title == "Cannot play audio"
    assert not window.player.is_playing()


def test_corrupt_single_file_gives_an_actionable_error(qtbot, window: MainWindow,
                                                       tmp_path: Path) -> None:
    bad = tmp_path / "notes.wav"
    bad.write_text("this is not audio\n", "utf-8")
    with qtbot.waitSignal(window.queue.item_finished, timeout=ANALYSIS_TIMEOUT_MS):
        window.open_paths([str(bad)])
    notifier = window.notifier
    assert isinstance(notifier, RecordingNotifier)
    assert notifier.messages[-1].title == "Cannot open notes.wav"
    assert "not an audio file" in notifier.messages[-1].text
    assert window.queue.items()[0].state is ItemState.FAILED
    window.open_paths([str(tmp_path / "missing.wav")])
    assert notifier.messages[-1].title == "Not found"


def test_settings_remember_preset_and_recent_files(qtbot, settings: Settings, tmp_path: Path,
                                                   recording: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VADDESK_CONFIG_DIR", str(tmp_path / "config"))
    first = MainWindow(settings, RecordingNotifier(), record_panel=False)
    qtbot.addWidget(first)
    first.preset_picker.select("phone")
    first.score_action.setChecked(False)
    with qtbot.waitSignal(first.file_shown, timeout=90_000):  # a file that opened is recent
        first.open_paths([str(recording)])
    first.close()
    second = MainWindow(settings, RecordingNotifier(), record_panel=False)
    qtbot.addWidget(second)
    try:
        assert second.preset_picker.current_name() == "phone"
        assert second.params() == get_preset("phone").params
        assert not second.score_action.isChecked()
        assert settings.get_list(Key.RECENT_FILES)[0] == str(recording.resolve())
        assert [a.text() for a in second.recent_menu.actions()] == [str(recording.resolve())]
    finally:
        second.close()


def test_drop_files_onto_the_window_opens_them(qtbot, window: MainWindow,
                                               recording: Path) -> None:
    from PySide6.QtCore import QMimeData, QPoint, QUrl
    from PySide6.QtGui import QDropEvent

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(recording))])
    event = QDropEvent(QPoint(100, 100), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.file_shown, timeout=ANALYSIS_TIMEOUT_MS):
        window.dropEvent(event)
    analysis = window.current_analysis()
    assert analysis is not None and analysis.path == recording


@pytest.mark.slow
def test_record_panel_hands_its_recording_to_the_window(qtbot, settings: Settings,
                                                        recording: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The Record dock (issue 5's RecordPanel) is part of the default window; a finished
    recording opens like any file. The recording here is a generated file announced through
    the panel's own signal (capturing from a microphone is tested in the live tests)."""
    monkeypatch.setenv("VADDESK_CONFIG_DIR", str(tmp_path / "config"))
    win = MainWindow(settings, RecordingNotifier())
    qtbot.addWidget(win)
    win.show()
    try:
        assert win.record_panel is not None and win.record_dock is not None
        assert not win.record_dock.isVisible()
        win.record_action.trigger()
        assert win.record_dock.isVisible()
        with qtbot.waitSignal(win.file_shown, timeout=ANALYSIS_TIMEOUT_MS):
            win.record_panel.recording_finished.emit(recording)
        assert win.segments() == engine_segments(recording, win.params())
    finally:
        win.close()


def test_zoom_and_pan_keys(qtbot, window: MainWindow, recording: Path) -> None:
    open_and_wait(qtbot, window, recording)
    view = window.waveform
    duration_s = window.segments() and view.visible_range()[1]
    assert view.visible_range() == (0.0, duration_s)
    qtbot.keyClick(view, Qt.Key.Key_Plus)
    x0, x1 = view.visible_range()
    assert x1 - x0 == pytest.approx(duration_s / 1.5)
    qtbot.keyClick(view, Qt.Key.Key_Home)
    assert view.visible_range()[0] == pytest.approx(0.0)
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert view.visible_range()[0] == pytest.approx((x1 - x0) * 0.1)
    qtbot.keyClick(view, Qt.Key.Key_0)
    assert view.visible_range() == pytest.approx((0.0, duration_s))
    # The overview's window follows the main view.
    qtbot.keyClick(view, Qt.Key.Key_Plus)
    assert window.overview._window.getRegion() == pytest.approx(view.visible_range())
