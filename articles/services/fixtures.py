"""Load the curated data set (``fixtures/``) into the database: validate everything, then write in bulk.

``fixtures_load`` is all-or-nothing. It reads every file, builds unsaved model instances, runs the
same validation as every other write path (``clean_fields`` and ``clean``), resolves every slug, and
only when nothing is wrong writes inside one transaction with bulk queries.

A reload is idempotent and never overwrites an editor's work. Each record stores a fingerprint of
what the loader last wrote. On a reload a record is:
- *unchanged* when the database already holds what the fixture says;
- *updated* when the fixture changed and nobody touched the record since the last load;
- *kept* when the fixture changed but an editor changed the record since (its current values no
  longer match the stored fingerprint), or when an editor reviewed it (a figure verified, corrected,
  disputed or rejected). The editor's version stays.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Prefetch, prefetch_related_objects
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from ..choices import EDITOR_STATUSES, ParticipantRole, ReviewStatus
from ..models import Alias, Article, Company, Event, EventParticipant, Figure, MergedCompany, Person

LOADER_USERNAME = "load_fixtures"
CHANGE_REASON = "load_fixtures"
FIXTURE_SUFFIXES = (".yaml", ".yml", ".json")
CHUNK = 1000
YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

COMPANY_KEYS = {"slug", "name", "kind", "country", "founded_year", "parent", "description", "aliases"}
PERSON_KEYS = {"slug", "name", "title", "affiliation", "description", "aliases"}
ALIAS_KEYS = {"name", "garbled", "note"}
ARTICLE_KEYS = {
    "slug",
    "title",
    "publisher",
    "authors",
    "published_on",
    "published_precision",
    "url",
    "language",
    "translated_from",
    "notes",
    "companies",
    "people",
    "body",
}
EVENT_KEYS = {"key", "title", "summary", "type", "date", "date_precision", "end_date", "participants", "quote", "note"}
PARTICIPANT_KEYS = {"company", "person", "role"}
FIGURE_KEYS = {
    "key",
    "company",
    "subject",
    "metric",
    "as_reported",
    "value",
    "value_high",
    "unit",
    "qualifier",
    "period_start",
    "period_end",
    "period_label",
    "quote",
    "note",
}
TOP_LEVEL_KEYS = {"companies", "people", "article", "events", "figures"}

# The columns the loader owns, per model; fingerprints and updates use exactly these.
COMPANY_FIELDS = ["name", "kind", "country", "founded_year", "description"]
PERSON_FIELDS = ["name", "title", "description"]
ARTICLE_FIELDS = [
    "title",
    "authors",
    "published_on",
    "published_precision",
    "url",
    "language",
    "translated_from",
    "notes",
    "body",
]
EVENT_FIELDS = ["title", "summary", "type", "date", "date_precision", "end_date", "quote", "note"]
FIGURE_FIELDS = [
    "subject",
    "metric",
    "value",
    "value_high",
    "unit",
    "qualifier",
    "as_reported",
    "period_start",
    "period_end",
    "period_label",
    "quote",
    "note",
]


@dataclass(frozen=True)
class Problem:
    """One thing wrong in the fixtures: where, which record, which field, what."""

    file: str
    record: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.record}" if self.record else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class FixtureError(Exception):
    """The fixtures cannot be loaded; nothing was written."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    kept: int = 0


@dataclass
class LoadReport:
    """What a load did, per model."""

    files: list[str]
    dry_run: bool = False
    read_seconds: float = 0.0  # reading, validating and resolving
    write_seconds: float = 0.0  # the transaction
    counts: dict[str, Counts] = field(
        default_factory=lambda: {name: Counts() for name in ("companies", "people", "articles", "events", "figures")}
    )

    @property
    def created(self) -> int:
        return sum(c.created for c in self.counts.values())

    @property
    def updated(self) -> int:
        return sum(c.updated for c in self.counts.values())

    @property
    def kept(self) -> int:
        return sum(c.kept for c in self.counts.values())


# --------------------------------------------------------------------------------------------------
# Reading


