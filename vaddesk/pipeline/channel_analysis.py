"""Each channel of a file as its own speaker, for the app (Qt-free; runs in the analysis
process): one engine pass per channel, a frame track and an envelope per channel, and the
re-segmentation of every channel when parameters change.

`vaddesk segment --per-channel` and the app agree: both name the channels with
:func:`channel_speakers` and segment each with the same engine on the same 16 kHz samples
(the channel alone), so the app shows exactly the CLI's segments.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from vaddesk.audio.channel_names import read_channel_names
from vaddesk.audio.decode import AudioInfo
from vaddesk.audio.envelope import EnvelopeBuilder, PeakEnvelope
from vaddesk.core.confidence import SegmentConfidence, segment_confidences
from vaddesk.core.engine import Precision, resegment
from vaddesk.core.params import VadParams
from vaddesk.core.types import ChannelInfo, FrameTrack, Segment
from vaddesk.core.wording import counted
from vaddesk.pipeline.live_sides import MIC_SOURCE, SYSTEM_SOURCE
from vaddesk.pipeline.segmenting import SegmentedFile, segment_file


class SpeakerCountError(ValueError):
    """--speakers names a different number of speakers than the file has channels."""


def bleed_source(path: Path, channel: int) -> int | None:
    """The channel that leaks into ``channel``: the computer audio into the microphone of a
    two-sided vaddesk recording (what its engine was fed through the bleed gate live)."""
    stored = read_channel_names(path)
    if stored is None or channel != 0 or stored.sources != (MIC_SOURCE, SYSTEM_SOURCE):
        return None
    return 1


def channel_speakers(path: Path, num_channels: int, names: tuple[str, ...] | None
                     ) -> tuple[ChannelInfo, ...]:
    """Who speaks on each channel: the given names, those a vaddesk recording stores
    (You, Others), or Channel 1, Channel 2 ..."""
    if names is not None and len(names) != num_channels:
        raise SpeakerCountError(
            f"--speakers names {counted(len(names), 'speaker')} "
            f"({', '.join(names)}) but the file has "
            f"{counted(num_channels, 'channel')}")
    stored = read_channel_names(path)
    if names is None:
        names = stored.speakers if stored is not None and \
            len(stored.speakers) == num_channels else \
            tuple(f"Channel {c + 1}" for c in range(num_channels))
    sources = stored.sources if stored is not None and len(stored.sources) == num_channels \
        else tuple("mono" if num_channels == 1 else f"channel {c + 1} of {num_channels}"
                   for c in range(num_channels))
    return tuple(ChannelInfo(c, names[c], sources[c]) for c in range(num_channels))


@dataclass(frozen=True, slots=True)
class ChannelTrack:
    """One channel analysed on its own: who, its per-frame track, its waveform."""

    channel: ChannelInfo
    track: FrameTrack
    envelope: PeakEnvelope


def label(segments: Sequence[Segment], channel: ChannelInfo) -> list[Segment]:
    return [replace(s, channel=channel.index, speaker=channel.speaker) for s in segments]


def merge(per_channel: Sequence[list[Segment]]) -> list[Segment]:
    """All channels' segments in one list, by start (then channel): they may overlap."""
    out = [s for segments in per_channel for s in segments]
    out.sort(key=lambda s: (s.start_ms, s.channel or 0, s.end_ms))
    return out


def resegment_channels(tracks: Sequence[ChannelTrack], params: VadParams) -> list[Segment]:
    """Every channel re-segmented from its track with ``params``, labelled and merged."""
    return merge([label(resegment(t.track, params), t.channel) for t in tracks])


def channel_confidences(tracks: Sequence[ChannelTrack], segments: Sequence[Segment]
                        ) -> list[SegmentConfidence]:
    """Each segment's confidence from its own channel's track (in the order of `segments`)."""
    out: list[SegmentConfidence | None] = [None] * len(segments)
    for t in tracks:
        idx = [i for i, s in enumerate(segments) if (s.channel or 0) == t.channel.index]
        for i, conf in zip(idx, segment_confidences(t.track, [segments[i] for i in idx]),
                           strict=True):
            out[i] = conf
    if any(c is None for c in out):
        raise ValueError("a segment's channel has no track")
    return [c for c in out if c is not None]


@dataclass(frozen=True, slots=True)
class ChannelsAnalysed:
    info: AudioInfo
    tracks: tuple[ChannelTrack, ...]
    segments: list[Segment]
    duration_ms: int


def segment_each_channel(path: Path, channels: Sequence[ChannelInfo], params: VadParams, *,
                         precision: Precision = "int8", envelopes: bool = False,
                         progress: Callable[[int, int], None] | None = None,
                         cancelled: Callable[[], bool] | None = None
                         ) -> Iterator[tuple[ChannelInfo, SegmentedFile]]:
    """Each of ``channels`` through the engine on its own, as `vaddesk segment --per-channel`
    and the app both do: one decode pass per channel (memory stays one block), the microphone
    of a two-sided recording through the bleed gate; ``progress(done_ms, total_ms)`` counts
    all passes."""
    for chan in channels:
        assert chan.index is not None
        report = None
        if progress is not None:
            def report(done_ms: int, total_ms: int, base: int = chan.index,
                       emit: Callable[[int, int], None] = progress) -> None:
                emit(base * total_ms + done_ms, len(channels) * total_ms)
        yield chan, segment_file(path, params, precision=precision, channel=chan.index,
                                 progress=report, cancelled=cancelled,
                                 envelope=EnvelopeBuilder() if envelopes else None,
                                 bleed_from=bleed_source(path, chan.index))


def segment_channels(path: Path, num_channels: int, params: VadParams, *,
                     precision: Precision = "int8",
                     progress: Callable[[int, int], None] | None = None,
                     cancelled: Callable[[], bool] | None = None) -> ChannelsAnalysed:
    """Every channel analysed on its own, with its frame track and waveform (the app)."""
    tracks: list[ChannelTrack] = []
    found: list[list[Segment]] = []
    info: AudioInfo | None = None
    duration_ms = 0
    for chan, done in segment_each_channel(path, channel_speakers(path, num_channels, None),
                                           params, precision=precision, envelopes=True,
                                           progress=progress, cancelled=cancelled):
        assert done.envelope is not None
        tracks.append(ChannelTrack(chan, done.track, done.envelope))
        found.append(label(done.segments, chan))
        info, duration_ms = done.info, done.duration_ms
    assert info is not None
    return ChannelsAnalysed(info, tuple(tracks), merge(found), duration_ms)
