"""Reads that need more than a plain queryset: names, a company's series of figures, timelines, counts per
period, and the consistency checks of the figures."""

import calendar
import datetime
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Case, Count, DateField, F, Q, QuerySet, When
from django.db.models.functions import TruncMonth, TruncQuarter, TruncYear

from . import provenance
from .choices import ConsistencyCheck, Metric, PeriodGranularity, ReviewStatus, Unit
from .models import Company, Event, EventParticipant, Figure, Person


def companies_matching(text: str) -> QuerySet[Company]:
    """Companies whose name, slug or any alias contains ``text``, case-insensitively ("cannan" finds Canaan)."""
    text = text.strip()
    if not text:
        return Company.objects.all()
    return Company.objects.filter(
        Q(name__icontains=text) | Q(slug__icontains=text) | Q(aliases__name__icontains=text)
    ).distinct()


def entity_resolve(name: str) -> Company | Person | None:
    """The company or person that ``name`` (a name, slug or alias, any case) stands for; None if unknown."""
    name = name.strip()
    for model in (Company, Person):
        match = (
            model.objects.filter(Q(name__iexact=name) | Q(slug__iexact=name) | Q(aliases__name__iexact=name))
            .distinct()
            .first()
        )
        if match is not None:
            return match
    return None


# -- Periods ---------------------------------------------------------------------------------------------------

#: How many months a period of each granularity lasts (a day is not a part of anything here).
GRANULARITY_MONTHS = {
    PeriodGranularity.MONTH: 1,
    PeriodGranularity.QUARTER: 3,
    PeriodGranularity.HALF: 6,
    PeriodGranularity.YEAR: 12,
}


def period_name(start: datetime.date, end: datetime.date, granularity: str | None = None) -> str:
    """A period as people write it: "3 March 2022", "January 2019", "Q1 2019", "H2 2018", "2019", or its dates."""
    if granularity is None:
        granularity = provenance.period_granularity(start, end)
    if granularity == PeriodGranularity.DAY:
        return f"{start.day} {calendar.month_name[start.month]} {start.year}"
    if granularity == PeriodGranularity.MONTH:
        return f"{calendar.month_name[start.month]} {start.year}"
    if granularity == PeriodGranularity.QUARTER:
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    if granularity == PeriodGranularity.HALF:
        return f"H{1 if start.month == 1 else 2} {start.year}"
    if granularity == PeriodGranularity.YEAR:
        return str(start.year)
    return f"{start.isoformat()} to {end.isoformat()}"


def date_name(date: datetime.date, precision: str, end_date: datetime.date | None = None) -> str:
    """An event's date at the precision it is known: "June 2021", "2019", "Q1 2019 to Q2 2019"."""
    first = period_name(*provenance.period_bounds(date, precision), granularity=precision)
    if end_date is None or end_date == date:
        return first
    return f"{first} to {period_name(*provenance.period_bounds(end_date, precision), granularity=precision)}"


# -- A company's numbers over time -------------------------------------------------------------------------------

#: Which figure states a period's value: an editor's correction, then a verified figure, then a reported one,
#: then a disputed one. Rejected figures never count.
PREFERENCE = {
    ReviewStatus.CORRECTED: 0,
    ReviewStatus.VERIFIED: 1,
    ReviewStatus.REPORTED: 2,
    ReviewStatus.DISPUTED: 3,
}

SERIES_VALUES = (
    "id",
    "article_id",
    "article__slug",
    "article__published_on",
    "company_id",
    "company__slug",
    "company__name",
    "subject",
    "metric",
    "unit",
    "value",
    "value_high",
    "qualifier",
    "as_reported",
    "period_start",
    "period_end",
    "period_granularity",
    "period_label",
    "status",
    "quote",
)


def _amount(figure: dict) -> tuple[Decimal, Decimal | None]:
    return figure["value"], figure["value_high"]


@dataclass
class SeriesPoint:
    """One period of a company's metric (in one unit), every figure that states it and the value that counts."""

    company: str
    company_name: str
    metric: str
    unit: str
    start: datetime.date
    end: datetime.date
    granularity: str
    figures: list[dict]  # SERIES_VALUES rows, rejected ones included
    preferred: dict | None = None
    conflict: bool = False  # figures of different articles state different values
    ambiguous: bool = False  # one article states several values for it (often different things: see subjects)

    @property
    def label(self) -> str:
        return period_name(self.start, self.end, self.granularity)

    @property
    def counted(self) -> list[dict]:
        return [f for f in self.figures if f["status"] in PREFERENCE]


