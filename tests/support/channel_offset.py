"""The offset between the two channels of a two-sided recording, measured with ONE signal.

One sound is played into one PulseAudio sink whose monitor both sides hear: the virtual
microphone (``vmic``, a remap of ``vspk.monitor``, captured through PortAudio) and the computer
audio (``--system-device vspk``: ``vspk.monitor`` through soundcard). The two channels then
hold the same sound, so the lag of their cross-correlation peak is the offset that recording
put between them: no second player whose own start-up skew would be counted too. With
``combine=True`` the sound goes through a ``module-combine-sink`` into both null sinks instead
(microphone's sink + the default output, as on a call), which adds the combine sink's own
slave alignment to what is measured.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import soundfile as sf

from tests.support.virtual_mic import VirtualMic

RATE: Final = 16_000
MAX_LAG_MS: Final = 200.0
START_MARGIN_S: Final = 0.5
"""Playback starts this long after the recorder says both streams run."""
REPO: Final = Path(__file__).resolve().parents[2]


@dataclass(frozen=True, slots=True)
class ChannelOffset:
    lag_ms: float       # channel 1 minus channel 0: positive = the computer audio is later
    correlation: float  # normalised cross-correlation at that lag (1 = the same sound)


def channel_offset(left: np.ndarray, right: np.ndarray,
                   max_lag_ms: float = MAX_LAG_MS) -> ChannelOffset:
    """Lag of ``right`` behind ``left`` (right[k + n] ~ left[n]) within +-``max_lag_ms``, to a
    fraction of a sample (parabola through the peak and its neighbours)."""
    size = 1 << int(np.ceil(np.log2(len(left) + len(right))))
    xcorr = np.fft.irfft(np.fft.rfft(right, size) * np.conj(np.fft.rfft(left, size)), size)
    m = int(max_lag_ms * RATE / 1000)
    window = np.concatenate((xcorr[-m:], xcorr[:m + 1]))  # lags -m .. +m
    k = int(np.clip(np.argmax(window), 1, window.size - 2))
    y0, y1, y2 = (float(v) for v in window[k - 1:k + 2])
    bend = y0 - 2 * y1 + y2
    frac = 0.5 * (y0 - y2) / bend if bend < 0 else 0.0
    norm = float(np.sqrt(np.dot(left, left) * np.dot(right, right)))
    return ChannelOffset((k - m + frac) * 1000 / RATE, y1 / norm if norm > 0 else 0.0)


def load_combine_sink(pulse: VirtualMic) -> None:
    """A sink ``both`` that plays into the microphone's sink and the default output at once."""
    subprocess.run(["pactl", "load-module", "module-combine-sink", "sink_name=both",
                    "slaves=vspk,meet"], env=pulse.env, check=True, capture_output=True)


def record_one_signal(pulse: VirtualMic, wav: Path, out_dir: Path, duration_s: float,
                      combine: bool = False) -> np.ndarray:
    """``vaddesk record --system-audio`` while ``wav`` plays into what both sides hear; the
    recording's (frames, 2) samples."""
    system_device = [] if combine else ["--system-device", "vspk"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "vaddesk", "record", "--device", "pulse", "--system-audio",
         *system_device, "--out", str(out_dir), "--duration", f"{duration_s:g}"],
        cwd=REPO, env=pulse.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # printed once both streams run
        if not line.startswith("recording from "):
            raise AssertionError(line + proc.communicate(timeout=30)[1])
        time.sleep(START_MARGIN_S)
        player = subprocess.run(["paplay", "-d", "both" if combine else "vspk", str(wav)],
                                env=pulse.env, capture_output=True, text=True, timeout=60)
        assert player.returncode == 0, player.stderr
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, out + err
    (recording,) = out_dir.glob("recording-*.wav")
    samples, rate = sf.read(recording, dtype="float32")
    assert rate == RATE and samples.ndim == 2 and samples.shape[1] == 2
    return np.asarray(samples)
