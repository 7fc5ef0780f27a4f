"""Plain data that flows from the engine to results, views and exporters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import numpy as np

SAMPLE_RATE: Final = 16_000
"""The model's sample rate (Hz); every waveform given to the engine is at this rate."""

FRAME_SHIFT_MS: Final = 10
"""One model frame every 10 ms."""

FRAME_SHIFT_SAMPLES: Final = 160
FRAME_LENGTH_SAMPLES: Final = 400  # 25 ms analysis window


SegmentOrigin = Literal["detected", "edited", "added"]
SEGMENT_ORIGINS: Final[tuple[SegmentOrigin, ...]] = ("detected", "edited", "added")


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of speech, in integer milliseconds from the start of the stream.

    ``channel`` (0-based) and ``speaker`` are set when each channel of a recording is analysed
    on its own (one speaker per channel); the engine itself leaves them None.

    `origin` says where it came from: the detector, a detected segment whose bounds a person
    changed (or split/merged), or one a person added; `label` and `note` are free text a person
    wrote. The engine makes only detected segments with neither.
    """

    start_ms: int
    end_ms: int
    channel: int | None = None
    speaker: str | None = None
    origin: SegmentOrigin = "detected"
    label: str = ""
    note: str = ""

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    """One analysed channel of a recording: which one, whose voice, where it came from.

    ``index`` is None for a downmix of all channels; ``source`` describes it for people
    ("microphone", "computer audio", "channel 2 of 2", "all 2 channels mixed").
    """

    index: int | None
    speaker: str | None
    source: str


@dataclass(frozen=True, slots=True)
class SegmentOpened:
    """The detector decided speech started at start_ms (already back-dated)."""

    start_ms: int


@dataclass(frozen=True, slots=True)
class SegmentClosed:
    """The segment opened earlier is finished."""

    segment: Segment


@dataclass(frozen=True, slots=True)
class SegmentDiscarded:
    """The open segment was dropped (shorter than the minimum duration); views remove it."""

    start_ms: int


VadEvent = SegmentOpened | SegmentClosed | SegmentDiscarded


@dataclass(frozen=True, slots=True)
class FrameTrack:
    """Per-frame model outputs of a stream, one value per 10 ms frame.

    Enough to re-segment with any parameters without running the network again.
    ``p0`` is the silence probability (softmax of class 0, float32 as the model gave it);
    ``energy_db`` is 10*log10(sum(x^2)+1e-6) over the frame's 400 samples.
    """

    p0: np.ndarray
    energy_db: np.ndarray

    @property
    def speech_score(self) -> np.ndarray:
        """1 - p0: what users plot as the speech probability."""
        return 1.0 - self.p0

    @property
    def num_frames(self) -> int:
        return int(self.p0.shape[0])
