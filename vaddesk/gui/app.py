"""Start the desktop app: `run_app(files)` is what `vaddesk [FILE...]` calls."""

from __future__ import annotations

import gc
import logging
import sys

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from vaddesk import __version__

log = logging.getLogger(__name__)


class _CrashRelay(QObject):
    """Carries an unexpected error's message from any thread to a dialog in the GUI thread.

    applog's excepthook calls `show` in the thread that raised; emitting a signal is the one
    thread-safe way to reach the GUI thread (a queued connection).
    """

    crash_reported = Signal(str)

    def __init__(self, parent_window: QWidget | None = None) -> None:
        super().__init__()
        self.window = parent_window
        self.crash_reported.connect(self._show)

    def _show(self, text: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Critical, "vaddesk hit an unexpected error", text,
                          QMessageBox.StandardButton.Close, self.window)
        box.open()  # window-modal, never blocks the event loop


def _set_app_icon(app: QApplication) -> None:
    """Window/taskbar icon and the link to packaging/linux/vaddesk.desktop (Wayland app id)."""
    from PySide6.QtGui import QIcon

    from vaddesk.paths import resource

    app.setDesktopFileName("vaddesk")
    icon = QIcon()
    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        icon.addFile(str(resource("icons", f"vaddesk-{size}.png")))
    app.setWindowIcon(icon)


def freeze_startup_objects() -> None:
    """Move everything alive after start-up out of the garbage collector's way.

    A full collection scans every tracked object: with Qt, pyqtgraph and numpy loaded that took
    20-35 ms on the GUI thread, often right when a finished analysis arrived. Start-up objects
    live for the whole session, so they are frozen once (gc.freeze) and later full collections
    only look at what was allocated since.
    """
    gc.collect()
    gc.freeze()


def run_app(files: list[str]) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("vaddesk")
    app.setOrganizationName("vaddesk")
    app.setApplicationVersion(__version__)
    _set_app_icon(app)

    from vaddesk import applog
    from vaddesk.gui.main_window import MainWindow

    path = applog.setup_logging()
    relay = _CrashRelay()
    applog.install_excepthook(relay.crash_reported.emit)
    log.info("vaddesk %s desktop app starting; log file %s", __version__, path)

    window = MainWindow()
    relay.window = window
    window.show()
    freeze_startup_objects()
    if files:
        window.open_paths(files)
    code = app.exec()
    log.info("vaddesk desktop app exiting with %s", code)
    return int(code)
