"""The knowledge base: articles, the companies and people they name, and the events and figures they state.

Every event and figure carries its provenance (the verbatim quote and its offsets in the article's body);
``clean()`` enforces it, and every write path (admin, API, loader) runs ``clean()``.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, OrderBy, Q
from django.urls import reverse
from simple_history.models import HistoricalRecords

from . import provenance
from .choices import (
    ARTICLE_DATE_PRECISIONS,
    PROPOSAL_STATUSES,
    CompanyKind,
    DatePrecision,
    EventStatus,
    EventType,
    Metric,
    ParticipantRole,
    PeriodGranularity,
    Qualifier,
    ReviewStatus,
    Unit,
)


def History(**options) -> HistoricalRecords:  # noqa: N802 - reads like the field it makes
    """History for a curated model: every change with its author, time, (unlimited) reason and lists.

    Entries are written by one function only, ``articles.services.history.history_write`` (simple-history's own
    signal writer is switched off by ``SIMPLE_HISTORY_ENABLED = False``); simple-history provides the tables,
    the admin's history page and its revert form.
    """
    options.setdefault("no_db_index", HISTORY_UNINDEXED)
    return HistoricalRecords(history_change_reason_field=models.TextField(null=True), bases=[HistoryLists], **options)


#: Columns of the history tables that keep no index of their own: entries are looked up by the record's id (and an
#: article's, company's or person's slug, for one that was deleted), never by these. simple-history indexes every
#: foreign key and key column it copies; each index costs every write and a first load builds it over every entry.
HISTORY_UNINDEXED = ["article", "company", "publisher", "reviewed_by", "parent", "affiliation", "key"]


class HistoryLists(models.Model):
    """The lists a record had at one version (an article's mentions, an event's participants, aliases)."""

    lists = models.JSONField(
        null=True, blank=True, help_text='The record\'s lists at this version, e.g. {"aliases": [...]}.'
    )

    class Meta:
        abstract = True


class Record(models.Model):
    """Fields every curated record has: the optimistic-locking version and timestamps.

    The version is raised by ``articles.services.base.version_bump`` and nowhere else; stale-write checks
    (admin, API If-Match, the loader) compare it.
    """

    version = models.PositiveIntegerField(
        default=1, editable=False, help_text="Raised on every change; a write based on an older one is refused."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Company(Record):
    """An organization the press names: makers, miners, investors, exchanges, media, regulators, researchers."""

    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=CompanyKind.choices, default=CompanyKind.OTHER)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2 code, e.g. CN or US.")
    founded_year = models.PositiveSmallIntegerField(null=True, blank=True)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="subsidiaries",
        help_text="The parent company of a subsidiary.",
    )
    description = models.TextField(blank=True)
    history = History()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "companies"
        indexes = [
            # GET /api/companies/ (ordered by name, then id) and its cursor pages.
            models.Index(fields=["name", "id"], name="company_name_order"),
            # ?updated_since= on /api/companies/: the change feed, in the order a mirror reads it.
            models.Index(fields=["updated_at", "id"], name="company_updated"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=CompanyKind.values), name="articles_company_kind_valid"),
            models.CheckConstraint(condition=~Q(parent=models.F("pk")), name="articles_company_not_own_parent"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        """Its public page: names, charts of its figures, timeline and conflicts ("View on site" in the admin)."""
        return reverse("company-page", kwargs={"slug": self.slug})

    def clean(self) -> None:
        if self.country and not (self.country.isalpha() and self.country.isupper()):
            raise ValidationError({"country": "Use a two-letter upper-case ISO 3166-1 code such as CN or US."})
        if self.parent_id and self.pk and self.parent_id == self.pk:
            raise ValidationError({"parent": "A company cannot be its own parent."})


class Person(Record):
    """A person the press names (executives, officials, analysts); the garbles of their names are aliases."""

    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    title = models.CharField(max_length=200, blank=True, help_text='What they are, e.g. "CEO of Auradine".')
    affiliation = models.ForeignKey(Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="people")
    description = models.TextField(blank=True)
    history = History()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "people"
        indexes = [
            # GET /api/people/ (ordered by name, then id) and its cursor pages.
            models.Index(fields=["name", "id"], name="person_name_order"),
            # ?updated_since= on /api/people/.
            models.Index(fields=["updated_at", "id"], name="person_updated"),
        ]

    def __str__(self) -> str:
        return self.name


class _Counts(models.Model):
    """How many articles mention it and how many events it takes part in (proposals left out), stored by the
    database's triggers (``articles.counts_schema``), never written by Django: unmanaged, so that no ``dumpdata``
    carries it and no ``loaddata`` writes it twice. A company or person without a row counts zero."""

    article_count = models.IntegerField(default=0, editable=False)
    event_count = models.IntegerField(default=0, editable=False)

    class Meta:
        abstract = True
        managed = False

    def __str__(self) -> str:
        return f"{self.article_count} articles, {self.event_count} events"


class CompanyCounts(_Counts):
    company = models.OneToOneField(
        Company, primary_key=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="counts"
    )
    figure_count = models.IntegerField(default=0, editable=False)

    class Meta:
        managed = False
        db_table = "articles_company_counts"


class PersonCounts(_Counts):
    person = models.OneToOneField(
        Person, primary_key=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="counts"
    )

    class Meta:
        managed = False
        db_table = "articles_person_counts"


class Alias(models.Model):
    """Another spelling of a company's or person's name, including the press's garbles."""

    company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.CASCADE, related_name="aliases")
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.CASCADE, related_name="aliases")
    name = models.CharField(max_length=200)
    garbled = models.BooleanField(default=False, help_text="A misspelling or mistranslation, not a real name.")
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "aliases"
        constraints = [
            models.CheckConstraint(
                condition=(Q(company__isnull=False) & Q(person__isnull=True))
                | (Q(company__isnull=True) & Q(person__isnull=False)),
                name="articles_alias_one_owner",
            ),
            models.UniqueConstraint(fields=["company", "name"], name="articles_alias_unique_company_name"),
            models.UniqueConstraint(fields=["person", "name"], name="articles_alias_unique_person_name"),
        ]

    def __str__(self) -> str:
        return self.name


