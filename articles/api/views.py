"""The API's viewsets: declarations over ``RecordViewSet``, which holds what every resource shares.

Shared behaviour: reads open to anyone, writes need the Django model permission; detail responses carry
``ETag: "<version>"`` and a write with a stale ``If-Match`` is a 412 (without ``If-Match`` a write applies to
the current version); every write goes through the entity's service (``figure_save``, ``figure_delete``, ...:
validation, the version check, history with the API user and the optional ``change_reason``);
``GET <detail>/history/`` lists the record's history, newest first.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connections
from django.db.models import F, Prefetch, QuerySet
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponsePermanentRedirect, StreamingHttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from articles import figure_order, selectors
from articles.choices import PROPOSAL_STATUSES
from articles.models import Alias, Article, Company, Event, EventParticipant, Figure, MergedCompany, Person
from articles.services.articles import article_delete
from articles.services.companies import company_delete
from articles.services.events import event_delete
from articles.services.figures import figure_delete
from articles.services.ingest import article_ingest
from articles.services.people import person_delete

from . import analytics, exports, schema
from . import ingest as ingesting
from . import rows as listing
from .errors import PreconditionFailed
from .filtersets import ArticleFilterSet, CompanyFilterSet, EventFilterSet, FigureFilterSet, PersonFilterSet
from .history import HistoryEntrySerializer, history_entries
from .rows import Rows
from .serializers import (
    CHANGE_REASON_MAX_LENGTH,
    ArticleDetailSerializer,
    ArticleSerializer,
    CompanySerializer,
    EventSerializer,
    FigureSerializer,
    PersonSerializer,
)

SLUG_PATTERN = r"[-a-zA-Z0-9_]+"
ID_PATTERN = r"[0-9]+"


def _stored_counts(*names: str) -> dict[str, Coalesce]:
    """The counts the database keeps for each company or person (``articles.counts_schema``), zero without a row."""
    return {name: Coalesce(F(f"counts__{name}"), 0) for name in names}


ALIASES = Prefetch("aliases", Alias.objects.only("id", "company_id", "person_id", "name", "garbled", "note"))
PARTICIPANTS = Prefetch(
    "participants",
    EventParticipant.objects.select_related("company", "person").only(
        "id", "event_id", "role", "company__slug", "person__slug"
    ),
)
# Events and figures name their article by slug: its body stays in the database.
ARTICLE_TEXT = ("article__body", "article__notes")
EVENTS = Event.objects.select_related("article").defer(*ARTICLE_TEXT).prefetch_related(PARTICIPANTS)
FIGURES = Figure.objects.select_related("article", "company", "reviewed_by").defer(*ARTICLE_TEXT)
ARTICLES = Article.objects.select_related("publisher").prefetch_related(
    Prefetch("companies", Company.objects.only("id", "slug")), Prefetch("people", Person.objects.only("id", "slug"))
)


def proposals_visible_to(request: Request | None, model: type) -> bool:
    """Whether the reader may see proposed and rejected-proposal records of ``model``: an editor, who may change it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or getattr(user, "pk", None) is None:
        return False
    return user.has_perm(f"articles.change_{model._meta.model_name}")


class ChangeReasonSerializer(serializers.Serializer):
    change_reason = serializers.CharField(required=False, allow_blank=True, max_length=CHANGE_REASON_MAX_LENGTH)


