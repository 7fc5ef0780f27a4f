"""The endpoint detector against the reference post-processing, frame for frame.

Oracle: FunASR's own ``E2EVadModel`` (funasr_onnx 0.4.3, a test-only dependency), fed exactly
the way ``funasr_onnx.Fsmn_vad`` feeds it: 6000-frame chunks of scores plus the matching slice
of the waveform (it computes frame energies itself), ``is_final`` on the last chunk,
``max_end_sil`` from the parameters. Our detector gets the same scores and the reference's
energies. Segment lists must be equal to the millisecond.

Harness-only deviations, each stated where it is used:
- ``Fsmn_vad`` feeds one extra 1-frame chunk when the frame count is 1 mod 6000 (it resets the
  detector and re-runs the network on the last frame); the harness does not reproduce that
  quirk, and no test here has such a frame count with a 10 ms ``sil_to_speech`` (the only case
  where that extra chunk can add a segment).
- p0 exactly 0 or 1 crashes the reference (``math.log(0)``): the harness clips p0 to
  [1e-30, 1 - 2**-24] for the reference only. That changes nothing but exact 0 and 1, which
  occur only in ``test_exact_zero_and_one_scores``, with thresholds where the clip cannot
  change a decision.
- ``decibel_thres`` above a frame's energy makes the reference process that frame twice (a
  bug we do not reproduce); decibel-gate tests use ``_FixedReference``, which removes only that.
"""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path
from typing import Any, Final

import numpy as np
import pytest
import soundfile as sf
import soxr

from vaddesk import paths
from vaddesk.core.decision import (
    FrameClassifier,
    _reference_score_test,
    score_cutoffs,
    score_test,
)
from vaddesk.core.detector import EndpointDetector, detect_segments, dynamic_end_silence_ms
from vaddesk.core.params import VadParams
from vaddesk.core.presets import builtin_presets
from vaddesk.core.types import Segment, SegmentClosed, SegmentDiscarded, SegmentOpened

e2e_vad = pytest.importorskip("funasr_onnx.utils.e2e_vad")
yaml = pytest.importorskip("yaml")

CHUNK_FRAMES: Final = 6000  # Fsmn_vad's offline chunk
P0_MIN: Final = 1e-30
P0_MAX: Final = float(np.float32(1.0) - np.float32(2.0**-24))


# --- the reference, fed like Fsmn_vad ---------------------------------------------------------

def _model_conf(p: VadParams) -> dict[str, Any]:
    conf = dict(yaml.safe_load(paths.model_file("config.yaml").read_text())["model_conf"])
    conf.update(
        max_end_silence_time=p.max_end_silence_ms, speech_noise_thres=p.speech_noise_thres,
        speech_2_noise_ratio=p.speech_to_noise_ratio, window_size_ms=p.window_size_ms,
        sil_to_speech_time_thres=p.sil_to_speech_ms, speech_to_sil_time_thres=p.speech_to_sil_ms,
        do_extend=1 if p.extend else 0, lookback_time_start_point=p.lookback_start_ms,
        lookahead_time_end_point=p.lookahead_end_ms, max_single_segment_time=p.max_segment_ms,
        detect_mode=1 if p.detect_mode == "multiple" else 0,
        max_start_silence_time=p.max_start_silence_ms, decibel_thres=p.decibel_thres_db,
        snr_thres=p.snr_thres_db, noise_frame_num_used_for_snr=p.noise_frames_for_snr)
    return conf


class _FixedReference(e2e_vad.E2EVadModel):  # type: ignore[name-defined]
    """The reference minus its decibel-gate bug (GetFrameState runs DetectOneFrame itself
    for a frame below decibel_thres, then the caller runs it again)."""

    def GetFrameState(self, t: int) -> Any:
        if self.decibel[t] < self.vad_opts.decibel_thres:
            return e2e_vad.FrameState.kFrameStateSil
        return super().GetFrameState(t)


