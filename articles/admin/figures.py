"""Figures: checked against the article's text, reviewed one by one or many at once."""

from decimal import Decimal, InvalidOperation

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path

from .. import selectors
from ..choices import ConsistencyCheck
from ..models import Figure
from ..services.figures import (
    FigureReviewError,
    figure_delete,
    figure_save,
    figures_mark_disputed,
    figures_mark_verified,
)
from .base import FullTextSearch, InUseFilter, ProvenanceMixin, RecordAdmin


def _number(value: Decimal) -> str:
    text = f"{value:,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@admin.register(Figure)
class FigureAdmin(FullTextSearch, ProvenanceMixin, RecordAdmin):
    list_display = ["as_reported", "about", "metric", "value_display", "period_label", "status", "article"]
    list_filter = [
        "status",
        "metric",
        "unit",
        "period_granularity",
        ("article__publisher", InUseFilter),
        "period_start",
    ]
    list_select_related = ["company", "article"]
    search_fields = ["quote", "as_reported", "subject", "company__name"]
    search_help_text = (
        f"{FullTextSearch.search_help_text} In the subject, company, metric, as reported, period and quote."
    )
    autocomplete_fields = ["article", "company"]
    readonly_fields = ["article_text", "reviewed_by", "reviewed_at", "period_granularity"]
    actions = ["mark_verified", "mark_disputed"]
    change_list_template = "admin/articles/figure/change_list.html"
    save_service = figure_save
    delete_service = figure_delete
    fieldsets = [
        (None, {"fields": ["article", "key", "company", "subject", "metric"]}),
        (
            "The number",
            {
                "fields": ["as_reported", ("value", "value_high"), ("unit", "qualifier")],
                "description": (
                    "As reported keeps the article's words. When the article itself is wrong, put the right "
                    "value here, set the status to corrected and say why in the note."
                ),
            },
        ),
        ("Period", {"fields": [("period_start", "period_end"), "period_label", "period_granularity"]}),
        (
            "Provenance",
            {
                "fields": ["quote", "article_text"],
                "description": "The quote must occur verbatim in the article's body; it is highlighted below.",
            },
        ),
        ("Review", {"fields": ["status", "note", ("reviewed_by", "reviewed_at")]}),
    ]

    @admin.display(description="About", ordering="company__name")
    def about(self, figure: Figure) -> str:
        return figure.company.name if figure.company_id else figure.subject

    @admin.display(description="Value", ordering="value")
    def value_display(self, figure: Figure) -> str:
        text = _number(figure.value)
        if figure.value_high is not None:
            text = f"{text}–{_number(figure.value_high)}"
        return f"{text} {figure.unit}"

    def _review(self, request: HttpRequest, queryset: QuerySet, action, label: str) -> None:
        try:
            changed = action(figures=queryset, user=request.user, reason=f"Marked {label} from the figure list")
        except FigureReviewError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        count = len(changed)
        self.message_user(request, f"{count} figure{'s' if count != 1 else ''} marked {label}.", messages.SUCCESS)

    @admin.action(description="Mark the selected figures verified", permissions=["change"])
    def mark_verified(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._review(request, queryset, figures_mark_verified, "verified")

    @admin.action(description="Mark the selected figures disputed", permissions=["change"])
    def mark_disputed(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._review(request, queryset, figures_mark_disputed, "disputed")

    def get_urls(self) -> list:
        consistency = self.admin_site.admin_view(self.consistency_view)
        return [path("consistency/", consistency, name="articles_figure_consistency"), *super().get_urls()]

    def consistency_view(self, request: HttpRequest) -> HttpResponse:
        """The consistency report (``selectors.consistency_findings``), each finding linking its figures."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            tolerance = Decimal(request.GET.get("tolerance") or selectors.DEFAULT_TOLERANCE)
            if not 0 <= tolerance <= 100:
                raise InvalidOperation
        except InvalidOperation:
            self.message_user(request, "The tolerance is a percentage from 0 to 100; 0.1 is used.", messages.WARNING)
            tolerance = selectors.DEFAULT_TOLERANCE
        include_ok = request.GET.get("include_ok") in {"1", "true", "on"}
        findings = selectors.consistency_findings(tolerance=tolerance, include_ok=include_ok)
        page = Paginator(findings, self.list_per_page).get_page(request.GET.get("p"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Consistency of the figures",
            "findings": page.object_list,
            "page": page,
            "kinds": dict(ConsistencyCheck.choices),
            "tolerance": f"{tolerance.normalize():f}",
            "include_ok": include_ok,
        }
        return TemplateResponse(request, "admin/articles/figure/consistency.html", context)
