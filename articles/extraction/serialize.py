"""Proposals as plain JSON values (what ``ingest_article --json`` prints and the review desk reads)."""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import date
from decimal import Decimal


def _plain(value):
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def proposal_to_json(proposal) -> dict:
    return {f.name: _plain(getattr(proposal, f.name)) for f in fields(proposal)}


def extraction_to_json(extraction) -> dict:
    """``{"mentions": {"companies": [...], "people": [...], "new_companies": [...], "occurrences": [...]},
    "figures": [...], "events": [...]}``; Decimals as strings ("310000000"), dates as ISO strings."""
    companies: list[str] = []
    people: list[str] = []
    new_companies: list[str] = []
    for mention in extraction.mentions:
        if mention.probable:
            continue
        if mention.kind == "company" and mention.slug not in companies:
            companies.append(mention.slug)
        elif mention.kind == "person" and mention.slug not in people:
            people.append(mention.slug)
        elif mention.kind == "new_company" and mention.name not in new_companies:
            new_companies.append(mention.name)
    return {
        "mentions": {
            "companies": companies,
            "people": people,
            "new_companies": new_companies,
            "probable": [{"name": m.name, "kind": m.kind, "slug": m.slug} for m in extraction.mentions if m.probable],
            "occurrences": [proposal_to_json(m) for m in extraction.mentions],
        },
        "figures": [proposal_to_json(f) for f in extraction.figures],
        "events": [_plain(asdict(e)) for e in extraction.events],
    }
