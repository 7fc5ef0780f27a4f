"""A live recording of both sides of a call: microphone ("You") + computer audio ("Others").

    session = TwoSidedSession([Side(mic, "You", "microphone"),
                               Side(system_audio_capture(), "Others", "computer audio")],
                              params, LiveOptions(out_dir=folder))

One worker thread reads both captures, puts the computer audio on the microphone's clock
(DriftAligner), writes the two channels into one crash-safe WAV (channel 0 = microphone,
channel 1 = computer audio, names in the file), and runs one streaming engine per channel.
The microphone's engine hears it through the BleedGate, so the far side leaking from the
loudspeakers into the microphone does not become "You"; the file keeps the microphone as it
was. With one side only (computer audio only), the file is mono.

The public interface is LiveSession's (start, stop, pause, results, ...), so the CLI and the
Record panel drive either; ``views`` holds one LiveView per side (``view`` is the first).

Faults: the microphone failing ends the recording (as with LiveSession). The computer audio
failing (its output unplugged) does not: the user is told, the microphone goes on, and the
computer-audio channel is silence from then on. Computer audio that falls more than
``MAX_FOLLOWER_LAG_S`` behind is filled with silence (late samples are then dropped), so a
stalled output never holds up the microphone.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

import numpy as np

from vaddesk.audio.align import DriftAligner
from vaddesk.audio.capture import AudioBlock, Capture, CaptureFailed, CaptureProblem
from vaddesk.audio.channel_names import ChannelNames
from vaddesk.audio.recorder import (
    RecordingStorageError,
    WavRecorder,
    default_recordings_dir,
    new_recording_path,
)
from vaddesk.core.bleed import BleedGate
from vaddesk.core.engine import StreamingVad
from vaddesk.core.params import VadParams
from vaddesk.core.types import (
    SAMPLE_RATE,
    ChannelInfo,
    Segment,
    SegmentClosed,
    VadEvent,
)
from vaddesk.export import SegmentationReport
from vaddesk.pipeline.live import (
    ClipSink,
    LiveOptions,
    LiveView,
    session_report,
    write_session_json,
)
from vaddesk.pipeline.live_results import (
    ClipWritten,
    LiveProblem,
    LiveSummary,
    SegmentEvent,
    SessionControl,
    SessionEnded,
)

log = logging.getLogger(__name__)

MIC_SPEAKER: Final = "You"
SYSTEM_SPEAKER: Final = "Others"
MIC_SOURCE: Final = "microphone"
SYSTEM_SOURCE: Final = "computer audio"
MAX_FOLLOWER_LAG_S: Final = 2.0
MAX_FOLLOWER_AHEAD_S: Final = 30.0
"""A microphone that delivers nothing (stalled, not failed) while the computer audio goes on:
beyond this much the oldest computer audio is let go, so memory stays bounded."""


def pcm16_grid(samples: np.ndarray) -> np.ndarray:
    """``samples`` as the WAV file will hold them (k / 32768, as soundfile reads them back)."""
    return (np.clip(np.rint(samples * 32768.0), -32768, 32767) / 32768.0).astype(np.float32)


@dataclass(frozen=True, slots=True)
class Side:
    capture: Capture
    speaker: str
    source: str


class TwoSidedSession(SessionControl):
    """Record one or two sides into one WAV while one engine per side segments it."""

    def __init__(self, sides: Sequence[Side], params: VadParams,
                 options: LiveOptions | None = None, *, preset: str = "custom",
                 bleed: bool = True) -> None:
        if not 1 <= len(sides) <= 2:
            raise ValueError(f"a session records one or two sides, not {len(sides)}")
        super().__init__(params, preset)
        self.sides = tuple(sides)
        self.options = options or LiveOptions()
        self.views = tuple(LiveView(self.options.view_capacity_s) for _ in sides)
        self.view = self.views[0]
        self.capture = sides[0].capture
        self._recorder: WavRecorder | None = None
        self._engines: list[StreamingVad] = []
        self._aligner = DriftAligner(SAMPLE_RATE) if len(sides) == 2 else None
        self._gate = BleedGate() if bleed and len(sides) == 2 else None
        self._bufs: list[list[np.ndarray]] = [[] for _ in sides]
        self._buffered = [0] * len(sides)
        self._lost = [False] * len(sides)
        self._late_to_drop = 0  # follower samples replaced by silence, to drop when they come
        self._stall_reported = False
        self._captured_at = 0.0
        self._segments: list[Segment] = []
        self._sink: ClipSink | None = None
        self._clip_failed = False

    # -- what the sides are --
    @property
    def channels(self) -> tuple[ChannelInfo, ...]:
        return tuple(ChannelInfo(i, s.speaker, s.source) for i, s in enumerate(self.sides))

    # -- control, as LiveSession --
    def start(self) -> Path:
        opts = self.options
        for _ in self.sides:  # a model error surfaces here, before any file
            self._engines.append(opts.new_engine(self._params))
        folder = opts.out_dir if opts.out_dir is not None else default_recordings_dir()
        path = opts.path if opts.path is not None else new_recording_path(folder)
        names = ChannelNames(tuple(s.speaker for s in self.sides),
                             tuple(s.source for s in self.sides))
        if opts.recorder_opener is not None:
            self._recorder = WavRecorder(path, channels=len(self.sides), names=names,
                                         opener=opts.recorder_opener)
        else:
            self._recorder = WavRecorder(path, channels=len(self.sides), names=names)
        self.path = path
        if opts.write_clips:
            self._sink = ClipSink(path)
        started: list[Capture] = []
        try:
            for side in self.sides:
                side.capture.start()
                started.append(side.capture)
        except Exception:
            for capture in started:
                capture.stop()
            self._recorder.close()
            if self._recorder.samples_written == 0:
                path.unlink(missing_ok=True)
            raise
        if self._aligner is not None and self.capture.pace_x != 1.0:
            # Simulated streams played faster than real time: their arrivals say so.
            self._aligner = DriftAligner(SAMPLE_RATE, pace_x=self.capture.pace_x)
        self._thread = threading.Thread(target=self._run, name="TwoSidedSession", daemon=True)
        self._thread.start()
        log.info("recording %s to %s", " + ".join(repr(s.capture.device_name)
                                                  for s in self.sides), path)
        return path

    def pause(self) -> None:
        self._paused = True
        for view in self.views:
            view.paused = True

    def resume(self) -> None:
        self._paused = False
        for view in self.views:
            view.paused = False

    # -- the worker --
    def _stop_captures(self) -> None:
        for side in self.sides:
            side.capture.stop()

    def _loop(self) -> str | None:
        capturing = True
        while True:
            stopping = self._stop_requested.is_set()
            if stopping and capturing:
                self._stop_captures()  # what is already queued is still read below
                capturing = False
            got = False
            for i, side in enumerate(self.sides):
                if self._lost[i]:
                    continue
                wait = 0.1 if i == 0 and not stopping else 0.0
                for item in side.capture.read(timeout_s=wait):
                    if isinstance(item, AudioBlock):
                        got = True
                        self._on_block(i, item)
                    elif isinstance(item, CaptureProblem):
                        self.views[i].overflow_count = item.overflow_count
                        self._results.put(LiveProblem(f"{side.source}: {item.message}", False))
                    elif isinstance(item, CaptureFailed):
                        if i == 0:
                            self._results.put(LiveProblem(
                                f"recording stopped: {side.source}: {item.message}; the "
                                "audio so far is kept", True))
                            if capturing:
                                self._stop_captures()
                            return item.message
                        self._lost[i] = True
                        self._results.put(LiveProblem(
                            f"{side.source} stopped ({item.message}); the {self.sides[0].source}"
                            f" goes on recording, the {side.source} channel is silent from "
                            "now on", False))
            reason = self._pump(final=stopping and not got)
            if reason is not None:
                if capturing:
                    self._stop_captures()
                return None if reason == "" else reason
            if stopping and not got:
                return None

    def _on_block(self, i: int, block: AudioBlock) -> None:
        samples = block.samples
        if samples.size:
            peak = float(np.abs(samples).max())
            self.views[i].level_db = 20.0 * float(np.log10(max(peak, 1e-6)))
        if self._aligner is not None:
            if i == 0:
                self._aligner.reference(int(samples.shape[0]), block.captured_at)
            else:
                samples = self._aligner.follower(samples, block.captured_at)
                if self._late_to_drop:
                    drop = min(self._late_to_drop, samples.shape[0])
                    samples, self._late_to_drop = samples[drop:], self._late_to_drop - drop
        if i == 0:
            self._captured_at = block.captured_at
        if samples.size:
            self._bufs[i].append(samples)
            self._buffered[i] += int(samples.shape[0])

    def _take(self, i: int, n: int) -> np.ndarray:
        joined = np.concatenate(self._bufs[i]) if len(self._bufs[i]) != 1 else self._bufs[i][0]
        self._bufs[i] = [joined[n:]] if joined.shape[0] > n else []
        self._buffered[i] -= n
        return joined[:n]

    def _pump(self, final: bool = False) -> str | None:
        """Write and analyse what both sides have; "" to stop normally, a message on failure."""
        if final and self._aligner is not None:
            # A recording shorter than the aligner's placement history: its computer audio
            # is still waiting there.
            tail = self._aligner.flush()
            if tail.size and not self._lost[1]:
                self._bufs[1].append(tail)
                self._buffered[1] += int(tail.shape[0])
        if len(self.sides) == 2:
            ahead = self._buffered[0] - self._buffered[1]
            lag_limit = int(MAX_FOLLOWER_LAG_S * SAMPLE_RATE)
            fill = ahead if (self._lost[1] or final) else ahead - lag_limit
            if fill > 0:
                self._bufs[1].append(np.zeros(fill, np.float32))
                self._buffered[1] += fill
                if not (self._lost[1] or final):
                    self._late_to_drop += fill
        if len(self.sides) == 2:
            self._bound_follower()
        n = min(self._buffered)
        if n <= 0:
            return None
        t0 = time.perf_counter()
        parts = [self._take(i, n) for i in range(len(self.sides))]
        if self._paused:
            return None
        assert self._recorder is not None
        limit = self.options.max_duration_ms
        done = False
        if limit is not None:
            room = limit * SAMPLE_RATE // 1000 - self._recorder.samples_written
            if room <= n:
                parts, done = [p[:max(room, 0)] for p in parts], True
        # The engines hear exactly what the file holds (16-bit samples): the segments of the
        # session are then the segments of the recording analysed later (segment
        # --per-channel), to the millisecond, bleed gate included.
        parts = [pcm16_grid(p) for p in parts]
        try:
            self._recorder.write(parts[0] if len(parts) == 1 else np.stack(parts, axis=1))
        except RecordingStorageError as exc:
            self._results.put(LiveProblem(str(exc), True))
            return str(exc)
        self._analyse(parts)
        self.processing_s += time.perf_counter() - t0
        return "" if done else None

    def _bound_follower(self) -> None:
        limit = int(MAX_FOLLOWER_AHEAD_S * SAMPLE_RATE)
        excess = self._buffered[1] - self._buffered[0] - limit
        dropped = 0
        if excess > 0:
            self._take(1, excess)
            dropped += excess
        if self._aligner is not None:  # waiting for a microphone that has not started
            dropped += self._aligner.drop_pending(limit)
        if dropped and not self._stall_reported:
            self._stall_reported = True
            self._results.put(LiveProblem(
                f"the {self.sides[0].source} delivers no audio: the {self.sides[1].source} "
                f"more than {MAX_FOLLOWER_AHEAD_S:g} s ahead of it is not kept", False))

    def _analyse(self, parts: list[np.ndarray], flush: bool = False) -> None:
        pending = self._pending_params
        if pending is not None:
            self._pending_params = None
            self._params = pending
            for engine in self._engines:
                engine.set_params(pending)
        assert self._recorder is not None
        heard = list(parts)
        if self._gate is not None:
            heard[0] = self._gate.flush() if flush else self._gate.process(parts[0], parts[1])
        for i, engine in enumerate(self._engines):
            if not flush:
                self.views[i].add_samples(parts[i])
            events = engine.accept_waveform(heard[i]) if heard[i].size else []
            if flush:
                events += engine.flush()
            self.views[i].recorded_ms = self._recorder.duration_ms
            self.views[i].add_scores(engine.take_frames().p0)
            self._publish(i, engine, events)

    def _publish(self, i: int, engine: StreamingVad, events: list[VadEvent]) -> None:
        side = self.sides[i]
        decided = engine.processed_ms
        for event in events:
            if isinstance(event, SegmentClosed):
                event = SegmentClosed(replace(event.segment, channel=i, speaker=side.speaker))
                self._segments.append(event.segment)
            self.views[i].on_event(event)
            self._results.put(SegmentEvent(event, decided, self._captured_at, channel=i))
            if isinstance(event, SegmentClosed) and self._sink is not None:
                self._write_clip(event.segment)

    def _write_clip(self, segment: Segment) -> None:
        assert self._sink is not None and self._recorder is not None
        index = len(self._segments)
        try:
            path = self._sink.clip(self._recorder, index, segment)
            write_session_json(self._sink.json_path, self._report(), False,
                               self._sink.clip_names)
        except OSError as exc:
            self._clip_failed = True
            self._results.put(LiveProblem(f"could not write the clip of segment {index}: "
                                          f"{exc}", False))
            return
        self._results.put(ClipWritten(path, segment))

    def _report(self) -> SegmentationReport:
        assert self._recorder is not None and self.path is not None
        return session_report(self.path, self._segments, self._recorder, self._params,
                              self.preset, self._engines[0].info, self.channels)

    def _finish(self, reason: str | None) -> None:
        recorder = self._recorder
        assert recorder is not None and self.path is not None
        try:
            self._analyse([np.zeros(0, np.float32) for _ in self.sides], flush=True)
        except Exception as exc:
            log.exception("flushing the engines failed")
            self._results.put(LiveProblem(f"the last segment could not be closed: {exc}", False))
        recorder.close()
        json_path: Path | None = self.path.with_suffix(".json")
        # Clips are named in the order segments closed; the JSON lists segments by start.
        clip_names = None
        written = self._sink.clip_names if self._sink is not None else []
        by_segment = dict(zip(self._segments, written, strict=False))
        order = sorted(range(len(self._segments)),
                       key=lambda k: (self._segments[k].start_ms, self._segments[k].channel))
        self._segments = [self._segments[k] for k in order]
        if self._sink is not None and not self._clip_failed and \
                len(by_segment) == len(self._segments):
            clip_names = [by_segment[s] for s in self._segments]
        assert json_path is not None
        try:
            write_session_json(json_path, self._report(), True, clip_names)
        except OSError as exc:
            self._results.put(LiveProblem(f"could not write the segments file: {exc}", False))
            json_path = None
        overflows = sum(s.capture.overflow_count for s in self.sides)
        self._summary = LiveSummary(self.path, json_path, recorder.duration_ms,
                                    tuple(self._segments), overflows, reason)
        for i, side in enumerate(self.sides):
            self.views[i].overflow_count = side.capture.overflow_count
        self._results.put(SessionEnded(self._summary))
        self._ended.set()
