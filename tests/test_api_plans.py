"""Every ordering the lists offer: its ties broken by the columns of the index that serves it, the same order page
by page with a cursor, and (PostgreSQL) a page read from an index in either direction, never by sorting the
table. At 100,000 articles a sorted page took 85-320 ms; read from an index, 5-8 ms
(``tests/benchmarks/explain_lists.py --orderings`` shows each plan at that size). And the filters that read every
row without an index of their own (``author``, ``value_overlaps`` without a metric) can use one."""

import json

import pytest
from django.db import connection
from django.db.models import F
from rest_framework.test import APIClient

from articles.api.filtersets import ArticleFilterSet, EventFilterSet, FigureFilterSet
from articles.models import Event, Figure

from .base import every_page, indexes_read, make_article, make_figure, nodes, page_plan, sort_nodes

ALL = {"limit": 1000}
LARGE_LISTS = {"articles": ArticleFilterSet, "events": EventFilterSet, "figures": FigureFilterSet}


@pytest.fixture
def api():
    return APIClient()


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def ordered(queryset, *fields: str) -> list[int]:
    """The ids in the order of ``fields``, empty values last either way, as the API sorts them."""
    keys = [F(f[1:]).desc(nulls_last=True) if f.startswith("-") else F(f).asc(nulls_last=True) for f in fields]
    return list(queryset.order_by(*keys).values_list("id", flat=True))


def offered_orderings(resource: str) -> list[str]:
    return [
        f"{sign}{param}" for param in LARGE_LISTS[resource].base_filters["ordering"].param_map for sign in ("", "-")
    ]


class TestOrderings:
    @pytest.mark.parametrize(
        ("resource", "ordering", "model", "fields"),
        [
            # A field with few values is followed by the next column of its index, in its direction.
            ("events", "type", Event, ["type", "date", "id"]),
            ("events", "-type", Event, ["-type", "-date", "-id"]),
            ("figures", "metric", Figure, ["metric", "value", "id"]),
            ("figures", "-metric", Figure, ["-metric", "-value", "-id"]),
            ("figures", "period_start", Figure, ["period_start", "period_end", "id"]),
            ("figures", "-period_start", Figure, ["-period_start", "-period_end", "-id"]),
            # Any other field: by id, in the field's direction; empty values last either way.
            ("figures", "-period_end", Figure, ["-period_end", "-id"]),
            ("figures", "value_high", Figure, ["value_high", "id"]),
            ("figures", "-value_high", Figure, ["-value_high", "-id"]),
            ("figures", "-unit", Figure, ["-unit", "-id"]),
            # Fields named by the client come first, the ties after the last of them only.
            ("figures", "metric,-period_start", Figure, ["metric", "-period_start", "-period_end", "-id"]),
            ("figures", "-period_start,metric", Figure, ["-period_start", "metric", "value", "id"]),
            ("events", "type,title", Event, ["type", "title", "id"]),
        ],
    )
    def test_ties_are_broken_by_the_columns_of_the_fields_index(
        self, api, curated_readonly, resource, ordering, model, fields
    ):
        expected = ordered(model.objects.all(), *fields)
        assert ids(api.get(f"/api/{resource}/", {"ordering": ordering, **ALL})) == expected
        # The curated data has the ties these orderings break: by ascending id alone, the order would differ.
        by_id = [*ordering.split(","), "id"]
        assert fields == by_id or expected != ordered(model.objects.all(), *by_id)
        walked = [row["id"] for row in every_page(api, f"/api/{resource}/?ordering={ordering}&limit=9&cursor=")]
        assert walked == expected

    def test_a_descending_ordering_by_a_column_that_may_be_empty_puts_the_empty_last(self, api, curated_readonly):
        rows = api.get("/api/figures/", {"ordering": "-period_end", **ALL}).json()["results"]
        ends = [row["period_end"] for row in rows]
        dated = [end for end in ends if end is not None]
        assert dated and len(dated) < len(ends)
        assert ends == sorted(dated, reverse=True) + [None] * (len(ends) - len(dated))

    @pytest.mark.skipif(connection.vendor != "postgresql", reason="the plans are PostgreSQL's")
    @pytest.mark.parametrize("resource", LARGE_LISTS)
    def test_every_offered_ordering_is_read_from_an_index(self, api, curated_readonly, resource):
        """Each ordering the list offers, each way, its first page and its cursor page 2. With sorting priced out
        (``enable_sort=off``), a page whose order no index gives would still sort: so a plan without a Sort node
        shows that an index gives the order, whatever the size of the test data."""
        sorted_pages = {}
        for ordering in offered_orderings(resource):
            first = f"/api/{resource}/?ordering={ordering}&limit=2"
            second = api.get(f"{first}&cursor=").json()["next"]
            for url in (first, second):
                sorts = sort_nodes(page_plan(api, resource, url))
                if sorts:
                    sorted_pages[url] = sorts
        assert sorted_pages == {}
        assert len(offered_orderings(resource)) >= 12


