"""Exporters: every format parses back (strict parsers; RTTM through pyannote.core), clips are
exact spans of the original audio, nothing is overwritten without asking, writes are atomic."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.support import audio_fixtures as af
from vaddesk.audio.decode import open_audio, probe
from vaddesk.core.confidence import SegmentConfidence
from vaddesk.core.model import model_info
from vaddesk.core.params import VadParams
from vaddesk.core.presets import get_preset
from vaddesk.core.types import Segment
from vaddesk.export import (
    FORMATS,
    SCHEMA_ID,
    OutputExistsError,
    SegmentationReport,
    export_report,
    report_to_json,
    segments_from_json,
)
from vaddesk.export import atomic as atomic_mod
from vaddesk.export import clips as clips_mod
from vaddesk.export.atomic import TEMP_PREFIX
from vaddesk.export.names import safe_stem

pytestmark = pytest.mark.skipif(bool(af.tools_missing()),
                                reason=f"needs {', '.join(af.tools_missing())}")

# Boundaries chosen to exercise rounding: 44.1 samples per ms, a 10 ms segment, one past the end.
SEGMENTS = [Segment(700, 3_110), Segment(3_705, 5_200), Segment(5_200, 5_210),
            Segment(16_003, 17_999)]


@pytest.fixture(scope="session")
def fx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return af.shared_dir(tmp_path_factory)


def _report(path: Path, segments: list[Segment] = SEGMENTS) -> SegmentationReport:
    preset = get_preset("meeting")
    return SegmentationReport(probe(path), model_info("int8"), preset.name, preset.params,
                              list(segments), None)


# ---- strict parsers ----------------------------------------------------------------------------


def _ms(text: str) -> int:
    value = Decimal(text) * 1000
    assert value == value.to_integral_value(), f"{text} is not a whole millisecond"
    return int(value)


def parse_audacity(text: str) -> list[Segment]:
    """Audacity's label format: `start<TAB>end<TAB>label`, seconds, one label per line."""
    out = []
    for line in text.splitlines():
        m = re.fullmatch(r"(\d+\.\d+)\t(\d+\.\d+)\t([^\t]*)", line)
        assert m, f"not an Audacity label line: {line!r}"
        out.append(Segment(_ms(m[1]), _ms(m[2])))
    assert text.endswith("\n") or not text
    return out


def parse_rttm_with_pyannote(text: str) -> list[Segment]:
    """Strict 10-field RTTM parse into a pyannote.core Annotation, which must write the very
    same text back (pyannote.core has a writer but no reader; its reader lives in
    pyannote.database, too heavy a test dependency)."""
    from pyannote.core import Annotation
    from pyannote.core import Segment as PSegment

    annotation = Annotation()
    for line in text.splitlines():
        fields = line.split(" ")
        assert len(fields) == 10, line
        kind, uri, channel, start, dur, o1, o2, label, o3, o4 = fields
        assert (kind, channel, o1, o2, o3, o4) == ("SPEAKER", "1", "<NA>", "<NA>", "<NA>",
                                                   "<NA>")
        assert label == "speech"
        annotation.uri = uri
        begin = float(start)
        annotation[PSegment(begin, begin + float(dur)), len(annotation)] = label
    assert annotation.to_rttm() == text
    return [Segment(round(s.start * 1000), round(s.end * 1000))
            for s in annotation.itersegments()]


_CLOCK = r"(\d{{2,}}):([0-5]\d):([0-5]\d)[{sep}](\d{{3}})"


def _clock_ms(m: tuple[str, ...]) -> int:
    h, mi, s, ms = (int(x) for x in m)
    return ((h * 60 + mi) * 60 + s) * 1000 + ms


def parse_srt(text: str) -> list[Segment]:
    out = []
    blocks = text.split("\n\n")
    assert blocks[-1] == ""
    pattern = re.compile(_CLOCK.format(sep=",") + " --> " + _CLOCK.format(sep=","))
    for n, block in enumerate(blocks[:-1], 1):
        index, times, label = block.split("\n")
        assert index == str(n) and label
        m = pattern.fullmatch(times)
        assert m, times
        out.append(Segment(_clock_ms(m.groups()[:4]), _clock_ms(m.groups()[4:])))
    return out


