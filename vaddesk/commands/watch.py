"""`vaddesk watch FOLDER`: segment each new recording once it is complete, until Ctrl-C.

Runs as `vaddesk segment --resume` over the files the watcher reports, so a restarted watch
skips what it already did (the manifest in the output folder) and picks up what arrived
while it was stopped.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from vaddesk.commands import SubParsers
from vaddesk.commands.segment import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    add_segment_options,
    failure_text,
    load_cluster_runner,
    options_from_args,
)
from vaddesk.core.wording import counted
from vaddesk.pipeline.errors import ClusterUnavailable

if TYPE_CHECKING:
    from vaddesk.pipeline.batch import BatchEvent, BatchItem

log = logging.getLogger(__name__)

DESCRIPTION = """\
Watch a folder and segment every recording that lands in it, once it is complete (its size
has not changed for --settle-s seconds), exactly once: finished inputs are recorded in
vaddesk-manifest.json in the output folder, so a restarted watch skips them. Takes every
option of 'vaddesk segment'. Stop with Ctrl-C.
"""


def add_parser(sub: SubParsers) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        "watch", help="segment new recordings as they land in a folder",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, metavar="FOLDER", help="the folder to watch")
    parser.add_argument("--settle-s", type=float, default=3.0, metavar="S",
                        help="a file is complete when unchanged for S seconds (default 3)")
    parser.add_argument("--poll-s", type=float, default=1.0, metavar="S",
                        help="look for new files every S seconds (default 1)")
    add_segment_options(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    from vaddesk.pipeline.batch import plan_items
    from vaddesk.pipeline.manifest import ManifestError
    from vaddesk.pipeline.runner import RunSettings, run_items
    from vaddesk.pipeline.watcher import FolderWatcher, WatchedFolderGone

    folder: Path = args.folder
    try:
        if not folder.is_dir():
            raise UsageError(f"{folder} is not a folder: give the folder to watch")
        if args.json_out is not None:
            raise UsageError("--json-out names one output file; watch writes one per "
                             "recording: use --out DIR")
        if args.settle_s <= 0 or args.poll_s <= 0:
            raise UsageError("--settle-s and --poll-s must be more than 0")
        options = options_from_args(args)
        cluster_runner = load_cluster_runner(args.cluster)
    except UsageError as exc:
        print(f"vaddesk watch: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    out = args.out or folder
    settings = RunSettings(args.jobs or 1, args.cluster, resume=True, manifest_dir=out)
    watcher = FolderWatcher(folder, args.recursive, args.settle_s)
    print(f"watching {folder} (outputs in {out}); Ctrl-C to stop", file=sys.stderr, flush=True)
    try:
        while True:
            ready = set(watcher.poll())
            if ready:
                items = [i for i in plan_items([folder], args.recursive, args.out)
                         if i.path in ready]
                printer = _Printer(items, sys.stdout)
                run_items(items, options, settings, printer.on_event,
                          cluster_runner=cluster_runner)
            time.sleep(args.poll_s)
    except KeyboardInterrupt:
        print("vaddesk watch: stopped", file=sys.stderr)
        return EXIT_OK
    except WatchedFolderGone as exc:
        print(f"vaddesk watch: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except (ClusterUnavailable, ManifestError) as exc:
        print(f"vaddesk watch: error: {exc}", file=sys.stderr)
        return EXIT_FAILED


class _Printer:
    """One line per finished recording."""

    def __init__(self, items: list[BatchItem], out: TextIO) -> None:
        self._items = items
        self._out = out

    def on_event(self, event: BatchEvent) -> None:
        from vaddesk.pipeline.batch import FileFinished

        if not isinstance(event, FileFinished):
            return
        r = event.result
        if r.resumed:
            return
        if r.ok:
            self._out.write(f"done: {r.item.label}: {counted(r.num_segments, 'segment')}, "
                            f"{r.speech_ms / 1000:.1f} s of speech in "
                            f"{r.duration_ms / 1000:.1f} s\n")
            for warning in r.warnings:  # as `vaddesk segment` says them (a cut file)
                self._out.write(f"warning: {r.item.label}: {warning}\n")
        else:
            self._out.write(f"failed: {r.item.label}: {failure_text(r)}\n")
        self._out.flush()
