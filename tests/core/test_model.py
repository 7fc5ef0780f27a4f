"""The ONNX model runner on the real models: integrity checks, caches, INT8 vs FP32."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
import soxr

from vaddesk import paths
from vaddesk.core.frontend import compute_features
from vaddesk.core.model import MODEL_FILES, ModelFileError, VadModel, make_session, model_info

SR = 16_000
# Mean |p0_int8 - p0_fp32| over the frames of the speech below; measured ~0.01 (see
# models/README.md). A broken quantisation gives > 0.1.
INT8_MEAN_DELTA_BOUND = 0.03


@pytest.fixture(scope="module")
def features(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """Features of ~8 s of espeak-ng speech with pauses over pink-ish noise at 10 dB SNR."""
    tmp = tmp_path_factory.mktemp("model-speech")
    parts = []
    for i, (voice, text) in enumerate(
        [
            ("en-us", "Four hours of steady work faced us."),
            ("en-gb+f3", "A large size in stockings is hard to sell."),
        ]
    ):
        wav = tmp / f"{i}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(wav), text], check=True)
        audio, sr = sf.read(wav, dtype="float32")
        parts += [np.zeros(SR, dtype=np.float32), soxr.resample(audio, sr, SR)]
    clean = np.concatenate([*parts, np.zeros(SR, dtype=np.float32)]).astype(np.float32)
    rng = np.random.default_rng(3)
    noise = np.cumsum(rng.standard_normal(clean.shape[0])) * 0.02
    noise = (noise - np.convolve(noise, np.ones(400) / 400, mode="same")).astype(np.float32)
    noise *= np.sqrt(np.mean(clean**2) / np.mean(noise**2) / 10)
    return compute_features(np.clip(clean + noise, -1, 1).astype(np.float32)).features


def _copy_models(dst: Path, precision: str = "fp32") -> Path:
    src = paths.models_dir()
    shutil.copy(src / "manifest.json", dst / "manifest.json")
    return Path(shutil.copy(src / MODEL_FILES[precision], dst / MODEL_FILES[precision]))


def test_shipped_files_match_manifest() -> None:
    manifest = json.loads((paths.models_dir() / "manifest.json").read_text())["files"]
    for name in ("am.mvn", "fsmn-vad-fp32.onnx", "fsmn-vad-int8.onnx"):
        assert name in manifest
    for precision in ("int8", "fp32"):
        info = model_info(precision)
        assert info.precision == precision
        assert info.sha256 == manifest[info.name]["sha256"]
        assert info.size_bytes == manifest[info.name]["size_bytes"] == info.path.stat().st_size
    assert model_info("int8").size_bytes <= 500_000


def test_tampered_model_is_refused_with_both_hashes(tmp_path: Path) -> None:
    path = _copy_models(tmp_path)
    expected = json.loads((tmp_path / "manifest.json").read_text())["files"][path.name]["sha256"]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError) as err:
        VadModel("fp32", path=path)
    message = str(err.value)
    assert str(path) in message and expected in message
    assert hashlib.sha256(bytes(data)).hexdigest() in message
    assert "Reinstall" in message


def test_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    _copy_models(tmp_path)
    missing = tmp_path / MODEL_FILES["int8"]
    with pytest.raises(ModelFileError, match="missing"):
        VadModel("int8", path=missing)


def test_unlisted_model_is_refused(tmp_path: Path) -> None:
    path = _copy_models(tmp_path)
    renamed = path.rename(tmp_path / "other.onnx")
    with pytest.raises(ModelFileError, match="not listed"):
        VadModel("fp32", path=renamed)


@pytest.mark.parametrize("precision", ["int8", "fp32"])
def test_caches_carry_context_across_calls(features: np.ndarray, precision: str) -> None:
    model = VadModel(precision)  # type: ignore[arg-type]
    whole = model.silence_prob(features)
    assert whole.dtype == np.float32 and whole.shape == (features.shape[0],)
    rng = np.random.default_rng(5)
    for limit in (3, 60, 1500):  # 1..2-frame calls, ~streaming blocks, multi-block calls
        model.reset()
        parts, pos = [], 0
        while pos < features.shape[0]:
            size = int(rng.integers(1, limit))
            parts.append(model.silence_prob(features[pos : pos + size]))
            pos += size
        np.testing.assert_array_equal(np.concatenate(parts), whole)
    # without the carried caches the scores differ (the test above is not vacuous)
    fresh = VadModel(precision)  # type: ignore[arg-type]
    cut = features.shape[0] // 2
    restarted = fresh.silence_prob(features[cut:])
    assert not np.array_equal(restarted, whole[cut:])


@pytest.mark.parametrize("precision", ["int8", "fp32"])
def test_scores_are_probabilities(features: np.ndarray, precision: str) -> None:
    model = VadModel(precision)  # type: ignore[arg-type]
    p0 = model.silence_prob(features)
    assert np.all(np.isfinite(p0)) and np.all((p0 >= 0) & (p0 <= 1))
    # speech and pauses both present: the score really moves
    assert p0.min() < 0.2 and p0.max() > 0.8
    # loud clipped noise and extreme features still give probabilities
    model.reset()
    wild = np.random.default_rng(1).standard_normal((300, 400)).astype(np.float32) * 50
    p_wild = model.silence_prob(wild)
    assert np.all(np.isfinite(p_wild)) and np.all((p_wild >= 0) & (p_wild <= 1))
    assert model.silence_prob(np.zeros((0, 400), dtype=np.float32)).shape == (0,)


def test_int8_close_to_fp32_on_speech(features: np.ndarray) -> None:
    p_fp32 = VadModel("fp32").silence_prob(features)
    p_int8 = VadModel("int8").silence_prob(features)
    delta = np.abs(p_int8.astype(np.float64) - p_fp32)
    print(f"int8 vs fp32: mean |delta p0| = {delta.mean():.4f}, max = {delta.max():.3f}")
    assert delta.mean() < INT8_MEAN_DELTA_BOUND
    # the speech/silence decision (p0 <= 0.2) agrees on nearly every frame
    assert np.mean((p_int8 <= 0.2) != (p_fp32 <= 0.2)) < 0.03


# The INT8 graph models/slim_graph.py writes: quantize_static's QOperator arithmetic as
# onnxruntime's optimiser runs it (its 90 nodes became 97 there), without the data movement
# around it: QLinearMatMul -> DequantizeLinear -> Add(bias) -> QuantizeLinear per linear layer,
# the FSMN memory blocks channels-last (QLinearConv + QLinearAdd, as onnxruntime fused them).
SHIPPED_INT8_OPS = {
    "QuantizeLinear": 12, "QLinearMatMul": 12, "DequantizeLinear": 12, "Add": 8,
    "com.microsoft:QLinearConv": 4, "com.microsoft:QLinearAdd": 4, "Transpose": 8, "Concat": 4,
    "Slice": 4, "Reshape": 2, "Softmax": 1,
}


def _ops(model_or_path: Any) -> Counter[str]:
    import onnx

    model = model_or_path
    if isinstance(model_or_path, Path):
        model = onnx.load(str(model_or_path))
    return Counter(f"{n.domain}:{n.op_type}" if n.domain else n.op_type for n in model.graph.node)


def test_int8_graph_is_the_slim_graph_onnxruntime_runs_as_is(tmp_path: Path) -> None:
    shipped = paths.model_file(MODEL_FILES["int8"])
    assert _ops(shipped) == SHIPPED_INT8_OPS
    # onnxruntime's full optimisation (what VadModel and funasr_onnx use) leaves it unchanged:
    # a call runs exactly these 71 nodes.
    optimised = tmp_path / "optimised.onnx"
    session = make_session(shipped)
    opts = session.get_session_options()
    opts.optimized_model_filepath = str(optimised)
    type(session)(str(shipped), sess_options=opts, providers=["CPUExecutionProvider"])
    assert _ops(optimised) == SHIPPED_INT8_OPS


def _models_module(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, paths.models_dir() / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _stream(session: Any, features: np.ndarray, block: int) -> list[np.ndarray]:
    """Every output of every ``block``-frame call from zero caches (logits, then caches)."""
    caches = [np.zeros((1, 128, 19, 1), dtype=np.float32) for _ in range(4)]
    outputs: list[np.ndarray] = []
    for start in range(0, features.shape[0], block):
        feed = {"speech": features[None, start : start + block]}
        feed.update({f"in_cache{i}": c for i, c in enumerate(caches)})
        logits, *caches = session.run(None, feed)
        outputs += [logits, *caches]
    return outputs


def test_slim_graph_computes_quantize_statics_numbers_bit_for_bit(
    features: np.ndarray, tmp_path: Path
) -> None:
    """The rewrite removes only data movement: a fresh quantize_static graph (calibrated on
    this speech, so not the shipped scales) and its rewrite give the same logits and caches,
    bit for bit, in 1-, 10- and 512-frame calls; both run as onnxruntime runs them."""
    import onnx

    build_int8 = _models_module("build_int8")
    slim_graph = _models_module("slim_graph")
    quantised = tmp_path / "quantised.onnx"
    inputs = build_int8.record_inputs([features])
    build_int8.build(quantised, inputs, slim_graph=False)
    rewritten = slim_graph.slim_model(onnx.load(str(quantised)))
    assert _ops(rewritten) == SHIPPED_INT8_OPS
    slim_path = tmp_path / "slim.onnx"
    onnx.save(rewritten, str(slim_path))
    sessions = [make_session(quantised), make_session(slim_path)]
    for block, frames in ((1, 120), (10, features.shape[0]), (512, features.shape[0])):
        before, after = (_stream(s, features[:frames], block) for s in sessions)
        assert len(before) == len(after)
        for a, b in zip(before, after, strict=True):
            np.testing.assert_array_equal(a, b)


def test_slim_graph_refuses_a_graph_it_does_not_know() -> None:
    import onnx

    slim_graph = _models_module("slim_graph")
    fp32 = onnx.load(str(paths.model_file(MODEL_FILES["fp32"])))
    with pytest.raises(slim_graph.UnexpectedGraphError, match="speech_QuantizeLinear"):
        slim_graph.slim_model(fp32)
    shipped = onnx.load(str(paths.model_file(MODEL_FILES["int8"])))
    with pytest.raises(slim_graph.UnexpectedGraphError, match="speech_QuantizeLinear"):
        slim_graph.slim_model(shipped)  # already rewritten: its node names are its own


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="precision"):
        VadModel("int4")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="threads"):
        VadModel("fp32", threads=0)
    with pytest.raises(ValueError, match="shape"):
        VadModel("fp32").silence_prob(np.zeros((10, 80), dtype=np.float32))
