"""The loudspeaker-bleed gate (vaddesk/core/bleed.py) across acoustic conditions, offline.

    python bench/bench_bleed.py --json bench/out/bleed.json     # both parts, all conditions
    python bench/bench_bleed.py --part tune --quick --verbose   # while tuning
    python bench/bench_bleed.py --tree DIR --json bench/out/bleed-before.json  # another checkout

Each call is two espeak-ng voices: the far side says two lines, the near side ("You") speaks
over the far side's second line and once more right after the far side's last word (quick
turn-taking, where a reverberation tail of the far side is still in the room). The microphone
hears the near side plus the far side through a simulated loudspeaker path: a delay, a
coupling (how much quieter the bleed is), an exponentially decaying reverberation tail
(RT60) and room noise. The gate sees the microphone and the clean far side, as it does live.

A condition passes when the gated microphone's segments (preset ``meeting``) hold no "You"
where only the far side spoke (at most 100 ms outside the near side's own segments, segmented
alone) and every own segment is found with its start within 100 ms and its end within 200 ms.
The calls are split: ``tune`` calls were used to choose the gate's constants, ``held-out``
calls were not.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def _tree_from_argv() -> Path:
    """--tree DIR: the checkout whose vaddesk is measured (read before vaddesk is imported)."""
    if "--tree" in sys.argv[:-1]:
        return Path(sys.argv[sys.argv.index("--tree") + 1]).resolve()
    return REPO


sys.path.insert(0, str(REPO))
from bench.provenance import run_provenance  # noqa: E402  (this checkout's, whatever --tree)

TREE = _tree_from_argv()
sys.path.insert(0, str(TREE))

from tests.support.two_voices import RATE, _side  # noqa: E402
from vaddesk.core.bleed import BleedGate  # noqa: E402
from vaddesk.core.engine import segment_array  # noqa: E402
from vaddesk.core.presets import get_preset  # noqa: E402
from vaddesk.core.types import Segment  # noqa: E402

PARAMS = get_preset("meeting").params
TOTAL_S = 16.0

# (far lines, near lines, far voice, near voice); near's 2nd line starts after far's last.
CALLS = {
    "tune": [
        (((0.5, "Hi, my last invoice looks wrong, it was charged twice."),
          (6.5, "Could you please check the March payment again for me?")),
         ((7.5, "Yes, I am looking at it right now."),
          (None, "Found it, the refund is on its way.")), "en-gb", "en-us"),
        (((0.4, "Good morning, is this the support line for the new routers?"),
          (6.0, "The light keeps blinking orange every few minutes.")),
         ((7.0, "Okay, that usually means the firmware is updating."),
          (None, "Let us restart it together.")), "en-us", "en-gb"),
        (((0.6, "We shipped the build on Friday, but the tests were red."),
          (6.2, "Can you tell me who approved the release anyway?")),
         ((7.2, "Nobody did, it went out by mistake."),
          (None, "I will roll it back tonight.")), "en-gb-x-rp", "en-us"),
    ],
    "held-out": [
        (((0.5, "Thanks for joining, let us start with the budget for next year."),
          (6.4, "Marketing asked for twice as much as last time, which is a lot.")),
         ((7.6, "That is far too much, we cannot approve it."),
          (None, "Send me their plan first.")), "en-gb-scotland", "en-us"),
        (((0.3, "Hello, I am calling about the apartment on Baker Street."),
          (5.8, "Is it still available, and are pets allowed in the building?")),
         ((7.0, "It is still free, and small pets are fine."),
          (None, "Would you like to see it on Monday?")), "en-029", "en-gb"),
        (((0.7, "The train was delayed again, so I will be about ten minutes late."),
          (6.6, "Please start the meeting without me and take notes.")),
         ((7.4, "No problem, we will wait for the second topic."),
          (None, "See you soon.")), "en-gb-x-gbclan", "en-gb-x-rp"),
    ],
}

DELAYS_MS = (-40, 0, 40, 100, 200)
COUPLINGS_DB = (-6.0, -10.0, -15.0, -20.0, -30.0)
RT60S_S = (0.0, 0.25, 0.5)
NOISES_DB = (-65.0, -45.0)


@dataclass(frozen=True, slots=True)
class Condition:
    delay_ms: int
    coupling_db: float
    rt60_s: float
    noise_db: float


@dataclass(frozen=True, slots=True)
class Outcome:
    false_you_ms: int      # "You" where the near side was silent (beyond 100 ms of its own)
    start_error_ms: int    # worst |start - own start| over the own segments (found ones)
    end_error_ms: int
    missed: int            # own segments with no gated segment overlapping them
    passed: bool


def build_call(folder: Path, index: int, spec: tuple) -> tuple[np.ndarray, np.ndarray]:
    far_lines, near_lines, far_voice, near_voice = spec
    far = _side(folder, far_lines, far_voice, TOTAL_S, 10 + index)
    far_segs = segment_array(far, PARAMS).segments
    # The near side's last line follows the far side's last word by 300 ms.
    after_s = far_segs[-1].end_ms / 1000 + 0.3
    lines = tuple((after_s if start is None else start, text) for start, text in near_lines)
    near = _side(folder, lines, near_voice, TOTAL_S, 20 + index)
    return near, far


def room(far: np.ndarray, cond: Condition, rng: np.random.Generator) -> np.ndarray:
    """The far side as the microphone hears it from the loudspeakers."""
    x = far.astype(np.float64)
    if cond.rt60_s > 0:
        n = int(cond.rt60_s * RATE)
        t = np.arange(n) / RATE
        tail = rng.standard_normal(n) * 10 ** (-3 * t / cond.rt60_s)  # -60 dB at rt60
        tail[: int(0.005 * RATE)] = 0.0                                # first reflection 5 ms
        tail *= 1.0 / np.sqrt(np.sum(tail ** 2))                       # tail energy = direct
        rir = tail
        rir[0] += 1.0
        x = np.convolve(x, rir)[: far.size] / np.sqrt(2.0)
    x *= 10 ** (cond.coupling_db / 20)
    d = int(cond.delay_ms * RATE / 1000)
    if d >= 0:
        return np.concatenate((np.zeros(d), x[: x.size - d]))
    return np.concatenate((x[-d:], np.zeros(-d)))


def gated(mic: np.ndarray, far: np.ndarray) -> np.ndarray:
    gate = BleedGate()
    block = 640
    parts = [gate.process(mic[i:i + block], far[i:i + block]) for i in range(0, mic.size, block)]
    return np.concatenate([*parts, gate.flush()])


def score(found: list[Segment], own: list[Segment]) -> Outcome:
    inside = np.zeros(int(TOTAL_S * 1000) + 1000, bool)
    for s in own:
        inside[max(0, s.start_ms - 100): s.end_ms + 100] = True
    false_ms = sum(int((~inside[s.start_ms:s.end_ms]).sum()) for s in found)
    start_err = end_err = missed = 0
    for s in own:
        over = [f for f in found if f.end_ms > s.start_ms and f.start_ms < s.end_ms]
        if not over:
            missed += 1
            continue
        start_err = max(start_err, abs(min(f.start_ms for f in over) - s.start_ms))
        end_err = max(end_err, abs(max(f.end_ms for f in over) - s.end_ms))
    ok = false_ms == 0 and missed == 0 and start_err <= 100 and end_err <= 200
    return Outcome(false_ms, start_err, end_err, missed, ok)


def run_part(part: str, folder: Path, grid: tuple, verbose: bool) -> dict[str, object]:
    started = time.perf_counter()
    results: list[tuple[Condition, Outcome]] = []
    for index, spec in enumerate(CALLS[part]):
        near, far = build_call(folder, index + (0 if part == "tune" else 3), spec)
        for noise_db in NOISES_DB:
            rng = np.random.default_rng(index)
            noise = rng.standard_normal(near.size) * 10 ** (noise_db / 20)
            own = segment_array((near + noise).astype(np.float32), PARAMS).segments
            for delay in grid[0]:
                for coupling in grid[1]:
                    for rt60 in grid[2]:
                        cond = Condition(delay, coupling, rt60, noise_db)
                        mic = (near + noise + room(far, cond, rng)).astype(np.float32)
                        mic = np.round(mic * 32767) / 32767  # the 16-bit file the gate reads
                        found = segment_array(gated(mic.astype(np.float32), far), PARAMS)
                        out = score(found.segments, own)
                        results.append((cond, out))
                        if verbose and not out.passed:
                            print(f"call {index} {cond}: {out}\n  own {own}\n  got "
                                  f"{found.segments}", flush=True)
    print(f"{part}: {len(CALLS[part])} calls x {len(results) // len(CALLS[part])} conditions, "
          f"{time.perf_counter() - started:.0f} s")
    by: dict[str, dict[object, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for cond, out in results:
        for field, value in asdict(cond).items():
            by[field][value].append(out.passed)
    table = {}
    for field, groups in by.items():
        row = {str(k): round(100 * float(np.mean(v)), 1) for k, v in groups.items()}
        table[field] = row
        print(f"  {field:12s} " + "  ".join(f"{k}: {v:5.1f} %" for k, v in row.items()))
    passed = 100 * float(np.mean([o.passed for _, o in results]))
    false_any = 100 * float(np.mean([o.false_you_ms > 0 for _, o in results]))
    missed = 100 * float(np.mean([o.missed > 0 or o.start_error_ms > 100 for _, o in results]))
    print(f"  passed {passed:.1f} %  |  false 'You' in {false_any:.1f} %  |  own speech missed "
          f"or late in {missed:.1f} %", flush=True)
    return {"calls": len(CALLS[part]), "cases": len(results), "passed_pct": round(passed, 1),
            "false_you_pct": round(false_any, 1), "own_missed_or_late_pct": round(missed, 1),
            "by_condition": table}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=[*sorted(CALLS), "both"], default="both")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--tree", type=Path, help="measure the vaddesk of this checkout")
    parser.add_argument("--verbose", action="store_true", help="print every failing case")
    parser.add_argument("--quick", action="store_true",
                        help="a quarter of the conditions (0 and 100 ms, -6 to -15 dB, RT60 0 "
                             "and 0.5 s)")
    args = parser.parse_args()
    grid = ((0, 100), COUPLINGS_DB[:3], (0.0, 0.5)) if args.quick else \
        (DELAYS_MS, COUPLINGS_DB, RT60S_S)
    folder = Path(tempfile.mkdtemp(prefix="bleed."))
    parts = ["tune", "held-out"] if args.part == "both" else [args.part]
    figures = {part: run_part(part, folder, grid, args.verbose) for part in parts}
    if args.json:
        args.json.write_text(json.dumps({
            "run": run_provenance(sys.argv, TREE),
            "conditions": {"delay_ms": list(grid[0]), "coupling_db": list(grid[1]),
                           "rt60_s": list(grid[2]), "noise_db": list(NOISES_DB)},
            "parts": figures,
            "load_average_end": list(os.getloadavg()),
        }, indent=2) + "\n")


if __name__ == "__main__":
    main()
