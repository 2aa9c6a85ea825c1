"""Writing an event: what happened, when (with its precision), who took part, and the quote behind it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from .. import provenance
from ..choices import ParticipantRole
from ..models import Company, Event, EventParticipant, Person
from . import base, history


@transaction.atomic
def event_save(
    *,
    event: Event | None = None,
    data: Mapping[str, Any],
    user: Any,
    reason: str = "",
    expected_version: int | None = None,
) -> Event:
    """Create (``event=None``) or change an event as ``user``; all or nothing.

    ``data`` holds the fields to set and, optionally, ``participants``: the whole list, as mappings of
    ``company`` or ``person`` (records or slugs) and ``role``. The rules, in order:
    - the stored row is locked, and a write based on another version than ``expected_version`` is refused;
    - text is normalised (line endings); a new event without a key gets one derived from its title;
    - a fact never becomes a proposal again (``proposed`` or ``dismissed``: see ``services.proposals``);
    - the quote must stand verbatim in the article's body, and its offsets are stored; the date must be the
      first day of its precision's period, and ``date_latest`` is derived from it;
    - a write that changes nothing writes nothing;
    - otherwise: version bump, save, participants, one history entry (participants included), and the
      article's mentions grow to include every participant.
    """
    data = base.normalised(data)
    participants_in = data.pop("participants", None)
    current = base.lock_current(Event, event)
    base.check_version(current, expected_version)
    new = base.apply_changes(current, Event, data)
    if not new.key:
        new.key = base.key_derive(Event, new.article_id, new.title or "")
    base.proposal_check(new, current)
    if new.date:
        new.date_latest = provenance.period_bounds(new.end_date or new.date, new.date_precision)[1]
    base.validate(new)

    current_lists = history.lists_read(Event, [current.pk])[current.pk] if current is not None else {}
    participants = _participants(participants_in) if participants_in is not None else None
    if participants is not None:
        new_lists = {"participants": history.participants_value((c, p, r) for c, p, r, _ in participants)}
    else:
        new_lists = current_lists or {"participants": []}
    if base.unchanged(current, new, current_lists, new_lists):
        return current

    def write_lists(saved: Event) -> None:
        if participants is None:
            return
        EventParticipant.objects.filter(event=saved).delete()
        EventParticipant.objects.bulk_create(
            [EventParticipant(event=saved, role=role, **target) for _c, _p, role, target in participants]
        )

    saved = base.commit(new, current=current, user=user, reason=reason, lists=new_lists, write_lists=write_lists)
    base.mentions_close(saved.article, user=user, reason=reason)
    return saved


def _participants(items: Iterable[Mapping[str, Any]]) -> list[tuple[str | None, str | None, str, dict]]:
    """``(company slug, person slug, role, model kwargs)`` for each participant; refuses unknown or doubled ones."""
    items = list(items)
    company_slugs = [i["company"] for i in items if isinstance(i.get("company"), str)]
    person_slugs = [i["person"] for i in items if isinstance(i.get("person"), str)]
    companies = Company.objects.in_bulk(company_slugs, field_name="slug")
    people = Person.objects.in_bulk(person_slugs, field_name="slug")
    result, seen, errors = [], set(), []
    for item in items:
        company, person, role = item.get("company"), item.get("person"), item.get("role")
        company = companies.get(company, company) if isinstance(company, str) else company
        person = people.get(person, person) if isinstance(person, str) else person
        if isinstance(company, str) or isinstance(person, str):
            errors.append(f"unknown {'company' if isinstance(company, str) else 'person'} {company or person!r}")
            continue
        if role not in ParticipantRole.values:
            errors.append(f"{role!r} is not a participant role")
            continue
        if (company is None) == (person is None):
            errors.append("name exactly one company or one person")
            continue
        marker = (company.slug if company else None, person.slug if person else None, role)
        if marker in seen:
            errors.append(f"{company or person} is listed twice as {role}")
            continue
        seen.add(marker)
        target = {"company": company} if company is not None else {"person": person}
        result.append((*marker, target))
    if errors:
        raise ValidationError({"participants": errors})
    return result


@transaction.atomic
def event_delete(*, event: Event, user: Any, reason: str = "", expected_version: int | None = None) -> None:
    """Delete an event; its history keeps its last values and participants, the user and the reason."""
    base.delete(event, model=Event, user=user, reason=reason, expected_version=expected_version)
