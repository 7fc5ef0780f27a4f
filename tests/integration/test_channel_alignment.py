"""The two channels of `vaddesk record --system-audio` line up, on REAL PulseAudio.

One speech recording is played into one sink whose monitor both sides record (the virtual
microphone through PortAudio, the computer audio through soundcard; tests/support/
channel_offset.py): the channels hold the same sound, and the lag of their cross-correlation
peak is the offset the recording put between them, without any player start-up skew. It must
stay within 20 ms. Two recordings, since each start places the channels anew.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.support import virtual_mic
from tests.support.channel_offset import RATE, channel_offset, record_one_signal
from tests.support.two_voices import SIDE_A, _side
from tests.support.virtual_mic import VirtualMic

pytestmark = pytest.mark.integration

MAX_OFFSET_MS = 20.0
RUNS = 2


@pytest.fixture(scope="module")
def pulse() -> Iterator[VirtualMic]:
    yield from virtual_mic.running(system_audio=True)


def test_channel_offset_measures_a_known_shift() -> None:
    """The measure itself: a sound delayed by 88 samples (5.5 ms) on one channel."""
    rng = np.random.default_rng(3)
    sound = rng.standard_normal(RATE).astype(np.float32)
    later = np.concatenate((np.zeros(88, np.float32), sound[:-88]))
    ahead = channel_offset(sound, later)
    assert abs(ahead.lag_ms - 5.5) < 0.01 and ahead.correlation > 0.99
    assert abs(channel_offset(later, sound).lag_ms + 5.5) < 0.01


def test_channels_within_20_ms_of_each_other(pulse: VirtualMic, tmp_path: Path) -> None:
    wav = tmp_path / "one.wav"
    sf.write(wav, _side(tmp_path, SIDE_A[:1], "en-us", 4.5, 1), RATE, subtype="PCM_16")
    for run in range(RUNS):
        out = tmp_path / f"run{run}"
        out.mkdir()
        recorded = record_one_signal(pulse, wav, out, 5.5)
        offset = channel_offset(recorded[:, 0], recorded[:, 1])
        print(f"\nrun {run}: computer audio {offset.lag_ms:+.2f} ms from the microphone, "
              f"correlation {offset.correlation:.3f}")
        assert offset.correlation >= 0.9, offset  # the same sound in both: else no measure
        assert abs(offset.lag_ms) <= MAX_OFFSET_MS, offset
