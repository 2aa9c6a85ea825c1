"""Figures: each readable number with its sentence, metric, company and period.

Rules, each tested in tests/test_extraction.py:
- unit: what ``parse_amount`` reads; otherwise "people" when a word for people follows ("Four insiders"),
  else "units";
- metric: the unit decides for areas, durations, process nodes and "times"; otherwise the nearest metric
  word in the sentence ("net loss of $X", "$X in losses", "raise $X", "reserves ... amount to $X"), a
  percentage "rising/falling by" is a change, "accounts for X% of" a market share, "X% of" a share;
  a count of machines is a quantity;
- company: the nearest company named before the number in its sentence (a person counts as the company
  they belong to; media and research organisations are sources, not subjects; a name after "from", "to",
  "with", "than" is a counterparty); a number in a leading "As of two years ago," takes the main clause's
  subject; "the company", "its", "the ... maker" refer back to the last company named before; a financial
  metric with no company in its sentence belongs to the last company named before it; else none;
- period: the date right after the number ("$X in March"), else the nearest date before it in the sentence;
  "respectively" pairs N numbers with N dates in order (those of the sentence before for "these months");
  "$X each for January and February" is one figure per date;
- a headline's number that the body states again is proposed once, from the body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from ..choices import Metric, Unit
from . import FigureProposal
from .dates import DateMention, Resolver, find_dates
from .dictionary import Dictionary
from .mentions import _Match
from .numbers import FoundNumber, find_numbers
from .text import Sentence

SOURCE_KINDS = frozenset({"media", "research"})
FINANCIAL_METRICS = frozenset(
    {
        Metric.REVENUE,
        Metric.NET_PROFIT,
        Metric.NET_LOSS,
        Metric.GROSS_MARGIN,
        Metric.PREPAYMENT,
        Metric.RESERVES,
        Metric.VALUATION,
        Metric.FUNDING_RAISED,
        Metric.COST,
    }
)
PEOPLE_WORDS = re.compile(
    r"^\W*(?:\w+\W+){0,2}?(?:people|persons|insiders|employees|workers|staff|entrepreneurs|investors|analysts|"
    r"executives|engineers|sources|members|users|customers|miners|founders|billionaires|officials|individuals)\b",
    re.I,
)
MACHINE_WORDS = re.compile(
    r"^\W*(?:\w+\W+){0,2}?(?:machines|miners|rigs|units|devices|chips|servers|computers|asics|items|orders)\b", re.I
)

# (pattern, metric, keyword shown in the reason). Patterns are searched in the sentence; the nearest wins.
METRIC_WORDS: list[tuple[re.Pattern, str]] = [
    (re.compile(r"\bnet\s+(?:loss|losses)\b", re.I), Metric.NET_LOSS),
    (re.compile(r"\bnet\s+(?:profit|income|earnings)\b", re.I), Metric.NET_PROFIT),
    (re.compile(r"\b(?:loss|losses|lost|lose|loses|losing)\b", re.I), Metric.NET_LOSS),
    (re.compile(r"\b(?:profit|profits|earned|earnings)\b", re.I), Metric.NET_PROFIT),
    (re.compile(r"\b(?:revenue|revenues|turnover|sales)\b", re.I), Metric.REVENUE),
    (re.compile(r"\bgross\s+margins?\b|\bmargins?\b", re.I), Metric.GROSS_MARGIN),
    (re.compile(r"\bmarket\s+share\b|\baccount(?:s|ed|ing)?\s+for\b", re.I), Metric.MARKET_SHARE),
    (re.compile(r"\b(?:raised|raise|raises|raising|funding|fundraising)\b", re.I), Metric.FUNDING_RAISED),
    (re.compile(r"\b(?:prepayments?|prepaid|advance\s+payments?)\b", re.I), Metric.PREPAYMENT),
    (re.compile(r"\breserves?\b", re.I), Metric.RESERVES),
    (re.compile(r"\b(?:valuation|valued|capitali[sz]ation|market\s+cap|worth)\b", re.I), Metric.VALUATION),
    (re.compile(r"\b(?:invested|invests?|investments?)\b", re.I), Metric.INVESTMENT),
    (re.compile(r"\b(?:costs?|spent|spending|spend|expenses?)\b", re.I), Metric.COST),
    (re.compile(r"\b(?:prices?|priced|peak)\b", re.I), Metric.PRICE),
    (re.compile(r"\b(?:stake|shares|holds|owns)\b", re.I), Metric.SHARE),
]
CHANGE_WORDS = re.compile(
    r"\b(?:rise|rises|rose|risen|rising|fall|falls|fell|fallen|falling|drop|drops|dropped|slip|slips|slipped|"
    r"jump|jumped|surge|surged|plunge|plunged|decline|declined|grow|grew|increase|increased|decrease|decreased|"
    r"gain|gained|climb|climbed|sank|tumbled)\b",
    re.I,
)
PRICE_CONTEXT = re.compile(r"\b(?:price|value|token|bitcoin|coin|shares?|stock)\b", re.I)
ANAPHORA = re.compile(
    r"\b(?:the\s+(?:company|firm|group|maker|manufacturer|miner|startup|start-up|business|dealer)|its|the\s+[\w-]+"
    r"(?:\s+[\w-]+)?\s+(?:company|maker|manufacturer|firm|giant))\b",
    re.I,
)
COUNTERPARTY_BEFORE = re.compile(r"\b(?:from|to|with|than|like|against|versus|vs\.?)\s+(?:the\s+)?$", re.I)


@dataclass
class Context:
    text: str
    sentences: list[Sentence]
    known: list[_Match]  # exact matches, text order
    dictionary: Dictionary
    resolver: Resolver
    _dates: dict[int, list[DateMention]] = field(default_factory=dict)
    _index: dict[int, int] = field(default_factory=dict)

    def dates(self, sentence: Sentence) -> list[DateMention]:
        """The sentence's date expressions (read once, for the figures and the events)."""
        if sentence.start not in self._dates:
            self._dates[sentence.start] = find_dates(sentence.text, self.resolver, sentence.start)
        return self._dates[sentence.start]

    def index(self, sentence: Sentence) -> int:
        if not self._index:
            self._index = {s.start: i for i, s in enumerate(self.sentences)}
        return self._index[sentence.start]