class TestFilterPlans:
    def test_author_matches_part_of_a_name_in_any_case(self, api, curated_readonly):
        found = ids(api.get("/api/articles/", {"author": "WEEKS", **ALL}))
        assert found == ids(api.get("/api/articles/", {"author": "ryan w", **ALL})) and len(found) == 1
        assert ids(api.get("/api/articles/", {"author": "nobody", **ALL})) == []

    @pytest.mark.skipif(connection.vendor != "postgresql", reason="the plans are PostgreSQL's")
    def test_author_can_be_read_from_its_trigram_index(self, api, curated_readonly):
        """Without the index (migration 0021) the only plan reads every article; with plain scans priced out, the
        plan that remains is a bitmap scan of it."""
        plan = page_plan(api, "articles", "/api/articles/?author=weeks", off=("enable_seqscan", "enable_indexscan"))
        assert "article_authors_trgm" in indexes_read(plan), json.dumps(plan, indent=1)[:3000]

    @pytest.mark.skipif(connection.vendor != "postgresql", reason="the plans are PostgreSQL's")
    def test_value_overlaps_without_a_metric_reads_the_value_indexes(self, api, curated_readonly):
        """Two ranges, each answered by an index (a BitmapOr of two index scans): values in the interval, or ranges
        that start below it and reach into it; PostgreSQL estimates each from a column's histogram."""
        url = "/api/figures/?value_overlaps=700000000,800000000"
        plan = page_plan(api, "figures", url, off=("enable_seqscan", "enable_indexscan"))
        [either] = [node for node in nodes(plan) if node["Node Type"] == "BitmapOr"]
        assert len(either["Plans"]) == 2
        assert all(child["Node Type"] in ("Bitmap Index Scan", "BitmapAnd") for child in either["Plans"])
        read = indexes_read(either)
        assert "figure_value_order" in read and read & {"figure_value_high", "figure_value_high_desc"}, read


@pytest.mark.skipif(connection.vendor != "postgresql", reason="extended statistics are PostgreSQL's")
@pytest.mark.django_db
def test_the_planner_knows_a_figures_unit_follows_from_its_metric():
    """Half the figures revenue in USD, half market shares in percent: taken as independent, revenue in percent
    would be a quarter of them (50 of 200), and PostgreSQL would walk the list's order to find a page of them. The
    statistics on the pair (migration 0022) tell it there are none."""
    article = make_article("shares")
    for n in range(100):
        make_figure(article, f"revenue-{n}")
        make_figure(article, f"share-{n}", metric="market_share", unit="percent", value=n, as_reported=f"{n}%")
    with connection.cursor() as sql:
        sql.execute("ANALYZE articles_figure")
        estimates = {}
        for metric, unit in (("revenue", "percent"), ("revenue", "USD")):
            sql.execute(
                "EXPLAIN (FORMAT JSON) SELECT id FROM articles_figure WHERE metric = %s AND unit = %s", [metric, unit]
            )
            result = sql.fetchone()[0]
            estimates[unit] = (json.loads(result) if isinstance(result, str) else result)[0]["Plan"]["Plan Rows"]
    assert estimates["percent"] <= 5 and 90 <= estimates["USD"] <= 110, estimates
