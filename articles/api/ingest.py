"""``POST /api/articles/ingest/``: an editor's script sends an article's text; newsdb stores the article with its
mentions and the events and figures the extraction proposes (hidden until accepted). ``article_ingest`` does the
work; this module only describes the request and the answer and turns the service's errors into a 400."""

from __future__ import annotations

from rest_framework import permissions, serializers

from articles.choices import ARTICLE_DATE_PRECISIONS

TEXT_HELP = "The article's text, verbatim (UTF-8; at most 1 MB). The same text twice is recognised, not stored again."


class CanIngest(permissions.BasePermission):
    """Editors only: adding an article with its events and figures needs the permission to add all three."""

    message = "Ingesting an article needs the editors' permissions (add article, event and figure)."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and user.has_perms(["articles.add_article", "articles.add_event", "articles.add_figure"])
        )


class IngestRequestSerializer(serializers.Serializer):
    text = serializers.CharField(trim_whitespace=False, allow_blank=True, help_text=TEXT_HELP)
    published_on = serializers.CharField(help_text="Publication date, YYYY-MM-DD.")
    precision = serializers.ChoiceField(
        choices=[p.value for p in ARTICLE_DATE_PRECISIONS],
        default="day",
        help_text="How well the date is known: day, month or year (the date is stored as the period's first day).",
    )
    title = serializers.CharField(required=False, allow_blank=True, default="", help_text="Default: the first line.")
    publisher = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, default="", help_text="The publisher's company slug."
    )
    url = serializers.CharField(required=False, allow_blank=True, default="", help_text="Where it was published.")
    language = serializers.CharField(required=False, default="en", help_text="Language of the text (BCP 47).")
    dry_run = serializers.BooleanField(
        required=False, default=False, help_text="Extract and validate, then write nothing."
    )


class ProposedFigureSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True, help_text="Null in a dry run.")
    key = serializers.CharField()
    as_reported = serializers.CharField()
    value = serializers.CharField(help_text="A decimal, as a string.")
    value_high = serializers.CharField(allow_null=True)
    unit = serializers.CharField()
    qualifier = serializers.CharField()
    metric = serializers.CharField()
    company = serializers.CharField(allow_null=True)
    subject = serializers.CharField()
    period_start = serializers.DateField(allow_null=True)
    period_end = serializers.DateField(allow_null=True)
    period_label = serializers.CharField()
    quote = serializers.CharField()
    quote_start = serializers.IntegerField()
    quote_end = serializers.IntegerField()
    status = serializers.CharField()
    confidence = serializers.FloatField()
    reason = serializers.CharField()


class ProposedParticipantSerializer(serializers.Serializer):
    company = serializers.CharField(required=False)
    person = serializers.CharField(required=False)
    role = serializers.CharField()


class ProposedEventSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True, help_text="Null in a dry run.")
    key = serializers.CharField()
    date = serializers.DateField()
    date_precision = serializers.CharField()
    end_date = serializers.DateField(allow_null=True)
    type = serializers.CharField()
    title = serializers.CharField()
    quote = serializers.CharField()
    quote_start = serializers.IntegerField()
    quote_end = serializers.IntegerField()
    participants = ProposedParticipantSerializer(many=True)
    status = serializers.CharField()
    confidence = serializers.FloatField()
    reason = serializers.CharField()


class IngestResponseSerializer(serializers.Serializer):
    article = serializers.CharField(help_text="The article's slug (GET /api/articles/<slug>/).")
    created = serializers.BooleanField(help_text="False when this text was ingested before: that article, untouched.")
    dry_run = serializers.BooleanField()
    mentions = serializers.DictField(
        help_text="`companies` and `people` (slugs the article now mentions), `probable` (near misses of a known "
        "name) and `new_companies` (organisation names that match no company), for the review desk."
    )
    figures = ProposedFigureSerializer(many=True, help_text="Proposed figures (status `proposed`, not public).")
    events = ProposedEventSerializer(many=True, help_text="Proposed events (status `proposed`, not public).")
    skipped = serializers.ListField(
        child=serializers.CharField(), help_text="Proposals the write path refused, and why."
    )
