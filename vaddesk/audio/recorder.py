"""Crash-safe WAV recording: what was captured is on disk and openable, whatever happens.

How little is lost:
- every block handed to ``write()`` goes to the kernel at once (``os.write`` through an
  unbuffered file), so a killed process (``kill -9``) loses nothing it had written;
- every ``sync_interval_s`` (0.5 s of audio) the data is fsync'ed, then the RIFF/data sizes in the
  header are patched and fsync'ed again, so after a power loss the file holds everything up to
  the last sync and its header never claims more data than reached the disk;
- a marker file ``<name>.wav.recording`` (holding the writer's pid) exists while a recording is
  open. ``recover_recordings()`` (run at the next start) finds markers whose process is gone,
  sets the header sizes from the file length and tells the caller what it repaired;
- a full disk or any I/O error stops the recording cleanly: the header is patched to the data
  that did reach the file, which stays readable, and ``RecordingStorageError`` says what happened.

Recordings are 16 kHz 16-bit PCM WAV (115 MB per hour and channel), named by local date and
time. A two-sided recording (microphone + computer audio) has two channels and says who is on
which in a RIFF INFO comment (vaddesk.audio.channel_names) placed before the data chunk, so the
header keeps a fixed length for the whole recording.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import logging
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final

import numpy as np

from vaddesk.audio import header_repair
from vaddesk.audio.channel_names import ChannelNames, info_chunk
from vaddesk.core.timefmt import format_ms
from vaddesk.core.types import SAMPLE_RATE

log = logging.getLogger(__name__)

HEADER_BYTES: Final = 44
BYTES_PER_SAMPLE: Final = 2
SYNC_INTERVAL_S: Final = 0.5
MARKER_SUFFIX: Final = ".recording"
MAX_DATA_BYTES: Final = 0xFFFFFFFF - 36  # the RIFF size field is 32 bits (~37 h at 16 kHz)


def default_recordings_dir() -> Path:
    """The platform's user data folder + recordings (``VADDESK_RECORDINGS_DIR`` overrides)."""
    override = os.environ.get("VADDESK_RECORDINGS_DIR")
    if override:
        return Path(override)
    from platformdirs import user_data_dir

    return Path(user_data_dir("vaddesk", appauthor=False)) / "recordings"


def new_recording_path(folder: Path, now: _dt.datetime | None = None) -> Path:
    """``recording-YYYY-MM-DD_HH-MM-SS.wav`` in ``folder`` (``-2``, ``-3``... if taken)."""
    stamp = (now or _dt.datetime.now()).strftime("%Y-%m-%d_%H-%M-%S")
    path = folder / f"recording-{stamp}.wav"
    n = 2
    while path.exists() or _marker(path).exists():
        path = folder / f"recording-{stamp}-{n}.wav"
        n += 1
    return path


def _marker(path: Path) -> Path:
    return path.with_name(path.name + MARKER_SUFFIX)


def wav_header(data_bytes: int, samplerate: int = SAMPLE_RATE, channels: int = 1,
               info: bytes = b"") -> bytes:
    """A PCM16 WAV header for ``data_bytes`` of samples: the canonical 44 bytes, plus the
    ``info`` chunk (e.g. a LIST/INFO comment) between ``fmt `` and ``data``."""
    block_align = BYTES_PER_SAMPLE * channels
    fmt = struct.pack("<4sI4s4sIHHIIHH", b"RIFF", 36 + len(info) + data_bytes, b"WAVE",
                      b"fmt ", 16, 1, channels, samplerate, samplerate * block_align,
                      block_align, 8 * BYTES_PER_SAMPLE)
    return fmt + info + struct.pack("<4sI", b"data", data_bytes)


def _written_layout(samplerate: int, frame_bytes: int, header_bytes: int
                    ) -> header_repair.PcmLayout:
    """The layout of a header wav_header() wrote (sizes unknown): for patch_in_place on a file
    open write-only."""
    if header_bytes == HEADER_BYTES:
        return header_repair.canonical_wav_layout(samplerate, frame_bytes)
    return header_repair.PcmLayout(
        "WAV", samplerate, frame_bytes, header_bytes, None, 0,
        (header_repair.SizeField(4, "<I", header_bytes - 8, counts_padding=True),
         header_repair.SizeField(header_bytes - 4, "<I")), 2)


class RecordingStorageError(OSError):
    """Writing the recording failed (disk full, I/O error); the file holds what came before."""

    def __str__(self) -> str:  # the sentence for the user, without OSError's "[Errno N]"
        return str(self.strerror)


