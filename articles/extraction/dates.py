"""Date expressions in a sentence, resolved against the article's publication date, with honest precision.

"in the first quarter of 2019" is Q1 2019 (quarter precision); "in March" in an August 2019 article is
March 2019 and in a February 2019 one March 2018 (a month later than the publication is last year's);
"September 14" is a day; "last year" and "earlier this year" are years; "last Friday" is a day only when
the article is dated to the day, else the publication's month; "two years ago" is a year; "recently" is a
span from the month before publication to the publication's month.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

DAY, MONTH, QUARTER, YEAR = "day", "month", "quarter", "year"

MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sept", "sep"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
WEEKDAYS = {name: n for n, name in enumerate("monday tuesday wednesday thursday friday saturday sunday".split())}
ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4, "last": 4}
SMALL_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}
SMALL_NUMBERS.update({"ten": 10, "a": 1, "an": 1})

_MONTH = (
    r"(?P<month>January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan\.?|Feb\.?|Mar\.?|Apr\.?|Jun\.?|Jul\.?|Aug\.?|Sept?\.?|Oct\.?|Nov\.?|Dec\.?)"
)
_YEAR = r"(?P<year>(?:19|20)\d\d)(?!\d)"
_REL_YEAR = r"(?P<relyear>this year|last year|next year|the year|the previous year|the same year)"
_PART = (
    r"(?:(?P<part>late|early|mid|the end of|end of|the beginning of|beginning of|the start of|start of"
    r"|the middle of)[\s-]+)?"
)


@dataclass(frozen=True)
class DateMention:
    start: int  # offsets in the text
    end: int
    text: str
    date: date  # first day of the period
    precision: str  # day | month | quarter | year
    end_date: date | None  # first day of the last period, for a span
    label: str
    relative: bool  # resolved against the publication date (no year written)
    anchor: str = ""  # "publication" when the expression only says "now" / "recently"

    @property
    def period_start(self) -> date:
        return self.date

    @property
    def period_end(self) -> date:
        return period_last_day(self.end_date or self.date, self.precision)


def period_last_day(first: date, precision: str) -> date:
    if precision == DAY:
        return first
    if precision == MONTH:
        return first.replace(day=calendar.monthrange(first.year, first.month)[1])
    if precision == QUARTER:
        last_month = first.month + 2
        return date(first.year, last_month, calendar.monthrange(first.year, last_month)[1])
    return date(first.year, 12, 31)


def _month_label(d: date) -> str:
    return f"{calendar.month_name[d.month]} {d.year}"


def label_for(d: date, precision: str, end: date | None = None) -> str:
    if precision == DAY:
        text = f"{d.day} {calendar.month_name[d.month]} {d.year}"
    elif precision == MONTH:
        text = _month_label(d)
    elif precision == QUARTER:
        text = f"Q{(d.month - 1) // 3 + 1} {d.year}"
    else:
        text = str(d.year)
    if end and end != d and label_for(end, precision) != text:
        text += " to " + label_for(end, precision)
    return text


class Resolver:
    """Resolves what the text leaves out (the year, the month) against the publication date."""

    def __init__(self, published_on: date, precision: str = DAY):
        self.published_on = published_on
        self.precision = precision

    def year_of_month(self, month: int) -> int:
        """The year of a month named without one: the latest such month not after the publication."""
        pub = self.published_on
        if self.precision == YEAR:
            return pub.year
        return pub.year if month <= pub.month else pub.year - 1

    def relative_year(self, words: str) -> int:
        words = words.lower()
        if words.startswith("last") or words.startswith("the previous"):
            return self.published_on.year - 1
        if words.startswith("next"):
            return self.published_on.year + 1
        return self.published_on.year

    def publication(self) -> tuple[date, str]:
        """The publication date at the precision an undated "now" deserves: its month (its year if that is
        all that is known)."""
        pub = self.published_on
        if self.precision == YEAR:
            return date(pub.year, 1, 1), YEAR
        return date(pub.year, pub.month, 1), MONTH


_PATTERNS: list[tuple[str, re.Pattern]] = [
    # "the first quarter of 2019", "the third quarter of this year", "Q1 2019", "Q3"
    (
        "quarter",
        re.compile(
            r"\b(?:the\s+)?(?P<ord>first|second|third|fourth|1st|2nd|3rd|4th|last)\s+quarter"
            r"(?:\s+of)?(?:\s+(?:" + _YEAR + r"|" + _REL_YEAR + r"))?",
            re.I,
        ),
    ),
    ("quarter_q", re.compile(r"\bQ(?P<q>[1-4])(?:\s*(?:" + _YEAR + r"|'(?P<yy>\d\d)\b))?")),
    # "the first half of 2018", "H1 2018"
    (
        "half",
        re.compile(
            r"\b(?:the\s+)?(?P<ord>first|second|1st|2nd)\s+half(?:\s+of)?(?:\s+(?:" + _YEAR + r"|" + _REL_YEAR + r"))?",
            re.I,
        ),
    ),
    ("half_h", re.compile(r"\bH(?P<h>[12])\s*" + _YEAR)),
    # "September 14", "September 14, 2018", "on July 25"
    (
        "month_day",
        re.compile(
            r"\b" + _PART + _MONTH + r"\s+(?P<day>[0-3]?\d)(?:st|nd|rd|th)?(?![\d,.]\d)(?:,?\s+" + _YEAR + r")?"
        ),
    ),
    # "14 September 2018", "2 August"
    (
        "day_month",
        re.compile(r"\b(?P<day>[0-3]?\d)(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MONTH + r"\b(?:,?\s+" + _YEAR + r")?"),
    ),
    # "December 2017", "June of this year", "late May", "the end of July", "in April"
    (
        "month",
        re.compile(
            r"\b" + _PART + _MONTH + r"\b(?:(?:\s+of)?\s+(?:" + _YEAR + r"|" + _REL_YEAR + r"))?",
        ),
    ),
    # "earlier this year", "later this month", "last month", "this past Tuesday", "last Friday"
    (
        "relative",
        re.compile(
            r"\b(?P<mod>earlier|later|early|late|since|until)?\s*(?P<rel>this past|last|this|next|past)\s+"
            r"(?P<unit>year|month|week|monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b",
            re.I,
        ),
    ),
    ("weekday", re.compile(r"\b(?:on\s+)?(?P<weekday>Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b")),
    # "two years ago", "a few years ago", "three months ago"
    (
        "ago",
        re.compile(
            r"\b(?P<n>a few|a couple of|several|one|two|three|four|five|six|seven|eight|nine|ten|a|an|\d{1,2})\s+"
            r"(?P<unit>years?|months?|weeks?|days?)\s+ago\b",
            re.I,
        ),
    ),
    ("recent", re.compile(r"\b(?P<recent>recent|recently|lately)\b", re.I)),
    ("year", re.compile(r"(?<![\d$.,])" + _YEAR + r"(?!\s*(?:%|percent|million|billion|thousand))")),
    ("today", re.compile(r"\b(?P<today>today|yesterday|this morning|currently|now)\b", re.I)),
]

# "May" is a month only where a month is expected: after these words, in a list of months, or before a day or a
# year.
_MAY_LIST = re.compile(
    r"(?:(?:January|February|March|April|June|July|August|September|October|November|December),?\s+(?:and\s+)?May"
    r"|May,?\s+(?:and|or|to)?\s*(?:January|February|March|April|June|July|August|September|October|November|"
    r"December))"
)
_MAY_CONTEXT = re.compile(
    r"(?:\b(?:in|since|until|by|of|from|to|during|late|early|mid|end of|last|next|this)\s*)$", re.I
)


def find_dates(text: str, resolver: Resolver, offset: int = 0) -> list[DateMention]:
    """Every date expression in ``text`` (a sentence), earliest first, none overlapping another."""
    found: list[DateMention] = []
    taken: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in taken)

    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span()
            while start < end and text[start].isspace():
                start += 1
            if start >= end or not free(start, end):
                continue
            mention = _resolve(kind, match, text, resolver)
            if mention is None:
                continue
            date_, precision, end_date, relative, anchor = mention
            span_text = text[start:end].rstrip(" ,")
            end = start + len(span_text)
            found.append(
                DateMention(
                    start + offset,
                    end + offset,
                    span_text,
                    date_,
                    precision,
                    end_date,
                    label_for(date_, precision, end_date),
                    relative,
                    anchor,
                )
            )
            taken.append((start, end))
    found.sort(key=lambda m: m.start)
    return found


def _year(match: re.Match, resolver: Resolver, default: int | None = None) -> tuple[int | None, bool]:
    groups = match.groupdict()
    if groups.get("year"):
        return int(groups["year"]), False
    if groups.get("yy"):
        return 2000 + int(groups["yy"]), False
    if groups.get("relyear"):
        return resolver.relative_year(groups["relyear"]), True
    return default, True


def _resolve(kind: str, match: re.Match, text: str, resolver: Resolver):  # noqa: C901 - one branch per kind
    groups = match.groupdict()
    pub = resolver.published_on
    if kind in ("quarter", "quarter_q"):
        quarter = ORDINALS[groups["ord"].lower()] if kind == "quarter" else int(groups["q"])
        year, relative = _year(match, resolver)
        if year is None:
            year = pub.year if (quarter - 1) * 3 + 1 <= pub.month or resolver.precision == YEAR else pub.year - 1
        return date(year, (quarter - 1) * 3 + 1, 1), QUARTER, None, relative, ""
    if kind in ("half", "half_h"):
        half = (1 if groups["ord"].lower() in ("first", "1st") else 2) if kind == "half" else int(groups["h"])
        year, relative = _year(match, resolver, pub.year)
        if kind == "half" and not groups.get("year") and not groups.get("relyear"):
            return None  # "the first half" of what? Not a date by itself.
        first = date(year, 1 if half == 1 else 7, 1)
        return first, QUARTER, date(year, 4 if half == 1 else 10, 1), relative, ""
    if kind in ("month_day", "day_month", "month"):
        month_word = groups["month"].rstrip(".").lower()
        month = MONTHS[month_word]
        if month_word == "may" and kind == "month" and not groups.get("year") and not groups.get("relyear"):
            if not _MAY_CONTEXT.search(text[: match.start("month")]) and not _MAY_LIST.search(
                text[max(0, match.start("month") - 12) : match.end("month") + 14]
            ):
                return None
        if (
            kind == "month"
            and len(month_word) <= 4
            and month_word not in ("may", "june", "july")
            and not (groups.get("year") or groups.get("relyear"))
        ):
            return None  # "Mar", "Jan" alone are too often something else
        year, relative = _year(match, resolver)
        if year is None:
            year = resolver.year_of_month(month)
        if kind != "month":
            day = int(groups["day"])
            if not 1 <= day <= calendar.monthrange(year, month)[1]:
                return None
            return date(year, month, day), DAY, None, relative, ""
        return date(year, month, 1), MONTH, None, relative, ""
    if kind == "relative":
        unit = groups["unit"].lower()
        rel = groups["rel"].lower()
        if unit == "year":
            if rel == "past":
                return None
            return date(resolver.relative_year(rel), 1, 1), YEAR, None, True, ""
        if unit == "month":
            first = date(pub.year, pub.month, 1)
            if rel in ("last", "past", "this past"):
                first = (first - timedelta(days=1)).replace(day=1)
            elif rel == "next":
                first = (first + timedelta(days=32)).replace(day=1)
            if resolver.precision == YEAR:
                return date(pub.year, 1, 1), YEAR, None, True, ""
            return first, MONTH, None, True, ""
        if unit == "week":
            return (*resolver.publication(), None, True, "publication")
        return _weekday(WEEKDAYS[unit], resolver, before=rel in ("last", "past", "this past"))
    if kind == "weekday":
        return _weekday(WEEKDAYS[groups["weekday"].lower()], resolver, before=True)
    if kind == "ago":
        words = groups["n"].lower()
        unit = groups["unit"].lower().rstrip("s")
        if words in ("a few", "a couple of", "several"):
            low, high = (2, 5) if words != "a couple of" else (2, 3)
            if unit == "year":
                return date(pub.year - high, 1, 1), YEAR, date(pub.year - low, 1, 1), True, ""
            return (*resolver.publication(), None, True, "publication")
        n = int(words) if words.isdigit() else SMALL_NUMBERS.get(words, 1)
        if unit == "year":
            return date(pub.year - n, 1, 1), YEAR, None, True, ""
        if unit == "month" and resolver.precision != YEAR:
            month_index = pub.year * 12 + pub.month - 1 - n
            return date(month_index // 12, month_index % 12 + 1, 1), MONTH, None, True, ""
        return (*resolver.publication(), None, True, "publication")
    if kind == "recent":
        if resolver.precision == YEAR:
            return date(pub.year, 1, 1), YEAR, None, True, "publication"
        first = date(pub.year, pub.month, 1)
        before = (first - timedelta(days=1)).replace(day=1)
        return before, MONTH, first, True, "publication"
    if kind == "year":
        year = int(groups["year"])
        if year > pub.year + 1:
            return None
        return date(year, 1, 1), YEAR, None, False, ""
    if kind == "today":
        word = groups["today"].lower()
        if word in ("today", "this morning", "yesterday") and resolver.precision == DAY:
            return pub - timedelta(days=1 if word == "yesterday" else 0), DAY, None, True, "publication"
        return (*resolver.publication(), None, True, "publication")
    return None


def _weekday(weekday: int, resolver: Resolver, before: bool):
    """The latest such weekday before the publication (a day only when the article is dated to the day)."""
    pub = resolver.published_on
    if resolver.precision != DAY:
        return (*resolver.publication(), None, True, "publication")
    back = (pub.weekday() - weekday) % 7
    if back == 0 and before:
        back = 7
    return pub - timedelta(days=back), DAY, None, True, ""
