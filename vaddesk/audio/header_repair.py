"""The size fields of PCM containers (WAV, RF64, W64, AIFF) checked against the bytes present,
and set from them: the one repair for a file whose writer stopped before finishing its header.

A recorder that crashes, a battery that dies or a copy that is cut leaves a header that promises
more audio than the file holds (or, from streaming writers, size fields of 0 / 0xFFFFFFFF that
were never filled in). The samples that are there are good. `read_layout` finds where the
samples start, how big a frame is and which header fields hold sizes; `PcmLayout.patches` are
the bytes that make those fields describe the whole frames present. Three users share it:

- decoding (vaddesk.audio.decode) reads a damaged file through `RepairedView`, the file as the
  repair would write it, without writing anything;
- `vaddesk repair` and the app's "Save a repaired copy…" write that same file
  (`write_repaired`; `replace_with_repaired` / `repair_in_place` atomically);
- the recorder (vaddesk.audio.recorder) patches its own recordings after a crash or a full disk
  (`patch_in_place`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import io
import math
import os
import struct
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Final, Literal

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

PLACEHOLDERS: Final = (0, 0xFFFFFFFF)  # what streaming writers leave in 32-bit size fields
_W64_RIFF: Final = b"riff\x2e\x91\xcf\x11\xa5\xd6\x28\xdb\x04\xc1\x00\x00"
_AIFF_PCM: Final = {b"NONE", b"sowt", b"twos", b"fl32", b"FL32", b"fl64", b"FL64", b"in24",
                    b"in32", b"raw "}
COPY_CHUNK_BYTES: Final = 1 << 20

Damage = Literal["truncated", "unset"]


@dataclass(frozen=True, slots=True)
class SizeField:
    """A header field that holds `base + data bytes` (or the number of frames)."""

    offset_bytes: int
    struct_format: str  # "<I", ">I", "<Q"
    base_bytes: int = 0
    counts_frames: bool = False
    counts_padding: bool = False  # the container's size (RIFF, FORM) covers the pad byte

    def value(self, data_bytes: int, block_align_bytes: int, pad_bytes: int) -> int:
        if self.counts_frames:
            return data_bytes // block_align_bytes
        return self.base_bytes + data_bytes + (pad_bytes if self.counts_padding else 0)

    @property
    def max_value(self) -> int:
        return int(2 ** (8 * struct.calcsize(self.struct_format)) - 1)


@dataclass(frozen=True, slots=True)
class PcmLayout:
    """Where a PCM container keeps its samples and its sizes."""

    container: str                   # WAV, RF64, W64, AIFF
    sample_rate: int
    block_align_bytes: int           # one frame, all channels (one block for ADPCM)
    data_offset_bytes: int           # first byte of the samples
    declared_data_bytes: int | None  # None: the size fields were never filled in
    file_bytes: int
    size_fields: tuple[SizeField, ...]
    chunk_align_bytes: int           # RIFF and AIFF chunks are padded to an even length

    @property
    def present_data_bytes(self) -> int:
        """Whole frames of sample data in the file (no more than the header declares, and no
        more than the header's fields can describe)."""
        available = max(0, self.file_bytes - self.data_offset_bytes)
        if self.declared_data_bytes is not None:
            available = min(available, self.declared_data_bytes)
        for field in self.size_fields:
            if not field.counts_frames:  # (room for a pad byte where the field counts it)
                available = min(available, field.max_value - field.base_bytes
                                - (self.chunk_align_bytes - 1) * field.counts_padding)
        return available - available % self.block_align_bytes

    @property
    def damage(self) -> Damage | None:
        if self.declared_data_bytes is None:
            return "unset"
        if self.declared_data_bytes > self.file_bytes - self.data_offset_bytes:
            return "truncated"
        return None

    def seconds(self, data_bytes: int) -> float:
        return data_bytes // self.block_align_bytes / self.sample_rate

    def describe(self) -> str:
        """What is wrong, for a user ("" when nothing is)."""
        present = self.seconds(self.present_data_bytes)
        if self.damage == "truncated":
            assert self.declared_data_bytes is not None
            return (f"truncated: the header declares {self.seconds(self.declared_data_bytes):.2f}"
                    f" s, the file holds {present:.2f} s")
        if self.damage == "unset":
            return ("unfinished header: its sizes were never filled in (a recorder or stream "
                    "writer stopped before finishing the file)")
        return ""

    @property
    def repaired_bytes(self) -> int:
        """Length of the repaired file: header, whole frames, the chunk's padding."""
        end = self.data_offset_bytes + self.present_data_bytes
        return end + (-end) % self.chunk_align_bytes

    def patches(self) -> tuple[tuple[int, bytes], ...]:
        """(offset, bytes) that make every size field describe the whole frames present."""
        data = self.present_data_bytes
        pad = self.repaired_bytes - self.data_offset_bytes - data
        return tuple((f.offset_bytes, struct.pack(f.struct_format,
                                                  f.value(data, self.block_align_bytes, pad)))
                     for f in self.size_fields)


def _declared(size: int, data_offset: int, file_bytes: int) -> int | None:
    """A size field's value; None for a placeholder (0 / 0xFFFFFFFF) that was never filled in.
    A 0 with nothing after the header is an empty recording, not a placeholder."""
    if size == 0 and file_bytes <= data_offset:
        return 0
    return None if size in PLACEHOLDERS else size


def _pread(fd: int, size: int, offset: int) -> bytes:
    if hasattr(os, "pread"):
        return os.pread(fd, size, offset)
    os.lseek(fd, offset, os.SEEK_SET)  # Windows has no pread
    return os.read(fd, size)


def _pwrite(fd: int, data: bytes, offset: int) -> None:
    if hasattr(os, "pwrite"):
        os.pwrite(fd, data, offset)
        return
    os.lseek(fd, offset, os.SEEK_SET)
    os.write(fd, data)


def read_layout(fd: int) -> PcmLayout | None:
    """The layout of an open WAV/RIFX/RF64/BW64/W64/AIFF(-C PCM) file; None for any other file
    or a header too corrupt to find the samples in."""
    file_bytes = os.fstat(fd).st_size
    head = _pread(fd, 16, 0)
    try:
        if head[:4] in (b"RIFF", b"RIFX", b"RF64", b"BW64") and head[8:12] == b"WAVE":
            return _riff_layout(fd, head[:4], file_bytes)
        if head == _W64_RIFF:
            return _w64_layout(fd, file_bytes)
        if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
            return _aiff_layout(fd, file_bytes)
    except (struct.error, ZeroDivisionError):
        return None
    return None


def _riff_layout(fd: int, riff_id: bytes, file_bytes: int) -> PcmLayout | None:
    endian = ">" if riff_id == b"RIFX" else "<"
    rf64 = riff_id in (b"RF64", b"BW64")
    rate = align = 0
    ds64: int | None = None
    pos = 12
    while pos + 8 <= file_bytes:
        cid, size = struct.unpack(endian + "4sI", _pread(fd, 8, pos))
        if cid == b"ds64":
            ds64 = pos + 8
        elif cid == b"fmt ":
            _, _, rate, _, align = struct.unpack(endian + "HHIIH", _pread(fd, 14, pos + 8))
        elif cid == b"data":
            if rate == 0 or align == 0:
                return None
            offset = pos + 8
            if rf64:
                if ds64 is None:
                    return None
                declared = struct.unpack("<Q", _pread(fd, 8, ds64 + 8))[0]
                fields: tuple[SizeField, ...] = (
                    SizeField(ds64, "<Q", offset - 8, counts_padding=True),
                    SizeField(ds64 + 8, "<Q"),
                    SizeField(ds64 + 16, "<Q", counts_frames=True))
                return PcmLayout("RF64", rate, align, offset, declared or None, file_bytes,
                                 fields, 2)
            fields = (SizeField(4, endian + "I", offset - 8, counts_padding=True),
                      SizeField(pos + 4, endian + "I"))
            return PcmLayout("WAV", rate, align, offset, _declared(size, offset, file_bytes),
                             file_bytes, fields, 2)
        pos += 8 + size + (size & 1)
    return None


def _w64_layout(fd: int, file_bytes: int) -> PcmLayout | None:
    rate = align = 0
    pos = 40  # riff GUID, size, wave GUID
    while pos + 24 <= file_bytes:
        guid = _pread(fd, 16, pos)
        size = struct.unpack("<Q", _pread(fd, 8, pos + 16))[0]
        if guid[:4] == b"fmt ":
            _, _, rate, _, align = struct.unpack("<HHIIH", _pread(fd, 14, pos + 24))
        elif guid[:4] == b"data":
            if rate == 0 or align == 0:
                return None
            offset = pos + 24
            declared = size - 24 if size not in (0, 0xFFFFFFFFFFFFFFFF) and size >= 24 else None
            fields = (SizeField(16, "<Q", offset), SizeField(pos + 16, "<Q", 24))
            # W64 aligns chunks to 8 bytes, but libsndfile reads a last chunk's padding as
            # samples: the last chunk is left unpadded, as libsndfile itself writes it.
            return PcmLayout("W64", rate, align, offset, declared, file_bytes, fields, 1)
        if size < 24:
            return None
        pos += size + (-size) % 8
    return None


def _extended_to_int(raw: bytes) -> int:
    """An AIFF sample rate: an 80-bit IEEE extended float."""
    exponent = struct.unpack(">H", raw[:2])[0] & 0x7FFF
    mantissa = struct.unpack(">Q", raw[2:10])[0]
    return round(math.ldexp(mantissa, exponent - 16383 - 63))


def _aiff_layout(fd: int, file_bytes: int) -> PcmLayout | None:
    comm: int | None = None
    channels = bits = rate = 0
    declared_frames = 0
    compression = b"NONE"
    pos = 12
    while pos + 8 <= file_bytes:
        cid, size = struct.unpack(">4sI", _pread(fd, 8, pos))
        if cid == b"COMM":
            comm = pos + 8
            body = _pread(fd, 22, comm)
            channels, declared_frames, bits = struct.unpack(">HIH", body[:8])
            rate = _extended_to_int(body[8:18])
            if len(body) >= 22 and size >= 22:
                compression = body[18:22]
        elif cid == b"SSND":
            if comm is None or channels == 0 or rate <= 0 or compression not in _AIFF_PCM:
                return None
            width = {b"fl32": 4, b"FL32": 4, b"fl64": 8, b"FL64": 8}.get(compression,
                                                                        (bits + 7) // 8)
            align = channels * width
            data_start = struct.unpack(">I", _pread(fd, 4, pos + 8))[0]
            offset = pos + 16 + data_start
            fields = (SizeField(4, ">I", offset - 8, counts_padding=True), SizeField(comm + 2, ">I",
                                                                 counts_frames=True),
                      SizeField(pos + 4, ">I", offset - (pos + 8)))
            frames = _declared(declared_frames, offset, file_bytes)
            declared = None if frames is None else frames * align
            return PcmLayout("AIFF", rate, align, offset, declared, file_bytes, fields, 2)
        pos += 8 + size + (size & 1)
    return None


def inspect(path: Path) -> PcmLayout | None:
    with open(path, "rb") as handle:
        return read_layout(handle.fileno())


class RepairedView(io.RawIOBase):
    """A damaged file read as its repair would write it: patched sizes, whole frames, padding;
    for libsndfile (soundfile reads file-like objects). The file itself is not changed."""

    def __init__(self, path: Path, layout: PcmLayout) -> None:
        super().__init__()
        self._file = open(path, "rb")  # noqa: SIM115 (closed by close())
        self._size = layout.repaired_bytes
        self._real = min(self._size, layout.file_bytes)
        self._patches = layout.patches()
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        n = max(0, min(len(view), self._size - self._pos))
        real = max(0, min(n, self._real - self._pos))
        if real:
            self._file.seek(self._pos)
            got = self._file.readinto(view[:real]) or 0
            view[got:real] = bytes(real - got)
        view[real:n] = bytes(n - real)  # the pad byte past the end of a cut file
        for offset, patch in self._patches:
            lo, hi = max(offset, self._pos), min(offset + len(patch), self._pos + n)
            if hi > lo:
                view[lo - self._pos:hi - self._pos] = patch[lo - offset:hi - offset]
        self._pos += n
        return n

    def close(self) -> None:
        self._file.close()
        super().close()


def _create(path: Path) -> BinaryIO:
    return open(path, "xb")  # never replaces a file


def write_repaired(source: Path, layout: PcmLayout, target: Path,
                   opener: Callable[[Path], BinaryIO] = _create) -> None:
    """Write the repaired file to `target` (which must not exist), synced to disk. On failure
    (a full disk) the partial `target` is removed. `opener` creates the file (tests simulate a
    full disk with it)."""
    out = opener(target)
    try:
        with RepairedView(source, layout) as view:
            while chunk := view.read(COPY_CHUNK_BYTES):
                rest = memoryview(chunk)
                while rest:  # a raw file may take part of a write
                    written = out.write(rest)
                    if not written:
                        raise OSError(errno.EIO, "write made no progress")
                    rest = rest[written:]
        out.flush()
        os.fsync(out.fileno())
    except BaseException:
        out.close()
        target.unlink(missing_ok=True)
        raise
    out.close()


def repair_in_place(path: Path, layout: PcmLayout,
                    opener: Callable[[Path], BinaryIO] = _create) -> None:
    """Replace `path` by its repaired version atomically (see `replace_with_repaired`)."""
    replace_with_repaired(path, layout, path, opener)


def replace_with_repaired(source: Path, layout: PcmLayout, target: Path,
                          opener: Callable[[Path], BinaryIO] = _create) -> None:
    """Write the repair of `source` to `target`, replacing it if it exists, atomically: the
    repair goes to a temporary file in `target`'s folder, which is renamed over `target`
    only when complete, so a failure at any point (a full disk, a crash) leaves `target` (the
    original itself, for an in-place repair) as it was."""
    handle, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".repair",
                                         dir=target.parent)
    os.close(handle)
    temp = Path(temp_name)
    try:
        temp.unlink()  # write_repaired creates it exclusively
        write_repaired(source, layout, temp, opener)
        with contextlib.suppress(OSError):
            os.chmod(temp, source.stat().st_mode & 0o7777)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    with contextlib.suppress(OSError):  # the rename itself reaches the disk
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def canonical_wav_layout(sample_rate: int, block_align_bytes: int) -> PcmLayout:
    """The layout of a 44-byte-header WAV (as vaddesk's recorder writes), with unknown sizes:
    for `patch_in_place` on a file opened write-only."""
    return PcmLayout("WAV", sample_rate, block_align_bytes, 44, None, 0,
                     (SizeField(4, "<I", 36, counts_padding=True), SizeField(40, "<I")), 2)


def patch_in_place(fd: int, known: PcmLayout | None = None) -> PcmLayout | None:
    """Set the size fields of an open file (read/write) to the whole frames it holds, in place,
    whatever the header declared: for the recorder's own files, whose samples run to the end
    of the file, after a crash or a full disk. Only header bytes change (no new disk space is
    needed); bytes past the last whole frame stay where they are.
    `known`: the file's layout when the caller wrote the header itself (the file may be open
    write-only). Returns the layout as patched: its `present_data_bytes` are what the header now
    declares (None: not a PCM container; nothing done).
    """
    found = read_layout(fd) if known is None else known
    if found is None:
        return None
    layout = dataclasses.replace(found, declared_data_bytes=None,
                                 file_bytes=os.fstat(fd).st_size)
    for offset, patch in layout.patches():
        _pwrite(fd, patch, offset)
    os.fsync(fd)
    return layout
