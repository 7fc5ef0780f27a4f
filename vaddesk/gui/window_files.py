"""Opening recordings from the main window: the file-dialog filter and queueing of paths."""

from __future__ import annotations

import os
from pathlib import Path

from vaddesk.audio.decode import AUDIO_EXTENSIONS, find_audio_files
from vaddesk.gui.analysis_queue import AnalysisQueue, ItemState, QueueItem
from vaddesk.gui.notifier import Notifier
from vaddesk.gui.settings import Key, Settings


def audio_filter() -> str:
    """The file dialog's name filter: every extension the decoder reads, then all files."""
    patterns = " ".join(f"*{e}" if e.startswith(".") else f"*.{e}"
                        for e in sorted(AUDIO_EXTENSIONS))
    return f"Audio files ({patterns});;All files (*)"


def queue_paths(paths: list[str], queue: AnalysisQueue, settings: Settings,
                notifier: Notifier) -> list[int]:
    """Queue files and folders (folders recursively); returns their queue item ids.

    A file already in the queue is not added again: its id is returned (the window shows it).
    Missing paths and folders without recordings are reported; the rest are still queued.
    The last folder opened and folders opened are remembered in ``settings``; a single file
    goes into the recent list only once it has opened (see MainWindow), so a file that fails
    is not offered again.
    """
    queued = {_same(i.path): i.item_id for i in queue.items() if _reusable(i, queue)}

    def add(file: Path, relpath: Path | None = None) -> int:
        key = _same(file)
        if key not in queued:
            queued[key] = queue.add(file, relpath)
        return queued[key]

    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        notifier.error("Not found", "These paths do not exist:\n"
                       + "\n".join(missing) + "\nCheck the name and try again.")
    new_ids: list[int] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            continue
        if path.is_dir():
            found = find_audio_files([path], True)
            if not found:
                notifier.error("No recordings found",
                               f"{path} holds no audio files vaddesk can read.")
            for file, relpath in found:
                new_ids.append(add(Path(file), Path(relpath)))
            settings.set(Key.LAST_OPEN_DIR, str(path))
            settings.add_recent_file(str(path.resolve()))
        else:
            new_ids.append(add(path))
            settings.set(Key.LAST_OPEN_DIR, str(path.parent))
    return list(dict.fromkeys(new_ids))


def _reusable(item: QueueItem, queue: AnalysisQueue) -> bool:
    """An item that already is (or will be) what opening its file again would give: waiting,
    running, or done the way the queue analyses now (mixed or channel by channel). A failed
    or cancelled file is tried again."""
    if item.state in (ItemState.WAITING, ItemState.RUNNING):
        return True
    analysis = item.analysis
    if item.state is not ItemState.DONE or analysis is None:
        return False
    return analysis.info.channels == 1 or bool(analysis.channel_tracks) == queue.per_channel


def _same(path: Path) -> str:
    """One key per file however it was named (relative, symlinked, other case on Windows)."""
    return os.path.normcase(str(Path(path).resolve()))
