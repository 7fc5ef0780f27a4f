"""The Record panel recording both sides of a call, for docs/images/record-two-sided.png.

    xvfb-run -a -s "-screen 0 1280x800x24" env QT_QPA_PLATFORM=xcb \\
        .venv/bin/python bench/shot_record_sides.py docs/images/record-two-sided.png

The two sides are the tests' espeak-ng call (tests/support/two_voices.py) played through
SIMULATED streams at real time (no sound card here); the picture is taken 11.5 s in, while
recording, with both lanes, both meters, the Speaker column and the talk time showing.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import soundfile as sf
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.two_voices import make_two_sides  # noqa: E402
from vaddesk.audio.capture import ArrayInputStream, Capture  # noqa: E402
from vaddesk.gui.record_panel import RecordPanel  # noqa: E402
from vaddesk.gui.record_sides import SOURCE_BOTH  # noqa: E402
from vaddesk.gui.settings import Settings  # noqa: E402


def main(out: Path) -> int:
    app = QApplication(sys.argv[:1])
    work = Path(tempfile.mkdtemp(prefix="shot."))
    a_path, b_path, _ = make_two_sides(work / "call")
    a = sf.read(a_path, dtype="float32")[0]
    b = sf.read(b_path, dtype="float32")[0]
    settings = Settings(QSettings(str(work / "s.ini"), QSettings.Format.IniFormat))
    panel = RecordPanel(settings=settings, recordings_dir=work / "rec",
                        stream_factory=ArrayInputStream.factory(a, speed=1.0),
                        devices=lambda: [],
                        system_capture=lambda: Capture(
                            "MeetingOut", stream_factory=ArrayInputStream.factory(b)))
    panel.setWindowTitle("vaddesk — Record")
    panel.window_spin.setValue(15)
    panel.resize(1200, 640)
    panel.show()
    panel.select_source(SOURCE_BOTH)
    panel.start_recording()

    def shoot() -> None:
        panel.grab().save(str(out))
        panel.shutdown()
        app.quit()

    QTimer.singleShot(11_500, shoot)
    app.exec()
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1] if len(sys.argv) > 1 else
                               "docs/images/record-two-sided.png")))
