"""No input produces a 500, and every error is JSON that names what is wrong.

The fuzz tests throw malformed values at every filter of every endpoint, at the paths, at the paging,
ordering and format parameters, and at every writable field; each answer must be a 200 or a 4xx JSON.
"""

import json

import pytest
from django.db.models import F
from rest_framework.test import APIClient

from articles.api import views
from articles.api.errors import exception_handler
from articles.api.views import RecordViewSet
from articles.models import Event, Figure, Person
from articles.services.base import StaleWriteError

from .base import (
    detail_path,
    made_once,
    make_article,
    make_company,
    make_event,
    make_figure,
    make_person,
    token_client,
)

VIEWSETS = {
    "articles": views.ArticleViewSet,
    "companies": views.CompanyViewSet,
    "people": views.PersonViewSet,
    "events": views.EventViewSet,
    "figures": views.FigureViewSet,
}

GARBAGE = [
    "",
    " ",
    "abc",
    "null",
    "-1",
    "0",
    "1.5",
    "0.0000001",
    "1e400",
    "-1E+400",
    "NaN",
    "-Infinity",
    str(2**63),
    str(-(2**63) - 1),
    "9" * 30,
    "9" * 5000,
    "2021-13-01",
    "2021-02-30",
    "0000-01-01",
    "0001-01-01",
    "9999-12-31",
    "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59-05:00",
    "2021-06-01T25:00",
    "\x00",
    "a\x00b",
    "%_%",
    "'; DROP TABLE articles_figure; --",
    "\\",
    "🦄 Ω",
    "word " * 100,
    "x" * 3000,
    "-",
    "-value,,",
    "[]",
]


def make_records() -> None:
    acme = make_company("acme", aliases=("Acme Corp",))
    borealis = make_company("borealis", parent=acme)
    jane = make_person("jane-roe", affiliation=acme)
    article = make_article("story", publisher=borealis, companies=(acme, borealis), people=(jane,))
    make_event(article, "revenue", participants=((acme, "subject"), (jane, "speaker")))
    make_figure(article, "revenue", company=acme)
    make_figure(article, "revenue-subject", subject="Hash price", company=None)


@pytest.fixture
def records(db):
    make_records()


@pytest.fixture(scope="class")
def records_once(django_db_setup, django_db_blocker):
    """``make_records`` once for a test class (see ``made_once``): tests ask for it through the class's ``records``."""
    yield from made_once(django_db_blocker, make_records)


def _answer_problem(response, where: str) -> str | None:
    """What is wrong with an answer, or None: a 200, or a 4xx whose body is JSON."""
    if response.status_code >= 500:
        return f"{where}: {response.status_code}"
    if response.status_code >= 400:
        try:
            json.loads(response.content)
        except ValueError:
            return f"{where}: {response.status_code} is not JSON"
    return None


# Every filter of every endpoint, one test each (so that xdist spreads them over its workers).
FILTERS = [
    pytest.param(route, name, id=f"{route}-{name}")
    for route, viewset in VIEWSETS.items()
    for name in viewset.filterset_class.base_filters
]

BODY_GARBAGE = [
    None,
    "",
    " ",
    "x" * 10000,
    -1,
    0,
    2**70,
    1e308,
    1.5,
    True,
    [],
    {},
    [[]],
    {"a": 1},
    "\x00",
    "2021-13-01",
]


