"""Segments read back from files: vaddesk JSON (schema 1 and later), Audacity labels, RTTM,
SRT, WebVTT and CSV (ours, or any with start/end columns).

Times are parsed as exact decimal fractions of a second, never floats: a label Audacity wrote
as 1.234567 s stays 1.234567 s, so a clip cut from it starts at sample floor(1.234567 * rate)
exactly. Each segment also gets the nearest whole millisecond for the text formats and views.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Final

from vaddesk.core.params import VadParams
from vaddesk.core.types import SEGMENT_ORIGINS, ChannelInfo, Segment, SegmentOrigin
from vaddesk.export.formats import LABEL
from vaddesk.export.report import (
    SCHEMA_ID,
    ModelStamp,
    segments_from_json,
    single_channel_info,
)

READABLE: Final = ("vaddesk JSON", "Audacity labels", "RTTM", "SRT", "WebVTT", "CSV")
_DEFAULT_LABEL = re.compile(rf"^{LABEL} \d+$")
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_AUDACITY_LINE = re.compile(rf"^({_NUMBER})\t({_NUMBER})(?:\t(.*))?$")
_CLOCK = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2})[.,](\d{1,3})$")
_CUE = re.compile(r"^(\S+)\s+-->\s+(\S+)")


class SegmentsFileError(ValueError):
    """The file holds no segments this vaddesk can read; the message names the formats read."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"cannot read segments from {path}: {problem} (segments are read from "
                         f"{', '.join(READABLE[:-1])} or {READABLE[-1]} files)")


@dataclass(frozen=True, slots=True)
class JsonHeader:
    """What a vaddesk JSON says besides its segments, kept when exporting from it."""

    preset: str | None
    preset_modified: bool | None
    params: VadParams | None
    model: ModelStamp | None
    channel: int | None
    channels: tuple[ChannelInfo, ...] = ()  # its `channels` list (speakers per channel)


@dataclass(frozen=True, slots=True)
class TimedSegment:
    """A segment as read: exact times in seconds plus its label and note."""

    start_s: Fraction
    end_s: Fraction
    segment: Segment  # the same span in whole milliseconds (nearest), with origin/label/note


@dataclass(frozen=True, slots=True)
class SegmentsFile:
    path: Path
    format: str  # one of vaddesk.export.FORMATS
    items: tuple[TimedSegment, ...]
    notes: tuple[str, ...]  # what was changed while reading (sorted ...) and why
    header: JsonHeader | None  # only for vaddesk JSON

    @property
    def segments(self) -> list[Segment]:
        return [t.segment for t in self.items]

    @property
    def times_s(self) -> tuple[tuple[Fraction, Fraction], ...]:
        return tuple((t.start_s, t.end_s) for t in self.items)

    def channels(self, num_channels: int) -> tuple[ChannelInfo, ...]:
        """Who speaks where: a vaddesk JSON's `channels` list; else, when the segments name
        speakers (RTTM, CSV, a JSON without the list), each (channel, speaker) they name, in
        order of first appearance; else () (one unnamed voice)."""
        if self.header is not None and self.header.channels:
            return self.header.channels
        named: dict[tuple[int | None, str], ChannelInfo] = {}
        for seg in self.segments:
            if seg.speaker and (seg.channel, seg.speaker) not in named:
                named[(seg.channel, seg.speaker)] = single_channel_info(
                    seg.channel, num_channels, seg.speaker)
        return tuple(named.values())


def _ms(value: Fraction) -> int:
    return round(value * 1000)


def _timed(start_s: Fraction, end_s: Fraction, label: str = "", note: str = "",
           origin: str = "detected", channel: int | None = None,
           speaker: str | None = None) -> TimedSegment:
    label = "" if _DEFAULT_LABEL.match(label.strip()) else label.strip()
    known: SegmentOrigin = "detected"
    for option in SEGMENT_ORIGINS:
        if option == origin.strip().lower():
            known = option
    seg = Segment(_ms(start_s), _ms(end_s), channel, speaker or None, origin=known, label=label,
                  note=note)
    return TimedSegment(start_s, end_s, seg)


def _seconds(text: str) -> Fraction:
    return Fraction(text.strip())  # Fraction("1.234567") is exact; "1e-3" works too


