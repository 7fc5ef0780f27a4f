"""The two decoders behind vaddesk.audio.decode: libsndfile (soundfile) and FFmpeg (PyAV).

Both give (frames, channels) float32 blocks at the file's own rate, read sequentially from the
start, and exact sample spans for clips. Error messages here carry no path; decode.py adds it.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import numpy as np
import soundfile as sf

from vaddesk.audio import c_stderr
from vaddesk.audio.header_repair import PcmLayout, RepairedView

log = logging.getLogger(__name__)

# Integer subtypes whose every value a float32 holds exactly (24-bit mantissa).
_EXACT_IN_FLOAT32 = frozenset({"PCM_S8", "PCM_U8", "PCM_16", "PCM_24", "ULAW", "ALAW"})
# After a decoding error, what is left of the failing block is read again in pieces of these
# sizes, each smaller one from where the larger failed: down to the last decodable frame.
SALVAGE_STEPS = (4096, 256, 16, 1)


class DecodeError(Exception):
    """A decoding problem, described for a user (decode.py prefixes the file name)."""


class Source(Protocol):
    sample_rate: int
    channels: int
    num_frames: int
    exact_length: bool  # num_frames comes from a header that must match the data
    format: str
    codec: str
    stopped_early: str | None  # why the last sequential pass stopped at a decoding error


    def blocks(self, frames: int, dtype: str = "float32") -> Iterator[np.ndarray]: ...
    def read(self, start: int, stop: int, dtype: str = "float32") -> np.ndarray: ...
    def close(self) -> None: ...


class SoundFileSource:
    """wav/flac/ogg/opus/mp3/aiff... through libsndfile; seeking is sample-exact.

    With `layout` (a WAV/AIFF whose header sizes are wrong), the file is read as its repair
    would write it (header_repair.RepairedView): the whole frames present, nothing else.
    """

    def __init__(self, path: Path, layout: PcmLayout | None = None) -> None:
        self._path = path
        self._layout = layout
        self._file = self._open()
        self.sample_rate = int(self._file.samplerate)
        self.channels = int(self._file.channels)
        self.num_frames = int(self._file.frames)
        self.format = str(self._file.format)
        self.codec = str(self._file.subtype)
        # Lossy formats report an estimate; PCM/FLAC headers state the length exactly.
        self.exact_length = self.format not in ("MP3", "OGG")
        self.stopped_early: str | None = None

    def _open(self) -> sf.SoundFile:
        view = RepairedView(self._path, self._layout) if self._layout is not None else None
        try:
            with c_stderr.to_log(f"libsndfile open {self._path}"):
                return sf.SoundFile(view if view is not None else str(self._path))
        except (sf.LibsndfileError, RuntimeError) as exc:
            if view is not None:
                view.close()
            raise DecodeError(str(exc).split(": ", 1)[-1]) from None

    def _read(self, frames: int, dtype: str) -> np.ndarray:
        with c_stderr.to_log(f"libsndfile read {self._path}"):
            out: np.ndarray = self._file.read(frames, dtype=dtype, always_2d=True)
        return out

    def blocks(self, frames: int, dtype: str = "float32") -> Iterator[np.ndarray]:
        """Blocks from the start. A file cut mid-stream (FLAC, Ogg) makes libsndfile fail on
        the block holding the cut: the audio before it is kept (see _salvage) and the pass
        ends there, with `stopped_early` saying why."""
        self.stopped_early = None
        self._seek(0)
        position = 0
        while True:
            try:
                block = self._read(frames, dtype)
            except (sf.LibsndfileError, RuntimeError) as exc:
                reason = str(exc).strip()
                rest = self._salvage(position, frames, dtype)
                if position + rest.shape[0] == 0:
                    raise DecodeError(f"corrupt audio data, the file is probably truncated or "
                                      f"damaged ({reason})") from None
                if rest.shape[0]:
                    yield rest
                self.stopped_early = f"libsndfile: {reason}"
                log.info("%s: decoding stopped at frame %d: %s", self._path,
                         position + rest.shape[0], reason)
                return
            if block.shape[0] == 0:
                return
            position += block.shape[0]
            yield block

    def _salvage(self, position: int, frames: int, dtype: str) -> np.ndarray:
        """What can still be decoded of the block at `position`: read again from a fresh
        decoder (the failed one is left in an undefined state) in smaller and smaller pieces,
        down to single frames, so the result is every frame before the damage, whatever the
        block size."""
        pieces: list[np.ndarray] = []
        end = position + frames
        for step in SALVAGE_STEPS:
            self._file.close()
            self._file = self._open()
            try:
                self._file.seek(position)
                while position < end:
                    piece = self._read(min(step, end - position), dtype)
                    if piece.shape[0] == 0:
                        break
                    pieces.append(piece)
                    position += piece.shape[0]
                break
            except (sf.LibsndfileError, RuntimeError):
                continue  # again from the last good piece, in smaller steps
        if not pieces:
            return np.zeros((0, self.channels), dtype)
        return np.concatenate(pieces)

    def read(self, start: int, stop: int, dtype: str = "float32") -> np.ndarray:
        self._seek(start)
        return self._read(stop - start, dtype)

    def _seek(self, frame: int) -> None:
        """Seek; a decoder left unusable by an earlier decoding error is opened afresh."""
        try:
            self._file.seek(frame)
        except (sf.LibsndfileError, RuntimeError):
            self._file.close()
            self._file = self._open()
            self._file.seek(frame)

    def native_dtype(self) -> str:
        """The dtype that reads this file's samples without loss (for clips)."""
        if self.codec in _EXACT_IN_FLOAT32 or self.codec == "FLOAT":
            return "float32"
        if self.codec == "PCM_32":
            return "int32"
        if self.codec == "DOUBLE":
            return "float64"
        return "float32"

    def close(self) -> None:
        self._file.close()