def _company_of(match: _Match, dictionary: Dictionary) -> str | None:
    """The company a mention stands for (a person: their affiliation), unless it is a source."""
    entry = match.entry
    if match.nested:
        return None
    slug = entry.slug if entry.kind == "company" else entry.affiliation
    if not slug or dictionary.company_kind(slug) in SOURCE_KINDS:
        return None
    return slug


def _last_company_before(ctx: Context, position: int, lookback: int) -> str | None:
    for match in reversed(ctx.known):
        if match.end > position:
            continue
        if match.start < lookback:
            return None
        slug = _company_of(match, ctx.dictionary)
        if slug:
            return slug
    return None


def choose_company(ctx: Context, sentence: Sentence, number: FoundNumber, metric: str) -> tuple[str | None, str]:
    text = ctx.text
    in_sentence = [m for m in ctx.known if sentence.start <= m.start and m.end <= sentence.end]
    before = [m for m in in_sentence if m.end <= number.start]
    for match in reversed(before):
        slug = _company_of(match, ctx.dictionary)
        if slug and not COUNTERPARTY_BEFORE.search(text[max(sentence.start, match.start - 20) : match.start]):
            who = text[match.start : match.end]
            return slug, f'"{who}" is named before it in the sentence'
    head = text[sentence.start : number.start]
    first_comma = text.find(",", number.end, sentence.end)
    if "," not in head and first_comma != -1 and number.start - sentence.start < 40:
        # A leading adverbial ("As of two years ago, ..."): the main clause's subject.
        main = [m for m in in_sentence if m.start > first_comma]
        if main:
            slug = _company_of(main[0], ctx.dictionary)
            if slug:
                return slug, "the subject of the sentence's main clause"
        clause = text[first_comma : sentence.end]
        if ANAPHORA.search(clause[:40]):
            slug = _last_company_before(ctx, sentence.start, _lookback(ctx, sentence))
            if slug:
                return slug, '"the company" refers back to the last company named'
    if ANAPHORA.search(head):
        slug = _last_company_before(ctx, sentence.start, _lookback(ctx, sentence))
        if slug:
            return slug, f'"{ANAPHORA.search(head).group()}" refers back to the last company named'
    if metric in FINANCIAL_METRICS and not [m for m in in_sentence if _company_of(m, ctx.dictionary)]:
        slug = _last_company_before(ctx, sentence.start, _lookback(ctx, sentence))
        if slug:
            return slug, "a financial figure with no company in its sentence: the last company named"
    return None, "no company is its subject"


def _lookback(ctx: Context, sentence: Sentence) -> int:
    """How far back a reference may reach: five sentences."""
    return ctx.sentences[max(0, ctx.index(sentence) - 5)].start


