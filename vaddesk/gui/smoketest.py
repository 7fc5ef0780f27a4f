"""A hidden smoke test of the desktop app, for CI and for measuring cold start.

With VADDESK_SMOKE_TEST=<timeout in seconds> in the environment, `vaddesk FILE` starts the
window as usual; this module watches it from the Qt event loop and prints to stdout:

    smoke: window painted at <unix time>            first paint of the main window
    smoke: file shown {json}                        the file's analysis and segments on screen
    smoke: closed                                   the window was closed, workers stopped

then closes the window the way a user would (closeEvent stops every worker thread) and the app
exits 0. With VADDESK_SMOKE_CRASH=1 as well, after the file is shown a worker thread raises an
unexpected exception; the error dialog the app opens for it is reported as

    smoke: error dialog {json}                      its title and text

before closing: the excepthook, the log and the dialog work in the frozen app. If nothing is on
screen within the timeout it prints `smoke: FAILED <why>` and exits 3. The wall-clock paint
time lets a caller measure the time from launch to a visible window.

Nothing happens without the variable: `arm_from_env` returns at once.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
import threading
import time
from typing import Any, Final

log = logging.getLogger(__name__)

ENV_VAR: Final = "VADDESK_SMOKE_TEST"
CRASH_ENV_VAR: Final = "VADDESK_SMOKE_CRASH"
CRASH_MESSAGE: Final = "deliberate smoke-test crash"
_DIALOG_POLL_MS: Final = 50
MAIN_WINDOW_NAME: Final = "vaddesk-main-window"
FAILED_EXIT_CODE: Final = 3
_DEFAULT_TIMEOUT_S: Final = 60.0

# Kept alive for the life of the app (Qt holds only C++ references to these Python objects).
_keep: list[Any] = []


def _say(text: str) -> None:
    print(f"smoke: {text}", flush=True)
    log.info("smoke test: %s", text)


def arm_from_env() -> None:
    """If VADDESK_SMOKE_TEST is set, create the QApplication and arm the watcher."""
    value = os.environ.get(ENV_VAR)
    if not value:
        return
    try:
        timeout_s = float(value)
    except ValueError:
        timeout_s = _DEFAULT_TIMEOUT_S

    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication, QMainWindow, QMessageBox, QWidget

    app = QApplication.instance() or QApplication(sys.argv[:1])
    state: dict[str, Any] = {"painted": False, "done": False, "window": None}

    class PaintWatcher(QObject):
        """Notes the first paint of the main window (it is on screen from then on)."""

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # Qt's name
            if (
                not state["painted"]
                and event.type() == QEvent.Type.Paint
                and isinstance(watched, QWidget)
                and watched.window().objectName() == MAIN_WINDOW_NAME
            ):
                state["painted"] = True
                _say(f"window painted at {time.time():.3f}")
                app.removeEventFilter(self)
            return False

    watcher = PaintWatcher()
    app.installEventFilter(watcher)

    def finish(code: int) -> None:
        state["done"] = True
        window = state["window"]
        if window is not None:
            window.close()  # closeEvent stops the worker threads, as when a user closes it
        _say("closed")
        app.exit(code)

    def on_file_shown(analysis: Any) -> None:
        if state["done"]:
            return
        window = state["window"]
        report = {
            "at_unix_s": round(time.time(), 3),
            "file": str(getattr(analysis, "path", "")),
            "duration_ms": int(getattr(analysis, "duration_ms", -1)),
            "params": dataclasses.asdict(window.params()),
            "segments_ms": [[s.start_ms, s.end_ms] for s in window.segments()],
            "title": window.windowTitle(),
            "visible": bool(window.isVisible()),
        }
        _say(f"file shown {json.dumps(report)}")
        if os.environ.get(CRASH_ENV_VAR):
            crash_in_a_thread()
            return
        # Let the views draw the result once before closing.
        QTimer.singleShot(100, lambda: finish(0))

    def crash_in_a_thread() -> None:
        def fail() -> None:
            raise RuntimeError(CRASH_MESSAGE)

        threading.Thread(target=fail, name="smoke-crash").start()
        # The dialog arrives through a queued signal; look for it on each timer tick (the
        # overall timeout still applies) rather than sleeping.
        poll = QTimer(app)
        poll.setInterval(_DIALOG_POLL_MS)

        def look() -> None:
            boxes = [w for w in QApplication.topLevelWidgets()
                     if isinstance(w, QMessageBox) and w.isVisible()]
            if not boxes:
                return
            poll.stop()
            box = boxes[0]
            _say(f"error dialog {json.dumps({'title': box.windowTitle(), 'text': box.text()})}")
            box.close()
            finish(0)

        poll.timeout.connect(look)
        poll.start()

    def attach() -> None:
        windows = [w for w in QApplication.topLevelWidgets()
                   if isinstance(w, QMainWindow) and w.objectName() == MAIN_WINDOW_NAME]
        if not windows:
            _say("FAILED the main window did not open")
            app.exit(FAILED_EXIT_CODE)
            return
        window: Any = windows[0]  # vaddesk.gui.main_window.MainWindow
        state["window"] = window
        window.file_shown.connect(on_file_shown)
        if window.current_analysis() is not None:
            on_file_shown(window.current_analysis())

    def on_timeout() -> None:
        if not state["done"]:
            _say(f"FAILED no file was shown within {timeout_s:g} s")
            finish(FAILED_EXIT_CODE)

    # Timers fire once run_app has shown the window and entered the event loop.
    QTimer.singleShot(0, attach)
    QTimer.singleShot(round(timeout_s * 1000), on_timeout)
    _keep.append(watcher)
