"""The engine end to end: real frontend, real onnxruntime on the shipped models, real detector.

- Offline FP32 with the reference's defaults == ``funasr_onnx.Fsmn_vad`` (the reference
  runtime, test-only dependency) on the same model file, to the millisecond, on generated
  recordings (espeak-ng speech over noise). The 20-file corpus and the INT8 comparison are in
  test_fidelity.py; these are the engine's own quick checks.
- Streaming in chunks of 10 ms .. 2 s and irregular chunks == offline; segment_blocks ==
  segment_array; resegment == a fresh run; take_frames/track == the offline track.
- Bad input gets a ValueError naming the problem.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import numpy as np
import pytest
import soundfile as sf
import soxr

from vaddesk import paths
from vaddesk.core.engine import (
    ModelInfo,
    StreamingVad,
    VadResult,
    model_info,
    resegment,
    segment_array,
    segment_blocks,
)
from vaddesk.core.params import VadParams
from vaddesk.core.presets import BUILTIN_NAMES, builtin_presets
from vaddesk.core.types import Segment, SegmentClosed, SegmentDiscarded, SegmentOpened

SR: Final = 16_000


def _espeak(text: str, path: Path, speed: int) -> np.ndarray:
    subprocess.run(["espeak-ng", "-v", "en", "-s", str(speed), "-w", str(path), text],
                   check=True, capture_output=True)
    x, rate = sf.read(path, dtype="float32")
    return soxr.resample(x, rate, SR).astype(np.float32)


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    """Two generated recordings: ~25 s of speech with 0.2-3 s pauses over white noise, and
    ~70 s of nearly continuous speech over pink-ish noise (hits a 60 s hard cut)."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    tmp = tmp_path_factory.mktemp("engine")
    lines = ["Could you share the slides before we begin?",
             "Sure, give me one second.",
             "The numbers for March look better than we expected, mostly thanks to the new "
             "customers in the north region.",
             "Right."]
    voices = [_espeak(t, tmp / f"v{i}.wav", 160 + 10 * i) for i, t in enumerate(lines)]
    rng = np.random.default_rng(7)
    parts: list[np.ndarray] = [np.zeros(SR // 2, np.float32)]
    for voice, pause in zip(voices * 2, (0.2, 0.7, 3.0, 1.1, 0.4, 1.6, 0.3, 0.9), strict=True):
        parts += [voice * 0.5, np.zeros(int(pause * SR), np.float32)]
    meeting = np.concatenate(parts)
    meeting = (meeting + rng.standard_normal(meeting.size).astype(np.float32) * 0.004)
    long_parts: list[np.ndarray] = []
    while sum(p.size for p in long_parts) < 70 * SR:
        for voice in voices:
            long_parts += [voice * 0.7, np.zeros(int(0.15 * SR), np.float32)]
    talk = np.concatenate(long_parts)[:70 * SR]
    pink = np.cumsum(rng.standard_normal(talk.size)).astype(np.float32)
    pink -= np.convolve(pink, np.ones(400) / 400, mode="same").astype(np.float32)
    talk = talk + pink / np.abs(pink).max() * 0.01
    return {"meeting": meeting.astype(np.float32), "long_talk": talk.astype(np.float32)}


@pytest.fixture(scope="module")
def fsmn_vad(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The reference runtime on our FP32 model file (its loader wants model.onnx in a folder)."""
    funasr_onnx = pytest.importorskip("funasr_onnx")
    folder = tmp_path_factory.mktemp("reference_model")
    (folder / "model.onnx").symlink_to(paths.model_file("fsmn-vad-fp32.onnx"))
    for name in ("config.yaml", "am.mvn"):
        (folder / name).symlink_to(paths.model_file(name))
    return funasr_onnx.Fsmn_vad(str(folder), intra_op_num_threads=1)


def _reference_with(tmp: Path, conf: dict[str, Any]) -> Any:
    """Fsmn_vad on our FP32 model with config.yaml's model_conf changed by ``conf``."""
    funasr_onnx = pytest.importorskip("funasr_onnx")
    yaml = pytest.importorskip("yaml")
    config = yaml.safe_load(paths.model_file("config.yaml").read_text())
    config["model_conf"].update(conf)
    tmp.mkdir()
    (tmp / "config.yaml").write_text(yaml.safe_dump(config))
    (tmp / "model.onnx").symlink_to(paths.model_file("fsmn-vad-fp32.onnx"))
    (tmp / "am.mvn").symlink_to(paths.model_file("am.mvn"))
    return funasr_onnx.Fsmn_vad(str(tmp), intra_op_num_threads=1)


@pytest.fixture(scope="module")
def offline(recordings: dict[str, np.ndarray]) -> dict[str, VadResult]:
    return {name: segment_array(x) for name, x in recordings.items()}


def _lists(segments: list[Segment]) -> list[list[int]]:
    return [[s.start_ms, s.end_ms] for s in segments]


# --- fidelity ------------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # inside funasr_onnx, numpy 1.25+
@pytest.mark.parametrize("name", ["meeting", "long_talk"])
def test_fp32_offline_equals_reference_runtime(name: str, recordings: dict[str, np.ndarray],
                                               fsmn_vad: Any,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    x = recordings[name]
    expected = fsmn_vad(x)[0]
    result = segment_array(x, builtin_presets()["funasr"].params, precision="fp32")
    assert _lists(result.segments) == expected
    assert len(expected) >= 2
    if name == "long_talk":
        assert expected[0][1] - expected[0][0] == 60_010  # the hard cut is exercised


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_fp32_non_default_parameters_equal_reference_runtime(
        recordings: dict[str, np.ndarray], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Parameters reach the detector end to end: the reference runtime with the same values in
    its config.yaml gives the same segments (SNR gate included: it uses the frame energies)."""
    x = recordings["meeting"]
    cases: list[tuple[dict[str, Any], VadParams]] = [
        ({"max_end_silence_time": 400, "speech_noise_thres": 0.8},
         VadParams(max_end_silence_ms=400, speech_noise_thres=0.8)),
        ({"snr_thres": 12.0, "window_size_ms": 300, "sil_to_speech_time_thres": 200,
          "lookback_time_start_point": 500, "do_extend": 1},
         VadParams(snr_thres_db=12.0, window_size_ms=300, sil_to_speech_ms=200,
                   lookback_start_ms=500)),
        ({"do_extend": 0, "max_single_segment_time": 4000},
         VadParams(extend=False, max_segment_ms=4000)),
    ]
    seen = set()
    for i, (conf, params) in enumerate(cases):
        expected = _reference_with(tmp_path / f"ref{i}", conf)(x)[0]
        assert _lists(segment_array(x, params, precision="fp32").segments) == expected, conf
        seen.add(str(expected))
    assert len(seen) == len(cases)
    no_gate = cases[1][1].replace(snr_thres_db=-100.0)
    assert str(_lists(segment_array(x, no_gate, precision="fp32").segments)) not in seen, \
        "the SNR gate must change something"


# --- streaming == offline -----------------------------------------------------------------------

def _stream(vad: StreamingVad, chunks: Iterator[np.ndarray]) -> list[Any]:
    events: list[Any] = []
    for chunk in chunks:
        events += vad.accept_waveform(chunk)
    return events + vad.flush()


def _fixed(x: np.ndarray, size: int) -> Iterator[np.ndarray]:
    for pos in range(0, x.size, size):
        yield x[pos:pos + size]


def _irregular(x: np.ndarray, seed: int) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(seed)
    pos = 0
    while pos < x.size:
        n = int(rng.choice([0, 1, 159, 160, 161, 400, 1023, 4800, 32_000]))
        yield x[pos:pos + n]
        pos += n


def _closed(events: list[Any]) -> list[Segment]:
    """Closed segments, checking the event sequence is well formed."""
    open_start: int | None = None
    out: list[Segment] = []
    for e in events:
        if isinstance(e, SegmentOpened):
            assert open_start is None and (not out or e.start_ms >= out[-1].end_ms)
            open_start = e.start_ms
        elif isinstance(e, SegmentClosed):
            assert e.segment.start_ms == open_start and e.segment.duration_ms > 0
            out.append(e.segment)
            open_start = None
        else:
            assert isinstance(e, SegmentDiscarded) and e.start_ms == open_start
            open_start = None
    assert open_start is None
    return out


@pytest.mark.parametrize("chunk_ms", [10, 100, 2000])
def test_streaming_equals_offline(chunk_ms: int, recordings: dict[str, np.ndarray],
                                  offline: dict[str, VadResult]) -> None:
    x = recordings["meeting"]
    vad = StreamingVad()
    assert _closed(_stream(vad, _fixed(x, chunk_ms * 16))) == offline["meeting"].segments
    assert vad.processed_ms == x.size * 1000 // SR
    assert not vad.is_speech_detected and vad.open_start_ms is None


@pytest.mark.parametrize("preset", BUILTIN_NAMES)
def test_irregular_streaming_equals_offline(preset: str, recordings: dict[str, np.ndarray]
                                            ) -> None:
    params = builtin_presets()[preset].params
    for name, x in recordings.items():
        expected = segment_array(x, params).segments
        vad = StreamingVad(params)
        assert _closed(_stream(vad, _irregular(x, seed=len(name)))) == expected, name


def test_segment_blocks_and_frames(recordings: dict[str, np.ndarray],
                                   offline: dict[str, VadResult]) -> None:
    x = recordings["long_talk"]
    done: list[int] = []
    result = segment_blocks(_fixed(x, 7 * SR + 3), progress=done.append)
    expected = offline["long_talk"]
    assert result.segments == expected.segments
    assert done == sorted(done) and done[-1] == x.size and len(done) == -(-x.size // (7 * SR + 3))
    assert result.duration_ms == x.size * 1000 // SR
    np.testing.assert_array_equal(result.track.p0, expected.track.p0)
    np.testing.assert_array_equal(result.track.energy_db, expected.track.energy_db)
    # one frame per 10 ms hop with a full 25 ms window
    assert result.track.num_frames == 1 + (x.size - 400) // 160
    # take_frames (plots) and track (keep_track) see the same frames as the offline run
    vad = StreamingVad(keep_track=True)
    taken = []
    for chunk in _fixed(x, 3210):
        vad.accept_waveform(chunk)
        taken.append(vad.take_frames().p0)
    vad.flush()
    taken.append(vad.take_frames().p0)
    np.testing.assert_array_equal(np.concatenate(taken), expected.track.p0)
    np.testing.assert_array_equal(vad.track().p0, expected.track.p0)
    assert vad.take_frames().num_frames == 0
    with pytest.raises(RuntimeError, match="keep_track"):
        StreamingVad().track()


def test_resegment_equals_fresh_run(recordings: dict[str, np.ndarray],
                                    offline: dict[str, VadResult]) -> None:
    candidates = [VadParams(max_end_silence_ms=300), VadParams(speech_noise_thres=0.85),
                  VadParams(window_size_ms=400, sil_to_speech_ms=300, speech_to_sil_ms=200),
                  VadParams(max_segment_ms=9000, split_at_pause=True, pad_end_ms=250),
                  VadParams(detect_mode="single")]
    candidates += [p.params for p in builtin_presets().values()]
    for name, x in recordings.items():
        track = offline[name].track
        seen = set()
        for params in candidates:
            fresh = segment_array(x, params).segments
            assert resegment(track, params) == fresh, (name, params)
            seen.add(str(fresh))
        assert len(seen) >= 4, "the candidates must actually change the segments"


def test_reset_reuses_the_stream_object(recordings: dict[str, np.ndarray],
                                        offline: dict[str, VadResult]) -> None:
    x = recordings["meeting"]
    vad = StreamingVad()
    first = _stream(vad, _fixed(x, 8000))
    assert vad.flush() == []  # idempotent
    with pytest.raises(RuntimeError, match="reset"):
        vad.accept_waveform(x[:160])
    vad.reset()
    assert vad.processed_ms == 0
    assert _stream(vad, _fixed(x, 5000)) == first
    assert _closed(first) == offline["meeting"].segments


def test_open_segment_state_while_streaming(recordings: dict[str, np.ndarray],
                                            offline: dict[str, VadResult]) -> None:
    x = recordings["meeting"]
    first = offline["meeting"].segments[0]
    vad = StreamingVad()
    events: list[Any] = []
    pos = 0
    while not any(isinstance(e, SegmentOpened) for e in events):
        events += vad.accept_waveform(x[pos:pos + 1600])
        pos += 1600
    assert events == [SegmentOpened(first.start_ms)]
    assert vad.is_speech_detected and vad.open_start_ms == first.start_ms
    assert vad.processed_ms == pos * 1000 // SR


def test_set_params_live(recordings: dict[str, np.ndarray]) -> None:
    x = recordings["meeting"]
    patient, quick = VadParams(max_end_silence_ms=3000), VadParams(max_end_silence_ms=300)
    expected_patient = segment_array(x, patient).segments
    vad = StreamingVad(patient)
    half = x.size // 2
    before = [e.segment for e in vad.accept_waveform(x[:half]) if isinstance(e, SegmentClosed)]
    assert before and before == expected_patient[:len(before)]  # decided segments stay
    vad.set_params(quick)
    assert vad.params == quick
    after = [e.segment for e in vad.accept_waveform(x[half:]) + vad.flush()
             if isinstance(e, SegmentClosed)]
    assert after[0].start_ms >= before[-1].end_ms
    assert len(after) > len(expected_patient) - len(before)  # short pauses now end segments
    with pytest.raises(ValueError, match="VadParams"):
        vad.set_params({"max_end_silence_ms": 300})  # type: ignore[arg-type]


def test_live_switch_between_the_reference_rules_and_the_boundary_stage(
        recordings: dict[str, np.ndarray]) -> None:
    x = recordings["meeting"]
    stage = VadParams(boundary_stage=True, min_silence_ms=300, score_smooth_ms=50)
    for first, second in ((VadParams(), stage), (stage, VadParams())):
        expected_first = segment_array(x, first).segments
        vad = StreamingVad(first)
        third = x.size // 3
        events = vad.accept_waveform(x[:third])
        switch_ms = vad.frames_scored * 10  # the new rules start after the frames scored
        vad.set_params(second)
        events += vad.accept_waveform(x[third:]) + vad.flush()
        segs = _closed(events)  # (checks that every close follows its open)
        before = [s for s in segs if s.end_ms <= switch_ms]
        after = segs[len(before):]
        # decided segments stay; an open one closes at the switch; the rest is the new rules'
        assert before[:-1] == [s for s in expected_first if s.end_ms < switch_ms][:len(before) - 1]
        assert after and after[0].start_ms >= switch_ms
        assert all(s.end_ms > s.start_ms for s in segs)


# --- input checks ----------------------------------------------------------------------------

def test_float64_is_converted(recordings: dict[str, np.ndarray],
                              offline: dict[str, VadResult]) -> None:
    x = recordings["meeting"]
    assert segment_array(x.astype(np.float64)).segments == offline["meeting"].segments


@pytest.mark.parametrize(("bad", "message"), [
    (np.array([0.0, np.nan, 0.1], np.float32), "NaN or infinite values .first at sample 1"),
    (np.array([0.0, 0.2, np.inf], np.float32), "NaN or infinite"),
    (np.zeros(1600, np.int16), "int16.*divide by 32768"),
    (np.zeros((1600, 2), np.float32), r"1-D mono array, got shape \(1600, 2\).*downmix"),
    (np.zeros(1600, np.complex64), "float32"),
    ([0.0, 0.1], "numpy array"),
])
def test_bad_samples_are_refused(bad: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        segment_array(bad)
    vad = StreamingVad()
    with pytest.raises(ValueError, match=message):
        vad.accept_waveform(bad)
    assert vad.processed_ms == 0  # nothing half-accepted


def test_wrong_sample_rate_is_refused() -> None:
    with pytest.raises(ValueError, match="16000 Hz audio, got 44100 Hz: resample"):
        segment_array(np.zeros(44_100, np.float32), sample_rate=44_100)
    with pytest.raises(ValueError, match="8000 Hz"):
        StreamingVad(sample_rate=8000)
    with pytest.raises(ValueError, match="8000 Hz"):
        segment_blocks([np.zeros(8000, np.float32)], sample_rate=8000)


def test_empty_and_tiny_input() -> None:
    empty = segment_array(np.zeros(0, np.float32))
    assert empty.segments == [] and empty.track.num_frames == 0 and empty.duration_ms == 0
    tiny = segment_array(np.full(399, 0.1, np.float32))  # shorter than one 25 ms frame
    assert tiny.segments == [] and tiny.track.num_frames == 0 and tiny.duration_ms == 24
    vad = StreamingVad()
    assert vad.accept_waveform(np.zeros(0, np.float32)) == []
    assert vad.flush() == []
    silence = segment_array(np.zeros(5 * SR, np.float32))
    assert silence.segments == [] and silence.track.num_frames == 498


def test_model_info() -> None:
    for precision in ("int8", "fp32"):
        info = model_info(precision)
        assert isinstance(info, ModelInfo)
        assert info.precision == precision and info.path.is_file()
        assert len(info.sha256) == 64 and info.name == info.path.name
    assert StreamingVad(precision="fp32").info.name == "fsmn-vad-fp32.onnx"
    with pytest.raises(ValueError, match="precision"):
        model_info("int4")  # type: ignore[arg-type]
