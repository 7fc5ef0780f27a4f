"""Time formatting shared by the axis, the table and the status bar (h:mm:ss[.mmm])."""

from __future__ import annotations


def format_ms(ms: int, *, millis: bool = True) -> str:
    """12_345_678 -> '3:25:45.678'; under an hour -> '25:45.678'; millis=False drops '.mmm'."""
    sign = "-" if ms < 0 else ""
    ms = abs(int(ms))
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, frac = divmod(rest, 1000)
    head = f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
    return f"{sign}{head}.{frac:03d}" if millis else f"{sign}{head}"


def format_seconds_tick(seconds: float, spacing_s: float) -> str:
    """An axis tick label at a resolution that matches the tick spacing."""
    ms = round(seconds * 1000)
    sign = "-" if ms < 0 else ""
    ms = abs(ms)
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds_int, frac = divmod(rest, 1000)
    head = f"{hours}:{minutes:02d}:{seconds_int:02d}"
    if spacing_s >= 1:
        return sign + head
    if spacing_s >= 0.1:
        return f"{sign}{head}.{frac // 100:01d}"
    if spacing_s >= 0.01:
        return f"{sign}{head}.{frac // 10:02d}"
    return f"{sign}{head}.{frac:03d}"
