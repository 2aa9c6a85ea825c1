"""One FilterSet per model (NetBox style): a slug filter and an ``_id`` filter for every foreign key, number and
date ranges (``__gte``, ``__lte``, ``__gt``, ``__lt``), controlled vocabularies, a free-text ``q`` and ``ordering``.

A repeated parameter means OR, different parameters AND. See ``filters`` for how every value is validated.
"""

from collections.abc import Collection

from django.contrib.auth import get_user_model
from django.db.models import F
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from articles.choices import CompanyKind, ParticipantRole
from articles.models import (
    Article,
    Company,
    CompanyCounts,
    Event,
    EventParticipant,
    Figure,
    MergedCompany,
    Person,
    PersonCounts,
)

from .attribution import sees_usernames
from .filters import (
    RANGE_LOOKUPS,
    BaseFilterSet,
    ChoiceValueFilter,
    CountryFilter,
    CoversDateFilter,
    MultiValueCharFilter,
    MultiValueDateFilter,
    MultiValueDateTimeFilter,
    OrderingFilter,
    RangeOverlapFilter,
    ReachesDateFilter,
    RelatedFilter,
    SearchFilter,
)

TIMESTAMPS = {"created_at": ["gte", "lte"], "updated_at": ["gte", "lte"]}


def _updated_since() -> MultiValueDateTimeFilter:
    """The change feed's filter, on every list: records changed at or after this time (with
    ``/api/deletions/?since=``, what a mirror needs to catch up)."""
    return MultiValueDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text="Records created or changed at or after this time (ISO 8601, e.g. 2024-09-02T10:15:00Z); "
        "deletions are at /api/deletions/?since=.",
    )


NULL = "(none)"
SEARCH_SYNTAX = (
    'Every word must match, in any form ("sales" finds "sale"); "quoted words" together; or; -word excludes. '
    "Ranked search across every type: /api/search/."
)


def _slug_filter(
    field_name: str, queryset, what: str, *, nullable: bool = False, slug: str = "slug", **kwargs
) -> RelatedFilter:
    help_text = f"{what} ({slug})" + ("; `null` for none." if nullable else ".")
    return RelatedFilter(
        field_name=field_name,
        to_field_name="slug",
        queryset=queryset,
        null_label=NULL if nullable else None,
        help_text=help_text,
        **kwargs,
    )


def merged_company_slugs(slugs: Collection[str]) -> dict[str, str]:
    """``{old slug: survivor's slug}`` for those of ``slugs`` that name a merged company; one query."""
    return dict(MergedCompany.objects.filter(slug__in=slugs).values_list("slug", "into__slug"))


def _company_filter(field_name: str, what: str, *, nullable: bool = False, **kwargs) -> RelatedFilter:
    """A company by slug; the slug of a company merged into another one stands for the survivor, so that a
    saved query keeps working after a merge (as ``/api/companies/<old slug>/`` redirects)."""
    return _slug_filter(
        field_name,
        Company.objects.all(),
        what,
        nullable=nullable,
        slug="slug; a merged company's old slug stands for the company it was merged into",
        redirects=merged_company_slugs,
        **kwargs,
    )


def _id_filter(field_name: str, queryset, what: str, *, nullable: bool = False, **kwargs) -> RelatedFilter:
    help_text = f"{what} (id)" + ("; `null` for none." if nullable else ".")
    return RelatedFilter(
        field_name=field_name, queryset=queryset, null_label=NULL if nullable else None, help_text=help_text, **kwargs
    )


