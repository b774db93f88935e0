"""Attention over time: the search histogram as bars for a server-rendered SVG chart."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from archive.facets import Histogram

from .params import SearchState, month_end

# Past this many monthly bars, years read better (and each bar stays wide enough to hit).
MAX_MONTH_BARS = 120
WIDTH = 720  # the SVG's own units; CSS stretches it to the column
HEIGHT = 120
GAP_SHARE = 0.18  # of each bar's slot, left empty between bars
# A few bars stay this narrow (a share of the width) and sit in the middle: one bar across
# the whole chart would read as a box, not as a count.
MIN_SLOTS = 30


@dataclass(frozen=True, slots=True)
class Bar:
    start: dt.date
    end: dt.date
    label: str
    count: int
    total: int
    x: float
    y: float
    width: float
    height: float
    share_label: str  # matches as a share of all archived articles of the period
    description: str  # the bar's accessible name and tooltip
    url: str | None  # narrows the search to the bar's period; None for an empty bar


@dataclass(frozen=True, slots=True)
class Chart:
    bars: list[Bar]
    granularity: str  # day, week, month or year
    share: bool
    top_label: str  # the value at the top of the plot
    undated: int
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def first_label(self) -> str:
        return self.bars[0].label

    @property
    def last_label(self) -> str:
        return self.bars[-1].label


def build_chart(histogram: Histogram | None, state: SearchState) -> Chart | None:
    """Bars for the chart, or None when no match has a date."""
    if histogram is None:
        return None
    periods = _periods(histogram)
    while periods and periods[0][2] == 0:  # the chart starts and ends where matches do
        periods.pop(0)
    while periods and periods[-1][2] == 0:
        periods.pop()
    if not periods:
        return None
    granularity: str = histogram.granularity
    if granularity == "month" and len(periods) > MAX_MONTH_BARS:
        periods, granularity = _by_year(periods), "year"
    values = [_value(count, total, state.share) for _, _, count, total in periods]
    top = _nice_top(max(values), state.share)
    slot = WIDTH / max(len(periods), MIN_SLOTS)
    left = (WIDTH - slot * len(periods)) / 2
    gap = min(slot * GAP_SHARE, 6.0)
    one, many = ("story", "stories") if state.stories else ("article", "articles")
    bars = []
    for index, ((start, end, count, total), value) in enumerate(zip(periods, values,
                                                                     strict=True)):
        height = HEIGHT * value / top if top else 0.0
        # A match, however small against a tall bar, stays visible.
        if count and height < 1.5:
            height = 1.5
        label = _label(start, granularity)
        share_label = _percent(count / total if total else 0.0)
        description = (f"{label}: {count:,} {one if count == 1 else many}, "
                       f"{share_label} of {total:,} archived articles")
        clipped_start = max(start, state.date_from) if state.date_from else start
        clipped_end = min(end, state.date_to) if state.date_to else end
        url = state.with_dates(clipped_start, clipped_end).query_string() if count else None
        bars.append(Bar(start, end, label, count, total, x=round(left + index * slot + gap / 2, 2),
                        y=round(HEIGHT - height, 2), width=round(slot - gap, 2),
                        height=round(height, 2), share_label=share_label,
                        description=description, url=url))
    return Chart(bars, granularity, state.share,
                 _percent(top) if state.share else f"{int(top):,}", histogram.undated)


Period = tuple[dt.date, dt.date, int, int]  # start, end, matches, archived articles


def _periods(histogram: Histogram) -> list[Period]:
    periods = []
    for start, count, total in zip(histogram.starts, histogram.counts, histogram.totals,
                                   strict=True):
        if histogram.granularity == "day":
            end = start
        elif histogram.granularity == "week":
            end = start + dt.timedelta(days=6)
        else:
            end = month_end(start)
        periods.append((start, end, count, total))
    return periods


def _by_year(periods: list[Period]) -> list[Period]:
    years: dict[int, list[int]] = {}
    for start, _, count, total in periods:
        sums = years.setdefault(start.year, [0, 0])
        sums[0] += count
        sums[1] += total
    by_year = []
    for year in range(min(years), max(years) + 1):
        count, total = years.get(year, [0, 0])
        by_year.append((dt.date(year, 1, 1), dt.date(year, 12, 31), count, total))
    return by_year


def _value(count: int, total: int, share: bool) -> float:
    if share:
        return count / total if total else 0.0
    return float(count)


def _nice_top(value: float, share: bool) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten at or above value."""
    if value <= 0:
        return 1.0 if not share else 0.01
    if not share and value <= 5:
        return float(math.ceil(value))
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value - 1e-12:
            top = step * power
            return top if share else float(math.ceil(top))
    return value  # not reached: 10 * power is always enough


def _label(start: dt.date, granularity: str) -> str:
    if granularity == "day":
        return start.isoformat()
    if granularity == "week":
        return f"week of {start.isoformat()}"
    if granularity == "month":
        return f"{start.year:04d}-{start.month:02d}"
    return f"{start.year:04d}"


def _percent(value: float) -> str:
    if value == 0:
        return "0%"
    if value >= 0.1:
        return f"{value:.0%}"
    if value >= 0.01:
        return f"{value:.1%}"
    return f"{value:.2%}"
