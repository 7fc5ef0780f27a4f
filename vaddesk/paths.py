"""One place that finds the files vaddesk ships, from a source tree, an installed wheel or a
PyInstaller bundle.

Layouts:
- frozen:   <sys._MEIPASS>/models, <sys._MEIPASS>/resources
- wheel:    <site-packages>/vaddesk/_models, .../vaddesk/_resources (setup.py package_dir)
- source:   <repo>/models, <repo>/resources (editable install or PYTHONPATH)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def _candidates(name: str) -> list[Path]:
    found: list[Path] = []
    meipass = getattr(sys, "_MEIPASS", None)
    if meipass:
        found.append(Path(meipass) / name)
    found.append(_PACKAGE_DIR / f"_{name}")
    found.append(_PACKAGE_DIR.parent / name)
    return found


def _first_dir(name: str) -> Path:
    for path in _candidates(name):
        if path.is_dir():
            return path
    tried = ", ".join(str(p) for p in _candidates(name))
    raise FileNotFoundError(f"vaddesk's {name} folder is missing (looked in: {tried})")


def models_dir() -> Path:
    """The folder holding the ONNX models and am.mvn ($VADDESK_MODELS_DIR overrides it)."""
    override = os.environ.get("VADDESK_MODELS_DIR")
    if override:
        return Path(override)
    return _first_dir("models")


def resources_dir() -> Path:
    """The folder holding presets, icons and the bundled sample."""
    return _first_dir("resources")


def resource(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)


def model_file(name: str) -> Path:
    return models_dir() / name
