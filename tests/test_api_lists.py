"""List pages at any depth and whole-list exports, through HTTP.

- A list row (read with ``.values()``, see ``articles/api/rows.py``) is exactly what the resource's serializer
  gives for the same record: every record of the curated data is compared field by field.
- A cursor walk (forwards, then back) visits every record once, in the order an offset walk does, for the default
  order and for orderings on empty-able values; a bad or foreign cursor is a 400 naming it.
- The count is exact up to the cap and says so when it is not.
- ``format=csv`` and ``format=jsonl`` stream every row of the filtered list (no page, no 1,000 cap) with the
  resource's fixed columns, a header even when nothing matches, and a download file name.
"""

import csv
import datetime
import io
import json

import pytest
from django.db import connection
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from articles.api import pagination
from articles.api.serializers import (
    ArticleSerializer,
    CompanySerializer,
    EventSerializer,
    FigureSerializer,
    PersonSerializer,
)
from articles.api.views import CompanyViewSet, PersonViewSet
from articles.models import Article, Company, Event, Figure, Person

from .base import every_page, make_article, make_company, make_event, make_figure, make_person

RESOURCES = {
    "articles": (Article, ArticleSerializer),
    "companies": (Company, CompanySerializer),
    "people": (Person, PersonSerializer),
    "events": (Event, EventSerializer),
    "figures": (Figure, FigureSerializer),
}
LOOKUP = {"articles": "slug", "companies": "slug", "people": "slug", "events": "id", "figures": "id"}


def streamed(response) -> str:
    return b"".join(response.streaming_content).decode()


@pytest.mark.django_db
class TestListRowsAreTheSerializersOutput:
    @pytest.mark.parametrize("resource", RESOURCES)
    def test_every_curated_row_equals_its_detail_serialization(self, client, curated_readonly, resource):
        model, serializer_class = RESOURCES[resource]
        rows = every_page(client, f"/api/{resource}/?limit=1000")
        assert len(rows) == model.objects.count() > 0
        # The serializer, on the list's own queryset (annotations and prefetches), for the same request.
        view = {"companies": CompanyViewSet, "people": PersonViewSet}.get(resource)
        queryset = view.queryset if view else model.objects.all()
        request = APIRequestFactory().get(f"/api/{resource}/")
        context = {"request": Request(request)}
        expected = {
            record.pk: dict(serializer_class(record, context=context).data) for record in queryset.order_by("pk")
        }
        for row in rows:
            want = expected[row["id"]]
            # The list serializer (not the detail one) names the same fields in the same order.
            assert list(row) == list(want), resource
            assert row == want, (resource, row["id"])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("stored", "written"),
    [
        (datetime.datetime(2024, 1, 1, 9, 30, tzinfo=datetime.UTC), "2024-01-01T09:30:00Z"),
        (datetime.datetime(2024, 1, 1, 9, 30, 5, 500, tzinfo=datetime.UTC), "2024-01-01T09:30:05.000500Z"),
        (datetime.datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=datetime.UTC), "0999-12-31T23:59:59.999999Z"),
    ],
)
def test_a_list_writes_timestamps_as_the_serializer_does(client, stored, written):
    """Lists read timestamps as text PostgreSQL writes (``rows.UtcText``), and SQLite's as datetimes: the same
    text either way, with or without microseconds."""
    figure = make_figure(make_article("stamps", companies=[make_company("acme")]), "f")
    Figure.objects.filter(pk=figure.pk).update(created_at=stored, updated_at=stored, reviewed_at=stored)
    [row] = client.get("/api/figures/").json()["results"]
    assert row["created_at"] == row["updated_at"] == row["reviewed_at"] == written
    figure.refresh_from_db()
    request = Request(APIRequestFactory().get("/api/figures/"))
    assert row == dict(FigureSerializer(figure, context={"request": request}).data)
    jsonl = json.loads(streamed(client.get("/api/figures/", {"format": "jsonl"})))
    assert jsonl["created_at"] == written


