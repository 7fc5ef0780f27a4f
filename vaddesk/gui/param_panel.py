"""Sliders + spin boxes for the parameters users tune, with units, ranges and help.

Each row is bound to one VadParams field; ranges and help come from param_infos(), so the GUI
never disagrees with the engine's validation. Sliders span a practical range; the spin box
accepts the parameter's full range. A combination the engine rejects (e.g. end silence not
above speech_to_sil_ms) shows its message under the controls instead of being applied.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QDoubleSpinBox,
    QGridLayout,
    QLabel,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from vaddesk.core.params import VadParams, param_infos


@dataclass(frozen=True, slots=True)
class ControlSpec:
    name: str  # VadParams field
    label: str
    slider_min: float
    slider_max: float
    step: float


CONTROLS: tuple[ControlSpec, ...] = (
    ControlSpec("max_end_silence_ms", "End silence", 160, 5_000, 10),
    ControlSpec("speech_noise_thres", "Speech threshold", -0.5, 1.0, 0.01),
    ControlSpec("max_segment_ms", "Max segment", 1_000, 300_000, 1_000),
    ControlSpec("min_segment_ms", "Min segment", 0, 5_000, 10),
    ControlSpec("pad_start_ms", "Padding before", 0, 2_000, 10),
    ControlSpec("pad_end_ms", "Padding after", 0, 2_000, 10),
    ControlSpec("enter_score", "Enter score", 0.05, 1.0, 0.01),
    ControlSpec("exit_score", "Exit score", 0.0, 1.0, 0.01),
    ControlSpec("min_silence_ms", "Min silence", 10, 3_000, 10),
    ControlSpec("score_smooth_ms", "Score smoothing", 10, 500, 10),
)
TOGGLES: tuple[tuple[str, str], ...] = (
    ("boundary_stage", "Boundaries from the frame scores (boundary stage)"),
    ("split_at_pause", "Split long segments at a pause"),
    ("dynamic_end_silence", "Shorter end silence in long turns"),
)
STAGE_ONLY: frozenset[str] = frozenset({"enter_score", "exit_score", "min_silence_ms",
                                        "score_smooth_ms"})
"""Controls that act only with the boundary stage on ..."""
REFERENCE_ONLY: frozenset[str] = frozenset({"max_end_silence_ms", "speech_noise_thres",
                                            "split_at_pause", "dynamic_end_silence"})
"""... and controls it ignores: greyed out so a slider never moves without an effect."""


class _Row:
    """One slider + spin box pair kept in step; value() in the parameter's own unit."""

    def __init__(self, spec: ControlSpec, info_min: float, info_max: float, unit: str,
                 is_float: bool) -> None:
        self.spec = spec
        self.is_float = is_float
        self.scale = 1 / spec.step  # slider works in steps
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(round(spec.slider_min * self.scale),
                             round(spec.slider_max * self.scale))
        self.spin: QSpinBox | QDoubleSpinBox
        if is_float:
            spin = QDoubleSpinBox()
            spin.setDecimals(2)
            spin.setSingleStep(spec.step)
            spin.setRange(info_min, info_max)
            self.spin = spin
        else:
            ispin = QSpinBox()
            ispin.setSingleStep(int(spec.step))
            ispin.setRange(int(info_min), int(info_max))
            # Values snap to whole 10 ms frames, as the engine requires.
            ispin.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToNearestValue)
            self.spin = ispin
        if unit:
            self.spin.setSuffix(f" {unit}")
        self.spin.setKeyboardTracking(False)
        self.spin.setMinimumWidth(100)

    def value(self):
        v = self.spin.value()
        if self.is_float:
            return round(float(v), 4)
        return int(round(int(v) / 10.0) * 10)

    def set_value(self, value) -> None:
        self.spin.blockSignals(True)
        self.slider.blockSignals(True)
        self.spin.setValue(value)
        self.slider.setValue(round(value * self.scale))
        self.spin.blockSignals(False)
        self.slider.blockSignals(False)


