"""/api/companies/: companies with their aliases and how many articles, events and figures involve them."""

import pytest

from articles.api.serializers import CHANGE_REASON_MAX_LENGTH
from articles.models import Alias, Company

from .base import APIViewTestCases, history_of, make_article, make_company, make_event, make_figure, token_client


class TestCompanyAPI(APIViewTestCases.APIViewTestCase):
    model = Company
    compared_fields = ("slug", "name", "aliases", "kind", "country", "founded_year", "parent", "description")

    def make_objects(self):
        acme = make_company("acme", name="Acme Mining", kind="hardware_maker", country="US", aliases=("Acme",))
        borealis = make_company("borealis", name="Borealis Hashing", kind="miner", country="CA")
        return [acme, borealis, make_company("acme-delaware", name="Acme Delaware", parent=acme)]

    def create_data(self, objects):
        return [
            {"slug": "canaan", "name": "Canaan", "kind": "hardware_maker", "country": "CN", "founded_year": 2013},
            {"slug": "canaan-us", "name": "Canaan US", "parent": "canaan", "aliases": ["Canaan Inc.", "Cannan"]},
        ]

    def update_data(self):
        return {"name": "Acme Mining Inc.", "founded_year": 2015, "aliases": ["Acme", "Acme Corp"]}


@pytest.fixture
def acme(db):
    return make_company("acme", name="Acme Mining", aliases=("Acme", "Akme Minning"))


def test_a_company_shows_how_many_articles_events_and_figures_involve_it(acme, client):
    other = make_company("borealis")
    article = make_article("story", companies=(acme, other))
    make_article("other-story", companies=(other,))
    make_event(article, "sale", participants=((acme, "subject"), (acme, "supplier"), (other, "customer")))
    make_event(article, "revenue", participants=((acme, "subject"),))
    make_figure(article, "revenue", company=acme)
    shown = client.get("/api/companies/acme/").json()
    assert (shown["article_count"], shown["event_count"], shown["figure_count"]) == (1, 2, 1)
    listed = {c["slug"]: c for c in client.get("/api/companies/").json()["results"]}
    assert (listed["borealis"]["article_count"], listed["borealis"]["event_count"]) == (2, 1)
    assert listed["borealis"]["figure_count"] == 0


def test_writing_the_aliases_replaces_them_and_keeps_the_notes_of_those_kept(acme, editor):
    Alias.objects.filter(name="Akme Minning").update(garbled=True, note="garble in a 2019 story")
    response = token_client(editor).patch(
        "/api/companies/acme/", {"aliases": ["Akme Minning", "Acme Corp"]}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["aliases"] == [
        {"name": "Acme Corp", "garbled": False, "note": ""},
        {"name": "Akme Minning", "garbled": True, "note": "garble in a 2019 story"},
    ]
    kept = Alias.objects.get(company=acme, name="Akme Minning")
    assert (kept.garbled, kept.note) == (True, "garble in a 2019 story")
    assert not Alias.objects.filter(name="Acme").exists()
    newest = acme.history.latest("history_id")
    assert newest.history_user.username == "editor"
    assert [alias["name"] for alias in newest.lists["aliases"]] == ["Acme Corp", "Akme Minning"]


def test_an_alias_listed_twice_is_a_400_naming_aliases(acme, editor):
    response = token_client(editor).patch("/api/companies/acme/", {"aliases": ["X", "X"]}, format="json")
    assert response.status_code == 400
    assert "aliases" in response.json()


def test_a_company_that_figures_still_refer_to_cannot_be_deleted(acme, editor):
    make_figure(make_article("story"), "revenue", company=acme)
    response = token_client(editor).delete("/api/companies/acme/")
    assert response.status_code == 409
    assert "figures" in response.json()["detail"]
    assert Company.objects.filter(slug="acme").exists()


def test_a_company_cannot_be_its_own_parent(acme, editor):
    response = token_client(editor).patch("/api/companies/acme/", {"parent": "acme"}, format="json")
    assert response.status_code == 400
    assert "parent" in response.json()


def test_a_bad_country_code_is_a_400_naming_country(acme, editor):
    response = token_client(editor).patch("/api/companies/acme/", {"country": "us"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["country"]


def test_a_duplicate_slug_is_a_400_naming_slug(acme, editor):
    response = token_client(editor).post("/api/companies/", {"slug": "acme", "name": "Another"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["slug"]


def test_a_change_reason_longer_than_history_can_keep_is_a_400(acme, editor):
    response = token_client(editor).patch(
        "/api/companies/acme/", {"name": "A", "change_reason": "x" * (CHANGE_REASON_MAX_LENGTH + 1)}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["change_reason"]
    assert [entry["type"] for entry in history_of(acme)] == ["created"]
