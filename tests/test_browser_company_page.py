"""The company page in a real browser (Debian's Chromium through Playwright, as test_browser.py drives it): Bitmain's
revenue chart renders with the right points, and no request leaves 127.0.0.1."""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from .base import chromium_page

# The live server sees only committed data, hence a transactional database (see test_browser.py).
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def page(live_server, monkeypatch):
    with chromium_page(monkeypatch, timeout_ms=20_000) as page:
        yield page


def test_bitmains_page_renders_its_revenue_chart_and_timeline_with_no_offhost_request(curated, live_server, page):
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    # The live server listens on the loopback interface; address it by IP, so any other host stands out.
    base = live_server.url.replace("//localhost:", "//127.0.0.1:")
    response = page.goto(f"{base}/companies/bitmain/")
    assert response.status == 200

    chart = page.locator('figure[data-metric="revenue"][data-unit="USD"] svg')
    expect(chart).to_be_visible()
    points = chart.locator("circle.point")
    expect(points).to_have_count(4)
    shown = points.evaluate_all(
        "circles => circles.map(c => [c.dataset.label, c.dataset.granularity, c.dataset.value, "
        "c.getBoundingClientRect().width > 0])"
    )
    assert shown == [
        ["January 2019", "month", "253000000", True],
        ["Q1 2019", "quarter", "1082000000", True],
        ["February 2019", "month", "253000000", True],
        ["March 2019", "month", "579000000", True],
    ]
    # The browser placed them where the values say: the quarter's total above March, March above January.
    tops = {label: points.nth(i).bounding_box()["y"] for i, label in enumerate(["jan", "q1", "feb", "mar"])}
    assert tops["q1"] < tops["mar"] < tops["jan"]
    expect(page.locator("#timeline time", has_text="Q1 2019").first).to_be_visible()
    expect(page.locator("#conflicts")).to_contain_text("months sum 1,085 vs stated 1,082 million, 0.28%")

    assert requests and all(urlsplit(url).hostname == "127.0.0.1" for url in requests), requests
