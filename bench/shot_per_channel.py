"""The main window showing a 2-channel call with "Each channel as a speaker", for
docs/images/per-channel-lanes.png.

    xvfb-run -a -s "-screen 0 1400x900x24" env QT_QPA_PLATFORM=xcb \\
        .venv/bin/python bench/shot_per_channel.py docs/images/per-channel-lanes.png

The call is the tests' espeak-ng stereo file (tests/support/two_voices.py): one voice per
channel, talking over each other in the middle.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.two_voices import make_two_sides  # noqa: E402
from vaddesk.gui.main_window import MainWindow  # noqa: E402
from vaddesk.gui.notifier import RecordingNotifier  # noqa: E402
from vaddesk.gui.settings import Key, Settings  # noqa: E402


def main(out: Path) -> int:
    app = QApplication(sys.argv[:1])
    work = Path(tempfile.mkdtemp(prefix="shot."))
    _, _, call = make_two_sides(work / "call")
    settings = Settings(QSettings(str(work / "s.ini"), QSettings.Format.IniFormat))
    settings.set(Key.ANALYSE_PER_CHANNEL, True)
    win = MainWindow(settings, RecordingNotifier(), record_panel=False)
    win.resize(1300, 760)
    win.show()

    def shoot(_analysis: object) -> None:
        def grab() -> None:
            win.grab().save(str(out))
            win.close()
            app.quit()
        QTimer.singleShot(800, grab)  # let the frame timer draw the lanes

    win.file_shown.connect(shoot)
    win.open_paths([str(call)])
    app.exec()
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1] if len(sys.argv) > 1 else
                               "docs/images/per-channel-lanes.png")))
