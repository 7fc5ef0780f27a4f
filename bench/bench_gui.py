"""Desktop app figures: open-and-show a 60-minute file, re-segment after a slider change on
60 minutes, frame time while zooming and panning a 3-hour file.

    python bench/bench_gui.py [--runs 3] [--workdir DIR] [--json bench/out/gui.json]
        (runs offscreen by itself)

Drives the real MainWindow (offscreen raster painting, the same code path as on screen) on
recordings generated with espeak-ng + sox. The engine runs in the GUI's analysis worker process
with one onnxruntime thread. Prints a table of medians (and p95 for frames).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of open-and-show (median)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/vaddesk-bench-gui"))
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    from bench.provenance import run_provenance

    run = run_provenance(sys.argv)

    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from tests.support.gui_fixtures import make_long_recording, make_recording
    from vaddesk.core.engine import resegment
    from vaddesk.gui.main_window import MainWindow
    from vaddesk.gui.notifier import RecordingNotifier
    from vaddesk.gui.settings import Settings

    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("VADDESK_CONFIG_DIR", str(work / "config"))
    source = make_recording(work / "src")
    sixty = work / "sixty.wav"
    three_h = work / "three-hours.wav"
    if not sixty.exists():
        make_long_recording(source, sixty, 3600)
    if not three_h.exists():
        make_long_recording(source, three_h, 3 * 3600)

    app = QApplication.instance() or QApplication(sys.argv[:1])
    settings = Settings(QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat))

    def new_window() -> MainWindow:
        window = MainWindow(settings, RecordingNotifier(), record_panel=False)
        window.resize(1280, 800)
        window.show()
        app.processEvents()
        return window

    def open_and_wait(window: MainWindow, path: Path, timeout_s: float = 900) -> float:
        loop = QEventLoop()
        window.file_shown.connect(loop.quit)
        QTimer.singleShot(int(timeout_s * 1000), loop.quit)
        start = time.perf_counter()
        window.open_paths([str(path)])
        loop.exec()
        window.file_shown.disconnect(loop.quit)
        window.repaint()  # the result drawn once
        return time.perf_counter() - start

    rows: list[tuple[str, str]] = []

    # 1. Open and show 60 minutes: from open_paths() to the segments drawn (decode, model,
    #    envelope in the worker process; transfer; views). The worker process is warm (started
    #    with the window), as it is once the app has been open for a second.
    opens = []
    window = new_window()
    time.sleep(2.0)  # let the worker process finish importing, as an idle app would
    for _ in range(args.runs):
        opens.append(open_and_wait(window, sixty))
        window.queue.remove_finished()
    runs = ", ".join(f"{t:.2f}" for t in opens)
    rows.append((f"open + show 60 min (s, median of {args.runs})",
                 f"{statistics.median(opens):.2f}  (runs: {runs})"))

    # 2. Re-segment after a slider change on 60 minutes: slider value -> segments on screen
    #    (engine.resegment on the cached frame scores + table, plot and overview updated).
    analysis = window.current_analysis()
    assert analysis is not None
    slider = window.param_panel.row("max_end_silence_ms").slider
    changes, pure = [], []
    for i, value_ms in enumerate([600, 900, 1300, 1700, 2100, 800, 1500, 500, 1100, 1900]):
        start = time.perf_counter()
        slider.setValue(value_ms // 10)
        app.processEvents()  # the coalesced re-segmentation runs on the next loop pass
        window.waveform.refresh()
        window.repaint()
        changes.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        resegment(analysis.track, window.params())
        pure.append((time.perf_counter() - start) * 1000)
        del i
    rows.append(("slider change -> segments drawn, 60 min (ms, median)",
                 f"{statistics.median(changes):.1f}  (max {max(changes):.1f})"))
    rows.append(("  of which engine.resegment() alone (ms, median)",
                 f"{statistics.median(pure):.1f}"))
    window.close()

    # 3. Frame time on a 3-hour file: each zoom or pan step re-slices the envelope and repaints
    #    the waveform, score lane and overview synchronously; 120 steps.
    window = new_window()
    time.sleep(2.0)
    open_3h = open_and_wait(window, three_h)
    rows.append(("open + show 3 h (s, one run)", f"{open_3h:.2f}"))
    analysis = window.current_analysis()
    assert analysis is not None and analysis.duration_ms >= 3 * 3_600_000 - 10
    view = window.waveform
    frames = []
    steps = ([("zoom", 1.6)] * 20 + [("pan", 0.25)] * 20 + [("zoom", 1 / 1.6)] * 10
             + [("pan", -0.4)] * 20 + [("zoom", 1.6)] * 25 + [("pan", 0.5)] * 15
             + [("zoom", 1 / 1.6)] * 10)
    for kind, amount in steps:
        start = time.perf_counter()
        if kind == "zoom":
            view.zoom(amount)
        else:
            view.pan(amount)
        view.refresh()
        view.viewport().repaint()
        window.overview.viewport().repaint()
        frames.append((time.perf_counter() - start) * 1000)
    rows.append(("zoom/pan frame, 3 h file (ms, median / p95 / max)",
                 f"{statistics.median(frames):.1f} / {_p95(frames):.1f} / {max(frames):.1f}"))
    env = analysis.envelope
    rows.append(("peak envelope of 3 h in memory (MB)", f"{env.nbytes / 1e6:.1f}"))
    window.close()

    width = max(len(r[0]) for r in rows)
    print(f"\nvaddesk GUI bench ({os.cpu_count()} cores, offscreen raster)")
    for name, value in rows:
        print(f"  {name.ljust(width)}  {value}")
    if args.json:
        run["load_average_end"] = list(os.getloadavg())
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"run": run, "runs": args.runs,
                                         "rows": [list(r) for r in rows]}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