def reference_segments(p0: np.ndarray, wave: np.ndarray, p: VadParams, *,
                       chunk: int = CHUNK_FRAMES, fixed: bool = False) -> list[list[int]]:
    cls = _FixedReference if fixed else e2e_vad.E2EVadModel
    model = cls(_model_conf(p))
    n = p0.shape[0]
    out: list[list[int]] = []
    w = wave[None, :]
    for t in range(0, n, chunk):
        step = min(chunk, n - t)
        scores = np.clip(p0[t:t + step], P0_MIN, P0_MAX).astype(np.float32).reshape(1, -1, 1)
        package = w[:, t * 160: min(w.shape[1], (t + step - 1) * 160 + 400)]
        part = model(scores, package, is_final=t + step >= n, max_end_sil=p.max_end_silence_ms,
                     online=False)
        if part:
            out += part[0]
    return [list(map(int, s)) for s in out]


def reference_energy(wave: np.ndarray) -> np.ndarray:
    """Frame energies computed exactly as the reference's ComputeDecibel."""
    n = 1 + (wave.shape[0] - 400) // 160
    return np.array([10 * math.log10(np.square(wave[o * 160:o * 160 + 400]).sum() + 0.000001)
                     for o in range(n)], dtype=np.float64)


def ours(p0: np.ndarray, energy: np.ndarray, p: VadParams) -> list[list[int]]:
    return [[s.start_ms, s.end_ms] for s in detect_segments(p0, energy, p)]


# --- real model scores over generated speech ----------------------------------------------------

def _espeak(text: str, path: Path, speed: int) -> np.ndarray:
    subprocess.run(["espeak-ng", "-v", "en", "-s", str(speed), "-w", str(path), text],
                   check=True, capture_output=True)
    x, rate = sf.read(path, dtype="float32")
    return soxr.resample(x, rate, 16_000).astype(np.float32)


