"""Live recording figures: CPU while recording with the live view on screen, the delay from a
segment's end to it closing on screen, and memory over a simulated 1-hour session.

Run from the repo root (one thread for numpy/onnxruntime, like the app):

    python bench/bench_live.py --json bench/out/live.json     # all three (~3 min)
    xvfb-run -a -s "-screen 0 1280x800x24" env QT_QPA_PLATFORM=xcb \\
        python bench/bench_live.py cpu                        # CPU with a real X server

1. cpu: RecordPanel drawing at 30 fps while recording from the REAL PortAudio capture of a
   PulseAudio virtual microphone into which a speech file is played in a loop (or, with
   --source sim, the simulated mic at real-time pace). CPU = user+system time of this process
   (all its threads: PortAudio callback, worker with engine and writer, Qt) / wall time.
   The same is measured for a headless session (what `vaddesk record` does) in the same run.
   Then, still in the same run, both again recording two sides (microphone + computer audio,
   `record --system-audio`): a second speech file looped into the virtual output (a second
   null sink, the default output; its monitor recorded through soundcard) or, with --source
   sim, a second simulated stream. Two engines, the drift aligner and the bleed gate.
2. latency: the panel over the simulated mic at real-time pace (meeting preset). For each
   segment: (a) the detector's delay, audio from the segment's end to the block that closed it
   (set by the end-silence parameters, not by compute); (b) compute + draw: from the moment that
   block arrived in the capture callback to the end of the repaint that shows the segment closed
   (the bench forces the repaint right after each frame-timer tick to time it).
3. memory: a 1-hour session through the simulated mic at 60x real time (headless, with view
   snapshots taken at 30 Hz as the GUI does); RSS after 5 min of audio and at the end.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.provenance import run_provenance  # noqa: E402
from tests.support.virtual_mic import VirtualMic, available, make_speech  # noqa: E402
from vaddesk.audio.capture import ArrayInputStream, Capture  # noqa: E402
from vaddesk.audio.system_audio import system_audio_capture  # noqa: E402
from vaddesk.core.presets import get_preset  # noqa: E402
from vaddesk.gui.record_sides import SOURCE_BOTH, SOURCE_MIC  # noqa: E402
from vaddesk.pipeline.live import LiveOptions, LiveSession  # noqa: E402
from vaddesk.pipeline.live_sides import Side, TwoSidedSession  # noqa: E402


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def thread_cpu_ticks() -> dict[int, int]:
    """CPU clock ticks (user + system) of every thread of this process, by native id."""
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(tid)] = int(fields[11]) + int(fields[12])
    return out


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def capture_block_s() -> float:
    from vaddesk.audio.capture import BLOCK_MS

    return BLOCK_MS / 1000


def speech_loop(folder: Path) -> tuple[Path, np.ndarray]:
    path = make_speech(folder / "speech.wav", pauses_s=(0.5, 1.6, 0.4, 2.0, 1.2))
    audio, _ = sf.read(path, dtype="float32")
    return path, audio


def _app() -> Any:
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication([])


def _run_qt_for(seconds: float) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def _panel(folder: Path, **kwargs: Any) -> Any:
    from PySide6.QtCore import QSettings

    from vaddesk.gui.record_panel import RecordPanel
    from vaddesk.gui.settings import Settings

    settings = Settings(QSettings(str(folder / "bench.ini"), QSettings.Format.IniFormat))
    panel = RecordPanel(settings=settings, recordings_dir=folder / "rec", **kwargs)
    panel.preset_combo.setCurrentText("meeting")
    panel.resize(1280, 720)
    panel.show()
    return panel


# --- 1. CPU --------------------------------------------------------------------------------

def bench_cpu(folder: Path, seconds: float, source: str) -> dict[str, float]:
    app = _app()
    path, audio = speech_loop(folder)
    mic = None
    player: subprocess.Popen[bytes] | None = None
    far_player: subprocess.Popen[bytes] | None = None
    stop_player = threading.Event()
    if source == "vmic":
        why = available()
        if why:
            raise SystemExit(f"cpu: {why} (or use --source sim)")
        mic = VirtualMic(system_audio=True).start()
        os.environ["PULSE_SERVER"] = mic.env["PULSE_SERVER"]
        far_path = make_speech(folder / "far.wav", pauses_s=(1.0, 0.8, 1.5, 0.6, 2.2), seed=9)

        def play_forever(vmic: VirtualMic = mic) -> None:
            nonlocal player, far_player
            while not stop_player.is_set():
                player = vmic.play(path)
                far_player = vmic.play_output(far_path)
                player.wait()
                far_player.wait()
        threading.Thread(target=play_forever, daemon=True).start()
        panel_kwargs: dict[str, Any] = {}
    else:
        far_audio = np.roll(audio, len(audio) // 3)  # the other side: the same voice, later
        panel_kwargs = {"stream_factory": ArrayInputStream.factory(audio, speed=1.0, loop=True),
                        "devices": lambda: [],
                        "system_capture": lambda: Capture("sim-out", stream_factory=(
                            ArrayInputStream.factory(far_audio, speed=1.0, loop=True)))}
    out: dict[str, float] = {}
    hz = os.sysconf("SC_CLK_TCK")
    try:
        for prefix, two in (("", False), ("two_", True)):
            panel = _panel(folder, **panel_kwargs)
            if source == "vmic":
                panel.refresh_devices(rescan=True)
                panel.select_device("pulse")
            panel.select_source(SOURCE_BOTH if two else SOURCE_MIC)
            panel.start_recording()
            _run_qt_for(3.0)  # warm-up: model loaded, first frames drawn
            frames0, c0, t0 = panel.live_plot.frames_drawn, cpu_seconds(), time.monotonic()
            ticks0 = thread_cpu_ticks()
            _run_qt_for(seconds)
            c1, t1 = cpu_seconds(), time.monotonic()
            ticks1 = thread_cpu_ticks()
            out[prefix + "gui_cpu_pct"] = 100 * (c1 - c0) / (t1 - t0)
            main_id = threading.main_thread().native_id
            worker = panel.session._thread if panel.session else None
            worker_id = worker.native_id if worker is not None else -1

            def pct(ids: set[int], a: dict[int, int] = ticks0, b: dict[int, int] = ticks1,
                    wall: float = t1 - t0) -> float:
                return 100 * sum(b[i] - a.get(i, 0) for i in ids if i in b) / hz / wall
            out[prefix + "main_pct"] = pct({main_id})
            out[prefix + "worker_pct"] = pct({worker_id})
            out[prefix + "other_pct"] = pct(set(ticks1) - {main_id, worker_id})
            out[prefix + "gui_fps"] = (panel.live_plot.frames_drawn - frames0) / (t1 - t0)
            out[prefix + "overflows"] = sum(
                v.overflow_count for v in getattr(panel.session, "views", [panel.session.view])
            ) if panel.session else -1
            panel.stop_recording()
            _run_qt_for(1.0)
            panel.close()
            app.processEvents()

            # The same capture without a window (vaddesk record [--system-audio]).
            capture = Capture("pulse" if source == "vmic" else "sim",
                              stream_factory=None if source == "vmic"
                              else ArrayInputStream.factory(audio, speed=1.0, loop=True))
            options = LiveOptions(out_dir=folder / "rec")
            params = get_preset("meeting").params
            session: LiveSession | TwoSidedSession
            if two:
                system = (system_audio_capture() if source == "vmic"
                          else panel_kwargs["system_capture"]())
                session = TwoSidedSession([Side(capture, "You", "microphone"),
                                           Side(system, "Others", "computer audio")],
                                          params, options)
            else:
                session = LiveSession(capture, params, options)
            session.start()
            time.sleep(3.0)
            c0, t0 = cpu_seconds(), time.monotonic()
            while time.monotonic() - t0 < seconds:
                session.next_result(0.5)
            c1, t1 = cpu_seconds(), time.monotonic()
            session.stop()
            out[prefix + "headless_cpu_pct"] = 100 * (c1 - c0) / (t1 - t0)
    finally:
        stop_player.set()
        for proc in (player, far_player):
            if proc is not None and proc.poll() is None:
                proc.kill()
        if mic is not None:
            mic.stop()
    return out


# --- 2. latency ----------------------------------------------------------------------------

def bench_latency(folder: Path, repeats: int) -> dict[str, float]:
    from vaddesk.core.types import SegmentClosed

    app = _app()
    _, audio = speech_loop(folder)
    audio = np.tile(audio, repeats)
    panel = _panel(folder, stream_factory=ArrayInputStream.factory(audio, speed=1.0),
                   devices=lambda: [])
    params = get_preset("meeting").params
    detector_ms: list[float] = []
    screen_ms: list[float] = []
    original_tick = panel._tick
    seen = 0

    def timed_tick() -> None:
        nonlocal seen
        original_tick()
        bridge = panel.bridge
        if bridge is None or len(bridge.closed_events) == seen:
            return
        panel.live_plot.repaint_now()  # the paint that shows it, timed
        now = time.monotonic()
        for event in bridge.closed_events[seen:]:
            assert isinstance(event.event, SegmentClosed)
            detector_ms.append(event.decided_at_ms - event.event.segment.end_ms)
            screen_ms.append(1000 * (now - event.captured_at))
        seen = len(bridge.closed_events)

    panel._timer.timeout.disconnect()
    panel._timer.timeout.connect(timed_tick)
    panel.start_recording()
    _run_qt_for(len(audio) / 16000 + 2.0)
    panel.stop_recording()
    _run_qt_for(1.0)
    panel.close()
    app.processEvents()
    return {
        "segments": len(screen_ms),
        "end_silence_ms": params.max_end_silence_ms,
        "detector_median_ms": statistics.median(detector_ms),
        "detector_max_ms": max(detector_ms),
        "screen_median_ms": statistics.median(screen_ms),
        "screen_p90_ms": float(np.percentile(screen_ms, 90)),
        "screen_max_ms": max(screen_ms),
    }


# --- 3. memory -----------------------------------------------------------------------------

def bench_memory(folder: Path, minutes: float, speed: float) -> dict[str, float]:
    _, audio = speech_loop(folder)
    total_ms = int(minutes * 60_000)
    capture = Capture("sim", stream_factory=ArrayInputStream.factory(audio, speed=speed,
                                                                     loop=True))
    session = LiveSession(capture, get_preset("meeting").params,
                          LiveOptions(out_dir=folder / "rec", max_duration_ms=total_ms))
    t0 = time.monotonic()
    session.start()
    marks: list[tuple[int, float]] = []
    next_mark = 5 * 60_000
    max_queue = 0
    while not session.wait(1 / 30):
        session.view.snapshot(30_000)  # what the GUI copies each frame
        session.results()
        max_queue = max(max_queue, capture._queue.qsize())
        if session.view.recorded_ms >= next_mark:
            marks.append((session.view.recorded_ms, rss_mb()))
            next_mark += 5 * 60_000
    summary = session.stop()
    wall = time.monotonic() - t0
    end_rss = rss_mb()
    first = marks[0][1] if marks else end_rss
    return {
        "audio_min": summary.duration_ms / 60_000,
        "wall_s": wall,
        "segments": len(summary.segments),
        "overflows": summary.overflow_count,
        "rss_at_5min_mb": first,
        "rss_end_mb": end_rss,
        "growth_mb": end_rss - first,
        "max_mark_mb": max(m[1] for m in marks) if marks else end_rss,
        "max_queue_s": max_queue * capture_block_s(),
        "marks": " ".join(f"{ms // 60_000}min:{mb:.1f}" for ms, mb in marks),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("parts", nargs="*", metavar="PART",
                        help="cpu, latency and/or memory (default: all three)")
    parser.add_argument("--seconds", type=float, default=60.0, help="cpu: measured seconds")
    parser.add_argument("--source", choices=["vmic", "sim"], default="vmic")
    parser.add_argument("--repeats", type=int, default=4, help="latency: speech file loops")
    parser.add_argument("--minutes", type=float, default=60.0, help="memory: session length")
    parser.add_argument("--speed", type=float, default=60.0, help="memory: x real time")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    figures: dict[str, Any] = {"run": run_provenance(sys.argv), "qt_platform":
                               os.environ.get("QT_QPA_PLATFORM"), "source": args.source}
    args.parts = args.parts or ["cpu", "latency", "memory"]
    unknown = set(args.parts) - {"cpu", "latency", "memory"}
    if unknown:
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    print(f"Qt platform: {os.environ.get('QT_QPA_PLATFORM')}; {os.cpu_count()} cores; "
          "one thread for numpy/onnxruntime")
    with tempfile.TemporaryDirectory(prefix="bench_live.") as tmp:
        folder = Path(tmp)
        if "cpu" in args.parts:
            r = bench_cpu(folder, args.seconds, args.source)
            figures["cpu"] = {"seconds": args.seconds, **r}
            print(f"cpu ({args.source}, {args.seconds:.0f} s): recording + live view "
                  f"{r['gui_cpu_pct']:.1f}% of one core at {r['gui_fps']:.1f} fps; headless "
                  f"{r['headless_cpu_pct']:.1f}%; overflows {r['overflows']:.0f}\n"
                  f"  by thread with the view: GUI {r['main_pct']:.1f}%, worker (engine + "
                  f"writer) {r['worker_pct']:.1f}%, others (PortAudio, Qt pool) "
                  f"{r['other_pct']:.1f}%\n"
                  f"  two sides (mic + computer audio), same run: recording + live view "
                  f"{r['two_gui_cpu_pct']:.1f}% at {r['two_gui_fps']:.1f} fps; headless "
                  f"{r['two_headless_cpu_pct']:.1f}%; overflows {r['two_overflows']:.0f}; by "
                  f"thread: GUI {r['two_main_pct']:.1f}%, worker (2 engines, aligner, gate, "
                  f"writer) {r['two_worker_pct']:.1f}%, others (PortAudio, soundcard, Qt) "
                  f"{r['two_other_pct']:.1f}%")
        if "latency" in args.parts:
            r = bench_latency(folder, args.repeats)
            figures["latency"] = r
            print(f"latency ({r['segments']} segments, meeting: end silence "
                  f"{r['end_silence_ms']} ms): detector (segment end -> deciding block) median "
                  f"{r['detector_median_ms']:.0f} ms, max {r['detector_max_ms']:.0f} ms; "
                  f"compute + draw (block captured -> repainted) median "
                  f"{r['screen_median_ms']:.1f} ms, p90 {r['screen_p90_ms']:.1f} ms, max "
                  f"{r['screen_max_ms']:.1f} ms")
        if "memory" in args.parts:
            r = bench_memory(folder, args.minutes, args.speed)
            figures["memory"] = {"minutes": args.minutes, "speed": args.speed, **r}
            print(f"memory ({r['audio_min']:.0f} min of audio in {r['wall_s']:.0f} s, "
                  f"{r['segments']:.0f} segments, {r['overflows']:.0f} overflows): RSS "
                  f"{r['rss_at_5min_mb']:.1f} MB after 5 min, {r['rss_end_mb']:.1f} MB at the "
                  f"end (growth {r['growth_mb']:+.1f} MB, max {r['max_mark_mb']:.1f} MB)\n"
                  f"  RSS every 5 min: {r['marks']}; longest capture queue "
                  f"{r['max_queue_s']:.1f} s of audio")
    figures["run"]["load_average_end"] = list(os.getloadavg())
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
