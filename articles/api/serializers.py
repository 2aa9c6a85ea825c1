"""Serializers: what each resource looks like, and writes that go through ``record_save``.

Every write (POST, PUT, PATCH) is validated twice: by the serializer (types, choices, known slugs), then by
the model's ``full_clean`` inside ``articles.services.records.record_save``, the same path the admin uses, so
provenance (a quote must occur in its article) and parser-consistent numbers are enforced everywhere and the
history entry names the API user and the optional ``change_reason``.
"""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models, transaction
from django.utils.text import slugify
from rest_framework import serializers

from articles.choices import ARTICLE_DATE_PRECISIONS, ParticipantRole
from articles.models import Article, Company, Event, EventParticipant, Figure, Person
from articles.services.records import list_changes, record_save
from articles.services.related import aliases_replace, participants_replace

from .errors import validation_error_detail

# A reason is a sentence or two; never more than the history column can store.
CHANGE_REASON_MAX_LENGTH = Company.history.model._meta.get_field("history_change_reason").max_length or 1000


class SlugRelatedField(serializers.SlugRelatedField):
    """DRF's, refusing a NUL character before it reaches the database (PostgreSQL can neither store nor
    compare one)."""

    def to_internal_value(self, data):
        if isinstance(data, str) and "\x00" in data:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data.replace("\x00", "\\x00")[:100])
        return super().to_internal_value(data)


class AliasNamesField(serializers.ListField):
    """A company's or person's aliases as a list of names; writing the list replaces them."""

    child = serializers.CharField(max_length=200)

    def to_representation(self, data) -> list[str]:
        # Sorted here, not by the database, so the order is the same whatever its collation.
        return sorted(alias.name for alias in data.all())


class RecordSerializer(serializers.ModelSerializer):
    """Creates and updates through ``record_save``; lists named in ``related_fields`` are saved after it."""

    change_reason = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=CHANGE_REASON_MAX_LENGTH,
        help_text="Why you make this change; kept with the record's history entry.",
    )
    related_fields: tuple[str, ...] = ()

    def create(self, validated_data: dict[str, Any]) -> models.Model:
        return self.write(self.Meta.model(), validated_data)

    def update(self, instance: models.Model, validated_data: dict[str, Any]) -> models.Model:
        return self.write(instance, validated_data)

    @transaction.atomic
    def write(self, instance: models.Model, validated_data: dict[str, Any]) -> models.Model:
        reason = validated_data.pop("change_reason", "")
        related = {name: validated_data.pop(name) for name in self.related_fields if name in validated_data}
        many_to_many = {f.name for f in instance._meta.many_to_many}
        lists = {name: related.pop(name) for name in list(related) if name in many_to_many}
        for name, value in validated_data.items():
            setattr(instance, name, value)
        self.before_save(instance)
        user = self.context["request"].user
        try:
            record_save(
                instance=instance,
                user=user,
                reason=reason,
                expected_version=self.context.get("expected_version"),
                many_to_many=lists,
            )
        except DjangoValidationError as exc:
            raise serializers.ValidationError(validation_error_detail(exc)) from exc
        if related:
            with list_changes(instance):
                self.save_related(instance, related, user=user, reason=reason)
        return instance

    def before_save(self, instance: models.Model) -> None:
        """Fill in what the client may leave out."""

    def save_related(self, instance: models.Model, related: dict[str, Any], *, user: Any, reason: str) -> None:
        """Save the nested lists that are not plain many-to-many fields (aliases, participants)."""


def _validate_unique_names(names: list[str]) -> list[str]:
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise serializers.ValidationError(f"Listed more than once: {', '.join(repeated)}.")
    return names


class NamedSerializer(RecordSerializer):
    """A company or a person: a name with its aliases, written as a whole list."""

    aliases = AliasNamesField(
        required=False, help_text="Every other spelling of the name; writing the list replaces the aliases."
    )
    related_fields = ("aliases",)

    def validate_aliases(self, names: list[str]) -> list[str]:
        return _validate_unique_names(names)

    def save_related(self, instance, related, *, user, reason):
        if "aliases" in related:
            aliases_replace(owner=instance, names=related["aliases"], user=user, reason=reason)


class CompanySerializer(NamedSerializer):
    api_url = serializers.HyperlinkedIdentityField(view_name="company-detail", lookup_field="slug")
    parent = SlugRelatedField(slug_field="slug", queryset=Company.objects.all(), allow_null=True, required=False)
    article_count = serializers.IntegerField(read_only=True, help_text="Articles that mention the company.")
    event_count = serializers.IntegerField(read_only=True, help_text="Events the company takes part in.")
    figure_count = serializers.IntegerField(read_only=True, help_text="Figures about the company.")

    class Meta:
        model = Company
        fields = [
            "id",
            "api_url",
            "slug",
            "name",
            "aliases",
            "kind",
            "country",
            "founded_year",
            "parent",
            "description",
            "article_count",
            "event_count",
            "figure_count",
            "version",
            "created_at",
            "updated_at",
            "change_reason",
        ]


