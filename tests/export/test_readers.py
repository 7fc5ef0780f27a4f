"""Segments read back from every format vaddesk writes and from files other tools write:
exact times (Audacity's 6 decimals), labels and notes, and clear messages for bad files."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from vaddesk.audio.decode import probe
from vaddesk.core.presets import get_preset
from vaddesk.core.types import Segment
from vaddesk.export import (
    FORMATS,
    ModelStamp,
    SegmentationReport,
    SegmentsFileError,
    export_report,
    read_segments_file,
    report_to_json,
)
from vaddesk.export.readers import clamp_to_duration

EDITED = [Segment(700, 3_110),
          Segment(3_705, 5_200, origin="edited", label="Alice", note="says “yes”, twice"),
          Segment(5_200, 5_210, origin="added"),
          Segment(16_003, 17_999, origin="detected", label="Bob, again")]


@pytest.fixture()
def wav(tmp_path: Path) -> Path:
    path = tmp_path / "talk.wav"
    noise = np.random.default_rng(3).uniform(-0.3, 0.3, (44_100 * 19, 2))
    sf.write(path, noise, 44_100, subtype="PCM_16")
    return path


def _report(wav: Path, segments: list[Segment]) -> SegmentationReport:
    preset = get_preset("meeting")
    params = preset.params.replace(max_end_silence_ms=900)
    return SegmentationReport(probe(wav), ModelStamp("fsmn-vad-int8.onnx", "int8", "ab" * 32),
                              "meeting", params, segments, None)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_written_format_reads_back(wav: Path, tmp_path: Path, fmt: str) -> None:
    (path,) = export_report(_report(wav, EDITED), tmp_path / "out", "talk", [fmt])
    read = read_segments_file(path)
    assert read.format == fmt and read.notes == ()
    spans = [(s.start_ms, s.end_ms) for s in read.segments]
    assert spans == [(s.start_ms, s.end_ms) for s in EDITED]
    assert read.times_s == tuple((Fraction(s.start_ms, 1000), Fraction(s.end_ms, 1000))
                                 for s in EDITED)
    if fmt == "rttm":  # RTTM's name field is the speaker: it has no room for labels
        return
    assert [s.label for s in read.segments] == ["", "Alice", "", "Bob, again"]
    if fmt in ("json", "csv"):  # the formats with room for everything
        assert read.segments == EDITED


def test_json_header_is_kept(wav: Path, tmp_path: Path) -> None:
    report = _report(wav, EDITED)
    (path,) = export_report(report, tmp_path, "talk", ["json"])
    header = read_segments_file(path).header
    assert header is not None
    assert (header.preset, header.preset_modified, header.params, header.model) == (
        "meeting", True, report.params, report.model)
    assert json.loads(path.read_text())["modified"] is True


def test_json_of_schema_version_1_without_origin_and_later_versions(tmp_path: Path) -> None:
    old = {"schema": "vaddesk.segments", "schema_version": 1,
           "segments": [{"index": 1, "start_ms": 10, "end_ms": 990, "duration_ms": 980}]}
    (tmp_path / "old.json").write_text(json.dumps(old))
    assert read_segments_file(tmp_path / "old.json").segments == [Segment(10, 990)]
    newer = {**old, "schema_version": 2, "stats": {"x": 1},
             "segments": [{**old["segments"][0], "origin": "added", "speaker": "S1"}]}
    (tmp_path / "new.json").write_text(json.dumps(newer))
    assert read_segments_file(tmp_path / "new.json").segments == [
        Segment(10, 990, origin="added", speaker="S1")]


def test_audacity_labels_keep_sub_millisecond_times(tmp_path: Path) -> None:
    # What Audacity writes after snapping labels to 44.1 kHz samples, spectral line included.
    text = ("0.700000\t3.110023\tspeech 1\n\t300.000000\t3400.000000\n"
            "3.705011\t5.199977\tAlice\n4.000000\t4.000000\tpoint label\n")
    (tmp_path / "a.txt").write_text(text)
    read = read_segments_file(tmp_path / "a.txt")
    assert read.format == "audacity"
    assert read.times_s == ((Fraction("0.7"), Fraction("3.110023")),
                            (Fraction("3.705011"), Fraction("5.199977")),
                            (Fraction(4), Fraction(4)))
    assert [(s.start_ms, s.end_ms, s.label) for s in read.segments] == [
        (700, 3_110, ""), (3_705, 5_200, "Alice"), (4_000, 4_000, "point label")]
    assert read.notes == ("segments 2 and 3 overlap: kept as they are (merged for speech-only "
                          "audio)",)


def test_other_tools_files(tmp_path: Path) -> None:
    srt = "1\r\n00:00:01,500 --> 00:00:02,250\r\nHello\r\nthere\r\n\r\n2\r\n" \
          "01:00:00,000 --> 01:00:01,001\r\nbye\r\n"
    vtt = "WEBVTT - a meeting\n\nNOTE written by a captioner\n\n" \
          "00:01.500 --> 00:02.250 align:start\nHello\n\nid-2\n00:03.000 --> 00:04.000\n\n"
    rttm = ("SPEAKER meet 1 1.50 0.75 <NA> <NA> spk_A <NA> <NA>\n"
            "SPKR-INFO meet 1 <NA> <NA> <NA> unknown spk_A <NA> <NA>\n"
            "SPEAKER meet 1 0.25 0.5 <NA> <NA> spk_B <NA> <NA>\n")
    csv_text = "Start,End,Label\n1.5,2.25,x\n3,4,\n"
    cases = {"a.srt": (srt, "srt", [(1_500, 2_250, "Hello there"), (3_600_000, 3_601_001, "bye")]),
             "a.vtt": (vtt, "vtt", [(1_500, 2_250, "Hello"), (3_000, 4_000, "")]),
             "a.rttm": (rttm, "rttm", [(250, 750, ""), (1_500, 2_250, "")]),
             "a.csv": (csv_text, "csv", [(1_500, 2_250, "x"), (3_000, 4_000, "")])}
    for name, (text, fmt, expected) in cases.items():
        (tmp_path / name).write_text(text, newline="")
        read = read_segments_file(tmp_path / name)
        assert read.format == fmt, name
        assert [(s.start_ms, s.end_ms, s.label) for s in read.segments] == expected, name
    rttm_read = read_segments_file(tmp_path / "a.rttm")
    assert [s.speaker for s in rttm_read.segments] == ["spk_B", "spk_A"]
    assert rttm_read.notes == ("the segments were not in time order: sorted",)


@pytest.mark.parametrize(("content", "problem"), [
    (b"", "the file is empty"),
    (b"\x00\x01\xff\xfe binary", "it is not a text file"),
    (b"hello world\n", "its content is none of these formats"),
    (b"WEBVTT\n\n", "read as vtt: it holds no segments"),
    (b'{"schema": "other"}', "read as json: a JSON file, but not a vaddesk.segments document"),
    (b"1.0\t0.5\tbackwards\n", "read as audacity: segment(s) 1 end before they start"),
])
def test_bad_segment_files_name_the_formats_read(tmp_path: Path, content: bytes,
                                                 problem: str) -> None:
    path = tmp_path / "labels.txt"
    path.write_bytes(content)
    with pytest.raises(SegmentsFileError) as err:
        read_segments_file(path)
    assert str(err.value) == (f"cannot read segments from {path}: {problem} (segments are read "
                              "from vaddesk JSON, Audacity labels, RTTM, SRT, WebVTT or CSV "
                              "files)")
    with pytest.raises(SegmentsFileError, match="No such file"):
        read_segments_file(tmp_path / "missing.txt")


def test_segments_past_the_end_are_clamped_or_dropped_with_a_warning(tmp_path: Path) -> None:
    (tmp_path / "l.txt").write_text("1\t2\ta\n9.5\t12\tlong one\n10.5\t11\tafter\n")
    read, warnings = clamp_to_duration(read_segments_file(tmp_path / "l.txt"), Fraction(10))
    assert [(s.start_ms, s.end_ms) for s in read.segments] == [(1_000, 2_000), (9_500, 10_000)]
    assert read.times_s[1] == (Fraction("9.5"), Fraction(10))
    assert warnings == [
        "segment 2 “long one” (9.500–12.000 s) ends after the end of the audio (10.000 s): "
        "clamped to it",
        "segment 3 “after” (10.500–11.000 s) starts after the end of the audio (10.000 s): "
        "dropped"]


def test_report_json_says_when_values_differ_from_the_preset(wav: Path) -> None:
    preset = get_preset("meeting")
    same = SegmentationReport(probe(wav), None, "meeting", preset.params, [], None)
    assert report_to_json(same)["modified"] is False
    changed = SegmentationReport(probe(wav), None, "meeting",
                                 preset.params.replace(speech_noise_thres=0.7), [], None)
    assert report_to_json(changed)["modified"] is True
    none = SegmentationReport(probe(wav), None, None, None, [], None)
    doc = report_to_json(none)
    assert (doc["preset"], doc["modified"], doc["parameters"], doc["model"]) == (
        None, None, None, None)
