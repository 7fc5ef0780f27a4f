"""The feature frontend against the reference (funasr_onnx's WavFrontend on kaldi-native-fbank).

Real speech: espeak-ng sentences over white noise, generated per test session. The compiled
frontend (the default, ``fbank="exact"``) equals the reference's features and energies bit for
bit. Every step of the numpy replay (``fbank="numpy"``) is checked bit for bit against knf's
own pieces; its features equal the reference's except where glibc's logf (not correctly
rounded) differs from a rounded double log by one ulp; knf itself run through the streaming
frontend (tests/support/fbank_backends.py) is exact.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import kaldi_native_fbank as knf
import numpy as np
import pytest
import soundfile as sf
import soxr
from funasr_onnx.utils.e2e_vad import E2EVadModel
from funasr_onnx.utils.frontend import WavFrontend

from tests.support.fbank_backends import log_fbank_fast, log_fbank_knf
from vaddesk import paths
from vaddesk.core import fbank_native, fbank_replay, fbank_tables
from vaddesk.core.frontend import FbankBackend, StreamingFrontend, compute_features

SR = 16_000
CMVN = paths.model_file("am.mvn")
# Max |ours - reference| over the features (each O(1) after CMVN): one float32 ulp of a log-mel
# value (~2e-6) times the CMVN scale (~0.16); measured 3e-7.
FEATURE_TOLERANCE = 1e-6
# The double-precision FFT of log_fbank_fast: measured ~4e-5.
FAST_TOLERANCE = 2e-4


def _espeak(text: str, voice: str, tmp: Path) -> np.ndarray:
    wav = tmp / f"{voice}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(wav), text], check=True)
    audio, sr = sf.read(wav, dtype="float32")
    return np.asarray(soxr.resample(audio, sr, SR), dtype=np.float32)


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """~9 s: silence, two sentences with a pause, at 15 dB SNR over white noise."""
    tmp = tmp_path_factory.mktemp("speech")
    a = _espeak("The birch canoe slid on the smooth planks.", "en-us", tmp)
    b = _espeak("Glue the sheet to the dark blue background.", "en-gb", tmp)
    gap = np.zeros(int(0.7 * SR), dtype=np.float32)
    clean = np.concatenate([gap, a, gap, gap, b, gap[:1234]])
    rng = np.random.default_rng(7)
    noise = rng.standard_normal(clean.shape[0]).astype(np.float32)
    noise *= np.sqrt(np.mean(a**2) / np.mean(noise**2) / 10**1.5)
    return np.clip(clean + noise, -1.0, 1.0).astype(np.float32)


def _reference_features(samples: np.ndarray) -> np.ndarray:
    """Exactly what Fsmn_vad.extract_feat computes (fbank -> lfr_cmvn -> float32)."""
    front = WavFrontend(
        cmvn_file=str(CMVN),
        window="hamming",
        n_mels=80,
        frame_length=25,
        frame_shift=10,
        lfr_m=5,
        lfr_n=1,
        dither=0.0,
    )
    fbank, _ = front.fbank(samples)
    feats, _ = front.lfr_cmvn(fbank)
    return np.asarray(feats, dtype=np.float32)


def _reference_decibels(samples: np.ndarray) -> np.ndarray:
    vad = E2EVadModel({"frame_in_ms": 10, "frame_length_ms": 25, "sample_rate": SR})
    vad.waveform = samples[None, :]
    vad.ComputeDecibel()
    return np.asarray(vad.decibel, dtype=np.float64)



def _knf_power(rfft: Any, frame: np.ndarray) -> np.ndarray:
    """Power spectrum (257 bins) of one 400-sample windowed frame by knf's own Rfft(512)."""
    padded = np.zeros(512, dtype=np.float32)
    padded[:400] = frame
    packed = np.array(rfft.compute(padded.tolist()), dtype=np.float32)
    power = np.empty(257, dtype=np.float32)
    power[0] = packed[0] * packed[0]
    power[256] = packed[1] * packed[1]
    power[1:256] = packed[2::2] * packed[2::2] + packed[3::2] * packed[3::2]
    return power

