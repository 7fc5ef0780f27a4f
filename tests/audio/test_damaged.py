"""Damaged recordings: what is there is read, and a warning says what was wrong.

Real files (the espeak-ng master through soundfile/ffmpeg), cut at arbitrary bytes or with the
size fields streaming writers leave; the header repair shared with the recorder.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf

from tests.support import audio_fixtures as af
from tests.support import damaged_fixtures as dmg
from vaddesk.audio import c_stderr, header_repair
from vaddesk.audio.decode import AudioError, open_audio

pytestmark = pytest.mark.skipif(bool(af.tools_missing()),
                                reason=f"needs {', '.join(af.tools_missing())}")


def _read_all(path: Path, dtype: str = "int16") -> tuple[np.ndarray, tuple[str, ...]]:
    with open_audio(path) as reader:
        data = np.concatenate(list(reader.blocks_original(50_000, dtype)))
        return data, reader.info.warnings


@pytest.mark.parametrize(("fmt", "cut_at", "extra"), [
    ("WAV", 0.5, 0), ("WAV", 0.5, 1), ("WAV", 0.37, 3), ("AIFF", 0.5, 2), ("AIFF", 0.61, 1),
    ("W64", 0.5, 3), ("RF64", 0.5, 1)])
def test_cut_pcm_reads_the_whole_frames_present(tmp_path: Path, fmt: str, cut_at: float,
                                                extra: int) -> None:
    case = dmg.make_damaged_pcm(tmp_path, fmt, cut_at, extra)
    data, warnings = _read_all(case.path)
    clean, _ = _read_all(case.clean)
    assert len(data) == case.frames_present
    np.testing.assert_array_equal(data, clean)
    assert len(warnings) == 1 and re.fullmatch(case.warning, warnings[0]), warnings
    with open_audio(case.path) as reader:  # clips: sample-exact spans of the same audio
        rate = reader.info.sample_rate
        np.testing.assert_array_equal(reader.read_original(rate, 2 * rate, "int16"),
                                      clean[rate:2 * rate])
        assert reader.info.num_frames == case.frames_present


@pytest.mark.parametrize("unset", [0, 0xFFFFFFFF])
@pytest.mark.parametrize("fmt", ["WAV", "AIFF"])
def test_unset_size_fields_read_to_the_end(tmp_path: Path, fmt: str, unset: int) -> None:
    case = dmg.make_damaged_pcm(tmp_path, fmt, unset=unset)
    data, warnings = _read_all(case.path)
    np.testing.assert_array_equal(data, _read_all(case.clean)[0])
    assert len(warnings) == 1 and re.fullmatch(case.warning, warnings[0]), warnings


def test_an_intact_file_has_no_warning(tmp_path: Path) -> None:
    case = dmg.make_damaged_pcm(tmp_path, "WAV")
    assert header_repair.inspect(case.clean) is not None
    assert header_repair.inspect(case.clean).damage is None  # type: ignore[union-attr]
    assert _read_all(case.clean)[1] == ()
    # A recording with no samples at all (data size 0, nothing after the header) is intact.
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros((0, 2), np.int16), 44_100, subtype="PCM_16")
    assert header_repair.inspect(empty).damage is None  # type: ignore[union-attr]
    with open_audio(empty) as reader:
        assert list(reader.blocks_original(1000)) == []
        assert reader.info.warnings == () and reader.info.num_frames == 0


@pytest.mark.parametrize("name", list(dmg.STREAMS))
def test_streams_cut_mid_way_decode_up_to_the_cut(tmp_path: Path, name: str) -> None:
    case = dmg.make_damaged_stream(tmp_path, name)
    cut, warnings = _read_all(case.path, "float32")
    whole, whole_warnings = _read_all(case.original, "float32")
    assert whole_warnings == ()
    assert len(warnings) == 1 and re.fullmatch(case.warning + ".*", warnings[0]), warnings
    # Over half the original decodes, identically up to shortly before the cut (a decoder's
    # last frame before the cut may be incomplete).
    assert len(whole) * 0.5 < len(cut) < len(whole)
    settled = len(cut) - 8192
    np.testing.assert_array_equal(cut[:settled], whole[:settled])
    with open_audio(case.path) as reader:
        for _ in reader.blocks_16k():
            pass
        for _ in reader.blocks_16k():  # a second pass says it once
            pass
        assert reader.info.warnings == warnings
    present = float(re.search(r"analysed the (\d+\.\d\d) s", warnings[0])[1])  # type: ignore[index]
    assert present == pytest.approx(reader.info.num_frames / reader.info.sample_rate, abs=0.006)


def test_interrupted_m4a_names_the_missing_index(tmp_path: Path) -> None:
    path = dmg.make_interrupted_m4a(tmp_path)
    with pytest.raises(AudioError) as caught:
        open_audio(path)
    assert caught.value.problem.startswith(
        "the recording was interrupted before its index (the 'moov' box")


def test_decoder_chatter_goes_to_the_log_not_to_fd2(tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    """libmpg123 writes "Warning: Xing stream size off..." to descriptor 2 from C."""
    case = dmg.make_damaged_stream(tmp_path, "mp3")
    r, w = os.pipe()
    saved = os.dup(2)
    os.dup2(w, 2)
    try:
        with caplog.at_level("INFO", logger="vaddesk.audio.c_stderr"):
            _, warnings = _read_all(case.path, "float32")
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(w)
    on_fd2 = os.read(r, 65536)
    os.close(r)
    assert on_fd2 == b""
    assert any("Xing stream size off" in rec.getMessage() for rec in caplog.records)
    assert warnings and warnings[0].startswith("truncated: the header declares")


def test_c_stderr_restores_descriptor_2(tmp_path: Path) -> None:
    before = os.fstat(2)
    with c_stderr.to_log("test"):
        os.write(2, b"from C\n")
        with c_stderr.to_log("nested"):
            pass
    after = os.fstat(2)
    assert (before.st_dev, before.st_ino) == (after.st_dev, after.st_ino)


@pytest.mark.parametrize("fmt", ["WAV", "AIFF", "W64", "RF64"])
def test_repaired_copy_equals_the_first_frames_bit_for_bit(tmp_path: Path, fmt: str) -> None:
    case = dmg.make_damaged_pcm(tmp_path, fmt, 0.43, 3)
    layout = header_repair.inspect(case.path)
    assert layout is not None and layout.damage == "truncated"
    target = tmp_path / f"fixed.{fmt.lower()}"
    header_repair.write_repaired(case.path, layout, target)
    fixed = target.read_bytes()
    original = case.path.read_bytes()
    start = layout.data_offset_bytes
    end = start + case.frames_present * layout.block_align_bytes
    assert fixed[start:end] == original[start:end]  # the samples, bit for bit
    assert len(fixed) == layout.repaired_bytes
    data, _ = sf.read(target, dtype="int16")  # libsndfile reads it as an intact file
    np.testing.assert_array_equal(data, sf.read(case.clean, dtype="int16")[0])
    assert header_repair.inspect(target).damage is None  # type: ignore[union-attr]
    with av.open(str(target)) as container:  # and so does FFmpeg
        frames = sum(f.samples for f in container.decode(audio=0))
    assert frames == case.frames_present
