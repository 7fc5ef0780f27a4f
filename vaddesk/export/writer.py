"""Write every requested output of one report: clips first, then text formats, JSON last.

JSON comes last because it names the clips: a JSON file present means its outputs are
complete. Nothing is overwritten unless asked; every file is written atomically.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from vaddesk.audio.decode import open_audio
from vaddesk.core.types import Segment
from vaddesk.export import formats as fmt
from vaddesk.export.atomic import atomic_write_text
from vaddesk.export.clips import clip_spans, write_clips
from vaddesk.export.condense import (
    CondensedAudio,
    CondenseOptions,
    condensed_name,
    write_condensed,
)
from vaddesk.export.names import clip_name, clip_pattern, safe_stem
from vaddesk.export.report import SegmentationReport, report_to_json

log = logging.getLogger(__name__)


class OutputExistsError(FileExistsError):
    """Outputs are already there. ``paths`` lists them and the message names the first five;
    what to do about it is for each front end to say in its own words (CLI flags, GUI boxes)."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = list(paths)
        shown = ", ".join(str(p) for p in paths[:5])
        more = f" and {len(paths) - 5} more" if len(paths) > 5 else ""
        super().__init__(f"output already exists: {shown}{more}")


@dataclass(frozen=True, slots=True)
class OutputPlan:
    """Where each output of one input goes."""

    files: dict[str, Path]          # format -> path
    clips_dir: Path | None
    clip_paths: list[Path]
    condensed_path: Path | None = None  # the speech-only audio

    def all_paths(self) -> list[Path]:
        speech = [self.condensed_path] if self.condensed_path is not None else []
        return [*self.files.values(), *self.clip_paths, *speech]


@dataclass(frozen=True, slots=True)
class ExportResult:
    written: list[Path]
    notes: list[str]  # what was not written and why (e.g. no speech-only file: no segments)
    condensed: CondensedAudio | None


def plan_outputs(out_dir: Path, stem: str, formats: Iterable[str], clips: bool = False,
                 json_path: Path | None = None, condense: CondenseOptions | None = None,
                 segments: Sequence[Segment] | None = None) -> OutputPlan:
    """Where every output of one input goes: ``<out_dir>/<stem><ext>`` per format (the JSON at
    ``json_path`` when given, written then whether or not "json" is in ``formats``), clips in
    ``<stem>_clips/`` named after ``segments``, the speech-only audio when ``condense``.

    Before segmenting, ``segments`` is None: no clip is named yet, and
    :func:`existing_outputs` counts any clip of this stem in the clips folder.
    """
    stem = safe_stem(stem)
    formats = list(formats)
    if json_path is not None and "json" not in formats:
        formats.append("json")
    chosen = fmt.check_formats(formats)
    files = {f: out_dir / f"{stem}{fmt.EXTENSIONS[f]}" for f in chosen}
    if json_path is not None:
        files["json"] = Path(json_path)
    clips_dir = out_dir / f"{stem}_clips" if clips else None
    clip_paths = ([clips_dir / clip_name(stem, i, s, len(segments))
                   for i, s in enumerate(segments, 1)] if clips_dir and segments else [])
    speech = out_dir / condensed_name(stem, condense) if condense is not None else None
    return OutputPlan(files, clips_dir, clip_paths, speech)


def existing_outputs(plan: OutputPlan, stem: str) -> list[Path]:
    """Planned paths that exist, plus any earlier clips of this stem in the clips folder."""
    found = [p for p in plan.all_paths() if p.exists()]
    if plan.clips_dir is not None and plan.clips_dir.is_dir():
        pattern = clip_pattern(safe_stem(stem))
        found += sorted(p for p in plan.clips_dir.iterdir()
                        if pattern.match(p.name) and p not in found)
    return found


