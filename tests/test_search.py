"""Full-text search: ``GET /api/search/`` and the lists' ``q``, on SQLite (FTS5) and PostgreSQL (tsvector), over the
curated data set and over records the tests write, change and delete through the API."""

import importlib
import re
from decimal import Decimal

import pytest
from django.db import connection
from rest_framework.test import APIClient

from articles import search, search_schema
from articles.models import Article, Figure

from .base import (
    PRICE_QUOTE,
    REVENUE_QUOTE,
    make_article,
    make_company,
    make_event,
    make_figure,
    make_person,
    token_client,
)

SUSPENSION = "bitmain-suspends-spot-sales-2021"


def found(params: dict) -> dict:
    response = APIClient().get("/api/search/", params)
    assert response.status_code == 200, response.content
    return response.json()


def hits(params: dict) -> list[tuple[str, str | int]]:
    """``(type, slug or id)`` of every result, in order."""
    return [(r["type"], r["slug"] or r["id"]) for r in found({"limit": 1000, **params})["results"]]


def only_marks(snippet: str) -> str:
    """The snippet without its ``<mark>`` tags: what is left must hold no markup at all."""
    return re.sub(r"</?mark>", "", snippet)


class TestTheCuratedDataSet:
    def test_spot_sales_ranks_the_2021_suspension_article_first(self, curated_readonly):
        assert hits({"q": "spot sales", "type": "article"})[0] == ("article", SUSPENSION)
        everything = found({"q": "spot sales"})["results"]
        # Across every type too: the story first, then the suspension event it reports (its score counts for the
        # article), then the publisher and the reporter, whose descriptions mention it.
        assert [(r["type"], r["slug"]) for r in everything[:2]] == [("article", SUSPENSION), ("event", None)]
        assert "spot-market sales" in everything[1]["title"]
        scores = [r["score"] for r in everything]
        assert scores == sorted(scores, reverse=True) and scores[0] > 0

    def test_the_snippet_marks_the_matched_words(self, curated_readonly):
        [article] = found({"q": "spot sales", "type": "article"})["results"]
        assert "<mark>spot</mark>" in article["snippet"] and "<mark>sales</mark>" in article["snippet"]
        assert "<" not in only_marks(article["snippet"])
        assert article["title"] == Article.objects.get(slug=SUSPENSION).title

    @pytest.mark.parametrize(("q", "slug"), [("Cannan", "canaan"), ("Bitman", "bitmain"), ("Canan", "canaan")])
    def test_a_misspelt_company_name_finds_the_company(self, curated_readonly, q, slug):
        results = found({"q": q, "type": "company"})["results"]
        assert results[0]["slug"] == slug
        assert "<mark>" in results[0]["snippet"]
        assert ("company", slug) in hits({"q": q})
        assert slug in [c["slug"] for c in APIClient().get("/api/companies/", {"q": q}).json()["results"]]

    def test_a_misspelt_person_name_finds_the_person(self, curated_readonly):
        assert hits({"q": "Jihan Wo", "type": "person"})[0] == ("person", "jihan-wu")

    @pytest.mark.parametrize("path", ["/api/search/", "/api/articles/", "/api/events/"])
    def test_a_typographic_apostrophe_finds_what_a_plain_one_finds(self, curated_readonly, path):
        def ids(q: str) -> list:
            body = APIClient().get(path, {"q": q, "limit": 1000}).json()
            return [(r.get("type"), r["id"]) for r in body["results"]]

        plain = ids("china's")
        assert plain, "china's finds something"
        assert ids("china’s") == plain == ids("China‘s")

    def test_typographic_double_quotes_make_a_phrase(self, curated_readonly):
        assert ("article", SUSPENSION) in hits({"q": '"spot market"', "type": "article"})
        assert hits({"q": "“spot market”", "type": "article"}) == hits({"q": '"spot market"', "type": "article"})
        assert hits({"q": '"market spot"', "type": "article"}) == []
        assert ("article", SUSPENSION) in hits({"q": "market spot", "type": "article"})

    def test_or_and_minus(self, curated_readonly):
        either = {slug for _, slug in hits({"q": "spot or tariffs", "type": "article"})}
        assert {SUSPENSION, "bitmain-made-in-usa-threat-2024"} <= either
        assert hits({"q": "spot -market", "type": "article"}) == []

    def test_figure_search_matches_the_company_name(self, curated_readonly):
        figures = APIClient().get("/api/figures/", {"q": "Bitmain loss", "limit": 1000}).json()["results"]
        keys = {f["key"] for f in figures}
        assert {"january-2019-loss", "february-2019-loss"} <= keys
        assert all(f["company"] == "bitmain" for f in figures)
        found_figures = found({"q": "Bitmain loss", "type": "figure", "limit": 1000})["results"]
        assert {r["id"] for r in found_figures} == {f["id"] for f in figures}
        january = next(f["id"] for f in figures if f["key"] == "january-2019-loss")
        assert (
            next(r["title"] for r in found_figures if r["id"] == january) == "Bitmain: January 2019 loss, $345 million"
        )

    def test_every_result_links_to_its_record(self, curated_readonly):
        results = found({"q": "Bitmain", "limit": 1000})["results"]
        assert {"article", "event", "figure", "company"} <= {r["type"] for r in results}
        for result in results:
            record = APIClient().get(result["api_url"]).json()
            assert (record["id"], record.get("slug")) == (result["id"], result["slug"])

    def test_types_narrow_the_search_repeated_or_comma_separated(self, curated_readonly):
        both = hits({"q": "Bitmain", "type": "company,person"})
        assert both == hits({"q": "Bitmain", "type": ["person", "company"]})
        assert ("company", "bitmain") in both
        assert {kind for kind, _ in both} <= {"company", "person"}
        assert len(hits({"q": "Bitmain"})) > len(both)

    def test_pages_follow_the_ranking(self, curated_readonly):
        every = hits({"q": "Bitmain"})
        first = found({"q": "Bitmain", "limit": 5})
        assert first["count"] == len(every) and first["count_exact"]
        assert [(r["type"], r["slug"] or r["id"]) for r in first["results"]] == every[:5]
        assert first["previous"] is None
        second = APIClient().get(first["next"]).json()
        assert [(r["type"], r["slug"] or r["id"]) for r in second["results"]] == every[5:10]
        assert "offset=5" in first["next"] and second["previous"] is not None

    def test_the_api_root_lists_search(self, curated_readonly):
        assert APIClient().get("/api/").json()["search"].endswith("/api/search/")


