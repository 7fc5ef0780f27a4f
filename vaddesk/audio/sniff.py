"""Cheap checks on a file's bytes, so that bad input gets a specific message.

Decoders report most problems as a generic "cannot open"; these checks tell the user *which*
problem it is (missing, unreadable, empty, text, truncated header, length larger than the file,
unsupported codec) before or after a decoder fails.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Final

HEAD_BYTES: Final = 4096

# Magic numbers of containers we can meet; a file starting with one of these is not "text".
_MAGICS: Final = (b"RIFF", b"RIFX", b"RF64", b"BW64", b"FORM", b"fLaC", b"OggS", b"ID3",
                  b".snd", b"caff", b"\x1aE\xdf\xa3", b"0&\xb2u")

_WAV_TAGS: Final = {0x0001: "PCM", 0x0003: "IEEE float", 0x0006: "A-law", 0x0007: "mu-law",
                    0x0002: "MS ADPCM", 0x0011: "IMA ADPCM", 0x0031: "GSM 6.10",
                    0x0055: "MPEG Layer III", 0xFFFE: "extensible"}
_UNKNOWN_SIZES: Final = (0, 0xFFFFFFFF)  # streaming writers leave these as placeholders


class SniffError(Exception):
    """A specific, user-facing problem found in the file's bytes (no path in the message)."""


def read_head(path: Path) -> tuple[bytes, int]:
    """First bytes and size of a file; SniffError for missing / folder / unreadable / empty."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise SniffError("file not found") from None
    except PermissionError:
        raise SniffError("permission denied (cannot access the file)") from None
    if path.is_dir():
        raise SniffError("is a folder, not an audio file")
    try:
        with open(path, "rb") as handle:
            head = handle.read(HEAD_BYTES)
    except PermissionError:
        raise SniffError("permission denied (cannot read the file)") from None
    except OSError as exc:
        raise SniffError(f"cannot read the file ({exc.strerror or exc})") from None
    if st.st_size == 0:
        raise SniffError("file is empty (0 bytes)")
    return head, st.st_size


def looks_like_text(head: bytes) -> bool:
    """True for a file that is plainly text (a note, a CSV, HTML) rather than audio."""
    if head.startswith(_MAGICS):
        return False
    sample = head[:1024]
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still text.
        if exc.start < len(sample) - 4:
            return False
        text = sample[: exc.start].decode("utf-8")
    return bool(text) and all(ch.isprintable() or ch in "\t\r\n\f" for ch in text)


@dataclass(frozen=True, slots=True)
class WavHeader:
    format_tag: int
    channels: int
    sample_rate: int
    block_align: int
    data_offset: int
    data_bytes: int | None  # None: unknown (streaming placeholder or RF64)


def parse_wav_header(path: Path, file_size: int) -> WavHeader | None:
    """Walk the RIFF chunks of a WAV file; None when it is not a RIFF/WAVE file at all.

    Raises SniffError for a truncated or corrupt header and for a data chunk that declares
    more audio than the file holds (libsndfile silently reads what is there; users would get
    a shorter result without knowing the recording was cut).
    """
    with open(path, "rb") as handle:
        riff = handle.read(12)
        if len(riff) < 4 or riff[:4] not in (b"RIFF", b"RIFX", b"RF64", b"BW64"):
            return None
        if len(riff) < 12 or riff[8:12] != b"WAVE":
            raise SniffError("truncated or corrupt header: not a complete RIFF/WAVE header")
        endian = ">" if riff[:4] == b"RIFX" else "<"
        rf64 = riff[:4] in (b"RF64", b"BW64")
        fmt: tuple[int, int, int, int] | None = None
        pos = 12
        while True:
            handle.seek(pos)
            chunk = handle.read(8)
            if len(chunk) < 8:
                missing = "'fmt '" if fmt is None else "'data'"
                raise SniffError(f"truncated or corrupt header: no {missing} chunk")
            cid, size = chunk[:4], struct.unpack(endian + "I", chunk[4:])[0]
            if cid == b"fmt ":
                body = handle.read(16)
                if len(body) < 16:
                    raise SniffError("truncated or corrupt header: 'fmt ' chunk is cut short")
                tag, channels, rate, _, align = struct.unpack(endian + "HHIIH", body[:14])
                if channels == 0 or rate == 0 or align == 0:
                    raise SniffError("truncated or corrupt header: 'fmt ' chunk declares "
                                     f"{channels} channels at {rate} Hz")
                fmt = (tag, channels, rate, align)
            elif cid == b"data":
                if fmt is None:
                    raise SniffError("truncated or corrupt header: 'data' before 'fmt '")
                tag, channels, rate, align = fmt
                offset = pos + 8
                known = not rf64 and size not in _UNKNOWN_SIZES
                if known and size > file_size - offset:
                    declared = size // align
                    present = max(0, file_size - offset) // align
                    raise SniffError(
                        f"declared length {declared} frames ({declared / rate:.2f} s) is larger "
                        f"than the file, which holds {present} frames ({present / rate:.2f} s): "
                        "the file is truncated")
                return WavHeader(tag, channels, rate, align, offset, size if known else None)
            if size > file_size:
                raise SniffError(f"truncated or corrupt header: chunk {cid!r} declares "
                                 f"{size} bytes in a {file_size}-byte file")
            pos += 8 + size + (size & 1)


def wav_codec_name(tag: int) -> str:
    return _WAV_TAGS.get(tag, f"format tag 0x{tag:04X}")


def is_readable(path: Path) -> bool:
    return os.access(path, os.R_OK)


def aiff_declared_frames(path: Path) -> int | None:
    """numSampleFrames of an AIFF/AIFC file's COMM chunk (None if not AIFF or no COMM)."""
    with open(path, "rb") as handle:
        form = handle.read(12)
        if len(form) < 12 or form[:4] != b"FORM" or form[8:12] not in (b"AIFF", b"AIFC"):
            return None
        pos = 12
        while True:
            handle.seek(pos)
            chunk = handle.read(8)
            if len(chunk) < 8:
                return None
            cid, size = chunk[:4], struct.unpack(">I", chunk[4:])[0]
            if cid == b"COMM":
                body = handle.read(6)
                return struct.unpack(">I", body[2:6])[0] if len(body) == 6 else None
            pos += 8 + size + (size & 1)
