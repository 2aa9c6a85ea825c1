"""After a merge, a saved query that names the merged-away company by its old slug keeps working.

``company_merge`` records each duplicate's slug in ``MergedCompany``; every filter that takes a company slug
(``company``, ``publisher``, ``parent``, ``affiliation``) reads such a slug as the survivor's. A slug that
names neither a company nor a merged one is still a 400 that names the parameter and the value.
"""

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from articles.models import Company, MergedCompany
from articles.services.companies import company_merge

from .base import FUNDING_QUOTE, SALE_QUOTE, make_article, make_company, make_event, make_figure, make_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> dict:
    """Bitmain and its duplicate "Bitmain Technologies" (merged into it), Canaan and an unrelated record each.

    Every kind of reference points at the duplicate once and at the survivor once, so that a filter on
    the old slug must return both (the duplicate's records now belong to the survivor) and nothing else.
    """
    survivor = make_company("bitmain", name="Bitmain")
    dup = make_company("bitmain-technologies", name="Bitmain Technologies")
    dup2 = make_company("bitmaintech", name="Bitmaintech")
    canaan = make_company("canaan", name="Canaan")
    press = make_company("coindesk", name="CoinDesk", kind="media")
    make_company("antpool", parent=dup)
    make_company("bitmain-usa", parent=survivor)
    make_company("canaan-creative", parent=canaan)

    make_person("jihan-wu", affiliation=dup)
    make_person("micree-zhan", affiliation=survivor)
    make_person("nangeng-zhang", affiliation=canaan)
    make_person("press-reporter", affiliation=press)

    by_dup = make_article("dup-story", publisher=dup, companies=(dup, canaan))
    by_survivor = make_article("survivor-story", publisher=survivor, companies=(survivor,))
    other = make_article("canaan-story", publisher=press, companies=(canaan,))
    make_article("both-story", companies=(dup, survivor))
    press_story = make_article("press-story", companies=(press,))

    make_figure(by_dup, "dup-revenue", company=dup)
    make_figure(by_survivor, "survivor-revenue", company=survivor)
    make_figure(by_dup, "dup2-revenue", company=dup2)
    make_figure(other, "canaan-revenue", company=canaan)
    make_figure(other, "hashprice", subject="Hash price")

    make_event(by_dup, "dup-sale", quote=SALE_QUOTE, participants=((dup, "subject"), (canaan, "customer")))
    make_event(by_survivor, "survivor-funding", quote=FUNDING_QUOTE, participants=((survivor, "investor"),))
    make_event(other, "canaan-sale", quote=SALE_QUOTE, participants=((canaan, "subject"),))
    # With the press reporter and the press story: records none of the filters below asks for, so that none of
    # them matches everything (a filter that did nothing would pass otherwise).
    make_event(press_story, "press-report", participants=((press, "reporter"),))

    merger = User.objects.create_user("merger")
    company_merge(survivor=survivor, duplicates=[dup, dup2], user=merger, reason="Same company")
    assert not Company.objects.filter(slug__in=["bitmain-technologies", "bitmaintech"]).exists()
    assert set(MergedCompany.objects.values_list("slug", "into__slug")) == {
        ("bitmain-technologies", "bitmain"),
        ("bitmaintech", "bitmain"),
    }
    return {"survivor": survivor, "canaan": canaan}