class CompanyFilterSet(BaseFilterSet):
    q = SearchFilter(
        help_text="Search the name, aliases, slug and description, and find a misspelt name or alias (Bitman: "
        f"Bitmain). {SEARCH_SYNTAX}"
    )
    parent = _company_filter("parent", "Parent company", nullable=True)
    country = CountryFilter(
        field_name="country", help_text="ISO 3166-1 alpha-2 country code, any case (us or US); e.g. CN, US."
    )
    parent_id = _id_filter("parent", Company.objects.all(), "Parent company", nullable=True)
    ordering = OrderingFilter(
        fields=[
            "name",
            "slug",
            "kind",
            "country",
            "founded_year",
            "article_count",
            "event_count",
            "figure_count",
            "id",
            "created_at",
            "updated_at",
        ]
    )
    updated_since = _updated_since()

    class Meta:
        model = Company
        fields = {
            "id": ["exact"],
            "slug": ["exact"],
            "name": ["exact"],
            "kind": ["exact"],
            "founded_year": RANGE_LOOKUPS,
            **TIMESTAMPS,
        }


class PersonFilterSet(BaseFilterSet):
    q = SearchFilter(
        help_text="Search the name, aliases, slug, title and description, and find a misspelt name or alias. "
        f"{SEARCH_SYNTAX}"
    )
    affiliation = _company_filter("affiliation", "Company they belong to", nullable=True)
    affiliation_id = _id_filter("affiliation", Company.objects.all(), "Company they belong to", nullable=True)
    ordering = OrderingFilter(fields=["name", "slug", "article_count", "event_count", "id", "created_at", "updated_at"])
    updated_since = _updated_since()

    class Meta:
        model = Person
        fields = {"id": ["exact"], "slug": ["exact"], "name": ["exact"], "title": ["exact"], **TIMESTAMPS}


class ArticleFilterSet(BaseFilterSet):
    q = SearchFilter(help_text=f"Search the title and body. {SEARCH_SYNTAX}")
    publisher = _company_filter("publisher", "Publisher", nullable=True)
    publisher_id = _id_filter("publisher", Company.objects.all(), "Publisher", nullable=True)
    company = _company_filter("companies", "A company the article mentions", distinct=True)
    company_id = _id_filter("companies", Company.objects.all(), "A company the article mentions", distinct=True)
    person = _slug_filter("people", Person.objects.all(), "A person the article mentions", distinct=True)
    person_id = _id_filter("people", Person.objects.all(), "A person the article mentions", distinct=True)
    author = extend_schema_field(OpenApiTypes.STR)(
        MultiValueCharFilter(field_name="authors", lookup_expr="icontains", help_text="An author's name or part of it.")
    )
    ordering = OrderingFilter(fields=["published_on", "title", "slug", "id", "created_at", "updated_at"])
    updated_since = _updated_since()
    stored_counts = {
        "company": (CompanyCounts, "article_count"),
        "company_id": (CompanyCounts, "article_count"),
        "person": (PersonCounts, "article_count"),
        "person_id": (PersonCounts, "article_count"),
    }

    class Meta:
        model = Article
        fields = {
            "id": ["exact"],
            "slug": ["exact"],
            "published_on": RANGE_LOOKUPS,
            "published_precision": ["exact"],
            "url": ["exact"],
            "language": ["exact"],
            "translated_from": ["exact"],
            **TIMESTAMPS,
        }


PARTICIPANT_FILTERS = ("company", "company_id", "person", "person_id", "participant_kind", "participant_country")


