"""``GET /api/search/?q=...&type=...``: ranked full-text search across articles, events, figures, companies and
people (``articles.search``), paged like the lists (``limit``/``offset``, a capped ``count``)."""

from django import forms
from django.http import QueryDict
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from articles import search

from . import schema
from .filters import SearchField
from .pagination import Pagination, offset_links
from .renderers import JSONRenderer

#: Where each type's records are: the detail route and the field in its address.
DETAIL_ROUTES = {
    "article": ("article-detail", "slug"),
    "event": ("event-detail", "id"),
    "figure": ("figure-detail", "id"),
    "company": ("company-detail", "slug"),
    "person": ("person-detail", "slug"),
}
TYPES_TEXT = ", ".join(search.TYPES)
#: 1 to 20 words (``SearchField.max_words``), no NUL: what the view accepts, so that a client (or schemathesis)
#: can tell a valid q from the schema.
Q_PATTERN = r"^\s*[^\s\u0000]+(\s+[^\s\u0000]+){0,19}\s*$"
#: ``pagination.whole_number`` reads at most 18 digits.
WHOLE_NUMBER_MAX = 10**18 - 1


class SearchResultSerializer(serializers.Serializer):
    # Not an enum: drf-spectacular would name it after the deletions' type (the same values) with a warning.
    type = serializers.CharField(help_text=f"What the record is: {TYPES_TEXT}.")
    id = serializers.IntegerField(help_text="The record's id.")
    slug = serializers.CharField(
        allow_null=True, help_text="An article's, company's or person's slug; null for events and figures."
    )
    title = serializers.CharField(
        help_text="An article's or event's title, a company's or person's name, or a figure's company, subject "
        "and as-reported words (`Bitmain: January 2019 loss, $345 million`)."
    )
    snippet = serializers.CharField(
        help_text="The text around the matched words, as HTML: escaped, the matched words in `<mark>`."
    )
    score = serializers.FloatField(help_text="Relevance, higher is better; comparable within one response only.")
    api_url = serializers.URLField(help_text="The record in the API.")


class SearchPageSerializer(serializers.Serializer):
    count = serializers.IntegerField(
        help_text=f"How many records match; exact up to {search.COUNT_CAP:,}, beyond that a lower bound "
        "(see count_exact)."
    )
    count_exact = serializers.BooleanField(help_text="Whether count is exact.")
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = SearchResultSerializer(many=True)


class SearchView(APIView):
    """Search everything: articles, events, figures, companies and people, best match first.

    The words must all appear, in any form ("sales" finds "sale"); "quoted words" must appear together, `or`
    between words means either, `-word` excludes. Common words ("the") are ignored and typographic quotes count
    as plain ones (china’s is china's). A company or person is also found by a misspelt name or alias (Bitman:
    Bitmain). Each result has a snippet with the matched words marked.
    """

    renderer_classes = [JSONRenderer, BrowsableAPIRenderer]
    permission_classes = [permissions.AllowAny]  # reads only (GET): open to anyone, as every read is
    parameters = ("q", "type", "limit", "offset", "format")

    @extend_schema(
        operation_id="search",
        summary="Search everything, best match first",
        parameters=[
            OpenApiParameter(
                "q",
                {"type": "string", "minLength": 1, "maxLength": 200, "pattern": Q_PATTERN},
                required=True,
                description='What to find: words (all must appear), "quoted words" (together), `or`, `-word` '
                "(excluded); at most 20 words.",
            ),
            OpenApiParameter(
                "type",
                {"type": "array", "items": {"type": "string", "enum": list(search.TYPES)}},
                explode=True,
                description=f"Only these types ({TYPES_TEXT}); repeat it or separate with commas. Default: all.",
            ),
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": WHOLE_NUMBER_MAX},
                description="Results per page (50 by default, at most 1000: a larger limit is cut to 1000).",
            ),
            OpenApiParameter(
                "offset", {"type": "integer", "minimum": 0, "maximum": WHOLE_NUMBER_MAX}, description="Results to skip."
            ),
        ],
        responses={200: SearchPageSerializer, 400: schema.BAD_REQUEST},
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        unknown = [name for name in params if name not in self.parameters]
        if unknown:
            accepted = ", ".join(sorted(self.parameters))
            raise ValidationError({name[:100]: [f"Unknown query parameter; accepted: {accepted}."] for name in unknown})
        pagination = Pagination()
        errors: dict[str, list[str]] = {}
        text = self._query(params, errors)
        types = self._types(params, errors)
        limit = offset = 0
        try:
            limit = pagination.get_limit(request)
        except ValidationError as exc:
            errors.update(exc.detail)
        try:
            offset = pagination.get_offset(request)
        except ValidationError as exc:
            errors.update(exc.detail)
        if errors:
            raise ValidationError(errors)
        page = search.search(text, types=types, limit=limit, offset=offset)
        prefixes = {kind: self._url_prefix(request, kind) for kind in DETAIL_ROUTES}
        results = []
        for hit in page.results:
            lookup = hit["slug"] if DETAIL_ROUTES[hit["type"]][1] == "slug" else hit["id"]
            results.append({**hit, "api_url": f"{prefixes[hit['type']]}{lookup}/"})
        return Response(
            {
                "count": page.count,
                "count_exact": page.count_exact,
                **offset_links(request, limit, offset, page.has_next),
                "results": results,
            }
        )

    @staticmethod
    def _query(params: QueryDict, errors: dict) -> str:
        text = params.get("q", "")
        if not text.strip():
            errors["q"] = ["q is required: the words to search for."]
            return ""
        try:
            return SearchField(max_length=200).clean(text)
        except forms.ValidationError as exc:
            errors["q"] = exc.messages
            return ""

    @staticmethod
    def _types(params: QueryDict, errors: dict) -> list[str]:
        given = [part.strip() for value in params.getlist("type") for part in value.split(",") if part.strip()]
        wrong = [value for value in given if value not in search.TYPES]
        if wrong:
            errors["type"] = [f"{value[:40]!r} is not a type; use {TYPES_TEXT}." for value in wrong]
        return [kind for kind in search.TYPES if kind in given] or list(search.TYPES)

    @staticmethod
    def _url_prefix(request: Request, kind: str) -> str:
        # "/api/figures/0/" with the 0 cut off: every result's address is this prefix, its lookup and a slash.
        name, field = DETAIL_ROUTES[kind]
        sample = reverse(name, kwargs={"pk" if field == "id" else field: "0"})
        return request.build_absolute_uri(sample[:-2])
