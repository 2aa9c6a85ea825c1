"""/api/articles/: stories kept verbatim; the detail adds the body and what was curated from it."""

import datetime

import pytest

from articles.models import Article, Event, Figure

from .base import (
    BODY,
    APIViewTestCases,
    make_article,
    make_company,
    make_event,
    make_figure,
    make_person,
    token_client,
)


class TestArticleAPI(APIViewTestCases.APIViewTestCase):
    model = Article
    compared_fields = (
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
        "body",
        "notes",
    )

    def make_objects(self):
        press, acme, jane = make_company("press", kind="media"), make_company("acme"), make_person("jane-roe")
        return [
            make_article("acme-revenue", publisher=press, companies=(acme,), people=(jane,), authors=["A. Writer"]),
            make_article("acme-funding", publisher=press, published_on=datetime.date(2021, 6, 1)),
            make_article("rumours", published_on=datetime.date(2018, 9, 1), published_precision="month"),
        ]

    def create_data(self, objects):
        return [
            {
                "slug": "new-story",
                "title": "Acme sells machines",
                "publisher": "press",
                "authors": ["A. Writer", "B. Editor"],
                "published_on": "2024-08-01",
                "published_precision": "month",
                "url": "https://example.com/acme",
                "language": "en",
                "companies": ["acme"],
                "people": ["jane-roe"],
                "body": BODY,
            },
            {
                "slug": "anonymous-story",
                "title": "Rumours",
                "published_on": "2018-01-01",
                "published_precision": "year",
                "body": "Short.",
                "translated_from": "zh",
            },
        ]

    def update_data(self):
        return {"title": "Acme Mining reports revenue", "companies": [], "authors": ["C. Writer"]}


@pytest.fixture
def story(db):
    acme = make_company("acme")
    article = make_article("story", companies=(acme,), notes="Captured in 2024.")
    make_event(article, "revenue", participants=((acme, "subject"),))
    make_figure(article, "revenue", company=acme)
    return article


def test_the_list_leaves_the_body_out_and_the_detail_has_it_with_its_events_and_figures(story, client):
    listed = client.get("/api/articles/").json()["results"][0]
    assert "body" not in listed and "events" not in listed
    shown = client.get("/api/articles/story/").json()
    assert shown["body"] == BODY
    assert shown["notes"] == "Captured in 2024."
    assert [e["key"] for e in shown["events"]] == ["revenue"]
    assert shown["events"][0]["participants"] == [{"company": "acme", "person": None, "role": "subject"}]
    assert [(f["key"], f["value"], f["company"]) for f in shown["figures"]] == [("revenue", "1500000.000000", "acme")]


def test_an_article_names_the_companies_and_people_it_mentions_by_slug(db, client):
    make_article("story", companies=(make_company("acme"), make_company("borealis")), people=(make_person("jane"),))
    shown = client.get("/api/articles/story/").json()
    assert (sorted(shown["companies"]), shown["people"]) == (["acme", "borealis"], ["jane"])


def test_a_date_that_is_not_the_first_of_its_month_is_a_400_naming_published_on(story, editor):
    response = token_client(editor).patch(
        "/api/articles/story/", {"published_on": "2024-08-26", "published_precision": "month"}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["published_on"]


def test_an_article_date_is_never_known_to_the_quarter(story, editor):
    response = token_client(editor).patch("/api/articles/story/", {"published_precision": "quarter"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["published_precision"]


def test_a_blank_body_is_a_400_naming_body(story, editor):
    response = token_client(editor).patch("/api/articles/story/", {"body": "   "}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["body"]


def test_deleting_an_article_deletes_its_events_and_figures(story, editor):
    assert token_client(editor).delete("/api/articles/story/").status_code == 204
    assert (Event.objects.count(), Figure.objects.count()) == (0, 0)


def test_an_unknown_mentioned_company_is_a_400_naming_companies(story, editor):
    response = token_client(editor).patch("/api/articles/story/", {"companies": ["nobody"]}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["companies"]
