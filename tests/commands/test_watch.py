"""`vaddesk watch`: a recording written in chunks over seconds is analysed once, after it is
complete, with the segments of the complete file; a file dropped at once is done too;
SIGINT stops it without a traceback; a restart does nothing twice; a vanished folder is a
clear error, not a busy loop."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.speech_folder import make_speech_folder
from vaddesk.cli import main
from vaddesk.pipeline.manifest import MANIFEST_NAME
from vaddesk.pipeline.watcher import FolderWatcher, WatchedFolderGone

REPO = Path(__file__).resolve().parents[2]


def start_watch(folder: Path, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "vaddesk", "watch", str(folder), "--out", str(out),
         "--settle-s", "2.5", "--poll-s", "0.2", "-j", "1"],
        env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)


def segments(path: Path) -> tuple[list[object], object]:
    """The segments and the decoded length (the source path differs: another folder)."""
    doc = json.loads(path.read_text("utf-8"))
    assert doc["segments"]
    return doc["segments"], doc["source"]["duration_ms"]


def wait_for(path: Path, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


@pytest.mark.slow
def test_chunked_file_done_once_when_complete_then_a_dropped_file(tmp_path: Path) -> None:
    sources = make_speech_folder(tmp_path / "src", 2, repeat=3)
    reference = tmp_path / "reference"
    assert main(["segment", str(tmp_path / "src"), "--out", str(reference), "-j", "1"]) == 0
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    watch = start_watch(inbox, out)
    try:
        data = sources[0].read_bytes()
        target = inbox / sources[0].name
        step = len(data) // 5
        with open(target, "wb") as handle:  # five chunks, 0.7 s apart: ~3 s of writing
            for start in range(0, len(data), step):
                handle.write(data[start:start + step])
                handle.flush()
                time.sleep(0.7)
        last_write_ns = time.time_ns()
        result = out / "call_00.json"
        wait_for(result)
        assert result.stat().st_mtime_ns > last_write_ns  # not before it was complete
        assert segments(result) == segments(reference / "call_00.json")
        shutil.copy(sources[1], inbox / "dropped.tmp")
        os.replace(inbox / "dropped.tmp", inbox / sources[1].name)  # lands at once
        wait_for(out / "call_01.json")
        time.sleep(2.5)  # a few more polls: nothing is done again
        watch.send_signal(signal.SIGINT)
        stdout, stderr = watch.communicate(timeout=20)
    finally:
        if watch.poll() is None:
            watch.kill()
    assert watch.returncode == 0, stderr
    assert "Traceback" not in stderr and "stopped" in stderr
    assert segments(out / "call_01.json") == segments(reference / "call_01.json")
    assert [ln.split(":")[0] for ln in stdout.splitlines()] == ["done", "done"], stdout
    doc = json.loads((out / MANIFEST_NAME).read_text())
    assert [e["done_count"] for e in doc["inputs"]] == [1, 1]
    # A restart finds both done in the manifest and writes nothing.
    times = {p.name: p.stat().st_mtime_ns for p in out.glob("call_*.json")}
    again = start_watch(inbox, out)
    time.sleep(4.5)
    again.send_signal(signal.SIGINT)
    stdout, stderr = again.communicate(timeout=20)
    assert again.returncode == 0 and stdout == "", (stdout, stderr)
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("call_*.json")} == times


def test_watcher_waits_for_a_stable_size_and_reports_once(tmp_path: Path) -> None:
    now = [0.0]
    watcher = FolderWatcher(tmp_path, recursive=False, settle_s=3.0, clock=lambda: now[0])
    f = tmp_path / "a.wav"
    f.write_bytes(b"x" * 100)
    assert watcher.poll() == []            # first seen
    now[0] = 2.0
    assert watcher.poll() == []            # not stable long enough
    with open(f, "ab") as handle:
        handle.write(b"y")
    now[0] = 4.0
    assert watcher.poll() == []            # changed: the clock starts again
    now[0] = 6.9
    assert watcher.poll() == []
    now[0] = 7.0
    assert watcher.poll() == [f]
    now[0] = 20.0
    assert watcher.poll() == []            # once per version
    shutil.rmtree(tmp_path)
    try:
        watcher.poll()
    except WatchedFolderGone as exc:
        assert str(exc) == f"the watched folder {tmp_path} is gone (deleted, renamed or unmounted)"
    else:
        raise AssertionError("no error for a vanished folder")


def test_folder_that_disappears_is_a_clear_error(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    watch = start_watch(inbox, tmp_path / "out")
    assert watch.stderr is not None
    # Wait until it watches (a fixed sleep lost the race on a busy machine: the folder was gone
    # before the command started, a usage error instead).
    started = watch.stderr.readline()
    assert started.startswith(f"watching {inbox}"), started
    inbox.rmdir()
    _, rest = watch.communicate(timeout=20)
    stderr = started + rest
    assert watch.returncode == 1
    assert f"vaddesk watch: error: the watched folder {inbox} is gone" in stderr
    assert "Traceback" not in stderr


def test_watch_usage_errors(tmp_path: Path, capsys) -> None:
    assert main(["watch", str(tmp_path / "nope")]) == 2
    assert f"{tmp_path / 'nope'} is not a folder" in capsys.readouterr().err
    assert main(["watch", str(tmp_path), "--json-out", str(tmp_path / "x.json")]) == 2
    assert "--json-out names one output file" in capsys.readouterr().err


def test_watch_lines_say_what_to_do_and_the_warnings(tmp_path: Path) -> None:
    """A recording whose outputs exist says how to replace them; a damaged one its warning."""
    import io

    from vaddesk.commands.watch import _Printer
    from vaddesk.pipeline.batch import BatchItem, FileFinished, FileResult

    out = io.StringIO()
    printer = _Printer([], out)
    a = BatchItem(tmp_path / "a.wav", tmp_path, "a")
    b = BatchItem(tmp_path / "b.wav", tmp_path, "b")
    printer.on_event(FileFinished(0, FileResult(
        a, False, "outputs already exist: a.json", existing_outputs=(tmp_path / "a.json",))))
    printer.on_event(FileFinished(1, FileResult(
        b, True, duration_ms=26_770, num_segments=1, speech_ms=2_500,
        warnings=("truncated: the header declares 53.53 s, the file holds 26.77 s; analysed "
                  "the 26.77 s present",))))
    assert out.getvalue().splitlines() == [
        f"failed: {a.path}: outputs already exist: a.json (use --overwrite to replace, or "
        "choose another folder with --out)",
        f"done: {b.path}: 1 segment, 2.5 s of speech in 26.8 s",
        f"warning: {b.path}: truncated: the header declares 53.53 s, the file holds 26.77 s; "
        "analysed the 26.77 s present"]
