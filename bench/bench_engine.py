"""Engine benchmarks: speed and memory of vaddesk's engine against the reference runtime.

Run from the repo root (one thread everywhere; with --json the figures feed docs/benchmarks.md
through bench/make_benchmarks_doc.py):

    python bench/bench_engine.py --json bench/out/engine.json   # full run (~15-25 min)
    python bench/bench_engine.py --quick                        # a fast check (~2 min)
    python bench/bench_engine.py --tree DIR ...                 # DIR's vaddesk (an A/B)

``--tree DIR`` imports vaddesk (engine, model runner, model files) from DIR, a checkout of another
commit (``git worktree add --detach DIR COMMIT``), while the corpus and this script stay this
tree's: two runs back to back, one with --tree, compare one commit's engine with another's.

What it measures (medians over --repeats runs, all in the same process run, so the ratios compare
like with like even on a shared machine):

1. end-to-end offline segmentation of a >= 30-minute 16 kHz WAV (read the file, features,
   network, detector): ours int8 and fp32 (``segment_blocks`` over ``soundfile.blocks``) vs
   ``funasr_onnx.Fsmn_vad`` (``soundfile.read`` + ``vad(samples)``);
2. streaming in 100 ms blocks: our ``StreamingVad`` vs ``funasr_onnx.Fsmn_vad_online`` fed 100 ms
   blocks with the ``param_dict`` cache its README shows (the reference only on the first
   --online-minutes to keep the run short: its cost per block does not fall with stream length,
   RTF 0.0106 over 1 min vs 0.0093 over 3 min in a trial, so the RTFs compare fairly);
3. the INT8 network vs the FP32 network alone (onnxruntime sessions, one thread, same features);
4. peak RSS of segmenting a 60-minute file in a fresh subprocess (ours int8; the reference too
   unless --no-reference-rss or the machine has too little free memory);
5. RSS growth of a simulated 8-hour stream through ``StreamingVad`` in 100 ms blocks (the
   corpus, ~10 min, cycled), in a fresh subprocess, sampled every 30 simulated minutes;
6. ``resegment()`` on the track of a 60-minute file.
"""

from __future__ import annotations

import os

# One thread everywhere, set before numpy / onnxruntime load their thread pools.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from functools import partial  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _tree_from_argv(argv: list[str]) -> Path:
    """The checkout whose vaddesk is measured (--tree DIR), read before vaddesk is imported."""
    for i, arg in enumerate(argv):
        if arg == "--tree" and i + 1 < len(argv):
            return Path(argv[i + 1]).resolve()
        if arg.startswith("--tree="):
            return Path(arg.split("=", 1)[1]).resolve()
    return REPO


import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
import soundfile as sf  # noqa: E402

from bench.provenance import commit_of, run_provenance  # noqa: E402
from tests.support.corpus import build_long_file, ensure_corpus, read_wav  # noqa: E402

TREE = _tree_from_argv(sys.argv)
sys.path.insert(0, str(TREE))  # vaddesk is a regular package: the first one on the path wins
from vaddesk import paths  # noqa: E402
from vaddesk.core.engine import StreamingVad, resegment, segment_blocks  # noqa: E402
from vaddesk.core.model import BLOCK_FRAMES, Precision, VadModel  # noqa: E402
from vaddesk.core.params import VadParams  # noqa: E402
from vaddesk.core.presets import builtin_presets  # noqa: E402

SAMPLE_RATE = 16_000
BLOCK_100MS = 1_600
FILE_BLOCK = SAMPLE_RATE * 30  # offline reads: 30 s blocks from the file


# --- helpers ---------------------------------------------------------------------------------

def _status_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def rss_mb() -> float:
    return _status_mb("VmRSS")


