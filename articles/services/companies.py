"""Merging duplicate companies into one.

The press spells one company many ways; when two records turn out to be the same company, an editor
merges them. Everything that pointed at a duplicate then points at the survivor, the duplicates' names
and aliases become the survivor's aliases, and the duplicates are deleted. Every row the merge writes
leaves a history entry naming the editor and the reason.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from ..models import Alias, Article, Company, Event, EventParticipant, Figure, MergedCompany, Person
from . import base, history
from .people import name_record_save

CHUNK = 1000


class CompanyMergeError(ValueError):
    """The merge was asked for something that makes no sense; nothing was written."""


def parent_cycle_check(company: Company) -> None:
    """Refuse a parent that would make the company its own ancestor (a → b → a), however long the chain."""
    if not company.parent_id:
        return
    if company.pk is None:  # a new company has no descendants yet
        return
    parents = dict(Company.objects.values_list("slug", "parent__slug"))
    parents[company.slug] = None
    parent_slug = Company.objects.filter(pk=company.parent_id).values_list("slug", flat=True).first()
    chain = base.parent_cycle(company.slug, parent_slug, parents.get)
    if chain:
        raise ValidationError({"parent": f"That parent would make a cycle: {' → '.join(chain)}."})


@transaction.atomic
def company_save(
    *,
    company: Company | None = None,
    data: Mapping[str, Any],
    user: Any,
    reason: str = "",
    expected_version: int | None = None,
) -> Company:
    """Create (``company=None``) or change a company as ``user``; all or nothing.

    ``data`` holds the fields to set and, optionally, ``aliases``: the whole list, as names or mappings of
    ``name``, ``garbled`` and ``note``. The stored row is locked and version-checked; text is normalised; a
    parent that would close a cycle (a → b → a) is refused; a write that changes nothing writes nothing;
    otherwise version bump, save, aliases and one history entry with them.
    """
    return name_record_save(
        Company,
        record=company,
        data=data,
        user=user,
        reason=reason,
        expected_version=expected_version,
        check=parent_cycle_check,
    )


@transaction.atomic
def company_delete(*, company: Company, user: Any, reason: str = "", expected_version: int | None = None) -> None:
    """Delete a company (refused while a record refers to it: ProtectedError)."""
    base.delete(company, model=Company, user=user, reason=reason, expected_version=expected_version)


def merge_reason(survivor: Company, reason: str = "") -> str:
    """The change reason every history entry of a merge carries: what happened, then the editor's why."""
    text = f"Merged into {survivor.slug}"
    if reason.strip():
        text = f"{text}: {reason.strip()}"
    return text


def _new_versions(
    model: type[models.Model], rows: Sequence[models.Model], fields: Sequence[str], user: Any, reason: str
) -> None:
    """Write ``fields`` of records a merge changed, each with a new version and one history entry (with its
    lists as the merge left them)."""
    base.records_touch(model, rows, fields, user=user, reason=reason)


def _new_parent(survivor: Company, merged_ids: set[int], companies: dict[int, Company]) -> Company | None:
    """The survivor's parent after the merge: when it was one of the duplicates, that duplicate's own parent."""
    parent_id = survivor.parent_id
    seen: set[int] = set()
    while parent_id in merged_ids and parent_id not in seen:
        seen.add(parent_id)
        parent_id = companies[parent_id].parent_id if parent_id in companies else None
    if parent_id is None or parent_id in merged_ids or parent_id == survivor.pk:
        return None
    return Company.objects.get(pk=parent_id)