class TestGarbageIsNeverA500:
    """The fuzz tests: thousands of requests over the same few records, made once for the class. Each test runs
    in its own savepoint, so what a write test's garbage gets written is undone before the next test."""

    @pytest.fixture
    def records(self, records_once, db):
        return records_once

    @pytest.mark.parametrize(("route", "name"), FILTERS)
    def test_garbage_in_any_filter_is_never_a_500(self, records, route, name):
        client = APIClient()
        problems = []
        for value in GARBAGE:
            response = client.get(f"/api/{route}/", {name: value})
            problems.append(_answer_problem(response, f"{name}={value[:20]!r}"))
            if response.status_code == 400:
                assert name in response.json(), (name, value, response.json())
        response = client.get(f"/api/{route}/", {name: ["1", "abc", "acme", "null", "2021-01-01"] * 100})
        problems.append(_answer_problem(response, f"{name} repeated"))
        assert [p for p in problems if p] == []

    @pytest.mark.parametrize("route", VIEWSETS)
    def test_garbage_paging_ordering_format_and_paths_are_never_a_500(self, records, route):
        client = APIClient()
        problems = []
        for name in ("limit", "offset", "ordering", "format"):
            for value in GARBAGE:
                response = client.get(f"/api/{route}/", {name: value})
                problems.append(_answer_problem(response, f"{name}={value[:20]!r}"))
                if response.status_code == 400:
                    assert name in response.json()
        for value in GARBAGE + ["..", "%2F", "1;2", "999999999999999999999999"]:
            for suffix in ("", "history/"):
                response = client.get(f"/api/{route}/{value}/{suffix}")
                problems.append(_answer_problem(response, f"path {value[:20]!r}/{suffix}"))
        assert [p for p in problems if p] == []

    @pytest.mark.parametrize("route", VIEWSETS)
    def test_garbage_in_any_field_of_a_write_is_never_a_500(self, records, editor, route):
        client = token_client(editor)
        viewset = VIEWSETS[route]
        model = viewset.queryset.model
        pk = model.objects.order_by("pk").first().pk
        serializer = (viewset.detail_serializer_class or viewset.serializer_class)()
        writable = [name for name, field in serializer.fields.items() if not field.read_only]
        problems = []
        for name in writable:
            for value in BODY_GARBAGE:
                # Asked afresh each time: a PATCH that went through may have changed the slug in the path.
                path = detail_path(model.objects.get(pk=pk))
                response = client.patch(path, {name: value}, format="json")
                problems.append(_answer_problem(response, f"PATCH {name}={str(value)[:20]!r}"))
                response = client.post(f"/api/{route}/", {name: value}, format="json")
                problems.append(_answer_problem(response, f"POST {name}={str(value)[:20]!r}"))
            response = client.post(f"/api/{route}/", {name: "x\x00"}, format="multipart")
            problems.append(_answer_problem(response, f"POST form {name}"))
        path = detail_path(model.objects.get(pk=pk))
        for raw in ["{", "[", "nul", '"text"', "[1, 2]", "[" * 100000 + "]" * 100000, '{"a": NaN}', "\x00"]:
            for method in (client.post, client.put, client.patch):
                target = f"/api/{route}/" if method == client.post else path
                response = method(target, raw, content_type="application/json")
                problems.append(_answer_problem(response, f"{method.__name__} body {raw[:10]!r}"))
        response = client.delete(path, "[" * 100000, content_type="application/json")
        problems.append(_answer_problem(response, "DELETE body"))
        assert [p for p in problems if p] == []


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"value__gte": "abc"}, "value__gte"),
        ({"period_start__gte": "2021-13-01"}, "period_start__gte"),
        ({"company": "nobody"}, "company"),
        ({"company_id": "abc"}, "company_id"),
        ({"metric": "profit!"}, "metric"),
        ({"ordering": "-nothing"}, "ordering"),
        ({"limit": "-5"}, "limit"),
        ({"offset": "x"}, "offset"),
        ({"format": "xml"}, "format"),
        ({"compnay": "acme"}, "compnay"),
    ],
)
def test_an_invalid_or_unknown_parameter_is_a_400_naming_it(records, client, params, named):
    response = client.get("/api/figures/", params)
    assert response.status_code == 400
    assert list(response.json()) == [named]


def test_a_large_limit_is_capped_at_1000_silently(db, client):
    article, acme = make_article("story"), make_company("acme")
    Figure.objects.bulk_create(
        [
            Figure(
                article=article,
                key=f"f{i}",
                company=acme,
                metric="count",
                value=i,
                unit="units",
                as_reported="x",
                quote="x",
                quote_start=0,
                quote_end=1,
            )
            for i in range(1001)
        ]
    )
    body = client.get("/api/figures/", {"limit": 1_000_000}).json()
    assert (body["count"], len(body["results"])) == (1001, 1000)
    assert "limit=1000" in body["next"]
    assert len(client.get("/api/figures/").json()["results"]) == 50


