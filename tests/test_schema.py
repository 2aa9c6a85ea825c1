"""The OpenAPI schema generates without a warning and documents every route; the docs and the browsable API
work with local assets only."""

import re

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command

from articles.urls import router


@pytest.fixture(scope="module")
def schema(django_db_blocker, tmp_path_factory):
    path = tmp_path_factory.mktemp("schema") / "schema.yaml"
    with django_db_blocker.unblock():
        # The same as `manage.py spectacular --validate --fail-on-warn`: any warning or error raises.
        call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return yaml.safe_load(path.read_text())


def expected_paths() -> set[str]:
    paths = set()
    for prefix, viewset, _ in router.registry:
        paths.add(f"/api/{prefix}/")
        if hasattr(viewset, "retrieve"):  # /api/deletions/ is a list only
            lookup = viewset.lookup_field if viewset.lookup_field != "pk" else "id"
            paths |= {f"/api/{prefix}/{{{lookup}}}/", f"/api/{prefix}/{{{lookup}}}/history/"}
    paths.add("/api/reconcile/")  # the Reconciliation API (OpenRefine): a view of its own, not a router resource
    # Analytics: a series, counts per period, a company's timeline (viewset actions) and the consistency report.
    paths |= {
        "/api/figures/series/",
        "/api/figures/counts/",
        "/api/events/counts/",
        "/api/companies/{slug}/timeline/",
        "/api/reports/consistency/",
    }
    paths.add("/api/search/")  # ranked full-text search across every type: a view of its own
    paths.add("/api/articles/ingest/")  # an article from its text, with proposals (editors)
    return paths


def test_the_schema_generates_without_warnings_or_errors(schema):
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "newsdb API"


def test_every_route_is_in_the_schema_and_nothing_else(schema):
    assert set(schema["paths"]) == expected_paths()
    assert len(expected_paths()) == 24


@pytest.mark.parametrize(
    ("path", "method", "codes"),
    [
        ("/api/figures/", "get", {"200", "400"}),
        ("/api/figures/", "post", {"201", "400", "401", "403", "413"}),
        ("/api/figures/{id}/", "get", {"200", "400", "404"}),
        ("/api/figures/{id}/", "patch", {"200", "400", "401", "403", "404", "412", "413"}),
        ("/api/companies/{slug}/", "delete", {"204", "400", "401", "403", "404", "409", "412"}),
        ("/api/events/{id}/history/", "get", {"200", "400", "404"}),
    ],
)
def test_the_error_responses_are_documented(schema, path, method, codes):
    """Besides each operation's own answers, any may be a 414 (too long a URL) or a 503 (overloaded), and any
    with a body a 413 (too large a body)."""
    assert set(schema["paths"][path][method]["responses"]) == codes | {"414", "503"}


def test_an_overloaded_answer_documents_when_to_retry(schema):
    unavailable = schema["paths"]["/api/figures/"]["get"]["responses"]["503"]
    assert unavailable["headers"]["Retry-After"]["schema"] == {"type": "integer"}
    assert "overloaded" in unavailable["description"]


def test_the_filters_are_documented_with_their_help(schema):
    parameters = {p["name"]: p for p in schema["paths"]["/api/companies/"]["get"]["parameters"]}
    assert "aliases" in parameters["q"]["description"]
    assert {"limit", "offset", "ordering", "parent", "parent_id", "kind"} <= set(parameters)
    assert parameters["kind"]["schema"]["type"] == "array"


def test_writes_document_if_match_and_a_write_only_change_reason(schema):
    parameters = {p["name"] for p in schema["paths"]["/api/figures/{id}/"]["put"]["parameters"]}
    assert "If-Match" in parameters
    components = schema["components"]["schemas"]
    assert "change_reason" in components["FigureRequest"]["properties"]
    assert "change_reason" not in components["Figure"]["properties"]


def test_the_schema_is_served_as_json(client, db):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    assert set(response.json()["paths"]) == expected_paths()


