"""The banner above the waveform of a damaged file: what was wrong, what was analysed, and
for a cut WAV/AIFF a button that saves a repaired copy (the original is never changed)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from vaddesk.audio import header_repair
from vaddesk.gui.notifier import Notifier
from vaddesk.pipeline.analysis import FileAnalysis

log = logging.getLogger(__name__)

SAVE_TEXT = "Save a repaired copy…"


def repaired_copy_name(path: Path) -> Path:
    """Where the save dialog starts: `meeting.wav` -> `meeting.repaired.wav` beside it."""
    return path.with_name(f"{path.stem}.repaired{path.suffix}")


def _ask_target(parent: QWidget, suggested: Path) -> Path | None:
    chosen, _ = QFileDialog.getSaveFileName(parent, "Save a repaired copy", str(suggested),
                                            f"Audio (*{suggested.suffix});;All files (*)")
    return Path(chosen) if chosen else None


class DamageBanner(QFrame):
    """Hidden for intact files; `show_for(analysis)` shows the file's warnings."""

    repaired = Signal(object)  # Path of the repaired copy written

    def __init__(self, notifier: Notifier, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._notifier = notifier
        self._path: Path | None = None
        # Tests answer the save dialog through this (a native dialog cannot be driven).
        self.choose_target: Callable[[Path], Path | None] = lambda p: _ask_target(self, p)
        self.setObjectName("damage-banner")
        self.setStyleSheet("#damage-banner { background: #fff4ce; border: 1px solid #e0b000;"
                           " border-radius: 3px; } QLabel { color: #5a4300; }")
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.save_button = QPushButton(SAVE_TEXT)
        self.save_button.setToolTip("Write a copy of this file with its header fixed, which "
                                    "any program opens; the original stays as it is")
        self.save_button.clicked.connect(self.save_repaired_copy)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.save_button)
        self.hide()

    def show_for(self, analysis: FileAnalysis | None) -> None:
        warnings = analysis.info.warnings if analysis is not None else ()
        if analysis is None or not warnings:
            self._path = None
            self.hide()
            return
        self._path = analysis.path
        self.label.setText("⚠ " + "<br>".join(f"This file is damaged — {w}." for w in warnings))
        layout = _repairable(analysis.path)
        self.save_button.setVisible(layout is not None)
        self.show()

    def save_repaired_copy(self) -> None:
        source = self._path
        if source is None:
            return
        layout = _repairable(source)
        if layout is None:
            self._notifier.error("Nothing to repair",
                                 f"{source.name} no longer needs a repair, or is not a WAV/AIFF "
                                 "file.")
            return
        target = self.choose_target(repaired_copy_name(source))
        if target is None:
            return
        if target.resolve() == source.resolve():
            self._notifier.error("Choose another name",
                                 f"The repaired copy cannot replace {source.name} itself: "
                                 "choose another name, and the original stays as it is.")
            return
        try:
            header_repair.replace_with_repaired(source, layout, target)
        except OSError as exc:
            log.warning("saving a repaired copy of %s to %s failed: %s", source, target, exc)
            self._notifier.error("Repaired copy not saved",
                                 f"Writing {target} failed: {exc.strerror or exc}. Nothing "
                                 "was changed; choose another folder and try again.")
            return
        seconds = layout.seconds(layout.present_data_bytes)
        self._notifier.info("Repaired copy saved",
                            f"Saved {target.name} ({seconds:.2f} s) in {target.parent}.")
        self.repaired.emit(target)


def _repairable(path: Path) -> header_repair.PcmLayout | None:
    try:
        layout = header_repair.inspect(path)
    except OSError:
        return None
    return layout if layout is not None and layout.damage is not None else None
