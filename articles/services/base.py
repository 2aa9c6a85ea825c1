"""The steps every write of a curated record takes, and the rules the loader's bulk path shares.

Each entity's service (``article_save``, ``event_save``, ``figure_save``, ``company_save``, ``person_save`` and
their deletes) reads as a sequence of these steps: lock the current row, check the version the writer saw,
apply the normalised changes, derive, validate, stop when nothing changed, then ``commit`` (version bump,
save, lists, one history entry).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import connection, models
from django.utils import timezone
from django.utils.text import slugify

from ..choices import PROPOSAL_STATUSES, ReviewStatus
from ..models import Article, Company, Deletion, Event, EventParticipant, Figure, Person
from . import history

M = TypeVar("M", bound=models.Model)


class StaleWriteError(Exception):
    """The record changed since the writer loaded it; saving would silently overwrite someone's work."""

    def __init__(self, instance: models.Model, expected: int, current: int):
        self.instance = instance
        self.expected = expected
        self.current = current
        super().__init__(
            f"{instance._meta.verbose_name} {instance.pk} was changed by someone else (version {current}, "
            f"you edited version {expected}); reload it and apply your change again."
        )


def triggers_planned_once() -> None:
    """For a write that fires the database's triggers on many rows (a load, a merge): inside the current transaction,
    PostgreSQL plans the triggers' statements once (``plan_cache_mode=auto``, its default) instead of on every row,
    as a connection with ``DATABASE_PREPARED_STATEMENTS`` has it for the API's reads (``plan_cache_mode``
    ``force_custom_plan``; ``newsdb.settings.prepared_statements``). The transaction's end puts it back."""
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('plan_cache_mode', 'auto', true)")


def normalise_text(value: Any) -> Any:
    """Text as newsdb stores it: line endings are ``\\n`` whatever the client sent (a browser posts a textarea
    back with ``\\r\\n``), so a round trip of unchanged text is no change. Other values pass through."""
    if isinstance(value, str) and "\r" in value:
        return value.replace("\r\n", "\n").replace("\r", "\n")
    return value


def normalised(data: Mapping[str, Any]) -> dict[str, Any]:
    return {name: normalise_text(value) for name, value in data.items()}


def history_user(user: Any) -> Any:
    """The user a history entry or review stamp names: a signed-in person, or the loader's account."""
    return user if getattr(user, "pk", None) is not None else None


def lock_current(model: type[M], record: M | None) -> M | None:
    """The stored row of ``record``, locked until the transaction ends (None when creating)."""
    if record is None or record.pk is None:
        return None
    current = model.objects.select_for_update().filter(pk=record.pk).first()
    if current is None:
        raise model.DoesNotExist(f"{model._meta.verbose_name} {record.pk} no longer exists.")
    return current


def check_version(current: models.Model | None, expected_version: int | None) -> None:
    """Refuse a write based on a version other than the stored one (None: the writer sent no precondition)."""
    if current is not None and expected_version is not None and current.version != expected_version:
        raise StaleWriteError(current, expected_version, current.version)


def version_bump(instance: models.Model, current_version: int | None) -> None:
    """The one place a record's version is raised: 1 for a new record, the stored version + 1 otherwise."""
    instance.version = 1 if current_version is None else current_version + 1


def apply_changes(current: M | None, model: type[M], data: Mapping[str, Any]) -> M:
    """A fresh copy of the stored row (or a new record) with ``data``'s fields set; the row itself stays as read."""
    instance = model() if current is None else copy.copy(current)
    for name, value in data.items():
        setattr(instance, name, value)
    return instance


def validate(instance: models.Model, *, exclude: Iterable[str] = ()) -> None:
    """The model's field and record validation (quotes located, numbers parsed, dates at their precision)."""
    instance.full_clean(exclude=list(exclude), validate_unique=True, validate_constraints=True)


def unchanged(
    current: models.Model | None, new: models.Model, current_lists: Mapping[str, Any], new_lists: Mapping[str, Any]
) -> bool:
    """True when the write would store exactly what is stored: then nothing is written at all."""
    if current is None:
        return False
    return history.fields_value(current) == history.fields_value(new) and dict(current_lists) == dict(new_lists)


def commit(
    instance: M,
    *,
    current: M | None,
    user: Any,
    reason: str,
    lists: Mapping[str, Any],
    write_lists: Callable[[M], None] | None = None,
) -> M:
    """Bump the version, save the row, write its lists, and write its one history entry (lists included)."""
    version_bump(instance, current.version if current is not None else None)
    instance.updated_at = timezone.now()
    instance.save()
    if write_lists is not None:
        write_lists(instance)
    entry = history.history_entry(
        instance,
        history_type="+" if current is None else "~",
        user=history_user(user),
        reason=reason,
        lists=dict(lists),
    )
    history.history_write([entry])
    return instance


