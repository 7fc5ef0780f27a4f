"""A SIMULATED full disk for the recorder and live-session tests (no real disk can be filled
safely in CI): a raw file whose writes fail with ENOSPC once `budget` bytes are in it."""

from __future__ import annotations

import errno
import io
import os
from pathlib import Path
from typing import Any


class FullDisk(io.RawIOBase):
    def __init__(self, path: Path, budget: int) -> None:
        self._f = open(path, "xb", buffering=0)  # noqa: SIM115
        self._budget = budget

    def write(self, data: Any) -> int:
        room = self._budget - self._f.tell()
        if room <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return self._f.write(bytes(data)[:room]) or 0

    def fileno(self) -> int:
        return self._f.fileno()

    def close(self) -> None:
        self._f.close()
        super().close()
