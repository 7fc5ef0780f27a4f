"""Export in a worker thread with the same writers as the CLI (vaddesk.export)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from vaddesk.core.params import VadParams
from vaddesk.core.types import Segment
from vaddesk.export import CondenseOptions, OutputExistsError, SegmentationReport, export_outputs
from vaddesk.pipeline.analysis import FileAnalysis
from vaddesk.pipeline.segmenting import file_report, model_of

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ExportOptions:
    out_dir: Path
    formats: tuple[str, ...]
    clips: bool = False
    pad_ms: int = 0
    overwrite: bool = False
    condense: CondenseOptions | None = None  # also the speech-only audio


@dataclass(frozen=True, slots=True)
class ExportTask:
    """One analysed file and where its outputs go (out_dir / subdir / stem.*)."""

    analysis: FileAnalysis
    preset: str
    params: VadParams
    segments: list[Segment] | None  # None: re-segment the track(s) with params here
    subdir: Path
    stem: str
    name: str  # shown in messages

    def report(self) -> SegmentationReport:
        a = self.analysis
        segments = self.segments if self.segments is not None else a.resegment(self.params)
        return file_report(a.info, model_of(a.precision), self.preset, self.params,
                           segments, a.channel, tuple(t.channel for t in a.channel_tracks),
                           confidences=a.confidences(segments))


@dataclass(frozen=True)
class ExportOutcome:
    options: ExportOptions
    written: list[Path] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (file name, reason)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (file name, what was skipped)


class ExportWorker(QObject):
    export_progressed = Signal(int, int)  # files done, files total
    export_finished = Signal(object)  # ExportOutcome

    @Slot(object, object)
    def run_export(self, tasks: list[ExportTask], options: ExportOptions) -> None:
        written: list[Path] = []
        failures: list[tuple[str, str]] = []
        notes: list[tuple[str, str]] = []
        for n, task in enumerate(tasks):
            try:
                result = export_outputs(task.report(), options.out_dir / task.subdir, task.stem,
                                        options.formats, clips=options.clips,
                                        pad_ms=options.pad_ms, overwrite=options.overwrite,
                                        condense=options.condense)
                written += result.written
                notes += [(task.name, note) for note in result.notes]
            except OutputExistsError as exc:
                failures.append((task.name, f"{exc} (tick “Overwrite existing files” to "
                                            "replace them, or choose another folder)"))
            except (ValueError, OSError) as exc:
                log.warning("export of %s failed: %s", task.name, exc)
                failures.append((task.name, str(exc)))
            except Exception as exc:  # a bug in one file's export must not stop the others
                log.exception("unexpected error exporting %s", task.name)
                failures.append((task.name, f"unexpected error ({type(exc).__name__}: {exc})"))
            self.export_progressed.emit(n + 1, len(tasks))
        self.export_finished.emit(ExportOutcome(options, written, failures, notes))
