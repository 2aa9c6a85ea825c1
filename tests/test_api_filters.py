"""The filters over HTTP on the curated data: codes and vocabularies in any case (and a 400 naming the parameter
for a value that is none of them), events by their participants' kind and country, figures by range overlap and
in article order with a cursor, without extra queries."""

import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from articles.choices import ParticipantRole
from articles.models import Company, Event, EventParticipant, Figure

ALL = {"limit": 1000}


@pytest.fixture
def api():
    return APIClient()


def slugs(response, field: str = "slug") -> list:
    assert response.status_code == 200, response.content
    return [row[field] for row in response.json()["results"]]


class TestCurated:
    @pytest.fixture(autouse=True)
    def data(self, curated_readonly):
        return curated_readonly

    def test_a_country_in_any_case_finds_what_its_code_does(self, api):
        upper = slugs(api.get("/api/companies/", {"country": "US", **ALL}))
        assert upper == sorted(Company.objects.filter(country="US").values_list("slug", flat=True), key=upper.index)
        assert len(upper) >= 5
        assert slugs(api.get("/api/companies/", {"country": "us", **ALL})) == upper

    @pytest.mark.parametrize("code", ["USA", "U", "ZZ", "united states"])
    def test_a_country_that_is_no_iso_code_is_a_400_saying_what_is_accepted(self, api, code):
        response = api.get("/api/companies/", {"country": code})
        assert response.status_code == 400
        assert response.json() == {
            "country": [f"{code!r}: Enter a two-letter ISO 3166-1 country code such as US or CN (any case)."]
        }

    def test_a_vocabulary_in_any_case(self, api):
        lower = slugs(api.get("/api/figures/", {"company": "bitmain", "metric": "revenue", **ALL}), "id")
        assert len(lower) >= 4
        assert slugs(api.get("/api/figures/", {"company": "bitmain", "metric": "REVENUE", **ALL}), "id") == lower
        assert slugs(api.get("/api/figures/", {"company": "bitmain", "unit": "usd", **ALL}), "id")
        assert slugs(api.get("/api/companies/", {"kind": "Hardware_Maker", **ALL})) == slugs(
            api.get("/api/companies/", {"kind": "hardware_maker", **ALL})
        )

    def test_a_value_in_no_vocabulary_is_a_400_listing_the_accepted_ones(self, api):
        response = api.get("/api/events/", {"type": "ban"})
        assert response.status_code == 400
        [message] = response.json()["type"]
        assert message.startswith("'ban' is not one of: financial_report, ipo_listing,")
        assert "regulation_ban" in message and message.endswith("(any case).")

    def test_events_involving_us_government_bodies_in_one_request(self, api):
        found = slugs(
            api.get("/api/events/", {"participant_kind": "government", "participant_country": "us", **ALL}), "id"
        )
        bodies = set(Company.objects.filter(kind="government", country="US").values_list("slug", flat=True))
        expected = set(Event.objects.filter(participants__company__slug__in=bodies).values_list("id", flat=True))
        assert len(expected) >= 3
        assert set(found) == expected and len(found) == len(expected)
        # Government bodies of any country: more events; US companies of any kind: more still.
        assert len(slugs(api.get("/api/events/", {"participant_kind": "GOVERNMENT", **ALL}), "id")) > len(found)
        assert len(slugs(api.get("/api/events/", {"participant_country": "US", **ALL}), "id")) > len(found)

    def test_participant_filters_cost_no_extra_query(self, api):
        with CaptureQueriesContext(connection) as plain:
            api.get("/api/events/", ALL)
        with CaptureQueriesContext(connection) as filtered:
            response = api.get(
                "/api/events/",
                {"participant_kind": "government", "participant_country": "us", "role": "regulator", **ALL},
            )
        assert response.status_code == 200 and response.json()["results"]
        assert len(filtered) == len(plain)

    def test_each_companys_events_in_date_order(self, api):
        """?company=X with one company reads its events through articles_company_event; every company's list is
        the events it takes part in, in date order, then id, and backwards with
        ordering=-date (ties by id, descending too), and the same page by page with a cursor."""
        listed = Event.objects.all()  # the default manager leaves proposals out, as the list does
        companies = Company.objects.filter(participations__isnull=False).distinct()
        for company in companies:
            events = listed.filter(participants__company=company).distinct()
            expected = list(events.order_by("date", "id").values_list("id", flat=True))
            found = slugs(api.get("/api/events/", {"company": company.slug, **ALL}), "id")
            assert found == expected, company.slug
            backwards = slugs(api.get("/api/events/", {"company": company.slug, "ordering": "-date", **ALL}), "id")
            assert backwards == list(events.order_by("-date", "-id").values_list("id", flat=True)), company.slug
            assert backwards == expected[::-1], company.slug
        assert companies.count() >= 20
        seen, url, params = [], "/api/events/", {"company": "bitmain", "cursor": "", "limit": 7}
        while url:
            page = api.get(url, params).json()
            seen += [row["id"] for row in page["results"]]
            url, params = page["next"], None
        assert seen == slugs(api.get("/api/events/", {"company": "bitmain", **ALL}), "id") and len(seen) > 14
        # Two companies, or a role: the events of any of them, each once.
        both = slugs(api.get("/api/events/", {"company": ["bitmain", "canaan"], **ALL}), "id")
        either = listed.filter(participants__company__slug__in=["bitmain", "canaan"]).distinct()
        assert both == list(either.order_by("date", "id").values_list("id", flat=True))

    def test_the_events_with_a_role_in_date_order(self, api):
        """?role=X alone: for every role, the events with a participant in it, each once, in date order, then id,
        backwards with ordering=-date, and page by page with a cursor."""
        listed = Event.objects.all()
        roles = set(EventParticipant.objects.values_list("role", flat=True))
        assert len(roles) >= 5
        for role in roles:
            events = listed.filter(participants__role=role).distinct()
            expected = list(events.order_by("date", "id").values_list("id", flat=True))
            assert slugs(api.get("/api/events/", {"role": role, **ALL}), "id") == expected, role
            backwards = slugs(api.get("/api/events/", {"role": role, "ordering": "-date", **ALL}), "id")
            assert backwards == list(events.order_by("-date", "-id").values_list("id", flat=True)), role
            seen, url, params = [], "/api/events/", {"role": role, "cursor": "", "limit": 2}
            while url:
                page = api.get(url, params).json()
                seen += [row["id"] for row in page["results"]]
                url, params = page["next"], None
            assert seen == expected, role
        # Two roles: the events with either, each once.
        both = slugs(api.get("/api/events/", {"role": ["customer", "supplier"], **ALL}), "id")
        either = listed.filter(participants__role__in=["customer", "supplier"]).distinct()
        assert both == list(either.order_by("date", "id").values_list("id", flat=True)) and both

    def test_value_overlaps_finds_a_range_whose_top_reaches_the_bound(self, api):
        prepayments = {"metric": "prepayment", "company": "bitmain", **ALL}
        reaching = api.get("/api/figures/", {**prepayments, "value_overlaps": "700000000,"}).json()["results"]
        assert [(f["as_reported"], f["value"], f["value_high"]) for f in reaching] == [
            ("$660-$866 million", "660000000.000000", "866000000.000000")
        ]
        assert slugs(api.get("/api/figures/", {**prepayments, "value__gte": "700000000"}), "id") == []
        assert slugs(api.get("/api/figures/", {**prepayments, "value_overlaps": "870000000,"}), "id") == []

    def test_value_overlaps_matches_an_interval_check_at_every_boundary(self, api):
        """Intervals that start and end at, just below and just above every curated value and range top, each
        bound left open too: the list holds exactly the figures whose [value, value_high or value] meets it."""
        figures = list(Figure.objects.values_list("id", "value", "value_high"))
        assert any(high is not None for _, _, high in figures)
        ranges = [(pk, low, high if high is not None else low) for pk, low, high in figures]
        spans = [(low, high) for _, low, high in ranges if high > low]
        values = sorted(low for _, low, _ in ranges)
        # Inside, at and around every range, and a few single values across the scale, each bound open too.
        bounds = [None, *(p for low, high in spans for p in (low - 1, (low + high) / 2, high + 1))]
        bounds += values[:: max(1, len(values) // 4)]
        checked = 0
        for low in bounds:
            for high in bounds:
                if low is None and high is None or (low is not None and high is not None and low > high):
                    continue
                text = f"{'' if low is None else low},{'' if high is None else high}"
                expected = {
                    pk for pk, start, top in ranges if (high is None or start <= high) and (low is None or top >= low)
                }
                assert set(slugs(api.get("/api/figures/", {"value_overlaps": text, **ALL}), "id")) == expected, text
                checked += 1
        assert checked > 100

    def test_value_overlaps_takes_its_bounds_in_either_order(self, api):
        prepayments = {"metric": "prepayment", "company": "bitmain", **ALL}
        upwards = api.get("/api/figures/", {**prepayments, "value_overlaps": "700000000,900000000"})
        downwards = api.get("/api/figures/", {**prepayments, "value_overlaps": "900000000,700000000"})
        assert upwards.status_code == downwards.status_code == 200
        assert slugs(downwards, "as_reported") == slugs(upwards, "as_reported") == ["$660-$866 million"]

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ("abc", "'abc': Enter a number."),
            ("1,2,3", "'1,2,3': Enter MIN,MAX (either may be left empty, e.g. 700000000,) or a single number."),
            (",", "',': Enter MIN,MAX (either may be left empty, e.g. 700000000,) or a single number."),
        ],
    )
    def test_value_overlaps_that_is_no_interval_is_a_400(self, api, value, message):
        response = api.get("/api/figures/", {"value_overlaps": value})
        assert response.status_code == 400
        assert response.json() == {"value_overlaps": [message]}

    def test_figures_in_article_order_page_by_page_with_a_cursor(self, api):
        article = "bitmain-bankruptcy-rumours-2018"
        figures = Figure.objects.filter(article__slug=article)
        expected = list(figures.order_by("quote_start", "id").values_list("id", flat=True))
        assert len(expected) >= 7
        assert expected != list(figures.values_list("id", flat=True))
        seen, pages = [], []
        url, params = "/api/figures/", {"article": article, "ordering": "quote_start", "cursor": "", "limit": 3}
        while url:
            page = api.get(url, params).json()
            pages.append(page)
            seen += [row["id"] for row in page["results"]]
            url, params = page["next"], None
        assert seen == expected
        # And back again from the last page.
        back, url = [], pages[-1]["previous"]
        while url:
            page = api.get(url).json()
            back = [row["id"] for row in page["results"]] + back
            url = page["previous"]
        assert back + [row["id"] for row in pages[-1]["results"]] == expected
        # Descending: ties (two figures from one sentence) by id, descending too (the order an index on
        # (quote_start, id) gives read backwards): the ascending list reversed.
        last_first = slugs(api.get("/api/figures/", {"article": article, "ordering": "-quote_start", **ALL}), "id")
        assert last_first == list(figures.order_by("-quote_start", "-id").values_list("id", flat=True))
        assert last_first == expected[::-1]
        ties = figures.values("quote_start").annotate(n=Count("id")).filter(n__gt=1)
        assert ties.exists()  # the curated article has figures that share a sentence


@pytest.mark.django_db
def test_a_company_in_two_roles_lists_the_event_once(curated, api):
    """A second role in an event adds no row to the company's events; the list shows the event once, then drops it
    with the last role."""
    bitmain = Company.objects.get(slug="bitmain")
    before = slugs(api.get("/api/events/", {"company": "bitmain", **ALL}), "id")
    event = Event.objects.get(pk=before[len(before) // 2])
    roles = set(event.participants.filter(company=bitmain).values_list("role", flat=True))
    extra = next(role for role in ParticipantRole.values if role not in roles)
    EventParticipant.objects.create(event=event, company=bitmain, role=extra)
    assert slugs(api.get("/api/events/", {"company": "bitmain", **ALL}), "id") == before
    assert slugs(api.get("/api/events/", {"company": "bitmain", "role": extra, **ALL}), "id") == [event.pk]
    event.participants.filter(company=bitmain).delete()
    assert slugs(api.get("/api/events/", {"company": "bitmain", **ALL}), "id") == [e for e in before if e != event.pk]
