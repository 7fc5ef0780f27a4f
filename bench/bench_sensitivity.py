"""How the boundary-stage thresholds of `meeting` and `precise` behave off the tuning data.

    python bench/bench_sensitivity.py [--json bench/out/sensitivity.json] [--settings 0.9/0.9,...]

The presets were first tuned on generated espeak-ng speech, which is cleaner and more confident
than people. This run asks what lower / hysteresis thresholds change, each preset (``PRESETS``)
otherwise as built in, for enter/exit in ``SETTINGS``, on:

* ``tune``, ``heldout_synthetic``, ``heldout_real``: the parts of ``bench/accuracy_set.py``;
* ``synthetic_-20db``: the held-out generated files 20 dB quieter (noise included: same SNR);
* ``synthetic_reverb``: the held-out generated files through a synthetic room (RT60 0.7 s);
* ``real_voice_*``: the real voice of the ``alsa-utils`` Debian package
  (/usr/share/sounds/alsa/*.wav: one talker saying "Front Center", "Rear Left", ...), the
  eight phrases three times in a seeded order with pauses of 0.3 .. 3 s, over a room-noise
  floor (pink, 40 dB below the voice) and degraded: clean, voice -20 dB (the floor stays:
  20 dB SNR), reverberation (RT60 0.7 s), both (a distant talker), the telephone band, pink
  and white noise at 10 dB SNR. Labels come from each clean phrase like the generated files'
  (10 ms frames within 35 dB of the phrase's loudest, gaps under 200 ms filled; checked by
  eye against each phrase's energy contour), reverberation tails are not speech.

Metrics are bench_accuracy's (frame and utterance-level F1 / recall, pooled over a group's
files) plus the lowest per-file recall of the group.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import numpy as np
import soundfile as sf
import soxr

sys.path.insert(0, str(Path(__file__).resolve().parent))
import accuracy_set
import bench_accuracy as ba
from provenance import run_provenance

from vaddesk.core.engine import segment_array
from vaddesk.core.params import VadParams
from vaddesk.core.presets import builtin_presets

SR: Final = accuracy_set.SR
FRAME: Final = accuracy_set.FRAME
ALSA: Final = Path("/usr/share/sounds/alsa")
PHRASES: Final = ("Front_Center", "Front_Left", "Front_Right", "Rear_Center", "Rear_Left",
                  "Rear_Right", "Side_Left", "Side_Right")
SETTINGS: Final = ((0.9, 0.9), (0.9, 0.7), (0.8, 0.8), (0.85, 0.7), (0.8, 0.6), (0.7, 0.5))
"""(enter, exit) pairs; 0.9/0.7 and 0.8/0.8 tell the two thresholds' parts apart."""
PRESETS: Final = ("meeting", "precise", "phone", "noisy", "dialogue")
RT60_S: Final = 0.7


def _room(rt60: float, rng: np.random.Generator) -> np.ndarray:
    """A synthetic impulse response: direct sound, a few early reflections, a diffuse tail."""
    n = int(rt60 * SR)
    t = np.arange(n) / SR
    ir = rng.standard_normal(n) * np.exp(-6.9 * t / rt60) * 0.3
    ir[0] = 1.0
    for delay_ms, gain in ((7, 0.6), (13, -0.45), (21, 0.35), (34, -0.3)):
        ir[int(delay_ms * SR / 1000)] += gain
    out: np.ndarray = ir / np.sqrt((ir ** 2).sum())
    return out


def _convolve(x: np.ndarray, ir: np.ndarray) -> np.ndarray:
    n = x.size + ir.size
    out: np.ndarray = np.fft.irfft(np.fft.rfft(x, n) * np.fft.rfft(ir, n), n)[:x.size]
    return out


def _speech_power(x: np.ndarray, mask: np.ndarray) -> float:
    frames = x[:mask.size * FRAME].reshape(-1, FRAME)
    return float((frames[mask] ** 2).mean())


