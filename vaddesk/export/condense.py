"""Speech-only audio: the segments of a recording, in order, as one file (`<stem>.speech.wav`).

Two modes:
- "condense": the parts back to back, joined by `gap_ms` of silence;
- "mute": the original length, silence everywhere outside the segments.

Overlapping or touching segments (two speakers, a split) are merged into one part first, so no
audio is repeated and no join falls inside continuous speech. Each part fades in and out over
at most FADE_MS inside its own edges (a raised cosine) so joins do not click; between the fades
every sample is the original one (bit for bit for WAV/FLAC output of a lossless source).

Spans are in frames of the source's own rate: a segment [start_ms, end_ms) covers frames
[floor(start_ms * rate / 1000), floor(end_ms * rate / 1000)), as for clips. The time map
(`CondensedAudio.parts`) says where each part came from, so a transcript of the condensed file
maps back to the recording: original = start + (t - condensed_start).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Final, Protocol

import av
import numpy as np
import soundfile as sf

from vaddesk.audio.decode import AudioReader
from vaddesk.export.atomic import PendingFile
from vaddesk.export.clips import BLOCK_S, ClipSpan, clip_subtype

log = logging.getLogger(__name__)

CONDENSE_FORMATS: Final = ("wav", "flac", "m4a", "mp3", "opus")
CONDENSE_MODES: Final = ("condense", "mute")
FADE_MS: Final = 5
"""Fade in/out inside each part's edges: 5 ms of raised cosine removes the click of a cut and
is shorter than any speech sound."""

_FLAC_SUBTYPES: Final = frozenset({"PCM_S8", "PCM_16", "PCM_24"})
# container, encoder, the rates the encoder takes (others are resampled to 48 kHz)
_LOSSY: Final = {"m4a": ("mp4", "aac"), "mp3": ("mp3", "libmp3lame"), "opus": ("ogg", "libopus")}


@dataclass(frozen=True, slots=True)
class CondenseOptions:
    audio_format: str = "wav"
    gap_ms: int = 0
    mode: str = "condense"

    def __post_init__(self) -> None:
        if self.audio_format not in CONDENSE_FORMATS:
            raise ValueError(f"unknown speech-only format {self.audio_format!r}; choose from "
                             f"{', '.join(CONDENSE_FORMATS)}")
        if self.mode not in CONDENSE_MODES:
            raise ValueError(f"unknown speech-only mode {self.mode!r}; choose from "
                             f"{', '.join(CONDENSE_MODES)}")
        if self.gap_ms < 0:
            raise ValueError(f"the gap between parts must be 0 ms or more, got {self.gap_ms}")


def condensed_name(stem: str, options: CondenseOptions) -> str:
    return f"{stem}.speech.{options.audio_format}"


@dataclass(frozen=True, slots=True)
class CondensedPart:
    """One part: frames [start_frame, stop_frame) of the source, at condensed_start_frame."""

    start_frame: int
    stop_frame: int
    condensed_start_frame: int


def _ceil_ms(frame: int, rate: int) -> int:
    """frames -> ms, rounding up: the inverse of ms -> floor(ms * rate / 1000) for rate >= 1 kHz
    (a segment's start_ms comes back exactly)."""
    return -(-frame * 1000 // rate)


@dataclass(frozen=True, slots=True)
class CondensedAudio:
    path: Path
    options: CondenseOptions
    sample_rate: int  # the source's rate: every frame count here is at this rate
    num_frames: int  # length of the speech-only audio
    parts: tuple[CondensedPart, ...]

    def to_json(self) -> dict[str, Any]:
        rate = self.sample_rate
        return {
            "file": self.path.name,
            "format": self.options.audio_format,
            "mode": self.options.mode,
            "gap_ms": self.options.gap_ms,
            "fade_ms": FADE_MS,
            "sample_rate": rate,
            "duration_ms": _ceil_ms(self.num_frames, rate),
            "frames": self.num_frames,
            "parts": [{"start_ms": _ceil_ms(p.start_frame, rate),
                       "end_ms": _ceil_ms(p.stop_frame, rate),
                       "condensed_start_ms": _ceil_ms(p.condensed_start_frame, rate),
                       "start_frame": p.start_frame, "end_frame": p.stop_frame,
                       "condensed_start_frame": p.condensed_start_frame}
                      for p in self.parts],
        }


def merge_spans(spans: Sequence[ClipSpan]) -> list[ClipSpan]:
    """Sorted, with overlapping or touching spans joined and empty ones dropped."""
    merged: list[ClipSpan] = []
    for span in sorted(spans, key=lambda s: (s.start_frame, s.stop_frame)):
        if span.stop_frame <= span.start_frame:
            continue
        if merged and span.start_frame <= merged[-1].stop_frame:
            last = merged[-1]
            merged[-1] = ClipSpan(last.start_frame, max(last.stop_frame, span.stop_frame))
        else:
            merged.append(span)
    return merged


def fade_frames(rate: int, length: int) -> int:
    """Fade length of a part: FADE_MS, but at most a quarter of a short part."""
    return min(rate * FADE_MS // 1000, length // 4)


def part_gains(offsets: np.ndarray, length: int, fade: int) -> np.ndarray:
    """Gain of each frame at `offsets` (0-based within a part of `length` frames)."""
    gains = np.ones(offsets.shape[0], np.float64)
    if fade <= 0:
        return gains
    from_edge = np.minimum(offsets, length - 1 - offsets)
    ramp = from_edge < fade
    gains[ramp] = 0.5 - 0.5 * np.cos(np.pi * (from_edge[ramp] + 0.5) / fade)
    return gains


class _Sink(Protocol):
    def write(self, block: np.ndarray) -> None: ...
    def close(self) -> None: ...


class _SoundFileSink:
    def __init__(self, path: Path, fmt: str, rate: int, channels: int, subtype: str) -> None:
        self._file = sf.SoundFile(str(path), "w", samplerate=rate, channels=channels,
                                  format=fmt, subtype=subtype)

    def write(self, block: np.ndarray) -> None:
        self._file.write(block)

    def close(self) -> None:
        self._file.close()


class _PyAVSink:
    """AAC in MP4 (.m4a), MP3, Opus in Ogg through PyAV; more than 2 channels are mixed to
    mono (the encoders here take mono or stereo), rates they do not take become 48 kHz."""

    def __init__(self, path: Path, audio_format: str, rate: int, channels: int) -> None:
        container_format, codec_name = _LOSSY[audio_format]
        codec = av.codec.Codec(codec_name, "w")
        out_rate = rate if not codec.audio_rates or rate in codec.audio_rates else 48_000
        self._mono = channels != 2
        self._layout = "mono" if self._mono else "stereo"
        self._rate = rate
        self._pts = 0
        self._container = av.open(str(path), "w", format=container_format)
        stream = self._container.add_stream(codec_name, rate=out_rate, layout=self._layout)
        assert isinstance(stream, av.audio.stream.AudioStream)
        self._stream = stream

    def write(self, block: np.ndarray) -> None:
        data = block.astype(np.float32)
        if self._mono and data.shape[1] != 1:
            data = data.mean(axis=1, keepdims=True, dtype=np.float32)
        data = np.clip(data, -1.0, 1.0)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data.T), format="fltp",
                                           layout=self._layout)
        frame.sample_rate = self._rate
        frame.pts = self._pts
        frame.time_base = Fraction(1, self._rate)
        self._pts += data.shape[0]
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def close(self) -> None:
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._container.close()


def _sink_and_dtype(reader: AudioReader, path: Path, audio_format: str
                    ) -> tuple[_Sink, str, float]:
    """The writer, the dtype to read the source in, and the full scale of that dtype."""
    rate, channels = reader.info.sample_rate, reader.info.channels
    subtype, dtype = clip_subtype(reader)
    scale = {"int16": 32768.0, "int32": 2.0**31}.get(dtype, 1.0)
    if audio_format == "wav":
        return _SoundFileSink(path, "WAV", rate, channels, subtype), dtype, scale
    if audio_format == "flac":
        flac_subtype = subtype if subtype in _FLAC_SUBTYPES else "PCM_24"
        return _SoundFileSink(path, "FLAC", rate, channels, flac_subtype), dtype, scale
    return _PyAVSink(path, audio_format, rate, channels), "float32", 1.0


def write_condensed(reader: AudioReader, spans: Sequence[ClipSpan], path: Path,
                    options: CondenseOptions) -> CondensedAudio:
    """Write the speech-only file at `path` (atomically) in one pass over `reader`.

    `spans` are the segments in source frames; ValueError when none holds any audio.
    """
    parts = merge_spans(spans)
    if not parts:
        raise ValueError("no segment holds any audio")
    rate = reader.info.sample_rate
    target = PendingFile(path)
    sink, dtype, scale = _sink_and_dtype(reader, target.tmp, options.audio_format)
    gap = options.gap_ms * rate // 1000
    written = 0  # frames of output so far
    starts: dict[int, int] = {}  # part index -> condensed start frame
    stops: dict[int, int] = {}  # part index -> last source frame written + 1
    # Lossy sources decode a little past full scale; libsndfile would wrap 16-bit values.
    needs_clip = dtype == "float32" and options.audio_format in ("wav", "flac") \
        and clip_subtype(reader)[0] == "PCM_16"

    def faded(piece: np.ndarray, offset: int, part: ClipSpan) -> np.ndarray:
        """`piece` starts `offset` frames into `part`: apply the part's fades to it."""
        length = part.stop_frame - part.start_frame
        gains = part_gains(np.arange(piece.shape[0]) + offset, length,
                           fade_frames(rate, length))
        out = piece
        if not np.all(gains == 1.0):
            shaped = piece.astype(np.float64) * gains[:, None]
            out = (np.rint(shaped) if scale != 1.0 else shaped).astype(piece.dtype)
        return np.clip(out, -1.0, 32767 / 32768) if needs_clip else out

    closed = False
    try:
        position, cursor = 0, 0
        for block in reader.blocks_original(rate * BLOCK_S, dtype):
            end = position + block.shape[0]
            out = np.zeros_like(block) if options.mode == "mute" else None
            pieces: list[np.ndarray] = []
            i = cursor
            while i < len(parts) and parts[i].start_frame < end:
                part = parts[i]
                lo, hi = max(part.start_frame, position), min(part.stop_frame, end)
                if hi > lo:
                    if i not in starts:
                        if options.mode == "condense" and starts and gap:
                            pieces.append(np.zeros((gap, block.shape[1]), block.dtype))
                            written += gap
                        starts[i] = written if options.mode == "condense" else part.start_frame
                    shaped = faded(block[lo - position:hi - position], lo - part.start_frame,
                                   part)
                    if out is not None:
                        out[lo - position:hi - position] = shaped
                    else:
                        pieces.append(shaped)
                        written += hi - lo
                    stops[i] = hi
                if part.stop_frame <= end:
                    cursor = i + 1
                i += 1
            if out is not None:
                sink.write(out)
                written = end
            else:
                for piece in pieces:
                    sink.write(piece)
            position = end
        if not starts:  # every span lies past the end of the audio
            raise ValueError("no segment holds any audio")
        closed = True
        sink.close()
        target.commit()
    except BaseException:
        if not closed:
            sink.close()
        target.discard()
        raise
    kept = tuple(CondensedPart(parts[i].start_frame, stops[i], starts[i]) for i in sorted(starts))
    log.info("speech-only audio %s: %d parts, %d frames", path, len(kept), written)
    return CondensedAudio(Path(path), options, rate, written, kept)
