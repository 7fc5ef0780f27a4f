"""The one time formatter: every form the front ends print, to the character."""

from __future__ import annotations

import pytest

from vaddesk.core.timefmt import format_duration, format_ms


@pytest.mark.parametrize(("ms", "kwargs", "text"), [
    (61_005, {}, "1:01.005"),                                # GUI table, status bar
    (3_725_678, {"digits": 0}, "1:02:05"),                   # GUI durations
    (5_123, {"hours": True}, "0:00:05.123"),                 # `vaddesk record` lines
    (700, {"digits": 1, "hours": True}, "0:00:00.7"),        # recorder's disk-full message
    (3_059, {"digits": 1, "hours": True}, "0:00:03.0"),      # cut, not rounded
    (12_250, {"digits": 2, "hours": True}, "0:00:12.25"),    # axis ticks
    (-1_500, {}, "-0:01.500"),
    (-1_500, {"digits": 0}, "-0:01"),
])
def test_clock_text(ms: int, kwargs: dict[str, int | bool], text: str) -> None:
    assert format_ms(ms, **kwargs) == text  # type: ignore[arg-type]


def test_digits_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="digits must be 0, 1, 2 or 3, got 4"):
        format_ms(1000, digits=4)


@pytest.mark.parametrize(("ms", "text"), [
    (4_249, "4.2 s"), (59_999, "60.0 s"), (185_000, "3 min 05 s"), (3_725_000, "1 h 02 min"),
])
def test_duration_in_words(ms: float, text: str) -> None:
    assert format_duration(ms) == text
