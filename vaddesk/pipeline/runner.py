"""One batch run as the CLI and `watch` see it: resume, local processes or a Dask cluster.

    results = run_items(items, options, RunSettings(jobs=2, resume=True, manifest_dir=out))

With --resume, inputs the manifest records as done (same file, same settings, outputs present)
are not processed again: they finish at once with `resumed=True`. For --resume and --cluster
the "never overwrite" rule is checked here, by the client, before anything is sent out; the
workers then write with overwrite, so that a file retried after its worker died (Dask) or
redone after its client died (--resume) replaces its own half-finished outputs instead of
failing on them. Every output is written atomically, so a replacement is always complete.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from vaddesk.export import OutputExistsError
from vaddesk.export.atomic import TEMP_PREFIX, TEMP_SUFFIX
from vaddesk.export.names import safe_stem
from vaddesk.pipeline.batch import (
    BatchEvent,
    BatchItem,
    BatchOptions,
    FileFinished,
    FileResult,
    run_batch,
)
from vaddesk.pipeline.manifest import Journal, RunManifest

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunSettings:
    jobs: int = 1
    cluster: str | None = None        # a Dask scheduler address, e.g. tcp://host:8786
    resume: bool = False
    manifest_dir: Path | None = None  # where the manifest lives (needed with resume)


class ClusterRunner(Protocol):
    """vaddesk.pipeline.cluster.run_cluster's signature (that module needs the Dask extra)."""

    def __call__(self, items: Sequence[BatchItem], options: BatchOptions, address: str,
                 on_event: Callable[[BatchEvent], None] | None = None,
                 should_stop: Callable[[], bool] | None = None,
                 journal: Journal | None = None) -> list[FileResult]: ...


def manifest_dir_for(items: Sequence[BatchItem], out_dir: Path | None) -> Path:
    """--out when given; else the folder all outputs share (outputs beside the inputs)."""
    if out_dir is not None:
        return out_dir
    try:
        return Path(os.path.commonpath([os.path.abspath(i.out_dir) for i in items]))
    except ValueError:  # nothing in common (Windows drives): the first input's folder
        return items[0].out_dir


def run_items(items: Sequence[BatchItem], options: BatchOptions, settings: RunSettings,
              on_event: Callable[[BatchEvent], None] | None = None,
              should_stop: Callable[[], bool] | None = None,
              cluster_runner: ClusterRunner | None = None) -> list[FileResult]:
    """Process `items` as `settings` say; results in the order of `items`.

    `cluster_runner` is vaddesk.pipeline.cluster.run_cluster (passed in by the caller, which
    has checked that Dask is installed).
    """
    emit = on_event or (lambda event: None)
    if not settings.resume and settings.cluster is None:
        return run_batch(items, options, settings.jobs, emit, should_stop)
    manifest = None
    if settings.resume:
        folder = settings.manifest_dir or manifest_dir_for(items, None)
        manifest = RunManifest(folder, options.fingerprint())
    results: list[FileResult | None] = [None] * len(items)
    to_run: list[int] = []
    for index, item in enumerate(items):
        decision = manifest.decide(item.path) if manifest is not None else "new"
        if decision == "skip":
            assert manifest is not None
            entry = manifest.entries[os.path.abspath(item.path)]
            results[index] = FileResult(item, True, outputs=[Path(p) for p in entry.outputs],
                                        resumed=True)
            continue
        existing = options.existing_outputs(item)
        if existing and not options.overwrite and decision != "ours":
            results[index] = FileResult(item, False, str(OutputExistsError(existing)),
                                        existing_outputs=tuple(existing))
            continue
        to_run.append(index)
    for index, result in enumerate(results):
        if result is not None:
            emit(FileFinished(index, result))

    def forward(event: BatchEvent) -> None:
        emit(dataclasses.replace(event, index=to_run[event.index]))

    run_options = dataclasses.replace(options, overwrite=True)  # checked above
    journal = manifest.journal if manifest is not None else None
    sub_items = [items[i] for i in to_run]
    try:
        if not sub_items:
            sub_results: list[FileResult] = []
        elif settings.cluster is not None:
            if cluster_runner is None:
                raise ValueError("a cluster address needs the cluster runner")
            sub_results = cluster_runner(sub_items, run_options, settings.cluster,
                                         on_event=forward, should_stop=should_stop,
                                         journal=journal)
        else:
            sub_results = run_batch(sub_items, run_options, settings.jobs, forward,
                                    should_stop, journal)
    finally:
        if manifest is not None:
            manifest.sync()
    for index, result in zip(to_run, sub_results, strict=True):
        results[index] = result
    remove_stale_temps(sub_items, manifest)
    return [r for r in results if r is not None]


def remove_stale_temps(items: Sequence[BatchItem], manifest: RunManifest | None) -> None:
    """Temp files a killed worker left in this run's output folders (every writer of the run
    has finished; outputs themselves are never temp files)."""
    folders = {i.out_dir for i in items} | {i.out_dir / f"{safe_stem(i.stem)}_clips"
                                            for i in items}
    if manifest is not None:
        folders.add(manifest.receipts_dir)
    for folder in folders:
        with contextlib.suppress(OSError):
            for path in folder.iterdir():
                if path.name.startswith(TEMP_PREFIX) and path.name.endswith(TEMP_SUFFIX):
                    log.info("removing %s, left by an interrupted writer", path)
                    path.unlink(missing_ok=True)
    if manifest is not None:
        with contextlib.suppress(OSError):  # empty once every receipt is folded
            manifest.receipts_dir.rmdir()
