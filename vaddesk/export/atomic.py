"""Crash-safe file writing: write a temporary file beside the target, fsync, then rename.

A crash, a full disk or an exception mid-write leaves the final name untouched (absent, or the
old complete file); only a hidden `.vaddesk-*.tmp` file can remain after a hard crash, and an
exception removes even that. os.replace is atomic on POSIX and Windows within one folder.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

TEMP_PREFIX = ".vaddesk-"
TEMP_SUFFIX = ".tmp"


def _fsync_path(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


class PendingFile:
    """A temporary file that becomes `final` on commit() and vanishes on discard().

    For writers that need a path (soundfile) or that interleave several files (clips).
    """

    def __init__(self, final: Path) -> None:
        self.final = Path(final)
        # A short fixed-length name: the final name may already be near the 255-byte limit.
        self.tmp = self.final.with_name(f"{TEMP_PREFIX}{uuid.uuid4().hex[:12]}{TEMP_SUFFIX}")
        self.done = False

    def commit(self, durable: bool = True) -> Path:
        if durable:
            _fsync_path(self.tmp)
        os.replace(self.tmp, self.final)
        self.done = True
        return self.final

    def discard(self) -> None:
        if not self.done:
            with contextlib.suppress(OSError):
                self.tmp.unlink()
            self.done = True


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it is renamed to `path`."""
    pending = PendingFile(path)
    try:
        yield pending.tmp
        pending.commit()
    finally:
        pending.discard()


@contextlib.contextmanager
def atomic_open(path: Path, mode: str = "w", encoding: str | None = "utf-8",
                newline: str | None = "") -> Iterator[IO[Any]]:
    """Streamed writing: `with atomic_open(p) as f: f.write(...)`, committed on exit."""
    binary = "b" in mode
    with atomic_path(path) as tmp, open(tmp, mode, encoding=None if binary else encoding,
                                        newline=None if binary else newline) as handle:
        yield handle
        handle.flush()


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    with atomic_open(path, "wb") as handle:
        handle.write(data)
    return Path(path)


def atomic_write_text(path: Path, text: str, encoding: str = "utf-8") -> Path:
    """Text exactly as given (no newline translation), atomically."""
    with atomic_open(path, "w", encoding=encoding, newline="") as handle:
        handle.write(text)
    return Path(path)
