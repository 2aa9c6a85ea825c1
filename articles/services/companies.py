"""Merging duplicate companies into one.

The press spells one company many ways; when two records turn out to be the same company, an editor
merges them. Everything that pointed at a duplicate then points at the survivor, the duplicates' names
and aliases become the survivor's aliases, and the duplicates are deleted. Every row the merge writes
leaves a history entry naming the editor and the reason.
"""

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import models, transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from ..models import Alias, Article, Company, Event, EventParticipant, Figure, MergedCompany, Person
from .records import history_snapshot_related, record_save

CHUNK = 1000


class CompanyMergeError(ValueError):
    """The merge was asked for something that makes no sense; nothing was written."""


def merge_reason(survivor: Company, reason: str = "") -> str:
    """The change reason every history entry of a merge carries: what happened, then the editor's why."""
    text = f"Merged into {survivor.slug}"
    if reason.strip():
        text = f"{text}: {reason.strip()}"
    return text


def _history_user(user: Any) -> Any:
    return user if getattr(user, "is_authenticated", False) else None


def _delete_with_history(objs: Iterable[models.Model], user: Any, reason: str) -> None:
    for obj in objs:
        obj._history_user = _history_user(user)
        obj._change_reason = reason
        obj.delete()


def _save_versions(
    model: type[models.Model], rows: Sequence[models.Model], fields: Sequence[str], user: Any, reason: str
) -> None:
    """Write ``fields`` of versioned records with a new version each and one history entry each."""
    now = timezone.now()
    for row in rows:
        row.version += 1
        row.updated_at = now
    if rows:
        bulk_update_with_history(
            rows,
            model,
            [*fields, "version", "updated_at"],
            batch_size=CHUNK,
            default_user=_history_user(user),
            default_change_reason=reason,
        )


def _repoint_records(
    model: type[models.Model], field: str, rows: Sequence[models.Model], target: Company, user: Any, reason: str
) -> int:
    """Point ``field`` of versioned records at ``target``."""
    for row in rows:
        setattr(row, field, target)
    _save_versions(model, rows, [field], user, reason)
    return len(rows)


def _bump(model: type[models.Model], rows: Sequence[models.Model], user: Any, reason: str) -> None:
    """A new version and a history entry for records whose related rows the merge changed."""
    _save_versions(model, rows, [], user, reason)


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

    # Lock every company involved so that nobody edits them halfway through.
    locked = {c.pk: c for c in Company.objects.select_for_update().filter(pk__in=[survivor.pk, *duplicate_ids])}
    missing = duplicate_ids - set(locked)
    if survivor.pk not in locked or missing:
        raise CompanyMergeError("A company to merge no longer exists; reload the page.")
    survivor = locked[survivor.pk]
    dups = sorted((locked[pk] for pk in duplicate_ids), key=lambda c: c.pk)
    why = merge_reason(survivor, reason)
    moved: dict[str, int] = {}

    published = list(Article.objects.filter(publisher_id__in=duplicate_ids))
    moved["publisher"] = _repoint_records(Article, "publisher", published, survivor, user, why)
    moved["figures"] = _repoint_records(
        Figure, "company", list(Figure.objects.filter(company_id__in=duplicate_ids)), survivor, user, why
    )
    people = list(Person.objects.filter(affiliation_id__in=duplicate_ids))
    moved["people"] = _repoint_records(Person, "affiliation", people, survivor, user, why)
    history_snapshot_related(Person, people)
    subsidiaries = Company.objects.filter(parent_id__in=duplicate_ids).exclude(pk__in=[survivor.pk, *duplicate_ids])
    subsidiaries = list(subsidiaries)
    moved["subsidiaries"] = _repoint_records(Company, "parent", subsidiaries, survivor, user, why)
    history_snapshot_related(Company, subsidiaries)

    # Mentions: a plain many-to-many table (no history); an article that mentions both keeps one row.
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
            collisions.append(participant)
        else:
            taken.add((participant.event_id, participant.role))
            participant.company = survivor
            participants.append(participant)
    _delete_with_history(collisions, user, why)
    if participants:
        bulk_update_with_history(
            participants,
            EventParticipant,
            ["company"],
            batch_size=CHUNK,
            default_user=_history_user(user),
            default_change_reason=why,
        )
    moved["participants"] = len(participants)
    # The events and articles whose participants or mentions changed are changed records too: new version
    # (stale pages are refused, the loader sees an editor's change) and a history entry saying why.
    events = Event.objects.filter(pk__in={p.event_id for p in [*participants, *collisions]}).order_by("pk")
    events = list(events)
    _bump(Event, events, user, why)
    history_snapshot_related(Event, events)
    articles = list(Article.objects.filter(pk__in=mention_articles).order_by("pk"))
    _bump(Article, articles, user, why)
    # Their new history entries show their mention lists as the merge left them.
    history_snapshot_related(Article, [*published, *articles])

    # Names: every spelling of a duplicate becomes a spelling of the survivor, once.
    names = {survivor.name, *Alias.objects.filter(company_id=survivor.pk).values_list("name", flat=True)}
    aliases, redundant = [], []
    for alias in Alias.objects.filter(company_id__in=duplicate_ids).order_by("pk"):
        if alias.name in names:
            redundant.append(alias)
        else:
            names.add(alias.name)
            alias.company = survivor
            aliases.append(alias)
    _delete_with_history(redundant, user, why)
    if aliases:
        bulk_update_with_history(
            aliases,
            Alias,
            ["company"],
            batch_size=CHUNK,
            default_user=_history_user(user),
            default_change_reason=why,
        )
    new_aliases = []
    for dup in dups:
        if dup.name not in names:
            names.add(dup.name)
            new_aliases.append(Alias(company=survivor, name=dup.name, note=f"Name of {dup.slug}, merged into this."))
    if new_aliases:
        bulk_create_with_history(new_aliases, Alias, default_user=_history_user(user), default_change_reason=why)
    moved["aliases"] = len(aliases) + len(new_aliases)

    new_parent = _new_parent(survivor, duplicate_ids, locked)
    if survivor.parent_id != (new_parent.pk if new_parent else None):
        survivor.parent = new_parent
    # Remember where each duplicate went, so that a reload of the fixtures does not bring it back.
    MergedCompany.objects.filter(into_id__in=duplicate_ids).update(into=survivor)
    MergedCompany.objects.bulk_create(
        [
            MergedCompany(slug=dup.slug, name=dup.name, into=survivor, merged_by=_history_user(user), reason=why)
            for dup in dups
        ]
    )
    # Refresh the duplicates from the database: their parents may have moved above.
    _delete_with_history(Company.objects.filter(pk__in=duplicate_ids).order_by("pk"), user, why)
    # The survivor's own history entry says that the merge happened, by whom and why.
    record_save(instance=survivor, user=user, reason=why)
    moved["companies"] = len(dups)
    return moved
