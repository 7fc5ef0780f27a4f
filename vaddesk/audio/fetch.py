"""Recordings given as URLs: fetched into a cache file first, then used like any local file.

    path = fetch(url, cache_dir(), FetchLimits(max_bytes=500_000_000), progress)

Plain http(s) files are streamed to disk; HLS playlists (`.m3u8`) are read through PyAV
(FFmpeg) and their audio packets remuxed, unchanged, into an MP4 audio file. Either way the
download has a size limit and a time-out, reports its progress, and a failure (HTTP error,
refused connection, a web page instead of audio, over the limit) raises FetchError with a
plain message and leaves no cache file behind. A finished download is kept in the cache
(named after the URL) so clips, playback and re-analysis read it again without fetching.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Final

import av
import platformdirs

from vaddesk.audio.fetch_page import FetchError, Progress, WebPage, fetch_page
from vaddesk.audio.sniff import looks_like_text

log = logging.getLogger(__name__)

CHUNK_BYTES: Final = 256 * 1024
MAX_BYTES: Final = 2_000_000_000
TIMEOUT_S: Final = 30.0
HLS_SUFFIXES: Final = (".m3u8", ".m3u")
USER_AGENT: Final = "vaddesk (https://github.com; audio fetch)"

@dataclass(frozen=True, slots=True)
class FetchLimits:
    max_bytes: int = MAX_BYTES
    timeout_s: float = TIMEOUT_S  # per connection attempt and per read, not the whole download


def is_url(text: str) -> bool:
    return text.lower().startswith(("http://", "https://"))


def url_stem(url: str) -> str:
    """The output stem of a URL: its file name without extension ('talk' for .../talk.m4a)."""
    name = urllib.parse.unquote(urllib.parse.urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return stem or urllib.parse.urlsplit(url).hostname or "download"


def cache_dir() -> Path:
    """Where downloads are kept ($VADDESK_CACHE_DIR overrides the platform's cache folder)."""
    override = os.environ.get("VADDESK_CACHE_DIR")
    base = Path(override) if override else Path(platformdirs.user_cache_dir("vaddesk"))
    return base / "downloads"


def cache_path(url: str, folder: Path) -> Path:
    digest = hashlib.sha1(url.encode("utf-8")).hexdigest()[:12]
    name = urllib.parse.unquote(urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1]) or "audio"
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)[-80:]
    if safe.lower().endswith(HLS_SUFFIXES):
        safe = safe.rsplit(".", 1)[0] + ".m4a"
    return folder / f"{digest}-{safe}"


