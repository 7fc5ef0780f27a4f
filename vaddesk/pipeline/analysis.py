"""What one analysis does, Qt-free so it runs in the analysis worker *process*.

Decode -> engine -> peak envelope, in one pass over the 16 kHz blocks, through the same
:func:`vaddesk.pipeline.segmenting.segment_file` as the batch CLI. The GUI runs this in a
spawned child process (see analysis_worker.py) rather than a thread: onnxruntime, numpy and
the decoder hold Python's GIL for many short stretches, and with the model in a thread the GUI
thread waited up to 40-90 ms for the GIL while a 60-minute file was analysed. In its own
process the analysis cannot delay the event loop at all. Everything here is plain data that
pickles.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Final, Protocol

from vaddesk import applog
from vaddesk.audio.decode import AudioInfo, probe
from vaddesk.audio.envelope import EnvelopeBuilder, PeakEnvelope
from vaddesk.core.confidence import SegmentConfidence, segment_confidences
from vaddesk.core.engine import Precision, resegment
from vaddesk.core.params import VadParams
from vaddesk.core.types import FrameTrack, Segment
from vaddesk.pipeline.channel_analysis import (
    ChannelTrack,
    channel_confidences,
    resegment_channels,
    segment_channels,
)
from vaddesk.pipeline.segmenting import AnalysisCancelled, segment_file

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_S: Final = 0.1  # at most ten progress messages a second
ENVELOPE_INTERVAL_S: Final = 1.0  # a partial waveform now and then while a long file runs
PARTIAL_MIN_BIN_SAMPLES: Final = 2048  # partial envelopes carry only the coarse levels


@dataclass(frozen=True, slots=True)
class AnalysisJob:
    job_id: int
    path: Path
    params: VadParams
    precision: Precision = "int8"
    channel: int | None = None
    per_channel: bool = False  # a multi-channel file: each channel a speaker of its own


@dataclass(frozen=True, slots=True)
class AnalysisProgress:
    job_id: int
    done_ms: int
    total_ms: int
    envelope: PeakEnvelope | None  # a coarse snapshot now and then, None in between


@dataclass(frozen=True)
class FileAnalysis:
    """Everything the views need about one analysed file; segments are for `params`."""

    job_id: int
    path: Path
    info: AudioInfo
    track: FrameTrack
    envelope: PeakEnvelope
    params: VadParams
    segments: list[Segment]
    duration_ms: int
    precision: Precision
    channel: int | None
    # Each channel analysed on its own (segments carry channel and speaker); ``track`` and
    # ``envelope`` above are then the first channel's.
    channel_tracks: tuple[ChannelTrack, ...] = ()

    def confidences(self, segments: list[Segment]) -> list[SegmentConfidence]:
        """Each segment's confidence, from its own channel's track when per channel."""
        if self.channel_tracks:
            return channel_confidences(self.channel_tracks, segments)
        return segment_confidences(self.track, segments)

    def resegment(self, params: VadParams) -> list[Segment]:
        """The segments for ``params`` from the cached frame track(s), without the network."""
        if self.channel_tracks:
            return resegment_channels(self.channel_tracks, params)
        return list(resegment(self.track, params))


@dataclass(frozen=True, slots=True)
class AnalysisFailure:
    job_id: int
    path: Path
    reason: str


@dataclass(frozen=True, slots=True)
class AnalysisCancelledEvent:
    job_id: int


AnalysisEvent = AnalysisProgress | FileAnalysis | AnalysisFailure | AnalysisCancelledEvent
"""What the analysis process sends back: progress now and then, then exactly one of the rest."""


class SharedJobId(Protocol):
    """A job id shared with the worker process (``multiprocessing.Value("q")``)."""

    value: int


def analyse(job: AnalysisJob, emit: Callable[[AnalysisProgress], None],
            cancelled: Callable[[], bool]) -> FileAnalysis:
    """Analyse one file; raises AnalysisCancelled, AudioError/ValueError/OSError."""
    builder = EnvelopeBuilder()
    last_progress = last_envelope = time.monotonic()

    def progress(done_ms: int, total_ms: int) -> None:
        nonlocal last_progress, last_envelope
        now = time.monotonic()
        if now - last_progress < PROGRESS_INTERVAL_S:
            return
        last_progress = now
        envelope = None
        if now - last_envelope >= ENVELOPE_INTERVAL_S:
            last_envelope = now
            envelope = builder.snapshot().coarse(PARTIAL_MIN_BIN_SAMPLES)
        emit(AnalysisProgress(job.job_id, done_ms, total_ms, envelope))

    if job.per_channel and job.channel is None:
        channels = probe(job.path).channels
        if channels > 1:
            both = segment_channels(job.path, channels, job.params, precision=job.precision,
                                    progress=progress, cancelled=cancelled)
            first = both.tracks[0]
            return FileAnalysis(job.job_id, job.path, both.info, first.track, first.envelope,
                                job.params, both.segments, both.duration_ms, job.precision,
                                None, both.tracks)
    done = segment_file(job.path, job.params, precision=job.precision, channel=job.channel,
                        progress=progress, cancelled=cancelled, envelope=builder)
    assert done.envelope is not None
    return FileAnalysis(job.job_id, job.path, done.info, done.track, done.envelope, job.params,
                        done.segments, done.duration_ms, job.precision, job.channel)


def run_one(job: AnalysisJob, emit: Callable[[AnalysisEvent], None],
            cancelled: Callable[[], bool]) -> None:
    """Analyse and report exactly one final event: FileAnalysis, AnalysisFailure or
    AnalysisCancelledEvent. A bug fails this file, never the worker."""
    try:
        emit(analyse(job, emit, cancelled))
    except AnalysisCancelled:
        emit(AnalysisCancelledEvent(job.job_id))
    except (ValueError, OSError) as exc:  # AudioError is a ValueError; engine errors too
        emit(AnalysisFailure(job.job_id, job.path, str(exc)))
    except Exception as exc:
        detail = traceback.format_exc(limit=8)
        emit(AnalysisFailure(job.job_id, job.path,
                             f"unexpected error ({type(exc).__name__}: {exc}); see the log "
                             f"file\n{detail}"))


def serve(jobs: Connection, events: Connection, cancel_id: SharedJobId) -> None:
    """The worker process's loop: jobs in, events out, until a None job or a closed pipe.

    `cancel_id` is a shared integer: the id of the job the GUI wants stopped.
    """
    # The app's log file, not the terminal: what this process logs (a bug's traceback, what a
    # decoder library wrote to its stderr) is found beside the GUI's own records.
    applog.setup_logging(stderr=False)
    while True:
        try:
            job = jobs.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        run_one(job, events.send, _cancel_check(cancel_id, job.job_id))


def _cancel_check(cancel_id: SharedJobId, job_id: int) -> Callable[[], bool]:
    def cancelled() -> bool:
        return bool(cancel_id.value == job_id)

    return cancelled
