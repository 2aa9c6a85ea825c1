"""The API and the admin behind a real HTTP server, as ``runserver`` serves them.

Django's test client calls the application directly, so it never notices what only a real server refuses:
the first version of newsdb answered every successful POST with a 500 under ``runserver`` because the
``Location`` header was DRF's ``Hyperlink`` object rather than a ``str`` (wsgiref asserts that every
header is a string). These tests talk HTTP to pytest-django's ``live_server`` (Django's threaded WSGI
server, built on wsgiref like runserver) with nothing but ``urllib``.

The live server sees only committed data, hence a transactional database; ``serialized_rollback`` puts
back what the migrations created (the ``editors`` group) for the tests that run after these.
"""

import html.parser
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from email.message import Message

import pytest
from django.core.cache import cache
from django.db import connections
from django.test.testcases import LiveServerThread
from rest_framework.authtoken.models import Token

from articles.models import Article, Company, Event, Figure
from articles.services.companies import company_merge

from .base import make_article, make_company, make_figure

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

BODY = (
    "Bitmain made $1.082 billion in revenue. "
    "Canaan sold 10,000 machines to Bitmain in March 2024. "
    "Bitmain's profit was $742.7 million."
)
REVENUE_QUOTE = "Bitmain made $1.082 billion in revenue."
SALE_QUOTE = "Canaan sold 10,000 machines to Bitmain in March 2024."
PROFIT_QUOTE = "Bitmain's profit was $742.7 million."
ARTICLE = "bitmain-results"


# --- HTTP with urllib: every status is an answer (no exception), redirects are not followed. ---


class _DontFollowRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


OPENER = urllib.request.build_opener(_DontFollowRedirects)


@dataclass
class Reply:
    method: str
    url: str
    status: int
    headers: Message
    body: bytes

    def json(self) -> object:
        assert self.headers.get_content_type() == "application/json", self
        return json.loads(self.body)

    def __str__(self) -> str:
        return f"{self.method} {self.url} -> {self.status} {self.headers.get('Content-Type')}: {self.body[:500]!r}"


