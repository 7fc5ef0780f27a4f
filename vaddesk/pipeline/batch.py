"""Segment many recordings in parallel processes and export each one's results (no Qt).

    items = plan_items(inputs, recursive=True, out_dir=Path("out"))
    results = run_batch(items, BatchOptions(params, "meeting"), jobs=2, on_event=print)

Each file is decoded, segmented and exported in a worker process (spawned, so it is safe from a
Qt GUI too); a bad file becomes a failed FileResult with a specific reason and the others go on.
Events (FileStarted / FileProgress / FileFinished) are delivered in the calling thread.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Final, TypeAlias

from vaddesk import applog
from vaddesk.audio.decode import AudioError, AudioInfo, find_audio_files, open_audio
from vaddesk.core.confidence import SegmentConfidence, segment_confidences
from vaddesk.core.model import Precision
from vaddesk.core.params import VadParams
from vaddesk.core.talk_stats import TalkStats
from vaddesk.core.types import ChannelInfo, Segment
from vaddesk.export import CondenseOptions, OutputExistsError, export_outputs
from vaddesk.export.names import safe_stem
from vaddesk.export.report import single_channel_info
from vaddesk.export.writer import existing_before_run
from vaddesk.pipeline.channel_analysis import channel_speakers, segment_each_channel
from vaddesk.pipeline.manifest import InputStamp, Journal, fingerprint
from vaddesk.pipeline.segmenting import AnalysisCancelled, file_report, model_of, segment_file

log = logging.getLogger(__name__)

PROGRESS_EVERY_S: Final = 0.5
PARENT_CHECK_S: Final = 0.5


@dataclass(frozen=True, slots=True)
class BatchOptions:
    params: VadParams
    preset: str
    precision: Precision = "int8"
    formats: tuple[str, ...] = ("json",)
    clips: bool = False
    pad_ms: int = 0
    overwrite: bool = False
    channel: int | None = None  # 0-based; None = downmix all channels
    per_channel: bool = False   # each channel analysed on its own, one speaker per channel
    speakers: tuple[str, ...] | None = None  # names of the channels, in order (per_channel)
    clips_all_channels: bool = False  # clips keep every channel (default: the segment's own)
    condense: CondenseOptions | None = None  # also write the speech-only audio
    strict: bool = False  # a damaged file (one with warnings) fails instead, writing nothing

    def fingerprint(self) -> str:
        """Hash of everything that shapes the outputs (not `overwrite`): the manifest's check."""
        shaping: dict[str, object] = {
            "params": self.params.to_dict(), "preset": self.preset,
            "precision": self.precision, "formats": sorted(self.formats), "clips": self.clips,
            "pad_ms": self.pad_ms, "channel": self.channel, "per_channel": self.per_channel,
            "speakers": list(self.speakers or ()),
            "clips_all_channels": self.clips_all_channels}
        if self.condense is not None:  # absent otherwise: earlier manifests stay valid
            shaping["condense"] = [self.condense.audio_format, self.condense.gap_ms,
                                   self.condense.mode]
        if self.strict:  # a file done with warnings is not done under --strict (it fails)
            shaping["strict"] = True
        return fingerprint(shaping)

    def existing_outputs(self, item: BatchItem) -> list[Path]:
        """The outputs of ``item`` that are there already (checked before it is segmented)."""
        return existing_before_run(item.out_dir, item.stem, self.formats, self.clips,
                                   item.json_path, self.condense)


@dataclass(frozen=True, slots=True)
class BatchItem:
    path: Path
    out_dir: Path
    stem: str
    json_path: Path | None = None
    url: str | None = None  # the input as the user gave it, when `path` is its download

    @property
    def label(self) -> str:
        """How the user names this input (the URL of a download, else the path)."""
        return self.url or str(self.path)


