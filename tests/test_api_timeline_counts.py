"""A company's timeline (``/api/companies/<slug>/timeline/``) and counts per period (``/api/events/counts/``,
``/api/figures/counts/``) with the lists' filters."""

import datetime
from collections import Counter

import pytest
from rest_framework.test import APIClient

from articles.models import Event, EventParticipant, Figure

from .base import make_article, make_company, make_event, make_figure

D = datetime.date


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def _bucket(start: datetime.date, end: datetime.date, by: str) -> datetime.date | None:
    """The first day of the one period of length ``by`` that holds start..end, else None (computed independently
    of the code under test, for the expectations)."""
    months = {"month": 1, "quarter": 3, "year": 12}[by]
    first = D(start.year, (start.month - 1) // months * months + 1, 1)
    last = D(end.year, (end.month - 1) // months * months + 1, 1)
    return first if first == last else None


@pytest.mark.usefixtures("curated_readonly")
class TestBitmainsTimeline:
    def test_its_events_in_date_order_with_their_precision_and_its_figures(self, api):
        body = api.get("/api/companies/bitmain/timeline/").json()
        assert (body["company"], body["name"]) == ("bitmain", "Bitmain")
        assert body["page_url"] == "http://testserver/companies/bitmain/"
        expected = Event.objects.filter(participants__company__slug="bitmain").distinct()
        events = body["events"]
        assert sorted(e["id"] for e in events) == sorted(expected.values_list("pk", flat=True))
        assert [(e["date"], e["date_latest"]) for e in events] == sorted((e["date"], e["date_latest"]) for e in events)
        for event in events:
            stored = Event.objects.get(pk=event["id"])
            assert event["date_precision"] == stored.date_precision
            assert event["date_latest"] == stored.date_latest.isoformat()
            roles = EventParticipant.objects.filter(event=stored, company__slug="bitmain").values_list(
                "role", flat=True
            )
            assert sorted(event["roles"]) == sorted(roles)
        # The honest precision in words: a quarter is a quarter, a year a year.
        q1_loss = next(e for e in events if e["key"] == "q1-2019-net-loss")
        assert (q1_loss["when"], q1_loss["date_precision"]) == ("Q1 2019", "quarter")
        for event in (e for e in events if e["date_precision"] == "year"):
            years = [event["date"][:4]] + ([event["end_date"][:4]] if event["end_date"] else [])
            assert event["when"] == " to ".join(years)
        figures = body["figures"]
        assert len(figures) == Figure.objects.filter(company__slug="bitmain").count()
        dated = [f["period_start"] for f in figures if f["period_start"]]
        assert dated == sorted(dated) and figures[-1]["period_start"] is None
        assert not body["events_truncated"] and not body["figures_truncated"]

    def test_a_limit_cuts_both_lists_and_says_so(self, api):
        body = api.get("/api/companies/bitmain/timeline/", {"limit": 2}).json()
        assert len(body["events"]) == len(body["figures"]) == 2
        assert body["events_truncated"] and body["figures_truncated"]

    @pytest.mark.parametrize(("params", "named"), [({"limit": "0"}, "limit"), ({"since": "2019"}, "since")])
    def test_a_bad_parameter_is_a_400_naming_it(self, api, params, named):
        response = api.get("/api/companies/bitmain/timeline/", params)
        assert response.status_code == 400
        assert list(response.json()) == [named]

    def test_an_unknown_company_is_a_404(self, api):
        assert api.get("/api/companies/no-such-company/timeline/").status_code == 404


@pytest.mark.usefixtures("curated_readonly")
class TestCountsPerPeriod:
    @pytest.mark.parametrize("by", ["month", "quarter", "year"])
    def test_events_per_period_count_each_event_in_the_one_period_its_date_lies_in(self, api, by):
        body = api.get("/api/events/counts/", {"by": by}).json()
        buckets = [_bucket(e.date, e.date_latest, by) for e in Event.objects.all()]
        expected = Counter(b.isoformat() for b in buckets if b is not None)
        assert body["by"] == by
        assert {r["period_start"]: r["count"] for r in body["results"]} == dict(expected)
        assert [r["period_start"] for r in body["results"]] == sorted(expected)
        assert body["unplaced"] == buckets.count(None)
        assert sum(r["count"] for r in body["results"]) + body["unplaced"] == Event.objects.count()

    def test_bitmains_revenue_per_month_and_per_quarter(self, api):
        params = {"company": "bitmain", "metric": "revenue"}
        by_month = api.get("/api/figures/counts/", {**params, "by": "month"}).json()
        assert [(r["label"], r["count"]) for r in by_month["results"]] == [
            ("January 2019", 1),
            ("February 2019", 1),
            ("March 2019", 1),
        ]
        assert by_month["unplaced"] == 1  # the quarter's total is not in one month
        by_quarter = api.get("/api/figures/counts/", {**params, "by": "quarter"}).json()
        assert [(r["label"], r["period_end"], r["count"]) for r in by_quarter["results"]] == [
            ("Q1 2019", "2019-03-31", 4)
        ]
        assert by_quarter["unplaced"] == 0

    def test_the_lists_filters_apply(self, api):
        every = api.get("/api/events/counts/", {"by": "year"}).json()
        typed = api.get("/api/events/counts/", {"by": "year", "type": "financial_report"}).json()
        expected = Event.objects.filter(type="financial_report").count()
        assert 0 < sum(r["count"] for r in typed["results"]) + typed["unplaced"] == expected
        assert expected < sum(r["count"] for r in every["results"]) + every["unplaced"]
        bitmain = api.get("/api/events/counts/", {"by": "year", "company": "bitmain"}).json()
        taking_part = Event.objects.filter(participants__company__slug="bitmain").distinct().count()
        assert sum(r["count"] for r in bitmain["results"]) + bitmain["unplaced"] == taking_part

    def test_the_default_is_by_month(self, api):
        assert api.get("/api/figures/counts/").json()["by"] == "month"

    @pytest.mark.parametrize(
        ("path", "params", "named"),
        [
            ("/api/events/counts/", {"by": "week"}, "by"),
            ("/api/events/counts/", {"by": ""}, "by"),
            ("/api/figures/counts/", {"by": "decade"}, "by"),
            ("/api/figures/counts/", {"metric": "revenues"}, "metric"),
            ("/api/events/counts/", {"company": "no-such-company"}, "company"),
            ("/api/events/counts/", {"group": "month"}, "group"),
        ],
    )
    def test_a_bad_parameter_is_a_400_naming_it(self, api, path, params, named):
        response = api.get(path, params)
        assert response.status_code == 400
        assert list(response.json()) == [named]


def _company_with(size: int) -> None:
    acme = make_company("acme-mining")
    other = make_company("borealis-hashing")
    for i in range(size):
        story = make_article(f"story-{i}", companies=(acme, other))
        make_event(story, f"event-{i}", date=D(2000 + i, 1, 1), participants=((acme, "subject"), (other, "customer")))
        make_figure(story, f"figure-{i}", company=acme, period_start=D(2000 + i, 1, 1), period_end=D(2000 + i, 12, 31))


@pytest.mark.django_db
@pytest.mark.parametrize("size", [2, 20])
@pytest.mark.parametrize(
    ("path", "queries"),
    [
        # the company; its events, their participants; its figures
        ("/api/companies/acme-mining/timeline/", 4),
        # the company filter's slug; the counts
        ("/api/events/counts/?by=year&company=acme-mining", 2),
        ("/api/figures/counts/?by=year&company=acme-mining&metric=revenue", 2),
    ],
)
def test_timelines_and_counts_make_the_same_queries_whatever_the_size(
    client, django_assert_num_queries, size, path, queries
):
    _company_with(size)
    with django_assert_num_queries(queries):
        body = client.get(path).json()
    if "events" in body:
        assert len(body["events"]) == len(body["figures"]) == size
    else:
        assert sum(r["count"] for r in body["results"]) == size
