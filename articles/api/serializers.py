"""Serializers: what each resource looks like, and writes handed to the entity's service.

A serializer checks the input's shape (types, choices, known slugs) and calls the service of its entity
(``figure_save`` for a figure, ...), which holds every rule of the write: provenance, key derivation, review
stamps, mention closure, parent cycles, no-op detection, the version check and bump, and the history entry
with the API user and the optional ``change_reason``. A ``ValidationError`` from the service is a 400 under
the field it names.
"""

from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from articles.choices import ARTICLE_DATE_PRECISIONS, ParticipantRole, PeriodGranularity
from articles.models import Article, Company, Event, EventParticipant, Figure, Person
from articles.services.articles import article_save
from articles.services.companies import company_save
from articles.services.events import event_save
from articles.services.figures import figure_save
from articles.services.people import person_save

from . import rows
from .attribution import user_name
from .errors import validation_error_detail

# A reason is a sentence or two; never more than the history column can store.
CHANGE_REASON_MAX_LENGTH = Company.history.model._meta.get_field("history_change_reason").max_length or 1000
#: The longest text a field without a length of its own takes (notes, descriptions, summaries); an article's body
#: and a quote take up to ``NEWSDB_MAX_ARTICLE_LENGTH`` characters (settings).
TEXT_MAX_LENGTH = 20_000
LONG_TEXT_FIELDS = {"body", "quote"}
#: The longest lists a write takes. A longer one is a 400 naming the limit before any item is read.
LIST_MAX_LENGTHS = {"aliases": 100, "participants": 100, "authors": 50, "companies": 500, "people": 500}


class SlugRelatedField(serializers.SlugRelatedField):
    """DRF's, refusing a NUL character before it reaches the database (PostgreSQL can neither store nor
    compare one)."""

    def to_internal_value(self, data):
        if isinstance(data, str) and "\x00" in data:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data.replace("\x00", "\\x00")[:100])
        return super().to_internal_value(data)


@extend_schema_field({"type": "string", "nullable": True, "readOnly": True})
class UserNameField(serializers.Field):
    """A user, named as ``attribution`` names users for the request (a username only for a logged-in reader)."""

    def __init__(self, **kwargs):
        super().__init__(read_only=True, allow_null=True, **kwargs)

    def to_representation(self, user) -> str | None:
        return user_name(user, self.context.get("request"))


class AliasSerializer(serializers.Serializer):
    """Another spelling of the name; ``garbled`` marks the press's misspellings and mistranslations."""

    name = serializers.CharField(max_length=200)
    garbled = serializers.BooleanField(
        required=False, help_text="A misspelling or mistranslation, not a real name; kept as it was if left out."
    )
    note = serializers.CharField(
        max_length=500, required=False, allow_blank=True, help_text="Kept as it was if left out."
    )

    def to_internal_value(self, data):
        # A plain name is accepted as shorthand for {"name": ...}.
        if isinstance(data, str):
            data = {"name": data}
        return super().to_internal_value(data)


class AliasListField(serializers.ListField):
    """A company's or person's aliases; writing the list replaces them."""

    child = AliasSerializer()

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", LIST_MAX_LENGTHS["aliases"])
        super().__init__(**kwargs)

    def to_representation(self, data) -> list[dict[str, Any]]:
        # Sorted here, not by the database, so the order is the same whatever its collation.
        rows = sorted(data.all(), key=lambda alias: alias.name)
        return [{"name": a.name, "garbled": a.garbled, "note": a.note} for a in rows]


