"""A live recording session without Qt: capture -> (WAV file, streaming engine) -> results.

One worker thread owns the StreamingVad and the WavRecorder (neither is thread-safe) and is the
only consumer of the Capture queue. What it produces goes two ways:
- ``results()``: typed results in order (segment events, problems, clips, the end), for the CLI
  and for the Qt bridge, which drains them on its GUI timer;
- ``LiveView``: a fixed-size ring of the recent waveform envelope and speech score plus a
  constant-size overview of the whole session, which the GUI copies at its frame rate.

Times are milliseconds of *recorded* audio, i.e. positions in the WAV file: paused audio is
neither written nor analysed, so the live segments are the segments of the file.
Memory is constant in the session length except for the list of closed segments (~16 bytes
each; a 3-hour meeting has a few thousand).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Final

import numpy as np
import soundfile as sf

from vaddesk.audio.capture import AudioBlock, Capture, CaptureFailed, CaptureProblem
from vaddesk.audio.decode import AudioInfo
from vaddesk.audio.recorder import (
    RecordingStorageError,
    WavRecorder,
    default_recordings_dir,
    new_recording_path,
)
from vaddesk.core.engine import StreamingVad
from vaddesk.core.model import ModelInfo, Precision
from vaddesk.core.params import VadParams
from vaddesk.core.types import (
    FRAME_SHIFT_MS,
    FRAME_SHIFT_SAMPLES,
    SAMPLE_RATE,
    ChannelInfo,
    Segment,
    SegmentClosed,
    SegmentDiscarded,
    SegmentOpened,
    VadEvent,
)
from vaddesk.export import SegmentationReport, atomic_path, atomic_write_text, report_to_json
from vaddesk.export.names import clip_name, safe_stem
from vaddesk.pipeline.live_results import (
    ClipWritten,
    LiveProblem,
    LiveSummary,
    SegmentEvent,
    SessionControl,
    SessionEnded,
)
from vaddesk.pipeline.segmenting import file_report

log = logging.getLogger(__name__)

VIEW_CAPACITY_S: Final = 300
"""The longest live window the view can show (the ring's size: 30 000 frames, ~360 kB)."""

OVERVIEW_BINS: Final = 4096
"""The whole-session overview keeps at most this many min/max bins; when full, pairs merge."""


# --- the view buffers -----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class LiveSnapshot:
    """A copy of the view state for one drawn frame (all times in ms of recorded audio)."""

    recorded_ms: int
    env_start_ms: int
    env_min: np.ndarray        # one value per 10 ms frame, float32
    env_max: np.ndarray
    score_start_ms: int
    score: np.ndarray          # speech score 1 - p0 per 10 ms frame
    segments: tuple[Segment, ...]
    open_start_ms: int | None
    overview_bin_ms: int
    overview_min: np.ndarray
    overview_max: np.ndarray
    level_db: float
    overflow_count: int
    paused: bool


class _Ring:
    """A preallocated ring of float32 values, one per frame; reads return contiguous copies."""

    def __init__(self, capacity: int) -> None:
        self._data = np.zeros(capacity, np.float32)
        self.count = 0  # frames written since the start (also the next frame's index)

    def extend(self, values: np.ndarray) -> None:
        cap = self._data.shape[0]
        skipped = max(0, values.shape[0] - cap)  # older than the ring holds: never read
        self.count += skipped
        values = values[skipped:]
        n = values.shape[0]
        start = self.count % cap
        first = min(n, cap - start)
        self._data[start:start + first] = values[:first]
        self._data[:n - first] = values[first:]
        self.count += n

    def last(self, n: int) -> tuple[int, np.ndarray]:
        """(index of the first returned frame, the last n frames)."""
        cap = self._data.shape[0]
        n = min(n, self.count, cap)
        start = (self.count - n) % cap
        if start + n <= cap:
            out = self._data[start:start + n].copy()
        else:
            out = np.concatenate((self._data[start:], self._data[:n - (cap - start)]))
        return self.count - n, out


class _Overview:
    """Min/max of the whole session in at most OVERVIEW_BINS bins (constant memory)."""

    def __init__(self, bins: int = OVERVIEW_BINS) -> None:
        self._min = np.zeros(bins, np.float32)
        self._max = np.zeros(bins, np.float32)
        self.bin_frames = 1
        self._n = 0                 # complete bins
        self._acc_min = np.inf      # bin being filled
        self._acc_max = -np.inf
        self._acc_frames = 0

    def extend(self, mins: np.ndarray, maxs: np.ndarray) -> None:
        i = 0
        total = mins.shape[0]
        while i < total:
            take = min(self.bin_frames - self._acc_frames, total - i)
            self._acc_min = min(self._acc_min, float(mins[i:i + take].min()))
            self._acc_max = max(self._acc_max, float(maxs[i:i + take].max()))
            self._acc_frames += take
            i += take
            if self._acc_frames == self.bin_frames:
                if self._n == self._min.shape[0]:
                    self._halve()  # bins now twice as wide: the one being filled is half full
                    continue
                self._min[self._n] = self._acc_min
                self._max[self._n] = self._acc_max
                self._n += 1
                self._acc_min, self._acc_max, self._acc_frames = np.inf, -np.inf, 0

    def _halve(self) -> None:
        half = self._n // 2
        self._min[:half] = np.minimum(self._min[0:2 * half:2], self._min[1:2 * half:2])
        self._max[:half] = np.maximum(self._max[0:2 * half:2], self._max[1:2 * half:2])
        self._n = half
        self.bin_frames *= 2

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return self._min[:self._n].copy(), self._max[:self._n].copy()


class LiveView:
    """What the GUI draws, written by the worker and copied by ``snapshot()`` (any thread)."""

    def __init__(self, capacity_s: int = VIEW_CAPACITY_S) -> None:
        frames = capacity_s * 1000 // FRAME_SHIFT_MS
        self._lock = threading.Lock()
        self._env_min = _Ring(frames)
        self._env_max = _Ring(frames)
        self._score = _Ring(frames)
        self._overview = _Overview()
        self._tail = np.zeros(0, np.float32)  # < one frame of samples not yet enveloped
        self._segments: list[Segment] = []
        self._open_start_ms: int | None = None
        self.recorded_ms = 0
        self.level_db = -120.0
        self.overflow_count = 0
        self.paused = False

    # -- worker side --
    def add_samples(self, samples: np.ndarray) -> None:
        data = np.concatenate((self._tail, samples)) if self._tail.size else samples
        whole = data.shape[0] // FRAME_SHIFT_SAMPLES * FRAME_SHIFT_SAMPLES
        frames = data[:whole].reshape(-1, FRAME_SHIFT_SAMPLES)
        mins, maxs = frames.min(axis=1), frames.max(axis=1)
        with self._lock:
            self._env_min.extend(mins)
            self._env_max.extend(maxs)
            self._overview.extend(mins, maxs)
        self._tail = data[whole:].copy()

    def add_scores(self, p0: np.ndarray) -> None:
        with self._lock:
            self._score.extend((1.0 - p0).astype(np.float32, copy=False))

    def on_event(self, event: VadEvent) -> None:
        with self._lock:
            if isinstance(event, SegmentOpened):
                self._open_start_ms = event.start_ms
            elif isinstance(event, SegmentClosed):
                self._segments.append(event.segment)
                self._open_start_ms = None
            elif isinstance(event, SegmentDiscarded):
                self._open_start_ms = None

    # -- reader side --
    def snapshot(self, window_ms: int) -> LiveSnapshot:
        frames = max(1, window_ms // FRAME_SHIFT_MS)
        with self._lock:
            env_i, env_min = self._env_min.last(frames)
            _, env_max = self._env_max.last(frames)
            score_i, score = self._score.last(frames)
            start_ms = env_i * FRAME_SHIFT_MS
            # Segments are in time order: walk back only over the visible ones.
            visible: list[Segment] = []
            for seg in reversed(self._segments):
                if seg.end_ms < start_ms:
                    break
                visible.append(seg)
            ov_min, ov_max = self._overview.arrays()
            snap = LiveSnapshot(
                recorded_ms=self.recorded_ms, env_start_ms=start_ms, env_min=env_min,
                env_max=env_max, score_start_ms=score_i * FRAME_SHIFT_MS, score=score,
                segments=tuple(reversed(visible)), open_start_ms=self._open_start_ms,
                overview_bin_ms=self._overview.bin_frames * FRAME_SHIFT_MS,
                overview_min=ov_min, overview_max=ov_max, level_db=self.level_db,
                overflow_count=self.overflow_count, paused=self.paused)
        return snap

    def all_segments(self) -> tuple[Segment, ...]:
        with self._lock:
            return tuple(self._segments)


# --- clips and JSON while recording ---------------------------------------------------------

def session_report(wav_path: Path, segments: Sequence[Segment], recorder: WavRecorder,
                   params: VadParams, preset: str, model: ModelInfo,
                   channels: tuple[ChannelInfo, ...] = ()) -> SegmentationReport:
    """The session as an export SegmentationReport (the same JSON as `vaddesk segment`);
    ``channels``: the sides of a two-sided recording, one per channel of the file."""
    info = AudioInfo(path=wav_path, duration_ms=recorder.duration_ms, sample_rate=SAMPLE_RATE,
                     channels=max(len(channels), 1), format="WAV",
                     num_frames=recorder.samples_written, codec="PCM_16")
    return file_report(info, model, preset, params, segments, None, channels)


def write_session_json(json_path: Path, report: SegmentationReport, complete: bool,
                       clip_names: list[str] | None = None) -> None:
    """The session's segments as JSON beside the recording (temp file + rename).

    ``live.complete`` is false while the recording is still running (clips mode)."""

    doc = report_to_json(report, clip_names)
    doc["live"] = {"complete": complete}
    atomic_write_text(json_path, json.dumps(doc, indent=2) + "\n")


class ClipSink:
    """Writes each closed segment's clip beside the recording, atomically (the session then
    rewrites its JSON). The clip of a two-sided recording holds the segment's own side."""

    def __init__(self, wav_path: Path) -> None:
        self.folder = wav_path.with_name(wav_path.stem + "_clips")
        self.json_path = wav_path.with_suffix(".json")
        self._stem = safe_stem(wav_path.stem)
        self.clip_names: list[str] = []

    def clip(self, recorder: WavRecorder, index: int, segment: Segment) -> Path:
        start = segment.start_ms * SAMPLE_RATE // 1000
        stop = segment.end_ms * SAMPLE_RATE // 1000
        samples = recorder.read_samples(start, stop)  # read back from the file being written
        if samples.ndim == 2:  # the segment's own side only
            samples = samples[:, segment.channel or 0]
        self.folder.mkdir(parents=True, exist_ok=True)
        name = clip_name(self._stem, index, segment, index)
        path = self.folder / name
        with atomic_path(path) as tmp:
            sf.write(tmp, samples, SAMPLE_RATE, subtype="PCM_16", format="WAV")
        self.clip_names.append(f"{self.folder.name}/{name}")
        return path


# --- the session ---------------------------------------------------------------------------

EngineFactory = Callable[[VadParams], StreamingVad]


@dataclass(slots=True)
class LiveOptions:
    out_dir: Path | None = None           # default: the platform's recordings folder
    path: Path | None = None              # an exact file name instead of a dated one
    write_clips: bool = False
    max_duration_ms: int | None = None    # stop by itself after this much recorded audio
    precision: Precision = "int8"
    view_capacity_s: int = VIEW_CAPACITY_S
    engine_factory: EngineFactory | None = field(default=None, repr=False)
    recorder_opener: Callable[[Path], BinaryIO] | None = field(default=None, repr=False)
    """Opens the WAV file (tests inject a failing file object to simulate a full disk)."""

    def new_engine(self, params: VadParams) -> StreamingVad:
        """A side's streaming engine: ``engine_factory``'s, else the model at ``precision``."""
        if self.engine_factory is not None:
            return self.engine_factory(params)
        return StreamingVad(params, precision=self.precision, threads=1)


class LiveSession(SessionControl):
    """Record from a Capture into a WAV file while the streaming engine segments it.

    ``start()`` opens the file and the stream and starts the worker; ``stop()`` stops capture,
    drains what was captured, flushes the engine (closing an open segment), closes the file and
    returns the summary. ``pause()``/``resume()`` drop audio in between (the level meter keeps
    moving). ``set_params()`` applies from the next block: closed segments stay.
    """

    def __init__(self, capture: Capture, params: VadParams, options: LiveOptions | None = None,
                 *, preset: str = "custom") -> None:
        super().__init__(params, preset)
        self.options = options or LiveOptions()
        self.capture = capture
        self.view = LiveView(self.options.view_capacity_s)
        self._recorder: WavRecorder | None = None
        self._engine: StreamingVad | None = None
        self._sink: ClipSink | None = None

    # -- control (any one controlling thread) --
    def start(self) -> Path:
        opts = self.options
        self._engine = opts.new_engine(self._params)  # a model error surfaces here, before any file
        folder = opts.out_dir if opts.out_dir is not None else default_recordings_dir()
        path = opts.path if opts.path is not None else new_recording_path(folder)
        if opts.recorder_opener is not None:
            self._recorder = WavRecorder(path, opener=opts.recorder_opener)
        else:
            self._recorder = WavRecorder(path)
        self.path = path
        if opts.write_clips:
            self._sink = ClipSink(path)
        try:
            self.capture.start()
        except Exception:
            self._recorder.close()
            if self._recorder.samples_written == 0:
                path.unlink(missing_ok=True)  # nothing recorded: leave no empty file behind
            raise
        self._thread = threading.Thread(target=self._run, name="LiveSession", daemon=True)
        self._thread.start()
        log.info("recording to %s from %r", path, self.capture.device_name)
        return path

    def pause(self) -> None:
        self._paused = True
        self.view.paused = True

    def resume(self) -> None:
        self._paused = False
        self.view.paused = False

    @property
    def _vad(self) -> StreamingVad:
        assert self._engine is not None, "start() creates the engine"
        return self._engine

    # -- the worker --
    def _loop(self) -> str | None:
        capturing = True
        while True:
            stopping = self._stop_requested.is_set()
            if stopping and capturing:
                self.capture.stop()  # what is already queued is still read below
                capturing = False
            items = self.capture.read(timeout_s=0.0 if stopping else 0.1)
            for item in items:
                if isinstance(item, AudioBlock):
                    reason = self._on_audio(item)
                    if reason is not None:
                        if capturing:
                            self.capture.stop()
                        return None if reason == "" else reason
                elif isinstance(item, CaptureProblem):
                    self.view.overflow_count = item.overflow_count
                    self._results.put(LiveProblem(item.message, False))
                elif isinstance(item, CaptureFailed):
                    self._results.put(LiveProblem(
                        f"recording stopped: {item.message}; the audio so far is kept", True))
                    if capturing:
                        self.capture.stop()
                    return item.message
            if stopping and not items:
                return None

    def _on_audio(self, block: AudioBlock) -> str | None:
        """Handle one block; returns "" to stop normally, a message to stop on failure."""
        t0 = time.perf_counter()
        samples = block.samples
        if samples.size:
            peak = float(np.abs(samples).max())
            self.view.level_db = 20.0 * float(np.log10(max(peak, 1e-6)))
        if self._paused or not samples.size:
            return None
        assert self._recorder is not None
        limit = self.options.max_duration_ms
        done = False
        if limit is not None:
            room = limit * SAMPLE_RATE // 1000 - self._recorder.samples_written
            if room <= samples.shape[0]:
                samples, done = samples[:max(room, 0)], True
        try:
            self._recorder.write(samples)  # disk first: the file is what must survive
        except RecordingStorageError as exc:
            self._results.put(LiveProblem(str(exc), True))
            return str(exc)
        pending = self._pending_params
        if pending is not None:
            self._pending_params = None
            self._params = pending
            self._vad.set_params(pending)
        self.view.add_samples(samples)
        events = self._vad.accept_waveform(samples)
        self.view.recorded_ms = self._recorder.duration_ms
        self.view.add_scores(self._vad.take_frames().p0)
        self._publish(events, block.captured_at)
        self.processing_s += time.perf_counter() - t0
        return "" if done else None

    def _publish(self, events: list[VadEvent], captured_at: float) -> None:
        decided = self._vad.processed_ms
        for event in events:
            self.view.on_event(event)
            self._results.put(SegmentEvent(event, decided, captured_at))
            if isinstance(event, SegmentClosed) and self._sink is not None:
                self._write_clip(event.segment)

    def _write_clip(self, segment: Segment) -> None:
        assert self._sink is not None and self._recorder is not None
        segments = self.view.all_segments()
        try:
            path = self._sink.clip(self._recorder, len(segments), segment)
            write_session_json(self._sink.json_path, self._report(segments), False,
                               self._sink.clip_names)
        except OSError as exc:
            # Clips are a convenience: the recording goes on, the user is told once per clip.
            self._results.put(LiveProblem(f"could not write the clip of segment "
                                          f"{len(segments)}: {exc}", False))
            return
        self._results.put(ClipWritten(path, segment))

    def _report(self, segments: tuple[Segment, ...]) -> SegmentationReport:
        assert self._recorder is not None and self.path is not None
        return session_report(self.path, segments, self._recorder, self._params, self.preset,
                              self._vad.info)

    def _finish(self, reason: str | None) -> None:
        recorder = self._recorder
        assert recorder is not None and self.path is not None
        try:
            events = self._vad.flush()
            self.view.add_scores(self._vad.take_frames().p0)
            self._publish(events, time.monotonic())
        except Exception as exc:
            log.exception("flushing the engine failed")
            self._results.put(LiveProblem(f"the last segment could not be closed: {exc}", False))
        recorder.close()
        segments = self.view.all_segments()
        json_path: Path | None = self.path.with_suffix(".json")
        clip_names = self._sink.clip_names if self._sink is not None else None
        if clip_names is not None and len(clip_names) != len(segments):
            clip_names = None  # a clip failed to write (reported then): no names at all
        try:
            write_session_json(self.path.with_suffix(".json"), self._report(segments), True,
                               clip_names)
        except OSError as exc:
            self._results.put(LiveProblem(f"could not write the segments file: {exc}", False))
            json_path = None
        self._summary = LiveSummary(self.path, json_path, recorder.duration_ms, segments,
                                    self.capture.overflow_count, reason)
        self.view.overflow_count = self.capture.overflow_count
        self._results.put(SessionEnded(self._summary))
        self._ended.set()
