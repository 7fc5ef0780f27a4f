"""Accuracy of vaddesk's presets against silero-vad, TEN VAD, WebRTC VAD and funasr_onnx.

    python bench/bench_accuracy.py [--json bench/out/accuracy.json] [--markdown OUT.md]
        [--no-others] [--repeats 7]
    python bench/bench_accuracy.py --tune   # the preset search (prints what it chooses)

The labelled set is built by ``bench/accuracy_set.py`` (cached in bench/out/accuracy_set/):
part ``tune`` is what the presets were chosen on (``--tune`` reruns that search), part
``heldout`` is what the tables report. Metrics, all on 10 ms frames:

* frame P / R / F1 against the labels;
* utterance-level F1: the same against the labels merged over pauses < 800 ms (a system that
  keeps a short pause inside a segment is not punished for it), with its recall;
* start / end error: each merged label is matched with the segment that overlaps it most;
  median of (segment start - label start) and (segment end - label end), in ms (negative:
  early);
* missed speech, as % of the labelled speech: ``edge`` (before the first / after the last
  frame of the matched segments of an utterance), ``inside`` (between them: a gap in the
  middle of an utterance) and ``whole`` (utterances no segment touches);
* speed: processing time / audio time (RTF), one thread.

Systems: vaddesk's presets (one INT8 network pass per file; each preset is a ``resegment()`` of
the cached frame scores, timed on its own); ``funasr_onnx.Fsmn_vad`` on our FP32 model (the
reference runtime and post-processing); silero-vad's ONNX model from the ``silero-vad`` wheel
(run with onnxruntime, no torch; its ``get_speech_timestamps_from_probs`` post-processing
loaded from the wheel's source); TEN VAD (``ten-vad``, hop 256, threshold 0.5, its per-frame
flags); WebRTC VAD (``webrtcvad-wheels``, mode 3, 30 ms frames). The comparison packages are
the ``bench`` extra.
"""

from __future__ import annotations

import argparse
import ast
import itertools
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import accuracy_set
from provenance import run_provenance

from vaddesk import paths
from vaddesk.core.engine import resegment, segment_array
from vaddesk.core.params import VadParams
from vaddesk.core.presets import BUILTIN_NAMES, builtin_presets
from vaddesk.core.segmenter import make_segmenter
from vaddesk.core.types import FrameTrack

ROOT: Final = Path(__file__).resolve().parent.parent
CACHE: Final = ROOT / "bench" / "out" / "accuracy_set"
SR: Final = 16_000
MERGE_FRAMES: Final = 80  # utterance level: labels merged over pauses < 800 ms


# --- metrics ---------------------------------------------------------------------------------

def mask_of(segments: Sequence[tuple[int, int]], n: int) -> np.ndarray:
    """10 ms frame mask of segments given in ms (a frame is speech if its centre is in one)."""
    m = np.zeros(n, dtype=bool)
    for s, e in segments:
        m[max(0, round(s / 10)):min(n, round(e / 10))] = True
    return m


def merged(mask: np.ndarray, below: int = MERGE_FRAMES) -> np.ndarray:
    out = mask.copy()
    rs = accuracy_set.runs(mask)
    for (_, b), (a, _) in itertools.pairwise(rs):
        if a - b < below:
            out[b:a] = True
    return out


