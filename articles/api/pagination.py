"""Pagination for every list: limit/offset with a count that stays cheap, or a cursor that stays fast at any depth.

- **limit/offset** (the default): 50 rows, at most 1000 (a larger limit is capped, never an error). The count is
  exact up to ``COUNT_CAP`` records; beyond that the response says ``"count_exact": false`` and ``count`` is a
  lower bound, so no request counts a whole large table. A page that is not full needs no count at all. A list
  filtered by one company or person alone (``/api/events/?company=X``) reads its exact count from the counts the
  database keeps (``BaseFilterSet.stored_count``) instead.
- **cursor** (``?cursor=`` to start): keyset pagination, NetBox/DRF style. The cursor holds the last row's
  ordering values, and the next page starts right after them with one comparison an index answers, so page
  3,000 costs what page 1 does. Any ``ordering`` works; ties are always broken by id. No count.

Both modes fetch one row more than the page to know whether there is a next one. A view that builds its rows
from ``.values()`` (``RecordViewSet.page_rows``) gets the ordering values added to each row under
``KEY_PREFIX`` names, read here and removed, so the cursor costs no extra query.
"""

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.db.models import BooleanField, F, Func, Q, QuerySet, Value
from django.db.models.expressions import Col, OrderBy
from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

#: Counting stops here: beyond it ``count`` is a lower bound and ``count_exact`` is false.
# 1,000, not more: a capped count reads up to this many index entries on every full page, which cost about a
# third of a list's database time at 10,000 (3.3 to 2.2 ms of PostgreSQL CPU per figures page at 100k).
COUNT_CAP = 1_000
KEY_PREFIX = "_key_"


@dataclass(frozen=True)
class Key:
    """One ordering key: a lookup path from the listed model, its direction, and its model field."""

    path: str
    descending: bool
    field: models.Field

    @property
    def nullable(self) -> bool:
        return self.field.null

    @property
    def total(self) -> bool:
        """A unique column of the listed model that cannot be empty (a slug): no ties to break, and an id after it
        would make PostgreSQL sort what its unique index gives in order."""
        return "__" not in self.path and self.field.unique and not self.field.null

    def order_by(self, backwards: bool = False) -> OrderBy:
        descending = self.descending != backwards
        expression = F(self.path)
        # Empty values sort last (first when walking backwards) on every database; a column that cannot be empty
        # keeps the plain order, which its index serves (an index is ASC NULLS LAST or DESC NULLS FIRST).
        if self.nullable:
            nulls = {"nulls_first": True} if backwards else {"nulls_last": True}
            return expression.desc(**nulls) if descending else expression.asc(**nulls)
        return expression.desc() if descending else expression.asc()


def ordering_keys(queryset: QuerySet) -> list[Key]:
    """The queryset's order as keys (its ``order_by``, else the model's ``Meta.ordering``), a relation expanded into
    its model's ordering as Django does, and ended by the primary key so that the order is total (or by a unique
    column, which is total already)."""
    query = queryset.query
    if query.order_by:
        items = list(query.order_by)
    else:
        items = list(queryset.model._meta.ordering) if query.default_ordering else []
    keys: list[Key] = []
    for item in items:
        for key in _expand(queryset, item):
            if key.path not in {k.path for k in keys}:
                keys.append(key)
            if key.path == "pk" or key.total:
                return keys
    pk = queryset.model._meta.pk
    keys.append(Key("pk", False, pk))
    return keys


def _expand(queryset: QuerySet, item, prefix: str = "", model=None, flip: bool = False) -> list[Key]:
    if isinstance(item, OrderBy) and isinstance(item.expression, F):
        name, descending = item.expression.name, item.descending
    elif isinstance(item, str):
        name, descending = item.removeprefix("-"), item.startswith("-")
    else:
        raise TypeError(f"Cannot paginate by {item!r}")
    descending = descending != flip
    model = model or queryset.model
    if not prefix and name in queryset.query.annotations:
        return [Key(name, descending, queryset.query.annotations[name].output_field)]
    if name == "pk" or name == model._meta.pk.name:
        return [Key(f"{prefix}pk" if prefix else "pk", descending, model._meta.pk)]
    parts = name.split("__")
    field = None
    for i, part in enumerate(parts):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            raise TypeError(f"Cannot paginate by {name!r}") from None
        if field.is_relation and i < len(parts) - 1:
            model = field.related_model
    if field.is_relation and parts[-1] == field.attname:
        return [Key(f"{prefix}{name}", descending, field)]  # the foreign key's own column (article_id)
    if field.is_relation and field.related_model._meta.ordering:
        related = field.related_model
        out = []
        for sub in related._meta.ordering:
            out.extend(_expand(queryset, sub, f"{prefix}{name}__", related, descending))
        return out
    if field.is_relation:
        field = field.target_field
    return [Key(f"{prefix}{name}", descending, field)]