def test_compiled_frontend_is_built() -> None:
    # setup.py compiles vaddesk/core/_fbank.c at install; without it vaddesk still
    # works (numpy replay) but several times slower, which an install must not hide.
    assert fbank_native.native_available(), (
        "vaddesk/core/_fbank.c was not compiled: install gcc and the Python headers "
        "(packaging/install.sh does) and reinstall"
    )


def test_compiled_features_equal_reference_bit_for_bit(speech: np.ndarray) -> None:
    ref = _reference_features(speech)
    out = compute_features(speech)
    assert out.first_frame == 0
    assert out.features.dtype == np.float32 and out.features.shape == ref.shape
    np.testing.assert_array_equal(out.features, ref)


def test_numpy_replay_matches_reference(speech: np.ndarray) -> None:
    ref = _reference_features(speech)
    out = compute_features(speech, fbank="numpy")
    assert out.features.dtype == np.float32 and out.features.shape == ref.shape
    diff = np.abs(out.features - ref)
    print(f"max |features - reference| = {diff.max():.3g}, differing: {np.mean(diff > 0):.2e}")
    assert diff.max() < FEATURE_TOLERANCE
    assert np.mean(diff > 0) < 1e-3  # only the rare logf ulps
    assert np.mean(diff > 0) > 0  # ... which this clip has: the test can tell the paths apart
    np.testing.assert_array_equal(out.energy_db, compute_features(speech).energy_db)
    fast = compute_features(speech, fbank=log_fbank_fast)
    assert np.abs(fast.features - ref).max() < FAST_TOLERANCE


def test_fft_is_bit_identical_to_knf(speech: np.ndarray) -> None:
    """Our replay of knf's KissFFT gives knf's Rfft output bit for bit (as power spectra)."""
    clip = speech[2 * SR : 3 * SR]
    n = 1 + (clip.shape[0] - 400) // 160
    windowed = fbank_replay.windowed_frames(fbank_replay.frames_view(clip, n))  # (400, n)
    ours = fbank_replay.kiss_power(windowed)
    rfft = knf.Rfft(512)
    for t in range(n):
        power = _knf_power(rfft, windowed[:, t])
        np.testing.assert_array_equal(ours[:, t], power)


def test_knf_backend_is_bit_exact(speech: np.ndarray) -> None:
    clip = speech[: 3 * SR]
    out = compute_features(clip, fbank=log_fbank_knf)
    np.testing.assert_array_equal(out.features, _reference_features(clip))


def test_energy_equals_reference_decibels(speech: np.ndarray) -> None:
    out = compute_features(speech)
    ref = _reference_decibels(speech)
    assert out.energy_db.dtype == np.float64
    np.testing.assert_array_equal(out.energy_db, ref)


def test_mel_weights_equal_knf() -> None:
    opts = knf.MelBanksOptions()
    opts.num_bins = 80
    frame_opts = knf.FrameExtractionOptions()
    frame_opts.window_type = "hamming"
    frame_opts.dither = 0.0
    expected = knf.MelBanks(opts, frame_opts, 1.0).get_matrix()
    np.testing.assert_array_equal(fbank_tables.mel_weight_matrix(), expected)


