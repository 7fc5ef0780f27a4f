"""Turns a LiveSession's results into typed Qt signals, on the GUI thread.

The session's worker is a plain Python thread and never touches Qt. The bridge drains the
session's result queue when ``poll()`` is called from the GUI timer, so every signal is emitted
on the GUI thread and at most once per drawn frame.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from vaddesk.core.types import SegmentClosed, SegmentDiscarded, SegmentOpened
from vaddesk.pipeline.live import ClipWritten, LiveProblem, LiveSession, SegmentEvent, SessionEnded
from vaddesk.pipeline.live_sides import TwoSidedSession


class LiveBridge(QObject):
    segment_opened = Signal(int)            # start_ms
    segment_closed = Signal(object)         # Segment
    segment_discarded = Signal(int)         # start_ms
    problem_reported = Signal(str, bool)    # message, fatal (the recording stopped)
    clip_written = Signal(object)           # Path
    session_ended = Signal(object)          # LiveSummary

    def __init__(self, session: LiveSession | TwoSidedSession,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.closed_events: list[SegmentEvent] = []  # with timing, for latency figures

    def poll(self) -> int:
        """Emit a signal for every result since the last poll; returns how many."""
        results = self.session.results()
        for result in results:
            if isinstance(result, SegmentEvent):
                event = result.event
                if isinstance(event, SegmentOpened):
                    self.segment_opened.emit(event.start_ms)
                elif isinstance(event, SegmentClosed):
                    self.closed_events.append(result)
                    self.segment_closed.emit(event.segment)
                elif isinstance(event, SegmentDiscarded):
                    self.segment_discarded.emit(event.start_ms)
            elif isinstance(result, LiveProblem):
                self.problem_reported.emit(result.message, result.fatal)
            elif isinstance(result, ClipWritten):
                self.clip_written.emit(result.path)
            elif isinstance(result, SessionEnded):
                self.session_ended.emit(result.summary)
        return len(results)
