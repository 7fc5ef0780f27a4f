"""The FSMN-VAD network through onnxruntime, with its four FSMN caches carried between calls.

The model (FunASR ``iic/speech_fsmn_vad_zh-cn-16k-common``, see models/README.md) takes
``speech`` (1, T, 400) and ``in_cache0..3`` (1, 128, 19, 1) and returns ``logits`` (1, T, 248),
already a softmax, plus ``out_cache0..3`` to feed back. It is causal: the score of a frame
depends only on it and earlier frames, so scoring a stream in pieces equals scoring it whole.

Every model file is checked against the sha256 in ``models/manifest.json`` when it is loaded:
a damaged or replaced file fails loudly instead of producing quietly different segments.

Thread safety: a ``VadModel`` owns the caches of one stream, so it is NOT thread-safe. Use one
``VadModel`` per stream (and per thread). The onnxruntime session itself is stateless between
calls (the caches are inputs) and its ``run`` is thread-safe, so a long-lived worker process
(a Dask worker) may ``preload`` it once: every later ``VadModel`` of that precision and thread
count in the process then shares it instead of verifying and loading the file again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import numpy as np
import onnxruntime as ort

from vaddesk import paths
from vaddesk.core.manifest import (
    MANIFEST_FILE,
    ModelFileError,
    load_manifest,
    sha256_file,
    verify_model_file,
)

# The manifest checks live in core/manifest.py (no onnxruntime there); these names stay
# importable from here, where callers of the model have always found them.
__all__ = [
    "BLOCK_FRAMES",
    "CACHE_SHAPE",
    "FEATURE_DIM",
    "MANIFEST_FILE",
    "MODEL_FILES",
    "NUM_CACHES",
    "ModelFileError",
    "ModelInfo",
    "Precision",
    "VadModel",
    "load_manifest",
    "make_session",
    "model_info",
    "sha256_file",
    "verify_model_file",
]

log = logging.getLogger(__name__)

Precision = Literal["int8", "fp32"]

MODEL_FILES: Final[dict[str, str]] = {
    "int8": "fsmn-vad-int8.onnx",
    "fp32": "fsmn-vad-fp32.onnx",
}
FEATURE_DIM: Final = 400
NUM_CACHES: Final = 4
CACHE_SHAPE: Final = (1, 128, 19, 1)
BLOCK_FRAMES: Final = 512
"""Frames per network call. ORT's per-frame cost grows for very long inputs (cache misses:
~12 us/frame at 1000 frames but ~19 us/frame at 18000 here), so long inputs go in blocks.
The split does not change any score: the caches carry the context across calls."""


@dataclass(frozen=True, slots=True)
class ModelInfo:
    name: str  # file name, e.g. "fsmn-vad-int8.onnx"
    precision: str  # "int8" | "fp32"
    sha256: str
    path: Path
    size_bytes: int


def model_info(precision: Precision = "int8") -> ModelInfo:
    """Name, hash, path and size of the shipped model for ``precision`` (verified)."""
    if precision not in MODEL_FILES:
        raise ValueError(f"precision must be one of {sorted(MODEL_FILES)}, got {precision!r}")
    path = paths.model_file(MODEL_FILES[precision])
    return _info_for(path, precision)


def _info_for(path: Path, precision: str) -> ModelInfo:
    sha = verify_model_file(path)
    return ModelInfo(
        name=path.name,
        precision=precision,
        sha256=sha,
        path=path,
        size_bytes=path.stat().st_size,
    )


def make_session(path: Path, threads: int = 1) -> ort.InferenceSession:
    """An onnxruntime CPU session: ``threads`` intra-op threads, sequential, full optimisation."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3  # ORT warns about unused initialisers in quantised graphs
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


_PRELOADED: dict[tuple[str, int], tuple[ModelInfo, ort.InferenceSession]] = {}
_LOADS: list[int] = [0]  # sessions made in this process (a worker's "loaded once" check)


def preload(precision: Precision = "int8", threads: int = 1) -> ModelInfo:
    """Verify and load the shipped model once for this process; later VadModels share it."""
    key = (precision, threads)
    if key not in _PRELOADED:
        if precision not in MODEL_FILES:
            raise ValueError(f"precision must be one of {sorted(MODEL_FILES)}, got {precision!r}")
        path = paths.model_file(MODEL_FILES[precision])
        info = _info_for(path, precision)
        _PRELOADED[key] = (info, make_session(path, threads))
        _LOADS[0] += 1
    return _PRELOADED[key][0]


def sessions_loaded() -> int:
    """How many onnxruntime sessions this process has made (preloaded or per VadModel)."""
    return _LOADS[0]


class VadModel:
    """Silence probabilities for one stream; FSMN caches carried between calls.

    Not thread-safe: one instance per stream and thread (each owns its session).
    """

    def __init__(
        self, precision: Precision = "int8", threads: int = 1, path: Path | None = None
    ) -> None:
        if precision not in MODEL_FILES:
            raise ValueError(f"precision must be one of {sorted(MODEL_FILES)}, got {precision!r}")
        if not isinstance(threads, int) or threads < 1:
            raise ValueError(f"threads must be an integer >= 1, got {threads!r}")
        shared = _PRELOADED.get((precision, threads)) if path is None else None
        if shared is not None:
            self.info, self._session = shared
        else:
            model_path = path if path is not None else paths.model_file(MODEL_FILES[precision])
            self.info = _info_for(model_path, precision)
            self._session = make_session(model_path, threads)
            _LOADS[0] += 1
        self._cache_names = [f"in_cache{i}" for i in range(NUM_CACHES)]
        self._output_names = ["logits"] + [f"out_cache{i}" for i in range(NUM_CACHES)]
        # The next call's inputs: the four caches live here between calls, so a call only
        # swaps "speech" and the returned caches in (streaming calls are ~0.1 ms each).
        self._feed: dict[str, np.ndarray] = {}
        self.reset()
        log.debug(
            "loaded %s (%s, %d bytes)", self.info.name, self.info.sha256[:12], self.info.size_bytes
        )

    def reset(self) -> None:
        """Forget the stream: zero the four caches."""
        self._feed = {name: np.zeros(CACHE_SHAPE, dtype=np.float32) for name in self._cache_names}

    def silence_prob(self, features: np.ndarray) -> np.ndarray:
        """(n, 400) float32 features -> (n,) float32 p0 (softmax of class 0, silence).

        p0 can be exactly 0.0 or 1.0 (the INT8 softmax is quantised): callers must not take
        log(p0) or divide by p0 or 1 - p0.
        """
        if features.ndim != 2 or features.shape[1] != FEATURE_DIM:
            raise ValueError(f"features must have shape (n, {FEATURE_DIM}), got {features.shape}")
        n = features.shape[0]
        feats = np.ascontiguousarray(features, dtype=np.float32)
        if n <= BLOCK_FRAMES:  # streaming blocks: one call, no output buffer to fill
            return self._run(feats) if n else np.zeros(0, dtype=np.float32)
        return np.concatenate(
            [self._run(feats[s : s + BLOCK_FRAMES]) for s in range(0, n, BLOCK_FRAMES)]
        )

    def _run(self, block: np.ndarray) -> np.ndarray:
        """One network call on (t, 400) contiguous float32 features; caches carried."""
        feed = self._feed
        feed["speech"] = block[None]
        logits, *caches = self._session.run(self._output_names, feed)
        del feed["speech"]  # a view of the caller's array: do not keep it alive
        feed.update(zip(self._cache_names, caches, strict=True))
        return np.ascontiguousarray(logits[0, :, 0])
