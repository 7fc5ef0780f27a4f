"""One input's segmentation result and its JSON document (schema "vaddesk.segments" v2).

Version 2 keeps every field of version 1 as it was and adds `channel` and `speaker` on each
segment, the top-level `channels` list and `stats` (docs/json-schema.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Final

from vaddesk import __version__
from vaddesk.audio.decode import AudioInfo
from vaddesk.core.confidence import SegmentConfidence
from vaddesk.core.params import VadParams
from vaddesk.core.presets import get_preset
from vaddesk.core.talk_stats import TalkStats, talk_stats
from vaddesk.core.types import SEGMENT_ORIGINS, ChannelInfo, Segment, SegmentOrigin

if TYPE_CHECKING:  # not at run time: exporting must not load onnxruntime
    from vaddesk.core.model import ModelInfo  # re-exported by vaddesk.core.engine
    from vaddesk.export.condense import CondensedAudio

SCHEMA_ID: Final = "vaddesk.segments"
SCHEMA_VERSION: Final = 2
READABLE_VERSIONS: Final = (1, 2)


@dataclass(frozen=True, slots=True)
class ModelStamp:
    """The model named by a JSON document read back (its file is not needed to export)."""

    name: str
    precision: str
    sha256: str


@dataclass(frozen=True, slots=True)
class SegmentationReport:
    source: AudioInfo
    model: ModelInfo | ModelStamp | None  # None: segments read from a file with no model
    preset: str | None  # None: segments that no preset made (e.g. read from Audacity labels)
    params: VadParams | None
    segments: list[Segment]
    channel: int | None  # 0-based channel analysed; None = all channels downmixed (or each)
    # What was analysed: one entry per channel analysed on its own (segments then carry
    # `channel` and `speaker`), or one entry for the single (mixed or chosen) channel.
    channels: tuple[ChannelInfo, ...] = ()
    # True when `params` differ from the preset's values; None = find out from the preset.
    preset_modified: bool | None = None
    # Exact times in seconds, one (start, end) per segment, when they are finer than the
    # millisecond (Audacity writes 6 decimals): clips and speech-only audio are cut at these.
    times_s: tuple[tuple[Fraction, Fraction], ...] | None = field(default=None)
    # one per segment when the frame scores were at hand (analysed files; not live recordings)
    confidences: list[SegmentConfidence] | None = None

    def channel_list(self) -> tuple[ChannelInfo, ...]:
        if self.channels:
            return self.channels
        return (single_channel_info(self.channel, self.source.channels),)

    def stats(self) -> TalkStats:
        chans = self.channel_list()
        return talk_stats(self.segments, [c.speaker or "" for c in chans],
                          [c.index for c in chans])

    def is_preset_modified(self) -> bool | None:
        """Whether the parameters differ from the named preset (None: no preset)."""
        if self.preset is None or self.params is None:
            return None
        if self.preset_modified is not None:
            return self.preset_modified
        try:
            return get_preset(self.preset).params != self.params
        except ValueError:  # a user preset since deleted: nothing says the values match
            return True


def single_channel_info(channel: int | None, num_channels: int,
                        speaker: str | None = None) -> ChannelInfo:
    if channel is not None:
        return ChannelInfo(channel, speaker, f"channel {channel + 1} of {num_channels}")
    if num_channels == 1:
        return ChannelInfo(None, speaker, "mono")
    return ChannelInfo(None, speaker, f"all {num_channels} channels mixed")


def stats_to_json(stats: TalkStats) -> dict[str, Any]:
    return {
        "any_speech_ms": stats.any_speech_ms,
        "overlap_ms": stats.overlap_ms,
        "speakers": [{"speaker": s.speaker or None, "channel": s.channel,
                      "speech_ms": s.speech_ms, "share": s.share, "turns": s.turns,
                      "longest_turn_ms": s.longest_turn_ms} for s in stats.speakers],
    }


def segment_to_json(index: int, seg: Segment, report_channel: int | None) -> dict[str, Any]:
    """One segment; a segment of a mono or mixed analysis gets the report's channel."""
    return {"index": index, "start_ms": seg.start_ms, "end_ms": seg.end_ms,
            "duration_ms": seg.duration_ms,
            "channel": seg.channel if seg.channel is not None else report_channel,
            "speaker": seg.speaker, "origin": seg.origin, "label": seg.label, "note": seg.note}


def report_to_json(report: SegmentationReport, clip_names: list[str] | None = None,
                   condensed: CondensedAudio | None = None) -> dict[str, Any]:
    """The JSON document (docs/json-schema.md shows an example). Times are integer milliseconds."""
    if clip_names is not None and len(clip_names) != len(report.segments):
        raise ValueError(f"{len(clip_names)} clip names for {len(report.segments)} segments")
    confidences = report.confidences
    if confidences is not None and len(confidences) != len(report.segments):
        raise ValueError(f"{len(confidences)} confidences for {len(report.segments)} segments")
    src = report.source
    segments = []
    for i, seg in enumerate(report.segments):
        item = segment_to_json(i + 1, seg, report.channel)
        if confidences is not None:
            item["score_mean"] = round(confidences[i].score_mean, 4)
            item["score_min"] = round(confidences[i].score_min, 4)
        if clip_names is not None:
            item["clip"] = clip_names[i]
        segments.append(item)
    model = report.model
    doc: dict[str, Any] = {
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
        "model": (None if model is None else
                  {"name": model.name, "precision": model.precision, "sha256": model.sha256}),
        "preset": report.preset,
        "modified": report.is_preset_modified(),
        "parameters": None if report.params is None else report.params.to_dict(),
        "speech_ms": sum(s.duration_ms for s in report.segments),
        "segments": segments,
        "channels": [{"index": c.index, "speaker": c.speaker, "source": c.source}
                     for c in report.channel_list()],
        "stats": stats_to_json(report.stats()),
        # Damage worked around while reading (a cut file): what was wrong, what was analysed.
        "warnings": list(src.warnings),
    }
    if condensed is not None:
        doc["condensed"] = condensed.to_json()
    return doc


def _origin(value: object) -> SegmentOrigin:
    for origin in SEGMENT_ORIGINS:
        if value == origin:
            return origin
    raise ValueError(f"segment origin {value!r} is not one of {', '.join(SEGMENT_ORIGINS)}")


def segments_from_json(doc: dict[str, Any]) -> list[Segment]:
    """Segments of a JSON document written by report_to_json, schema_version 1 or later.

    Later versions only add fields, so the fields read here keep their meaning; documents of
    version 1 written before segments had an origin read as detected, unlabelled segments.
    """
    if doc.get("schema") != SCHEMA_ID:
        raise ValueError(f"not a {SCHEMA_ID} document (schema={doc.get('schema')!r})")
    version = doc.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"schema_version {version!r} is not a version this vaddesk reads "
                         "(1 or later)")
    out = []
    for n, item in enumerate(doc["segments"], 1):
        try:
            start, end = item["start_ms"], item["end_ms"]
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end)):
                raise ValueError("start_ms and end_ms must be whole milliseconds")
            channel, speaker = item.get("channel"), item.get("speaker")
            if channel is not None and not isinstance(channel, int):
                raise ValueError(f"channel {channel!r} is not a channel number")
            out.append(Segment(start, end, channel,
                               None if speaker is None else str(speaker),
                               origin=_origin(item.get("origin", "detected")),
                               label=str(item.get("label", "")), note=str(item.get("note", ""))))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"segment {n}: {exc}") from None
    return out
