"""The change feed: ``?updated_since=`` on every list and the tombstones at ``/api/deletions/?since=`` are enough
for a client to mirror newsdb incrementally (read everything once, then only what changed)."""

import datetime

import pytest
from django.db import connection
from django.db.models import ProtectedError
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from articles.models import Article, Company, Deletion, Event, Figure, Person
from articles.services.articles import article_delete
from articles.services.base import StaleWriteError
from articles.services.companies import company_delete
from articles.services.events import event_delete
from articles.services.figures import figure_delete

from .base import (
    FUNDING_QUOTE,
    HEARING_QUOTE,
    PRICE_QUOTE,
    SALE_QUOTE,
    make_article,
    make_company,
    make_event,
    make_figure,
    make_person,
    token_client,
)

LISTS = {"articles": Article, "companies": Company, "people": Person, "events": Event, "figures": Figure}
TYPES = {"article": "articles", "company": "companies", "person": "people", "event": "events", "figure": "figures"}
# Counts derived from other records: no record changes when they do, so a mirror recomputes them itself.
DERIVED = {"article_count", "event_count", "figure_count"}


def read_all(client: APIClient, path: str, **params) -> list[dict]:
    """Every record of a list, following its pages."""
    response = client.get(path, {**params, "limit": 2})
    records = []
    while True:
        assert response.status_code == 200, response.content
        page = response.json()
        records += page["results"]
        if not page["next"]:
            return records
        response = client.get(page["next"])


def by_id(records: list[dict]) -> dict[int, dict]:
    return {record["id"]: {k: v for k, v in record.items() if k not in DERIVED} for record in records}


def mirror_read(client: APIClient, **params) -> dict[str, dict[int, dict]]:
    return {name: by_id(read_all(client, f"/api/{name}/", **params)) for name in LISTS}


@pytest.fixture
def world(db) -> dict:
    """Two articles, their companies, people, events and figures, all last changed a day ago; Borealis exists
    twice (``borealis-dup``), as the press spells it two ways."""
    acme = make_company("acme-mining")
    borealis = make_company("borealis-hashing")
    dup = make_company("borealis-dup", name="Borealis Hashing Ltd")
    jane = make_person("jane-roe", affiliation=acme)
    john = make_person("john-doe", affiliation=dup)
    story = make_article("acme-2023", companies=(acme, dup), people=(jane,))
    prices = make_article("hash-prices-2022", companies=(acme,))
    world = {
        "acme": acme,
        "borealis": borealis,
        "dup": dup,
        "jane": jane,
        "john": john,
        "story": story,
        "prices": prices,
        "hearing": make_event(story, "hearing", quote=HEARING_QUOTE, participants=((jane, "speaker"),)),
        "sale": make_event(story, "sale", quote=SALE_QUOTE, participants=((acme, "supplier"), (dup, "customer"))),
        "revenue": make_figure(story, "revenue", company=acme),
        "funding": make_figure(
            story,
            "funding",
            company=borealis,
            metric="funding_raised",
            as_reported="$20 million",
            value=20000000,
            quote=FUNDING_QUOTE,
        ),
        "price-drop": make_event(prices, "price-drop", quote=PRICE_QUOTE),
        "price": make_figure(
            prices, "price", metric="price_change", as_reported="12%", value=12, unit="percent", quote=PRICE_QUOTE
        ),
    }
    a_day_ago = timezone.now() - datetime.timedelta(days=1)
    for model in LISTS.values():
        model.objects.update(updated_at=a_day_ago)
    return world


