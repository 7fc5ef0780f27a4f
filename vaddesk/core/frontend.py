"""Streaming feature frontend: Kaldi fbank -> LFR(5, 1) -> CMVN, as the reference computes it.

The reference (funasr_onnx ``WavFrontend.fbank`` + ``lfr_cmvn``) runs kaldi-native-fbank 1.23
(knf) one frame at a time. The fbank step here has two implementations of knf's float32
arithmetic, chosen by ``fbank``:

- ``"exact"`` (the default): the compiled fbank (_fbank.c through fbank_native.py). Its
  features and energies equal the reference's bit for bit. When it was not built, "exact"
  falls back to the numpy replay, with a warning logged once.
- ``"numpy"``: the numpy replay (fbank_replay.py). Bit-identical to knf up to the log, where
  it rounds a double log instead of calling glibc's ``logf``: one float32 ulp apart on about
  2.5 log-mel values in 10 000, never more (features then differ by up to ~3e-7 after CMVN).

A callable ``(n, 400) frames -> (80, n) log-mel`` can be passed instead (tests use it to run
knf itself or other FFTs through the same streaming code).

After the fbank: LFR stacks frames t-2..t+2 (clamped at both ends: the start repeats frame 0,
the end repeats the last frame); CMVN is ``(x + AddShift) * Rescale`` in float64 (the
reference loads am.mvn as float64), rounded to float32.

Every step works frame by frame, so the features of a stream cut into chunks of any size are
bitwise identical to the features of the whole array. Memory is bounded: the frontend keeps
fewer than 400 pending samples and at most four fbank frames of context, and processes large
inputs in blocks of ``_BLOCK_FRAMES`` frames.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final, Literal

import numpy as np

from vaddesk import paths
from vaddesk.core.fbank_native import NATIVE
from vaddesk.core.fbank_replay import energy_db, frames_view, log_fbank
from vaddesk.core.fbank_tables import FRAME_LENGTH, FRAME_SHIFT, NUM_MEL_BINS
from vaddesk.core.manifest import verify_model_file

LFR_M: Final = 5
LFR_CONTEXT: Final = (LFR_M - 1) // 2  # 2 frames each side
FEATURE_DIM: Final = NUM_MEL_BINS * LFR_M  # 400
CMVN_FILE: Final = "am.mvn"

_BLOCK_FRAMES: Final = 512  # frames per vectorised block: bounds temporaries, cache-friendly

FbankBackend = Literal["exact", "numpy"]
LogFbank = Callable[[np.ndarray], np.ndarray]
"""(n, 400) unscaled float32 frames -> (80, n) float32 log-mel energies."""


@dataclass(frozen=True, slots=True)
class FrontendFrames:
    """Feature rows decided so far, aligned with their frame energies.

    Row ``i`` is global frame ``first_frame + i`` (10 ms hop, 25 ms window).
    """

    features: np.ndarray  # (n, 400) float32: fbank -> LFR -> CMVN
    energy_db: np.ndarray  # (n,) float64: 10*log10(sum(x^2) + 1e-6), unscaled waveform
    first_frame: int

    @property
    def num_frames(self) -> int:
        return int(self.features.shape[0])


def _empty(first_frame: int) -> FrontendFrames:
    return FrontendFrames(
        features=np.zeros((0, FEATURE_DIM), dtype=np.float32),
        energy_db=np.zeros(0, dtype=np.float64),
        first_frame=first_frame,
    )


@lru_cache(maxsize=8)
def _load_cmvn_cached(path: str, mtime_ns: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    del mtime_ns, size  # cache key only: a changed file is read again
    shift: np.ndarray | None = None
    scale: np.ndarray | None = None
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines[:-1]):
        head = line.split()[:1]
        nxt = lines[i + 1].split()
        if not head or not nxt or nxt[0] != "<LearnRateCoef>":
            continue
        # "<LearnRateCoef> 0 [ v1 v2 ... ]": the values sit between the brackets.
        values = np.array([float(v) for v in nxt[3:-1]], dtype=np.float64)
        if head[0] == "<AddShift>":
            shift = values
        elif head[0] == "<Rescale>":
            scale = values
    if (
        shift is None
        or scale is None
        or shift.shape != (FEATURE_DIM,)
        or scale.shape != (FEATURE_DIM,)
    ):
        raise ValueError(
            f"{path}: not a usable CMVN file (need <AddShift> and <Rescale> with "
            f"{FEATURE_DIM} values each)"
        )
    shift.setflags(write=False)
    scale.setflags(write=False)
    return shift, scale


def load_cmvn(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(AddShift, Rescale) from a Kaldi nnet am.mvn file, as float64 like the reference."""
    st = path.stat()
    return _load_cmvn_cached(str(path), st.st_mtime_ns, st.st_size)


