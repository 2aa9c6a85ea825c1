"""Figures' period granularity (derived by every writer, filterable, exported) and a company's series by period
(``/api/figures/series/``): the preferred value, every figure that states it, and conflicts."""

import csv
import datetime
import importlib
import io
from decimal import Decimal

import pytest
from django.apps import apps
from rest_framework.test import APIClient

from articles.models import Figure
from articles.provenance import period_granularity
from articles.services.figures import figure_save

from .base import BODY, make_article, make_company, make_figure

SERIES = "/api/figures/series/"
NEWER = "Acme Mining reported revenue of $1.6 million in 2023."
D = datetime.date


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.mark.usefixtures("curated_readonly")
class TestGranularityOfTheCuratedFigures:
    def test_the_loader_derives_each_figures_granularity_from_its_period(self, api):
        rows = api.get("/api/figures/", {"company": "bitmain", "limit": 1000}).json()["results"]
        by_key = {(row["article"], row["key"]): row["period_granularity"] for row in rows}
        assert by_key[("bitmain-q1-2019-loss", "january-2019-operating-revenue")] == "month"
        assert by_key[("bitmain-q1-2019-loss", "q1-2019-operating-revenue")] == "quarter"
        assert by_key[("bitmain-q1-2019-loss", "us-ipo-target-raise")] == "day"
        assert by_key[("bitmain-q1-2019-loss", "new-miner-line-process-node")] == ""
        # every stored figure agrees with the rule, whichever writer wrote it
        for figure in Figure.objects.all():
            assert figure.period_granularity == period_granularity(figure.period_start, figure.period_end), figure.key

    def test_the_list_filters_by_granularity(self, api):
        params = {"company": "bitmain", "metric": "revenue", "period_granularity": "month"}
        rows = api.get("/api/figures/", params).json()["results"]
        assert sorted(row["period_label"] for row in rows) == ["February 2019", "January 2019", "March 2019"]
        params["period_granularity"] = "quarter"
        assert [row["as_reported"] for row in api.get("/api/figures/", params).json()["results"]] == ["$1.082 billion"]

    def test_an_unknown_granularity_is_a_400_naming_the_parameter(self, api):
        response = api.get("/api/figures/", {"period_granularity": "fortnight"})
        assert response.status_code == 400
        assert list(response.json()) == ["period_granularity"]

    def test_the_export_has_a_granularity_column(self, api):
        response = api.get("/api/figures/", {"company": "bitmain", "metric": "revenue", "format": "csv"})
        rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
        assert sorted(row["period_granularity"] for row in rows) == ["month", "month", "month", "quarter"]

    def test_the_migration_fills_the_granularity_of_existing_rows(self):
        expected = dict(Figure.objects.values_list("pk", "period_granularity"))
        Figure.objects.update(period_granularity="")
        Figure.history.model.objects.update(period_granularity="")
        migration = importlib.import_module("articles.migrations.0006_figure_granularity")
        migration.fill_granularity(apps, None)
        assert dict(Figure.objects.values_list("pk", "period_granularity")) == expected
        assert "month" in set(Figure.history.model.objects.values_list("period_granularity", flat=True))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("start", "end", "granularity"),
    [
        (D(2019, 1, 1), D(2019, 1, 31), "month"),
        (D(2020, 2, 1), D(2020, 2, 29), "month"),
        (D(2019, 4, 1), D(2019, 6, 30), "quarter"),
        (D(2019, 2, 1), D(2019, 4, 30), "other"),  # three months, but not a calendar quarter
        (D(2019, 7, 1), D(2019, 12, 31), "half"),
        (D(2019, 4, 1), D(2019, 9, 30), "other"),
        (D(2019, 1, 1), D(2019, 12, 31), "year"),
        (D(2018, 7, 1), D(2019, 6, 30), "other"),  # a fiscal year
        (D(2019, 6, 1), D(2019, 6, 1), "day"),
        (D(2019, 1, 15), D(2019, 2, 14), "other"),
        (None, None, ""),
    ],
)
def test_a_figures_granularity_is_derived_from_its_period_on_every_write(editor, start, end, granularity):
    company = make_company("acme-mining")
    article = make_article("acme-story", companies=(company,))
    figure = figure_save(
        data={
            "article": article,
            "company": company,
            "metric": "revenue",
            "as_reported": "$1.5 million",
            "value": Decimal("1500000"),
            "unit": "USD",
            "quote": "Acme Mining reported revenue of $1.5 million in 2023.",
            "period_start": start,
            "period_end": end,
        },
        user=editor,
    )
    assert figure.period_granularity == granularity
    # a change of period changes it; the API shows it, read-only
    changed = figure_save(
        figure=figure, data={"period_start": D(2023, 1, 1), "period_end": D(2023, 12, 31)}, user=editor
    )
    assert Figure.objects.get(pk=changed.pk).period_granularity == "year"
    shown = APIClient().get(f"/api/figures/{figure.pk}/").json()
    assert shown["period_granularity"] == "year"