def peak_rss_mb() -> float:
    """This process's RSS high-water mark. VmHWM, not getrusage's ru_maxrss: Linux carries
    ru_maxrss across fork+exec, so a child would report its (large) parent's peak."""
    return _status_mb("VmHWM")


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, list[float], Any, float]:
    """Median wall time of `repeats` runs (after one untimed warm-up run), the wall times, the
    last result, and the median CPU time of this process (user + system) per run: on a shared
    machine the wall time also counts waiting for a core, the CPU time much less so."""
    result = fn()
    times, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(times), times, result, statistics.median(cpu)


def reference_model_dir() -> Path:
    """A funasr_onnx model_dir of links to our model files (model_quant.onnx = our INT8)."""
    model_dir = Path(tempfile.mkdtemp(prefix="vaddesk-bench-ref-"))
    for link, target in {"model.onnx": "fsmn-vad-fp32.onnx",
                         "model_quant.onnx": "fsmn-vad-int8.onnx",
                         "am.mvn": "am.mvn", "config.yaml": "config.yaml"}.items():
        (model_dir / link).symlink_to(paths.model_file(target))
    return model_dir


def mem_available_mb() -> float:
    with open("/proc/meminfo") as info:
        for line in info:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    return 0.0


# --- the cases -------------------------------------------------------------------------------

def ours_offline(path: Path, precision: Precision) -> Any:
    blocks = sf.blocks(str(path), blocksize=FILE_BLOCK, dtype="float32")
    return segment_blocks(blocks, VadParams(), precision=precision, threads=1)


def reference_offline(vad: Any, path: Path) -> Any:
    samples, _ = sf.read(str(path), dtype="float32")
    return vad(samples)


def ours_streaming(samples: np.ndarray) -> int:
    vad = StreamingVad(VadParams(), precision="int8", threads=1)
    events = 0
    for pos in range(0, samples.size, BLOCK_100MS):
        events += len(vad.accept_waveform(samples[pos:pos + BLOCK_100MS]))
    return events + len(vad.flush())


def reference_streaming(online: Any, samples: np.ndarray) -> int:
    # As funasr_onnx's README shows: one param_dict carries the caches between calls.
    param_dict: dict[str, Any] = {"in_cache": [], "is_final": False}
    starts = list(range(0, samples.size, BLOCK_100MS))
    results = 0
    for i, pos in enumerate(starts):
        param_dict["is_final"] = i == len(starts) - 1
        out = online(audio_in=samples[pos:pos + BLOCK_100MS], param_dict=param_dict)
        results += len(out)
    return results


def run_network(model: VadModel, feats: np.ndarray, block: int) -> None:
    """The network alone: vaddesk's model runner over precomputed features, `block` frames
    per call (the runner itself splits long inputs into BLOCK_FRAMES calls)."""
    model.reset()
    for pos in range(0, feats.shape[0], block):
        model.silence_prob(feats[pos:pos + block])


def reference_features(samples: np.ndarray) -> np.ndarray:
    """LFR+CMVN features from the reference's own frontend (the networks' common input)."""
    from funasr_onnx.utils.frontend import WavFrontend

    frontend = WavFrontend(cmvn_file=str(paths.model_file("am.mvn")), n_mels=80,
                           frame_length=25, frame_shift=10, lfr_m=5, lfr_n=1, dither=0.0)
    fbank, _ = frontend.fbank(samples)
    feats, _ = frontend.lfr_cmvn(fbank)
    return np.ascontiguousarray(feats, dtype=np.float32)


def stream_memory(source: np.ndarray, hours: float, sample_every_min: float = 10.0
                  ) -> dict[str, Any]:
    """RSS while `hours` of audio (source, cycled) go through one StreamingVad in 100 ms blocks."""
    vad = StreamingVad(VadParams(), precision="int8", threads=1)
    total_blocks = int(hours * 3600 * SAMPLE_RATE / BLOCK_100MS)
    blocks_per_sample = int(sample_every_min * 60 * SAMPLE_RATE / BLOCK_100MS)
    source_blocks = source.size // BLOCK_100MS
    samples_rss: list[tuple[float, float]] = []
    segments = 0
    t0 = time.perf_counter()
    for i in range(total_blocks):
        pos = (i % source_blocks) * BLOCK_100MS
        for event in vad.accept_waveform(source[pos:pos + BLOCK_100MS]):
            segments += type(event).__name__ == "SegmentClosed"
        if (i + 1) % blocks_per_sample == 0:
            samples_rss.append(((i + 1) * 0.1 / 60, rss_mb()))
    vad.flush()
    elapsed = time.perf_counter() - t0
    baseline = samples_rss[0][1]  # after the first interval: sessions, caches, buffers warm
    return {"hours": hours, "rss_samples_min_mb": samples_rss, "baseline_mb": baseline,
            "final_mb": samples_rss[-1][1], "growth_mb": samples_rss[-1][1] - baseline,
            "max_growth_mb": max(r for _, r in samples_rss) - baseline,
            "segments": segments, "seconds": elapsed}


