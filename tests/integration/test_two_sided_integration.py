"""Both sides of a call on REAL PulseAudio: a private daemon (tests/support/virtual_mic.py)
with the virtual microphone's sink and a second null sink as the default output (the
computer's speakers). Two different espeak-ng recordings are played at the same time, one
into the microphone, one into the output, while `vaddesk record --system-audio` runs:
- the 2-channel file's channels correlate >= 0.95 with what was played into each, and the
  per-channel segments match the offline segments of each played file within 100 ms;
- the far side also leaking into the microphone (-10 dB, 40 ms later) gives no "You" segment
  where only the far side spoke, and "You" is still found where the microphone speaks over it;
- `kill -9` mid-recording loses <= 1 s on both channels; the next start repairs and says so;
- the output disappearing mid-recording: the microphone goes on, the user is told.
"""

from __future__ import annotations

import json
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

from tests.integration.test_record_integration import best_lag
from tests.support import virtual_mic
from tests.support.two_voices import RATE, SIDE_A, SIDE_B, _side
from tests.support.virtual_mic import VirtualMic
from vaddesk.core.engine import segment_array
from vaddesk.core.presets import get_preset
from vaddesk.core.types import Segment
from vaddesk.export import segments_from_json

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
TOLERANCE_MS = 100
PARAMS = get_preset("meeting").params
START_MARGIN_S = 0.5
"""Playback starts this long after the recorder says it runs: the streams' first samples can
come a little after that line, and best_lag() finds only a recording that starts first (a
playback begun before the capture gave a correlation of 0.22 for an intact recording)."""


@pytest.fixture(scope="module")
def pulse() -> Iterator[VirtualMic]:
    yield from virtual_mic.running(system_audio=True)


@pytest.fixture(scope="module")
def calls(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, np.ndarray]]:
    """near.wav / far.wav: the two sides (12 s, crosstalk in the middle); bleed.wav: the
    near side plus the far side at -10 dB, 40 ms later (loudspeakers instead of headphones)."""
    folder = tmp_path_factory.mktemp("calls")
    near = _side(folder, SIDE_A, "en-us", 12.0, 1)
    far = _side(folder, SIDE_B, "en-gb", 12.0, 2)
    # The bleed call: the far side speaks alone first, the near side joins over its 2nd line.
    far2 = _side(folder, ((0.5, "Hi, my last invoice looks wrong, it was charged twice."),
                          (6.5, "Could you please check the March payment again for me?")),
                 "en-gb", 12.0, 3)
    own2 = _side(folder, ((7.5, "Yes, I am looking at it right now."),), "en-us", 12.0, 4)
    bleed = own2.copy()
    bleed[640:] += 10 ** (-10 / 20) * far2[:-640]
    out = {}
    for name, audio in (("near", near), ("far", far), ("far2", far2), ("own2", own2),
                        ("bleed", bleed)):
        path = folder / f"{name}.wav"
        sf.write(path, audio, RATE, subtype="PCM_16")
        out[name] = (path, sf.read(path, dtype="float32")[0])
    return out