def _preferred(counted: list[dict]) -> dict | None:
    """The figure whose value counts: by review status, then the value most figures state, then the newest article."""
    if not counted:
        return None
    stated = Counter(_amount(f) for f in counted)
    return min(
        counted,
        key=lambda f: (PREFERENCE[f["status"]], -stated[_amount(f)], -f["article__published_on"].toordinal(), f["id"]),
    )


def _disagree(figures: list[dict]) -> tuple[bool, bool]:
    """(conflict, ambiguous): two articles state different values (which, with two or more articles and two or more
    values, some pair always does); one article states several values. Linear in the number of figures."""
    amounts_by_article: dict[int, set] = defaultdict(set)
    for figure in figures:
        amounts_by_article[figure["article_id"]].add(_amount(figure))
    amounts = set().union(*amounts_by_article.values()) if amounts_by_article else set()
    conflict = len(amounts_by_article) > 1 and len(amounts) > 1
    return conflict, any(len(found) > 1 for found in amounts_by_article.values())


#: The statuses a series lists: the ones that may count, and rejected figures (listed, never counted).
LISTED_STATUSES = (*PREFERENCE, ReviewStatus.REJECTED)


def series_figures(**filters) -> QuerySet:
    """Figures with a period, as ``.values()`` rows of SERIES_VALUES, in series order."""
    return (
        Figure.objects.filter(
            period_start__isnull=False, period_end__isnull=False, status__in=LISTED_STATUSES, **filters
        )
        .order_by("company_id", "metric", "unit", "period_start", "period_end", "article__published_on", "id")
        .values(*SERIES_VALUES)
    )


def series_points(rows: Iterable[dict]) -> list[SeriesPoint]:
    """Figures grouped into one point per company, metric, unit and period, in that order."""
    points: dict[tuple, SeriesPoint] = {}
    for row in rows:
        key = (row["company_id"], row["metric"], row["unit"], row["period_start"], row["period_end"])
        point = points.get(key)
        if point is None:
            point = points[key] = SeriesPoint(
                company=row["company__slug"],
                company_name=row["company__name"],
                metric=row["metric"],
                unit=row["unit"],
                start=row["period_start"],
                end=row["period_end"],
                granularity=row["period_granularity"]
                or provenance.period_granularity(row["period_start"], row["period_end"]),
                figures=[],
            )
        point.figures.append(row)
    for point in points.values():
        counted = point.counted
        point.preferred = _preferred(counted)
        point.conflict, point.ambiguous = _disagree(counted)
    return sorted(points.values(), key=lambda p: (p.company, p.metric, p.unit, p.start, p.end))


def figure_series(*, company: Company, metric: str | None = None, unit: str | None = None) -> list[SeriesPoint]:
    """A company's figures by period (every metric without ``metric``): one query."""
    filters: dict[str, Any] = {"company": company}
    if metric:
        filters["metric"] = metric
    if unit:
        filters["unit"] = unit
    return series_points(series_figures(**filters))


# -- Timelines and counts per period -----------------------------------------------------------------------------


def company_events(company: Company) -> QuerySet[Event]:
    """The events a company takes part in (in any role), in date order; each event once."""
    taking_part = EventParticipant.objects.filter(company=company).values("event_id")
    return Event.objects.facts().filter(pk__in=taking_part).order_by("date", "date_latest", "id")


def company_figures(company: Company) -> QuerySet[Figure]:
    """A company's figures by period (those without one last), then by their article's date."""
    return (
        Figure.objects.facts()
        .filter(company=company)
        .order_by(
            F("period_start").asc(nulls_last=True),
            F("period_end").asc(nulls_last=True),
            "article__published_on",
            "id",
        )
    )


PERIOD_TRUNC = {"month": TruncMonth, "quarter": TruncQuarter, "year": TruncYear}
PERIOD_LENGTH = {"month": 1, "quarter": 3, "year": 12}


@dataclass(frozen=True)
class PeriodCount:
    start: datetime.date
    end: datetime.date
    label: str
    count: int