def delete(
    instance: models.Model,
    *,
    model: type[models.Model],
    user: Any,
    reason: str,
    expected_version: int | None,
    date: Any = None,
) -> None:
    """Delete a record after the version check; its history keeps its last values, lists, user and reason, and
    its tombstone (``Deletion``, same time) tells mirrors it is gone.

    Records that only lose a reference to it (a person's affiliation, a subsidiary's parent, an article's
    mentions) get a new version and a history entry, so that the change feed and the history show them too.
    """
    current = lock_current(model, instance)
    check_version(current, expected_version)
    now = date or timezone.now()
    lists = history.lists_read(model, [current.pk]).get(current.pk, {})
    entry = history.history_entry(
        current, history_type="-", user=history_user(user), reason=reason, lists=lists, date=now
    )
    gone = tombstone(current, user=user, reason=reason, date=now)
    references_release(current, user=user, reason=reason, date=now)
    current.delete()
    history.history_write([entry])
    if getattr(current, "status", None) not in PROPOSAL_STATUSES:  # a proposal was never public: no tombstone
        tombstones_write([gone])


def tombstone(
    record: models.Model, *, user: Any, reason: str, date: Any, replaced_by: str = "", article_slug: str | None = None
) -> Deletion:
    """The unsaved tombstone of a record about to be deleted, named as the API names it (``article_slug``
    saves a query per event or figure when the caller knows it)."""
    quoted = isinstance(record, (Event, Figure))
    if quoted and article_slug is None:
        article_slug = Article.objects.filter(pk=record.article_id).values_list("slug", flat=True).get()
    return Deletion(
        type=record._meta.model_name,
        record_id=record.pk,
        slug="" if quoted else record.slug,
        article_slug=article_slug if quoted else "",
        key=record.key if quoted else "",
        version=record.version,
        deleted_at=date,
        replaced_by=replaced_by,
        user=history_user(user),
        reason=reason or "",
    )


def tombstones_write(entries: Sequence[Deletion]) -> None:
    """Write tombstones in bulk: the only place any is written, always in the transaction that deletes."""
    Deletion.objects.bulk_create(entries, batch_size=history.CHUNK)


def records_touch(
    model: type[M], rows: Sequence[M], fields: Sequence[str], *, user: Any, reason: str, date: Any = None
) -> None:
    """Write ``fields`` of records that a write elsewhere changed (a merge, a deletion), each with a new version
    and one history entry (with its lists as they now are); a fixed number of queries, however many rows."""
    rows = list({row.pk: row for row in rows}.values())
    if not rows:
        return
    date = date or timezone.now()
    for row in rows:
        version_bump(row, row.version)
        row.updated_at = date
    model.objects.bulk_update(rows, [*fields, "version", "updated_at"], batch_size=history.CHUNK)
    lists = history.lists_read(model, [row.pk for row in rows])
    history.history_write(
        [
            history.history_entry(
                row, history_type="~", user=history_user(user), reason=reason, lists=lists[row.pk], date=date
            )
            for row in rows
        ]
    )


def references_release(record: models.Model, *, user: Any, reason: str, date: Any) -> None:
    """Before a company or person is deleted: the references the database would clear silently (SET_NULL keys,
    mentions) are cleared here, each changed record with a new version and history entry. References that
    protect the record (figures, participants, publishers) are left for the delete to refuse."""
    if not isinstance(record, (Company, Person)):
        return
    why = f"{record._meta.verbose_name.capitalize()} {record.slug} deleted" + (f": {reason}" if reason else "")
    mentions = getattr(Article, "companies" if isinstance(record, Company) else "people").through
    owner = "company_id" if isinstance(record, Company) else "person_id"
    mentioning = list(mentions.objects.filter(**{owner: record.pk}).values_list("article_id", flat=True))
    if mentioning:
        articles = list(Article.objects.select_for_update().filter(pk__in=mentioning))
        mentions.objects.filter(**{owner: record.pk}).delete()
        records_touch(Article, articles, [], user=user, reason=why, date=date)
    if isinstance(record, Company):
        people = list(Person.objects.select_for_update().filter(affiliation_id=record.pk))
        for person in people:
            person.affiliation = None
        records_touch(Person, people, ["affiliation"], user=user, reason=why, date=date)
        subsidiaries = list(Company.objects.select_for_update().filter(parent_id=record.pk).exclude(pk=record.pk))
        for subsidiary in subsidiaries:
            subsidiary.parent = None
        records_touch(Company, subsidiaries, ["parent"], user=user, reason=why, date=date)


# -- Rules the loader's bulk path imports too -----------------------------------------------------------------


def key_derive(model: type[models.Model], article_id: int | None, text: str, taken: Iterable[str] = ()) -> str:
    """A key for a new event or figure, derived from ``text`` and free within its article."""
    base = slugify(text)[:90].strip("-") or model._meta.model_name
    used = set(taken) | set(
        model.objects.filter(article_id=article_id, key__startswith=base).values_list("key", flat=True)
    )
    key, n = base, 2
    while key in used:
        key, n = f"{base}-{n}", n + 1
    return key


