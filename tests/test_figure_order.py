"""The figures list's order, newest article first (then the article, the key, the id), whichever way the records
were written; on PostgreSQL read from each figure's copy of its article's date (``articles/figure_order.py``),
which every writer keeps right, through an index, page by page, without sorting."""

import datetime

import pytest
from django.db import connection

from articles.models import Article, Figure

from .base import (
    browser_post_data,
    change_url,
    every_page,
    figure_body,
    interleaved,
    make_article,
    make_company,
    make_figure,
    page_plan,
    postgresql_only,
    sort_nodes,
    token_client,
)

pytestmark = pytest.mark.django_db
POSTGRESQL = connection.vendor == "postgresql"


def listed(client, query: str = "") -> list[int]:
    return [row["id"] for row in every_page(client, f"/api/figures/?limit=3{query}")]


def expected_order(**filters) -> list[int]:
    figures = Figure.objects.filter(**filters)
    return list(figures.order_by("-article__published_on", "-article_id", "key", "id").values_list("id", flat=True))


def copies_wrong() -> list[tuple]:
    """The figures whose copy of the date is not their article's (none on SQLite, which keeps no copy)."""
    if not POSTGRESQL:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT f.id, f.article_published_on, a.published_on FROM articles_figure f "
            "JOIN articles_article a ON a.id = f.article_id "
            "WHERE f.article_published_on IS DISTINCT FROM a.published_on"
        )
        return cursor.fetchall()


@pytest.fixture
def figures():
    acme, borealis = make_company("acme"), make_company("borealis")
    old = make_article("old", companies=(acme,), published_on=datetime.date(2019, 5, 1))
    new = make_article("new", companies=(acme, borealis), published_on=datetime.date(2024, 8, 26))
    same_day = make_article("same-day", companies=(acme,), published_on=datetime.date(2024, 8, 26))
    for article in (old, new, same_day):
        for key in ("b", "a", "c"):
            make_figure(article, key, company=acme)
        make_figure(article, "z", company=borealis, metric="gross_margin")
    return {"old": old, "new": new, "same-day": same_day}


def test_the_list_is_newest_article_first_then_article_key_and_id(client, figures):
    order = expected_order()
    assert listed(client) == order and len(order) == 12
    assert listed(client, "&cursor=") == order
    assert listed(client, "&company=acme&metric=revenue") == expected_order(company__slug="acme", metric="revenue")
    assert copies_wrong() == []


def test_an_editor_who_moves_an_articles_date_moves_its_figures_in_the_list(client, figures, editor):
    response = token_client(editor).patch(
        "/api/articles/old/", {"published_on": "2025-01-01", "published_precision": "day"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert copies_wrong() == []
    order = listed(client)
    assert order == expected_order() and order[:4] == expected_order(article__slug="old")
    assert listed(client, "&company=acme&metric=revenue&cursor=") == expected_order(
        company__slug="acme", metric="revenue"
    )


def test_a_figure_written_through_the_api_or_moved_to_another_article_carries_its_date(client, figures, editor):
    response = token_client(editor).post("/api/figures/", figure_body("old"), format="json")
    assert response.status_code == 201, response.content
    moved = Figure.objects.get(article=figures["new"], key="a")
    moved.article = figures["old"]
    moved.key = "moved"
    moved.save()
    Figure.objects.filter(article=figures["same-day"], key="b").update(article=figures["old"], key="moved-too")
    assert copies_wrong() == []
    assert listed(client) == expected_order()


def test_an_article_deleted_takes_its_figures_out_of_the_list(client, figures, editor):
    assert token_client(editor).delete("/api/articles/new/").status_code == 204
    assert listed(client) == expected_order() and len(expected_order()) == 8


@pytest.mark.skipif(not POSTGRESQL, reason="the copy and its indexes are PostgreSQL's")
@pytest.mark.parametrize("query", ["", "&company=acme&metric=revenue", "&company=acme"])
def test_a_page_of_the_list_is_read_from_an_index_without_sorting(client, figures, query):
    first = f"/api/figures/?limit=2{query}"
    second = client.get(f"{first}&cursor=").json()["next"]
    for url in (first, second):
        assert sort_nodes(page_plan(client, "figures", url)) == [], url


def test_an_editor_who_moves_an_articles_date_in_the_admin_moves_its_figures(client, figures, editor):
    """The browser's way: the article's page posted back whole (every inline form, the body in CRLF)."""
    client.force_login(editor)
    url = change_url(figures["old"])
    data = browser_post_data(client.get(url).content.decode())
    assert any(name.startswith("figures-") for name in data)
    data["published_on"] = ["2025-01-01"]
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Article.objects.get(slug="old").published_on == datetime.date(2025, 1, 1)
    assert copies_wrong() == []
    assert listed(client)[:4] == expected_order(article__slug="old")


def move_date(article: Article, day: datetime.date):
    def write():
        article.published_on = day
        article.save(update_fields=["published_on"])

    return write


def add_figure(article: Article, key: str):
    return lambda: make_figure(article, key)


@postgresql_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("date_first", [True, False], ids=["date-then-figure", "figure-then-date"])
def test_two_writers_a_new_date_and_a_new_figure_leave_the_copy_right(transactional_db, date_first):
    """An editor moves an article's date while another adds a figure to it, in either order: the figure's copy is
    the date that was committed last (the figure's trigger waits for the article's row, so neither writer reads
    what the other has not committed)."""
    article = make_article("race", published_on=datetime.date(2019, 5, 1))
    make_figure(article, "first")
    writers = [move_date(article, datetime.date(2025, 1, 1)), add_figure(article, "second")]
    outcomes = interleaved(*(writers if date_first else writers[::-1]))
    assert outcomes == {"A": "ok", "B": "ok"}
    assert Article.objects.get(pk=article.pk).published_on == datetime.date(2025, 1, 1)
    assert Figure.objects.filter(article=article).count() == 2
    assert copies_wrong() == []
