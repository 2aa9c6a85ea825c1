"""Events, with their participants inline and the article's text beside them."""

from django import forms
from django.contrib import admin, messages
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from simple_history.manager import SIMPLE_HISTORY_REVERSE_ATTR_NAME

from ..models import Event, EventParticipant
from ..services.related import participants_restore
from .base import ProvenanceMixin, RecordAdmin


class ParticipantInline(admin.TabularInline):
    model = EventParticipant
    fields = ["company", "person", "role"]
    autocomplete_fields = ["company", "person"]
    extra = 1

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("company", "person")


@admin.register(Event)
class EventAdmin(ProvenanceMixin, RecordAdmin):
    list_display = ["title", "date", "date_precision", "type", "participant_names", "article"]
    list_filter = [
        "type",
        "date",
        "date_precision",
        ("article__publisher", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["article"]
    search_fields = ["title", "quote", "summary"]
    autocomplete_fields = ["article"]
    readonly_fields = ["article_text"]
    inlines = [ParticipantInline]
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
        ("Review", {"fields": ["note"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        participants = EventParticipant.objects.select_related("company", "person")
        return super().get_queryset(request).prefetch_related(Prefetch("participants", queryset=participants))

    def restore_lists(self, request: HttpRequest, form: forms.Form) -> None:
        historic = getattr(form.instance, SIMPLE_HISTORY_REVERSE_ATTR_NAME, None)
        snapshot = getattr(historic, "participants_snapshot", None)
        if snapshot is None:
            return
        reason = self.change_reason(form, form.instance)
        missing = participants_restore(event=form.instance, snapshot=snapshot, user=request.user, reason=reason)
        if missing:
            self.message_user(
                request,
                f"Participants that no longer exist were left out: {', '.join(missing)}.",
                messages.WARNING,
            )

    @admin.display(description="Participants")
    def participant_names(self, event: Event) -> str:
        return ", ".join(f"{p.company or p.person} ({p.get_role_display().lower()})" for p in event.participants.all())
