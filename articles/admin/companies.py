"""Companies and people, with their aliases inline; merging duplicate companies."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.widgets import AdminRadioSelect
from django.db.models import Count, Model, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from ..models import Alias, Article, Company, EventParticipant, Figure, Person
from ..services.companies import CompanyMergeError, company_delete, company_merge, company_save
from ..services.people import person_delete, person_save
from .base import REASON_MAX_LENGTH, InUseFilter, ListInline, RecordAdmin


class CompanyAliasInline(ListInline):
    model = Alias
    fk_name = "company"
    fields = ["name", "garbled", "note"]
    extra = 1


class PersonAliasInline(CompanyAliasInline):
    fk_name = "person"


class SurvivorChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, company: Company) -> str:
        return (
            f"{company.name} ({company.slug}): {company.n_published} articles published, {company.n_mentions} "
            f"mentions, {company.n_participations} event roles, {company.n_figures} figures, "
            f"{company.n_aliases} aliases"
        )


class CompanyMergeForm(forms.Form):
    survivor = SurvivorChoiceField(
        queryset=Company.objects.none(),
        widget=AdminRadioSelect,
        empty_label=None,
        label="Keep",
        error_messages={"required": "Choose the company that stays."},
    )
    reason = forms.CharField(
        label="Reason for this change",
        required=False,
        max_length=REASON_MAX_LENGTH,
        help_text="Optional; kept in the history of every record the merge touches.",
        widget=forms.TextInput(attrs={"size": 80}),
    )

    def __init__(self, *args, companies: QuerySet, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["survivor"].queryset = companies.annotate(
            n_published=_count(Article, "publisher"),
            n_mentions=_count(Article.companies.through, "company"),
            n_participations=_count(EventParticipant, "company"),
            n_figures=_count(Figure, "company"),
            n_aliases=_count(Alias, "company"),
        ).order_by("name", "pk")


def _count(model: type[Model], field: str) -> Coalesce:
    """How many ``model`` rows point at the company, as a subquery (joins would multiply each other)."""
    rows = model.objects.filter(**{field: OuterRef("pk")}).order_by().values(field).annotate(n=Count("pk"))
    return Coalesce(Subquery(rows.values("n")), 0)


@admin.register(Company)
class CompanyAdmin(RecordAdmin):
    list_display = ["name", "slug", "kind", "country", "founded_year", "parent", "alias_names"]
    list_filter = ["kind", "country"]
    list_select_related = ["parent"]
    search_fields = ["name", "slug", "aliases__name"]
    autocomplete_fields = ["parent"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [CompanyAliasInline]
    list_inlines = {"aliases": CompanyAliasInline}
    save_service = company_save
    delete_service = company_delete
    actions = ["merge_companies"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("aliases")

    @admin.display(description="Aliases")
    def alias_names(self, company: Company) -> str:
        return ", ".join(alias.name for alias in company.aliases.all())

    @admin.action(description="Merge the selected companies into one…", permissions=["change", "delete"])
    def merge_companies(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """Ask which company survives, then merge the others into it (see ``company_merge``)."""
        companies = list(queryset.order_by("name", "pk"))
        if len(companies) < 2:
            self.message_user(request, "Select at least two companies to merge.", messages.WARNING)
            return None
        form = CompanyMergeForm(request.POST if "apply" in request.POST else None, companies=queryset)
        if form.is_valid():
            survivor = form.cleaned_data["survivor"]
            duplicates = [c for c in companies if c.pk != survivor.pk]
            try:
                company_merge(
                    survivor=survivor, duplicates=duplicates, user=request.user, reason=form.cleaned_data["reason"]
                )
            except CompanyMergeError as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return None
            names = ", ".join(c.name for c in duplicates)
            self.message_user(request, f"Merged {names} into {survivor.name}.", messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:articles_company_change", args=[survivor.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": "Merge companies",
            "opts": self.model._meta,
            "form": form,
            "companies": companies,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/articles/company/merge_confirmation.html", context)


@admin.register(Person)
class PersonAdmin(RecordAdmin):
    list_display = ["name", "slug", "title", "affiliation", "alias_names"]
    list_filter = [("affiliation", InUseFilter)]
    list_select_related = ["affiliation"]
    search_fields = ["name", "slug", "aliases__name"]
    autocomplete_fields = ["affiliation"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [PersonAliasInline]
    list_inlines = {"aliases": PersonAliasInline}
    save_service = person_save
    delete_service = person_delete

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("aliases")

    @admin.display(description="Aliases")
    def alias_names(self, person: Person) -> str:
        return ", ".join(alias.name for alias in person.aliases.all())
