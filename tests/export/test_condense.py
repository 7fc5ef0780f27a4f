"""Speech-only audio: lengths, exact samples between the fades, the time map, mute mode,
merged overlaps, lossy containers that decode, and what happens with no segments."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf

from vaddesk.audio.decode import open_audio, probe
from vaddesk.core.types import Segment
from vaddesk.export import (
    CondenseOptions,
    OutputExistsError,
    SegmentationReport,
    export_outputs,
)
from vaddesk.export.clips import ClipSpan, clip_spans
from vaddesk.export.condense import FADE_MS, fade_frames, merge_spans, write_condensed

RATE = 44_100
# 700-3110 and 3000-3500 overlap (two speakers): one part 700-3500. 3500-3600 touches it.
SEGMENTS = [Segment(700, 3_110), Segment(3_000, 3_500), Segment(3_500, 3_600),
            Segment(5_205, 6_000), Segment(9_001, 9_011)]
PARTS_MS = [(700, 3_600), (5_205, 6_000), (9_001, 9_011)]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    path = tmp_path_factory.mktemp("condense") / "talk.wav"
    data = np.random.default_rng(7).integers(-20_000, 20_000, (RATE * 10, 2), dtype=np.int16)
    sf.write(path, data, RATE, subtype="PCM_16")
    return path, data


def _frames(ms: int) -> int:
    return ms * RATE // 1000


def _report(path: Path, segments: list[Segment]) -> SegmentationReport:
    return SegmentationReport(probe(path), None, None, None, segments, None)


@pytest.mark.parametrize("gap_ms", [0, 250])
def test_condensed_parts_are_the_original_samples_joined_by_gaps(
        source: tuple[Path, np.ndarray], tmp_path: Path, gap_ms: int) -> None:
    path, data = source
    result = export_outputs(_report(path, SEGMENTS), tmp_path, "talk", ["json"],
                            condense=CondenseOptions("wav", gap_ms))
    assert [p.name for p in result.written] == ["talk.speech.wav", "talk.json"]
    out, rate = sf.read(tmp_path / "talk.speech.wav", dtype="int16")
    assert rate == RATE and out.shape[1] == 2
    lengths = [_frames(b) - _frames(a) for a, b in PARTS_MS]
    gap = gap_ms * RATE // 1000
    assert out.shape[0] == sum(lengths) + gap * (len(lengths) - 1)
    doc = json.loads((tmp_path / "talk.json").read_text())
    condensed = doc["condensed"]
    assert (condensed["file"], condensed["mode"], condensed["gap_ms"], condensed["frames"]) == (
        "talk.speech.wav", "condense", gap_ms, out.shape[0])
    at = 0
    for (start_ms, end_ms), length, part in zip(PARTS_MS, lengths, condensed["parts"],
                                                strict=True):
        assert (part["start_ms"], part["end_ms"], part["start_frame"], part["end_frame"],
                part["condensed_start_frame"]) == (start_ms, end_ms, _frames(start_ms),
                                                   _frames(end_ms), at)
        # the map back: condensed frame c of this part is original frame start + (c - at)
        fade = fade_frames(RATE, length)
        assert fade == min(RATE * FADE_MS // 1000, length // 4)
        got = out[at + fade: at + length - fade]
        assert np.array_equal(got, data[_frames(start_ms) + fade: _frames(end_ms) - fade])
        edge_in, edge_out = out[at: at + fade], out[at + length - fade: at + length]
        orig = data[_frames(start_ms): _frames(end_ms)].astype(np.int32)
        assert np.all(np.abs(edge_in) <= np.abs(orig[:fade]) + 1)  # faded, never louder
        assert np.all(np.abs(edge_out) <= np.abs(orig[-fade:]) + 1)
        assert abs(int(edge_in[0, 0])) < abs(int(orig[fade, 0])) or orig[fade, 0] == 0
        if at:
            assert not out[at - gap: at].any()  # the gap is silence
        at += length + gap
        assert part["condensed_start_ms"] == -(-part["condensed_start_frame"] * 1000 // RATE)


def test_mute_mode_keeps_the_length_and_silences_outside(
        source: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    path, data = source
    with open_audio(path) as reader:
        spans = clip_spans(SEGMENTS, RATE, data.shape[0])
        result = write_condensed(reader, spans, tmp_path / "m.wav",
                                 CondenseOptions("wav", 100, "mute"))
    out, _ = sf.read(tmp_path / "m.wav", dtype="int16")
    assert out.shape == data.shape and result.num_frames == data.shape[0]
    inside = np.zeros(data.shape[0], bool)
    for (a, b), part in zip(PARTS_MS, result.parts, strict=True):
        lo, hi = _frames(a), _frames(b)
        assert (part.start_frame, part.stop_frame, part.condensed_start_frame) == (lo, hi, lo)
        fade = fade_frames(RATE, hi - lo)
        assert np.array_equal(out[lo + fade: hi - fade], data[lo + fade: hi - fade])
        inside[lo:hi] = True
    assert not out[~inside].any()


def test_overlapping_and_touching_spans_merge() -> None:
    spans = [ClipSpan(50, 60), ClipSpan(0, 10), ClipSpan(5, 20), ClipSpan(20, 30),
             ClipSpan(40, 40)]
    assert merge_spans(spans) == [ClipSpan(0, 30), ClipSpan(50, 60)]


@pytest.mark.parametrize(("fmt", "codec", "rate"), [
    ("m4a", "aac", RATE), ("mp3", "mp3", RATE), ("opus", "opus", 48_000), ("flac", "flac", RATE)])
def test_other_formats_decode_to_the_condensed_length(
        source: tuple[Path, np.ndarray], tmp_path: Path, fmt: str, codec: str, rate: int) -> None:
    path, _ = source
    result = export_outputs(_report(path, SEGMENTS), tmp_path, "talk", [],
                            condense=CondenseOptions(fmt, 200))
    (out,) = result.written
    assert out.name == f"talk.speech.{fmt}"
    with av.open(str(out)) as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.name.startswith(codec)
        assert stream.rate == rate and stream.channels == 2
        frames = sum(f.samples for f in container.decode(stream))
    expected = Fraction(result.condensed.num_frames * rate, RATE) if result.condensed else 0
    # encoders pad to whole frames of their own (AAC 1024, Opus 20 ms): at most one extra
    assert expected <= frames <= expected + 1024 + rate // 50


def test_no_segments_means_no_file_and_says_why(source: tuple[Path, np.ndarray],
                                               tmp_path: Path) -> None:
    path, _ = source
    result = export_outputs(_report(path, []), tmp_path, "talk", ["json"],
                            condense=CondenseOptions())
    assert result.notes == ["no speech-only audio: there are no segments to keep"]
    assert [p.name for p in result.written] == ["talk.json"]
    assert "condensed" not in json.loads((tmp_path / "talk.json").read_text())
    past_end = _report(path, [Segment(20_000, 21_000)])
    result = export_outputs(past_end, tmp_path / "b", "talk", [], condense=CondenseOptions())
    assert result.notes == ["no speech-only audio: no segment holds any audio"]
    assert result.written == [] and not (tmp_path / "b" / "talk.speech.wav").exists()


def test_an_existing_speech_file_is_not_overwritten(source: tuple[Path, np.ndarray],
                                                    tmp_path: Path) -> None:
    path, _ = source
    (tmp_path / "talk.speech.wav").write_bytes(b"mine")
    with pytest.raises(OutputExistsError, match=r"talk\.speech\.wav"):
        export_outputs(_report(path, SEGMENTS), tmp_path, "talk", [],
                       condense=CondenseOptions())
    assert (tmp_path / "talk.speech.wav").read_bytes() == b"mine"
    export_outputs(_report(path, SEGMENTS), tmp_path, "talk", [], overwrite=True,
                   condense=CondenseOptions())
    assert sf.info(str(tmp_path / "talk.speech.wav")).frames > 0


def test_exact_label_times_cut_at_their_sample(source: tuple[Path, np.ndarray],
                                               tmp_path: Path) -> None:
    path, data = source
    times = ((Fraction("0.7000113"), Fraction("1.2345678")),)
    report = SegmentationReport(probe(path), None, None, None, [Segment(700, 1_235)], None,
                                times_s=times)
    result = export_outputs(report, tmp_path, "talk", [], condense=CondenseOptions())
    out, _ = sf.read(result.written[0], dtype="int16")
    lo, hi = int(Fraction("0.7000113") * RATE), int(Fraction("1.2345678") * RATE)
    assert (lo, hi) == (30_870, 54_444) and out.shape[0] == hi - lo
    fade = fade_frames(RATE, hi - lo)
    assert np.array_equal(out[fade:-fade], data[lo + fade: hi - fade])
