"""I/O benchmarks of `vaddesk segment`: decoding, resampling, parallel throughput, memory.

Run from the repo root (files are generated once into bench/out/io/, which git ignores):

    python bench/bench_io.py --json bench/out/io.json   # full run (~10 min on 2 cores)
    python bench/bench_io.py --quick                    # small files, a fast check

What it measures (medians over --repeats runs in one process run, so ratios compare like with
like even on a shared machine):

1. decoding alone and decoding + downmix + soxr resampling to 16 kHz (`AudioReader.blocks_16k`)
   of a 60-minute 48 kHz stereo 16-bit WAV and of the same hour as a 128 kb/s AAC `.m4a`;
2. folder throughput of `vaddesk segment FOLDER --jobs 1` vs `--jobs 2` on the same 8 files
   (48 kHz stereo WAV, 44.1 kHz FLAC, MP3, M4A; 5 minutes each), wall time of the command;
3. peak RSS of `vaddesk segment` (one job, JSON output) on a 3-hour 48 kHz stereo WAV
   (`/usr/bin/time -v`, maximum resident set size); the target is <= 250 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

from bench.provenance import run_provenance  # noqa: E402
from tests.support import audio_fixtures as af  # noqa: E402
from vaddesk.audio.decode import open_audio  # noqa: E402

OUT = REPO / "bench" / "out" / "io"
RATE = 48_000


def make_long(path: Path, minutes: float, rate: int = RATE, channels: int = 2,
              subtype: str = "PCM_16") -> Path:
    """The espeak-ng master tiled to `minutes`, written a minute at a time (never whole)."""
    if path.exists():
        return path
    master, master_rate = sf.read(af.make_master(OUT / "src"), dtype="float32")
    if master_rate != rate:
        import soxr

        master = soxr.resample(master, master_rate, rate).astype(np.float32)
    total = int(minutes * 60 * rate)
    tmp = path.with_suffix(".part" + path.suffix)
    with sf.SoundFile(tmp, "w", samplerate=rate, channels=channels, subtype=subtype) as out:
        done = 0
        while done < total:
            n = min(len(master), total - done)
            block = master[:n]
            out.write(np.stack([block * (1.0 - 0.2 * c) for c in range(channels)], axis=1))
            done += n
    tmp.rename(path)
    return path


def encode(src: Path, dst: Path, *options: str) -> Path:
    if not dst.exists():
        af.run("ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", src, *options, dst)
    return dst


def median_time(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def decode_only(path: Path) -> None:
    with open_audio(path) as reader:
        for _ in reader.blocks_original(reader.info.sample_rate * 30):
            pass


def decode_resample(path: Path) -> None:
    with open_audio(path) as reader:
        for _ in reader.blocks_16k(30_000):
            pass


def vaddesk(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "vaddesk", *map(str, args)], env=env,
                          capture_output=True, text=True, check=True, cwd=REPO)


def bench_decode(minutes: float, repeats: int) -> list[dict[str, object]]:
    wav = make_long(OUT / f"long_{minutes:g}min_48k_stereo.wav", minutes)
    m4a = encode(wav, OUT / f"long_{minutes:g}min.m4a", "-c:a", "aac", "-b:a", "128k")
    rows = []
    for label, path in (("48 kHz stereo WAV", wav), ("AAC .m4a 48 kHz stereo 128 kb/s", m4a)):
        audio_s = minutes * 60
        t_dec = median_time(lambda p=path: decode_only(p), repeats)  # type: ignore[misc]
        t_all = median_time(lambda p=path: decode_resample(p), repeats)  # type: ignore[misc]
        rows.append({"input": label, "minutes": minutes, "decode_s": round(t_dec, 2),
                     "decode_resample_s": round(t_all, 2),
                     "resample_share_s": round(t_all - t_dec, 2),
                     "rtf": round(t_all / audio_s, 5), "x_realtime": round(audio_s / t_all)})
    return rows


def bench_folder(minutes_each: float, repeats: int) -> dict[str, object]:
    folder = OUT / f"folder_{minutes_each:g}min"
    if not folder.exists():
        staging = OUT / f"folder_{minutes_each:g}min.part"
        staging.mkdir(parents=True, exist_ok=True)
        base = make_long(OUT / f"base_{minutes_each:g}min.wav", minutes_each)
        for i in range(2):
            shutil.copy(base, staging / f"wav_{i}.wav")
            encode(base, staging / f"flac_{i}.flac", "-ar", "44100", "-c:a", "flac")
            encode(base, staging / f"mp3_{i}.mp3", "-ac", "1", "-c:a", "libmp3lame", "-b:a",
                   "128k")
            encode(base, staging / f"m4a_{i}.m4a", "-c:a", "aac", "-b:a", "128k")
        staging.rename(folder)
    files = sorted(folder.iterdir())
    audio_h = len(files) * minutes_each / 60
    walls: dict[int, list[float]] = {1: [], 2: []}
    cpus: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(repeats):
        for jobs in (1, 2):  # alternate so both see the same machine load
            with tempfile.TemporaryDirectory(dir=OUT) as out:
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                t0 = time.perf_counter()
                vaddesk("segment", folder, "--out", out, "--jobs", str(jobs))
                walls[jobs].append(time.perf_counter() - t0)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                # CPU of the command and its worker processes (all waited for).
                cpus[jobs].append(after.ru_utime - before.ru_utime
                                  + after.ru_stime - before.ru_stime)
    w1, w2 = statistics.median(walls[1]), statistics.median(walls[2])
    c1, c2 = statistics.median(cpus[1]), statistics.median(cpus[2])
    return {"files": len(files), "audio_hours": round(audio_h, 3),
            "jobs1_wall_s": round(w1, 2), "jobs2_wall_s": round(w2, 2),
            "jobs1_cpu_s": round(c1, 2), "jobs2_cpu_s": round(c2, 2),
            "jobs1_audio_h_per_min": round(audio_h / w1 * 60, 2),
            "jobs2_audio_h_per_min": round(audio_h / w2 * 60, 2),
            "speedup_2_vs_1": round(w1 / w2, 2),
            # Wall-clock speed-up if both cores were ours alone: CPU work of one job over the
            # CPU work of two jobs shared by two cores (what the machine's load hides).
            "ideal_speedup_from_cpu": round(c1 / (c2 / 2), 2),
            "load_avg_1min": os.getloadavg()[0], "runs": walls}


def bench_rss(hours: float) -> dict[str, object]:
    wav = make_long(OUT / f"long_{hours:g}h_48k_stereo.wav", hours * 60)
    with tempfile.TemporaryDirectory(dir=OUT) as out:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        t0 = time.perf_counter()
        result = subprocess.run(
            ["/usr/bin/time", "-v", sys.executable, "-m", "vaddesk", "segment", str(wav),
             "--json-out", str(Path(out) / "long.json"), "--jobs", "1"],
            env=env, capture_output=True, text=True, check=True, cwd=REPO)
        wall = time.perf_counter() - t0
        segments = len(json.loads((Path(out) / "long.json").read_text())["segments"])
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr)
    assert match, result.stderr
    return {"hours": hours, "file_mb": round(wav.stat().st_size / 1e6),
            "peak_rss_mb": round(int(match[1]) / 1024, 1), "wall_s": round(wall, 1),
            "segments": segments}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small files, one repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip", action="append", default=[],
                        choices=("decode", "folder", "rss"))
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    repeats = 1 if args.quick else args.repeats
    results: dict[str, object] = {"run": run_provenance(sys.argv), "repeats": repeats}
    if "decode" not in args.skip:
        rows = bench_decode(2 if args.quick else 60, repeats)
        results["decode"] = rows
        print("\ndecode + resample to 16 kHz mono (median of", repeats, "runs)")
        print(f"{'input':32s} {'min':>5s} {'decode s':>9s} {'+resample s':>12s} "
              f"{'RTF':>8s} {'x realtime':>10s}")
        for r in rows:
            print(f"{r['input']:32s} {r['minutes']:5g} {r['decode_s']:9.2f} "
                  f"{r['decode_resample_s']:12.2f} {r['rtf']:8.5f} {r['x_realtime']:10d}")
    if "folder" not in args.skip:
        f = bench_folder(0.5 if args.quick else 5, repeats)
        results["folder"] = f
        print(f"\nfolder throughput: {f['files']} files, {f['audio_hours']} h of audio")
        print(f"  --jobs 1: {f['jobs1_wall_s']} s ({f['jobs1_audio_h_per_min']} audio h/min)")
        print(f"  --jobs 2: {f['jobs2_wall_s']} s ({f['jobs2_audio_h_per_min']} audio h/min)")
        print(f"  speed-up 2 vs 1 jobs: {f['speedup_2_vs_1']}x (CPU s: {f['jobs1_cpu_s']} vs "
              f"{f['jobs2_cpu_s']}; on two idle cores: {f['ideal_speedup_from_cpu']}x; "
              f"load average {f['load_avg_1min']:.1f})")
    if "rss" not in args.skip:
        r = bench_rss(0.1 if args.quick else 3)
        results["rss"] = r
        print(f"\npeak RSS of vaddesk segment on a {r['hours']} h 48 kHz stereo WAV "
              f"({r['file_mb']} MB): {r['peak_rss_mb']} MB (wall {r['wall_s']} s, "
              f"{r['segments']} segments)")
    results["run"]["load_average_end"] = list(os.getloadavg())  # type: ignore[index]
    (OUT / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten: {OUT / 'results.json'}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
