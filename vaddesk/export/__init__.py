"""Exporters: JSON, WAV clips, Audacity labels, RTTM, SRT, WebVTT, CSV (atomic writes, no Qt)."""

from vaddesk.export.atomic import (
    PendingFile,
    atomic_open,
    atomic_path,
    atomic_write_bytes,
    atomic_write_text,
)
from vaddesk.export.condense import (
    CONDENSE_FORMATS,
    CONDENSE_MODES,
    CondensedAudio,
    CondenseOptions,
)
from vaddesk.export.formats import EXTENSIONS, FORMATS
from vaddesk.export.readers import SegmentsFile, SegmentsFileError, read_segments_file
from vaddesk.export.report import (
    SCHEMA_ID,
    SCHEMA_VERSION,
    ModelStamp,
    SegmentationReport,
    report_to_json,
    segments_from_json,
)
from vaddesk.export.writer import (
    ExportResult,
    OutputExistsError,
    OutputPlan,
    existing_before_run,
    export_outputs,
    export_report,
    plan_outputs,
)

__all__ = [
    "CONDENSE_FORMATS",
    "CONDENSE_MODES",
    "EXTENSIONS",
    "FORMATS",
    "SCHEMA_ID",
    "SCHEMA_VERSION",
    "CondenseOptions",
    "CondensedAudio",
    "ExportResult",
    "ModelStamp",
    "OutputExistsError",
    "OutputPlan",
    "PendingFile",
    "SegmentationReport",
    "SegmentsFile",
    "SegmentsFileError",
    "atomic_open",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "existing_before_run",
    "export_outputs",
    "export_report",
    "plan_outputs",
    "read_segments_file",
    "report_to_json",
    "segments_from_json",
]
