"""Bar charts as plain geometry for server-rendered inline SVG (templates/clerk/_bar_chart.html).

No script and no style attribute (the Content-Security-Policy allows neither): sizes and colours are
SVG presentation attributes. The colours are the Okabe–Ito palette, which people with the common
colour-vision deficiencies tell apart; every chart also has a legend in words and a data table
beside it, which is what a screen reader reads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

BLUE, ORANGE, SKY, VERMILLION, GREY = "#0072B2", "#E69F00", "#56B4E9", "#D55E00", "#8C8C8C"
GREEN, PURPLE, YELLOW = "#009E73", "#CC79A7", "#F0E442"

WIDTH, HEIGHT = 640, 280
LEFT, RIGHT, TOP, BOTTOM = 56, 628, 44, 236  # the plot area; the legend above it, month labels below


@dataclass
class Segment:
    y: float
    height: float
    fill: str
    label: str


@dataclass
class Bar:
    x: float
    width: float
    label: str
    label_x: float
    segments: list[Segment] = field(default_factory=list)
    show_label: bool = True


@dataclass
class Tick:
    y: float
    label: str


@dataclass
class LegendItem:
    x: float
    fill: str
    label: str

    @property
    def text_x(self) -> float:
        return self.x + 16


@dataclass
class BarChart:
    id: str
    title: str
    description: str
    bars: list[Bar]
    ticks: list[Tick]
    legend: list[LegendItem]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = RIGHT
    top: int = TOP
    bottom: int = BOTTOM

    @property
    def label_y(self) -> int:
        return self.bottom + 18

    @property
    def tick_x(self) -> int:
        return self.left - 6


def nice_step(value: float) -> float:
    """The next round number from `value` on, for the step between axis lines: 1, 2 or 5 times a
    power of ten (whole numbers from 1 on, so that counts get whole-numbered lines)."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def stacked_bars(
    *,
    chart_id: str,
    title: str,
    description: str,
    categories: list[str],
    series: list[tuple[str, str, list[float]]],
    percent: bool = False,
) -> BarChart:
    """One stacked bar per category; `series`: (label, colour, one value per category).
    With `percent`, the values are shares (0–1) and the axis runs to at least 100 %."""
    totals = [sum(values[i] for _label, _fill, values in series) for i in range(len(categories))]
    top_value = max(totals, default=0)
    # Four steps up the axis: 25 % each for shares (more above 100 %), a round number for counts.
    step = 0.25 * math.ceil(max(top_value, 1)) if percent else max(1, nice_step(top_value / 4))
    axis_max = 4 * step
    scale = (BOTTOM - TOP) / axis_max

    ticks = []
    for i in range(5):
        value = step * i
        label = f"{round(value * 100)} %" if percent else f"{value:g}"
        ticks.append(Tick(y=BOTTOM - value * scale, label=label))

    slot = (RIGHT - LEFT) / max(len(categories), 1)
    width = min(48.0, slot * 0.7)
    every = math.ceil(len(categories) / 12) or 1  # at most twelve labels fit under the axis
    bars = []
    for i, category in enumerate(categories):
        x = LEFT + slot * i + (slot - width) / 2
        bar = Bar(x=x, width=width, label=category, label_x=x + width / 2, show_label=i % every == 0)
        base = BOTTOM
        for label, fill, values in series:
            value = values[i]
            if value <= 0:
                continue
            height = value * scale
            base -= height
            shown = f"{round(value * 100)} %" if percent else f"{value:g}"
            bar.segments.append(Segment(y=base, height=height, fill=fill, label=f"{category}, {label}: {shown}"))
        bars.append(bar)

    legend, x = [], LEFT
    for label, fill, _values in series:
        legend.append(LegendItem(x=x, fill=fill, label=label))
        x += 28 + 7 * len(label)
    return BarChart(id=chart_id, title=title, description=description, bars=bars, ticks=ticks, legend=legend)
