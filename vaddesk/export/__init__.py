"""Exporters: JSON, WAV clips, Audacity labels, RTTM, SRT, WebVTT, CSV (atomic writes, no Qt)."""

from vaddesk.export.atomic import (
    PendingFile,
    atomic_open,
    atomic_path,
    atomic_write_bytes,
    atomic_write_text,
)
from vaddesk.export.formats import EXTENSIONS, FORMATS
from vaddesk.export.report import (
    SCHEMA_ID,
    SCHEMA_VERSION,
    SegmentationReport,
    report_to_json,
    segments_from_json,
)
from vaddesk.export.writer import (
    OutputExistsError,
    OutputPlan,
    existing_before_run,
    export_report,
    plan_outputs,
)

__all__ = [
    "EXTENSIONS",
    "FORMATS",
    "SCHEMA_ID",
    "SCHEMA_VERSION",
    "OutputExistsError",
    "OutputPlan",
    "PendingFile",
    "SegmentationReport",
    "atomic_open",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "existing_before_run",
    "export_report",
    "plan_outputs",
    "report_to_json",
    "segments_from_json",
]
