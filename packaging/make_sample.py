"""Make the self-test's bundled sample and its expected segments.

    python packaging/make_sample.py                  # expected segments from the current engine
    python packaging/make_sample.py --audio          # also (re)synthesise sample.wav first

sample.wav: two espeak-ng phrases with a 1.2 s pause between them, 0.6 s of silence before and
1.5 s after (longer than the default end-silence, so the last segment closes on silence, not
at the end of the stream), over quiet seeded white noise (-60 dBFS), 16 kHz mono
PCM-16 (about 7 s, ~220 KB).
It is committed; `--audio` is only needed to change it (espeak-ng output differs by version).

sample.expected.json: the segments the engine finds with the default parameters, for each
precision, plus the model checksums they were computed with. The script prints the speech spans
it placed (espeak-ng output trimmed at -50 dBFS) next to the engine's segments, so they can be
checked by eye: each segment should cover one phrase, starting a little before it and ending
a little after it (the detector's look-back and end-silence).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = ROOT / "resources" / "sample"
SAMPLE_WAV = SAMPLE_DIR / "sample.wav"
EXPECTED_JSON = SAMPLE_DIR / "sample.expected.json"
LAYOUT_JSON = SAMPLE_DIR / "sample.layout.json"

RATE_HZ = 16_000
PHRASES = ("This is the vaddesk self test.", "Speech was found in this sample.")
VOICE = "en-us"
RATE_WPM = 160
LEAD_S = 0.6
PAUSE_S = 1.2
TAIL_S = 1.5
NOISE_DBFS = -60.0
TRIM_DBFS = -50.0
SEED = 20241126


def _espeak(text: str) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "phrase.wav"
        subprocess.run(
            ["espeak-ng", "-v", VOICE, "-s", str(RATE_WPM), "-w", str(wav), text], check=True
        )
        audio, rate = sf.read(wav, dtype="float32")
    audio = soxr.resample(audio, rate, RATE_HZ, quality="HQ").astype(np.float32)
    # Trim espeak-ng's own leading/trailing silence so the layout below is where speech really is.
    loud = np.flatnonzero(np.abs(audio) > 10 ** (TRIM_DBFS / 20))
    return audio[loud[0] : loud[-1] + 1] * np.float32(0.5 / np.max(np.abs(audio)))


def make_audio() -> list[tuple[int, int]]:
    """Write sample.wav; return the phrases' spans in ms (also saved in sample.layout.json)."""
    rng = np.random.default_rng(SEED)
    parts: list[np.ndarray] = [np.zeros(int(LEAD_S * RATE_HZ), np.float32)]
    spans_ms: list[tuple[int, int]] = []
    position = len(parts[0])
    for index, phrase in enumerate(PHRASES):
        speech = _espeak(phrase)
        spans_ms.append((position * 1000 // RATE_HZ, (position + len(speech)) * 1000 // RATE_HZ))
        parts.append(speech)
        position += len(speech)
        gap = PAUSE_S if index < len(PHRASES) - 1 else TAIL_S
        parts.append(np.zeros(int(gap * RATE_HZ), np.float32))
        position += len(parts[-1])
    audio = np.concatenate(parts)
    audio += (rng.standard_normal(len(audio)) * 10 ** (NOISE_DBFS / 20)).astype(np.float32)
    SAMPLE_DIR.mkdir(parents=True, exist_ok=True)
    sf.write(SAMPLE_WAV, audio, RATE_HZ, subtype="PCM_16")
    LAYOUT_JSON.write_text(
        json.dumps({"phrases": list(PHRASES), "speech_spans_ms": spans_ms}, indent=2) + "\n",
        encoding="utf-8",
    )
    return spans_ms


def compute_expected() -> dict[str, object]:
    sys.path.insert(0, str(ROOT))
    from vaddesk.core.engine import model_info, segment_array

    audio, rate = sf.read(SAMPLE_WAV, dtype="float32")
    assert rate == RATE_HZ and audio.ndim == 1, "sample.wav must be 16 kHz mono"
    expected: dict[str, object] = {
        "sample": SAMPLE_WAV.name,
        "duration_ms": len(audio) * 1000 // RATE_HZ,
        "params": "defaults (VadParams())",
        "precisions": {},
    }
    precisions: dict[str, object] = {}
    for precision in ("int8", "fp32"):
        info = model_info(precision)
        result = segment_array(audio, precision=precision)
        precisions[precision] = {
            "model": info.name,
            "model_sha256": info.sha256,
            "segments_ms": [[s.start_ms, s.end_ms] for s in result.segments],
        }
    expected["precisions"] = precisions
    return expected


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audio", action="store_true", help="re-synthesise sample.wav first")
    args = parser.parse_args()
    if args.audio or not SAMPLE_WAV.exists():
        make_audio()
    layout = json.loads(LAYOUT_JSON.read_text(encoding="utf-8"))
    expected = compute_expected()
    tmp = EXPECTED_JSON.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(expected, indent=2) + "\n", encoding="utf-8")
    tmp.replace(EXPECTED_JSON)
    print(f"phrases placed at (ms): {layout['speech_spans_ms']}")
    for precision, found in expected["precisions"].items():  # type: ignore[attr-defined]
        print(f"{precision} segments (ms):   {found['segments_ms']}")
    print(f"wrote {EXPECTED_JSON.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
