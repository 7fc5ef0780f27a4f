"""`vaddesk segment --per-channel`: a stereo call built from two mono recordings gives, per
channel, exactly the segments of that recording analysed alone, named by --speakers, with
talk-time stats equal to values computed here by hand, and every exporter says who spoke."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.support import audio_fixtures as af
from tests.support.two_voices import make_two_sides
from vaddesk.audio.decode import open_audio
from vaddesk.cli import main
from vaddesk.core.engine import segment_blocks
from vaddesk.core.presets import get_preset
from vaddesk.core.types import Segment
from vaddesk.export import segments_from_json

pytestmark = pytest.mark.skipif(bool(af.tools_missing()),
                                reason=f"needs {', '.join(af.tools_missing())}")


@pytest.fixture(scope="module")
def sides(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return make_two_sides(tmp_path_factory.mktemp("two_sides"))


def alone(path: Path) -> list[Segment]:
    with open_audio(path) as reader:
        return segment_blocks(reader.blocks_16k(30_000), get_preset("meeting").params).segments


def test_stereo_call_per_channel(sides: tuple[Path, Path, Path], tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    a_path, b_path, stereo = sides
    seg_a, seg_b = alone(a_path), alone(b_path)
    assert len(seg_a) == 2 and len(seg_b) == 2  # the fixture's two lines per side
    out = tmp_path / "out"
    assert main(["segment", str(stereo), "--per-channel", "--speakers", "Agent, Customer",
                 "--formats", "all", "--clips", "--out", str(out), "-j", "1"]) == 0
    doc = json.loads((out / "call_stereo.json").read_text("utf-8"))
    assert doc["schema_version"] == 2
    got = segments_from_json(doc)
    assert [s for s in got if s.channel == 0] == [Segment(s.start_ms, s.end_ms, 0, "Agent")
                                                  for s in seg_a]
    assert [s for s in got if s.channel == 1] == [Segment(s.start_ms, s.end_ms, 1, "Customer")
                                                  for s in seg_b]
    assert [s.start_ms for s in got] == sorted(s.start_ms for s in got)
    assert [s["index"] for s in doc["segments"]] == [1, 2, 3, 4]
    assert doc["channels"] == [{"index": 0, "speaker": "Agent", "source": "channel 1 of 2"},
                               {"index": 1, "speaker": "Customer",
                                "source": "channel 2 of 2"}]
    assert doc["source"]["channel"] is None and doc["source"]["channels"] == 2

    # ---- the stats, by hand: millisecond masks of each side
    assert [s.speaker for s in got] == ["Agent", "Customer", "Agent", "Customer"]  # A B A B
    n = doc["source"]["duration_ms"]
    mask_a, mask_b = np.zeros(n, bool), np.zeros(n, bool)
    for s in seg_a:
        mask_a[s.start_ms:s.end_ms] = True
    for s in seg_b:
        mask_b[s.start_ms:s.end_ms] = True
    speech_a, speech_b = int(mask_a.sum()), int(mask_b.sum())
    both = int((mask_a & mask_b).sum())
    assert both > 0  # the fixture has crosstalk
    assert doc["stats"] == {
        "any_speech_ms": int((mask_a | mask_b).sum()), "overlap_ms": both,
        "speakers": [
            {"speaker": "Agent", "channel": 0, "speech_ms": speech_a,
             "share": round(speech_a / (speech_a + speech_b), 4), "turns": 2,
             "longest_turn_ms": max(s.duration_ms for s in seg_a)},
            {"speaker": "Customer", "channel": 1, "speech_ms": speech_b,
             "share": round(speech_b / (speech_a + speech_b), 4), "turns": 2,
             "longest_turn_ms": max(s.duration_ms for s in seg_b)}]}
    printed = capsys.readouterr().out
    assert "Agent" in printed and "Customer" in printed and "both at once" in printed

    # ---- every exporter carries the speaker
    first = got[0]
    rttm = (out / "call_stereo.rttm").read_text().splitlines()
    assert rttm[0] == (f"SPEAKER call_stereo 1 {first.start_ms / 1000:.3f} "
                       f"{first.duration_ms / 1000:.3f} <NA> <NA> Agent <NA> <NA>")
    assert rttm[1].split()[2] == "2" and rttm[1].split()[7] == "Customer"
    srt = (out / "call_stereo.srt").read_text()
    assert srt.split("\n\n")[1].splitlines()[2] == "Customer"
    assert "Agent\n" in (out / "call_stereo.vtt").read_text()
    labels = (out / "call_stereo.labels.txt").read_text().splitlines()
    assert [line.split("\t")[2] for line in labels] == ["Agent 1", "Customer 2", "Agent 3",
                                                        "Customer 4"]
    rows = list(csv.DictReader(io.StringIO((out / "call_stereo.csv").read_text())))
    assert [(r["speaker"], r["channel"]) for r in rows] == [
        ("Agent", "0"), ("Customer", "1"), ("Agent", "0"), ("Customer", "1")]

    # ---- clips: mono, from the segment's own channel, sample-exact
    mono_a, _ = sf.read(a_path, dtype="int16")
    mono_b, _ = sf.read(b_path, dtype="int16")
    for item, seg in zip(doc["segments"], got, strict=True):
        clip, rate = sf.read(out / "call_stereo_clips" / item["clip"], dtype="int16")
        source = mono_a if seg.channel == 0 else mono_b
        assert clip.ndim == 1 and rate == 16_000
        assert np.array_equal(clip, source[seg.start_ms * 16:seg.end_ms * 16])


def test_clips_all_channels_and_default_names(sides: tuple[Path, Path, Path],
                                              tmp_path: Path) -> None:
    _, _, stereo = sides
    assert main(["segment", str(stereo), "--per-channel", "--clips", "--clips-all-channels",
                 "--out", str(tmp_path), "-j", "1"]) == 0
    doc = json.loads((tmp_path / "call_stereo.json").read_text("utf-8"))
    assert [c["speaker"] for c in doc["channels"]] == ["Channel 1", "Channel 2"]
    both, _ = sf.read(stereo, dtype="int16")
    item = doc["segments"][1]
    clip, _ = sf.read(tmp_path / "call_stereo_clips" / item["clip"], dtype="int16")
    assert clip.shape[1] == 2
    assert np.array_equal(clip, both[item["start_ms"] * 16:item["end_ms"] * 16])


def test_per_channel_on_mono_and_bad_speakers(sides: tuple[Path, Path, Path], tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    a_path, _, stereo = sides
    assert main(["segment", str(a_path), "--per-channel", "--json-out",
                 str(tmp_path / "a.json")]) == 0
    printed = capsys.readouterr().out
    assert "mono file: --per-channel found one channel, analysed as one speaker " \
           "(Channel 1)" in printed
    doc = json.loads((tmp_path / "a.json").read_text("utf-8"))
    assert doc["channels"] == [{"index": 0, "speaker": "Channel 1", "source": "mono"}]
    assert [(s.start_ms, s.end_ms) for s in segments_from_json(doc)] == \
        [(s.start_ms, s.end_ms) for s in alone(a_path)]

    assert main(["segment", str(stereo), "--per-channel", "--speakers", "A,B,C",
                 "--json-out", str(tmp_path / "c.json")]) == 1
    assert "--speakers names 3 speakers (A, B, C) but the file has 2 channels" in \
        capsys.readouterr().out
    assert not (tmp_path / "c.json").exists()


@pytest.mark.parametrize(("argv", "message"), [
    (["--speakers", "A,B"], "--speakers names the channels of --per-channel: add --per-channel"),
    (["--per-channel", "--speakers", "A,,B"], "has an empty name"),
    (["--per-channel", "--speakers", "A,A"], "names A twice"),
    (["--per-channel", "--channel", "1"], "use one of them"),
])
def test_usage_errors(sides: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str],
                      argv: list[str], message: str) -> None:
    assert main(["segment", str(sides[2]), *argv]) == 2
    assert message in capsys.readouterr().err


def test_a_vaddesk_two_sided_recording_names_its_sides(sides: tuple[Path, Path, Path],
                                                      tmp_path: Path) -> None:
    """A recording made by vaddesk with computer audio says who is on which channel: without
    --speakers its sides are You and Others, their sources microphone and computer audio."""
    from vaddesk.audio.channel_names import ChannelNames
    from vaddesk.audio.recorder import WavRecorder

    a_path, b_path, _ = sides
    a, _ = sf.read(a_path, dtype="float32")
    b, _ = sf.read(b_path, dtype="float32")
    recording = tmp_path / "recording.wav"
    with WavRecorder(recording, channels=2,
                     names=ChannelNames(("You", "Others"),
                                        ("microphone", "computer audio"))) as rec:
        rec.write(np.stack([a, b], axis=1))
    assert main(["segment", str(recording), "--per-channel", "--json-out",
                 str(tmp_path / "r.json")]) == 0
    doc = json.loads((tmp_path / "r.json").read_text("utf-8"))
    assert doc["channels"] == [{"index": 0, "speaker": "You", "source": "microphone"},
                               {"index": 1, "speaker": "Others", "source": "computer audio"}]
    got = segments_from_json(doc)
    assert [(s.start_ms, s.end_ms) for s in got if s.speaker == "You"] == \
        [(s.start_ms, s.end_ms) for s in alone(a_path)]
    assert [(s.start_ms, s.end_ms) for s in got if s.speaker == "Others"] == \
        [(s.start_ms, s.end_ms) for s in alone(b_path)]
