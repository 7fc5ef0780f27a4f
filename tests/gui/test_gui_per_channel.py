"""The main window's "Each channel as a speaker" (offscreen, the real worker process and
engine): a 2-channel call shows exactly `vaddesk segment --per-channel`'s segments, one lane
per speaker in the waveform, the Speaker column and the talk time; the choice is remembered
and switching it analyses the file on screen again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from tests.support import audio_fixtures as af
from tests.support.two_voices import make_two_sides
from vaddesk.cli import main
from vaddesk.core.engine import resegment
from vaddesk.export import segments_from_json
from vaddesk.gui.main_window import MainWindow
from vaddesk.gui.notifier import RecordingNotifier
from vaddesk.gui.record_sides import stats_text
from vaddesk.gui.segment_table import SPEAKER_COLUMN
from vaddesk.gui.settings import Key, Settings

pytestmark = pytest.mark.skipif(bool(af.tools_missing()),
                                reason=f"needs {', '.join(af.tools_missing())}")

TIMEOUT_MS = 90_000


@pytest.fixture(scope="module")
def call(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_two_sides(tmp_path_factory.mktemp("call"))[2]


def _window(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MainWindow:
    monkeypatch.setenv("VADDESK_CONFIG_DIR", str(tmp_path / "config"))
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    win = MainWindow(settings, RecordingNotifier(), record_panel=False)
    qtbot.addWidget(win)
    win.show()
    return win


def test_each_channel_as_a_speaker(qtbot, call: Path, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["segment", str(call), "--per-channel", "--json-out",
                 str(tmp_path / "cli.json")]) == 0
    cli = segments_from_json(json.loads((tmp_path / "cli.json").read_text()))
    win = _window(qtbot, tmp_path, monkeypatch)
    try:
        assert not win.per_channel_action.isChecked()  # off by default
        win.per_channel_action.setChecked(True)
        with qtbot.waitSignal(win.file_shown, timeout=TIMEOUT_MS):
            win.open_paths([str(call)])
        assert win.segments() == cli  # the CLI's segments, speakers and all
        assert {s.speaker for s in cli} == {"Channel 1", "Channel 2"}
        table = win.segment_table
        assert not table.isColumnHidden(SPEAKER_COLUMN)
        model = table.table_model
        assert [model.data(model.index(r, SPEAKER_COLUMN)) for r in range(len(cli))] == \
            [s.speaker for s in cli]
        assert win.waveform.regions.lane_count == 2
        # Each channel's waveform in its own lane: channel 1 above the middle, 2 below.
        view = win.waveform
        view._dirty = True
        view.refresh()
        top = view.wave_curve.getData()[1]
        bottom = view._lane_curves[0].getData()[1]
        assert top.size and bottom.size
        assert top.min() >= -1e-6 and bottom.max() <= 1e-6
        ticks = view.wave_plot.getAxis("left")._tickLevels[0]
        assert [name for _, name in ticks] == ["Channel 1", "Channel 2"]
        assert [label.textItem.toPlainText() for label in view._lane_labels] == \
            ["Channel 1", "Channel 2"]
        assert win.talk_label.text() == stats_text(cli, ["Channel 1", "Channel 2"])
        # Off again: the file is analysed again as one mixed voice.
        with qtbot.waitSignal(win.file_shown, timeout=TIMEOUT_MS):
            win.per_channel_action.setChecked(False)
        assert all(s.speaker is None for s in win.segments())
        assert table.isColumnHidden(SPEAKER_COLUMN)
        assert win.waveform.regions.lane_count == 1
        assert win.waveform._lane_curves == [] and win.waveform._lane_labels == []
        assert win.talk_label.text() == ""
        assert win.settings.get_bool(Key.ANALYSE_PER_CHANNEL, True) is False
    finally:
        win.close()


def test_the_choice_is_remembered(qtbot, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    first = _window(qtbot, tmp_path, monkeypatch)
    first.per_channel_action.setChecked(True)
    first.close()
    second = _window(qtbot, tmp_path, monkeypatch)
    try:
        assert second.per_channel_action.isChecked() and second.queue.per_channel
    finally:
        second.close()


def test_queue_rows_count_every_channel(qtbot, call: Path, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """After a value changes, a queued per-channel file's row counts the segments of all
    its channels (what Export all writes), not those of its first channel's track."""
    other = tmp_path / "other_call.wav"
    other.write_bytes(call.read_bytes())
    win = _window(qtbot, tmp_path, monkeypatch)
    try:
        win.per_channel_action.setChecked(True)
        with qtbot.waitSignal(win.file_shown, timeout=TIMEOUT_MS):
            win.open_paths([str(call), str(other)])
        qtbot.waitUntil(lambda: not win.queue.is_busy(), timeout=TIMEOUT_MS)
        win.param_panel.set_value("max_end_silence_ms", 3000)
        qtbot.waitUntil(lambda: win.params().max_end_silence_ms == 3000)
        qtbot.wait(50)
        shown = win.current_analysis()
        queued = [i for i in win.queue.done_items()
                  if i.analysis is not None and i.analysis is not shown]
        assert len(queued) == 1
        analysis = queued[0].analysis
        assert analysis is not None and len(analysis.channel_tracks) == 2
        every = analysis.resegment(win.params())
        assert len(every) > len(resegment(analysis.track, win.params()))  # both speakers
        assert win.queue_panel.row_texts()[queued[0].item_id] == f"done: {len(every)} segments"
    finally:
        win.close()