@pytest.mark.django_db
class TestBadRequests:
    @pytest.mark.parametrize(
        ("params", "name", "words"),
        [
            ({}, "q", "q is required"),
            ({"q": "   "}, "q", "q is required"),
            ({"q": " ".join(["word"] * 21)}, "q", "at most 20 words"),
            ({"q": "x" * 201}, "q", "200"),
            ({"q": "bitmain", "type": "companies"}, "type", "'companies' is not a type"),
            ({"q": "bitmain", "type": "company,nope"}, "type", "'nope'"),
            ({"q": "bitmain", "limit": "abc"}, "limit", "positive whole number"),
            ({"q": "bitmain", "offset": "-1"}, "offset", "non-negative whole number"),
            ({"q": "bitmain", "ordering": "score"}, "ordering", "accepted: format, limit, offset, q, type"),
            ({"q": "bitmain", "format": "csv"}, "format", "Unknown format"),
        ],
    )
    def test_a_bad_parameter_is_a_400_naming_it(self, params, name, words):
        response = APIClient().get("/api/search/", params)
        assert response.status_code == 400, response.content
        assert words in " ".join(response.json()[name])

    def test_every_bad_parameter_is_named_at_once(self):
        body = APIClient().get("/api/search/", {"type": "x", "limit": "0"}).json()
        assert set(body) == {"q", "type", "limit"}

    @pytest.mark.parametrize("q", ["the", "-bitmain", "!!!", "of the"])
    def test_a_q_with_nothing_to_find_finds_nothing(self, q):
        make_article("story", title="The Bitmain story", body="Of the Bitmain machines, the best.")
        assert found({"q": q}) == {"count": 0, "count_exact": True, "next": None, "previous": None, "results": []}
        listed = APIClient().get("/api/articles/", {"q": q})
        assert listed.status_code == 200 and listed.json()["results"] == []
        assert APIClient().get("/api/articles/").json()["count"] == 1