class StreamingFrontend:
    """Features for a 16 kHz stream fed in chunks of any length.

    ``accept`` returns the rows that are final so far (each feature row needs the fbank
    frames two ahead, so rows trail the input by 2 frames + up to 400 pending samples);
    ``finish`` returns the rest, repeating the last fbank frame as the reference does.

    ``fbank``: "exact" (default, the compiled fbank: the reference's features bit for bit;
    the numpy replay when it was not built), "numpy" (the numpy replay), or a ``LogFbank``
    callable (see the module docstring). A stream and the offline run it is compared with
    must use the same choice.
    """

    def __init__(
        self, cmvn_path: Path | None = None, *, fbank: FbankBackend | LogFbank = "exact"
    ) -> None:
        if cmvn_path is None:
            # The shipped file is checked against models/manifest.json (a custom path is not).
            cmvn_path = paths.model_file(CMVN_FILE)
            verify_model_file(cmvn_path)
        if callable(fbank):
            self._fbank_fn: LogFbank = fbank
        elif fbank in ("exact", "numpy"):
            self._fbank_fn = log_fbank
        else:
            raise ValueError(f"fbank must be 'exact', 'numpy' or a callable, got {fbank!r}")
        self._native = NATIVE if fbank == "exact" else None
        shift, scale = load_cmvn(cmvn_path)
        # am.mvn repeats one 80-dim vector for each of the 5 stacked frames; then CMVN can be
        # applied once per fbank frame before stacking (5x less work, identical numbers: each
        # element is still (float64(x) + shift) * scale rounded to float32).
        self._per_frame_cmvn = all(
            np.array_equal(v[:NUM_MEL_BINS], v[k * NUM_MEL_BINS : (k + 1) * NUM_MEL_BINS])
            for v in (shift, scale)
            for k in range(LFR_M)
        )
        # per-frame CMVN vectors (80 values; the numpy path broadcasts them as columns)
        self._shift_80 = np.ascontiguousarray(shift[:NUM_MEL_BINS])
        self._scale_80 = np.ascontiguousarray(scale[:NUM_MEL_BINS])
        self._cmvn_shift, self._cmvn_scale = shift, scale
        self.reset()

    @property
    def frames_emitted(self) -> int:
        return self._emitted

    def reset(self) -> None:
        self._pending = np.zeros(0, dtype=np.float32)  # samples from the next frame's start
        self._fbank_done = 0  # fbank frames computed
        self._emitted = 0  # feature rows returned
        # Fbank rows (normalised if per-frame CMVN) from global index max(0, emitted - 2) to
        # fbank_done - 1, and the energies of frames emitted .. fbank_done - 1: a few rows.
        self._rows_tail = np.zeros((0, NUM_MEL_BINS), dtype=np.float32)
        self._energy_tail = np.zeros(0, dtype=np.float64)

    def accept(self, samples: np.ndarray) -> FrontendFrames:
        samples = _as_mono_float32(samples)
        rows_parts = [self._rows_tail]
        energy_parts = [self._energy_tail]
        # Bounded work per step: at most _BLOCK_FRAMES frames' worth of samples at a time.
        step = _BLOCK_FRAMES * FRAME_SHIFT
        for start in range(0, samples.shape[0], step):
            self._fbank_block(samples[start : start + step], rows_parts, energy_parts)
        if len(rows_parts) > 1:
            self._rows_tail = np.concatenate(rows_parts)
            self._energy_tail = np.concatenate(energy_parts)
        return self._emit(self._rows_tail, final=False)

    def finish(self) -> FrontendFrames:
        """End of stream: the remaining rows (the last fbank frame repeated as right context).

        The frontend is then empty; call ``reset`` before feeding a new stream.
        """
        first = self._emitted
        self._pending = np.zeros(0, dtype=np.float32)
        if self._rows_tail.shape[0] == 0:
            return _empty(first)
        right = np.repeat(self._rows_tail[-1:], LFR_CONTEXT, axis=0)
        out = self._emit(np.concatenate([self._rows_tail, right]), final=True)
        return out

    # -- internals --

    def _fbank_block(
        self, samples: np.ndarray, rows_parts: list[np.ndarray], energy_parts: list[np.ndarray]
    ) -> None:
        """Turn pending + ``samples`` into fbank rows and energies for every complete frame."""
        buf = np.concatenate([self._pending, samples]) if self._pending.size else samples
        length = buf.shape[0]
        n_new = 0 if length < FRAME_LENGTH else 1 + (length - FRAME_LENGTH) // FRAME_SHIFT
        if n_new == 0:
            self._pending = np.array(buf, dtype=np.float32, copy=True)
            return
        buf = np.ascontiguousarray(buf)
        if self._native is not None:
            # fbank rows (CMVN applied when it is per frame) and energies in one compiled call
            rows_t = np.empty((n_new, NUM_MEL_BINS), dtype=np.float32)
            energy = np.empty(n_new, dtype=np.float64)
            if self._per_frame_cmvn:
                self._native.fbank(buf, n_new, rows_t, energy, self._shift_80, self._scale_80)
            else:
                self._native.fbank(buf, n_new, rows_t, energy)
            rows_parts.append(rows_t)
            energy_parts.append(energy)
        else:
            frames = frames_view(buf, n_new)
            rows = self._fbank_fn(frames)  # (80, n)
            if self._per_frame_cmvn:
                rows = ((rows + self._shift_80[:, None]) * self._scale_80[:, None]).astype(
                    np.float32
                )
            rows_parts.append(rows.T)
            energy_parts.append(energy_db(frames))
        self._pending = np.array(buf[n_new * FRAME_SHIFT :], dtype=np.float32, copy=True)
        self._fbank_done += n_new

    def _emit(self, rows: np.ndarray, *, final: bool) -> FrontendFrames:
        """Stack every row whose 5-frame context is in ``rows``.

        ``rows`` starts at global fbank index max(0, emitted - 2); at the stream start the
        left context is frame 0 repeated.
        """
        first = self._emitted
        left_missing = LFR_CONTEXT - min(first, LFR_CONTEXT)
        if left_missing:
            rows = np.concatenate([np.repeat(rows[:1], left_missing, axis=0), rows])
        count = rows.shape[0] - (LFR_M - 1)
        if count <= 0:
            return _empty(first)
        # Feature row i is fbank rows i..i+4 side by side, which in a C-ordered (n, 80) array
        # are 400 consecutive floats: an overlapping strided view, copied once.
        rows = np.ascontiguousarray(rows, dtype=np.float32)
        step = rows.strides[1]
        features: np.ndarray = np.ndarray(
            (count, FEATURE_DIM), np.float32, buffer=rows, strides=(NUM_MEL_BINS * step, step)
        ).copy()
        if not self._per_frame_cmvn:
            features = ((features + self._cmvn_shift) * self._cmvn_scale).astype(np.float32)
        energy = self._energy_tail[:count]
        self._energy_tail = self._energy_tail[count:].copy()
        self._emitted += count
        if final:
            self._rows_tail = np.zeros((0, NUM_MEL_BINS), dtype=np.float32)
        else:
            # Keep the context the next rows need: fbank frames from (emitted - 2) on.
            tail_start = self._fbank_done - self._rows_tail.shape[0]  # global index of row 0
            keep_from = max(0, self._emitted - LFR_CONTEXT - tail_start)
            self._rows_tail = self._rows_tail[keep_from:].copy()
        return FrontendFrames(features=features, energy_db=energy, first_frame=first)


