"""Analytics: a company's figures as a series, its timeline, counts per period and the consistency report.

The reads live in ``articles.selectors``; here are their query parameters (each a 400 naming the parameter when
it is missing or wrong, as every list's filters are), their JSON, and the serializers that document it.
"""

import datetime
import math
from collections.abc import Iterable
from decimal import Decimal

from django.db import DatabaseError
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from articles import selectors
from articles.choices import ConsistencyCheck, Metric, PeriodGranularity, ReviewStatus, Unit
from articles.models import Company, MergedCompany

from . import rows as listing
from . import schema
from .filters import FilterBackend
from .pagination import WHOLE_NUMBER_MAX, Pagination, offset_links, whole_number
from .renderers import JSONRenderer

money = listing._decimal(6)
RENDERERS = [JSONRenderer, BrowsableAPIRenderer]


# -- Query parameters ----------------------------------------------------------------------------------------------


def check_parameters(request: Request, accepted: Iterable[str]) -> None:
    """An unknown query parameter is a 400 naming it and listing the accepted ones, as on every list."""
    accepted = {*accepted, "format"}
    unknown = [name for name in request.query_params if name not in accepted]
    if unknown:
        listing_ = ", ".join(sorted(accepted))
        raise ValidationError({name[:100]: [f"Unknown query parameter; accepted: {listing_}."] for name in unknown})


def check_not_empty(request: Request, names: Iterable[str]) -> None:
    """A parameter given without a value (``?by=``) is a 400, not its default: leave it out to get the default."""
    empty = [n for n in names if n in request.query_params and not any(request.query_params.getlist(n))]
    if empty:
        raise ValidationError({name: ["Give a value, or leave the parameter out."] for name in empty})


def query(serializer_class: type[serializers.Serializer], request: Request) -> dict:
    """The request's query parameters read by ``serializer_class``; unknown, empty or invalid ones are a 400."""
    fields = serializer_class().fields
    check_parameters(request, fields)
    check_not_empty(request, fields)
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def company_named(slug: str, parameter: str) -> Company:
    """The company a parameter names by slug (a merged company's old slug names the survivor), else a 400."""
    company = Company.objects.filter(slug=slug).first()
    if company is None:
        merged = MergedCompany.objects.select_related("into").filter(slug=slug).first()
        if merged is None:
            raise ValidationError({parameter: [f"No company has the slug {slug[:100]!r}."]})
        company = merged.into
    return company


class SeriesQuery(serializers.Serializer):
    company = serializers.SlugField(
        max_length=100, help_text="The company (slug; a merged company's old slug stands for the survivor)."
    )
    metric = serializers.ChoiceField(choices=Metric.choices, help_text="The metric, e.g. revenue.")
    unit = serializers.ChoiceField(
        choices=Unit.choices, required=False, help_text="Only figures in this unit (all units when left out)."
    )


class CountsQuery(serializers.Serializer):
    by = serializers.ChoiceField(
        choices=[("month", "Month"), ("quarter", "Quarter"), ("year", "Year")],
        required=False,
        default="month",
        help_text="The length of the periods counted in.",
    )


class WholeNumberField(serializers.IntegerField):
    """A page's limit or offset, read as the lists read theirs (``pagination.whole_number``: ASCII digits only, so
    ``limit=2.0`` is a 400 here as there)."""

    def to_internal_value(self, data):
        try:
            return whole_number(str(data), self.field_name, minimum=self.min_value or 0)
        except ValidationError as exc:
            raise serializers.ValidationError(exc.detail[self.field_name]) from None


class TimelineQuery(serializers.Serializer):
    limit = WholeNumberField(
        min_value=1,
        max_value=1000,
        required=False,
        default=1000,
        help_text="At most this many events and this many figures (the earliest ones).",
    )


class ConsistencyQuery(serializers.Serializer):
    tolerance = serializers.FloatField(
        min_value=0,
        max_value=100,
        required=False,
        default=float(selectors.DEFAULT_TOLERANCE),
        help_text="How far apart (in percent of the stated value) two numbers may be and still agree.",
    )
    include_ok = serializers.BooleanField(
        required=False, default=False, help_text="Also list the checks that hold, marked ok."
    )
    company = serializers.SlugField(max_length=100, required=False, help_text="Only this company's figures (slug).")
    kind = serializers.MultipleChoiceField(
        choices=ConsistencyCheck.choices, required=False, help_text="Only findings of these kinds (repeatable)."
    )
    limit = WholeNumberField(
        min_value=1,
        max_value=WHOLE_NUMBER_MAX,
        required=False,
        default=Pagination.default_limit,
        help_text=f"Findings per page ({Pagination.default_limit} by default, at most {Pagination.max_limit}: a "
        f"larger limit is cut to {Pagination.max_limit}).",
    )
    offset = WholeNumberField(
        min_value=0, max_value=WHOLE_NUMBER_MAX, required=False, default=0, help_text="Findings to skip."
    )

    def validate_tolerance(self, value: float) -> Decimal:
        if not math.isfinite(value):
            raise serializers.ValidationError("Enter a number from 0 to 100.")
        return Decimal(repr(value)).quantize(Decimal("0.000001"))