class RecordSerializer(serializers.ModelSerializer):
    """Creates and updates through the entity's write service (``service``)."""

    change_reason = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=CHANGE_REASON_MAX_LENGTH,
        help_text="Why you make this change; kept with the record's history entry.",
    )
    #: The write service of the entity, e.g. ``figure_save``; it takes the record by the model's name.
    service: Callable[..., models.Model]

    def build_standard_field(self, field_name, model_field):
        field_class, kwargs = super().build_standard_field(field_name, model_field)
        if isinstance(model_field, models.TextField) and kwargs.get("max_length") is None:
            long_text = field_name in LONG_TEXT_FIELDS
            kwargs["max_length"] = settings.NEWSDB_MAX_ARTICLE_LENGTH if long_text else TEXT_MAX_LENGTH
        return field_class, kwargs

    def to_internal_value(self, data):
        # Checked before any item is read, so that a list of 10,000 aliases is refused at once.
        if isinstance(data, Mapping):
            errors = {}
            for name, limit in LIST_MAX_LENGTHS.items():
                value = data.get(name)
                if name in self.fields and isinstance(value, list) and len(value) > limit:
                    errors[name] = [f"At most {limit} items; this list has {len(value)}."]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)

    def create(self, validated_data: dict[str, Any]) -> models.Model:
        return self.call_service(None, validated_data)

    def update(self, instance: models.Model, validated_data: dict[str, Any]) -> models.Model:
        return self.call_service(instance, validated_data)

    def call_service(self, instance: models.Model | None, validated_data: dict[str, Any]) -> models.Model:
        reason = validated_data.pop("change_reason", "")
        service = type(self).service
        try:
            return service(
                **{self.Meta.model._meta.model_name: instance},
                data=validated_data,
                user=self.context["request"].user,
                reason=reason,
                expected_version=self.context.get("expected_version"),
            )
        except DjangoValidationError as exc:
            raise serializers.ValidationError(validation_error_detail(exc)) from exc


class NamedSerializer(RecordSerializer):
    """A company or a person: a name with its aliases, written as a whole list."""

    aliases = AliasListField(
        required=False,
        help_text="Every other spelling of the name ({name, garbled, note}, or just the name); writing the list "
        "replaces the aliases.",
    )

    def validate_aliases(self, aliases: list[dict]) -> list[dict]:
        names = [alias["name"] for alias in aliases]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise serializers.ValidationError(f"Listed more than once: {', '.join(repeated)}.")
        return aliases


class CompanySerializer(NamedSerializer):
    service = company_save
    api_url = serializers.HyperlinkedIdentityField(view_name="company-detail", lookup_field="slug")
    page_url = serializers.HyperlinkedIdentityField(
        view_name="company-page",
        lookup_field="slug",
        help_text="Its public page: charts of its figures over time, its timeline and where its numbers conflict.",
    )
    parent = SlugRelatedField(slug_field="slug", queryset=Company.objects.all(), allow_null=True, required=False)
    article_count = serializers.IntegerField(read_only=True, help_text="Articles that mention the company.")
    event_count = serializers.IntegerField(read_only=True, help_text="Events the company takes part in.")
    figure_count = serializers.IntegerField(read_only=True, help_text="Figures about the company.")

    class Meta:
        model = Company
        fields = [*rows.COMPANIES.order, "change_reason"]


class PersonSerializer(NamedSerializer):
    service = person_save
    api_url = serializers.HyperlinkedIdentityField(view_name="person-detail", lookup_field="slug")
    affiliation = SlugRelatedField(slug_field="slug", queryset=Company.objects.all(), allow_null=True, required=False)
    article_count = serializers.IntegerField(read_only=True, help_text="Articles that mention the person.")
    event_count = serializers.IntegerField(read_only=True, help_text="Events the person takes part in.")

    class Meta:
        model = Person
        fields = [*rows.PEOPLE.order, "change_reason"]


KEY_HELP = "Stable within the article (how the loader finds the record again); derived from the record if omitted."


class ParticipantSerializer(serializers.ModelSerializer):
    """A company or a person taking part in the event, in a role."""

    company = SlugRelatedField(slug_field="slug", queryset=Company.objects.all(), allow_null=True, required=False)
    person = SlugRelatedField(slug_field="slug", queryset=Person.objects.all(), allow_null=True, required=False)
    role = serializers.ChoiceField(choices=ParticipantRole.choices, default=ParticipantRole.SUBJECT)

    class Meta:
        model = EventParticipant
        fields = ["company", "person", "role"]
        validators = []

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if bool(attrs.get("company")) == bool(attrs.get("person")):
            raise serializers.ValidationError("Name exactly one company or one person.")
        return attrs


