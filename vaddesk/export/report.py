"""One input's segmentation result and its JSON document (schema "vaddesk.segments" v2).

Version 2 keeps every field of version 1 as it was and adds `channel` and `speaker` on each
segment, the top-level `channels` list and `stats` (docs/json-schema.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from vaddesk import __version__
from vaddesk.audio.decode import AudioInfo
from vaddesk.core.params import VadParams
from vaddesk.core.talk_stats import TalkStats, talk_stats
from vaddesk.core.types import ChannelInfo, Segment

if TYPE_CHECKING:  # not at run time: exporting must not load onnxruntime
    from vaddesk.core.model import ModelInfo  # re-exported by vaddesk.core.engine

SCHEMA_ID: Final = "vaddesk.segments"
SCHEMA_VERSION: Final = 2
READABLE_VERSIONS: Final = (1, 2)


@dataclass(frozen=True, slots=True)
class SegmentationReport:
    source: AudioInfo
    model: ModelInfo
    preset: str
    params: VadParams
    segments: list[Segment]
    channel: int | None  # 0-based channel analysed; None = all channels downmixed (or each)
    # What was analysed: one entry per channel analysed on its own (segments then carry
    # `channel` and `speaker`), or one entry for the single (mixed or chosen) channel.
    channels: tuple[ChannelInfo, ...] = ()

    def channel_list(self) -> tuple[ChannelInfo, ...]:
        if self.channels:
            return self.channels
        return (single_channel_info(self.channel, self.source.channels),)

    def stats(self) -> TalkStats:
        chans = self.channel_list()
        return talk_stats(self.segments, [c.speaker or "" for c in chans],
                          [c.index for c in chans])


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


def report_to_json(report: SegmentationReport, clip_names: list[str] | None = None
                   ) -> dict[str, Any]:
    """The JSON document (docs/json-schema.md shows an example). Times are integer milliseconds."""
    if clip_names is not None and len(clip_names) != len(report.segments):
        raise ValueError(f"{len(clip_names)} clip names for {len(report.segments)} segments")
    src = report.source
    segments = []
    for i, seg in enumerate(report.segments):
        item: dict[str, Any] = {"index": i + 1, "start_ms": seg.start_ms, "end_ms": seg.end_ms,
                                "duration_ms": seg.duration_ms,
                                "channel": seg.channel if seg.channel is not None
                                else report.channel, "speaker": seg.speaker}
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
        "channels": [{"index": c.index, "speaker": c.speaker, "source": c.source}
                     for c in report.channel_list()],
        "stats": stats_to_json(report.stats()),
    }


def segments_from_json(doc: dict[str, Any]) -> list[Segment]:
    """Segments of a JSON document written by report_to_json (checks schema and version)."""
    if doc.get("schema") != SCHEMA_ID:
        raise ValueError(f"not a {SCHEMA_ID} document (schema={doc.get('schema')!r})")
    if doc.get("schema_version") not in READABLE_VERSIONS:
        raise ValueError(f"schema_version {doc.get('schema_version')!r} is not supported "
                         f"(this vaddesk reads {', '.join(map(str, READABLE_VERSIONS))})")
    return [Segment(int(s["start_ms"]), int(s["end_ms"]), s.get("channel"), s.get("speaker"))
            for s in doc["segments"]]
