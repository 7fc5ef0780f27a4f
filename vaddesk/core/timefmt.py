"""Times as people read them, for every front end: clock text (h:mm:ss.fff) and spoken
durations ("3 min 05 s"). Here in core so the audio layer's messages can use it too."""

from __future__ import annotations

_FRACTION_DIVISORS = {0: 1000, 1: 100, 2: 10, 3: 1}


def format_ms(ms: int, *, digits: int = 3, hours: bool = False) -> str:
    """Clock text of a time in milliseconds: ``12_345_678`` -> ``'3:25:45.678'``.

    ``digits`` (0-3) fraction digits, cut (not rounded: a label never shows a later time than
    the sample it names); ``hours=False`` leaves the hour field out under an hour
    (``'25:45.678'``), ``hours=True`` always shows it (``'0:25:45.678'``).
    """
    if digits not in _FRACTION_DIVISORS:
        raise ValueError(f"digits must be 0, 1, 2 or 3, got {digits}")
    sign = "-" if ms < 0 else ""
    ms = abs(int(ms))
    h, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, milli = divmod(rest, 1000)
    head = f"{h}:{minutes:02d}:{seconds:02d}" if h or hours else f"{minutes}:{seconds:02d}"
    if not digits:
        return sign + head
    return f"{sign}{head}.{milli // _FRACTION_DIVISORS[digits]:0{digits}d}"


def format_duration(ms: float) -> str:
    """A duration in words for summaries: ``'4.2 s'``, ``'3 min 05 s'``, ``'1 h 02 min'``."""
    s = int(ms // 1000)
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    if s >= 60:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{ms / 1000:.1f} s"