def review_stamp(figure: Figure, previous_status: str | None, user: Any) -> None:
    """A figure whose review status changes names who changed it and when (reported or proposed clears both)."""
    if figure.status == previous_status:
        return
    if figure.status in (ReviewStatus.REPORTED, ReviewStatus.PROPOSED):  # nobody has reviewed these
        figure.reviewed_by, figure.reviewed_at = None, None
    else:
        figure.reviewed_by = user if getattr(user, "is_authenticated", False) else None
        figure.reviewed_at = timezone.now()


def proposal_check(record: Event | Figure, current: Event | Figure | None) -> None:
    """A fact never turns back into a proposal: it would vanish from every public read (and from mirrors' change
    feeds) without a deletion. Delete it, or mark a figure rejected, instead."""
    if current is not None and current.status not in PROPOSAL_STATUSES and record.status in PROPOSAL_STATUSES:
        raise ValidationError(
            {"status": "This record is already a fact; it cannot become a proposal again. Delete it instead."}
        )


CORRECTED_VALUES = ("value", "value_high", "unit", "qualifier")


def correction_note_check(figure: Figure, current: Figure | None) -> None:
    """A correction says why in the same write: a figure that becomes corrected, or whose corrected value
    changes, needs a note written now, not one left by an earlier write (the loader's, say)."""
    if figure.status != ReviewStatus.CORRECTED:
        return
    becomes = current is None or current.status != ReviewStatus.CORRECTED
    value_changes = current is not None and any(
        getattr(current, name) != getattr(figure, name) for name in CORRECTED_VALUES
    )
    if not (becomes or value_changes):
        return
    if not (figure.note or "").strip():
        raise ValidationError({"note": "A corrected figure needs a note that says why the value was changed."})
    if current is not None and (figure.note or "").strip() == (current.note or "").strip():
        raise ValidationError(
            {"note": "Say why you corrected the figure: the note still holds what was written before the correction."}
        )


def quotes_relocate(old_body: str, new_body: str, records: Iterable[Event | Figure]) -> list[str]:
    """Find every record's quote in ``new_body`` and set its offsets; return the records whose quote vanished.

    Where the same words occur more than once, the record keeps the same occurrence (the n-th stays the n-th).
    """
    vanished = []
    for record in records:
        quote = record.quote
        if not quote or quote not in new_body:
            vanished.append(f"{record._meta.model_name} {record.key!r}")
            continue
        nth = old_body.count(quote, 0, record.quote_start) if old_body[record.quote_start :].startswith(quote) else 0
        start = -1
        for _ in range(nth + 1):
            found = new_body.find(quote, start + 1)
            if found < 0:
                break
            start = found
        record.quote_start, record.quote_end = start, start + len(quote)
    return vanished


def quotes_vanished_error(vanished: list[str]) -> ValidationError:
    names = ", ".join(vanished)
    return ValidationError(
        {
            "body": f"The new body no longer contains the quote of {names}. Change or delete "
            f"{'that record' if len(vanished) == 1 else 'those records'} first, or keep the quoted words."
        }
    )


def parent_cycle(slug: str, parent_slug: str | None, parent_of: Callable[[str], str | None]) -> list[str] | None:
    """The chain ``slug → parent → … → slug`` that giving ``slug`` this parent would close, or None."""
    chain = [slug]
    seen = {slug}
    current = parent_slug
    while current is not None:
        chain.append(current)
        if current == slug:
            return chain
        if current in seen:  # an existing cycle above, not through ``slug``
            return None
        seen.add(current)
        current = parent_of(current)
    return None


def involved(article_id: int) -> tuple[set[int], set[int]]:
    """The companies and people an article's events and figures involve (ids); proposals involve no one until an
    editor accepts them."""
    rows = (
        EventParticipant.objects.filter(event__article_id=article_id)
        .exclude(event__status__in=sorted(PROPOSAL_STATUSES))
        .values_list("company_id", "person_id")
    )
    companies = {company for company, _ in rows if company} | set(
        Figure.objects.facts().filter(article_id=article_id, company__isnull=False).values_list("company_id", flat=True)
    )
    people = {person for _, person in rows if person}
    return companies, people


def mentions_close(article: Article, *, user: Any, reason: str) -> None:
    """An article mentions every company and person its events and figures involve: add what is missing
    (the article gets a new version and a history entry saying why)."""
    from .articles import article_save

    companies, people = involved(article.pk)
    has_companies = set(article.companies.values_list("pk", flat=True))
    has_people = set(article.people.values_list("pk", flat=True))
    if companies <= has_companies and people <= has_people:
        return
    why = "Mentions what its events and figures involve" + (f": {reason}" if reason else "")
    article_save(
        article=article,
        data={"companies": sorted(companies | has_companies), "people": sorted(people | has_people)},
        user=user,
        reason=why,
    )