# -- The series --------------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("curated_readonly")
class TestBitmainsRevenueSeries:
    def test_the_months_and_the_quarter_with_their_sources(self, api):
        body = api.get(SERIES, {"company": "bitmain", "metric": "revenue"}).json()
        assert (body["company"], body["metric"], body["unit"]) == ("bitmain", "revenue", None)
        rows = body["results"]
        assert [(r["label"], r["granularity"], r["period_start"], r["period_end"]) for r in rows] == [
            ("January 2019", "month", "2019-01-01", "2019-01-31"),
            ("Q1 2019", "quarter", "2019-01-01", "2019-03-31"),
            ("February 2019", "month", "2019-02-01", "2019-02-28"),
            ("March 2019", "month", "2019-03-01", "2019-03-31"),
        ]
        assert [r["value"] for r in rows] == [
            "253000000.000000",
            "1082000000.000000",
            "253000000.000000",
            "579000000.000000",
        ]
        for row in rows:
            [figure] = row["figures"]
            assert figure["article"] == "bitmain-q1-2019-loss"
            assert figure["status"] == "reported" and figure["preferred"] is True
            assert figure["as_reported"] in figure["quote"]
            assert row["preferred"] == figure["api_url"]
            assert api.get(figure["api_url"]).json()["as_reported"] == figure["as_reported"] == row["as_reported"]
            assert (row["conflict"], row["ambiguous"], row["unit"]) == (False, False, "USD")

    def test_a_range_stays_a_range(self, api):
        [row] = api.get(SERIES, {"company": "bitmain", "metric": "funding_raised"}).json()["results"]
        assert (row["value"], row["value_high"]) == ("300000000.000000", "500000000.000000")
        assert row["granularity"] == "day"

    def test_the_unit_narrows_the_series(self, api):
        assert api.get(SERIES, {"company": "bitmain", "metric": "revenue", "unit": "USD"}).json()["results"]
        assert api.get(SERIES, {"company": "bitmain", "metric": "revenue", "unit": "percent"}).json()["results"] == []

    @pytest.mark.parametrize(
        ("params", "named"),
        [
            ({"metric": "revenue"}, "company"),
            ({"company": "bitmain"}, "metric"),
            ({"company": "bitmain", "metric": "revenues"}, "metric"),
            ({"company": "no-such-company", "metric": "revenue"}, "company"),
            ({"company": "bit main", "metric": "revenue"}, "company"),
            ({"company": "bitmain", "metric": "revenue", "unit": "EUR"}, "unit"),
            ({"company": "bitmain", "metric": "revenue", "unit": ""}, "unit"),
            ({"company": "bitmain", "metric": "revenue", "period": "2019"}, "period"),
        ],
    )
    def test_a_missing_or_bad_parameter_is_a_400_naming_it(self, api, params, named):
        response = api.get(SERIES, params)
        assert response.status_code == 400
        assert list(response.json()) == [named]


