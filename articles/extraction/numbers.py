"""Find every number a text states that ``articles.numbers.parse_amount`` can read, with its verbatim span.

A candidate is the longest span a pattern allows (a qualifier, "between", "$", the number or a vague
magnitude, a scale, units, a range's second half); ``parse_amount`` has the last word, and a span it refuses
is shortened (range dropped, then units, then the qualifier) until it reads or nothing is left.

Rules, each tested in tests/test_extraction.py:
- years ("in 2018", "2019Bitmain"), days of a date ("September 14", "14 September"), dates and times in
  digits ("2023-05-01", "10:30"), quarters ("Q1") and numbers glued to letters ("S9", "3D", "A9") are not
  figures; "16nm" is one (a unit), and so is "US$5 million" (dollars);
- an amount in another currency ("€5 million", "5 million yuan") is not proposed: newsdb has no unit for it;
- "one" is a figure only with a qualifier ("at least one"): "one of the largest" is not a count;
- a number word after "the" ("the two countries") refers back, it does not state a count;
- "a third" / "a quarter" followed by a word other than "of" is an ordinal ("a third country");
- a fraction after an ordinal or "the" ("the first half") is a period, not a figure;
- "$ hundreds of millions of dollars": the "$" is kept in the span when ``parse_amount`` reads it;
- "X and Y" is two numbers; only "between X and Y" is a range.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..numbers import NumberParseError, ParsedNumber, parse_amount

_QUALIFIER = (
    r"(?:more than|over|above|at least|less than|fewer than|below|under|up to|about|around|approximately|"
    r"roughly|nearly|almost|close to|some)"
)
_NUMBER_WORD = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
    r"seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|hundred)"
)
_DIGITS = r"(?<![\w.,])\d+(?:[.,]\d+)*"
_SCALE = r"(?:thousand|million|billion|trillion)"
_UNIT = r"(?:%|(?:percent|per cent|of dollars|dollars?|usd|acres?|nm|days?|months?|years?|times)(?![a-z]))"
_VAGUE = r"(?:tens|hundreds|thousands)\s+of\s+(?:thousands|millions|billions|trillions)"
_FRACTION = r"(?:a half|half|a third|one third|two thirds|a quarter|one quarter|three quarters)"
_AMOUNT = (
    r"(?:\$\s?)?(?:" + _VAGUE + r"|(?:" + _DIGITS + r"|\b" + _NUMBER_WORD + r"\b)(?:\s?" + _SCALE + r"\b)?)"
    r"(?:\s?" + _UNIT + r")*(?:\s?-\s?" + _UNIT + r")?"
)
_CANDIDATE = re.compile(
    r"(?:\b" + _QUALIFIER + r"\s+)?(?:\bbetween\s+)?"
    r"(?:\b" + _FRACTION + r"\b|" + _AMOUNT + r"(?:\s?(?:-|–|—|\bto\b|\band\b)\s?" + _AMOUNT + r")?)",
    re.I,
)
_MONTH_NAMES = (
    "january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|"
    "jul|aug|sep|sept|oct|nov|dec"
)
_MONTH_BEFORE = re.compile(r"\b(?:" + _MONTH_NAMES + r")\.?\s*$", re.I)
_MONTH_AFTER = re.compile(r"^(?:st|nd|rd|th)?\s+(?:of\s+)?(?:" + _MONTH_NAMES + r")\b", re.I)
_YEAR = re.compile(r"(?:19|20)\d\d")


@dataclass(frozen=True)
class FoundNumber:
    start: int
    end: int
    text: str
    parsed: ParsedNumber


def _variants(span: str) -> list[str]:
    """The span, then shorter readings of it, longest first."""
    variants = [span]
    # Without the range's second half.
    for sep in (" and ", " to ", "-", "–", "—"):
        index = span.lower().rfind(sep)
        if index > 0:
            variants.append(span[:index].rstrip())
    # Without trailing unit words, one at a time.
    words = span.split()
    for cut in range(len(words) - 1, 0, -1):
        variants.append(" ".join(words[:cut]))
    # Without the leading "$ " that parse_amount does not need.
    if span.startswith("$ "):
        variants.append(span[2:])
    seen: list[str] = []
    for v in variants:
        v = v.strip(" -–—,")
        if v and v not in seen:
            seen.append(v)
    return seen


def _read(text: str, start: int, span: str) -> tuple[int, str, ParsedNumber] | None:
    for variant in _variants(span):
        if " and " in variant.lower() and not variant.lower().startswith("between"):
            continue  # "$3 million and $5 million" are two numbers; only "between X and Y" is a range
        try:
            parsed = parse_amount(variant)
        except (NumberParseError, ArithmeticError):
            continue
        return start, variant, parsed
    # "between" with one number only, or a qualifier before something else: drop the leading word and retry.
    words = span.split(" ", 1)
    if len(words) == 2 and words[0].lower() in ("between", "some", "under", "over", "about"):
        offset = len(words[0]) + 1
        return _read(text, start + offset, words[1])
    return None


def _rejected(text: str, start: int, end: int, span: str, parsed: ParsedNumber) -> bool:  # noqa: C901
    lower = span.lower()
    before = text[max(0, start - 30) : start]
    after = text[end : end + 30]
    core = re.sub(r"^(?:" + _QUALIFIER + r"\s+|between\s+)", "", lower)
    has_qualifier = core != lower
    # Glued to letters: "S9", "A9", "3D", "Q1", "2019Bitmain" (but "US$5 million" is dollars).
    if start > 0 and (text[start - 1].isalpha() or text[start - 1] in "_"):
        if not (span.startswith("$") and text[max(0, start - 2) : start] == "US"):
            return True
    # Another currency, which newsdb has no unit for: "€5 million", "5 million yuan".
    if re.search(r"[€£¥₹]\s?$|\b(?:RMB|HK\$|CNY|EUR|GBP|JPY)\s?$", before) or re.match(
        r"\s*(?:yuan|euros?|pounds|yen|rupees|renminbi|rmb)\b", after, re.I
    ):
        return True
    # Part of a date or a time written with digits: "2023-05-01", "5/1/2023", "10:30".
    around = text[max(0, start - 11) : end + 11]
    if re.search(r"\d{4}-\d{1,2}-\d{1,2}|\b\d{1,2}/\d{1,2}/\d{2,4}\b", around) and re.fullmatch(r"[\d-]+", core):
        return True
    if before[-1:] in (":", "/") or after[:1] in (":", "/"):
        return True
    if end < len(text) and text[end].isalpha() and span[-1].isdigit():
        return True
    if re.fullmatch(r"\d+", core):
        # A year, unless it is money or a unit.
        if _YEAR.fullmatch(core) and parsed.unit is None:
            return True
        if _MONTH_BEFORE.search(before) or _MONTH_AFTER.match(after):
            return True  # the day of a date
        if after[:1] == ":" or before[-1:] in ("#", "№"):
            return True
    if core == "one" and not has_qualifier:
        return True
    if re.fullmatch(_NUMBER_WORD, core) and re.search(r"\bthe\s+$", before, re.I) and not has_qualifier:
        return True
    if re.fullmatch(_FRACTION, core):
        if re.search(r"\b(?:first|second|third|fourth|last|the|this|next|past)\s+$", before, re.I):
            return True
        following = re.match(r"\s*([A-Za-z]+)", after)
        if core in ("a third", "a quarter", "one third", "one quarter") and following:
            if following.group(1).lower() not in ("of", "and", "or"):
                return True
        if core in ("half", "a half") and re.match(r"\s*(?:an?\s+)?(?:hour|day|week|month|year|decade|century)", after):
            return True
    if core in ("hundred",) and not has_qualifier:
        return True
    return False


def find_numbers(text: str) -> list[FoundNumber]:
    """Every readable number in ``text``, in order, none overlapping."""
    found: list[FoundNumber] = []
    pos = 0
    while True:
        match = _CANDIDATE.search(text, pos)
        if match is None:
            return found
        start = match.start()
        stripped = match.group().rstrip(" -–—")
        # Whatever a shorter reading leaves over is searched again ("$345 million and $280 million").
        pos = max(match.end(), start + 1)
        if not re.search(r"\d|" + _NUMBER_WORD + "|" + _FRACTION + "|tens|hundreds|thousands", stripped, re.I):
            continue
        result = _read(text, start, stripped)
        if result is None:
            continue
        start, variant, parsed = result
        end = start + len(variant)
        if text[start:end] != variant:
            continue
        pos = end
        if _rejected(text, start, end, variant, parsed):
            pos = max(end, match.start() + 1)
            continue
        found.append(FoundNumber(start, end, variant, parsed))