@dataclass(frozen=True, slots=True)
class FileResult:
    item: BatchItem
    ok: bool
    error: str | None = None          # the problem, without the path
    duration_ms: int = 0
    num_segments: int = 0
    speech_ms: int = 0
    outputs: list[Path] = field(default_factory=list)
    elapsed_s: float = 0.0
    notes: tuple[str, ...] = ()       # things the user should know about a result that is ok
    stats: TalkStats | None = None    # talk time per speaker (ok results)
    resumed: bool = False  # already done by an earlier run (--resume): not processed again
    existing_outputs: tuple[Path, ...] = ()  # failed because these outputs are already there
    warnings: tuple[str, ...] = ()    # damage worked around (a cut file): ok, but said apart


@dataclass(frozen=True, slots=True)
class FileStarted:
    index: int


@dataclass(frozen=True, slots=True)
class FileProgress:
    index: int
    audio_ms: int  # audio of this file segmented so far


@dataclass(frozen=True, slots=True)
class FileFinished:
    index: int
    result: FileResult


BatchEvent = FileStarted | FileProgress | FileFinished


def plan_items(inputs: Sequence[Path], recursive: bool, out_dir: Path | None = None,
               json_out: Path | None = None) -> list[BatchItem]:
    """Files to process and where each one's outputs go.

    With `out_dir`, sub-folders of a folder input are mirrored under it; without, outputs go
    beside each input. Two inputs whose outputs would collide (a.wav and a.mp3 in one folder,
    or the same relative path under two input folders) keep their extension in the stem
    (`a.wav.json`, `a.mp3.json`), then get a number if that is not enough. Names are compared
    case-insensitively (Windows and macOS file systems).
    """
    found = find_audio_files(inputs, recursive)
    planned = []
    for file, rel in found:
        folder = (out_dir / rel.parent) if out_dir is not None else file.parent
        planned.append((file, folder, file.stem))

    def key(folder: Path, stem: str) -> tuple[str, str]:
        return (os.path.normcase(os.path.abspath(folder)), safe_stem(stem).casefold())

    counts: dict[tuple[str, str], int] = {}
    for _, folder, stem in planned:
        counts[key(folder, stem)] = counts.get(key(folder, stem), 0) + 1
    taken: set[tuple[str, str]] = set()
    items = []
    for file, folder, stem in planned:
        if counts[key(folder, stem)] > 1:
            stem = file.name
        base, n = stem, 2
        while key(folder, stem) in taken:
            stem, n = f"{base}_{n}", n + 1
        taken.add(key(folder, stem))
        items.append(BatchItem(file, folder, stem, json_out))
    return items


