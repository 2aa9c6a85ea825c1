"""Ingest: a new article from its text, with the mentions, events and figures the extraction proposes.

``article_ingest`` is the one service behind the three ways in (``manage.py ingest_article``, the admin's "Add an
article from its text" page and ``POST /api/articles/ingest/``). It

1. checks everything it was given before writing anything (``IngestInput``): the text is UTF-8 text (not binary,
   not empty, at most ``MAX_TEXT_BYTES``), the date reads as a date of the precision, the publisher is a known
   company, the url is a url. Every problem is a ``ValidationError`` keyed by the field, and nothing is written;
2. recognises a text it has seen: the SHA-256 of the normalised text (Unicode NFC, every run of whitespace one
   space) is stored with the article (``Ingestion``); the same text again returns the existing article, untouched.
   So does the text of an article that came in another way (the curated fixtures, the admin), found among the
   articles of the same date, title or url (``article_of_text``);
3. runs the extraction (``articles.extraction.extract``) on the body as it will be stored;
4. writes, in one transaction: the article through ``article_save`` (mentioning every company and person the text
   names for certain), then each proposed figure and event through ``figure_save`` / ``event_save`` with the status
   ``proposed`` (validated like any write: its quote is in the body, its words read as its value); a proposal that
   fails that validation is left out and named in the result. Near misses ("Bitmian": probably Bitmain) and new
   organisation names are kept on the ``Ingestion`` for the review desk, with each proposal's confidence and reason.

Proposals are not facts: they stay hidden from every public read until an editor accepts them
(``services.proposals``). With ``dry_run`` everything is done and then rolled back.
"""

from __future__ import annotations

import datetime
import hashlib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.text import slugify

from .. import provenance
from ..choices import ARTICLE_DATE_PRECISIONS, EventStatus, Metric, ReviewStatus
from ..extraction import NEW_COMPANY, Dictionary, Extraction, extract
from ..models import Article, Company, Event, Figure, Ingestion, MergedCompany, Person
from .articles import article_save
from .events import event_save
from .figures import figure_save

MAX_TEXT_BYTES = 1024 * 1024  # a long news article is ~100 kB; anything near this is not one article
SOURCES = ("command", "admin", "api")
INGEST_REASON = "Ingested from its text"


class IngestError(ValidationError):
    """What was sent cannot be ingested; nothing was written. ``message_dict`` names each field."""


@dataclass
class IngestInput:
    """What ``article_ingest`` was given, checked and normalised (see ``ingest_input``)."""

    body: str
    title: str
    published_on: datetime.date
    precision: str
    publisher: Company | None
    url: str
    language: str


@dataclass
class IngestResult:
    """What an ingest did: the article (new, or the one this text was already ingested as) and its proposals."""

    article: Article
    created: bool
    dry_run: bool
    extraction: Extraction | None = None
    figures: list[tuple[Figure, float, str]] = field(default_factory=list)  # (proposal, confidence, reason)
    events: list[tuple[Event, float, str, list[dict[str, str]]]] = field(default_factory=list)  # + participants
    mentions: dict[str, Any] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # proposals the write path refused, and why

    def to_json(self) -> dict[str, Any]:
        """The proposals as ``ingest_article --json`` and the API print them."""
        return {
            "article": self.article.slug,
            "created": self.created,
            "dry_run": self.dry_run,
            "mentions": self.mentions,
            "figures": [
                {
                    "id": None if self.dry_run else figure.pk,
                    "key": figure.key,
                    "as_reported": figure.as_reported,
                    "value": _number(figure.value),
                    "value_high": _number(figure.value_high),
                    "unit": figure.unit,
                    "qualifier": figure.qualifier,
                    "metric": figure.metric,
                    "company": figure.company.slug if figure.company_id else None,
                    "subject": figure.subject,
                    "period_start": _day(figure.period_start),
                    "period_end": _day(figure.period_end),
                    "period_label": figure.period_label,
                    "quote": figure.quote,
                    "quote_start": figure.quote_start,
                    "quote_end": figure.quote_end,
                    "status": figure.status,
                    "confidence": confidence,
                    "reason": reason,
                }
                for figure, confidence, reason in self.figures
            ],
            "events": [
                {
                    "id": None if self.dry_run else event.pk,
                    "key": event.key,
                    "date": _day(event.date),
                    "date_precision": event.date_precision,
                    "end_date": _day(event.end_date),
                    "type": event.type,
                    "title": event.title,
                    "quote": event.quote,
                    "quote_start": event.quote_start,
                    "quote_end": event.quote_end,
                    "participants": participants,
                    "status": event.status,
                    "confidence": confidence,
                    "reason": reason,
                }
                for event, confidence, reason, participants in self.events
            ],
            "skipped": self.skipped,
        }


