"""Edits are autosaved as they are made, so a crash or a closed window loses nothing.

One small JSON file per recording in the app's data folder (`edits/`, or $VADDESK_EDITS_DIR),
named by a hash of the recording's absolute path. It holds the edited segments in the
vaddesk.segments format plus the recording's size and modification time: edits of a file that
has changed since are not offered back. Written atomically after every edit; removed when the
edits are undone back to the detected segments or discarded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

from platformdirs import user_data_dir

from vaddesk.core.types import Segment
from vaddesk.export.atomic import atomic_write_text
from vaddesk.export.report import SCHEMA_ID, SCHEMA_VERSION, segment_to_json, segments_from_json

log = logging.getLogger(__name__)


def edits_dir() -> Path:
    override = os.environ.get("VADDESK_EDITS_DIR")
    if override:
        return Path(override)
    return Path(user_data_dir("vaddesk", appauthor=False)) / "edits"


def edits_file(source: Path) -> Path:
    key = hashlib.sha256(str(Path(source).absolute()).encode("utf-8", "surrogateescape"))
    return edits_dir() / f"{key.hexdigest()[:24]}.json"


def _stamp(source: Path) -> dict[str, int]:
    stat = Path(source).stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def save_edits(source: Path, segments: list[Segment]) -> Path:
    doc = {"schema": SCHEMA_ID, "schema_version": SCHEMA_VERSION,
           "autosave_of": {"path": str(Path(source).absolute()), **_stamp(source)},
           "segments": [segment_to_json(i, s, None) for i, s in enumerate(segments, 1)]}
    path = edits_file(source)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(path, json.dumps(doc, ensure_ascii=False, indent=1) + "\n")


def load_edits(source: Path) -> list[Segment] | None:
    """The saved edits of `source`, or None (none saved, unreadable, or the file changed)."""
    path = edits_file(source)
    try:
        doc = json.loads(path.read_text("utf-8"))
        if doc.get("autosave_of", {}) != {"path": str(Path(source).absolute()),
                                          **_stamp(source)}:
            log.info("saved edits %s are of another version of %s: not offered", path, source)
            return None
        return segments_from_json(doc)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("cannot read saved edits %s: %s", path, exc)
        return None


def discard_edits(source: Path) -> None:
    edits_file(source).unlink(missing_ok=True)
