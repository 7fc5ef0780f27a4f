"""Loudspeaker bleed: the far side leaks into the microphone at -10 dB, 40 ms late. The gated
microphone gives no segment where only the far side spoke, and still finds the user speaking
over the far side (measured against the ungated microphone, which does find the bleed); the
same with the room's reverberation, and on a real PulseAudio recording (data/)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.support import audio_fixtures as af
from tests.support.two_voices import _side
from vaddesk.core.bleed import MIN_OPEN_FRAMES, BleedGate, frame_db
from vaddesk.core.engine import segment_array
from vaddesk.core.presets import get_preset
from vaddesk.core.types import Segment

pytestmark = pytest.mark.skipif(bool(af.tools_missing()),
                                reason=f"needs {', '.join(af.tools_missing())}")

FAR_LINES = ((0.5, "Hi, my last invoice looks wrong, it was charged twice."),
             (7.0, "Could you please check the March payment again for me?"))
MIC_LINES = ((8.0, "Yes, I am looking at it right now."),)
BLEED_GAIN = 10 ** (-10 / 20)
BLEED_DELAY = 640  # 40 ms
DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def call(tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, np.ndarray]:
    folder: Path = tmp_path_factory.mktemp("bleed")
    far = _side(folder, FAR_LINES, "en-gb", 14.0, 3)
    own = _side(folder, MIC_LINES, "en-us", 14.0, 4)
    mic = own.copy()
    mic[BLEED_DELAY:] += BLEED_GAIN * far[:-BLEED_DELAY]
    return mic, far


def _segments(x: np.ndarray) -> list[Segment]:
    return segment_array(x, get_preset("meeting").params).segments


def _gated(mic: np.ndarray, far: np.ndarray, block: int) -> np.ndarray:
    gate = BleedGate()
    parts = [gate.process(mic[i:i + block], far[i:i + block]) for i in range(0, mic.size, block)]
    out = np.concatenate([*parts, gate.flush()])
    assert out.size == mic.size  # nothing lost, nothing added: the timeline is unchanged
    return out


def _overlap(seg: Segment, lo_s: float, hi_s: float) -> int:
    return max(0, min(seg.end_ms, int(hi_s * 1000)) - max(seg.start_ms, int(lo_s * 1000)))


def test_bleed_is_not_you_and_you_still_are(call: tuple[np.ndarray, np.ndarray]) -> None:
    mic, far = call
    far_segs = _segments(far)
    ungated = _segments(mic)
    # The problem exists: the raw microphone "speaks" during the far side's first line.
    assert any(_overlap(s, 0.5, 5.0) > 1000 for s in ungated), ungated
    gated = _segments(_gated(mic, far, 640))
    # Where only the far side spoke (its first line, and its second line before the user
    # starts at 8.0 s): no "You" segment.
    only_far = [s for s in far_segs if s.end_ms < 6500]
    assert only_far, far_segs
    assert not any(_overlap(s, 0.0, 6.5) for s in gated), gated
    # The user speaking over the far side is still found, where it is in the mic alone.
    own_segs = _segments(mic - BLEED_GAIN * np.concatenate((np.zeros(BLEED_DELAY, np.float32),
                                                           far[:-BLEED_DELAY])))
    assert len(own_segs) == 1 and len(gated) == 1, (own_segs, gated)
    assert abs(gated[0].start_ms - own_segs[0].start_ms) <= 100
    assert abs(gated[0].end_ms - own_segs[0].end_ms) <= 200
    print(f"\nfar {far_segs}\nraw mic {ungated}\ngated {gated}\nown {own_segs}")


def test_block_size_does_not_matter(call: tuple[np.ndarray, np.ndarray]) -> None:
    mic, far = call
    np.testing.assert_array_equal(_gated(mic, far, 640), _gated(mic, far, 7000))


def test_no_far_side_leaves_the_mic_alone(call: tuple[np.ndarray, np.ndarray]) -> None:
    mic, _ = call
    silent = np.zeros_like(mic)
    np.testing.assert_array_equal(_gated(mic, silent, 640), mic)


def test_a_reverberant_room_is_not_you(call: tuple[np.ndarray, np.ndarray]) -> None:
    """Loudspeakers close to the microphone (-6 dB) in a room with RT60 0.5 s (tail as loud
    as the direct sound): the tail outlasts each word on the microphone. Without the gate's
    decay hold the tails made "You" at 2.07-3.28 s, where only the far side spoke."""
    mic, far = call
    own = mic - BLEED_GAIN * np.concatenate((np.zeros(BLEED_DELAY, np.float32),
                                             far[:-BLEED_DELAY]))
    rng = np.random.default_rng(7)
    n = 8000
    tail = rng.standard_normal(n) * 10 ** (-3 * np.arange(n) / n)  # -60 dB after 0.5 s
    tail[:80] = 0.0                                                  # first reflection 5 ms
    rir = tail / np.sqrt(np.sum(tail ** 2))
    rir[0] += 1.0
    heard = np.convolve(far, rir)[:far.size] / np.sqrt(2.0)
    room_mic = (own + 10 ** (-6 / 20) * np.concatenate((np.zeros(BLEED_DELAY),
                                                        heard[:-BLEED_DELAY]))
                ).astype(np.float32)
    assert any(_overlap(s, 0.5, 5.0) > 1000 for s in _segments(room_mic))  # the problem
    gated = _segments(_gated(room_mic, far, 640))
    own_segs = _segments(own)
    assert len(own_segs) == 1 and len(gated) == 1, (own_segs, gated)
    # The user's first syllables over a far side as loud as them are partly taken for
    # bleed: the segment starts up to 150 ms late (130 ms here), never early.
    assert 0 <= gated[0].start_ms - own_segs[0].start_ms <= 150, (gated, own_segs)
    assert abs(gated[0].end_ms - own_segs[0].end_ms) <= 200, (gated, own_segs)


def test_real_pulseaudio_recording() -> None:
    """A recording on which one bleed frame let through made a "You" segment 500 ms before the
    user spoke (data/bleed_pulseaudio.json): now the microphone's one segment is the user's."""
    recorded, rate = sf.read(DATA / "bleed_pulseaudio.flac", dtype="float32")
    truth = json.loads((DATA / "bleed_pulseaudio.json").read_text())
    assert rate == 16_000 and recorded.shape == (240_000, 2)
    mic, far = np.ascontiguousarray(recorded[:, 0]), np.ascontiguousarray(recorded[:, 1])
    gated = _segments(_gated(mic, far, 1600))
    ((start, end),) = truth["near_side_ms"]
    assert len(gated) == 1, gated
    assert abs(gated[0].start_ms - start) <= 100 and abs(gated[0].end_ms - end) <= 200, gated
    # Where only the far side spoke, the engine hears the room's background, not bleed:
    # every frame before the user's speech at most 3 dB above the microphone's quiet frames
    # (once the players started: the recording begins with digital silence).
    out_db = frame_db(_gated(mic, far, 1600))
    mic_db = frame_db(mic)
    floor = float(np.percentile(mic_db[mic_db > -90], 10))
    before = out_db[: (start - 100) // 10]
    assert before.max() <= floor + 3.0, (before.max(), floor)


def test_a_lone_loud_frame_in_bleed_is_gated(call: tuple[np.ndarray, np.ndarray]) -> None:
    """A bleed frame 6 dB louder than the rest (a level wobble) alone is not let through; a run
    of MIN_OPEN_FRAMES such frames is (a user's short word over the far side)."""
    mic, far = call
    quiet_floor = float(np.percentile(frame_db(mic), 10))
    at = 3 * 16_000  # 3 s: the far side's first line, bleed only
    far_db = frame_db(far)
    # a frame where the far side is loud
    frame = at // 160 + int(np.argmax(far_db[at // 160: at // 160 + 50]))
    for length, let_through in ((1, False), (MIN_OPEN_FRAMES + 2, True)):
        louder = mic.copy()
        louder[frame * 160:(frame + length) * 160] *= 10 ** (12 / 20)
        out_db = frame_db(_gated(louder, far, 640))
        inside = out_db[frame + 1: frame + length - 1] if length > 2 else out_db[frame:frame + 1]
        if let_through:
            assert inside.min() > quiet_floor + 20, (inside, quiet_floor)
        else:
            assert inside.max() <= quiet_floor + 3, (inside, quiet_floor)


@pytest.mark.parametrize("block", [1, 159, 333, 4000])
def test_any_block_size_gives_the_same_output(call: tuple[np.ndarray, np.ndarray],
                                              block: int) -> None:
    mic, far = call
    np.testing.assert_array_equal(_gated(mic[:64_000], far[:64_000], 640),
                                  _gated(mic[:64_000], far[:64_000], block))
