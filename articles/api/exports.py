"""Exports: a list asked for as CSV (``?format=csv``) or JSON Lines (``?format=jsonl``) is every row of the
filtered list in one streamed response.

- No cap and no default page: ``limit`` and ``offset`` still cut a slice when given; a cursor does not apply.
- Constant memory: rows are read through a server-side cursor (PostgreSQL) in chunks, with the lists they hold
  read per chunk, and written as they come.
- Fixed columns: the resource's own (``rows``), in the same order for every export, with a header row even when
  nothing matches. Lists become one cell: slugs joined by "; ", participants as "slug (role)".
- A download: ``Content-Disposition: attachment`` with a file name naming the resource and the time.
"""

import csv
from collections.abc import Iterable, Iterator

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from .pagination import Pagination, ordering_keys, whole_number
from .renderers import dumps

FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/jsonl"}


class _Line:
    """A file-like object whose ``write`` returns what it was given (the csv module writes one line at a time)."""

    def write(self, value: str) -> str:
        return value


def _csv(header: list[str], rows: Iterable[list]) -> Iterator[bytes]:
    writer = csv.writer(_Line())
    yield writer.writerow(header).encode()
    for row in rows:
        yield writer.writerow(["" if value is None else value for value in row]).encode()


def export(view, queryset: QuerySet) -> StreamingHttpResponse:
    request = view.request
    fmt = request.accepted_renderer.format
    if request.query_params.get("cursor"):  # an empty cursor is the start, where an export starts anyway
        raise ValidationError({"cursor": [f"An export (format={fmt}) holds every row; leave the cursor out."]})
    queryset = queryset.order_by(*(key.order_by() for key in ordering_keys(queryset))).prefetch_related(None)
    offset = Pagination().get_offset(request)
    limit = request.query_params.get("limit") or None
    if limit is not None:
        queryset = queryset[offset : offset + whole_number(limit, "limit", minimum=1)]
    elif offset:
        queryset = queryset[offset:]
    spec = view.rows
    rows = spec.stream(queryset, request)
    if fmt == "csv":
        body = _csv(spec.csv_header(), (spec.csv_row(row) for row in rows))
    else:
        body = (dumps(row) + b"\n" for row in rows)
    response = StreamingHttpResponse(body, content_type=FORMATS[fmt])
    name = queryset.model._meta.verbose_name_plural.replace(" ", "-")
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="newsdb-{name}-{stamp}.{fmt}"'
    return response
