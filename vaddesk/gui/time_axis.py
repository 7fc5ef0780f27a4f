"""A pyqtgraph axis that labels seconds as h:mm:ss (with a fraction when zoomed in)."""

from __future__ import annotations

import pyqtgraph as pg

from vaddesk.gui.timefmt import format_seconds_tick


class TimeAxisItem(pg.AxisItem):
    def __init__(self, orientation: str = "bottom", **kwargs) -> None:
        super().__init__(orientation, **kwargs)
        self.enableAutoSIPrefix(False)

    def tickStrings(self, values, scale, spacing):
        return [format_seconds_tick(v * scale, spacing * scale) for v in values]
