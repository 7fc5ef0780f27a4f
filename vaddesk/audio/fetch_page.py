"""Web pages as inputs (video sites, a page with an <audio> element): the media that yt-dlp
finds on the page, best audio first. yt-dlp is optional: pip install "vaddesk[web]"."""

from __future__ import annotations

import importlib
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Final

yt_dlp: ModuleType | None
try:  # the optional `web` extra
    yt_dlp = importlib.import_module("yt_dlp")
except ImportError:
    yt_dlp = None

log = logging.getLogger(__name__)

Progress = Callable[[int, int | None], None]  # bytes so far, total bytes when known

NO_YT_DLP: Final = ("not an audio file: the server sent a web page (text/html); for video-site "
                    'pages install yt-dlp: pip install "vaddesk[web]"')


class FetchError(Exception):
    """A download that failed, in words for the user (the URL is not repeated)."""


class WebPage(Exception):
    """The URL is a web page, not a media file."""


class _Log:
    """yt-dlp's messages go to the log file, never to the terminal."""

    def debug(self, msg: str) -> None:
        log.debug("yt-dlp: %s", msg)

    def info(self, msg: str) -> None:
        log.debug("yt-dlp: %s", msg)

    def warning(self, msg: str) -> None:
        log.info("yt-dlp: %s", msg)

    def error(self, msg: str) -> None:
        log.info("yt-dlp: %s", msg)


def fetch_page(url: str, dest: Path, max_bytes: int, timeout_s: float,
               progress: Progress | None = None) -> str:
    """Download the page's best audio into `dest`; returns its extension (e.g. "m4a")."""
    if yt_dlp is None:
        raise FetchError(NO_YT_DLP)

    def hook(status: dict[str, object]) -> None:
        done = status.get("downloaded_bytes")
        total = status.get("total_bytes") or status.get("total_bytes_estimate")
        if progress is not None and isinstance(done, int):
            progress(done, int(total) if isinstance(total, (int, float)) else None)

    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".vaddesk-page-") as tmp:
        options = {"format": "bestaudio/best", "outtmpl": f"{tmp}/media.%(ext)s",
                   "noplaylist": True, "max_filesize": max_bytes, "socket_timeout": timeout_s,
                   "logger": _Log(), "progress_hooks": [hook], "quiet": True,
                   "no_warnings": True, "noprogress": True}
        try:
            with yt_dlp.YoutubeDL(options) as ydl:
                ydl.extract_info(url, download=True)
        except yt_dlp.utils.DownloadError as exc:
            text = str(exc).removeprefix("ERROR: ")
            if "Unsupported URL" in text:
                raise FetchError("not an audio file: the server sent a web page (text/html) "
                                 "in which yt-dlp found no audio or video") from None
            raise FetchError(f"yt-dlp could not fetch the page's media: {text}") from None
        found = sorted(p for p in Path(tmp).iterdir() if not p.name.endswith(".part"))
        if not found:  # yt-dlp skips a file over max_filesize without an error
            raise FetchError(f"the page's media is over the size limit of "
                             f"{max_bytes / 1e6:.1f} MB (--max-download-mb)")
        os.replace(found[0], dest)
        return found[0].suffix.lstrip(".") or "bin"
