"""The one history writer: every change to a curated record leaves one entry, written here and nowhere else.

An entry holds the record's fields (simple-history's historical table) and its lists in one JSON column,
``lists``: an article's mentions, an event's participants, a company's or person's aliases. The lists are
computed before the entry is written (from what the write is about to store), so no entry is ever
rewritten after the fact. Adding a list to the history is one line in ``LISTS``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import models
from django.utils import timezone

from ..models import Alias, Article, Company, Event, EventParticipant, Person

CHUNK = 1000

ListValue = list[Any]


def _mentions(field: str) -> Callable[[Iterable[int]], dict[int, ListValue]]:
    def read(ids: Iterable[int]) -> dict[int, ListValue]:
        through = getattr(Article, field).through
        target = "company" if field == "companies" else "person"
        held: dict[int, set[str]] = {pk: set() for pk in ids}
        for _start, chunk in _chunks(list(held)):
            rows = through.objects.filter(article_id__in=chunk).values_list("article_id", f"{target}__slug")
            for article_id, slug in rows:
                held[article_id].add(slug)
        return {pk: sorted(slugs) for pk, slugs in held.items()}

    return read


def participants_value(participants: Iterable[tuple[str | None, str | None, str]]) -> ListValue:
    """Participants ``(company slug, person slug, role)`` as history keeps them: sorted dicts."""
    return [
        {"company": company, "person": person, "role": role}
        for company, person, role in sorted(set(participants), key=lambda p: (p[0] or "", p[1] or "", p[2]))
    ]


def _participants(ids: Iterable[int]) -> dict[int, ListValue]:
    held: dict[int, list] = {pk: [] for pk in ids}
    for _start, chunk in _chunks(list(held)):
        rows = EventParticipant.objects.filter(event_id__in=chunk).values_list(
            "event_id", "company__slug", "person__slug", "role"
        )
        for event_id, company, person, role in rows:
            held[event_id].append((company, person, role))
    return {pk: participants_value(rows) for pk, rows in held.items()}


def aliases_value(aliases: Iterable[tuple[str, bool, str]]) -> ListValue:
    """Aliases ``(name, garbled, note)`` as history keeps them: sorted dicts."""
    return [{"name": name, "garbled": bool(garbled), "note": note or ""} for name, garbled, note in sorted(aliases)]


def _aliases(owner: str) -> Callable[[Iterable[int]], dict[int, ListValue]]:
    def read(ids: Iterable[int]) -> dict[int, ListValue]:
        held: dict[int, list] = {pk: [] for pk in ids}
        for _start, chunk in _chunks(list(held)):
            rows = Alias.objects.filter(**{f"{owner}_id__in": chunk}).values_list(
                f"{owner}_id", "name", "garbled", "note"
            )
            for owner_id, name, garbled, note in rows:
                held[owner_id].append((name, garbled, note))
        return {pk: aliases_value(rows) for pk, rows in held.items()}

    return read


#: Per model, the lists its history entries keep and how to read them for many records at once.
LISTS: dict[type[models.Model], dict[str, Callable[[Iterable[int]], dict[int, ListValue]]]] = {
    Article: {"companies": _mentions("companies"), "people": _mentions("people")},
    Event: {"participants": _participants},
    Company: {"aliases": _aliases("company")},
    Person: {"aliases": _aliases("person")},
}


def _chunks(ids: Sequence[int]) -> Iterable[tuple[int, Sequence[int]]]:
    for start in range(0, len(ids), CHUNK):
        yield start, ids[start : start + CHUNK]


def lists_read(model: type[models.Model], ids: Iterable[int]) -> dict[int, dict[str, ListValue]]:
    """The stored lists of many records of ``model``: ``{pk: {list name: value}}`` (a query per list)."""
    ids = list(ids)
    result: dict[int, dict[str, ListValue]] = {pk: {} for pk in ids}
    for name, read in LISTS.get(model, {}).items():
        for pk, value in read(ids).items():
            result[pk][name] = value
    return result


def fields_value(instance: models.Model) -> dict[str, Any]:
    """The record's own tracked values, as comparable Python values (for no-op detection)."""
    return {
        field.attname: getattr(instance, field.attname)
        for field in instance._meta.concrete_fields
        if field.name not in UNTRACKED
    }


#: Bookkeeping columns: a write that changes only these is not a change.
UNTRACKED = {"id", "version", "created_at", "updated_at"}


def history_entry(
    instance: models.Model,
    *,
    history_type: str,
    user: Any,
    reason: str = "",
    lists: dict[str, ListValue] | None = None,
    date: Any = None,
) -> models.Model:
    """One unsaved history entry for ``instance`` as it is about to be (or was just) written."""
    history_model, attnames = _history_model(type(instance))
    values = {attname: getattr(instance, attname) for attname in attnames}
    return history_model(
        history_date=date or timezone.now(),
        # A signed-in person, or the loader's (inactive) account; never an anonymous user.
        history_user=user if getattr(user, "pk", None) is not None else None,
        history_change_reason=reason or None,
        history_type=history_type,
        lists=lists if lists else None,
        **values,
    )


@functools.cache
def _history_model(model: type[models.Model]) -> tuple[type[models.Model], tuple[str, ...]]:
    """The model's history table and the columns it copies (looked up once: simple-history builds a new
    manager on every ``Model.history`` access, which the loader would pay per entry)."""
    history_model = model.history.model
    return history_model, tuple(field.attname for field in history_model.tracked_fields)


def history_write(entries: Sequence[models.Model]) -> None:
    """Write history entries (of one model) in bulk: the only place any history entry is written."""
    if entries:
        type(entries[0]).objects.bulk_create(entries, batch_size=CHUNK)


def _list_text(value: ListValue) -> str | None:
    """One list as text: slugs, "bitmain (subject)" for participants, "Battle (garbled)" for aliases."""
    parts = []
    for item in value:
        if isinstance(item, dict) and "role" in item:
            parts.append(f"{item['company'] or item['person']} ({item['role']})")
        elif isinstance(item, dict):
            garbled = " (garbled)" if item.get("garbled") else ""
            note = f" [{item['note']}]" if item.get("note") else ""
            parts.append(f"{item['name']}{garbled}{note}")
        else:
            parts.append(str(item))
    return ", ".join(parts) or None


def lists_changes(previous: models.Model, record: models.Model) -> list[tuple[str, str | None, str | None]]:
    """The lists that differ between two consecutive history entries, as ``(name, old, new)`` text."""
    old_lists, new_lists = previous.lists or {}, record.lists or {}
    changes = []
    for name in sorted(set(old_lists) | set(new_lists)):
        old, new = old_lists.get(name, []), new_lists.get(name, [])
        if old != new:
            changes.append((name, _list_text(old), _list_text(new)))
    return changes
