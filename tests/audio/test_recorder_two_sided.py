"""Two-channel recordings (microphone + computer audio): exact samples, the channel names in
the file, the header patched as it goes and repaired after a crash (a real kill -9 is in
tests/integration/test_two_sided_integration.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from vaddesk.audio.channel_names import ChannelNames, read_channel_names
from vaddesk.audio.recorder import WavRecorder, recover_recordings

NAMES = ChannelNames(("You", "Others"), ("microphone", "computer audio"))


def _stereo(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.3 * rng.standard_normal((int(16000 * seconds), 2))).clip(-1, 1).astype(np.float32)


def _pcm16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x * 32768.0), -32768, 32767).astype(np.int16)


def test_two_channels_exact_with_names(tmp_path: Path) -> None:
    audio = _stereo(1.53)
    path = tmp_path / "call.wav"
    with WavRecorder(path, channels=2, names=NAMES) as rec:
        for block in np.array_split(audio, 31):
            rec.write(block)
        assert np.array_equal(_pcm16(rec.read_samples(100, 300)), _pcm16(audio[100:300]))
    data, rate = sf.read(path, dtype="int16")
    assert rate == 16000 and data.shape == (24_480, 2)
    np.testing.assert_array_equal(data, _pcm16(audio))
    assert rec.duration_ms == 1530
    assert read_channel_names(path) == NAMES
    assert read_channel_names(tmp_path / "missing.wav") is None


def test_two_channel_crash_is_repaired(tmp_path: Path) -> None:
    path = tmp_path / "crashed.wav"
    rec = WavRecorder(path, channels=2, names=NAMES)
    audio = _stereo(1.27, seed=3)
    for block in np.array_split(audio, 127):
        rec.write(block)
    rec._file.write(b"\x01\x02")  # type: ignore[union-attr]  # a torn write: half a frame
    path.with_name("crashed.wav.recording").write_text("999999999\n")
    assert sf.info(path).frames == 16000  # the last sync was at 1.0 s (0.5 s interval)
    found = recover_recordings(tmp_path)
    assert [(f.path, f.duration_ms, f.declared_ms) for f in found] == [(path, 1270, 1000)]
    data, _ = sf.read(path, dtype="int16")
    np.testing.assert_array_equal(data, _pcm16(audio))
    assert read_channel_names(path) == NAMES
    rec._file = None  # the "dead" writer must not touch the repaired file
