"""Events, with their participants inline and the article's text beside them."""

from django.contrib import admin
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest

from ..models import Event, EventParticipant, MergedCompany
from ..services.events import event_delete, event_save
from .base import FullTextSearch, InUseFilter, ListInline, ProvenanceMixin, RecordAdmin


class ParticipantInline(ListInline):
    model = EventParticipant
    fields = ["company", "person", "role"]
    autocomplete_fields = ["company", "person"]
    extra = 1

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("company", "person")


@admin.register(Event)
class EventAdmin(FullTextSearch, ProvenanceMixin, RecordAdmin):
    list_display = ["title", "date", "date_precision", "type", "participant_names", "article"]
    list_filter = [
        "status",
        "type",
        "date",
        "date_precision",
        ("article__publisher", InUseFilter),
    ]
    list_select_related = ["article"]
    search_fields = ["title", "quote", "summary"]
    search_help_text = f"{FullTextSearch.search_help_text} In the title, summary and quote."
    autocomplete_fields = ["article"]
    readonly_fields = ["article_text"]
    inlines = [ParticipantInline]
    list_inlines = {"participants": ParticipantInline}
    save_service = event_save
    delete_service = event_delete
    fieldsets = [
        (None, {"fields": ["article", "key", "title", "summary", "type"]}),
        ("When", {"fields": [("date", "date_precision"), "end_date"]}),
        (
            "Provenance",
            {
                "fields": ["quote", "article_text"],
                "description": "The quote must occur verbatim in the article's body; it is highlighted below.",
            },
        ),
        ("Review", {"fields": ["status", "note"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        participants = EventParticipant.objects.select_related("company", "person")
        return super().get_queryset(request).prefetch_related(Prefetch("participants", queryset=participants))

    def revert_lists(self, lists: dict) -> dict:
        """The old version's participants; a company merged since then is its survivor."""
        participants = lists.get("participants")
        if participants is None:
            return {}
        merged = dict(MergedCompany.objects.values_list("slug", "into__slug"))
        return {
            "participants": [
                {**p, "company": merged.get(p["company"], p["company"]) if p["company"] else None} for p in participants
            ]
        }

    @admin.display(description="Participants")
    def participant_names(self, event: Event) -> str:
        return ", ".join(f"{p.company or p.person} ({p.get_role_display().lower()})" for p in event.participants.all())
