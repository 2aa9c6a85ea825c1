"""Charts of a company's figures over time, drawn on the server as inline SVG.

Nothing to download and nothing from a CDN: the page carries its charts, readable without JavaScript. Each
period is drawn as a line across its span (a quarter spans three months, so a quarter's total and its months'
values sit side by side without one hiding the others), a dot at its middle, and a bar from the bottom to the
top of a range. Every dot carries its period, granularity and value as ``data-`` attributes.
"""

import datetime
import math
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from .choices import Metric, Unit
from .selectors import SeriesPoint, number_text

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 70, 40, 14, 34
MIN_DAYS = 62  # a chart spans at least two months, so a single day is not a full-width line
SPAN_GAP = 1.5  # pixels left between neighbouring periods, so that two equal months read as two


@dataclass(frozen=True)
class Dot:
    point: SeriesPoint
    x1: float
    x2: float
    cx: float
    cy: float
    cy_high: float | None  # top of a range
    value: str
    value_high: str | None
    title: str


@dataclass
class Chart:
    metric: str
    unit: str
    title: str
    scale: str  # what the axis numbers are in: "million USD"
    dots: list[Dot] = field(default_factory=list)
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    x_ticks: list[tuple[float, str]] = field(default_factory=list)
    zero_y: float = 0.0
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM


def _plain(value: Decimal | None) -> str | None:
    """A decimal as plain digits without trailing zeros: 1082000000.000000 -> "1082000000"."""
    if value is None:
        return None
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _nice_step(span: float, count: int = 5) -> float:
    raw = span / count
    magnitude = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 2.5, 5, 10):
        if multiple * magnitude >= raw:
            return multiple * magnitude
    return 10 * magnitude


def _scale(unit: str, largest: float) -> tuple[Decimal, str]:
    unit_words = {Unit.USD: "USD", Unit.PERCENT: "%"}.get(
        unit, Unit(unit).label.lower() if unit in Unit.values else unit
    )
    if largest >= 10**6 and unit != Unit.PERCENT:
        return Decimal(10**6), f"million {unit_words}"
    return Decimal(1), unit_words


def _x_ticks(first: int, last: int) -> list[tuple[int, str]]:
    """Tick days (ordinals) and labels: years over long spans, quarters over a year or two, else months."""
    start, end = datetime.date.fromordinal(first), datetime.date.fromordinal(last)
    months = (end.year - start.year) * 12 + end.month - start.month
    if months > 36:
        step, label = 12, lambda d: str(d.year)
    elif months > 9:
        step, label = 3, lambda d: f"Q{(d.month - 1) // 3 + 1} {d.year}"
    else:
        step, label = 1, lambda d: d.strftime("%b %Y")
    while months / step > 10:
        step *= 2
    day = datetime.date(start.year, 1, 1)
    ticks = []
    while day.toordinal() <= last:
        if day.toordinal() >= first and (day.year * 12 + day.month - 1) % step == 0:
            ticks.append((day.toordinal(), label(day)))
        day = datetime.date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return ticks


def series_chart(points: list[SeriesPoint]) -> Chart | None:
    """One metric's points (in one unit) as a chart; None when no period has a value that counts."""
    drawn = [p for p in points if p.preferred is not None]
    if not drawn:
        return None
    metric, unit = drawn[0].metric, drawn[0].unit
    values = [float(p.preferred["value"]) for p in drawn] + [
        float(p.preferred["value_high"]) for p in drawn if p.preferred["value_high"] is not None
    ]
    low, high = min(0.0, *values), max(0.0, *values)
    if high == low:
        high = low + 1
    step = _nice_step(high - low)
    low, high = math.floor(low / step) * step, math.ceil(high / step) * step
    first = min(p.start for p in drawn).toordinal()
    last = max(p.end for p in drawn).toordinal() + 1
    if last - first < MIN_DAYS:
        pad = (MIN_DAYS - (last - first)) // 2
        first, last = first - pad, last + pad
    pad = max(1, (last - first) // 40)  # room for the first and last dots
    first, last = first - pad, last + pad
    divisor, scale = _scale(unit, max(abs(low), abs(high)))
    chart = Chart(metric=metric, unit=unit, title=f"{Metric(metric).label} ({unit})", scale=scale)

    def x(day: int) -> float:
        return round(chart.left + (day - first) / (last - first) * (chart.right - chart.left), 2)

    def y(value: float) -> float:
        return round(chart.bottom - (value - low) / (high - low) * (chart.bottom - chart.top), 2)

    chart.zero_y = y(0.0)
    ticks = int(round((high - low) / step))
    chart.y_ticks = [(y(low + i * step), number_text(Decimal(str(low + i * step)), divisor)) for i in range(ticks + 1)]
    chart.x_ticks = [(x(day), label) for day, label in _x_ticks(first, last)]
    for point in drawn:
        preferred = point.preferred
        x1, x2 = x(point.start.toordinal()), x(point.end.toordinal() + 1)
        value, value_high = preferred["value"], preferred["value_high"]
        shown = number_text(value, divisor) + (
            "" if value_high is None else f"\u2013{number_text(value_high, divisor)}"
        )
        count = len(point.figures)
        title = f"{point.label}: {shown} {scale} ({count} figure{'s' if count != 1 else ''}" + (
            ", articles disagree)" if point.conflict else ")"
        )
        chart.dots.append(
            Dot(
                point=point,
                x1=round(x1 + SPAN_GAP, 2) if x2 - x1 > 4 * SPAN_GAP else x1,
                x2=round(x2 - SPAN_GAP, 2) if x2 - x1 > 4 * SPAN_GAP else max(x2, x1 + 2),
                cx=round((x1 + x2) / 2, 2),
                cy=y(float(value)),
                cy_high=None if value_high is None else y(float(value_high)),
                value=_plain(value),
                value_high=_plain(value_high),
                title=title,
            )
        )
    return chart


def series_charts(points: list[SeriesPoint]) -> list[Chart]:
    """A chart per metric and unit, in the order of the metrics' vocabulary."""
    groups: dict[tuple[str, str], list[SeriesPoint]] = defaultdict(list)
    for point in points:
        groups[(point.metric, point.unit)].append(point)
    order = {metric: i for i, metric in enumerate(Metric.values)}
    charts = [series_chart(group) for _key, group in sorted(groups.items(), key=lambda kv: (order[kv[0][0]], kv[0][1]))]
    return [chart for chart in charts if chart is not None]