def period_counts(queryset: QuerySet, *, start: str, end: str, by: str) -> tuple[list[PeriodCount], int]:
    """How many records of ``queryset`` fall in each month, quarter or year (``by``), in one query.

    A record counts in a period when its whole span (``start`` .. ``end``: an event's date to its ``date_latest``,
    a figure's period) lies inside it; the others (known only to a coarser precision, spanning periods, or
    without a date) are not spread over periods they may not belong to, only counted: the second value returned.
    Periods without records are left out.
    """
    trunc = PERIOD_TRUNC[by]
    rows = (
        queryset.order_by()
        .prefetch_related(None)
        .annotate(_first=trunc(start), _last=trunc(end))
        .annotate(_period=Case(When(_first=F("_last"), then=F("_first")), default=None, output_field=DateField()))
        .values("_period")
        .annotate(_count=Count("pk"))
        .values_list("_period", "_count")
    )
    counts, unplaced = [], 0
    for period, count in sorted(rows, key=lambda r: (r[0] is None, r[0] or datetime.date.min)):
        if period is None:
            unplaced += count
            continue
        if isinstance(period, datetime.datetime):
            period = period.date()
        last_month = period.month + PERIOD_LENGTH[by] - 1
        period_end = datetime.date(period.year, last_month, calendar.monthrange(period.year, last_month)[1])
        counts.append(PeriodCount(period, period_end, period_name(period, period_end), count))
    return counts, unplaced


# -- Consistency of the figures ----------------------------------------------------------------------------------

#: Metrics whose values over the parts of a period add up to the value over the whole period.
ADDITIVE = frozenset({Metric.REVENUE, Metric.NET_PROFIT, Metric.NET_LOSS, Metric.COST, Metric.QUANTITY})
#: A net result's sign: a profit adds to it, a loss takes away.
NET_SIGN = {Metric.NET_PROFIT: 1, Metric.NET_LOSS: -1}
#: Whole periods and the parts that make one up.
WHOLES_AND_PARTS = (
    (PeriodGranularity.QUARTER, PeriodGranularity.MONTH),
    (PeriodGranularity.HALF, PeriodGranularity.MONTH),
    (PeriodGranularity.HALF, PeriodGranularity.QUARTER),
    (PeriodGranularity.YEAR, PeriodGranularity.MONTH),
    (PeriodGranularity.YEAR, PeriodGranularity.QUARTER),
    (PeriodGranularity.YEAR, PeriodGranularity.HALF),
)
PART_NAMES = {
    PeriodGranularity.MONTH: "months",
    PeriodGranularity.QUARTER: "quarters",
    PeriodGranularity.HALF: "halves",
}
DEFAULT_TOLERANCE = Decimal("0.1")  # percent
ARTICLES_NAMED = 3  # a disagreement's message names this many articles per value (its figures list them all)
MINUS = "\u2212"


@dataclass
class Finding:
    """One check of the figures: what was stated, what the other figures make of it, and the figures involved."""

    kind: str  # ConsistencyCheck
    ok: bool  # the check holds (within the tolerance)
    point: SeriesPoint  # the period checked (the whole, for sums and arithmetic)
    message: str
    stated: Decimal | None
    computed: Decimal | None
    difference_percent: Decimal | None  # of the stated value; None when it is zero and the other is not
    figures: list[tuple[str, dict]] = field(default_factory=list)  # (role: whole, part, statement), SERIES_VALUES

    @property
    def difference(self) -> Decimal | None:
        if self.stated is None or self.computed is None:
            return None
        return self.computed - self.stated


@dataclass(frozen=True)
class _Term:
    """A period's value as it enters a check (signed for net results)."""

    point: SeriesPoint
    value: Decimal


def _usable(point: SeriesPoint) -> bool:
    """A point with one value to compute with: not a range, not a bound ("more than")."""
    preferred = point.preferred
    return (
        preferred is not None
        and preferred["value_high"] is None
        and preferred["qualifier"] in {"exact", "about"}
        and point.granularity in GRANULARITY_MONTHS
    )


def _wholes_and_parts(terms: list[_Term]) -> Iterable[tuple[_Term, list[_Term], str]]:
    """Each whole period with a complete set of parts of one granularity inside it (all three months of a quarter),
    found by the parts' first days: linear in the number of terms."""
    by_start: dict[tuple[str, datetime.date], list[_Term]] = defaultdict(list)
    for term in terms:
        by_start[(term.point.granularity, term.point.start)].append(term)
    for whole in terms:
        for whole_granularity, part_granularity in WHOLES_AND_PARTS:
            if whole.point.granularity != whole_granularity:
                continue
            step = GRANULARITY_MONTHS[part_granularity]
            starts = [
                datetime.date(whole.point.start.year, whole.point.start.month + i, 1)
                for i in range(0, GRANULARITY_MONTHS[whole_granularity], step)
            ]
            found = [by_start.get((part_granularity, start), []) for start in starts]
            if all(len(parts) == 1 for parts in found):
                yield whole, [parts[0] for parts in found], part_granularity


