"""`vaddesk export INPUT --segments FILE`: outputs from every segments format without the model,
sample-exact clips at the source's rate and channels, round trips, and `--condense` on
`vaddesk segment` too."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.support import audio_fixtures as af
from vaddesk.audio.decode import probe
from vaddesk.cli import main
from vaddesk.core.presets import get_preset
from vaddesk.core.types import ChannelInfo, Segment
from vaddesk.export import ModelStamp, SegmentationReport, export_report, segments_from_json

pytestmark = pytest.mark.skipif(bool(af.tools_missing()),
                                reason=f"needs {', '.join(af.tools_missing())}")

# As an editor leaves them: sample-snapped at 44.1 kHz, not whole milliseconds.
TIMES = [("0.712358", "3.104150"), ("3.705011", "5.199977"), ("16.003129", "17.931973")]


@pytest.fixture(scope="session")
def fx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return af.shared_dir(tmp_path_factory)


def _clock(t: Fraction, sep: str) -> str:
    ms = round(t * 1000)
    return (f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}"
            f"{sep}{ms % 1000:03d}")


def _files(folder: Path) -> dict[str, tuple[Path, list[tuple[Fraction, Fraction]]]]:
    """One segments file per format, and the times each one states."""
    exact = [(Fraction(a), Fraction(b)) for a, b in TIMES]
    ms = [(Fraction(round(a * 1000), 1000), Fraction(round(b * 1000), 1000)) for a, b in exact]
    folder.mkdir()
    texts = {
        "labels.txt": ("".join(f"{a}\t{b}\tspeaker {i}\n" for i, (a, b) in enumerate(TIMES)),
                       exact),
        "turns.rttm": ("".join(f"SPEAKER x 1 {a} {Decimal(b) - Decimal(a)} <NA> <NA> s <NA> "
                               "<NA>\n" for a, b in TIMES), exact),
        "subs.srt": ("".join(f"{i}\n{_clock(a, ',')} --> {_clock(b, ',')}\ntext\n\n"
                             for i, (a, b) in enumerate(exact, 1)), ms),
        "subs.vtt": ("WEBVTT\n\n" + "".join(f"{_clock(a, '.')} --> {_clock(b, '.')}\ntext\n\n"
                                            for a, b in exact), ms),
        "table.csv": ("start,end\n" + "".join(f"{a},{b}\n" for a, b in TIMES), exact),
    }
    out = {}
    for name, (text, times) in texts.items():
        (folder / name).write_text(text)
        out[name] = (folder / name, times)
    return out


@pytest.mark.parametrize(("variant", "rate", "channels"), [("stereo44k", 44_100, 2),
                                                          ("float48k", 48_000, 1)])
def test_export_from_every_format_cuts_exact_spans(fx_dir: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str],
                                                   variant: str, rate: int,
                                                   channels: int) -> None:
    source = fx_dir / af.VARIANTS[variant][0]
    original, source_rate = sf.read(source, dtype="float32", always_2d=True)
    assert (source_rate, original.shape[1]) == (rate, channels)
    for name, (path, times) in _files(tmp_path / "in").items():
        out = tmp_path / name
        assert main(["export", str(source), "--segments", str(path), "--out", str(out),
                     "--clips", "--formats", "all"]) == 0, name
        printed = capsys.readouterr().out
        assert printed.startswith("exported 3 segments (")
        clips = sorted((out / f"{source.stem}_clips").iterdir())
        assert len(clips) == 3, name
        for clip, (start, end) in zip(clips, times, strict=True):
            data, clip_rate = sf.read(clip, dtype="float32", always_2d=True)
            lo, hi = math.floor(start * rate), math.floor(end * rate)
            assert (clip_rate, data.shape) == (rate, (hi - lo, channels)), (name, clip.name)
            assert np.array_equal(data, original[lo:hi]), (name, clip.name)
        doc = json.loads((out / f"{source.stem}.json").read_text())
        assert [(s["start_ms"], s["end_ms"]) for s in doc["segments"]] == [
            (round(a * 1000), round(b * 1000)) for a, b in times]
        assert doc["model"] is None and doc["preset"] is None


def test_json_with_edits_round_trips_unchanged(fx_dir: Path, tmp_path: Path) -> None:
    source = fx_dir / af.VARIANTS["wav16k"][0]
    preset = get_preset("meeting")
    edited = [Segment(700, 3_110, origin="edited", label="Ann"),
              Segment(3_200, 3_900, origin="added", note="cough?"), Segment(5_000, 6_010)]
    report = SegmentationReport(probe(source), ModelStamp("fsmn-vad-int8.onnx", "int8", "0" * 64),
                                "meeting", preset.params.replace(max_end_silence_ms=500), edited,
                                None)
    (first,) = export_report(report, tmp_path / "a", source.stem, ["json"])
    assert main(["export", str(source), "--segments", str(first), "--out",
                 str(tmp_path / "b")]) == 0
    second = tmp_path / "b" / first.name
    assert second.read_text("utf-8") == first.read_text("utf-8")
    doc = json.loads(second.read_text("utf-8"))
    assert (doc["preset"], doc["modified"]) == ("meeting", True)
    assert segments_from_json(doc) == edited


def test_per_channel_json_keeps_its_channels_and_talk_time(fx_dir: Path,
                                                            tmp_path: Path) -> None:
    """A JSON of speakers per channel (segment --per-channel, the app) exported again keeps
    its `channels` list, so `stats` counts each speaker's talk time as the original does."""
    source = fx_dir / af.VARIANTS["stereo44k"][0]
    sides = (ChannelInfo(0, "Agent", "channel 1 of 2"),
             ChannelInfo(1, "Customer", "channel 2 of 2"))
    segments = [Segment(700, 3_110, 0, "Agent"), Segment(2_500, 5_200, 1, "Customer"),
                Segment(16_000, 17_900, 0, "Agent")]
    report = SegmentationReport(probe(source), ModelStamp("fsmn-vad-int8.onnx", "int8", "0" * 64),
                                "meeting", get_preset("meeting").params, segments, None, sides)
    (first,) = export_report(report, tmp_path / "a", source.stem, ["json"])
    assert main(["export", str(source), "--segments", str(first), "--out",
                 str(tmp_path / "b")]) == 0
    doc = json.loads((tmp_path / "b" / first.name).read_text("utf-8"))
    assert doc["channels"] == [{"index": 0, "speaker": "Agent", "source": "channel 1 of 2"},
                               {"index": 1, "speaker": "Customer", "source": "channel 2 of 2"}]
    assert doc["stats"] == json.loads(first.read_text("utf-8"))["stats"]
    assert [(s["speaker"], s["speech_ms"]) for s in doc["stats"]["speakers"]] == \
        [("Agent", 2_410 + 1_900), ("Customer", 2_700)]
    assert doc["stats"]["overlap_ms"] == 610
    # The same segments as RTTM (no channels list): each named speaker is counted.
    (rttm,) = export_report(report, tmp_path / "c", source.stem, ["rttm"])
    assert main(["export", str(source), "--segments", str(rttm), "--out",
                 str(tmp_path / "d")]) == 0
    doc = json.loads((tmp_path / "d" / first.name).read_text("utf-8"))
    assert [(c["speaker"], c["source"]) for c in doc["channels"]] == \
        [("Agent", "all 2 channels mixed"), ("Customer", "all 2 channels mixed")]
    assert [(s["speaker"], s["speech_ms"], s["turns"]) for s in doc["stats"]["speakers"]] == \
        [("Agent", 2_410 + 1_900, 2), ("Customer", 2_700, 1)]
    assert doc["stats"]["overlap_ms"] == 610


