"""Detector benchmarks: resegment() on a 60-minute track, the streaming detector's cost per
100 ms push alone, and where a 100 ms block's time goes inside a real stream.

    python bench/bench_detector.py [--minutes 60] [--repeats 7]
        [--stream-minutes 3] [--json bench/out/detector.json]  # 0 skips the in-stream split
    python bench/bench_detector.py --ab COMMIT [--repeats 7] [--stream-minutes 3]
        [--offline-minutes 10]  # A/B: this tree's engine vs COMMIT's, alternating in one process

The track is real: espeak-ng speech with pauses over light noise, scored once by vaddesk's
INT8 network, then tiled to the requested length. Medians of --repeats runs, one thread.

The in-stream split feeds ``StreamingVad`` the corpus's long file (tests/support/corpus.py)
in 100 ms
blocks and times, per block, the frontend, the network and the detector push (perf_counter_ns
around each, ~0.2 us of timer overhead each); "glue" is the rest of accept_waveform (input
check, bookkeeping). The detector costs more there than alone: the network call in between
evicts the interpreter's and numpy's code and data from the CPU caches, so every distinct code
path a push takes starts cold.

``--ab COMMIT`` loads vaddesk/core/{decision,postprocess,detector,engine}.py as they were at
COMMIT (``git show``) beside the working tree's, with the working tree's frontend and model
runner for both, and alternates the two: the in-stream split per 100 ms block, and offline
``segment_blocks`` over 30 s blocks (µs per 10 ms frame, model loading included); it also
checks that both give the same events and segments.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import types  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
import soxr  # noqa: E402

from bench.provenance import run_provenance  # noqa: E402
from vaddesk.core.detector import EndpointDetector  # noqa: E402
from vaddesk.core.engine import StreamingVad, resegment, segment_array  # noqa: E402
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


CPU_S: list[float] = []  # the median CPU time of each _median_s call, in call order


def _median_s(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    """Median wall time of `repeats` runs; the median CPU time goes to CPU_S (on a loaded
    machine the wall time also counts waiting for a core)."""
    times, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    CPU_S.append(statistics.median(cpu))
    return statistics.median(times)


def stream_split(samples: np.ndarray, engine: Any = None) -> tuple[dict[str, float], list[Any]]:
    """Median us per 100 ms block of each part of StreamingVad.accept_waveform (one run), and
    the events. ``engine``: the engine module to run (default: this tree's)."""
    vad = (engine.StreamingVad if engine is not None else StreamingVad)(
        VadParams(), precision="int8", threads=1)
    clock = time.perf_counter_ns
    spent = {"frontend": 0, "network": 0, "detector": 0}

    def timed(part: str, fn):  # type: ignore[no-untyped-def]
        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            start = clock()
            out = fn(*args, **kwargs)
            spent[part] += clock() - start
            return out
        return wrapper

    vad._frontend.accept = timed("frontend", vad._frontend.accept)  # type: ignore[method-assign]
    vad._model.silence_prob = timed("network", vad._model.silence_prob)  # type: ignore[method-assign]
    vad._detector.push = timed("detector", vad._detector.push)  # type: ignore[method-assign]
    rows = []
    events: list[Any] = []
    for pos in range(0, samples.size, 1_600):
        for part in spent:
            spent[part] = 0
        start = clock()
        events += vad.accept_waveform(samples[pos:pos + 1_600])
        total = clock() - start
        rows.append([total, *spent.values(), total - sum(spent.values())])
    events += vad.flush()
    medians = np.median(np.asarray(rows, dtype=np.float64), axis=0) / 1e3
    return dict(zip(["block", *spent, "glue"], medians.tolist(), strict=True)), events


_AB_MODULES = ("decision", "postprocess", "frame_history", "detector", "engine")


def engine_at(commit: str) -> Any:
    """The engine module with decision/postprocess/frame_history/detector/engine.py as they were at
    ``commit`` (frontend and model runner: this tree's)."""
    for name in _AB_MODULES:
        shown = subprocess.run(["git", "-C", str(REPO), "show",
                                f"{commit}:vaddesk/core/{name}.py"],
                               capture_output=True, text=True)
        if shown.returncode != 0 and name == "frame_history":
            continue  # older trees kept the decision history inside detector.py
        shown.check_returncode()
        source = shown.stdout
        for other in _AB_MODULES:
            source = source.replace(f"from vaddesk.core.{other} import", f"from _ab_{other} import")
        module = types.ModuleType(f"_ab_{name}")
        module.__file__ = f"{commit}:vaddesk/core/{name}.py"
        sys.modules[module.__name__] = module  # dataclasses look their module up
        exec(compile(source, module.__file__, "exec"), module.__dict__)
    return sys.modules["_ab_engine"]


def offline_us_per_frame(engine: Any, samples: np.ndarray) -> tuple[float, list[Any]]:
    blocks = [samples[i:i + 480_000] for i in range(0, samples.size, 480_000)]
    start = time.perf_counter()
    result = engine.segment_blocks(blocks)
    seconds = time.perf_counter() - start
    return seconds / result.track.num_frames * 1e6, result.segments


def ab(commit: str, args: argparse.Namespace) -> int:
    import vaddesk.core.engine as ours
    from tests.support.corpus import build_long_file, read_wav

    theirs = engine_at(commit)
    minutes = max(args.stream_minutes, args.offline_minutes)
    audio = read_wav(build_long_file(max(1800.0, minutes * 60)))
    stream_audio = audio[:int(args.stream_minutes * 60 * 16_000)]
    offline_audio = audio[:int(args.offline_minutes * 60 * 16_000)]
    sides = {commit: theirs, "tree": ours}
    split: dict[str, list[dict[str, float]]] = {side: [] for side in sides}
    offline: dict[str, list[float]] = {side: [] for side in sides}
    outputs: dict[str, tuple[list[Any], list[Any]]] = {}
    for _ in range(args.repeats):
        for side, engine in sides.items():
            parts, events = stream_split(stream_audio, engine)
            split[side].append(parts)
            us, segments = (offline_us_per_frame(engine, offline_audio)
                            if args.offline_minutes > 0 else (0.0, []))
            offline[side].append(us)
            outputs[side] = (events, segments)
    print(f"A/B {commit} vs this tree, alternating, {args.repeats} runs each; stream "
          f"{args.stream_minutes:g} min in 100 ms blocks, offline {args.offline_minutes:g} min; "
          f"load {os.getloadavg()[0]:.2f} (shared)")
    print(f"{'median us':28s} {commit[:12]:>12s} {'tree':>12s}")
    for part in ("block", "frontend", "network", "detector", "glue"):
        values = [statistics.median(run[part] for run in split[side]) for side in sides]
        print(f"{'per block: ' + part:28s} {values[0]:12.1f} {values[1]:12.1f}")
    both = [statistics.median(run["detector"] + run["glue"] for run in split[side])
            for side in sides]
    print(f"{'per block: detector+glue':28s} {both[0]:12.1f} {both[1]:12.1f}")
    if args.offline_minutes > 0:
        values = [statistics.median(offline[side]) for side in sides]
        print(f"{'offline, per frame':28s} {values[0]:12.3f} {values[1]:12.3f}")
    same_events = outputs[commit][0] == outputs["tree"][0]
    same_segments = outputs[commit][1] == outputs["tree"][1]
    print(f"stream events identical: {same_events}; offline segments identical: {same_segments}")
    return 0 if same_events and same_segments else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--stream-minutes", type=float, default=3.0)
    parser.add_argument("--offline-minutes", type=float, default=10.0)
    parser.add_argument("--ab", metavar="COMMIT", help="A/B this tree's engine against COMMIT's")
    parser.add_argument("--json", type=Path, help="also write the figures here (not with --ab)")
    args = parser.parse_args()
    if args.ab:
        return ab(args.ab, args)
    figures: dict[str, Any] = {"run": run_provenance(sys.argv), "minutes": args.minutes,
                               "repeats": args.repeats, "resegment_ms": {}, "push_us": {}}
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
        figures["resegment_ms"][name] = seconds * 1e3
        figures.setdefault("resegment_cpu_ms", {})[name] = CPU_S[-1] * 1e3
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
        figures["push_us"][name] = seconds / pushes * 1e6
        figures.setdefault("push_cpu_us", {})[name] = CPU_S[-1] / pushes * 1e6
    if args.stream_minutes > 0:
        from tests.support.corpus import build_long_file, read_wav

        audio = read_wav(build_long_file(max(1800.0, args.stream_minutes * 60)))  # bench_engine's
        audio = audio[:int(args.stream_minutes * 60 * 16_000)]
        runs = [stream_split(audio)[0] for _ in range(max(1, args.repeats // 2))]
        print(f"in a stream of {args.stream_minutes:g} min, 100 ms blocks, funasr preset, int8 "
              f"(median per block, median of {len(runs)} runs; load {os.getloadavg()[0]:.2f}):")
        for part in runs[0]:
            value = statistics.median(run[part] for run in runs)
            print(f"  {part:10s} {value:8.1f} us")
        both = statistics.median(run["detector"] + run["glue"] for run in runs)
        print(f"  {'det+glue':10s} {both:8.1f} us")
        figures["stream_split_us"] = {part: statistics.median(run[part] for run in runs)
                                      for part in runs[0]}
        figures["stream_minutes"] = args.stream_minutes
    figures["run"]["load_average_end"] = list(os.getloadavg())
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
