"""Propose mentions, figures and events from an article's text (the interface; see issue 8).

The extraction is pure Python and offline: it reads no database rows itself (the caller passes a
``Dictionary``, built once with ``Dictionary.from_database()``), writes nothing and downloads nothing.
Every value uses the model's choices (``articles.choices``). Every proposal carries the offsets of its
words in the text, a ``confidence`` in [0, 1] and the ``reason`` it was proposed, for the review desk.

    from articles.extraction import Dictionary, extract
    result = extract(body, published_on=date(2019, 5, 6), dictionary=Dictionary.from_database())
    result.to_json()   # {"mentions": [...], "figures": [...], "events": [...]}, JSON-friendly

Offsets are Python string indices into ``text`` (``text[start:end] == name``), the same convention as
``Quoted.quote_start``/``quote_end``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

# Mention kinds.
COMPANY = "company"
PERSON = "person"
NEW_COMPANY = "new_company"


@dataclass(frozen=True)
class MentionProposal:
    kind: str  # "company" | "person" | "new_company"
    slug: str | None  # None for a new company
    name: str  # the words as found in the text, verbatim
    start: int
    end: int
    confidence: float
    reason: str
    probable: bool = False  # a fuzzy near miss ("Bitmian" -> probably bitmain)


@dataclass(frozen=True)
class FigureProposal:
    as_reported: str  # verbatim: text[start:end] == as_reported, and parse_amount(as_reported) gives the value
    start: int
    end: int
    value: Decimal
    value_high: Decimal | None
    unit: str  # articles.choices.Unit
    qualifier: str  # articles.choices.Qualifier
    metric: str  # articles.choices.Metric
    company: str | None  # company slug, or None when the number is about something else
    subject: str  # what the number is about when not a company's (e.g. "Bitcoin price"); may be ""
    period_start: date | None
    period_end: date | None
    period_label: str  # e.g. "Q1 2019", "March 2019", "H1 2018", "2018"; "" when none
    quote: str  # the sentence, verbatim: text[quote_start:quote_end] == quote
    quote_start: int
    quote_end: int
    confidence: float
    reason: str


@dataclass(frozen=True)
class ParticipantProposal:
    kind: str  # "company" | "person"
    slug: str
    role: str  # articles.choices.ParticipantRole


@dataclass(frozen=True)
class EventProposal:
    date: date  # first day of the period for month/quarter/year precision
    date_precision: str  # articles.choices.DatePrecision
    end_date: date | None
    type: str  # articles.choices.EventType
    title: str
    quote: str
    quote_start: int
    quote_end: int
    participants: list[ParticipantProposal]
    confidence: float
    reason: str


@dataclass(frozen=True)
class Extraction:
    mentions: list[MentionProposal] = field(default_factory=list)
    figures: list[FigureProposal] = field(default_factory=list)
    events: list[EventProposal] = field(default_factory=list)

    def to_json(self) -> dict:
        """Plain dicts, lists, strings and numbers (Decimals as strings, dates as ISO strings)."""
        from .serialize import extraction_to_json

        return extraction_to_json(self)


from .dictionary import Dictionary  # noqa: E402
from .pipeline import extract  # noqa: E402

__all__ = [
    "COMPANY",
    "NEW_COMPANY",
    "PERSON",
    "Dictionary",
    "EventProposal",
    "Extraction",
    "FigureProposal",
    "MentionProposal",
    "ParticipantProposal",
    "extract",
]