def test_an_offset_past_the_end_is_an_empty_page(records, client):
    body = client.get("/api/figures/", {"offset": 10**17}).json()
    assert (body["count"], body["results"]) == (2, [])


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/api/no-such-thing/", 404),
        ("get", "/api/figures/not-a-number/", 404),
        ("get", "/api/companies/nobody/", 404),
        ("get", "/api/companies/nobody/history/", 404),
        ("post", "/api/figures/", 401),
        ("delete", "/api/companies/acme/", 401),
    ],
)
def test_every_error_is_json(records, method, path, status):
    response = getattr(APIClient(), method)(path)
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"]


def test_a_method_an_endpoint_does_not_have_is_a_json_405(records, editor):
    response = token_client(editor).put("/api/companies/", {}, format="json")
    assert response.status_code == 405
    assert response.json()["detail"]


def test_an_unsupported_media_type_is_a_json_415(records, editor):
    response = token_client(editor).generic("POST", "/api/companies/", "<xml/>", content_type="application/xml")
    assert response.status_code == 415
    assert response.json()["detail"]


def test_an_unacceptable_accept_header_is_a_json_406(records, client):
    response = client.get("/api/companies/", HTTP_ACCEPT="application/xml")
    assert response.status_code == 406
    assert response.json()["detail"]


def test_a_path_without_its_slash_is_redirected_to_the_endpoint(records, client):
    response = client.get("/api/companies")
    assert (response.status_code, response["Location"]) == (301, "/api/companies/")


def test_a_save_that_loses_a_race_with_another_editor_is_a_412(records, editor, monkeypatch):
    figure = Figure.objects.get(key="revenue")

    check = RecordViewSet.expected_version

    def someone_else_saves_right_after_the_check(self, request, instance):
        expected = check(self, request, instance)
        Figure.objects.filter(pk=instance.pk).update(version=F("version") + 1)
        return expected

    monkeypatch.setattr(RecordViewSet, "expected_version", someone_else_saves_right_after_the_check)
    response = token_client(editor).patch(
        f"/api/figures/{figure.pk}/", {"note": "mine"}, format="json", HTTP_IF_MATCH=f'"{figure.version}"'
    )
    assert response.status_code == 412
    assert "changed by someone else" in response.json()["detail"]
    figure.refresh_from_db()
    assert figure.note == ""  # (the simulated rival save shared this request's transaction, so it rolled back too)


def test_a_stale_write_error_is_a_412(records):
    figure = Figure.objects.get(key="revenue")
    response = exception_handler(StaleWriteError(figure, 1, 2), {"view": None, "request": None})
    assert response.status_code == 412


def test_an_unexpected_error_is_a_logged_json_500(caplog):
    response = exception_handler(RuntimeError("boom"), {"view": None, "request": None})
    assert (response.status_code, response.data) == (500, {"detail": "Server error: this is a bug in newsdb."})
    assert "boom" in caplog.text


def test_deleting_a_record_others_refer_to_is_a_409_and_changes_nothing(records, editor):
    response = token_client(editor).delete("/api/people/jane-roe/")
    assert response.status_code == 409
    assert "event participants" in response.json()["detail"]
    assert Person.objects.filter(slug="jane-roe").exists()


def test_nothing_is_written_when_a_nested_list_fails(records, editor):
    event = Event.objects.get(key="revenue")
    body = {"title": "Changed", "participants": [{"company": "acme", "role": "subject"}, {"person": "x"}]}
    assert token_client(editor).patch(f"/api/events/{event.pk}/", body, format="json").status_code == 400
    event.refresh_from_db()
    assert (event.title, event.version, event.participants.count()) == ("Revenue", 1, 2)


def test_an_error_outside_the_api_views_is_still_json_under_api(rf):
    from articles.api.errors import server_error

    response = server_error(rf.get("/api/figures/"))
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert server_error(rf.get("/admin/")).status_code == 500