@dataclass
class Counts:
    """Sums over files, so the figures of a part weigh every frame the same."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    utp: int = 0
    ufp: int = 0
    ufn: int = 0
    miss_edge: int = 0
    miss_inside: int = 0
    miss_whole: int = 0
    speech: int = 0
    start_err: list[int] | None = None
    end_err: list[int] | None = None
    seconds: float = 0.0
    audio_s: float = 0.0

    def add(self, ref: np.ndarray, hyp: np.ndarray) -> None:
        if self.start_err is None:
            self.start_err, self.end_err = [], []
        assert self.end_err is not None
        self.tp += int((ref & hyp).sum())
        self.fp += int((~ref & hyp).sum())
        self.fn += int((ref & ~hyp).sum())
        uref = merged(ref)
        self.utp += int((uref & hyp).sum())
        self.ufp += int((~uref & hyp).sum())
        self.ufn += int((uref & ~hyp).sum())
        self.speech += int(ref.sum())
        hyp_runs = accuracy_set.runs(hyp)
        starts = np.array([a for a, _ in hyp_runs])
        for a, b in accuracy_set.runs(uref):
            covered = np.flatnonzero(hyp[a:b])
            missed = int((ref[a:b] & ~hyp[a:b]).sum())
            if covered.size == 0:
                self.miss_whole += missed
                continue
            first, last = a + int(covered[0]), a + int(covered[-1])
            edge = int(ref[a:first].sum()) + int(ref[last + 1:b].sum())
            self.miss_edge += edge
            self.miss_inside += missed - edge
            # the segment overlapping this utterance most gives the boundary errors
            best, best_overlap = None, 0
            lo = max(0, int(np.searchsorted(starts, a, side="right")) - 1)
            for s, e in hyp_runs[lo:]:
                if s >= b:
                    break
                overlap = min(e, b) - max(s, a)
                if overlap > best_overlap:
                    best, best_overlap = (s, e), overlap
            if best is not None:
                self.start_err.append((best[0] - a) * 10)
                self.end_err.append((best[1] - b) * 10)

    def row(self) -> dict[str, float]:
        def f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
            p = tp / max(tp + fp, 1)
            r = tp / max(tp + fn, 1)
            return p, r, 2 * p * r / max(p + r, 1e-12)

        p, r, f = f1(self.tp, self.fp, self.fn)
        up, ur, uf = f1(self.utp, self.ufp, self.ufn)
        sp = max(self.speech, 1)
        return {"frame_precision": round(p, 4), "frame_recall": round(r, 4),
                "frame_f1": round(f, 4), "utterance_f1": round(uf, 4),
                "utterance_recall": round(ur, 4), "utterance_precision": round(up, 4),
                "start_error_ms": float(np.median(self.start_err)) if self.start_err else 0.0,
                "end_error_ms": float(np.median(self.end_err)) if self.end_err else 0.0,
                "missed_edge_pct": round(100 * self.miss_edge / sp, 2),
                "missed_inside_pct": round(100 * self.miss_inside / sp, 2),
                "missed_whole_pct": round(100 * self.miss_whole / sp, 2),
                "rtf": round(self.seconds / max(self.audio_s, 1e-9), 6)}


# --- systems ---------------------------------------------------------------------------------

def _silero_postprocessing() -> Callable[..., list[dict[str, int]]]:
    """silero-vad's own get_speech_timestamps_from_probs, compiled from the wheel's source
    (the module imports torch at the top; this function does not use it)."""
    import importlib.util

    spec = importlib.util.find_spec("silero_vad")
    assert spec is not None and spec.submodule_search_locations is not None
    src = Path(next(iter(spec.submodule_search_locations))) / "utils_vad.py"
    tree = ast.parse(src.read_text())
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef)
              and n.name == "get_speech_timestamps_from_probs")
    module = ast.Module(body=[fn], type_ignores=[])
    scope: dict[str, Any] = {"List": list, "Callable": Callable}
    exec(compile(module, str(src), "exec"), scope)
    out: Callable[..., list[dict[str, int]]] = scope["get_speech_timestamps_from_probs"]
    return out


class Silero:
    name = "silero-vad (ONNX, default post-processing)"

    def __init__(self) -> None:
        import importlib.util

        import onnxruntime as ort

        spec = importlib.util.find_spec("silero_vad")
        assert spec is not None and spec.submodule_search_locations is not None
        model = Path(next(iter(spec.submodule_search_locations))) / "data" / "silero_vad.onnx"
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(model), opts,
                                            providers=["CPUExecutionProvider"])
        self.post = _silero_postprocessing()

    def __call__(self, x: np.ndarray) -> list[tuple[int, int]]:
        state = np.zeros((2, 1, 128), dtype=np.float32)
        context = np.zeros((1, 64), dtype=np.float32)
        sr = np.array(SR, dtype=np.int64)
        probs = []
        for i in range(0, x.size, 512):
            chunk = x[i:i + 512]
            if chunk.size < 512:
                chunk = np.pad(chunk, (0, 512 - chunk.size))
            inp = np.concatenate([context, chunk[None, :]], axis=1)
            out, state = self.session.run(None, {"input": inp, "state": state, "sr": sr})
            context = inp[:, -64:]
            probs.append(float(out[0][0]))
        ts = self.post(probs, sampling_rate=SR, audio_length_samples=x.size)
        return [(t["start"] * 1000 // SR, t["end"] * 1000 // SR) for t in ts]


class Ten:
    name = "TEN VAD (hop 256, threshold 0.5)"

    def __init__(self) -> None:
        from ten_vad import TenVad

        self.make = TenVad

    def __call__(self, x: np.ndarray) -> list[tuple[int, int]]:
        vad = self.make(hop_size=256, threshold=0.5)
        pcm = np.clip(x * 32768, -32768, 32767).astype(np.int16)
        flags = []
        for i in range(0, pcm.size - 255, 256):
            _, flag = vad.process(pcm[i:i + 256])
            flags.append(bool(flag))
        return [(a * 16, b * 16) for a, b in accuracy_set.runs(np.array(flags))]


class WebRtc:
    name = "WebRTC VAD (mode 3, 30 ms)"

    def __init__(self) -> None:
        import webrtcvad

        self.make = webrtcvad.Vad

    def __call__(self, x: np.ndarray) -> list[tuple[int, int]]:
        vad = self.make(3)  # a fresh one per file: it adapts to the noise it has heard
        pcm = np.clip(x * 32768, -32768, 32767).astype(np.int16).tobytes()
        step = 480 * 2
        flags = [vad.is_speech(pcm[i:i + step], SR)
                 for i in range(0, len(pcm) - step + 1, step)]
        return [(a * 30, b * 30) for a, b in accuracy_set.runs(np.array(flags))]


class FunasrOnnx:
    name = "funasr_onnx Fsmn_vad (FP32, reference)"

    def __init__(self, tmp: Path) -> None:
        from funasr_onnx import Fsmn_vad

        models = paths.models_dir()
        for link, target in {"model.onnx": "fsmn-vad-fp32.onnx", "am.mvn": "am.mvn",
                             "config.yaml": "config.yaml"}.items():
            (tmp / link).symlink_to(Path(models) / target)
        self.vad = Fsmn_vad(str(tmp), quantize=False, intra_op_num_threads=1)

    def __call__(self, x: np.ndarray) -> list[tuple[int, int]]:
        out = self.vad(x)
        return [(int(s), int(e)) for s, e in out[0]]


# --- running ---------------------------------------------------------------------------------

@dataclass
class FileRun:
    part: str
    name: str
    ref: np.ndarray
    track: FrameTrack
    audio_s: float
    network_s: float


def score_files(part_names: dict[str, list[str]], parts: Sequence[str]) -> list[FileRun]:
    runs_: list[FileRun] = []
    for part in parts:
        for name in part_names[part]:
            x, ref = accuracy_set.load(CACHE, part, name)
            t = time.perf_counter()
            result = segment_array(x, VadParams())
            runs_.append(FileRun(part, name, ref, result.track, x.size / SR,
                                 time.perf_counter() - t))
    return runs_


def evaluate_params(files: Sequence[FileRun], params: VadParams) -> dict[str, float]:
    c = Counts()
    for fr in files:
        t = time.perf_counter()
        segs = resegment(fr.track, params)
        c.seconds += time.perf_counter() - t + fr.network_s
        c.audio_s += fr.audio_s
        c.add(fr.ref, mask_of([(s.start_ms, s.end_ms) for s in segs], fr.ref.size))
    return c.row()


def evaluate_system(files: Sequence[FileRun], system: Callable[[np.ndarray], Any]
                    ) -> dict[str, float]:
    c = Counts()
    for fr in files:
        x, _ = accuracy_set.load(CACHE, fr.part, fr.name)
        t = time.perf_counter()
        segs = system(x)
        c.seconds += time.perf_counter() - t
        c.audio_s += fr.audio_s
        c.add(fr.ref, mask_of(segs, fr.ref.size))
    return c.row()


# --- tuning ----------------------------------------------------------------------------------

STAGE_GRID: Final = {
    "enter_score": [0.6, 0.7, 0.8, 0.9, 0.95],
    "exit_score": [0.35, 0.5, 0.6, 0.7, 0.8, 0.9],
    "score_smooth_ms": [10, 50, 110],
    "min_segment_ms": [0, 100, 250],
}
TUNE_BASE: Final = VadParams(max_segment_ms=30_000)
"""What every tuned preset shares: segments of at most 30 s (subtitles, players, ASR)."""
GOALS: Final = {
    # preset: (metric to maximise, constraint metric, its minimum, min_silence_ms choices, pads)
    "precise": ("frame_f1", "frame_recall", 0.90, [150, 250, 400], [0, 30]),
    "meeting": ("utterance_f1", "utterance_recall", 0.98, [500, 700, 900], [60, 120, 200]),
    "dialogue": ("frame_f1", "frame_recall", 0.93, [250, 400], [30, 60]),
    "noisy": ("utterance_f1", "utterance_recall", 0.97, [500, 700, 900], [60, 120]),
    "phone": ("utterance_f1", "utterance_recall", 0.97, [400, 600, 800], [30, 60, 100]),
}
SCENES_FOR: Final = {"noisy": ("pink_5db", "brown_0db", "white_10db", "music_10db"),
                     "phone": ("telephone",)}


def tune(files: Sequence[FileRun]) -> dict[str, dict[str, Any]]:
    chosen: dict[str, dict[str, Any]] = {}
    for preset, (metric, constraint, floor, silences, pads) in GOALS.items():
        subset = [f for f in files if preset not in SCENES_FOR or f.name in SCENES_FOR[preset]]
        best: tuple[float, dict[str, Any], dict[str, float]] | None = None
        for enter, exit_, smooth, sil, pad, min_seg in itertools.product(
                STAGE_GRID["enter_score"], STAGE_GRID["exit_score"],
                STAGE_GRID["score_smooth_ms"], silences, pads, STAGE_GRID["min_segment_ms"]):
            if exit_ > enter:
                continue
            values = {"boundary_stage": True, "enter_score": enter, "exit_score": exit_,
                      "score_smooth_ms": smooth, "min_silence_ms": sil,
                      "pad_start_ms": pad, "pad_end_ms": pad, "min_segment_ms": min_seg}
            params = VadParams.from_mapping(values, base=TUNE_BASE)
            row = evaluate_params(subset, params)
            score = row[metric] if row[constraint] >= floor else row[constraint] - 1.0
            if best is not None and score <= best[0]:
                continue
            # the floor holds on every file, not only pooled: a preset must not fail one
            # condition (noise, telephone band, level swings) for the others' sake
            worst = min(evaluate_params([f], params)[constraint] for f in subset)
            if worst < floor:
                score = min(score, worst - 1.0)
                if best is not None and score <= best[0]:
                    continue
            best = (score, values, row)
        assert best is not None
        chosen[preset] = {"parameters": best[1], "tune_figures": best[2],
                          "objective": f"max {metric} with {constraint} >= {floor} "
                                       "pooled and on every file",
                          "files": [f.name for f in subset]}
        print(f"{preset}: {best[1]} -> {best[2]}", flush=True)
    return chosen


# --- report ----------------------------------------------------------------------------------

COLUMNS: Final = (("frame_precision", "frame P"), ("frame_recall", "frame R"),
                  ("frame_f1", "frame F1"), ("utterance_f1", "utt. F1"),
                  ("utterance_recall", "utt. R"), ("start_error_ms", "start err ms"),
                  ("end_error_ms", "end err ms"), ("missed_edge_pct", "missed edge %"),
                  ("missed_inside_pct", "missed inside %"), ("missed_whole_pct", "missed whole %"),
                  ("rtf", "RTF"))


def markdown_table(rows: dict[str, dict[str, float]]) -> str:
    head = "| system | " + " | ".join(t for _, t in COLUMNS) + " |"
    sep = "|---" * (len(COLUMNS) + 1) + "|"
    lines = [head, sep]
    for name, row in rows.items():
        cells = []
        for key, _ in COLUMNS:
            v = row[key]
            cells.append(f"{v:+.0f}" if key.endswith("_ms") else
                         f"{v:.5f}" if key == "rtf" else f"{v:.3f}" if v < 1.5 else f"{v:.2f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def speed(repeats: int = 7) -> dict[str, float]:
    """The boundary stage's cost: resegment() of 60 minutes (the held-out meeting's scores
    repeated) with the reference rules and with each tuned preset, a 10-frame streaming push
    (10 minutes of those scores, per push), and an offline run of the
    held-out meeting file with preset funasr vs meeting (network included), medians of CPU
    time (process time: on a shared machine wall time mostly measures the neighbours)."""
    x, _ = accuracy_set.load(CACHE, "heldout", "meeting")
    track = segment_array(x, VadParams()).track
    reps = -(-360_000 // track.num_frames)
    hour = FrameTrack(np.tile(track.p0, reps)[:360_000], np.tile(track.energy_db, reps)[:360_000])
    out: dict[str, float] = {}

    def median_ms(fn: Callable[[], Any]) -> float:
        times = []
        for _ in range(repeats):
            t = time.process_time()
            fn()
            times.append(time.process_time() - t)
        return round(1000 * float(np.median(times)), 2)

    presets = builtin_presets()
    for name in BUILTIN_NAMES:
        params = presets[name].params
        out[f"resegment_60min_{name}_ms"] = median_ms(lambda p=params: resegment(hour, p))
    for name in ("funasr", "meeting"):
        params = presets[name].params
        out[f"offline_{name}_ms"] = median_ms(lambda p=params: segment_array(x, p))
    # a streaming push of 10 frames (100 ms), the live case: the stage vs the reference rules
    frames = hour.p0[:60_000], hour.energy_db[:60_000]
    for name in ("funasr", "meeting", "precise"):
        params = presets[name].params

        def pushes(p: VadParams = params) -> None:
            seg = make_segmenter(p)
            for i in range(0, 60_000, 10):
                seg.push(frames[0][i:i + 10], frames[1][i:i + 10])
            seg.finish()

        out[f"push_10_frames_{name}_us"] = round(median_ms(pushes) / 6_000 * 1000, 2)
    out["audio_s"] = round(x.size / SR, 1)
    out["offline_stage_overhead_pct"] = round(
        100 * (out["offline_meeting_ms"] / out["offline_funasr_ms"] - 1), 2)
    return out


GROUPS: Final = (("heldout_synthetic", "heldout", False), ("heldout_real", "heldout", True),
                 ("tune", "tune", None))
"""Reported groups: (name, part, real files only / synthetic only / all)."""


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", type=Path, default=ROOT / "bench" / "out" / "accuracy.json",
                    help="where the figures go (docs/benchmarks.md is generated from it)")
    ap.add_argument("--markdown", type=Path, help="also write the tables here")
    ap.add_argument("--tune", action="store_true",
                    help="rerun the preset search on part 'tune' and print what it chooses")
    ap.add_argument("--no-others", action="store_true", help="vaddesk only (no comparisons)")
    ap.add_argument("--repeats", type=int, default=7, help="repeats of each speed figure")
    args = ap.parse_args(argv)

    part_names = accuracy_set.build(CACHE)
    if args.tune:
        chosen = tune(score_files(part_names, ["tune"]))
        out = CACHE / "tuning.json"
        out.write_text(json.dumps(chosen, indent=2))
        print(f"wrote {out}")
        return

    run = run_provenance(["bench/bench_accuracy.py", *(argv or sys.argv[1:])])
    files = score_files(part_names, list(accuracy_set.PARTS))
    groups: dict[str, list[FileRun]] = {
        name: [f for f in files if f.part == part
               and (real is None or f.name.startswith("real_") == real)]
        for name, part, real in GROUPS}
    systems: list[tuple[str, Callable[[np.ndarray], Any]]] = []
    tmp = Path(tempfile.mkdtemp())
    if not args.no_others:
        for make in (Silero, Ten, WebRtc, lambda: FunasrOnnx(tmp)):
            system = make()
            systems.append((system.name, system))
    results: dict[str, dict[str, dict[str, float]]] = {g: {} for g in groups}
    presets = builtin_presets()
    for gname, gfiles in groups.items():
        if not gfiles:
            continue
        for preset in BUILTIN_NAMES:
            results[gname][f"vaddesk {preset}"] = evaluate_params(gfiles, presets[preset].params)
        for sname, system in systems:
            results[gname][sname] = evaluate_system(gfiles, system)
    run["load_average_end"] = list(os.getloadavg())
    doc = {"run": run,
           "parts": {p: part_names[p] for p in accuracy_set.PARTS},
           "seconds": {g: round(sum(f.audio_s for f in fs), 1) for g, fs in groups.items()},
           "presets": {name: presets[name].params.to_dict() for name in BUILTIN_NAMES},
           "results": results,
           "speed": speed(args.repeats)}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(doc, indent=2) + "\n")
    md = "\n\n".join(f"### {g} ({doc['seconds'][g]:.0f} s)\n\n" + markdown_table(rows)
                      for g, rows in results.items() if rows)
    print(md)
    print(json.dumps(doc["speed"], indent=2))
    if args.markdown:
        args.markdown.write_text(md + "\n")


if __name__ == "__main__":
    main()
