"""Talk-time statistics of a conversation whose speakers were segmented separately (pure).

    stats = talk_stats(segments, speakers=("You", "Others"))

Definitions (integer milliseconds throughout):
  speech_ms        a speaker's time in speech (union of their segments)
  share            speech_ms / the sum of every speaker's speech_ms (0.0 when nobody spoke)
  turns            runs of one speaker: all segments ordered by start, a new turn starts at
                   each segment whose speaker differs from the previous segment's
  longest_turn_ms  longest run, from its first segment's start to its last segment's end
  overlap_ms       time when two or more speakers spoke at once (crosstalk)
  any_speech_ms    time when at least one speaker spoke
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from vaddesk.core.types import Segment


@dataclass(frozen=True, slots=True)
class SpeakerStats:
    speaker: str
    channel: int | None
    speech_ms: int
    share: float  # of all speakers' summed speech, 0..1
    turns: int
    longest_turn_ms: int


@dataclass(frozen=True, slots=True)
class TalkStats:
    speakers: tuple[SpeakerStats, ...]
    any_speech_ms: int
    overlap_ms: int


def union_ms(spans: Iterable[tuple[int, int]]) -> int:
    """Total length of the union of [start, end) spans."""
    total, cur_start, cur_end = 0, None, None
    for start, end in sorted(spans):
        if end <= start:
            continue
        if cur_end is None or start > cur_end:
            if cur_end is not None and cur_start is not None:
                total += cur_end - cur_start
            cur_start, cur_end = start, end
        else:
            cur_end = max(cur_end, end)
    if cur_end is not None and cur_start is not None:
        total += cur_end - cur_start
    return total


def overlap_ms(per_speaker: Sequence[Sequence[tuple[int, int]]]) -> int:
    """Time covered by the spans of at least two different speakers."""
    edges: list[tuple[int, int]] = []
    for spans in per_speaker:
        # Each speaker counts once even if their own spans overlap: merge them first.
        for start, end in _merged(spans):
            edges += [(start, 1), (end, -1)]
    edges.sort()  # at equal times -1 sorts first: touching spans do not overlap
    total, active, last = 0, 0, 0
    for time, step in edges:
        if active >= 2:
            total += time - last
        active += step
        last = time
    return total


def _merged(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if end <= start:
            continue
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _key(segment: Segment) -> str:
    return segment.speaker if segment.speaker is not None else ""


def talk_stats(segments: Sequence[Segment], speakers: Sequence[str],
               channels: Sequence[int | None] | None = None) -> TalkStats:
    """Statistics of `segments` for each name in `speakers` (in that order).

    A segment belongs to the speaker named by its `speaker` field (None counts as ""); a
    speaker with no segment still gets a line of zeros. `channels` gives each speaker's
    channel for the result (default: None).
    """
    if channels is not None and len(channels) != len(speakers):
        raise ValueError(f"{len(channels)} channels for {len(speakers)} speakers")
    spans: dict[str, list[tuple[int, int]]] = {name: [] for name in speakers}
    for seg in segments:
        if _key(seg) in spans:
            spans[_key(seg)].append((seg.start_ms, seg.end_ms))
    speech = {name: union_ms(spans[name]) for name in speakers}
    total = sum(speech.values())
    turns = {name: 0 for name in speakers}
    longest = {name: 0 for name in speakers}
    ordered = sorted((s for s in segments if _key(s) in spans),
                     key=lambda s: (s.start_ms, s.end_ms, _key(s)))
    run_speaker: str | None = None
    run_start = run_end = 0
    closing: list[Segment | None] = [*ordered, None]  # None: close the last run
    for item in closing:
        if item is not None and _key(item) == run_speaker:
            run_end = max(run_end, item.end_ms)
            continue
        if run_speaker is not None:
            longest[run_speaker] = max(longest[run_speaker], run_end - run_start)
        if item is not None:
            run_speaker, run_start, run_end = _key(item), item.start_ms, item.end_ms
            turns[run_speaker] += 1
    chans = list(channels) if channels is not None else [None] * len(speakers)
    rows = tuple(SpeakerStats(name, chan, speech[name],
                              round(speech[name] / total, 4) if total else 0.0,
                              turns[name], longest[name])
                 for name, chan in zip(speakers, chans, strict=True))
    return TalkStats(rows, union_ms((s.start_ms, s.end_ms) for s in ordered),
                     overlap_ms([spans[name] for name in speakers]))
