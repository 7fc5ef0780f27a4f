"""`vaddesk segment` end to end on generated recordings: the same speech in seven encodings gives
the same segments, bad files are reported while the batch goes on, outputs are mirrored and
never overwritten without --overwrite, and the options do what --help says."""

from __future__ import annotations

import json
import os
import pty
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soxr

from tests.support import audio_fixtures as af
from tests.support.terminal import read_all
from vaddesk.cli import main
from vaddesk.core.confidence import segment_confidences
from vaddesk.core.engine import segment_array
from vaddesk.core.params import VadParams
from vaddesk.core.presets import get_preset
from vaddesk.export import segments_from_json

pytestmark = pytest.mark.skipif(bool(af.tools_missing()),
                                reason=f"needs {', '.join(af.tools_missing())}")

REPO = Path(__file__).resolve().parents[2]
# Issue 3's requirement: the seven encodings of the same speech give segments that agree within
# 30 ms at every boundary (vs the 16 kHz WAV; default INT8 model, meeting and funasr presets).
# A requirement, not a measured spread: a model change that breaks it is not shipped.
TOLERANCE_MS = 30


@pytest.fixture(scope="session")
def fx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return af.shared_dir(tmp_path_factory)


def vaddesk(*args: str | Path, cwd: Path | None = None, **kwargs: object
            ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if "stderr" not in kwargs:
        kwargs["capture_output"] = True
    return subprocess.run([sys.executable, "-m", "vaddesk", *map(str, args)], cwd=cwd or REPO,
                          env=env, text=True, check=False, timeout=300,
                          **kwargs)  # type: ignore[call-overload]


def _segments(path: Path) -> list[tuple[int, int]]:
    doc = json.loads(path.read_text("utf-8"))
    return [(s.start_ms, s.end_ms) for s in segments_from_json(doc)]


@pytest.fixture(scope="session")
def batch_run(fx_dir: Path, tmp_path_factory: pytest.TempPathFactory
              ) -> tuple[subprocess.CompletedProcess[str], Path, Path, dict[str, tuple[Path, str]]]:
    """One real batch in two processes: the seven encodings mixed with every bad input."""
    root = tmp_path_factory.mktemp("batch")
    inbox = root / "in"
    (inbox / "phone calls").mkdir(parents=True)
    for name, (fname, _) in af.VARIANTS.items():
        dest = inbox / ("phone calls" if name == "phone8k" else "") / fname
        shutil.copy(fx_dir / fname, dest)
    bad = af.make_bad_inputs(inbox / "bad", fx_dir / af.VARIANTS["wav16k"][0])
    out = root / "out"
    result = vaddesk("segment", inbox, bad["missing"][0], "--recursive", "--out", out,
                     "--jobs", "2", "--formats", "json,srt")
    return result, inbox, out, bad


def test_same_speech_in_seven_encodings_gives_the_same_segments(batch_run: tuple) -> None:
    _, _, out, _ = batch_run
    # v.mp3, v.m4a and v.opus share the stem "v": their outputs keep the extension.
    files = {name: out / ("phone calls" if name == "phone8k" else "") /
             ((fname if fname.startswith("v.") else Path(fname).stem) + ".json")
             for name, (fname, _) in af.VARIANTS.items()}
    reference = _segments(files["wav16k"])
    assert len(reference) == 3  # the three speech turns of the master (meeting preset)
    for name, path in files.items():
        segments = _segments(path)
        assert len(segments) == len(reference), (name, segments, reference)
        worst = max(abs(a - b) for s, r in zip(segments, reference, strict=True)
                    for a, b in zip(s, r, strict=True))
        assert worst <= TOLERANCE_MS, (name, segments, reference)


def test_funasr_preset_agrees_too(fx_dir: Path, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for fname, _ in af.VARIANTS.values():
        shutil.copy(fx_dir / fname, folder / fname)
    assert main(["segment", str(folder), "--preset", "funasr", "--out", str(tmp_path / "o"),
                 "--jobs", "1"]) == 0
    results = {p.stem: _segments(p) for p in (tmp_path / "o").glob("*.json")}
    reference = results["v_16k"]
    assert len(results) == 7 and len(reference) == 3
    for name, segments in results.items():
        assert len(segments) == len(reference), name
        assert max(abs(a - b) for s, r in zip(segments, reference, strict=True)
                   for a, b in zip(s, r, strict=True)) <= TOLERANCE_MS, name


def test_bad_inputs_are_reported_and_the_batch_completes(batch_run: tuple) -> None:
    result, _, out, bad = batch_run
    assert result.returncode == 1, result.stderr
    summary = result.stdout
    assert summary.startswith(f"7 of {7 + len(bad)} files segmented: ")
    assert f"{len(bad)} failed:" in summary
    for name, (path, message) in bad.items():
        line = next((ln for ln in summary.splitlines() if ln.startswith(f"  {path}: ")), None)
        assert line is not None, f"{name} missing from the summary:\n{summary}"
        assert re.search(message, line), (name, line)
    # Every good file has its outputs, mirrored under --out (v.mp3, v.m4a and v.opus share a
    # stem, so they keep their extension); no output for a bad one.
    jsons = sorted(str(p.relative_to(out)) for p in out.rglob("*.json"))
    assert jsons == ["phone calls/v_8k_phone.json", "v.m4a.json", "v.mp3.json", "v.opus.json",
                     "v_16k.json", "v_44k_stereo.json", "v_48k_float.json"]
    assert len(list(out.rglob("*.srt"))) == 7
    assert not (out / "bad").exists()
    # Not a terminal: no progress bar on stderr.
    assert "\r" not in result.stderr and "files" not in result.stderr


def test_equal_stems_never_collide(fx_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    wav = fx_dir / af.VARIANTS["wav16k"][0]
    for rel in ["talk.wav", "talk.mp3", "sub/talk.wav", "Talk.flac"]:
        src = fx_dir / (af.VARIANTS["mp3"][0] if rel.endswith(".mp3") else
                        af.EXTRA_FORMATS["flac96k24"][0] if rel.endswith(".flac") else wav)
        shutil.copy(src, folder / rel)
    assert main(["segment", str(folder), "-r", "--out", str(tmp_path / "o"), "-j", "1"]) == 0
    assert sorted(str(p.relative_to(tmp_path / "o")) for p in (tmp_path / "o").rglob("*")) == [
        "Talk.flac.json", "sub", "sub/talk.json", "talk.mp3.json", "talk.wav.json"]
    # Without --out, beside each input; a second recursive run skips the clips of the first.
    assert main(["segment", str(folder / "sub"), "-r", "-j", "1", "--clips"]) == 0
    assert (folder / "sub" / "talk.json").exists()
    assert len(list((folder / "sub" / "talk_clips").iterdir())) == 3
    assert main(["segment", str(folder / "sub"), "-r", "-j", "1", "--clips",
                 "--overwrite"]) == 0
    assert sorted(p.name for p in (folder / "sub").iterdir()) == ["talk.json", "talk.wav",
                                                                 "talk_clips"]
    assert [p.suffix for p in (folder / "sub" / "talk_clips").iterdir()] == [".wav"] * 3


def test_no_overwrite_without_the_flag(fx_dir: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "a.wav"
    shutil.copy(fx_dir / af.VARIANTS["wav16k"][0], src)
    out = tmp_path / "a.json"
    assert main(["segment", str(src), "--json-out", str(out)]) == 0
    first = out.read_bytes()
    capsys.readouterr()
    assert main(["segment", str(src), "--json-out", str(out), "--preset", "funasr"]) == 1
    text = capsys.readouterr().out
    assert f"{src}: output already exists: {out} (use --overwrite to replace" in text
    assert out.read_bytes() == first
    assert main(["segment", str(src), "--json-out", str(out), "--preset", "funasr",
                 "--overwrite"]) == 0
    assert json.loads(out.read_text())["preset"] == "funasr"


def test_set_precision_channel_and_clips(tmp_path: Path, fx_dir: Path) -> None:
    mono, rate = af.sf.read(fx_dir / af.VARIANTS["wav16k"][0], dtype="float32")
    stereo = np.stack([mono, np.zeros_like(mono)], axis=1)  # speech on the left only
    src = af.write_wav(tmp_path / "left only.wav", stereo, rate)
    out = tmp_path / "o"
    assert main(["segment", str(src), "--out", str(out), "--set", "max_end_silence_ms=700",
                 "--set", "speech_noise_thres=0.65", "--precision", "fp32", "--channel", "0",
                 "--clips", "--pad-ms", "50", "--formats", "json,csv"]) == 0
    doc = json.loads((out / "left only.json").read_text("utf-8"))
    assert doc["model"]["precision"] == "fp32"
    assert doc["model"]["name"] == "fsmn-vad-fp32.onnx"
    assert doc["source"]["channel"] == 0 and doc["source"]["channels"] == 2
    expected = VadParams.from_mapping({"max_end_silence_ms": 700, "speech_noise_thres": 0.65},
                                      base=get_preset("meeting").params)
    assert doc["parameters"] == expected.to_dict()
    assert len(doc["segments"]) == 3
    # confidence per segment: the engine's own scores over the left channel, fp32
    result = segment_array(soxr.resample(mono, rate, 16_000).astype(np.float32)
                           if rate != 16_000 else mono, expected, precision="fp32")
    assert [(s["start_ms"], s["end_ms"]) for s in doc["segments"]] == [
        (s.start_ms, s.end_ms) for s in result.segments]
    want = segment_confidences(result.track, result.segments)
    assert [(s["score_mean"], s["score_min"]) for s in doc["segments"]] == [
        (round(c.score_mean, 4), round(c.score_min, 4)) for c in want]
    clips = sorted((out / "left only_clips").iterdir())
    assert [c.name for c in clips] == [s["clip"] for s in doc["segments"]]
    first = doc["segments"][0]
    data, clip_rate = af.sf.read(clips[0], always_2d=True)
    assert clip_rate == rate and data.shape == (
        (first["end_ms"] + 50) * rate // 1000 - max(0, first["start_ms"] - 50) * rate // 1000, 2)
    # The silent right channel has no speech; a channel that does not exist is an error.
    assert main(["segment", str(src), "--channel", "1", "--json-out",
                 str(tmp_path / "right.json")]) == 0
    assert json.loads((tmp_path / "right.json").read_text())["segments"] == []
    assert main(["segment", str(src), "--channel", "2", "--json-out",
                 str(tmp_path / "none.json")]) == 1


@pytest.mark.parametrize(("argv", "message"), [
    (["--preset", "nope"], "unknown preset 'nope'"),
    (["--set", "max_end_silence_ms=5"], "max_end_silence_ms = 5 is out of range"),
    (["--set", "bogus=1"], "unknown parameter 'bogus'"),
    (["--set", "enter_score=1.5"], "enter_score = 1.5 is out of range: allowed 0.01 to 1.0"),
    (["--set", "exit_score=0.95"], "exit_score must not exceed enter_score (0.95 > 0.9)"),
    (["--set", "detect_mode=single"],
     "boundary_stage works with detect_mode 'multiple' only, got detect_mode 'single'"),
    (["--formats", "json,mp4"], "unknown format(s): mp4"),
    (["--jobs", "0"], "--jobs must be 1 or more"),
    (["--pad-ms", "-5"], "--pad-ms must be 0 or more"),
])
def test_usage_errors_exit_2(fx_dir: Path, capsys: pytest.CaptureFixture[str],
                             argv: list[str], message: str) -> None:
    assert main(["segment", str(fx_dir / af.VARIANTS["wav16k"][0]), *argv]) == 2
    assert message in capsys.readouterr().err


def test_json_out_needs_a_single_input(fx_dir: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["segment", str(fx_dir / "v_16k.wav"), str(fx_dir / "v.mp3"), "--json-out",
                 str(tmp_path / "x.json")]) == 2
    assert "--json-out takes a single input, but 2 files were given" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["segment", str(empty)]) == 2
    assert "no audio files found in" in capsys.readouterr().err


@pytest.mark.slow
def test_progress_bar_on_a_terminal(fx_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("wav16k", "mp3", "m4a"):
        shutil.copy(fx_dir / af.VARIANTS[name][0], folder)
    master, slave = pty.openpty()
    try:
        result = vaddesk("segment", folder, "--out", tmp_path / "o", "-j", "2", stderr=slave,
                         stdout=subprocess.PIPE)
    finally:
        os.close(slave)
    bar = read_all(master)
    assert result.returncode == 0
    assert "3/3 files" in bar and " h audio" in bar and "\r" in bar
    assert result.stdout.startswith("3 of 3 files segmented")


def test_presets_command_lists_every_value(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["presets"]) == 0
    text = capsys.readouterr().out
    for name in ("meeting", "phone", "noisy", "dialogue", "funasr"):
        assert name in text
    for param in VadParams().to_dict():
        assert param in text
    assert main(["presets", "phone", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["phone"]["parameters"] == get_preset("phone").params.to_dict()


def test_help_explains_usage() -> None:
    result = vaddesk("segment", "--help")
    assert result.returncode == 0
    for phrase in ("--recursive", "--preset", "--set PARAM=VALUE", "--clips", "--pad-ms",
                   "--formats", "--jobs", "--overwrite", "exit status", "examples:"):
        assert phrase in result.stdout


def test_batch_runner_events_and_stop(fx_dir: Path, tmp_path: Path) -> None:
    """The runner the GUI's folder queue reuses: events in order, stop skips the rest."""
    from vaddesk.pipeline.batch import (
        CANCELLED,
        BatchOptions,
        FileFinished,
        FileProgress,
        FileStarted,
        plan_items,
        run_batch,
    )

    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("wav16k", "mp3", "opus"):
        shutil.copy(fx_dir / af.VARIANTS[name][0], folder)
    items = plan_items([folder], recursive=False, out_dir=tmp_path / "o")
    options = BatchOptions(get_preset("meeting").params, "meeting")
    events: list[object] = []
    results = run_batch(items, options, jobs=1, on_event=events.append,
                        should_stop=lambda: sum(isinstance(e, FileFinished) for e in events) >= 1)
    assert [r.ok for r in results] == [True, False, False]
    assert [r.error for r in results[1:]] == [CANCELLED, CANCELLED]
    assert isinstance(events[0], FileStarted)
    done_ms = [e.audio_ms for e in events if isinstance(e, FileProgress)]
    assert done_ms == sorted(done_ms) and abs(done_ms[-1] - results[0].duration_ms) <= 10
    assert [type(e).__name__ for e in events[1 + len(done_ms):]] == ["FileFinished"] * 3
    assert results[0].num_segments == 3 and results[0].outputs == [tmp_path / "o" / "v.mp3.json"]
