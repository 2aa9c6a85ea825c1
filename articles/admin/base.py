"""What every newsdb admin page shares.

Every save and delete goes through ``articles.services.records`` (the same path as the API), with the
editor as the history user and the form's "Reason for this change" as the history's change reason.
Change forms carry the record's ``version`` in a hidden field: a save based on a page that someone
else's save has overtaken is refused with a message instead of silently overwriting their work.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.safestring import SafeString, mark_safe
from simple_history.admin import SimpleHistoryAdmin
from simple_history.manager import SIMPLE_HISTORY_REVERSE_ATTR_NAME

from ..services.records import StaleWriteError, list_changes, record_delete, record_save
from ..services.related import aliases_restore
from ..snapshots import snapshot_changes

# The history keeps reasons of any length; the form keeps them to a readable size.
REASON_MAX_LENGTH = 1000
STALE_MESSAGE = (
    "Someone else saved this {name} after you opened it (it is now at version {current}, your page shows "
    "version {expected}). Nothing was saved: reload the page, check their change and apply yours again."
)


def save_record(*, instance: models.Model, user: Any, reason: str = "", expected_version: int | None = None) -> None:
    """Save one record (a curated record, an alias or a participant) from the admin as ``user``."""
    record_save(instance=instance, user=user, reason=reason, expected_version=expected_version)


def is_historical(instance: models.Model) -> bool:
    """True for the copy of an old version that the history page offers to revert to."""
    return getattr(instance, SIMPLE_HISTORY_REVERSE_ATTR_NAME, None) is not None


class VersionedForm(forms.ModelForm):
    """A form for a curated record that remembers which version of the record the page showed."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            return
        self.fields["version"].required = True
        version = self.instance.version
        if is_historical(self.instance):
            # Reverting starts from an old copy, but the save replaces the current version.
            stored = type(self.instance)._default_manager.filter(pk=self.instance.pk)
            version = stored.values_list("version", flat=True).first() or version
            # The old copy's lists (an article's mentions) as that version held them, not as they are now.
            historic = getattr(self.instance, SIMPLE_HISTORY_REVERSE_ATTR_NAME)
            for field in getattr(historic, "_history_m2m_fields", []):
                if field.name in self.fields:
                    target = field.m2m_reverse_field_name() + "_id"
                    self.initial[field.name] = [getattr(row, target) for row in getattr(historic, field.name).all()]
        # Also on a bound form: an unchanged inline row must compare equal to what the page showed.
        self.initial["version"] = version

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        expected = cleaned.get("version")
        if self.instance.pk is not None and expected is not None:
            stored = type(self.instance)._default_manager.filter(pk=self.instance.pk)
            current = stored.values_list("version", flat=True).first()
            if current is not None and current != expected:
                raise ValidationError(
                    STALE_MESSAGE.format(name=self._meta.model._meta.verbose_name, current=current, expected=expected),
                    code="stale",
                )
        return cleaned


class RecordForm(VersionedForm):
    """A curated record's change form: the version check plus the reason the history keeps."""

    change_reason = forms.CharField(
        label="Reason for this change",
        required=False,
        max_length=REASON_MAX_LENGTH,
        help_text="Optional; kept in the record's history with your name (e.g. a source that confirms it).",
        widget=forms.TextInput(attrs={"size": 80}),
    )

    def _save_m2m(self) -> None:
        # The lists belong to the history entry the record's save wrote (also on a revert).
        with list_changes(self.instance):
            super()._save_m2m()


