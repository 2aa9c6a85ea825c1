"""Saving one curated record on behalf of a person: validation, stale-write check, review stamps, history.

The admin and the API both call ``record_save`` so that a change made through either is validated the
same way, refused the same way when it is based on a stale copy, and leaves one history entry that
names the editor and their reason.
"""

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.apps import apps
from django.db import models, transaction
from django.db.models import Max
from django.utils import timezone

from ..choices import ReviewStatus
from ..models import Alias, EventParticipant, Figure


class StaleWriteError(Exception):
    """The record changed since the editor loaded it; saving would silently overwrite someone's work."""

    def __init__(self, instance: models.Model, expected: int, current: int):
        self.instance = instance
        self.expected = expected
        self.current = current
        super().__init__(
            f"{instance._meta.verbose_name} {instance.pk} was changed by someone else (version {current}, "
            f"you edited version {expected}); reload it and apply your change again."
        )


def _stamp_review(figure: Figure, previous_status: str | None, user: Any) -> None:
    if figure.status == previous_status:
        return
    if figure.status == ReviewStatus.REPORTED:
        figure.reviewed_by, figure.reviewed_at = None, None
    else:
        figure.reviewed_by = user if getattr(user, "is_authenticated", False) else None
        figure.reviewed_at = timezone.now()


SNAPSHOT_CHUNK = 1000


def history_snapshot_related(model: type[models.Model], instances: Sequence[models.Model]) -> None:
    """Make the newest history entry of each instance hold its current lists: an article's mentions
    (many-to-many), an event's participants, a company's or person's aliases. The history then shows them
    as every change left them.

    The writers call it once the lists are written: ``record_save`` and the admin for one record, the loader
    and a merge in bulk (a fixed number of queries per thousand records).
    """
    history_model = model.history.model
    lists = getattr(history_model, "_history_m2m_fields", None)
    if not (lists or hasattr(history_model, "participants_snapshot") or hasattr(history_model, "aliases_snapshot")):
        return
    ids = [instance.pk for instance in instances]
    for start in range(0, len(ids), SNAPSHOT_CHUNK):
        chunk = ids[start : start + SNAPSHOT_CHUNK]
        latest = dict(
            history_model.objects.filter(id__in=chunk)
            .values("id")
            .annotate(newest=Max("history_id"))
            .values_list("id", "newest")
        )
        for field in lists or []:
            _snapshot_many_to_many(history_model, field, latest)
        if hasattr(history_model, "participants_snapshot"):
            _snapshot_json(history_model, latest, "participants_snapshot", participants_of(latest))
        if hasattr(history_model, "aliases_snapshot"):
            _snapshot_json(history_model, latest, "aliases_snapshot", aliases_of(model, latest))


def _snapshot_many_to_many(history_model: type[models.Model], field: models.ManyToManyField, latest: dict) -> None:
    snapshot = apps.get_model(history_model._meta.app_label, f"{history_model.__name__}_{field.name}")
    source, target = field.m2m_field_name(), field.m2m_reverse_field_name()
    snapshot.objects.filter(history_id__in=latest.values()).delete()
    rows = field.remote_field.through.objects.filter(**{f"{source}_id__in": latest}).values_list(
        "id", f"{source}_id", f"{target}_id"
    )
    snapshot.objects.bulk_create(
        [
            snapshot(id=row_id, history_id=latest[owner], **{f"{source}_id": owner, f"{target}_id": other})
            for row_id, owner, other in rows
        ],
        batch_size=SNAPSHOT_CHUNK,
    )


def participants_snapshot(participants: Iterable[tuple[str | None, str | None, str]]) -> list[dict[str, str | None]]:
    """Participants ``(company slug, person slug, role)`` as a history entry keeps them, in a stable order."""
    return [
        {"company": company, "person": person, "role": role}
        for company, person, role in sorted(participants, key=lambda p: (p[0] or "", p[1] or "", p[2]))
    ]