@transaction.atomic
def company_merge(*, survivor: Company, duplicates: Sequence[Company], user: Any, reason: str = "") -> dict[str, int]:
    """Merge ``duplicates`` into ``survivor`` and delete them; all or nothing.

    Re-points every article's publisher and mentions, event participant (a participant that would then
    appear twice in the same role is removed), figure, person's affiliation, subsidiary and alias. The
    duplicates' names and aliases become aliases of the survivor (a name the survivor already has is
    not repeated). Nothing else about the survivor changes. Returns how many rows of each kind moved.
    """
    duplicate_ids = {d.pk for d in duplicates}
    if not duplicate_ids:
        raise CompanyMergeError("Choose at least one company to merge into the survivor.")
    if survivor.pk in duplicate_ids:
        raise CompanyMergeError(f"{survivor.name} cannot be merged into itself.")

    base.triggers_planned_once()  # thousands of rows move, each through the counts' and search triggers
    # Lock every company involved so that nobody edits them halfway through.
    locked = {c.pk: c for c in Company.objects.select_for_update().filter(pk__in=[survivor.pk, *duplicate_ids])}
    missing = duplicate_ids - set(locked)
    if survivor.pk not in locked or missing:
        raise CompanyMergeError("A company to merge no longer exists; reload the page.")
    survivor = locked[survivor.pk]
    dups = sorted((locked[pk] for pk in duplicate_ids), key=lambda c: c.pk)
    why = merge_reason(survivor, reason)
    moved: dict[str, int] = {}

    # The duplicates' last history entries keep the aliases they had.
    final_lists = history.lists_read(Company, [dup.pk for dup in dups])

    # Mentions: an article that mentions both keeps one row.
    through = Article.companies.through
    mentioned = set(through.objects.filter(company_id=survivor.pk).values_list("article_id", flat=True))
    repoint, drop = [], []
    mention_articles = set()
    for row in through.objects.filter(company_id__in=duplicate_ids).order_by("pk"):
        mention_articles.add(row.article_id)
        if row.article_id in mentioned:
            drop.append(row.pk)
        else:
            mentioned.add(row.article_id)
            row.company_id = survivor.pk
            repoint.append(row)
    for start in range(0, len(drop), CHUNK):
        through.objects.filter(pk__in=drop[start : start + CHUNK]).delete()
    through.objects.bulk_update(repoint, ["company"], batch_size=CHUNK)
    moved["mentions"] = len(repoint)

    # Participants: the same company twice in the same role of one event would break a constraint.
    taken = set(EventParticipant.objects.filter(company_id=survivor.pk).values_list("event_id", "role"))
    participants, collisions = [], []
    for participant in EventParticipant.objects.filter(company_id__in=duplicate_ids).order_by("pk"):
        if (participant.event_id, participant.role) in taken:
            collisions.append(participant.pk)
        else:
            taken.add((participant.event_id, participant.role))
            participant.company = survivor
            participants.append(participant)
    touched_events = {p.event_id for p in participants} | set(
        EventParticipant.objects.filter(pk__in=collisions).values_list("event_id", flat=True)
    )
    EventParticipant.objects.filter(pk__in=collisions).delete()
    EventParticipant.objects.bulk_update(participants, ["company"], batch_size=CHUNK)
    moved["participants"] = len(participants)

    # Names: every spelling of a duplicate becomes a spelling of the survivor, once.
    names = {survivor.name, *Alias.objects.filter(company_id=survivor.pk).values_list("name", flat=True)}
    aliases, redundant = [], []
    for alias in Alias.objects.filter(company_id__in=duplicate_ids).order_by("pk"):
        if alias.name in names:
            redundant.append(alias.pk)
        else:
            names.add(alias.name)
            alias.company = survivor
            aliases.append(alias)
    Alias.objects.filter(pk__in=redundant).delete()
    Alias.objects.bulk_update(aliases, ["company"], batch_size=CHUNK)
    new_aliases = []
    for dup in dups:
        if dup.name not in names:
            names.add(dup.name)
            new_aliases.append(Alias(company=survivor, name=dup.name, note=f"Name of {dup.slug}, merged into this."))
    Alias.objects.bulk_create(new_aliases)
    moved["aliases"] = len(aliases) + len(new_aliases)

    # Records pointing at a duplicate point at the survivor; every record the merge changed (its references or
    # its lists) gets a new version, so stale pages are refused and the loader sees an editor's change.
    published = list(Article.objects.filter(publisher_id__in=duplicate_ids))
    for article in published:
        article.publisher = survivor
    figures = list(Figure.objects.filter(company_id__in=duplicate_ids))
    for figure in figures:
        figure.company = survivor
    people = list(Person.objects.filter(affiliation_id__in=duplicate_ids))
    for person in people:
        person.affiliation = survivor
    subsidiaries = list(
        Company.objects.filter(parent_id__in=duplicate_ids).exclude(pk__in=[survivor.pk, *duplicate_ids])
    )
    for subsidiary in subsidiaries:
        subsidiary.parent = survivor
    moved["publisher"], moved["figures"] = len(published), len(figures)
    moved["people"], moved["subsidiaries"] = len(people), len(subsidiaries)
    mentioning = [a for a in Article.objects.filter(pk__in=mention_articles) if a.pk not in {p.pk for p in published}]
    _new_versions(Article, [*published, *mentioning], ["publisher"], user, why)
    _new_versions(Figure, figures, ["company"], user, why)
    _new_versions(Person, people, ["affiliation"], user, why)
    _new_versions(Company, subsidiaries, ["parent"], user, why)
    _new_versions(Event, list(Event.objects.filter(pk__in=touched_events)), [], user, why)

    new_parent = _new_parent(survivor, duplicate_ids, locked)
    if survivor.parent_id != (new_parent.pk if new_parent else None):
        survivor.parent = new_parent
    # Remember where each duplicate went, so that a reload of the fixtures does not bring it back.
    MergedCompany.objects.filter(into_id__in=duplicate_ids).update(into=survivor)
    MergedCompany.objects.bulk_create(
        [
            MergedCompany(slug=dup.slug, name=dup.name, into=survivor, merged_by=base.history_user(user), reason=why)
            for dup in dups
        ]
    )
    # The duplicates go, each with a last history entry and a tombstone naming the survivor; the survivor's own
    # entry says that the merge happened.
    now = timezone.now()
    gone = list(Company.objects.filter(pk__in=duplicate_ids).order_by("pk"))
    entries = [
        history.history_entry(
            dup, history_type="-", user=base.history_user(user), reason=why, lists=final_lists[dup.pk], date=now
        )
        for dup in gone
    ]
    tombstones = [base.tombstone(dup, user=user, reason=why, date=now, replaced_by=survivor.slug) for dup in gone]
    Company.objects.filter(pk__in=duplicate_ids).delete()
    history.history_write(entries)
    base.tombstones_write(tombstones)
    _new_versions(Company, [survivor], ["parent"], user, why)
    moved["companies"] = len(dups)
    return moved
