"""Articles, with the events and figures they state inline."""

from django import forms
from django.contrib import admin
from django.db import models
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.urls import path

from ..models import Article, Event, Figure
from ..services.articles import article_delete, article_save
from . import desk
from .base import DistinctValuesFilter, InUseFilter, RecordAdmin, VersionedInline

COMPACT_TEXT = {models.TextField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 36})}}


class EventInline(VersionedInline):
    model = Event
    fields = ["key", "title", "type", "date", "date_precision", "end_date", "quote", "note", "version"]
    formfield_overrides = COMPACT_TEXT


class FigureInline(VersionedInline):
    model = Figure
    fields = [
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
        "status",
        "note",
        "version",
    ]
    autocomplete_fields = ["company"]
    formfield_overrides = COMPACT_TEXT

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("company")


def _children(model: type[models.Model]) -> Coalesce:
    rows = model.objects.filter(article=OuterRef("pk")).order_by().values("article").annotate(n=Count("pk"))
    return Coalesce(Subquery(rows.values("n")), 0)


@admin.register(Article)
class ArticleAdmin(RecordAdmin):
    list_display = ["title", "publisher", "published_on", "published_precision", "language", "events", "figures"]
    list_filter = [
        ("publisher", InUseFilter),
        "published_on",
        "published_precision",
        ("language", DistinctValuesFilter),
    ]
    list_select_related = ["publisher"]
    search_fields = ["title", "slug"]
    autocomplete_fields = ["publisher", "companies", "people"]
    prepopulated_fields = {"slug": ["title"]}
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    inlines = [EventInline, FigureInline]
    change_list_template = "admin/articles/article/change_list.html"
    change_form_template = "admin/articles/article/change_form.html"
    save_service = article_save
    delete_service = article_delete
    fieldsets = [
        (None, {"fields": ["title", "slug", "publisher", "authors", ("published_on", "published_precision"), "url"]}),
        ("Text", {"fields": [("language", "translated_from"), "body", "notes"]}),
        ("Mentions", {"fields": ["companies", "people"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # Counted in subqueries: joining events and figures would multiply each other.
        return super().get_queryset(request).annotate(n_events=_children(Event), n_figures=_children(Figure))

    def get_urls(self) -> list:
        """Add an article from its text, the queue of articles with proposals, and an article's review desk."""
        wrap = self.admin_site.admin_view
        return [
            path("ingest/", wrap(lambda request: desk.ingest_view(self, request)), name="articles_article_ingest"),
            path("review/", wrap(lambda request: desk.queue_view(self, request)), name="articles_article_review_queue"),
            path(
                "<path:object_id>/review/",
                wrap(lambda request, object_id: desk.desk_view(self, request, object_id)),
                name="articles_article_review",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="Events", ordering="n_events")
    def events(self, article: Article) -> int:
        return article.n_events

    @admin.display(description="Figures", ordering="n_figures")
    def figures(self, article: Article) -> int:
        return article.n_figures