@pytest.mark.django_db
class TestSnippets:
    def test_a_snippet_is_escaped_and_only_marks_are_markup(self):
        body = 'Power: the spot market & co <script>alert("x")</script> sold <b>out</b>, 5 < 7.'
        article = make_article("escaping", body=body, title="A <i>title</i> & more")
        [result] = found({"q": "spot market", "type": "article"})["results"]
        assert result["id"] == article.pk
        assert "<mark>spot</mark>" in result["snippet"] and "<mark>market</mark>" in result["snippet"]
        text = only_marks(result["snippet"])
        assert "<" not in text and ">" not in text
        assert "&amp;" in text
        assert result["title"] == "A <i>title</i> & more"  # JSON, not HTML: the client escapes it

    def test_a_text_cannot_fake_a_mark(self):
        make_article("fake", body=f"The spot {search.MARK_START}market{search.MARK_END} closed.")
        [result] = found({"q": "spot", "type": "article"})["results"]
        assert result["snippet"].count("<mark>") == 1 and "<mark>spot</mark>" in result["snippet"]

    def test_accents_are_ignored(self):
        make_company("cafe", name="Café Mining")
        assert hits({"q": "cafe", "type": "company"}) == [("company", "cafe")]
        assert hits({"q": "CAFÉ", "type": "company"}) == [("company", "cafe")]


