"""Decoding real files made by ffmpeg/sox/espeak-ng: formats, rates, bit depths, channels,
streaming, and a specific message for every kind of bad input."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.support import audio_fixtures as af
from vaddesk.audio.decode import (
    AUDIO_EXTENSIONS,
    AudioError,
    find_audio_files,
    open_audio,
    probe,
)

pytestmark = pytest.mark.skipif(bool(af.tools_missing()),
                                reason=f"needs {', '.join(af.tools_missing())}")


@pytest.fixture(scope="session")
def fx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return af.shared_dir(tmp_path_factory)


@pytest.fixture(scope="session")
def reference_16k(fx_dir: Path) -> np.ndarray:
    return af.master_16k(fx_dir)


def _envelope_db(x: np.ndarray) -> np.ndarray:
    n = len(x) // 160
    frames = x[: n * 160].reshape(n, 160).astype(np.float64)
    return 10 * np.log10((frames**2).mean(axis=1) + 1e-10)


# (name, format, codec, rate, channels) as each file must report itself.
EXPECTED = [
    ("wav16k", "WAV", "PCM_16", 16000, 1), ("stereo44k", "WAV", "PCM_16", 44100, 2),
    ("float48k", "WAVEX", "FLOAT", 48000, 1), ("phone8k", "WAV", "PCM_16", 8000, 1),
    ("mp3", "MP3", "MPEG_LAYER_III", 44100, 1), ("opus", "OGG", "OPUS", 48000, 1),
    ("m4a", "M4A", "aac", 44100, 2), ("flac96k24", "FLAC", "PCM_24", 96000, 1),
    ("ogg", "OGG", "VORBIS", 44100, 1), ("webm", "WEBM", "opus", 48000, 1),
    ("wma", "WMA", "wmav2", 44100, 1), ("mp4", "MP4", "aac", 32000, 1),
    ("aac", "AAC", "aac", 22050, 1), ("aiff", "AIFF", "PCM_16", 22050, 1),
    ("wav192k", "WAVEX", "PCM_24", 192000, 1), ("wav8bit", "WAV", "PCM_U8", 11025, 1),
    ("wav32int", "WAVEX", "PCM_32", 32000, 1), ("wav6ch", "WAVEX", "PCM_16", 48000, 6),
    ("wav_f64", "WAVEX", "DOUBLE", 24000, 1),
]
# Raw ADTS AAC and WMA carry no encoder-delay information: FFmpeg decodes the .aac ~50 ms late
# and the .wma ~50 ms early (measured on these files).
DELAYED = {"aac", "wma"}


@pytest.mark.parametrize(("name", "fmt", "codec", "rate", "channels"), EXPECTED,
                         ids=[e[0] for e in EXPECTED])
def test_each_format_and_rate_decodes_to_the_same_16k_audio(
        fx_dir: Path, reference_16k: np.ndarray, name: str, fmt: str, codec: str, rate: int,
        channels: int) -> None:
    table = {**af.VARIANTS, **af.EXTRA_FORMATS}
    path = fx_dir / table[name][0]
    info = probe(path)
    assert (info.format, info.codec, info.sample_rate, info.channels) == (fmt, codec, rate,
                                                                           channels)
    with open_audio(path) as reader:
        blocks = list(reader.blocks_16k(block_ms=2_000))
        exact = reader.info
    audio = np.concatenate(blocks)
    assert audio.dtype == np.float32 and audio.ndim == 1
    # 16 kHz: 2 s blocks (the last shorter) plus the resampler's tail.
    assert max(len(b) for b in blocks) <= 2 * 32_000
    ref = reference_16k
    # Same length as the master to within a codec frame (lossy codecs pad the end).
    assert abs(len(audio) - len(ref)) <= 0.1 * 16_000
    assert exact.num_frames == pytest.approx(len(audio) * rate / 16_000, abs=rate * 0.02)
    # The speech is the same speech, at the same time: 10 ms energy envelopes match.
    n = min(len(audio), len(ref))
    env, env_ref = _envelope_db(audio[:n]), _envelope_db(ref[:n])
    lags = range(-8, 9)
    corr = [np.corrcoef(np.roll(env, lag), env_ref)[0, 1] for lag in lags]
    best = list(lags)[int(np.argmax(corr))]
    assert max(corr) > 0.9
    assert best == 0 or (name in DELAYED and abs(best) <= 6)
    if codec in ("PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE") and rate >= 16_000:
        # Lossless and full band: the same waveform, sample for sample (ffmpeg's resampler
        # made the file, soxr brings it back: they differ only far below the signal).
        assert np.corrcoef(audio[:n], ref[:n])[0, 1] > 0.995


def test_lossless_16k_wav_passes_through_untouched(fx_dir: Path) -> None:
    path = fx_dir / af.VARIANTS["wav16k"][0]
    original, _ = sf.read(path, dtype="float32")
    with open_audio(path) as reader:
        audio = np.concatenate(list(reader.blocks_16k(block_ms=777)))
    np.testing.assert_array_equal(audio, original)


def test_streaming_resample_equals_one_shot(fx_dir: Path) -> None:
    import soxr

    path = fx_dir / af.VARIANTS["stereo44k"][0]
    data, rate = sf.read(path, dtype="float32")
    one_shot = soxr.resample(data.mean(axis=1), rate, 16_000, quality="HQ")
    with open_audio(path) as reader:
        streamed = np.concatenate(list(reader.blocks_16k(block_ms=333)))
    assert len(streamed) == len(one_shot)
    assert np.abs(streamed - one_shot).max() < 1e-4


def test_channel_pick_and_downmix(tmp_path: Path) -> None:
    rate = 22_050
    t = np.arange(rate) / rate
    left = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    right = np.zeros_like(left)
    path = af.write_wav(tmp_path / "lr.wav", np.stack([left, right], axis=1), rate, "FLOAT")
    with open_audio(path) as reader:
        mix = np.concatenate(list(reader.blocks_16k(channel=None)))
        only_left = np.concatenate(list(reader.blocks_16k(channel=0)))
        only_right = np.concatenate(list(reader.blocks_16k(channel=1)))
        with pytest.raises(AudioError, match=r"has 2 channels; channel 2 does not exist "
                                             r"\(choose 0 to 1\)"):
            list(reader.blocks_16k(channel=2))
    assert np.abs(only_right).max() == 0.0
    np.testing.assert_allclose(mix, only_left / 2, atol=1e-6)
    assert np.sqrt(np.mean(only_left[1000:-1000] ** 2)) == pytest.approx(0.5 / np.sqrt(2),
                                                                         rel=1e-3)


def test_read_original_is_exact_for_libsndfile_formats(fx_dir: Path) -> None:
    path = fx_dir / af.EXTRA_FORMATS["wav32int"][0]
    ints, _ = sf.read(path, dtype="int32", always_2d=True)
    with open_audio(path) as reader:
        assert reader.lossless_dtype() == "int32"
        np.testing.assert_array_equal(reader.read_original(12_345, 23_456, "int32"),
                                      ints[12_345:23_456])
        streamed = np.concatenate(list(reader.blocks_original(10_000, "int32")))
    np.testing.assert_array_equal(streamed, ints)


@pytest.mark.parametrize("name", ["m4a", "webm", "wma"])
def test_read_original_after_a_pass_places_ffmpeg_audio_exactly(fx_dir: Path, name: str) -> None:
    table = {**af.VARIANTS, **af.EXTRA_FORMATS}
    with open_audio(fx_dir / table[name][0]) as reader:
        full = np.concatenate(list(reader.blocks_original(50_000)))
        again = np.concatenate(list(reader.blocks_original(7_000)))
        np.testing.assert_array_equal(again, full)  # sequential passes are reproducible
        span = reader.read_original(600_000, 620_000)
    assert span.shape == (20_000, reader.info.channels)
    # After a seek, AAC's noise substitution draws other random numbers: allow codec noise,
    # but the placement must be exact (a one-sample shift would be far larger).
    assert np.abs(span - full[600_000:620_000]).max() < 0.05
    assert np.corrcoef(span[:, 0], full[600_000:620_000, 0])[0, 1] > 0.999


# ---- bad input --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def bad_inputs(tmp_path_factory: pytest.TempPathFactory, fx_dir: Path
               ) -> dict[str, tuple[Path, str]]:
    return af.make_bad_inputs(tmp_path_factory.mktemp("bad"), fx_dir / af.VARIANTS["wav16k"][0])


# Cut files are not bad input: they are read with a warning (tests/audio/test_damaged.py).
@pytest.mark.parametrize("name", ["missing", "zero", "header", "text", "video", "nan", "inf",
                                  "codec", "garbage"])
def test_bad_input_gives_its_specific_message(bad_inputs: dict[str, tuple[Path, str]],
                                              name: str) -> None:
    path, message = bad_inputs[name]
    # The error may come at open or mid-stream (NaN, truncation): read it all.
    with pytest.raises(AudioError) as caught, open_audio(path) as reader:
        for _ in reader.blocks_16k():
            pass
    assert str(caught.value).startswith(f"{path}: ")
    assert caught.value.path == path
    import re

    assert re.search(message, caught.value.problem), caught.value.problem


def test_permission_denied(tmp_path: Path, fx_dir: Path) -> None:
    """Real permissions. As root (CI) nothing is refused, so the child process drops to user
    'nobody' after importing vaddesk and before opening the file."""
    folder = tmp_path / "locked"
    folder.mkdir()
    target = folder / "secret.wav"
    target.write_bytes((fx_dir / af.VARIANTS["wav16k"][0]).read_bytes())
    target.chmod(0o000)
    drop = ""
    if os.geteuid() == 0:
        drop = "import os; os.setgid(65534); os.setuid(65534)\n"
        for here in [folder, *folder.parents]:  # 'nobody' must reach the file to be refused
            if not here.stat().st_mode & 0o001:
                here.chmod(here.stat().st_mode | 0o011)
    code = ("import sys; from pathlib import Path\n"
            "from vaddesk.audio.decode import open_audio, AudioError\n" + drop +
            "try:\n open_audio(Path(sys.argv[1]))\nexcept AudioError as e:\n print(e)\n")
    repo = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code, str(target)], capture_output=True,
                            text=True, cwd=repo, check=False)
    assert result.stdout.strip() == f"{target}: permission denied (cannot read the file)", \
        result.stderr


def test_find_audio_files_mirrors_folders(tmp_path: Path) -> None:
    root = tmp_path / "in"
    (root / "day 1" / "deep").mkdir(parents=True)
    (root / ".hidden").mkdir()
    for rel in ["a.wav", "b.MP3", "notes.txt", "day 1/c.m4a", "day 1/deep/d.flac",
                ".hidden/e.wav", ".f.wav"]:
        (root / rel).write_bytes(b"x")
    single = tmp_path / "single.ogg"
    single.write_bytes(b"x")
    flat = find_audio_files([root, single], recursive=False)
    assert [(str(f.relative_to(tmp_path)), str(r)) for f, r in flat] == [
        ("in/a.wav", "a.wav"), ("in/b.MP3", "b.MP3"), ("single.ogg", "single.ogg")]
    deep = find_audio_files([root], recursive=True)
    assert [str(r) for _, r in deep] == ["a.wav", "b.MP3", "day 1/c.m4a", "day 1/deep/d.flac"]
    # An explicitly named file is kept whatever it is (it will be reported if it is bad).
    assert find_audio_files([root / "notes.txt"], recursive=False)[0][1] == Path("notes.txt")
    assert {".wav", ".flac", ".ogg", ".opus", ".mp3", ".m4a", ".aac", ".mp4", ".webm", ".wma",
            ".aiff"} <= AUDIO_EXTENSIONS


def test_wav_with_unset_data_size_is_read_to_the_end(fx_dir: Path, tmp_path: Path) -> None:
    """A recorder that crashed before writing the sizes leaves 0 in the RIFF and data fields."""
    good = fx_dir / af.VARIANTS["wav16k"][0]
    raw = bytearray(good.read_bytes())
    at = raw.index(b"data")
    raw[4:8] = raw[at + 4:at + 8] = struct.pack("<I", 0)
    (tmp_path / "crashed.wav").write_bytes(bytes(raw))
    original, _ = sf.read(good, dtype="float32")
    with open_audio(tmp_path / "crashed.wav") as reader:
        audio = np.concatenate(list(reader.blocks_16k()))
    assert reader.info.num_frames == len(original)
    np.testing.assert_array_equal(audio, original)


@pytest.mark.parametrize("name", ["m4a", "webm"])
def test_consecutive_reads_continue_the_decoder(fx_dir: Path, name: str) -> None:
    """Playback reads short consecutive spans from a fresh reader: sample-exact, one pass."""
    table = {**af.VARIANTS, **af.EXTRA_FORMATS}
    path = fx_dir / table[name][0]
    with open_audio(path) as reader:
        full = np.concatenate(list(reader.blocks_original(50_000)))
    with open_audio(path) as reader:
        rate = reader.info.sample_rate
        start, step = 3 * rate, rate // 4
        pieces = [reader.read_original(a, min(a + step, len(full)))
                  for a in range(start, len(full), step)]
    np.testing.assert_array_equal(np.concatenate(pieces), full[start:])


def test_memory_stays_bounded_on_a_long_file(tmp_path: Path) -> None:
    """Ten minutes of 48 kHz stereo (230 MB as float32 if loaded whole) decode and resample
    with a peak of a few blocks (tracemalloc sees numpy's buffers)."""
    import tracemalloc

    rate, minutes = 48_000, 10
    path = tmp_path / "long.wav"
    rng = np.random.default_rng(3)
    minute = (0.1 * rng.standard_normal((rate * 60, 2))).astype(np.float32)
    with sf.SoundFile(path, "w", samplerate=rate, channels=2, subtype="PCM_16") as out:
        for _ in range(minutes):
            out.write(minute)
    del minute
    tracemalloc.start()
    try:
        total = 0
        with open_audio(path) as reader:
            for block in reader.blocks_16k(block_ms=30_000):
                total += len(block)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == minutes * 60 * 16_000
    assert peak < 40e6, f"peak {peak / 1e6:.0f} MB"  # 30 s of stereo float32 is 11.5 MB
