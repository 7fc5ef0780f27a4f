"""Choose where and what to export: folder, formats, WAV clips, padding, overwrite."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
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

from vaddesk.gui.export_worker import ExportOptions

FORMAT_LABELS = {
    "json": "JSON (segments + source + model + parameters)",
    "audacity": "Audacity labels (.txt)",
    "rttm": "RTTM",
    "srt": "SRT subtitles",
    "vtt": "WebVTT subtitles",
    "csv": "CSV",
}


def available_formats() -> list[str]:
    from vaddesk.export import FORMATS

    return [str(f) for f in FORMATS]


class ExportDialog(QDialog):
    def __init__(self, out_dir: Path, formats: list[str], clips: bool, pad_ms: int,
                 what: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
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
        self.overwrite_box = QCheckBox("Overwrite existing files")
        form = QFormLayout()
        form.addRow("Folder:", folder_row)
        form.addRow("Formats:", grid)
        form.addRow("", self.clips_box)
        form.addRow("Clip padding:", self.pad_spin)
        form.addRow("", self.overwrite_box)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        self.buttons.accepted.connect(self._check_and_accept)
        self.buttons.rejected.connect(self.reject)
        self.error_label = QLabel()
        self.error_label.setStyleSheet("color: #b00020;")
        self.error_label.hide()
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Export {what}."))
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)

    def options(self) -> ExportOptions:
        formats = tuple(f for f, box in self.format_boxes.items() if box.isChecked())
        return ExportOptions(Path(self.folder_edit.text().strip()).expanduser(), formats,
                             self.clips_box.isChecked(), self.pad_spin.value(),
                             self.overwrite_box.isChecked())

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to folder",
                                                  self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)

    def _check_and_accept(self) -> None:
        options = self.options()
        problem = ""
        if not self.folder_edit.text().strip():
            problem = "Choose a folder to export to."
        elif not options.formats and not options.clips:
            problem = "Tick at least one format or WAV clips."
        elif options.out_dir.exists() and not options.out_dir.is_dir():
            problem = f"{options.out_dir} is a file, not a folder."
        if problem:
            self.error_label.setText(problem)
            self.error_label.show()
            return
        self.accept()
