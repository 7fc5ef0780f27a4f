"""Editing segments in the real window (pytest-qt, offscreen): real mouse drags on the plot's
viewport and real key presses for every edit, undo/redo restoring the exact segments, labels
typed into the table, autosave surviving a destroyed window, and the keep/detect-again
question."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLineEdit

from tests.support.gui_fixtures import make_recording, tools_missing
from vaddesk.core.engine import resegment
from vaddesk.core.segment_edits import quietest_ms, snap_ms
from vaddesk.core.types import Segment
from vaddesk.gui.main_window import MainWindow
from vaddesk.gui.notifier import RecordingNotifier
from vaddesk.gui.segment_regions import BOUNDARY
from vaddesk.gui.settings import Settings

pytestmark = pytest.mark.skipif(bool(tools_missing()), reason=f"needs {tools_missing()}")

ANALYSIS_TIMEOUT_MS = 90_000


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_recording(tmp_path_factory.mktemp("edit-rec"))


@pytest.fixture
def edits_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VADDESK_EDITS_DIR", str(tmp_path / "edits"))
    monkeypatch.setenv("VADDESK_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "edits"


def new_window(qtbot, tmp_path: Path, track: bool = True) -> MainWindow:
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    win = MainWindow(settings, RecordingNotifier(), record_panel=False)
    if track:  # closed by qtbot at the end of the test
        qtbot.addWidget(win)
    win.show()
    return win


@pytest.fixture
def window(qtbot, tmp_path: Path, edits_dir: Path):
    win = new_window(qtbot, tmp_path)
    yield win
    win.close()


def open_and_wait(qtbot, window: MainWindow, path: Path) -> None:
    with qtbot.waitSignal(window.file_shown, timeout=ANALYSIS_TIMEOUT_MS):
        window.open_paths([str(path)])
    qtbot.wait(100)  # docks take their first sizes in a queued call: pixels settle first


def show(window: MainWindow, start_s: float, stop_s: float) -> None:
    window.waveform.set_visible_range(start_s, stop_s)
    window.waveform.refresh()
    QTest.qWait(30)


def px(window: MainWindow, seconds: float) -> QPoint:
    return window.waveform.wave_pixel_of(seconds)


def drag(window: MainWindow, a: QPoint, b: QPoint, shift: bool = False) -> None:
    """A real left-button drag on the waveform's viewport, in small steps."""
    mods = Qt.KeyboardModifier.ShiftModifier if shift else Qt.KeyboardModifier.NoModifier
    vp = window.waveform.viewport()
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, mods, a)
    for i in range(1, 6):
        QTest.mouseMove(vp, QPoint(a.x() + (b.x() - a.x()) * i // 5, a.y()))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, mods, b)


def time_at(window: MainWindow, point: QPoint) -> float:
    t = window.waveform.wave_time_at(point)
    assert t is not None
    return t


def key(window: MainWindow, k: Qt.Key, mods=Qt.KeyboardModifier.NoModifier) -> None:
    QTest.keyClick(window.waveform, k, mods)


def test_drag_edges_add_split_merge_delete_with_undo_and_redo(
        qtbot, window: MainWindow, recording: Path) -> None:
    open_and_wait(qtbot, window, recording)
    detected = window.segments()
    assert len(detected) >= 4
    first, second = detected[0], detected[1]

    # Drag the first segment's end 250 ms later (inside the pause): snapped to 10 ms.
    show(window, first.start_ms / 1000 - 0.5, second.start_ms / 1000 + 0.5)
    end_px = px(window, first.end_ms / 1000)
    target = QPoint(end_px.x() + (px(window, first.end_ms / 1000 + 0.25).x() - end_px.x()),
                    end_px.y())
    drag(window, end_px, target)
    moved = snap_ms(time_at(window, target) * 1000)
    assert moved % 10 == 0 and abs(moved - (first.end_ms + 250)) <= 20
    edited_1 = [Segment(first.start_ms, moved, origin="edited"), *detected[1:]]
    assert window.segments() == edited_1
    assert window.segment_table.segments() == edited_1

    # Shift-drag the second segment's start 150 ms earlier, into the pause: it lands on the
    # quietest frame within 100 ms of the drop. 150 ms, so that the old start is outside that
    # search: a drop whose quietest frame is the old start changes nothing and is no edit
    # (with 60 ms it was, once, when the pixels put the drop 10 ms later).
    analysis = window.current_analysis()
    assert analysis is not None
    assert second.start_ms - 150 - 110 > moved  # the search stays inside the pause
    start_px = px(window, second.start_ms / 1000)
    target2 = QPoint(start_px.x() - (start_px.x() - px(window, second.start_ms / 1000 - 0.15
                                                         ).x()), start_px.y())
    drag(window, start_px, target2, shift=True)
    quiet = quietest_ms(time_at(window, target2) * 1000, analysis.track.energy_db)
    assert abs(quiet - (second.start_ms - 150)) <= 110 and quiet < second.start_ms
    energy = analysis.track.energy_db
    dropped = round(time_at(window, target2) * 100)  # the frame under the pointer
    around = energy[dropped - 10: dropped + 11]
    assert energy[quiet // 10] == around.min()  # nothing quieter within 100 ms of the drop
    if energy[dropped] != around.min():  # the drop point itself was not the quietest
        assert quiet != snap_ms(time_at(window, target2) * 1000)  # so Shift moved it
    edited_2 = [edited_1[0], Segment(quiet, second.end_ms, origin="edited"), *detected[2:]]
    assert window.segments() == edited_2

    # Ctrl+Z twice: exactly the detected segments; Ctrl+Shift+Z twice: exactly the edits.
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.segments() == edited_1
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.segments() == detected
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier
        | Qt.KeyboardModifier.ShiftModifier)
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier
        | Qt.KeyboardModifier.ShiftModifier)
    assert window.segments() == edited_2

    # Drag across empty time (the pause after the second segment): a new "added" segment.
    third = detected[2]
    show(window, second.end_ms / 1000 - 0.3, third.start_ms / 1000 + 0.3)
    a = px(window, second.end_ms / 1000 + 0.1)
    b = px(window, third.start_ms / 1000 - 0.1)
    drag(window, a, b)
    lo, hi = snap_ms(time_at(window, a) * 1000), snap_ms(time_at(window, b) * 1000)
    added = Segment(lo, hi, origin="added")
    edited_3 = [*edited_2[:2], added, *edited_2[2:]]
    assert window.segments() == edited_3
    assert window.segment_table.selected_row() == 2

    # Split the first segment at the cursor (click, then K): two touching edited segments.
    show(window, first.start_ms / 1000 - 0.2, moved / 1000 + 0.2)
    mid_s = (first.start_ms + moved) / 2000
    QTest.mouseClick(window.waveform.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.NoModifier, px(window, mid_s))
    at = snap_ms(window.waveform.cursor_s() * 1000)
    key(window, Qt.Key.Key_K)
    split = [Segment(first.start_ms, at, origin="edited"), Segment(at, moved, origin="edited"),
             *edited_3[1:]]
    assert window.segments() == split
    # The two halves touch, and a boundary line is drawn between them (cursor moved away).
    window.waveform.set_cursor(first.start_ms / 1000 - 0.1)
    QTest.mouseMove(window.waveform.viewport(), QPoint(2, 2))
    window.waveform.refresh()
    image = window.waveform.grab().toImage()
    line_x = px(window, at / 1000).x()
    top = window.waveform.mapFromScene(
        window.waveform.wave_plot.getViewBox().sceneBoundingRect().topLeft()).y()
    column = [image.pixelColor(x, y) for x in range(line_x - 1, line_x + 2)
              for y in range(top + 2, top + 12)]  # above the waveform's peaks
    assert sum(abs(c.red() - BOUNDARY.red()) < 40 and abs(c.green() - BOUNDARY.green()) < 40
               and abs(c.blue() - BOUNDARY.blue()) < 40 for c in column) >= 8, column

    # M merges the selected (second half) with the next; Delete removes the selected.
    window.segment_table.select_row(0)
    window._on_row_selected(0)
    key(window, Qt.Key.Key_M)
    merged = [Segment(first.start_ms, moved, origin="edited"), *split[2:]]
    assert window.segments() == merged
    window.segment_table.select_row(2)
    window._on_row_selected(2)
    key(window, Qt.Key.Key_Delete)
    assert window.segments() == [*merged[:2], *merged[3:]]
    # ] and Shift+[ nudge the selected segment's start later and its end earlier by 10 ms.
    row = window.segment_table.selected_row()
    assert row is not None
    before = window.segments()[row]
    key(window, Qt.Key.Key_BracketRight)
    assert window.segments()[row].start_ms == before.start_ms + 10
    key(window, Qt.Key.Key_BraceLeft, Qt.KeyboardModifier.ShiftModifier)
    assert window.segments()[row] == Segment(before.start_ms + 10, before.end_ms - 10,
                                             origin="edited")

    # Undo everything: the detected segments exactly; redo everything: the last state.
    last = window.segments()
    while window.editor.undo_stack.canUndo():
        window.undo_action.trigger()
    assert window.segments() == detected
    while window.editor.undo_stack.canRedo():
        window.redo_action.trigger()
    assert window.segments() == last


def test_label_and_note_typed_in_the_table(qtbot, window: MainWindow, recording: Path) -> None:
    open_and_wait(qtbot, window, recording)
    detected = window.segments()
    window.segment_table.select_row(1)
    window._on_row_selected(1)
    key(window, Qt.Key.Key_F2)  # Edit label: opens the table's label cell
    editor = window.segment_table.viewport().findChild(QLineEdit)
    assert editor is not None and editor.isVisible()
    QTest.keyClicks(editor, "Alice  asks")
    QTest.keyClick(editor, Qt.Key.Key_Return)
    QTest.qWait(20)  # the delegate commits on Return through a queued call
    assert window.segments()[1] == Segment(detected[1].start_ms, detected[1].end_ms,
                                           label="Alice asks")
    assert window.segment_table.table_model.index(1, 4).data() == "Alice asks"
    window.segment_table.select_row(1)
    window._on_row_selected(1)
    key(window, Qt.Key.Key_F2, Qt.KeyboardModifier.ShiftModifier)  # Edit note
    editor = next(e for e in window.segment_table.viewport().findChildren(QLineEdit)
              if e.isVisible())
    QTest.keyClicks(editor, "budget question")
    QTest.keyClick(editor, Qt.Key.Key_Return)
    QTest.qWait(20)  # the delegate commits on Return through a queued call
    assert window.segments()[1].note == "budget question"
    window.undo_action.trigger()
    window.undo_action.trigger()
    assert window.segments() == detected


@pytest.mark.slow
def test_autosaved_edits_come_back_after_the_window_is_destroyed(
        qtbot, tmp_path: Path, edits_dir: Path, recording: Path) -> None:
    win = new_window(qtbot, tmp_path, track=False)
    open_and_wait(qtbot, win, recording)
    detected = win.segments()
    win.segment_table.select_row(0)
    win._on_row_selected(0)
    key(win, Qt.Key.Key_Delete)
    win.editor.set_label(0, "kept")
    edited = win.segments()
    assert edited == [Segment(detected[1].start_ms, detected[1].end_ms, label="kept"),
                      *detected[2:]]
    assert len(list(edits_dir.glob("*.json"))) == 1
    win.shutdown()
    win.deleteLater()  # destroyed without saving anything
    QTest.qWait(50)
    del win

    again = new_window(qtbot, tmp_path)
    open_and_wait(qtbot, again, recording)
    notifier = again.notifier
    assert isinstance(notifier, RecordingNotifier)
    assert notifier.messages[-1].title == "Your edits were kept"
    assert again.segments() == detected  # offered, not imposed
    notifier.actions["Restore my edits"]()
    assert again.segments() == edited
    again.undo_action.trigger()
    assert again.segments() == detected
    assert list(edits_dir.glob("*.json")) == []  # back to detection: nothing left to offer
    again.close()


def test_new_values_ask_before_replacing_edits(qtbot, window: MainWindow,
                                              recording: Path) -> None:
    open_and_wait(qtbot, window, recording)
    analysis = window.current_analysis()
    assert analysis is not None
    detected = window.segments()
    window.segment_table.select_row(0)
    window._on_row_selected(0)
    key(window, Qt.Key.Key_Delete)
    edited = window.segments()
    notifier = window.notifier
    assert isinstance(notifier, RecordingNotifier)

    window.param_panel.set_value("max_end_silence_ms", 3000)
    QTest.qWait(50)
    new_params = window.params()
    assert new_params.max_end_silence_ms == 3000
    assert window.segments() == edited  # not replaced behind the person's back
    assert notifier.messages[-1].title == "Keep your edits?"
    assert set(notifier.actions) == {"Keep my edits", "Detect again"}
    notifier.actions["Keep my edits"]()
    assert window.segments() == edited

    window.param_panel.set_value("max_end_silence_ms", 2500)
    QTest.qWait(50)
    notifier.actions["Detect again"]()
    assert window.segments() == resegment(analysis.track, window.params())
    window.undo_action.trigger()  # the edits come back
    assert window.segments() == edited
    assert detected != edited


def test_split_by_keyboard_alone(qtbot, window: MainWindow, recording: Path) -> None:
    """Select a segment (Down in the table), move the cursor into it (Ctrl+Right), split (K)."""
    open_and_wait(qtbot, window, recording)
    detected = window.segments()
    table = window.segment_table
    table.setFocus()
    QTest.keyClick(table, Qt.Key.Key_Down)
    row = table.selected_row()
    assert row is not None
    seg = detected[row]
    assert window.waveform.cursor_s() == seg.start_ms / 1000
    for _ in range(5):
        QTest.keyClick(table, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(table, Qt.Key.Key_K)
    at = seg.start_ms + 500
    assert window.segments() == [*detected[:row], Segment(seg.start_ms, at, origin="edited"),
                                 Segment(at, seg.end_ms, origin="edited"), *detected[row + 1:]]
    QTest.keyClick(table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.segments() == detected

