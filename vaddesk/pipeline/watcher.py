"""Which recordings in a watched folder are complete: polled, no platform file-event API.

A file counts as complete once its size and modification time have not changed for
`settle_s` seconds (a recorder or a sync client still writing it keeps changing both). Each
(size, mtime) version of a file is reported once; a file that changes again is reported again.
What was already processed across restarts is the run manifest's business, not this one's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from vaddesk.audio.decode import find_audio_files

SETTLE_S: Final = 3.0
POLL_S: Final = 1.0


class WatchedFolderGone(Exception):
    """The watched folder no longer exists (unmounted, renamed, deleted)."""


@dataclass(frozen=True, slots=True)
class _Seen:
    size_bytes: int
    mtime_ns: int
    stable_since_s: float


class FolderWatcher:
    def __init__(self, folder: Path, recursive: bool, settle_s: float = SETTLE_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.folder = Path(folder)
        self.recursive = recursive
        self.settle_s = settle_s
        self._clock = clock
        self._seen: dict[Path, _Seen] = {}
        self._reported: dict[Path, tuple[int, int]] = {}

    def skip_existing(self) -> None:
        """Take the files there now as already reported: only later arrivals and changes count
        (the app queues new recordings; the CLI lets the manifest decide instead)."""
        now = self._clock()
        for path, _ in find_audio_files([self.folder], self.recursive):
            try:
                st = path.stat()
            except OSError:
                continue
            self._seen[path] = _Seen(st.st_size, st.st_mtime_ns, now)
            self._reported[path] = (st.st_size, st.st_mtime_ns)

    def poll(self) -> list[Path]:
        """Files that became complete since the last poll (in the order found)."""
        if not self.folder.is_dir():
            raise WatchedFolderGone(f"the watched folder {self.folder} is gone (deleted, "
                                    "renamed or unmounted)")
        now = self._clock()
        ready = []
        present = set()
        for path, _ in find_audio_files([self.folder], self.recursive):
            present.add(path)
            try:
                st = path.stat()
            except OSError:
                continue  # removed between the listing and now
            seen = self._seen.get(path)
            if seen is None or (seen.size_bytes, seen.mtime_ns) != (st.st_size, st.st_mtime_ns):
                self._seen[path] = _Seen(st.st_size, st.st_mtime_ns, now)
                continue
            version = (st.st_size, st.st_mtime_ns)
            if (st.st_size > 0 and now - seen.stable_since_s >= self.settle_s
                    and self._reported.get(path) != version):
                self._reported[path] = version
                ready.append(path)
        for gone in set(self._seen) - present:
            del self._seen[gone]
            self._reported.pop(gone, None)
        return ready
