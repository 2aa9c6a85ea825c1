"""Saving one curated record on behalf of a person: validation, stale-write check, review stamps, history.

The admin and the API both call ``record_save`` so that a change made through either is validated the
same way, refused the same way when it is based on a stale copy, and leaves one history entry that
names the editor and their reason.
"""

from typing import Any

from django.db import models, transaction
from django.utils import timezone

from ..choices import ReviewStatus
from ..models import Figure


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


@transaction.atomic
def record_save(
    *,
    instance: models.Model,
    user: Any,
    reason: str = "",
    expected_version: int | None = None,
    validate: bool = True,
) -> models.Model:
    """Validate and save ``instance`` as ``user``, with an optional reason for the history.

    ``expected_version`` is the version the editor's copy was based on; if the row has moved on since,
    StaleWriteError is raised and nothing is written. A figure whose status changes gets its reviewer
    and review time stamped.
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
    return instance


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