def _to_float(frame_array: np.ndarray, planar: bool, channels: int) -> np.ndarray:
    """A PyAV frame's samples as (n, channels) float32 whatever its sample format."""
    arr = frame_array.T if planar else frame_array.reshape(-1, channels)
    kind = arr.dtype
    if kind == np.float32:
        return np.ascontiguousarray(arr)
    if kind == np.float64:
        return arr.astype(np.float32)
    if kind == np.int16:
        return arr.astype(np.float32) * np.float32(1 / 32768)
    if kind == np.int32:
        return (arr.astype(np.float64) * (1 / 2147483648)).astype(np.float32)
    if kind == np.uint8:
        return (arr.astype(np.float32) - 128) * np.float32(1 / 128)
    if kind == np.int64:
        return (arr.astype(np.float64) * (1 / 9223372036854775808)).astype(np.float32)
    raise DecodeError(f"unsupported sample format {kind}")


class PyAVSource:
    """m4a/aac/mp4/webm/wma and anything else FFmpeg reads."""

    def __init__(self, path: Path) -> None:
        import av  # imported lazily: most batches never need FFmpeg

        self._av = av
        self._path = path
        self.stopped_early: str | None = None
        try:
            with c_stderr.to_log(f"FFmpeg open {path}"):
                self._container = av.open(str(path), mode="r")
        except av.error.FFmpegError as exc:
            raise DecodeError(_ffmpeg_reason(exc)) from None
        try:
            self._setup()
        except Exception:
            self._container.close()
            raise

    def _setup(self) -> None:
        audio = self._container.streams.audio
        if not audio:
            kinds: list[str] = sorted({str(s.type) for s in self._container.streams})
            raise DecodeError(f"no audio stream (the file holds: {', '.join(kinds) or 'nothing'})")
        stream = self._stream = audio[0]
        ctx = stream.codec_context
        codec_name = getattr(stream.codec_context, "name", None) or "unknown"
        if ctx is None or not ctx.codec or getattr(ctx.codec, "name", "none") == "none":
            raise DecodeError(f"unsupported codec ({codec_name}): no decoder available")
        self.sample_rate = int(ctx.sample_rate or stream.rate or 0)
        self.channels = int(ctx.channels or 0)
        if self.sample_rate <= 0 or self.channels <= 0:
            raise DecodeError(f"truncated or corrupt header: {self.channels} channels at "
                              f"{self.sample_rate} Hz")
        self.codec = codec_name
        suffix = self._path.suffix.lstrip(".").upper()
        self.format = suffix or str(self._container.format.name).split(",")[0].upper()
        self.exact_length = False
        if stream.duration is not None and stream.time_base is not None:
            seconds = float(stream.duration * stream.time_base)
        elif self._container.duration is not None:
            seconds = self._container.duration / 1_000_000
        else:
            seconds = 0.0
        self.num_frames = int(seconds * self.sample_rate)
        # pts -> sample position of frames met in a sequential pass, about two per second:
        # read() seeks to one of them and knows exactly where the decoded samples belong.
        self._index: dict[int, int] = {}
        self._touched = False  # the decoder has moved: reopen before a sequential pass
        # Where the last read() left the decoder, so that playback's consecutive reads
        # continue instead of seeking (or decoding from the start) every time.
        self._cursor: Iterator[tuple[int, np.ndarray]] | None = None
        self._cursor_pos = 0

    def _reopen(self) -> None:
        """A fresh demuxer and decoder: seeking back to 0 does not reproduce the first pass
        exactly (encoder-delay trimming applies only to a fresh decoder)."""
        self._container.close()
        self._container = self._av.open(str(self._path), mode="r")
        self._stream = self._container.streams.audio[0]

    def _frames(self) -> Iterator[tuple[int | None, np.ndarray]]:
        """(pts, samples) of every decoded frame from the current position.

        A decoding error after some audio (a file cut mid-stream, a fragmented MP4 whose last
        fragment is incomplete) ends the frames there, `stopped_early` saying why; an error
        before any audio is a DecodeError.
        """
        av = self._av
        self.stopped_early = None
        decoded = False
        try:
            for frame in self._container.decode(self._stream):
                if frame.sample_rate != self.sample_rate:
                    raise DecodeError(f"sample rate changes mid-stream ({self.sample_rate} Hz "
                                      f"-> {frame.sample_rate} Hz)")
                data = _to_float(frame.to_ndarray(), frame.format.is_planar, self.channels)
                decoded = True
                yield frame.pts, data
        except av.error.FFmpegError as exc:
            if not decoded:
                raise DecodeError(f"corrupt audio data ({_ffmpeg_reason(exc)})") from None
            self.stopped_early = f"FFmpeg: {getattr(exc, 'strerror', None) or exc}"
            log.info("%s: decoding stopped: %s", self._path, exc)

    def _sequential(self) -> Iterator[tuple[int, np.ndarray]]:
        """(position, samples) from a fresh decoder; fills the seek index on the way."""
        if self._touched:
            self._reopen()
        self._touched = True
        self._cursor = None  # the container under the read cursor is gone
        position, next_mark = 0, 0
        for pts, data in self._frames():
            if pts is not None and position >= next_mark:
                self._index[pts] = position
                next_mark = position + self.sample_rate // 2
            yield position, data
            position += data.shape[0]

    def blocks(self, frames: int, dtype: str = "float32") -> Iterator[np.ndarray]:
        pending: list[np.ndarray] = []
        held = 0
        for _, data in self._sequential():
            pending.append(data)
            held += data.shape[0]
            if held >= frames:
                yield np.concatenate(pending)
                pending, held = [], 0
        if pending:
            yield np.concatenate(pending)

    def read(self, start: int, stop: int, dtype: str = "float32") -> np.ndarray:
        """Span [start, stop) counted from the first decoded sample (as in `blocks`).

        Consecutive reads (playback) continue from where the last one stopped. Otherwise it
        seeks to an indexed frame at least a second before `start` (decoders need that much
        pre-roll to settle) and places the samples by that frame's known position; without an
        index (no sequential pass yet) or when the seek does not land on an indexed frame, it
        decodes from the start (and builds the index on the way).
        """
        out = np.zeros((max(0, stop - start), self.channels), np.float32)
        cursor = self._cursor
        if cursor is None or self._cursor_pos > start:
            cursor = None
            anchors = [(pos, pts) for pts, pos in self._index.items()
                       if pos <= start - self.sample_rate]
            if anchors:
                _, pts = max(anchors)
                self._touched = True
                self._container.seek(pts, stream=self._stream, backward=True)
                # Without this the decoder's state from before the seek leaks into the output.
                self._stream.codec_context.flush_buffers()
                cursor = self._placed_after_seek(start)
            if cursor is None:
                cursor = self._sequential()
        self._cursor = None
        last: tuple[int, np.ndarray] | None = None
        for position, data in cursor:
            last = (position, data)
            end = position + data.shape[0]
            lo, hi = max(start, position), min(stop, end)
            if hi > lo:
                out[lo - start:hi - start] = data[lo - position:hi - position]
            if end >= stop:
                break
        if last is not None and last[0] + last[1].shape[0] >= stop:
            # Keep the decoder where it is; the frame that straddles `stop` comes first again.
            self._cursor = itertools.chain([last], cursor)
            self._cursor_pos = last[0]
        return out

    def _placed_after_seek(self, start: int) -> Iterator[tuple[int, np.ndarray]] | None:
        """Frames after a seek with their positions, once one lands on an indexed pts."""
        decoded = self._frames()
        for pts, data in decoded:
            if pts is not None and pts in self._index:
                position = self._index[pts]
                if position > start:
                    return None

                def placed(first: np.ndarray = data, pos: int = position
                           ) -> Iterator[tuple[int, np.ndarray]]:
                    yield pos, first
                    pos += first.shape[0]
                    for _, more in decoded:
                        yield pos, more
                        pos += more.shape[0]

                return placed()
        return None

    def close(self) -> None:
        self._container.close()


def _ffmpeg_reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    low = text.lower()
    if "invalid data" in low:
        return "not a recognised audio file or corrupt header (FFmpeg: invalid data)"
    if "decoder" in low and "not found" in low:
        return "unsupported codec: no decoder available"
    return f"FFmpeg could not read it ({text})"
