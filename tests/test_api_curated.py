"""The API over the real curated data set: the issue's acceptance examples, and every record readable."""

import datetime
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from articles.models import Article, Company, Event, Figure, Person
from articles.services.fixtures import fixtures_load

from .base import FIXTURES_DIR, token_client


@pytest.fixture
def api():
    return APIClient()


@pytest.mark.usefixtures("curated_readonly")
class TestTheCuratedDataThroughTheAPI:
    """Reading the curated data set through the API (loaded once for the class)."""

    def test_bitmains_revenue_figures(self, api):
        results = api.get("/api/figures/", {"company": "bitmain", "metric": "revenue"}).json()["results"]
        expected = Figure.objects.filter(company__slug="bitmain", metric="revenue")
        assert sorted(f["id"] for f in results) == sorted(expected.values_list("pk", flat=True))
        assert {(f["company"], f["metric"]) for f in results} == {("bitmain", "revenue")}
        assert "$1.082 billion" in {f["as_reported"] for f in results}

    @pytest.mark.parametrize("q", ["Cannan Creative", "cannan", "CANAAN", "creative"])
    def test_a_garbled_or_partial_name_finds_canaan(self, api, q):
        assert [c["slug"] for c in api.get("/api/companies/", {"q": q}).json()["results"]] == ["canaan"]

    def test_events_from_2024_involving_bitmain(self, api):
        body = api.get("/api/events/", {"date__gte": "2024-01-01", "company": "bitmain", "limit": 1000}).json()
        assert body["count"] > 0
        expected = Event.objects.filter(participants__company__slug="bitmain", date_latest__gte="2024-01-01").distinct()
        assert body["count"] == expected.count()
        for event in body["results"]:
            assert event["date"] >= "2024-01-01"
            assert "bitmain" in {p["company"] for p in event["participants"]}

    def test_a_malformed_value_and_a_misspelt_parameter_are_400s(self, api):
        assert list(api.get("/api/figures/", {"value__gte": "abc"}).json()) == ["value__gte"]
        assert api.get("/api/figures/", {"compnay": "bitmain"}).status_code == 400

    def test_an_anonymous_post_changes_nothing(self, api):
        response = api.post("/api/companies/", {"slug": "intruder", "name": "Intruder"}, format="json")
        assert response.status_code in (401, 403)
        assert not Company.objects.filter(slug="intruder").exists()

    @pytest.mark.parametrize(
        ("route", "model"),
        [("articles", Article), ("companies", Company), ("people", Person), ("events", Event), ("figures", Figure)],
    )
    def test_every_record_is_listed_and_readable(self, api, route, model):
        body = api.get(f"/api/{route}/", {"limit": 1000}).json()
        assert body["count"] == len(body["results"]) == model.objects.count()
        for item in body["results"][:20]:
            assert api.get(item["api_url"]).status_code == 200

    def test_an_article_detail_holds_its_curated_events_and_figures(self, api):
        article = Article.objects.get(slug="bitmain-q1-2019-loss")
        shown = api.get("/api/articles/bitmain-q1-2019-loss/").json()
        assert len(shown["events"]) == article.events.count() and len(shown["figures"]) == article.figures.count()
        for item in shown["events"] + shown["figures"]:
            assert shown["body"][item["quote_start"] : item["quote_end"]] == item["quote"]

    def test_the_loader_is_named_in_the_history(self, api):
        figure = Figure.objects.order_by("pk").first()
        [entry] = api.get(f"/api/figures/{figure.pk}/history/").json()
        assert (entry["type"], entry["user"], entry["reason"]) == ("created", "load_fixtures", "load_fixtures")

    @pytest.mark.parametrize("route", ["articles", "companies", "people", "events", "figures"])
    def test_the_browsable_api_renders_every_page_with_its_forms_for_an_editor(self, client, editor, route):
        client.force_login(editor)
        first = APIClient().get(f"/api/{route}/", {"limit": 1}).json()["results"][0]["api_url"]
        for path in (f"/api/{route}/", first, f"{first}history/"):
            response = client.get(path, HTTP_ACCEPT="text/html")
            assert response.status_code == 200, path
            assert "<form" in response.content.decode()

    @pytest.mark.parametrize("route", ["articles", "companies", "people", "events", "figures"])
    def test_options_describes_what_an_editor_may_send(self, editor, route):
        response = token_client(editor).options(f"/api/{route}/")
        assert response.status_code == 200
        assert "change_reason" in response.json()["actions"]["POST"]

    def test_articles_mentioning_a_company_can_be_sorted_by_any_field(self, api):
        # Every article mentions Bitmain: Canaan and CFIUS are named by three of the five. Oldest first, which is
        # not the default order (newest first), so an ordering that did nothing would fail.
        companies = ["canaan", "cfius"]
        body = api.get("/api/articles/", {"company": companies, "ordering": "published_on,title"}).json()
        dates = [a["published_on"] for a in body["results"]]
        assert body["count"] == Article.objects.filter(companies__slug__in=companies).distinct().count()
        assert 0 < body["count"] < Article.objects.count()
        assert dates == sorted(dates) != sorted(dates, reverse=True)
        assert [a["slug"] for a in body["results"]] == [
            "bitmain-bankruptcy-rumours-2018",
            "bitmain-q1-2019-loss",
            "bitmain-made-in-usa-threat-2024",
        ]
        newest_first = api.get("/api/articles/", {"company": companies, "ordering": "-published_on,title"}).json()
        assert [a["slug"] for a in newest_first["results"]] == [a["slug"] for a in reversed(body["results"])]

    def test_figures_export_as_csv_with_a_header_and_one_row_each(self, client):
        import csv
        import io

        response = client.get("/api/figures/", {"company": "bitmain", "metric": "revenue", "format": "csv"})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
        assert sorted(row["as_reported"] for row in rows) == [
            "$1.082 billion",
            "$253 million",
            "$253 million",
            "$579 million",
        ]
        assert {row["company"] for row in rows} == {"bitmain"}

    def test_an_error_asked_for_as_csv_is_still_json(self, client):
        response = client.get("/api/figures/", {"value__gte": "abc", "format": "csv"})
        assert response.status_code == 400
        assert response["Content-Type"] == "application/json"
        assert "value__gte" in response.json()

    def test_a_records_own_address_is_not_narrowed_by_list_filters(self, client):
        figure = Figure.objects.get(article__slug="bitmain-q1-2019-loss", key="q1-2019-net-loss")
        response = client.get(f"/api/figures/{figure.pk}/", {"company": "canaan"})
        assert response.status_code == 200
        assert response.json()["company"] == "bitmain"


