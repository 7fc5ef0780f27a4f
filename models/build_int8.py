"""Build models/fsmn-vad-int8.onnx from models/fsmn-vad-fp32.onnx (static per-channel INT8).

    cd <repo> && python models/build_int8.py            # rebuild, report, update manifest.json
    python models/build_int8.py --compare              # also build and score the alternatives
    python models/build_int8.py --time-calls OLD.onnx  # no build: us per call, shipped vs OLD

How: ONNX Runtime ``quantize_static``, QOperator format (QLinearMatMul / QLinearConv), INT8
per-channel weights and UINT8 activations, calibrated with the Percentile method (99.999 %)
on features of deterministic espeak-ng speech over noise (models/calibration.py). The
calibration inputs are what the model really sees in a stream: the FP32 model is run over
each clip in chunks of CHUNK_FRAMES frames and every chunk's ``speech`` *and* the four
``in_cache`` tensors it was fed are recorded (zero caches would calibrate the cache paths on
values they never take in use).

Only MatMul and Conv are quantised (measured with --compare, on held-out clips):
- quantising the Adds too (QLinearAdd) adds requantisation error (mean |d p0| 0.016 vs 0.011)
  for no speed gain;
- the Softmax stays in float: a quantised softmax rounds p0 to 1/256 steps and gives exactly
  0 or 1, and was slower here;
- MinMax calibration: 0.0135; Percentile 99.99 / 99.9: 0.0113 / 0.0134; per-tensor weights:
  worse and slower; QDQ format: same scores as QOperator, similar speed, slightly bigger file.

Graph surgery (models/slim_graph.py), the last step: the QOperator graph is rewritten into the
71 nodes onnxruntime really computes (97 after its own optimiser), without the Transposes,
Squeezes and Q/DQ round trips around them: the same arithmetic, so p0 and the caches are bit
for bit those of quantize_static's file (models/README.md). --compare's variants are built
and timed without it.

Calibration features come from the numpy frontend replay (``fbank="numpy"``), which the
shipped file was calibrated with; the compiled frontend differs by one ulp on rare log
values and would move two activation scales by one ulp (another file). The result is
deterministic for a given onnxruntime version, espeak-ng version, seed and feature frontend
(recorded in models/README.md); the script prints the sha256 it wrote.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process

MODELS_DIR: Final = Path(__file__).resolve().parent
REPO_DIR: Final = MODELS_DIR.parent
sys.path.insert(0, str(REPO_DIR))
sys.path.insert(0, str(MODELS_DIR))

from calibration import calibration_clips  # noqa: E402
from slim_graph import slim  # noqa: E402

from vaddesk.core.frontend import compute_features  # noqa: E402
from vaddesk.core.model import make_session  # noqa: E402

FP32_MODEL: Final = MODELS_DIR / "fsmn-vad-fp32.onnx"
INT8_MODEL: Final = MODELS_DIR / "fsmn-vad-int8.onnx"
MANIFEST: Final = MODELS_DIR / "manifest.json"
CHUNK_FRAMES: Final = 200
SEED: Final = 2024
OPS_TO_QUANTIZE: Final = ["MatMul", "Conv"]
CACHE_SHAPE: Final = (1, 128, 19, 1)
NODES_TO_EXCLUDE: Final[list[str]] = []


HELDOUT_SEED: Final = 99
# The frontend the shipped file was calibrated with (bd0769f2...): the numpy replay. The
# compiled one (the default) rounds rare log values one ulp apart, which moves two activation
# scales by one ulp.
CALIBRATION_FBANK: Final = "numpy"


def calibration_features(seed: int = SEED, variant: int = 0) -> list[np.ndarray]:
    return [
        compute_features(c.samples, fbank=CALIBRATION_FBANK).features
        for c in calibration_clips(seed, variant)
    ]


def record_inputs(features: list[np.ndarray]) -> list[dict[str, np.ndarray]]:
    """Run the FP32 model over each clip in chunks and record every chunk's full input."""
    session = make_session(FP32_MODEL, threads=1)
    outputs = ["logits"] + [f"out_cache{i}" for i in range(4)]
    recorded: list[dict[str, np.ndarray]] = []
    for feats in features:
        caches = [np.zeros(CACHE_SHAPE, dtype=np.float32) for _ in range(4)]
        for start in range(0, feats.shape[0], CHUNK_FRAMES):
            feed = {"speech": feats[None, start : start + CHUNK_FRAMES]}
            feed.update({f"in_cache{i}": c for i, c in enumerate(caches)})
            if feed["speech"].shape[1] == CHUNK_FRAMES:
                # Equal shapes only: the histogram calibrators stack the recorded tensors.
                recorded.append(feed)
            _, *caches = session.run(outputs, feed)
    return recorded