def _as_mono_float32(samples: np.ndarray) -> np.ndarray:
    arr = np.asarray(samples)
    if arr.ndim != 1:
        raise ValueError(f"expected a 1-D mono waveform, got shape {arr.shape}")
    if arr.dtype != np.float32:
        if not np.issubdtype(arr.dtype, np.floating):
            raise ValueError(f"expected float32 samples in [-1, 1], got dtype {arr.dtype}")
        arr = arr.astype(np.float32)
    return arr


def _concat(parts: list[FrontendFrames], first: int) -> FrontendFrames:
    if not parts:
        return _empty(first)
    if len(parts) == 1:
        return parts[0]
    return FrontendFrames(
        features=np.concatenate([p.features for p in parts]),
        energy_db=np.concatenate([p.energy_db for p in parts]),
        first_frame=first,
    )


def compute_features(
    samples: np.ndarray,
    cmvn_path: Path | None = None,
    *,
    fbank: FbankBackend | LogFbank = "exact",
) -> FrontendFrames:
    """Features of a whole waveform at once (same rows as streaming it in any chunks)."""
    frontend = StreamingFrontend(cmvn_path, fbank=fbank)
    head = frontend.accept(samples)
    tail = frontend.finish()
    return _concat([p for p in (head, tail) if p.num_frames], 0)