def _mb(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB"


def fetch(url: str, folder: Path, limits: FetchLimits = FetchLimits(),
          progress: Progress | None = None) -> Path:
    """Download `url` into `folder` (once: a cached copy is reused); FetchError on failure."""
    target = cache_path(url, folder)
    digest = target.name.split("-", 1)[0]
    cached = sorted(folder.glob(f"{digest}-*")) if folder.is_dir() else []
    if cached:  # a page's media is named after what yt-dlp found, so look by the URL's hash
        log.info("using the cached download %s of %s", cached[0], url)
        return cached[0]
    folder.mkdir(parents=True, exist_ok=True)
    # The cache name appears only when complete: a half download is never taken for a file.
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        if urllib.parse.urlsplit(url).path.lower().endswith(HLS_SUFFIXES):
            _fetch_hls(url, partial, limits, progress)
        else:
            try:
                _fetch_http(url, partial, limits, progress)
            except WebPage:
                ext = fetch_page(url, partial, limits.max_bytes, limits.timeout_s, progress)
                target = target.with_name(f"{digest}-{url_stem(url)[:60]}.{ext}")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _fetch_http(url: str, dest: Path, limits: FetchLimits, progress: Progress | None) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        response = urllib.request.urlopen(request, timeout=limits.timeout_s)
    except urllib.error.HTTPError as exc:
        raise FetchError(f"the server answered HTTP {exc.code} ({exc.reason})") from None
    except urllib.error.URLError as exc:
        if not isinstance(exc.reason, TimeoutError):
            raise FetchError(f"cannot connect to {_host(url)} ({_reason(exc.reason)})") from None
        raise FetchError(f"no answer from {_host(url)} within {limits.timeout_s:g} s "
                         "(--download-timeout-s)") from None
    except TimeoutError:
        raise FetchError(f"no answer from {_host(url)} within {limits.timeout_s:g} s "
                         "(--download-timeout-s)") from None
    with response:
        kind = response.headers.get_content_type()
        if kind in ("text/html", "application/xhtml+xml"):
            raise WebPage  # the caller tries yt-dlp
        declared = response.headers.get("Content-Length")
        total = int(declared) if declared and declared.isdigit() else None
        if total is not None and total > limits.max_bytes:
            raise FetchError(f"the download is {_mb(total)}, over the size limit of "
                             f"{_mb(limits.max_bytes)} (--max-download-mb)")
        done = 0
        head = b""
        try:
            with open(dest, "wb") as out:
                while chunk := response.read(CHUNK_BYTES):
                    done += len(chunk)
                    if done > limits.max_bytes:
                        raise FetchError(f"stopped at {_mb(done)}: over the size limit of "
                                         f"{_mb(limits.max_bytes)} (--max-download-mb)")
                    if len(head) < 4096:
                        head += chunk[: 4096 - len(head)]
                    out.write(chunk)
                    if progress is not None:
                        progress(done, total)
        except TimeoutError:
            raise FetchError(f"the download stalled for {limits.timeout_s:g} s at "
                             f"{_mb(done)} (--download-timeout-s)") from None
    if not head:
        raise FetchError("the server sent an empty file")
    if looks_like_text(head):
        raise FetchError(f"not an audio file: the server sent text ({kind})")


def _fetch_hls(url: str, dest: Path, limits: FetchLimits, progress: Progress | None) -> None:
    """Remux the first audio stream of an HLS playlist into MP4 (no re-encoding).

    MPEG-TS has no edit list, so an AAC encoder's priming frame (1024 samples of delay) is
    just the first packet; packagers such as FFmpeg mark it by giving it the timestamp of
    the packet after it. Such a frame is put one frame *before* zero here, and the MP4 muxer
    writes the edit list that makes decoders skip it, as in the .m4a it came from.
    Unmarked priming cannot be told from audio and stays (23 ms at 44.1 kHz)."""
    timeout_us = str(int(limits.timeout_s * 1_000_000))
    try:
        source = av.open(url, options={"rw_timeout": timeout_us, "timeout": timeout_us,
                                       "user_agent": USER_AGENT})
    except av.error.HTTPNotFoundError:
        raise FetchError("the server answered HTTP 404 (Not Found)") from None
    except av.error.HTTPError as exc:
        raise FetchError(f"the server refused the playlist ({exc.strerror})") from None
    except av.error.ConnectionRefusedError:
        raise FetchError(f"cannot connect to {_host(url)} (connection refused)") from None
    except (av.error.FFmpegError, OSError) as exc:
        raise FetchError(f"cannot read the playlist: {getattr(exc, 'strerror', exc)}") from None
    with source:
        if not source.streams.audio:
            raise FetchError("no audio stream in the playlist")
        audio = source.streams.audio[0]
        done = 0
        with av.open(str(dest), "w", format="mp4") as out:
            stream = out.add_stream_from_template(audio)
            first: av.Packet | None = None  # held back until the next one shows if it primes
            start = first_pts = 0
            try:
                for packet in source.demux(audio):
                    if packet.dts is None or packet.pts is None:
                        continue  # the demuxer's end-of-stream marker
                    done += packet.size
                    if done > limits.max_bytes:
                        raise FetchError(f"stopped at {_mb(done)}: over the size limit of "
                                         f"{_mb(limits.max_bytes)} (--max-download-mb)")
                    if first is None and done == packet.size:
                        first, start = packet, packet.pts
                        first_pts = packet.pts
                        continue
                    if first is not None:
                        priming = packet.pts == first_pts
                        back = _frame_ticks(audio, first) if priming else 0
                        _mux_at(out, stream, first, first_pts - start - back)
                        first = None
                    _mux_at(out, stream, packet, packet.pts - start)
                    if progress is not None:
                        progress(done, None)
                if first is not None:
                    _mux_at(out, stream, first, 0)
            except (av.error.FFmpegError, OSError) as exc:
                raise FetchError("the playlist broke off after "
                                 f"{_mb(done)}: {getattr(exc, 'strerror', exc)}") from None
    if done == 0:
        raise FetchError("the playlist holds no audio")


def _frame_ticks(audio: av.audio.stream.AudioStream, packet: av.Packet) -> int:
    """One codec frame (1024 samples for AAC) in the packet's time base."""
    frame = audio.codec_context.frame_size or 1024
    rate = audio.codec_context.sample_rate or 48_000
    assert packet.time_base is not None
    return round(Fraction(frame, rate) / packet.time_base)


def _mux_at(out: av.container.OutputContainer, stream: av.stream.Stream, packet: av.Packet,
            pts: int) -> None:
    packet.pts = packet.dts = pts
    packet.stream = stream
    out.mux(packet)


def _host(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return parts.netloc or url


def _reason(reason: object) -> str:
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, socket.gaierror):
        return "unknown host"
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return "timed out"
    return str(getattr(reason, "strerror", None) or reason)
