"""Detector benchmarks (no network in the timed part): resegment() on a 60-minute track and the
streaming detector's cost per 100 ms push.

    /work/venv/bin/python bench/bench_detector.py [--minutes 60] [--repeats 7]

The track is real: espeak-ng speech with pauses over light noise, scored once by vaddesk's
INT8 network, then tiled to the requested length. Medians of --repeats runs, one thread.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
import soxr  # noqa: E402

from vaddesk.core.detector import EndpointDetector  # noqa: E402
from vaddesk.core.engine import resegment, segment_array  # noqa: E402
from vaddesk.core.params import VadParams  # noqa: E402
from vaddesk.core.presets import builtin_presets  # noqa: E402
from vaddesk.core.types import FrameTrack  # noqa: E402

LINES = ("Good morning everyone, let us start with the budget.", "Yes.",
         "I think we should move the deadline by one week because the tests are not ready.",
         "Okay, that sounds good to me, let us do that.")


def _speech_track() -> FrameTrack:
    rng = np.random.default_rng(1)
    parts = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, text in enumerate(LINES):
            path = Path(tmp) / f"{i}.wav"
            subprocess.run(["espeak-ng", "-v", "en", "-s", str(150 + 10 * i), "-w", str(path),
                            text], check=True, capture_output=True)
            x, rate = sf.read(path, dtype="float32")
            parts += [soxr.resample(x, rate, 16_000) * 0.5,
                      np.zeros(int(rng.choice([0.2, 0.5, 1.0, 2.0]) * 16_000), np.float32)]
    audio = np.concatenate(parts * 4).astype(np.float32)
    audio += rng.standard_normal(audio.size).astype(np.float32) * 0.005
    return segment_array(audio).track


def _median_s(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    unit = _speech_track()
    frames = int(args.minutes * 6000)
    reps = frames // unit.num_frames + 1
    track = FrameTrack(np.tile(unit.p0, reps)[:frames], np.tile(unit.energy_db, reps)[:frames])
    cases = {name: preset.params for name, preset in builtin_presets().items()}
    cases["snr gate 5 dB"] = VadParams(snr_thres_db=5.0)
    cases["flapping window (T2 > T1)"] = VadParams(window_size_ms=300, sil_to_speech_ms=100,
                                                   speech_to_sil_ms=250, max_end_silence_ms=300)
    print(f"track: {frames} frames ({args.minutes:g} min); load {os.getloadavg()} (shared)")
    print(f"{'case':40s} {'median ms':>10s} {'segments':>9s}")
    for name, params in cases.items():
        seconds = _median_s(lambda p=params: resegment(track, p), args.repeats)
        print(f"resegment {name:30s} {seconds * 1e3:10.1f} {len(resegment(track, params)):9d}")
    pushes = min(frames, 60_000) // 10
    for name in ("funasr", "meeting"):
        params = builtin_presets()[name].params

        def stream(p: VadParams = params) -> None:
            det = EndpointDetector(p)
            for i in range(pushes):
                det.push(track.p0[i * 10:i * 10 + 10], track.energy_db[i * 10:i * 10 + 10])

        seconds = _median_s(stream, max(1, args.repeats // 3))
        print(f"push 100 ms, preset {name:20s} {seconds / pushes * 1e6:8.1f} us/push "
              f"(detector RTF {seconds / pushes / 0.1:.5f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
