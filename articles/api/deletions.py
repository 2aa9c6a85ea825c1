"""``GET /api/deletions/``: the change feed's tombstones, what was deleted and when, oldest first.

A client mirrors newsdb by reading every list with ``?updated_since=<last sync>`` and this list with
``?since=<last sync>``. Tombstones are written by the delete services only (``articles.services.base``), in the
transaction that deletes; this module only reads them.
"""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.reverse import reverse

from articles.models import Deletion, DeletionType

from .attribution import user_name
from .filters import BaseFilterSet, ChoiceValueFilter, MultiValueDateTimeFilter
from .renderers import CSVRenderer, JSONRenderer

#: Where each type's history is, and the field its address uses.
HISTORY_ROUTES = {
    DeletionType.ARTICLE: ("article-history", "slug"),
    DeletionType.COMPANY: ("company-history", "slug"),
    DeletionType.PERSON: ("person-history", "slug"),
    DeletionType.EVENT: ("event-history", "pk"),
    DeletionType.FIGURE: ("figure-history", "pk"),
}


class DeletionFilterSet(BaseFilterSet):
    since = MultiValueDateTimeFilter(
        field_name="deleted_at",
        lookup_expr="gte",
        help_text="Deletions at or after this time (ISO 8601, e.g. 2024-09-02T10:15:00Z).",
    )
    type = ChoiceValueFilter(
        choices=DeletionType.choices, help_text="What was deleted; repeat for several (`type=event&type=figure`)."
    )

    class Meta:
        model = Deletion
        fields = ["since", "type"]


class BlankAsNullField(serializers.CharField):
    """Text that does not apply to this type of record (an event's slug) is null, not an empty string."""

    def __init__(self, **kwargs):
        super().__init__(allow_null=True, read_only=True, **kwargs)

    def to_representation(self, value: str) -> str | None:
        return value or None


class DeletionSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(read_only=True, help_text="The tombstone's id (the feed is in date, then id order).")
    record_id = serializers.IntegerField(read_only=True, help_text="The deleted record's id.")
    slug = BlankAsNullField(help_text="The deleted article's, company's or person's slug; null for events and figures.")
    article = BlankAsNullField(
        source="article_slug", help_text="The deleted event's or figure's article (slug); null for the others."
    )
    key = BlankAsNullField(help_text="The deleted event's or figure's key within its article; null for the others.")
    replaced_by = BlankAsNullField(
        help_text="For a company merged into another, the survivor's slug (its old address redirects there)."
    )
    # Exactly what the history endpoint shows of the same deletion (its entry's user and reason).
    user = serializers.SerializerMethodField(
        help_text="Who deleted it, as the record's history names them (a username for a logged-in reader)."
    )
    reason = BlankAsNullField(help_text="The reason given, if any.")
    history_url = serializers.SerializerMethodField(help_text="The deleted record's history, which stays available.")

    class Meta:
        model = Deletion
        fields = [
            "id",
            "type",
            "record_id",
            "slug",
            "article",
            "key",
            "version",
            "deleted_at",
            "replaced_by",
            "user",
            "reason",
            "history_url",
        ]

    @extend_schema_field(OpenApiTypes.STR)
    def get_user(self, deletion: Deletion) -> str | None:
        return user_name(deletion.user, self.context.get("request")) if deletion.user_id else None

    @extend_schema_field(OpenApiTypes.URI)
    def get_history_url(self, deletion: Deletion) -> str:
        name, field = HISTORY_ROUTES[deletion.type]
        lookup: Any = deletion.slug if field == "slug" else deletion.record_id
        return reverse(name, kwargs={field: lookup}, request=self.context.get("request"))


@extend_schema_view(
    list=extend_schema(
        summary="Deleted records (tombstones), oldest first",
        description="What was deleted and when: every article, company, person, event and figure deleted (an "
        "article's events and figures with it, a company merged into another with `replaced_by`). With each "
        "list's `updated_since`, it lets a client mirror newsdb: read `?since=<time of your last sync>` here and "
        "`?updated_since=<the same time>` on every list; both are inclusive, so overlap a little and apply "
        "idempotently. Ordered by `deleted_at`, then `id`.",
    )
)
class DeletionViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Deleted records (tombstones), oldest first: the deletions half of the change feed."""

    queryset = Deletion.objects.select_related("user").order_by("deleted_at", "pk")
    serializer_class = DeletionSerializer
    # JSON, the browsable API and CSV pages (JSON Lines holds whole lists, which only the records' exports have).
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer, CSVRenderer]
    filterset_class = DeletionFilterSet
