"""Settings remembered between runs: QSettings behind an Enum of keys with typed accessors.

Keys are an Enum so a typo is an AttributeError, not a silently new setting. Tests pass their own
QSettings (an INI file in tmp_path) so they never touch the user's.
"""

from __future__ import annotations

import enum
import json
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

SETTINGS_VERSION = 1


class Key(enum.Enum):
    VERSION = "settings_version"
    WINDOW_GEOMETRY = "window/geometry"
    WINDOW_STATE = "window/state"
    LAST_OPEN_DIR = "folders/last_open"
    LAST_EXPORT_DIR = "folders/last_export"
    RECENT_FILES = "files/recent"
    WATCH_FOLDER = "folders/watch"  # File > Watch a folder; "" when not watching
    LAST_PRESET = "analysis/last_preset"
    SHOW_SCORE = "view/show_score"
    EXPORT_FORMATS = "export/formats"
    EXPORT_CLIPS = "export/clips"
    EXPORT_PAD_MS = "export/pad_ms"
    RECORD_DEVICE = "record/device_name"  # the input device, by name (indices change)
    RECORD_WINDOW_S = "record/window_s"
    RECORD_CLIPS = "record/write_clips"
    RECORD_FOLDER = "record/folder"
    RECORD_PRESET = "record/preset"
    RECORD_SOURCE = "record/source"  # mic / mic+system / system (record_sides.SOURCES)
    ANALYSE_PER_CHANNEL = "analysis/per_channel"  # 2-channel files: one speaker per channel


MAX_RECENT_FILES = 10


class Settings:
    """Typed access to QSettings. Every value is stored as a string (JSON for lists, base64
    for window state): PySide6 6.12 corrupts the reference counts of None/True/False when
    QSettings hands back bools or empty lists (a fatal error at exit), so none ever goes in."""

    def __init__(self, store: QSettings | None = None) -> None:
        self._store = store if store is not None else QSettings("vaddesk", "vaddesk")
        self._migrate()

    def _migrate(self) -> None:
        # Version 1 is the first layout; later versions rename keys here, once.
        if self._raw(Key.VERSION) is None:
            self._store.setValue(Key.VERSION.value, str(SETTINGS_VERSION))

    @property
    def store(self) -> QSettings:
        """The QSettings underneath (panels that keep their own keys share the same file)."""
        return self._store

    def sync(self) -> None:
        self._store.sync()

    def _raw(self, key: Key) -> str | None:
        value = self._store.value(key.value)
        return value if isinstance(value, str) else None

    def set(self, key: Key, value: Any) -> None:
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, list | tuple):
            text = json.dumps([str(v) for v in value])
        elif isinstance(value, QByteArray):
            text = bytes(value.toBase64().data()).decode("ascii")
        else:
            text = str(value)
        self._store.setValue(key.value, text)

    def get_str(self, key: Key, default: str = "") -> str:
        value = self._raw(key)
        return default if value is None else value

    def get_int(self, key: Key, default: int = 0) -> int:
        try:
            return int(self.get_str(key, str(default)))
        except ValueError:
            return default

    def get_bool(self, key: Key, default: bool = False) -> bool:
        value = self._raw(key)
        return default if value is None else value.lower() in ("1", "true", "yes")

    def get_list(self, key: Key) -> list[str]:
        value = self._raw(key)
        try:
            items = json.loads(value) if value else []
        except json.JSONDecodeError:
            return []
        return [str(v) for v in items] if isinstance(items, list) else []

    def get_bytes(self, key: Key) -> QByteArray | None:
        value = self._raw(key)
        return QByteArray.fromBase64(value.encode("ascii")) if value else None

    def add_recent_file(self, path: str) -> list[str]:
        recent = [p for p in self.get_list(Key.RECENT_FILES) if p != path]
        recent.insert(0, path)
        del recent[MAX_RECENT_FILES:]
        self.set(Key.RECENT_FILES, recent)
        return recent