def export_report(report: SegmentationReport, out_dir: Path, stem: str, formats: Iterable[str],
                  clips: bool = False, pad_ms: int = 0, overwrite: bool = False,
                  json_path: Path | None = None, clips_all_channels: bool = False
                  ) -> list[Path]:
    """Write the requested formats (and clips) for one input; returns the written paths.

    A segment found on one channel is clipped from that channel only (mono) unless
    `clips_all_channels`.

    `json_path` sends the JSON to a chosen file instead of `<out_dir>/<stem>.json` (it is
    written when given, whether or not "json" is in `formats`). Raises OutputExistsError
    before writing anything when an output exists and `overwrite` is false.
    """
    return export_outputs(report, out_dir, stem, formats, clips, pad_ms, overwrite, json_path,
                          clips_all_channels).written


def export_outputs(report: SegmentationReport, out_dir: Path, stem: str,
                   formats: Iterable[str], clips: bool = False, pad_ms: int = 0,
                   overwrite: bool = False, json_path: Path | None = None,
                   clips_all_channels: bool = False,
                   condense: CondenseOptions | None = None) -> ExportResult:
    """export_report, plus the speech-only audio (`condense`) and notes on what was skipped.

    Order: clips, speech-only audio, text formats, JSON last (it names the other files).
    The speech-only audio holds every channel of the source (segments of all channels merged).
    """
    notes: list[str] = []
    condensed: CondensedAudio | None = None
    if condense is not None and not any(s.duration_ms > 0 for s in report.segments):
        notes.append("no speech-only audio: there are no segments to keep")
        condense = None
    plan = plan_outputs(Path(out_dir), stem, formats, clips, json_path, condense,
                        report.segments)
    existing = existing_outputs(plan, stem)
    if existing and not overwrite:
        raise OutputExistsError(existing)
    for path in plan.files.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    clip_names: list[str] | None = None
    if plan.clips_dir is not None:
        plan.clips_dir.mkdir(parents=True, exist_ok=True)
        with open_audio(report.source.path) as reader:
            written += write_clips(reader, report.segments, plan.clip_paths, pad_ms,
                                   clips_all_channels, report.times_s)
        clip_names = [p.name for p in plan.clip_paths]
        _remove_stale_clips(plan, stem)
    if condense is not None and plan.condensed_path is not None:
        plan.condensed_path.parent.mkdir(parents=True, exist_ok=True)
        with open_audio(report.source.path) as reader:
            info = reader.info
            spans = clip_spans(report.segments, info.sample_rate, max(info.num_frames, 2**62),
                               0, report.times_s)
            try:
                condensed = write_condensed(reader, spans, plan.condensed_path, condense)
                written.append(plan.condensed_path)
            except ValueError as exc:  # every segment lies past the end of the audio
                notes.append(f"no speech-only audio: {exc}")
    segs = report.segments
    texts = {
        "audacity": lambda: fmt.render_audacity(segs),
        "rttm": lambda: fmt.render_rttm(segs, safe_stem(stem)),
        "srt": lambda: fmt.render_srt(segs),
        "vtt": lambda: fmt.render_vtt(segs),
        "csv": lambda: fmt.render_csv(segs, clip_names),
        "json": lambda: fmt.render_json(report_to_json(report, clip_names, condensed)),
    }
    for name in [f for f in plan.files if f != "json"] + (["json"] if "json" in plan.files
                                                          else []):
        written.append(atomic_write_text(plan.files[name], texts[name]()))
    return ExportResult(written, notes, condensed)


def _remove_stale_clips(plan: OutputPlan, stem: str) -> None:
    """After an --overwrite run, clips of an earlier run that no longer exist as segments."""
    assert plan.clips_dir is not None
    keep = {p.name for p in plan.clip_paths}
    pattern = clip_pattern(safe_stem(stem))
    for path in plan.clips_dir.iterdir():
        if pattern.match(path.name) and path.name not in keep:
            log.info("removing stale clip %s", path)
            path.unlink()


def existing_before_run(out_dir: Path, stem: str, formats: Iterable[str], clips: bool = False,
                        json_path: Path | None = None,
                        condense: CondenseOptions | None = None) -> list[Path]:
    """Outputs of an input that exist already, checked before segmenting it (the clip names
    are not known yet: any clip of this stem in its clips folder counts)."""
    return existing_outputs(plan_outputs(out_dir, stem, formats, clips, json_path, condense),
                            stem)