def _clock(text: str) -> Fraction:
    m = _CLOCK.match(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not a time like 00:01:02,345")
    hours, minutes, secs, frac = m.groups()
    whole = (int(hours or 0) * 60 + int(minutes)) * 60 + int(secs)
    return whole + Fraction(int(frac), 10 ** len(frac))


def _read_json(text: str) -> tuple[list[TimedSegment], JsonHeader]:
    doc = json.loads(text)
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA_ID:
        raise ValueError(f"a JSON file, but not a {SCHEMA_ID} document")
    items = [TimedSegment(Fraction(s.start_ms, 1000), Fraction(s.end_ms, 1000), s)
             for s in segments_from_json(doc)]
    model = doc.get("model")
    params = doc.get("parameters")
    source = doc.get("source") or {}
    modified = doc.get("modified")
    header = JsonHeader(
        preset=doc.get("preset") if isinstance(doc.get("preset"), str) else None,
        preset_modified=modified if isinstance(modified, bool) else None,
        params=VadParams.from_mapping(params) if isinstance(params, dict) else None,
        model=(ModelStamp(str(model["name"]), str(model["precision"]), str(model["sha256"]))
               if isinstance(model, dict) else None),
        channel=source.get("channel") if isinstance(source.get("channel"), int) else None,
        channels=_channels(doc.get("channels")))
    return items, header


def _channels(listed: object) -> tuple[ChannelInfo, ...]:
    """A JSON's `channels` list (version 2); () when absent or not of that shape."""
    if not isinstance(listed, list):
        return ()
    found = []
    for entry in listed:
        if not isinstance(entry, dict):
            return ()
        index, speaker, source = entry.get("index"), entry.get("speaker"), entry.get("source")
        if not (index is None or isinstance(index, int)) or \
                not (speaker is None or isinstance(speaker, str)) or not isinstance(source, str):
            return ()
        found.append(ChannelInfo(index, speaker, source))
    return tuple(found)


def _read_audacity(text: str) -> list[TimedSegment]:
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("\t"):
            continue  # blank, or the frequency line under a spectral label
        m = _AUDACITY_LINE.match(line)
        if not m:
            raise ValueError(f"line {n} is not `start<TAB>end<TAB>label`: {line[:60]!r}")
        out.append(_timed(_seconds(m[1]), _seconds(m[2]), m[3] or ""))
    return out


def _read_rttm(text: str) -> list[TimedSegment]:
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields or fields[0].startswith(";"):
            continue
        if fields[0] != "SPEAKER":
            continue  # other RTTM record types (SPKR-INFO ...) hold no turns
        if len(fields) < 8:
            raise ValueError(f"line {n} has {len(fields)} fields; RTTM has 10")
        start, duration = _seconds(fields[3]), _seconds(fields[4])
        speaker = None if fields[7] in (LABEL, "<NA>") else fields[7]
        out.append(_timed(start, start + duration, speaker=speaker))
    return out


def _read_cues(text: str) -> list[TimedSegment]:
    """SRT and WebVTT: blocks separated by blank lines, a `a --> b` line, then the text."""
    out = []
    blocks = re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n").replace("\r", "\n"))
    for block in blocks:
        lines = [ln for ln in block.split("\n") if ln.strip()]
        timing = next((i for i, ln in enumerate(lines) if "-->" in ln), None)
        if timing is None:
            continue  # the WEBVTT header, NOTE and STYLE blocks
        m = _CUE.match(lines[timing].strip())
        if not m:
            raise ValueError(f"bad cue timing {lines[timing]!r}")
        out.append(_timed(_clock(m[1]), _clock(m[2]), " ".join(lines[timing + 1:])))
    return out


def _read_csv(text: str) -> list[TimedSegment]:
    rows = list(csv.DictReader(io.StringIO(text)))
    out = []
    for n, row in enumerate(rows, 2):
        cells = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        if cells.get("start_ms") and cells.get("end_ms"):
            start, end = Fraction(cells["start_ms"]) / 1000, Fraction(cells["end_ms"]) / 1000
        elif cells.get("start_s") and cells.get("end_s"):
            start, end = _seconds(cells["start_s"]), _seconds(cells["end_s"])
        elif cells.get("start") and cells.get("end"):
            start, end = _seconds(cells["start"]), _seconds(cells["end"])
        else:
            raise ValueError(f"row {n} has no start_ms/end_ms, start_s/end_s or start/end")
        channel = cells.get("channel", "")
        out.append(_timed(start, end, cells.get("label", ""), cells.get("note", ""),
                          cells.get("origin", "detected"), int(channel) if channel else None,
                          cells.get("speaker") or None))
    return out


def _sniff(text: str, suffix: str) -> str:
    head = text.lstrip()
    first = head.split("\n", 1)[0]
    if head.startswith("{"):
        return "json"
    if head.startswith("WEBVTT"):
        return "vtt"
    if first.startswith("SPEAKER ") or suffix == ".rttm":
        return "rttm"
    if "-->" in head[:400]:
        return "srt"
    if "," in first and re.search(r"\bstart", first, re.IGNORECASE):
        return "csv"
    if _AUDACITY_LINE.match(first.rstrip("\r")):
        return "audacity"
    return ""


_READERS: Final[dict[str, Callable[[str], list[TimedSegment]]]] = {
    "audacity": _read_audacity, "rttm": _read_rttm, "srt": _read_cues, "vtt": _read_cues,
    "csv": _read_csv}


def read_segments_file(path: Path) -> SegmentsFile:
    """Read segments from any supported file (format from its content); sorted by time.

    Raises SegmentsFileError for an unreadable, unknown or empty file.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise SegmentsFileError(path, exc.strerror or str(exc)) from None
    except UnicodeDecodeError:
        raise SegmentsFileError(path, "it is not a text file") from None
    fmt = _sniff(text, path.suffix.lower())
    if not fmt:
        raise SegmentsFileError(path, "its content is none of these formats" if text.strip()
                                else "the file is empty")
    header = None
    try:
        if fmt == "json":
            items, header = _read_json(text)
        else:
            items = _READERS[fmt](text)
        if not items:
            raise ValueError("it holds no segments")
        items, notes = _tidy(items)
    except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
        raise SegmentsFileError(path, f"read as {fmt}: {exc}") from None
    return SegmentsFile(path, fmt, tuple(items), tuple(notes), header)


def _tidy(items: list[TimedSegment]) -> tuple[list[TimedSegment], list[str]]:
    notes = []
    bad = [n for n, t in enumerate(items, 1) if t.end_s < t.start_s]
    if bad:
        raise ValueError(f"segment(s) {', '.join(map(str, bad[:10]))} end before they start")
    ordered = sorted(items, key=lambda t: (t.start_s, t.end_s))
    if ordered != items:
        notes.append("the segments were not in time order: sorted")
    overlaps = [n for n in range(1, len(ordered))
                if ordered[n].start_s < ordered[n - 1].end_s]
    if overlaps:
        shown = ", ".join(f"{n} and {n + 1}" for n in overlaps[:5])
        more = f" and {len(overlaps) - 5} more" if len(overlaps) > 5 else ""
        notes.append(f"segments {shown}{more} overlap: kept as they are (merged for "
                     "speech-only audio)")
    return ordered, notes


def clamp_to_duration(file: SegmentsFile, duration_s: Fraction
                      ) -> tuple[SegmentsFile, list[str]]:
    """Segments past the end of the audio are clamped to it (or dropped when they start
    after it); the warnings name each one by its number and times."""
    kept: list[TimedSegment] = []
    warnings = []
    limit_ms = _ms(duration_s)
    for n, item in enumerate(file.items, 1):
        name = _describe(n, item)
        if item.start_s >= duration_s and item.end_s > item.start_s:
            warnings.append(f"{name} starts after the end of the audio ({_fmt(duration_s)} s): "
                            "dropped")
            continue
        if item.end_s > duration_s:
            warnings.append(f"{name} ends after the end of the audio ({_fmt(duration_s)} s): "
                            "clamped to it")
            seg = replace(item.segment, end_ms=min(item.segment.end_ms, limit_ms))
            item = TimedSegment(item.start_s, duration_s, seg)
        kept.append(item)
    return replace(file, items=tuple(kept)), warnings


def _fmt(value: Fraction) -> str:
    return f"{float(value):.3f}"


def _describe(n: int, item: TimedSegment) -> str:
    label = f" “{item.segment.label}”" if item.segment.label else ""
    return f"segment {n}{label} ({_fmt(item.start_s)}–{_fmt(item.end_s)} s)"