def _default_open(path: Path) -> BinaryIO:
    # "xb": never overwrite an existing recording; buffering=0: every write reaches the kernel.
    return open(path, "xb", buffering=0)


class WavRecorder:
    """Writes one recording. Not thread-safe: one thread (the live worker) owns it."""

    def __init__(self, path: Path, *, samplerate: int = SAMPLE_RATE,
                 sync_interval_s: float = SYNC_INTERVAL_S,
                 opener: Callable[[Path], BinaryIO] = _default_open, channels: int = 1,
                 names: ChannelNames | None = None) -> None:
        self.path = Path(path)
        self.samplerate = samplerate
        self.channels = channels
        self._frame_bytes = BYTES_PER_SAMPLE * channels
        self._sync_every_bytes = max(self._frame_bytes,
                                     int(sync_interval_s * samplerate) * self._frame_bytes)
        info = info_chunk(names) if names is not None else b""
        header = wav_header(0, samplerate, channels, info)
        self._header_bytes = len(header)
        room = 0xFFFFFFFF - (self._header_bytes - 8)  # the 32-bit RIFF size field
        self._max_data_bytes = room - room % self._frame_bytes
        self.path.parent.mkdir(parents=True, exist_ok=True)
        marker = _marker(self.path)
        marker.write_text(f"{os.getpid()}\n", "utf-8")
        try:
            self._file: BinaryIO | None = opener(self.path)
            self._file.write(header)
        except OSError as exc:
            marker.unlink(missing_ok=True)
            raise RecordingStorageError(exc.errno or errno.EIO,
                                        f"cannot create {self.path}: {exc.strerror or exc}"
                                        ) from exc
        self._data_bytes = 0       # bytes of samples the kernel accepted
        self._synced_bytes = 0     # bytes the header currently declares
        self._failed: RecordingStorageError | None = None
        self.sync_count = 0

    @property
    def duration_ms(self) -> int:
        return self._data_bytes // self._frame_bytes * 1000 // self.samplerate

    @property
    def samples_written(self) -> int:
        """Frames written (samples per channel)."""
        return self._data_bytes // self._frame_bytes

    @property
    def closed(self) -> bool:
        return self._file is None

    def write(self, samples: np.ndarray) -> None:
        """Append float samples in [-1, 1] (clipped). Raises RecordingStorageError on failure,
        after closing the file so that what came before stays readable."""
        if self._file is None:
            if self._failed is not None:
                raise self._failed
            raise RecordingStorageError(errno.EBADF, f"{self.path} is closed")
        if samples.size == 0:
            return
        if (samples.ndim == 2 and samples.shape[1] != self.channels) or \
                (samples.ndim == 1 and self.channels != 1):
            raise ValueError(f"samples of shape {samples.shape} for a {self.channels}-channel "
                             "recording")
        # x32768 (not 32767): a 16-bit file read back as float (k / 32768, as soundfile does)
        # and recorded again gives the very same samples.
        pcm = np.clip(np.rint(samples * 32768.0), -32768, 32767).astype("<i2").tobytes()
        if self._data_bytes + len(pcm) > self._max_data_bytes:
            self._fail(RecordingStorageError(errno.EFBIG, "the WAV size limit (4 GB) is reached"))
        try:
            view = memoryview(pcm)
            while view:  # an unbuffered write may be partial
                n = self._file.write(view)
                if n is None or n <= 0:
                    raise OSError(errno.EIO, "write returned no progress")
                self._data_bytes += n
                view = view[n:]
            if self._data_bytes - self._synced_bytes >= self._sync_every_bytes:
                self._sync()
        except OSError as exc:
            self._fail(exc)

    def _sync(self) -> None:
        """Data to disk first, then the header that declares it."""
        assert self._file is not None
        fd = self._file.fileno()
        # Whole frames only: a partial write can leave half a frame at the end.
        data = self._data_bytes - self._data_bytes % self._frame_bytes
        os.fsync(fd)
        os.pwrite(fd, struct.pack("<I", self._header_bytes - 8 + data), 4)
        os.pwrite(fd, struct.pack("<I", data), self._header_bytes - 4)
        os.fsync(fd)
        self._synced_bytes = data
        self.sync_count += 1

    def _fail(self, exc: OSError) -> None:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        if exc.errno == errno.ENOSPC:
            reason = "the disk is full"
        error = RecordingStorageError(
            exc.errno or errno.EIO,
            f"recording stopped: {reason}; {self.path.name} keeps the first "
            f"{format_ms(self.duration_ms, digits=1, hours=True)}")
        log.error("writing %s failed: %s", self.path, exc)
        self._failed = error
        self._close_file()
        raise error from exc

    def close(self) -> None:
        """Final header and close; removes the crash marker. Safe to call twice."""
        if self._file is None:
            return
        try:
            self._sync()
        except OSError as exc:
            log.error("final sync of %s failed: %s", self.path, exc)
        self._close_file()

    def _close_file(self) -> None:
        f, self._file = self._file, None
        if f is None:
            return
        with contextlib.suppress(OSError):
            # Patching the header needs no new disk space, so it works on a full disk too.
            _patch_header_from_length(f.fileno(), _written_layout(
                self.samplerate, self._frame_bytes, self._header_bytes))
        with contextlib.suppress(OSError):
            f.close()
        _marker(self.path).unlink(missing_ok=True)

    def read_samples(self, start: int, stop: int) -> np.ndarray:
        """Frames [start, stop) written so far, as float32 (clips cut while recording): shape
        (n,) for mono, (n, channels) else."""
        stop = min(stop, self.samples_written)
        if stop <= start:
            return np.zeros(0 if self.channels == 1 else (0, self.channels), np.float32)
        with open(self.path, "rb") as f:
            f.seek(self._header_bytes + start * self._frame_bytes)
            raw = f.read((stop - start) * self._frame_bytes)
        out = np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
        return out if self.channels == 1 else out.reshape(-1, self.channels)

    def __enter__(self) -> WavRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _patch_header_from_length(fd: int, known: header_repair.PcmLayout | None = None) -> int:
    """Header sizes set from the file length (whole frames): the repair `vaddesk repair`
    applies to other tools' files too (vaddesk.audio.header_repair). With `known`, the header
    is the one WavRecorder wrote (the file may be open write-only). Returns the data bytes now
    declared."""
    layout = header_repair.patch_in_place(fd, known)
    if layout is None:
        raise OSError(errno.EINVAL, "not a WAV header")
    return layout.present_data_bytes


