"""What every newsdb admin page shares.

A save hands the whole submission to the entity's write service, once: the record's form, its lists
(aliases, participants, an article's mentions) and, for the records edited inline (an article's events and
figures), one service call each. The services hold every rule; the admin only translates forms into data
and the services' errors back into form errors. Change forms carry the record's ``version`` in a hidden
field, and the service refuses a save based on a version someone else's save has overtaken.

Text fields normalise line endings as they read the browser's data, so a form posted back unchanged
(a browser sends ``\\r\\n``) has no changes, writes nothing and logs nothing.
"""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import connection, models, transaction
from django.db.models import Exists, OuterRef, Q
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.safestring import SafeString, mark_safe
from simple_history.admin import SimpleHistoryAdmin
from simple_history.manager import SIMPLE_HISTORY_REVERSE_ATTR_NAME

from .. import search
from ..models import MergedCompany
from ..services.base import StaleWriteError, normalise_text
from ..services.history import lists_changes

# The history keeps reasons of any length; the form keeps them to a readable size.
REASON_MAX_LENGTH = 1000
STALE_MESSAGE = (
    "Someone else saved this {name} after you opened it (it is now at version {current}, your page shows "
    "version {expected}). Nothing was saved: reload the page, check their change and apply yours again."
)
NOT_DATA = {"id", "version", "change_reason"}


def is_historical(instance: models.Model) -> bool:
    """True for the copy of an old version that the history page offers to revert to."""
    return getattr(instance, SIMPLE_HISTORY_REVERSE_ATTR_NAME, None) is not None


class NormalisedCharField(forms.CharField):
    """A text field that reads ``\\r\\n`` and ``\\r`` as ``\\n``: a browser's round trip is no change."""

    def to_python(self, value: Any) -> Any:
        return normalise_text(super().to_python(value))


def normalise_fields(form: forms.BaseForm) -> None:
    for field in form.fields.values():
        if type(field) is forms.CharField:
            field.__class__ = NormalisedCharField


def form_data(form: forms.ModelForm, exclude: set[str] = frozenset()) -> dict[str, Any]:
    """The model fields a form edits, as a service's ``data`` (many-to-many lists included)."""
    names = {f.name for f in form._meta.model._meta.get_fields() if f.concrete}
    return {
        name: value
        for name, value in form.cleaned_data.items()
        if name in names and name not in NOT_DATA and name not in exclude
    }


class VersionedForm(forms.ModelForm):
    """A form for a curated record that remembers which version of the record the page showed."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        normalise_fields(self)
        if self.instance.pk is None:
            return
        self.fields["version"].required = True
        version = self.instance.version
        if is_historical(self.instance):
            # Reverting starts from an old copy, but the save replaces the current version.
            stored = type(self.instance)._default_manager.filter(pk=self.instance.pk)
            version = stored.values_list("version", flat=True).first() or version
            self._initial_lists_from_history(getattr(self.instance, SIMPLE_HISTORY_REVERSE_ATTR_NAME))
        # Also on a bound form: an unchanged inline row must compare equal to what the page showed.
        self.initial["version"] = version

    def _initial_lists_from_history(self, historic: models.Model) -> None:
        """The old copy's mention lists as that version held them (slugs of merged companies lead on)."""
        lists = historic.lists or {}
        for name in ("companies", "people"):
            if name in self.fields and name in lists:
                model = self.fields[name].queryset.model
                slugs = list(lists[name])
                if name == "companies":
                    merged = dict(MergedCompany.objects.filter(slug__in=slugs).values_list("slug", "into__slug"))
                    slugs = [merged.get(slug, slug) for slug in slugs]
                self.initial[name] = list(model.objects.filter(slug__in=slugs).values_list("pk", flat=True))


class RecordForm(VersionedForm):
    """A curated record's change form: the version, the reason the history keeps, and the service's errors."""

    change_reason = forms.CharField(
        label="Reason for this change",
        required=False,
        max_length=REASON_MAX_LENGTH,
        help_text="Optional; kept in the record's history with your name (e.g. a source that confirms it).",
        widget=forms.TextInput(attrs={"size": 80}),
    )
    #: Errors the write service found on the first try; the form shows them instead of saving.
    service_errors: ValidationError | None = None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.service_errors is not None:
            for field, messages_ in _error_dict(self.service_errors).items():
                self.add_error(field if field in self.fields else None, messages_)
        return cleaned

    def _save_m2m(self) -> None:
        """The service writes the lists; a form must not write them behind its back (e.g. on a revert)."""