@pytest.fixture(scope="module")
def speech_scores(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, np.ndarray,
                                                                          np.ndarray]]:
    """Two generated recordings (speech with 0.1-2.5 s pauses over noise, 40-75 s) with the
    FP32 network's p0 per frame (vaddesk's frontend + runner, both bit-exact to the reference)."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    from vaddesk.core.frontend import compute_features
    from vaddesk.core.model import VadModel

    tmp = tmp_path_factory.mktemp("speech")
    phrases = [
        ("Good morning everyone, let us start the meeting.", 160),
        ("The first item is the budget for next quarter.", 175),
        ("Yes.", 150),
        ("I think we should move the deadline by one week, because the tests are not ready.", 185),
        ("Okay, sounds good to me.", 170),
    ]
    voices = [_espeak(text, tmp / f"p{i}.wav", speed) for i, (text, speed) in enumerate(phrases)]
    rng = np.random.default_rng(20261126)
    model = VadModel("fp32")
    out = []
    for name, pauses_s, noise, reps in (("white_20db", (0.1, 0.3, 0.6, 1.2, 2.5), "white", 3),
                                        ("hum_low", (0.15, 0.9, 0.4, 1.8, 0.25), "hum", 5)):
        parts = [np.zeros(4000, dtype=np.float32)]
        for _ in range(reps):
            for voice, pause in zip(voices, pauses_s, strict=True):
                parts += [voice * 0.6, np.zeros(int(pause * 16_000), dtype=np.float32)]
        x = np.concatenate(parts)
        t = np.arange(x.size) / 16_000
        if noise == "white":
            x = x + rng.standard_normal(x.size).astype(np.float32) * 0.006
        else:
            x = x * 0.3 + (0.004 * np.sin(2 * np.pi * 50 * t)).astype(np.float32)
        x = x.astype(np.float32)
        assert x.size // 160 % CHUNK_FRAMES != 1
        model.reset()
        p0 = model.silence_prob(compute_features(x).features)
        out.append((name, x, p0))
    return out


PARAM_SETS: Final = {
    "default": VadParams(),
    "window_300": VadParams(window_size_ms=300, sil_to_speech_ms=250, speech_to_sil_ms=100),
    "window_small": VadParams(window_size_ms=50, sil_to_speech_ms=30, speech_to_sil_ms=10,
                              max_end_silence_ms=300),
    "thres_0.8": VadParams(speech_noise_thres=0.8),
    "thres_-0.2_ratio_2": VadParams(speech_noise_thres=-0.2, speech_to_noise_ratio=2.0),
    "no_extend": VadParams(extend=False),
    "lookback_lookahead": VadParams(lookback_start_ms=600, lookahead_end_ms=400,
                                    max_end_silence_ms=400),
    "lookahead_beyond_end": VadParams(lookahead_end_ms=900, max_end_silence_ms=500),
    "end_silence_2000": VadParams(max_end_silence_ms=2000),
    "cut_3s": VadParams(max_segment_ms=3000),
    "cut_3s_no_extend": VadParams(max_segment_ms=3000, extend=False, max_end_silence_ms=1500),
    "cut_shorter_than_lookback": VadParams(max_segment_ms=500, lookback_start_ms=800),
    "single": VadParams(detect_mode="single"),
    "single_timeout": VadParams(detect_mode="single", max_start_silence_ms=100),
    "single_timeout_1s": VadParams(detect_mode="single", max_start_silence_ms=1000),
    "snr_10": VadParams(snr_thres_db=10.0),
    "snr_3_k20": VadParams(snr_thres_db=3.0, noise_frames_for_snr=20),
}


@pytest.mark.parametrize("label", sorted(PARAM_SETS))
def test_real_scores_match_reference(label: str, speech_scores: list[Any]) -> None:
    params = PARAM_SETS[label]
    for name, wave, p0 in speech_scores:
        energy = reference_energy(wave)
        expected = reference_segments(p0, wave, params)
        # 'single_timeout' gives up before the speech starts (that is what it tests)
        assert bool(expected) == (label != "single_timeout"), (label, name, expected)
        assert ours(p0, energy, params) == expected, (label, name)


@pytest.mark.parametrize("percentile", [30, 60])
def test_decibel_gate_matches_fixed_reference(percentile: int, speech_scores: list[Any]) -> None:
    for name, wave, p0 in speech_scores:
        energy = reference_energy(wave)
        decibel = round(float(np.percentile(energy, percentile)) * 2) / 2
        params = VadParams(decibel_thres_db=decibel)
        expected = reference_segments(p0, wave, params, fixed=True)
        assert expected != reference_segments(p0, wave, VadParams()), "the gate must bite"
        assert ours(p0, energy, params) == expected, name


def test_real_scores_differ_between_param_sets(speech_scores: list[Any]) -> None:
    """Guard against a vacuous oracle: the parameter sets really change the segments."""
    _name, wave, p0 = speech_scores[0]
    energy = reference_energy(wave)
    results = {label: str(ours(p0, energy, p)) for label, p in PARAM_SETS.items()}
    assert len(set(results.values())) >= len(PARAM_SETS) - 3


# --- adversarial random score sequences -----------------------------------------------------------

def _random_case(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, VadParams]:
    n = int(rng.integers(1, 2500))
    if n % CHUNK_FRAMES == 1 and n > 1:
        n += 1
    p0 = np.empty(n, dtype=np.float32)
    i = 0
    while i < n:  # bursts of speech-like and noise-like scores, with near-threshold frames
        length = min(int(rng.integers(1, 90)), n - i)
        kind = rng.random()
        if kind < 0.4:
            p0[i:i + length] = rng.random(length) * 0.3
        elif kind < 0.8:
            p0[i:i + length] = rng.random(length)
        else:
            base = np.float32(0.2)
            steps = rng.integers(-3, 4, length)
            p0[i:i + length] = [np.nextafter(base, np.float32(s), dtype=np.float32)
                                if s else base for s in steps]
        i += length
    wave = (rng.standard_normal((n - 1) * 160 + 400) * rng.choice([0.001, 0.05, 0.3])
            ).astype(np.float32)
    wave *= np.repeat(rng.random(n + 2) ** 3, 160)[:wave.size].astype(np.float32)
    kw: dict[str, Any] = {}
    if rng.random() < 0.8:
        win = int(rng.integers(2, 40))
        kw = dict(window_size_ms=win * 10,
                  sil_to_speech_ms=int(rng.integers(1, win + 1)) * 10,
                  speech_to_sil_ms=int(rng.integers(0, win + 1)) * 10,
                  extend=bool(rng.random() < 0.7),
                  lookback_start_ms=int(rng.integers(0, 60)) * 10,
                  lookahead_end_ms=int(rng.integers(0, 60)) * 10,
                  max_segment_ms=int(rng.integers(50, 400)) * 10,
                  speech_noise_thres=float(rng.choice([0.6, 0.0, -0.5, 0.3, 0.9, -1.0])),
                  speech_to_noise_ratio=float(rng.choice([1.0, 0.5, 2.0, 3.3])),
                  detect_mode=str(rng.choice(["multiple", "single"])),
                  max_start_silence_ms=int(rng.integers(0, 300)) * 10)
        kw["max_end_silence_ms"] = max(160, kw["speech_to_sil_ms"]
                                       + int(rng.integers(1, 120)) * 10)
        if rng.random() < 0.3:
            kw["snr_thres_db"] = float(rng.uniform(-5, 8))
            kw["noise_frames_for_snr"] = int(rng.integers(1, 200))
    return p0, wave, VadParams(**kw)


@pytest.mark.parametrize("seed", [0, *(pytest.param(s, marks=pytest.mark.slow) for s in (1, 2, 3))])
def test_random_scores_match_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    segments = 0
    for _ in range(60):
        p0, wave, params = _random_case(rng)
        expected = reference_segments(p0, wave, params, chunk=int(rng.choice([6000, 97, 1000])))
        segments += len(expected)
        assert ours(p0, reference_energy(wave), params) == expected, params
    assert segments > 100


def test_exact_zero_and_one_scores() -> None:
    """The INT8 softmax gives p0 == 0.0 and 1.0; no log(0), same decisions as the limits."""
    rng = np.random.default_rng(5)
    p0 = np.where(rng.random(3000) < 0.5, 0.0, 1.0).astype(np.float32)
    p0[rng.random(3000) < 0.3] = np.float32(0.5)
    runs = np.repeat(rng.random(300) < 0.5, 10)
    p0 = np.where(runs, p0, np.float32(1.0)).astype(np.float32)
    wave = (rng.standard_normal(2999 * 160 + 400) * 0.1).astype(np.float32)
    energy = reference_energy(wave)
    for params in (VadParams(), VadParams(speech_noise_thres=0.9, speech_to_noise_ratio=0.5),
                   VadParams(speech_noise_thres=-1.0), VadParams(speech_noise_thres=0.0)):
        # clip for the reference only: (1e-30)**0.5 = 1e-15 cannot move a 0.9 threshold
        assert ours(p0, energy, params) == reference_segments(p0, wave, params), params
    assert score_test(np.array([0.0, 1.0], np.float32), 1.0, -1.0).tolist() == [True, True]
    assert score_test(np.array([0.0, 1.0], np.float32), 1.0, -0.999).tolist() == [True, False]


def test_score_test_ties_decided_like_the_reference() -> None:
    """Frames at the threshold: numpy's 1 - p0 vs p0 + thres can disagree with the reference's
    exp(log(...)) by an ulp; every such frame must get the reference's answer."""
    rng = np.random.default_rng(11)
    for thres, ratio in ((0.6, 1.0), (0.3, 1.0), (0.0, 1.0), (0.2, 2.0), (-0.4, 0.5)):
        # p0 where 1 - p0 == p0**ratio + thres, and its float32 neighbours
        lo, hi = 0.0, 1.0
        for _ in range(80):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if 1 - mid > mid**ratio + thres else (lo, mid)
        centre = np.float32(lo)
        near = [centre]
        for _ in range(40):
            near.append(np.nextafter(near[-1], np.float32(1), dtype=np.float32))
        down = [centre]
        for _ in range(40):
            down.append(np.nextafter(down[-1], np.float32(0), dtype=np.float32))
        p0 = np.array(near + down + list(rng.random(200).astype(np.float32)), np.float32)
        expected = [_reference_score_test(float(v), ratio, thres) for v in p0]
        literal = [math.exp(math.log(1.0 - float(v))) >= math.exp(math.log(float(v)) * ratio)
                   + thres for v in p0]
        assert expected == literal
        assert score_test(p0, ratio, thres).tolist() == expected
        assert len(set(expected[:81])) == 2, "the sweep must straddle the threshold"