class RecordViewSet(viewsets.ModelViewSet):
    """What every resource shares; subclasses only declare querysets, serializers and filters."""

    lookup_value_regex = ID_PATTERN
    #: Used instead of ``queryset`` / ``serializer_class`` for a single record (detail, create, update).
    detail_queryset: QuerySet | None = None
    detail_serializer_class = None

    def get_queryset(self) -> QuerySet:
        if self.detail_queryset is not None and self.action in {"retrieve", "create", "update", "partial_update"}:
            return self.visible(self.detail_queryset.all())
        return self.visible(super().get_queryset())

    def visible(self, queryset: QuerySet) -> QuerySet:
        """Proposals are not facts (``choices.PROPOSAL_STATUSES``): every read leaves out proposed events and figures
        and rejected proposals, lists, exports, counts and the change feed alike. An editor (a user who may change
        the record) sees one by its own address, and a list of them when asking by status (``?status=proposed``);
        for anyone else a proposal does not exist (a 404, and no list shows one, whatever it asks for)."""
        self.proposals_shown = False
        if not hasattr(queryset, "facts"):
            return queryset
        if not proposals_visible_to(self.request, queryset.model):
            return queryset.facts()
        self.proposals_shown = True
        if self.detail or self.action == "create":  # one record, by its address (or the one just created)
            return queryset
        asked = set(self.request.query_params.getlist("status")) & PROPOSAL_STATUSES if self.request else set()
        self.proposals_shown = bool(asked)
        return queryset if asked else queryset.facts()

    def stored_count(self) -> int | None:
        """The list's count as the database keeps it (``BaseFilterSet.stored_count``), for the paginator; only for
        a list without proposals, which the stored counts leave out."""
        filterset = getattr(self, "filterset", None)
        if filterset is None or getattr(self, "proposals_shown", True):
            return None
        return filterset.stored_count()

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        # Filters choose among records; one record's own address is not narrowed by them.
        if self.detail:
            return queryset
        return super().filter_queryset(queryset)

    def get_serializer_class(self):
        # The browsable API renders the list page's POST form with the list action: give it the full form.
        list_page = self.action == "list" and self.request is not None and self.request.method == "GET"
        if self.detail_serializer_class is not None and not list_page:
            return self.detail_serializer_class
        return self.serializer_class

    def respond(self, instance, status_code: int = status.HTTP_200_OK) -> Response:
        response = Response(self.get_serializer(instance).data, status=status_code)
        response["ETag"] = f'"{instance.version}"'
        return response

    def reload(self, instance):
        """The saved record as a read would show it (annotations, prefetched lists)."""
        return self.get_queryset().get(pk=instance.pk)

    #: The entity's delete service, e.g. ``figure_delete``; it takes the record by the model's name.
    delete_service = None

    def expected_version(self, request: Request, instance) -> int | None:
        """The version ``If-Match`` names (None without a precondition, or for ``*``): the service refuses the
        write with a 412 when the record is at another version by the time it is locked."""
        header = request.headers.get("If-Match")
        if header is None:
            return None
        current = str(instance.version)
        tags = [t.strip() for t in header.split(",")]
        if "*" in tags:
            return None
        strong = [t.strip('"') for t in tags if not t.startswith("W/")]
        if current in strong:
            return instance.version
        raise PreconditionFailed(
            f"This {instance._meta.verbose_name} is now at version {current}; your If-Match was {header[:100]}. "
            "Someone changed it since you loaded it: reload it and apply your change again."
        )

    #: How list pages and exports read their rows (``rows.FIGURES``, ...).
    rows: Rows

    def expensive(self, request: Request) -> bool:
        """An export reads every row of the list: it counts against the lower limit (``ExpensiveRateThrottle``)."""
        return self.action == "list" and request.accepted_renderer.format in exports.FORMATS

    def list(self, request: Request, *args, **kwargs) -> Response | StreamingHttpResponse:
        queryset = self.filter_queryset(self.get_queryset())
        if request.accepted_renderer.format in exports.FORMATS:
            return exports.export(self, queryset)
        return self.get_paginated_response(self.paginate_queryset(queryset))

    def page_rows(self, queryset: QuerySet, extra: dict[str, str]) -> "list[dict]":
        """A page's rows (the paginator calls this with the sliced queryset and its ordering keys)."""
        return self.rows.read(queryset.prefetch_related(None), self.request, extra)

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        return self.respond(self.get_object())

    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        response = self.respond(self.reload(serializer.save()), status.HTTP_201_CREATED)
        # str(): DRF gives a Hyperlink object, which a real WSGI server refuses as a header value.
        response["Location"] = str(response.data["api_url"])
        return response

    def update(self, request: Request, *args, **kwargs) -> Response:
        instance = self.get_object()
        expected = self.expected_version(request, instance)
        serializer = self.get_serializer(instance, data=request.data, partial=kwargs.pop("partial", False))
        serializer.context["expected_version"] = expected
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return self.respond(self.reload(instance))

    def destroy(self, request: Request, *args, **kwargs) -> Response:
        instance = self.get_object()
        expected = self.expected_version(request, instance)
        body = ChangeReasonSerializer(data=request.data if request.data else {})
        body.is_valid(raise_exception=True)
        type(self).delete_service(
            **{instance._meta.model_name: instance},
            user=request.user,
            reason=body.validated_data.get("change_reason", ""),
            expected_version=expected,
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="The record's history, newest first",
        description="Every change from the admin, the API or load_fixtures: when, by whom, why and what changed. "
        "A deleted record's history stays available.",
        responses={200: HistoryEntrySerializer(many=True), 400: schema.BAD_REQUEST, 404: schema.NOT_FOUND},
        filters=False,
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def history(self, request: Request, *args, **kwargs) -> Response:
        model = self.queryset.model
        try:
            pk = self.get_object().pk
        except Http404:
            pk = self._deleted_pk(model)
            if hasattr(model.objects, "facts") and not proposals_visible_to(request, model):
                # A proposal's history is an editor's business, whether the proposal is stored or was deleted.
                last = model.history.filter(id=pk).order_by("-history_date", "-history_id").first()
                if model.objects.filter(pk=pk).exists() or (last and last.status in PROPOSAL_STATUSES):
                    raise NotFound(f"No {model._meta.verbose_name} {pk}.") from None
        records = list(
            model.history.filter(id=pk).select_related("history_user").order_by("-history_date", "-history_id")
        )
        return Response(HistoryEntrySerializer(history_entries(records, request), many=True).data)

    def _deleted_pk(self, model) -> int:
        """The id of a record that no longer exists but has a history under this lookup value."""
        field = "id" if self.lookup_field == "pk" else self.lookup_field
        value = self.kwargs[self.lookup_url_kwarg or self.lookup_field]
        try:
            rows = model.history.filter(**{field: value}).order_by("-history_date").values_list("id", flat=True)
            pk = rows.first()
        except (TypeError, ValueError, DjangoValidationError):
            pk = None
        if pk is None:
            raise NotFound(f"No {model._meta.verbose_name} {value!s:.100} and no history of one.")
        return pk


class ArticleViewSet(RecordViewSet):
    """Articles: news stories kept verbatim, with the companies and people they mention; the detail adds the
    body and the events and figures curated from it."""

    queryset = ARTICLES.defer("body", "notes")
    detail_queryset = ARTICLES.prefetch_related(
        Prefetch("events", EVENTS.facts()), Prefetch("figures", FIGURES.facts())
    )
    delete_service = article_delete
    rows = listing.ARTICLES
    serializer_class = ArticleSerializer
    detail_serializer_class = ArticleDetailSerializer
    filterset_class = ArticleFilterSet
    lookup_field = "slug"
    lookup_value_regex = SLUG_PATTERN

    @extend_schema(
        summary="Add an article from its text (editors)",
        description="Stores the article, the companies and people it names, and the events and figures the "
        "extraction proposes, with the status `proposed`: hidden from every public read until an editor accepts "
        "them in the admin's review desk. The same text sent again returns the existing article (200, "
        "`created: false`). Bad input (empty or binary text, over 1 MB, an unknown publisher, an unreadable date) "
        "is a 400 keyed by the field, and nothing is written.",
        request=ingesting.IngestRequestSerializer,
        responses={
            201: ingesting.IngestResponseSerializer,
            200: ingesting.IngestResponseSerializer,
            400: schema.BAD_REQUEST,
            401: schema.UNAUTHORIZED,
            403: schema.FORBIDDEN,
        },
        filters=False,
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="ingest",
        permission_classes=[ingesting.CanIngest],
        pagination_class=None,
        filter_backends=[],
    )
    def ingest(self, request: Request) -> Response:
        body = ingesting.IngestRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            result = article_ingest(**body.validated_data, user=request.user, source="api")
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        created = result.created and not result.dry_run
        return Response(result.to_json(), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class CompanyViewSet(RecordViewSet):
    """Companies and other organizations the press names, with their aliases (garbled spellings included) and
    how many articles, events and figures involve them."""

    queryset = (
        Company.objects.select_related("parent")
        .prefetch_related(ALIASES)
        .annotate(**_stored_counts("article_count", "event_count", "figure_count"))
        .order_by("name", "pk")
    )
    delete_service = company_delete
    rows = listing.COMPANIES
    serializer_class = CompanySerializer
    filterset_class = CompanyFilterSet
    lookup_field = "slug"
    lookup_value_regex = SLUG_PATTERN

    def retrieve(self, request, *args, **kwargs):
        try:
            return super().retrieve(request, *args, **kwargs)
        except Http404:
            # A company an editor merged into another: its old address leads to the survivor.
            merged = MergedCompany.objects.select_related("into").filter(slug=kwargs["slug"]).first()
            if merged is None:
                raise
            url = reverse("company-detail", kwargs={"slug": merged.into.slug}, request=request)
            return HttpResponsePermanentRedirect(url)

    @extend_schema(
        summary="The company's timeline",
        description="Its events (in any role) in date order, each with its date at the precision it is known "
        "(`when`, `date_precision`, `date_latest`) and the company's roles, and its figures by period.",
        parameters=[analytics.TimelineQuery],
        responses={200: analytics.TimelineSerializer, 400: schema.BAD_REQUEST, 404: schema.NOT_FOUND},
        filters=False,
    )
    @action(detail=True, methods=["get"], pagination_class=None, renderer_classes=analytics.RENDERERS)
    def timeline(self, request: Request, *args, **kwargs) -> Response:
        params = analytics.query(analytics.TimelineQuery, request)
        company = Company.objects.filter(slug=kwargs["slug"]).first()
        if company is None:
            merged = MergedCompany.objects.select_related("into").filter(slug=kwargs["slug"]).first()
            if merged is None:
                raise NotFound(f"No company {kwargs['slug']!s:.100}.")
            url = reverse("company-timeline", kwargs={"slug": merged.into.slug}, request=request)
            return HttpResponsePermanentRedirect(url)
        return Response(analytics.timeline_json(company, request, params["limit"]))


class PersonViewSet(RecordViewSet):
    """People the press names (executives, officials, analysts), with their aliases."""

    queryset = (
        Person.objects.select_related("affiliation")
        .prefetch_related(ALIASES)
        .annotate(**_stored_counts("article_count", "event_count"))
        .order_by("name", "pk")
    )
    delete_service = person_delete
    rows = listing.PEOPLE
    serializer_class = PersonSerializer
    filterset_class = PersonFilterSet
    lookup_field = "slug"
    lookup_value_regex = SLUG_PATTERN


def counts_action(*, summary: str, description: str, start: str, end: str):
    """``GET .../counts/``: how many of the records the list's filters choose fall in each period, a record's
    period running from the field ``start`` to ``end``."""

    @extend_schema(
        summary=summary,
        description=description,
        parameters=[analytics.CountsQuery],
        responses={200: analytics.CountsSerializer, 400: schema.BAD_REQUEST},
        filters=True,
    )
    @action(
        detail=False,
        methods=["get"],
        pagination_class=None,
        renderer_classes=analytics.RENDERERS,
        filter_backends=[analytics.CountsFilterBackend],
    )
    def counts(self, request: Request) -> Response:
        return Response(analytics.counts_json(self, start=start, end=end))

    return counts


class EventViewSet(RecordViewSet):
    """Events: dated happenings (with their precision) and the companies and people taking part, each backed by
    a verbatim quote from its article."""

    queryset = EVENTS
    delete_service = event_delete
    rows = listing.EVENTS
    serializer_class = EventSerializer
    filterset_class = EventFilterSet

    counts = counts_action(
        summary="Events per month, quarter or year",
        description="How many of the events the filters choose fall in each period. An event counts in a period "
        "when its whole date (at its precision, to date_latest) lies inside it; the others are `unplaced`.",
        start="date",
        end="date_latest",
    )


class FigureViewSet(RecordViewSet):
    """Figures: numbers the articles state, as printed (as_reported) and as values, with their period, quote
    and review status."""

    queryset = FIGURES
    delete_service = figure_delete
    rows = listing.FIGURES
    serializer_class = FigureSerializer
    filterset_class = FigureFilterSet

    def get_queryset(self) -> QuerySet:
        """The list's order (newest article first, then the article, the key, the id), on PostgreSQL read from the
        copy of the article's date each figure carries (``articles.figure_order``), which its indexes serve; on
        SQLite through the article, the same order."""
        queryset = super().get_queryset()
        if self.action == "list" and figure_order.present(connections[queryset.db]):
            queryset = queryset.annotate(article_date=figure_order.ArticleDate())
            queryset = queryset.order_by("-article_date", "-article_id", "key", "pk")
        return queryset

    @extend_schema(
        summary="A company's metric over time",
        description="One row per period (and unit): the preferred value (an editor's correction, then a verified "
        "figure, then a reported one; rejected figures never count; a range stays a range), every figure that "
        "states it, and `conflict` where figures of different articles disagree.",
        parameters=[analytics.SeriesQuery],
        responses={200: analytics.SeriesSerializer, 400: schema.BAD_REQUEST},
        filters=False,
    )
    @action(
        detail=False,
        methods=["get"],
        pagination_class=None,
        renderer_classes=analytics.RENDERERS,
        schema=analytics.AnalyticsSchema(),
    )
    def series(self, request: Request) -> Response:
        params = analytics.query(analytics.SeriesQuery, request)
        company = analytics.company_named(params["company"], "company")
        points = selectors.figure_series(company=company, metric=params["metric"], unit=params.get("unit"))
        links = analytics.Links(request)
        return Response(
            {
                "company": company.slug,
                "metric": params["metric"],
                "unit": params.get("unit"),
                "results": [analytics.series_row(point, links) for point in points],
            }
        )

    counts = counts_action(
        summary="Figures per month, quarter or year",
        description="How many of the figures the filters choose have their period inside each month, quarter or "
        "year; figures whose period spans several (or that have none) are `unplaced`.",
        start="period_start",
        end="period_end",
    )