def choose_unit(text: str, number: FoundNumber) -> tuple[str, str]:
    if number.parsed.unit:
        return number.parsed.unit, ""
    after = text[number.end : number.end + 60]
    if PEOPLE_WORDS.match(after):
        return Unit.PEOPLE, "people"
    return Unit.UNITS, "machines" if MACHINE_WORDS.match(after) else ""


def choose_metric(sentence: Sentence, number: FoundNumber, unit: str, unit_word: str) -> tuple[str, str]:
    text = sentence.text
    start, end = number.start - sentence.start, number.end - sentence.start
    if unit == Unit.ACRES:
        return Metric.AREA, "an area"
    if unit in (Unit.DAYS, Unit.MONTHS, Unit.YEARS, Unit.NANOMETERS):
        return Metric.OTHER, "a duration" if unit != Unit.NANOMETERS else "a process node"
    if unit == Unit.TIMES:
        return Metric.COUNT, "a number of times"
    if unit == Unit.PERCENT:
        window = text[max(0, start - 40) : start]
        if CHANGE_WORDS.search(window) or re.search(r"\b(?:down|up)\s+(?:by\s+)?$", window, re.I):
            if not CHANGE_WORDS.search(window):
                return Metric.OTHER, f'a change ("{re.search(r"(?:down|up)", window, re.I).group()}")'
            if PRICE_CONTEXT.search(text[:start]):
                return Metric.PRICE_CHANGE, f'"{CHANGE_WORDS.search(window).group()}" a price or value by it'
            return Metric.OTHER, f'a change ("{CHANGE_WORDS.search(window).group()}")'
    best: tuple[float, str, str] | None = None
    for pattern, metric in METRIC_WORDS:
        for match in pattern.finditer(text):
            if match.end() <= start:
                distance = start - match.end()
            elif match.start() >= end:
                distance = (match.start() - end) * 1.5 + 5
            else:
                continue
            if best is None or distance < best[0]:
                best = (distance, metric, match.group())
    if best and best[0] <= 90:
        metric, word = best[1], best[2]
        if unit == Unit.PERCENT and metric not in (Metric.MARKET_SHARE, Metric.GROSS_MARGIN, Metric.SHARE):
            if re.match(r"\s*of\b", text[end:]):
                return Metric.SHARE, 'a percentage "of" something'
        if unit in (Unit.UNITS, Unit.PEOPLE) and metric in FINANCIAL_METRICS | {Metric.PRICE, Metric.INVESTMENT}:
            pass  # a count near a money word: the count rules below decide
        else:
            return metric, f'"{word}" near it'
    if unit == Unit.PERCENT:
        if re.match(r"\s*of\b", text[end:]):
            return Metric.SHARE, 'a percentage "of" something'
        return Metric.OTHER, "a percentage"
    if unit == Unit.PEOPLE:
        return Metric.COUNT, "a number of people"
    if unit == Unit.UNITS:
        if unit_word == "machines":
            return Metric.QUANTITY, "a number of machines"
        return Metric.COUNT, "a count"
    if unit == Unit.USD and re.search(r"\b(?:below|above|under|over)\b", text[max(0, start - 30) : end], re.I):
        if PRICE_CONTEXT.search(text):
            return Metric.PRICE, "a level of a price or value"
    return Metric.OTHER, "no metric word near it"


def _after_date(
    sentence: Sentence, dates: list[DateMention], number: FoundNumber, next_start: int
) -> DateMention | None:
    for mention in dates:
        if mention.start < number.end or mention.start >= next_start:
            continue
        gap = sentence.text[number.end - sentence.start : mention.start - sentence.start]
        if len(gap) <= 45 and "," not in gap and ";" not in gap:
            return mention
        return None
    return None


def _is_headline(sentence: Sentence, index: int) -> bool:
    return index == 0 and sentence.text[-1:] not in ".!?\"”'’" and len(sentence.text) < 200


