"""Protected from abuse: rate limits (429 JSON with Retry-After), the admin's login lockout, and size limits on
bodies, text fields and lists (a 400 or 413 that names the limit).

The suite runs without rate limits (tests/settings.py); the tests here set low ones.
"""

import json
import time

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from articles.models import Article, Company

from .base import make_article, make_company, make_event, make_person, token_client

RATES = {
    "anon": "5/minute",
    "user": "8/minute",
    "bad_token": "3/minute",
    "anon_expensive": "10/minute",
    "user_expensive": "10/minute",
}


@pytest.fixture
def rates(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": RATES}
    cache.clear()
    yield RATES
    cache.clear()


def assert_throttled(response) -> int:
    assert response.status_code == 429, response.content
    assert response["Content-Type"] == "application/json"
    wait = int(response["Retry-After"])
    assert 0 < wait <= 60
    assert response.json()["detail"].startswith(("Request was throttled.", "Too many failed token attempts"))
    return wait


# --- Rate limits ---


def test_an_anonymous_client_over_the_limit_gets_a_json_429_with_retry_after(db, rates):
    client = APIClient()
    assert [client.get("/api/companies/").status_code for _ in range(5)] == [200] * 5
    wait = assert_throttled(client.get("/api/companies/"))
    assert f"Expected available in {wait} second" in client.get("/api/companies/").json()["detail"]
    # Per address: another client is not held back; every endpoint counts against the same limit.
    assert APIClient(REMOTE_ADDR="192.0.2.7").get("/api/companies/").status_code == 200
    assert_throttled(client.get("/api/figures/"))


def test_exports_and_the_schema_count_too(db, rates):
    client = APIClient()
    for path in ["/api/figures/?format=csv", "/api/figures/?format=jsonl", "/api/schema/", "/api/", "/api/deletions/"]:
        assert client.get(path).status_code == 200, path
    assert_throttled(client.get("/api/figures/", {"format": "csv"}))


@pytest.fixture
def expensive_rates(settings):
    """Only the lower limit of the expensive requests; the general ones are high enough not to interfere."""
    rates = {
        **RATES,
        "anon": "100/minute",
        "user": "100/minute",
        "anon_expensive": "2/minute",
        "user_expensive": "3/minute",
    }
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    cache.clear()
    yield rates
    cache.clear()


def assert_expensive_throttled(response, who: str, rate: str) -> int:
    assert response.status_code == 429, response.content
    assert response["Content-Type"] == "application/json"
    wait = int(response["Retry-After"])
    assert 0 < wait <= 60
    assert response.json() == {
        "detail": "Request was throttled: exports (format=csv, format=jsonl) and the consistency report of every "
        f"company read the whole data set, and take at most {rate} for each {who}. Expected available in {wait} "
        f"second{'s' if wait != 1 else ''}."
    }
    return wait


def test_exports_and_the_whole_consistency_report_have_a_lower_limit_per_address(db, expensive_rates):
    company = make_company("bitmain")
    client = APIClient()
    assert client.get("/api/figures/", {"format": "csv"}).status_code == 200
    assert client.get("/api/events/", {"format": "jsonl"}).status_code == 200
    assert_expensive_throttled(client.get("/api/articles/", {"format": "csv"}), "address", "2/minute")
    assert_expensive_throttled(client.get("/api/reports/consistency/"), "address", "2/minute")
    # Pages, one company's report and a single record are not held back; they count against "anon" only.
    for path in [
        "/api/figures/",
        "/api/figures/?format=json",
        f"/api/reports/consistency/?company={company.slug}",
        f"/api/companies/{company.slug}/",
        "/api/deletions/?format=csv",
    ]:
        assert client.get(path).status_code == 200, path
    # Per address: another address still exports.
    assert APIClient(REMOTE_ADDR="192.0.2.8").get("/api/reports/consistency/").status_code == 200
    # An export asked for by its media type counts as one asked for by ?format=.
    by_accept = APIClient(REMOTE_ADDR="192.0.2.9", HTTP_ACCEPT="text/csv")
    assert [by_accept.get("/api/figures/")["Content-Type"] for _ in range(2)] == ["text/csv; charset=utf-8"] * 2
    assert_expensive_throttled(by_accept.get("/api/events/"), "address", "2/minute")


def test_a_logged_in_user_exports_on_a_budget_of_their_own(db, expensive_rates, editor):
    api = token_client(editor)
    assert [api.get("/api/figures/", {"format": "csv"}).status_code for _ in range(3)] == [200] * 3
    assert_expensive_throttled(api.get("/api/figures/", {"format": "jsonl"}), "user", "3/minute")
    # Anonymous readers at the same address have their own.
    assert APIClient().get("/api/figures/", {"format": "csv"}).status_code == 200


def test_off_turns_the_lower_limit_off(db, expensive_rates, settings):
    rates = {**expensive_rates, "anon_expensive": None}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    client = APIClient()
    assert [client.get("/api/figures/", {"format": "csv"}).status_code for _ in range(5)] == [200] * 5


def test_a_logged_in_user_has_a_limit_of_their_own(db, rates, editor):
    api = token_client(editor)
    assert [api.get("/api/companies/").status_code for _ in range(8)] == [200] * 8
    assert_throttled(api.get("/api/companies/"))
    # The same address without the token counts separately (the anonymous limit).
    assert APIClient().get("/api/companies/").status_code == 200


def test_failed_tokens_are_throttled_per_address_even_the_right_one_after(db, rates, editor):
    key = Token.objects.create(user=editor).key
    guesser = APIClient(REMOTE_ADDR="198.51.100.20")
    for attempt in range(3):
        guesser.credentials(HTTP_AUTHORIZATION=f"Token wrong{attempt:036d}")
        response = guesser.get("/api/companies/")
        assert response.status_code == 401, response.content
    guesser.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert_throttled(guesser.get("/api/companies/"))
    response = guesser.patch("/api/companies/whatever/", {"name": "x"}, format="json")
    assert response.status_code == 429
    assert "Too many failed token attempts" in response.json()["detail"]
    # The right token from another address still works.
    other = APIClient(REMOTE_ADDR="198.51.100.21")
    other.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert other.get("/api/companies/").status_code == 200


def test_the_client_address_behind_a_proxy_is_read_from_x_forwarded_for(db, rates, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    first = APIClient(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.1")
    second = APIClient(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.2")
    assert [first.get("/api/").status_code for _ in range(5)] == [200] * 5
    assert_throttled(first.get("/api/"))
    assert second.get("/api/").status_code == 200


def test_without_proxies_x_forwarded_for_cannot_dodge_the_limit(db, rates):
    for n in range(5):
        assert APIClient(HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").get("/api/").status_code == 200
    assert_throttled(APIClient(HTTP_X_FORWARDED_FOR="203.0.113.99").get("/api/"))


# --- The admin's login lockout (django-axes) ---


def admin_login(client, username: str, password: str):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password, "next": "/admin/"})


PASSWORD = "a-test-only-password-1"  # the editor fixture's


def test_the_admin_locks_out_after_the_configured_failures_even_the_right_password(client, editor, settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    for _ in range(4):
        response = admin_login(client, "editor", "wrong-password")
        assert response.status_code == 200  # the form again, with its error
        assert "_auth_user_id" not in client.session
    # The fifth failure locks the account out; so is the right password after it.
    assert admin_login(client, "editor", "wrong-password").status_code == 429
    response = admin_login(client, "editor", PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    # From another address too: the username is locked.
    assert admin_login(Client(REMOTE_ADDR="192.0.2.50"), "editor", PASSWORD).status_code == 429

    call_command("axes_reset_username", "editor", verbosity=0)
    call_command("axes_reset_ip", "127.0.0.1", verbosity=0)
    response = admin_login(client, "editor", PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.session["_auth_user_id"] == str(editor.pk)


def test_guessing_many_usernames_from_one_address_locks_the_address(client, editor):
    for n in range(4):
        assert admin_login(client, f"guess{n}", "wrong-password").status_code == 200
    assert admin_login(client, "guess4", "wrong-password").status_code == 429
    assert admin_login(client, "editor", PASSWORD).status_code == 429
    call_command("axes_reset", verbosity=0)
    assert admin_login(client, "editor", PASSWORD).status_code == 302


def test_a_success_clears_the_failures(client, editor):
    for _ in range(4):
        admin_login(client, "editor", "wrong-password")
    assert admin_login(client, "editor", PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        admin_login(client, "editor", "wrong-password")
    assert admin_login(client, "editor", PASSWORD).status_code == 302


def test_the_browsable_api_login_locks_out_too(client, editor):
    for attempt in range(5):
        response = client.post("/api-auth/login/", {"username": "editor", "password": "nope", "next": "/api/"})
        assert response.status_code == (429 if attempt == 4 else 200)
    response = client.post("/api-auth/login/", {"username": "editor", "password": PASSWORD, "next": "/api/"})
    assert response.status_code == 429


# --- Size limits ---


def test_a_body_over_the_upload_limit_is_a_json_413_before_anything_reads_it(db, editor, settings):
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 2_621_440
    body = json.dumps({"slug": "huge", "title": "Huge", "body": "x" * 50_000_000})
    started = time.perf_counter()
    response = token_client(editor).post("/api/articles/", body, content_type="application/json")
    assert time.perf_counter() - started < 5
    assert response.status_code == 413
    assert response.json() == {
        "detail": f"The request body is {len(body)} bytes; the limit is 2621440 bytes.",
    }
    assert not Article.objects.filter(slug="huge").exists()


def test_an_admin_form_over_the_upload_limit_is_a_413(editor_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = editor_client.post("/admin/articles/company/add/", {"name": "x" * 2000, "slug": "x"})
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/plain")


def test_an_article_body_over_the_limit_is_a_400_naming_it(db, editor, settings):
    settings.NEWSDB_MAX_ARTICLE_LENGTH = 1000
    data = {"slug": "long", "title": "Long", "body": "y" * 1001, "published_on": "2024-01-01"}
    api = token_client(editor)
    response = api.post("/api/articles/", data, format="json")
    assert response.status_code == 400
    assert response.json() == {"body": ["Ensure this field has no more than 1000 characters."]}
    response = api.post("/api/articles/", {**data, "body": "y" * 1000}, format="json")
    assert response.status_code == 201, response.content


def test_a_text_field_over_its_limit_is_a_400_naming_it(db, editor):
    make_company("acme")
    response = token_client(editor).patch("/api/companies/acme/", {"description": "z" * 20_001}, format="json")
    assert response.status_code == 400
    assert response.json() == {"description": ["Ensure this field has no more than 20000 characters."]}


def test_ten_thousand_aliases_are_refused_at_once(db, editor):
    acme = make_company("acme", aliases=("Acme Corp",))
    aliases = [{"name": f"Alias {n}", "garbled": True, "note": "x" * 100} for n in range(10_000)]
    api = token_client(editor)
    started = time.perf_counter()
    response = api.patch("/api/companies/acme/", {"aliases": aliases}, format="json")
    elapsed = time.perf_counter() - started
    assert response.status_code == 400
    assert response.json() == {"aliases": ["At most 100 items; this list has 10000."]}
    assert elapsed < 2, elapsed
    acme.refresh_from_db()
    assert (acme.version, list(acme.aliases.values_list("name", flat=True))) == (1, ["Acme Corp"])
    # At the limit it is accepted.
    response = api.patch("/api/companies/acme/", {"aliases": [f"Alias {n}" for n in range(100)]}, format="json")
    assert response.status_code == 200, response.content
    assert len(response.json()["aliases"]) == 100


@pytest.mark.parametrize(
    ("route", "field", "limit"),
    [("events", "participants", 100), ("articles", "authors", 50), ("articles", "companies", 500)],
)
def test_every_list_has_a_limit_named_in_the_400(db, editor, route, field, limit):
    acme = make_company("acme")
    jane = make_person("jane")
    article = make_article("story", companies=(acme,), people=(jane,))
    event = make_event(article, "revenue", participants=((acme, "subject"),))
    path = f"/api/events/{event.pk}/" if route == "events" else f"/api/articles/{article.slug}/"
    item = {"participants": {"company": "acme", "role": "subject"}, "authors": "A. Writer", "companies": "acme"}[field]
    response = token_client(editor).patch(path, {field: [item] * (limit + 1)}, format="json")
    assert response.status_code == 400
    assert response.json() == {field: [f"At most {limit} items; this list has {limit + 1}."]}


def test_the_limits_are_in_the_schema(client, db):
    schema = client.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]
    assert schema["PatchedCompanyRequest"]["properties"]["aliases"]["maxItems"] == 100
    assert schema["PatchedArticleDetailRequest"]["properties"]["authors"]["maxItems"] == 50
    assert schema["ArticleDetailRequest"]["properties"]["body"]["maxLength"] == 200_000
    assert schema["CompanyRequest"]["properties"]["description"]["maxLength"] == 20_000


def test_no_new_user_or_company_comes_from_a_refused_write(db, editor):
    users, companies = User.objects.count(), Company.objects.count()
    token_client(editor).post("/api/companies/", {"slug": "x", "name": "X", "aliases": ["a"] * 101}, format="json")
    assert (User.objects.count(), Company.objects.count()) == (users, companies)
