"""The Record panel recording both sides (offscreen Qt, real engines, SIMULATED streams: the
microphone and the computer audio are ArrayInputStream threads at 4x real time): the source
choice (remembered), two lanes in their colours, a meter per source, the Speaker column, the
talk time; and what the panel says when there is no computer audio to record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QSettings

from tests.support import audio_fixtures as af
from tests.support.two_voices import make_two_sides
from vaddesk.audio.capture import ArrayInputStream, Capture, CaptureUnavailable
from vaddesk.core.talk_stats import talk_stats
from vaddesk.gui.record_panel import RecordPanel
from vaddesk.gui.record_sides import (
    SOURCE_BOTH,
    SOURCE_MIC,
    SOURCE_SYSTEM,
    SPEAKER_COLOURS,
    stats_text,
)
from vaddesk.gui.segment_table import SPEAKER_COLUMN
from vaddesk.gui.settings import Key, Settings

pytestmark = pytest.mark.skipif(bool(af.tools_missing()),
                                reason=f"needs {', '.join(af.tools_missing())}")


@pytest.fixture(scope="module")
def sides(tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, np.ndarray]:
    a_path, b_path, _ = make_two_sides(tmp_path_factory.mktemp("sides"))
    return sf.read(a_path, dtype="float32")[0], sf.read(b_path, dtype="float32")[0]


@pytest.fixture
def make_panel(tmp_path: Path, qtbot: Any) -> Any:
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))

    def make(mic: np.ndarray, system: Any) -> RecordPanel:
        panel = RecordPanel(settings=settings, recordings_dir=tmp_path / "rec",
                            stream_factory=ArrayInputStream.factory(mic, speed=4.0),
                            devices=lambda: [], system_capture=system)
        qtbot.addWidget(panel)
        panel.resize(1100, 600)
        panel.show()
        return panel

    return make


def test_two_sides_in_the_panel(sides: tuple[np.ndarray, np.ndarray], make_panel: Any,
                                qtbot: Any) -> None:
    a, b = sides

    def system() -> Capture:
        return Capture("MeetingOut", stream_factory=ArrayInputStream.factory(b, speed=4.0))

    panel = make_panel(a, system)
    assert panel.selected_source() == SOURCE_MIC  # the default
    panel.select_source(SOURCE_BOTH)
    with qtbot.waitSignal(panel.recording_started, timeout=5000):
        panel.record_button.click()
    assert panel.others_plot.isVisible() and panel.system_meter.isVisible()
    assert not panel.source_combo.isEnabled()  # fixed while recording
    qtbot.waitUntil(lambda: panel.session.view.recorded_ms >= len(a) // 16 - 100,
                    timeout=20_000)
    qtbot.waitUntil(lambda: panel.system_meter.value() > -60, timeout=5000)
    with qtbot.waitSignal(panel.recording_finished, timeout=10_000):
        panel.record_button.click()
    summary = panel.last_summary
    model = panel.table.table_model
    speakers = [model.data(model.index(r, SPEAKER_COLUMN)) for r in range(model.rowCount())]
    assert speakers == [s.speaker for s in summary.segments]
    assert sorted(set(speakers)) == ["Others", "You"]
    assert not panel.table.isColumnHidden(SPEAKER_COLUMN)
    # The talk time is that of the recording's segments.
    assert panel.stats_label.isVisible()
    assert panel.stats_label.text() == stats_text(summary.segments, ["You", "Others"])
    stats = talk_stats(summary.segments, ["You", "Others"])
    assert stats.overlap_ms > 0 and all(s.turns == 2 for s in stats.speakers)
    # Each lane drew; the others' lane in its own colour.
    assert panel.live_plot.frames_drawn > 5 and panel.others_plot.frames_drawn > 5
    assert panel.others_plot.canvas._speech_fill != panel.live_plot.canvas._speech_fill
    assert SPEAKER_COLOURS["Others"].green() > SPEAKER_COLOURS["Others"].blue()
    recorded, _ = sf.read(summary.path, dtype="float32")
    assert recorded.ndim == 2 and recorded.shape[1] == 2
    # Remembered: a new panel on the same settings offers the same source.
    again = make_panel(a, system)
    assert again.selected_source() == SOURCE_BOTH
    assert panel._settings.get_str(Key.RECORD_SOURCE) == SOURCE_BOTH


def test_no_computer_audio_says_what_to_click(sides: tuple[np.ndarray, np.ndarray],
                                              make_panel: Any) -> None:
    a, _ = sides

    def system() -> Capture:
        raise CaptureUnavailable("no computer audio: cannot reach a sound server (x)")

    panel = make_panel(a, system)
    panel.select_source(SOURCE_SYSTEM)
    assert panel.start_recording() is None
    assert panel.status_label.isVisible()
    assert panel.status_label.text().endswith("Choose “Microphone” to record the "
                                              "microphone alone.")
    assert not panel.is_recording and panel.source_combo.isEnabled()
    assert not list(panel.recordings_dir.glob("*.wav"))  # no file was started