def call(
    method: str,
    url: str,
    *,
    token: str | None = None,
    body: object = None,
    raw: bytes | None = None,
    accept: str | None = "application/json",
    headers: dict[str, str] | None = None,
) -> Reply:
    all_headers = {"Accept": accept} if accept else {}
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
    if data is not None:
        all_headers["Content-Type"] = "application/json"
    if token:
        all_headers["Authorization"] = f"Token {token}"
    all_headers.update(headers or {})
    request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    try:
        with OPENER.open(request, timeout=20) as response:
            return Reply(method, url, response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Reply(method, url, error.code, error.headers, error.read())


# --- Data ---


@pytest.fixture
def token(editor) -> str:
    """An API token of a user in the editors group (conftest's ``editor``)."""
    return Token.objects.create(user=editor).key


@pytest.fixture
def article() -> Article:
    bitmain = make_company("bitmain", name="Bitmain", kind="hardware_maker")
    canaan = make_company("canaan", name="Canaan", kind="hardware_maker")
    return make_article(ARTICLE, title="Bitmain's results", body=BODY, companies=(bitmain, canaan))


@pytest.fixture
def figure(article) -> Figure:
    return make_figure(
        article,
        "profit",
        company=Company.objects.get(slug="bitmain"),
        metric="net_profit",
        value=Decimal("742700000"),
        unit="USD",
        as_reported="$742.7 million",
        quote=PROFIT_QUOTE,
    )


FIGURE_PAYLOAD = {
    "article": ARTICLE,
    "company": "bitmain",
    "metric": "revenue",
    "value": "1082000000",
    "unit": "USD",
    "qualifier": "exact",
    "as_reported": "$1.082 billion",
    "quote": REVENUE_QUOTE,
    "change_reason": "Posted by the live-server test",
}
EVENT_PAYLOAD = {
    "article": ARTICLE,
    "title": "Canaan sells machines to Bitmain",
    "type": "order_contract",
    "date": "2024-03-01",
    "date_precision": "month",
    "participants": [{"company": "canaan", "role": "supplier"}, {"company": "bitmain", "role": "customer"}],
    "quote": SALE_QUOTE,
    "change_reason": "Posted by the live-server test",
}


# --- (a) POST: 201 with a Location that serves the new record ---


@pytest.mark.parametrize(
    ("route", "model", "payload"), [("figures", Figure, FIGURE_PAYLOAD), ("events", Event, EVENT_PAYLOAD)]
)
def test_an_editor_posts_a_record_and_its_location_serves_it(live_server, token, article, route, model, payload):
    reply = call("POST", f"{live_server.url}/api/{route}/", token=token, body=payload)
    assert reply.status == 201, str(reply)

    record = model.objects.get(article=article)
    created = reply.json()
    assert created["id"] == record.pk
    assert reply.headers["Location"] == created["api_url"] == f"{live_server.url}/api/{route}/{record.pk}/"
    assert reply.headers["ETag"] == f'"{record.version}"'
    assert (record.quote_start, record.quote_end) == (
        BODY.index(payload["quote"]),
        BODY.index(payload["quote"]) + len(payload["quote"]),
    )

    shown = call("GET", reply.headers["Location"])
    assert shown.status == 200, str(shown)
    assert shown.json() == created
    assert shown.headers["ETag"] == reply.headers["ETag"]
    for name, value in payload.items():
        if name == "change_reason":
            assert name not in created  # write-only
        elif name == "value":
            assert Decimal(created[name]) == Decimal(value) == record.value
        elif name == "participants":
            assert [{k: p[k] for k in written} for p, written in zip(created[name], value, strict=True)] == value
        else:
            assert created[name] == value, name


def test_an_anonymous_post_is_a_json_401_asking_for_a_token(live_server, article):
    reply = call("POST", f"{live_server.url}/api/figures/", body=FIGURE_PAYLOAD)
    assert reply.status == 401, str(reply)
    assert reply.headers["WWW-Authenticate"] == "Token"
    assert "detail" in reply.json()
    assert not Figure.objects.exists()


# --- (b) PATCH with If-Match ---


def test_a_patch_with_the_current_etag_succeeds_and_a_stale_one_is_a_412(live_server, token, figure):
    url = f"{live_server.url}/api/figures/{figure.pk}/"
    loaded = call("GET", url)
    assert loaded.status == 200, str(loaded)
    etag = loaded.headers["ETag"]
    assert etag == f'"{figure.version}"'

    patch = {"note": "Confirmed by the annual report.", "change_reason": "Checked the source"}
    patched = call("PATCH", url, token=token, body=patch, headers={"If-Match": etag})
    assert patched.status == 200, str(patched)
    figure.refresh_from_db()
    assert figure.note == "Confirmed by the annual report."
    assert patched.json()["note"] == figure.note
    assert patched.headers["ETag"] == f'"{figure.version}"' != etag
    assert call("GET", url).headers["ETag"] == patched.headers["ETag"]

    stale = call("PATCH", url, token=token, body={"note": "Overwritten"}, headers={"If-Match": etag})
    assert stale.status == 412, str(stale)
    assert str(figure.version) in stale.json()["detail"]
    figure.refresh_from_db()
    assert figure.note == "Confirmed by the annual report."

    # The current ETag still works, and a stale DELETE is refused the same way.
    again = call(
        "PATCH", url, token=token, body={"note": "Second look."}, headers={"If-Match": patched.headers["ETag"]}
    )
    assert again.status == 200, str(again)
    refused = call("DELETE", url, token=token, headers={"If-Match": etag})
    assert refused.status == 412, str(refused)
    assert "detail" in refused.json()
    assert Figure.objects.filter(pk=figure.pk).exists()


# --- (c) The docs and the admin serve their assets themselves: no CDN ---


class _Assets(html.parser.HTMLParser):
    """Every ``<script src>`` and ``<link href>`` of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"script": "src", "link": "href"}.get(tag)
        value = dict(attrs).get(wanted) if wanted else None
        if value:
            self.urls.append(value)


def page_assets(base_url: str, path: str) -> tuple[Reply, list[str]]:
    page = call("GET", f"{base_url}{path}", accept="text/html")
    assert page.status == 200, str(page)
    assert page.headers.get_content_type() == "text/html", str(page)
    parser = _Assets()
    parser.feed(page.body.decode())
    return page, [urllib.parse.urljoin(page.url, url) for url in parser.urls]


PAGES = [
    "/api/docs/",
    "/api/redoc/",
    "/admin/login/",
    "/api/",
]
CDNS = ("unpkg.com", "jsdelivr", "cdnjs", "googleapis", "cloudflare")


def _assert_all_local(base_url: str, path: str) -> list[str]:
    page, assets = page_assets(base_url, path)
    assert assets, f"{path} links no scripts or stylesheets; did the page change?"
    for cdn in CDNS:
        assert cdn not in page.body.decode(), f"{path} mentions {cdn}"
    host = urllib.parse.urlsplit(base_url).netloc
    for url in assets:
        assert urllib.parse.urlsplit(url).netloc == host, f"{path} loads {url} from elsewhere"
        asset = call("GET", url, accept=None)
        assert asset.status == 200, str(asset)
        assert asset.body, url
        for cdn in CDNS:
            # e.g. a script that would fetch a worker or a font from a CDN
            assert cdn.encode() not in asset.body or url.endswith((".css", ".map")), f"{url} mentions {cdn}"
    return assets


@pytest.mark.parametrize("path", PAGES)
def test_a_page_and_every_script_and_stylesheet_it_links_are_served_locally(live_server, path):
    _assert_all_local(live_server.url, path)


def test_the_docs_load_the_schema_from_this_server(live_server):
    docs = call("GET", f"{live_server.url}/api/docs/", accept="text/html")
    assert b'"/api/schema/"' in docs.body, str(docs)  # Swagger UI's inline start-up script fetches it
    schema = call("GET", f"{live_server.url}/api/schema/", accept="application/vnd.oai.openapi+json")
    assert schema.status == 200, str(schema)
    assert json.loads(schema.body)["info"]["title"] == "newsdb API"


@pytest.fixture
def app_server(live_server) -> Iterator[str]:
    """The application alone in a real server, as gunicorn runs it: unlike ``live_server``, no test-only
    static-files handler in front of it, so the static files are WhiteNoise's to serve."""
    shared = {c.alias: c for c in connections.all() if c.vendor == "sqlite" and c.is_in_memory_db()}
    thread = LiveServerThread("localhost", static_handler=lambda application: application, connections_override=shared)
    for connection in shared.values():
        connection.inc_thread_sharing()
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    try:
        if thread.error:
            raise thread.error
        yield f"http://localhost:{thread.port}"
    finally:
        thread.terminate()
        for connection in shared.values():
            connection.dec_thread_sharing()


@pytest.mark.parametrize("path", ["/api/docs/", "/admin/login/"])
def test_the_application_itself_serves_the_assets_without_the_test_servers_help(app_server, path):
    assets = _assert_all_local(app_server, path)
    assert any("/static/" in url for url in assets)


# --- (d) Errors are JSON from the real server ---


ERRORS = [
    ("/api/figures/?company=no-such-company", 400, "company"),
    ("/api/figures/?colour=red", 400, "colour"),
    ("/api/figures/?limit=many", 400, "limit"),
    ("/api/figures/?value__gte=a-lot", 400, "value__gte"),
    ("/api/figures/?format=xml", 400, "format"),
    ("/api/companies/no-such-company/", 404, "detail"),
    ("/api/events/0/", 404, "detail"),
    ("/api/no-such-thing/", 404, "detail"),
]


@pytest.mark.parametrize("accept", ["application/json", None])
@pytest.mark.parametrize(("path", "status", "key"), ERRORS)
def test_an_api_error_is_json_from_the_real_server(live_server, article, path, status, key, accept):
    reply = call("GET", f"{live_server.url}{path}", accept=accept)
    assert reply.status == status, str(reply)
    body = reply.json()
    assert key in body, str(reply)


@pytest.mark.parametrize("accept", ["text/csv", None])
def test_an_error_in_a_csv_export_is_json(live_server, article, accept):
    reply = call("GET", f"{live_server.url}/api/events/?format=csv&company=no-such-company", accept=accept)
    assert reply.status == 400, str(reply)
    assert "no-such-company" in " ".join(reply.json()["company"])


def test_a_bad_write_is_a_json_400_naming_the_field(live_server, token, article):
    url = f"{live_server.url}/api/figures/"
    malformed = call("POST", url, token=token, raw=b'{"article": ')
    assert malformed.status == 400, str(malformed)
    assert "detail" in malformed.json()

    misquoted = call("POST", url, token=token, body={**FIGURE_PAYLOAD, "quote": "Bitmain made a fortune."})
    assert misquoted.status == 400, str(misquoted)
    assert "quote" in misquoted.json()
    assert not Figure.objects.exists()

    not_allowed = call("PUT", url, token=token, body=FIGURE_PAYLOAD)
    assert not_allowed.status == 405, str(not_allowed)
    assert "detail" in not_allowed.json()


# --- Other headers a real server must accept ---


def test_a_merged_companys_old_address_redirects_to_the_survivor(live_server, editor, article):
    survivor = Company.objects.get(slug="bitmain")
    company_merge(survivor=survivor, duplicates=[make_company("bitmain-tech")], user=editor, reason="Duplicate")

    moved = call("GET", f"{live_server.url}/api/companies/bitmain-tech/")
    assert moved.status == 301, str(moved)
    assert moved.headers["Location"] == f"{live_server.url}/api/companies/bitmain/"
    shown = call("GET", moved.headers["Location"])
    assert shown.status == 200, str(shown)
    assert shown.json()["slug"] == "bitmain"
    # And as a filter value, the old slug stands for the survivor.
    figures = call("GET", f"{live_server.url}/api/articles/?company=bitmain-tech")
    assert [a["slug"] for a in figures.json()["results"]] == [ARTICLE]


def test_a_csv_export_is_served(live_server, figure):
    reply = call("GET", f"{live_server.url}/api/figures/?format=csv", accept=None)
    assert reply.status == 200, str(reply)
    assert reply.headers.get_content_type() == "text/csv"
    header, row = reply.body.decode().splitlines()[:2]
    assert "as_reported" in header.split(",")
    assert "$742.7 million" in row


def test_past_the_exports_limit_the_real_server_answers_a_json_429_with_retry_after(live_server, figure, settings):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "anon_expensive": "1/minute"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    cache.clear()
    try:
        assert call("GET", f"{live_server.url}/api/figures/?format=csv", accept=None).status == 200
        reply = call("GET", f"{live_server.url}/api/figures/?format=jsonl", accept=None)
        assert reply.status == 429, str(reply)
        assert reply.headers.get_content_type() == "application/json"
        assert 0 < int(reply.headers["Retry-After"]) <= 60
        assert "take at most 1/minute for each address" in reply.json()["detail"]
        assert call("GET", f"{live_server.url}/api/figures/").status == 200  # a page is not held back
    finally:
        cache.clear()


# --- (g) The counts the companies list shows follow writes made through the real server ---


def test_writes_through_the_server_move_the_companies_counts(live_server, token, article):
    def counts(slug: str) -> tuple[int, int, int]:
        reply = call("GET", f"{live_server.url}/api/companies/?slug={slug}")
        assert reply.status == 200, str(reply)
        [row] = reply.json()["results"]
        return row["article_count"], row["event_count"], row["figure_count"]

    assert counts("bitmain") == counts("canaan") == (1, 0, 0)
    event = call("POST", f"{live_server.url}/api/events/", token=token, body=EVENT_PAYLOAD)
    assert event.status == 201, str(event)
    figure = call("POST", f"{live_server.url}/api/figures/", token=token, body=FIGURE_PAYLOAD)
    assert figure.status == 201, str(figure)
    assert counts("bitmain") == (1, 1, 1)
    assert counts("canaan") == (1, 1, 0)
    # ... and the company's events list (read through articles_company_event) shows the event.
    for slug in ("bitmain", "canaan"):
        listed = call("GET", f"{live_server.url}/api/events/?company={slug}")
        assert [row["id"] for row in listed.json()["results"]] == [event.json()["id"]], str(listed)

    gone = call("DELETE", figure.headers["Location"], token=token, headers={"If-Match": figure.headers["ETag"]})
    assert gone.status == 204, str(gone)
    assert counts("bitmain") == (1, 1, 0)


# --- Search: a figure is found by its company's name ---


def test_a_figure_posted_through_the_server_is_found_by_its_companys_name(live_server, token):
    bitmain = make_company("bitmain", name="Bitmain", kind="hardware_maker")
    canaan = make_company("canaan", name="Canaan", kind="hardware_maker")
    # Quotes that name no company: only the figure's company can match.
    revenues = {
        "bitmain": ("The group's revenue was $12 million in 2023.", 12),
        "canaan": ("A rival's revenue was $9 million.", 9),
    }
    make_article("annual-results", body=" ".join(q for q, _m in revenues.values()), companies=(bitmain, canaan))
    posted = {}
    for slug, (quote, million) in revenues.items():
        figure = {
            "article": "annual-results",
            "company": slug,
            "metric": "revenue",
            "value": str(million * 1_000_000),
            "unit": "USD",
            "qualifier": "exact",
            "as_reported": f"${million} million",
            "quote": quote,
        }
        reply = call("POST", f"{live_server.url}/api/figures/", token=token, body=figure)
        assert reply.status == 201, str(reply)
        posted[slug] = reply.json()

    for slug, name in (("bitmain", "Bitmain"), ("canaan", "Canaan")):
        query = urllib.parse.urlencode({"q": name, "type": "figure"})
        reply = call("GET", f"{live_server.url}/api/search/?{query}")
        assert reply.status == 200, str(reply)
        [found] = reply.json()["results"]
        assert (found["type"], found["id"], found["api_url"]) == ("figure", posted[slug]["id"], posted[slug]["api_url"])
        assert found["title"] == f"{name}: revenue, {posted[slug]['as_reported']}"
        shown = call("GET", found["api_url"])
        assert shown.status == 200, str(shown)
        assert (shown.json()["id"], shown.json()["company"]) == (found["id"], slug)
