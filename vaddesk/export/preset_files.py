"""Writing user presets: save, rename and delete files in the user's preset folder.

Reading and the file format are :mod:`vaddesk.core.presets`; every write goes through
:mod:`vaddesk.export.atomic`, so a crash mid-save leaves the old preset (or none), never half
of one.
"""

from __future__ import annotations

import json
from pathlib import Path

from vaddesk.core.params import VadParams
from vaddesk.core.presets import (
    BUILTIN_NAMES,
    SCHEMA_VERSION,
    all_presets,
    check_preset_name,
    load_preset_file,
    user_preset_file,
)
from vaddesk.export.atomic import atomic_write_text


def save_user_preset(name: str, params: VadParams, description: str = "") -> Path:
    """Write (or replace) the user preset ``name``; only values that differ from the
    defaults are stored. Raises ValueError for a bad or built-in name."""
    name = check_preset_name(name)
    if name in BUILTIN_NAMES:
        raise ValueError(f"{name!r} is a built-in preset; choose another name")
    defaults = VadParams().to_dict()
    changed = {k: v for k, v in params.to_dict().items() if defaults[k] != v}
    body = {"schema": "vaddesk.preset", "schema_version": SCHEMA_VERSION, "name": name,
            "description": description, "parameters": changed}
    path = user_preset_file(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(path, json.dumps(body, indent=2) + "\n")


def delete_user_preset(name: str) -> None:
    path = user_preset_file(name)
    if not path.exists():
        raise ValueError(f"no user preset named {name!r}")
    path.unlink()


def rename_user_preset(old: str, new: str) -> Path:
    preset = load_preset_file(user_preset_file(old))
    if check_preset_name(new) in all_presets():
        raise ValueError(f"a preset named {new!r} exists already")
    path = save_user_preset(new, preset.params, preset.description)
    delete_user_preset(old)
    return path
