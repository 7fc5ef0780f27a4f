"""Small folders of distinct spoken recordings (espeak-ng + sox) for batch/cluster tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

SENTENCES = (
    "Good morning, this is the first call of the day.",
    "The delivery arrives on Tuesday, not on Monday.",
    "Please hold the line while I check the account.",
    "We talked about the budget. Then we stopped.",
    "Thank you for calling, goodbye.",
    "Can you repeat the order number, please?",
    "Seven items were shipped and two came back.",
    "The meeting moved to half past three.",
)


def make_speech_folder(folder: Path, count: int, repeat: int = 1) -> list[Path]:
    """`count` WAV files (16 kHz mono), each a different sentence with pauses, repeated
    `repeat` times with 1.5 s of silence between (long files for mid-run kills)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"call_{i:02d}.wav"
        if not path.exists():
            raw = folder / f"_raw_{i}.wav"
            text = SENTENCES[i % len(SENTENCES)] + f" Number {i}."
            subprocess.run(["espeak-ng", "-s", "170", "-w", str(raw), text], check=True,
                           capture_output=True)
            effects = ["rate", "16000", "pad", "0.5", "1.5"]
            if repeat > 1:
                effects += ["repeat", str(repeat - 1)]
            subprocess.run(["sox", "-R", str(raw), "-b", "16", str(path), "channels", "1",
                            *effects], check=True, capture_output=True)
            raw.unlink()
        paths.append(path)
    return paths
