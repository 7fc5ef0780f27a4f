"""The VAD engine: frontend -> ONNX model -> endpoint detector, streaming and offline.

CONTRACT (other layers code against these names; keep them):

    Precision = Literal["int8", "fp32"]

    class StreamingVad:
        def __init__(self, params: VadParams | None = None, *, precision: Precision = "int8",
                     threads: int = 1, keep_track: bool = False) -> None
        params: VadParams                                  # current parameters (read-only prop)
        def set_params(self, params: VadParams) -> None    # live change; decided segments stay
        def accept_waveform(self, samples: np.ndarray) -> list[VadEvent]
            # float32 16 kHz mono, any length (0..minutes); ValueError on NaN/Inf/bad dtype/shape
        def flush(self) -> list[VadEvent]                  # end of stream: closes an open segment
        def reset(self) -> None                            # ready for a new stream
        def take_frames(self) -> FrameTrack                # frames scored since last call (plots)
        is_speech_detected: bool                           # a segment is open now
        open_start_ms: int | None                          # start of the open segment
        processed_ms: int                                  # audio accepted so far
        def track(self) -> FrameTrack                      # whole stream (keep_track=True only)

    @dataclass(frozen=True) class VadResult:
        segments: list[Segment]; track: FrameTrack; duration_ms: int

    def segment_array(samples, params=None, *, precision="int8", threads=1) -> VadResult
    def segment_blocks(blocks: Iterable[np.ndarray], params=None, *, precision="int8",
                       threads=1, progress: Callable[[int], None] | None = None) -> VadResult
        # progress(samples_done) after each block; the offline path of the CLI and GUI
    def resegment(track: FrameTrack, params: VadParams) -> list[Segment]
        # no network: same segments as a fresh run with `params` over the same audio

    @dataclass(frozen=True) class ModelInfo: name: str; precision: str; sha256: str; path: Path
    def model_info(precision: Precision = "int8") -> ModelInfo
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

import numpy as np

from vaddesk.core.frontend import FrontendFrames, StreamingFrontend
from vaddesk.core.model import ModelInfo, Precision, VadModel, model_info
from vaddesk.core.params import VadParams
from vaddesk.core.segmenter import Segmenter, make_segmenter, segments_from_scores
from vaddesk.core.types import (
    FRAME_SHIFT_MS,
    SAMPLE_RATE,
    FrameTrack,
    Segment,
    SegmentClosed,
    VadEvent,
)

__all__ = [
    "ModelInfo",
    "Precision",
    "StreamingVad",
    "VadResult",
    "check_waveform",
    "model_info",
    "resegment",
    "segment_array",
    "segment_blocks",
]

log = logging.getLogger(__name__)

TAKE_FRAMES_LIMIT: Final = 6_000
"""take_frames() keeps at most this many untaken frames (60 s); older ones are dropped so a
caller that never polls cannot make memory grow."""

MAX_SLICE_SAMPLES: Final = SAMPLE_RATE * 60
"""accept_waveform() runs long inputs one minute at a time (bounded temporaries, same result)."""

_FLOAT32: Final = np.dtype(np.float32)

COALESCE_SAMPLES: Final = SAMPLE_RATE * 20
"""segment_blocks() joins small blocks up to 20 s before running them: per-call overheads of
the frontend, the network and the detector are then negligible."""


def check_waveform(samples: object, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Validate one block of audio and return it as a 1-D float32 array.

    Accepted: a 1-D float32 array (used as is) or float64/float16 (converted to float32, the
    precision the model and the reference runtime work in), values nominally in [-1, 1].
    Refused with ValueError: integer or other dtypes (PCM must be scaled to [-1, 1] first),
    2-D or 0-D arrays (downmix to mono first), NaN or infinite samples, and a sample rate other
    than 16 kHz (resample first).
    """
    # The usual streaming block: one dot product proves every sample finite (a NaN or an
    # infinity makes it non-finite); only a block that fails it, perhaps by overflow of huge
    # finite values, takes the exact check below.
    if (sample_rate == SAMPLE_RATE and type(samples) is np.ndarray and samples.ndim == 1
            and samples.dtype == _FLOAT32 and type(sample_rate) is int
            and (samples.size == 0 or math.isfinite(samples.dot(samples)))):
        return samples
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int | np.integer):
        raise ValueError(f"sample_rate must be an integer in Hz, got {sample_rate!r}")
    if int(sample_rate) != SAMPLE_RATE:
        raise ValueError(f"the model needs {SAMPLE_RATE} Hz audio, got {int(sample_rate)} Hz: "
                         "resample first (vaddesk's decoder does it for files)")
    if not isinstance(samples, np.ndarray):
        raise ValueError(f"samples must be a numpy array of float32, got {type(samples).__name__}")
    if samples.ndim != 1:
        hint = " (multi-channel audio: downmix to mono first)" if samples.ndim == 2 else ""
        raise ValueError(f"samples must be a 1-D mono array, got shape {samples.shape}{hint}")
    if samples.dtype != np.float32:
        if samples.dtype.kind != "f":
            hint = (" (integer PCM: divide by 32768 for int16, 2**31 for int32)"
                    if samples.dtype.kind in "iu" else "")
            raise ValueError(f"samples must be float32 in [-1, 1], got dtype {samples.dtype}"
                             f"{hint}")
        samples = samples.astype(np.float32)
    if samples.size and not np.isfinite(samples).all():
        bad = int(np.flatnonzero(~np.isfinite(samples))[0])
        raise ValueError(f"samples contain NaN or infinite values (first at sample {bad})")
    return samples


