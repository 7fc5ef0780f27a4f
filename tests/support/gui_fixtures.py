"""Shared pieces of the GUI tests: a generated recording and a real main window.

The recording is real synthetic speech (espeak-ng) with pauses, made with sox, so the engine
finds several segments and changing the end silence merges some of them.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf

from vaddesk.core.params import VadParams
from vaddesk.core.types import Segment

PHRASES = (
    ("Good morning everyone, thank you for joining the weekly meeting.", 0.35),
    ("First item on the agenda is the budget.", 0.9),
    ("Yes, I agree.", 1.6),
    ("We need two more people on the support team before summer.", 0.5),
    ("Any questions so far?", 2.4),
    ("Then let us move on to the next item.", 0.0),
)


def tools_missing() -> list[str]:
    return [t for t in ("espeak-ng", "sox") if shutil.which(t) is None]


def make_recording(folder: Path, name: str = "meeting.wav", rate: int = 16_000) -> Path:
    """espeak-ng phrases with pauses of 0.35-2.4 s, joined by sox, `rate` Hz mono 16-bit.

    sox runs with -R (repeatable): its dither to 16 bits is otherwise seeded anew every run, and
    the pauses' dither noise then moved segment edges by 10 ms and the quietest frame of a
    pause from run to run."""
    folder.mkdir(parents=True, exist_ok=True)
    parts: list[str] = []
    for i, (text, pause_s) in enumerate(PHRASES):
        raw = folder / f"_p{i}.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "160", "-w", str(raw), text],
                       check=True, capture_output=True)
        part = folder / f"_q{i}.wav"
        subprocess.run(["sox", "-R", str(raw), "-r", str(rate), "-c", "1", "-b", "16", str(part),
                        "pad", "0", str(pause_s)], check=True, capture_output=True)
        parts.append(str(part))
    out = folder / name
    subprocess.run(["sox", "-R", *parts, str(out), "pad", "0.8", "0.5"], check=True,
                   capture_output=True)
    return out


def make_long_recording(source: Path, out: Path, seconds: int) -> Path:
    """`source` repeated to `seconds` long (sox), for the responsiveness test."""
    info = sf.info(str(source))
    repeats = int(np.ceil(seconds / info.duration))
    subprocess.run(["sox", "-R", str(source), str(out), "repeat", str(repeats), "trim", "0",
                    str(seconds)], check=True, capture_output=True)
    return out


def engine_segments(path: Path, params: VadParams) -> list[Segment]:
    """What the engine's offline path gives for this file: the oracle for the table."""
    from vaddesk.audio.decode import open_audio
    from vaddesk.core.engine import segment_blocks

    with open_audio(path) as reader:
        return list(segment_blocks(reader.blocks_16k(), params).segments)