def test_an_editor_corrects_the_auradine_translation_error_and_a_reload_keeps_it(curated, editor):
    figure = Figure.objects.get(as_reported="$ 8 million", article__slug="bitmain-made-in-usa-threat-2024")
    note = "Translation error: other reports of the same Bloomberg story say $80 million."
    response = token_client(editor).patch(
        f"/api/figures/{figure.pk}/",
        {"status": "corrected", "value": "80000000", "note": note, "change_reason": "Bloomberg's original"},
        format="json",
        HTTP_IF_MATCH=f'"{figure.version}"',
    )
    assert response.status_code == 200, response.content
    fixtures_load(paths=[FIXTURES_DIR])
    shown = APIClient().get(f"/api/figures/{figure.pk}/").json()
    assert (Decimal(shown["value"]), shown["status"], shown["reviewed_by"]) == (
        Decimal(80000000),
        "corrected",
        f"editor-{editor.pk}",  # anonymous readers see no username
    )
    assert shown["as_reported"] == "$ 8 million"
    assert datetime.datetime.fromisoformat(shown["reviewed_at"].replace("Z", "+00:00")).date() == datetime.date.today()
    newest = APIClient().get(f"/api/figures/{figure.pk}/history/").json()[0]
    assert (newest["user"], newest["reason"]) == (f"editor-{editor.pk}", "Bloomberg's original")
    assert {c["field"]: (c["old"], c["new"]) for c in newest["changes"]}["value"] == (
        "8000000.000000",
        "80000000.000000",
    )