@dataclass(frozen=True, slots=True)
class VadResult:
    """Offline result: the segments, the per-frame track (for plots and resegment) and the
    audio duration in whole milliseconds."""

    segments: list[Segment]
    track: FrameTrack
    duration_ms: int


def _empty_track() -> FrameTrack:
    return FrameTrack(np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.float64))


def _join(parts: list[tuple[np.ndarray, np.ndarray]]) -> FrameTrack:
    if not parts:
        return _empty_track()
    if len(parts) == 1:  # the usual poll after one block: one copy each, no concatenate
        p0, energy = parts[0]
        return FrameTrack(p0.astype(np.float32), energy.astype(np.float64))
    return FrameTrack(np.concatenate([p for p, _ in parts]).astype(np.float32, copy=False),
                      np.concatenate([e for _, e in parts]).astype(np.float64, copy=False))


class StreamingVad:
    """Frontend -> ONNX model -> endpoint detector for one stream, fed blocks of any length.

    Not thread-safe: use one instance per stream and thread (it owns its onnxruntime session).
    Memory stays flat however long the stream runs, unless ``keep_track=True`` (then the track,
    12 bytes per 10 ms frame, is kept for :meth:`track`).
    """

    def __init__(self, params: VadParams | None = None, *, precision: Precision = "int8",
                 threads: int = 1, keep_track: bool = False,
                 sample_rate: int = SAMPLE_RATE) -> None:
        check_waveform(np.zeros(0, dtype=np.float32), sample_rate)
        if params is not None and not isinstance(params, VadParams):
            raise ValueError(f"params must be a VadParams, got {type(params).__name__}")
        self._model = VadModel(precision, threads)
        self._frontend = StreamingFrontend()
        self._detector: Segmenter = make_segmenter(params if params is not None else VadParams())
        self._switch_events: list[VadEvent] = []  # closed by a live switch of the rules
        self._keep_track = keep_track
        self._samples = 0
        self._flushed = False
        self._untaken: deque[tuple[np.ndarray, np.ndarray]] = deque()
        self._untaken_frames = 0
        self._track_parts: list[tuple[np.ndarray, np.ndarray]] = []

    # --- parameters and state ------------------------------------------------------------
    @property
    def params(self) -> VadParams:
        return self._detector.params

    @property
    def info(self) -> ModelInfo:
        return self._model.info

    def set_params(self, params: VadParams) -> None:
        """Change parameters live: they apply from the next frame; decided segments stay."""
        if not isinstance(params, VadParams):
            raise ValueError(f"params must be a VadParams, got {type(params).__name__}")
        if params.boundary_stage != self._detector.params.boundary_stage:
            # other rules from this frame on: the running ones end here (decided segments stay)
            self._switch_events += self._detector.finish()
            self._detector = make_segmenter(params, self._detector.frames_done)
        else:
            self._detector.set_params(params)

    @property
    def is_speech_detected(self) -> bool:
        """A segment has been opened and not yet closed (or discarded)."""
        return self._detector.is_speech_detected

    @property
    def open_start_ms(self) -> int | None:
        return self._detector.open_start_ms

    @property
    def processed_ms(self) -> int:
        """Audio accepted so far, in whole milliseconds."""
        return self._samples * 1000 // SAMPLE_RATE

    @property
    def frames_scored(self) -> int:
        return self._detector.frames_done

    # --- feeding -------------------------------------------------------------------------
    def accept_waveform(self, samples: np.ndarray) -> list[VadEvent]:
        """Feed float32 16 kHz mono samples (any length); returns the events they decided."""
        if self._flushed:
            raise RuntimeError("this stream was flushed; call reset() to start a new one")
        return self._accept_checked(check_waveform(samples))

    def _accept_checked(self, block: np.ndarray) -> list[VadEvent]:
        """accept_waveform for samples check_waveform has passed (segment_blocks checks its
        blocks as they arrive)."""
        n = block.shape[0]
        self._samples += n
        if n <= MAX_SLICE_SAMPLES:  # a streaming block: no slicing
            return self._score(self._frontend.accept(block))
        events: list[VadEvent] = []
        # Long inputs go through in slices so features (1.6 kB per frame) stay bounded.
        for start in range(0, n, MAX_SLICE_SAMPLES):
            events += self._score(self._frontend.accept(block[start:start + MAX_SLICE_SAMPLES]))
        return events

    def flush(self) -> list[VadEvent]:
        """End of stream: score the last frames and close an open segment."""
        if self._flushed:
            return []
        events = self._score(self._frontend.finish(), last=True)
        events += self._detector.finish()
        events = self._take_switch_events() + events
        self._flushed = True
        return events

    def reset(self) -> None:
        """Forget the stream (model caches, features, detector); parameters are kept."""
        self._model.reset()
        self._frontend.reset()
        self._detector = make_segmenter(self._detector.params)
        self._switch_events = []
        self._samples = 0
        self._flushed = False
        self._untaken.clear()
        self._untaken_frames = 0
        self._track_parts = []

    def _score(self, frames: FrontendFrames, last: bool = False) -> list[VadEvent]:
        features = frames.features
        n = features.shape[0]
        if n == 0:
            return []
        p0 = self._model.silence_prob(features)
        energy = frames.energy_db
        untaken = self._untaken
        untaken.append((p0, energy))
        self._untaken_frames += n
        while self._untaken_frames > TAKE_FRAMES_LIMIT and len(untaken) > 1:
            dropped, _ = untaken.popleft()
            self._untaken_frames -= dropped.shape[0]
        if self._keep_track:
            self._track_parts.append((p0, energy))
        return self._take_switch_events() + self._detector.push(p0, energy, last=last)

    def _take_switch_events(self) -> list[VadEvent]:
        if not self._switch_events:
            return []
        events, self._switch_events = self._switch_events, []
        return events

    # --- per-frame outputs ---------------------------------------------------------------
    def take_frames(self) -> FrameTrack:
        """Frames scored since the last call (at most the last TAKE_FRAMES_LIMIT), for plots."""
        parts = list(self._untaken)
        self._untaken.clear()
        self._untaken_frames = 0
        return _join(parts)

    def track(self) -> FrameTrack:
        """Every frame of the stream so far (needs ``keep_track=True``)."""
        if not self._keep_track:
            raise RuntimeError("StreamingVad was created without keep_track=True")
        if len(self._track_parts) > 1:
            whole = _join(self._track_parts)
            self._track_parts = [(whole.p0, whole.energy_db)]
        return _join(self._track_parts)


