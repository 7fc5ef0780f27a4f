"""TwoSidedSession: microphone + computer audio through the real engines and WAV writer, fed by
SIMULATED streams (ArrayInputStream threads paced at 4x real time; no sound card in CI).
Real PulseAudio capture: tests/integration/test_two_sided_integration.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from tests.support import audio_fixtures as af
from tests.support.two_voices import make_two_sides
from vaddesk.audio.capture import ArrayInputStream, Capture, SimulatedClock
from vaddesk.audio.channel_names import ChannelNames, read_channel_names
from vaddesk.core.engine import segment_array
from vaddesk.core.presets import get_preset
from vaddesk.core.types import Segment, SegmentClosed
from vaddesk.export import segments_from_json
from vaddesk.pipeline.live import LiveOptions, LiveProblem, SegmentEvent
from vaddesk.pipeline.live_sides import Side, TwoSidedSession

pytestmark = pytest.mark.skipif(bool(af.tools_missing()),
                                reason=f"needs {', '.join(af.tools_missing())}")

SPEED = 4.0
PARAMS = get_preset("meeting").params


@pytest.fixture(scope="module")
def sides(tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, np.ndarray]:
    a_path, b_path, _ = make_two_sides(tmp_path_factory.mktemp("sides"))
    a, _ = sf.read(a_path, dtype="float32")
    b, _ = sf.read(b_path, dtype="float32")
    return a, b


def _capture(audio: np.ndarray, made: list[ArrayInputStream], clock: SimulatedClock,
             **stream: Any) -> Capture:
    """A simulated device; the sides of one session share ``clock`` (their first samples
    captured at the same instant, however late the session gets to start the second)."""
    def factory(**kwargs: Any) -> ArrayInputStream:
        made.append(ArrayInputStream(audio, **{**kwargs, "speed": SPEED, "clock": clock,
                                               **stream}))
        return made[-1]
    return Capture("simulated", stream_factory=factory)


def _near(got: list[Segment], want: list[Segment], tol_ms: int) -> bool:
    return len(got) == len(want) and all(
        abs(g.start_ms - w.start_ms) <= tol_ms and abs(g.end_ms - w.end_ms) <= tol_ms
        for g, w in zip(got, want, strict=True))


def test_two_sides_are_recorded_and_segmented_apart(sides: tuple[np.ndarray, np.ndarray],
                                                    tmp_path: Path) -> None:
    a, b = sides
    made: list[ArrayInputStream] = []
    clock = SimulatedClock()
    session = TwoSidedSession([Side(_capture(a, made, clock), "You", "microphone"),
                               Side(_capture(b, made, clock), "Others", "computer audio")],
                              PARAMS, LiveOptions(out_dir=tmp_path), preset="meeting")
    path = session.start()
    assert made[0].exhausted.wait(30) and made[1].exhausted.wait(30)
    summary = session.stop()
    results = session.results()
    assert summary.stop_reason is None
    recorded, rate = sf.read(path, dtype="float32")
    assert rate == 16_000 and recorded.shape[1] == 2
    assert read_channel_names(path) == ChannelNames(("You", "Others"),
                                                    ("microphone", "computer audio"))
    # Channel 0 is the microphone sample for sample (it is the reference clock).
    n = min(recorded.shape[0], a.shape[0])
    assert n >= a.shape[0] - 16  # nothing lost
    np.testing.assert_array_equal(recorded[:n, 0], a[:n])
    # Channel 1 is the computer audio, placed by arrival times (a few ms at most off).
    lags = range(-320, 321)
    corr = [float(np.dot(recorded[2000 + k:n - 2000 + k, 1], b[2000:n - 2000])) for k in lags]
    lag = list(lags)[int(np.argmax(corr))]
    assert abs(lag) <= 160, lag  # within 10 ms
    # One engine per side: each side's segments are those of its audio alone: the mic's
    # exactly (no bleed here, so the gate passes it untouched), the computer audio's within
    # 100 ms (shifted by the lag, the 10 ms frames fall elsewhere in the speech).
    you = [s for s in summary.segments if s.channel == 0]
    others = [s for s in summary.segments if s.channel == 1]
    assert {s.speaker for s in you} == {"You"} and {s.speaker for s in others} == {"Others"}
    assert [(s.start_ms, s.end_ms) for s in you] == \
        [(s.start_ms, s.end_ms) for s in segment_array(a, PARAMS).segments]
    assert _near(others, segment_array(b, PARAMS).segments, 100)
    # Crosstalk: the two sides overlap in time, and the JSON says so in its stats.
    doc = json.loads(path.with_suffix(".json").read_text())
    assert doc["channels"] == [{"index": 0, "speaker": "You", "source": "microphone"},
                               {"index": 1, "speaker": "Others", "source": "computer audio"}]
    assert segments_from_json(doc) == sorted(summary.segments,
                                             key=lambda s: (s.start_ms, s.channel))
    assert doc["stats"]["overlap_ms"] > 0
    assert [sp["speaker"] for sp in doc["stats"]["speakers"]] == ["You", "Others"]
    closed = [r for r in results if isinstance(r, SegmentEvent)
              and isinstance(r.event, SegmentClosed)]
    assert sorted((r.channel, r.event.segment.start_ms) for r in closed) == \
        sorted((s.channel, s.start_ms) for s in summary.segments)
    assert not [r for r in results if isinstance(r, LiveProblem)]


def test_computer_audio_lost_keeps_the_mic(sides: tuple[np.ndarray, np.ndarray],
                                           tmp_path: Path) -> None:
    a, b = sides
    made: list[ArrayInputStream] = []
    clock = SimulatedClock()
    session = TwoSidedSession([Side(_capture(a, made, clock), "You", "microphone"),
                               Side(_capture(b, made, clock, fail_after_s=5.0), "Others",
                                    "computer audio")],
                              PARAMS, LiveOptions(out_dir=tmp_path, write_clips=True))
    path = session.start()
    assert made[0].exhausted.wait(30)
    summary = session.stop()
    problems = [r for r in session.results() if isinstance(r, LiveProblem)]
    assert summary.stop_reason is None
    assert [p.fatal for p in problems] == [False]
    assert "computer audio stopped" in problems[0].message
    assert "the microphone goes on recording" in problems[0].message
    recorded, _ = sf.read(path, dtype="float32")
    n = min(recorded.shape[0], a.shape[0])
    np.testing.assert_array_equal(recorded[:n, 0], a[:n])
    assert n >= a.shape[0] - 16
    # After the loss (5 s of the stream, plus what was still queued), channel 1 is silence.
    assert not recorded[int(5.5 * 16000):, 1].any()
    assert float(np.abs(recorded[:int(4.5 * 16000), 1]).max()) > 0.1
    # Clips are mono, cut from their own side.
    doc = json.loads(path.with_suffix(".json").read_text())
    for item in doc["segments"]:
        clip, _ = sf.read(path.parent / item["clip"], dtype="float32")
        assert clip.ndim == 1
        side = recorded[item["start_ms"] * 16:item["end_ms"] * 16, item["channel"]]
        np.testing.assert_allclose(clip, side, atol=1 / 32768)


def test_segmenting_the_recording_later_gives_the_live_segments(tmp_path: Path) -> None:
    """With loudspeaker bleed: the live You segments leave the far side out, and
    `vaddesk segment --per-channel` of the recording (which says it is two-sided) hears the
    microphone through the same bleed gate: the very same segments, side by side."""
    from tests.support.two_voices import _side
    from vaddesk.cli import main

    far = _side(tmp_path, ((0.5, "Hi, my last invoice looks wrong, it was charged twice."),
                           (6.5, "Could you please check the March payment again for me?")),
                "en-gb", 12.0, 3)
    own = _side(tmp_path, ((7.5, "Yes, I am looking at it right now."),), "en-us", 12.0, 4)
    mic = own.copy()
    mic[640:] += 10 ** (-10 / 20) * far[:-640]
    made: list[ArrayInputStream] = []
    clock = SimulatedClock()
    session = TwoSidedSession([Side(_capture(mic, made, clock), "You", "microphone"),
                               Side(_capture(far, made, clock), "Others", "computer audio")],
                              PARAMS, LiveOptions(out_dir=tmp_path / "rec"), preset="meeting")
    path = session.start()
    assert made[0].exhausted.wait(30) and made[1].exhausted.wait(30)
    summary = session.stop()
    live_you = [(s.start_ms, s.end_ms) for s in summary.segments if s.speaker == "You"]
    assert live_you and all(start >= 7000 for start, _ in live_you), live_you  # no bleed
    assert main(["segment", str(path), "--per-channel", "--json-out",
                 str(tmp_path / "later.json")]) == 0
    later = segments_from_json(json.loads((tmp_path / "later.json").read_text()))
    assert [(s.start_ms, s.end_ms) for s in later if s.speaker == "You"] == live_you
    assert [(s.start_ms, s.end_ms) for s in later if s.speaker == "Others"] == \
        [(s.start_ms, s.end_ms) for s in summary.segments if s.speaker == "Others"]


def test_a_silent_microphone_does_not_grow_memory(monkeypatch: pytest.MonkeyPatch,
                                                  sides: tuple[np.ndarray, np.ndarray],
                                                  tmp_path: Path) -> None:
    """The microphone stalls (its stream delivers nothing, no failure) while the computer
    audio goes on: what runs ahead of the microphone is bounded, and the user is told."""
    import vaddesk.pipeline.live_sides as live_sides

    monkeypatch.setattr(live_sides, "MAX_FOLLOWER_AHEAD_S", 1.0)
    _, b = sides
    made: list[ArrayInputStream] = []
    clock = SimulatedClock()
    session = TwoSidedSession([Side(_capture(np.zeros(0, np.float32), made, clock), "You",
                                    "microphone"),
                               Side(_capture(b, made, clock), "Others", "computer audio")],
                              PARAMS, LiveOptions(out_dir=tmp_path))
    session.start()
    assert made[1].exhausted.wait(30)
    assert session._aligner is not None
    held = session._buffered[1] - session._buffered[0] + session._aligner.pending_samples
    summary = session.stop()
    assert held <= 16_000 + 4_000  # 1 s, plus at most one read of blocks
    problems = [r.message for r in session.results() if isinstance(r, LiveProblem)]
    assert "the microphone delivers no audio: the computer audio more than 1 s ahead of it " \
           "is not kept" in problems
    assert summary.duration_ms == 0