def parse_vtt(text: str) -> list[Segment]:
    header, _, body = text.partition("\n\n")
    assert header == "WEBVTT"
    pattern = re.compile(_CLOCK.format(sep=".") + " --> " + _CLOCK.format(sep="."))
    out = []
    for block in [b for b in body.split("\n\n") if b]:
        lines = block.split("\n")
        timing = lines[1] if "-->" not in lines[0] else lines[0]
        m = pattern.fullmatch(timing)
        assert m, timing
        out.append(Segment(_clock_ms(m.groups()[:4]), _clock_ms(m.groups()[4:])))
    return out


def parse_csv(text: str) -> list[Segment]:
    rows = list(csv.DictReader(io.StringIO(text)))
    out = []
    for n, row in enumerate(rows, 1):
        assert int(row["index"]) == n
        seg = Segment(int(row["start_ms"]), int(row["end_ms"]))
        assert int(row["duration_ms"]) == seg.duration_ms
        assert (_ms(row["start_s"]), _ms(row["end_s"])) == (seg.start_ms, seg.end_ms)
        out.append(seg)
    return out


PARSERS = {"audacity": parse_audacity, "rttm": parse_rttm_with_pyannote, "srt": parse_srt,
           "vtt": parse_vtt, "csv": parse_csv,
           "json": lambda text: segments_from_json(json.loads(text))}


# ---- formats ----------------------------------------------------------------------------------


def test_every_format_parses_back_to_the_same_segments(fx_dir: Path, tmp_path: Path) -> None:
    segments = [*SEGMENTS, Segment(3_600_000 + 59_001, 3_600_000 + 61_999)]  # past an hour
    report = _report(fx_dir / af.VARIANTS["stereo44k"][0], segments)
    written = export_report(report, tmp_path, "talk", FORMATS)
    assert sorted(p.name for p in written) == sorted(
        ["talk.json", "talk.labels.txt", "talk.rttm", "talk.srt", "talk.vtt", "talk.csv"])
    by_format = dict(zip(FORMATS, ["talk.json", "talk.labels.txt", "talk.rttm", "talk.srt",
                                   "talk.vtt", "talk.csv"], strict=True))
    for name, parser in PARSERS.items():
        text = (tmp_path / by_format[name]).read_text("utf-8")
        assert parser(text) == segments, name
    assert "SPEAKER talk 1 3659.001 2.998 <NA> <NA> speech <NA> <NA>\n" in \
        (tmp_path / "talk.rttm").read_text()
    assert "01:00:59,001 --> 01:01:01,999" in (tmp_path / "talk.srt").read_text()
    assert list(tmp_path.glob(f"{TEMP_PREFIX}*")) == []


def test_json_document_has_everything_documented(fx_dir: Path, tmp_path: Path) -> None:
    path = fx_dir / af.VARIANTS["stereo44k"][0]
    report = _report(path)
    export_report(report, tmp_path, "talk", ["json"], clips=True)
    doc = json.loads((tmp_path / "talk.json").read_text("utf-8"))
    model = model_info("int8")
    assert doc["schema"] == SCHEMA_ID == "vaddesk.segments" and doc["schema_version"] == 2
    assert doc["source"] == {"path": str(path.absolute()), "duration_ms": 17_932,
                             "sample_rate": 44_100, "channels": 2, "format": "WAV",
                             "codec": "PCM_16", "channel": None}
    assert doc["model"] == {"name": "fsmn-vad-int8.onnx", "precision": "int8",
                            "sha256": model.sha256}
    assert doc["preset"] == "meeting" and doc["modified"] is False
    assert doc["parameters"] == get_preset("meeting").params.to_dict()
    assert set(doc["parameters"]) == set(VadParams().to_dict())
    assert doc["segments"][1] == {"index": 2, "start_ms": 3_705, "end_ms": 5_200,
                                  "duration_ms": 1_495, "clip": "talk_002_3705-5200.wav",
                                  "channel": None, "speaker": None, "origin": "detected",
                                  "label": "", "note": ""}
    assert doc["speech_ms"] == sum(s.duration_ms for s in SEGMENTS)
    assert report_to_json(report)["segments"][0] == {"index": 1, "start_ms": 700,
                                                     "end_ms": 3_110, "duration_ms": 2_410,
                                                     "channel": None, "speaker": None,
                                                     "origin": "detected", "label": "",
                                                     "note": ""}
    # v2: what was analysed, and talk time (one unnamed voice: a mix of both channels)
    assert doc["channels"] == [{"index": None, "speaker": None,
                                "source": "all 2 channels mixed"}]
    # SEGMENTS: 700-3110, 3705-5200, 5200-5210, 16003-17999 -> 2410+1495+10+1996 = 5911 ms
    assert doc["stats"] == {"any_speech_ms": 5_911, "overlap_ms": 0, "speakers": [
        {"speaker": None, "channel": None, "speech_ms": 5_911, "share": 1.0, "turns": 1,
         "longest_turn_ms": 17_999 - 700}]}