class _JoinedPk(F):
    """``article__pk`` read from the joined article row (``articles_article.id``), not from the foreign key
    (``articles_figure.article_id``, which Django uses instead): a row comparison on the joined table's own columns
    is one its index can start from."""

    def __init__(self, sibling: str):
        super().__init__(sibling)

    def resolve_expression(self, *args, **kwargs):
        column = super().resolve_expression(*args, **kwargs)
        return Col(column.alias, column.target.model._meta.pk)


def _column(path: str, paths: list[str]) -> F:
    relation = path.removesuffix("__pk")
    if relation != path:
        siblings = [p for p in paths if p != path and p.rsplit("__", 1)[0] == relation]
        if siblings:
            return _JoinedPk(siblings[0])
    return F(path)


def _row(*expressions) -> Func:
    return Func(*expressions, template="(%(expressions)s)")


def keyset_condition(keys: Sequence[Key], values: Sequence[Any], backwards: bool) -> Q:
    """Rows strictly after ``values`` in the order of ``keys`` (before them when walking ``backwards``)."""
    condition = Q()
    equal = Q()
    for key, value in zip(keys, values, strict=True):
        descending = key.descending != backwards
        if value is None:
            # Empty values come last: nothing is after one; going back, every non-empty value is before it.
            beyond = Q(**{f"{key.path}__isnull": False}) if backwards else Q(pk__in=[])
            same = Q(**{f"{key.path}__isnull": True})
        else:
            beyond = Q(**{f"{key.path}__{'lt' if descending else 'gt'}": value})
            if key.nullable and not backwards:
                beyond |= Q(**{f"{key.path}__isnull": True})
            same = Q(**{key.path: value})
        condition |= equal & beyond
        equal &= same
    return condition & _index_bound(keys, values, backwards)


def _index_bound(keys: Sequence[Key], values: Sequence[Any], backwards: bool) -> Q:
    """A condition implied by the keyset one that an index can start from: the leading keys that share a direction
    and cannot be empty, compared as one row, ``(published_on, id) <= (date, id)``."""
    lead = []
    for key, value in zip(keys, values, strict=True):
        if key.nullable or value is None or key.descending != keys[0].descending:
            break
        lead.append((key, value))
    if not lead:
        return Q()
    operator = "<=" if (keys[0].descending != backwards) else ">="
    if len(lead) == 1:
        key, value = lead[0]
        return Q(**{f"{key.path}__{'lte' if operator == '<=' else 'gte'}": value})
    paths = [key.path for key, _ in lead]
    compared = Func(
        _row(*(_column(path, paths) for path in paths)),
        _row(*(Value(value, output_field=key.field) for key, value in lead)),
        template="%(expressions)s",
        arg_joiner=f" {operator} ",
        output_field=BooleanField(),
    )
    return Q(compared)


