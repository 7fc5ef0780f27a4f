"""Talk-time statistics against values worked out by hand."""

from __future__ import annotations

import pytest

from vaddesk.core.talk_stats import SpeakerStats, overlap_ms, talk_stats, union_ms
from vaddesk.core.types import Segment


def seg(start: int, end: int, who: str) -> Segment:
    return Segment(start, end, 0 if who == "A" else 1, who)


# A: 0-1000, 1500-2500 (no B in between: one turn 0-2500), then 6000-6500
# B: 2200-4000 (overlaps A by 300), 4500-5000 (same turn as 2200-4000: 2200-5000), 6200-7000
CONVERSATION = [seg(0, 1000, "A"), seg(1500, 2500, "A"), seg(2200, 4000, "B"),
                seg(4500, 5000, "B"), seg(6000, 6500, "A"), seg(6200, 7000, "B")]


def test_two_speakers_by_hand() -> None:
    stats = talk_stats(CONVERSATION, ["A", "B"], [0, 1])
    # A: 1000 + 1000 + 500 = 2500; B: 1800 + 500 + 800 = 3100; total 5600
    # A's turns: [0-2500], [6000-6500] -> 2, longest 2500
    # B's turns: [2200-5000], [6200-7000] -> 2, longest 2800
    # overlap: 2200-2500 (300) + 6200-6500 (300) = 600
    # any speech: 0-1000, 1500-5000 minus the 4000-4500 gap, 6000-7000 -> 1000+2500+500+1000
    assert stats.speakers == (SpeakerStats("A", 0, 2500, round(2500 / 5600, 4), 2, 2500),
                              SpeakerStats("B", 1, 3100, round(3100 / 5600, 4), 2, 2800))
    assert stats.speakers[0].share == 0.4464 and stats.speakers[1].share == 0.5536
    assert stats.overlap_ms == 600
    assert stats.any_speech_ms == 5000


def test_silent_speaker_and_nobody() -> None:
    stats = talk_stats([seg(100, 400, "A")], ["A", "B"])
    assert stats.speakers == (SpeakerStats("A", None, 300, 1.0, 1, 300),
                              SpeakerStats("B", None, 0, 0.0, 0, 0))
    assert stats.overlap_ms == 0 and stats.any_speech_ms == 300
    empty = talk_stats([], ["A"])
    assert empty.speakers == (SpeakerStats("A", None, 0, 0.0, 0, 0),)


def test_touching_spans_do_not_overlap_and_nested_ones_do() -> None:
    assert overlap_ms([[(0, 100)], [(100, 200)]]) == 0
    assert overlap_ms([[(0, 1000)], [(200, 300), (250, 400)], [(350, 500)]]) == 300
    assert union_ms([(0, 10), (5, 20), (30, 40), (40, 41), (50, 50)]) == 31


def test_unnamed_segments_count_for_the_empty_name() -> None:
    stats = talk_stats([Segment(0, 500), Segment(900, 1000)], [""])
    assert stats.speakers == (SpeakerStats("", None, 600, 1.0, 1, 1000),)
    with pytest.raises(ValueError, match="1 channels for 2 speakers"):
        talk_stats([], ["A", "B"], [0])
