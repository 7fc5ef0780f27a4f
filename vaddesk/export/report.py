"""One input's segmentation result and its JSON document (schema "vaddesk.segments" v1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from vaddesk import __version__
from vaddesk.audio.decode import AudioInfo
from vaddesk.core.params import VadParams
from vaddesk.core.types import Segment

if TYPE_CHECKING:  # not at run time: exporting must not load onnxruntime
    from vaddesk.core.model import ModelInfo  # re-exported by vaddesk.core.engine

SCHEMA_ID: Final = "vaddesk.segments"
SCHEMA_VERSION: Final = 1


@dataclass(frozen=True, slots=True)
class SegmentationReport:
    source: AudioInfo
    model: ModelInfo
    preset: str
    params: VadParams
    segments: list[Segment]
    channel: int | None  # 0-based channel analysed; None = all channels downmixed


def report_to_json(report: SegmentationReport, clip_names: list[str] | None = None
                   ) -> dict[str, Any]:
    """The JSON document (see the README for an example). Times are integer milliseconds."""
    if clip_names is not None and len(clip_names) != len(report.segments):
        raise ValueError(f"{len(clip_names)} clip names for {len(report.segments)} segments")
    src = report.source
    segments = []
    for i, seg in enumerate(report.segments):
        item: dict[str, Any] = {"index": i + 1, "start_ms": seg.start_ms, "end_ms": seg.end_ms,
                                "duration_ms": seg.duration_ms}
        if clip_names is not None:
            item["clip"] = clip_names[i]
        segments.append(item)
    return {
        "schema": SCHEMA_ID,
        "schema_version": SCHEMA_VERSION,
        "generator": f"vaddesk {__version__}",
        "source": {
            "path": str(src.path.absolute()),
            "duration_ms": src.duration_ms,
            "sample_rate": src.sample_rate,
            "channels": src.channels,
            "format": src.format,
            "codec": src.codec,
            "channel": report.channel,
        },
        "model": {"name": report.model.name, "precision": report.model.precision,
                  "sha256": report.model.sha256},
        "preset": report.preset,
        "parameters": report.params.to_dict(),
        "speech_ms": sum(s.duration_ms for s in report.segments),
        "segments": segments,
    }


def segments_from_json(doc: dict[str, Any]) -> list[Segment]:
    """Segments of a JSON document written by report_to_json (checks schema and version)."""
    if doc.get("schema") != SCHEMA_ID:
        raise ValueError(f"not a {SCHEMA_ID} document (schema={doc.get('schema')!r})")
    if doc.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(f"schema_version {doc.get('schema_version')!r} is not supported "
                         f"(this vaddesk reads {SCHEMA_VERSION})")
    return [Segment(int(s["start_ms"]), int(s["end_ms"])) for s in doc["segments"]]