def test_small_blocks_decide_like_numpy() -> None:
    """Blocks of <= 16 frames (streaming) are decided in Python floats, most frames by the two
    cut-offs of score_cutoffs: decisions equal score_test's around both cut-offs, at the
    threshold itself and at random p0, for parameters across their ranges."""
    rng = np.random.default_rng(12)
    for ratio, thres in ((1.0, 0.6), (1.0, 0.0), (1.0, -1.0), (1.0, 1.0), (1.0, -0.999),
                         (2.0, 0.2), (0.5, -0.4), (3.3, -0.5), (0.1, 0.9), (10.0, -0.9)):
        lo, hi = 0.0, 1.0  # p0 where 1 - p0 == p0**ratio + thres
        for _ in range(80):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if 1 - mid > mid**ratio + thres else (lo, mid)
        values: list[float] = [0.0, 1.0, 0.5]
        for edge in (*score_cutoffs(ratio, thres), lo):
            if 0.0 <= edge <= 1.0:
                for towards in (0.0, 1.0):
                    v = np.float32(edge)
                    for _ in range(20):
                        values.append(float(v))
                        v = np.nextafter(v, np.float32(towards), dtype=np.float32)
        values += rng.random(300).astype(np.float32).tolist()
        p0 = np.array(values, np.float32)
        clf = FrameClassifier(VadParams(speech_to_noise_ratio=ratio, speech_noise_thres=thres))
        small: list[bool] = []
        for i in range(0, p0.size, 16):
            chunk = p0[i:i + 16]
            got = clf.classify_small(chunk.tolist(), [-30.0] * chunk.size)
            assert got is not None
            small += got
        assert small == score_test(p0, ratio, thres).tolist()