def test_json_confidence_per_segment(fx_dir: Path) -> None:
    confidences = [SegmentConfidence(0.97654, 0.12345), SegmentConfidence(0.5, 0.0),
                   SegmentConfidence(0.1, 0.1), SegmentConfidence(1.0, 0.99999)]
    report = dataclasses.replace(_report(fx_dir / af.VARIANTS["stereo44k"][0]),
                                 confidences=confidences)
    segs = report_to_json(report)["segments"]
    assert {k: segs[0][k] for k in ("index", "start_ms", "score_mean", "score_min")} == {
        "index": 1, "start_ms": 700, "score_mean": 0.9765, "score_min": 0.1235}
    assert "score_mean" not in report_to_json(_report(fx_dir / af.VARIANTS["stereo44k"][0])
                                              )["segments"][0]  # no scores at hand: no field
    assert [(s["score_mean"], s["score_min"]) for s in segs[1:]] == [
        (0.5, 0.0), (0.1, 0.1), (1.0, 1.0)]
    with pytest.raises(ValueError, match="2 confidences for 4 segments"):
        report_to_json(dataclasses.replace(report, confidences=confidences[:2]))


# ---- clips ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "subtype"), [("stereo44k", "PCM_16"), ("flac96k24", "PCM_24"),
                                               ("wav32int", "PCM_32"), ("float48k", "FLOAT"),
                                               ("wav6ch", "PCM_16")])
