"""URLs as inputs, against a real http.server on 127.0.0.1 serving an m4a and an HLS playlist
made by ffmpeg: the same segments as the local file (HLS within 30 ms); a 404, a refused
connection, a web page and an over-size download each fail with a clear message, leave no
cache file, and the rest of the batch goes on."""

from __future__ import annotations

import functools
import http.server
import json
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.dask_cluster import free_port
from tests.support.speech_folder import make_speech_folder
from vaddesk.audio.fetch import cache_path
from vaddesk.cli import main

HLS_TOLERANCE_MS = 30


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("site")
    wav = make_speech_folder(root / "src", 1, repeat=3)[0]
    ffmpeg = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y"]
    # 44.1 kHz as web audio is: HLS (MPEG-TS) carries no AAC priming information, so the
    # encoder delay (1024 samples, 23 ms here) stays at the start of the remuxed audio.
    subprocess.run([*ffmpeg, "-i", wav, "-ar", "44100", "-c:a", "aac", "-b:a", "96k",
                    root / "talk.m4a"], check=True)
    (root / "hls").mkdir()
    subprocess.run([*ffmpeg, "-i", root / "talk.m4a", "-c:a", "copy", "-f", "hls",
                    "-hls_time", "4", "-hls_playlist_type", "vod", "-hls_segment_filename",
                    root / "hls" / "part%03d.ts", root / "hls" / "talk.m3u8"], check=True)
    (root / "page.html").write_text("<!doctype html><html><head><title>Weekly talk</title>"
                                    "</head><body><audio controls src='talk.m4a'></audio>"
                                    "</body></html>")
    (root / "empty.html").write_text("<!doctype html><html><body>No media here.</body></html>")
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


def segments(path: Path) -> list[tuple[int, int]]:
    doc = json.loads(path.read_text("utf-8"))
    return [(s["start_ms"], s["end_ms"]) for s in doc["segments"]]