def test_every_step_is_knf_exact(speech: np.ndarray) -> None:
    """Our windowed frames through knf's own FFT and mel banks give knf's fbank (<= 1 ulp)."""
    clip = speech[SR : 2 * SR]
    n = 1 + (clip.shape[0] - 400) // 160
    windowed = fbank_replay.windowed_frames(fbank_replay.frames_view(clip, n))  # (400, n)
    fbank_opts = knf.FbankOptions()
    fbank_opts.frame_opts.dither = 0.0
    fbank_opts.frame_opts.window_type = "hamming"
    fbank_opts.mel_opts.num_bins = 80
    fbank_opts.energy_floor = 0
    online = knf.OnlineFbank(fbank_opts)
    online.accept_waveform(SR, (clip * 32768).tolist())
    mel_opts = knf.MelBanksOptions()
    mel_opts.num_bins = 80
    banks = knf.MelBanks(mel_opts, fbank_opts.frame_opts, 1.0)
    rfft = knf.Rfft(512)
    for t in range(0, n, 7):
        power = _knf_power(rfft, windowed[:, t])
        ours = fbank_replay.mel_log(power[:, None].copy())[:, 0]
        # mel sums: bit-identical to knf's MelBanks.compute
        knf_mel = np.maximum(banks.compute(power), np.float32(np.finfo(np.float32).eps))
        np.testing.assert_array_equal(ours, np.log(knf_mel.astype(np.float64)).astype(np.float32))
        theirs = np.asarray(online.get_frame(t), dtype=np.float32)
        # log: ours rounds a double log, knf calls logf (not correctly rounded): <= 1 ulp
        np.testing.assert_array_max_ulp(ours, theirs, maxulp=1)


def _stream(
    samples: np.ndarray, sizes: list[int], fbank: FbankBackend = "exact"
) -> tuple[np.ndarray, np.ndarray]:
    front = StreamingFrontend(fbank=fbank)
    feats: list[np.ndarray] = []
    energy: list[np.ndarray] = []
    pos = 0
    for size in sizes:
        out = front.accept(samples[pos : pos + size])
        assert out.first_frame == sum(f.shape[0] for f in feats)
        feats.append(out.features)
        energy.append(out.energy_db)
        pos += size
        # bounded state: < 1 frame of samples and <= 4 context frames kept
        assert front._pending.shape[0] < 400 and front._rows_tail.shape[0] <= 4
    assert pos >= samples.shape[0]
    out = front.finish()
    assert out.first_frame == sum(f.shape[0] for f in feats)
    feats.append(out.features)
    energy.append(out.energy_db)
    assert front.frames_emitted == sum(f.shape[0] for f in feats)
    return np.concatenate(feats), np.concatenate(energy)


@pytest.mark.slow
def test_one_sample_chunks_are_bitwise_identical(speech: np.ndarray) -> None:
    clip = speech[SR : SR + 6000]
    whole = compute_features(clip)
    feats, energy = _stream(clip, [1] * clip.shape[0])
    np.testing.assert_array_equal(feats, whole.features)
    np.testing.assert_array_equal(energy, whole.energy_db)


@pytest.mark.parametrize(
    ("seed", "fbank"),
    # seed 0 pushes chunks of 0-16 samples: thousands of calls, the slow one
    [pytest.param(0, "exact", marks=pytest.mark.slow), (1, "exact"), (2, "exact"), (1, "numpy"),
     (2, "numpy")],
)
def test_random_chunkings_are_bitwise_identical(
    speech: np.ndarray, seed: int, fbank: FbankBackend
) -> None:
    whole = compute_features(speech, fbank=fbank)
    rng = np.random.default_rng(seed)
    limit = (17, 1_000, 40_000)[seed]  # tiny, 100 ms-ish, multi-block chunks
    sizes: list[int] = []
    while sum(sizes) < speech.shape[0]:
        sizes.append(int(rng.integers(0, limit)))
    feats, energy = _stream(speech, sizes, fbank)
    np.testing.assert_array_equal(feats, whole.features)
    np.testing.assert_array_equal(energy, whole.energy_db)