def _get(path: str, **params) -> dict:
    response = APIClient().get(path, params, HTTP_ACCEPT="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def _values(path: str, field: str, **params) -> list:
    return sorted(item[field] for item in _get(path, **params)["results"])


# (list path, parameter, the field that identifies a result, what the survivor's records are after the merge)
CASES = [
    ("/api/figures/", "company", "key", ["dup-revenue", "dup2-revenue", "survivor-revenue"]),
    ("/api/events/", "company", "key", ["dup-sale", "survivor-funding"]),
    ("/api/articles/", "company", "slug", ["both-story", "dup-story", "survivor-story"]),
    ("/api/articles/", "publisher", "slug", ["dup-story", "survivor-story"]),
    ("/api/people/", "affiliation", "slug", ["jihan-wu", "micree-zhan"]),
    ("/api/companies/", "parent", "slug", ["antpool", "bitmain-usa"]),
]


@pytest.mark.parametrize(("path", "param", "field", "expected"), CASES)
@pytest.mark.parametrize("old_slug", ["bitmain-technologies", "bitmaintech"])
def test_a_merged_slug_filters_like_the_survivors_slug(world, path, param, field, expected, old_slug):
    assert set(expected) < set(_values(path, field))  # some records, not all of them
    assert _values(path, field, **{param: "bitmain"}) == expected
    assert _values(path, field, **{param: old_slug}) == expected


@pytest.mark.parametrize(("path", "param", "field", "expected"), CASES)
def test_a_merged_slug_combines_with_current_slugs(world, path, param, field, expected):
    """Repeated values are OR-ed: the old slug, the survivor's and another company's, in one query."""
    other = "coindesk" if param == "publisher" else "canaan"
    others = _values(path, field, **{param: other})
    assert set(others) - set(expected), "the other company must add records of its own"
    combined = _values(path, field, **{param: ["bitmain-technologies", other]})
    assert combined == sorted({*expected, *others})
    assert set(combined) < set(_values(path, field)), "a filter that does nothing must not pass"
    # The old and the new slug of the same company: each record once.
    assert _values(path, field, **{param: ["bitmain-technologies", "bitmain", "bitmaintech"]}) == expected


def test_a_merged_slug_with_null_on_a_nullable_filter(world):
    keys = _values("/api/figures/", "key", company=["bitmaintech", "null"])
    assert keys == ["dup-revenue", "dup2-revenue", "hashprice", "survivor-revenue"]
    assert "canaan-revenue" in _values("/api/figures/", "key")


def test_a_merged_slug_with_a_role_filters_events_by_that_role(world):
    assert _values("/api/events/", "key", company="bitmain-technologies", role="subject") == ["dup-sale"]
    assert _values("/api/events/", "key", company="bitmain-technologies", role="investor") == ["survivor-funding"]
    assert _values("/api/events/", "key", company="bitmain-technologies", role="customer") == []


def test_figures_show_the_survivor_not_the_old_slug(world):
    figures = _get("/api/figures/", company="bitmain-technologies")["results"]
    assert {f["company"] for f in figures} == {"bitmain"}
    assert _get("/api/figures/", company="bitmain-technologies")["count"] == 3


@pytest.mark.parametrize(("path", "param"), [(c[0], c[1]) for c in CASES])
def test_an_unknown_slug_is_still_a_400_naming_the_parameter_and_the_value(world, path, param):
    for values in (["no-such-company"], ["bitmain-technologies", "no-such-company"]):
        response = APIClient().get(path, {param: values}, HTTP_ACCEPT="application/json")
        assert response.status_code == 400, response.content
        body = response.json()
        assert list(body) == [param]
        assert "no-such-company" in " ".join(body[param])
        assert "bitmain" not in " ".join(body[param])


def test_an_unknown_slug_is_named_but_cut_short(world):
    response = APIClient().get("/api/figures/", {"company": "x" * 300}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert response.json() == {"company": [f"Select a valid choice. {'x' * 40} is not one of the available choices."]}


def test_a_person_slug_is_not_resolved_through_merged_companies(world):
    """Only company filters follow merges: a person filter given a merged company's slug is a 400."""
    response = APIClient().get("/api/articles/", {"person": "bitmain-technologies"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert list(response.json()) == ["person"]


def _merged_lookups(path: str, params: dict) -> tuple[int, list]:
    with CaptureQueriesContext(connection) as queries:
        body = _get(path, **params)
    lookups = [q["sql"] for q in queries.captured_queries if "articles_mergedcompany" in q["sql"]]
    return len(lookups), body["results"]


def test_merged_slugs_are_resolved_in_one_query_and_only_when_needed(world):
    # Current slugs only: no lookup of merged companies at all.
    assert _merged_lookups("/api/figures/", {"company": ["bitmain", "canaan"]})[0] == 0
    # However many old slugs, one lookup for all of them.
    for slugs in (["bitmaintech"], ["bitmaintech", "bitmain-technologies", "canaan"]):
        count, results = _merged_lookups("/api/figures/", {"company": slugs})
        assert count == 1, slugs
        assert {f["company"] for f in results} <= {"bitmain", "canaan"}


def test_the_total_number_of_queries_does_not_grow_with_the_number_of_old_slugs(world):
    def total(slugs: list[str]) -> int:
        with CaptureQueriesContext(connection) as queries:
            _get("/api/articles/", company=slugs)
        return len(queries.captured_queries)

    assert total(["bitmaintech"]) == total(["bitmaintech", "bitmain-technologies"])