@pytest.mark.django_db
class TestCursorPages:
    ORDERINGS = {
        "figures": ["", "-value", "value", "period_start,-value", "-created_at"],
        "events": ["", "-date", "type,-date"],
        "articles": ["", "published_on", "title"],
        "companies": ["", "-founded_year", "founded_year", "-article_count"],
        "people": ["", "-name"],
    }

    @pytest.mark.parametrize(
        ("resource", "ordering"), [(r, o) for r, orderings in ORDERINGS.items() for o in orderings]
    )
    def test_a_cursor_walk_visits_every_record_once_in_the_offset_order(
        self, client, curated_readonly, resource, ordering
    ):
        query = f"ordering={ordering}&" if ordering else ""
        by_offset = [row["id"] for row in every_page(client, f"/api/{resource}/?{query}limit=7")]
        first = client.get(f"/api/{resource}/?{query}limit=7&cursor=").json()
        assert first["previous"] is None and "count" not in first
        forwards, page, pages = [], first, [first]
        forwards.extend(row["id"] for row in first["results"])
        while page["next"]:
            page = client.get(page["next"]).json()
            pages.append(page)
            forwards.extend(row["id"] for row in page["results"])
        assert forwards == by_offset
        assert len(set(forwards)) == len(forwards) == RESOURCES[resource][0].objects.count()
        # Back from the last page: each previous page is the page before it.
        for before, current in zip(reversed(pages[:-1]), reversed(pages[1:]), strict=True):
            assert current["previous"], "a page reached by a cursor links back"
            back = client.get(current["previous"]).json()
            assert [r["id"] for r in back["results"]] == [r["id"] for r in before["results"]]

    def test_filters_and_the_page_size_carry_over_to_the_next_link(self, client, curated_readonly):
        first = client.get("/api/figures/?company=bitmain&limit=2&cursor=").json()
        assert "company=bitmain" in first["next"] and "limit=2" in first["next"]
        rows = every_page(client, "/api/figures/?company=bitmain&limit=2&cursor=")
        assert {row["company"] for row in rows} == {"bitmain"}
        assert len(rows) == Figure.objects.filter(company__slug="bitmain").count()

    @pytest.mark.parametrize("cursor", ["nonsense", "e30", "eyJvIjoxfQ", "%00", "x" * 500])
    def test_a_bad_cursor_is_a_400_naming_it(self, client, curated_readonly, cursor):
        response = client.get("/api/figures/", {"cursor": cursor})
        assert response.status_code == 400
        assert "cursor" in response.json()

    def test_a_cursor_made_for_another_ordering_is_a_400(self, client, curated_readonly):
        next_link = client.get("/api/figures/?limit=2&cursor=").json()["next"]
        response = client.get(next_link + "&ordering=-value")
        assert response.status_code == 400
        assert "another ordering" in response.json()["cursor"][0]

    def test_a_cursor_and_an_offset_together_are_a_400(self, client, curated_readonly):
        response = client.get("/api/figures/", {"cursor": "", "offset": "5"})
        assert response.status_code == 400
        assert "offset" in response.json()


@pytest.mark.django_db
class TestCounts:
    def test_the_count_is_exact_below_the_cap_and_a_lower_bound_above_it(self, client, curated_readonly, monkeypatch):
        total = Figure.objects.count()
        body = client.get("/api/figures/", {"limit": 5}).json()
        assert (body["count"], body["count_exact"]) == (total, True)
        monkeypatch.setattr(pagination, "COUNT_CAP", 10)
        body = client.get("/api/figures/", {"limit": 5}).json()
        assert (body["count"], body["count_exact"]) == (10, False)
        assert body["next"]
        # The last page knows the exact count without counting.
        body = client.get("/api/figures/", {"limit": 5, "offset": total - 3}).json()
        assert (body["count"], body["count_exact"], len(body["results"])) == (total, True, 3)
        assert body["next"] is None

    def test_an_offset_past_the_end_still_counts(self, client, curated_readonly):
        body = client.get("/api/figures/", {"offset": 100_000}).json()
        assert (body["count"], body["count_exact"], body["results"]) == (Figure.objects.count(), True, [])


@pytest.fixture
def stored_count_data(db):
    """Acme in articles, events (in two roles of one event) and figures, with proposals and rejected proposals
    (``dismissed``) that no public list shows and a figure an editor rejected, which lists do show; Bolt beside
    it; Ada in two articles and two events."""
    acme, bolt = make_company("acme"), make_company("bolt")
    ada = make_person("ada-lovelace")
    articles = [make_article(f"story-{i}", companies=(acme,) if i % 3 else (acme, bolt)) for i in range(7)]
    for article in articles[:2]:
        article.people.set([ada])
        make_event(article, "talk", participants=((ada, "speaker"), (ada, "analyst")))
    for i, article in enumerate(articles):
        make_event(article, "deal", participants=((acme, "customer"), (acme, "supplier"), (bolt, "supplier")))
        make_event(
            article,
            "other",
            date="2021-01-01",
            participants=((acme, "customer"),),
            status="proposed" if i == 1 else "dismissed" if i == 2 else "reported",
        )
        make_figure(article, "revenue", company=acme, status="proposed" if i == 3 else "reported")
        make_figure(article, "loss", company=acme, status={4: "rejected", 5: "dismissed"}.get(i, "verified"))
        make_figure(article, "bolt-revenue", company=bolt)
    return acme, ada


STORED = [
    ("events", {"company": "acme"}),
    ("events", {"person": "ada-lovelace"}),
    ("figures", {"company": "acme"}),
    ("articles", {"company": "acme"}),
    ("articles", {"person": "ada-lovelace"}),
]