@pytest.mark.django_db
class TestTheIndexFollowsEveryWrite:
    """The database keeps the index current (triggers), whoever writes: the API here."""

    def test_an_article_patched_and_deleted(self, editor):
        api = token_client(editor)
        make_article("story", title="Zebras in the datacentre", body="Zebras were seen near the mining site.")
        assert hits({"q": "zebras"}) == [("article", "story")]
        response = api.patch(
            "/api/articles/story/", {"body": "Giraffes were seen near the mining site."}, format="json"
        )
        assert response.status_code == 200, response.content
        assert hits({"q": "giraffes"}) == [("article", "story")]
        assert hits({"q": "zebras"}) == [("article", "story")]  # still in the title
        api.patch("/api/articles/story/", {"title": "Giraffes in the datacentre"}, format="json")
        assert hits({"q": "zebras"}) == []
        assert [a["slug"] for a in APIClient().get("/api/articles/", {"q": "giraffes"}).json()["results"]] == ["story"]
        assert api.delete("/api/articles/story/").status_code == 204
        assert hits({"q": "giraffes"}) == []

    def test_an_event_patched_and_deleted(self, editor):
        api = token_client(editor)
        event = make_event(make_article("story"), "report", title="Quarterly numbers", summary="Okapis.")
        assert hits({"q": "okapis"}) == [("event", event.pk)]
        api.patch(f"/api/events/{event.pk}/", {"summary": "Narwhals."}, format="json")
        assert hits({"q": "okapis"}) == [] and hits({"q": "narwhals"}) == [("event", event.pk)]
        assert api.delete(f"/api/events/{event.pk}/").status_code == 204
        assert hits({"q": "narwhals"}) == []

    def test_a_figure_follows_its_company_name(self, editor):
        api = token_client(editor)
        acme = make_company("acme", name="Acme Mining")
        make_company("other", name="Zebra Hashing")
        figure = make_figure(
            make_article("story"),
            "price",
            company=acme,
            metric="price_change",
            as_reported="12%",
            value=Decimal("12"),
            unit="percent",
            quote=PRICE_QUOTE,
        )
        assert hits({"q": "acme price", "type": "figure"}) == [("figure", figure.pk)]
        assert api.patch("/api/companies/acme/", {"name": "Zenith Mining"}, format="json").status_code == 200
        assert hits({"q": "zenith price", "type": "figure"}) == [("figure", figure.pk)]
        assert hits({"q": "acme price", "type": "figure"}) == []
        response = api.patch(f"/api/figures/{figure.pk}/", {"company": "other"}, format="json")
        assert response.status_code == 200, response.content
        assert hits({"q": "zebra price", "type": "figure"}) == [("figure", figure.pk)]
        assert hits({"q": "zenith price", "type": "figure"}) == []
        assert api.delete(f"/api/figures/{figure.pk}/").status_code == 204
        assert hits({"q": "zebra price", "type": "figure"}) == []

    def test_a_company_and_a_person_follow_their_aliases(self, editor):
        api = token_client(editor)
        make_company("acme", name="Acme Mining", aliases=("Akme",))
        make_person("jane-roe", name="Jane Roe")
        assert hits({"q": "akme", "type": "company"}) == [("company", "acme")]
        response = api.patch("/api/companies/acme/", {"aliases": ["Quuxcorp"]}, format="json")
        assert response.status_code == 200, response.content
        assert hits({"q": "quuxcorp", "type": "company"}) == [("company", "acme")]
        assert hits({"q": "akme minning", "type": "company"}) == [("company", "acme")]  # the name, misspelt
        assert hits({"q": "akme", "type": "company"}) == []
        api.patch("/api/people/jane-roe/", {"aliases": ["Janey Quux"]}, format="json")
        assert hits({"q": "janey", "type": "person"}) == [("person", "jane-roe")]
        assert api.delete("/api/companies/acme/").status_code == 204
        assert hits({"q": "quuxcorp"}) == []
        assert api.delete("/api/people/jane-roe/").status_code == 204
        assert hits({"q": "janey"}) == []

    @pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite rebuilds a table to alter it; PostgreSQL alters")
    def test_sqlite_puts_back_triggers_a_table_rebuild_dropped(self):
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER articles_article_fts_insert")
        make_article("unseen", body="Pangolins everywhere.")
        assert hits({"q": "pangolins"}) == []
        assert search_schema.sqlite_triggers_install(connection) == ["articles_article_fts_insert"]
        assert hits({"q": "pangolins"}) == [("article", "unseen")]
        assert search_schema.sqlite_triggers_install(connection) == []


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the figures' trigger function is PostgreSQL's")
def test_migration_0017_replaces_the_figures_trigger_function_both_ways():
    """0017 puts in the function whose document call PostgreSQL can inline (the company's name read first); back,
    the sub-select version; either way a figure's document shows its company's name."""
    migration = importlib.import_module("articles.migrations.0017_figure_search_inlined")
    zebra = make_company("zebra", name="Zebra Hashing")  # a name the quote does not hold

    def source() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SELECT prosrc FROM pg_proc WHERE proname = 'newsdb_figure_search'")
            return cursor.fetchone()[0]

    def figure_found(key: str) -> bool:
        make_figure(make_article(f"story-{key}"), key, company=zebra, quote=REVENUE_QUOTE)
        return ("figure", Figure.objects.get(key=key).pk) in hits({"q": "zebra", "type": "figure"})

    assert "INTO company_name" in source()
    with connection.schema_editor() as editor_:
        migration.backwards(None, editor_)
    assert "(SELECT c.name" in source() and "INTO company_name" not in source()
    assert figure_found("before")
    with connection.schema_editor() as editor_:
        migration.forwards(None, editor_)
    assert "INTO company_name" in source()
    assert figure_found("after")


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the figures' documents are PostgreSQL's")
def test_migration_0017_writes_again_the_documents_a_streamed_load_wrote_without_the_company():
    migration = importlib.import_module("articles.migrations.0017_figure_search_inlined")
    zebra = make_company("zebra", name="Zebra Hashing")
    broken = make_figure(make_article("story-a"), "a", company=zebra, quote=REVENUE_QUOTE)
    sound = make_figure(make_article("story-b"), "b", company=zebra, quote=REVENUE_QUOTE)
    with connection.cursor() as cursor:  # what the streamed load wrote before: the document without the name
        cursor.execute(
            "UPDATE articles_figure SET search_document = newsdb_figure_document("
            "subject, NULL, metric, as_reported, period_label, quote) WHERE id = %s",
            [broken.pk],
        )
    assert hits({"q": "zebra", "type": "figure"}) == [("figure", sound.pk)]
    assert search_schema.pg_figures_reindex(connection) == 1
    assert sorted(hits({"q": "zebra", "type": "figure"})) == sorted([("figure", broken.pk), ("figure", sound.pk)])
    with connection.schema_editor() as editor_:
        migration.forwards(None, editor_)  # nothing stale is left: nothing written
    assert search_schema.pg_figures_reindex(connection) == 0


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the search functions are PostgreSQL's")
def test_migration_0018_normalises_quotes_as_translate_did_both_ways():
    """0018's ``replace`` calls give what 0007's ``translate`` gave, for every one of the four characters, in any
    place and number, next to other non-ASCII text; PostgreSQL still inlines it (a search document is the same
    whether built through the trigger or by the function), and an article written either way is found alike."""
    migration = importlib.import_module("articles.migrations.0018_search_normalize_replace")
    texts = [
        "China’s ‘market’ “spot” price”",
        "’‘“”",
        "no quotes at all, Café déjà vu",
        "’’’ start and end ”",
        "",
        "straight ' and \" stay",
    ]

    def normalised() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT newsdb_search_normalize(t) FROM unnest(%s::text[]) WITH ORDINALITY AS x(t, n) ORDER BY n",
                [texts],
            )
            return [row[0] for row in cursor.fetchall()]

    def source() -> str:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT prosrc || pg_get_functiondef(oid) FROM pg_proc WHERE proname = 'newsdb_search_normalize'"
            )
            return cursor.fetchone()[0]

    expected = [t.translate(str.maketrans("’‘“”", "''\"\"")) for t in texts]
    assert "replace(" in source() and "translate(" not in source()
    assert normalised() == expected
    article = make_article("after", body="The miner’s “spot” price rose.")
    with connection.schema_editor() as editor_:
        migration.backwards(None, editor_)
    assert "translate(" in source()
    assert normalised() == expected
    before = make_article("before", body="The miner’s “spot” price rose.")
    with connection.schema_editor() as editor_:
        migration.forwards(None, editor_)
    assert "replace(" in source()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, search_document::text = newsdb_article_document(title, body)::text FROM articles_article "
            "WHERE id IN (%s, %s)",
            [article.pk, before.pk],
        )
        assert sorted(cursor.fetchall()) == sorted([(article.pk, True), (before.pk, True)])
    assert {slug for _type, slug in hits({"q": "miner's spot", "type": "article"})} == {"after", "before"}