class AnalyticsSchema(schema.AutoSchema):
    """The project's schema, where a ``company`` query parameter lists the slugs it accepts (as the lists' related
    filters do, see ``schema.accepted_values``), so a client (or schemathesis) knows which values are valid."""

    def _get_parameters(self):
        parameters = super()._get_parameters()
        for parameter in parameters:
            if parameter["in"] == "query" and parameter["name"] == "company":
                slugs = company_slugs()
                if slugs:
                    parameter["schema"] = {"type": "string", "enum": slugs}
        return parameters


def company_slugs() -> list[str] | None:
    """Every company's slug, or None when there are too many to list or no database to ask."""
    try:
        rows = Company.objects.order_by("slug").values_list("slug", flat=True)[: schema.ACCEPTED_VALUES_LISTED + 1]
        slugs = list(rows)
    except DatabaseError:
        return None
    return None if len(slugs) > schema.ACCEPTED_VALUES_LISTED else slugs


class CountsFilterBackend(FilterBackend):
    """The list's filters, and ``by``."""

    def accepted_parameters(self, view, queryset) -> set[str]:
        return super().accepted_parameters(view, queryset) | {"by"}


# -- JSON ----------------------------------------------------------------------------------------------------------


class Links:
    """Addresses of figures in the API and in the admin, built once per request."""

    def __init__(self, request: Request):
        self.api = listing.FIGURES.url_prefix(request)
        self.admin = request.build_absolute_uri(reverse("admin:articles_figure_change", args=[0])).removesuffix(
            "0/change/"
        )

    def figure(self, figure_id: int) -> dict[str, str]:
        return {"api_url": f"{self.api}{figure_id}/", "admin_url": f"{self.admin}{figure_id}/change/"}


def _figure(row: dict, links: Links) -> dict:
    return {
        "id": row["id"],
        "api_url": links.figure(row["id"])["api_url"],
        "article": row["article__slug"],
        "subject": row["subject"],
        "as_reported": row["as_reported"],
        "value": money(row["value"]),
        "value_high": money(row["value_high"]),
        "qualifier": row["qualifier"],
        "status": row["status"],
        "period_label": row["period_label"],
        "quote": row["quote"],
    }


def series_row(point: selectors.SeriesPoint, links: Links) -> dict:
    preferred = point.preferred
    figures = []
    for row in point.figures:
        figure = _figure(row, links)
        figure["preferred"] = preferred is not None and row["id"] == preferred["id"]
        figures.append(figure)
    return {
        "period_start": point.start.isoformat(),
        "period_end": point.end.isoformat(),
        "label": point.label,
        "granularity": point.granularity,
        "unit": point.unit,
        "value": money(preferred["value"]) if preferred else None,
        "value_high": money(preferred["value_high"]) if preferred else None,
        "qualifier": preferred["qualifier"] if preferred else None,
        "as_reported": preferred["as_reported"] if preferred else None,
        "preferred": links.figure(preferred["id"])["api_url"] if preferred else None,
        "conflict": point.conflict,
        "ambiguous": point.ambiguous,
        "figures": figures,
    }


def finding_json(finding: selectors.Finding, links: Links) -> dict:
    point = finding.point
    figures = []
    for role, row in finding.figures:
        figures.append(
            {
                "role": role,
                "id": row["id"],
                **links.figure(row["id"]),
                "article": row["article__slug"],
                "metric": row["metric"],
                "as_reported": row["as_reported"],
                "value": money(row["value"]),
                "value_high": money(row["value_high"]),
                "status": row["status"],
                "period_label": row["period_label"],
            }
        )
    percent = finding.difference_percent
    return {
        "kind": finding.kind,
        "ok": finding.ok,
        "company": point.company,
        "metric": point.metric,
        "unit": point.unit,
        "period_start": point.start.isoformat(),
        "period_end": point.end.isoformat(),
        "label": point.label,
        "granularity": point.granularity,
        "message": finding.message,
        "stated": money(finding.stated),
        "computed": money(finding.computed),
        "difference": money(finding.difference),
        "difference_percent": None if percent is None else f"{percent:.2f}",
        "figures": figures,
    }


