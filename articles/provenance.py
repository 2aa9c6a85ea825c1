"""Validation shared by every path that writes events and figures: the admin, the API and the loader.

Each function raises ``ValidationError`` keyed by the offending field, so the admin shows it on the
field, the API returns it under the field's name and the loader names it with the file and record.
"""

import calendar
import datetime
import functools

from django.core.exceptions import ValidationError

from .choices import DatePrecision, PeriodGranularity, Qualifier, ReviewStatus
from .numbers import NumberParseError, parse_amount


def locate_quote(body: str, quote: str, start: int | None = None) -> tuple[int, int]:
    """Return the (start, end) character offsets of ``quote`` in ``body``.

    A given ``start`` is kept when the quote really stands there (the same words may occur twice);
    otherwise the first occurrence is used.
    """
    if not quote:
        raise ValidationError({"quote": "A quote is required: the verbatim words of the article that support this."})
    if start is not None and start >= 0 and body[start : start + len(quote)] == quote:
        return start, start + len(quote)
    found = body.find(quote)
    if found < 0:
        preview = quote if len(quote) <= 80 else quote[:77] + "..."
        raise ValidationError({"quote": f"The quote does not occur verbatim in the article's body: {preview!r}."})
    return found, found + len(quote)


@functools.lru_cache(maxsize=4096)  # dates recur (the first of a month); a load asks for each record's
def period_bounds(day: datetime.date, precision: str) -> tuple[datetime.date, datetime.date]:
    """The first and last day that a date of the given precision stands for ("June 2021" -> 1-30 June)."""
    if precision == DatePrecision.DAY:
        return day, day
    if precision == DatePrecision.MONTH:
        return day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])
    if precision == DatePrecision.QUARTER:
        first_month = 3 * ((day.month - 1) // 3) + 1
        last_month = first_month + 2
        return (
            datetime.date(day.year, first_month, 1),
            datetime.date(day.year, last_month, calendar.monthrange(day.year, last_month)[1]),
        )
    return datetime.date(day.year, 1, 1), datetime.date(day.year, 12, 31)


def period_granularity(start: datetime.date | None, end: datetime.date | None) -> str:
    """How long the period ``start``..``end`` is: a single day, a calendar month, quarter, half or year, else other.

    Blank when the figure has no period. The one rule every writer uses (services, loader, migration).
    """
    if start is None or end is None:
        return ""
    if start == end:
        return PeriodGranularity.DAY
    if start.day != 1 or end.day != calendar.monthrange(end.year, end.month)[1] or start.year != end.year:
        return PeriodGranularity.OTHER
    months = end.month - start.month + 1
    if months == 1:
        return PeriodGranularity.MONTH
    if months == 3 and start.month % 3 == 1:
        return PeriodGranularity.QUARTER
    if months == 6 and start.month in (1, 7):
        return PeriodGranularity.HALF
    if months == 12:
        return PeriodGranularity.YEAR
    return PeriodGranularity.OTHER


def check_date_precision(field: str, day: datetime.date | None, precision: str) -> None:
    """A date with month, quarter or year precision is stored as the first day of that period."""
    if day is None:
        return
    first, _ = period_bounds(day, precision)
    if first != day:
        raise ValidationError(
            {
                field: f"With {precision} precision the date must be the period's first day ({first.isoformat()}), "
                f"not {day.isoformat()}."
            }
        )


def check_figure_numbers(
    *,
    as_reported: str,
    quote: str,
    value,
    value_high,
    unit: str,
    qualifier: str,
    status: str,
    note: str,
) -> None:
    """``as_reported`` must stand inside the quote and, unless an editor corrected the figure, parse to
    exactly the recorded value, top of range, unit and qualifier."""
    if not as_reported:
        raise ValidationError({"as_reported": "The figure's words as the article prints them are required."})
    if as_reported not in quote:
        raise ValidationError({"as_reported": f"{as_reported!r} does not occur in the figure's quote."})
    if status == ReviewStatus.CORRECTED:
        if not (note or "").strip():
            raise ValidationError({"note": "A corrected figure needs a note that says why the value was changed."})
        return
    try:
        parsed = parse_amount(as_reported)
    except NumberParseError as exc:
        raise ValidationError({"as_reported": f"Cannot read a number in {as_reported!r}: {exc}."}) from exc
    errors = {}
    if value is None or parsed.value != value:
        errors["value"] = f"{as_reported!r} reads as {parsed.value.normalize():f}, not {value}."
    if parsed.value_high != value_high:
        expected = "no upper bound" if parsed.value_high is None else f"{parsed.value_high.normalize():f}"
        errors["value_high"] = f"{as_reported!r} reads with {expected}, not {value_high}."
    if parsed.unit is not None and parsed.unit != unit:
        errors["unit"] = f"{as_reported!r} is in {parsed.unit}, not {unit}."
    if parsed.qualifier != qualifier:
        errors["qualifier"] = f"{as_reported!r} reads as {Qualifier(parsed.qualifier).label.lower()}, not {qualifier}."
    if errors:
        hint = " If the article itself is wrong, set the status to corrected and say why in the note."
        raise ValidationError({field: message + hint for field, message in errors.items()})