def figures(n: int) -> None:
    acme = make_company("acme", name="Acme Mining")
    article = make_article("story")
    for i in range(n):
        make_figure(article, f"figure-{i}", company=acme, quote=REVENUE_QUOTE)


@pytest.mark.django_db
@pytest.mark.parametrize("size", [10, 40])
def test_a_search_makes_the_same_few_queries_whatever_the_size(django_assert_num_queries, size):
    figures(size)
    make_person("acme-fan", name="Acme Fan")
    # The page, then its titles and snippets (one query for every type on it).
    with django_assert_num_queries(2):
        body = found({"q": "acme revenue", "type": "figure", "limit": 1000})
    assert len(body["results"]) == size
    # A full page too: the page's query counts the matches it ranks.
    with django_assert_num_queries(2):
        body = found({"q": "acme revenue", "type": "figure", "limit": 5})
    assert (body["count"], body["count_exact"], len(body["results"])) == (size, True, 5)
    # A page past the last match counts in a query of its own.
    with django_assert_num_queries(2):
        body = found({"q": "acme revenue", "type": "figure", "limit": 5, "offset": 1000})
    assert (body["count"], body["count_exact"], body["results"]) == (size, True, [])
    # Every type: the same, and on SQLite one query per named type reads the names for the fuzzy match.
    with django_assert_num_queries(2 + (2 if connection.vendor == "sqlite" else 0)):
        body = found({"q": "acme", "limit": 5})
    assert body["count"] == size + 1 + 1 + 1  # the figures, the company, the person, the article's body


@pytest.mark.django_db
def test_a_list_q_reads_the_index_in_its_own_query(django_assert_num_queries):
    figures(10)
    with django_assert_num_queries(1):
        response = APIClient().get("/api/figures/", {"q": "acme revenue", "limit": 1000})
    assert len(response.json()["results"]) == Figure.objects.count() == 10


@pytest.mark.django_db
def test_only_the_first_matches_of_a_type_are_ranked_and_the_count_says_how_many_match(monkeypatch):
    for i in range(5):
        make_article(f"story-{i}", body=f"Walruses spotted, report {i}.")
    monkeypatch.setattr(search, "RANK_LIMIT", 3)
    body = found({"q": "walruses", "type": "article"})
    assert len(body["results"]) == 3 and body["next"] is None
    assert (body["count"], body["count_exact"]) == (5, True)


@pytest.mark.django_db
def test_counting_stops_at_the_cap_whether_or_not_every_match_is_ranked(monkeypatch, django_assert_num_queries):
    for i in range(6):
        make_article(f"story-{i}", body=f"Walruses spotted, report {i}.")
    monkeypatch.setattr(search, "COUNT_CAP", 4)
    with django_assert_num_queries(2):  # every match ranked: the page's query counted them
        body = found({"q": "walruses", "type": "article", "limit": 2})
    assert (body["count"], body["count_exact"], len(body["results"])) == (4, False, 2)
    monkeypatch.setattr(search, "RANK_LIMIT", 3)  # some not ranked: counted in a query of their own
    with django_assert_num_queries(3):
        body = found({"q": "walruses", "type": "article", "limit": 2})
    assert (body["count"], body["count_exact"], len(body["results"])) == (4, False, 2)
