"""The batch on a Dask cluster: one task per input, the same results as a local run.

    results = run_cluster(items, options, "tcp://host:8786", on_event=bar.on_event)

Workers read the inputs and write the outputs by path (shared storage), through the same
`process_file` as local processes. The model is loaded once per worker: a worker plugin
preloads the onnxruntime session when the worker joins, and every task on it shares it.
A worker lost mid-run makes the scheduler run its tasks elsewhere (Dask's own retries); since
the client has already checked "never overwrite" (runner.py), a rerun task replaces whatever
its dead predecessor left with complete files (all writes are atomic), and only one file of
each name ever exists. Progress comes back as Dask events (`log_event` on the worker,
`subscribe_topic` on the client) and is delivered in the calling thread, as run_batch does.

Needs the optional extra: pip install "vaddesk[cluster]".
"""

from __future__ import annotations

import logging
import queue
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Final

from distributed import Client, Future, get_worker
from distributed.diagnostics.plugin import WorkerPlugin

from vaddesk.core.model import Precision, preload, sessions_loaded
from vaddesk.pipeline.batch import (
    CANCELLED,
    PROGRESS_EVERY_S,
    BatchEvent,
    BatchItem,
    BatchOptions,
    FileFinished,
    FileProgress,
    FileResult,
    FileStarted,
    process_file,
)
from vaddesk.pipeline.errors import ClusterUnavailable
from vaddesk.pipeline.manifest import Journal

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S: Final = 5.0  # "unreachable" is reported within 10 s
TASK_RETRIES: Final = 2  # a task that raised runs again (a lost worker is rescheduled anyway)
POLL_S: Final = 0.1
PLUGIN_NAME: Final = "vaddesk-model"


class ModelPlugin(WorkerPlugin):
    """Loads the model once when a worker starts (or when the plugin is registered)."""

    def __init__(self, precision: Precision) -> None:
        self.precision: Precision = precision

    def setup(self, worker: object) -> None:
        info = preload(self.precision)
        log.info("vaddesk model %s loaded on worker %s", info.name,
                 getattr(worker, "name", "?"))


def worker_sessions_loaded() -> int:
    """Sessions the worker process made (for the "loaded once per worker" check)."""
    return sessions_loaded()


def _task(index: int, item: BatchItem, options: BatchOptions, journal: Journal | None,
          topic: str) -> FileResult:
    """Runs on a worker: one file, progress as events; a failure names the worker."""
    worker = get_worker()
    preload(options.precision)  # no-op when the plugin has run
    last = [0.0]

    def progress(audio_ms: int) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_S:
            last[0] = now
            worker.log_event(topic, {"index": index, "audio_ms": audio_ms})

    worker.log_event(topic, {"index": index, "audio_ms": -1})
    result = process_file(item, options, progress, journal=journal)
    if not result.ok:
        return FileResult(item, False, f"{result.error} (on worker {worker.name})",
                          elapsed_s=result.elapsed_s)
    return result


def connect(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> Client:
    try:
        return Client(address, timeout=timeout_s, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterUnavailable(
            f"cannot reach the Dask scheduler at {address} within {timeout_s:.0f} s ({exc}); "
            "check the address given to --cluster and that 'dask scheduler' is running"
        ) from None


def run_cluster(items: Sequence[BatchItem], options: BatchOptions, address: str,
                on_event: Callable[[BatchEvent], None] | None = None,
                should_stop: Callable[[], bool] | None = None,
                journal: Journal | None = None,
                client: Client | None = None) -> list[FileResult]:
    """Process every item on the cluster at `address`; results in the order of `items`.

    Same contract as run_batch: one FileFinished per item, nothing about an item after it;
    when `should_stop()` turns true, tasks not finished are cancelled and reported so.
    Raises ClusterUnavailable when the scheduler cannot be reached (nothing is written then).
    """
    emit = on_event or (lambda event: None)
    stop = should_stop or (lambda: False)
    own_client = client is None
    dask = connect(address) if client is None else client
    events: queue.SimpleQueue[tuple[int, int]] = queue.SimpleQueue()
    topic = f"vaddesk-progress-{uuid.uuid4().hex[:12]}"

    def on_dask_event(event: tuple[float, dict[str, int]]) -> None:  # the client's loop thread
        _, msg = event
        events.put((int(msg["index"]), int(msg["audio_ms"])))

    results: list[FileResult | None] = [None] * len(items)
    finished: set[int] = set()
    try:
        dask.register_plugin(ModelPlugin(options.precision), name=PLUGIN_NAME)
        dask.subscribe_topic(topic, on_dask_event)
        futures: dict[Future, int] = {}
        for index, item in enumerate(items):
            future = dask.submit(_task, index, item, options, journal, topic,
                                 key=f"vaddesk-{topic[-12:]}-{index}", pure=False,
                                 retries=TASK_RETRIES, priority=_size(item))
            futures[future] = index
        pending = set(futures)
        while pending:
            if stop():
                dask.cancel(list(pending))
                break
            _drain(events, finished, emit)
            done = [f for f in pending if f.done()]
            for future in done:
                pending.discard(future)
                index = futures[future]
                result = _result(future, items[index])
                results[index] = result
                finished.add(index)
                emit(FileFinished(index, result))
            if not done:
                time.sleep(POLL_S)
        _drain(events, finished, emit)
    except BaseException:
        if own_client:
            dask.close(timeout=2)
        raise
    finally:
        try:
            dask.unsubscribe_topic(topic)
        except Exception:  # the client may already be closed by the handler above
            log.debug("unsubscribe after close", exc_info=True)
    if own_client:
        dask.close(timeout=5)
    out = []
    for index, (item, maybe) in enumerate(zip(items, results, strict=True)):
        result = maybe if maybe is not None else FileResult(item, False, CANCELLED)
        if maybe is None:
            emit(FileFinished(index, result))
        out.append(result)
    return out


def _result(future: Future, item: BatchItem) -> FileResult:
    if future.status == "finished":
        result: FileResult = future.result()
        return result
    if future.status == "cancelled":
        return FileResult(item, False, CANCELLED)
    exc = future.exception()
    return FileResult(item, False, f"the task failed on the cluster: {exc!r}")


def _drain(events: queue.SimpleQueue[tuple[int, int]], finished: set[int],
           emit: Callable[[BatchEvent], None]) -> None:
    while True:
        try:
            index, audio_ms = events.get_nowait()
        except queue.Empty:
            return
        if index in finished:
            continue
        emit(FileStarted(index) if audio_ms < 0 else FileProgress(index, audio_ms))


def _size(item: BatchItem) -> int:
    """Priority: large files first (in MB, so the numbers stay small)."""
    try:
        return item.path.stat().st_size // 1_000_000
    except OSError:
        return 0