def real_voice_set() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Name -> (samples, label mask) of the real-voice stress files."""
    rng = np.random.default_rng(13)
    phrases = []
    for name in PHRASES:
        x, rate = sf.read(ALSA / f"{name}.wav", dtype="float32")
        x = soxr.resample(x.mean(axis=1) if x.ndim == 2 else x, rate, SR)
        lab = accuracy_set._utterance_labels(x)
        x = x[lab[0][0] * FRAME:lab[-1][1] * FRAME]  # pauses are the chosen ones
        phrases.append((x / np.abs(x).max() * 0.5, [(a - lab[0][0], b - lab[0][0])
                                                     for a, b in lab]))
    order = [int(i) for _ in range(3) for i in rng.permutation(len(phrases))]
    pauses = rng.choice([0.3, 0.5, 0.8, 1.2, 2.0, 3.0], size=len(order))
    pos = int(0.8 * SR)
    total = pos + sum(phrases[i][0].size for i in order) + int(pauses.sum() * SR) + SR
    voice = np.zeros(total)
    mask = np.zeros(total // FRAME, dtype=bool)
    for i, pause in zip(order, pauses, strict=True):
        x, lab = phrases[i]
        voice[pos:pos + x.size] += x
        for a, b in lab:
            mask[pos // FRAME + a:pos // FRAME + b] = True
        pos += x.size + int(pause * SR)
    p_voice = _speech_power(voice, mask)

    def noise(kind: str, snr_db: float) -> np.ndarray:
        n = accuracy_set._noise(kind, total, rng)
        return n * np.sqrt(p_voice / float((n ** 2).mean()) / 10 ** (snr_db / 10))

    floor = noise("pink", 40)
    room = _room(RT60_S, rng)
    quiet = 10 ** (-20 / 20)
    variants = {
        "clean": voice + floor,
        "quiet_-20db": voice * quiet + floor,
        "reverb": _convolve(voice, room) + floor,
        "distant": _convolve(voice, room) * quiet + floor,
        "telephone": accuracy_set._telephone(voice + floor),
        "pink_10db": voice + noise("pink", 10),
        "white_10db": voice + noise("white", 10),
    }
    return {f"real_voice_{k}": (v.astype(np.float32), mask) for k, v in variants.items()}


def scored(name: str, x: np.ndarray, ref: np.ndarray, part: str = "") -> ba.FileRun:
    result = segment_array(x, VadParams())
    return ba.FileRun(part, name, ref, result.track, x.size / SR, 0.0)


def groups() -> dict[str, list[ba.FileRun]]:
    part_names = accuracy_set.build(ba.CACHE)
    files = ba.score_files(part_names, list(accuracy_set.PARTS))
    out: dict[str, list[ba.FileRun]] = {
        "tune": [f for f in files if f.part == "tune"],
        "heldout_synthetic": [f for f in files if f.part == "heldout"
                              and not f.name.startswith("real_")],
        "heldout_real": [f for f in files if f.name.startswith("real_")],
        "synthetic_-20db": [], "synthetic_reverb": []}
    rng = np.random.default_rng(7)
    room = _room(RT60_S, rng)
    for f in out["heldout_synthetic"]:
        x, ref = accuracy_set.load(ba.CACHE, "heldout", f.name)
        out["synthetic_-20db"].append(scored(f.name, x * np.float32(0.1), ref, "heldout"))
        wet = _convolve(x.astype(np.float64), room)
        wet *= 0.8 / max(float(np.abs(wet).max()), 0.8)
        out["synthetic_reverb"].append(scored(f.name, wet.astype(np.float32), ref, "heldout"))
    stress = real_voice_set()
    out["real_voice_all"] = [scored(k, x, m) for k, (x, m) in stress.items()]
    for fr in out["real_voice_all"]:
        out[fr.name] = [fr]
    return out


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", type=Path, default=ba.ROOT / "bench" / "out" / "sensitivity.json")
    ap.add_argument("--settings", default=",".join(f"{a}/{b}" for a, b in SETTINGS),
                    help="enter/exit pairs, comma-separated (default: %(default)s)")
    args = ap.parse_args(argv)
    settings = [tuple(float(v) for v in pair.split("/")) for pair in args.settings.split(",")]
    run = run_provenance(["bench/bench_sensitivity.py", *(argv or sys.argv[1:])])
    presets = builtin_presets()
    results: dict[str, dict[str, dict[str, float]]] = {}
    for gname, files in groups().items():
        for preset in PRESETS:
            for enter, exit_ in settings:
                params = VadParams.from_mapping({"enter_score": enter, "exit_score": exit_},
                                                base=presets[preset].params)
                row = ba.evaluate_params(files, params)
                per_file = [ba.evaluate_params([f], params) for f in files]
                row["worst_file_frame_recall"] = min(r["frame_recall"] for r in per_file)
                row["worst_file_utterance_recall"] = min(r["utterance_recall"]
                                                         for r in per_file)
                key = f"{preset} {enter}/{exit_}"
                results.setdefault(gname, {})[key] = row
                print(f"{gname:28s} {key:16s} frame F1 {row['frame_f1']:.3f} "
                      f"R {row['frame_recall']:.3f} | utt F1 {row['utterance_f1']:.3f} "
                      f"R {row['utterance_recall']:.3f} | worst R "
                      f"{row['worst_file_frame_recall']:.3f}/"
                      f"{row['worst_file_utterance_recall']:.3f}", flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"run": run, "settings": settings, "results": results},
                                    indent=2) + "\n")


if __name__ == "__main__":
    main()