def participants_of(event_ids: Iterable[int]) -> dict[int, list[dict[str, str | None]]]:
    """Each event's participants as a history entry keeps them."""
    held: dict[int, list] = {pk: [] for pk in event_ids}
    rows = EventParticipant.objects.filter(event_id__in=held).values_list(
        "event_id", "company__slug", "person__slug", "role"
    )
    for event_id, company, person, role in rows:
        held[event_id].append((company, person, role))
    return {event_id: participants_snapshot(participants) for event_id, participants in held.items()}


def aliases_snapshot(aliases: Iterable[tuple[str, bool, str]]) -> list[dict[str, Any]]:
    """Aliases ``(name, garbled, note)`` as a history entry keeps them, in a stable order."""
    return [{"name": name, "garbled": garbled, "note": note} for name, garbled, note in sorted(aliases)]


def aliases_of(model: type[models.Model], owner_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """Each company's or person's aliases as a history entry keeps them."""
    owner = model._meta.model_name  # "company" or "person"
    held: dict[int, list] = {pk: [] for pk in owner_ids}
    rows = Alias.objects.filter(**{f"{owner}_id__in": held}).values_list(f"{owner}_id", "name", "garbled", "note")
    for owner_id, name, garbled, note in rows:
        held[owner_id].append((name, garbled, note))
    return {owner_id: aliases_snapshot(aliases) for owner_id, aliases in held.items()}


def _snapshot_json(history_model: type[models.Model], latest: dict, field: str, values: dict) -> None:
    entries = [history_model(history_id=history_id, **{field: values[pk]}) for pk, history_id in latest.items()]
    # Small batches: bulk_update writes one CASE with a branch per row, which each row scans.
    history_model.objects.bulk_update(entries, [field], batch_size=100)


@transaction.atomic
def record_save(
    *,
    instance: models.Model,
    user: Any,
    reason: str = "",
    expected_version: int | None = None,
    validate: bool = True,
    many_to_many: dict[str, Iterable[models.Model]] | None = None,
) -> models.Model:
    """Validate and save ``instance`` as ``user``, with an optional reason for the history.

    ``expected_version`` is the version the editor's copy was based on; if the row has moved on since,
    StaleWriteError is raised and nothing is written. A figure whose status changes gets its reviewer
    and review time stamped. ``many_to_many`` sets lists such as an article's ``companies``; they belong
    to the same, single history entry.
    """
    model = type(instance)
    versioned = hasattr(instance, "version")
    previous = None
    if instance.pk is not None:
        previous = model.objects.select_for_update().filter(pk=instance.pk).first()
    if versioned and previous is not None:
        if expected_version is not None and previous.version != expected_version:
            raise StaleWriteError(instance, expected_version, previous.version)
        instance.version = previous.version
    if isinstance(instance, Figure):
        _stamp_review(instance, previous.status if previous is not None else None, user)
    if validate:
        instance.full_clean()
    instance._history_user = user if getattr(user, "is_authenticated", False) else None
    instance._change_reason = reason or None
    instance.save()
    with list_changes(instance):
        for name, related in (many_to_many or {}).items():
            getattr(instance, name).set(related)
    return instance


@contextmanager
def list_changes(instance: models.Model) -> Iterator[None]:
    """Changes made inside to ``instance``'s lists (an article's mentions, an event's participants) go into its
    newest history entry, the one its save just wrote, rather than into more entries of their own."""
    if hasattr(instance, "skip_history_when_saving"):  # inside an outer list_changes, which snapshots
        yield
        return
    instance.skip_history_when_saving = True
    try:
        yield
    finally:
        del instance.skip_history_when_saving
    history_snapshot_related(type(instance), [instance])


@transaction.atomic
def record_delete(*, instance: models.Model, user: Any, reason: str = "", expected_version: int | None = None) -> None:
    """Delete ``instance`` as ``user``; the history keeps its last values, the user and the reason."""
    if expected_version is not None and hasattr(instance, "version"):
        current = type(instance).objects.filter(pk=instance.pk).values_list("version", flat=True).first()
        if current is not None and current != expected_version:
            raise StaleWriteError(instance, expected_version, current)
    instance._history_user = user if getattr(user, "is_authenticated", False) else None
    instance._change_reason = reason or None
    instance.delete()
