"""Text renderings of segments: JSON, Audacity labels, RTTM, SRT, WebVTT, CSV.

Times are integer milliseconds everywhere inside vaddesk; these writers format them with
integer arithmetic, so each file states every boundary to the exact millisecond.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from typing import Any, Final

from vaddesk.core.types import Segment

FORMATS: Final[tuple[str, ...]] = ("json", "audacity", "rttm", "srt", "vtt", "csv")
EXTENSIONS: Final = {
    "json": ".json",
    "audacity": ".labels.txt",  # Audacity: File > Import > Labels... (tab-separated seconds)
    "rttm": ".rttm",
    "srt": ".srt",
    "vtt": ".vtt",
    "csv": ".csv",
}
LABEL: Final = "speech"


def seconds(ms: int) -> str:
    """1234 -> '1.234' (exact; no float rounding)."""
    sign = "-" if ms < 0 else ""
    ms = abs(ms)
    return f"{sign}{ms // 1000}.{ms % 1000:03d}"


def clock(ms: int, sep: str) -> str:
    """1234567 -> '00:20:34,567' (SRT, sep=',') or '00:20:34.567' (WebVTT, sep='.')."""
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{sep}{millis:03d}"


def render_json(doc: dict[str, Any]) -> str:
    try:
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    except UnicodeEncodeError:  # a path with undecodable bytes: keep it as \u escapes
        return json.dumps(doc, indent=2, ensure_ascii=True) + "\n"


def _label(segment: Segment) -> str:
    """The text naming a segment's voice: the speaker when known, else "speech"."""
    return segment.speaker if segment.speaker else LABEL


def _one_line(text: str) -> str:
    return " ".join(text.split())  # tabs and line breaks would break the formats


def render_audacity(segments: Sequence[Segment]) -> str:
    """Audacity label track: `start<TAB>end<TAB>label` in seconds, one line per segment.

    The label is the segment's own label when a person wrote one, else `speech N`, or
    `<speaker> N` when segments carry a speaker (overlapping labels are fine: Audacity stacks
    them). The readers map `speech N` back to no label, so files round-trip.
    """
    return "".join(f"{seconds(s.start_ms)}\t{seconds(s.end_ms)}\t"
                   f"{_one_line(s.label) or f'{_label(s)} {i}'}\n"
                   for i, s in enumerate(segments, 1))


def rttm_uri(stem: str) -> str:
    """RTTM fields are space-separated: the file id may hold no whitespace."""
    return re.sub(r"\s+", "_", stem.strip()) or "audio"


def render_rttm(segments: Sequence[Segment], uri: str) -> str:
    """NIST RTTM: `SPEAKER <uri> <chan> <start> <dur> <NA> <NA> <name> <NA> <NA>` (seconds).

    <name> is the speaker (whitespace -> `_`) or `speech`; <chan> is the 1-based channel the
    segment was found on (1 for a mono or mixed analysis).
    """
    uri = rttm_uri(uri)
    return "".join(f"SPEAKER {uri} {1 if s.channel is None else s.channel + 1} "
                   f"{seconds(s.start_ms)} {seconds(s.duration_ms)} "
                   f"<NA> <NA> {rttm_uri(_label(s))} <NA> <NA>\n" for s in segments)


def _cue_text(segment: Segment, index: int) -> str:
    # A person's label first; a speaker's name alone is what a subtitle shows; "speech N"
    # keeps v1's numbered cues.
    return _one_line(segment.label) or segment.speaker or f"{LABEL} {index}"


def render_srt(segments: Sequence[Segment]) -> str:
    return "".join(f"{i}\n{clock(s.start_ms, ',')} --> {clock(s.end_ms, ',')}\n"
                   f"{_cue_text(s, i)}\n\n" for i, s in enumerate(segments, 1))


def render_vtt(segments: Sequence[Segment]) -> str:
    cues = "".join(f"{i}\n{clock(s.start_ms, '.')} --> {clock(s.end_ms, '.')}\n"
                   f"{_cue_text(s, i)}\n\n" for i, s in enumerate(segments, 1))
    return "WEBVTT\n\n" + cues


CSV_COLUMNS: Final = ("index", "start_ms", "end_ms", "duration_ms", "start_s", "end_s", "clip",
                      "channel", "speaker", "origin", "label", "note")


def render_csv(segments: Sequence[Segment], clip_names: Sequence[str] | None = None) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for i, s in enumerate(segments, 1):
        clip = clip_names[i - 1] if clip_names is not None else ""
        writer.writerow([i, s.start_ms, s.end_ms, s.duration_ms, seconds(s.start_ms),
                         seconds(s.end_ms), clip, "" if s.channel is None else s.channel,
                         s.speaker or "", s.origin, s.label, s.note])
    return buf.getvalue()


def check_formats(formats: Sequence[str]) -> list[str]:
    """Validate and de-duplicate format names, keeping FORMATS order; ValueError if unknown."""
    wanted = [f.strip().lower() for f in formats if f.strip()]
    unknown = sorted(set(wanted) - set(FORMATS))
    if unknown:
        raise ValueError(f"unknown format(s): {', '.join(unknown)}; "
                         f"choose from {', '.join(FORMATS)}")
    return [f for f in FORMATS if f in wanted]
