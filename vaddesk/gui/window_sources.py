"""Recordings from elsewhere: File ▸ Watch a folder… and File ▸ Open URL….

A base of :class:`vaddesk.gui.main_window.MainWindow` (which sets the attributes declared
here). The watched folder is polled by a GUI timer (a directory listing and a stat per file,
once a second) and remembered in the settings, so the next start watches it again. A URL is
downloaded on its own thread into the cache (vaddesk.audio.fetch) and then queued like a file.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QThread, QTimer, Signal
from PySide6.QtWidgets import QFileDialog

from vaddesk.audio.fetch import FetchError, FetchLimits, cache_dir, fetch
from vaddesk.gui.notifier import Notifier
from vaddesk.gui.settings import Key, Settings
from vaddesk.gui.window_export import ExportingWindow
from vaddesk.pipeline.watcher import SETTLE_S, FolderWatcher, WatchedFolderGone

WATCH_POLL_MS = 1000


class _Cancelled(Exception):
    pass


class UrlDownload(QThread):
    """Fetches one URL into the cache; signals are delivered on the GUI thread."""

    progressed = Signal(int, int)     # bytes so far, total bytes (-1 when unknown)
    downloaded = Signal(str, str)     # url, cache file
    failed = Signal(str, str)         # url, reason in words

    def __init__(self, url: str, cache: Path, limits: FetchLimits) -> None:
        super().__init__()
        self.url = url
        self._cache = cache
        self._limits = limits
        self._cancel = False

    def cancel(self) -> None:
        self._cancel = True  # NB: a bool write is atomic; read by run() between chunks

    def run(self) -> None:
        def progress(done: int, total: int | None) -> None:
            if self._cancel:
                raise _Cancelled
            self.progressed.emit(done, -1 if total is None else total)

        try:
            path = fetch(self.url, self._cache, self._limits, progress)
        except FetchError as exc:
            self.failed.emit(self.url, str(exc))
        except _Cancelled:
            self.failed.emit(self.url, "cancelled")
        else:
            self.downloaded.emit(self.url, str(path))


class SourcesWindow(ExportingWindow):
    """Watching a folder and opening URLs (the menu actions call these)."""

    settings: Settings
    notifier: Notifier
    watch_settle_s: float = SETTLE_S
    _watcher: FolderWatcher | None = None
    _watch_timer: QTimer | None = None
    _downloads: tuple[UrlDownload, ...] = ()

    def open_paths(self, paths: list[str]) -> list[int]:  # MainWindow's
        raise NotImplementedError

    # --- watch a folder ------------------------------------------------------------------
    def choose_watch_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Watch a folder: new recordings are added to the queue",
            self.settings.get_str(Key.WATCH_FOLDER) or self.settings.get_str(Key.LAST_OPEN_DIR))
        if folder:
            self.watch_folder(Path(folder))

    def watch_folder(self, folder: Path) -> None:
        """Queue every recording that lands in `folder` from now on (sub-folders too)."""
        self.stop_watching(forget=False)
        self._watcher = FolderWatcher(folder, recursive=True, settle_s=self.watch_settle_s)
        self._watcher.skip_existing()
        self._watch_timer = QTimer(self)
        self._watch_timer.timeout.connect(self._poll_watched)
        self._watch_timer.start(WATCH_POLL_MS)
        self.settings.set(Key.WATCH_FOLDER, str(folder))
        self.statusBar().showMessage(f"Watching {folder}: new recordings join the queue")
        self._update_watch_actions()

    def watched_folder(self) -> Path | None:
        return self._watcher.folder if self._watcher is not None else None

    def stop_watching(self, forget: bool = True) -> None:
        if self._watch_timer is not None:
            self._watch_timer.stop()
            self._watch_timer.deleteLater()
        self._watch_timer = None
        self._watcher = None
        if forget:
            self.settings.set(Key.WATCH_FOLDER, "")
            self.statusBar().clearMessage()
        self._update_watch_actions()

    def resume_watching(self) -> None:
        """At start-up: watch the folder remembered from last time, if it is still there."""
        remembered = self.settings.get_str(Key.WATCH_FOLDER)
        if remembered and Path(remembered).is_dir():
            self.watch_folder(Path(remembered))

    def _poll_watched(self) -> None:
        if self._watcher is None:
            return
        try:
            ready = self._watcher.poll()
        except WatchedFolderGone as exc:
            self.stop_watching(forget=False)
            self.notifier.error("Watched folder gone", f"{exc}. Choose File ▸ Watch a "
                                "folder… to watch it again once it is back, or another one.")
            return
        if ready:
            self.open_paths([str(p) for p in ready])

    def _update_watch_actions(self) -> None:
        action = getattr(self, "stop_watch_action", None)
        if action is not None:
            action.setEnabled(self.watched_folder() is not None)

    # --- open a URL ----------------------------------------------------------------------
    def choose_url(self) -> None:
        url = self.notifier.ask_text("Open URL", "Address of a recording (http/https, or an "
                                     "HLS .m3u8 playlist):")
        if url:
            self.open_url(url)

    def open_url(self, url: str, limits: FetchLimits | None = None) -> None:
        if not url.lower().startswith(("http://", "https://")):
            self.notifier.error("Not a web address", f"{url!r} does not start with http:// "
                                "or https://. For a file on this computer choose File ▸ Open "
                                "files….")
            return
        download = UrlDownload(url, cache_dir(), limits or FetchLimits())
        download.progressed.connect(self._on_download_progress)
        download.downloaded.connect(self._on_downloaded)
        download.failed.connect(self._on_download_failed)
        download.finished.connect(download.deleteLater)
        self._downloads = (*self._downloads, download)
        self.statusBar().showMessage(f"Downloading {url} …")
        download.start()

    def _on_download_progress(self, done: int, total: int) -> None:
        size = f"{done / 1e6:.1f} of {total / 1e6:.1f} MB" if total > 0 else f"{done / 1e6:.1f} MB"
        self.statusBar().showMessage(f"Downloading … {size}")

    def _on_downloaded(self, url: str, path: str) -> None:
        self._forget_download(url)
        self.statusBar().showMessage(f"Downloaded {url}", 5000)
        self.open_paths([path])

    def _on_download_failed(self, url: str, reason: str) -> None:
        self._forget_download(url)
        self.statusBar().clearMessage()
        self.notifier.error("Cannot open the URL", f"{url}: {reason}. Check the address in "
                            "File ▸ Open URL…, or download the file and choose File ▸ Open "
                            "files….")

    def _forget_download(self, url: str) -> None:
        self._downloads = tuple(d for d in self._downloads if d.url != url)

    def cancel_downloads(self) -> None:
        for download in self._downloads:
            download.cancel()
            download.wait(5000)
