"""A damaged recording in the real main window, offscreen: it opens and is analysed, a banner
says what was wrong, the queue row says "done, with a warning", and "Save a repaired copy…"
writes the fixed file without touching the original."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QSettings

from tests.support import audio_fixtures as af
from tests.support import damaged_fixtures as dmg
from tests.support.gui_fixtures import engine_segments
from vaddesk.gui.damage_banner import SAVE_TEXT
from vaddesk.gui.main_window import MainWindow
from vaddesk.gui.notifier import RecordingNotifier
from vaddesk.gui.settings import Settings

pytestmark = pytest.mark.skipif(bool(af.tools_missing()),
                                reason=f"needs {', '.join(af.tools_missing())}")

ANALYSIS_TIMEOUT_MS = 90_000


@pytest.fixture
def window(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("VADDESK_CONFIG_DIR", str(tmp_path / "config"))
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    win = MainWindow(settings, RecordingNotifier(), record_panel=False)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()


def test_truncated_wav_opens_with_a_banner_and_saves_a_repaired_copy(
        qtbot, window: MainWindow, tmp_path: Path) -> None:
    case = dmg.make_damaged_pcm(tmp_path / "rec", "WAV", 0.55, 3)
    original = case.path.read_bytes()
    with qtbot.waitSignal(window.file_shown, timeout=ANALYSIS_TIMEOUT_MS):
        window.open_paths([str(case.path)])
    analysis = window.current_analysis()
    assert analysis is not None
    # the audio present, analysed: the segments of the clean cut, exactly
    assert window.segments() == engine_segments(case.clean, window.params())
    assert analysis.info.num_frames == case.frames_present
    banner = window.damage_banner
    assert banner.isVisible()
    seconds = f"{case.frames_present / dmg.PCM_RATE:.2f}"  # what the warning says is there
    warning = analysis.info.warnings[0]
    assert re.fullmatch(case.warning, warning), warning
    assert banner.label.text() == f"⚠ This file is damaged — {warning}."
    assert banner.save_button.isVisible() and banner.save_button.text() == SAVE_TEXT
    n = len(window.segments())
    assert window.queue_panel.row_texts() == {1: f"done, with a warning: {n} segments"}

    target = tmp_path / "saved" / "fixed.wav"
    target.parent.mkdir()
    banner.choose_target = lambda suggested: (
        target if suggested == case.path.with_name(f"{case.path.stem}.repaired.wav") else None)
    with qtbot.waitSignal(banner.repaired, timeout=10_000):
        banner.save_button.click()
    np.testing.assert_array_equal(sf.read(target, dtype="int16")[0],
                                  sf.read(case.clean, dtype="int16")[0])
    assert case.path.read_bytes() == original  # the original is never changed
    notifier = window.notifier
    assert isinstance(notifier, RecordingNotifier)
    assert notifier.messages[-1].title == "Repaired copy saved"
    assert notifier.messages[-1].text == f"Saved fixed.wav ({seconds} s) in {target.parent}."
    # Saving over the damaged file itself is refused, in the app's words.
    banner.choose_target = lambda suggested: case.path
    banner.save_button.click()
    assert notifier.messages[-1].title == "Choose another name"
    assert case.path.read_bytes() == original


def test_intact_file_shows_no_banner(qtbot, window: MainWindow, tmp_path: Path) -> None:
    case = dmg.make_damaged_pcm(tmp_path / "rec", "WAV", 0.3, 0)
    with qtbot.waitSignal(window.file_shown, timeout=ANALYSIS_TIMEOUT_MS):
        window.open_paths([str(case.clean)])
    assert not window.damage_banner.isVisible()
    n = len(window.segments())
    assert window.queue_panel.row_texts() == {1: f"done: {n} segment{'s' if n != 1 else ''}"}


def test_decoder_chatter_goes_to_the_app_log(qtbot, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A cut MP3 analysed by the app's worker process: libmpg123's stderr line is in the log
    file (the worker logs there, not to a terminal), the warning on the result."""
    monkeypatch.setenv("VADDESK_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("VADDESK_LOG_DIR", str(tmp_path / "logs"))  # the worker inherits it
    case = dmg.make_damaged_stream(tmp_path / "rec", "mp3")
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    win = MainWindow(settings, RecordingNotifier(), record_panel=False)
    qtbot.addWidget(win)
    win.show()
    try:
        with qtbot.waitSignal(win.file_shown, timeout=ANALYSIS_TIMEOUT_MS):
            win.open_paths([str(case.path)])
        analysis = win.current_analysis()
        assert analysis is not None and len(analysis.info.warnings) == 1
        assert re.fullmatch(case.warning + ".*", analysis.info.warnings[0])
        assert win.damage_banner.isVisible()
        assert not win.damage_banner.save_button.isVisible()  # an MP3 has no header to fix
    finally:
        win.close()
    log_text = (tmp_path / "logs" / "vaddesk.log").read_text("utf-8")
    assert re.search(r"vaddesk\.audio\.c_stderr: decoder output \(libsndfile \w+ "
                     rf"{re.escape(str(case.path))}\): Warning: Xing stream size off by more "
                     r"than 1%", log_text), log_text
