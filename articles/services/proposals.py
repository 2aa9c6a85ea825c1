"""Deciding on proposals: an editor accepts or rejects what the extraction proposed.

A proposal is an event or a figure with the status ``proposed`` (``choices.PROPOSAL_STATUSES``): stored, validated,
quoted, but hidden from every public read. Accepting it makes it ``reported`` (a fact) through the record's own
write service (``event_save`` / ``figure_save``), so it gets the full validation of the write path, optionally with
the editor's corrections in the same write, and one history entry naming the editor and the reason. Rejecting it
sets ``dismissed`` ("proposal rejected") the same way: kept, still hidden, and in the history. A rejected proposal
can still be accepted later; a fact never becomes a proposal again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from ..choices import EventStatus, ReviewStatus
from ..models import Event, Figure
from .events import event_save
from .figures import figure_save

ACCEPTED_REASON = "Proposal accepted"
REJECTED_REASON = "Proposal rejected"


class ProposalError(Exception):
    """Some proposals could not be decided as asked; nothing was changed."""

    def __init__(self, failures: list[tuple[Event | Figure, ValidationError]], decision: str = "accepted"):
        self.failures = failures
        details = "; ".join(f"{proposal_name(record)}: {'; '.join(_messages(error))}" for record, error in failures)
        count = len(failures)
        super().__init__(f"{count} proposal{'s' if count != 1 else ''} could not be {decision}, so none was: {details}")


def _messages(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [f"{name}: {message}" for name, messages in error.message_dict.items() for message in messages]
    return list(error.messages)


def proposal_name(record: Event | Figure) -> str:
    return f"{record._meta.model_name} {record.key!r}"


def _reason(decision: str, reason: str) -> str:
    reason = (reason or "").strip()
    return f"{decision}: {reason}" if reason else decision


def _save(record: Event | Figure, data: Mapping[str, Any], *, user: Any, reason: str, expected_version: int | None):
    if isinstance(record, Figure):
        return figure_save(figure=record, data=data, user=user, reason=reason, expected_version=expected_version)
    return event_save(event=record, data=data, user=user, reason=reason, expected_version=expected_version)


def _refuse_unless(record: Event | Figure, statuses: Iterable[str], action: str) -> None:
    if record.status not in statuses:
        raise ValidationError(
            {"status": f"{proposal_name(record).capitalize()} is not a proposal to {action} (it is {record.status})."}
        )


@transaction.atomic
def proposal_accept(
    *,
    record: Event | Figure,
    user: Any,
    reason: str = "",
    changes: Mapping[str, Any] | None = None,
    expected_version: int | None = None,
) -> Event | Figure:
    """Make a proposed (or rejected) event or figure a fact, with ``changes`` applied in the same write.

    Goes through ``event_save`` / ``figure_save``: a proposal that does not pass their validation (with the
    changes) is refused with their ``ValidationError`` and nothing changes. The history entry says
    "Proposal accepted: <reason>" and names ``user``.
    """
    _refuse_unless(record, (ReviewStatus.PROPOSED, ReviewStatus.DISMISSED), "accept")
    data = {**(changes or {}), "status": ReviewStatus.REPORTED if isinstance(record, Figure) else EventStatus.REPORTED}
    return _save(record, data, user=user, reason=_reason(ACCEPTED_REASON, reason), expected_version=expected_version)


@transaction.atomic
def proposal_reject(
    *, record: Event | Figure, user: Any, reason: str = "", expected_version: int | None = None
) -> Event | Figure:
    """Reject a proposal: it stays stored as "proposal rejected" (hidden), with the decision in its history."""
    _refuse_unless(record, (ReviewStatus.PROPOSED,), "reject")
    return _save(
        record,
        {"status": ReviewStatus.DISMISSED},
        user=user,
        reason=_reason(REJECTED_REASON, reason),
        expected_version=expected_version,
    )


@transaction.atomic
def proposals_accept(*, records: Iterable[Event | Figure], user: Any, reason: str = "") -> list[Event | Figure]:
    """Accept many proposals with one reason; all or nothing.

    Each goes through ``proposal_accept`` (its own validation and history entry). Raises ``ProposalError``
    naming every proposal that cannot be accepted, and then accepts none.
    """
    accepted, failures = [], []
    for record in records:
        try:
            with transaction.atomic():
                accepted.append(proposal_accept(record=record, user=user, reason=reason))
        except ValidationError as error:
            failures.append((record, error))
    if failures:
        raise ProposalError(failures)
    return accepted


@transaction.atomic
def proposals_reject(*, records: Iterable[Event | Figure], user: Any, reason: str = "") -> list[Event | Figure]:
    """Reject many proposals with one reason; all or nothing (see ``proposals_accept``)."""
    rejected, failures = [], []
    for record in records:
        try:
            with transaction.atomic():
                rejected.append(proposal_reject(record=record, user=user, reason=reason))
        except ValidationError as error:
            failures.append((record, error))
    if failures:
        raise ProposalError(failures, "rejected")
    return rejected