# --- streaming = one block ---------------------------------------------------------------------

def _events(det: EndpointDetector, p0: np.ndarray, energy: np.ndarray,
            sizes: list[int]) -> list[Any]:
    events: list[Any] = []
    pos = 0
    for size in sizes:
        events += det.push(p0[pos:pos + size], energy[pos:pos + size])
        pos += size
    return events + det.finish()


def _chunks(n: int, rng: np.random.Generator) -> list[int]:
    sizes: list[int] = []
    while sum(sizes) < n:
        sizes.append(int(rng.choice([0, 1, 2, 5, 19, 20, 21, 64, 333, 1000])))
    return sizes


@pytest.mark.parametrize("preset", ["funasr", "meeting", "phone", "noisy", "dialogue"])
def test_chunked_pushes_equal_one_push(preset: str, speech_scores: list[Any]) -> None:
    params = builtin_presets()[preset].params.replace(max_segment_ms=8000)
    rng = np.random.default_rng(len(preset))
    for _name, wave, p0 in speech_scores:
        energy = reference_energy(wave)
        whole = _events(EndpointDetector(params), p0, energy, [p0.size])
        for _ in range(3):
            assert _events(EndpointDetector(params), p0, energy, _chunks(p0.size, rng)) == whole
        assert any(isinstance(e, SegmentClosed) for e in whole)


def _with_random_extensions(params: VadParams, rng: np.random.Generator,
                            chance: float) -> VadParams:
    """``params`` with the beyond-the-reference features drawn at random (each of the two
    switches on with probability ``chance``)."""
    return params.replace(split_at_pause=bool(rng.random() < chance),
                          dynamic_end_silence=bool(rng.random() < chance),
                          pad_start_ms=int(rng.integers(0, 40)) * 10,
                          pad_end_ms=int(rng.integers(0, 40)) * 10,
                          min_segment_ms=int(rng.integers(0, 50)) * 10)


def test_random_params_with_extensions_stream_like_offline() -> None:
    rng = np.random.default_rng(99)
    for _ in range(40):
        p0, wave, params = _random_case(rng)
        params = _with_random_extensions(params, rng, 0.6)
        energy = reference_energy(wave)
        whole = _events(EndpointDetector(params), p0, energy, [p0.size])
        assert _events(EndpointDetector(params), p0, energy, _chunks(p0.size, rng)) == whole
        assert _well_formed(whole) == [[s.start_ms, s.end_ms]
                                       for s in detect_segments(p0, energy, params)]