# --- subprocess children for peak RSS --------------------------------------------------------

def child(mode: str, path: Path) -> None:
    t0 = time.perf_counter()
    if mode == "reference":
        from funasr_onnx import Fsmn_vad

        vad = Fsmn_vad(str(reference_model_dir()), intra_op_num_threads=1)
        segments = len(reference_offline(vad, path)[0])
    else:
        precision: Precision = "fp32" if mode == "ours-fp32" else "int8"
        segments = len(ours_offline(path, precision).segments)
    print(json.dumps({"mode": mode, "peak_rss_mb": peak_rss_mb(), "segments": segments,
                      "seconds": time.perf_counter() - t0}))


def peak_rss_in_child(mode: str, path: Path) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--child", mode, str(path),
                          "--tree", str(TREE)],
                         capture_output=True, text=True, check=True, cwd=REPO)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# --- A/B of two checkouts, alternating in one run ----------------------------------------------

AB_CASES = ("offline-int8", "offline-fp32", "stream-int8", "network-int8-512", "network-fp32-512",
            "network-int8-10", "network-fp32-10", "resegment-meeting")


def ab_child(case: str, path: Path) -> None:
    """One A/B measurement in a fresh process of one checkout: a warm-up run, then one timed run
    of `case`; prints the seconds and what the run produced (to check both sides agree)."""
    produced: Any
    if case.startswith("offline-"):
        precision: Precision = "fp32" if case.endswith("fp32") else "int8"
        fn: Callable[[], Any] = partial(ours_offline, path, precision)
    elif case == "stream-int8":
        samples, _ = sf.read(str(path), dtype="float32")
        fn = partial(ours_streaming, samples)
    elif case.startswith("network-"):
        _, precision_name, block = case.split("-")
        samples, _ = sf.read(str(path), dtype="float32", frames=5 * 60 * SAMPLE_RATE)
        model = VadModel("fp32" if precision_name == "fp32" else "int8", threads=1)
        fn = partial(run_network, model, reference_features(samples), int(block))
    elif case == "resegment-meeting":
        track = ours_offline(path, "int8").track
        fn = partial(resegment, track, builtin_presets()["meeting"].params)
    else:
        raise SystemExit(f"unknown A/B case {case}")
    fn()
    start, cpu_start = time.perf_counter(), time.process_time()
    result = fn()
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    if case.startswith("offline-"):
        produced = [[s.start_ms, s.end_ms] for s in result.segments]
    elif case == "resegment-meeting":
        produced = [[s.start_ms, s.end_ms] for s in result]
    else:
        produced = result
    # CPU time as well as wall time: on a loaded machine the wall time also counts the time
    # the process waited for a core, the CPU time much less so.
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "produced": produced}))


