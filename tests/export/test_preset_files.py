"""User presets are written atomically (export/atomic.py) and read back by core/presets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vaddesk.core.params import VadParams
from vaddesk.core.presets import all_presets, get_preset, user_presets_dir
from vaddesk.export import atomic as atomic_mod
from vaddesk.export.preset_files import delete_user_preset, rename_user_preset, save_user_preset


@pytest.fixture(autouse=True)
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VADDESK_CONFIG_DIR", str(tmp_path))
    return tmp_path


def test_save_rename_delete(config_dir: Path) -> None:
    params = VadParams(max_end_silence_ms=500, window_size_ms=300)
    path = save_user_preset("quiet room", params, "short pauses")
    assert path == config_dir / "presets" / "quiet room.json"
    assert json.loads(path.read_text("utf-8")) == {
        "schema": "vaddesk.preset", "schema_version": 1, "name": "quiet room",
        "description": "short pauses",
        "parameters": {"max_end_silence_ms": 500, "window_size_ms": 300}}
    assert sorted(p.name for p in user_presets_dir().iterdir()) == ["quiet room.json"]
    assert get_preset("quiet room").params == params and not get_preset("quiet room").builtin
    renamed = rename_user_preset("quiet room", "small room")
    assert renamed.name == "small room.json" and "quiet room" not in all_presets()
    assert get_preset("small room").description == "short pauses"
    delete_user_preset("small room")
    assert "small room" not in all_presets()
    with pytest.raises(ValueError, match="no user preset named 'small room'"):
        delete_user_preset("small room")
    with pytest.raises(ValueError, match="'meeting' is a built-in preset; choose another name"):
        save_user_preset("meeting", params)


def test_a_failed_save_keeps_the_old_preset(config_dir: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    first = save_user_preset("mine", VadParams(max_end_silence_ms=500))
    before = first.read_bytes()

    def disk_full(_src: object, _dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic_mod.os, "replace", disk_full)
    with pytest.raises(OSError, match="No space left"):
        save_user_preset("mine", VadParams(max_end_silence_ms=900))
    assert first.read_bytes() == before  # the old preset, whole
    assert [p.name for p in first.parent.iterdir()] == ["mine.json"]  # no temp file left
