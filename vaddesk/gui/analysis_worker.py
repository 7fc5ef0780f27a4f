"""The worker that decodes a file, runs the engine over it and builds its peak envelope.

It lives in its own QThread (see AnalysisQueue) and talks to the GUI only through its signals,
whose payloads are frozen dataclasses. One pass over the decoded 16 kHz blocks feeds both the
engine and the envelope, so the file is decoded once and never held whole in memory.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from vaddesk.audio.decode import AudioInfo, open_audio
from vaddesk.audio.envelope import EnvelopeBuilder, PeakEnvelope
from vaddesk.core.engine import Precision, segment_blocks
from vaddesk.core.params import VadParams
from vaddesk.core.types import SAMPLE_RATE, FrameTrack, Segment

log = logging.getLogger(__name__)

_PROGRESS_INTERVAL_S = 0.1  # at most ten progress signals a second
_ENVELOPE_INTERVAL_S = 1.0  # partial waveform for the live view while a long file is analysed
BLOCK_MS = 10_000


@dataclass(frozen=True, slots=True)
class AnalysisJob:
    job_id: int
    path: Path
    params: VadParams
    precision: Precision = "int8"
    channel: int | None = None


@dataclass(frozen=True, slots=True)
class AnalysisProgress:
    job_id: int
    done_ms: int
    total_ms: int
    envelope: PeakEnvelope | None  # a snapshot now and then, None in between


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


@dataclass(frozen=True, slots=True)
class AnalysisFailure:
    job_id: int
    path: Path
    reason: str


class AnalysisCancelled(Exception):
    pass


class AnalysisWorker(QObject):
    analysis_started = Signal(int)  # job id
    analysis_progressed = Signal(object)  # AnalysisProgress
    analysis_finished = Signal(object)  # FileAnalysis
    analysis_failed = Signal(object)  # AnalysisFailure
    analysis_cancelled = Signal(int)  # job id

    def __init__(self) -> None:
        super().__init__()
        # NB: written by the GUI thread (cancel) and read by the worker thread between blocks;
        # threading.Event makes that safe without a Qt call across threads.
        self._cancel_lock = threading.Lock()
        self._cancelled: set[int] = set()

    def cancel(self, job_id: int) -> None:
        with self._cancel_lock:
            self._cancelled.add(job_id)

    def _is_cancelled(self, job_id: int) -> bool:
        with self._cancel_lock:
            return job_id in self._cancelled

    @Slot(object)
    def run_job(self, job: AnalysisJob) -> None:
        if self._is_cancelled(job.job_id):
            self.analysis_cancelled.emit(job.job_id)
            return
        self.analysis_started.emit(job.job_id)
        try:
            result = self._analyse(job)
        except AnalysisCancelled:
            log.info("analysis of %s cancelled", job.path)
            self.analysis_cancelled.emit(job.job_id)
        except (ValueError, OSError) as exc:  # AudioError is a ValueError; engine errors too
            log.warning("analysis of %s failed: %s", job.path, exc)
            self.analysis_failed.emit(AnalysisFailure(job.job_id, job.path, str(exc)))
        except Exception as exc:  # a bug must fail this file, never the queue or the app
            log.exception("unexpected error analysing %s", job.path)
            self.analysis_failed.emit(AnalysisFailure(
                job.job_id, job.path, f"unexpected error ({type(exc).__name__}: {exc}); "
                "see the log file"))
        else:
            self.analysis_finished.emit(result)

    def _analyse(self, job: AnalysisJob) -> FileAnalysis:
        builder = EnvelopeBuilder()
        with open_audio(job.path) as reader:
            info = reader.info
            total_ms = int(info.duration_ms)
            last_progress = last_envelope = time.monotonic()

            def blocks() -> Iterator[np.ndarray]:
                for block in reader.blocks_16k(block_ms=BLOCK_MS, channel=job.channel):
                    if self._is_cancelled(job.job_id):
                        raise AnalysisCancelled
                    builder.add(block)
                    yield block

            def progress(samples_done: int) -> None:
                nonlocal last_progress, last_envelope
                now = time.monotonic()
                if now - last_progress < _PROGRESS_INTERVAL_S:
                    return
                last_progress = now
                envelope = None
                if now - last_envelope >= _ENVELOPE_INTERVAL_S:
                    last_envelope = now
                    envelope = builder.snapshot()
                self.analysis_progressed.emit(AnalysisProgress(
                    job.job_id, samples_done * 1000 // SAMPLE_RATE, total_ms, envelope))

            result = segment_blocks(blocks(), job.params, precision=job.precision,
                                    progress=progress)
        return FileAnalysis(job.job_id, job.path, info, result.track, builder.finish(),
                            job.params, list(result.segments), int(result.duration_ms),
                            job.precision, job.channel)
