"""The Qt side of analysis: a QObject in its own QThread that drives the worker process.

run_job() hands a job to a long-lived spawned process (vaddesk.pipeline.analysis.serve) and
turns what comes back into typed signals. The QThread only waits on a pipe, so neither it nor
the process can hold up the GUI thread. A crashed process fails the file it was working on
with a clear reason and is replaced for the next one.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnContext
from multiprocessing.process import BaseProcess
from typing import ClassVar, Final, cast

from PySide6.QtCore import QObject, Signal, Slot

from vaddesk.pipeline.analysis import (
    AnalysisCancelledEvent,
    AnalysisFailure,
    AnalysisJob,
    AnalysisProgress,
    FileAnalysis,
    SharedJobId,
    serve,
)

log = logging.getLogger(__name__)

_POLL_S: Final = 0.25  # how often a waiting QThread checks that the process is still alive


class AnalysisWorker(QObject):
    # Spawn, never fork: the GUI process holds Qt and onnxruntime threads. (The tests start
    # their many windows' processes from a forkserver instead: tests/gui/conftest.py.)
    context: ClassVar[SpawnContext] = mp.get_context("spawn")

    analysis_started = Signal(int)  # job id
    analysis_progressed = Signal(object)  # AnalysisProgress
    analysis_finished = Signal(object)  # FileAnalysis
    analysis_failed = Signal(object)  # AnalysisFailure
    analysis_cancelled = Signal(int)  # job id

    def __init__(self) -> None:
        super().__init__()
        self._ctx = self.context
        # NB: a shared integer, written by the GUI thread (cancel) and read by the child
        # between blocks; -1 means nothing to cancel.
        self._cancel_id = cast(SharedJobId, self._ctx.Value("q", -1, lock=False))
        self._process: BaseProcess | None = None
        self._jobs: Connection | None = None
        self._events: Connection | None = None

    def cancel(self, job_id: int) -> None:
        self._cancel_id.value = job_id

    def _ensure_process(self) -> None:
        if self._process is not None and self._process.is_alive():
            return
        jobs_read, jobs_write = self._ctx.Pipe(duplex=False)
        events_read, events_write = self._ctx.Pipe(duplex=False)
        process = self._ctx.Process(target=serve, args=(jobs_read, events_write, self._cancel_id),
                                    name="vaddesk-analysis", daemon=True)
        process.start()
        jobs_read.close()
        events_write.close()
        self._process, self._jobs, self._events = process, jobs_write, events_read

    @Slot()
    def warm_up(self) -> None:
        """Start the worker process early, so the first file does not wait for its imports."""
        try:
            self._ensure_process()
        except OSError as exc:
            log.warning("could not start the analysis process: %s", exc)

    @Slot(object)
    def run_job(self, job: AnalysisJob) -> None:
        if self._cancel_id.value == job.job_id:
            self.analysis_cancelled.emit(job.job_id)
            return
        self.analysis_started.emit(job.job_id)
        try:
            self._ensure_process()
            assert self._jobs is not None
            self._jobs.send(job)
        except OSError as exc:
            self._fail(job, f"the analysis process could not start ({exc})")
            return
        while True:
            assert self._events is not None and self._process is not None
            try:
                ready = self._events.poll(_POLL_S)
                event = self._events.recv() if ready else None
            except (EOFError, OSError):
                ready, event = False, None
            if not ready:
                if self._process.is_alive():
                    continue
                code = self._process.exitcode
                self._process = None
                self._fail(job, f"the analysis process stopped unexpectedly (exit code {code}); "
                           "the file may be damaged or memory ran out")
                return
            if isinstance(event, AnalysisProgress):
                self.analysis_progressed.emit(event)
                continue
            if isinstance(event, FileAnalysis):
                self.analysis_finished.emit(event)
            elif isinstance(event, AnalysisFailure):
                log.warning("analysis of %s failed: %s", job.path, event.reason)
                self.analysis_failed.emit(event)
            elif isinstance(event, AnalysisCancelledEvent):
                log.info("analysis of %s cancelled", job.path)
                self.analysis_cancelled.emit(job.job_id)
            return

    def _fail(self, job: AnalysisJob, reason: str) -> None:
        log.error("analysis of %s failed: %s", job.path, reason)
        self.analysis_failed.emit(AnalysisFailure(job.job_id, job.path, reason))

    @Slot()
    def stop(self) -> None:
        """End the worker process (window closing); runs in the worker's thread."""
        process, self._process = self._process, None
        if process is None:
            return
        try:
            if self._jobs is not None:
                self._jobs.send(None)
            process.join(timeout=2.0)
        except OSError:
            pass
        if process.is_alive():
            process.terminate()
            process.join(timeout=2.0)
        for conn in (self._jobs, self._events):
            if conn is not None:
                conn.close()
        self._jobs = self._events = None