class _Reader(CalibrationDataReader):
    def __init__(self, inputs: list[dict[str, np.ndarray]]) -> None:
        self._inputs = inputs
        self._it: Iterator[dict[str, np.ndarray]] = iter(inputs)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._it, None)

    def rewind(self) -> None:
        self._it = iter(self._inputs)


def build(
    out_path: Path,
    inputs: list[dict[str, np.ndarray]],
    *,
    quant_format: QuantFormat = QuantFormat.QOperator,
    per_channel: bool = True,
    ops: list[str] | None = None,
    exclude: list[str] | None = None,
    method: CalibrationMethod = CalibrationMethod.Percentile,
    slim_graph: bool = True,
) -> None:
    """Quantise the FP32 model into ``out_path``. ``slim_graph`` (QOperator, MatMul+Conv only):
    rewrite the quantised graph into the nodes onnxruntime computes (slim_graph.py)."""
    with tempfile.TemporaryDirectory(prefix="vaddesk-quant-") as tmp:
        source = FP32_MODEL
        prepped = Path(tmp) / "prepped.onnx"
        quantised = Path(tmp) / "quantised.onnx"
        quant_pre_process(str(source), str(prepped), skip_symbolic_shape=True)
        quantize_static(
            str(prepped),
            str(quantised),
            _Reader(inputs),
            quant_format=quant_format,
            op_types_to_quantize=ops or OPS_TO_QUANTIZE,
            per_channel=per_channel,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            nodes_to_exclude=exclude if exclude is not None else NODES_TO_EXCLUDE,
            calibrate_method=method,
            extra_options={"ActivationSymmetric": False, "WeightSymmetric": True},
        )
        if slim_graph:
            slim(quantised, out_path)
        else:
            quantised.replace(out_path)


def score(path: Path, features: list[np.ndarray], block: int = 512) -> np.ndarray:
    """p0 for every frame of every clip, the way VadModel feeds the network."""
    session = make_session(path, threads=1)
    outputs = ["logits"] + [f"out_cache{i}" for i in range(4)]
    p0: list[np.ndarray] = []
    for feats in features:
        caches = [np.zeros(CACHE_SHAPE, dtype=np.float32) for _ in range(4)]
        for start in range(0, feats.shape[0], block):
            feed = {"speech": feats[None, start : start + block]}
            feed.update({f"in_cache{i}": c for i, c in enumerate(caches)})
            logits, *caches = session.run(outputs, feed)
            p0.append(logits[0, :, 0])
    return np.concatenate(p0)


def time_against(
    path: Path, baseline: Path, feats: np.ndarray, block: int = 512, repeats: int = 9
) -> tuple[float, float, float]:
    """Seconds per frame of ``path`` and ``baseline`` and the median speed-up.

    The two models run alternately, pass after pass over ``feats`` in ``block``-frame calls
    (one thread), so a busy machine slows both alike; the speed-up is the median of the
    per-pass ratios.
    """
    sessions = [make_session(path, threads=1), make_session(baseline, threads=1)]
    outputs = ["logits"] + [f"out_cache{i}" for i in range(4)]
    times: list[list[float]] = [[], []]
    for _ in range(repeats):
        for which, session in enumerate(sessions):
            caches = [np.zeros(CACHE_SHAPE, dtype=np.float32) for _ in range(4)]
            t0 = time.perf_counter()
            for start in range(0, feats.shape[0], block):
                feed = {"speech": feats[None, start : start + block]}
                feed.update({f"in_cache{i}": c for i, c in enumerate(caches)})
                _, *caches = session.run(outputs, feed)
            times[which].append(time.perf_counter() - t0)
    ratios = [b / a for a, b in zip(times[0], times[1], strict=True)]
    n = feats.shape[0]
    return (
        float(np.median(times[0])) / n,
        float(np.median(times[1])) / n,
        float(np.median(ratios)),
    )