def test_empty_and_short_input() -> None:
    front = StreamingFrontend()
    out = front.accept(np.zeros(0, dtype=np.float32))
    assert out.features.shape == (0, 400) and out.energy_db.shape == (0,) and out.first_frame == 0
    assert front.finish().features.shape == (0, 400)
    # 399 samples: no complete 25 ms frame, so no features (snip-edges, as the reference)
    assert compute_features(np.full(399, 0.1, dtype=np.float32)).features.shape == (0, 400)
    # exactly one frame: LFR repeats it on both sides
    ramp = np.linspace(-0.5, 0.5, 400, dtype=np.float32)
    one = compute_features(ramp)
    assert one.features.shape == (1, 400)
    assert np.abs(one.features - _reference_features(ramp)).max() < FEATURE_TOLERANCE
    for k in range(1, 5):
        np.testing.assert_array_equal(one.features[0, k * 80 : (k + 1) * 80], one.features[0, :80])


def test_finish_emits_the_last_two_frames_then_reset_restarts(speech: np.ndarray) -> None:
    clip = speech[: 2 * SR]
    n_frames = 1 + (clip.shape[0] - 400) // 160
    front = StreamingFrontend()
    head = front.accept(clip)
    assert head.features.shape[0] == n_frames - 2  # two rows wait for their right context
    tail = front.finish()
    assert tail.first_frame == n_frames - 2 and tail.features.shape[0] == 2
    # the last row's right context is the last fbank frame repeated
    last = tail.features[-1]
    np.testing.assert_array_equal(last[240:320], last[160:240])
    np.testing.assert_array_equal(last[320:400], last[160:240])
    whole = np.concatenate([head.features, tail.features])
    front.reset()
    assert front.frames_emitted == 0
    again = front.accept(clip)
    np.testing.assert_array_equal(np.concatenate([again.features, front.finish().features]), whole)


@pytest.mark.parametrize(
    "bad", [np.zeros((2, 100), dtype=np.float32), np.zeros(100, dtype=np.int16)]
)
def test_bad_input_is_a_clear_error(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="expected"):
        StreamingFrontend().accept(bad)


def test_decibel_formula_on_silence() -> None:
    out = compute_features(np.zeros(SR, dtype=np.float32))
    assert np.all(out.energy_db == 10 * math.log10(1e-6))


def test_compiled_frontend_rejects_wrong_buffers() -> None:
    """The C module checks what it is given: a wrong type or a short buffer is an error,
    never memory read as something else."""
    from vaddesk.core import _fbank

    samples = np.zeros(400 + 160, dtype=np.float32)  # two frames
    mel = np.empty((2, 80), dtype=np.float32)
    energy = np.empty(2, dtype=np.float64)
    _fbank.fbank(samples, 2, mel, energy)
    np.testing.assert_array_equal(energy, 10 * math.log10(1e-6))
    with pytest.raises(TypeError, match="samples: expected a buffer of C type 'f'"):
        _fbank.fbank(samples.astype(np.float64), 2, mel, energy)
    with pytest.raises(TypeError, match="energy_out"):
        _fbank.fbank(samples, 2, mel, energy.astype(np.float32))
    with pytest.raises(ValueError, match="samples: need 2240 bytes, got 1600"):
        _fbank.fbank(samples[:400], 2, mel, energy)
    with pytest.raises(ValueError, match="mel_out"):
        _fbank.fbank(samples, 2, mel[:1], energy)
    with pytest.raises(ValueError, match="both cmvn_shift and cmvn_scale"):
        _fbank.fbank(samples, 2, mel, energy, np.zeros(80))
    with pytest.raises(ValueError, match="n_frames must be >= 0"):
        _fbank.fbank(samples, -1, mel, energy)


def test_importing_the_frontend_does_not_import_onnxruntime() -> None:
    """The frontend checks am.mvn against the manifest (core/manifest.py, standard library
    only): importing it must not load onnxruntime (~100 ms and ~60 MB) for a caller that only
    wants features. A fresh interpreter, since this one has loaded it already."""
    code = (
        "import sys, vaddesk.core.frontend, vaddesk.core.manifest\n"
        "assert 'onnxruntime' not in sys.modules, 'onnxruntime was imported'\n"
        "import vaddesk.core.model\n"
        "assert 'onnxruntime' in sys.modules  # the check can see an import\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
