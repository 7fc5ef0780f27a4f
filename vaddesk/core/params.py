"""VAD parameters: one frozen dataclass, every field with its unit, range and meaning.

Field names are an interface: they appear in presets, in `--set NAME=VALUE`, in the JSON output
and in the GUI. The first block mirrors the reference (FunASR `model_conf`) one to one; the
second block is vaddesk's own, all off in the `funasr` preset.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

DetectMode = Literal["multiple", "single"]


def _p(default: Any, lo: float | None, hi: float | None, unit: str, help: str,
       step_ms: bool = False) -> Any:
    return field(default=default, metadata={"min": lo, "max": hi, "unit": unit, "help": help,
                                            "step_ms": step_ms})


@dataclass(frozen=True, slots=True)
class VadParams:
    # --- the reference's parameters (FunASR names in brackets) -------------------------------
    max_end_silence_ms: int = _p(800, 160, 20_000, "ms",
        "Silence that ends a segment [max_end_silence_time]", step_ms=True)
    speech_noise_thres: float = _p(0.6, -1.0, 1.0, "",
        "A frame is speech when 1-p0 >= p0**ratio + this [speech_noise_thres]")
    speech_to_noise_ratio: float = _p(1.0, 0.1, 10.0, "",
        "Exponent on the silence probability [speech_2_noise_ratio]")
    window_size_ms: int = _p(200, 20, 2_000, "ms",
        "Smoothing window over frame decisions [window_size_ms]", step_ms=True)
    sil_to_speech_ms: int = _p(150, 10, 2_000, "ms",
        "Speech within the window that opens speech [sil_to_speech_time_thres]", step_ms=True)
    speech_to_sil_ms: int = _p(150, 0, 2_000, "ms",
        "Speech within the window at or below which speech stops [speech_to_sil_time_thres]",
        step_ms=True)
    extend: bool = _p(True, None, None, "",
        "Back-date starts and extend ends by the look-back/look-ahead [do_extend]")
    lookback_start_ms: int = _p(200, 0, 5_000, "ms",
        "Extra look-back before a detected start [lookback_time_start_point]", step_ms=True)
    lookahead_end_ms: int = _p(100, 0, 5_000, "ms",
        "Look-ahead kept after the last speech [lookahead_time_end_point]", step_ms=True)
    max_segment_ms: int = _p(60_000, 500, 3_600_000, "ms",
        "Longest segment; longer speech is cut [max_single_segment_time]", step_ms=True)
    # _p returns a dataclasses.field(); ruff cannot see that through the Literal alias.
    detect_mode: DetectMode = _p("multiple", None, None, "",  # noqa: RUF009
        "'multiple' keeps detecting; 'single' stops after the first segment [detect_mode]")
    max_start_silence_ms: int = _p(3_000, 0, 3_600_000, "ms",
        "In 'single' mode, give up after this much leading silence [max_start_silence_time]",
        step_ms=True)
    decibel_thres_db: float = _p(-100.0, -100.0, 100.0, "dB",
        "Frames quieter than this are silence [decibel_thres]")
    snr_thres_db: float = _p(-100.0, -100.0, 100.0, "dB",
        "Frames with a lower SNR than this are silence [snr_thres]")
    noise_frames_for_snr: int = _p(100, 1, 10_000, "frames",
        "Frames averaged into the noise level [noise_frame_num_used_for_snr]")
    # --- vaddesk's own (all off in the 'funasr' preset) ---------------------------------------
    split_at_pause: bool = _p(False, None, None, "",
        "At max_segment_ms, split at the longest pause before the limit instead of a hard cut")
    dynamic_end_silence: bool = _p(False, None, None, "",
        "End silence shrinks as a segment grows (long turns end on shorter pauses)")
    pad_start_ms: int = _p(0, 0, 5_000, "ms", "Extra audio kept before each segment",
        step_ms=True)
    pad_end_ms: int = _p(0, 0, 5_000, "ms", "Extra audio kept after each segment", step_ms=True)
    min_segment_ms: int = _p(0, 0, 60_000, "ms", "Drop segments shorter than this",
        step_ms=True)
    # --- the boundary stage (vaddesk.core.boundaries; off in 'funasr') ------------------------
    boundary_stage: bool = _p(False, None, None, "",
        "Segments from the frame scores by hysteresis (enter_score, exit_score, "
        "min_silence_ms) instead of the reference's window and end-silence rules")
    enter_score: float = _p(0.6, 0.01, 1.0, "",
        "Boundary stage: a segment opens at a frame whose speech score (1-p0) reaches this")
    exit_score: float = _p(0.35, 0.0, 1.0, "",
        "Boundary stage: frames scoring below this are silence (at most enter_score)")
    min_silence_ms: int = _p(400, 10, 20_000, "ms",
        "Boundary stage: silence that ends a segment; shorter pauses stay inside it",
        step_ms=True)
    score_smooth_ms: int = _p(10, 10, 1_000, "ms",
        "Boundary stage: scores averaged over this centred window first (10 = one frame)",
        step_ms=True)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            meta = f.metadata
            if f.type in ("bool",) or isinstance(f.default, bool):
                if not isinstance(value, bool):
                    raise ValueError(f"{f.name} must be true or false, got {value!r}")
                continue
            if f.name == "detect_mode":
                if value not in ("multiple", "single"):
                    raise ValueError(f"detect_mode must be 'multiple' or 'single', got {value!r}")
                continue
            if isinstance(f.default, int) and (isinstance(value, bool)
                                               or not isinstance(value, int)):
                raise ValueError(f"{f.name} must be a whole number, got {value!r}")
            if isinstance(f.default, float) and (isinstance(value, bool)
                                                 or not isinstance(value, int | float)):
                raise ValueError(f"{f.name} must be a number, got {value!r}")
            if isinstance(value, float) and value != value:  # NaN
                raise ValueError(f"{f.name} must be a number, got NaN")
            lo, hi, unit = meta["min"], meta["max"], meta["unit"]
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                raise ValueError(
                    f"{f.name} = {value} is out of range: allowed {lo} to {hi} {unit}".rstrip())
            if meta.get("step_ms") and value % 10:
                raise ValueError(f"{f.name} = {value} must be a multiple of 10 ms (one frame)")
        if self.sil_to_speech_ms > self.window_size_ms:
            raise ValueError("sil_to_speech_ms must not exceed window_size_ms "
                             f"({self.sil_to_speech_ms} > {self.window_size_ms})")
        if self.speech_to_sil_ms > self.window_size_ms:
            raise ValueError("speech_to_sil_ms must not exceed window_size_ms "
                             f"({self.speech_to_sil_ms} > {self.window_size_ms})")
        if self.boundary_stage and self.detect_mode != "multiple":
            raise ValueError("boundary_stage works with detect_mode 'multiple' only, got "
                             f"detect_mode {self.detect_mode!r}")
        if self.exit_score > self.enter_score:
            raise ValueError("exit_score must not exceed enter_score "
                             f"({self.exit_score} > {self.enter_score})")
        if self.max_end_silence_ms <= self.speech_to_sil_ms:
            raise ValueError("max_end_silence_ms must be greater than speech_to_sil_ms "
                             f"({self.max_end_silence_ms} <= {self.speech_to_sil_ms})")

    # --- conversions -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], base: VadParams | None = None) -> VadParams:
        """Build from a mapping (preset JSON, `--set`); unknown names are an error."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown parameter(s): {', '.join(unknown)}; "
                             f"known: {', '.join(sorted(known))}")
        start = base if base is not None else cls()
        return dataclasses.replace(start, **dict(values))

    def replace(self, **changes: Any) -> VadParams:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, slots=True)
