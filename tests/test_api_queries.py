"""No N+1: every list and detail request makes the same small number of queries at 10 and at 100 items."""

import datetime
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User

from articles.models import Figure
from articles.services.figures import figure_save

from .base import make_article, make_company, make_event, make_figure, make_person

SIZES = [10, 100]


def companies(n: int) -> str:
    parent = make_company("parent")
    article = make_article("story", companies=(parent,))
    for i in range(n):
        company = make_company(f"company-{i}", parent=parent, aliases=(f"Alias {i}", f"Other {i}"))
        article.companies.add(company)
        make_figure(article, f"figure-{i}", company=company)
        make_event(article, f"event-{i}", participants=((company, "subject"), (parent, "customer")))
    return "/api/companies/?limit=1000"


def people(n: int) -> str:
    acme = make_company("acme")
    article = make_article("story")
    for i in range(n):
        person = make_person(f"person-{i}", affiliation=acme, aliases=(f"P. {i}",))
        article.people.add(person)
        make_event(article, f"event-{i}", participants=((person, "speaker"),))
    return "/api/people/?limit=1000"


def articles(n: int) -> str:
    press, acme, jane = make_company("press"), make_company("acme"), make_person("jane")
    for i in range(n):
        make_article(
            f"story-{i}",
            publisher=press,
            companies=(acme, make_company(f"company-{i}")),
            people=(jane,),
            published_on=datetime.date(2024, 1, 1) + datetime.timedelta(days=i),
        )
    return "/api/articles/?limit=1000"


def events(n: int) -> str:
    acme, jane = make_company("acme"), make_person("jane")
    articles = [make_article(f"story-{i}") for i in range(3)]
    for i in range(n):
        make_event(articles[i % 3], f"event-{i}", participants=((acme, "subject"), (jane, "speaker")))
    return "/api/events/?limit=1000"


def figures(n: int) -> str:
    reviewer = User.objects.create_user("reviewer")
    acme = make_company("acme")
    articles = [make_article(f"story-{i}") for i in range(3)]
    for i in range(n):
        make_figure(articles[i % 3], f"figure-{i}", company=acme, status="verified", reviewed_by=reviewer)
    return "/api/figures/?limit=1000"


def article_detail(n: int) -> str:
    acme, jane = make_company("acme"), make_person("jane")
    article = make_article("story", companies=(acme,), people=(jane,), publisher=make_company("press"))
    for i in range(n):
        make_event(article, f"event-{i}", participants=((acme, "subject"), (jane, "speaker")))
        make_figure(article, f"figure-{i}", company=acme)
    return "/api/articles/story/"


def company_detail(n: int) -> str:
    acme = make_company("acme", aliases=tuple(f"Alias {i}" for i in range(n)))
    article = make_article("story", companies=(acme,))
    for i in range(n):
        make_figure(article, f"figure-{i}", company=acme)
    return "/api/companies/acme/"


def event_detail(n: int) -> str:
    article = make_article("story")
    participants = tuple((make_company(f"company-{i}"), "subject") for i in range(n))
    return f"/api/events/{make_event(article, 'event', participants=participants).pk}/"


def person_detail(n: int) -> str:
    jane = make_person("jane", aliases=tuple(f"J. {i}" for i in range(n)), affiliation=make_company("acme"))
    article = make_article("story", people=(jane,))
    for i in range(n):
        make_event(article, f"event-{i}", participants=((jane, "speaker"),))
    return "/api/people/jane/"


def figure_detail(n: int) -> str:
    figures(n)
    return f"/api/figures/{Figure.objects.order_by('pk').last().pk}/"


def figure_history(n: int) -> str:
    reviewers = [User.objects.create_user("reviewer"), User.objects.create_user("second-reviewer")]
    figure = make_figure(make_article("story"), "figure", company=make_company("acme"))
    for i in range(n):
        status = "verified" if i % 2 == 0 else "disputed"
        data = {"note": f"Note {i}", "status": status}
        figure = figure_save(figure=figure, data=data, user=reviewers[i % 2])
    return f"/api/figures/{figure.pk}/history/"


def filtered_figures(n: int) -> str:
    figures(n)
    return "/api/figures/?company=acme&metric=revenue&q=revenue&value__gte=1&ordering=-value&limit=1000"


def filtered_events(n: int) -> str:
    events(n)
    return "/api/events/?company=acme&role=subject&date__gte=2020-01-01&limit=1000"


CASES: list[tuple[Callable[[int], str], int]] = [
    # A list whose page holds every record needs no count (see the next test for full pages).
    # page, prefetched aliases
    (companies, 2),
    (people, 2),
    # page (with the publisher), companies, people
    (articles, 3),
    # page (with the article), participants (with their company or person)
    (events, 2),
    # page (with article, company and reviewer)
    (figures, 1),
    # the article, companies, people, events, their participants, figures
    (article_detail, 6),
    # the company, its aliases
    (company_detail, 2),
    # the event, its participants
    (event_detail, 2),
    # the person, their aliases
    (person_detail, 2),
    # the figure (with article, company and reviewer)
    (figure_detail, 1),
    # the figure, its history (with each entry's user), the users the changes name (reviewed_by)
    (figure_history, 3),
    # one more per slug filter (the slug is checked), then the same as unfiltered
    (filtered_figures, 2),
    (filtered_events, 3),
]


@pytest.mark.django_db
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(("build", "queries"), CASES, ids=[build.__name__ for build, _ in CASES])
def test_a_request_makes_the_same_few_queries_whatever_the_size(
    client, django_assert_num_queries, build, queries, size
):
    path = build(size)
    with django_assert_num_queries(queries):
        response = client.get(path)
    assert response.status_code == 200, response.content
    body = response.json()
    items = body["results"] if isinstance(body, dict) and "results" in body else body
    if isinstance(items, list):
        assert len(items) >= size


LISTS = [
    (build, queries) for build, queries in CASES if build.__name__ in {"companies", "people", "articles", "events"}
]
LISTS += [(figures, 1), (filtered_figures, 2)]


@pytest.mark.django_db
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(("build", "queries"), LISTS, ids=[build.__name__ for build, _ in LISTS])
@pytest.mark.parametrize(
    ("mode", "extra"),
    # a full page also counts (up to a cap), a cursor page never does; page 2 by cursor costs what page 1 does
    [("offset", "&offset=2"), ("cursor", "&cursor="), ("cursor-next", None)],
)
def test_a_full_page_adds_one_capped_count_and_a_cursor_page_none(
    client, django_assert_num_queries, build, queries, size, mode, extra
):
    path = build(size).replace("limit=1000", "limit=5")
    if extra is None:
        path = client.get(path + "&cursor=").json()["next"].removeprefix("http://testserver")
    else:
        path += extra
    with django_assert_num_queries(queries + (mode == "offset")):
        response = client.get(path)
    assert response.status_code == 200, response.content
    body = response.json()
    assert len(body["results"]) == 5
    assert ("count" in body) == (mode == "offset")


@pytest.mark.django_db
def test_the_figure_list_really_holds_every_figure_at_100(client):
    figures(100)
    body = client.get("/api/figures/", {"limit": 1000}).json()
    assert (body["count"], len(body["results"])) == (100, 100) == (Figure.objects.count(), 100)