class EventFilterSet(BaseFilterSet):
    q = SearchFilter(help_text=f"Search the title, summary and quote. {SEARCH_SYNTAX}")
    article = _slug_filter("article", Article.objects.all(), "The article it comes from")
    article_id = _id_filter("article", Article.objects.all(), "The article it comes from")
    company = _company_filter(
        "participants__company",
        "A participating company; with `role`, that company in one of those roles",
        method="filter_participants",
    )
    company_id = _id_filter(
        "participants__company",
        Company.objects.all(),
        "A participating company; with `role`, that company in one of those roles",
        method="filter_participants",
    )
    person = _slug_filter(
        "participants__person",
        Person.objects.all(),
        "A participating person; with `role`, that person in one of those roles",
        method="filter_participants",
    )
    person_id = _id_filter(
        "participants__person",
        Person.objects.all(),
        "A participating person; with `role`, that person in one of those roles",
        method="filter_participants",
    )
    role = ChoiceValueFilter(
        field_name="participants__role",
        choices=ParticipantRole.choices,
        method="filter_role",
        help_text="A participant's role; combined with company, person, participant_kind or participant_country, "
        "the role of that participant.",
    )
    participant_kind = ChoiceValueFilter(
        field_name="participants__company__kind",
        choices=CompanyKind.choices,
        method="filter_participant_company",
        help_text="The kind of a participating company (any case); with participant_country, one company of that "
        "kind and country (participant_kind=government&participant_country=us: US government bodies); with "
        "`role`, in one of those roles.",
    )
    participant_country = CountryFilter(
        field_name="participants__company__country",
        method="filter_participant_company",
        help_text="The country of a participating company (ISO 3166-1 alpha-2 code, any case); see participant_kind.",
    )
    # The stored date is the first day of its period and date_latest the last day the event covers (end date
    # included), so an event dated "June 2021" matches date__gte=2021-06-15 and date__lte=2021-06-15.
    date = CoversDateFilter(field_name="date", help_text="Events whose date, at its precision, covers this day.")
    date__gte = extend_schema_field(OpenApiTypes.DATE)(
        ReachesDateFilter(field_name="date_latest", lookup_expr="gte", help_text="Events that reach this day or later.")
    )
    date__gt = extend_schema_field(OpenApiTypes.DATE)(
        ReachesDateFilter(field_name="date_latest", lookup_expr="gt", help_text="Events that reach past this day.")
    )
    date__lte = MultiValueDateFilter(
        field_name="date", lookup_expr="lte", help_text="Events that start on this day or earlier."
    )
    date__lt = MultiValueDateFilter(field_name="date", lookup_expr="lt", help_text="Events that start before this day.")
    ordering = OrderingFilter(
        fields=["date", "type", "title", "id", "created_at", "updated_at"], then={"type": ("date",)}
    )
    updated_since = _updated_since()
    # A company or person in any role: each event once, as the stored counts count them.
    stored_counts = {
        "company": (CompanyCounts, "event_count"),
        "company_id": (CompanyCounts, "event_count"),
        "person": (PersonCounts, "event_count"),
        "person_id": (PersonCounts, "event_count"),
    }

    class Meta:
        model = Event
        fields = {
            "id": ["exact"],
            "key": ["exact"],
            "type": ["exact"],
            "date_precision": ["exact"],
            "status": ["exact"],
            **TIMESTAMPS,
        }

    def filter_participants(self, queryset, name, value):
        if not value:  # an empty model choice arrives as an empty queryset, which django-filter does not skip
            return queryset
        field = name.split("__")[1]
        roles = self.form.cleaned_data.get("role")
        if field == "company" and len(value) == 1 and not roles:
            # One company, in any role: a join on its row of each event (one per event: no duplicates) and on the
            # event's date, through which PostgreSQL reads the company's events in date order from an index and
            # stops after a page (models.CompanyEvent), instead of fetching all of them to sort them.
            return queryset.filter(company_events__company=value[0], company_events__date=F("date"))
        participants = EventParticipant.objects.filter(**{f"{field}__in": value})
        if roles:
            participants = participants.filter(role__in=roles)
        return queryset.filter(pk__in=participants.values("event_id"))

    def filter_participant_company(self, queryset, name, value):
        """participant_kind and participant_country describe one participating company, so both are applied
        together, once (by whichever comes first), with the roles if any."""
        data = self.form.cleaned_data
        kinds, countries = data.get("participant_kind"), data.get("participant_country")
        if not value or (name == "participants__company__country" and kinds):
            return queryset
        participants = EventParticipant.objects.all()
        if kinds:
            participants = participants.filter(company__kind__in=kinds)
        if countries:
            participants = participants.filter(company__country__in=countries)
        if data.get("role"):
            participants = participants.filter(role__in=data["role"])
        return queryset.filter(pk__in=participants.values("event_id"))

    def filter_role(self, queryset, name, value):
        if not value or any(self.form.cleaned_data.get(other) for other in PARTICIPANT_FILTERS):
            return queryset  # applied together with the company or person filter
        return queryset.filter(pk__in=EventParticipant.objects.filter(role__in=value).values("event_id"))


