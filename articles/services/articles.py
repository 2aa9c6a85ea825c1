"""Writing an article: its metadata, its verbatim body and its mention lists."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from ..choices import PROPOSAL_STATUSES
from ..models import Article, Company, Event, Figure, Person
from . import base, history

LIST_FIELDS = ("companies", "people")


def _ids(values: Iterable[Any]) -> set[int]:
    return {getattr(value, "pk", value) for value in values}


@transaction.atomic
def article_save(
    *,
    article: Article | None = None,
    data: Mapping[str, Any],
    user: Any,
    reason: str = "",
    expected_version: int | None = None,
) -> Article:
    """Create (``article=None``) or change an article as ``user``; all or nothing.

    ``data`` holds the fields to set and, optionally, the mention lists ``companies`` and ``people``
    (records or ids). The rules, in order:
    - the stored row is locked, and a write based on another version than ``expected_version`` is refused;
    - text is normalised (line endings), so a browser's round trip of an unchanged body is no change;
    - the mentions always include every company and person the article's events and figures involve;
    - when the body changes, every event's and figure's quote is found again in the new body and its offsets
      rewritten in this transaction; a body that loses any quote is refused, naming each record;
    - a write that changes nothing writes nothing (same version, no history entry);
    - otherwise: version bump, save, mentions, and one history entry with the lists, the user and the reason.
    """
    data = base.normalised(data)
    lists_in = {name: data.pop(name) for name in LIST_FIELDS if name in data}
    current = base.lock_current(Article, article)
    base.check_version(current, expected_version)
    new = base.apply_changes(current, Article, data)
    base.validate(new, exclude=LIST_FIELDS)

    current_ids = _stored_mentions(current)
    wanted = {name: _ids(lists_in[name]) if name in lists_in else current_ids[name] for name in LIST_FIELDS}
    if current is not None:
        companies, people = base.involved(current.pk)
        wanted["companies"] |= companies
        wanted["people"] |= people
    new_lists = _lists_value(wanted)

    records: list[Event | Figure] = []
    if current is not None and new.body != current.body:
        records = [*Event.objects.filter(article=current), *Figure.objects.filter(article=current)]
        vanished = base.quotes_relocate(current.body, new.body, records)
        if vanished:
            raise base.quotes_vanished_error(vanished)

    if base.unchanged(current, new, _lists_value(current_ids), new_lists):
        return current

    def write_lists(saved: Article) -> None:
        saved.companies.set(wanted["companies"])
        saved.people.set(wanted["people"])
        # Offsets are derived from the body: rewritten with it, without a version or entry of their own.
        for model in (Event, Figure):
            rows = [r for r in records if isinstance(r, model)]
            model.objects.bulk_update(rows, ["quote_start", "quote_end"], batch_size=history.CHUNK)

    return base.commit(new, current=current, user=user, reason=reason, lists=new_lists, write_lists=write_lists)


def _stored_mentions(article: Article | None) -> dict[str, set[int]]:
    if article is None:
        return {name: set() for name in LIST_FIELDS}
    return {
        "companies": set(article.companies.values_list("pk", flat=True)),
        "people": set(article.people.values_list("pk", flat=True)),
    }


def _lists_value(ids: Mapping[str, set[int]]) -> dict[str, list[str]]:
    """Mention lists as history keeps them: sorted slugs."""
    return {
        "companies": sorted(Company.objects.filter(pk__in=ids["companies"]).values_list("slug", flat=True)),
        "people": sorted(Person.objects.filter(pk__in=ids["people"]).values_list("slug", flat=True)),
    }


@transaction.atomic
def article_delete(*, article: Article, user: Any, reason: str = "", expected_version: int | None = None) -> None:
    """Delete an article with its events and figures; each leaves a last history entry and a tombstone, all at
    the same time. The events and figures go with the article (cascade), their entries and tombstones written in
    bulk: a fixed number of queries however many the article has."""
    current = base.lock_current(Article, article)
    base.check_version(current, expected_version)
    now = timezone.now()
    who = base.history_user(user)
    for model in (Event, Figure):
        rows = list(model.objects.select_for_update().filter(article=current).order_by("pk"))
        lists = history.lists_read(model, [row.pk for row in rows])
        history.history_write(
            [
                history.history_entry(row, history_type="-", user=who, reason=reason, lists=lists[row.pk], date=now)
                for row in rows
            ]
        )
        base.tombstones_write(
            [
                base.tombstone(row, user=user, reason=reason, date=now, article_slug=current.slug)
                for row in rows
                if row.status not in PROPOSAL_STATUSES  # a proposal was never public: no tombstone
            ]
        )
    base.delete(current, model=Article, user=user, reason=reason, expected_version=None, date=now)