def extract_figures(ctx: Context) -> list[FigureProposal]:
    proposals: list[FigureProposal] = []
    text = ctx.text
    headline_values: list[tuple[FoundNumber, Sentence]] = []
    body_values: set[tuple] = set()
    previous_dates: list[DateMention] = []
    for index, sentence in enumerate(ctx.sentences):
        numbers = [n for n in find_numbers(sentence.text)]
        numbers = [FoundNumber(n.start + sentence.start, n.end + sentence.start, n.text, n.parsed) for n in numbers]
        dates = ctx.dates(sentence)
        if _is_headline(sentence, index):
            headline_values.extend((n, sentence) for n in numbers)
            previous_dates = dates
            continue
        periods = _assign_periods(sentence, numbers, dates, previous_dates)
        for position, number in enumerate(numbers):
            for period in periods[position]:
                proposal = _proposal(ctx, sentence, number, period)
                proposals.append(proposal)
                body_values.add((number.parsed.value, number.parsed.value_high, proposal.unit))
        previous_dates = dates
    for number, sentence in headline_values:
        unit, _ = choose_unit(text, number)
        if (number.parsed.value, number.parsed.value_high, unit) in body_values:
            continue
        proposals.append(_proposal(ctx, sentence, number, None, headline=True))
    proposals.sort(key=lambda p: (p.start, p.period_start or date.min))
    return proposals


def _assign_periods(
    sentence: Sentence, numbers: list[FoundNumber], dates: list[DateMention], previous_dates: list[DateMention]
) -> list[list[DateMention | None]]:
    periods: list[list[DateMention | None]] = [[None] for _ in numbers]
    if not numbers:
        return periods
    text = sentence.text
    calendar_dates = [d for d in dates if d.anchor != "publication"]
    used: set[int] = set()
    # "respectively": N numbers, N dates, in order.
    if re.search(r"\brespectively\b", text, re.I):
        after_last = [d for d in calendar_dates if d.start > numbers[0].start]
        pool = after_last if len(after_last) == len(numbers) else None
        if pool is None and len(numbers) > 1:
            earlier = [d for d in previous_dates if d.anchor != "publication" and d.precision in ("month", "quarter")]
            if len(earlier) >= len(numbers):
                pool = earlier[-len(numbers) :]
        if pool and len(pool) == len(numbers):
            return [[d] for d in pool]
    for position, number in enumerate(numbers):
        next_start = numbers[position + 1].start if position + 1 < len(numbers) else sentence.end
        tail = text[number.end - sentence.start : next_start - sentence.start]
        each = re.match(r"\s+each\s+(?:for|in|of)\s+", tail, re.I)
        if each:
            group = [d for d in calendar_dates if number.end < d.start < next_start]
            if len(group) >= 2:
                periods[position] = list(group)
                used.update(id(d) for d in group)
                continue
        after = _after_date(sentence, calendar_dates, number, next_start)
        if after is not None:
            periods[position] = [after]
            used.add(id(after))
    for position, number in enumerate(numbers):
        if periods[position] != [None]:
            continue
        before = [d for d in dates if d.end <= number.start and id(d) not in used]
        stated = [d for d in before if d.anchor != "publication"]
        if stated or before:
            periods[position] = [(stated or before)[-1]]
        else:
            after = [d for d in dates if d.start >= number.end and id(d) not in used]
            if after and after[0].anchor == "publication":
                periods[position] = [after[0]]
    return periods


def _proposal(
    ctx: Context, sentence: Sentence, number: FoundNumber, period: DateMention | None, headline: bool = False
) -> FigureProposal:
    unit, unit_word = choose_unit(ctx.text, number)
    metric, metric_reason = choose_metric(sentence, number, unit, unit_word)
    company, company_reason = choose_company(ctx, sentence, number, metric)
    confidence = 0.5
    reasons = [
        f'"{number.text}" reads as {number.parsed.value.normalize():f}'
        + (f"-{number.parsed.value_high.normalize():f}" if number.parsed.value_high is not None else "")
        + f" {unit}"
    ]
    if metric != Metric.OTHER:
        confidence += 0.15
    reasons.append(f"metric {metric}: {metric_reason}")
    if company:
        confidence += 0.1
    reasons.append(f"company {company or 'none'}: {company_reason}")
    if period is not None:
        confidence += 0.1
        reasons.append(f'period {period.label}: "{period.text}"')
    if headline:
        confidence -= 0.2
        reasons.append("in the headline only")
    label = period.label if period else ""
    subject = "" if company else " ".join(p for p in (label, metric.replace("_", " ")) if p and p != "other")
    return FigureProposal(
        as_reported=number.text,
        start=number.start,
        end=number.end,
        value=number.parsed.value,
        value_high=number.parsed.value_high,
        unit=unit,
        qualifier=number.parsed.qualifier,
        metric=metric,
        company=company,
        subject=subject,
        period_start=period.period_start if period else None,
        period_end=period.period_end if period else None,
        period_label=label,
        quote=sentence.text,
        quote_start=sentence.start,
        quote_end=sentence.end,
        confidence=round(min(confidence, 0.95), 2),
        reason="; ".join(reasons),
    )