class ParamPanel(QWidget):
    params_edited = Signal(object)  # VadParams, after a valid user change

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._params = VadParams()
        infos = {i.name: i for i in param_infos()}
        grid = QGridLayout()
        grid.setColumnStretch(1, 1)
        self._rows: dict[str, _Row] = {}
        self._labels: dict[str, QLabel] = {}
        for r, spec in enumerate(CONTROLS):
            info = infos[spec.name]
            assert info.minimum is not None and info.maximum is not None
            row = _Row(spec, float(info.minimum), float(info.maximum), info.unit,
                       info.kind is float)
            unit = f" {info.unit}" if info.unit else ""
            tip = f"{info.help}\nRange {info.minimum:g} to {info.maximum:g}{unit}."
            label = QLabel(spec.label)
            for w in (label, row.slider, row.spin):
                w.setToolTip(tip)
            label.setBuddy(row.spin)
            self._labels[spec.name] = label
            grid.addWidget(label, r, 0)
            grid.addWidget(row.slider, r, 1)
            grid.addWidget(row.spin, r, 2)
            row.slider.valueChanged.connect(lambda v, row=row: self._on_slider(row, v))
            row.spin.valueChanged.connect(lambda _v, row=row: self._on_spin(row))
            self._rows[spec.name] = row
        self._toggles: dict[str, QCheckBox] = {}
        for name, text in TOGGLES:
            box = QCheckBox(text)
            box.setToolTip(infos[name].help)
            box.toggled.connect(self._emit)
            self._toggles[name] = box
        self._error = QLabel()
        self._error.setWordWrap(True)
        self._error.setStyleSheet("color: #b00020;")
        self._error.hide()
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        for box in self._toggles.values():
            layout.addWidget(box)
        layout.addWidget(self._error)
        layout.addStretch(1)
        self.set_params(self._params)

    def row(self, name: str) -> _Row:
        return self._rows[name]

    def params(self) -> VadParams:
        return self._params

    def set_params(self, params: VadParams) -> None:
        """Show these values (no params_edited: this is not a user change)."""
        self._params = params
        for name, row in self._rows.items():
            row.set_value(getattr(params, name))
        for name, box in self._toggles.items():
            box.blockSignals(True)
            box.setChecked(bool(getattr(params, name)))
            box.blockSignals(False)
        self._error.hide()
        self._update_enabled()

    def _update_enabled(self) -> None:
        stage = self._toggles["boundary_stage"].isChecked()
        for name, row in self._rows.items():
            on = not ((name in STAGE_ONLY and not stage) or (name in REFERENCE_ONLY and stage))
            for widget in (row.slider, row.spin, self._labels[name]):
                widget.setEnabled(on)
        for name, box in self._toggles.items():
            box.setEnabled(not (name in REFERENCE_ONLY and stage))

    def set_value(self, name: str, value) -> None:
        """Change one value as if the user had typed it (used by tests and shortcuts)."""
        self._rows[name].spin.setValue(value)

    def _on_slider(self, row: _Row, slider_value: int) -> None:
        row.spin.blockSignals(True)
        value = slider_value / row.scale
        if isinstance(row.spin, QSpinBox):
            row.spin.setValue(round(value))
        else:
            row.spin.setValue(value)
        row.spin.blockSignals(False)
        self._emit()

    def _on_spin(self, row: _Row) -> None:
        row.slider.blockSignals(True)
        row.slider.setValue(round(row.value() * row.scale))
        row.slider.blockSignals(False)
        self._emit()

    def _emit(self) -> None:
        self._update_enabled()
        changes = {name: row.value() for name, row in self._rows.items()}
        changes.update({name: box.isChecked() for name, box in self._toggles.items()})
        try:
            params = self._params.replace(**changes)
        except ValueError as exc:
            self._error.setText(str(exc))
            self._error.show()
            return
        self._error.hide()
        if params != self._params:
            self._params = params
            self.params_edited.emit(params)
