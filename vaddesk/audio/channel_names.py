"""Who is on which channel of a recording, stored in the WAV itself (a LIST/INFO comment).

A two-sided recording made by vaddesk says "vaddesk channels: You=microphone|Others=computer
audio" in its ICMT comment, so that analysing it later names the sides without being told.
The comment is a standard RIFF INFO chunk: every player ignores it, libsndfile and FFmpeg
show it as the file's comment.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import soundfile as sf

log = logging.getLogger(__name__)

PREFIX: Final = "vaddesk channels: "


@dataclass(frozen=True, slots=True)
class ChannelNames:
    speakers: tuple[str, ...]
    sources: tuple[str, ...]  # what each channel captured ("microphone", "computer audio")


def format_comment(names: ChannelNames) -> str:
    if len(names.speakers) != len(names.sources):
        raise ValueError(f"{len(names.speakers)} speakers for {len(names.sources)} sources")
    for text in (*names.speakers, *names.sources):
        if any(c in text for c in "=|\0"):
            raise ValueError(f"a channel name may not contain '=', '|' or NUL: {text!r}")
    return PREFIX + "|".join(f"{s}={src}" for s, src in
                             zip(names.speakers, names.sources, strict=True))


def parse_comment(comment: str) -> ChannelNames | None:
    if not comment.startswith(PREFIX):
        return None
    speakers, sources = [], []
    for part in comment[len(PREFIX):].split("|"):
        speaker, sep, source = part.partition("=")
        if not sep or not speaker:
            return None
        speakers.append(speaker)
        sources.append(source)
    return ChannelNames(tuple(speakers), tuple(sources))


def info_chunk(names: ChannelNames) -> bytes:
    """A RIFF `LIST` chunk of type INFO holding the ICMT comment (padded to even length)."""
    text = format_comment(names).encode("utf-8") + b"\0"
    if len(text) % 2:
        text += b"\0"
    icmt = b"ICMT" + struct.pack("<I", len(text)) + text
    return b"LIST" + struct.pack("<I", 4 + len(icmt)) + b"INFO" + icmt


def read_channel_names(path: Path) -> ChannelNames | None:
    """The names a vaddesk recording stores, or None (other files, formats without tags)."""
    try:
        with sf.SoundFile(str(path)) as handle:
            comment = handle.comment or ""
    except (sf.LibsndfileError, RuntimeError, OSError, TypeError):
        return None  # not a libsndfile format: not one of our recordings
    return parse_comment(comment)