def test_a_mirror_catches_up_with_updated_since_and_the_deletions(world, editor, editor_client):
    reader = APIClient()
    mirror = mirror_read(reader)
    assert read_all(reader, "/api/deletions/") == []
    last_sync = timezone.now()

    # An editor corrects one figure, deletes another, deletes an article and merges a duplicate company.
    editor_api = token_client(editor)
    revenue, funding = world["revenue"], world["funding"]
    response = editor_api.patch(f"/api/figures/{revenue.pk}/", {"status": "verified"}, format="json")
    assert response.status_code == 200, response.content
    response = editor_api.delete(f"/api/figures/{funding.pk}/", {"change_reason": "Not in the story"}, format="json")
    assert response.status_code == 204, response.content
    assert editor_api.delete("/api/articles/hash-prices-2022/").status_code == 204
    merge = {
        "action": "merge_companies",
        "_selected_action": [world["borealis"].pk, world["dup"].pk],
        "apply": "yes",
        "survivor": world["borealis"].pk,
        "reason": "Same company",
    }
    assert editor_client.post(reverse("admin:articles_company_changelist"), merge).status_code == 302

    since = {"updated_since": last_sync.isoformat()}
    changed = mirror_read(reader, **since)
    assert {name: {r.get("slug") or r.get("key") for r in records.values()} for name, records in changed.items()} == {
        "articles": {"acme-2023"},  # it mentioned the duplicate
        "companies": {"borealis-hashing"},  # the survivor, with the duplicate's name as an alias
        "people": {"john-doe"},  # was affiliated with the duplicate
        "events": {"sale"},  # the duplicate took part in it
        "figures": {"revenue"},  # verified
    }
    deletions = read_all(reader, "/api/deletions/", since=last_sync.isoformat())
    assert [(d["type"], d["slug"], d["article"], d["key"], d["replaced_by"]) for d in deletions] == [
        ("figure", None, "acme-2023", "funding", None),
        ("event", None, "hash-prices-2022", "price-drop", None),
        ("figure", None, "hash-prices-2022", "price", None),
        ("article", "hash-prices-2022", None, None, None),
        ("company", "borealis-dup", None, None, "borealis-hashing"),
    ]
    assert deletions[0]["record_id"] == funding.pk
    # An anonymous reader sees the editor's public name, not the username.
    assert (deletions[0]["user"], deletions[0]["reason"]) == (f"editor-{editor.pk}", "Not in the story")
    assert deletions[-1]["reason"] == "Merged into borealis-hashing: Same company"
    assert reader.get(deletions[0]["history_url"]).json()[0]["type"] == "deleted"

    # Applied to the mirror (deletions first, so that a slug reused by a new record never collides), the
    # changes make it what a full read now gives.
    for deletion in deletions:
        del mirror[TYPES[deletion["type"]]][deletion["record_id"]]
    for name, records in changed.items():
        mirror[name].update(records)
    assert mirror == mirror_read(reader)


def just_after(shown: str) -> str:
    return (datetime.datetime.fromisoformat(shown) + datetime.timedelta(microseconds=1)).isoformat()


def test_updated_since_and_since_include_the_time_given_as_the_api_shows_it(world, editor):
    """A client can resume from the last time it saw: the API's timestamps read back exactly."""
    figure_delete(figure=world["funding"], user=editor, reason="")
    client = APIClient()
    [deletion] = read_all(client, "/api/deletions/")
    assert read_all(client, "/api/deletions/", since=deletion["deleted_at"]) == [deletion]
    assert read_all(client, "/api/deletions/", since=just_after(deletion["deleted_at"])) == []

    revenue = client.get(f"/api/figures/{world['revenue'].pk}/").json()
    keys = {f["key"] for f in read_all(client, "/api/figures/", updated_since=revenue["updated_at"])}
    assert keys == {"revenue", "price"}  # the figures left, all last changed at the same time
    assert read_all(client, "/api/figures/", updated_since=just_after(revenue["updated_at"])) == []


def test_updated_since_is_on_every_list(world):
    client = APIClient()
    for name, model in LISTS.items():
        changed = model.objects.order_by("pk").first()
        model.objects.filter(pk=changed.pk).update(updated_at=timezone.now())
        since = (timezone.now() - datetime.timedelta(hours=1)).isoformat()
        assert [r["id"] for r in read_all(client, f"/api/{name}/", updated_since=since)] == [changed.pk], name


def test_lists_can_be_read_in_the_order_records_changed(world):
    client = APIClient()
    Figure.objects.filter(pk=world["revenue"].pk).update(updated_at=timezone.now())
    for name in LISTS:
        records = read_all(client, f"/api/{name}/", ordering="updated_at")
        assert [r["updated_at"] for r in records] == sorted(r["updated_at"] for r in records), name
    assert read_all(client, "/api/figures/", ordering="updated_at")[-1]["key"] == "revenue"


def test_deletions_filter_by_type(world, editor):
    article_delete(article=world["prices"], user=editor, reason="")
    client = APIClient()
    assert [d["key"] for d in read_all(client, "/api/deletions/", type="figure")] == ["price"]
    kinds = [d["type"] for d in read_all(client, "/api/deletions/", type=["event", "article"])]
    assert kinds == ["event", "article"]


@pytest.mark.parametrize(
    ("path", "parameter"),
    [(f"/api/{name}/", "updated_since") for name in LISTS] + [("/api/deletions/", "since")],
)
@pytest.mark.parametrize("value", ["yesterday", "2024-13-01T00:00:00Z", "0001-01-01T00:00:00+05:00"])
def test_a_bad_time_is_a_400_naming_the_parameter(db, path, parameter, value):
    response = APIClient().get(path, {parameter: value})
    assert response.status_code == 400
    assert list(response.json()) == [parameter]


def test_an_unknown_type_is_a_400_naming_it(db):
    response = APIClient().get("/api/deletions/", {"type": "alias"})
    assert response.status_code == 400
    assert list(response.json()) == ["type"]


