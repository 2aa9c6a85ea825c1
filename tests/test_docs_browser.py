"""The API docs (ReDoc and Swagger UI) render in a real browser and load nothing from outside newsdb: every
request the page makes goes to the server that served it.

Drives Debian's Chromium with Playwright (see tests/test_browser.py); the app runs in pytest-django's live server.
"""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from .base import chromium_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def browser_page(live_server, monkeypatch):
    with chromium_page(monkeypatch, timeout_ms=30_000) as page:
        yield page


@pytest.mark.parametrize(("path", "rendered"), [("/api/redoc/", "newsdb API"), ("/api/docs/", "newsdb API")])
def test_the_docs_render_and_load_nothing_from_outside(live_server, browser_page, path, rendered):
    page = browser_page
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{live_server.url}{path}")
    expect(page.get_by_text(rendered).first).to_be_visible(timeout=60_000)
    page.wait_for_load_state("networkidle")
    assert requested, "the page made no request at all"
    here = urlsplit(live_server.url).netloc
    outside = [url for url in requested if urlsplit(url).scheme in {"http", "https"} and urlsplit(url).netloc != here]
    assert outside == []
    assert any(url.endswith("/api/schema/") or "/api/schema/" in url for url in requested)


def test_no_page_asks_for_a_favicon_that_is_missing(live_server, browser_page):
    page = browser_page
    failed: list[tuple[str, int]] = []
    page.on("response", lambda response: response.status >= 400 and failed.append((response.url, response.status)))
    for path in ("/api/", "/api/figures/", "/admin/login/", "/favicon.ico"):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
    assert failed == []