class Pagination(pagination.BasePagination):
    """limit/offset, or a cursor with ``?cursor=`` (see the module's docstring)."""

    limit_query_param = "limit"
    offset_query_param = "offset"
    cursor_query_param = "cursor"
    default_limit = 50
    max_limit = 1000
    query_params = (limit_query_param, offset_query_param, cursor_query_param)

    # --- what the view calls -----------------------------------------------------------------------------------

    def paginate_queryset(self, queryset: QuerySet, request, view=None) -> list:
        self.request = request
        self.view = view
        self.limit = self.get_limit(request)
        self.cursor_mode = self.cursor_query_param in request.query_params
        self.keys = ordering_keys(queryset)
        queryset = queryset.order_by(*(key.order_by() for key in self.keys))
        rows_of = getattr(view, "page_rows", None)
        if self.cursor_mode:
            if self.get_offset(request):  # an offset of 0 is where a cursor walk starts anyway
                raise ValidationError({self.offset_query_param: ["Use either a cursor or an offset, not both."]})
            return self._cursor_page(queryset, rows_of)
        self.offset = self.get_offset(request)
        rows = self._read(queryset[self.offset : self.offset + self.limit + 1], rows_of)
        self.has_next = len(rows) > self.limit
        rows = rows[: self.limit]
        self.count, self.count_exact = self._count(queryset, rows)
        return rows

    def get_paginated_response(self, data) -> Response:
        if self.cursor_mode:
            return Response({"next": self.next_link, "previous": self.previous_link, "results": data})
        return Response(
            {
                "count": self.count,
                "count_exact": self.count_exact,
                **offset_links(self.request, self.limit, self.offset, self.has_next),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict) -> dict:
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "count": {
                    "type": "integer",
                    "description": f"limit/offset only: how many records match; exact up to {COUNT_CAP:,}, beyond "
                    "that a lower bound (see count_exact), and always exact for a list filtered by one company or "
                    "person alone. Absent in cursor mode.",
                },
                "count_exact": {"type": "boolean", "description": "limit/offset only: whether count is exact."},
                "next": link,
                "previous": link,
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": self.limit_query_param,
                "required": False,
                "in": "query",
                "description": f"Records per page ({self.default_limit} by default, at most {self.max_limit}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": WHOLE_NUMBER_MAX},
            },
            {
                "name": self.offset_query_param,
                "required": False,
                "in": "query",
                "description": "Records to skip (limit/offset mode). For deep pages use a cursor.",
                "schema": {"type": "integer", "minimum": 0, "maximum": WHOLE_NUMBER_MAX},
            },
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Cursor mode: empty for the first page, then the cursor of a `next` or `previous` "
                "link. Every page costs the same at any depth; there is no count.",
                "schema": {"type": "string"},
            },
        ]

    # --- limit/offset --------------------------------------------------------------------------------------------

    def get_limit(self, request) -> int:
        raw = request.query_params.get(self.limit_query_param)
        if raw is None or raw == "":
            return self.default_limit
        return min(whole_number(raw, self.limit_query_param, minimum=1), self.max_limit)

    def get_offset(self, request) -> int:
        raw = request.query_params.get(self.offset_query_param)
        if raw is None or raw == "":
            return 0
        return whole_number(raw, self.offset_query_param, minimum=0)

    def _count(self, queryset: QuerySet, rows: list) -> tuple[int, bool]:
        if not self.has_next and (rows or not self.offset):
            return self.offset + len(rows), True
        stored = self.view.stored_count() if hasattr(self.view, "stored_count") else None
        if stored is not None:  # kept by the database: exact, whatever its size
            return stored, True
        # Counting stops at the cap: SELECT COUNT(*) FROM (SELECT ... LIMIT cap + 1).
        capped = queryset.order_by().values("pk")[: COUNT_CAP + 1].count()
        if capped <= COUNT_CAP:
            return capped, True
        return max(COUNT_CAP, self.offset + len(rows) + int(self.has_next)), False

    # --- cursor --------------------------------------------------------------------------------------------------

    def _cursor_page(self, queryset: QuerySet, rows_of: Callable | None) -> list:
        raw = self.request.query_params.get(self.cursor_query_param, "")
        backwards, values = self._decode(raw) if raw else (False, None)
        if values is not None:
            queryset = queryset.filter(keyset_condition(self.keys, values, backwards))
        if backwards:
            queryset = queryset.order_by(*(key.order_by(backwards=True) for key in self.keys))
        rows = self._read(queryset[: self.limit + 1], rows_of)
        more = len(rows) > self.limit
        rows = rows[: self.limit]
        if backwards:
            rows.reverse()
        first, last = (self._key_values(rows[0]), self._key_values(rows[-1])) if rows else (values, values)
        has_next = (more and not backwards) or (backwards and values is not None)
        has_previous = (more and backwards) or (not backwards and values is not None)
        self.next_link = self._cursor_link(False, last) if has_next and last is not None else None
        self.previous_link = self._cursor_link(True, first) if has_previous and first is not None else None
        for row in rows:
            self._strip(row)
        return rows

    def _read(self, queryset: QuerySet, rows_of: Callable | None) -> list:
        if rows_of is None:
            return list(queryset)
        # Only a cursor needs the ordering values.
        extra = {f"{KEY_PREFIX}{i}": key.path for i, key in enumerate(self.keys)} if self.cursor_mode else {}
        return rows_of(queryset, extra)

    def _key_values(self, row) -> list:
        if isinstance(row, dict):
            return [row[f"{KEY_PREFIX}{i}"] for i in range(len(self.keys))]
        values = []
        for key in self.keys:
            value = row
            for part in key.path.split("__"):
                value = getattr(value, part)
            values.append(value.pk if isinstance(value, models.Model) else value)
        return values

    def _strip(self, row) -> None:
        if isinstance(row, dict):
            for i in range(len(self.keys)):
                row.pop(f"{KEY_PREFIX}{i}", None)

    def _fingerprint(self) -> str:
        order = ",".join(("-" if key.descending else "") + key.path for key in self.keys)
        return hashlib.sha256(order.encode()).hexdigest()[:12]

    def _cursor_link(self, backwards: bool, values: list) -> str:
        encoded = [None if v is None else self._encode_value(key, v) for key, v in zip(self.keys, values, strict=True)]
        token = json.dumps({"o": self._fingerprint(), "b": backwards, "v": encoded}, separators=(",", ":"))
        token = base64.urlsafe_b64encode(token.encode()).decode().rstrip("=")
        url = self.request.build_absolute_uri()
        url = replace_query_param(url, self.limit_query_param, self.limit)
        return replace_query_param(url, self.cursor_query_param, token)

    @staticmethod
    def _encode_value(key: Key, value) -> Any:
        if isinstance(value, (int, str, bool)):
            return value
        return value.isoformat() if hasattr(value, "isoformat") else str(value)

    def _decode(self, raw: str) -> tuple[bool, list]:
        invalid = ValidationError(
            {self.cursor_query_param: ["Invalid cursor: use the next or previous link of a page, or an empty cursor."]}
        )
        try:
            decoded = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
            order, backwards, values = decoded["o"], decoded["b"], decoded["v"]
        except (ValueError, TypeError, KeyError, binascii.Error):
            raise invalid from None
        if order != self._fingerprint():
            raise ValidationError(
                {
                    self.cursor_query_param: [
                        "This cursor was made for another ordering: start again with an empty cursor."
                    ]
                }
            )
        if not isinstance(backwards, bool) or not isinstance(values, list) or len(values) != len(self.keys):
            raise invalid
        try:
            pairs = zip(self.keys, values, strict=True)
            return backwards, [None if v is None else key.field.to_python(v) for key, v in pairs]
        except (DjangoValidationError, ValueError, TypeError, OverflowError):
            raise invalid from None


#: The largest limit or offset read (18 digits: an ordinary integer everywhere).
def offset_links(request, limit: int, offset: int, has_next: bool) -> dict:
    """``next`` and ``previous`` of a limit/offset page: the lists', and those of views that read a page themselves
    (the search, the consistency report)."""

    def link(to: int) -> str:
        url = replace_query_param(request.build_absolute_uri(), Pagination.limit_query_param, limit)
        if to <= 0:
            return remove_query_param(url, Pagination.offset_query_param)
        return replace_query_param(url, Pagination.offset_query_param, to)

    return {
        "next": link(offset + limit) if has_next else None,
        "previous": link(max(offset - limit, 0)) if offset else None,
    }


WHOLE_NUMBER_MAX = 10**18 - 1


def whole_number(raw: str, name: str, *, minimum: int) -> int:
    # ASCII digits only, and short enough to stay an ordinary integer.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18) or int(raw) < minimum:
        which = "a positive" if minimum else "a non-negative"
        raise ValidationError({name: [f"Enter {which} whole number, not {raw[:40]!r}."]})
    return int(raw)