@dataclass
class Item:
    """A fixture record turned into an unsaved instance, with its references kept as slugs."""

    source: str
    record: str
    instance: models.Model
    refs: dict[str, Any] = field(default_factory=dict)
    fingerprint: str = ""


@dataclass
class Dataset:
    companies: dict[str, Item] = field(default_factory=dict)
    people: dict[str, Item] = field(default_factory=dict)
    articles: dict[str, Item] = field(default_factory=dict)
    events: dict[tuple[str, str], Item] = field(default_factory=dict)
    figures: dict[tuple[str, str], Item] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    merged: int = 0  # fixture companies an editor has merged into another company


def discover_files(paths: Iterable[str | Path]) -> list[Path]:
    """The fixture files under the given files and folders, in a stable order."""
    files: list[Path] = []
    problems = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in FIXTURE_SUFFIXES and p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            problems.append(Problem(str(path), "", "", "no such file or folder"))
    if problems:
        raise FixtureError(problems)
    if not files:
        raise FixtureError(
            [Problem(", ".join(str(p) for p in paths), "", "", "no fixture files (*.yaml, *.json) found")]
        )
    return files


class _Reader:
    """Turns parsed documents into Items, collecting every problem instead of stopping at the first."""

    def __init__(self) -> None:
        self.data = Dataset()

    def problem(self, source: str, record: str, field_name: str, message: str) -> None:
        self.data.problems.append(Problem(source, record, field_name, message))

    def read_file(self, path: Path) -> None:
        source = str(path)
        try:
            text = path.read_text(encoding="utf-8")
            doc = json.loads(text) if path.suffix == ".json" else yaml.load(text, Loader=YamlLoader)
        except (OSError, UnicodeDecodeError, yaml.YAMLError, ValueError) as exc:
            self.problem(source, "", "", f"cannot be read: {exc}")
            return
        if not isinstance(doc, dict):
            self.problem(source, "", "", "must be a mapping with companies, people, article, events or figures")
            return
        for key in sorted(set(doc) - TOP_LEVEL_KEYS):
            self.problem(source, "", key, f"unknown section (expected one of {', '.join(sorted(TOP_LEVEL_KEYS))})")
        for record in self._records(source, doc, "companies"):
            self.read_company(source, record)
        for record in self._records(source, doc, "people"):
            self.read_person(source, record)
        if "article" in doc:
            self.read_article(source, doc)
        elif doc.get("events") or doc.get("figures"):
            self.problem(source, "", "article", "events and figures need the article they come from")

    def _records(self, source: str, doc: dict, section: str) -> list[dict]:
        records = doc.get(section) or []
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            self.problem(source, "", section, "must be a list of records")
            return []
        return records

    def _check_keys(self, source: str, record_name: str, record: dict, allowed: set[str], required: set[str]) -> bool:
        ok = True
        for key in sorted(set(record) - allowed):
            self.problem(source, record_name, key, f"unknown field (allowed: {', '.join(sorted(allowed))})")
            ok = False
        for key in sorted(required):
            if record.get(key) in (None, ""):
                self.problem(source, record_name, key, "is required")
                ok = False
        return ok

    def _aliases(self, source: str, record_name: str, raw: Any) -> list[tuple[str, bool, str]] | None:
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.problem(source, record_name, "aliases", "must be a list")
            return None
        aliases = []
        for index, alias in enumerate(raw):
            if isinstance(alias, str):
                alias = {"name": alias}
            where = f"{record_name} alias[{index}]"
            if not isinstance(alias, dict) or not self._check_keys(source, where, alias, ALIAS_KEYS, {"name"}):
                if not isinstance(alias, dict):
                    self.problem(source, where, "", "must be a name or a mapping")
                return None
            aliases.append((str(alias["name"]), bool(alias.get("garbled", False)), str(alias.get("note") or "")))
        names = [a[0] for a in aliases]
        for name in sorted({n for n in names if names.count(n) > 1}):
            self.problem(source, record_name, "aliases", f"alias {name!r} is listed twice")
            return None
        return aliases

    def _validate(self, source: str, record_name: str, instance: models.Model, exclude: list[str]) -> bool:
        try:
            instance.clean_fields(exclude=exclude)
            instance.clean()
        except ValidationError as exc:
            for field_name, messages in exc.message_dict.items():
                for message in messages:
                    self.problem(source, record_name, field_name, message)
            return False
        return True

    def _register(self, registry: dict, key: Any, item: Item, field_name: str) -> None:
        if key in registry:
            first = registry[key].source
            where = "earlier in this file" if first == item.source else f"also in {first}"
            self.problem(item.source, item.record, field_name, f"is defined twice ({where}); keys must be unique")
            return
        registry[key] = item

    def read_company(self, source: str, record: dict) -> None:
        name = f"company {record.get('slug')!r}"
        if not self._check_keys(source, name, record, COMPANY_KEYS, {"slug", "name"}):
            return
        aliases = self._aliases(source, name, record.get("aliases"))
        company = Company(
            **{
                k: _text_or_value(record.get(k))
                for k in ("slug", "name", "kind", "country", "description")
                if k in record
            },
            founded_year=record.get("founded_year"),
        )
        if aliases is None or not self._validate(source, name, company, exclude=["parent"]):
            return
        refs = {"parent": record.get("parent"), "aliases": sorted(aliases)}
        self._register(self.data.companies, company.slug, Item(source, name, company, refs), "slug")

    def read_person(self, source: str, record: dict) -> None:
        name = f"person {record.get('slug')!r}"
        if not self._check_keys(source, name, record, PERSON_KEYS, {"slug", "name"}):
            return
        aliases = self._aliases(source, name, record.get("aliases"))
        person = Person(
            **{k: _text_or_value(record.get(k)) for k in ("slug", "name", "title", "description") if k in record}
        )
        if aliases is None or not self._validate(source, name, person, exclude=["affiliation"]):
            return
        refs = {"affiliation": record.get("affiliation"), "aliases": sorted(aliases)}
        self._register(self.data.people, person.slug, Item(source, name, person, refs), "slug")

    def read_article(self, source: str, doc: dict) -> None:
        record = doc["article"]
        if not isinstance(record, dict):
            self.problem(source, "article", "", "must be a mapping")
            return
        name = f"article {record.get('slug')!r}"
        if not self._check_keys(source, name, record, ARTICLE_KEYS, {"slug", "title", "published_on", "body"}):
            return
        values = {k: record[k] for k in ARTICLE_FIELDS + ["slug"] if k in record and record[k] is not None}
        lists = {}
        for key in ("authors", "companies", "people"):
            value = record.get(key) or []
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                self.problem(source, name, key, "must be a list of names")
                return
            lists[key] = value
        values["authors"] = lists["authors"]
        article = Article(**values)
        if not self._coerce_dates(source, name, article, ["published_on"]) or not self._validate(
            source, name, article, exclude=["publisher", "companies", "people"]
        ):
            return
        refs = {"publisher": record.get("publisher"), "companies": lists["companies"], "people": lists["people"]}
        item = Item(source, name, article, refs)
        self._register(self.data.articles, article.slug, item, "slug")
        for record in self._records(source, doc, "events"):
            self.read_event(source, item, record)
        for record in self._records(source, doc, "figures"):
            self.read_figure(source, item, record)

    def _coerce_dates(self, source: str, name: str, instance: models.Model, fields: list[str]) -> bool:
        ok = True
        for field_name in fields:
            value = getattr(instance, field_name)
            if isinstance(value, str):
                try:
                    setattr(instance, field_name, datetime.date.fromisoformat(value))
                except ValueError:
                    self.problem(source, name, field_name, f"{value!r} is not a date (YYYY-MM-DD)")
                    ok = False
            elif isinstance(value, datetime.datetime) or not (value is None or isinstance(value, datetime.date)):
                self.problem(source, name, field_name, f"{value!r} is not a date (YYYY-MM-DD)")
                ok = False
        return ok

    def read_event(self, source: str, article: Item, record: dict) -> None:
        name = f"event {record.get('key')!r}"
        if not self._check_keys(source, name, record, EVENT_KEYS, {"key", "title", "type", "date", "quote"}):
            return
        event = Event(**{k: record[k] for k in EVENT_FIELDS + ["key"] if k in record and record[k] is not None})
        event.article = article.instance
        participants = self._participants(source, name, record.get("participants"))
        if participants is None or not self._coerce_dates(source, name, event, ["date", "end_date"]):
            return
        if not self._validate(source, name, event, exclude=["article"]):
            return
        refs = {"participants": participants}
        self._register(self.data.events, (article.instance.slug, event.key), Item(source, name, event, refs), "key")

    def _participants(self, source: str, name: str, raw: Any) -> list[tuple[str, str, str]] | None:
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.problem(source, name, "participants", "must be a list")
            return None
        result = []
        for index, participant in enumerate(raw):
            where = f"{name} participant[{index}]"
            if not isinstance(participant, dict):
                self.problem(source, where, "", "must be a mapping with company or person, and role")
                return None
            if not self._check_keys(source, where, participant, PARTICIPANT_KEYS, {"role"}):
                return None
            kinds = [k for k in ("company", "person") if participant.get(k)]
            if len(kinds) != 1:
                self.problem(source, where, "company", "name exactly one company or one person")
                return None
            role = participant["role"]
            if role not in ParticipantRole.values:
                self.problem(source, where, "role", f"{role!r} is not a participant role")
                return None
            result.append((kinds[0], str(participant[kinds[0]]), role))
        if len(set(result)) != len(result):
            self.problem(source, name, "participants", "the same participant is listed twice in the same role")
            return None
        return sorted(result)

    def read_figure(self, source: str, article: Item, record: dict) -> None:
        name = f"figure {record.get('key')!r}"
        required = {"key", "metric", "as_reported", "value", "unit", "quote"}
        if not self._check_keys(source, name, record, FIGURE_KEYS, required):
            return
        values = {k: record[k] for k in FIGURE_FIELDS + ["key"] if k in record and record[k] is not None}
        for key in ("value", "value_high"):
            if key in values:
                try:
                    values[key] = Decimal(str(values[key]))
                except InvalidOperation:
                    self.problem(source, name, key, f"{values[key]!r} is not a number")
                    return
        figure = Figure(**values)
        figure.article = article.instance
        company_slug = record.get("company")
        if company_slug:
            # A stand-in so that clean() knows the figure is about a company; resolved to the real one later.
            figure.company = Company(slug=company_slug)
        if not self._coerce_dates(source, name, figure, ["period_start", "period_end"]):
            return
        if not self._validate(source, name, figure, exclude=["article", "company", "reviewed_by"]):
            return
        figure.company = None
        refs = {"company": company_slug}
        self._register(self.data.figures, (article.instance.slug, figure.key), Item(source, name, figure, refs), "key")