def _error_dict(error: ValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return {field: [m for e in errs for m in e.messages] for field, errs in error.error_dict.items()}
    return {NON_FIELD_ERRORS: list(error.messages)}


class InUseFilter(admin.RelatedOnlyFieldListFilter):
    """Django's ``RelatedOnlyFieldListFilter`` (the related records the listed rows name, e.g. the publishers of the
    figures' articles), asked of each related record with ``EXISTS``, which PostgreSQL answers with an index probe or
    two apiece. Django's collects every distinct value of the listed rows first: at 100,000 articles that read every
    figure and article, 164 ms for the figures' publishers (37 ms this way) and 76 ms for the articles'."""

    def field_choices(self, field, request, model_admin):
        listed = model_admin.get_queryset(request).order_by().filter(**{self.field_path: OuterRef("pk")})
        ordering = self.field_admin_ordering(field, request, model_admin)
        return field.get_choices(include_blank=False, limit_choices_to=Q(Exists(listed)), ordering=ordering)


class DistinctValuesFilter(admin.AllValuesFieldListFilter):
    """Django's ``AllValuesFieldListFilter`` (every value the column holds), the values found by stepping through an
    index that leads with the column: the first value, then the first one after it, and so on, an index probe per
    value (a recursive query; PostgreSQL has no skip scan of its own). Django's reads every row for a ``DISTINCT``:
    the articles' languages took 44 ms at 100,000 articles. For a column of the model's own table, with an index
    that starts with it and few values."""

    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        table, column = connection.ops.quote_name(model._meta.db_table), connection.ops.quote_name(field.column)
        sql = f"""
            WITH RECURSIVE found(value) AS (
                SELECT * FROM (SELECT {column} FROM {table} WHERE {column} IS NOT NULL ORDER BY 1 LIMIT 1) lowest
                UNION ALL
                SELECT (SELECT {column} FROM {table} WHERE {column} > found.value ORDER BY 1 LIMIT 1)
                FROM found WHERE found.value IS NOT NULL
            )
            SELECT value FROM found WHERE value IS NOT NULL
            UNION ALL
            SELECT NULL WHERE EXISTS (SELECT 1 FROM {table} WHERE {column} IS NULL)
        """
        with connection.cursor() as cursor:
            cursor.execute(sql)
            self.lookup_choices = [value for (value,) in cursor.fetchall()]


class FullTextSearch:
    """The list's search box reads the full-text index, as the API's ``q`` does (``articles.search``): words in any
    form ("raise" finds "raised"), all of them, "quoted words" together, ``-word`` left out. Django's own search
    compares each word with ``icontains`` to each of ``search_fields``, which reads every row of the table and every
    company it joins: at 100,000 articles 430-510 ms a figure search and 340 ms an event search, growing with the
    table. ``search_fields`` stay, to show the box. Not for a model other forms pick by autocomplete, which searches
    with the same method and needs parts of words ("bitm")."""

    search_help_text = (
        'Whole words in any form ("raise" finds "raised"), all of them; "quoted words" together; -word left out.'
    )

    def get_search_results(
        self, request: HttpRequest, queryset: models.QuerySet, search_term: str
    ) -> tuple[models.QuerySet, bool]:
        if not search_term.strip():
            return queryset, False
        return search.search_filter(queryset, search_term), False


class RecordAdmin(SimpleHistoryAdmin):
    """Admin for a curated record: each save is one call of the entity's write service."""

    form = RecordForm
    # One count of the list a page (the paginator's), not two: each reads the whole table (35 ms at 200,000 figures).
    show_full_result_count = False
    history_list_display = ["lists"]
    change_fields = ("change_reason", "version")
    change_fieldset_name = "This change"
    #: The entity's services, e.g. ``figure_save`` / ``figure_delete``; they take the record by the model's name.
    save_service: Callable[..., models.Model]
    delete_service: Callable[..., None]
    #: Inlines whose rows are a list of the record (``{"aliases": AliasInline}``), saved with it in one call.
    list_inlines: dict[str, type] = {}

    def get_exclude(self, request: HttpRequest, obj: models.Model | None = None) -> list[str]:
        # ``version`` is not editable on the model; the form declares its own hidden field of that name.
        return [*(super().get_exclude(request, obj) or []), "version"]

    def get_fieldsets(self, request: HttpRequest, obj: models.Model | None = None) -> list:
        fieldsets = []
        for name, options in super().get_fieldsets(request, obj):
            fields = [f for f in options["fields"] if f not in self.change_fields]
            fieldsets.append((name, {**options, "fields": fields}))
        return [*fieldsets, (self.change_fieldset_name, {"fields": self.change_fields})]

    def get_form(self, request: HttpRequest, obj: models.Model | None = None, **kwargs: Any) -> type:
        form = super().get_form(request, obj, **kwargs)
        errors = getattr(request, "_service_errors", None)
        if errors is None:
            return form
        return type(form.__name__, (form,), {"service_errors": errors})

    def change_reason(self, form: forms.Form | None, obj: models.Model | None = None) -> str:
        reason = ((form.cleaned_data.get("change_reason") if form is not None else "") or "").strip()
        historic = getattr(obj, SIMPLE_HISTORY_REVERSE_ATTR_NAME, None) if obj is not None else None
        if historic is not None:
            reverted = f"Reverted to the version of {historic.history_date:%Y-%m-%d %H:%M:%S}"
            reason = f"{reverted}: {reason}" if reason else reverted
        return reason

    def call_save(
        self, request: HttpRequest, record: models.Model | None, data: dict, reason: str, expected: int | None
    ) -> models.Model:
        name = self.model._meta.model_name
        return type(self).save_service(
            **{name: record}, data=data, user=request.user, reason=reason, expected_version=expected
        )

    def save_model(self, request: HttpRequest, obj: models.Model, form: forms.Form, change: bool) -> None:
        if not is_historical(obj):
            return  # save_related makes the one service call once the inlines are known
        # A revert: the form holds the old fields (and mentions); the other lists come from the history entry.
        historic = getattr(obj, SIMPLE_HISTORY_REVERSE_ATTR_NAME)
        data = {**self.revert_lists(historic.lists or {}), **form_data(form)}
        expected = form.cleaned_data.get("version")
        saved = self.call_save(request, obj, data, self.change_reason(form, obj), expected)
        request._newsdb_saved = saved.version != expected

    def revert_lists(self, lists: dict) -> dict:
        """The lists of an old version that its form does not carry (aliases, participants)."""
        return {name: lists[name] for name in self.list_inlines if name in lists}

    def save_related(self, request: HttpRequest, form: forms.Form, formsets: Any, change: bool) -> None:
        data = form_data(form)
        record_formsets = []
        for formset in formsets:
            name = next((n for n, inline in self.list_inlines.items() if inline.model is formset.model), None)
            if name is None:
                record_formsets.append(formset)
            else:
                data[name] = list_rows(formset)
        record = form.instance if change else None
        expected = form.cleaned_data.get("version") if change else None
        reason = self.change_reason(form)
        saved = self.call_save(request, record, data, reason, expected)
        changed = not change or saved.version != expected
        form.instance.pk, form.instance.version = saved.pk, saved.version
        for formset in record_formsets:
            changed = save_inline_records(request, formset, saved, reason) or changed
        request._newsdb_saved = changed

    def log_change(self, request: HttpRequest, obj: models.Model, message: Any) -> Any:
        # A save that changed nothing leaves no trace, not even in the admin's log.
        if getattr(request, "_newsdb_saved", True):
            return super().log_change(request, obj, message)
        return None

    def lists(self, record: models.Model) -> SafeString | str:
        """The history page's column for the lists an entry keeps (mentions, participants, aliases)."""
        previous = record.prev_record
        if previous is None:
            return ""
        return format_html_join(mark_safe("<br>"), "<strong>{}:</strong> {} → {}", lists_changes(previous, record))

    def delete_model(self, request: HttpRequest, obj: models.Model) -> None:
        type(self).delete_service(**{self.model._meta.model_name: obj}, user=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: models.QuerySet) -> None:
        for obj in queryset:
            self.delete_model(request, obj)

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except StaleWriteError as exc:
            # Someone saved since the page was loaded; the transaction rolled back. The form comes back with
            # the editor's input and the message, so nothing they typed is lost.
            request._service_errors = stale_error(exc)
        except ValidationError as exc:
            # The service refused the write (the transaction rolled back): show the form again with its errors.
            request._service_errors = exc
        return super().changeform_view(request, object_id, form_url, extra_context)

    def history_form_view(
        self, request: HttpRequest, object_id: str, version_id: str, extra_context: dict | None = None
    ) -> HttpResponse:
        try:
            with transaction.atomic():
                return super().history_form_view(request, object_id, version_id, extra_context)
        except StaleWriteError as exc:
            request._service_errors = stale_error(exc)
        except ValidationError as exc:
            request._service_errors = exc
        return super().history_form_view(request, object_id, version_id, extra_context)


def stale_error(exc: StaleWriteError) -> ValidationError:
    message = STALE_MESSAGE.format(name=exc.instance._meta.verbose_name, current=exc.current, expected=exc.expected)
    return ValidationError(message, code="stale")


def note_changes(formset: Any) -> None:
    """What ``formset.save()`` would have noted for the admin's change message (the services do the saving)."""
    deleted = {id(form) for form in formset.deleted_forms}
    forms_ = [form for form in formset.forms if id(form) not in deleted and form.has_changed()]
    formset.new_objects = [form.instance for form in forms_ if form.instance.pk is None]
    formset.changed_objects = [(form.instance, form.changed_data) for form in forms_ if form.instance.pk is not None]
    formset.deleted_objects = [form.instance for form in formset.deleted_forms if form.instance.pk is not None]


def list_rows(formset: Any) -> list[dict[str, Any]]:
    """An inline list (aliases, participants) as the rows it will hold: kept and new rows, not deleted ones."""
    deleted = {id(form) for form in formset.deleted_forms}
    note_changes(formset)
    rows = []
    for form in formset.forms:
        if id(form) in deleted or not hasattr(form, "cleaned_data"):
            continue
        if form.instance.pk is None and not form.has_changed():
            continue  # an empty extra row
        rows.append(form_data(form, exclude={formset.fk.name}))
    return rows


def save_inline_records(request: HttpRequest, formset: Any, parent: models.Model, reason: str) -> bool:
    """Records edited inline (an article's events and figures): one service call per changed or deleted row."""
    from ..services.events import event_delete, event_save
    from ..services.figures import figure_delete, figure_save

    services = {"event": (event_save, event_delete), "figure": (figure_save, figure_delete)}
    name = formset.model._meta.model_name
    save, delete = services[name]
    deleted = {id(form) for form in formset.deleted_forms}
    note_changes(formset)
    changed = False
    for form in formset.forms:
        record = form.instance if form.instance.pk is not None else None
        expected = form.cleaned_data.get("version") if record is not None else None
        try:
            if id(form) in deleted:
                if record is not None:
                    delete(**{name: record}, user=request.user, reason=reason, expected_version=expected)
                    changed = True
            elif form.has_changed():
                data = {**form_data(form, exclude={formset.fk.name}), formset.fk.name: parent}
                saved = save(**{name: record}, data=data, user=request.user, reason=reason, expected_version=expected)
                changed = changed or record is None or saved.version != expected
        except ValidationError as exc:
            label = f"{formset.model._meta.verbose_name} {form.cleaned_data.get('key') or '(new)'!s}"
            messages_ = [f"{label}: {field}: {' '.join(m)}" for field, m in _error_dict(exc).items()]
            raise ValidationError({NON_FIELD_ERRORS: messages_}) from exc
    return changed


class VersionedInline(admin.TabularInline):
    """An inline of curated records, each form carrying its row's version."""

    form = VersionedForm
    extra = 0
    show_change_link = True

    def get_exclude(self, request: HttpRequest, obj: models.Model | None = None) -> list[str]:
        return [*(super().get_exclude(request, obj) or []), "version"]


class ListInline(admin.TabularInline):
    """An inline whose rows are a list of the record (aliases, participants), saved with the record."""

    extra = 1

    def get_formset(self, request: HttpRequest, obj: models.Model | None = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        original_init = formset.form.__init__

        def __init__(form_self, *args, **kw):  # noqa: N807 - a wrapped constructor
            original_init(form_self, *args, **kw)
            normalise_fields(form_self)

        formset.form = type(formset.form.__name__, (formset.form,), {"__init__": __init__})
        return formset


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
