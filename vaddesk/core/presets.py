"""Scenario presets as data: built-ins shipped as JSON, user presets in the config folder
(read here; written by :mod:`vaddesk.export.preset_files`, atomically).

A preset file is JSON: {"schema": "vaddesk.preset", "schema_version": 1, "name": ...,
"description": ..., "parameters": {...}}. Parameters not named keep VadParams' defaults
(the reference's), so a preset states only what it changes.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from vaddesk import paths
from vaddesk.core.params import VadParams

SCHEMA_VERSION: Final = 1
DEFAULT_PRESET: Final = "meeting"
BUILTIN_NAMES: Final = ("meeting", "precise", "phone", "noisy", "dialogue", "funasr")
_NAME_RE = re.compile(r"^[\w][\w .\-]{0,63}$")


@dataclass(frozen=True, slots=True)
class Preset:
    name: str
    description: str
    params: VadParams
    builtin: bool


def _builtin_data() -> Mapping[str, Any]:
    data = json.loads(paths.resource("presets", "builtin.json").read_text("utf-8"))
    if data.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(f"built-in presets have schema_version {data.get('schema_version')}, "
                         f"this vaddesk reads {SCHEMA_VERSION}")
    presets: Mapping[str, Any] = data["presets"]
    return presets


def builtin_presets() -> dict[str, Preset]:
    out = {}
    for name, body in _builtin_data().items():
        out[name] = Preset(name, body["description"],
                           VadParams.from_mapping(body.get("parameters", {})), True)
    return out


def user_presets_dir() -> Path:
    override = os.environ.get("VADDESK_CONFIG_DIR")
    if override:
        return Path(override) / "presets"
    from platformdirs import user_config_dir

    return Path(user_config_dir("vaddesk", appauthor=False)) / "presets"


def check_preset_name(name: str) -> str:
    name = name.strip()
    if not _NAME_RE.match(name):
        raise ValueError(f"preset name {name!r} is not allowed: use letters, digits, space, "
                         "'.', '-' or '_' (at most 64 characters)")
    return name


def user_preset_file(name: str) -> Path:
    """Where the user preset ``name`` is kept (written by vaddesk.export.preset_files)."""
    return user_presets_dir() / f"{check_preset_name(name)}.json"


def load_preset_file(path: Path) -> Preset:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read preset {path}: {exc}") from exc
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ValueError(f"preset {path} has schema_version {version!r}; expected "
                         f"{SCHEMA_VERSION}")
    params = VadParams.from_mapping(data.get("parameters", {}))
    return Preset(str(data.get("name", path.stem)), str(data.get("description", "")), params,
                  False)


def user_presets() -> dict[str, Preset]:
    folder = user_presets_dir()
    out: dict[str, Preset] = {}
    if folder.is_dir():
        for path in sorted(folder.glob("*.json")):
            try:
                preset = load_preset_file(path)
            except ValueError:
                continue  # a broken user file must not hide the others; listed by the caller
            out[preset.name] = preset
    return out


def all_presets() -> dict[str, Preset]:
    """Built-ins first (in BUILTIN_NAMES order), then user presets."""
    builtins = builtin_presets()
    out: dict[str, Preset] = {n: builtins[n] for n in BUILTIN_NAMES if n in builtins}
    for name, preset in user_presets().items():
        if name not in out:
            out[name] = preset
    return out


def get_preset(name: str) -> Preset:
    presets = all_presets()
    if name not in presets:
        raise ValueError(f"unknown preset {name!r}; available: {', '.join(presets)}")
    return presets[name]