def test_the_deletions_take_the_same_queries_however_many_there_are(world, editor, django_assert_max_num_queries):
    def feed_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert APIClient().get("/api/deletions/").status_code == 200
        return len(queries)

    figure_delete(figure=world["funding"], user=editor, reason="")
    one = feed_queries()
    article_delete(article=world["prices"], user=editor, reason="")
    article_delete(article=world["story"], user=None, reason="")
    assert Deletion.objects.count() == 8
    assert feed_queries() == one
    with django_assert_max_num_queries(2):  # the count and the page, users joined
        APIClient().get("/api/deletions/")


def test_deleting_an_article_deletes_its_events_and_figures_with_tombstones_in_a_fixed_number_of_queries(world, editor):
    story = world["story"]
    for n in range(6):
        make_figure(story, f"extra-{n}", company=world["acme"])
    with CaptureQueriesContext(connection) as queries:
        article_delete(article=story, user=editor, reason="Retracted")
    few = len(queries)
    for n in range(6):
        make_figure(world["prices"], f"extra-{n}", quote=PRICE_QUOTE, as_reported="12%", value=12, unit="percent")
    for n in range(6):
        make_event(world["prices"], f"extra-{n}", quote=PRICE_QUOTE)
    with CaptureQueriesContext(connection) as queries:
        article_delete(article=world["prices"], user=editor, reason="Retracted")
    assert len(queries) <= few
    gone = Deletion.objects.filter(article_slug="acme-2023")
    assert sorted(gone.values_list("key", flat=True)) == sorted(
        ["hearing", "sale", "revenue", "funding", *(f"extra-{n}" for n in range(6))]
    )
    assert set(gone.values_list("reason", "user__username").distinct()) == {("Retracted", "editor")}
    assert not Event.objects.exists()
    assert not Figure.objects.exists()


def test_deleting_a_company_changes_what_referred_to_it_in_the_feed(world, editor):
    """The database would clear a person's affiliation, a subsidiary's parent and an article's mention silently;
    the delete service changes them itself, each with a new version, so that mirrors see it."""
    make_company("borealis-mining", parent=world["dup"])
    Company.objects.update(updated_at=timezone.now() - datetime.timedelta(days=1))
    event_delete(event=world["sale"], user=editor, reason="")  # it names borealis-dup, which protects it
    last_sync = timezone.now()
    company_delete(company=world["dup"], user=editor, reason="Not a company")

    client = APIClient()
    since = {"updated_since": last_sync.isoformat()}
    assert [(p["slug"], p["affiliation"]) for p in read_all(client, "/api/people/", **since)] == [("john-doe", None)]
    assert [(c["slug"], c["parent"]) for c in read_all(client, "/api/companies/", **since)] == [
        ("borealis-mining", None)
    ]
    assert [(a["slug"], a["companies"]) for a in read_all(client, "/api/articles/", **since)] == [
        ("acme-2023", ["acme-mining"])
    ]
    entry = client.get("/api/people/john-doe/history/").json()[0]
    assert (entry["user"], entry["reason"]) == (f"editor-{editor.pk}", "Company borealis-dup deleted: Not a company")
    assert [(d["type"], d["slug"]) for d in read_all(client, "/api/deletions/", type="company")] == [
        ("company", "borealis-dup")
    ]


def test_a_refused_delete_writes_no_tombstone_and_changes_nothing(world, editor):
    john_version = Person.objects.get(slug="john-doe").version
    with pytest.raises(ProtectedError):  # "sale" still names borealis-dup as a participant
        company_delete(company=world["dup"], user=editor, reason="")
    with pytest.raises(StaleWriteError):
        figure_delete(figure=world["revenue"], user=editor, reason="", expected_version=world["revenue"].version + 1)
    with pytest.raises(StaleWriteError):
        article_delete(article=world["story"], user=editor, reason="", expected_version=world["story"].version + 1)
    assert not Deletion.objects.exists()
    assert Person.objects.get(slug="john-doe").affiliation == world["dup"]
    assert Person.objects.get(slug="john-doe").version == john_version
    assert Figure.objects.count() == 3
    assert Event.objects.count() == 3


def test_the_admin_delete_selected_action_writes_tombstones(world, editor_client):
    figures = [world["revenue"], world["price"]]
    data = {"action": "delete_selected", "_selected_action": [f.pk for f in figures], "post": "yes"}
    response = editor_client.post(reverse("admin:articles_figure_changelist"), data)
    assert response.status_code == 302
    gone = Deletion.objects.order_by("record_id")
    assert [(d.type, d.record_id, d.user.username) for d in gone] == [
        ("figure", f.pk, "editor") for f in sorted(figures, key=lambda f: f.pk)
    ]