class PersonSerializer(NamedSerializer):
    api_url = serializers.HyperlinkedIdentityField(view_name="person-detail", lookup_field="slug")
    affiliation = SlugRelatedField(slug_field="slug", queryset=Company.objects.all(), allow_null=True, required=False)
    article_count = serializers.IntegerField(read_only=True, help_text="Articles that mention the person.")
    event_count = serializers.IntegerField(read_only=True, help_text="Events the person takes part in.")

    class Meta:
        model = Person
        fields = [
            "id",
            "api_url",
            "slug",
            "name",
            "aliases",
            "title",
            "affiliation",
            "description",
            "article_count",
            "event_count",
            "version",
            "created_at",
            "updated_at",
            "change_reason",
        ]


def unique_key(model: type[models.Model], article_id: int | None, text: str) -> str:
    """A key for a new event or figure, derived from ``text`` and free within its article."""
    base = slugify(text)[:90].strip("-") or model._meta.model_name
    taken = set(model.objects.filter(article_id=article_id, key__startswith=base).values_list("key", flat=True))
    key, n = base, 2
    while key in taken:
        key, n = f"{base}-{n}", n + 1
    return key


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
    api_url = serializers.HyperlinkedIdentityField(view_name="event-detail")
    article = SlugRelatedField(slug_field="slug", queryset=Article.objects.all())
    key = serializers.SlugField(max_length=100, required=False, help_text=KEY_HELP)
    participants = ParticipantSerializer(
        many=True, required=False, help_text="Writing the list replaces the participants."
    )
    related_fields = ("participants",)

    class Meta:
        model = Event
        fields = [
            "id",
            "api_url",
            "article",
            "key",
            "title",
            "summary",
            "type",
            "date",
            "date_precision",
            "end_date",
            "date_latest",
            "participants",
            "quote",
            "quote_start",
            "quote_end",
            "note",
            "version",
            "created_at",
            "updated_at",
            "change_reason",
        ]
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

    def before_save(self, instance: Event) -> None:
        if not instance.key:
            instance.key = unique_key(Event, instance.article_id, instance.title or "")

    def save_related(self, instance, related, *, user, reason):
        if "participants" in related:
            participants_replace(event=instance, participants=related["participants"], user=user, reason=reason)


class FigureSerializer(RecordSerializer):
    api_url = serializers.HyperlinkedIdentityField(view_name="figure-detail")
    article = SlugRelatedField(slug_field="slug", queryset=Article.objects.all())
    key = serializers.SlugField(max_length=100, required=False, help_text=KEY_HELP)
    company = SlugRelatedField(
        slug_field="slug",
        queryset=Company.objects.all(),
        allow_null=True,
        required=False,
        help_text="The company the number is about; null when it is about something else (see subject).",
    )
    reviewed_by = SlugRelatedField(
        slug_field="username", read_only=True, help_text="The editor who last changed the status."
    )

    class Meta:
        model = Figure
        fields = [
            "id",
            "api_url",
            "article",
            "key",
            "company",
            "subject",
            "metric",
            "value",
            "value_high",
            "unit",
            "qualifier",
            "as_reported",
            "period_start",
            "period_end",
            "period_label",
            "quote",
            "quote_start",
            "quote_end",
            "status",
            "note",
            "reviewed_by",
            "reviewed_at",
            "version",
            "created_at",
            "updated_at",
            "change_reason",
        ]
        read_only_fields = ["quote_start", "quote_end", "reviewed_at"]
        validators = []

    def before_save(self, instance: Figure) -> None:
        if not instance.key:
            instance.key = unique_key(Figure, instance.article_id, f"{instance.metric} {instance.as_reported}")


ARTICLE_FIELDS = [
    "id",
    "api_url",
    "slug",
    "title",
    "publisher",
    "authors",
    "published_on",
    "published_precision",
    "url",
    "language",
    "translated_from",
    "companies",
    "people",
    "version",
    "created_at",
    "updated_at",
]


class ArticleSerializer(RecordSerializer):
    api_url = serializers.HyperlinkedIdentityField(view_name="article-detail", lookup_field="slug")
    publisher = SlugRelatedField(slug_field="slug", queryset=Company.objects.all(), allow_null=True, required=False)
    authors = serializers.ListField(child=serializers.CharField(max_length=200), required=False)
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
    related_fields = ("companies", "people")

    class Meta:
        model = Article
        fields = [*ARTICLE_FIELDS, "change_reason"]


class ArticleDetailSerializer(ArticleSerializer):
    """An article with its verbatim body and the events and figures curated from it."""

    events = EventSerializer(many=True, read_only=True)
    figures = FigureSerializer(many=True, read_only=True)

    class Meta(ArticleSerializer.Meta):
        fields = [*ARTICLE_FIELDS, "body", "notes", "events", "figures", "change_reason"]
