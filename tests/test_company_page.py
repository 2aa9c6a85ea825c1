"""The public company page (``/companies/<slug>/``): names and aliases, a server-rendered SVG chart per metric,
its timeline and conflicts; linked from the API and the admin, and nothing loaded from another host."""

import datetime
import re
from html.parser import HTMLParser

import pytest
from django.utils.html import escape
from rest_framework.test import APIClient

from articles.models import Alias, Company, Event

from .base import make_article, make_company, make_event, make_figure

PAGE = "/companies/bitmain/"
D = datetime.date


class Points(HTMLParser):
    """The chart points (``<circle class="point">``) of each chart (``<figure data-metric>``) of a page, and every
    address the page would load (``src``, ``href`` of stylesheets, ``url(...)`` is checked separately)."""

    def __init__(self):
        super().__init__()
        self.charts: dict[str, list[dict]] = {}
        self.current: str | None = None
        self.loads: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "figure" and "data-metric" in attrs:
            self.current = f"{attrs['data-metric']}/{attrs['data-unit']}"
            self.charts[self.current] = []
        if tag == "circle" and attrs.get("class") == "point":
            self.charts[self.current].append(attrs)
        if "src" in attrs or (tag == "link" and "href" in attrs):
            self.loads.append(attrs.get("src") or attrs["href"])


def parsed(html: str) -> Points:
    parser = Points()
    parser.feed(html)
    return parser


@pytest.mark.usefixtures("curated_readonly")
class TestBitmainsPage:
    def test_it_shows_the_names_and_aliases(self, client):
        page = client.get(PAGE).content.decode()
        assert "<h1>Bitmain</h1>" in page
        for alias in Alias.objects.filter(company__slug="bitmain"):
            assert alias.name in page
        assert re.search(r'class="garbled">Betland\s*<span class="tag">garbled</span>', page)

    def test_the_revenue_chart_has_a_point_per_period_with_its_value(self, client):
        charts = parsed(client.get(PAGE).content.decode()).charts
        points = charts["revenue/USD"]
        assert [(p["data-label"], p["data-granularity"], p["data-value"]) for p in points] == [
            ("January 2019", "month", "253000000"),
            ("Q1 2019", "quarter", "1082000000"),
            ("February 2019", "month", "253000000"),
            ("March 2019", "month", "579000000"),
        ]
        # drawn in time order and by value: March above January, the quarter highest
        y = {p["data-label"]: float(p["cy"]) for p in points}
        x = {p["data-label"]: float(p["cx"]) for p in points}
        assert y["Q1 2019"] < y["March 2019"] < y["January 2019"] == y["February 2019"]
        assert x["January 2019"] < x["February 2019"] < x["March 2019"]
        assert x["February 2019"] == pytest.approx(x["Q1 2019"], abs=5)  # the quarter's middle
        range_point = charts["funding_raised/USD"][0]
        assert (range_point["data-value"], range_point["data-value-high"]) == ("300000000", "500000000")

    def test_it_shows_the_timeline_and_the_conflicts(self, client):
        page = client.get(PAGE).content.decode()
        timeline = page[page.index('id="timeline"') :]
        for event in Event.objects.filter(participants__company__slug="bitmain").distinct():
            assert escape(event.title) in timeline
        assert 'datetime="2019-01-01"' in timeline and ">Q1 2019</time>" in timeline
        conflicts = page[page.index('id="conflicts"') : page.index('id="timeline"')]
        assert "Bitmain revenue Q1 2019: months sum 1,085 vs stated 1,082 million, 0.28%" in conflicts

    def test_it_loads_nothing_from_another_host(self, client):
        page = client.get(PAGE).content.decode()
        assert parsed(page).loads == []
        assert "<script" not in page and "url(" not in page

    def test_the_api_and_the_admin_link_to_it(self, client, editor_client):
        detail = APIClient().get("/api/companies/bitmain/").json()
        assert detail["page_url"] == "http://testserver/companies/bitmain/"
        assert client.get(detail["page_url"]).status_code == 200
        company = Company.objects.get(slug="bitmain")
        change = editor_client.get(f"/admin/articles/company/{company.pk}/change/").content.decode()
        [view_on_site] = re.findall(r'href="([^"]+)" class="viewsitelink"', change)
        assert editor_client.get(view_on_site)["Location"].endswith("/companies/bitmain/")

    def test_an_unknown_company_is_a_404(self, client):
        assert client.get("/companies/no-such-company/").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("size", [2, 20])
def test_the_page_makes_the_same_queries_whatever_the_size(client, django_assert_num_queries, size):
    acme = make_company("acme-mining", aliases=("Acme", "Akme"))
    other = make_company("borealis-hashing")
    for i in range(size):
        story = make_article(f"story-{i}", companies=(acme, other))
        make_event(story, f"event-{i}", date=D(2000 + i, 1, 1), participants=((acme, "subject"), (other, "customer")))
        make_figure(story, f"figure-{i}", company=acme, period_start=D(2000 + i, 1, 1), period_end=D(2000 + i, 12, 31))
        make_figure(story, f"undated-{i}", company=acme, metric="count")
    # the company (with its parent); its aliases; its figures with a period; its events (with their articles),
    # their roles; its figures without a period
    with django_assert_num_queries(6):
        page = client.get("/companies/acme-mining/").content.decode()
    assert len(parsed(page).charts["revenue/USD"]) == size
