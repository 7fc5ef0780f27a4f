"""Retake the README's screenshot and the editing screenshot of docs/app.md from the real app.

    xvfb-run -n 171 -s "-screen 0 1280x800x24 -nolisten tcp" env QT_QPA_PLATFORM=xcb \\
        .venv/bin/python packaging/make_screenshots.py [--out-dir .]

writes resources/screenshots/main-window.png and docs/images/editing.png (1280x800: the whole
X screen, so an open menu is in the picture; no window manager, so no title bar). Any free
display number does; the app gets a settings file, config, edits and log folders of its own
under a temporary folder, so nothing of the user's is read or changed.

The recording is made here: a 71 s team meeting of three espeak-ng voices taking turns with
pauses, a short "mm-hm", a cough-like noise burst and a faint far-away voice, two microphones
(each voice louder on its side, with bleed into the other), a quiet hum and hiss, 48 kHz,
2 channels, 16-bit. It opens with the default preset; the main shot highlights the segments
with a mean score under 0.85 and selects one, the editing shot zooms in on the first 16 s,
splits a segment, labels and annotates three, moves an end, adds a segment, and opens the Edit
menu.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Final

import numpy as np
import soundfile as sf
import soxr

REPO: Final = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
RATE: Final = 48_000

# (speaker, text, pause after in s). Three people; pauses between turns of 0.4-2.5 s.
VOICES: Final = {"Ana": ("en-us+f3", 160, (0.9, 0.35)), "Ben": ("en-gb", 170, (0.3, 0.9)),
                 "Chloe": ("en-us+f4", 150, (0.6, 0.6))}
SCRIPT: Final = (
    ("Ana", "Good morning everyone, thanks for joining. Let's start with the release plan.", 1.2),
    ("Ben", "Morning. The build is green since yesterday evening.", 0.8),
    ("Ana", "Great. Chloe, how is the testing going?", 1.6),
    ("Chloe", "We finished the regression suite. Two small bugs are left, both in the export "
              "dialog.", 0.7),
    ("Ben", "mm-hm", 1.4),
    ("Chloe", "I expect fixes by Wednesday.", 2.5),
    ("Ana", "Okay. Then we keep Friday as the release date.", 0.9),
    ("Ben", "One question about the budget for the new test machines.", 0.6),
    ("Ana", "Let's take that offline, I will send a note after the meeting.", 2.0),
    ("Chloe", "Sounds good. Should we also update the user guide?", 1.1),
    ("Ben", "Yes, I can write the section on presets this week.", 1.8),
    ("Chloe", "And the screenshots in the readme are out of date, I can retake them.", 1.3),
    ("Ana", "Please do. Ben, can you review the new presets before Thursday?", 0.7),
    ("Ben", "Sure, I will look at them tomorrow morning.", 1.5),
    ("Ana", "Perfect. Anything else? No? Then thanks everyone, see you on Thursday.", 1.0),
)


def _speak(text: str, voice: str, speed: int, folder: Path, index: int) -> np.ndarray:
    path = folder / f"_line{index}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), text],
                   check=True, capture_output=True)
    data, rate = sf.read(path, dtype="float32")
    loud = np.flatnonzero(np.abs(data) > 10 ** (-50 / 20))  # espeak-ng pads with silence
    data = data[loud[0]: loud[-1] + 1]
    speech = np.asarray(soxr.resample(data, rate, RATE, quality="HQ"), np.float32)
    return 0.5 * speech / max(1e-9, float(np.abs(speech).max()))


def make_meeting(folder: Path) -> Path:
    """team-meeting.wav in folder: 48 kHz, 2 channels, 16-bit PCM, about 66 s."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(2026)
    pieces: list[tuple[int, np.ndarray, tuple[float, float]]] = []
    at = int(0.6 * RATE)
    for i, (who, text, pause_s) in enumerate(SCRIPT):
        voice, speed, gains = VOICES[who]
        speech = _speak(text, voice, speed, folder, i)
        pieces.append((at, speech, gains))
        at += speech.size + int(pause_s * RATE)
    # A cough-like burst of noise in the long pause after "I expect fixes by Wednesday."
    cough_at = pieces[5][0] + pieces[5][1].size + int(1.0 * RATE)
    burst = rng.normal(0, 1, int(0.25 * RATE)).astype(np.float32)
    burst *= np.hanning(burst.size).astype(np.float32) * 0.15
    pieces.append((cough_at, burst, (0.5, 0.5)))
    # Someone far from both microphones in the pause after "...after the meeting.": faint.
    far = _speak("Is this room free at ten?", "en-gb-scotland", 175, folder, len(SCRIPT))
    far_at = pieces[8][0] + pieces[8][1].size + int(0.5 * RATE)
    pieces.append((far_at, far[: int(1.3 * RATE)], (0.05, 0.04)))
    total = at
    out = np.zeros((total, 2), np.float32)
    for start, sound, (left, right) in pieces:
        out[start:start + sound.size, 0] += left * sound[: total - start]
        out[start:start + sound.size, 1] += right * sound[: total - start]
    t = np.arange(total) / RATE
    hum = 10 ** (-48 / 20) * np.sin(2 * np.pi * 50 * t)  # mains hum
    for ch in range(2):
        hiss = rng.normal(0, 10 ** (-52 / 20), total)
        out[:, ch] += (hum + hiss).astype(np.float32)
    path = folder / "team-meeting.wav"
    sf.write(path, np.clip(out, -1, 1), RATE, subtype="PCM_16")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", type=Path, default=REPO,
                        help="the repository root to write the two PNGs under")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="vaddesk-shots."))
    for name in ("CONFIG", "EDITS", "RECORDINGS", "CACHE", "LOG"):
        os.environ[f"VADDESK_{name}_DIR"] = str(work / name.lower())
    meeting = make_meeting(work / "audio")
    return _shoot(meeting, work, args.out_dir)