def ab_run(tree: Path, case: str, path: Path) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--ab-child", case, str(path),
                          "--tree", str(tree)], capture_output=True, text=True, check=True,
                         cwd=REPO)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def ab(args: argparse.Namespace) -> None:
    """Checkout A (--ab DIR) against checkout B (--tree, default this one): each case runs in
    fresh processes, A and B alternating in the order ABBA, so drift in the machine's load
    falls on both sides alike; each pair's ratio B/A is taken from neighbouring runs."""
    tree_a, tree_b = args.ab.resolve(), TREE
    run: dict[str, Any] = run_provenance(sys.argv, tree_b)
    figures: dict[str, Any] = {"run": run, "a_commit": commit_of(tree_a),
                               "b_commit": run["commit"], "minutes": args.minutes,
                               "repeats": args.repeats, "cases": {}}
    ensure_corpus()
    wav = build_long_file(args.minutes * 60)
    figures["file_s"] = sf.info(str(wav)).duration
    for case in AB_CASES:
        times: dict[str, list[float]] = {"a": [], "b": []}
        cpu: dict[str, list[float]] = {"a": [], "b": []}
        produced: dict[str, Any] = {}
        for i in range(args.repeats):
            order = ("a", "b") if i % 2 == 0 else ("b", "a")
            for side in order:
                result = ab_run(tree_a if side == "a" else tree_b, case, wav)
                times[side].append(result["seconds"])
                cpu[side].append(result["cpu_seconds"])
                produced.setdefault(side, result["produced"])
        ratios = [b / a for a, b in zip(cpu["a"], cpu["b"], strict=True)]
        figures["cases"][case] = {"a_s": times["a"], "b_s": times["b"], "a_cpu_s": cpu["a"],
                                  "b_cpu_s": cpu["b"],
                                  "same_output": produced["a"] == produced["b"]}
        print(f"{case:20s} CPU s: A {statistics.median(cpu['a']):8.4f}  B "
              f"{statistics.median(cpu['b']):8.4f}  B/A {statistics.median(ratios):5.2f} "
              f"(pairs {min(ratios):.2f}-{max(ratios):.2f}); wall s: A "
              f"{statistics.median(times['a']):.4f} B {statistics.median(times['b']):.4f}; "
              f"same output: {produced['a'] == produced['b']}", flush=True)
    run["load_average_end"] = list(os.getloadavg())
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=1) + "\n")