class RecordAdmin(SimpleHistoryAdmin):
    """Admin for a curated record: writes go through the record services with the editor's reason, and
    change forms are version-checked."""

    form = RecordForm
    history_list_display = ["lists"]
    change_fields = ("change_reason", "version")
    change_fieldset_name = "This change"

    def get_exclude(self, request: HttpRequest, obj: models.Model | None = None) -> list[str]:
        # ``version`` is not editable on the model; the form declares its own hidden field of that name.
        return [*(super().get_exclude(request, obj) or []), "version"]

    def get_fieldsets(self, request: HttpRequest, obj: models.Model | None = None) -> list:
        fieldsets = []
        for name, options in super().get_fieldsets(request, obj):
            fields = [f for f in options["fields"] if f not in self.change_fields]
            fieldsets.append((name, {**options, "fields": fields}))
        return [*fieldsets, (self.change_fieldset_name, {"fields": self.change_fields})]

    def change_reason(self, form: forms.Form | None, obj: models.Model | None = None) -> str:
        reason = ((form.cleaned_data.get("change_reason") if form is not None else "") or "").strip()
        historic = getattr(obj, SIMPLE_HISTORY_REVERSE_ATTR_NAME, None) if obj is not None else None
        if historic is not None:
            reverted = f"Reverted to the version of {historic.history_date:%Y-%m-%d %H:%M:%S}"
            reason = f"{reverted}: {reason}" if reason else reverted
        return reason

    def save_model(self, request: HttpRequest, obj: models.Model, form: forms.Form, change: bool) -> None:
        expected = form.cleaned_data.get("version") if change else None
        save_record(instance=obj, user=request.user, reason=self.change_reason(form, obj), expected_version=expected)
        if is_historical(obj):
            # A revert (simple-history saves the form, then its many-to-many lists, and no inlines).
            with list_changes(obj):
                self.restore_lists(request, form)

    def save_related(self, request: HttpRequest, form: forms.Form, formsets: Any, change: bool) -> None:
        # The many-to-many lists (an article's mentions) belong to the history entry save_model just wrote.
        with list_changes(form.instance):
            form.save_m2m()
            for formset in formsets:
                self.save_formset(request, form, formset, change=change)

    def lists(self, record: models.Model) -> SafeString | str:
        """The history page's column for the lists an entry keeps a copy of (participants, aliases)."""
        previous = record.prev_record
        if previous is None:
            return ""
        return format_html_join(mark_safe("<br>"), "<strong>{}:</strong> {} → {}", snapshot_changes(previous, record))

    def restore_lists(self, request: HttpRequest, form: forms.Form) -> None:
        """On a revert, bring back the lists the old version had that its form does not carry: here a
        company's or person's aliases (events override it for their participants)."""
        historic = getattr(form.instance, SIMPLE_HISTORY_REVERSE_ATTR_NAME, None)
        snapshot = getattr(historic, "aliases_snapshot", None)
        if snapshot is not None:
            reason = self.change_reason(form, form.instance)
            aliases_restore(owner=form.instance, snapshot=snapshot, user=request.user, reason=reason)

    def save_formset(self, request: HttpRequest, form: forms.Form, formset: Any, change: bool) -> None:
        reason = self.change_reason(form)
        instances = formset.save(commit=False)
        versions = {id(f.instance): f.cleaned_data.get("version") for f in formset.forms if hasattr(f, "cleaned_data")}
        for obj in formset.deleted_objects:
            record_delete(instance=obj, user=request.user, reason=reason)
        for obj in instances:
            expected = versions.get(id(obj)) if obj.pk is not None else None
            save_record(instance=obj, user=request.user, reason=reason, expected_version=expected)
        formset.save_m2m()

    def delete_model(self, request: HttpRequest, obj: models.Model) -> None:
        record_delete(instance=obj, user=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: models.QuerySet) -> None:
        for obj in queryset:
            record_delete(instance=obj, user=request.user)

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except StaleWriteError as exc:
            # Someone saved between the form's check and the write; the transaction rolled back.
            return self._refuse_stale(request, exc)

    def history_form_view(
        self, request: HttpRequest, object_id: str, version_id: str, extra_context: dict | None = None
    ) -> HttpResponse:
        try:
            with transaction.atomic():
                return super().history_form_view(request, object_id, version_id, extra_context)
        except StaleWriteError as exc:
            return self._refuse_stale(request, exc)

    def _refuse_stale(self, request: HttpRequest, exc: StaleWriteError) -> HttpResponse:
        name = exc.instance._meta.verbose_name
        self.message_user(
            request,
            STALE_MESSAGE.format(name=name, current=exc.current, expected=exc.expected),
            messages.ERROR,
        )
        return HttpResponseRedirect(request.path)


class VersionedInline(admin.TabularInline):
    """An inline of curated records, each form carrying its row's version."""

    form = VersionedForm
    extra = 0
    show_change_link = True

    def get_exclude(self, request: HttpRequest, obj: models.Model | None = None) -> list[str]:
        return [*(super().get_exclude(request, obj) or []), "version"]


def provenance(record: models.Model | None) -> SafeString | str:
    """The article's body, read-only and escaped, with the record's quote marked."""
    article = getattr(record, "article", None) if record is not None and record.article_id else None
    if article is None:
        return "Choose the article and save; its text will show here with the quote highlighted."
    body, quote = article.body, record.quote or ""
    start, end = record.quote_start, record.quote_end
    if not quote or body[start:end] != quote:
        found = body.find(quote) if quote else -1
        start, end = (found, found + len(quote)) if found >= 0 else (None, None)
    context = {
        "article": article,
        "article_url": reverse("admin:articles_article_change", args=[article.pk]),
        "found": start is not None,
        "before": body[:start] if start is not None else body,
        "quote": body[start:end] if start is not None else "",
        "after": body[end:] if start is not None else "",
    }
    return mark_safe(render_to_string("admin/articles/provenance.html", context))


class ProvenanceMixin:
    """Shows the article's body with the record's quote highlighted, so the editor checks against the text."""

    formfield_overrides = {models.TextField: {"widget": forms.Textarea(attrs={"rows": 3, "cols": 80})}}

    @admin.display(description="Article text")
    def article_text(self, record: models.Model | None) -> SafeString | str:
        return provenance(record)