def _compare(stated: Decimal, computed: Decimal, tolerance: Decimal) -> tuple[bool, Decimal | None]:
    difference = computed - stated
    if stated == 0:
        return difference == 0, (Decimal(0) if difference == 0 else None)
    percent = abs(difference) / abs(stated) * 100
    return percent <= tolerance, percent


def _scale(values: Iterable[Decimal], unit: str) -> tuple[Decimal, str]:
    """The divisor and the words after the numbers: 1082000000 USD reads "1,082 million"."""
    largest = max((abs(v) for v in values), default=Decimal(0))
    words = "" if unit == Unit.USD else ("%" if unit == Unit.PERCENT else f" {Unit(unit).label.lower()}")
    if largest >= 10**6:
        return Decimal(10) ** 6, f" million{words}" if unit != Unit.PERCENT else words
    return Decimal(1), words


def number_text(value: Decimal, divisor: Decimal = Decimal(1)) -> str:
    """``1085000000 / 10**6`` as "1,085"; negative numbers with a minus sign; at most three decimals."""
    scaled = (value / divisor).quantize(Decimal("0.001"))
    text = f"{abs(scaled):,.3f}".rstrip("0").rstrip(".")
    return f"{MINUS}{text}" if scaled < 0 else text


def _percent_text(percent: Decimal | None) -> str:
    return "no stated value to compare with" if percent is None else f"{percent:.2f}%"


def _sum_findings(points: list[SeriesPoint], tolerance: Decimal) -> Iterable[Finding]:
    terms = [_Term(p, p.preferred["value"]) for p in points if _usable(p)]
    for whole, parts, part_granularity in _wholes_and_parts(terms):
        point = whole.point
        stated, computed = whole.value, sum((t.value for t in parts), Decimal(0))
        ok, percent = _compare(stated, computed, tolerance)
        divisor, words = _scale([stated, computed], point.unit)
        message = (
            f"{point.company_name} {Metric(point.metric).label.lower()} {point.label}: "
            f"{PART_NAMES[part_granularity]} sum {number_text(computed, divisor)} "
            f"vs stated {number_text(stated, divisor)}{words}, {_percent_text(percent)}"
        )
        figures = [("whole", point.preferred)] + [("part", t.point.preferred) for t in parts]
        yield Finding(ConsistencyCheck.SUM, ok, point, message, stated, computed, percent, figures)


def _expression(terms: list[_Term], divisor: Decimal) -> str:
    text = ""
    for i, term in enumerate(terms):
        number = number_text(abs(term.value), divisor)
        if i == 0:
            text = number if term.value >= 0 else f"{MINUS}{number}"
        else:
            text += f" {'+' if term.value >= 0 else MINUS} {number}"
    return text


def _net_terms(points: list[SeriesPoint]) -> list[_Term]:
    """Net results as signed values; a period stated both as a profit and as a loss is left out."""
    terms = [_Term(p, NET_SIGN[p.metric] * p.preferred["value"]) for p in points if p.metric in NET_SIGN and _usable(p)]
    periods = Counter((t.point.start, t.point.end) for t in terms)
    return [t for t in terms if periods[(t.point.start, t.point.end)] == 1]


def _arithmetic_findings(points: list[SeriesPoint], tolerance: Decimal) -> Iterable[Finding]:
    """Net results: the parts' profits and losses against the whole's (315 − 345 − 280 = −310), and revenue minus
    costs against the net result of the same period. Parts that are all of the whole's metric are a sum check."""
    nets = _net_terms(points)
    for whole, parts, _part_granularity in _wholes_and_parts(nets):
        if all(t.point.metric == whole.point.metric for t in parts):
            continue
        yield _arithmetic(whole, parts, tolerance)
    by_period: dict[tuple, dict[str, SeriesPoint]] = defaultdict(dict)
    for point in points:
        if point.metric in {Metric.REVENUE, Metric.COST} and _usable(point) and not point.ambiguous:
            by_period[(point.start, point.end)][point.metric] = point
    for net in nets:
        found = by_period.get((net.point.start, net.point.end), {})
        if Metric.REVENUE in found and Metric.COST in found:
            revenue, cost = found[Metric.REVENUE], found[Metric.COST]
            terms = [_Term(revenue, revenue.preferred["value"]), _Term(cost, -cost.preferred["value"])]
            yield _arithmetic(net, terms, tolerance)


