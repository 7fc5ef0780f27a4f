"""The queue of files to analyse: every opened file is an item; one worker thread runs them.

Items change state waiting -> running -> done | failed | cancelled. A failure is recorded on its
item with the reason and the queue goes on with the next file. Only the GUI thread touches the
items; the worker reports through queued signals.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal

from vaddesk.core.engine import Precision
from vaddesk.core.params import VadParams
from vaddesk.gui.analysis_worker import AnalysisWorker
from vaddesk.pipeline.analysis import AnalysisFailure, AnalysisJob, AnalysisProgress, FileAnalysis

log = logging.getLogger(__name__)


class ItemState(enum.Enum):
    WAITING = "waiting"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINAL_STATES = (ItemState.DONE, ItemState.FAILED, ItemState.CANCELLED)


@dataclass
class QueueItem:
    item_id: int
    path: Path
    relpath: Path  # where its outputs go below an export folder (mirrors a folder input)
    state: ItemState = ItemState.WAITING
    done_ms: int = 0
    total_ms: int = 0
    reason: str = ""
    analysis: FileAnalysis | None = None

    @property
    def fraction(self) -> float:
        return min(1.0, self.done_ms / self.total_ms) if self.total_ms > 0 else 0.0


class AnalysisQueue(QObject):
    item_added = Signal(int)  # item id
    item_changed = Signal(int)  # state or progress changed
    item_finished = Signal(int)  # reached done / failed / cancelled
    partial_envelope_arrived = Signal(int, object)  # item id, PeakEnvelope (progressive draw)
    queue_drained = Signal()  # nothing waiting or running any more

    _job_requested = Signal(object)
    _stop_requested = Signal()

    def __init__(self, params: Callable[[], VadParams], precision: Precision = "int8",
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._params = params
        self._precision = precision
        self.per_channel = False  # multi-channel files: each channel a speaker of its own
        self._items: dict[int, QueueItem] = {}
        self._next_id = 1
        self._running: int | None = None
        self._thread = QThread()
        self._thread.setObjectName("vaddesk-analysis")
        self._worker = AnalysisWorker()
        self._worker.moveToThread(self._thread)
        self._job_requested.connect(self._worker.run_job)
        self._worker.analysis_started.connect(self._on_started)
        self._worker.analysis_progressed.connect(self._on_progressed)
        self._worker.analysis_finished.connect(self._on_finished)
        self._worker.analysis_failed.connect(self._on_failed)
        self._worker.analysis_cancelled.connect(self._on_cancelled)
        self._stop_requested.connect(self._worker.stop)
        self._thread.started.connect(self._worker.warm_up)
        self._thread.start()

    # --- queries ---------------------------------------------------------------------------
    def items(self) -> list[QueueItem]:
        return list(self._items.values())

    def item(self, item_id: int) -> QueueItem:
        return self._items[item_id]

    def get(self, item_id: int) -> QueueItem | None:
        """The item, or None once it has been removed (views may still hold its id)."""
        return self._items.get(item_id)

    def is_busy(self) -> bool:
        return any(i.state in (ItemState.WAITING, ItemState.RUNNING) for i in self._items.values())

    def done_items(self) -> list[QueueItem]:
        return [i for i in self._items.values() if i.state is ItemState.DONE]

    # --- commands --------------------------------------------------------------------------
    def add(self, path: Path, relpath: Path | None = None) -> int:
        item_id = self._next_id
        self._next_id += 1
        self._items[item_id] = QueueItem(item_id, Path(path), relpath or Path(Path(path).name))
        self.item_added.emit(item_id)
        self._dispatch()
        return item_id

    def remove_finished(self) -> None:
        for item_id in [i.item_id for i in self._items.values() if i.state in FINAL_STATES]:
            del self._items[item_id]

    def cancel(self, item_id: int) -> None:
        item = self._items.get(item_id)
        if item is None or item.state in FINAL_STATES:
            return
        if item.state is ItemState.WAITING:
            item.state = ItemState.CANCELLED
            item.reason = "cancelled"
            self.item_changed.emit(item_id)
            self.item_finished.emit(item_id)
            self._check_drained()
        else:
            self._worker.cancel(item_id)

    def cancel_all(self) -> None:
        for item_id in list(self._items):
            self.cancel(item_id)

    def retry(self, item_id: int) -> None:
        item = self._items[item_id]
        if item.state in (ItemState.FAILED, ItemState.CANCELLED):
            item.state, item.reason, item.done_ms = ItemState.WAITING, "", 0
            self.item_changed.emit(item_id)
            self._dispatch()

    def shutdown(self) -> None:
        """Cancel everything and stop the worker thread (window closing)."""
        if not self._thread.isRunning():
            return
        for item in self._items.values():
            if item.state is ItemState.RUNNING:
                self._worker.cancel(item.item_id)
            if item.state is ItemState.WAITING:
                item.state = ItemState.CANCELLED
        # Queued after any running job: the job sees the cancel and returns, then stop() ends
        # the process in the worker's own thread.
        self._stop_requested.emit()
        self._thread.quit()
        self._thread.wait()

    # --- internals -------------------------------------------------------------------------
    def _dispatch(self) -> None:
        if self._running is not None:
            return
        for item in self._items.values():
            if item.state is ItemState.WAITING:
                self._running = item.item_id
                item.state = ItemState.RUNNING
                self.item_changed.emit(item.item_id)
                self._job_requested.emit(AnalysisJob(item.item_id, item.path, self._params(),
                                                     self._precision,
                                                     per_channel=self.per_channel))
                return

    def _check_drained(self) -> None:
        if not self.is_busy():
            self.queue_drained.emit()

    def _finish(self, item_id: int) -> None:
        if self._running == item_id:
            self._running = None
        self.item_changed.emit(item_id)
        self.item_finished.emit(item_id)
        self._dispatch()
        self._check_drained()

    def _on_started(self, item_id: int) -> None:
        if item_id in self._items:
            self.item_changed.emit(item_id)

    def _on_progressed(self, progress: AnalysisProgress) -> None:
        item = self._items.get(progress.job_id)
        if item is None:
            return
        item.done_ms, item.total_ms = progress.done_ms, progress.total_ms
        self.item_changed.emit(item.item_id)
        if progress.envelope is not None:
            self.partial_envelope_arrived.emit(item.item_id, progress.envelope)

    def _on_finished(self, analysis: FileAnalysis) -> None:
        item = self._items.get(analysis.job_id)
        if item is None:
            return
        item.state, item.analysis = ItemState.DONE, analysis
        item.done_ms = item.total_ms = analysis.duration_ms
        self._finish(item.item_id)

    def _on_failed(self, failure: AnalysisFailure) -> None:
        item = self._items.get(failure.job_id)
        if item is None:
            return
        item.state, item.reason = ItemState.FAILED, failure.reason
        self._finish(item.item_id)

    def _on_cancelled(self, item_id: int) -> None:
        item = self._items.get(item_id)
        if item is None:
            return
        item.state, item.reason = ItemState.CANCELLED, "cancelled"
        self._finish(item_id)