class EventSerializer(RecordSerializer):
    service = event_save
    api_url = serializers.HyperlinkedIdentityField(view_name="event-detail")
    article = SlugRelatedField(slug_field="slug", queryset=Article.objects.all())
    key = serializers.SlugField(max_length=100, required=False, help_text=KEY_HELP)
    participants = ParticipantSerializer(
        many=True,
        required=False,
        max_length=LIST_MAX_LENGTHS["participants"],
        help_text="Writing the list replaces the participants.",
    )

    class Meta:
        model = Event
        fields = [*rows.EVENTS.order, "change_reason"]
        read_only_fields = ["date_latest", "quote_start", "quote_end"]
        extra_kwargs = {"date_latest": {"help_text": "The last day the date (at its precision) or the span covers."}}
        validators = []

    def validate_participants(self, participants: list[dict]) -> list[dict]:
        seen = set()
        for item in participants:
            who = item.get("company") or item.get("person")
            marker = (type(who), who.pk, item["role"])
            if marker in seen:
                raise serializers.ValidationError(f"{who} is listed twice as {item['role']}.")
            seen.add(marker)
        return participants


class FigureSerializer(RecordSerializer):
    service = figure_save
    api_url = serializers.HyperlinkedIdentityField(view_name="figure-detail")
    article = SlugRelatedField(slug_field="slug", queryset=Article.objects.all())
    key = serializers.SlugField(max_length=100, required=False, help_text=KEY_HELP)
    # Declared so that the schema admits "" (a figure without a period), which the model field allows.
    period_granularity = serializers.ChoiceField(choices=PeriodGranularity.choices, allow_blank=True, read_only=True)
    company = SlugRelatedField(
        slug_field="slug",
        queryset=Company.objects.all(),
        allow_null=True,
        required=False,
        help_text="The company the number is about; null when it is about something else (see subject).",
    )
    reviewed_by = UserNameField(
        help_text="The editor who last changed the status: the username for a logged-in reader, the editor's name "
        "(or editor-<id>) for anyone else."
    )

    class Meta:
        model = Figure
        fields = [*rows.FIGURES.order, "change_reason"]
        read_only_fields = ["quote_start", "quote_end", "reviewed_at", "period_granularity"]
        validators = []


ARTICLE_FIELDS = list(rows.ARTICLES.order)


class ArticleSerializer(RecordSerializer):
    service = article_save
    api_url = serializers.HyperlinkedIdentityField(view_name="article-detail", lookup_field="slug")
    publisher = SlugRelatedField(slug_field="slug", queryset=Company.objects.all(), allow_null=True, required=False)
    authors = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, max_length=LIST_MAX_LENGTHS["authors"]
    )
    published_precision = serializers.ChoiceField(
        choices=[(p.value, p.label) for p in ARTICLE_DATE_PRECISIONS],
        required=False,
        help_text="How precisely the date is known; with month or year, the date is the period's first day.",
    )
    companies = SlugRelatedField(
        many=True, slug_field="slug", queryset=Company.objects.all(), required=False, help_text="Companies it mentions."
    )
    people = SlugRelatedField(
        many=True, slug_field="slug", queryset=Person.objects.all(), required=False, help_text="People it mentions."
    )

    class Meta:
        model = Article
        fields = [*ARTICLE_FIELDS, "change_reason"]


class ArticleDetailSerializer(ArticleSerializer):
    """An article with its verbatim body and the events and figures curated from it."""

    events = EventSerializer(many=True, read_only=True)
    figures = FigureSerializer(many=True, read_only=True)

    class Meta(ArticleSerializer.Meta):
        fields = [*ARTICLE_FIELDS, "body", "notes", "events", "figures", "change_reason"]
