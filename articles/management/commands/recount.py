"""``manage.py recount``: count every company's and person's articles, events and figures again, and rebuild the
table of each company's events in date order (``articles_company_event``) the events list reads.

The counts the lists show are kept by database triggers (``articles.counts_schema``); nothing newsdb does bypasses
them. Should raw SQL ever have (a restore of some tables only, two writers adding one company to one event in two
roles at the same moment), this puts them right, in one transaction, and says how many rows it corrected.
"""

from django.core.management.base import BaseCommand
from django.db import connection, transaction

from articles import counts_schema
from articles.models import CompanyCounts, PersonCounts


def _snapshot() -> dict:
    return {
        "companies": set(
            CompanyCounts.objects.values_list("company_id", "article_count", "event_count", "figure_count")
        ),
        "people": set(PersonCounts.objects.values_list("person_id", "article_count", "event_count")),
    }


def _corrected(before: set, after: set) -> int:
    """How many companies (or people) had a row changed, added or removed."""
    changed_or_added = {row[0] for row in after - before}
    removed = {row[0] for row in before} - {row[0] for row in after}
    return len(changed_or_added | removed)


class Command(BaseCommand):
    help = "Count every company's and person's articles, events and figures again (the counts the lists show)."

    def handle(self, *args, **options):
        with transaction.atomic():
            before = _snapshot()
            wrong = counts_schema.company_events_wrong(connection)
            counts_schema.recount(connection)
            after = _snapshot()
        corrected = {kind: _corrected(before[kind], after[kind]) for kind in after}
        self.stdout.write(
            f"Counted {len(after['companies'])} companies and {len(after['people'])} people; "
            f"corrected {corrected['companies']} and {corrected['people']}. "
            f"Each company's events: {wrong} rows corrected."
        )