@pytest.mark.slow
def test_m4a_and_hls_urls_give_the_local_segments(site: tuple[str, Path], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    base, root = site
    assert main(["segment", str(root / "talk.m4a"), "--out", str(tmp_path / "local")]) == 0
    local = segments(tmp_path / "local" / "talk.json")
    assert len(local) >= 3
    out, cache = tmp_path / "out", tmp_path / "cache"
    assert main(["segment", str(root / "talk.m4a"), f"{base}/talk.m4a",
                 f"{base}/hls/talk.m3u8", "--out", str(out), "--cache-dir", str(cache),
                 "-j", "2"]) == 0
    # The local file and two URLs are all called "talk": the URLs' stems get a number.
    assert segments(out / "talk.json") == local
    assert segments(out / "talk_2.json") == local
    hls = segments(out / "talk_3.json")
    assert len(hls) == len(local)
    worst = max(abs(a - b) for s, r in zip(hls, local, strict=True)
                for a, b in zip(s, r, strict=True))
    assert worst <= HLS_TOLERANCE_MS, (hls, local)
    cached = sorted(p.name for p in cache.iterdir())
    assert sorted(n.split("-", 1)[1] for n in cached) == ["talk.m4a", "talk.m4a"]
    assert cache_path(f"{base}/talk.m4a", cache).read_bytes() == (root / "talk.m4a").read_bytes()
    assert "3 of 3 files segmented" in capsys.readouterr().out


@pytest.mark.slow
def test_bad_urls_fail_clearly_and_the_batch_goes_on(site: tuple[str, Path], tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    base, _ = site
    refused = f"http://127.0.0.1:{free_port()}/talk.m4a"
    out, cache = tmp_path / "out", tmp_path / "cache"
    code = main(["segment", f"{base}/missing.m4a", refused, f"{base}/empty.html",
                 f"{base}/hls/missing.m3u8", f"{base}/talk.m4a", "--out", str(out),
                 "--cache-dir", str(cache), "-j", "1"])
    assert code == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    lines = captured.out.splitlines()
    assert lines[0].startswith("1 of 5 files segmented")
    assert f"  {base}/missing.m4a: the server answered HTTP 404 (File not found)" in lines
    port = refused.split(":")[2].split("/")[0]
    assert f"  {refused}: cannot connect to 127.0.0.1:{port} (connection refused)" in lines
    assert (f"  {base}/empty.html: not an audio file: the server sent a web page (text/html) "
            "in which yt-dlp found no audio or video") in lines
    assert f"  {base}/hls/missing.m3u8: the server answered HTTP 404 (Not Found)" in lines
    assert sorted(p.name for p in out.iterdir()) == ["talk.json"]
    assert [p.name.endswith("-talk.m4a") for p in cache.iterdir()] == [True]  # nothing else


def test_download_over_the_size_limit_is_stopped_and_removed(
        site: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base, root = site
    size_mb = (root / "talk.m4a").stat().st_size / 1e6
    cache = tmp_path / "cache"
    assert main(["segment", f"{base}/talk.m4a", f"{base}/hls/talk.m3u8", "--out",
                 str(tmp_path / "o"), "--cache-dir", str(cache),
                 "--max-download-mb", f"{size_mb / 4:.3f}"]) == 1
    lines = capsys.readouterr().out.splitlines()
    limit = f"{size_mb / 4:.1f} MB"
    assert (f"  {base}/talk.m4a: the download is {size_mb:.1f} MB, over the size limit of "
            f"{limit} (--max-download-mb)") in lines
    hls = next(ln for ln in lines if ln.startswith(f"  {base}/hls/talk.m3u8: "))
    assert hls.endswith(f"over the size limit of {limit} (--max-download-mb)"), hls
    assert "stopped at" in hls
    assert list(cache.iterdir()) == []  # no partial file kept
    assert not (tmp_path / "o").exists()


def test_silent_server_times_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import socket
    import time

    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/talk.m4a"
        started = time.monotonic()
        assert main(["segment", url, "--out", str(tmp_path / "o"), "--cache-dir",
                     str(tmp_path / "cache"), "--download-timeout-s", "1"]) == 1
        assert time.monotonic() - started < 5
    host = url.split("/")[2]
    assert f"  {url}: no answer from {host} within 1 s (--download-timeout-s)" in \
        capsys.readouterr().out.splitlines()
    assert list((tmp_path / "cache").iterdir()) == []


def test_page_url_through_yt_dlp(site: tuple[str, Path], tmp_path: Path) -> None:
    """A page with an <audio> element: yt-dlp (the `web` extra, in dev) finds the media."""
    base, root = site
    assert main(["segment", str(root / "talk.m4a"), "--out", str(tmp_path / "local")]) == 0
    cache = tmp_path / "cache"
    assert main(["segment", f"{base}/page.html", "--out", str(tmp_path / "o"), "--cache-dir",
                 str(cache)]) == 0
    assert segments(tmp_path / "o" / "page.json") == segments(tmp_path / "local" / "talk.json")
    (cached,) = cache.iterdir()
    assert cached.name.endswith("-page.m4a")
    assert cached.read_bytes() == (root / "talk.m4a").read_bytes()


def test_page_url_without_yt_dlp_says_what_to_install(site: tuple[str, Path],
                                                      tmp_path: Path) -> None:
    import os
    import sys

    base, _ = site
    blocker = tmp_path / "no_yt_dlp"
    blocker.mkdir()
    (blocker / "yt_dlp.py").write_text("raise ImportError('blocked', name='yt_dlp')")
    repo = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-m", "vaddesk", "segment", f"{base}/page.html", "--out",
         str(tmp_path / "o"), "--cache-dir", str(tmp_path / "cache")],
        env={**os.environ, "PYTHONPATH": f"{blocker}{os.pathsep}{repo}"}, text=True,
        capture_output=True, timeout=120, check=False)
    assert result.returncode == 1
    assert (f"  {base}/page.html: not an audio file: the server sent a web page (text/html); "
            'for video-site pages install yt-dlp: pip install "vaddesk[web]"'
            ) in result.stdout.splitlines()
    assert "Traceback" not in result.stderr
    assert list((tmp_path / "cache").iterdir()) == []