def test_the_interactive_docs_load_their_assets_locally(client, db):
    page = client.get("/api/docs/").content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert any("swagger-ui" in asset for asset in assets)
    assert all(asset.startswith("/static/") for asset in assets if "swagger" in asset)
    for asset in assets:
        assert finders.find(asset.removeprefix("/static/")), asset  # shipped by drf-spectacular-sidecar
    assert "cdn" not in page.lower()
    assert client.get("/api/redoc/").status_code == 200


def test_the_browsable_api_shows_the_filter_form(client, db):
    page = client.get("/api/figures/", HTTP_ACCEPT="text/html").content.decode()
    assert "Filters" in page
    assert 'name="value__gte"' in page and 'name="company"' in page


def test_the_api_root_lists_every_endpoint_and_the_docs(client, db):
    root = client.get("/api/").json()
    assert set(root) == {
        "articles",
        "companies",
        "people",
        "events",
        "figures",
        "deletions",
        "schema",
        "docs",
        "reconcile",
        "consistency_report",
        "search",
    }


def test_the_reconciliation_api_is_documented(schema):
    get = schema["paths"]["/api/reconcile/"]["get"]
    assert {p["name"] for p in get["parameters"]} == {"queries", "callback"}
    assert set(get["responses"]) == {"200", "400", "414", "503"}
    post = schema["paths"]["/api/reconcile/"]["post"]
    assert {"application/x-www-form-urlencoded", "application/json"} <= set(post["requestBody"]["content"])
    assert set(post["responses"]) == {"200", "400", "413", "414", "503"}


def test_the_new_filters_are_documented_with_their_help(schema):
    figures = {p["name"]: p for p in schema["paths"]["/api/figures/"]["get"]["parameters"]}
    assert "overlaps" in figures["value_overlaps"]["description"]
    assert "quote_start" in str(figures["ordering"]["schema"])
    events = {p["name"]: p for p in schema["paths"]["/api/events/"]["get"]["parameters"]}
    assert "US government bodies" in events["participant_kind"]["description"]
    assert "government" in str(events["participant_kind"]["schema"])
    companies = {p["name"]: p for p in schema["paths"]["/api/companies/"]["get"]["parameters"]}
    assert "any case" in companies["country"]["description"]


@pytest.mark.parametrize(
    ("path", "parameters"),
    [
        ("/api/figures/series/", {"company", "metric", "unit"}),
        ("/api/companies/{slug}/timeline/", {"slug", "limit"}),
        ("/api/reports/consistency/", {"tolerance", "include_ok", "company", "kind", "limit", "offset"}),
    ],
)
def test_the_analytics_parameters_are_documented(schema, path, parameters):
    get = schema["paths"][path]["get"]
    assert {p["name"] for p in get["parameters"]} == parameters
    assert {"200", "400"} <= set(get["responses"])


@pytest.mark.parametrize(
    ("path", "filters"), [("/api/events/counts/", {"type", "company"}), ("/api/figures/counts/", {"metric", "company"})]
)
def test_the_counts_take_the_lists_filters_and_by(schema, path, filters):
    names = {p["name"] for p in schema["paths"][path]["get"]["parameters"]}
    assert {"by", *filters} <= names


def test_search_is_documented_with_its_parameters_and_results(schema):
    get = schema["paths"]["/api/search/"]["get"]
    parameters = {p["name"]: p for p in get["parameters"]}
    assert set(parameters) == {"q", "type", "limit", "offset"}
    assert parameters["q"]["required"] is True
    assert parameters["type"]["schema"]["items"]["enum"] == ["article", "event", "figure", "company", "person"]
    assert set(get["responses"]) == {"200", "400", "414", "503"}
    page = get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    result = schema["components"]["schemas"][page]["properties"]["results"]["items"]["$ref"].rsplit("/", 1)[1]
    assert set(schema["components"]["schemas"][result]["properties"]) == {
        "type",
        "id",
        "slug",
        "title",
        "snippet",
        "score",
        "api_url",
    }
