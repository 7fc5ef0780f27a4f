"""Cheap checks on a file's bytes, so that bad input gets a specific message.

Decoders report most problems as a generic "cannot open"; these checks tell the user *which*
problem it is (missing, unreadable, empty, text, truncated header, length larger than the file,
unsupported codec) before or after a decoder fails.
"""

from __future__ import annotations

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

    Raises SniffError for a header too corrupt to find the audio in (a data chunk that declares
    more than the file holds is not one: see vaddesk.audio.header_repair).
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
                # A declared size beyond the file (a cut copy) or a placeholder is not an
                # error: vaddesk.audio.header_repair reads the whole frames that are there.
                known = not rf64 and size not in _UNKNOWN_SIZES
                return WavHeader(tag, channels, rate, align, offset, size if known else None)
            if size > file_size:
                raise SniffError(f"truncated or corrupt header: chunk {cid!r} declares "
                                 f"{size} bytes in a {file_size}-byte file")
            pos += 8 + size + (size & 1)


def wav_codec_name(tag: int) -> str:
    return _WAV_TAGS.get(tag, f"format tag 0x{tag:04X}")


def ogg_is_cut(path: Path, file_size: int) -> bool:
    """True when an Ogg file does not end with a complete end-of-stream page: a cut copy or an
    interrupted recording (libsndfile then reads what is there without a word)."""
    tail_bytes = min(file_size, 65_307 + 27)  # the largest possible page and a header
    with open(path, "rb") as handle:
        handle.seek(file_size - tail_bytes)
        tail = handle.read(tail_bytes)
    at = tail.rfind(b"OggS")
    while at >= 0:
        header = tail[at:at + 27]
        if len(header) == 27 and header[4] == 0:
            segments = header[26]
            table = tail[at + 27:at + 27 + segments]
            end = at + 27 + segments + sum(table)
            if len(table) < segments or end > len(tail):
                return True  # the last page is cut short
            if end == len(tail):
                return not header[5] & 0x04  # complete; is it the end of the stream?
        at = tail.rfind(b"OggS", 0, at)
    return False


@dataclass(frozen=True, slots=True)
class Mp4Boxes:
    """The top-level boxes of an MP4/M4A/MOV file."""

    names: tuple[str, ...]
    cut_box: str | None  # the box the file ends inside of (cut or interrupted), if any

    @property
    def has_index(self) -> bool:
        return "moov" in self.names

    @property
    def fragmented(self) -> bool:
        return "moof" in self.names


def mp4_boxes(path: Path, file_size: int) -> Mp4Boxes | None:
    """Walk the top-level boxes; None when the file is not an ISO media file ('ftyp' first)."""
    names: list[str] = []
    with open(path, "rb") as handle:
        pos = 0
        while pos + 8 <= file_size:
            handle.seek(pos)
            header = handle.read(16)
            size, kind = struct.unpack(">I4s", header[:8])
            name = kind.decode("latin-1")
            if not names and name != "ftyp":
                return None
            names.append(name)
            if size == 1 and len(header) == 16:
                size = struct.unpack(">Q", header[8:16])[0]
            elif size == 0:  # "to the end of the file": a writer that never came back to it
                return Mp4Boxes(tuple(names), name if name == "mdat" else None)
            if size < 8:
                return Mp4Boxes(tuple(names), name)
            if pos + size > file_size:
                return Mp4Boxes(tuple(names), name)
            pos += size
    return Mp4Boxes(tuple(names), None) if names else None


# MPEG audio frame headers: bit rates (kbit/s) by (MPEG-1?, layer) and sample rates by version.
_MPEG_BITRATES: Final = {
    (True, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 3): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MPEG_RATES: Final = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000),
                      0: (11025, 12000, 8000)}
_MP3_TAIL_BYTES: Final = 64 * 1024
_MP3_CHAIN: Final = 4  # consecutive frames that make a sync pattern a real frame


def _mpeg_frame(head: bytes) -> tuple[int, int] | None:
    """(frame length in bytes, stream kind) of an MPEG audio frame header; None if not one."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return None
    version, layer_bits = (head[1] >> 3) & 3, (head[1] >> 1) & 3
    rate_index, bitrate_index = (head[2] >> 2) & 3, head[2] >> 4
    if version == 1 or layer_bits == 0 or rate_index == 3 or bitrate_index in (0, 15):
        return None
    layer = 4 - layer_bits
    mpeg1 = version == 3
    bitrate = _MPEG_BITRATES[(mpeg1, layer)][bitrate_index] * 1000
    rate = _MPEG_RATES[version][rate_index]
    padding = (head[2] >> 1) & 1
    if layer == 1:
        size = (12 * bitrate // rate + padding) * 4
    elif layer == 3 and not mpeg1:
        size = 72 * bitrate // rate + padding
    else:
        size = 144 * bitrate // rate + padding
    return size, (head[1] & 0xFE) << 8 | (head[2] & 0x0C)


def mp3_is_cut(path: Path, file_size: int) -> bool:
    """True when an MPEG audio file's last frame runs past the end of the file (a cut copy).

    MP3s without a Xing/LAME header state no length, so a cut shows only here. The last 64 KB
    are searched for a chain of frames (each header giving the next one's position); the
    chain must end exactly at the end of the audio (before ID3v1/APE tags). A file cut
    exactly between two frames cannot be told from an intact one.
    """
    start = max(0, file_size - _MP3_TAIL_BYTES)
    with open(path, "rb") as handle:
        handle.seek(start)
        tail = handle.read()
    end = len(tail)
    if end >= 128 and tail[end - 128:end - 125] == b"TAG":
        end -= 128
    if end >= 32 and tail[end - 32:end - 24] == b"APETAGEX":
        end -= 32 + struct.unpack("<I", tail[end - 20:end - 16])[0]
    at = tail.find(b"\xff")
    while 0 <= at < end - 4:
        first = _mpeg_frame(tail[at:at + 4])
        if first is not None:
            pos, count, kind = at, 0, first[1]
            while pos + 4 <= end:
                frame = _mpeg_frame(tail[pos:pos + 4])
                if frame is None or frame[1] != kind:
                    break
                pos += frame[0]
                count += 1
            if count >= _MP3_CHAIN and pos + 4 > end:
                # the chain reached the end: exactly, or with a frame (or a header) cut short
                return pos != end
        at = tail.find(b"\xff", at + 1)
    return False
