"""WAV clips cut from the ORIGINAL recording (its own rate and channels), sample-exact.

A segment found on one channel (its `channel` is set) is cut from that channel alone (a mono
clip) unless every channel is asked for: in a two-sided call the other side is another voice.

Rounding, documented in docs/cli.md (Clips): a time t ms maps to sample
floor(t * rate / 1000). A clip of segment [start_ms, end_ms) with padding p covers samples
[floor((start_ms - p) * rate / 1000), floor((end_ms + p) * rate / 1000)), clamped to the file.
Adjacent segments therefore tile the file without gaps or overlaps (when p = 0).

One sequential pass over the file writes every clip (overlapping padded clips included): that
is sample-exact for every decoder, and memory stays at one block however long the clips are.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Final

import numpy as np
import soundfile as sf

from vaddesk.audio.decode import AudioReader
from vaddesk.core.types import Segment
from vaddesk.export.atomic import PendingFile

log = logging.getLogger(__name__)

BLOCK_S: Final = 5
_WAV_SUBTYPES: Final = frozenset({"PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE",
                                  "ULAW", "ALAW"})
_WAV_LIMIT_BYTES: Final = 4_000_000_000  # above this a RIFF size field overflows: use RF64


@dataclass(frozen=True, slots=True)
class ClipSpan:
    start_frame: int
    stop_frame: int


def ms_to_frame(ms: int, rate: int) -> int:
    return ms * rate // 1000


def clip_spans(segments: Sequence[Segment], rate: int, num_frames: int, pad_ms: int = 0,
               times_s: Sequence[tuple[Fraction, Fraction]] | None = None) -> list[ClipSpan]:
    """Frame spans of the segments; with `times_s` (exact seconds, one pair per segment, from
    a label file) a time t s maps to frame floor(t * rate) instead of the whole-ms rule."""
    if pad_ms < 0:
        raise ValueError(f"pad_ms must be >= 0, got {pad_ms}")
    if times_s is not None and len(times_s) != len(segments):
        raise ValueError(f"{len(times_s)} exact times for {len(segments)} segments")
    pad_s = Fraction(pad_ms, 1000)
    spans = []
    for n, seg in enumerate(segments):
        if times_s is None:
            start = ms_to_frame(seg.start_ms - pad_ms, rate)
            stop = ms_to_frame(seg.end_ms + pad_ms, rate)
        else:
            start = math.floor((times_s[n][0] - pad_s) * rate)
            stop = math.floor((times_s[n][1] + pad_s) * rate)
        start, stop = max(0, start), min(num_frames, stop)
        spans.append(ClipSpan(min(start, stop), stop))
    return spans


def clip_subtype(reader: AudioReader) -> tuple[str, str]:
    """(WAV subtype, read dtype): lossless sources keep their sample format exactly; lossy
    ones (MP3, Vorbis, Opus, AAC, WMA...) become 16-bit PCM, the WAV every player opens."""
    codec = reader.info.codec
    if reader.is_lossless:
        if codec in _WAV_SUBTYPES:
            return codec, reader.lossless_dtype()
        if codec == "PCM_S8":
            return "PCM_16", "float32"
    return "PCM_16", "float32"


def write_clips(reader: AudioReader, segments: Sequence[Segment], paths: Sequence[Path],
                pad_ms: int = 0, all_channels: bool = False,
                times_s: Sequence[tuple[Fraction, Fraction]] | None = None) -> list[Path]:
    """Write one WAV per segment to `paths` (atomically) in a single pass over `reader`.

    Segments with a `channel` get a mono clip of that channel unless `all_channels`.
    """
    if len(paths) != len(segments):
        raise ValueError(f"{len(paths)} paths for {len(segments)} segments")
    info = reader.info
    rate = info.sample_rate
    picks: list[slice] = []
    for seg in segments:
        if seg.channel is None or all_channels or info.channels == 1:
            picks.append(slice(None))
        elif 0 <= seg.channel < info.channels:
            picks.append(slice(seg.channel, seg.channel + 1))
        else:
            raise ValueError(f"segment on channel {seg.channel}, but the recording has "
                             f"{info.channels} channels")
    subtype, dtype = clip_subtype(reader)
    # The header's length can be an estimate (lossy): clamp to a huge value, the pass ends
    # the clips where the audio really ends.
    spans = clip_spans(segments, rate, max(info.num_frames, 2**62), pad_ms, times_s)
    order = sorted(range(len(spans)), key=lambda i: spans[i].start_frame)
    pending: dict[int, tuple[PendingFile, sf.SoundFile]] = {}
    written: list[Path] = []

    def open_clip(i: int) -> None:
        target = PendingFile(paths[i])
        channels = len(range(info.channels)[picks[i]])
        size = (spans[i].stop_frame - spans[i].start_frame) * channels * 8
        fmt = "RF64" if size > _WAV_LIMIT_BYTES else "WAV"
        handle = sf.SoundFile(str(target.tmp), "w", samplerate=rate, channels=channels,
                              format=fmt, subtype=subtype)
        pending[i] = (target, handle)

    def close_clip(i: int) -> None:
        target, handle = pending.pop(i)
        handle.close()
        written.append(target.commit())

    try:
        position, cursor = 0, 0
        for block in reader.blocks_original(rate * BLOCK_S, dtype):
            end = position + block.shape[0]
            while cursor < len(order) and spans[order[cursor]].start_frame < end:
                open_clip(order[cursor])
                cursor += 1
            for i in list(pending):
                span = spans[i]
                lo, hi = max(span.start_frame, position), min(span.stop_frame, end)
                if hi > lo:
                    piece = block[lo - position:hi - position, picks[i]]
                    if subtype == "PCM_16" and dtype == "float32":
                        # Lossy decoders overshoot 1.0 a little; libsndfile would wrap around.
                        piece = np.clip(piece, -1.0, 32767 / 32768)
                    pending[i][1].write(piece)
                if span.stop_frame <= end:
                    close_clip(i)
            position = end
        while cursor < len(order):  # segments past the end of the audio: empty clips
            open_clip(order[cursor])
            cursor += 1
        for i in list(pending):
            close_clip(i)
    except BaseException:
        for target, handle in pending.values():
            handle.close()
            target.discard()
        raise
    by_name = {p: n for n, p in enumerate(paths)}
    return sorted(written, key=lambda p: by_name[p])