class TestStoredCounts:
    """A list filtered by one company or person alone reads its count from the counts the database keeps
    (``BaseFilterSet.stored_count``): the same number counting gives, exact beyond the cap, one key lookup."""

    @pytest.mark.parametrize(("resource", "params"), STORED)
    def test_the_stored_count_is_the_lists_own_beyond_the_cap(
        self, client, stored_count_data, monkeypatch, resource, params
    ):
        everything = client.get(f"/api/{resource}/", {**params, "limit": 1000}).json()
        assert (everything["count"], everything["count_exact"]) == (len(everything["results"]), True)
        monkeypatch.setattr(pagination, "COUNT_CAP", 1)
        body = client.get(f"/api/{resource}/", {**params, "limit": 1}).json()
        assert (body["count"], body["count_exact"]) == (len(everything["results"]), True)
        assert body["next"]

    def test_the_numbers_leave_out_proposals_and_count_each_event_once(self, client, stored_count_data):
        def count(resource, **params):
            return client.get(f"/api/{resource}/", {**params, "limit": 1}).json()["count"]

        # 7 deals (acme in two roles each) and 5 other events of 7 (one proposed, one a rejected proposal).
        assert count("events", company="acme") == 12
        # 6 revenues of 7 (one proposed), 6 losses of 7 (one a rejected proposal; the one an editor rejected shows).
        assert count("figures", company="acme") == 12
        assert count("articles", company="acme") == 7
        assert (count("events", person="ada-lovelace"), count("articles", person="ada-lovelace")) == (2, 2)

    def test_only_a_list_filtered_by_one_of_them_alone_reads_it(
        self, client, stored_count_data, monkeypatch, django_assert_num_queries
    ):
        acme, _ = stored_count_data
        monkeypatch.setattr(pagination, "COUNT_CAP", 1)
        stored = client.get("/api/events/", {"company_id": acme.pk, "limit": 1}).json()
        assert (stored["count"], stored["count_exact"]) == (12, True)
        # Any other filter (even an ordering does not), two companies, a role: counted, so capped here.
        for params in (
            {"company": "acme", "type": "other"},
            {"company": ["acme", "bolt"]},
            {"company": "acme", "role": "customer"},
        ):
            body = client.get("/api/events/", {**params, "limit": 1}).json()
            assert (body["count"], body["count_exact"]) == (2, False), params  # the page and a next one
        ordered = client.get("/api/events/", {"company": "acme", "ordering": "-date", "limit": 1}).json()
        assert (ordered["count"], ordered["count_exact"]) == (12, True)
        with django_assert_num_queries(4) as queries:  # the slug, the page, its participants, the stored count
            client.get("/api/events/", {"company": "acme", "limit": 1})
        assert "articles_company_counts" in queries.captured_queries[-1]["sql"]
        assert not any("COUNT(" in query["sql"] for query in queries.captured_queries)

    def test_an_editor_listing_proposals_gets_them_counted(self, client, stored_count_data, editor, monkeypatch):
        client.force_login(editor)
        body = client.get("/api/events/", {"company": "acme", "status": "proposed", "limit": 1}).json()
        assert (body["count"], body["count_exact"]) == (1, True)  # counted: one page, not full
        monkeypatch.setattr(pagination, "COUNT_CAP", 1)
        # Asking by status is a second filter; without it an editor's list is the public one, stored count and all.
        body = client.get("/api/events/", {"company": "acme", "limit": 1}).json()
        assert (body["count"], body["count_exact"]) == (12, True)


