"""The project's URLs plus the benchmark's bare reference view, served side by side in one gunicorn.

``/bench/bare/figures/?company=X&metric=Y`` returns the same page as ``/api/figures/?company=X&metric=Y``
(same filter, ``Figure._meta.ordering``, the first ``limit`` rows, the same fields and their count) from
``.values()`` and ``JsonResponse``, without DRF: the ceiling the API's figures are compared with.
"""

from django.db.models import QuerySet
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from rest_framework import relations

from articles.api.serializers import FigureSerializer
from articles.models import Figure
from newsdb.urls import handler500  # noqa: F401  (the root URLconf names the 500 handler)


def readable_columns(serializer_class) -> tuple[list[tuple[str, str]], str | None]:
    """``(name, values() lookup)`` for every field the serializer outputs, and the name of its URL field.

    Related records are named by their slug as the API names them (``company`` -> ``company__slug``), so the
    bare view follows the serializer when fields are added or removed.
    """
    columns, url_field = [], None
    for name, field in serializer_class().fields.items():
        if field.write_only:
            continue
        if isinstance(field, relations.HyperlinkedIdentityField):
            url_field = name
        elif isinstance(field, relations.SlugRelatedField):
            columns.append((name, f"{field.source}__{field.slug_field}"))
        else:
            columns.append((name, field.source))
    return columns, url_field


FIGURE_COLUMNS, FIGURE_URL_FIELD = readable_columns(FigureSerializer)


def page(request: HttpRequest, queryset: QuerySet, columns: list[tuple[str, str]], url_field: str | None, route: str):
    limit = min(int(request.GET.get("limit") or 50), 1000)
    rows = list(queryset.values("id", *(lookup for _, lookup in columns))[:limit])
    prefix = request.build_absolute_uri(f"/api/{route}/")
    results = []
    for row in rows:
        record = {name: row[lookup] for name, lookup in columns}
        if url_field:
            record[url_field] = f"{prefix}{row['id']}/"
        results.append(record)
    count = queryset.count()
    following = f"{request.build_absolute_uri(request.path)}?limit={limit}&offset={limit}" if count > limit else None
    return JsonResponse({"count": count, "next": following, "previous": None, "results": results})


def bare_figures(request: HttpRequest) -> JsonResponse:
    queryset = Figure.objects.order_by(*Figure._meta.ordering)
    if request.GET.get("company"):
        queryset = queryset.filter(company__slug=request.GET["company"])
    if request.GET.get("metric"):
        queryset = queryset.filter(metric=request.GET["metric"])
    return page(request, queryset, FIGURE_COLUMNS, FIGURE_URL_FIELD, "figures")


urlpatterns = [
    path("bench/bare/figures/", bare_figures, name="bench-bare-figures"),
    path("", include("newsdb.urls")),
]
