"""How the app tells a person something or asks them: one injectable object.

The app never calls QMessageBox.exec() directly: production shows window-modal boxes with
open() (non-blocking), tests inject a RecordingNotifier that stores the messages and answers
questions from a script, so no test can hang on a dialog.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtWidgets import QInputDialog, QMessageBox, QWidget

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Message:
    kind: str  # "error" | "info"
    title: str
    text: str


class Notifier:
    """Shows messages as window-modal boxes that do not block the event loop."""

    def __init__(self, parent: QWidget | None = None) -> None:
        self._parent = parent
        self._open: list[QMessageBox] = []

    def set_parent(self, parent: QWidget) -> None:
        self._parent = parent

    def error(self, title: str, text: str, details: str = "") -> None:
        log.warning("%s: %s", title, text)
        self._show(QMessageBox.Icon.Warning, title, text, details)

    def info(self, title: str, text: str, actions: dict[str, Callable[[], None]] | None = None
             ) -> None:
        self._show(QMessageBox.Icon.Information, title, text, "", actions)

    def _show(self, icon: QMessageBox.Icon, title: str, text: str, details: str,
              actions: dict[str, Callable[[], None]] | None = None) -> None:
        box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Close, self._parent)
        if details:
            box.setDetailedText(details)
        for label, callback in (actions or {}).items():
            button = box.addButton(label, QMessageBox.ButtonRole.ActionRole)
            button.clicked.connect(callback)
        box.finished.connect(lambda _code, b=box: self._open.remove(b) if b in self._open
                             else None)
        self._open.append(box)
        box.open()

    def ask_text(self, title: str, label: str, text: str = "") -> str | None:
        """A short text from the user (a preset name); None when cancelled."""
        value, ok = QInputDialog.getText(self._parent, title, label, text=text)
        return value.strip() if ok and value.strip() else None

    def confirm(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(self._parent, title, text)
        return answer == QMessageBox.StandardButton.Yes


class RecordingNotifier(Notifier):
    """For tests: remembers every message, answers questions from queued replies."""

    def __init__(self) -> None:
        super().__init__(None)
        self.messages: list[Message] = []
        self.text_replies: list[str | None] = []
        self.confirm_replies: list[bool] = []
        self.actions: dict[str, Callable[[], None]] = {}

    def error(self, title: str, text: str, details: str = "") -> None:
        self.messages.append(Message("error", title, text))

    def info(self, title: str, text: str, actions: dict[str, Callable[[], None]] | None = None
             ) -> None:
        self.messages.append(Message("info", title, text))
        self.actions = dict(actions or {})

    def ask_text(self, title: str, label: str, text: str = "") -> str | None:
        return self.text_replies.pop(0) if self.text_replies else None

    def confirm(self, title: str, text: str) -> bool:
        return self.confirm_replies.pop(0) if self.confirm_replies else False