def time_calls(
    models: list[Path], frames: tuple[int, ...] = (1, 10, 512), repeats: int = 9
) -> dict[int, list[float]]:
    """Median seconds per network call of each model, for calls of each size in ``frames``.

    One thread; the models take turns, ``repeats`` rounds of a batch of calls each, so load
    from other jobs slows them alike. Random features and caches (the cost does not depend on
    the values). 10 frames = one 100 ms streaming block.
    """
    sessions = [make_session(path, threads=1) for path in models]
    rng = np.random.default_rng(0)
    result: dict[int, list[float]] = {}
    for t in frames:
        feed = {"speech": rng.standard_normal((1, t, 400)).astype(np.float32)}
        feed.update(
            {f"in_cache{i}": rng.standard_normal(CACHE_SHAPE).astype(np.float32) for i in range(4)}
        )
        calls = max(30, 4000 // t)
        times: list[list[float]] = [[] for _ in sessions]
        for session in sessions:  # warm up
            for _ in range(calls // 4):
                session.run(None, feed)
        for _ in range(repeats):
            for which, session in enumerate(sessions):
                t0 = time.perf_counter()
                for _ in range(calls):
                    session.run(None, feed)
                times[which].append((time.perf_counter() - t0) / calls)
        result[t] = [float(np.median(ts)) for ts in times]
    return result


def print_call_times(models: list[Path]) -> None:
    print("us per network call (one thread, median of 9 alternating rounds):")
    for t, seconds in time_calls(models).items():
        cells = "  ".join(
            f"{path.name} {s * 1e6:8.1f} (x{seconds[0] / s:4.2f})"
            for path, s in zip(models, seconds, strict=True)
        )
        print(f"  {t:4d} frames: {cells}")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def update_manifest(path: Path) -> None:
    data = json.loads(MANIFEST.read_text(encoding="utf-8"))
    data["files"][path.name] = {"sha256": _sha256(path), "size_bytes": path.stat().st_size}
    tmp = MANIFEST.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    tmp.replace(MANIFEST)


def report(name: str, path: Path, feats: list[np.ndarray], ref_p0: np.ndarray) -> None:
    p0 = score(path, feats)
    t, t_fp32, speedup = time_against(path, FP32_MODEL, np.concatenate(feats))
    delta = np.abs(p0 - ref_p0)
    flips = int(np.sum((p0 <= 0.2) != (ref_p0 <= 0.2)))
    print(
        f"{name:24s} {path.stat().st_size / 1e6:6.3f} MB  {t * 1e6:6.2f} us/frame "
        f"(fp32 {t_fp32 * 1e6:6.2f})  x{speedup:4.2f}  mean|d p0| {delta.mean():.5f}  "
        f"p95 {np.percentile(delta, 95):.5f}  max {delta.max():.4f}  "
        f"flips at 0.2: {flips}/{p0.size}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", type=Path, default=INT8_MODEL)
    ap.add_argument("--compare", action="store_true", help="also build and time other variants")
    ap.add_argument("--no-manifest", action="store_true", help="do not update manifest.json")
    ap.add_argument(
        "--time-calls",
        type=Path,
        nargs="*",
        metavar="OTHER",
        help="no build: time network calls of 1/10/512 frames, FP32 vs the shipped INT8 vs OTHER",
    )
    args = ap.parse_args()
    if args.time_calls is not None:
        print_call_times([FP32_MODEL, INT8_MODEL, *args.time_calls])
        return 0

    print(f"onnxruntime {ort.__version__}; generating calibration audio (seed {SEED}) ...")
    feats = calibration_features()
    inputs = record_inputs(feats)
    print(f"{len(feats)} clips, {sum(f.shape[0] for f in feats)} frames, {len(inputs)} chunks")

    build(args.out, inputs)
    if not args.no_manifest and args.out.resolve() == INT8_MODEL:
        update_manifest(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes, sha256 {_sha256(args.out)})")

    # Scores on held-out clips (other seed, pairings and order); one thread, 512-frame calls.
    held = calibration_features(HELDOUT_SEED, variant=1)
    print(f"held-out: {len(held)} clips, {sum(f.shape[0] for f in held)} frames")
    ref_p0 = score(FP32_MODEL, held)
    report("int8 (shipped)", args.out, held, ref_p0)
    if args.compare:
        with tempfile.TemporaryDirectory(prefix="vaddesk-quant-cmp-") as tmp:
            # The variants are compared as quantize_static writes them (not slimmed).
            raw = {"slim_graph": False}
            variants: dict[str, dict[str, Any]] = {
                "qop (not slimmed)": dict(raw),
                "qdq per-channel": dict(raw, quant_format=QuantFormat.QDQ),
                "qop per-tensor": dict(raw, per_channel=False),
                "qop +add": dict(raw, ops=[*OPS_TO_QUANTIZE, "Add"]),
                "qop +add +softmax": dict(raw, ops=[*OPS_TO_QUANTIZE, "Add", "Softmax"]),
                "qop minmax": dict(raw, method=CalibrationMethod.MinMax),
            }
            for name, kwargs in variants.items():
                path = Path(tmp) / f"{name.replace(' ', '_')}.onnx"
                build(path, inputs, **kwargs)
                report(name, path, held, ref_p0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
