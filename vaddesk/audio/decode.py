"""Decode any recording into 16 kHz mono float32 blocks for the engine, streaming.

    with open_audio(path) as reader:          # AudioError with a specific message if it can't
        for block in reader.blocks_16k():      # downmixed (or one channel), resampled by soxr
            ...
        clip = reader.read_original(a, b)      # (n, channels) float32 at the file's own rate

wav/flac/ogg/opus/mp3/aiff go through libsndfile (soundfile); m4a/aac/mp4/webm/wma and
anything else FFmpeg reads through PyAV. Memory is bounded by the block size, never by the
length of the file. No Qt here: batch workers and the GUI both use it.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final

import numpy as np

from vaddesk.audio import header_repair, sniff
from vaddesk.audio.backends import DecodeError, PyAVSource, SoundFileSource, Source
from vaddesk.audio.resample import Resampler16k, to_mono
from vaddesk.core.types import SAMPLE_RATE
from vaddesk.core.wording import counted

log = logging.getLogger(__name__)

SOUNDFILE_EXTENSIONS: Final = frozenset({
    ".wav", ".wave", ".bwf", ".rf64", ".w64", ".flac", ".ogg", ".oga", ".opus", ".mp3",
    ".aiff", ".aif", ".aifc", ".au", ".snd", ".caf",
})
PYAV_EXTENSIONS: Final = frozenset({
    ".m4a", ".m4b", ".aac", ".mp4", ".mov", ".3gp", ".webm", ".mka", ".mkv", ".wma", ".asf",
    ".wmv", ".ac3", ".eac3", ".amr", ".mp2", ".mpga", ".spx", ".wv", ".ape", ".avi", ".ts",
    ".mts", ".dts", ".tta",
})
AUDIO_EXTENSIONS: Final = SOUNDFILE_EXTENSIONS | PYAV_EXTENSIONS
"""Extensions recognised when scanning folders (lower case, with the dot)."""


class AudioError(ValueError):
    """A file that cannot be used, with a message naming the file and the problem."""

    def __init__(self, path: Path | str, problem: str | None = None) -> None:
        if problem is None:  # AudioError("a whole message") also works
            super().__init__(str(path))
            self.path: Path | None = None
            self.problem = str(path)
            return
        super().__init__(f"{path}: {problem}")
        self.path = Path(path)
        self.problem = problem


@dataclass(frozen=True, slots=True)
class AudioInfo:
    path: Path
    duration_ms: int
    sample_rate: int
    channels: int
    format: str       # container: WAV, FLAC, OGG, MP3, M4A, WEBM ...
    num_frames: int   # samples per channel at sample_rate (exact after a full read)
    codec: str        # PCM_16, FLOAT, VORBIS, OPUS, MPEG_LAYER_III, aac, opus, wmav2 ...
    warnings: tuple[str, ...] = ()
    """Damage found and worked around, one sentence each ("truncated: the header declares
    53.53 s, the file holds 26.77 s; analysed the 26.77 s present"). Damage in the header is
    known at open; a cut found while decoding (FLAC, Ogg, MP3, MP4) after a full read."""


def _duration_ms(frames: int, rate: int) -> int:
    return frames * 1000 // rate


# A lossy file whose decoded length falls this far short of its header's (MP3's Xing frame
# count is exact; encoder padding differs by a few ms) was cut.
LOSSY_SHORTFALL_S: Final = 0.1


@dataclass(frozen=True, slots=True)
class OpenedSource:
    """A decoder and what the file's bytes showed before decoding."""

    source: Source
    damage: str | None = None   # header sizes wrong (WAV/AIFF...): read as repaired; described
    suspect: str | None = None  # a cut the container shows (Ogg's last page, MP4 boxes, MP3)


class AudioReader:
    """An open recording. Use as a context manager; see the module docstring."""

    def __init__(self, path: Path, opened: OpenedSource) -> None:
        source = opened.source
        self._path = path
        self._source = source
        self._opened = opened
        warnings = ((f"{opened.damage}; analysed the "
                     f"{source.num_frames / source.sample_rate:.2f} s present",)
                    if opened.damage is not None else ())
        self.info = AudioInfo(path, _duration_ms(source.num_frames, source.sample_rate),
                              source.sample_rate, source.channels, source.format,
                              source.num_frames, source.codec, warnings)

    def __enter__(self) -> AudioReader:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._source.close()

    def _check_channel(self, channel: int | None) -> None:
        n = self.info.channels
        if channel is not None and not 0 <= channel < n:
            raise AudioError(self._path, f"has {counted(n, 'channel')}; channel "
                             f"{channel} does not exist (choose 0 to {n - 1})")

    def blocks_original(self, block_frames: int, dtype: str = "float32"
                        ) -> Iterator[np.ndarray]:
        """(n, channels) blocks at the original rate from the start, checked for NaN/Inf.

        `dtype` as for read_original (see lossless_dtype()). Sample-exact for every format.
        A file cut mid-stream yields what decodes; after the last block `info` holds the
        exact length and, when the file was cut, the warning saying so.
        """
        done = 0
        try:
            for block in self._source.blocks(block_frames, dtype):
                if not np.isfinite(block).all():
                    bad = int(np.flatnonzero(~np.isfinite(block).all(axis=1))[0]) + done
                    raise AudioError(self._path, "contains NaN or infinite samples (first at "
                                     f"{bad / self.info.sample_rate:.3f} s)")
                done += block.shape[0]
                yield block
        except DecodeError as exc:
            raise AudioError(self._path, str(exc)) from None
        warnings = self.info.warnings
        found = self._cut_found(done)
        if found is not None:
            warning = f"{found}; analysed the {done / self.info.sample_rate:.2f} s present"
            if warning not in warnings:  # (a second pass finds the same)
                warnings = (*warnings, warning)
            log.info("%s: %s", self._path, warning)  # the caller reports it
        # Lossy formats: the header's length was an estimate; a cut file: the audio present.
        self.info = dataclasses.replace(self.info, num_frames=done, warnings=warnings,
                                        duration_ms=_duration_ms(done, self.info.sample_rate))

    def _cut_found(self, done: int) -> str | None:
        """What a full pass showed about a cut file (None: nothing, or known at open)."""
        if self._opened.damage is not None:
            return None
        rate, declared = self.info.sample_rate, self._source.num_frames
        short = (declared - done > LOSSY_SHORTFALL_S * rate
                 if self._source.format == "MP3" else
                 self._source.exact_length and done < declared)
        if short:
            return (f"truncated: the header declares {declared / rate:.2f} s, the file holds "
                    f"{done / rate:.2f} s")
        if self._opened.suspect is not None:
            return self._opened.suspect
        if self._source.stopped_early is not None:
            return (f"damaged or truncated: decoding stopped at {done / rate:.2f} s "
                    f"({self._source.stopped_early})")
        return None

    def blocks_16k(self, block_ms: int = 10_000, channel: int | None = None
                   ) -> Iterator[np.ndarray]:
        """float32 mono 16 kHz blocks (about block_ms each): the mean of the channels, or the
        0-based `channel`. After the last block, `info` holds the exact length."""
        if block_ms <= 0:
            raise ValueError(f"block_ms must be positive, got {block_ms}")
        self._check_channel(channel)
        rate = self.info.sample_rate
        resampler = Resampler16k(rate)
        for block in self.blocks_original(max(1, rate * block_ms // 1000)):
            out = resampler.process(to_mono(block, channel))
            if out.size:
                yield out
        tail = resampler.finish()
        if tail.size:
            yield tail

    def read_original(self, start_frame: int, stop_frame: int, dtype: str = "float32"
                      ) -> np.ndarray:
        """Samples [start_frame, stop_frame) as (n, channels) at the original rate.

        `dtype` 'float32' (default) or, for libsndfile sources, 'int16'/'int32'/'float64' to
        copy 32-bit PCM or double samples without loss.
        """
        if not 0 <= start_frame <= stop_frame:
            raise ValueError(f"bad span [{start_frame}, {stop_frame})")
        if isinstance(self._source, PyAVSource):
            dtype = "float32"
        try:
            return self._source.read(start_frame, stop_frame, dtype)
        except DecodeError as exc:
            raise AudioError(self._path, str(exc)) from None

    def lossless_dtype(self) -> str:
        """The dtype for read_original that copies this file's samples exactly."""
        if isinstance(self._source, SoundFileSource):
            return self._source.native_dtype()
        return "float32"

    @property
    def is_lossless(self) -> bool:
        return isinstance(self._source, SoundFileSource) and self._source.exact_length


def _open_source(path: Path) -> OpenedSource:
    try:
        head, size = sniff.read_head(path)
    except sniff.SniffError as exc:
        raise AudioError(path, str(exc)) from None
    if sniff.looks_like_text(head):
        raise AudioError(path, "not an audio file: it contains text")
    try:
        wav = sniff.parse_wav_header(path, size)
    except sniff.SniffError as exc:
        raise AudioError(path, str(exc)) from None
    layout = header_repair.inspect(path)
    if layout is not None and layout.damage is not None:
        # Sizes beyond the file or never filled in: read the whole frames present, as
        # `vaddesk repair` would write them, and say so.
        try:
            return OpenedSource(SoundFileSource(path, layout), layout.describe())
        except DecodeError as exc:  # a codec libsndfile lacks: FFmpeg below reads the file
            log.info("%s: libsndfile cannot read the repaired view: %s", path, exc)
    suspect = _container_cut(path, head, size)
    errors: list[str] = []
    suffix = path.suffix.lower()
    # libsndfile first for its formats (sample-exact seeking, exact lengths); FFmpeg otherwise,
    # and as the fallback for codecs libsndfile lacks (e.g. a WAV holding MP3 or a rare ADPCM).
    order = ("sf", "av") if suffix in SOUNDFILE_EXTENSIONS or wav is not None else ("av", "sf")
    for backend in order:
        try:
            source: Source = PyAVSource(path) if backend == "av" else SoundFileSource(path)
            return OpenedSource(source, suspect=suspect)
        except DecodeError as exc:
            errors.append(str(exc))
            if wav is None and ("no audio stream" in str(exc) or "unsupported codec" in str(exc)):
                raise AudioError(path, str(exc)) from None
    if wav is not None:
        raise AudioError(path, "unsupported codec: WAV holding "
                         f"{sniff.wav_codec_name(wav.format_tag)}, which neither libsndfile nor "
                         "FFmpeg decodes")
    raise AudioError(path, _summarise(errors))


def _container_cut(path: Path, head: bytes, size: int) -> str | None:
    """A cut the container shows before decoding (Ogg without its last page, an MP4 ending
    inside a box); AudioError for an MP4 that cannot be read at all (no index)."""
    if head.startswith(b"OggS"):
        if sniff.ogg_is_cut(path, size):
            return "truncated: the Ogg stream stops without its last page (the file was cut)"
        return None
    if path.suffix.lower() in (".mp3", ".mp2", ".mpga") or head.startswith(b"ID3"):
        if sniff.mp3_is_cut(path, size):
            return "truncated: the last MPEG audio frame is cut short (the file was cut)"
        return None
    if head[4:8] != b"ftyp":
        return None
    boxes = sniff.mp4_boxes(path, size)
    if boxes is None:
        return None
    if not boxes.has_index:
        raise AudioError(path, "the recording was interrupted before its index (the 'moov' "
                               "box, which MP4/M4A recorders write last) was written, so the "
                               "audio in it cannot be located; this file cannot be read as it is")
    if boxes.cut_box is not None:
        kind = "fragment" if boxes.fragmented else "box"
        return f"truncated: the file ends inside its '{boxes.cut_box}' {kind} (it was cut)"
    return None


def _summarise(errors: list[str]) -> str:
    joined = " / ".join(errors).lower()
    if "format not recognised" in joined or "invalid data" in joined:
        return "not a recognised audio file, or its header is corrupt"
    if "unsupported" in joined:
        return "unsupported codec or encoding: " + "; ".join(errors)
    return "cannot decode: " + "; ".join(errors)


def open_audio(path: Path) -> AudioReader:
    """Open a recording for streaming; AudioError (a ValueError) names the file and problem."""
    path = Path(path)
    return AudioReader(path, _open_source(path))


def probe(path: Path) -> AudioInfo:
    """Header facts without decoding (the length of lossy files is the header's estimate)."""
    with open_audio(path) as reader:
        return reader.info


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


# vaddesk's own clips (`<stem>_clips/<stem>_<NNN>_<start>-<end>.wav`, see vaddesk.export.names):
# a second recursive run over a folder must not segment the clips of the first.
_CLIP_NAME = re.compile(r"^(?P<stem>.+)_\d{3,}_\d+-\d+\.wav$")


# ... nor the speech-only audio of the first (`<stem>.speech.wav`, see vaddesk.export.condense).
_SPEECH_ONLY_NAME = re.compile(r"^.+\.speech\.(?:wav|flac|m4a|mp3|opus)$", re.IGNORECASE)


def _is_our_clip(path: Path) -> bool:
    if _SPEECH_ONLY_NAME.match(path.name):
        return True
    m = _CLIP_NAME.match(path.name)
    return m is not None and path.parent.name == f"{m['stem']}_clips"


def find_audio_files(inputs: Sequence[Path], recursive: bool) -> list[tuple[Path, Path]]:
    """Expand files and folders into (file, path relative to its input folder).

    Files named explicitly are kept whatever their extension (a bad one is reported when it is
    opened, so the user hears about it); folders contribute files with an audio extension,
    sorted, hidden files and vaddesk's own clips and speech-only files skipped, sub-folders
    only when `recursive`.
    """
    found: list[tuple[Path, Path]] = []
    seen: set[Path] = set()
    for raw in inputs:
        item = Path(raw)
        if item.is_dir():
            walker = item.rglob("*") if recursive else item.glob("*")
            children = sorted(
                p for p in walker
                if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file() and not _is_our_clip(p)
                and not any(_is_hidden(part) for part in p.relative_to(item).parts))
            for child in children:
                key = Path(os.path.abspath(child))
                if key not in seen:
                    seen.add(key)
                    found.append((child, child.relative_to(item)))
        else:
            key = Path(os.path.abspath(item))
            if key not in seen:
                seen.add(key)
                found.append((item, Path(item.name)))
    return found


__all__ = ["AUDIO_EXTENSIONS", "SAMPLE_RATE", "AudioError", "AudioInfo", "AudioReader",
           "find_audio_files", "open_audio", "probe"]