def _arithmetic(whole: _Term, parts: list[_Term], tolerance: Decimal) -> Finding:
    point = whole.point
    stated, computed = whole.value, sum((t.value for t in parts), Decimal(0))
    ok, percent = _compare(stated, computed, tolerance)
    divisor, words = _scale([stated, computed, *(t.value for t in parts)], point.unit)
    said = f"{Metric(point.metric).label.lower()} of {number_text(abs(stated), divisor)}{words}"
    result = number_text(computed, divisor)
    head = f"{point.company_name} net result {point.label}: {_expression(parts, divisor)} = {result}"
    if ok:
        message = f"{head}{words}, as stated ({said})"
    else:
        message = f"{head} vs stated {number_text(stated, divisor)}{words} ({said}), {_percent_text(percent)}"
    figures = [("whole", point.preferred)] + [("part", t.point.preferred) for t in parts]
    return Finding(ConsistencyCheck.ARITHMETIC, ok, point, message, stated, computed, percent, figures)


def _disagreement_finding(point: SeriesPoint, tolerance: Decimal) -> Finding:
    counted = point.counted
    by_amount: dict[tuple, list[str]] = {}
    for figure in counted:
        slugs = by_amount.setdefault(_amount(figure), [])
        if figure["article__slug"] not in slugs:
            slugs.append(figure["article__slug"])
    stated = point.preferred["value"]
    lows = [low for low, _high in by_amount]
    spread = max(lows) - min(lows)
    highs = [high for _low, high in by_amount if high is not None]
    if highs:
        spread = max(spread, max(highs) - min(lows))
    percent = (spread / abs(stated) * 100) if stated else None
    ok = percent is not None and percent <= tolerance
    divisor, words = _scale([v for amount in by_amount for v in amount if v is not None], point.unit)

    def amount_text(amount: tuple) -> str:
        low, high = amount
        return number_text(low, divisor) + ("" if high is None else f"\u2013{number_text(high, divisor)}")

    def sources(slugs: list[str]) -> str:
        shown = ", ".join(slugs[:ARTICLES_NAMED])
        return shown if len(slugs) <= ARTICLES_NAMED else f"{shown} and {len(slugs) - ARTICLES_NAMED} more"

    stated_as = " and ".join(f"{amount_text(a)} ({sources(slugs)})" for a, slugs in by_amount.items())
    message = (
        f"{point.company_name} {Metric(point.metric).label.lower()} {point.label}: "
        f"stated as {stated_as}{words}, {_percent_text(percent)} apart"
    )
    figures = [("statement", f) for f in counted]
    return Finding(ConsistencyCheck.DISAGREEMENT, ok, point, message, stated, None, percent, figures)


def consistency_findings(
    *,
    tolerance: Decimal = DEFAULT_TOLERANCE,
    include_ok: bool = False,
    company: Company | None = None,
    kinds: Iterable[str] = (),
    points: list[SeriesPoint] | None = None,
) -> list[Finding]:
    """Check every company's figures (or one company's), in one query:

    - sum: the parts of a period (months, quarters, halves) against the whole stated for it;
    - arithmetic: net results (a profit adds, a loss takes away) of the parts against the whole's, and revenue
      minus costs against the net result of the same period;
    - disagreement: the same company, metric and period stated differently by different articles.

    Each period's value is its preferred figure's (see ``PREFERENCE``); ranges and bounds are not computed with.
    A check that holds within ``tolerance`` (percent of the stated value) is only returned with ``include_ok``.
    ``points`` are the company's, already read (``figure_series(company=...)``): then nothing is read again.
    """
    if points is None:
        filters: dict[str, Any] = {"company__isnull": False}
        if company is not None:
            filters["company"] = company
        points = series_points(series_figures(**filters))
    wanted = set(kinds) or set(ConsistencyCheck.values)
    groups: dict[tuple, list[SeriesPoint]] = defaultdict(list)
    for point in points:
        groups[(point.company, point.unit)].append(point)
    findings: list[Finding] = []
    for (_company, unit), group in groups.items():
        if ConsistencyCheck.SUM in wanted and unit != Unit.PERCENT:
            for metric in sorted({p.metric for p in group} & ADDITIVE):
                findings.extend(_sum_findings([p for p in group if p.metric == metric], tolerance))
        if ConsistencyCheck.ARITHMETIC in wanted and unit != Unit.PERCENT:
            findings.extend(_arithmetic_findings(group, tolerance))
    if ConsistencyCheck.DISAGREEMENT in wanted:
        findings.extend(_disagreement_finding(p, tolerance) for p in points if p.conflict)
    findings = [f for f in findings if include_ok or not f.ok]
    order = {kind: i for i, kind in enumerate(ConsistencyCheck.values)}
    findings.sort(key=lambda f: (f.point.company, f.point.start, f.point.end, order[f.kind], f.point.metric))
    return findings
