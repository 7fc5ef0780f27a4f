"""`vaddesk segment --resume`: the client SIGKILLed mid-run, then rerun: everything done,
nothing done twice (the manifest's per-input counter and the outputs' write times), and a
rerun redoes exactly what changed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.damaged_fixtures import make_damaged_pcm
from tests.support.speech_folder import make_speech_folder
from vaddesk.cli import main
from vaddesk.pipeline.manifest import MANIFEST_NAME, RECEIPTS_DIR

REPO = Path(__file__).resolve().parents[2]


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def manifest(out: Path) -> dict[str, dict[str, object]]:
    doc = json.loads((out / MANIFEST_NAME).read_text("utf-8"))
    return {Path(str(e["input"])).name: e for e in doc["inputs"]}


def write_times(out: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in out.glob("*.json") if p.name != MANIFEST_NAME}


@pytest.mark.slow
def test_client_killed_then_resumed_does_nothing_twice(tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    make_speech_folder(inbox, 8, repeat=40)  # ~4 min each: ~0.4 s of work each
    reference = tmp_path / "reference"
    assert main(["segment", str(inbox), "--out", str(reference), "-j", "1"]) == 0
    out = tmp_path / "out"
    client = subprocess.Popen(
        [sys.executable, "-m", "vaddesk", "segment", str(inbox), "--out", str(out), "-j", "2",
         "--resume"], env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(write_times(out) if out.exists() else {}) < 3:
        assert client.poll() is None, "the run finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    workers = children(client.pid)
    os.kill(client.pid, signal.SIGKILL)  # the client, not its worker processes
    client.wait()
    assert len(workers) >= 2
    deadline = time.monotonic() + 10  # orphaned workers notice and stop within 0.5 s
    while any(Path(f"/proc/{w}").exists() for w in workers):
        assert time.monotonic() < deadline, "worker processes outlived their client"
        time.sleep(0.05)
    before = write_times(out)
    assert 3 <= len(before) < 8

    assert main(["segment", str(inbox), "--out", str(out), "-j", "2", "--resume"]) == 0
    after = write_times(out)
    assert sorted(after) == [f"call_{i:02d}.json" for i in range(8)]
    assert {name: after[name] for name in before} == before  # none written twice
    entries = manifest(out)
    assert sorted(entries) == [f"call_{i:02d}.wav" for i in range(8)]
    assert {e["done_count"] for e in entries.values()} == {1}
    assert {e["state"] for e in entries.values()} == {"done"}
    for name in after:
        assert (out / name).read_bytes() == (reference / name).read_bytes()
    assert not (out / RECEIPTS_DIR).exists()
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []


@pytest.mark.slow
def test_rerun_redoes_what_changed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inbox = tmp_path / "in"
    files = make_speech_folder(inbox, 3)
    out = tmp_path / "out"
    assert main(["segment", str(inbox), "--out", str(out), "-j", "1", "--resume"]) == 0
    first = write_times(out)
    capsys.readouterr()
    assert main(["segment", str(inbox), "--out", str(out), "-j", "1", "--resume"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("0 of 3 files segmented") and "3 already done" in text
    assert write_times(out) == first
    # A changed input is redone (its old outputs are ours: no --overwrite needed) ...
    files[1].write_bytes(files[2].read_bytes())
    assert main(["segment", str(inbox), "--out", str(out), "-j", "1", "--resume"]) == 0
    assert "1 of 3 files segmented" in capsys.readouterr().out
    now = write_times(out)
    assert [n for n in now if now[n] != first[n]] == ["call_01.json"]
    assert manifest(out)["call_01.wav"]["done_count"] == 2
    # ... and so is everything when a parameter changes.
    assert main(["segment", str(inbox), "--out", str(out), "-j", "2", "--resume",
                 "--set", "max_end_silence_ms=300"]) == 0
    assert "3 of 3 files segmented" in capsys.readouterr().out
    assert [e["done_count"] for e in manifest(out).values()] == [2, 3, 2]
    doc = json.loads((out / "call_00.json").read_text())
    assert doc["parameters"]["max_end_silence_ms"] == 300


def test_outputs_not_in_the_manifest_are_not_replaced(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    inbox = tmp_path / "in"
    make_speech_folder(inbox, 2)
    out = tmp_path / "out"
    out.mkdir()
    (out / "call_00.json").write_text("mine")
    assert main(["segment", str(inbox), "--out", str(out), "-j", "1", "--resume"]) == 1
    text = capsys.readouterr().out
    assert "1 of 2 files segmented" in text
    assert f"call_00.wav: output already exists: {out / 'call_00.json'}" in text
    assert (out / "call_00.json").read_text() == "mine"


def test_speech_only_audio_not_in_the_manifest_is_not_replaced(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--resume with --condense: a <stem>.speech.wav already there counts as an output."""
    inbox = tmp_path / "in"
    make_speech_folder(inbox, 1)
    out = tmp_path / "out"
    out.mkdir()
    (out / "call_00.speech.wav").write_text("mine")
    assert main(["segment", str(inbox), "--out", str(out), "-j", "1", "--resume",
                 "--condense"]) == 1
    text = capsys.readouterr().out
    assert f"output already exists: {out / 'call_00.speech.wav'}" in text
    assert (out / "call_00.speech.wav").read_text() == "mine"
    assert not (out / "call_00.json").exists()


def test_unreadable_manifest_is_a_clear_error(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    inbox = tmp_path / "in"
    make_speech_folder(inbox, 1)
    out = tmp_path / "out"
    out.mkdir()
    (out / MANIFEST_NAME).write_text("{not json")
    assert main(["segment", str(inbox), "--out", str(out), "--resume"]) == 2
    err = capsys.readouterr().err
    assert f"cannot read the run manifest {out / MANIFEST_NAME}" in err
    assert "move it away" in err


def test_unwritable_output_folder_is_a_clear_error(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    inbox = tmp_path / "in"
    make_speech_folder(inbox, 1)
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("x")
    assert main(["segment", str(inbox), "--out", str(blocked / "out"), "--resume"]) == 2
    err = capsys.readouterr().err
    assert f"cannot write the run manifest {blocked / 'out' / MANIFEST_NAME}" in err
    assert "choose a writable output folder with --out" in err
    assert "Traceback" not in err


def test_strict_rerun_does_not_take_a_damaged_file_as_done(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file done with a warning is not done under --strict: the rerun fails it (exit 1)."""
    inbox = tmp_path / "in"
    make_damaged_pcm(inbox, "WAV")
    out = tmp_path / "out"
    assert main(["segment", str(inbox), "--out", str(out), "-j", "1", "--resume"]) == 0
    capsys.readouterr()
    assert main(["segment", str(inbox), "--out", str(out), "-j", "1", "--resume",
                 "--strict"]) == 1
    text = capsys.readouterr().out
    assert "already done" not in text and "cut50+3.wav" in text