def counts_json(view, *, start: str, end: str) -> dict:
    """Counts per period of the records a list's filters choose (``view.filter_queryset``)."""
    check_not_empty(view.request, ["by"])
    by = CountsQuery(data=view.request.query_params)
    by.is_valid(raise_exception=True)
    by = by.validated_data["by"]
    queryset = view.filter_queryset(view.get_queryset())
    counts, unplaced = selectors.period_counts(queryset, start=start, end=end, by=by)
    return {
        "by": by,
        "results": [
            {"period_start": c.start.isoformat(), "period_end": c.end.isoformat(), "label": c.label, "count": c.count}
            for c in counts
        ],
        "unplaced": unplaced,
    }


def timeline_json(company: Company, request: Request, limit: int) -> dict:
    """A company's events and figures, each as its list shows it; the events with their date in words."""
    events = listing.EVENTS.read(selectors.company_events(company)[: limit + 1], request)
    figures = listing.FIGURES.read(selectors.company_figures(company)[: limit + 1], request)
    for event in events:
        end_date = datetime.date.fromisoformat(event["end_date"]) if event["end_date"] else None
        event["when"] = selectors.date_name(
            datetime.date.fromisoformat(event["date"]), event["date_precision"], end_date
        )
        event["roles"] = [p["role"] for p in event["participants"] if p["company"] == company.slug]
    return {
        "company": company.slug,
        "name": company.name,
        "api_url": request.build_absolute_uri(reverse("company-detail", kwargs={"slug": company.slug})),
        "page_url": request.build_absolute_uri(company.get_absolute_url()),
        "events": events[:limit],
        "events_truncated": len(events) > limit,
        "figures": figures[:limit],
        "figures_truncated": len(figures) > limit,
    }


# -- Response documentation --------------------------------------------------------------------------------------


class SeriesFigureSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    api_url = serializers.URLField()
    article = serializers.SlugField(help_text="The article that states it.")
    subject = serializers.CharField()
    as_reported = serializers.CharField()
    value = serializers.DecimalField(max_digits=24, decimal_places=6)
    value_high = serializers.DecimalField(max_digits=24, decimal_places=6, allow_null=True)
    qualifier = serializers.CharField()
    status = serializers.ChoiceField(choices=ReviewStatus.choices)
    period_label = serializers.CharField(help_text="The period as the article names it.")
    quote = serializers.CharField()
    preferred = serializers.BooleanField(help_text="This figure's value is the period's value.")


class SeriesRowSerializer(serializers.Serializer):
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    label = serializers.CharField(help_text='The period: "January 2019", "Q1 2019", "2019", ...')
    granularity = serializers.CharField(help_text=f"One of {', '.join(PeriodGranularity.values)}.")
    unit = serializers.ChoiceField(choices=Unit.choices)
    value = serializers.DecimalField(
        max_digits=24,
        decimal_places=6,
        allow_null=True,
        help_text="The preferred figure's value: corrected, then verified, then reported, then disputed; "
        "rejected figures never count (null when every figure of the period was rejected).",
    )
    value_high = serializers.DecimalField(max_digits=24, decimal_places=6, allow_null=True, help_text="Top of a range.")
    qualifier = serializers.CharField(allow_null=True)
    as_reported = serializers.CharField(allow_null=True)
    preferred = serializers.URLField(allow_null=True, help_text="The preferred figure.")
    conflict = serializers.BooleanField(help_text="Figures of different articles state different values.")
    ambiguous = serializers.BooleanField(
        help_text="One article states several values for the period (often different things: see the subjects)."
    )
    figures = SeriesFigureSerializer(many=True, help_text="Every figure that states the period, rejected included.")


class SeriesSerializer(serializers.Serializer):
    company = serializers.SlugField()
    metric = serializers.ChoiceField(choices=Metric.choices)
    unit = serializers.ChoiceField(choices=Unit.choices, allow_null=True)
    results = SeriesRowSerializer(many=True)


class PeriodCountSerializer(serializers.Serializer):
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    label = serializers.CharField()
    count = serializers.IntegerField()


class CountsSerializer(serializers.Serializer):
    by = serializers.CharField()
    results = PeriodCountSerializer(many=True, help_text="Periods with records, in order.")
    unplaced = serializers.IntegerField(
        help_text="Records not inside one period: known only to a coarser precision, spanning periods, or undated."
    )


