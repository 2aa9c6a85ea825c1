"""Reviewing many figures at once: the list actions of the admin ("mark verified", "mark disputed")."""

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet

from ..choices import ReviewStatus
from ..models import Figure
from .records import record_save

# Statuses a list action may set; "corrected" needs a new value and a note, so it is set one figure at a time.
BULK_STATUSES = frozenset({ReviewStatus.VERIFIED, ReviewStatus.DISPUTED, ReviewStatus.REJECTED})


class FigureReviewError(Exception):
    """Some figures cannot take the status; nothing was changed."""

    def __init__(self, status: str, failures: list[tuple[Figure, ValidationError]]):
        self.status = status
        self.failures = failures
        details = "; ".join(
            f"{figure} in {figure.article.slug} ({'; '.join(_messages(error))})" for figure, error in failures
        )
        count = len(failures)
        super().__init__(
            f"{count} figure{'s' if count != 1 else ''} cannot be marked {ReviewStatus(status).label.lower()}, "
            f"so nothing was changed: {details}"
        )


def _messages(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [f"{field}: {message}" for field, messages in error.message_dict.items() for message in messages]
    return list(error.messages)


@transaction.atomic
def figures_review(*, figures: Iterable[Figure], status: str, user: Any, reason: str = "") -> list[Figure]:
    """Set the review status of many figures as ``user``; all or nothing.

    Each figure goes through ``record_save``, so each is validated, stamped with its reviewer and gets
    its own history entry. Figures that already have the status are left alone. Returns the figures
    that changed; raises FigureReviewError naming every figure that fails validation.
    """
    if status not in BULK_STATUSES:
        raise ValueError(f"A list action cannot mark figures {status!r}.")
    pks = figures.values("pk") if isinstance(figures, QuerySet) else [figure.pk for figure in figures]
    changed, failures = [], []
    for figure in Figure.objects.select_related("article", "company").filter(pk__in=pks).order_by("pk"):
        if figure.status == status:
            continue
        figure.status = status
        try:
            record_save(instance=figure, user=user, reason=reason)
        except ValidationError as error:
            failures.append((figure, error))
        else:
            changed.append(figure)
    if failures:
        raise FigureReviewError(status, failures)
    return changed


def figures_mark_verified(*, figures: Iterable[Figure], user: Any, reason: str = "") -> list[Figure]:
    """An editor checked these figures against their articles and they are right."""
    return figures_review(figures=figures, status=ReviewStatus.VERIFIED, user=user, reason=reason)


def figures_mark_disputed(*, figures: Iterable[Figure], user: Any, reason: str = "") -> list[Figure]:
    """An editor doubts these figures (other sources disagree) without a better value to put in."""
    return figures_review(figures=figures, status=ReviewStatus.DISPUTED, user=user, reason=reason)
