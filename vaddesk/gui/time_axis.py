"""A pyqtgraph axis that labels seconds as h:mm:ss (with a fraction when zoomed in)."""

from __future__ import annotations

import pyqtgraph as pg

from vaddesk.core.timefmt import format_ms


def format_seconds_tick(seconds: float, spacing_s: float) -> str:
    """An axis tick label at a resolution that matches the tick spacing."""
    digits = 0 if spacing_s >= 1 else 1 if spacing_s >= 0.1 else 2 if spacing_s >= 0.01 else 3
    return format_ms(round(seconds * 1000), digits=digits, hours=True)


class TimeAxisItem(pg.AxisItem):
    def __init__(self, orientation: str = "bottom", **kwargs) -> None:
        super().__init__(orientation, **kwargs)
        self.enableAutoSIPrefix(False)

    def tickStrings(self, values, scale, spacing):
        return [format_seconds_tick(v * scale, spacing * scale) for v in values]
