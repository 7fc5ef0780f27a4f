"""The crash-safe WAV writer: sizes patched as it goes, repaired after a crash, clean on ENOSPC.

The full disk is SIMULATED: the writer's file object raises OSError(ENOSPC) after a byte budget
(a real full filesystem would need root mounts we cannot create in CI). The crash here is a
writer abandoned without close(); a real `kill -9` is in
tests/integration/test_record_integration.py.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pytest
import soundfile as sf

from tests.support.full_disk import FullDisk
from vaddesk.audio.recorder import (
    HEADER_BYTES,
    RecordingStorageError,
    WavRecorder,
    new_recording_path,
    recover_recordings,
)


def _tone(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.3 * rng.standard_normal(int(16000 * seconds))).clip(-1, 1).astype(np.float32)


def _pcm16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x * 32768.0), -32768, 32767).astype(np.int16)


def test_written_file_is_exact_pcm16_and_marker_removed(tmp_path: Path) -> None:
    audio = _tone(2.05)
    path = tmp_path / "a.wav"
    with WavRecorder(path) as rec:
        for block in np.array_split(audio, 97):
            rec.write(block)
        assert path.with_name("a.wav.recording").exists()
    data, rate = sf.read(path, dtype="int16")
    assert rate == 16000
    np.testing.assert_array_equal(data, _pcm16(audio))
    assert not path.with_name("a.wav.recording").exists()
    assert rec.duration_ms == 2050


def test_header_declares_synced_audio_while_recording(tmp_path: Path) -> None:
    """Without close(), the header already covers all but < 0.5 s (the sync interval)."""
    path = tmp_path / "live.wav"
    rec = WavRecorder(path)
    audio = _tone(3.33)
    for block in np.array_split(audio, 333):  # 10 ms blocks
        rec.write(block)
    info = sf.info(path)  # opened by a second reader, as after a crash without recovery
    assert info.frames == rec.samples_written - rec.samples_written % 8000
    assert rec.samples_written - info.frames < 8000
    assert rec.sync_count == 6
    rec.close()


def test_recover_sets_sizes_from_length_and_reports(tmp_path: Path) -> None:
    path = tmp_path / "crashed.wav"
    rec = WavRecorder(path)
    audio = _tone(1.27)
    for block in np.array_split(audio, 127):
        rec.write(block)
    # Simulate the process dying: the file object is dropped without close(); the marker holds
    # a pid that no longer exists.
    path.with_name("crashed.wav.recording").write_text("999999999\n")
    assert sf.info(path).frames == 16000  # the last sync was at 1.0 s
    found = recover_recordings(tmp_path)
    assert [(f.path, f.duration_ms, f.declared_ms) for f in found] == [(path, 1270, 1000)]
    data, _ = sf.read(path, dtype="int16")
    np.testing.assert_array_equal(data, _pcm16(audio))
    assert not path.with_name("crashed.wav.recording").exists()
    assert recover_recordings(tmp_path) == []
    rec._file = None  # the "dead" writer must not touch the repaired file


def test_recover_leaves_a_live_recording_alone(tmp_path: Path) -> None:
    path = tmp_path / "busy.wav"
    rec = WavRecorder(path)
    rec.write(_tone(0.3))
    path.with_name("busy.wav.recording").write_text(f"{os.getppid()}\n")  # a live process
    assert recover_recordings(tmp_path) == []
    assert path.with_name("busy.wav.recording").exists()
    rec.close()


def test_recover_drops_half_sample_and_empty_files(tmp_path: Path) -> None:
    path = tmp_path / "odd.wav"
    rec = WavRecorder(path)
    rec.write(_tone(0.1))
    rec._file.write(b"\x01")  # type: ignore[union-attr]  # a torn write: half a sample
    path.with_name("odd.wav.recording").write_text("999999999\n")
    rec._file = None
    (tmp_path / "empty.wav").write_bytes(b"RIF")
    (tmp_path / "empty.wav.recording").write_text("999999999\n")
    found = recover_recordings(tmp_path)
    assert [(f.path.name, f.duration_ms) for f in found] == [("odd.wav", 100)]
    assert sf.info(path).frames == 1600
    assert not (tmp_path / "empty.wav").exists()


def test_full_disk_stops_cleanly_and_keeps_the_audio(tmp_path: Path) -> None:
    path = tmp_path / "full.wav"
    budget = HEADER_BYTES + 2 * 12_345 + 1  # ends mid-sample, as a real full disk can

    def opener(p: Path) -> BinaryIO:
        return FullDisk(p, budget)  # type: ignore[return-value]

    rec = WavRecorder(path, opener=opener)
    audio = _tone(2.0)
    with pytest.raises(RecordingStorageError) as info:
        for block in np.array_split(audio, 100):
            rec.write(block)
    assert str(info.value) == ("recording stopped: the disk is full; "
                               "full.wav keeps the first 0:00:00.7")
    assert info.value.errno == errno.ENOSPC
    assert rec.closed
    data, _ = sf.read(path, dtype="int16")
    np.testing.assert_array_equal(data, _pcm16(audio)[:12_345])
    assert not path.with_name("full.wav.recording").exists()
    with pytest.raises(RecordingStorageError):
        rec.write(audio[:10])  # stays failed, says so again


def test_new_recording_path_is_dated_and_unique(tmp_path: Path) -> None:
    import datetime as dt

    when = dt.datetime(2026, 11, 26, 7, 5, 9)
    first = new_recording_path(tmp_path, when)
    assert first.name == "recording-2026-11-26_07-05-09.wav"
    first.write_bytes(b"")
    assert new_recording_path(tmp_path, when).name == "recording-2026-11-26_07-05-09-2.wav"


def test_cannot_create_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "x.wav").write_bytes(b"taken")
    with pytest.raises(RecordingStorageError, match=r"cannot create .*x\.wav"):
        WavRecorder(tmp_path / "x.wav")
    assert not (tmp_path / "x.wav.recording").exists()
    assert (tmp_path / "x.wav").read_bytes() == b"taken"