def segment_blocks(blocks: Iterable[np.ndarray], params: VadParams | None = None, *,
                   precision: Precision = "int8", threads: int = 1,
                   progress: Callable[[int], None] | None = None,
                   sample_rate: int = SAMPLE_RATE) -> VadResult:
    """Segment a stream given as blocks (e.g. ``soundfile.blocks``), with bounded memory.

    Small blocks are joined up to 20 s before they are run (for speed). ``progress(samples)``
    is called after each block with the number of samples taken so far. Same segments as
    streaming the audio in any chunks, and as :func:`segment_array`.
    """
    check_waveform(np.zeros(0, dtype=np.float32), sample_rate)
    vad = StreamingVad(params, precision=precision, threads=threads, keep_track=True)
    events: list[VadEvent] = []
    waiting: list[np.ndarray] = []
    waiting_samples = 0
    done = 0
    for block in blocks:
        checked = check_waveform(block)  # refuse bad input at the block that has it
        waiting.append(checked)
        waiting_samples += int(checked.shape[0])
        done += int(checked.shape[0])
        if waiting_samples >= COALESCE_SAMPLES:
            # already checked: skip accept_waveform's second pass over the samples
            events += vad._accept_checked(np.concatenate(waiting) if len(waiting) > 1
                                          else waiting[0])
            vad.take_frames()  # nobody plots here; keep the plot queue empty
            waiting, waiting_samples = [], 0
        else:
            waiting[-1] = checked.copy()  # the caller may reuse its block buffer
        if progress is not None:
            progress(done)
    if waiting:
        events += vad._accept_checked(np.concatenate(waiting) if len(waiting) > 1
                                      else waiting[0])
    events += vad.flush()
    segments = [e.segment for e in events if isinstance(e, SegmentClosed)]
    return VadResult(segments, vad.track(), vad.processed_ms)


def segment_array(samples: np.ndarray, params: VadParams | None = None, *,
                  precision: Precision = "int8", threads: int = 1,
                  sample_rate: int = SAMPLE_RATE) -> VadResult:
    """Segment a whole 16 kHz mono float32 array (float64 is converted)."""
    samples = check_waveform(samples, sample_rate)
    return segment_blocks([samples], params, precision=precision, threads=threads)


def resegment(track: FrameTrack, params: VadParams) -> list[Segment]:
    """Segments for ``params`` from a cached track, without the network (fast: ~ms per hour).

    Gives exactly the segments of a fresh run with ``params`` over the same audio.
    """
    if not isinstance(params, VadParams):
        raise ValueError(f"params must be a VadParams, got {type(params).__name__}")
    return segments_from_scores(track.p0, track.energy_db, params)


# Keep the documented frame unit importable from here for callers that plot tracks.
FRAME_MS: Final = FRAME_SHIFT_MS
