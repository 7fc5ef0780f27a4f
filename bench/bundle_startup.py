"""Start-up time of the frozen app: launch to a visible window, and to a file's segments on screen.

    python bench/bundle_startup.py [--runs 5] [--bundle dist/vaddesk]

Runs dist/vaddesk/vaddesk-gui on a private Xvfb display (a real X server, platform xcb, not
offscreen) with the bundled sample, in the hidden smoke-test mode (vaddesk/gui/smoketest.py): the
app prints the wall-clock time of the main window's first paint and of the file's segments on
screen, then closes. Times are measured from just before the process is spawned. The first run is
reported separately (nearest to a cold start this side of dropping the page cache, which a shared
machine should not do); the median is over the remaining runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _start_xvfb() -> tuple[subprocess.Popen[bytes], str]:
    for number in range(90, 140):
        if Path(f"/tmp/.X11-unix/X{number}").exists() or Path(f"/tmp/.X{number}-lock").exists():
            continue
        display = f":{number}"
        server = subprocess.Popen(["Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten",
                                   "tcp"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            ready = subprocess.run(["xdpyinfo", "-display", display], capture_output=True)
            if ready.returncode == 0:
                return server, display
            if server.poll() is not None:
                break
            time.sleep(0.05)  # waiting for an external server's socket
        server.kill()
        server.wait()
    raise RuntimeError("could not start Xvfb")


def _one_run(exe: Path, sample: Path, display: str) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VADDESK_"))}
        env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb", VADDESK_SMOKE_TEST="60",
                   VADDESK_LOG_DIR=f"{tmp}/log", VADDESK_CONFIG_DIR=f"{tmp}/config")
        started = time.time()
        done = subprocess.run([str(exe), str(sample)], env=env, capture_output=True, text=True,
                              timeout=120, cwd="/")
    if done.returncode != 0:
        raise RuntimeError(f"the app failed:\n{done.stdout}\n{done.stderr}")
    painted = shown = None
    for line in done.stdout.splitlines():
        if line.startswith("smoke: window painted at "):
            painted = float(line.rsplit(" ", 1)[1])
        elif line.startswith("smoke: file shown "):
            shown = float(json.loads(line.removeprefix("smoke: file shown "))["at_unix_s"])
    if painted is None or shown is None:
        raise RuntimeError(f"the app did not report paint and file:\n{done.stdout}")
    return painted - started, shown - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--bundle", type=Path, default=ROOT / "dist" / "vaddesk")
    args = parser.parse_args()
    exe = args.bundle / "vaddesk-gui"
    sample = args.bundle / "_internal" / "resources" / "sample" / "sample.wav"
    server, display = _start_xvfb()
    try:
        runs = [_one_run(exe, sample, display) for _ in range(args.runs)]
    finally:
        server.terminate()
        server.wait()
    first, rest = runs[0], runs[1:] or runs
    files = [f for f in args.bundle.rglob("*") if f.is_file() and not f.is_symlink()]
    size_mb = sum(f.stat().st_size for f in files) / 1e6
    print(f"bundle: {args.bundle} ({size_mb:.0f} MB), {args.runs} runs under Xvfb (xcb)")
    print("                         first run   median of the others")
    print(f"launch -> window painted  {first[0] * 1000:7.0f} ms   "
          f"{statistics.median(r[0] for r in rest) * 1000:7.0f} ms")
    print(f"launch -> segments shown  {first[1] * 1000:7.0f} ms   "
          f"{statistics.median(r[1] for r in rest) * 1000:7.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