def _segment_channels(item: BatchItem, options: BatchOptions,
                      progress: Callable[[int], None] | None,
                      cancelled: Callable[[], bool] | None
                      ) -> tuple[AudioInfo, list[Segment], tuple[ChannelInfo, ...],
                                 list[SegmentConfidence]]:
    """Every channel segmented on its own (one decode pass each: memory stays one block);
    segments sorted by start, each carrying its channel and speaker, with its confidence."""
    with open_audio(item.path) as reader:
        num_channels = reader.info.channels
    infos = channel_speakers(item.path, num_channels, options.speakers)
    found: list[tuple[Segment, SegmentConfidence]] = []
    info: AudioInfo | None = None
    passes_cb = None
    if progress is not None:
        report_cb = progress

        def passes_cb(done_ms: int, _total_ms: int) -> None:
            # the file is read once per channel: progress is the mean over passes
            report_cb(done_ms // num_channels)

    for chan, result in segment_each_channel(item.path, infos, options.params,
                                             precision=options.precision, progress=passes_cb,
                                             cancelled=cancelled):
        assert chan.index is not None
        info = result.info
        found += [(Segment(s.start_ms, s.end_ms, chan.index, chan.speaker), c) for s, c in
                  zip(result.segments, segment_confidences(result.track, result.segments),
                      strict=True)]
    assert info is not None
    found.sort(key=lambda sc: (sc[0].start_ms, sc[0].channel or 0, sc[0].end_ms))
    return info, [s for s, _ in found], infos, [c for _, c in found]


def process_file(item: BatchItem, options: BatchOptions,
                 progress: Callable[[int], None] | None = None,
                 cancelled: Callable[[], bool] | None = None,
                 journal: Journal | None = None) -> FileResult:
    """Decode, segment and export one file; problems become a failed result, never raise
    (but AnalysisCancelled when ``cancelled()`` turns true between two blocks).

    With a `journal`, a "started" receipt is written before the first output and a "done"
    receipt after the last (see manifest.py).
    """
    started = time.perf_counter()

    def failed(reason: str) -> FileResult:
        return FileResult(item, False, reason, elapsed_s=time.perf_counter() - started)

    notes: list[str] = []
    try:
        existing = options.existing_outputs(item)
        if existing and not options.overwrite:
            raise OutputExistsError(existing)
        stamp = InputStamp.of(item.path)  # before reading: what the outputs were made from
        if options.per_channel:
            info, segments, channels, confidences = _segment_channels(item, options, progress,
                                                                      cancelled)
            if info.channels == 1:
                notes.append("mono file: --per-channel found one channel, analysed as one "
                             f"speaker ({channels[0].speaker})")
        else:
            done_ms = None
            if progress is not None:
                report_ms = progress

                def done_ms(audio_ms: int, _total_ms: int) -> None:
                    report_ms(audio_ms)

            result = segment_file(item.path, options.params, precision=options.precision,
                                  channel=options.channel, threads=1, progress=done_ms,
                                  cancelled=cancelled)
            info = result.info  # exact length now that the whole file was read
            segments = result.segments
            channels = (single_channel_info(options.channel, info.channels),)
            confidences = segment_confidences(result.track, segments)
        if options.strict and info.warnings:
            return failed("damaged (--strict): " + "; ".join(info.warnings))
        report = file_report(info, model_of(options.precision), options.preset, options.params,
                             segments, options.channel, channels, confidences)
        if journal is not None:
            journal.write("started", item.path, stamp)
        exported = export_outputs(report, item.out_dir, item.stem, options.formats,
                                  clips=options.clips, pad_ms=options.pad_ms,
                                  overwrite=options.overwrite, json_path=item.json_path,
                                  clips_all_channels=options.clips_all_channels,
                                  condense=options.condense)
        notes += exported.notes
        outputs = exported.written
        if journal is not None:
            journal.write("done", item.path, stamp, outputs)
    except AudioError as exc:
        return failed(exc.problem)
    except OutputExistsError as exc:
        return FileResult(item, False, str(exc), elapsed_s=time.perf_counter() - started,
                          existing_outputs=tuple(exc.paths))
    except AnalysisCancelled:
        raise
    except OSError as exc:  # writing: disk full, permission denied on the output folder ...
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        return failed(f"cannot write output: {exc.strerror or exc}{where}")
    except ValueError as exc:  # the engine's checks on the audio; --speakers count
        return failed(str(exc))
    except Exception as exc:  # a bug: report it with the file and keep the batch going
        log.exception("unexpected error on %s", item.path)
        return failed(f"unexpected error: {exc!r}")
    return FileResult(item, True, None, info.duration_ms, len(segments),
                      sum(s.duration_ms for s in segments), exported.written,
                      time.perf_counter() - started, tuple(notes), report.stats(),
                      warnings=info.warnings)


# ---- parallel runner ----------------------------------------------------------------------------

ProgressQueue: TypeAlias = "Queue[tuple[int, int]]"
"""(file index, audio ms segmented so far; -1 when the file starts), worker -> parent."""

_progress_queue: ProgressQueue | None = None


def _init_worker(progress_queue: ProgressQueue, parent_pid: int, log_to_file: bool) -> None:
    global _progress_queue
    _progress_queue = progress_queue
    if log_to_file:  # as the parent (the command line) does: a spawned process has no handler
        applog.setup_command_logging()
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True,
                     name="vaddesk-parent-watch").start()


