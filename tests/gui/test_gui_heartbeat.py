"""The window stays responsive while a 60-minute file is analysed.

A 10 ms heartbeat timer in the GUI thread records the largest gap between its ticks from the
moment the file is opened until its segments are on screen (the analysis runs in the GUI's
worker process). The figures are printed (run with `-s`) and saved as heartbeat.json in the
test's tmp_path.

What is asserted: 99 % of the gaps are under 50 ms and no gap reaches 250 ms (a freeze). The
single largest gap is recorded, not asserted (speed is measured, not asserted, here): on the
shared 2-core machine it is set by the scheduler as much as by the app (33-38 ms at a load
average below 2, more when other processes hold both cores); see docs/app.md.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt, QTimer

from tests.support.gui_fixtures import make_long_recording, make_recording, tools_missing
from vaddesk.gui.app import freeze_startup_objects
from vaddesk.gui.main_window import MainWindow
from vaddesk.gui.notifier import RecordingNotifier
from vaddesk.gui.settings import Settings

pytestmark = pytest.mark.skipif(bool(tools_missing()), reason=f"needs {tools_missing()}")

P99_GAP_MS = 50.0
FREEZE_MS = 250.0


@pytest.mark.slow
def test_event_loop_answers_within_50_ms_while_60_minutes_are_analysed(
        qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VADDESK_CONFIG_DIR", str(tmp_path / "config"))
    source = make_recording(tmp_path / "src")
    long_file = make_long_recording(source, tmp_path / "sixty.wav", 3600)
    settings = Settings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings, RecordingNotifier(), record_panel=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    freeze_startup_objects()  # as run_app does once the window is up
    try:
        gaps: list[float] = []
        last = [time.perf_counter()]

        def beat() -> None:
            now = time.perf_counter()
            gaps.append((now - last[0]) * 1000)
            last[0] = now

        heartbeat = QTimer()
        heartbeat.setTimerType(Qt.TimerType.PreciseTimer)
        heartbeat.setInterval(10)
        heartbeat.timeout.connect(beat)
        heartbeat.start()
        started = time.perf_counter()
        last[0] = started
        with qtbot.waitSignal(window.file_shown, timeout=300_000):
            window.open_paths([str(long_file)])
        shown_s = time.perf_counter() - started
        heartbeat.stop()
        analysis = window.current_analysis()
        assert analysis is not None and analysis.duration_ms == 3_600_000
        assert len(window.segments()) > 100
        ordered = sorted(gaps)
        figures = {
            "file_minutes": 60,
            "open_to_shown_s": round(shown_s, 2),
            "heartbeats": len(gaps),
            "max_gap_ms": round(ordered[-1], 1),
            "p99_gap_ms": round(ordered[int(len(ordered) * 0.99)], 1),
            "median_gap_ms": round(ordered[len(ordered) // 2], 1),
        }
        print("\nGUI heartbeat while analysing 60 min:", json.dumps(figures))
        (tmp_path / "heartbeat.json").write_text(json.dumps(figures, indent=2) + "\n", "utf-8")
        assert figures["p99_gap_ms"] < P99_GAP_MS, figures
        assert ordered[-1] < FREEZE_MS, figures
    finally:
        window.close()
