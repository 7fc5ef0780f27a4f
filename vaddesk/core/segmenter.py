"""Which rules turn frame scores into segments: the reference's detector or the boundary stage.

``params.boundary_stage`` chooses. The engine holds one :class:`Segmenter`; when live
parameters switch between the two, the running one finishes at the switch (an open segment
closes there) and the other starts at that frame (:func:`make_segmenter` with
``frame_offset``), so decided segments stay as they are.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from vaddesk.core.boundaries import BoundaryStage, stage_segments
from vaddesk.core.detector import EndpointDetector, detect_segments
from vaddesk.core.params import VadParams
from vaddesk.core.types import (
    FRAME_SHIFT_MS,
    Segment,
    SegmentClosed,
    SegmentDiscarded,
    SegmentOpened,
    VadEvent,
)


class Segmenter(Protocol):
    @property
    def params(self) -> VadParams: ...
    @property
    def frames_done(self) -> int: ...
    @property
    def is_speech_detected(self) -> bool: ...
    @property
    def open_start_ms(self) -> int | None: ...
    def set_params(self, params: VadParams) -> None: ...
    def reset(self) -> None: ...
    def push(self, p0: np.ndarray, energy_db: np.ndarray, *,
             last: bool = False) -> list[VadEvent]: ...
    def finish(self) -> list[VadEvent]: ...


def _shift(event: VadEvent, ms: int) -> VadEvent:
    if isinstance(event, SegmentOpened):
        return SegmentOpened(event.start_ms + ms)
    if isinstance(event, SegmentDiscarded):
        return SegmentDiscarded(event.start_ms + ms)
    seg = event.segment
    return SegmentClosed(Segment(seg.start_ms + ms, seg.end_ms + ms))


class _LateDetector:
    """The reference detector started mid-stream: its times moved by the frames before it."""

    def __init__(self, params: VadParams, frame_offset: int) -> None:
        self._det = EndpointDetector(params)
        self._frames = frame_offset
        self._ms = frame_offset * FRAME_SHIFT_MS

    @property
    def params(self) -> VadParams:
        return self._det.params

    @property
    def frames_done(self) -> int:
        return self._det.frames_done + self._frames

    @property
    def is_speech_detected(self) -> bool:
        return self._det.is_speech_detected

    @property
    def open_start_ms(self) -> int | None:
        start = self._det.open_start_ms
        return None if start is None else start + self._ms

    def set_params(self, params: VadParams) -> None:
        self._det.set_params(params)

    def reset(self) -> None:
        self._det.reset()

    def push(self, p0: np.ndarray, energy_db: np.ndarray, *,
             last: bool = False) -> list[VadEvent]:
        return [_shift(e, self._ms) for e in self._det.push(p0, energy_db, last=last)]

    def finish(self) -> list[VadEvent]:
        return [_shift(e, self._ms) for e in self._det.finish()]


def make_segmenter(params: VadParams, frame_offset: int = 0) -> Segmenter:
    if params.boundary_stage:
        return BoundaryStage(params, frame_offset)
    if frame_offset:
        return _LateDetector(params, frame_offset)
    return EndpointDetector(params)


def segments_from_scores(p0: np.ndarray, energy_db: np.ndarray,
                         params: VadParams) -> list[Segment]:
    """Segments of a whole stream from its cached frame scores, by the rules params choose."""
    if params.boundary_stage:
        return stage_segments(p0, energy_db, params)
    return detect_segments(p0, energy_db, params)
