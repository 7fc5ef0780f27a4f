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

from vaddesk.audio import sniff
from vaddesk.audio.backends import DecodeError, PyAVSource, SoundFileSource, Source
from vaddesk.audio.resample import Resampler16k, to_mono
from vaddesk.core.types import SAMPLE_RATE

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


def _duration_ms(frames: int, rate: int) -> int:
    return frames * 1000 // rate


class AudioReader:
    """An open recording. Use as a context manager; see the module docstring."""

    def __init__(self, path: Path, source: Source) -> None:
        self._path = path
        self._source = source
        self.info = AudioInfo(path, _duration_ms(source.num_frames, source.sample_rate),
                              source.sample_rate, source.channels, source.format,
                              source.num_frames, source.codec)

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
            raise AudioError(self._path, f"has {n} channel{'s' if n > 1 else ''}; channel "
                             f"{channel} does not exist (choose 0 to {n - 1})")

    def blocks_original(self, block_frames: int, dtype: str = "float32"
                        ) -> Iterator[np.ndarray]:
        """(n, channels) blocks at the original rate from the start, checked for NaN/Inf.

        `dtype` as for read_original (see lossless_dtype()). Sample-exact for every format.
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
        expected = self.info.num_frames
        if self._source.exact_length and done < expected:
            raise AudioError(self._path, f"declared length {expected} frames is larger than the "
                             f"file, which holds {done} frames: the file is truncated")
        if done != expected:  # lossy formats: the header's length was an estimate
            self.info = dataclasses.replace(self.info, num_frames=done,
                                            duration_ms=_duration_ms(done, self.info.sample_rate))

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


def _open_source(path: Path) -> Source:
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
    errors: list[str] = []
    suffix = path.suffix.lower()
    # libsndfile first for its formats (sample-exact seeking, exact lengths); FFmpeg otherwise,
    # and as the fallback for codecs libsndfile lacks (e.g. a WAV holding MP3 or a rare ADPCM).
    order = ("sf", "av") if suffix in SOUNDFILE_EXTENSIONS or wav is not None else ("av", "sf")
    for backend in order:
        try:
            if backend == "av":
                return PyAVSource(path)
            source = SoundFileSource(path)
            if (source.num_frames == 0 and wav is not None and wav.data_bytes is None
                    and size - wav.data_offset >= wav.block_align):
                # A WAV whose writer never filled in the data size (0: a crashed recorder):
                # libsndfile reads nothing, FFmpeg reads the audio up to the end of the file.
                log.warning("%s: WAV data size is 0; reading to the end of the file", path)
                source.close()
                return PyAVSource(path)
            declared = sniff.aiff_declared_frames(path) if source.format == "AIFF" else None
            if declared is not None and declared > source.num_frames:
                source.close()  # libsndfile silently reads what is there, as for WAV
                rate = source.sample_rate
                raise AudioError(path, f"declared length {declared} frames "
                                 f"({declared / rate:.2f} s) is larger than the file, which holds "
                                 f"{source.num_frames} frames ({source.num_frames / rate:.2f} s): "
                                 "the file is truncated")
            return source
        except DecodeError as exc:
            errors.append(str(exc))
            if wav is None and ("no audio stream" in str(exc) or "unsupported codec" in str(exc)):
                raise AudioError(path, str(exc)) from None
    if wav is not None:
        raise AudioError(path, "unsupported codec: WAV holding "
                         f"{sniff.wav_codec_name(wav.format_tag)}, which neither libsndfile nor "
                         "FFmpeg decodes")
    raise AudioError(path, _summarise(errors))


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


def _is_our_clip(path: Path) -> bool:
    m = _CLIP_NAME.match(path.name)
    return m is not None and path.parent.name == f"{m['stem']}_clips"


def find_audio_files(inputs: Sequence[Path], recursive: bool) -> list[tuple[Path, Path]]:
    """Expand files and folders into (file, path relative to its input folder).

    Files named explicitly are kept whatever their extension (a bad one is reported when it is
    opened, so the user hears about it); folders contribute files with an audio extension,
    sorted, hidden files and vaddesk's own clips skipped, sub-folders only when `recursive`.
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