def _record(pulse: VirtualMic, out: Path, *extra: str, device: str = "pulse"
            ) -> subprocess.Popen[str]:
    """`vaddesk record --system-audio` from ``device`` (``none``: computer audio only), once
    it says that it records."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "vaddesk", "record", "--device", device, "--system-audio",
         "--out", str(out), "--preset", "meeting", *extra],
        cwd=REPO, env=pulse.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # printed once the streams run
    sources = "'MeetingOut'" if device == "none" else f"'{device}' + 'MeetingOut'"
    if not line.startswith(f"recording from {sources} to "):
        proc.kill()
        raise AssertionError(line + proc.communicate()[1])
    return proc


def _play_both(pulse: VirtualMic, mic_wav: Path, out_wav: Path) -> None:
    time.sleep(START_MARGIN_S)
    players = [pulse.play(mic_wav), pulse.play_output(out_wav)]
    for player in players:
        assert player.wait(60) == 0


def _record_call(pulse: VirtualMic, out: Path, mic_wav: Path, out_wav: Path
                 ) -> tuple[str, np.ndarray, dict]:
    """Record 15 s with --system-audio while ``mic_wav`` plays into the microphone and
    ``out_wav`` into the output: (stdout, the recording, its JSON)."""
    proc = _record(pulse, out, "--duration", "15")
    try:
        _play_both(pulse, mic_wav, out_wav)
        stdout, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stdout + err
    (wav,) = out.glob("recording-*.wav")
    recorded, rate = sf.read(wav, dtype="float32")
    assert rate == RATE and recorded.shape == (15 * RATE, 2)
    return stdout, recorded, json.loads(wav.with_suffix(".json").read_text())


def _shifted(segments: list[Segment], lag_samples: int) -> list[tuple[float, float]]:
    lag_ms = lag_samples * 1000 / RATE
    return [(s.start_ms - lag_ms, s.end_ms - lag_ms) for s in segments]


def _match(live: list[tuple[float, float]], offline: list[Segment]) -> None:
    assert len(live) == len(offline), (live, offline)
    for (start, end), ref in zip(live, offline, strict=True):
        assert abs(start - ref.start_ms) <= TOLERANCE_MS, (live, offline)
        assert abs(end - ref.end_ms) <= TOLERANCE_MS, (live, offline)


def test_both_sides_recorded_and_segmented(pulse: VirtualMic, calls: dict, tmp_path: Path
                                           ) -> None:
    (near_wav, near), (far_wav, far) = calls["near"], calls["far"]
    out, recorded, doc = _record_call(pulse, tmp_path, near_wav, far_wav)
    segments = segments_from_json(doc)
    for channel, audio in ((0, near), (1, far)):
        lag, corr = best_lag(recorded[:, channel], audio)
        print(f"\nchannel {channel}: lag {lag / RATE * 1000:.0f} ms, correlation {corr:.4f}")
        assert corr >= 0.95, (channel, corr, lag)
        _match(_shifted([s for s in segments if s.channel == channel], lag),
               segment_array(audio, PARAMS).segments)
    assert [c["speaker"] for c in doc["channels"]] == ["You", "Others"]
    assert "You" in out and "Others" in out and "both at once" in out  # the stats


def test_bleed_from_the_loudspeakers_is_not_you(pulse: VirtualMic, calls: dict,
                                                tmp_path: Path) -> None:
    (bleed_wav, _), (far_wav, far), (_, own) = calls["bleed"], calls["far2"], calls["own2"]
    _, recorded, doc = _record_call(pulse, tmp_path, bleed_wav, far_wav)
    segments = segments_from_json(doc)
    lag, _ = best_lag(recorded[:, 1], far)
    you = _shifted([s for s in segments if s.channel == 0], lag)
    others = _shifted([s for s in segments if s.channel == 1], lag)
    print(f"\nyou {you}\nothers {others}")
    own_offline = segment_array(own, PARAMS).segments
    assert len(own_offline) == 1 and len(others) == 2
    # Only the far side spoke until the near side starts (7.5 s): no "You" before it.
    assert all(start >= own_offline[0].start_ms - TOLERANCE_MS for start, _ in you), you
    # The near side speaking over the far side is found.
    _match(you, own_offline)


def test_kill_9_loses_at_most_a_second_on_both_sides(pulse: VirtualMic, calls: dict,
                                                     tmp_path: Path) -> None:
    (near_wav, near), (far_wav, far) = calls["near"], calls["far"]
    proc = _record(pulse, tmp_path)
    players = [pulse.play(near_wav), pulse.play_output(far_wav)]
    started = time.monotonic()
    time.sleep(6.0)
    os.kill(proc.pid, signal.SIGKILL)
    killed_after_s = time.monotonic() - started
    proc.wait(10)
    for player in players:
        player.wait(60)
    again = subprocess.run(
        [sys.executable, "-m", "vaddesk", "record", "--device", "pulse", "--system-audio",
         "--out", str(tmp_path), "--duration", "0.5"],
        cwd=REPO, env=pulse.env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stderr
    (repaired_line,) = [line for line in again.stdout.splitlines()
                        if line.startswith("repaired a recording left by a crash: ")]
    wavs = sorted(tmp_path.glob("recording-*.wav"))
    crashed = Path(repaired_line.split(": ", 1)[1].rsplit(" (", 1)[0])
    assert crashed in wavs and not list(tmp_path.glob("*.recording"))
    recorded, _ = sf.read(crashed, dtype="float32")
    assert recorded.shape[1] == 2
    for channel, audio in ((0, near), (1, far)):
        lag, corr = best_lag(recorded[:, channel], audio)
        kept_s = (recorded.shape[0] - lag) / RATE   # played audio the channel holds
        print(f"\nchannel {channel}: kept {kept_s:.2f} s of {killed_after_s:.2f} s played, "
              f"correlation {corr:.4f}")
        assert corr >= 0.9, (channel, corr)
        assert kept_s >= killed_after_s - 1.0, (channel, kept_s, killed_after_s)


def test_unknown_output_is_named_and_mic_only_suggested(pulse: VirtualMic, tmp_path: Path
                                                         ) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "vaddesk", "record", "--system-audio", "--system-device",
         "Headset", "--out", str(tmp_path), "--duration", "1"],
        cwd=REPO, env=pulse.env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "vaddesk record: no output named 'Headset'; outputs: 'Null Output', 'MeetingOut'",
        "vaddesk record: without --system-audio the microphone alone can be recorded"]
    assert list(tmp_path.iterdir()) == []


def test_computer_audio_only(pulse: VirtualMic, calls: dict, tmp_path: Path) -> None:
    """--device none --system-audio: a mono file of what the computer played, its side
    named Others."""
    far_wav, far = calls["far"]
    proc = _record(pulse, tmp_path, "--duration", "14", device="none")
    try:
        time.sleep(START_MARGIN_S)
        assert pulse.play_output(far_wav).wait(60) == 0
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out + err
    (wav,) = tmp_path.glob("recording-*.wav")
    recorded, _ = sf.read(wav, dtype="float32")
    assert recorded.ndim == 1 and recorded.shape[0] == 14 * RATE
    lag, corr = best_lag(recorded, far)
    assert corr >= 0.95, corr
    doc = json.loads(wav.with_suffix(".json").read_text())
    assert doc["channels"] == [{"index": 0, "speaker": "Others", "source": "computer audio"}]
    _match(_shifted(segments_from_json(doc), lag), segment_array(far, PARAMS).segments)


def test_output_unplugged_mid_recording(pulse: VirtualMic, calls: dict, tmp_path: Path
                                        ) -> None:
    """Runs last in this module: the output sink is gone afterwards."""
    (near_wav, near), _ = calls["near"], calls["far"]
    proc = _record(pulse, tmp_path, "--duration", "8")
    player = pulse.play(near_wav)
    time.sleep(3.0)
    pulse.unload_output()
    out, err = proc.communicate(timeout=60)
    player.wait(30)
    assert proc.returncode == 0, out + err
    assert "computer audio stopped" in err and "the microphone goes on recording" in err
    (wav,) = tmp_path.glob("recording-*.wav")
    recorded, _ = sf.read(wav, dtype="float32")
    assert recorded.shape == (8 * RATE, 2)
    _, corr = best_lag(recorded[:, 0], near)
    assert corr >= 0.95