class TimelineEventSerializer(serializers.Serializer):
    """An event as /api/events/ lists it, with its date in words and the company's roles in it."""

    id = serializers.IntegerField()
    api_url = serializers.URLField()
    title = serializers.CharField()
    type = serializers.CharField()
    date = serializers.DateField(help_text="The first day of the period the date stands for.")
    date_precision = serializers.CharField()
    end_date = serializers.DateField(allow_null=True)
    date_latest = serializers.DateField(help_text="The last day the date (or the span) covers.")
    when = serializers.CharField(help_text='The date at its precision: "June 2021", "Q1 2019", "2018".')
    roles = serializers.ListField(child=serializers.CharField(), help_text="The company's roles in the event.")


class TimelineSerializer(serializers.Serializer):
    company = serializers.SlugField()
    name = serializers.CharField()
    api_url = serializers.URLField()
    page_url = serializers.URLField()
    events = TimelineEventSerializer(many=True, help_text="Events it takes part in, in date order.")
    events_truncated = serializers.BooleanField()
    figures = serializers.ListField(
        child=serializers.DictField(), help_text="Its figures as /api/figures/ lists them, by period."
    )
    figures_truncated = serializers.BooleanField()


class FindingFigureSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=[("whole", "whole"), ("part", "part"), ("statement", "statement")])
    id = serializers.IntegerField()
    api_url = serializers.URLField()
    admin_url = serializers.URLField()
    article = serializers.SlugField()
    metric = serializers.CharField()
    as_reported = serializers.CharField()
    value = serializers.DecimalField(max_digits=24, decimal_places=6)
    value_high = serializers.DecimalField(max_digits=24, decimal_places=6, allow_null=True)
    status = serializers.CharField()
    period_label = serializers.CharField()


class FindingSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ConsistencyCheck.choices)
    ok = serializers.BooleanField(help_text="The check holds within the tolerance (listed with include_ok only).")
    company = serializers.SlugField()
    metric = serializers.CharField()
    unit = serializers.CharField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    label = serializers.CharField()
    granularity = serializers.CharField()
    message = serializers.CharField()
    stated = serializers.DecimalField(max_digits=24, decimal_places=6, allow_null=True)
    computed = serializers.DecimalField(max_digits=24, decimal_places=6, allow_null=True)
    difference = serializers.DecimalField(max_digits=24, decimal_places=6, allow_null=True)
    difference_percent = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    figures = FindingFigureSerializer(many=True)


class ConsistencySerializer(serializers.Serializer):
    tolerance = serializers.DecimalField(max_digits=9, decimal_places=6)
    count = serializers.IntegerField(help_text="How many findings there are (on every page).")
    next = serializers.URLField(allow_null=True, help_text="The next page of findings.")
    previous = serializers.URLField(allow_null=True, help_text="The previous page of findings.")
    results = FindingSerializer(many=True)


class ConsistencyReportView(APIView):
    """Figures that do not add up: parts that do not sum to the stated whole (months to a quarter, quarters or
    halves to a year), net results that do not follow from their parts or from revenue minus costs, and the same
    company, metric and period stated differently by different articles. Each finding links its figures.

    The findings come a page at a time (``limit``/``offset``, as on the lists), ordered by company and period;
    ``count`` is how many there are in all."""

    permission_classes = [AllowAny]
    renderer_classes = RENDERERS
    http_method_names = ["get", "head", "options"]

    def expensive(self, request: Request) -> bool:
        """Every company's report reads every company figure: it counts against the lower limit
        (``ExpensiveRateThrottle``); one company's does not."""
        return not request.query_params.get("company")

    @extend_schema(
        summary="The consistency report",
        parameters=[ConsistencyQuery],
        responses={200: ConsistencySerializer, 400: schema.BAD_REQUEST},
    )
    def get(self, request: Request) -> Response:
        params = query(ConsistencyQuery, request)
        company = company_named(params["company"], "company") if params.get("company") else None
        findings = selectors.consistency_findings(
            tolerance=params["tolerance"],
            include_ok=params["include_ok"],
            company=company,
            kinds=params.get("kind") or (),
        )
        limit, offset = min(params["limit"], Pagination.max_limit), params["offset"]
        links = Links(request)
        return Response(
            {
                "tolerance": f"{params['tolerance'].normalize():f}",
                "count": len(findings),
                **offset_links(request, limit, offset, offset + limit < len(findings)),
                "results": [finding_json(f, links) for f in findings[offset : offset + limit]],
            }
        )

    # Set after the method: inside the class body the name would hide the ``schema`` module its decorator reads.
    schema = AnalyticsSchema()
