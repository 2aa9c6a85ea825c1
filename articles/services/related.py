"""Writes of the lists nested in a record (a company's or person's aliases, an event's participants).

They run inside the serializer's transaction right after ``record_save`` has saved the record itself, and
attribute every history entry they leave to the same user and reason.
"""

from collections.abc import Iterable
from typing import Any

from django.db import models

from ..models import Alias, Company, Event, EventParticipant, MergedCompany, Person


def _stamp(instance: models.Model, user: Any, reason: str) -> models.Model:
    instance._history_user = user if getattr(user, "is_authenticated", False) else None
    instance._change_reason = reason or None
    return instance


def aliases_replace(*, owner: models.Model, names: Iterable[str], user: Any, reason: str = "") -> None:
    """Make ``owner``'s aliases exactly ``names``; aliases kept keep their ``garbled`` flag and note."""
    owner_field = owner._meta.model_name  # "company" or "person"
    wanted = list(dict.fromkeys(names))
    existing = {alias.name: alias for alias in Alias.objects.filter(**{owner_field: owner})}
    for name, alias in existing.items():
        if name not in wanted:
            _stamp(alias, user, reason).delete()
    for name in wanted:
        if name not in existing:
            alias = _stamp(Alias(**{owner_field: owner}, name=name), user, reason)
            alias.full_clean()
            alias.save()


def participants_replace(*, event: Event, participants: Iterable[dict], user: Any, reason: str = "") -> None:
    """Make ``event``'s participants exactly ``participants`` (dicts of company or person, and role)."""

    def key(company_id, person_id, role) -> tuple:
        return (company_id, person_id, role)

    wanted = {}
    for item in participants:
        company, person = item.get("company"), item.get("person")
        wanted[key(company.pk if company else None, person.pk if person else None, item["role"])] = item
    existing = {key(p.company_id, p.person_id, p.role): p for p in EventParticipant.objects.filter(event=event)}
    for participant_key, participant in existing.items():
        if participant_key not in wanted:
            _stamp(participant, user, reason).delete()
    for participant_key, item in wanted.items():
        if participant_key not in existing:
            participant = EventParticipant(
                event=event, company=item.get("company"), person=item.get("person"), role=item["role"]
            )
            _stamp(participant, user, reason).save()


def participants_restore(*, event: Event, snapshot: list[dict], user: Any, reason: str = "") -> list[str]:
    """Give ``event`` the participants an earlier version had (its history entry's snapshot).

    Slugs of companies merged since lead to the survivor; returns the slugs that no longer exist (left out).
    """
    merged = dict(MergedCompany.objects.values_list("slug", "into__slug"))
    companies = Company.objects.in_bulk([merged.get(p["company"], p["company"]) for p in snapshot], field_name="slug")
    people = Person.objects.in_bulk([p["person"] for p in snapshot if p["person"]], field_name="slug")
    participants, missing = [], []
    for item in snapshot:
        company = companies.get(merged.get(item["company"], item["company"])) if item["company"] else None
        person = people.get(item["person"]) if item["person"] else None
        if company is None and person is None:
            missing.append(item["company"] or item["person"])
            continue
        participants.append({"company": company, "person": person, "role": item["role"]})
    participants_replace(event=event, participants=participants, user=user, reason=reason)
    return missing


def aliases_restore(*, owner: models.Model, snapshot: list[dict], user: Any, reason: str = "") -> None:
    """Give a company or person the aliases an earlier version had (its history entry's snapshot)."""
    owner_field = owner._meta.model_name
    wanted = {alias["name"]: alias for alias in snapshot}
    for alias in Alias.objects.filter(**{owner_field: owner}):
        old = wanted.get(alias.name)
        if old is None:
            _stamp(alias, user, reason).delete()
            continue
        if (alias.garbled, alias.note) != (old["garbled"], old["note"]):
            alias.garbled, alias.note = old["garbled"], old["note"]
            _stamp(alias, user, reason).save()
        del wanted[alias.name]
    for name, old in wanted.items():
        alias = Alias(**{owner_field: owner}, name=name, garbled=old["garbled"], note=old["note"])
        alias.full_clean()
        _stamp(alias, user, reason).save()