def _number(value: Any) -> str | None:
    if value is None:
        return None
    text = format(value.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _day(value: datetime.date | None) -> str | None:
    return value.isoformat() if value else None


def text_fingerprint(text: str) -> str:
    """The SHA-256 of a text with what does not change the article normalised away: Unicode composition (NFC),
    line endings, and runs of whitespace (each one space; none at either end)."""
    words = " ".join(unicodedata.normalize("NFC", text).split())
    return hashlib.sha256(words.encode("utf-8")).hexdigest()


def text_read(raw: bytes | str, *, name: str = "text") -> str:
    """The text of ``raw``: UTF-8 (a leading BOM is allowed), not binary, not empty, at most ``MAX_TEXT_BYTES``."""
    size = len(raw.encode("utf-8")) if isinstance(raw, str) else len(raw)
    if size > MAX_TEXT_BYTES:
        limit = MAX_TEXT_BYTES // 1024
        raise IngestError({name: f"The text is {size / 1024 / 1024:.1f} MB; an article's text is at most {limit} kB."})
    if isinstance(raw, bytes):
        if b"\x00" in raw:
            raise IngestError({name: "This is binary data (it contains NUL bytes), not an article's text."})
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise IngestError(
                {name: f"This is not UTF-8 text (byte 0x{raw[exc.start]:02x} at position {exc.start})."}
            ) from exc
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        raise IngestError({name: "This is binary data (it contains NUL characters), not an article's text."})
    controls = sum(1 for char in text if unicodedata.category(char) == "Cc" and char not in "\n\t")
    if controls:
        raise IngestError(
            {name: f"The text contains {controls} control character(s); it looks like binary data, not an article."}
        )
    text = text.strip()
    if not text:
        raise IngestError({name: "The text is empty."})
    return text


def _date(value: Any, precision: str) -> datetime.date:
    if isinstance(value, datetime.datetime):
        value = value.date()
    if not isinstance(value, datetime.date):
        text = str(value or "").strip()
        try:
            value = datetime.date.fromisoformat(text)
        except ValueError:
            shown = text[:40] or "nothing"
            raise IngestError(
                {"published_on": f"Cannot read {shown!r} as a date: give it as YYYY-MM-DD (e.g. 2019-08-01)."}
            ) from None
    # A month or year precision stands for the whole period: stored as its first day.
    return provenance.period_bounds(value, precision)[0]


def _publisher(slug: Any) -> Company | None:
    if slug in (None, ""):
        return None
    if isinstance(slug, Company):
        return slug
    slug = str(slug).strip()
    company = Company.objects.filter(slug=slug).first()
    if company is None:
        merged = MergedCompany.objects.select_related("into").filter(slug=slug).first()
        company = merged.into if merged else None
    if company is None:
        raise IngestError({"publisher": f"No company has the slug {slug[:100]!r}: give a company's slug, or none."})
    return company


def ingest_input(
    *,
    text: bytes | str,
    title: str = "",
    published_on: Any,
    precision: str = "day",
    publisher: Any = None,
    url: str = "",
    language: str = "en",
) -> IngestInput:
    """Check and normalise what ``article_ingest`` is given; raises ``IngestError`` naming every bad field."""
    errors: dict[str, list[str]] = {}

    def attempt(function, *args):
        try:
            return function(*args)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                errors.setdefault(name, []).extend(messages)
            return None

    body = attempt(text_read, text)
    precision = (precision or "day").strip().lower()
    if precision not in ARTICLE_DATE_PRECISIONS:
        errors["precision"] = [f"{precision[:20]!r} is not a precision: use day, month or year."]
        day = None
    else:
        day = attempt(_date, published_on, precision)
    company = attempt(_publisher, publisher)
    url = (url or "").strip()
    if url:
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError:
            errors["url"] = [f"{url[:100]!r} is not a web address (http:// or https://)."]
        if len(url) > Article._meta.get_field("url").max_length:
            errors["url"] = ["The web address is longer than 500 characters."]
    language = (language or "en").strip() or "en"
    if len(language) > 8 or not language.replace("-", "").isalnum():
        errors["language"] = [f"{language[:20]!r} is not a language code such as en or zh-CN."]
    title = " ".join((title or "").split())
    if body and not title:
        title = default_title(body)
    if len(title) > 300:
        title = title[:299].rstrip() + "…"
    if errors:
        raise IngestError(errors)
    return IngestInput(body, title, day, precision, company, url, language)


TITLE_LENGTH = 150
SLUG_LENGTH = 80


def default_title(body: str) -> str:
    """The headline a text starts with: its first line, or that line's first sentence when the line runs on (a
    capture without line breaks), cut at a word near ``TITLE_LENGTH`` characters."""
    title = " ".join(next(line for line in body.split("\n") if line.strip()).split())
    if len(title) > TITLE_LENGTH:
        title = re.split(r"(?<=[.!?])\s", title, maxsplit=1)[0]
    if len(title) > TITLE_LENGTH:
        title = title[:TITLE_LENGTH].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return title


def _slug(title: str) -> str:
    base = slugify(title)
    if len(base) > SLUG_LENGTH:
        base = base[:SLUG_LENGTH].rsplit("-", 1)[0]
    base = base.strip("-") or "article"
    taken = set(Article.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def article_ingest(
    *,
    text: bytes | str,
    published_on: Any,
    precision: str = "day",
    title: str = "",
    publisher: Any = None,
    url: str = "",
    language: str = "en",
    user: Any = None,
    source: str = "command",
    dry_run: bool = False,
    dictionary: Dictionary | None = None,
) -> IngestResult:
    """Create an article from its text with its mentions and proposals (see the module docstring).

    Raises ``IngestError`` (a ``ValidationError`` keyed by field: ``text``, ``published_on``, ``precision``,
    ``publisher``, ``url``, ``language``) and writes nothing when the input is bad. Returns the existing article,
    with ``created=False``, when the same text was ingested before.
    """
    given = ingest_input(
        text=text,
        title=title,
        published_on=published_on,
        precision=precision,
        publisher=publisher,
        url=url,
        language=language,
    )
    fingerprint = text_fingerprint(given.body)
    existing = article_of_text(given, fingerprint)
    if existing is not None:
        return IngestResult(article=existing, created=False, dry_run=dry_run, mentions={"duplicate": True})
    dictionary = dictionary if dictionary is not None else Dictionary.from_database()
    extraction = extract(
        given.body,
        published_on=given.published_on,
        precision=given.precision,
        language=given.language,
        dictionary=dictionary,
    )
    try:
        with transaction.atomic():
            result = _write(given, fingerprint, extraction, user=user, source=source, dry_run=dry_run)
            if dry_run:
                transaction.set_rollback(True)
    except IntegrityError:
        # The same text sent twice at once: the other request stored it first.
        existing = Ingestion.objects.select_related("article").filter(text_sha256=fingerprint).first()
        if existing is None:
            raise
        return IngestResult(article=existing.article, created=False, dry_run=dry_run, mentions={"duplicate": True})
    return result


#: At most this many stored articles are compared word for word with a new text (see ``article_of_text``).
SAME_TEXT_CANDIDATES = 200


def article_of_text(given: IngestInput, fingerprint: str) -> Article | None:
    """The stored article whose text this is, if any: one ingested with the same fingerprint, or one that came in
    another way (``load_fixtures``, the admin, the API) with the same text, looked for among the articles of the
    same publication date, title or url (each compared by its fingerprint: the whitespace may differ)."""
    ingested = Ingestion.objects.select_related("article").filter(text_sha256=fingerprint).first()
    if ingested is not None:
        return ingested.article
    same = Q(published_on=given.published_on) | Q(title=given.title)
    if given.url:
        same |= Q(url=given.url)
    candidates = Article.objects.filter(same).order_by("pk").only("pk", "body")[:SAME_TEXT_CANDIDATES]
    for article in candidates:
        if text_fingerprint(article.body) == fingerprint:
            return Article.objects.get(pk=article.pk)
    return None


def _write(
    given: IngestInput, fingerprint: str, extraction: Extraction, *, user: Any, source: str, dry_run: bool
) -> IngestResult:
    reason = f"{INGEST_REASON} ({source})"
    sure = [m for m in extraction.mentions if not m.probable and m.kind != NEW_COMPANY]
    company_slugs = sorted({m.slug for m in sure if m.kind == "company"})
    person_slugs = sorted({m.slug for m in sure if m.kind == "person"})
    companies = Company.objects.in_bulk(company_slugs, field_name="slug")
    people = Person.objects.in_bulk(person_slugs, field_name="slug")
    article = article_save(
        data={
            "slug": _slug(given.title),
            "title": given.title,
            "publisher": given.publisher,
            "published_on": given.published_on,
            "published_precision": given.precision,
            "url": given.url,
            "language": given.language,
            "body": given.body,
            "companies": list(companies.values()),
            "people": list(people.values()),
        },
        user=user,
        reason=reason,
    )
    result = IngestResult(article=article, created=True, dry_run=dry_run, extraction=extraction)
    proposals: dict[str, dict[str, Any]] = {}
    named = Company.objects.in_bulk({p.company for p in extraction.figures if p.company}, field_name="slug")
    for proposal in extraction.figures:
        company = named.get(proposal.company) if proposal.company else None
        data = {
            "article": article,
            "company": company,
            "subject": proposal.subject or ("" if company else Metric(proposal.metric).label),
            "metric": proposal.metric,
            "as_reported": proposal.as_reported,
            "value": proposal.value,
            "value_high": proposal.value_high,
            "unit": proposal.unit,
            "qualifier": proposal.qualifier,
            "period_start": proposal.period_start,
            "period_end": proposal.period_end,
            "period_label": proposal.period_label,
            "quote": proposal.quote,
            "quote_start": proposal.quote_start,
            "status": ReviewStatus.PROPOSED,
        }
        try:
            with transaction.atomic():
                figure = figure_save(data=data, user=user, reason=reason)
        except ValidationError as exc:
            result.skipped.append(f"figure {proposal.as_reported!r}: {_first_message(exc)}")
            continue
        result.figures.append((figure, proposal.confidence, proposal.reason))
        proposals[f"figure:{figure.pk}"] = {"confidence": proposal.confidence, "reason": proposal.reason}
    for proposal in extraction.events:
        participants = [{p.kind: p.slug, "role": p.role} for p in proposal.participants]
        data = {
            "article": article,
            "title": proposal.title[:300],
            "type": proposal.type,
            "date": proposal.date,
            "date_precision": proposal.date_precision,
            "end_date": proposal.end_date,
            "quote": proposal.quote,
            "quote_start": proposal.quote_start,
            "status": EventStatus.PROPOSED,
            "participants": participants,
        }
        try:
            with transaction.atomic():
                event = event_save(data=data, user=user, reason=reason)
        except ValidationError as exc:
            result.skipped.append(f"event {proposal.title[:60]!r}: {_first_message(exc)}")
            continue
        result.events.append((event, proposal.confidence, proposal.reason, participants))
        proposals[f"event:{event.pk}"] = {"confidence": proposal.confidence, "reason": proposal.reason}
    offered = _offered_mentions(extraction, companies.keys(), people.keys())
    result.mentions = {
        "companies": company_slugs,
        "people": person_slugs,
        "probable": [m for m in offered if m["kind"] != NEW_COMPANY],
        "new_companies": [m for m in offered if m["kind"] == NEW_COMPANY],
    }
    Ingestion.objects.create(
        article=article,
        text_sha256=fingerprint,
        source=source if source in SOURCES else "command",
        created_by=user if getattr(user, "pk", None) is not None else None,
        proposals=proposals,
        mentions=offered,
    )
    return result


def _offered_mentions(extraction: Extraction, companies: Any, people: Any) -> list[dict[str, Any]]:
    """The names offered but not applied, once each: near misses of a known name, and new organisation names."""
    offered: dict[tuple[str, str], dict[str, Any]] = {}
    sure = {("company", slug) for slug in companies} | {("person", slug) for slug in people}
    for mention in extraction.mentions:
        if not (mention.probable or mention.kind == NEW_COMPANY):
            continue
        if (mention.kind, mention.slug) in sure:
            continue  # named for certain elsewhere in the text
        key = (mention.kind, mention.slug or mention.name)
        if key in offered:
            continue
        offered[key] = {
            "kind": mention.kind,
            "slug": mention.slug,
            "name": mention.name,
            "start": mention.start,
            "end": mention.end,
            "confidence": mention.confidence,
            "reason": mention.reason,
            "decision": "",
        }
    return list(offered.values())


def _first_message(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        name, messages = next(iter(error.message_dict.items()))
        return f"{name}: {messages[0]}"
    return error.messages[0]


def ingestion_of(article: Article) -> Ingestion | None:
    return Ingestion.objects.filter(article=article).first()


def proposal_info(ingestion: Ingestion | None, record: Event | Figure) -> Mapping[str, Any]:
    """The extraction's confidence and reason for a proposed record ({} when it was not proposed)."""
    if ingestion is None:
        return {}
    return ingestion.proposals.get(f"{record._meta.model_name}:{record.pk}", {})
