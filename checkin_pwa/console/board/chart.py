"""The weekly chart of exceptions and anomalies, as numbers a template draws as SVG bars (no
chart library): a function of the weeks' counts alone, so any body's weeks, or several
bodies' summed (domain.board.summed), draw the same way.

Two panels one above the other, one per series, each bar's place and height in the
drawing's own units; each panel is scaled to its own highest week (the numbers are written
on the bars, so the heights only compare weeks of one series).
"""
from __future__ import annotations

from dataclasses import dataclass

from ...domain.board import WeekCount

WIDTH = 480
PANEL = 96  # one series' height, its label and values included
TOP = 30  # room for the panel's label and the value above a bar
BOTTOM = 22  # room for the weeks under the last panel
GAP = 6

# The series in the order they are drawn: (key, the WeekCount field).
SERIES = (("exceptions", "with_exceptions"), ("anomalies", "anomalies"))


@dataclass(frozen=True)
class Bar:
    week: WeekCount
    value: int
    x: float
    y: float
    width: float
    height: float

    @property
    def middle(self) -> float:
        return round(self.x + self.width / 2, 1)


@dataclass(frozen=True)
class Panel:
    key: str  # "exceptions" or "anomalies"
    top: float
    baseline: float
    bars: list[Bar]

    @property
    def total(self) -> int:
        return sum(bar.value for bar in self.bars)


@dataclass(frozen=True)
class Chart:
    weeks: list[WeekCount]
    panels: list[Panel]
    width: int = WIDTH
    height: int = PANEL * len(SERIES) + BOTTOM

    @property
    def with_exceptions(self) -> int:
        return sum(week.with_exceptions for week in self.weeks)

    @property
    def anomalies(self) -> int:
        return sum(week.anomalies for week in self.weeks)

    @property
    def audits(self) -> int:
        return sum(week.audits for week in self.weeks)


def bar_chart(weeks: list[WeekCount]) -> Chart:
    """One panel per series, one bar per week, its height scaled to the series' highest week."""
    step = WIDTH / max(len(weeks), 1)
    panels = []
    for n, (key, field) in enumerate(SERIES):
        values = [getattr(week, field) for week in weeks]
        highest = max(values, default=0) or 1
        top, baseline = n * PANEL, (n + 1) * PANEL
        room = PANEL - TOP
        bars = []
        for i, (week, value) in enumerate(zip(weeks, values)):
            height = room * value / highest
            bars.append(Bar(week, value, round(i * step + GAP / 2, 1), round(baseline - height, 1),
                            round(step - GAP, 1), round(height, 1)))
        panels.append(Panel(key, top, baseline, bars))
    return Chart(list(weeks), panels)