@pytest.mark.django_db
class TestExports:
    def test_a_csv_export_holds_every_row_beyond_a_page_and_the_1000_cap(self, client):
        article = make_article("story", body="Revenue was $5 million.")
        acme = make_company("acme")
        Figure.objects.bulk_create(
            Figure(
                article=article,
                key=f"figure-{i:04}",
                company=acme,
                metric="revenue",
                value=5_000_000,
                unit="USD",
                as_reported="$5 million",
                quote="Revenue was $5 million.",
                quote_start=0,
                quote_end=23,
            )
            for i in range(1205)
        )
        response = client.get("/api/figures/", {"format": "csv", "company": "acme"})
        assert response.status_code == 200
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert response["Content-Disposition"].startswith('attachment; filename="newsdb-figures-')
        assert response["Content-Disposition"].endswith('.csv"')
        rows = list(csv.DictReader(io.StringIO(streamed(response))))
        assert len(rows) == 1205
        assert [row["key"] for row in rows] == [f"figure-{i:04}" for i in range(1205)]
        assert rows[0]["api_url"].endswith(f"/api/figures/{rows[0]['id']}/")
        # A limit cuts a slice, as on a page, but is not capped at 1,000.
        sliced = list(csv.DictReader(io.StringIO(streamed(client.get("/api/figures/?format=csv&limit=1100")))))
        assert len(sliced) == 1100

    @pytest.mark.parametrize("resource", RESOURCES)
    def test_columns_are_the_resources_whatever_the_rows_hold(self, client, curated_readonly, resource):
        model, serializer_class = RESOURCES[resource]
        header = next(csv.reader(io.StringIO(streamed(client.get(f"/api/{resource}/?format=csv")))))
        fields = [name for name, field in serializer_class().fields.items() if not field.write_only]
        assert header == fields
        # Nothing matches: still the header.
        empty = streamed(client.get(f"/api/{resource}/?format=csv&created_at__lte=2000-01-01T00:00Z"))
        assert empty.splitlines() == [",".join(fields)]

    @pytest.mark.parametrize("resource", RESOURCES)
    def test_jsonl_is_every_row_of_the_list_one_per_line(self, client, curated_readonly, resource):
        response = client.get(f"/api/{resource}/", {"format": "jsonl"})
        assert response.status_code == 200
        assert response["Content-Type"] == "application/jsonl"
        lines = streamed(response).splitlines()
        assert [json.loads(line) for line in lines] == every_page(client, f"/api/{resource}/?limit=1000")
        assert "format=" not in lines[0]

    def test_event_participants_and_article_mentions_fill_one_cell(self, client, curated_readonly):
        rows = list(csv.DictReader(io.StringIO(streamed(client.get("/api/events/?format=csv&company=bitmain")))))
        assert rows and all("bitmain (" in row["participants"] for row in rows)
        articles = list(csv.DictReader(io.StringIO(streamed(client.get("/api/articles/?format=csv")))))
        assert all("bitmain" in row["companies"].split("; ") for row in articles if "bitmain" in row["companies"])

    def test_an_export_refuses_a_cursor_and_bad_filters_in_json(self, client, curated_readonly):
        response = client.get("/api/figures/", {"format": "jsonl", "cursor": "bm90LWEtY3Vyc29y"})
        assert response.status_code == 400 and "cursor" in response.json()
        # An empty cursor is the start of the list, where an export starts anyway.
        assert client.get("/api/figures/", {"format": "jsonl", "cursor": ""}).status_code == 200
        response = client.get("/api/figures/", {"format": "jsonl", "value__gte": "abc"})
        assert response.status_code == 400
        assert response["Content-Type"] == "application/json"
        assert "value__gte" in response.json()

    def test_an_export_reads_its_rows_in_a_few_queries_per_chunk(self, client, django_assert_max_num_queries):
        make_figure(make_article("story"), "figure", company=make_company("acme"))
        with django_assert_max_num_queries(2):
            response = client.get("/api/events/?format=jsonl")
            streamed(response)


# -- Exports behind PgBouncer --------------------------------------------------------------------------------------


def server_cursors() -> list[tuple[bool]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT is_holdable FROM pg_cursors")
        return cursor.fetchall()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="server-side cursors are PostgreSQL's")
@pytest.mark.django_db(transaction=True)  # autocommit, as a request is served
@pytest.mark.parametrize("pgbouncer", [False, True], ids=["direct", "pgbouncer"])
def test_an_export_reads_through_a_server_side_cursor_that_a_pooler_keeps(pgbouncer, settings, monkeypatch):
    """Behind PgBouncer in transaction mode a cursor must not outlive its transaction (the next one may run on
    another server connection), so the export reads in one, with a cursor WITHOUT HOLD; connected directly, it is
    read outside one (``rows.Rows.stream``). Either way the rows stay on the server, read a chunk at a time
    (without server-side cursors, an export of 200,000 figures took a worker from 78 to 467 MB)."""
    from articles.api import rows as rows_module

    real = rows_module.Rows.stream
    monkeypatch.setattr(rows_module.Rows, "stream", lambda self, qs, request: real(self, qs, request, chunk_size=2))
    settings.DATABASE_PGBOUNCER = pgbouncer
    article = make_article("pooled-story")
    for n in range(5):
        make_figure(article, f"revenue-{n}")
    client = APIClient()

    response = client.get("/api/figures/", {"format": "jsonl"})
    lines = iter(response.streaming_content)
    first = next(lines)
    assert server_cursors() == [(not pgbouncer,)]  # one cursor on the server: WITH HOLD only when connected directly
    assert connection.in_atomic_block is pgbouncer
    rest = list(lines)
    response.close()
    assert len([first, *rest]) == 5
    assert (server_cursors(), connection.in_atomic_block) == ([], False)

    response = client.get("/api/figures/", {"format": "jsonl"})  # a client that leaves after the first row
    next(iter(response.streaming_content))
    response.close()
    assert (server_cursors(), connection.in_atomic_block) == ([], False)
