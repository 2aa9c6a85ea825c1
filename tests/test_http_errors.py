"""Every error under /api/ is JSON, including those Django or the server answers before any view runs: a
disallowed Host (400), an unknown path (404), a wrong method (405), a body too large (413), a URL too long (414)
and a crash outside the views (500). Outside /api/ the admin keeps Django's pages."""

import pytest
from django.test import Client

from newsdb.middleware import RequestLimitsMiddleware


def assert_json_error(response, status: int) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json", response["Content-Type"]
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    return body


@pytest.mark.parametrize("path", ["/api/", "/api/figures/", "/api/companies/acme/", "/api/nowhere/"])
def test_a_disallowed_host_is_a_json_400_under_api(client, db, path):
    body = assert_json_error(client.get(path, HTTP_HOST="attacker.example"), 400)
    assert body == {"detail": "Bad request: this server does not answer to the host name in the Host header."}


def test_a_disallowed_host_outside_api_keeps_django_s_page(client, db):
    response = client.get("/admin/login/", HTTP_HOST="attacker.example")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


def test_unknown_paths_and_records_are_json_404s(client, db):
    assert_json_error(client.get("/api/nowhere/"), 404)
    assert_json_error(client.get("/api/figures/999999/"), 404)
    assert_json_error(client.get("/api/companies/no-such-company/"), 404)
    assert_json_error(client.get("/api/figures/not-a-number/"), 404)


def test_a_method_an_endpoint_does_not_take_is_a_json_405(client, db, editor):
    client.force_login(editor)
    body = assert_json_error(client.delete("/api/figures/"), 405)
    assert body == {"detail": 'Method "DELETE" not allowed.'}
    body = assert_json_error(client.post("/api/figures/1/history/", {}, content_type="application/json"), 405)
    assert body == {"detail": 'Method "POST" not allowed.'}


def test_a_url_over_the_limit_is_a_json_414_under_api(client, db, settings):
    assert settings.NEWSDB_MAX_URL_LENGTH == 8000
    response = client.get("/api/figures/", {"q": "x" * 10_000})
    body = assert_json_error(response, 414)
    assert (
        body["detail"] == f"The URL is {len('/api/figures/') + len('q=') + 10_000} characters long; the limit is 8000."
    )
    # Just under the limit the request goes through (and the search's own limit answers).
    query_length = 8000 - len("/api/figures/") - len("q=")
    response = client.get("/api/figures/", {"q": "x" * query_length})
    assert response.status_code == 400
    assert list(response.json()) == ["q"]


def test_a_url_over_the_limit_outside_api_is_a_plain_414(client, db):
    response = client.get("/admin/", {"q": "x" * 9000})
    assert response.status_code == 414
    assert response["Content-Type"].startswith("text/plain")


def test_a_crash_before_any_view_is_a_json_500_under_api(db, monkeypatch):
    def crash(self, request):
        raise RuntimeError("boom")

    monkeypatch.setattr(RequestLimitsMiddleware, "__call__", crash)
    client = Client(raise_request_exception=False)
    body = assert_json_error(client.get("/api/figures/"), 500)
    assert body == {"detail": "Internal server error."}
    assert client.get("/admin/login/")["Content-Type"].startswith("text/html")


def test_a_malformed_form_body_under_api_is_json(db, editor):
    client = Client()
    client.force_login(editor)
    response = client.generic(
        "POST", "/api/companies/", "name=x&" * 2000, content_type="application/x-www-form-urlencoded"
    )
    # More fields than DATA_UPLOAD_MAX_NUMBER_FIELDS (1000): Django refuses to parse it.
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"


def test_a_write_without_its_csrf_token_is_a_json_403_under_api(db, editor):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(editor)
    body = assert_json_error(browser.post("/api/companies/", {"slug": "x", "name": "X"}), 403)
    assert body["detail"].startswith("CSRF Failed")
    # A path that names no endpoint is a JSON 404 whatever the method (no CSRF check first).
    assert_json_error(browser.delete("/api/companies/not a slug/"), 404)
    body = assert_json_error(browser.post("/api/redoc/redoc.standalone.js"), 403)
    assert body["detail"].startswith("CSRF Failed")
    assert browser.post("/admin/logout/")["Content-Type"].startswith("text/html")


def test_an_empty_format_is_a_400_naming_it(client, db):
    body = client.get("/api/", {"format": ""}).json()
    assert body == {"format": ["Empty format; use one of: json, api, csv, jsonl."]}


@pytest.mark.parametrize("route", ["companies", "events", "figures", "deletions"])
def test_a_time_with_an_offset_postgresql_refuses_is_compared_in_utc(client, db, route):
    # PostgreSQL refuses offsets beyond +/-15:59, which ISO 8601 allows: such a filter once was a 500 there.
    parameter = "since" if route == "deletions" else "updated_at__gte"
    response = client.get(f"/api/{route}/", {parameter: "0341-09-30T10:04:43.1+23:15", "cursor": ""})
    assert response.status_code == 200, response.content
    response = client.get(f"/api/{route}/", {parameter: "6321-11-11T19:08:20+23:11", "format": "csv"})
    assert response.status_code == 200
