"""List pages and exports read with ``.values()``: the serializers' JSON, without their per-field overhead.

A list page is read-only, so it does not need a serializer's validation machinery: each resource declares here
the columns of one row (a name and the lookup it reads) and the lists a row holds (aliases, participants, the
companies an article mentions), each read for the whole page in one query. ``tests/test_api_rows.py`` checks that
every row equals what the resource's serializer gives for the same record, so the two cannot drift apart.

The same declarations fix an export's columns (CSV and JSON Lines): they belong to the resource, not to whatever
a page happens to hold.
"""

import contextlib
import datetime
import decimal
import operator
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.db.models import CharField, Expression, F, Func, OuterRef, QuerySet, Subquery
from django.urls import reverse
from django.utils import timezone

from articles.models import Alias, Article, EventParticipant, Figure

from . import attribution


def _date(value: datetime.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _datetime(value: datetime.datetime | None) -> str | None:
    # As DRF's DateTimeField writes it: in the current time zone, ISO 8601, UTC as "Z".
    if value is None:
        return None
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _datetime_utc(value: datetime.datetime | None) -> str | None:
    # _datetime when the current time zone is UTC (the default), without asking for it per value: that lookup
    # (a context-local read) was a tenth of a list page's CPU time.
    if value is None:
        return None
    return value.astimezone(datetime.UTC).isoformat()[:-6] + "Z"


def _utc_text(value: str | None) -> str | None:
    # _datetime in UTC, from the text PostgreSQL wrote (``UtcText``): as Python writes it, without ".000000".
    if value is None:
        return None
    return value[:-8] + "Z" if value.endswith(".000000Z") else value


class UtcText(Func):
    """A timestamp as the API writes it in UTC (``2024-01-01T09:30:00.123456Z``), written by PostgreSQL: reading it
    as a ``datetime`` (Django's loader is Python: 3 µs each) and writing it out again cost a tenth of a list page's
    CPU time (two per row)."""

    template = "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    output_field = CharField()


def _utc_as_text(queryset: QuerySet) -> bool:
    """Whether datetimes are read as text (``UtcText``): on PostgreSQL, when the current time zone is UTC."""
    return connections[queryset.db].vendor == "postgresql" and timezone.get_current_timezone_name() == "UTC"


def _converters(columns: Sequence["Column"], utc_text: bool = False) -> list[Callable[[Any], Any] | None]:
    """Each column's converter for this request (``_datetime`` becomes ``_datetime_utc`` in UTC, or ``_utc_text``
    when PostgreSQL writes the text)."""
    utc = timezone.get_current_timezone_name() == "UTC"
    fast = _utc_text if utc_text else _datetime_utc
    return [fast if utc and c.convert is _datetime else c.convert for c in columns]


def _decimal(places: int) -> Callable[[decimal.Decimal | None], str | None]:
    exponent = decimal.Decimal(1).scaleb(-places)

    def convert(value: decimal.Decimal | None) -> str | None:
        return None if value is None else format(value.quantize(exponent), "f")

    return convert


@dataclass(frozen=True)
class Column:
    """One value of a row: ``name`` in the output, read from ``path`` (a ``.values()`` lookup, or an expression)."""

    name: str
    path: str | Expression
    convert: Callable[[Any], Any] | None = None
    #: ``path`` is a user (a foreign key): named as ``attribution`` names users for the request.
    user: bool = False


@dataclass(frozen=True)
class Nested:
    """A list each row holds, read for a whole page at once: ``read(ids)`` gives ``{row id: [item, ...]}``."""

    name: str
    read: Callable[[list[int]], dict[int, list]]
    #: How an export writes the list in one CSV cell.
    cell: Callable[[list], str]


@dataclass(frozen=True)
class Rows:
    """How one resource's rows are read: the detail view's name (for ``api_url``), the lookup in its address,
    the columns and the lists. ``read`` gives the rows of a page; ``stream`` every row of a result set."""

    detail_view: str
    lookup: str
    columns: tuple[Column, ...]
    nested: tuple[Nested, ...] = ()
    #: Output order, which the serializers' fields follow (``api_url`` follows ``id``; the lists take their places).
    order: tuple[str, ...] = field(default=())
    #: The record's public page (``page_url``), addressed by the same lookup; None for records without one.
    page_view: str | None = None

    def paths(self, utc_text: bool = False) -> dict[str, F]:
        paths = {
            f"_c{i}": F(column.path) if isinstance(column.path, str) else column.path
            for i, column in enumerate(self.columns)
        }
        if utc_text:
            for i, column in enumerate(self.columns):
                if column.convert is _datetime:
                    paths[f"_c{i}"] = UtcText(paths[f"_c{i}"])
        for i, column in enumerate(self.columns):
            if column.user:
                paths.update({f"_c{i}_{name}": F(f"{column.path}__{name}") for name in attribution.NAME_FIELDS})
        return paths

    def url_prefix(self, request) -> str:
        # "/api/figures/0/" with the 0 cut off: every row's address is this prefix, its lookup and a slash.
        sample = reverse(self.detail_view, kwargs={"pk" if self.lookup == "id" else self.lookup: "0"})
        return request.build_absolute_uri(sample[:-2])

    def page_prefix(self, api_prefix: str) -> str | None:
        """The addresses of the records' pages, on the host ``api_prefix`` (from ``url_prefix``) names."""
        if self.page_view is None:
            return None
        api_path = reverse(self.detail_view, kwargs={"pk" if self.lookup == "id" else self.lookup: "0"})[:-2]
        return api_prefix.removesuffix(api_path) + reverse(self.page_view, kwargs={self.lookup: "0"})[:-2]

    def read(self, queryset: QuerySet, request, extra: dict[str, str] | None = None) -> list[dict]:
        """The rows of one page (``queryset`` is already sliced); ``extra`` adds lookups under given names."""
        utc_text = _utc_as_text(queryset)
        paths = self.paths(utc_text)
        raw = list(queryset.values(**paths, **{name: F(path) for name, path in (extra or {}).items()}))
        usernames = attribution.sees_usernames(request)
        return self._build(raw, self.url_prefix(request), extra or {}, usernames=usernames, utc_text=utc_text)

    def stream(self, queryset: QuerySet, request, chunk_size: int = 2000) -> Iterator[dict]:
        """Every row of ``queryset``, read through a server-side cursor in chunks; memory stays flat.

        Outside a transaction Django declares the cursor ``WITH HOLD``, so PostgreSQL runs the whole query when it is
        declared and keeps the rows on its side: the first row comes after that (0.7-1.3 s for 200,000 figures), and
        the table locks and the snapshot go with the declaring transaction. Read in a transaction, the first row
        came in 30-340 ms and the whole took as long, but the locks would be held until a slow client had downloaded
        the last row, and a migration waiting behind them would hold up every other request: so only where it must
        (``_cursor_transaction``)."""
        prefix = self.url_prefix(request)
        usernames = attribution.sees_usernames(request)
        utc_text = _utc_as_text(queryset)
        chunk: list[dict] = []
        with _cursor_transaction(queryset.db):
            for row in queryset.values(**self.paths(utc_text)).iterator(chunk_size=chunk_size):
                chunk.append(row)
                if len(chunk) == chunk_size:
                    yield from self._build(chunk, prefix, {}, usernames=usernames, utc_text=utc_text)
                    chunk = []
            if chunk:
                yield from self._build(chunk, prefix, {}, usernames=usernames, utc_text=utc_text)

    def _build(
        self, raw: list[dict], prefix: str, extra: dict[str, str], *, usernames: bool = False, utc_text: bool = False
    ) -> list[dict]:
        # Each row starts as the raw values in output order (one itemgetter and one dict, both in C); then only the
        # values to convert, the addresses and the lists are replaced, which keeps their places.
        if not raw:
            return []
        ids = [row["_c0"] for row in raw]
        lists = [(nested.name, nested.read(ids)) for nested in self.nested]
        by_name = {column.name: f"_c{i}" for i, column in enumerate(self.columns)}
        lookup = by_name[self.lookup]
        # api_url, page_url and the lists hold the row's id until they are replaced.
        placeholders = dict.fromkeys(("api_url", "page_url", *(nested.name for nested in self.nested)), "_c0")
        get = operator.itemgetter(*({**placeholders, **by_name}[name] for name in self.order), *extra)
        names = (*self.order, *extra)
        converted = [
            (column.name, f"_c{i}", convert)
            for i, (column, convert) in enumerate(zip(self.columns, _converters(self.columns, utc_text), strict=True))
            if convert is not None and not column.user
        ]
        users = [(column.name, f"_c{i}") for i, column in enumerate(self.columns) if column.user]
        page_prefix = self.page_prefix(prefix)
        rows = []
        for row in raw:
            out = dict(zip(names, get(row), strict=True))
            for name, key, convert in converted:
                out[name] = convert(row[key])
            for name, key in users:
                user_names = (row[f"{key}_{field}"] for field in attribution.NAME_FIELDS)
                out[name] = attribution.name_from_values(usernames, row[key], *user_names)
            out["api_url"] = f"{prefix}{row[lookup]}/"
            if page_prefix is not None:
                out["page_url"] = f"{page_prefix}{row[lookup]}/"
            for name, items in lists:
                out[name] = items.get(row["_c0"], [])
            rows.append(out)
        return rows

    def csv_header(self) -> list[str]:
        return list(self.order)

    def csv_row(self, row: dict) -> list:
        cells = {nested.name: nested.cell for nested in self.nested}
        out = []
        for name in self.order:
            value = row[name]
            if name in cells:
                value = cells[name](value)
            elif isinstance(value, list):
                value = _slugs_cell(value)
            out.append(value)
        return out


def _grouped(pairs: Iterable[tuple[int, Any]]) -> dict[int, list]:
    grouped: dict[int, list] = defaultdict(list)
    for owner, item in pairs:
        grouped[owner].append(item)
    return grouped


def _slugs_cell(items: list) -> str:
    return "; ".join(str(item) for item in items)


def _aliases_cell(items: list[dict]) -> str:
    return "; ".join(item["name"] + (" (garbled)" if item["garbled"] else "") for item in items)


def _participants_cell(items: list[dict]) -> str:
    return "; ".join(f"{item['company'] or item['person']} ({item['role']})" for item in items)


def _aliases(owner: str) -> Callable[[list[int]], dict[int, list]]:
    def read(ids: list[int]) -> dict[int, list]:
        rows = Alias.objects.filter(**{f"{owner}_id__in": ids}).values_list(f"{owner}_id", "name", "garbled", "note")
        # Sorted here, not by the database, as the serializer does: the same order whatever the collation.
        ordered = sorted(rows, key=lambda r: r[1])
        return _grouped((o, {"name": name, "garbled": garbled, "note": note}) for o, name, garbled, note in ordered)

    return read


def _mentions(relation: str) -> Callable[[list[int]], dict[int, list]]:
    through = getattr(Article, relation).through
    target = "company" if relation == "companies" else "person"

    def read(ids: list[int]) -> dict[int, list]:
        rows = (
            through.objects.filter(article_id__in=ids)
            .order_by(f"{target}__name", f"{target}_id")
            .values_list("article_id", f"{target}__slug")
        )
        return _grouped(rows)

    return read


def _participants(ids: list[int]) -> dict[int, list]:
    rows = (
        EventParticipant.objects.filter(event_id__in=ids)
        .order_by("event_id", "id")
        .values_list("event_id", "company__slug", "person__slug", "role")
    )
    return _grouped((e, {"company": c, "person": p, "role": r}) for e, c, p, r in rows)


RECORD_TAIL = (Column("version", "version"), Column("created_at", "created_at", _datetime))
UPDATED = Column("updated_at", "updated_at", _datetime)

COMPANIES = Rows(
    detail_view="company-detail",
    lookup="slug",
    page_view="company-page",
    columns=(
        Column("id", "id"),
        Column("slug", "slug"),
        Column("name", "name"),
        Column("kind", "kind"),
        Column("country", "country"),
        Column("founded_year", "founded_year"),
        Column("parent", "parent__slug"),
        Column("description", "description"),
        Column("article_count", "article_count"),
        Column("event_count", "event_count"),
        Column("figure_count", "figure_count"),
        *RECORD_TAIL,
        UPDATED,
    ),
    nested=(Nested("aliases", _aliases("company"), _aliases_cell),),
    order=(
        "id",
        "api_url",
        "page_url",
        "slug",
        "name",
        "aliases",
        "kind",
        "country",
        "founded_year",
        "parent",
        "description",
        "article_count",
        "event_count",
        "figure_count",
        "version",
        "created_at",
        "updated_at",
    ),
)

PEOPLE = Rows(
    detail_view="person-detail",
    lookup="slug",
    columns=(
        Column("id", "id"),
        Column("slug", "slug"),
        Column("name", "name"),
        Column("title", "title"),
        Column("affiliation", "affiliation__slug"),
        Column("description", "description"),
        Column("article_count", "article_count"),
        Column("event_count", "event_count"),
        *RECORD_TAIL,
        UPDATED,
    ),
    nested=(Nested("aliases", _aliases("person"), _aliases_cell),),
    order=(
        "id",
        "api_url",
        "slug",
        "name",
        "aliases",
        "title",
        "affiliation",
        "description",
        "article_count",
        "event_count",
        "version",
        "created_at",
        "updated_at",
    ),
)

ARTICLES = Rows(
    detail_view="article-detail",
    lookup="slug",
    columns=(
        Column("id", "id"),
        Column("slug", "slug"),
        Column("title", "title"),
        Column("publisher", "publisher__slug"),
        Column("authors", "authors"),
        Column("published_on", "published_on", _date),
        Column("published_precision", "published_precision"),
        Column("url", "url"),
        Column("language", "language"),
        Column("translated_from", "translated_from"),
        *RECORD_TAIL,
        UPDATED,
    ),
    nested=(
        Nested("companies", _mentions("companies"), _slugs_cell),
        Nested("people", _mentions("people"), _slugs_cell),
    ),
    order=(
        "id",
        "api_url",
        "slug",
        "title",
        "publisher",
        "authors",
        "published_on",
        "published_precision",
        "url",
        "language",
        "translated_from",
        "companies",
        "people",
        "version",
        "created_at",
        "updated_at",
    ),
)

# An event's article, by slug: a scalar subquery rather than a join, so that PostgreSQL reads it for the rows of the
# page only, after sorting (it postpones a costly output column past Sort and Limit). A company's events
# (?company=) are found through its participations and sorted: with a join, every one of them (600 at 100k
# articles) fetched its article first; 5.5 -> 3.5 ms of database time a page.
EVENT_ARTICLE = Subquery(Article.objects.filter(pk=OuterRef("article_id")).order_by().values("slug"))

EVENTS = Rows(
    detail_view="event-detail",
    lookup="id",
    columns=(
        Column("id", "id"),
        Column("article", EVENT_ARTICLE),
        Column("key", "key"),
        Column("title", "title"),
        Column("summary", "summary"),
        Column("type", "type"),
        Column("date", "date", _date),
        Column("date_precision", "date_precision"),
        Column("end_date", "end_date", _date),
        Column("date_latest", "date_latest", _date),
        Column("quote", "quote"),
        Column("quote_start", "quote_start"),
        Column("quote_end", "quote_end"),
        Column("note", "note"),
        Column("status", "status"),
        *RECORD_TAIL,
        UPDATED,
    ),
    nested=(Nested("participants", _participants, _participants_cell),),
    order=(
        "id",
        "api_url",
        "article",
        "key",
        "title",
        "summary",
        "type",
        "date",
        "date_precision",
        "end_date",
        "date_latest",
        "participants",
        "quote",
        "quote_start",
        "quote_end",
        "note",
        "status",
        "version",
        "created_at",
        "updated_at",
    ),
)

_money = _decimal(Figure._meta.get_field("value").decimal_places)

FIGURES = Rows(
    detail_view="figure-detail",
    lookup="id",
    columns=(
        Column("id", "id"),
        Column("article", "article__slug"),
        Column("key", "key"),
        Column("company", "company__slug"),
        Column("subject", "subject"),
        Column("metric", "metric"),
        Column("value", "value", _money),
        Column("value_high", "value_high", _money),
        Column("unit", "unit"),
        Column("qualifier", "qualifier"),
        Column("as_reported", "as_reported"),
        Column("period_start", "period_start", _date),
        Column("period_end", "period_end", _date),
        Column("period_label", "period_label"),
        Column("period_granularity", "period_granularity"),
        Column("quote", "quote"),
        Column("quote_start", "quote_start"),
        Column("quote_end", "quote_end"),
        Column("status", "status"),
        Column("note", "note"),
        Column("reviewed_by", "reviewed_by", user=True),
        Column("reviewed_at", "reviewed_at", _datetime),
        *RECORD_TAIL,
        UPDATED,
    ),
    order=(
        "id",
        "api_url",
        "article",
        "key",
        "company",
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
        "period_granularity",
        "quote",
        "quote_start",
        "quote_end",
        "status",
        "note",
        "reviewed_by",
        "reviewed_at",
        "version",
        "created_at",
        "updated_at",
    ),
)


def _cursor_transaction(alias: str) -> contextlib.AbstractContextManager:
    """Behind PgBouncer in transaction mode (``DATABASE_PGBOUNCER``) a cursor lives only as long as its transaction:
    the next transaction may run on another server connection, where a held cursor does not exist. So there an
    export reads in a transaction, where Django declares its cursor ``WITHOUT HOLD`` (Django's documented way to
    keep server-side cursors behind such a pooler). Without server-side cursors, as before, psycopg fetched every
    row into the worker: an export of 200,000 figures took it from 78 to 467 MB."""
    if settings.DATABASE_PGBOUNCER and connections[alias].vendor == "postgresql":
        return transaction.atomic(using=alias)
    return contextlib.nullcontext()