def _text_or_value(value: Any) -> Any:
    return "" if value is None else value


def read_fixtures(files: Sequence[Path]) -> Dataset:
    reader = _Reader()
    for path in files:
        reader.read_file(path)
    return reader.data


# --------------------------------------------------------------------------------------------------
# References and fingerprints


def _resolve_references(data: Dataset) -> tuple[dict[str, Company], dict[str, Person]]:
    """Check that every slug the fixtures use exists, in the fixtures or already in the database."""
    wanted_companies: dict[str, list[tuple[Item, str]]] = {}
    wanted_people: dict[str, list[tuple[Item, str]]] = {}

    def want(registry: dict, slug: str | None, item: Item, field_name: str) -> None:
        if slug:
            registry.setdefault(slug, []).append((item, field_name))

    for item in data.companies.values():
        want(wanted_companies, item.refs["parent"], item, "parent")
        if item.refs["parent"] == item.instance.slug:
            data.problems.append(Problem(item.source, item.record, "parent", "a company cannot be its own parent"))
    for item in data.people.values():
        want(wanted_companies, item.refs["affiliation"], item, "affiliation")
    for item in data.articles.values():
        want(wanted_companies, item.refs["publisher"], item, "publisher")
        for slug in item.refs["companies"]:
            want(wanted_companies, slug, item, "companies")
        for slug in item.refs["people"]:
            want(wanted_people, slug, item, "people")
    for item in data.events.values():
        for kind, slug, _role in item.refs["participants"]:
            want(wanted_companies if kind == "company" else wanted_people, slug, item, f"participants.{kind}")
    for item in data.figures.values():
        want(wanted_companies, item.refs["company"], item, "company")

    existing_companies = _in_bulk(Company.objects.all(), "slug", set(wanted_companies) - set(data.companies))
    existing_people = _in_bulk(Person.objects.all(), "slug", set(wanted_people) - set(data.people))
    for wanted, defined, existing, what in (
        (wanted_companies, data.companies, existing_companies, "company"),
        (wanted_people, data.people, existing_people, "person"),
    ):
        for slug, users in sorted(wanted.items()):
            if slug not in defined and slug not in existing:
                for item, field_name in users:
                    data.problems.append(Problem(item.source, item.record, field_name, f"unknown {what} {slug!r}"))
    return existing_companies, existing_people


