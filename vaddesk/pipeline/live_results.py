"""What a live recording session hands its controller: typed results, the summary, and the
control surface shared by the one-side and the two-side session (ask to stop, wait, collect,
pause, change the parameters live).

Qt-free. A session's worker thread puts results on ``_results``, sets ``_summary`` and then
``_ended``; any one controlling thread (CLI loop, Qt bridge) calls the methods here.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from pathlib import Path

from vaddesk.core.params import VadParams
from vaddesk.core.types import Segment, VadEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SegmentEvent:
    """An engine event, with where and when it was decided.

    ``decided_at_ms``: recorded audio when the engine decided it. ``captured_at``:
    time.monotonic() when the block that triggered it arrived from the device.
    """

    event: VadEvent
    decided_at_ms: int
    captured_at: float
    channel: int | None = None  # which side of a two-sided recording (None: the only one)


@dataclass(frozen=True, slots=True)
class LiveProblem:
    """Something the user must see. ``fatal``: the recording stopped (file kept)."""

    message: str
    fatal: bool


@dataclass(frozen=True, slots=True)
class ClipWritten:
    path: Path
    segment: Segment


@dataclass(frozen=True, slots=True)
class LiveSummary:
    path: Path
    json_path: Path | None
    duration_ms: int
    segments: tuple[Segment, ...]
    overflow_count: int
    stop_reason: str | None
    """None after a normal stop; else why the recording stopped (device lost, disk full)."""


@dataclass(frozen=True, slots=True)
class SessionEnded:
    summary: LiveSummary


LiveResult = SegmentEvent | LiveProblem | ClipWritten | SessionEnded


class SessionControl:
    """Stop, wait for and drain a session whose worker thread is ``_thread``.

    A subclass starts ``_thread`` on ``_run`` and implements the worker's ``_loop`` (read, write,
    analyse until stopped) and ``_finish`` (flush, close, put SessionEnded, set ``_ended``);
    its ``pause``/``resume`` set ``_paused`` and tell its views.
    """

    def __init__(self, params: VadParams, preset: str) -> None:
        self._params = params
        self.preset = preset
        self._paused = False
        self._pending_params: VadParams | None = None
        self._results: queue.Queue[LiveResult] = queue.Queue()
        self._stop_requested = threading.Event()
        self._ended = threading.Event()
        self._thread: threading.Thread | None = None
        self._summary: LiveSummary | None = None
        self.path: Path | None = None
        self.processing_s = 0.0  # worker CPU-ish time spent on blocks (wall, for benchmarks)

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def running(self) -> bool:
        return self._thread is not None and not self._ended.is_set()

    @property
    def params(self) -> VadParams:
        return self._pending_params or self._params

    def set_params(self, params: VadParams, preset: str = "custom") -> None:
        self.preset = preset
        # NB: a single reference assignment is atomic; the worker picks it up before its next
        # block, so a block is never analysed with half-changed parameters.
        self._pending_params = params

    def request_stop(self) -> None:
        """Ask the worker to stop (returns at once; safe from a signal handler)."""
        self._stop_requested.set()

    def stop(self, timeout_s: float = 30.0) -> LiveSummary:
        """Stop and wait for the worker to finish; returns the summary (idempotent)."""
        self._stop_requested.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                raise TimeoutError("the recording worker did not finish in time")
        assert self._summary is not None
        return self._summary

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait until the session has ended (stop(), max duration, or a fatal problem)."""
        return self._ended.wait(timeout_s)

    def results(self) -> list[LiveResult]:
        """Every result produced since the last call, in order (never blocks)."""
        out: list[LiveResult] = []
        while True:
            try:
                out.append(self._results.get_nowait())
            except queue.Empty:
                return out

    def next_result(self, timeout_s: float) -> LiveResult | None:
        """Wait up to timeout_s for one result (CLI)."""
        try:
            return self._results.get(timeout=timeout_s)
        except queue.Empty:
            return None

    # -- the worker --
    def _run(self) -> None:
        reason: str | None = None
        try:
            reason = self._loop()
        except Exception as exc:  # a bug must not lose the recording: close it and say so
            log.exception("%s failed", type(self).__name__)
            reason = f"internal error: {exc}"
            self._results.put(LiveProblem(reason, True))
        finally:
            self._finish(reason)

    def _loop(self) -> str | None:
        """Read, write and analyse until stopped: None after a normal stop, else why it ended."""
        raise NotImplementedError

    def _finish(self, reason: str | None) -> None:
        """Flush, close the file, write the JSON, put SessionEnded and set ``_ended``."""
        raise NotImplementedError