# --- recovery ----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class RecoveredRecording:
    path: Path
    duration_ms: int
    declared_ms: int
    """What the header said before the repair (the loss had we not repaired it)."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_recordings(folder: Path | None = None) -> list[RecoveredRecording]:
    """Repair recordings left by a crash in ``folder`` (default: the recordings folder).

    A recording is left by a crash when its ``.recording`` marker exists and the process that
    wrote it is gone. Its header sizes are set from the file length (whole samples); the marker
    is removed. Recordings of a live process (another vaddesk recording now) are left alone.
    """
    folder = folder if folder is not None else default_recordings_dir()
    if not folder.is_dir():
        return []
    repaired = []
    for marker in sorted(folder.glob("*.wav" + MARKER_SUFFIX)):
        wav = marker.with_name(marker.name[: -len(MARKER_SUFFIX)])
        try:
            pid = int(marker.read_text("utf-8").split()[0])
        except (OSError, ValueError, IndexError):
            pid = -1
        if pid > 0 and pid != os.getpid() and _pid_alive(pid):
            continue
        if not wav.exists() or wav.stat().st_size < HEADER_BYTES:
            log.warning("crash marker %s has no usable recording; removing it", marker)
            with contextlib.suppress(OSError):
                if wav.exists():
                    wav.unlink()
            marker.unlink(missing_ok=True)
            continue
        try:
            with open(wav, "r+b") as f:
                # Chunks between fmt and data (a two-sided recording's names) are skipped.
                layout = header_repair.read_layout(f.fileno())
                if layout is None or layout.container != "WAV":
                    log.warning("%s is not a vaddesk WAV; leaving it as it is", wav)
                    continue
                samplerate = layout.sample_rate
                declared = layout.declared_data_bytes or 0
                frame_bytes = layout.block_align_bytes
                data = _patch_header_from_length(f.fileno())
        except OSError as exc:
            log.error("cannot repair %s: %s", wav, exc)
            continue
        marker.unlink(missing_ok=True)
        bps = frame_bytes * samplerate
        found = RecoveredRecording(wav, data * 1000 // bps, declared * 1000 // bps)
        log.warning("repaired %s left by a crash: %d ms (header said %d ms)", wav,
                    found.duration_ms, found.declared_ms)
        repaired.append(found)
    return repaired