@pytest.mark.parametrize("pad_ms", [0, 250])
def test_clips_are_exact_spans_of_the_original(fx_dir: Path, tmp_path: Path, name: str,
                                               subtype: str, pad_ms: int) -> None:
    path = fx_dir / {**af.VARIANTS, **af.EXTRA_FORMATS}[name][0]
    dtype = "int32" if subtype == "PCM_32" else "float32"
    original, rate = sf.read(path, dtype=dtype, always_2d=True)
    report = _report(path)
    export_report(report, tmp_path, "rec", [], clips=True, pad_ms=pad_ms)
    clips = sorted((tmp_path / "rec_clips").iterdir())
    assert [c.name for c in clips] == ["rec_001_700-3110.wav", "rec_002_3705-5200.wav",
                                       "rec_003_5200-5210.wav", "rec_004_16003-17999.wav"]
    for clip, seg in zip(clips, SEGMENTS, strict=True):
        info = sf.info(clip)
        assert (info.samplerate, info.channels, info.subtype) == (rate, original.shape[1],
                                                                  subtype)
        start = max(0, (seg.start_ms - pad_ms) * rate // 1000)
        stop = min(len(original), (seg.end_ms + pad_ms) * rate // 1000)
        data, _ = sf.read(clip, dtype=dtype, always_2d=True)
        assert data.shape[0] == stop - start
        np.testing.assert_array_equal(data, original[start:stop])


def test_clips_of_compressed_audio_match_the_decoded_audio(fx_dir: Path, tmp_path: Path) -> None:
    path = fx_dir / af.VARIANTS["m4a"][0]
    with open_audio(path) as reader:
        decoded = np.concatenate(list(reader.blocks_original(100_000)))
    rate = 44_100
    export_report(_report(path), tmp_path, "zoom", [], clips=True)
    for clip, seg in zip(sorted((tmp_path / "zoom_clips").iterdir()), SEGMENTS, strict=True):
        data, clip_rate = sf.read(clip, dtype="float32", always_2d=True)
        assert (clip_rate, data.shape[1], sf.info(clip).subtype) == (rate, 2, "PCM_16")
        want = np.clip(decoded[seg.start_ms * rate // 1000: seg.end_ms * rate // 1000], -1, 1)
        assert data.shape == want.shape
        assert np.abs(data - want).max() <= 1 / 32768 + 1e-7  # 16-bit rounding only


def test_unicode_and_unsafe_names(fx_dir: Path, tmp_path: Path) -> None:
    odd = tmp_path / "in" / 'Réunion équipe: lundi "10h"? .wav'
    odd.parent.mkdir()
    odd.write_bytes((fx_dir / af.VARIANTS["wav16k"][0]).read_bytes())
    out = tmp_path / "out"
    written = export_report(_report(odd), out, odd.stem, ["json", "rttm", "srt"], clips=True)
    stem = "Réunion équipe_ lundi _10h__"
    assert safe_stem(odd.stem) == stem
    assert all(p.exists() for p in written)
    names = [p.name for p in written]
    assert f"{stem}_001_700-3110.wav" in names and f"{stem}.json" in names
    for name in names:
        assert not re.search(r'[<>:"/\\|?*\x00-\x1f]', name) and not name.endswith((" ", "."))
    assert (out / f"{stem}.rttm").read_text().startswith("SPEAKER Réunion_équipe__lundi__10h__ 1 ")
    doc = json.loads((out / f"{stem}.json").read_text("utf-8"))
    assert doc["source"]["path"] == str(odd.absolute())
    assert safe_stem("CON") == "_CON" and safe_stem("a" * 300) == "a" * 150
    assert safe_stem("Cafe\u0301") == "Café"  # NFD (macOS) -> NFC


# ---- never overwrite; atomic ------------------------------------------------------------------


def test_no_overwrite_without_the_flag(fx_dir: Path, tmp_path: Path) -> None:
    path = fx_dir / af.VARIANTS["wav16k"][0]
    export_report(_report(path), tmp_path, "m", ["json", "csv"], clips=True)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    fewer = _report(path, SEGMENTS[:2])
    with pytest.raises(OutputExistsError) as caught:
        export_report(fewer, tmp_path, "m", ["json", "csv"], clips=True)
    message = str(caught.value)
    assert str(tmp_path / "m.json") in message and "--" not in message  # no CLI words here
    assert sorted(caught.value.paths) == sorted([tmp_path / "m.csv", tmp_path / "m.json",
                                                 *(tmp_path / "m_clips").glob("m_*.wav")])
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
    # A clip folder holding earlier clips counts as existing output too.
    (tmp_path / "m.json").unlink()
    (tmp_path / "m.csv").unlink()
    with pytest.raises(OutputExistsError, match=r"m_001_700-3110\.wav"):
        export_report(fewer, tmp_path, "m", ["json", "csv"], clips=True)
    export_report(fewer, tmp_path, "m", ["json", "csv"], clips=True, overwrite=True)
    # The stale clips of the earlier run are gone; the JSON names exactly what is there.
    doc = json.loads((tmp_path / "m.json").read_text())
    assert sorted(p.name for p in (tmp_path / "m_clips").iterdir()) == \
        [s["clip"] for s in doc["segments"]] == ["m_001_700-3110.wav", "m_002_3705-5200.wav"]


class _DiskFull:
    """Wraps a real file handle: writes half of the first chunk, then fails like a full disk."""

    def __init__(self, handle: object) -> None:
        self._handle = handle

    def write(self, data: str) -> int:
        self._handle.write(data[: len(data) // 2])  # type: ignore[attr-defined]
        self._handle.flush()  # type: ignore[attr-defined]
        raise OSError(28, "No space left on device")

    def __getattr__(self, name: str) -> object:
        return getattr(self._handle, name)

    def __enter__(self) -> _DiskFull:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()  # type: ignore[attr-defined]


def test_failure_mid_write_leaves_no_half_file(fx_dir: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    path = fx_dir / af.VARIANTS["wav16k"][0]
    export_report(_report(path, SEGMENTS[:1]), tmp_path, "a", ["csv"])
    old_csv = (tmp_path / "a.csv").read_bytes()
    real_open = open
    seen: list[str] = []

    def failing_open(file: object, mode: str = "r", *args: object, **kwargs: object) -> object:
        handle = real_open(file, mode, *args, **kwargs)  # type: ignore[call-overload]
        if "w" in mode:
            seen.append(str(file))
            if len(seen) == 2:  # the second file of the export (the JSON)
                return _DiskFull(handle)
        return handle

    monkeypatch.setattr(atomic_mod, "open", failing_open, raising=False)
    with pytest.raises(OSError, match="No space left"):
        export_report(_report(path), tmp_path, "a", ["csv", "json"], overwrite=True)
    assert Path(seen[1]).name.startswith(TEMP_PREFIX)  # the half-written bytes went here...
    assert not (tmp_path / "a.json").exists()          # ...never under the final name
    assert list(tmp_path.glob(f"{TEMP_PREFIX}*")) == []  # and the temp file is gone
    assert (tmp_path / "a.csv").read_bytes() != old_csv  # the CSV before it was complete
    assert parse_csv((tmp_path / "a.csv").read_text()) == SEGMENTS


def test_failure_while_cutting_clips_leaves_no_clip(fx_dir: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    path = fx_dir / af.VARIANTS["stereo44k"][0]
    calls = []
    real_write = clips_mod.sf.SoundFile.write

    def write_then_fail(self: object, data: np.ndarray) -> None:
        calls.append(len(data))
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real_write(self, data)  # type: ignore[arg-type]

    monkeypatch.setattr(clips_mod.sf.SoundFile, "write", write_then_fail)
    with pytest.raises(OSError, match="No space left"):
        export_report(_report(path), tmp_path, "c", ["json"], clips=True)
    # Clips are cut in 5 s blocks: clip 1 was complete (write 1) and committed; clip 2 had
    # its first part written (write 2) when writing its second part failed (write 3). Clip 2
    # must not exist, neither must the JSON nor any temporary file.
    names = sorted(p.name for p in (tmp_path / "c_clips").iterdir())
    assert names == ["c_001_700-3110.wav"]
    assert len(calls) == 3
    assert not (tmp_path / "c.json").exists()
    assert list((tmp_path / "c_clips").glob(f"{TEMP_PREFIX}*")) == []


def test_one_plan_before_and_after_segmenting(tmp_path: Path) -> None:
    """plan_outputs is the one planner: before segmenting (no segments) it names no clip and
    existing_before_run counts any clip of the stem; after, it names each clip."""
    from vaddesk.export.writer import existing_before_run, existing_outputs, plan_outputs

    chosen = tmp_path / "elsewhere" / "x.json"
    before = plan_outputs(tmp_path, "m", ["csv"], clips=True, json_path=chosen)
    assert before.files == {"csv": tmp_path / "m.csv", "json": chosen}
    assert before.clips_dir == tmp_path / "m_clips" and before.clip_paths == []
    after = plan_outputs(tmp_path, "m", ["csv"], clips=True, json_path=chosen,
                         segments=SEGMENTS[:2])
    assert after.clip_paths == [tmp_path / "m_clips" / "m_001_700-3110.wav",
                                tmp_path / "m_clips" / "m_002_3705-5200.wav"]
    assert existing_before_run(tmp_path, "m", ["csv"], True, chosen) == []
    (tmp_path / "m_clips").mkdir()
    old_clip = tmp_path / "m_clips" / "m_007_1-2.wav"
    old_clip.write_bytes(b"")
    (tmp_path / "m_clips" / "other_001_1-2.wav").write_bytes(b"")  # another stem's
    (tmp_path / "m.csv").write_text("")
    assert existing_before_run(tmp_path, "m", ["csv"], True, chosen) == [tmp_path / "m.csv",
                                                                          old_clip]
    assert existing_outputs(after, "m") == [tmp_path / "m.csv", old_clip]
