"""Writing a company's or a person's name record: its fields and its aliases (the press's spellings)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction

from ..models import Alias, Person
from . import base, history


def aliases_parse(items: Iterable[Any], current: Iterable[dict] = ()) -> list[tuple[str, bool, str]]:
    """Aliases given as names or as mappings of ``name``, ``garbled`` and ``note``; a name given twice is refused.

    An alias already held keeps the ``garbled`` flag and note the writer leaves out (``current``: the stored list).
    """
    kept = {alias["name"]: alias for alias in current}
    result, seen, repeated = [], set(), []
    for item in items:
        if isinstance(item, str):
            item = {"name": item}
        item = {**kept.get(item.get("name"), {}), **item}  # what the writer leaves out stays as it was
        name = base.normalise_text(str(item.get("name", ""))).strip()
        if not name:
            raise ValidationError({"aliases": "An alias needs a name."})
        if name in seen:
            repeated.append(name)
        seen.add(name)
        result.append((name, bool(item.get("garbled", False)), base.normalise_text(item.get("note") or "").strip()))
    if repeated:
        raise ValidationError({"aliases": f"Listed more than once: {', '.join(sorted(set(repeated)))}."})
    return result


def aliases_write(owner: models.Model, aliases: list[tuple[str, bool, str]]) -> None:
    """Make ``owner``'s aliases exactly ``aliases`` (rows that stay the same are left alone)."""
    owner_field = owner._meta.model_name  # "company" or "person"
    wanted = {name: (garbled, note) for name, garbled, note in aliases}
    for alias in Alias.objects.filter(**{owner_field: owner}):
        if alias.name not in wanted:
            alias.delete()
            continue
        garbled, note = wanted.pop(alias.name)
        if (alias.garbled, alias.note) != (garbled, note):
            alias.garbled, alias.note = garbled, note
            alias.save(update_fields=["garbled", "note"])
    for name, (garbled, note) in wanted.items():
        alias = Alias(**{owner_field: owner}, name=name, garbled=garbled, note=note)
        alias.full_clean(exclude=[owner_field])
        alias.save()


def name_record_save(
    model: type[models.Model],
    *,
    record: models.Model | None,
    data: Mapping[str, Any],
    user: Any,
    reason: str,
    expected_version: int | None,
    check: Callable[[models.Model], None] | None = None,
) -> models.Model:
    """What saving a company and saving a person share (see ``company_save`` and ``person_save``)."""
    data = base.normalised(data)
    aliases_in = data.pop("aliases", None)
    current = base.lock_current(model, record)
    base.check_version(current, expected_version)
    new = base.apply_changes(current, model, data)
    if check is not None:
        check(new)
    base.validate(new)
    current_lists = history.lists_read(model, [current.pk])[current.pk] if current is not None else {}
    aliases = aliases_parse(aliases_in, current_lists.get("aliases", [])) if aliases_in is not None else None
    new_lists = {"aliases": history.aliases_value(aliases)} if aliases is not None else current_lists
    new_lists = new_lists or {"aliases": []}
    if base.unchanged(current, new, current_lists, new_lists):
        return current

    def write_lists(saved: models.Model) -> None:
        if aliases is not None:
            aliases_write(saved, aliases)

    return base.commit(new, current=current, user=user, reason=reason, lists=new_lists, write_lists=write_lists)


@transaction.atomic
def person_save(
    *,
    person: Person | None = None,
    data: Mapping[str, Any],
    user: Any,
    reason: str = "",
    expected_version: int | None = None,
) -> Person:
    """Create (``person=None``) or change a person as ``user``; all or nothing.

    ``data`` holds the fields to set and, optionally, ``aliases``: the whole list, as names or mappings of
    ``name``, ``garbled`` and ``note``. The stored row is locked and version-checked, text normalised, a write
    that changes nothing writes nothing; otherwise version bump, save, aliases and one history entry.
    """
    return name_record_save(
        Person, record=person, data=data, user=user, reason=reason, expected_version=expected_version
    )


@transaction.atomic
def person_delete(*, person: Person, user: Any, reason: str = "", expected_version: int | None = None) -> None:
    """Delete a person (refused while an event names them: ProtectedError)."""
    base.delete(person, model=Person, user=user, reason=reason, expected_version=expected_version)
