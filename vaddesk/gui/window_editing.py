"""The main window's segment editing: the Edit menu and its keys, the drag controller on the
waveform, label/note edits from the table, autosave and the restore offer, and the question
asked when new values would replace edited segments.

A base of :class:`vaddesk.gui.main_window.MainWindow`, which sets the attributes declared
here and routes detection through `_show_detected()` and edits through `_on_edited()`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget

from vaddesk.core.types import Segment
from vaddesk.core.wording import counted
from vaddesk.gui.edit_autosave import discard_edits, load_edits, save_edits
from vaddesk.gui.edit_commands import SegmentEditor
from vaddesk.gui.queue_panel import QueuePanel
from vaddesk.gui.segment_drag import SegmentDragController
from vaddesk.gui.segment_table import SegmentTable
from vaddesk.gui.waveform_view import WaveformView
from vaddesk.gui.window_sources import SourcesWindow

log = logging.getLogger(__name__)

NUDGE_MS = 10


class EditingWindow(SourcesWindow):
    # Set by MainWindow.__init__.
    waveform: WaveformView
    segment_table: SegmentTable
    segments_dock: QDockWidget
    queue_panel: QueuePanel
    _current_item: int | None

    def _action(self, text: str, slot: Callable[[], object],
                shortcut: QKeySequence | str | None = None, tip: str = "",
                checkable: bool = False) -> QAction:  # MainWindow's
        raise NotImplementedError

    def _set_segments(self, segments: list[Segment]) -> None:  # MainWindow's
        raise NotImplementedError

    def _build_editing(self) -> None:
        self.editor = SegmentEditor(self)
        self.drag_controller = SegmentDragController(self.waveform, self.editor)
        self._edit_prompt_open = False
        self.editor.segments_edited.connect(self._on_edited)
        self.editor.undo_stack.indexChanged.connect(self._autosave)
        self.segment_table.table_model.text_edited.connect(self._on_text_edited)
        self.segment_table.set_text_editing(True)
        stack = self.editor.undo_stack
        self.undo_action = stack.createUndoAction(self, "Undo")
        self.undo_action.setShortcut(QKeySequence("Ctrl+Z"))
        self.redo_action = stack.createRedoAction(self, "Redo")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.addActions([self.undo_action, self.redo_action])
        a = self._edit_action
        self.split_action = a("Split at cursor", self.split_at_cursor, "K",
                              "Cut the segment under the cursor in two at the cursor")
        self.merge_action = a("Merge with next", self.merge_selected, "M",
                              "Join the selected segment and the next one")
        self.delete_action = a("Delete segment", self.delete_selected, "Delete",
                               "Remove the selected segment")
        self.add_action = a("Add segment at cursor", self.add_at_cursor, "A",
                            "A new 1 s segment from the cursor (or up to the next segment); "
                            "or drag across empty time in the waveform")
        self.start_earlier_action = a("Start 10 ms earlier", lambda: self._nudge("start", -1),
                                      "[", "Move the selected segment's start 10 ms earlier")
        self.start_later_action = a("Start 10 ms later", lambda: self._nudge("start", 1), "]",
                                    "Move the selected segment's start 10 ms later")
        self.end_earlier_action = a("End 10 ms earlier", lambda: self._nudge("end", -1),
                                    "Shift+[", "Move the selected segment's end 10 ms earlier")
        self.end_later_action = a("End 10 ms later", lambda: self._nudge("end", 1), "Shift+]",
                                  "Move the selected segment's end 10 ms later")
        # Shift+[ arrives as "{" with or without Shift held, depending on the layout and
        # platform (and as Shift+[ on some): every form works.
        self.end_earlier_action.setShortcuts([QKeySequence(k) for k in
                                              ("Shift+{", "{", "Shift+[")])
        self.end_later_action.setShortcuts([QKeySequence(k) for k in ("Shift+}", "}", "Shift+]")])
        self.label_action = a("Edit label", lambda: self._edit_text_cell(4), "F2",
                              "Type a label for the selected segment (the table's label cell)")
        self.note_action = a("Edit note", lambda: self._edit_text_cell(5), "Shift+F2",
                             "Type a note for the selected segment")
        # The cursor by keyboard too, so a split needs no mouse (a selected row puts the cursor
        # at its start).
        self.cursor_actions = [
            a(text, self._cursor_mover(ms), key, tip)
            for text, ms, key, tip in (
                ("Cursor 100 ms later", 100, "Ctrl+Right", "Move the cursor 100 ms later"),
                ("Cursor 100 ms earlier", -100, "Ctrl+Left", "Move the cursor 100 ms earlier"),
                ("Cursor 1 s later", 1000, "Ctrl+Shift+Right", "Move the cursor 1 s later"),
                ("Cursor 1 s earlier", -1000, "Ctrl+Shift+Left", "Move the cursor 1 s earlier"))]
        menu = self.menuBar().addMenu("&Edit")
        menu.addActions([self.undo_action, self.redo_action])
        menu.addSeparator()
        menu.addActions([self.split_action, self.merge_action, self.delete_action,
                         self.add_action])
        menu.addSeparator()
        menu.addActions([self.start_earlier_action, self.start_later_action,
                         self.end_earlier_action, self.end_later_action])
        menu.addSeparator()
        menu.addActions([self.label_action, self.note_action])
        menu.addSeparator()
        menu.addActions(self.cursor_actions)

    def _edit_action(self, text: str, slot: Callable[[], object], shortcut: str, tip: str
                     ) -> QAction:
        return self._action(text, slot, shortcut, tip)

    # --- detection and edits ---------------------------------------------------------------
    def _show_detected(self, segments: list[Segment]) -> None:
        """Segments the detector made: they replace the screen and the edit history."""
        current = self._current
        self.editor.reset(segments, current.duration_ms if current else 0,
                          current.track.energy_db if current else None)
        self._edit_prompt_open = False
        self._set_segments(segments)

    def _on_edited(self, segments: list[Segment], select: int | None) -> None:
        self._set_segments(segments)
        self.segment_table.select_row(select)
        self.waveform.set_selected(select)

    def _selected_row(self) -> int | None:
        row = self.segment_table.selected_row()
        return row if row is not None and row < len(self.editor.segments()) else None

    def _need_selection(self) -> int | None:
        row = self._selected_row()
        if row is None:
            self.notifier.error("No segment selected", "Click a shaded segment in the waveform "
                                "or a row of the segment table first.")
        return row

    def split_at_cursor(self) -> None:
        if not self.editor.split(self.waveform.cursor_s() * 1000.0):
            self.notifier.error("Nothing to split", "Put the cursor inside a segment (click "
                                "it), at least 10 ms from its ends, then split.")

    def merge_selected(self) -> None:
        row = self._need_selection()
        if row is not None and not self.editor.merge_with_next(row):
            self.notifier.error("Nothing to merge", "The last segment has no next segment.")

    def delete_selected(self) -> None:
        row = self._need_selection()
        if row is not None:
            self.editor.delete(row)

    def add_at_cursor(self) -> None:
        start_ms = self.waveform.cursor_s() * 1000.0
        if not self.editor.add(start_ms, start_ms + 1000.0):
            self.notifier.error("No room for a segment", "Put the cursor on empty time (not "
                                "inside a segment) to add one there.")

    def _cursor_mover(self, delta_ms: int) -> Callable[[], None]:
        def move() -> None:
            self._move_cursor(delta_ms)
        return move

    def _move_cursor(self, delta_ms: int) -> None:
        at_s = self.waveform.cursor_s() + delta_ms / 1000.0
        self.waveform.set_cursor(at_s)
        start_s, stop_s = self.waveform.visible_range()
        if not start_s <= self.waveform.cursor_s() <= stop_s:
            self.waveform.ensure_visible(self.waveform.cursor_s(), self.waveform.cursor_s())

    def _nudge(self, edge: str, steps: int) -> None:
        row = self._need_selection()
        if row is not None:
            self.editor.nudge(row, "start" if edge == "start" else "end", steps * NUDGE_MS)

    def _edit_text_cell(self, column: int) -> None:
        row = self._need_selection()
        if row is not None:
            self.segments_dock.show()
            index = self.segment_table.table_model.index(row, column)
            self.segment_table.setCurrentIndex(index)
            self.segment_table.edit(index)

    def _on_text_edited(self, row: int, field: str, text: str) -> None:
        if field == "label":
            self.editor.set_label(row, text)
        else:
            self.editor.set_note(row, text)

    # --- what the queue and Export all show --------------------------------------------------
    def _refresh_queue_counts(self) -> None:
        """Every finished file's row counts the segments Export all would write now: the
        current values (re-segmented from the cached scores), the edits for the file shown."""
        for item in self.queue.done_items():
            if item.analysis is None or item.item_id == self._current_item:
                continue
            if item.analysis.params == self._params:
                count = len(item.analysis.segments)
            else:
                count = len(item.analysis.resegment(self._params))  # every channel's
            self.queue_panel.show_segment_count(item.item_id, count)

    # --- autosave and restore --------------------------------------------------------------
    def _autosave(self, _index: int = 0) -> None:
        current = self._current
        if current is None:
            return
        try:
            if self.editor.has_edits():
                save_edits(current.path, self.editor.segments())
            else:
                discard_edits(current.path)
        except OSError as exc:  # a full disk must not break editing; say it once in the log
            log.warning("cannot autosave edits of %s: %s", current.path, exc)

    def _offer_saved_edits(self) -> None:
        current = self._current
        if current is None:
            return
        saved = load_edits(current.path)
        if saved is None or saved == self.editor.segments():
            return
        path = current.path

        def restore() -> None:
            if self._current is not None and self._current.path == path:
                self.editor.restore(saved)

        self.notifier.info(
            "Your edits were kept",
            f"You edited the segments of {path.name} earlier "
            f"({counted(len(saved), 'segment')}); they were saved as you went. Restore them? "
            "(Undo takes them away again.)",
            {"Restore my edits": restore, "Discard them": lambda: discard_edits(path)})

    # --- new values while edited -----------------------------------------------------------
    def _ask_keep_or_detect(self, detect_again: Callable[[], None]) -> None:
        """New values would detect the segments again; the person edited them: ask first."""
        if self._edit_prompt_open:
            return
        self._edit_prompt_open = True
        self.statusBar().showMessage("New values not applied to your edited segments: choose "
                                     "Keep my edits or Detect again")

        def keep() -> None:
            self._edit_prompt_open = False
            self.statusBar().clearMessage()

        def again() -> None:
            self._edit_prompt_open = False
            self.statusBar().clearMessage()
            detect_again()

        self.notifier.info(
            "Keep your edits?",
            "You edited these segments. Detecting them again with the new values replaces "
            "your edits (they stay in Undo).",
            {"Keep my edits": keep, "Detect again": again})