VALUE_OVERLAPS_HELP = (
    "MIN,MAX: figures whose value, or range (value to value_high), overlaps MIN to MAX (inclusive). Either bound "
    "may be left empty: value_overlaps=700000000, finds a $660-866 million range, whose top reaches 700 million, "
    "which value__gte=700000000 (the low end, the stored value) does not. A single number N finds the figures "
    "that are N or whose range contains it. The bounds may come in either order."
)


class FigureFilterSet(BaseFilterSet):
    q = SearchFilter(
        help_text="Search the subject, the company's name, the metric, the as-reported words, the period label and "
        f"the quote (Bitmain loss). {SEARCH_SYNTAX}"
    )
    article = _slug_filter("article", Article.objects.all(), "The article it comes from")
    article_id = _id_filter("article", Article.objects.all(), "The article it comes from")
    company = _company_filter("company", "The company it is about", nullable=True)
    company_id = _id_filter("company", Company.objects.all(), "The company it is about", nullable=True)
    reviewed_by = RelatedFilter(
        field_name="reviewed_by",
        to_field_name="username",
        queryset=get_user_model().objects.all(),
        null_label=NULL,
        help_text="The editor who last reviewed it (username; logged-in readers only); `null` for none.",
    )
    reviewed_by_id = _id_filter(
        "reviewed_by", get_user_model().objects.all(), "The editor who last reviewed it", nullable=True
    )
    # The schema's description comes with the override (drf-spectacular reads no help_text then).
    value_overlaps = extend_schema_field({"type": "string", "description": VALUE_OVERLAPS_HELP})(
        RangeOverlapFilter(
            field_name="value",
            high_field="value_high",
            max_digits=24,
            decimal_places=6,
            help_text=VALUE_OVERLAPS_HELP,
        )
    )
    ordering = OrderingFilter(
        fields=[
            "value",
            "value_high",
            "quote_start",
            "period_start",
            "period_end",
            "metric",
            "unit",
            "status",
            "reviewed_at",
            "id",
            "created_at",
            "updated_at",
        ],
        then={"metric": ("value",), "period_start": ("period_end",)},
    )
    updated_since = _updated_since()
    stored_counts = {"company": (CompanyCounts, "figure_count"), "company_id": (CompanyCounts, "figure_count")}

    class Meta:
        model = Figure
        fields = {
            "id": ["exact"],
            "key": ["exact"],
            "subject": ["exact"],
            "metric": ["exact"],
            "unit": ["exact"],
            "qualifier": ["exact"],
            "status": ["exact"],
            "value": RANGE_LOOKUPS,
            "value_high": RANGE_LOOKUPS,
            "period_start": RANGE_LOOKUPS,
            "period_end": RANGE_LOOKUPS,
            "period_label": ["exact"],
            "period_granularity": ["exact"],
            "reviewed_at": ["gte", "lte"],
            **TIMESTAMPS,
        }

    def is_valid(self) -> bool:
        """``reviewed_by`` names users by username, which only logged-in readers see (``attribution``): for anyone
        else it is a 400 whether or not the username exists, so that it cannot be used to guess logins."""
        valid = super().is_valid()
        if self.request is None or sees_usernames(self.request) or "reviewed_by" not in self.filters:
            return valid
        values = self.data.getlist("reviewed_by") if hasattr(self.data, "getlist") else self.data.get("reviewed_by")
        if all(value == "null" for value in (values if isinstance(values, (list, tuple)) else [values])):
            return valid
        self.form.cleaned_data.pop("reviewed_by", None)
        self.form.errors["reviewed_by"] = self.form.error_class(
            ["Filtering by username needs a login; use reviewed_by_id, or reviewed_by=null."]
        )
        return False
