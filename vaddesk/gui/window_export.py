"""The main window's export handling: the export dialog, the tasks it makes, the export thread.

A base of :class:`vaddesk.gui.main_window.MainWindow`, which sets the attributes declared
here; writing happens in :class:`ExportWorker` on its own thread so the window never blocks.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QThread, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMainWindow

from vaddesk.core.params import VadParams
from vaddesk.core.types import Segment
from vaddesk.core.wording import counted
from vaddesk.export.writer import existing_before_run
from vaddesk.gui.analysis_queue import AnalysisQueue, QueueItem
from vaddesk.gui.export_dialog import ExportDialog
from vaddesk.gui.export_worker import ExportOptions, ExportOutcome, ExportTask, ExportWorker
from vaddesk.gui.notifier import Notifier
from vaddesk.gui.preset_picker import PresetPicker
from vaddesk.gui.settings import Key, Settings
from vaddesk.pipeline.analysis import FileAnalysis

DEFAULT_EXPORT_FORMATS = ("json", "audacity", "csv")


def export_places(items: list[QueueItem]) -> list[tuple[QueueItem, Path]]:
    """Each finished file once, with the sub-folder its outputs go to below the export folder.

    As the command line does: the folders are mirrored, here below the deepest folder that
    holds every file's source folder (a folder that was opened keeps its sub-folders), so two
    `standup.wav` of different folders never write over each other.
    """
    unique: dict[str, QueueItem] = {}
    for item in items:
        unique.setdefault(os.path.normcase(str(item.path.resolve())), item)
    bases = []
    for item in unique.values():
        base = item.path.resolve().parent
        for _ in item.relpath.parent.parts:  # up to the folder that was opened
            base = base.parent
        bases.append(base)
    if not bases:
        return []
    common = Path(os.path.commonpath([str(b) for b in bases]))
    return [(item, base.relative_to(common) / item.relpath.parent)
            for item, base in zip(unique.values(), bases, strict=True)]


class ExportingWindow(QMainWindow):
    export_finished = Signal(object)  # ExportOutcome

    _export_requested = Signal(object, object)

    # Set by MainWindow.__init__.
    settings: Settings
    notifier: Notifier
    queue: AnalysisQueue
    preset_picker: PresetPicker
    export_dialog: ExportDialog | None
    _current: FileAnalysis | None
    _segments: list[Segment]
    _params: VadParams
    _export_busy: bool
    _resegment_pending: bool

    def _resegment_now(self) -> None:  # MainWindow's
        raise NotImplementedError

    def _build_export_thread(self) -> None:
        self._export_thread = QThread(self)
        self._export_thread.setObjectName("vaddesk-export")
        self._export_worker = ExportWorker()
        self._export_worker.moveToThread(self._export_thread)
        self._export_requested.connect(self._export_worker.run_export)
        self._export_worker.export_finished.connect(self._on_export_finished)
        self._export_thread.start()

    def export_current(self) -> None:
        if self._current is None:
            self.notifier.error("Nothing to export", "Open a recording and wait for its "
                                "analysis to finish, then export.")
            return
        self._open_export_dialog(f"the {counted(len(self._segments), 'segment')} of "
                                 f"{self._current.path.name}", all_files=False)

    def export_all(self) -> None:
        done = self.queue.done_items()
        if not done:
            self.notifier.error("Nothing to export", "No file in the queue has finished yet.")
            return
        self._open_export_dialog(f"{len(done)} finished file(s) with the current values",
                                 all_files=True)

    def _open_export_dialog(self, what: str, all_files: bool) -> None:
        if self._export_busy:
            self.notifier.error("Export running", "Wait for the current export to finish.")
            return
        default_dir = self.settings.get_str(Key.LAST_EXPORT_DIR)
        if not default_dir and self._current is not None:
            default_dir = str(self._current.path.parent)
        formats = self.settings.get_list(Key.EXPORT_FORMATS) or list(DEFAULT_EXPORT_FORMATS)
        dialog = ExportDialog(Path(default_dir or Path.home()), formats,
                              self.settings.get_bool(Key.EXPORT_CLIPS, False),
                              self.settings.get_int(Key.EXPORT_PAD_MS, 0), what, self,
                              lambda options: self._existing_outputs(options, all_files))
        dialog.accepted.connect(lambda: self._start_export(dialog.options(), all_files))
        self.export_dialog = dialog
        dialog.open()  # window-modal, never blocks the event loop

    def _planned(self, all_files: bool) -> list[tuple[Path, str]]:
        """(sub-folder, stem) of every file the export would write."""
        if all_files:
            return [(subdir, item.relpath.stem) for item, subdir in export_places(
                self.queue.done_items())]
        if self._current is not None:
            return [(Path(), self._current.path.stem)]
        return []

    def _existing_outputs(self, options: ExportOptions, all_files: bool) -> list[Path]:
        """Outputs of this export that exist already (checked before anything is written)."""
        found: list[Path] = []
        for subdir, stem in self._planned(all_files):
            found += existing_before_run(options.out_dir / subdir, stem, options.formats,
                                         options.clips, None, options.condense)
        return found

    def _task(self, analysis: FileAnalysis, subdir: Path, stem: str, name: str,
              segments: list[Segment] | None) -> ExportTask:
        return ExportTask(analysis, self.preset_picker.current_name(), self._params, segments,
                          subdir, stem, name)

    def _start_export(self, options: ExportOptions, all_files: bool) -> None:
        self.settings.set(Key.LAST_EXPORT_DIR, str(options.out_dir))
        self.settings.set(Key.EXPORT_FORMATS, list(options.formats))
        self.settings.set(Key.EXPORT_CLIPS, options.clips)
        self.settings.set(Key.EXPORT_PAD_MS, options.pad_ms)
        tasks: list[ExportTask] = []
        if self._resegment_pending:  # a value just changed: export what it gives, not before
            self._resegment_now()
        try:
            if all_files:
                # Re-segmented with the current values in the export thread (segments=None):
                # a folder of long files would cost the GUI thread seconds.
                # The file on screen goes with what is on screen (its edits included).
                for item, subdir in export_places(self.queue.done_items()):
                    assert item.analysis is not None
                    shown = item.analysis is self._current
                    tasks.append(self._task(item.analysis, subdir, item.relpath.stem,
                                            str(subdir / item.relpath.name),
                                            list(self._segments) if shown else None))
            elif self._current is not None:
                tasks.append(self._task(self._current, Path(), self._current.path.stem,
                                        self._current.path.name, list(self._segments)))
        except (ValueError, OSError) as exc:
            self.notifier.error("Export failed", str(exc))
            return
        self._export_busy = True
        self.statusBar().showMessage(f"Exporting {len(tasks)} file(s)…")
        self._export_requested.emit(tasks, options)

    def _on_export_finished(self, outcome: ExportOutcome) -> None:
        self._export_busy = False
        self.statusBar().clearMessage()
        folder = outcome.options.out_dir
        if outcome.failures:
            lines = "\n".join(f"• {name}: {reason}" for name, reason in outcome.failures)
            self.notifier.error("Export incomplete",
                                f"Wrote {len(outcome.written)} file(s) to {folder}; these "
                                f"failed:\n{lines}")
        else:
            noted = "".join(f"\n• {name}: {note}" for name, note in outcome.notes)
            self.notifier.info("Export finished",
                               f"Wrote {len(outcome.written)} file(s) to {folder}{noted}",
                               {"Open folder": lambda: self.open_folder(folder)})
        self.export_finished.emit(outcome)

    def open_folder(self, folder: Path) -> None:
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            self.notifier.error("Cannot open folder", f"No file manager opened {folder}.")
