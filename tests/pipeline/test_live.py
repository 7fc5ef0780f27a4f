"""LiveSession: the real streaming INT8 engine and the real WAV writer, fed through a SIMULATED
microphone (ArrayInputStream: a thread calling the capture callback with 40 ms blocks, as
PortAudio would; there is no sound card in CI).

Device loss, overflows and the full disk are SIMULATED too (the fake stream aborts / flags
overflows; the writer's file object raises ENOSPC). Real capture: test_record_integration.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pytest
import soundfile as sf

from tests.support.full_disk import FullDisk
from tests.support.virtual_mic import make_speech
from vaddesk.audio.capture import ArrayInputStream, Capture
from vaddesk.core.engine import segment_array
from vaddesk.core.presets import get_preset
from vaddesk.core.types import SegmentClosed, SegmentOpened
from vaddesk.export import segments_from_json
from vaddesk.pipeline.live import (
    OVERVIEW_BINS,
    ClipWritten,
    LiveOptions,
    LiveProblem,
    LiveSession,
    LiveView,
    SegmentEvent,
    SessionEnded,
)


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    path = make_speech(tmp_path_factory.mktemp("speech") / "speech.wav")
    audio, rate = sf.read(path, dtype="float32")
    assert rate == 16000
    return path, audio


def _session(audio: np.ndarray, out: Path, params: Any = None, *, stream: dict[str, Any]
             | None = None, **options: Any) -> tuple[LiveSession, list[ArrayInputStream]]:
    made: list[ArrayInputStream] = []

    def factory(**kwargs: Any) -> ArrayInputStream:
        made.append(ArrayInputStream(audio, **{**kwargs, **(stream or {"speed": 0})}))
        return made[-1]

    capture = Capture("simulated", stream_factory=factory)
    preset = "meeting" if params is None else "custom"
    params = params or get_preset("meeting").params
    return LiveSession(capture, params, LiveOptions(out_dir=out, **options),
                       preset=preset), made


def _run_to_end(session: LiveSession, made: list[ArrayInputStream]) -> Any:
    session.start()
    assert made[0].exhausted.wait(60)
    return session.stop()


@pytest.mark.parametrize("preset", ["meeting", "funasr"])
def test_live_segments_equal_offline_segments(speech: tuple[Path, np.ndarray], tmp_path: Path,
                                              preset: str) -> None:
    _, audio = speech
    params = get_preset(preset).params
    session, made = _session(audio, tmp_path, params)
    session.preset = preset
    summary = _run_to_end(session, made)
    offline = segment_array(audio, params).segments
    assert len(offline) >= 3
    assert list(summary.segments) == offline
    assert summary.stop_reason is None and summary.overflow_count == 0
    # The file is the audio, sample for sample, and its JSON holds the same segments.
    recorded, _ = sf.read(summary.path, dtype="float32")
    np.testing.assert_array_equal(recorded, audio)
    assert summary.duration_ms == len(audio) * 1000 // 16000
    body = json.loads(summary.json_path.read_text())
    assert segments_from_json(body) == offline
    assert body["live"] == {"complete": True}
    assert body["preset"] == preset and body["model"]["precision"] == "int8"
    assert body["source"]["duration_ms"] == summary.duration_ms
    # Events came in order: each close preceded by its open, decided after the segment's end.
    events = [r for r in session.results() if isinstance(r, SegmentEvent)]
    opened = [e.event.start_ms for e in events if isinstance(e.event, SegmentOpened)]
    closed = [e for e in events if isinstance(e.event, SegmentClosed)]
    assert opened == [s.start_ms for s in offline]
    assert all(e.decided_at_ms >= e.event.segment.end_ms for e in closed)


def test_recording_file_resegments_like_live(speech: tuple[Path, np.ndarray],
                                             tmp_path: Path) -> None:
    """After Stop the recording is an ordinary file: offline on it gives the live segments."""
    _, audio = speech
    session, made = _session(audio, tmp_path, stream={"speed": 0, "blocksize": 1234})
    summary = _run_to_end(session, made)
    recorded, _ = sf.read(summary.path, dtype="float32")
    assert list(summary.segments) == segment_array(recorded, get_preset("meeting").params).segments


def test_clips_and_json_written_as_segments_close(speech: tuple[Path, np.ndarray],
                                                  tmp_path: Path) -> None:
    _, audio = speech
    session, made = _session(audio, tmp_path, write_clips=True)
    summary = _run_to_end(session, made)
    clips = [r for r in session.results() if isinstance(r, ClipWritten)]
    assert [c.segment for c in clips] == list(summary.segments)
    for clip in clips:
        data, _ = sf.read(clip.path, dtype="float32")
        seg = clip.segment
        np.testing.assert_array_equal(data, audio[seg.start_ms * 16:seg.end_ms * 16])
    assert sorted(p.name for p in clips[0].path.parent.iterdir()) == \
        sorted(c.path.name for c in clips)
    first = summary.segments[0]
    assert clips[0].path.name == f"{summary.path.stem}_001_{first.start_ms}-{first.end_ms}.wav"
    body = json.loads(summary.json_path.read_text())
    assert [s["clip"] for s in body["segments"]] == [
        f"{c.path.parent.name}/{c.path.name}" for c in clips]


def test_device_lost_keeps_audio_and_says_so(speech: tuple[Path, np.ndarray],
                                             tmp_path: Path) -> None:
    """SIMULATED: the stream aborts after 4 s, as PortAudio does when a USB mic is pulled."""
    _, audio = speech
    session, _ = _session(audio, tmp_path, stream={"speed": 0, "fail_after_s": 4.0})
    session.start()
    assert session.wait(30)
    summary = session.stop()
    assert summary.stop_reason == "the input stream ended unexpectedly (device disconnected?)"
    problems = [r for r in session.results() if isinstance(r, LiveProblem)]
    assert problems == [LiveProblem("recording stopped: the input stream ended unexpectedly "
                                    "(device disconnected?); the audio so far is kept", True)]
    recorded, _ = sf.read(summary.path, dtype="float32")
    np.testing.assert_array_equal(recorded, audio[:64000])
    # Flushed at the loss: the segments are those of the 4 s that were captured.
    assert list(summary.segments) == segment_array(audio[:64000],
                                                   get_preset("meeting").params).segments
    assert not summary.path.with_name(summary.path.name + ".recording").exists()


def test_full_disk_stops_cleanly(speech: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    _, audio = speech
    budget = 44 + 2 * 3 * 16000  # room for 3 s

    def opener(path: Path) -> BinaryIO:
        return FullDisk(path, budget)  # type: ignore[return-value]

    session, _ = _session(audio, tmp_path, recorder_opener=opener)
    session.start()
    assert session.wait(30)
    summary = session.stop()
    assert summary.stop_reason == ("recording stopped: the disk is full; "
                                   f"{summary.path.name} keeps the first 0:00:03.0")
    assert [r.fatal for r in session.results() if isinstance(r, LiveProblem)] == [True]
    recorded, _ = sf.read(summary.path, dtype="float32")
    np.testing.assert_array_equal(recorded, audio[:48000])


def test_overflows_are_counted(speech: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    """SIMULATED: every 50th block is flagged as an input overflow by the stream."""
    _, audio = speech
    session, made = _session(audio, tmp_path, stream={"speed": 0, "overflow_every": 50})
    summary = _run_to_end(session, made)
    expected = made[0].blocks_delivered // 50
    assert summary.overflow_count == expected > 0
    assert session.view.snapshot(1000).overflow_count == expected
    warnings = [r for r in session.results() if isinstance(r, LiveProblem)]
    assert warnings and not any(w.fatal for w in warnings)


def test_max_duration_stops_exactly(speech: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    _, audio = speech
    session, _ = _session(audio, tmp_path, max_duration_ms=2_345)
    session.start()
    assert session.wait(30)
    summary = session.stop()
    assert summary.duration_ms == 2_345 and summary.stop_reason is None
    assert isinstance(session.results()[-1], SessionEnded)


def test_view_ring_and_overview_stay_constant_and_exact() -> None:
    view = LiveView(capacity_s=1)  # 100 frames
    rng = np.random.default_rng(3)
    audio = rng.uniform(-1, 1, 16000 * 50).astype(np.float32)  # 50 s > capacity, > overview
    for block in np.array_split(audio, 997):  # odd block sizes: frames straddle blocks
        view.add_samples(block)
    snap = view.snapshot(window_ms=5000)
    frames = audio.reshape(-1, 160)
    assert snap.env_start_ms == 49_000  # only the last second is held
    np.testing.assert_array_equal(snap.env_min, frames[-100:].min(axis=1))
    np.testing.assert_array_equal(snap.env_max, frames[-100:].max(axis=1))
    # 5000 frames in at most OVERVIEW_BINS bins: bin width doubled to 2 frames (20 ms).
    assert snap.overview_bin_ms == 20
    assert snap.overview_min.shape[0] == 2500 <= OVERVIEW_BINS
    np.testing.assert_array_equal(snap.overview_max, frames.reshape(2500, 320).max(axis=1))


# --- the Record panel (offscreen Qt) over the simulated mic ---------------------------------

@pytest.fixture
def panel_factory(tmp_path: Path, qtbot: Any) -> Any:
    from PySide6.QtCore import QSettings

    from vaddesk.gui.record_panel import RecordPanel
    from vaddesk.gui.settings import Settings

    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))

    def make(audio: np.ndarray, **stream: Any) -> Any:
        panel = RecordPanel(settings=settings, recordings_dir=tmp_path / "rec",
                            stream_factory=ArrayInputStream.factory(audio, **stream),
                            devices=lambda: [])
        qtbot.addWidget(panel)
        panel.show()
        return panel

    return make


def test_panel_records_shows_segments_and_hands_over_the_file(
        speech: tuple[Path, np.ndarray], panel_factory: Any, qtbot: Any) -> None:
    _, audio = speech
    panel = panel_factory(audio, speed=4.0)  # 15 s of audio in ~4 s
    panel.preset_combo.setCurrentText("funasr")
    with qtbot.waitSignal(panel.recording_started, timeout=5000):
        panel.record_shortcut.activated.emit()  # Ctrl+R
    assert panel.file_label.text().startswith("recording-")
    qtbot.waitUntil(lambda: panel.session.view.recorded_ms >= len(audio) // 16, timeout=20_000)
    with qtbot.waitSignal(panel.recording_finished, timeout=10_000) as finished:
        panel.record_button.click()
    summary = panel.last_summary
    assert finished.args == [summary.path]
    assert list(summary.segments) == segment_array(audio, get_preset("funasr").params).segments
    assert panel.table.table_model.rowCount() == len(summary.segments)
    assert panel.record_button.text() == "● Record" and not panel.pause_button.isEnabled()
    n = len(summary.segments)
    assert panel.file_label.text() == \
        f"{summary.path.name} — {n} segment{'' if n == 1 else 's'}, saved"
    assert panel.live_plot.frames_drawn > 10


def test_panel_remembers_its_choices_in_the_settings(panel_factory: Any) -> None:
    first = panel_factory(np.zeros(16_000, np.float32))
    first.clips_check.setChecked(True)
    first.window_spin.setValue(45)
    first.preset_combo.setCurrentText("funasr")
    second = panel_factory(np.zeros(16_000, np.float32))  # same settings file
    assert second.clips_check.isChecked() and second.window_spin.value() == 45
    assert second.preset_combo.currentText() == "funasr"
    second.clips_check.setChecked(False)
    assert not panel_factory(np.zeros(16_000, np.float32)).clips_check.isChecked()


def test_panel_pause_drops_audio_and_preset_changes_live(
        speech: tuple[Path, np.ndarray], panel_factory: Any, qtbot: Any) -> None:
    _, audio = speech
    panel = panel_factory(audio, speed=2.0)
    panel.start_recording()
    session = panel.session
    qtbot.waitUntil(lambda: session.view.recorded_ms >= 1000, timeout=10_000)
    panel.pause_shortcut.activated.emit()
    assert session.paused and panel.pause_button.text() == "Resume"
    paused_at = session.view.recorded_ms
    qtbot.waitUntil(lambda: session.view.snapshot(1000).paused, timeout=1000)
    qtbot.wait(500)  # real time passes while paused: 1 s of simulated audio is dropped
    assert session.view.recorded_ms - paused_at <= 100  # at most the block in flight
    panel.toggle_pause()
    qtbot.waitUntil(lambda: session.view.recorded_ms >= paused_at + 1500, timeout=10_000)
    panel.preset_combo.setCurrentText("dialogue")
    assert session.params == get_preset("dialogue").params and session.preset == "dialogue"
    with qtbot.waitSignal(panel.recording_finished, timeout=20_000):
        panel.stop_recording()
    recorded, _ = sf.read(panel.last_summary.path, dtype="float32")
    # The file is the audio before the pause, then the audio from the resume on: whole 40 ms
    # blocks were dropped in between.
    seam = int(np.flatnonzero(recorded != audio[:len(recorded)])[0])
    assert seam % 640 == 0 and abs(seam - paused_at * 16) <= 640 * 3
    skips = [k for k in range(640, len(audio) - seam - 3200, 640)
             if np.array_equal(recorded[seam:seam + 3200], audio[seam + k:seam + k + 3200])]
    assert len(skips) == 1 and skips[0] >= 8000, skips  # >= 0.5 s dropped while paused
    tail = recorded[seam:]
    np.testing.assert_array_equal(tail, audio[seam + skips[0]:seam + skips[0] + len(tail)])


def test_panel_device_lost_is_shown_and_panel_stays_usable(
        speech: tuple[Path, np.ndarray], panel_factory: Any, qtbot: Any) -> None:
    """SIMULATED device loss after 2 s."""
    _, audio = speech
    panel = panel_factory(audio, speed=0, fail_after_s=2.0)
    with qtbot.waitSignal(panel.recording_finished, timeout=20_000) as finished:
        panel.start_recording()
    assert panel.status_label.isVisible()
    assert panel.status_label.text() == (
        "Recording stopped: the input stream ended unexpectedly (device disconnected?). The "
        f"audio up to 0:02.000 is kept in {finished.args[0]}.")
    assert sf.info(finished.args[0]).frames == 32000
    assert panel.record_button.isEnabled() and panel.device_combo.isEnabled()


def test_panel_reports_recovered_recordings(tmp_path: Path, panel_factory: Any,
                                            qtbot: Any) -> None:
    from vaddesk.audio.recorder import WavRecorder

    rec_dir = tmp_path / "rec"
    crashed = WavRecorder(rec_dir / "recording-2026-01-01_10-00-00.wav")
    crashed.write(np.zeros(16000 * 3, np.float32))  # written, never closed
    crashed.path.with_name(crashed.path.name + ".recording").write_text("999999999\n")
    crashed._file = None
    with qtbot.waitSignal(recordings_recovered_of(panel_factory), timeout=2000) as got:
        pass
    assert [f.duration_ms for f in got.args[0]] == [3000]


def recordings_recovered_of(panel_factory: Any) -> Any:
    panel = panel_factory(np.zeros(16000, np.float32))
    assert panel.status_label.text() == ("Repaired 1 recording(s) interrupted by a crash: "
                                         "recording-2026-01-01_10-00-00.wav (0:03)")
    return panel.recordings_recovered
