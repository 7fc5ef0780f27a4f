"""Choose where and what to export: folder, formats, WAV clips, padding, speech-only audio,
overwrite. Outputs that exist already are found before exporting and the dialog offers to
overwrite them or to choose another folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from vaddesk.export import FORMATS
from vaddesk.export.condense import CONDENSE_FORMATS, CondenseOptions
from vaddesk.gui.export_worker import ExportOptions

ExistingFinder = Callable[[ExportOptions], list[Path]]

FORMAT_LABELS = {
    "json": "JSON (segments + source + model + parameters)",
    "audacity": "Audacity labels (.txt)",
    "rttm": "RTTM",
    "srt": "SRT subtitles",
    "vtt": "WebVTT subtitles",
    "csv": "CSV",
}


def available_formats() -> list[str]:
    return [str(f) for f in FORMATS]


class ExportDialog(QDialog):
    def __init__(self, out_dir: Path, formats: list[str], clips: bool, pad_ms: int,
                 what: str, parent: QWidget | None = None,
                 find_existing: ExistingFinder | None = None) -> None:
        super().__init__(parent)
        self._find_existing = find_existing
        self.setWindowTitle("Export segments")
        self.folder_edit = QLineEdit(str(out_dir))
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(browse)
        self.format_boxes: dict[str, QCheckBox] = {}
        grid = QGridLayout()
        for i, fmt in enumerate(available_formats()):
            box = QCheckBox(FORMAT_LABELS.get(fmt, fmt))
            box.setChecked(fmt in formats)
            self.format_boxes[fmt] = box
            grid.addWidget(box, i // 2, i % 2)
        self.clips_box = QCheckBox("WAV clip of every segment (original rate and channels)")
        self.clips_box.setChecked(clips)
        self.pad_spin = QSpinBox()
        self.pad_spin.setRange(0, 5000)
        self.pad_spin.setSingleStep(10)
        self.pad_spin.setSuffix(" ms")
        self.pad_spin.setValue(pad_ms)
        self.pad_spin.setToolTip("Extra audio kept around each clip")
        self.speech_box = QCheckBox("Speech-only audio: the segments joined into one file "
                                    "(<name>.speech.wav)")
        self.gap_spin = QSpinBox()
        self.gap_spin.setRange(0, 10_000)
        self.gap_spin.setSingleStep(100)
        self.gap_spin.setSuffix(" ms")
        self.gap_spin.setToolTip("Silence between the parts of the speech-only audio")
        self.speech_format = QComboBox()
        self.speech_format.addItems(list(CONDENSE_FORMATS))
        self.mute_box = QCheckBox("Keep the length: silence everything between the segments")
        speech_row = QHBoxLayout()
        speech_row.addWidget(QLabel("gap"))
        speech_row.addWidget(self.gap_spin)
        speech_row.addWidget(QLabel("format"))
        speech_row.addWidget(self.speech_format)
        speech_row.addStretch(1)
        for widget in (self.gap_spin, self.speech_format, self.mute_box):
            widget.setEnabled(False)
            self.speech_box.toggled.connect(widget.setEnabled)
        self.overwrite_box = QCheckBox("Overwrite existing files")
        form = QFormLayout()
        form.addRow("Folder:", folder_row)
        form.addRow("Formats:", grid)
        form.addRow("", self.clips_box)
        form.addRow("Clip padding:", self.pad_spin)
        form.addRow("", self.speech_box)
        form.addRow("", speech_row)
        form.addRow("", self.mute_box)
        form.addRow("", self.overwrite_box)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        self.buttons.accepted.connect(self._check_and_accept)
        self.buttons.rejected.connect(self.reject)
        self.error_label = QLabel()
        self.error_label.setStyleSheet("color: #b00020;")
        self.error_label.hide()
        self.error_label.setWordWrap(True)
        # Shown when outputs exist: the two ways on, without leaving the dialog.
        self.overwrite_button = QPushButton("Overwrite them")
        self.overwrite_button.clicked.connect(self._overwrite_and_accept)
        self.other_folder_button = QPushButton("Choose another folder…")
        self.other_folder_button.clicked.connect(self._browse)
        self.exists_row = QWidget()
        exists_layout = QHBoxLayout(self.exists_row)
        exists_layout.setContentsMargins(0, 0, 0, 0)
        exists_layout.addWidget(self.overwrite_button)
        exists_layout.addWidget(self.other_folder_button)
        exists_layout.addStretch(1)
        self.exists_row.hide()
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Export {what}."))
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.exists_row)
        layout.addWidget(self.buttons)

    def options(self) -> ExportOptions:
        formats = tuple(f for f, box in self.format_boxes.items() if box.isChecked())
        condense = None
        if self.speech_box.isChecked():
            condense = CondenseOptions(self.speech_format.currentText(), self.gap_spin.value(),
                                       "mute" if self.mute_box.isChecked() else "condense")
        return ExportOptions(Path(self.folder_edit.text().strip()).expanduser(), formats,
                             self.clips_box.isChecked(), self.pad_spin.value(),
                             self.overwrite_box.isChecked(), condense)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to folder",
                                                  self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)
            self.exists_row.hide()
            self.error_label.hide()

    def _overwrite_and_accept(self) -> None:
        self.overwrite_box.setChecked(True)
        self._check_and_accept()

    def _check_and_accept(self) -> None:
        options = self.options()
        problem = ""
        if not self.folder_edit.text().strip():
            problem = "Choose a folder to export to."
        elif not options.formats and not options.clips and options.condense is None:
            problem = "Tick at least one format, WAV clips or speech-only audio."
        elif options.out_dir.exists() and not options.out_dir.is_dir():
            problem = f"{options.out_dir} is a file, not a folder."
        existing = [] if problem or options.overwrite or self._find_existing is None \
            else self._find_existing(options)
        if existing:
            names = ", ".join(p.name for p in existing[:4])
            more = f" and {len(existing) - 4} more" if len(existing) > 4 else ""
            problem = (f"{len(existing)} of these files exist already in this folder: "
                       f"{names}{more}. Overwrite them, or choose another folder?")
        self.exists_row.setVisible(bool(existing))
        if problem:
            self.error_label.setText(problem)
            self.error_label.show()
            return
        self.accept()
