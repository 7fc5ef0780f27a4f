"""The shipped model files against models/manifest.json (sha256 of every file).

Every model file (the ONNX networks and am.mvn) is checked when it is loaded: a damaged or
replaced file fails loudly instead of producing quietly different segments. This module needs
only the standard library, so the feature frontend can check am.mvn without importing
onnxruntime.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Final

from vaddesk import paths

MANIFEST_FILE: Final = "manifest.json"

_REBUILD_HINT: Final = (
    "Reinstall vaddesk to restore the shipped models; if you rebuilt the INT8 model on purpose "
    "(python models/build_int8.py), update its entry in models/manifest.json."
)


class ModelFileError(RuntimeError):
    """A model file is missing or its content is not the one vaddesk was released with."""


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_manifest(models_dir: Path | None = None) -> dict[str, dict[str, object]]:
    """``{file name: {"sha256": ..., "size_bytes": ...}}`` from models/manifest.json."""
    path = (models_dir or paths.models_dir()) / MANIFEST_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelFileError(f"model manifest {path} is missing. {_REBUILD_HINT}") from exc
    except (OSError, ValueError) as exc:
        raise ModelFileError(
            f"model manifest {path} is unreadable: {exc}. {_REBUILD_HINT}"
        ) from exc
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict):
        raise ModelFileError(f"model manifest {path} has no 'files' table. {_REBUILD_HINT}")
    return files


def verify_model_file(path: Path, *, expected_name: str | None = None) -> str:
    """Check ``path`` against the manifest entry for its name; return its sha256.

    The manifest is the one in the folder holding ``path`` (the shipped models folder, or a
    copy of it). Raises ModelFileError naming the file, the expected and the actual hash.
    """
    name = expected_name or path.name
    if not path.is_file():
        raise ModelFileError(f"model file {path} is missing. {_REBUILD_HINT}")
    entry = load_manifest(path.parent).get(name)
    if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
        raise ModelFileError(
            f"model file {path} is not listed in {path.parent / MANIFEST_FILE}. {_REBUILD_HINT}"
        )
    expected = str(entry["sha256"])
    actual = sha256_file(path)
    if actual != expected:
        raise ModelFileError(
            f"model file {path} is damaged or was replaced: sha256 is {actual}, "
            f"expected {expected}. {_REBUILD_HINT}"
        )
    return actual