def _shoot(meeting: Path, work: Path, out_dir: Path) -> int:
    # Qt is imported only here, once the environment (folders above, DISPLAY) is set.
    from PySide6.QtCore import QSettings, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from vaddesk.gui.main_window import MainWindow
    from vaddesk.gui.notifier import RecordingNotifier
    from vaddesk.gui.settings import Settings

    app = QApplication(sys.argv[:1])
    app.setApplicationName("vaddesk")
    settings = Settings(QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat))
    win = MainWindow(settings, RecordingNotifier(), record_panel=False)
    win.move(0, 0)
    win.resize(1280, 800)
    win.show()

    def arrange_docks() -> None:
        # Wider right-hand docks so the segment table's label, note and confidence columns
        # read, a shorter Files queue (one file) for a taller waveform: a layout a user gets by
        # dragging the dock edges.
        horizontal, vertical = Qt.Orientation.Horizontal, Qt.Orientation.Vertical
        win.resizeDocks([win.params_dock], [470], horizontal)
        win.resizeDocks([win.queue_dock], [120], vertical)
        win.resizeDocks([win.params_dock, win.segments_dock], [1, 800], vertical)
    main_png = out_dir / "resources" / "screenshots" / "main-window.png"
    edit_png = out_dir / "docs" / "images" / "editing.png"

    def grab_screen(path: Path) -> None:
        screen = app.primaryScreen()
        screen.grabWindow(0).save(str(path))  # the root window: popups included
        print(f"wrote {path}")

    def main_shot() -> None:
        arrange_docks()
        # The review highlight at 0.85 marks the second segment (mean score 0.83) in amber.
        win.segments_panel.threshold.setValue(0.85)
        win.segments_panel.highlight.setChecked(True)
        print(f"rows under 0.85: {win.segment_table.table_model.flagged_rows()}")
        win.segment_table.select_row(2)
        win.segment_table.segment_selected.emit(2)
        win.waveform.show_all()
        QTimer.singleShot(900, lambda: (grab_screen(main_png), edit_steps()))

    def edit_steps() -> None:
        win.segments_panel.highlight.setChecked(False)
        win.segments_panel.threshold.setValue(0.80)  # back to the app's default
        segs = win.editor.segments()
        win.waveform.set_visible_range(0.0, 16.0)
        first = segs[0]
        # Split the opening turn where Ana moves from the greeting to the agenda.
        win.editor.split((first.start_ms + first.end_ms) / 2 + 700)
        win.editor.set_label(0, "Ana: hello")
        win.editor.set_label(1, "Ana: plan")
        win.editor.set_note(1, "release date?")
        win.editor.set_label(2, "Ben: build")
        third = win.editor.segments()[2]
        win.editor.move_edge(2, "end", third.end_ms + 150)
        fourth = win.editor.segments()[3]
        win.editor.add(fourth.end_ms + 300, fourth.end_ms + 900)
        win.segment_table.select_row(1)
        win.segment_table.segment_selected.emit(1)
        win.segment_table.scrollToTop()
        win.waveform.set_visible_range(0.0, 16.0)
        QTimer.singleShot(700, open_menu)

    def open_menu() -> None:
        edit_menu = next(a.menu() for a in win.menuBar().actions()
                         if a.text() == "&Edit")
        geometry = win.menuBar().actionGeometry(win.menuBar().actions()[-1])
        edit_menu.popup(win.menuBar().mapToGlobal(geometry.bottomLeft()))
        QTimer.singleShot(700, lambda: (grab_screen(edit_png), finish()))

    def finish() -> None:
        win.close()
        app.quit()

    started: list[bool] = []

    def on_shown(_analysis: object) -> None:
        if not started:  # once: the edits below show the file again
            started.append(True)
            QTimer.singleShot(1200, main_shot)

    win.file_shown.connect(on_shown)
    win.open_paths([str(meeting)])
    QTimer.singleShot(120_000, app.quit)  # never hang a shell
    app.exec()
    return 0 if main_png.exists() and edit_png.exists() else 1


if __name__ == "__main__":
    raise SystemExit(main())
