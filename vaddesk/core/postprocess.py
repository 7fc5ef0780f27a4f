"""Padding and minimum duration: turns the detector's raw segments into the published events.

Rules (identical in streaming, offline and re-segmentation, because all three run this code):

* ``pad_start_ms``: a segment starts ``pad_start_ms`` earlier, but never before 0 and never
  before the (padded) end of the previous kept segment.
* ``pad_end_ms``: a segment ends ``pad_end_ms`` later, but never after the end of the last
  frame of the stream and never after the raw start of the next detected segment (raw speech is
  never cut by padding). Because that next start can be back-dated by the detector's look-back,
  a streaming ``SegmentClosed`` with end padding is published once no later start can fall
  inside the padding (at most ``pad_end_ms`` + look-back latency after the raw end), or when the
  next segment opens, or at ``flush()``.
* ``min_segment_ms``: a segment whose raw duration (before padding) is shorter is dropped; the
  streaming API then publishes ``SegmentDiscarded(start_ms)`` for the segment it had opened.
  A dropped segment still limits the previous segment's end padding (it was known to be speech
  when that padding was decided).
"""

from __future__ import annotations

from dataclasses import dataclass

from vaddesk.core.params import VadParams
from vaddesk.core.types import Segment, SegmentClosed, SegmentDiscarded, SegmentOpened, VadEvent


@dataclass(frozen=True, slots=True)
class _Pending:
    start_ms: int  # padded start, already published
    raw_end_ms: int


class SegmentShaper:
    """Causal padding / minimum-duration stage between the detector and the caller."""

    def __init__(self, params: VadParams) -> None:
        self._params = params
        self._last_end_ms = 0
        self._open_start_ms: int | None = None
        self._open_raw_start_ms = 0
        self._pending: _Pending | None = None

    def set_params(self, params: VadParams) -> None:
        self._params = params

    def reset(self) -> None:
        self._last_end_ms = 0
        self._open_start_ms = None
        self._pending = None

    @property
    def open_start_ms(self) -> int | None:
        """Padded start of the published segment that is not closed yet."""
        if self._pending is not None:
            return self._pending.start_ms
        return self._open_start_ms

    def _resolve(self, end_ms: int) -> list[VadEvent]:
        assert self._pending is not None
        seg = Segment(self._pending.start_ms, end_ms)
        self._pending = None
        self._last_end_ms = end_ms
        return [SegmentClosed(seg)]

    def on_open(self, raw_start_ms: int) -> list[VadEvent]:
        events: list[VadEvent] = []
        if self._pending is not None:
            events += self._resolve(min(self._pending.raw_end_ms + self._params.pad_end_ms,
                                        raw_start_ms))
        start = max(raw_start_ms - self._params.pad_start_ms, self._last_end_ms, 0)
        self._open_start_ms = start
        self._open_raw_start_ms = raw_start_ms
        events.append(SegmentOpened(start))
        return events

    def on_close(self, raw_end_ms: int) -> list[VadEvent]:
        start = self._open_start_ms
        assert start is not None, "close without open"
        self._open_start_ms = None
        if raw_end_ms - self._open_raw_start_ms < self._params.min_segment_ms:
            return [SegmentDiscarded(start)]
        if self._params.pad_end_ms == 0:
            self._last_end_ms = raw_end_ms
            return [SegmentClosed(Segment(start, raw_end_ms))]
        self._pending = _Pending(start, raw_end_ms)
        return []

    @property
    def holds_close(self) -> bool:
        """A close waits for its end padding to be decided (see :meth:`on_progress`)."""
        return self._pending is not None

    def on_progress(self, earliest_next_start_ms: int, processed_ms: int) -> list[VadEvent]:
        """Publish a pending close once no future segment can start inside its end padding."""
        if self._pending is None:
            return []
        target = self._pending.raw_end_ms + self._params.pad_end_ms
        if processed_ms >= target and earliest_next_start_ms >= target:
            return self._resolve(target)
        return []

    def on_finish(self, stream_end_ms: int) -> list[VadEvent]:
        if self._pending is None:
            return []
        return self._resolve(min(self._pending.raw_end_ms + self._params.pad_end_ms,
                                 stream_end_ms))
