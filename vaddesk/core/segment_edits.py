"""Edits a person makes to a list of segments, as pure functions (no Qt; the app's undo stack
stores the lists before and after).

Every function returns a new sorted list and leaves its input alone. Boundaries snap to the
model's 10 ms frame, or with `quiet` to the quietest frame within QUIET_SEARCH_MS (a cut in
the pause between two words, not in one). A changed detected segment becomes "edited"; an
added one stays "added" whatever is done to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Final, Literal

import numpy as np

from vaddesk.core.types import FRAME_SHIFT_MS, Segment

Edge = Literal["start", "end"]
QUIET_SEARCH_MS: Final = 100
MIN_SEGMENT_MS: Final = FRAME_SHIFT_MS  # an edit never leaves a segment shorter than a frame


def snap_ms(ms: float) -> int:
    """The nearest 10 ms frame boundary."""
    return round(ms / FRAME_SHIFT_MS) * FRAME_SHIFT_MS


def quietest_ms(ms: float, energy_db: np.ndarray | None) -> int:
    """The start of the quietest 10 ms frame within QUIET_SEARCH_MS of `ms` (the nearest one
    on a tie); `snap_ms(ms)` when there is no energy track there."""
    if energy_db is None or energy_db.size == 0:
        return snap_ms(ms)
    centre = round(ms / FRAME_SHIFT_MS)
    reach = QUIET_SEARCH_MS // FRAME_SHIFT_MS
    lo, hi = max(0, centre - reach), min(energy_db.size, centre + reach + 1)
    if lo >= hi:
        return snap_ms(ms)
    window = energy_db[lo:hi]
    quiet = np.flatnonzero(window == window.min()) + lo
    best = int(quiet[np.argmin(np.abs(quiet - centre))])
    return best * FRAME_SHIFT_MS


def _edited(seg: Segment, **changes: object) -> Segment:
    origin = "added" if seg.origin == "added" else "edited"
    return replace(seg, origin=origin, **changes)  # type: ignore[arg-type]


def _sorted(segments: Sequence[Segment]) -> list[Segment]:
    return sorted(segments, key=lambda s: (s.start_ms, s.end_ms))


def move_edge(segments: Sequence[Segment], index: int, edge: Edge, to_ms: int,
              duration_ms: int) -> list[Segment]:
    """Move one boundary of segment `index` to `to_ms`, kept inside the file, at least a frame
    long, and not across its neighbours (it may touch them)."""
    seg = segments[index]
    if edge == "start":
        low = segments[index - 1].end_ms if index > 0 else 0
        low = min(low, seg.start_ms)  # an existing overlap is not made worse, nor forced out
        to_ms = max(low, min(to_ms, seg.end_ms - MIN_SEGMENT_MS))
        if to_ms == seg.start_ms:
            return list(segments)
        moved = _edited(seg, start_ms=to_ms)
    else:
        high = segments[index + 1].start_ms if index + 1 < len(segments) else duration_ms
        high = max(high, seg.end_ms)
        to_ms = min(high, max(to_ms, seg.start_ms + MIN_SEGMENT_MS))
        if to_ms == seg.end_ms:
            return list(segments)
        moved = _edited(seg, end_ms=to_ms)
    out = list(segments)
    out[index] = moved
    return _sorted(out)


def split_at(segments: Sequence[Segment], at_ms: int) -> list[Segment] | None:
    """Split the segment holding `at_ms` into two that touch there; None when no segment
    holds it at least a frame from both ends."""
    for i, seg in enumerate(segments):
        if seg.start_ms + MIN_SEGMENT_MS <= at_ms <= seg.end_ms - MIN_SEGMENT_MS:
            first = _edited(seg, end_ms=at_ms)
            second = _edited(seg, start_ms=at_ms)
            return [*segments[:i], first, second, *segments[i + 1:]]
    return None


def merge_with_next(segments: Sequence[Segment], index: int) -> list[Segment] | None:
    """Segment `index` and the next one become one (spanning both); labels and notes are
    joined. None when there is no next segment."""
    if not 0 <= index < len(segments) - 1:
        return None
    a, b = segments[index], segments[index + 1]
    label = " / ".join(t for t in (a.label, b.label) if t)
    note = " / ".join(t for t in (a.note, b.note) if t)
    merged = Segment(a.start_ms, max(a.end_ms, b.end_ms), a.channel, a.speaker,
                     "added" if a.origin == b.origin == "added" else "edited", label, note)
    return [*segments[:index], merged, *segments[index + 2:]]


def delete(segments: Sequence[Segment], index: int) -> list[Segment]:
    return [s for i, s in enumerate(segments) if i != index]


def add(segments: Sequence[Segment], start_ms: int, end_ms: int,
        duration_ms: int) -> tuple[list[Segment], int] | None:
    """A new segment over [start_ms, end_ms) (either order), trimmed to the empty time around
    its start so it overlaps nothing; returns the list and its index, or None when less than a
    frame of empty time is left."""
    lo, hi = sorted((max(0, start_ms), min(duration_ms, end_ms)))
    for seg in segments:
        if seg.start_ms <= lo < seg.end_ms:
            return None  # starts inside a segment
        if lo < seg.start_ms < hi:
            hi = seg.start_ms  # stop where the next segment begins
    if hi - lo < MIN_SEGMENT_MS:
        return None
    new = Segment(lo, hi, origin="added")
    out = _sorted([*segments, new])
    return out, out.index(new)


def set_text(segments: Sequence[Segment], index: int, label: str | None = None,
             note: str | None = None) -> list[Segment]:
    """Change a segment's label and/or note (its times and origin stay)."""
    seg = segments[index]
    out = list(segments)
    out[index] = replace(seg, label=seg.label if label is None else label,
                         note=seg.note if note is None else note)
    return out