def _in_bulk(queryset: models.QuerySet, field_name: str, values: Iterable[Any]) -> dict[Any, Any]:
    values = list(values)
    found = {}
    for start in range(0, len(values), CHUNK):
        found.update(queryset.in_bulk(values[start : start + CHUNK], field_name=field_name))
    return found


def _canonical(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{value.quantize(Decimal('0.000001')):f}"
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return value


def fingerprint(instance: models.Model, fields: Sequence[str], refs: dict[str, Any]) -> str:
    """A stable hash of the loader-owned values of a record, with references as slugs."""
    payload = {name: _canonical(getattr(instance, name)) for name in fields}
    payload.update({name: _canonical(value) for name, value in sorted(refs.items())})
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _company_refs(company: Company) -> dict[str, Any]:
    return {
        "parent": company.parent.slug if company.parent_id else None,
        "aliases": sorted((a.name, a.garbled, a.note) for a in company.aliases.all()),
    }


def _person_refs(person: Person) -> dict[str, Any]:
    return {
        "affiliation": person.affiliation.slug if person.affiliation_id else None,
        "aliases": sorted((a.name, a.garbled, a.note) for a in person.aliases.all()),
    }


def _article_refs(article: Article) -> dict[str, Any]:
    return {
        "publisher": article.publisher.slug if article.publisher_id else None,
        "companies": sorted(c.slug for c in article.companies.all()),
        "people": sorted(p.slug for p in article.people.all()),
    }


def _participant_refs(event: Event) -> dict[str, Any]:
    return {
        "participants": sorted(
            ("company", p.company.slug, p.role) if p.company_id else ("person", p.person.slug, p.role)
            for p in event.participants.all()
        )
    }


def _figure_refs(figure: Figure) -> dict[str, Any]:
    return {"company": figure.company.slug if figure.company_id else None}


# --------------------------------------------------------------------------------------------------
# Writing


@dataclass
class Plan:
    """For one model: what to create, what to update (the database row, already changed), and which
    unchanged rows only need their stored fingerprint refreshed."""

    create: list[Item] = field(default_factory=list)
    update: list[models.Model] = field(default_factory=list)
    refresh: list[models.Model] = field(default_factory=list)
    written: list[Item] = field(default_factory=list)  # created and updated; item.instance is what is written


def _plan(
    items: dict[Any, Item],
    existing: dict[Any, models.Model],
    fields: Sequence[str],
    refs_of: Callable[[models.Model], dict[str, Any]],
    counts: Counts,
    prefetch: Sequence[Any] = (),
    reviewed: Callable[[models.Model], bool] = lambda row: False,
    derived: Sequence[str] = (),
) -> Plan:
    """Decide, record by record, whether to create, update, leave or keep (see the module's docstring).

    A row whose version is still the one the loader wrote holds exactly what its stored fingerprint says,
    so only rows changed since (by an editor) have their current values read and fingerprinted; their
    related rows are fetched in bulk, ``prefetch`` naming them.
    """
    plan = Plan()
    now = timezone.now()
    touched = [row for row in existing.values() if row.version != row.fixture_version or not row.fixture_fingerprint]
    prefetch_related_objects(touched, *prefetch)
    for key, item in items.items():
        item.fingerprint = fingerprint(item.instance, fields, item.refs)
        row = existing.get(key)
        if row is None:
            item.instance.fixture_fingerprint = item.fingerprint
            item.instance.fixture_version = item.instance.version
            plan.create.append(item)
            plan.written.append(item)
            counts.created += 1
            continue
        untouched = row.version == row.fixture_version and row.fixture_fingerprint
        current = row.fixture_fingerprint if untouched else fingerprint(row, fields, refs_of(row))
        if current == item.fingerprint:
            counts.unchanged += 1
            if row.fixture_fingerprint != item.fingerprint or row.fixture_version != row.version:
                row.fixture_fingerprint, row.fixture_version = item.fingerprint, row.version
                plan.refresh.append(row)
        elif current != row.fixture_fingerprint or reviewed(row):
            counts.kept += 1
        else:
            for name in list(fields) + list(derived):
                setattr(row, name, getattr(item.instance, name))
            row.version += 1
            row.updated_at = now
            row.fixture_fingerprint, row.fixture_version = item.fingerprint, row.version
            item.instance = row
            plan.update.append(row)
            plan.written.append(item)
            counts.updated += 1
    return plan


def _existing(queryset: models.QuerySet, keys: Iterable[str], lookup: str) -> list[models.Model]:
    keys = list(keys)
    rows: list[models.Model] = []
    for start in range(0, len(keys), CHUNK):
        rows.extend(queryset.filter(**{f"{lookup}__in": keys[start : start + CHUNK]}))
    return rows


class _Writer:
    def __init__(self, data: Dataset, report: LoadReport, user: Any):
        self.data = data
        self.report = report
        self.user = user
        self.companies: dict[str, Company] = {}
        self.people: dict[str, Person] = {}

    def create(self, model: type[models.Model], objs: list[models.Model]) -> list[models.Model]:
        if not objs:
            return []
        return bulk_create_with_history(
            objs, model, batch_size=CHUNK, default_user=self.user, default_change_reason=CHANGE_REASON
        )

    def update(self, model: type[models.Model], objs: list[models.Model], fields: Sequence[str]) -> None:
        if objs:
            bulk_update_with_history(
                objs,
                model,
                list(fields) + ["version", "updated_at", "fixture_fingerprint"],
                batch_size=CHUNK,
                default_user=self.user,
                default_change_reason=CHANGE_REASON,
            )

    def refresh(self, model: type[models.Model], objs: list[models.Model]) -> None:
        if objs:
            model.objects.bulk_update(objs, ["fixture_fingerprint", "fixture_version"], batch_size=CHUNK)

    def write(self, existing_companies: dict[str, Company], existing_people: dict[str, Person]) -> None:
        self.companies.update(existing_companies)
        self.people.update(existing_people)
        self.write_companies()
        self.write_people()
        self.write_articles()
        self.write_events()
        self.write_figures()

    def write_companies(self) -> None:
        items = self.data.companies
        existing = {c.slug: c for c in _existing(Company.objects.select_related("parent"), items, "slug")}
        plan = _plan(
            items, existing, COMPANY_FIELDS, _company_refs, self.report.counts["companies"], prefetch=["aliases"]
        )
        self.companies.update(existing)
        self.companies.update({item.instance.slug: item.instance for item in plan.create})
        # Parents first: a new company may be the parent of another new one.
        pending = list(plan.create)
        while pending:
            ready = [i for i in pending if not i.refs["parent"] or self.companies[i.refs["parent"]].pk]
            if not ready:
                raise FixtureError([Problem(i.source, i.record, "parent", "parents form a cycle") for i in pending])
            for item in ready:
                item.instance.parent = self.companies[item.refs["parent"]] if item.refs["parent"] else None
            self.create(Company, [i.instance for i in ready])
            pending = [i for i in pending if i not in ready]
        for item in plan.written:
            parent = item.refs["parent"]
            item.instance.parent = self.companies[parent] if parent else None
        self.update(Company, plan.update, COMPANY_FIELDS + ["parent"])
        self.refresh(Company, plan.refresh)
        self._replace_aliases("company", plan)

    def _replace_aliases(self, owner: str, plan: Plan) -> None:
        if plan.update:
            Alias.objects.filter(**{f"{owner}__in": plan.update}).delete()
        aliases = [
            Alias(**{owner: item.instance}, name=name, garbled=garbled, note=note)
            for item in plan.written
            for name, garbled, note in item.refs["aliases"]
        ]
        self.create(Alias, aliases)

    def write_people(self) -> None:
        items = self.data.people
        existing = {p.slug: p for p in _existing(Person.objects.select_related("affiliation"), items, "slug")}
        plan = _plan(items, existing, PERSON_FIELDS, _person_refs, self.report.counts["people"], prefetch=["aliases"])
        for item in plan.written:
            slug = item.refs["affiliation"]
            item.instance.affiliation = self.companies[slug] if slug else None
        self.create(Person, [i.instance for i in plan.create])
        self.update(Person, plan.update, PERSON_FIELDS + ["affiliation"])
        self.refresh(Person, plan.refresh)
        self.people.update(existing)
        self.people.update({i.instance.slug: i.instance for i in plan.create})
        self._replace_aliases("person", plan)

    def write_articles(self) -> None:
        items = self.data.articles
        queryset = Article.objects.select_related("publisher")
        existing = {a.slug: a for a in _existing(queryset, items, "slug")}
        plan = _plan(
            items,
            existing,
            ARTICLE_FIELDS,
            _article_refs,
            self.report.counts["articles"],
            prefetch=["companies", "people"],
        )
        for item in plan.written:
            slug = item.refs["publisher"]
            item.instance.publisher = self.companies[slug] if slug else None
        self.create(Article, [i.instance for i in plan.create])
        self.update(Article, plan.update, ARTICLE_FIELDS + ["publisher"])
        self.refresh(Article, plan.refresh)
        self.articles = dict(existing)
        self.articles.update({i.instance.slug: i.instance for i in plan.create})
        written = [i.instance for i in plan.written]
        if plan.update:
            Article.companies.through.objects.filter(article__in=plan.update).delete()
            Article.people.through.objects.filter(article__in=plan.update).delete()
        Article.companies.through.objects.bulk_create(
            [
                Article.companies.through(article_id=a.pk, company_id=self.companies[slug].pk)
                for a in written
                for slug in items[a.slug].refs["companies"]
            ],
            batch_size=CHUNK,
        )
        Article.people.through.objects.bulk_create(
            [
                Article.people.through(article_id=a.pk, person_id=self.people[slug].pk)
                for a in written
                for slug in items[a.slug].refs["people"]
            ],
            batch_size=CHUNK,
        )

    def _attach_article(self, items: dict[tuple[str, str], Item]) -> None:
        for (article_slug, _key), item in items.items():
            item.instance.article = self.articles[article_slug]

    def _existing_children(self, queryset: models.QuerySet, items: dict) -> dict[tuple[str, str], models.Model]:
        slugs = sorted({article_slug for article_slug, _ in items})
        return {(row.article.slug, row.key): row for row in _existing(queryset, slugs, "article__slug")}

    def write_events(self) -> None:
        items = self.data.events
        self._attach_article(items)
        participants = EventParticipant.objects.select_related("company", "person")
        existing = self._existing_children(Event.objects.select_related("article"), items)
        derived = ["quote_start", "quote_end", "date_latest"]
        plan = _plan(
            items,
            existing,
            EVENT_FIELDS,
            _participant_refs,
            self.report.counts["events"],
            prefetch=[Prefetch("participants", participants)],
            derived=derived,
        )
        self.create(Event, [i.instance for i in plan.create])
        self.update(Event, plan.update, EVENT_FIELDS + derived)
        self.refresh(Event, plan.refresh)
        if plan.update:
            EventParticipant.objects.filter(event__in=plan.update).delete()
        rows = []
        for item in plan.written:
            for kind, slug, role in item.refs["participants"]:
                target = {"company": self.companies[slug]} if kind == "company" else {"person": self.people[slug]}
                rows.append(EventParticipant(event=item.instance, role=role, **target))
        self.create(EventParticipant, rows)

    def write_figures(self) -> None:
        items = self.data.figures
        self._attach_article(items)
        queryset = Figure.objects.select_related("article", "company")
        existing = self._existing_children(queryset, items)
        derived = ["quote_start", "quote_end"]
        plan = _plan(
            items,
            existing,
            FIGURE_FIELDS,
            _figure_refs,
            self.report.counts["figures"],
            reviewed=lambda row: row.status in EDITOR_STATUSES,
            derived=derived,
        )
        for item in plan.written:
            slug = item.refs["company"]
            item.instance.company = self.companies[slug] if slug else None
        for item in plan.create:
            item.instance.status = ReviewStatus.REPORTED
        self.create(Figure, [i.instance for i in plan.create])
        self.update(Figure, plan.update, FIGURE_FIELDS + derived + ["company"])
        self.refresh(Figure, plan.refresh)


def loader_user() -> Any:
    """The account history entries of the loader are attributed to; it cannot log in."""
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username=LOADER_USERNAME, defaults={"is_active": False, "first_name": "load_fixtures"}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def _follow_merges(data: Dataset) -> None:
    """Resolve slugs of companies an editor merged away to their survivors, and drop their definitions.

    Without this a reload would bring a merged duplicate back.
    """
    redirects = dict(MergedCompany.objects.values_list("slug", "into__slug"))
    if not redirects:
        return

    def follow(slug: str | None) -> str | None:
        return redirects.get(slug, slug) if slug else slug

    for slug in [slug for slug in data.companies if slug in redirects]:
        del data.companies[slug]
        data.merged += 1
    for item in data.companies.values():
        item.refs["parent"] = follow(item.refs["parent"])
    for item in data.people.values():
        item.refs["affiliation"] = follow(item.refs["affiliation"])
    for item in data.articles.values():
        item.refs["publisher"] = follow(item.refs["publisher"])
        item.refs["companies"] = sorted({follow(slug) for slug in item.refs["companies"]})
    for item in data.events.values():
        item.refs["participants"] = sorted(
            {
                (kind, follow(slug) if kind == "company" else slug, role)
                for kind, slug, role in item.refs["participants"]
            }
        )
    for item in data.figures.values():
        item.refs["company"] = follow(item.refs["company"])


def _add_mentions(data: Dataset) -> None:
    """An article mentions every company and person its events and figures involve."""
    companies = {slug: set(item.refs["companies"]) for slug, item in data.articles.items()}
    people = {slug: set(item.refs["people"]) for slug, item in data.articles.items()}
    for (article_slug, _), event in data.events.items():
        for kind, ref, _role in event.refs["participants"]:
            (companies if kind == "company" else people)[article_slug].add(ref)
    for (article_slug, _), figure in data.figures.items():
        if figure.refs["company"]:
            companies[article_slug].add(figure.refs["company"])
    for slug, item in data.articles.items():
        item.refs["companies"] = sorted(companies[slug])
        item.refs["people"] = sorted(people[slug])


def fixtures_load(*, paths: Sequence[str | Path], dry_run: bool = False) -> LoadReport:
    """Validate every fixture under ``paths`` and write them in one transaction; all or nothing.

    Raises FixtureError (naming file, record and field of every problem) and writes nothing when
    anything is wrong. With ``dry_run`` everything is checked and counted, then rolled back.
    """
    started = time.perf_counter()
    files = discover_files(paths)
    data = read_fixtures(files)
    _follow_merges(data)
    existing_companies, existing_people = _resolve_references(data)
    if data.problems:
        raise FixtureError(data.problems)
    _add_mentions(data)
    report = LoadReport(files=[str(f) for f in files], dry_run=dry_run)
    report.counts["companies"].kept += data.merged
    report.read_seconds = time.perf_counter() - started
    with transaction.atomic():
        _Writer(data, report, loader_user()).write(existing_companies, existing_people)
        if dry_run:
            transaction.set_rollback(True)
    report.write_seconds = time.perf_counter() - started - report.read_seconds
    return report
