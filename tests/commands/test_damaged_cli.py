"""Damaged recordings from the command line: `vaddesk segment` analyses what is there and warns
(summary and JSON), `--strict` fails them, `vaddesk repair` writes fixed copies; decoder chatter
stays off stderr; a mistyped command or a missing display gets a sentence and exit status 2."""

from __future__ import annotations

import json
import os
import pty
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf

from tests.support import audio_fixtures as af
from tests.support import damaged_fixtures as dmg
from tests.support.full_disk import FullDisk
from tests.support.terminal import read_all
from vaddesk.audio import header_repair
from vaddesk.cli import SUBCOMMANDS

pytestmark = [pytest.mark.skipif(bool(af.tools_missing()),
                                 reason=f"needs {', '.join(af.tools_missing())}"),
              pytest.mark.slow]  # the damaged folder and its CLI runs take tens of seconds

REPO = Path(__file__).resolve().parents[2]


def vaddesk(*args: str | Path, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run([sys.executable, "-m", "vaddesk", *map(str, args)], cwd=REPO,
                          env=full_env, text=True, check=False, timeout=300,
                          capture_output=True)


@pytest.fixture(scope="module")
def damaged(tmp_path_factory: pytest.TempPathFactory) -> dmg.DamagedFolder:
    return dmg.make_damaged_folder(tmp_path_factory.mktemp("damaged"))


@pytest.fixture(scope="module")
def runs(damaged: dmg.DamagedFolder, tmp_path_factory: pytest.TempPathFactory
         ) -> dict[str, tuple[subprocess.CompletedProcess[str], Path]]:
    """The damaged folder and the references, segmented by real `vaddesk segment` runs."""
    out = tmp_path_factory.mktemp("runs")
    done = {}
    for name, folder, extra in (("damaged", damaged.folder, ["--clips"]),
                                ("reference", damaged.folder.parent / "reference", ["--clips"]),
                                ("strict", damaged.folder, ["--strict"])):
        result = vaddesk("segment", folder, "--out", out / name, "--jobs", "2", *extra)
        done[name] = (result, out / name)
    return done


def _json(out: Path, path: Path) -> dict:
    return json.loads((out / f"{path.stem}.json").read_text("utf-8"))


def _segments(doc: dict) -> list[tuple[int, int]]:
    return [(s["start_ms"], s["end_ms"]) for s in doc["segments"]]


def test_damaged_files_are_analysed_with_warnings(damaged: dmg.DamagedFolder,
                                                  runs: dict) -> None:
    result, out = runs["damaged"]
    assert result.returncode == 0, result.stdout + result.stderr
    count = len(damaged.damaged)
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{count} of {count} files segmented: ")
    assert lines[1] == (f"{count} with a warning (analysed what the file holds; --strict makes "
                        "these failures):")
    assert "failed" not in result.stdout
    expected = {kind: case.warning for kind, case in damaged.pcm.items()}
    expected |= {kind: case.warning + ".*" for kind, case in damaged.streams.items()}
    for kind, path in damaged.damaged.items():
        doc = _json(out, path)
        assert len(doc["warnings"]) == 1, (kind, doc["warnings"])
        assert re.fullmatch(expected[kind], doc["warnings"][0]), (kind, doc["warnings"])
        assert f"  {path}: {doc['warnings'][0]}" in lines, (kind, result.stdout)
        # the JSON's duration is the audio analysed (what the warning says)
        present = re.search(r"analysed the (\d+\.\d\d) s present", doc["warnings"][0])
        assert present is not None
        assert abs(doc["source"]["duration_ms"] - float(present[1]) * 1000) <= 6


def test_cut_pcm_gives_exactly_the_segments_of_the_clean_cut(damaged: dmg.DamagedFolder,
                                                             runs: dict) -> None:
    _, out = runs["damaged"]
    ref_result, ref_out = runs["reference"]
    assert ref_result.returncode == 0, ref_result.stdout + ref_result.stderr
    for kind in damaged.pcm:
        path = damaged.damaged[kind]
        doc, ref = _json(out, path), _json(ref_out, path)
        assert ref["warnings"] == []
        assert _segments(doc) == _segments(ref), kind  # to the millisecond
        assert len(_segments(doc)) >= 1
        assert doc["source"]["duration_ms"] == ref["source"]["duration_ms"]
        # the clips are cut from the audio present: byte for byte the clean cut's clips
        clips = sorted((out / f"{path.stem}_clips").iterdir())
        ref_clips = sorted((ref_out / f"{path.stem}_clips").iterdir())
        assert [c.name for c in clips] == [c.name for c in ref_clips] and clips, kind
        for clip, ref_clip in zip(clips, ref_clips, strict=True):
            assert clip.read_bytes() == ref_clip.read_bytes(), (kind, clip.name)


def test_cut_streams_give_the_originals_segments_up_to_the_cut(damaged: dmg.DamagedFolder,
                                                               runs: dict) -> None:
    _, out = runs["damaged"]
    _, ref_out = runs["reference"]
    for kind in ("flac", "opus"):
        path = damaged.damaged[kind]
        cut, whole = _segments(_json(out, path)), _segments(_json(ref_out, path))
        assert 1 <= len(cut) <= len(whole), kind
        # all but the last segment are the original's; the last one starts where the
        # original's does (it may end early: the file ends inside it)
        assert cut[:-1] == whole[:len(cut) - 1], (kind, cut, whole)
        assert cut[-1][0] == whole[len(cut) - 1][0], (kind, cut, whole)
        assert cut[-1][1] <= whole[len(cut) - 1][1]
    # FLAC is lossless: the clips before the cut are the original's, bit for bit.
    path = damaged.damaged["flac"]
    clips = sorted((out / f"{path.stem}_clips").iterdir())
    ref_clips = sorted((ref_out / f"{path.stem}_clips").iterdir())
    assert len(clips) >= 2
    for clip, ref_clip in zip(clips[:-1], ref_clips, strict=False):
        assert clip.name == ref_clip.name
        assert sf.read(clip, dtype="int16")[0].tobytes() == \
            sf.read(ref_clip, dtype="int16")[0].tobytes()


def test_no_decoder_chatter_on_stderr(runs: dict) -> None:
    """libmpg123 (the cut MP3) and FFmpeg (the cut fragmented MP4) write from C to fd 2."""
    for name in ("damaged", "strict"):
        result, _ = runs[name]
        assert result.stderr == "", result.stderr


def test_strict_fails_each_damaged_file_and_writes_nothing(damaged: dmg.DamagedFolder,
                                                           runs: dict) -> None:
    result, out = runs["strict"]
    assert result.returncode == 1
    count = len(damaged.damaged)
    assert result.stdout.startswith(f"0 of {count} files segmented")
    assert f"{count} failed:" in result.stdout
    for path in damaged.damaged.values():
        assert re.search(rf"^  {re.escape(str(path))}: damaged \(--strict\): "
                         r"(truncated|unfinished header)", result.stdout, re.M), path
    assert not out.exists() or not list(out.rglob("*.json"))


def test_repair_writes_the_first_frames_bit_for_bit(damaged: dmg.DamagedFolder,
                                                    tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for kind in ("wav", "aiff", "wav0"):
        shutil.copy(damaged.damaged[kind], folder)
    mp3 = shutil.copy(damaged.damaged["mp3"], folder)
    result = vaddesk("repair", *sorted(folder.iterdir()), "--out", tmp_path / "fixed")
    assert result.returncode == 1  # the MP3 cannot be repaired; the others were
    assert f"{mp3}: cannot repair: not a WAV/W64/RF64/AIFF file" in result.stdout
    for kind in ("wav", "aiff", "wav0"):
        case = damaged.pcm[kind]
        source = folder / case.path.name
        fixed = tmp_path / "fixed" / case.path.name
        assert re.search(rf"^{re.escape(str(source))}: (truncated|unfinished header).*; wrote "
                         rf"{re.escape(str(fixed))} \(\d+\.\d\d s\)$", result.stdout, re.M)
        assert source.read_bytes() == damaged.damaged[kind].read_bytes()  # untouched
        layout = header_repair.inspect(source)
        assert layout is not None
        start = layout.data_offset_bytes
        end = start + case.frames_present * layout.block_align_bytes
        assert fixed.read_bytes()[start:end] == source.read_bytes()[start:end]
        data, _ = sf.read(fixed, dtype="int16")
        np.testing.assert_array_equal(data, sf.read(case.clean, dtype="int16")[0])
        with av.open(str(fixed)) as container:
            assert sum(f.samples for f in container.decode(audio=0)) == case.frames_present
    # Repaired copies need no repair, and an existing output is never replaced.
    again = vaddesk("repair", tmp_path / "fixed" / damaged.pcm["wav"].path.name,
                    folder / damaged.pcm["wav"].path.name, "--out", tmp_path / "fixed")
    assert again.returncode == 1
    assert "nothing to repair: the header matches the" in again.stdout
    assert "already exists (remove it, or choose another folder with --out)" in again.stdout


def test_repair_in_place_is_atomic(damaged: dmg.DamagedFolder, tmp_path: Path) -> None:
    case = damaged.pcm["wav"]
    target = tmp_path / "meeting.wav"
    shutil.copy(case.path, target)
    before = target.read_bytes()
    layout = header_repair.inspect(target)
    assert layout is not None
    # A (simulated) disk that fills up half way through writing the repair.
    with pytest.raises(OSError, match="No space left"):
        header_repair.repair_in_place(
            target, layout, opener=lambda p: FullDisk(p, len(before) // 3))  # type: ignore[arg-type,return-value]
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["meeting.wav"]  # no temp left
    result = vaddesk("repair", target, "--in-place")
    assert result.returncode == 0, result.stdout
    assert result.stdout.endswith(f"repaired in place ({case.frames_present / 44100:.2f} s)\n")
    fixed = target.read_bytes()
    assert len(fixed) == layout.repaired_bytes
    start, end = layout.data_offset_bytes, layout.data_offset_bytes + layout.present_data_bytes
    assert fixed[start:end] == before[start:end]  # the samples present, bit for bit
    assert sorted(p.name for p in tmp_path.iterdir()) == ["meeting.wav"]
    assert header_repair.inspect(target).damage is None  # type: ignore[union-attr]


def test_repair_says_when_there_is_nothing_to_do(damaged: dmg.DamagedFolder,
                                                 tmp_path: Path) -> None:
    clean = damaged.pcm["wav"].clean
    result = vaddesk("repair", clean)
    assert result.returncode == 0
    assert result.stdout == (f"{clean}: nothing to repair: the header matches the "
                             f"{damaged.pcm['wav'].frames_present / 44100:.2f} s the file "
                             "holds\n")
    assert not clean.with_name(f"{clean.stem}.repaired.wav").exists()
    missing = vaddesk("repair", tmp_path / "nope.wav")
    assert (missing.returncode, missing.stdout) == (1, f"{tmp_path / 'nope.wav'}: cannot "
                                                       "repair: file not found\n")
    damaged_copy = Path(shutil.copy(damaged.damaged["wav"], tmp_path / "cut.wav"))
    before = damaged_copy.read_bytes()
    own = vaddesk("repair", damaged_copy, "--out", tmp_path)
    assert own.returncode == 1
    assert own.stdout == (f"{damaged_copy}: not repaired: --out is the file's own folder, "
                          "where the copy would replace the original (use --in-place for "
                          "that, or another folder)\n")
    assert damaged_copy.read_bytes() == before
    both = vaddesk("repair", clean, "--in-place", "--out", tmp_path)
    assert both.returncode == 2 and "not allowed with argument" in both.stderr


def test_unknown_command_is_named_and_exits_2(tmp_path: Path) -> None:
    started = time.monotonic()
    result = vaddesk("repiar", tmp_path / "x.wav", env={"QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 2
    assert result.stderr == (f"vaddesk: unknown command 'repiar' (commands: "
                             f"{', '.join(SUBCOMMANDS)}; 'vaddesk --help' explains them)\n")
    assert "repair" in SUBCOMMANDS
    assert time.monotonic() - started < 60  # it never opened the app (which would wait)
    typo = vaddesk(tmp_path / "meeting.wav")
    assert typo.returncode == 2
    assert typo.stderr.startswith(f"vaddesk: no such file or folder: '{tmp_path}/meeting.wav'")


def test_no_display_is_a_sentence_and_exit_2(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["PYTHONPATH"] = str(REPO)
    for display in (None, ":93"):  # not set (ssh, server); set but nothing answers
        run_env = dict(env) if display is None else {**env, "DISPLAY": display}
        result = subprocess.run([sys.executable, "-m", "vaddesk", str(tmp_path)], cwd=REPO,
                                env=run_env, text=True, capture_output=True, timeout=120,
                                check=False)
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith("vaddesk: no display found"), result.stderr
        assert "'vaddesk segment FILE...'" in result.stderr
        assert "Aborted" not in result.stderr and "could not connect" not in result.stderr


def test_on_a_terminal_each_warning_shows_as_it_happens(damaged: dmg.DamagedFolder,
                                                        tmp_path: Path) -> None:
    """stderr a real terminal (a pty): the progress line, one `warning:` line per damaged
    file, and no decoder chatter (libmpg123 writes to the terminal it finds on fd 2)."""
    master, slave = pty.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "vaddesk", "segment", str(damaged.folder), "--out",
             str(tmp_path / "o"), "-j", "1"], cwd=REPO, env={**os.environ,
                                                              "PYTHONPATH": str(REPO)},
            stdout=subprocess.PIPE, stderr=slave, text=True, timeout=300, check=False)
    finally:
        os.close(slave)
    terminal = read_all(master).replace("\r\n", "\n")
    assert result.returncode == 0
    lines = [ln.split("\r")[-1].replace("\x1b[K", "") for ln in terminal.split("\n")]
    warned = sorted(ln for ln in lines if ln.startswith("warning: "))
    assert warned == sorted(f"warning: {path}: {w}" for path, w in (
        (path, json.loads((tmp_path / "o" / f"{path.stem}.json").read_text("utf-8"))
         ["warnings"][0]) for path in damaged.damaged.values()))
    others = [ln for ln in lines if ln and not ln.startswith(("warning: ", "["))]
    assert others == [], others  # the progress line, the warnings, nothing else
    assert "Xing" not in terminal and "libmpg123" not in terminal
