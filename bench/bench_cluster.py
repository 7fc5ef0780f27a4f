"""Batch throughput: local processes vs a Dask cluster, on the same folder in the same run.

    python bench/bench_cluster.py [--files 16] [--repeat 30] [--runs 3] [--json OUT.json]

Cases: `vaddesk segment FOLDER -j 1`, `-j 2`, and `--cluster` against two `dask scheduler`s on
127.0.0.1, one with 1 and one with 2 `dask worker --nthreads 1` processes (started before
timing, as a cluster is long-lived). Each case is the whole command as a user runs it
(interpreter start, planning, segmenting, writing JSON) into a fresh output folder. The cases
alternate within each run (1, 2, 3, 4, 1, 2, ...), so a change in the machine's load falls on
all of them alike; the median of --runs.
Figures: files per minute and audio hours per minute.

Per-file overhead: many 2-second files through the runner in-process (`run_batch` with one
job, `run_cluster` with one worker): (wall time - the files' own processing time) / files.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.provenance import run_provenance  # noqa: E402
from tests.support.dask_cluster import local_cluster  # noqa: E402
from tests.support.speech_folder import make_speech_folder  # noqa: E402


def audio_seconds(files: list[Path]) -> float:
    import soundfile as sf

    return sum(sf.info(str(f)).duration for f in files)


def time_command(args: list[str], out: Path) -> float:
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "vaddesk", "segment", *args, "--out",
                             str(out)], env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{args}: {result.stdout}{result.stderr}")
    return elapsed


def case(name: str, walls: list[float], n_files: int, audio_s: float) -> dict[str, object]:
    wall = statistics.median(walls)
    row = {"case": name, "wall_s": round(wall, 3), "walls_s": [round(w, 3) for w in walls],
           "files_per_min": round(n_files / wall * 60, 1),
           "audio_h_per_min": round(audio_s / 3600 / wall * 60, 2)}
    print(f"{name:<22} {wall:7.2f} s  {row['files_per_min']:7.1f} files/min  "
          f"{row['audio_h_per_min']:6.2f} audio h/min", flush=True)
    return row


def overhead(address: str | None, files: list[Path], out: Path) -> dict[str, float]:
    from vaddesk.core.presets import get_preset
    from vaddesk.pipeline.batch import BatchOptions, plan_items, run_batch

    shutil.rmtree(out, ignore_errors=True)
    items = plan_items(files, recursive=False, out_dir=out)
    options = BatchOptions(get_preset("meeting").params, "meeting", overwrite=True)
    started = time.perf_counter()
    if address is None:
        results = run_batch(items, options, jobs=1)
    else:
        from distributed import Client

        from vaddesk.pipeline.cluster import run_cluster

        with Client(address, set_as_default=False) as client:
            client.wait_for_workers(1)
            run_cluster(items[:2], options, address, client=client)  # warm-up: plugin, imports
            started = time.perf_counter()
            results = run_cluster(items, options, address, client=client)
    wall = time.perf_counter() - started
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    work = sum(r.elapsed_s for r in results)
    return {"files": len(items), "wall_s": round(wall, 3), "work_s": round(work, 3),
            "overhead_ms_per_file": round((wall - work) / len(items) * 1000, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=30,
                        help="each file is a sentence repeated this often (~6 s each)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--small-files", type=int, default=60)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_cluster_") as tmp_name:
        tmp = Path(tmp_name)
        files = make_speech_folder(tmp / "in", args.files, repeat=args.repeat)
        small = make_speech_folder(tmp / "small", args.small_files)
        audio_s = audio_seconds(files)
        print(f"{len(files)} files, {audio_s / 60:.1f} min of audio", flush=True)
        folder = str(tmp / "in")
        with local_cluster(tmp / "dask1", workers=1) as one, \
                local_cluster(tmp / "dask2", workers=2) as two:
            cases = {"--jobs 1": [folder, "-j", "1"], "--jobs 2": [folder, "-j", "2"],
                     "--cluster, 1 worker": [folder, "--cluster", one.address],
                     "--cluster, 2 workers": [folder, "--cluster", two.address]}
            walls: dict[str, list[float]] = {name: [] for name in cases}
            for _ in range(args.runs):
                for name, argv in cases.items():
                    walls[name].append(time_command(argv, tmp / "o"))
            rows = [case(name, walls[name], len(files), audio_s) for name in cases]
            per_file = {"local --jobs 1": overhead(None, small, tmp / "os"),
                        "--cluster, 1 worker": overhead(one.address, small, tmp / "os")}
        for name, fig in per_file.items():
            print(f"per-file overhead {name:<22} {fig['overhead_ms_per_file']:6.1f} ms "
                  f"({fig['files']} files of ~2 s: wall {fig['wall_s']} s, work {fig['work_s']} s)")
    if args.json:
        doc = {"run": run_provenance(sys.argv), "files": len(files),
               "audio_min": round(audio_s / 60, 1), "cases": rows, "overhead": per_file}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
