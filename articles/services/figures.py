"""Writing a figure (a number an article states), and reviewing many figures at once."""

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet

from .. import provenance
from ..choices import ReviewStatus
from ..models import Figure
from . import base


@transaction.atomic
def figure_save(
    *,
    figure: Figure | None = None,
    data: Mapping[str, Any],
    user: Any,
    reason: str = "",
    expected_version: int | None = None,
) -> Figure:
    """Create (``figure=None``) or change a figure as ``user``; all or nothing.

    The rules, in order:
    - the stored row is locked, and a write based on another version than ``expected_version`` is refused;
    - text is normalised (line endings); a new figure without a key gets one from its metric and words;
    - the period granularity (day, month, quarter, half, year, other) is derived from the period;
    - a change of review status stamps the reviewer and time (back to reported clears them);
    - a fact never becomes a proposal again (``proposed`` or ``dismissed``: see ``services.proposals``);
    - a figure that becomes corrected, or whose corrected value changes, needs a note written in this write;
    - the quote must stand verbatim in the article's body (offsets stored), ``as_reported`` in the quote, and,
      unless corrected, ``as_reported`` must read as exactly the value, top of range, unit and qualifier;
    - a write that changes nothing writes nothing;
    - otherwise: version bump, save, one history entry, and the article's mentions grow to include the company.
    """
    data = base.normalised(data)
    current = base.lock_current(Figure, figure)
    base.check_version(current, expected_version)
    new = base.apply_changes(current, Figure, data)
    if not new.key:
        new.key = base.key_derive(Figure, new.article_id, f"{new.metric} {new.as_reported}")
    new.period_granularity = provenance.period_granularity(new.period_start, new.period_end)
    base.proposal_check(new, current)
    base.review_stamp(new, current.status if current is not None else None, user)
    base.correction_note_check(new, current)
    base.validate(new)
    if base.unchanged(current, new, {}, {}):
        return current
    saved = base.commit(new, current=current, user=user, reason=reason, lists={})
    base.mentions_close(saved.article, user=user, reason=reason)
    return saved


@transaction.atomic
def figure_delete(*, figure: Figure, user: Any, reason: str = "", expected_version: int | None = None) -> None:
    """Delete a figure; its history keeps its last values, the user and the reason."""
    base.delete(figure, model=Figure, user=user, reason=reason, expected_version=expected_version)


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

    Each figure goes through ``figure_save``, so each is validated, stamped with its reviewer and gets
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
        try:
            figure_save(figure=figure, data={"status": status}, user=user, reason=reason)
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
