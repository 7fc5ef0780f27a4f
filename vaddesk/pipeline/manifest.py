"""The run manifest behind `--resume` and `vaddesk watch`: which inputs are done, with what.

Layout, in the run's output folder:

    vaddesk-manifest.json     the compacted record (written only by the client, atomically)
    .vaddesk-receipts/        one small JSON per event, written by whoever ran the file

A file's processing writes two receipts, each atomically (temp + fsync + rename): "started"
just before its first output is written and "done" once every output is complete. Workers
(local processes, Dask workers on shared storage, or processes orphaned by a killed client)
never touch the manifest itself, so nothing is ever half-written: `kill -9` of anyone at any
moment leaves the manifest either as it was or as it became, and receipts either whole or
absent. The client folds receipts into the manifest when it opens it and when a run ends; a
receipt is deleted only after the manifest that counts it is on disk, and the manifest keeps
the ids of the receipts it last folded, so a crash between the two never counts one twice.

A rerun then skips an input whose manifest entry is "done" for the same size, mtime and
parameter/format fingerprint with every output present; an input whose entry says "started"
(a run died while writing it) or that changed is redone, and its old outputs -- recorded as
ours -- may be replaced without --overwrite.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from vaddesk.export.atomic import atomic_write_text

log = logging.getLogger(__name__)

MANIFEST_NAME: Final = "vaddesk-manifest.json"
RECEIPTS_DIR: Final = ".vaddesk-receipts"
MANIFEST_VERSION: Final = 1

ReceiptKind = Literal["started", "done"]


class ManifestError(Exception):
    """The manifest cannot be read (edited by hand, or from a newer vaddesk)."""


@dataclass(frozen=True, slots=True)
class InputStamp:
    """What identifies the content of an input without reading it."""

    size_bytes: int
    mtime_ns: int

    @staticmethod
    def of(path: Path) -> InputStamp | None:
        try:
            st = path.stat()
        except OSError:
            return None
        return InputStamp(st.st_size, st.st_mtime_ns)


def input_key(path: Path) -> str:
    """The manifest key of an input: its absolute path (not resolved: a link is its own input)."""
    return os.path.abspath(path)


def fingerprint(settings: dict[str, object]) -> str:
    """A short stable hash of everything that shapes the outputs (parameters, formats ...)."""
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Journal:
    """What a worker needs to write receipts (plain data: it pickles to any worker)."""

    receipts_dir: Path
    options_hash: str

    def write(self, kind: ReceiptKind, path: Path, stamp: InputStamp | None,
              outputs: Sequence[Path] = ()) -> None:
        key = input_key(path)
        digest = hashlib.sha1(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        receipt_id = uuid.uuid4().hex
        doc = {"id": receipt_id, "kind": kind, "input": key, "time_ns": time.time_ns(),
               "size_bytes": stamp.size_bytes if stamp else None,
               "mtime_ns": stamp.mtime_ns if stamp else None,
               "options_hash": self.options_hash,
               "outputs": [os.path.abspath(p) for p in outputs]}
        self.receipts_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.receipts_dir / f"{digest}.{kind}.{receipt_id}.json",
                          json.dumps(doc, ensure_ascii=False))


@dataclass(slots=True)
class ManifestEntry:
    input: str
    state: ReceiptKind
    size_bytes: int | None
    mtime_ns: int | None
    options_hash: str
    outputs: list[str] = field(default_factory=list)
    done_count: int = 0  # how many times this input was completely processed, ever
    finished_ns: int = 0


Decision = Literal["skip", "ours", "new"]


class RunManifest:
    """The manifest of one output folder, folded from its receipts when opened."""

    def __init__(self, folder: Path, options_hash: str) -> None:
        self.folder = Path(folder)
        self.options_hash = options_hash
        self.path = self.folder / MANIFEST_NAME
        self.receipts_dir = self.folder / RECEIPTS_DIR
        self.entries: dict[str, ManifestEntry] = {}
        self._folded: set[str] = set()
        self._load()
        self.sync()

    @property
    def journal(self) -> Journal:
        return Journal(self.receipts_dir, self.options_hash)

    def _load(self) -> None:
        if not self.path.exists():
            return
        try:
            doc = json.loads(self.path.read_text("utf-8"))
            if doc.get("version") != MANIFEST_VERSION:
                raise ValueError(f"version {doc.get('version')!r}, expected {MANIFEST_VERSION}")
            self._folded = set(doc.get("folded_receipts", []))
            for raw in doc["inputs"]:
                entry = ManifestEntry(**raw)
                self.entries[entry.input] = entry
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ManifestError(f"cannot read the run manifest {self.path}: {exc}; move it "
                                "away to start the run afresh") from None

    def sync(self) -> int:
        """Fold new receipts into the manifest, write it atomically, then delete them.

        Returns how many receipts were new. Safe to call at any time, from the client only.
        """
        try:
            names = sorted(p.name for p in self.receipts_dir.iterdir() if p.suffix == ".json")
        except (FileNotFoundError, NotADirectoryError):  # no receipts yet (or no folder)
            names = []
        receipts: list[tuple[str, dict[str, object]]] = []
        for name in names:
            try:
                doc = json.loads((self.receipts_dir / name).read_text("utf-8"))
            except (OSError, ValueError):
                continue  # only a receipt being renamed right now could be unreadable
            receipts.append((name, doc))
        fresh = [doc for _, doc in receipts if doc["id"] not in self._folded]
        for doc in sorted(fresh, key=lambda r: int(str(r["time_ns"]))):
            self._apply(doc)
        if fresh or not self.path.exists():
            on_disk = {str(doc["id"]) for _, doc in receipts}
            self._write(on_disk)  # first the manifest that counts them ...
            self._folded = on_disk
        for name, _ in receipts:  # ... then the receipts may go
            (self.receipts_dir / name).unlink(missing_ok=True)
        if receipts:
            with contextlib.suppress(OSError):  # not empty: a worker is writing one now
                self.receipts_dir.rmdir()
        return len(fresh)

    def _apply(self, doc: dict[str, object]) -> None:
        key = str(doc["input"])
        old = self.entries.get(key)
        kind: ReceiptKind = "done" if doc["kind"] == "done" else "started"
        size = doc.get("size_bytes")
        mtime = doc.get("mtime_ns")
        outputs = doc.get("outputs")
        entry = ManifestEntry(
            key, kind, size if isinstance(size, int) else None,
            mtime if isinstance(mtime, int) else None, str(doc["options_hash"]),
            [str(p) for p in outputs] if isinstance(outputs, list) and kind == "done"
            else (old.outputs if old else []),
            (old.done_count if old else 0) + (1 if kind == "done" else 0),
            int(str(doc["time_ns"])) if kind == "done" else (old.finished_ns if old else 0))
        self.entries[key] = entry

    def _write(self, folded: set[str]) -> None:
        doc = {"version": MANIFEST_VERSION, "folded_receipts": sorted(folded),
               "inputs": [_entry_dict(e) for e in sorted(self.entries.values(),
                                                         key=lambda e: e.input)]}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.path, json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
        except OSError as exc:
            raise ManifestError(f"cannot write the run manifest {self.path} "
                                f"({exc.strerror or exc}); choose a writable output folder "
                                "with --out") from None

    def decide(self, path: Path) -> Decision:
        """skip: done with these settings and unchanged; ours: its outputs are ours to replace;
        new: never seen here."""
        entry = self.entries.get(input_key(path))
        if entry is None:
            return "new"
        stamp = InputStamp.of(path)
        if (entry.state == "done" and entry.options_hash == self.options_hash
                and stamp is not None and stamp.size_bytes == entry.size_bytes
                and stamp.mtime_ns == entry.mtime_ns
                and all(os.path.exists(p) for p in entry.outputs)):
            return "skip"
        return "ours"


def _entry_dict(entry: ManifestEntry) -> dict[str, object]:
    return {"input": entry.input, "state": entry.state, "size_bytes": entry.size_bytes,
            "mtime_ns": entry.mtime_ns, "options_hash": entry.options_hash,
            "outputs": entry.outputs, "done_count": entry.done_count,
            "finished_ns": entry.finished_ns}