class MergedCompany(models.Model):
    """The slug of a company an editor merged into another one.

    The loader follows it: a fixture still defining or naming the merged company resolves to the survivor
    instead of bringing the duplicate back.
    """

    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    into = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="merged_companies")
    merged_at = models.DateTimeField(auto_now_add=True)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return f"{self.slug} → {self.into.slug}"


class Article(Record):
    """A news story, its body kept verbatim (garbles included, page debris excluded)."""

    slug = models.SlugField(max_length=150, unique=True)
    title = models.CharField(max_length=300)
    # No index of its own (db_index=False, as on the other foreign keys below whose column leads another index):
    # article_publisher_order (publisher_id, ...) serves every lookup by publisher. Each index costs every write.
    publisher = models.ForeignKey(
        Company,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="published_articles",
        help_text="Empty when the publisher is unknown.",
        db_index=False,
    )
    authors = models.JSONField(default=list, blank=True, help_text="Author names as the article gives them.")
    published_on = models.DateField(help_text="With month or year precision, the first day of that period.")
    published_precision = models.CharField(max_length=10, choices=DatePrecision.choices, default=DatePrecision.DAY)
    url = models.URLField(max_length=500, blank=True)
    language = models.CharField(max_length=8, default="en", help_text="Language of the body (BCP 47 code).")
    translated_from = models.CharField(
        max_length=8, blank=True, help_text="Language of the original when the body is a translation."
    )
    body = models.TextField()
    notes = models.TextField(blank=True, help_text="What editors know about the article and its capture.")
    companies = models.ManyToManyField(Company, blank=True, related_name="articles")
    people = models.ManyToManyField(Person, blank=True, related_name="articles")
    history = History()

    class Meta:
        # Newest first; of one day's articles, the one recorded last first. Both keys descend, so a cursor page
        # starts with one row comparison, (published_on, id) < (date, id), that the index below answers.
        ordering = ["-published_on", "-id"]
        indexes = [
            # GET /api/articles/ and its cursor pages; also the default order of figures, which sort through
            # their article: the planner walks this index and joins each article's figures.
            models.Index(F("published_on").desc(), F("id").desc(), name="article_published_order"),
            # ?publisher=X on /api/articles/, in the default order.
            models.Index("publisher", F("published_on").desc(), F("id").desc(), name="article_publisher_order"),
            # ?updated_since= on /api/articles/.
            models.Index(fields=["updated_at", "id"], name="article_updated"),
            # ?ordering=title and ?ordering=created_at, either way (every ordering the API offers reads an index:
            # tests/benchmarks/explain_lists.py --orderings; sorting all 100,000 articles took 90-105 ms a page).
            models.Index(fields=["title", "id"], name="article_title_order"),
            models.Index(fields=["created_at", "id"], name="article_created"),
            # ?language=X on /api/articles/, in the default order (a language no article has read every article:
            # 40 ms at 100,000), and the admin's language filter, which finds the languages in use by stepping
            # through this index (admin.base.DistinctValuesFilter) instead of reading every article (44 ms).
            models.Index("language", F("published_on").desc(), F("id").desc(), name="article_language_order"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(published_precision__in=[p.value for p in ARTICLE_DATE_PRECISIONS]),
                name="articles_article_precision_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        if self.published_precision not in ARTICLE_DATE_PRECISIONS:
            raise ValidationError({"published_precision": "An article's date is known to the day, month or year."})
        provenance.check_date_precision("published_on", self.published_on, self.published_precision)
        if not (self.body or "").strip():
            raise ValidationError({"body": "The body is required."})


class QuotedQuerySet(models.QuerySet):
    """Events and figures: ``facts()`` are what newsdb presents as fact, ``proposals()`` what awaits an editor."""

    def facts(self) -> "QuotedQuerySet":
        """Every record but the proposals (proposed, and rejected proposals): what every public read shows."""
        return self.exclude(status__in=sorted(PROPOSAL_STATUSES))

    def proposals(self) -> "QuotedQuerySet":
        """The proposals no editor has decided on yet."""
        return self.filter(status=ReviewStatus.PROPOSED)

    def proposals_all(self) -> "QuotedQuerySet":
        """Every proposal, decided (rejected) or not: what ``facts()`` leaves out."""
        return self.filter(status__in=sorted(PROPOSAL_STATUSES))


class Quoted(Record):
    """A record that an article supports with a verbatim quote."""

    key = models.SlugField(max_length=100, help_text="Stable within the article; how the loader finds it again.")
    quote = models.TextField(help_text="The article's words, verbatim, that support this record.")
    quote_start = models.PositiveIntegerField(editable=False, default=0)
    quote_end = models.PositiveIntegerField(editable=False, default=0)

    class Meta:
        abstract = True

    def clean(self) -> None:
        # Every check runs, so that the editor sees every wrong field at once.
        errors: dict = {}
        for check in self.clean_checks():
            try:
                check()
            except ValidationError as exc:
                errors.update(exc.update_error_dict({}))
        if errors:
            raise ValidationError(errors)

    def clean_checks(self) -> tuple:
        return (self.clean_quote,)

    def clean_quote(self) -> None:
        try:
            body = self.article.body
        except Article.DoesNotExist:
            body = ""
        self.quote_start, self.quote_end = provenance.locate_quote(body, self.quote, self.quote_start or None)


class Event(Quoted):
    """Something that happened, dated with its precision, with the companies and people involved."""

    # Served by the unique (article, key).
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="events", db_index=False)
    title = models.CharField(max_length=300)
    summary = models.TextField(blank=True)
    type = models.CharField(max_length=30, choices=EventType.choices)
    date = models.DateField(help_text="With month, quarter or year precision, the first day of that period.")
    date_precision = models.CharField(max_length=10, choices=DatePrecision.choices, default=DatePrecision.DAY)
    end_date = models.DateField(null=True, blank=True, help_text="For a span; same precision as the date.")
    # The last day the (possibly imprecise) date or span covers; date filters compare against it.
    date_latest = models.DateField(editable=False, null=True)
    note = models.TextField(blank=True, help_text="Editor's note.")
    status = models.CharField(
        max_length=10,
        choices=EventStatus.choices,
        default=EventStatus.REPORTED,
        help_text="Proposed: by the extraction, hidden until accepted; proposal rejected: kept, hidden.",
    )
    history = History()
    objects = QuotedQuerySet.as_manager()

    class Meta:
        # Date, then the order they were recorded in: both columns of this table, so one index serves it.
        ordering = ["date", "id"]
        indexes = [
            # GET /api/events/ (by date, then id), its cursor pages, ?date__lte=, and ?date__gte= bounded by the
            # longest span (index event_date_span on date_latest - date, PostgreSQL only: migration 0012).
            models.Index(fields=["date", "id"], name="event_date_order"),
            # ?covers= and ?date_latest__gte= (an event's span reaches into a period); the status last, so that the
            # list's capped count reads the index alone (0.64 -> 0.16 ms of scan at 100k).
            models.Index(fields=["date_latest", "date", "status"], name="event_date_latest"),
            # ?type=X on /api/events/, in the default order, and ?ordering=type (type, date, id); the status last for
            # the capped count (as above).
            models.Index(fields=["type", "date", "id", "status"], name="event_type_order"),
            # ?updated_since= on /api/events/.
            models.Index(fields=["updated_at", "id"], name="event_updated"),
            # ?ordering=title and ?ordering=created_at, either way (sorting all 200,000 events: 250-320 ms a page).
            models.Index(fields=["title", "id"], name="event_title_order"),
            models.Index(fields=["created_at", "id"], name="event_created"),
            # The review desk: an article's proposals, and the queue of articles that still have some.
            models.Index(fields=["article"], condition=Q(status="proposed"), name="event_proposed"),
            # ?status= on /api/events/, and the few events that are proposals, which every list leaves out.
            models.Index(fields=["status"], name="event_status"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["article", "key"], name="articles_event_unique_article_key"),
            models.CheckConstraint(condition=Q(type__in=EventType.values), name="articles_event_type_valid"),
            models.CheckConstraint(condition=Q(status__in=EventStatus.values), name="articles_event_status_valid"),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("date")),
                name="articles_event_end_after_start",
            ),
            models.CheckConstraint(
                condition=Q(quote_end__gt=models.F("quote_start")), name="articles_event_quote_offsets"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def clean_checks(self) -> tuple:
        return (self.clean_quote, self.clean_dates)

    def clean_dates(self) -> None:
        if self.date is None:
            return
        provenance.check_date_precision("date", self.date, self.date_precision)
        provenance.check_date_precision("end_date", self.end_date, self.date_precision)
        if self.end_date and self.end_date < self.date:
            raise ValidationError({"end_date": "The end date is before the date."})
        self.date_latest = provenance.period_bounds(self.end_date or self.date, self.date_precision)[1]


class EventParticipant(models.Model):
    """A company or a person taking part in an event, in a role."""

    # Served by the unique (event, company, role) and (event, person, role), and by participant_company_event and
    # participant_person_event.
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="participants", db_index=False)
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.PROTECT, related_name="participations", db_index=False
    )
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="participations", db_index=False
    )
    role = models.CharField(max_length=20, choices=ParticipantRole.choices, default=ParticipantRole.SUBJECT)

    class Meta:
        ordering = ["event", "id"]
        indexes = [
            # ?company=X / ?person=X on /api/events/: the events a company or person takes part in.
            models.Index(fields=["company", "event"], name="participant_company_event"),
            models.Index(fields=["person", "event"], name="participant_person_event"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(company__isnull=False) & Q(person__isnull=True))
                | (Q(company__isnull=True) & Q(person__isnull=False)),
                name="articles_participant_company_or_person",
            ),
            models.UniqueConstraint(
                fields=["event", "company", "role"], name="articles_participant_unique_company_role"
            ),
            models.UniqueConstraint(fields=["event", "person", "role"], name="articles_participant_unique_person_role"),
            models.CheckConstraint(
                condition=Q(role__in=ParticipantRole.values), name="articles_participant_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.company or self.person} ({self.role})"


class CompanyEvent(models.Model):
    """A company's events in date order: one row per company and event it takes part in (in any role), with the
    event's date, kept by the database's triggers (``articles.counts_schema``), never written by Django. The events
    list joins it for ``?company=X``, on the event and its date, so that a page reads its rows from the index
    ``(company_id, date, event_id)`` instead of sorting all the company's events (unmanaged, like the counts)."""

    pk = models.CompositePrimaryKey("event", "company")
    event = models.ForeignKey(
        Event, on_delete=models.DO_NOTHING, db_constraint=False, related_name="company_events", editable=False
    )
    company = models.ForeignKey(
        Company, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+", editable=False
    )
    date = models.DateField(editable=False)

    class Meta:
        managed = False
        db_table = "articles_company_event"

    def __str__(self) -> str:
        return f"{self.company_id} in {self.event_id} ({self.date})"


class EmptyLastIndex(models.Index):
    """An index whose ``DESC NULLS LAST`` columns SQLite gets as plain ``DESC``: it refuses a NULLS clause in an
    index, and its DESC puts empty values last already."""

    def create_sql(self, model, schema_editor, using="", **kwargs):
        if schema_editor.connection.vendor == "sqlite":
            plain = [OrderBy(e.expression, e.descending) if isinstance(e, OrderBy) else e for e in self.expressions]
            return models.Index(*plain, name=self.name).create_sql(model, schema_editor, using, **kwargs)
        return super().create_sql(model, schema_editor, using, **kwargs)


def nullable_order(name: str, *fields: str) -> list[models.Index]:
    """Two indexes for ordering by a column that may be empty: the API sorts empty values last either way
    (``api.filters.OrderingFilter``), and an index read backwards puts them first, so ``(field, id)`` serves the
    ascending order and ``(field DESC NULLS LAST, id DESC)`` the descending one."""
    return [
        models.Index(fields=[*fields, "id"], name=name),
        EmptyLastIndex(*(F(field).desc(nulls_last=True) for field in fields), F("id").desc(), name=f"{name}_desc"),
    ]


class Figure(Quoted):
    """A number an article states, as the article states it and as a value, with its period and review."""

    # Served by the unique (article, key) and by figure_company_metric (company, metric).
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="figures", db_index=False)
    company = models.ForeignKey(
        Company,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="figures",
        help_text="The company the number is about; empty when it is about something else (see subject).",
        db_index=False,
    )
    subject = models.CharField(
        max_length=200, blank=True, help_text='What the number is about, e.g. "Bitcoin price" or "Q1 2019 revenue".'
    )
    metric = models.CharField(max_length=20, choices=Metric.choices)
    value = models.DecimalField(
        max_digits=24, decimal_places=6, help_text="Absolute value: $1.082 billion is 1082000000."
    )
    value_high = models.DecimalField(
        max_digits=24, decimal_places=6, null=True, blank=True, help_text="Top of a range ($660-$866 million)."
    )
    unit = models.CharField(max_length=10, choices=Unit.choices)
    qualifier = models.CharField(max_length=10, choices=Qualifier.choices, default=Qualifier.EXACT)
    as_reported = models.CharField(max_length=200, help_text="The article's words for the number, verbatim.")
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    period_label = models.CharField(max_length=100, blank=True, help_text='e.g. "Q1 2019" or "January 2019".')
    period_granularity = models.CharField(
        max_length=10,
        choices=PeriodGranularity.choices,
        blank=True,
        default="",
        editable=False,
        help_text="Derived from the period: day, month, quarter, half, year or other; blank without a period.",
    )
    status = models.CharField(max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.REPORTED)
    note = models.TextField(blank=True, help_text="Editor's note; required when the figure is corrected.")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    reviewed_at = models.DateTimeField(null=True, blank=True, editable=False)
    history = History()
    objects = QuotedQuerySet.as_manager()

    class Meta:
        ordering = ["article", "key"]
        indexes = [
            # /api/figures/?company=X&metric=Y: a company's numbers of one kind (the most common query), and its
            # count; on PostgreSQL the page itself reads figure_company_metric_order, in the list's order
            # (articles/figure_order.py).
            models.Index(fields=["company", "metric"], name="figure_company_metric"),
            # ?metric=Y&value__gte=N: the largest or smallest numbers of a kind, across companies, and ?ordering=metric
            # (metric, value, id); the status last, so that the list's capped count (every list leaves proposals
            # out) reads the index alone.
            models.Index(fields=["metric", "value", "id", "status"], name="figure_metric_value"),
            # ?ordering=value across metrics, and ?value_overlaps= / ?value__gte= without a metric (at 100k,
            # ordering=-value sorted all 200,000 figures: 164 ms a page; value_overlaps=1000000,2000000 189 ms).
            models.Index(fields=["value", "id"], name="figure_value_order"),
            # ?status=verified / corrected / disputed: the editors' worklists, and ?ordering=status.
            models.Index(fields=["status", "id"], name="figure_status"),
            # ?period_start__gte= / ?period_end__lte= / ?covers=: numbers for a period; ?ordering=period_start
            # (period_start, period_end, id).
            *nullable_order("figure_period", "period_start", "period_end"),
            # ?ordering=period_end, ?ordering=value_high (and the ranges of ?value_overlaps= that start below the
            # interval and reach into it), ?ordering=reviewed_at.
            *nullable_order("figure_period_end", "period_end"),
            *nullable_order("figure_value_high", "value_high"),
            *nullable_order("figure_reviewed", "reviewed_at"),
            # ?ordering=unit and ?ordering=created_at (sorting all 200,000 figures: 85-150 ms a page).
            models.Index(fields=["unit", "id"], name="figure_unit_order"),
            models.Index(fields=["created_at", "id"], name="figure_created"),
            # ?ordering=quote_start (figures in the order their articles state them) and its cursor pages.
            models.Index(fields=["quote_start", "id"], name="figure_position"),
            # ?updated_since= on /api/figures/.
            models.Index(fields=["updated_at", "id"], name="figure_updated"),
            # The review desk: an article's proposals, and the queue of articles that still have some.
            models.Index(fields=["article"], condition=Q(status="proposed"), name="figure_proposed"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["article", "key"], name="articles_figure_unique_article_key"),
            models.CheckConstraint(condition=Q(metric__in=Metric.values), name="articles_figure_metric_valid"),
            models.CheckConstraint(condition=Q(unit__in=Unit.values), name="articles_figure_unit_valid"),
            models.CheckConstraint(condition=Q(status__in=ReviewStatus.values), name="articles_figure_status_valid"),
            models.CheckConstraint(
                condition=Q(period_granularity__in=[*PeriodGranularity.values, ""]),
                name="articles_figure_granularity_valid",
            ),
            models.CheckConstraint(
                condition=Q(value_high__isnull=True) | Q(value_high__gte=models.F("value")),
                name="articles_figure_range_ordered",
            ),
            models.CheckConstraint(
                condition=Q(period_start__isnull=True)
                | Q(period_end__isnull=True)
                | Q(period_end__gte=models.F("period_start")),
                name="articles_figure_period_ordered",
            ),
            models.CheckConstraint(
                condition=Q(company__isnull=False) | ~Q(subject=""), name="articles_figure_company_or_subject"
            ),
            models.CheckConstraint(
                condition=Q(quote_end__gt=models.F("quote_start")), name="articles_figure_quote_offsets"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.as_reported} ({self.get_metric_display()})"

    def clean_checks(self) -> tuple:
        return (self.clean_quote, self.clean_numbers, self.clean_period)

    def clean_numbers(self) -> None:
        if not self.company_id and not getattr(self, "company", None) and not self.subject:
            raise ValidationError({"subject": "Name what the figure is about: a company, or a subject label."})
        provenance.check_figure_numbers(
            as_reported=self.as_reported,
            quote=self.quote or "",
            value=self.value,
            value_high=self.value_high,
            unit=self.unit,
            qualifier=self.qualifier,
            status=self.status,
            note=self.note,
        )

    def clean_period(self) -> None:
        if (self.period_start is None) != (self.period_end is None):
            raise ValidationError({"period_end": "Give both ends of the period (a point in time has start = end)."})
        if self.period_start and self.period_end < self.period_start:
            raise ValidationError({"period_end": "The period ends before it starts."})
        self.period_granularity = provenance.period_granularity(self.period_start, self.period_end)


class FixtureFile(models.Model):
    """A fixture file as ``load_fixtures`` last loaded it: a reload skips a file whose checksum is unchanged."""

    path = models.CharField(max_length=500, unique=True, help_text="Relative to the folder it was loaded from.")
    checksum = models.CharField(max_length=64, help_text="SHA-256 of the file's bytes.")
    loaded_at = models.DateTimeField()

    class Meta:
        ordering = ["path"]

    def __str__(self) -> str:
        return self.path


class FixtureRecord(models.Model):
    """What ``load_fixtures`` last wrote of one record, so a reload tells an editor's change from its own.

    The loader's bookkeeping lives here, not on the domain tables: the record's natural key (a slug, or
    ``article-slug/key`` for events and figures), the file it came from, a fingerprint of the values the
    loader wrote and the record's version right after that write. A record whose version has moved on since
    was changed by someone else, and the loader keeps it.
    """

    model = models.CharField(max_length=20, help_text="company, person, article, event or figure.")
    key = models.CharField(max_length=260)
    source = models.CharField(max_length=500, help_text="The fixture file, relative to the loaded folder.")
    fingerprint = models.CharField(max_length=64)
    version = models.PositiveIntegerField(help_text="The record's version right after the loader wrote it.")

    class Meta:
        ordering = ["model", "key"]
        constraints = [models.UniqueConstraint(fields=["model", "key"], name="articles_fixturerecord_unique_key")]
        indexes = [
            # A reload looks up the records of the files it re-reads.
            models.Index(fields=["source"], name="articles_fixturerecord_source"),
        ]

    def __str__(self) -> str:
        return f"{self.model} {self.key}"


class DeletionType(models.TextChoices):
    """What a tombstone names (kept here rather than in ``choices.py``: only ``Deletion`` uses it)."""

    ARTICLE = "article", "article"
    COMPANY = "company", "company"
    PERSON = "person", "person"
    EVENT = "event", "event"
    FIGURE = "figure", "figure"


class Deletion(models.Model):
    """A tombstone: which curated record was deleted, when, by whom and why, and for a company merged into
    another, the survivor.

    With each list's ``?updated_since=``, ``/api/deletions/?since=`` lets a client mirror newsdb incrementally.
    Tombstones are written by the delete services only (``articles.services.base.delete``, ``article_delete``
    for an article's events and figures, ``company_merge``), in the deleting transaction, and never changed.
    A record is named as the API names it: by slug (articles, companies, people) or by its article's slug and
    its key (events, figures), and by its id.
    """

    type = models.CharField(max_length=10, choices=DeletionType.choices)
    record_id = models.PositiveBigIntegerField(help_text="The deleted record's id.")
    slug = models.SlugField(max_length=150, blank=True, help_text="An article's, company's or person's slug.")
    article_slug = models.SlugField(max_length=150, blank=True, help_text="An event's or figure's article.")
    key = models.SlugField(max_length=100, blank=True, help_text="An event's or figure's key within its article.")
    version = models.PositiveIntegerField(help_text="The record's last version.")
    deleted_at = models.DateTimeField(help_text="The same time as the record's last history entry.")
    replaced_by = models.SlugField(
        max_length=100, blank=True, help_text="A company merged into another: the survivor's slug."
    )
    # Stored like a history entry's user; the API shows it exactly as the history endpoint does.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["deleted_at", "id"]
        indexes = [
            # GET /api/deletions/?since=: the tombstones from a time on, in feed order (and its pages).
            models.Index(fields=["deleted_at", "id"], name="deletion_feed"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(type__in=DeletionType.values), name="articles_deletion_type_valid"),
        ]

    def __str__(self) -> str:
        name = self.slug or f"{self.article_slug}/{self.key}"
        return f"{self.type} {name} deleted {self.deleted_at:%Y-%m-%d %H:%M}"


class Ingestion(models.Model):
    """How an article came in from its text (``article_ingest``): the text's fingerprint, so that the same text sent
    again is recognised instead of stored twice, who sent it and how, and what the extraction proposed that is not
    a record of its own (the review desk shows it).

    ``proposals`` holds, per proposed event and figure (``"figure:<id>"``, ``"event:<id>"``), the confidence and
    the reason the extraction gave, and ``mentions`` the names it offered but did not apply: near misses
    ("Bitmian", probably bitmain) and organisations that match no company, each with the editor's decision.
    """

    article = models.OneToOneField(Article, on_delete=models.CASCADE, related_name="ingestion")
    text_sha256 = models.CharField(
        max_length=64, unique=True, help_text="SHA-256 of the normalised text (NFC, whitespace runs as one space)."
    )
    source = models.CharField(max_length=10, help_text="command, admin or api.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    proposals = models.JSONField(default=dict, blank=True)
    mentions = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.article.slug} ({self.source})"
