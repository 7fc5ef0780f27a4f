"""The GUI's non-drawing parts, exactly: peak envelope, time labels, threshold line, player."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from vaddesk.audio.envelope import BASE_BIN_SAMPLES, LEVEL_FACTOR, EnvelopeBuilder
from vaddesk.core.timefmt import format_ms
from vaddesk.gui.time_axis import format_seconds_tick


def test_envelope_is_exact_min_max_whatever_the_block_sizes() -> None:
    rng = np.random.default_rng(7)
    signal = rng.uniform(-1, 1, 16_000 * 7 + 123).astype(np.float32)
    builder = EnvelopeBuilder()
    pos = 0
    for size in [1, 31, 32, 33, 1000, 16_000, 5, 50_000]:
        builder.add(signal[pos:pos + size])
        pos += size
    builder.add(signal[pos:])
    env = builder.finish()
    assert env.num_samples == signal.size
    n_full = signal.size // BASE_BIN_SAMPLES
    bins = signal[: n_full * BASE_BIN_SAMPLES].reshape(-1, BASE_BIN_SAMPLES)
    tail = signal[n_full * BASE_BIN_SAMPLES:]
    want_min = np.append(bins.min(axis=1), tail.min()).astype(np.float16)
    want_max = np.append(bins.max(axis=1), tail.max()).astype(np.float16)
    base = env.levels[0]
    assert np.array_equal(base.mins, want_min) and np.array_equal(base.maxs, want_max)
    for k, level in enumerate(env.levels):
        assert level.bin_samples == BASE_BIN_SAMPLES * LEVEL_FACTOR**k
        span = LEVEL_FACTOR**k
        for i in (0, level.num_bins // 2, level.num_bins - 1):
            assert level.mins[i] == base.mins[i * span:(i + 1) * span].min()
            assert level.maxs[i] == base.maxs[i * span:(i + 1) * span].max()
    assert env.levels[-1].num_bins <= 512


def test_envelope_window_picks_the_level_for_the_pixels() -> None:
    builder = EnvelopeBuilder()
    builder.add(np.sin(np.arange(16_000 * 600) / 7.0).astype(np.float32))  # 10 minutes
    env = builder.finish()
    whole = env.window(0.0, 600.0, max_bins=1000)
    assert whole.mins.size <= 1000 + 2
    assert whole.bin_samples * 1000 >= 600 * 16_000
    close = env.window(10.0, 11.0, max_bins=1000)  # 1 s: the finest level (2 ms bins)
    assert close.bin_samples == BASE_BIN_SAMPLES
    assert close.start_s[0] == 10.0
    assert close.start_s[-1] >= 11.0 - BASE_BIN_SAMPLES / 16_000
    coarse = env.coarse(2048)
    assert all(lv.bin_samples >= 2048 for lv in coarse.levels)
    assert coarse.num_samples == env.num_samples


@pytest.mark.parametrize(("ms", "text"), [
    (0, "0:00.000"), (999, "0:00.999"), (61_005, "1:01.005"),
    (3_600_000, "1:00:00.000"), (10_845_250, "3:00:45.250"),
])
def test_format_ms(ms: int, text: str) -> None:
    assert format_ms(ms) == text


def test_axis_ticks_follow_the_spacing() -> None:
    assert format_seconds_tick(3725.0, 60) == "1:02:05"
    assert format_seconds_tick(3725.5, 0.5) == "1:02:05.5"
    assert format_seconds_tick(12.25, 0.05) == "0:00:12.25"
    assert format_seconds_tick(12.125, 0.005) == "0:00:12.125"


class FakeOutputStream:
    """Stands in for sounddevice.OutputStream: CI has no sound card, so no real output stream
    can open. It pulls the callback in 512-frame blocks on a thread, as PortAudio would, and
    keeps what was played."""

    def __init__(self, samplerate: int, channels: int, dtype: str, callback: Any) -> None:
        self.samplerate, self.channels, self.callback = samplerate, channels, callback
        self.played: list[np.ndarray] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            out = np.zeros((512, self.channels), dtype=np.float32)
            self.callback(out, 512, None, None)
            self.played.append(out.copy())
            self._stop.wait(0.001)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def close(self) -> None:
        pass


def test_player_plays_exactly_the_segment_and_stops(qtbot, tmp_path: Path) -> None:
    from vaddesk.audio.decode import open_audio
    from vaddesk.gui.player import Player

    rng = np.random.default_rng(3)
    audio = rng.uniform(-0.5, 0.5, (48_000 * 3, 2)).astype(np.float32)
    path = tmp_path / "stereo.wav"
    sf.write(path, audio, 48_000, subtype="FLOAT")
    streams: list[FakeOutputStream] = []

    def factory(**kwargs: Any) -> FakeOutputStream:
        streams.append(FakeOutputStream(**kwargs))
        return streams[-1]

    player = Player(stream_factory=factory)
    with qtbot.waitSignal(player.playback_started, timeout=2000):
        assert player.play(path, 48_000, 2, 500, 1750)
    assert streams[0].samplerate == 48_000 and streams[0].channels == 2

    def finished() -> None:
        player.poll()
        assert not player.is_playing()

    qtbot.waitUntil(finished, timeout=10_000)
    played = np.concatenate(streams[0].played)
    with open_audio(path) as reader:
        expected = reader.read_original(24_000, 84_000)
    # The span [0.5 s, 1.75 s), complete and in order. Silent frames are what an underrun
    # plays if the machine stalls the feeder; the random test audio has none of its own.
    audible = played[played.any(axis=1)]
    assert np.array_equal(audible, expected)


def test_player_without_output_device_reports_instead_of_raising(qtbot, tmp_path: Path
                                                                  ) -> None:
    from vaddesk.gui.player import Player

    def no_device(**_kwargs: Any) -> Any:
        raise OSError("Error querying device -1")  # what PortAudio says with no sound card

    player = Player(stream_factory=no_device)
    with qtbot.waitSignal(player.playback_failed, timeout=1000) as blocker:
        assert player.play(tmp_path / "x.wav", 16_000, 1, 0) is False
    assert "No sound output is available" in blocker.args[0]
    assert not player.is_playing()


def test_live_canvas_shades_segments_and_keeps_its_guides(qtbot) -> None:
    """The live view's pixels: closed and open speech in their (pre-blended, opaque) colours,
    silence in the background colour, and the centre guide still drawn across the shading."""
    from vaddesk.core.types import Segment
    from vaddesk.gui import live_canvas as lc
    from vaddesk.pipeline.live import LiveSnapshot

    canvas = lc.LiveCanvas()
    qtbot.addWidget(canvas)
    canvas.resize(1012, 200)  # drawing width 1000 px: 10 s window -> 100 px per second
    frames = 1000
    flat = np.zeros(frames, np.float32)  # silence: the waveform is a 1 px line at the centre
    snap = LiveSnapshot(
        recorded_ms=10_000, env_start_ms=0, env_min=flat, env_max=flat, score_start_ms=0,
        score=np.full(frames, 0.5, np.float32),
        segments=(Segment(start_ms=2_000, end_ms=4_000),), open_start_ms=7_000,
        overview_bin_ms=100, overview_min=flat[:10], overview_max=flat[:10], level_db=-60.0,
        overflow_count=0, paused=False)
    canvas.set_snapshot(snap, 10_000)
    image = canvas.grab().toImage()
    wave, _, _ = canvas._areas()

    def colour(t_s: float, y: float) -> tuple[int, int, int]:
        c = image.pixelColor(int(wave.left() + t_s * 100), int(y))
        return c.red(), c.green(), c.blue()

    def rgb(c: Any) -> tuple[int, int, int]:
        return c.red(), c.green(), c.blue()

    y_quarter = wave.top() + wave.height() / 4  # away from the centre line and the labels
    assert colour(3.0, y_quarter) == rgb(lc.SPEECH_FILL)
    assert colour(8.5, y_quarter) == rgb(lc.OPEN_SPEECH_FILL)
    assert colour(5.5, y_quarter) == rgb(lc.BACKGROUND)
    # the blend is what the translucent colours give over the background
    assert rgb(lc.SPEECH_FILL) == (22, 44, 70)
    # the score's base line is drawn over the shading too (the centre line lies under the
    # silent waveform's 1 px stroke, the score curve at 0.5 runs above the base line)
    _, score, _ = canvas._areas()
    for t_s in (3.0, 5.5, 8.5):
        assert colour(t_s, score.bottom()) == rgb(lc.GUIDE), t_s
