"""Choose a scenario preset; save the current values as a user preset, rename or delete one."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from vaddesk.core import presets as preset_store
from vaddesk.core.params import VadParams
from vaddesk.export import preset_files
from vaddesk.gui.notifier import Notifier

log = logging.getLogger(__name__)


class PresetPicker(QWidget):
    preset_chosen = Signal(str)  # name; the window loads its parameters

    def __init__(self, current_params: Callable[[], VadParams], notifier: Notifier,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._current_params = current_params
        self._notifier = notifier
        self._presets: dict[str, preset_store.Preset] = {}
        self._modified = False
        self.combo = QComboBox()
        self.combo.setToolTip("Scenario preset: a starting point for the values below")
        self.combo.currentIndexChanged.connect(self._on_index_changed)
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.description.setStyleSheet("color: #555;")
        self.save_button = QPushButton("Save as…")
        self.save_button.setToolTip("Save the current values as a named user preset")
        self.rename_button = QPushButton("Rename…")
        self.delete_button = QPushButton("Delete")
        self.save_button.clicked.connect(self.save_as)
        self.rename_button.clicked.connect(self.rename_current)
        self.delete_button.clicked.connect(self.delete_current)
        buttons = QHBoxLayout()
        for b in (self.save_button, self.rename_button, self.delete_button):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.combo)
        layout.addWidget(self.description)
        layout.addLayout(buttons)
        self.reload()

    # --- queries ---------------------------------------------------------------------------
    def current_name(self) -> str:
        return str(self.combo.currentData() or "")

    def current_preset(self) -> preset_store.Preset | None:
        return self._presets.get(self.current_name())

    def names(self) -> list[str]:
        return list(self._presets)

    # --- commands --------------------------------------------------------------------------
    def reload(self, select: str | None = None) -> None:
        select = select or self.current_name() or preset_store.DEFAULT_PRESET
        try:
            self._presets = preset_store.all_presets()
        except ValueError as exc:  # broken built-in file: say so, keep the reference defaults
            self._notifier.error("Presets could not be loaded", str(exc))
            self._presets = {}
        self.combo.blockSignals(True)
        self.combo.clear()
        for name, preset in self._presets.items():
            self.combo.addItem(name if preset.builtin else f"{name} (mine)", name)
        index = max(0, self.combo.findData(select))
        self.combo.setCurrentIndex(index)
        self.combo.blockSignals(False)
        self._update_labels()

    def select(self, name: str) -> bool:
        """Select a preset by name and announce it; False when no such preset exists."""
        index = self.combo.findData(name)
        if index < 0:
            return False
        if index == self.combo.currentIndex():
            self._on_index_changed(index)
        else:
            self.combo.setCurrentIndex(index)
        return True

    def set_modified(self, modified: bool) -> None:
        self._modified = modified
        self._update_labels()

    def save_as(self) -> None:
        name = self._notifier.ask_text("Save preset", "Name for the current values:",
                                       self._suggest_name())
        if name is None:
            return
        try:
            preset_files.save_user_preset(name, self._current_params(),
                                          f"Saved from vaddesk (based on {self.current_name()})")
        except (ValueError, OSError) as exc:
            self._notifier.error("Preset not saved", str(exc))
            return
        self.reload(select=name)
        self.preset_chosen.emit(name)

    def rename_current(self) -> None:
        preset = self.current_preset()
        if preset is None or preset.builtin:
            self._notifier.error("Cannot rename", "Built-in presets cannot be renamed; "
                                 "use “Save as…” to make your own copy.")
            return
        new = self._notifier.ask_text("Rename preset", f"New name for “{preset.name}”:",
                                      preset.name)
        if new is None or new == preset.name:
            return
        try:
            preset_files.rename_user_preset(preset.name, new)
        except (ValueError, OSError) as exc:
            self._notifier.error("Preset not renamed", str(exc))
            return
        self.reload(select=new)

    def delete_current(self) -> None:
        preset = self.current_preset()
        if preset is None or preset.builtin:
            self._notifier.error("Cannot delete", "Built-in presets cannot be deleted.")
            return
        if not self._notifier.confirm("Delete preset", f"Delete your preset “{preset.name}”?"):
            return
        try:
            preset_files.delete_user_preset(preset.name)
        except (ValueError, OSError) as exc:
            self._notifier.error("Preset not deleted", str(exc))
            return
        self.reload(select=preset_store.DEFAULT_PRESET)
        self.preset_chosen.emit(self.current_name())

    # --- internals -------------------------------------------------------------------------
    def _suggest_name(self) -> str:
        base = self.current_name() or "my preset"
        return base if base not in preset_store.BUILTIN_NAMES else f"my {base}"

    def _on_index_changed(self, _index: int) -> None:
        self._modified = False
        self._update_labels()
        if self.current_name():
            self.preset_chosen.emit(self.current_name())

    def _update_labels(self) -> None:
        preset = self.current_preset()
        user = preset is not None and not preset.builtin
        self.rename_button.setEnabled(user)
        self.delete_button.setEnabled(user)
        text = preset.description if preset else ""
        if self._modified:
            text = f"<b>Modified</b> (not saved as a preset). {text}"
        self.description.setText(text)
