"""File names that are valid on Windows, macOS and Linux, whatever the input was called."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from vaddesk.core.types import Segment

# Windows forbids these characters and control codes; '/' and NUL are forbidden everywhere.
_FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_RESERVED: Final = frozenset(
    {"CON", "PRN", "AUX", "NUL"} | {f"COM{i}" for i in range(1, 10)}
    | {f"LPT{i}" for i in range(1, 10)})
MAX_STEM_BYTES: Final = 150  # leaves room for "_NNN_<start>-<end>.wav" and temp names in 255


def safe_stem(stem: str) -> str:
    """A portable file-name stem: NFC (macOS stores NFD), no forbidden characters, no trailing
    dot or space (Windows drops them), not a reserved device name, at most 150 UTF-8 bytes.
    Letters of any script and spaces are kept."""
    text = unicodedata.normalize("NFC", stem)
    # Undecodable bytes in POSIX names arrive as lone surrogates: replace them too.
    text = "".join("_" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)
    text = _FORBIDDEN.sub("_", text).strip().rstrip(". ")
    if not text:
        text = "audio"
    if text.split(".")[0].upper() in _RESERVED:
        text = "_" + text
    encoded = text.encode("utf-8")
    if len(encoded) > MAX_STEM_BYTES:
        text = encoded[:MAX_STEM_BYTES].decode("utf-8", errors="ignore").rstrip(". ")
    return text


def clip_name(stem: str, index: int, segment: Segment, total: int) -> str:
    """`<stem>_<NNN>_<start_ms>-<end_ms>.wav`; NNN is 1-based, at least 3 digits."""
    width = max(3, len(str(total)))
    return f"{stem}_{index:0{width}d}_{segment.start_ms}-{segment.end_ms}.wav"


def clip_pattern(stem: str) -> re.Pattern[str]:
    """Matches the clip names clip_name() makes for this stem (to find stale clips)."""
    return re.compile(rf"^{re.escape(stem)}_\d{{3,}}_\d+-\d+\.wav$")