class ParamInfo:
    name: str
    kind: type
    default: Any
    minimum: float | None
    maximum: float | None
    unit: str
    help: str


def param_infos() -> list[ParamInfo]:
    """Every parameter with its type, range, unit and help (for the CLI and GUI)."""
    out = []
    for f in dataclasses.fields(VadParams):
        kind: type = type(f.default)
        out.append(ParamInfo(f.name, kind, f.default, f.metadata["min"], f.metadata["max"],
                             f.metadata["unit"], f.metadata["help"]))
    return out


def parse_assignment(text: str) -> tuple[str, Any]:
    """Parse `NAME=VALUE` (from `--set`) into a typed pair; raises ValueError with the reason."""
    if "=" not in text:
        raise ValueError(f"expected NAME=VALUE, got {text!r}")
    name, raw = (s.strip() for s in text.split("=", 1))
    infos = {i.name: i for i in param_infos()}
    if name not in infos:
        raise ValueError(f"unknown parameter {name!r}; known: {', '.join(sorted(infos))}")
    kind = infos[name].kind
    try:
        value: Any
        if kind is bool:
            low = raw.lower()
            if low not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise ValueError
            value = low in ("1", "true", "yes", "on")
        elif kind is int:
            value = int(raw)
        elif kind is float:
            value = float(raw)
        else:
            value = raw
    except ValueError:
        raise ValueError(f"{name} needs a {kind.__name__} value, got {raw!r}") from None
    return name, value