# --- main ------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="small sizes for a fast check (figures are not the claims)")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes, one repeat: checks the script runs (tests/)")
    parser.add_argument("--minutes", type=float, default=30.0, help="length of the speed file")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--online-minutes", type=float, default=10.0,
                        help="stream length fed to Fsmn_vad_online")
    parser.add_argument("--stream-hours", type=float, default=8.0)
    parser.add_argument("--no-reference-rss", action="store_true",
                        help="skip the offline reference's peak RSS (needs ~4.5 GB)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--markdown", type=Path, help="also write the figures as Markdown here")
    parser.add_argument("--tree", type=Path, default=REPO,
                        help="measure the vaddesk of this checkout (default: this one)")
    parser.add_argument("--ab", type=Path, metavar="DIR",
                        help="A/B: DIR's vaddesk (A) against --tree's (B), alternating in fresh "
                             "processes (--minutes, --repeats apply)")
    parser.add_argument("--ab-child", nargs=2, metavar=("CASE", "WAV"), help=argparse.SUPPRESS)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "WAV"), help=argparse.SUPPRESS)
    parser.add_argument("--child-stream", nargs=2, metavar=("HOURS", "EVERY_MIN"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ab_child:
        ab_child(args.ab_child[0], Path(args.ab_child[1]))
        return
    if args.ab:
        ab(args)
        return
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    if args.child_stream:
        source = np.concatenate([read_wav(p) for p in ensure_corpus()])  # ~10 min, cycled
        print(json.dumps(stream_memory(source, float(args.child_stream[0]),
                                       sample_every_min=float(args.child_stream[1]))))
        return
    interval_min = 30.0
    if args.smoke:
        args.minutes, args.repeats, args.online_minutes = 1.0, 1, 0.25
        args.stream_hours, rss_minutes, interval_min = 0.05, 1.0, 1.0
        args.no_reference_rss = True
    elif args.quick:
        args.minutes, args.repeats, args.online_minutes = 3.0, 2, 1.0
        args.stream_hours, rss_minutes, interval_min = 0.5, 10.0, 5.0
        args.no_reference_rss = True
    else:
        rss_minutes = 60.0

    from funasr_onnx import Fsmn_vad, Fsmn_vad_online

    run: dict[str, Any] = run_provenance(sys.argv, TREE)
    machine = run["machine"]
    figures: dict[str, Any] = {
        "run": run,
        # Flat copies of the provenance, for markdown() below.
        "command": run["command"], "date_utc": run["date_utc"],
        "machine": f"{machine['cpu']}, {machine['cores']} cores, {machine['os']}",
        "onnxruntime": ort.__version__, "numpy": np.__version__,
        "load_average_start": os.getloadavg()}
    rows: list[tuple[str, float, float, str]] = []
    rows_cpu: list[float] = []  # median CPU s of each row, same order

    ensure_corpus()
    speed_wav = build_long_file(args.minutes * 60)
    duration_s = sf.info(str(speed_wav)).duration
    figures["speed_file_s"] = duration_s
    print(f"speed file: {speed_wav.name} ({duration_s / 60:.1f} min); repeats {args.repeats}",
          flush=True)

    # 1. offline end to end
    model_dir = reference_model_dir()
    ref_vad = Fsmn_vad(str(model_dir), intra_op_num_threads=1)
    ref_s, ref_all, ref_out, ref_cpu = timed(
        lambda: reference_offline(ref_vad, speed_wav), args.repeats)
    int8_s, int8_all, int8_out, int8_cpu = timed(
        lambda: ours_offline(speed_wav, "int8"), args.repeats)
    fp32_s, fp32_all, fp32_out, fp32_cpu = timed(
        lambda: ours_offline(speed_wav, "fp32"), args.repeats)
    same = [[s.start_ms, s.end_ms] for s in fp32_out.segments] == ref_out[0]
    figures["offline"] = {"reference_s": ref_all, "int8_s": int8_all, "fp32_s": fp32_all,
                          "fp32_segments_equal_reference": same,
                          "fp32_segments": len(fp32_out.segments),
                          "segments": len(int8_out.segments)}
    rows += [("offline  funasr_onnx.Fsmn_vad (fp32)", ref_s, ref_s / duration_s, "1.0x"),
             ("offline  vaddesk fp32", fp32_s, fp32_s / duration_s, f"{ref_s / fp32_s:.1f}x"),
             ("offline  vaddesk int8", int8_s, int8_s / duration_s, f"{ref_s / int8_s:.1f}x")]
    rows_cpu += [ref_cpu, fp32_cpu, int8_cpu]
    print(f"offline: reference {ref_s:.2f} s, fp32 {fp32_s:.2f} s, int8 {int8_s:.2f} s",
          flush=True)

    # 2. streaming in 100 ms blocks
    samples, _ = sf.read(str(speed_wav), dtype="float32")
    online_samples = samples[: int(args.online_minutes * 60 * SAMPLE_RATE)]
    online = Fsmn_vad_online(str(model_dir), intra_op_num_threads=1)
    online_repeats = max(1, min(args.repeats, 3))
    ron_s, ron_all, _, ron_cpu = timed(
        lambda: reference_streaming(online, online_samples), online_repeats)
    son_s, son_all, _, son_cpu = timed(lambda: ours_streaming(samples), args.repeats)
    ron_rtf = ron_s / (online_samples.size / SAMPLE_RATE)
    son_rtf = son_s / duration_s
    figures["streaming"] = {"reference_s": ron_all, "reference_audio_s":
                            online_samples.size / SAMPLE_RATE, "ours_s": son_all,
                            "ours_audio_s": duration_s}
    rows += [(f"stream   Fsmn_vad_online, 100 ms ({args.online_minutes:g} min)", ron_s, ron_rtf,
              "1.0x"),
             (f"stream   vaddesk StreamingVad int8, 100 ms ({duration_s / 60:.0f} min)", son_s,
              son_rtf, f"{ron_rtf / son_rtf:.1f}x")]
    rows_cpu += [ron_cpu, son_cpu]
    print(f"streaming: reference RTF {ron_rtf:.4f}, ours RTF {son_rtf:.5f}", flush=True)

    # 3. network alone
    feats = reference_features(samples[: 5 * 60 * SAMPLE_RATE])  # 5 min or the whole file
    net_audio_s = feats.shape[0] / 100
    fp32_model, int8_model = VadModel("fp32", threads=1), VadModel("int8", threads=1)
    for block, label in ((BLOCK_FRAMES, f"{BLOCK_FRAMES}-frame calls"),
                         (10, "10-frame calls")):
        nf_s, nf_all, _, nf_cpu = timed(
            partial(run_network, fp32_model, feats, block), args.repeats)
        ni_s, ni_all, _, ni_cpu = timed(
            partial(run_network, int8_model, feats, block), args.repeats)
        figures[f"network_{block}"] = {"fp32_s": nf_all, "int8_s": ni_all,
                                       "audio_s": net_audio_s}
        rows += [(f"network  fp32, {label}", nf_s, nf_s / net_audio_s, "1.0x"),
                 (f"network  int8, {label}", ni_s, ni_s / net_audio_s, f"{nf_s / ni_s:.2f}x")]
        rows_cpu += [nf_cpu, ni_cpu]

    # 4. peak RSS of a 60-minute file, fresh subprocesses
    rss_wav = build_long_file(rss_minutes * 60)
    rss = {"file_s": sf.info(str(rss_wav)).duration,
           "ours-int8": peak_rss_in_child("ours-int8", rss_wav)}
    if not args.no_reference_rss:
        if mem_available_mb() > 8_000:
            rss["reference"] = peak_rss_in_child("reference", rss_wav)
        else:
            rss["reference"] = {"skipped": f"only {mem_available_mb():.0f} MB available"}
    figures["peak_rss"] = rss
    print(f"peak RSS: {json.dumps(rss)}", flush=True)

    # 5. simulated long stream, in a fresh process that does nothing else
    out = subprocess.run([sys.executable, __file__, "--child-stream", str(args.stream_hours),
                          str(interval_min), "--tree", str(TREE)],
                         capture_output=True, text=True, check=True, cwd=REPO)
    figures["stream_memory"] = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"stream memory: growth {figures['stream_memory']['growth_mb']:.2f} MB over "
          f"{args.stream_hours:g} h", flush=True)

    # 6. resegment a 60-minute track
    track = ours_offline(rss_wav, "int8").track
    reseg = {}
    for label, params in (("funasr", VadParams()),
                          ("meeting", builtin_presets()["meeting"].params)):
        seconds, all_s, _, cpu_s = timed(partial(resegment, track, params), args.repeats)
        reseg[label] = all_s
        rows.append((f"resegment {rss_minutes:.0f} min track, preset {label}", seconds,
                     seconds / rss["file_s"], ""))
        rows_cpu.append(cpu_s)
    figures["resegment"] = reseg
    figures["load_average_end"] = os.getloadavg()
    figures["rows"] = rows
    figures["rows_cpu_s"] = rows_cpu

    print()
    print(f"{'case':62s} {'median s':>9s} {'RTF':>9s} {'speed-up':>9s}")
    for name, seconds, rtf, ratio in rows:
        print(f"{name:62s} {seconds:9.4g} {rtf:9.3g} {ratio:>9s}")
    ours_rss = rss["ours-int8"]["peak_rss_mb"]
    ref_rss = rss.get("reference", {}).get("peak_rss_mb")
    print(f"peak RSS, {rss['file_s'] / 60:.0f} min file: vaddesk int8 {ours_rss:.0f} MB"
          + (f", funasr_onnx.Fsmn_vad {ref_rss:.0f} MB" if ref_rss else ""))
    mem = figures["stream_memory"]
    print(f"simulated {mem['hours']:g} h stream (100 ms blocks): RSS {mem['baseline_mb']:.1f} -> "
          f"{mem['final_mb']:.1f} MB (growth {mem['growth_mb']:.2f} MB, max "
          f"{mem['max_growth_mb']:.2f} MB), {mem['seconds']:.0f} s")
    print(f"load average at start/end: {figures['load_average_start']} / "
          f"{figures['load_average_end']} (machine shared)")
    net = figures[f"network_{BLOCK_FRAMES}"]
    net_ratio = statistics.median(net["fp32_s"]) / statistics.median(net["int8_s"])
    claims = [
        ("offline int8 RTF", f"{int8_s / duration_s:.5f}", "<= 0.0012",
         int8_s / duration_s <= 0.0012),
        ("offline int8 vs Fsmn_vad", f"{ref_s / int8_s:.1f}x", ">= 7x", ref_s / int8_s >= 7),
        ("streaming 100 ms RTF", f"{son_rtf:.5f}", "<= 0.003", son_rtf <= 0.003),
        ("streaming vs Fsmn_vad_online", f"{ron_rtf / son_rtf:.1f}x", ">= 10x",
         ron_rtf / son_rtf >= 10),
        (f"int8 vs fp32 network ({BLOCK_FRAMES}-frame calls)", f"{net_ratio:.2f}x", ">= 1.8x",
         net_ratio >= 1.8),
        (f"peak RSS, {rss['file_s'] / 60:.0f} min file", f"{ours_rss:.0f} MB", "<= 200 MB",
         ours_rss <= 200),
        (f"RSS growth, {mem['hours']:g} h stream", f"{mem['growth_mb']:.2f} MB", "< 5 MB",
         mem["growth_mb"] < 5),
    ]
    figures["claims"] = claims
    print()
    for claim, measured, target, met in claims:
        print(f"{claim:44s} {measured:>10s}  target {target:10s} {'met' if met else 'NOT MET'}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=1))
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(markdown(figures, rows, claims, ref_rss))


def markdown(figures: dict[str, Any], rows: list[tuple[str, float, float, str]],
             claims: list[tuple[str, str, str, bool]], ref_rss: float | None) -> str:
    """The figures as Markdown (docs/benchmarks.md is generated from the JSON instead)."""
    mem = figures["stream_memory"]
    rss = figures["peak_rss"]
    out = [f"Measured {figures['date_utc']} UTC on {figures['machine']}; onnxruntime "
           f"{figures['onnxruntime']}, numpy {figures['numpy']}; one thread everywhere; load "
           f"average {figures['load_average_start'][0]:.1f} at the start, "
           f"{figures['load_average_end'][0]:.1f} at the end. Medians; ratios from the same run.",
           "", f"Command: `{figures['command']}`", "",
           "| case | median s | RTF | speed-up |", "|---|---:|---:|---:|"]
    out += [f"| {name} | {seconds:.4g} | {rtf:.3g} | {ratio} |" for name, seconds, rtf, ratio
            in rows]
    off = figures["offline"]
    out += ["", f"On the {figures['speed_file_s'] / 60:.0f}-minute file the timed vaddesk FP32 run "
            f"returned {'exactly' if off['fp32_segments_equal_reference'] else 'NOT'} the "
            f"reference's segments ({off['fp32_segments']} segments)."]
    out += ["", f"Peak RSS segmenting a {rss['file_s'] / 60:.0f}-minute file in a fresh process: "
            f"vaddesk int8 {rss['ours-int8']['peak_rss_mb']:.0f} MB"
            + (f", funasr_onnx.Fsmn_vad {ref_rss:.0f} MB." if ref_rss else "."),
            f"Simulated {mem['hours']:g}-hour stream through StreamingVad in 100 ms blocks: RSS "
            f"{mem['baseline_mb']:.1f} MB after the first interval, {mem['final_mb']:.1f} MB at "
            f"the end (growth {mem['growth_mb']:.2f} MB, largest {mem['max_growth_mb']:.2f} MB).",
            "", "| claim | measured | target | |", "|---|---:|---|---|"]
    out += [f"| {c} | {m} | {t} | {'met' if ok else '**not met**'} |" for c, m, t, ok in claims]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