def _small_chunks(n: int, rng: np.random.Generator) -> list[int]:
    sizes: list[int] = []
    while sum(sizes) < n:
        sizes.append(int(rng.integers(1, 17)) if rng.random() < 0.95
                     else int(rng.choice([0, 40, 300])))
    return sizes


def test_streaming_sized_pushes_equal_one_push() -> None:
    """Pushes of 1-16 frames take the detector's plain-Python path (a 100 ms stream pushes 10
    frames); mixed with a few larger ones they give the events of one push, also over streams
    long enough for the history to be trimmed several times."""
    rng = np.random.default_rng(2024)
    for case in range(30):
        p0, wave, params = _random_case(rng)
        params = _with_random_extensions(params, rng, 0.5)
        energy = reference_energy(wave)
        if case % 3 == 0:
            reps = 7000 // p0.size + 1
            p0, energy = np.tile(p0, reps), np.tile(energy, reps)
        whole = _events(EndpointDetector(params), p0, energy, [p0.size])
        assert _events(EndpointDetector(params), p0, energy, _small_chunks(p0.size, rng)) == whole


def _well_formed(events: list[Any]) -> list[list[int]]:
    open_start: int | None = None
    closed: list[list[int]] = []
    for event in events:
        if isinstance(event, SegmentOpened):
            assert open_start is None
            assert not closed or event.start_ms >= closed[-1][1]
            open_start = event.start_ms
        elif isinstance(event, SegmentClosed):
            assert event.segment.start_ms == open_start
            assert event.segment.end_ms > event.segment.start_ms
            closed.append([event.segment.start_ms, event.segment.end_ms])
            open_start = None
        else:
            assert isinstance(event, SegmentDiscarded) and event.start_ms == open_start
            open_start = None
    assert open_start is None
    return closed


def test_memory_stays_bounded_over_a_long_stream() -> None:
    """40 minutes of frames in 100 ms pushes: the detector's history stays bounded (the 8-hour
    RSS measurement is in bench/)."""
    rng = np.random.default_rng(3)
    pattern = np.concatenate([np.full(300, 0.05), np.full(150, 0.9)]).astype(np.float32)
    energy = np.full(10, -30.0)
    for params in (VadParams(), builtin_presets()["meeting"].params):
        det = EndpointDetector(params)
        closed = 0
        for i in range(40 * 60 * 10):
            p0 = pattern[(i * 10) % 450:(i * 10) % 450 + 10]
            p0 = (p0 + rng.random(10).astype(np.float32) * 0.01).astype(np.float32)
            closed += sum(isinstance(e, SegmentClosed) for e in det.push(p0, energy))
            assert det.buffered_frames <= 2048 + params.max_segment_ms // 10 + 400
        assert closed > 500


# --- vaddesk's own features ------------------------------------------------------------------

def _p0(spec: list[tuple[int, float]]) -> np.ndarray:
    return np.concatenate([np.full(n, v, dtype=np.float32) for n, v in spec])


def test_split_at_pause_splits_at_the_longest_pause() -> None:
    # p0 is the SILENCE probability: 0.9 = silence, 0.05 = speech. Speech from frame 50 with
    # pauses of 8, 25 and 12 frames; the 5 s limit falls in speech (frame 524).
    p0 = _p0([(50, 0.9), (150, 0.05), (8, 0.95), (150, 0.05), (25, 0.95), (95, 0.05),
              (12, 0.95), (325, 0.05), (100, 0.9)])
    energy = np.full(p0.size, -30.0)
    hard = VadParams(max_segment_ms=5000)
    cut = detect_segments(p0, energy, hard)
    # the reference cuts at the first frame past the limit: 5000 ms + that frame
    assert [s.duration_ms for s in cut][:1] == [5010]
    parts = detect_segments(p0, energy, hard.replace(split_at_pause=True))
    # Longest silence run in frames [start + 250, 524] is the 25-frame one, frames 358..382:
    # split at its middle, frame 370. The remainder runs to the normal end.
    assert parts == [Segment(cut[0].start_ms, 3700), Segment(3700, cut[-1].end_ms)]