def _exit_with_parent(parent_pid: int) -> None:
    """A worker whose client was killed (kill -9) stops too, within PARENT_CHECK_S: it would
    otherwise wait forever on the task pipe, and a rerun with --resume must not race it.
    Whatever it was writing stays a temp file; the file is redone by the rerun."""
    while os.getppid() == parent_pid:
        time.sleep(PARENT_CHECK_S)
    os._exit(1)


def _worker(index: int, item: BatchItem, options: BatchOptions, journal: Journal | None
            ) -> FileResult:
    q = _progress_queue
    last = [0.0]

    def progress(audio_ms: int) -> None:
        now = time.monotonic()
        if q is not None and now - last[0] >= PROGRESS_EVERY_S:
            last[0] = now
            q.put_nowait((index, audio_ms))

    if q is not None:
        q.put_nowait((index, -1))  # started
    return process_file(item, options, progress, journal=journal)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


CANCELLED: Final = "cancelled before it finished"


def run_batch(items: Sequence[BatchItem], options: BatchOptions, jobs: int = 1,
              on_event: Callable[[BatchEvent], None] | None = None,
              should_stop: Callable[[], bool] | None = None,
              journal: Journal | None = None) -> list[FileResult]:
    """Process every item (in `jobs` processes); results in the order of `items`.

    Large files are started first so that the last minutes are not spent on one long file
    while the other workers idle. When `should_stop()` turns true, files not started are
    skipped (with one process, the current file stops at its next block; with several, files
    already running finish); skipped files get a failed result saying so. No event about a
    file follows its FileFinished. KeyboardInterrupt cancels what has not started and
    propagates.
    """
    emit = on_event or (lambda event: None)
    stop = should_stop or (lambda: False)
    results: list[FileResult | None] = [None] * len(items)
    if jobs <= 1 or len(items) <= 1:
        for index, item in enumerate(items):
            if stop():
                break
            emit(FileStarted(index))

            def progress(audio_ms: int, i: int = index) -> None:
                emit(FileProgress(i, audio_ms))

            try:
                result = process_file(item, options, progress, stop, journal)
            except AnalysisCancelled:
                break
            results[index] = result
            emit(FileFinished(index, result))
        return _fill_cancelled(items, results, emit)

    ctx = mp.get_context("spawn")  # never fork: the parent may hold Qt or onnxruntime threads
    progress_queue = ctx.Queue()
    order = sorted(range(len(items)), key=lambda i: -_size(items[i].path))
    finished: set[int] = set()

    def emit_live(event: BatchEvent) -> None:
        if event.index not in finished:
            emit(event)

    with ProcessPoolExecutor(max_workers=min(jobs, len(items)), mp_context=ctx,
                             initializer=_init_worker,
                             initargs=(progress_queue, os.getpid(),
                                       applog.log_file() is not None)) as pool:
        futures: dict[Future[FileResult], int] = {
            pool.submit(_worker, i, items[i], options, journal): i for i in order}
        pending = set(futures)
        try:
            while pending:
                if stop():
                    for future in pending:
                        future.cancel()  # running ones cannot be and will finish
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                _drain(progress_queue, emit_live)
                for future in done:
                    index = futures[future]
                    if future.cancelled():
                        continue
                    try:
                        result = future.result()
                    except BrokenProcessPool:
                        result = FileResult(items[index], False, "the worker process crashed")
                    results[index] = result
                    finished.add(index)
                    emit(FileFinished(index, result))
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return _fill_cancelled(items, results, emit)


def _fill_cancelled(items: Sequence[BatchItem], results: list[FileResult | None],
                    emit: Callable[[BatchEvent], None]) -> list[FileResult]:
    out = []
    for index, (item, result) in enumerate(zip(items, results, strict=True)):
        if result is None:
            result = FileResult(item, False, CANCELLED)
            emit(FileFinished(index, result))
        out.append(result)
    return out


def _drain(progress_queue: ProgressQueue, emit: Callable[[BatchEvent], None]) -> None:
    while True:
        try:
            index, audio_ms = progress_queue.get_nowait()
        except queue.Empty:
            return
        emit(FileStarted(index) if audio_ms < 0 else FileProgress(index, audio_ms))