def test_bad_segment_files_and_flags(fx_dir: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    source = fx_dir / af.VARIANTS["wav16k"][0]
    (tmp_path / "empty.txt").write_text("")
    assert main(["export", str(source), "--segments", str(tmp_path / "empty.txt")]) == 2
    assert capsys.readouterr().err == (
        f"vaddesk export: error: cannot read segments from {tmp_path / 'empty.txt'}: the file is "
        "empty (segments are read from vaddesk JSON, Audacity labels, RTTM, SRT, WebVTT or CSV "
        "files)\n")
    (tmp_path / "l.txt").write_text("30\t31\tlate\n2\t3\tfirst\n")
    assert main(["export", str(source), "--segments", str(tmp_path / "l.txt"), "--out",
                 str(tmp_path / "o"), "--condense-gap-ms", "100"]) == 2
    assert "add --condense" in capsys.readouterr().err
    assert main(["export", str(source), "--segments", str(tmp_path / "l.txt"), "--out",
                 str(tmp_path / "o"), "--condense"]) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        "vaddesk export: note: the segments were not in time order: sorted",
        "vaddesk export: warning: segment 2 “late” (30.000–31.000 s) starts after the end of "
        f"the audio ({probe(source).num_frames / 16_000:.3f} s): dropped"]
    assert (tmp_path / "o" / f"{source.stem}.speech.wav").exists()
    assert sf.info(str(tmp_path / "o" / f"{source.stem}.speech.wav")).frames == 16_000
    # again: nothing is overwritten without --overwrite
    assert main(["export", str(source), "--segments", str(tmp_path / "l.txt"), "--out",
                 str(tmp_path / "o"), "--condense"]) == 1
    assert capsys.readouterr().err.endswith(
        f"vaddesk export: error: output already exists: {tmp_path / 'o' / source.stem}.json, "
        f"{tmp_path / 'o' / source.stem}.speech.wav (use --overwrite to replace, or choose "
        "another folder with --out)\n")


def test_segment_condense_writes_speech_only_audio_of_the_detected_segments(
        fx_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = fx_dir / af.VARIANTS["wav16k"][0]
    assert main(["segment", str(source), "--out", str(tmp_path), "--jobs", "1", "--condense",
                 "--condense-gap-ms", "500", "--condense-mode", "condense"]) == 0
    assert f"wrote {tmp_path / (source.stem + '.speech.wav')}" in capsys.readouterr().out
    doc = json.loads((tmp_path / f"{source.stem}.json").read_text())
    parts = doc["condensed"]["parts"]
    segments = segments_from_json(doc)
    assert len(parts) == len(segments) >= 3  # the fixture's pauses keep segments apart
    data, _ = sf.read(tmp_path / f"{source.stem}.speech.wav", dtype="int16")
    lengths = [s.end_ms * 16 - s.start_ms * 16 for s in segments]
    assert data.shape[0] == sum(lengths) + 8_000 * (len(lengths) - 1)
    assert [(p["start_ms"], p["end_ms"]) for p in parts] == [
        (s.start_ms, s.end_ms) for s in segments]
    # a second run with no speech in range: a silent file gives no speech-only audio
    quiet = af.write_wav(tmp_path / "quiet.wav", np.zeros(16_000 * 2, np.float32), 16_000)
    assert main(["segment", str(quiet), "--out", str(tmp_path), "--condense"]) == 0
    out = capsys.readouterr().out
    assert f"note: {quiet}: no speech-only audio: there are no segments to keep\n" in out
    assert not (tmp_path / "quiet.speech.wav").exists()