def test_split_at_pause_in_a_pause_ends_there() -> None:
    # The 5 s limit (frame 524) falls 10 frames after a 12-frame pause, before the window has
    # flipped back to speech: the segment ends at that pause like a silence end would.
    p0 = _p0([(50, 0.9), (150, 0.05), (8, 0.95), (150, 0.05), (25, 0.95), (120, 0.05),
              (12, 0.95), (300, 0.05), (100, 0.9)])
    energy = np.full(p0.size, -30.0)
    parts = detect_segments(p0, energy, VadParams(max_segment_ms=5000, split_at_pause=True))
    # window flips to silence at frame 507; end = 507 + lookahead 10 + 1 -> (518 + 1) * 10
    assert parts[0] == Segment(240, 5190)
    assert parts[1].start_ms == 5250  # after the limit frame, like the hard cut's restart


def test_split_at_pause_without_silence_uses_the_lowest_score() -> None:
    p0 = _p0([(30, 0.9), (300, 0.05), (10, 0.18), (400, 0.05), (50, 0.9)])
    energy = np.full(p0.size, -30.0)
    parts = detect_segments(p0, energy, VadParams(max_segment_ms=6000, split_at_pause=True))
    # every frame is speech; the 0.18 dip (frames 330..339) has the lowest smoothed score, and
    # every 21-frame window that covers it whole ties: the split lands in frames 329..340
    assert 3290 <= parts[0].end_ms <= 3400
    assert parts[1].start_ms == parts[0].end_ms
    assert len(parts) == 2


def test_dynamic_end_silence_schedule() -> None:
    assert [dynamic_end_silence_ms(1200, t) for t in (0, 10_000, 30_000, 50_000, 90_000)] == \
        [1200, 1200, 750, 300, 300]
    assert dynamic_end_silence_ms(800, 30_000) == 550
    assert dynamic_end_silence_ms(2000, 50_000) == 500  # floor = max(300, 2000 / 4)
    assert dynamic_end_silence_ms(200, 60_000) == 200  # never above the configured value
    # a 600 ms pause ends a long turn only with the dynamic schedule
    p0 = _p0([(20, 0.9), (4000, 0.05), (60, 0.95), (500, 0.05), (200, 0.95)])
    energy = np.full(p0.size, -30.0)
    fixed = VadParams(max_end_silence_ms=1000)
    assert len(detect_segments(p0, energy, fixed)) == 1
    assert len(detect_segments(p0, energy, fixed.replace(dynamic_end_silence=True))) == 2


def test_padding_is_clamped_and_never_overlaps() -> None:
    # speech from frame 0, an 800 ms gap, speech, 300 ms of silence to the end of the stream
    p0 = _p0([(100, 0.05), (80, 0.95), (60, 0.05), (30, 0.95)])
    energy = np.full(p0.size, -30.0)
    params = VadParams(max_end_silence_ms=500)
    raw = detect_segments(p0, energy, params)
    assert len(raw) == 2 and raw[0].start_ms == 0 and raw[1].end_ms == p0.size * 10
    padded = detect_segments(p0, energy, params.replace(pad_start_ms=300, pad_end_ms=2000))
    assert padded == [Segment(0, raw[1].start_ms),  # start clamped to 0; end to next raw start
                      Segment(raw[1].start_ms, p0.size * 10)]  # end clamped to the stream end
    modest = detect_segments(p0, energy, params.replace(pad_start_ms=100, pad_end_ms=100))
    assert modest == [Segment(0, raw[0].end_ms + 100),
                      Segment(raw[1].start_ms - 100, raw[1].end_ms)]


