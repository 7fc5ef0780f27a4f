"""Live recording end to end with a REAL PortAudio capture.

A private PulseAudio daemon provides a virtual microphone (tests/support/virtual_mic.py):
what paplay
plays into its null sink, PortAudio's ``pulse`` device hears. We play a generated espeak-ng
recording and check that what vaddesk recorded correlates with it and that its live segments
are the offline segments of the played file (within 100 ms, after the measured capture lag):
- through the CLI (`python -m vaddesk record`, a subprocess),
- through the GUI (RecordPanel, offscreen Qt, in this process),
- and a `kill -9` of the recorder mid-way: the file is repaired at the next start and holds all
  but at most ~1 s of the audio played before the kill.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.support import virtual_mic
from tests.support.virtual_mic import VirtualMic, make_speech
from vaddesk.audio.recorder import recover_recordings
from vaddesk.core.engine import segment_array
from vaddesk.core.presets import get_preset
from vaddesk.core.types import Segment
from vaddesk.export import segments_from_json

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
RATE = 16000
TOLERANCE_MS = 100


@pytest.fixture(scope="module")
def vmic() -> Iterator[VirtualMic]:
    yield from virtual_mic.running()


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    """~10 s: three sentences with 1.0 / 1.2 s pauses, 1.5 s of trailing silence."""
    path = make_speech(tmp_path_factory.mktemp("played") / "played.wav",
                       pauses_s=(0.5, 1.0, 1.2, 1.5))
    audio, rate = sf.read(path, dtype="float32")
    assert rate == RATE
    return path, audio


def best_lag(recorded: np.ndarray, played: np.ndarray) -> tuple[int, float]:
    """Lag k (samples) with recorded[k + n] ~ played[n], and the normalised correlation of
    the overlapping part at that lag."""
    size = 1 << int(np.ceil(np.log2(len(recorded) + len(played))))
    xcorr = np.fft.irfft(np.fft.rfft(recorded, size) * np.conj(np.fft.rfft(played, size)), size)
    lag = int(np.argmax(xcorr[:len(recorded)]))
    n = min(len(played), len(recorded) - lag)
    a, b = recorded[lag:lag + n], played[:n]
    return lag, float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def assert_segments_match(live: list[Segment], lag_ms: float, played: np.ndarray) -> None:
    offline = segment_array(played, get_preset("meeting").params).segments
    assert len(offline) == 3  # the three sentences
    shifted = [(s.start_ms - lag_ms, s.end_ms - lag_ms) for s in live]
    assert len(shifted) == len(offline), (shifted, offline)
    for (start, end), ref in zip(shifted, offline, strict=True):
        assert abs(start - ref.start_ms) <= TOLERANCE_MS, (shifted, offline)
        assert abs(end - ref.end_ms) <= TOLERANCE_MS, (shifted, offline)


def _start_recorder(mic: VirtualMic, out: Path, *extra: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "vaddesk", "record", "--device", "pulse", "--out", str(out),
         "--preset", "meeting", *extra],
        cwd=REPO, env=mic.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # printed once the stream runs
    if not line.startswith("recording from 'pulse' to "):
        proc.kill()
        raise AssertionError(line + proc.communicate()[1])
    return proc


def test_cli_records_the_played_audio_and_its_segments(vmic: VirtualMic, played: tuple[Path,
                                                       np.ndarray], tmp_path: Path) -> None:
    path, audio = played
    duration_s = round(len(audio) / RATE + 2.0, 2)  # room for the capture lag
    proc = _start_recorder(vmic, tmp_path, "--duration", f"{duration_s:.2f}")
    try:
        assert vmic.play(path).wait(30) == 0
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out + err
    wavs = sorted(tmp_path.glob("recording-*.wav"))
    assert len(wavs) == 1
    recorded, rate = sf.read(wavs[0], dtype="float32")
    assert rate == RATE and len(recorded) == round(duration_s * 1000) * RATE // 1000
    lag, corr = best_lag(recorded, audio)
    assert corr >= 0.9, (corr, lag)
    print(f"\nCLI: lag {lag / RATE * 1000:.0f} ms, correlation {corr:.4f}")
    doc = __import__("json").loads(wavs[0].with_suffix(".json").read_text())
    live = segments_from_json(doc)
    assert_segments_match(live, lag * 1000 / RATE, audio)
    printed = [line for line in out.splitlines() if line.startswith("segment ")]
    assert len(printed) == len(live)
    assert not list(tmp_path.glob("*.recording"))


def test_kill_9_loses_at_most_one_second(vmic: VirtualMic, tmp_path: Path) -> None:
    long_path = make_speech(tmp_path / "long.wav", pauses_s=(0.3, 0.4, 0.5, 0.4, 0.3))
    long_audio, _ = sf.read(long_path, dtype="float32")
    proc = _start_recorder(vmic, tmp_path / "rec")
    player = vmic.play(long_path)
    t_play = time.monotonic()
    try:
        # Let ~5 s of the meeting happen (a real-time wait: the audio is being played).
        time.sleep(5.0)
        t_kill = time.monotonic()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
        player.kill()
        player.wait()
    wavs = sorted((tmp_path / "rec").glob("recording-*.wav"))
    assert len(wavs) == 1
    assert wavs[0].with_name(wavs[0].name + ".recording").exists()  # left by the crash

    # The next start repairs it and says so.
    again = subprocess.run(
        [sys.executable, "-m", "vaddesk", "record", "--device", "pulse", "--out",
         str(tmp_path / "rec"), "--duration", "0.2"],
        cwd=REPO, env=vmic.env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.startswith(f"repaired a recording left by a crash: {wavs[0]} ")
    assert recover_recordings(tmp_path / "rec") == []

    recorded, _ = sf.read(wavs[0], dtype="float32")
    lag, corr = best_lag(recorded, long_audio)
    assert corr >= 0.9, (corr, lag)
    kept_s = (len(recorded) - lag) / RATE           # played audio that is in the file
    played_s = t_kill - t_play                       # played before the kill (an upper bound)
    print(f"\nkill -9: played {played_s:.2f} s before the kill, file kept {kept_s:.2f} s "
          f"(correlation {corr:.4f})")
    assert 3.0 < kept_s <= played_s
    assert played_s - kept_s <= 1.0, (played_s, kept_s)


def test_gui_panel_records_with_real_capture(vmic: VirtualMic, played: tuple[Path, np.ndarray],
                                             tmp_path: Path, qtbot, monkeypatch) -> None:
    from PySide6.QtCore import QSettings

    from vaddesk.gui.record_panel import RecordPanel
    from vaddesk.gui.settings import Settings

    path, audio = played
    monkeypatch.setenv("PULSE_SERVER", vmic.env["PULSE_SERVER"])
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    panel = RecordPanel(settings=Settings(settings), recordings_dir=tmp_path / "rec")
    qtbot.addWidget(panel)
    panel.refresh_devices(rescan=True)  # PortAudio lists devices once; the daemon is new
    panel.select_device("pulse")
    assert panel.selected_device_name() == "pulse"
    panel.resize(1100, 600)
    panel.show()
    with qtbot.waitSignal(panel.recording_started, timeout=10_000):
        panel.record_button.click()
    assert panel.session is not None
    player = vmic.play(path)
    qtbot.waitUntil(lambda: player.poll() is not None, timeout=30_000)
    # Everything played has reached the file once the session holds it plus the lag (< 1 s).
    session = panel.session
    started = session.view.recorded_ms
    qtbot.waitUntil(lambda: session.view.recorded_ms >= started + 1000, timeout=10_000)
    with qtbot.waitSignal(panel.recording_finished, timeout=20_000) as finished:
        panel.record_button.click()
    wav = finished.args[0]
    summary = panel.last_summary
    assert summary is not None and summary.path == wav and summary.stop_reason is None
    assert settings.value("record/device_name") == "pulse"  # remembered by name

    recorded, _ = sf.read(wav, dtype="float32")
    lag, corr = best_lag(recorded, audio)
    assert corr >= 0.9, (corr, lag)
    print(f"\nGUI: lag {lag / RATE * 1000:.0f} ms, correlation {corr:.4f}")
    assert_segments_match(list(summary.segments), lag * 1000 / RATE, audio)
    # The table filled as segments closed, one row each, in order.
    model = panel.table.table_model
    rows = [(model.index(r, 1).data(), model.index(r, 2).data())
            for r in range(model.rowCount())]
    from vaddesk.core.timefmt import format_ms as _fmt

    assert rows == [(_fmt(s.start_ms), _fmt(s.end_ms)) for s in summary.segments]
    assert panel.live_plot.frames_drawn > 10
    assert panel.status_label.isHidden()


def test_devices_lists_the_virtual_mic_and_bad_names_are_clear(vmic: VirtualMic,
                                                               tmp_path: Path) -> None:
    listed = subprocess.run([sys.executable, "-m", "vaddesk", "devices"], cwd=REPO,
                            env=vmic.env, capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    header = lines.index("outputs usable for computer audio (vaddesk record --system-audio "
                         "--system-device NAME):")
    names = [line[2:].split("  (")[0] for line in lines[:header]]
    assert names == ["pulse", "default"]
    assert lines[1].startswith("* default  (ALSA, ")
    # The null sink is an output whose playback can be recorded (its monitor).
    assert lines[header + 1:] == ["* Null Output  (computer audio: records vspk.monitor)"]
    bad = subprocess.run([sys.executable, "-m", "vaddesk", "record", "--device", "Webcam",
                          "--out", str(tmp_path), "--duration", "1"], cwd=REPO, env=vmic.env,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2
    assert bad.stderr == ("vaddesk record: no input device named 'Webcam'; available: "
                          "'pulse', 'default'\n")
    assert list(tmp_path.iterdir()) == []  # nothing created
