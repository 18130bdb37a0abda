"""The board's chart of exceptions per week, as numbers a template draws as SVG bars (no
chart library): each bar's place and height in the drawing's own units."""
from __future__ import annotations

from dataclasses import dataclass

from ...domain.board import WeekCount

WIDTH, HEIGHT = 480, 160
TOP, BOTTOM = 18, 22  # room for the value above a bar and the week below
GAP = 6


@dataclass(frozen=True)
class Bar:
    week: WeekCount
    x: float
    y: float
    width: float
    height: float

    @property
    def middle(self) -> float:
        return self.x + self.width / 2


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    width: int = WIDTH
    height: int = HEIGHT
    baseline: int = HEIGHT - BOTTOM

    @property
    def with_exceptions(self) -> int:
        return sum(bar.week.with_exceptions for bar in self.bars)

    @property
    def audits(self) -> int:
        return sum(bar.week.audits for bar in self.bars)


def bar_chart(weeks: list[WeekCount]) -> Chart:
    """One bar per week, its height the audits with an exception, scaled to the highest."""
    highest = max((week.with_exceptions for week in weeks), default=0) or 1
    room = HEIGHT - TOP - BOTTOM
    step = WIDTH / max(len(weeks), 1)
    bars = []
    for n, week in enumerate(weeks):
        height = room * week.with_exceptions / highest
        bars.append(Bar(week, round(n * step + GAP / 2, 1), round(HEIGHT - BOTTOM - height, 1),
                        round(step - GAP, 1), round(height, 1)))
    return Chart(bars)