def _two_sources():
    """Acme's 2023 revenue as two articles state it: the older one says 1.5 million, the newer one 1.6 million."""
    acme = make_company("acme-mining")
    old = make_article("old-story", companies=(acme,), published_on=D(2024, 1, 10))
    new = make_article("new-story", companies=(acme,), published_on=D(2024, 3, 10), body=NEWER)
    period = {"period_start": D(2023, 1, 1), "period_end": D(2023, 12, 31), "period_label": "2023"}
    first = make_figure(old, "revenue", company=acme, **period)
    second = make_figure(
        new, "revenue", company=acme, as_reported="$1.6 million", value=Decimal("1600000"), quote=NEWER, **period
    )
    return first, second


def _row(params=None) -> dict:
    [row] = APIClient().get(SERIES, {"company": "acme-mining", "metric": "revenue", **(params or {})}).json()["results"]
    return row


@pytest.mark.django_db
class TestThePreferredValue:
    def test_articles_that_disagree_are_a_conflict_and_the_newest_report_is_preferred(self):
        first, second = _two_sources()
        row = _row()
        assert row["conflict"] is True and row["ambiguous"] is False
        assert row["value"] == "1600000.000000"
        assert [(f["article"], f["preferred"]) for f in row["figures"]] == [("old-story", False), ("new-story", True)]

    def test_a_verified_figure_wins_over_a_reported_one_and_a_correction_over_both(self, editor):
        first, second = _two_sources()
        figure_save(figure=first, data={"status": "verified"}, user=editor)
        assert _row()["value"] == "1500000.000000"
        figure_save(
            figure=second,
            data={"status": "corrected", "value": Decimal("1700000"), "note": "The filing says 1.7 million."},
            user=editor,
        )
        row = _row()
        assert (row["value"], row["conflict"]) == ("1700000.000000", True)

    def test_a_rejected_figure_never_counts_but_is_still_listed(self, editor):
        first, second = _two_sources()
        figure_save(figure=second, data={"status": "rejected"}, user=editor)
        row = _row()
        assert (row["value"], row["conflict"]) == ("1500000.000000", False)
        assert [f["status"] for f in row["figures"]] == ["reported", "rejected"]
        figure_save(figure=first, data={"status": "rejected"}, user=editor)
        row = _row()
        assert (row["value"], row["preferred"], row["conflict"]) == (None, None, False)

    def test_the_same_value_from_two_articles_is_no_conflict(self):
        first, second = _two_sources()
        Figure.objects.filter(pk=second.pk).update(value=first.value)
        row = _row()
        assert (row["conflict"], len(row["figures"])) == (False, 2)

    def test_two_values_in_one_article_are_ambiguous_not_a_conflict(self):
        acme = make_company("acme-mining")
        story = make_article("story", companies=(acme,))
        period = {"period_start": D(2023, 1, 1), "period_end": D(2023, 12, 31)}
        make_figure(story, "revenue", company=acme, **period)
        make_figure(story, "other-revenue", company=acme, value=Decimal("900000"), **period)
        row = _row()
        assert (row["conflict"], row["ambiguous"]) == (False, True)


@pytest.mark.django_db
@pytest.mark.parametrize("size", [2, 20])
def test_the_series_makes_the_same_queries_whatever_its_length(django_assert_num_queries, size):
    acme = make_company("acme-mining")
    for i in range(size):
        story = make_article(f"story-{i}", companies=(acme,), body=BODY)
        year = 2000 + i
        make_figure(story, "revenue", company=acme, period_start=D(year, 1, 1), period_end=D(year, 12, 31))
    with django_assert_num_queries(2):  # the company, its figures (with their articles)
        body = APIClient().get(SERIES, {"company": "acme-mining", "metric": "revenue"}).json()
    assert len(body["results"]) == size


@pytest.mark.django_db
def test_the_schema_lists_the_companies_a_series_and_the_report_accept(client):
    make_company("acme-mining")
    make_company("borealis-hashing")
    paths = client.get("/api/schema/", {"format": "json"}).json()["paths"]
    for path in (SERIES, "/api/reports/consistency/"):
        [company] = [p for p in paths[path]["get"]["parameters"] if p["name"] == "company"]
        assert company["schema"] == {"type": "string", "enum": ["acme-mining", "borealis-hashing"]}