def test_min_segment_drops_short_segments_and_streams_discarded() -> None:
    p0 = _p0([(100, 0.9), (20, 0.05), (100, 0.9), (150, 0.05), (100, 0.9)])
    energy = np.full(p0.size, -30.0)
    raw = detect_segments(p0, energy, VadParams())
    assert [s.duration_ms for s in raw] == [620, 1920]
    params = VadParams(min_segment_ms=700)
    assert detect_segments(p0, energy, params) == [raw[1]]
    events = _events(EndpointDetector(params), p0, energy, [7] * (p0.size // 7 + 1))
    assert events == [SegmentOpened(raw[0].start_ms), SegmentDiscarded(raw[0].start_ms),
                      SegmentOpened(raw[1].start_ms), SegmentClosed(raw[1])]


def test_set_params_applies_to_later_frames_only() -> None:
    # silence 50, speech 100, silence 70, speech 100, silence 70 (frames)
    p0 = _p0([(50, 0.9), (100, 0.05), (70, 0.9), (100, 0.05), (70, 0.9)])
    energy = np.full(p0.size, -30.0)
    default = detect_segments(p0, energy, VadParams())
    assert len(default) == 2 and default[1].end_ms == 3360  # the last pause ends it (65 frames)
    det = EndpointDetector(VadParams())
    events = det.push(p0[:240], energy[:240])
    assert SegmentClosed(default[0]) in events
    det.set_params(VadParams(max_end_silence_ms=1000))  # needs 85 frames from now on
    events = det.push(p0[240:], energy[240:]) + det.finish()
    closed = [e.segment for e in events if isinstance(e, SegmentClosed)]
    assert closed == [Segment(default[1].start_ms, p0.size * 10)]  # closed by the stream end


def test_set_params_at_the_same_frames_gives_the_same_events_in_any_pushes() -> None:
    """Parameters changed live, at the same frames: pushing the stretches in between whole
    (the array path) or as pushes of 1-16 frames (the plain-Python path) gives the same
    events, whatever the window, thresholds and extensions switch between."""
    rng = np.random.default_rng(77)
    for _ in range(12):
        p0, wave, _params = _random_case(rng)
        energy = reference_energy(wave)
        choices = [_random_case(rng)[2].replace(split_at_pause=bool(rng.random() < 0.5),
                                                dynamic_end_silence=bool(rng.random() < 0.5),
                                                pad_end_ms=int(rng.integers(0, 20)) * 10)
                   for _ in range(3)]
        stretches: list[tuple[int, VadParams]] = []
        done = 0
        while done < p0.size:
            size = int(rng.integers(17, 400))
            stretches.append((size, choices[int(rng.integers(0, 3))]))
            done += size
        runs = []
        for small in (False, True):
            det = EndpointDetector(choices[0])
            events: list[Any] = []
            pos = 0
            for size, params in stretches:
                det.set_params(params)
                left = size
                while left > 0:
                    part = min(left, int(rng.integers(1, 17))) if small else left
                    events += det.push(p0[pos:pos + part], energy[pos:pos + part])
                    pos += part
                    left -= part
            runs.append(events + det.finish())
        assert runs[0] == runs[1]


def test_set_params_shorter_end_silence_during_a_pause() -> None:
    """Lowering the end silence in the middle of a pause ends the segment at the next frame,
    never at a frame already processed."""
    p0 = _p0([(50, 0.9), (100, 0.05), (200, 0.9)])
    energy = np.full(p0.size, -30.0)
    det = EndpointDetector(VadParams(max_end_silence_ms=3000))
    events = det.push(p0[:200], energy[:200])  # 50 frames into the pause
    assert events == [SegmentOpened(detect_segments(p0, energy)[0].start_ms)]
    det.set_params(VadParams(max_end_silence_ms=300))  # 15 frames: already elapsed
    events = det.push(p0[200:201], energy[200:201])
    assert len(events) == 1 and isinstance(events[0], SegmentClosed)
    assert det.push(p0[201:], energy[201:]) + det.finish() == []


def test_dynamic_end_silence_on_long_turns_streams_like_offline(speech_scores: list[Any]) -> None:
    """Turns longer than 10 s (a patient 3 s end silence) bring the schedule into play."""
    rng = np.random.default_rng(17)
    fixed = VadParams(max_end_silence_ms=3000, max_segment_ms=120_000)
    dynamic = fixed.replace(dynamic_end_silence=True)
    for name, wave, p0 in speech_scores:
        energy = reference_energy(wave)
        long_turns = detect_segments(p0, energy, fixed)
        assert max(s.duration_ms for s in long_turns) > 20_000, name
        whole = _events(EndpointDetector(dynamic), p0, energy, [p0.size])
        shorter = _well_formed(whole)
        assert len(shorter) > len(long_turns), name  # long turns now end on shorter pauses
        for _ in range(2):
            assert _events(EndpointDetector(dynamic), p0, energy, _chunks(p0.size, rng)) == whole
