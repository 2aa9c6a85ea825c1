"""The consistency report (``/api/reports/consistency/`` and its admin page): parts that do not sum to the stated
whole, stated arithmetic that does not hold, and articles that disagree; each finding links its figures."""

import datetime
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from articles.models import Figure

from .base import make_article, make_company, make_figure

REPORT = "/api/reports/consistency/"
ADMIN = "/admin/articles/figure/consistency/"
D = datetime.date
Q1_REVENUE_MESSAGE = "Bitmain revenue Q1 2019: months sum 1,085 vs stated 1,082 million, 0.28%"


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def _pk(key: str) -> int:
    return Figure.objects.get(article__slug="bitmain-q1-2019-loss", key=key).pk


@pytest.mark.usefixtures("curated_readonly")
class TestTheCuratedData:
    def test_q1_2019_revenue_months_do_not_sum_to_the_stated_quarter(self, api):
        body = api.get(REPORT).json()
        assert body["tolerance"] == "0.1"
        assert body["count"] == len(body["results"])
        [finding] = [f for f in body["results"] if f["kind"] == "sum" and f["metric"] == "revenue"]
        assert finding["message"] == Q1_REVENUE_MESSAGE
        assert (finding["company"], finding["label"], finding["granularity"]) == ("bitmain", "Q1 2019", "quarter")
        assert (finding["stated"], finding["computed"]) == ("1082000000.000000", "1085000000.000000")
        assert (finding["difference"], finding["difference_percent"], finding["ok"]) == (
            "3000000.000000",
            "0.28",
            False,
        )
        roles = {(f["role"], f["id"]) for f in finding["figures"]}
        assert roles == {
            ("whole", _pk("q1-2019-operating-revenue")),
            ("part", _pk("january-2019-operating-revenue")),
            ("part", _pk("february-2019-operating-revenue")),
            ("part", _pk("march-2019-operating-revenue")),
        }
        for figure in finding["figures"]:
            assert api.get(figure["api_url"]).json()["id"] == figure["id"]
            assert figure["admin_url"] == f"http://testserver/admin/articles/figure/{figure['id']}/change/"

    def test_the_net_loss_that_holds_is_not_a_finding_but_is_shown_with_include_ok(self, api):
        assert not [f for f in api.get(REPORT).json()["results"] if f["kind"] == "arithmetic"]
        body = api.get(REPORT, {"include_ok": "true", "kind": "arithmetic"}).json()
        [check] = body["results"]
        assert check["ok"] is True
        assert check["message"] == (
            "Bitmain net result Q1 2019: \u2212345 \u2212 280 + 315 = \u2212310 million, as stated "
            "(net loss of 310 million)"
        )
        assert (check["stated"], check["computed"], check["difference_percent"]) == (
            "-310000000.000000",
            "-310000000.000000",
            "0.00",
        )
        assert {f["id"] for f in check["figures"] if f["role"] == "part"} == {
            _pk("january-2019-loss"),
            _pk("february-2019-loss"),
            _pk("march-2019-profit"),
        }

    def test_a_wider_tolerance_accepts_the_gap_and_include_ok_lists_it_as_holding(self, api):
        wide = api.get(REPORT, {"tolerance": "0.3"}).json()
        assert wide["tolerance"] == "0.3"
        assert not [f for f in wide["results"] if f["metric"] == "revenue"]
        listed = api.get(REPORT, {"tolerance": "0.3", "include_ok": "1", "kind": "sum"}).json()["results"]
        [revenue] = [f for f in listed if f["metric"] == "revenue"]
        assert revenue["ok"] is True and revenue["difference_percent"] == "0.28"

    def test_the_report_narrows_to_a_company_and_a_kind(self, api):
        assert api.get(REPORT, {"company": "bitmain"}).json()["results"]
        assert api.get(REPORT, {"company": "canaan"}).json()["results"] == []
        assert {f["kind"] for f in api.get(REPORT, {"kind": "sum"}).json()["results"]} == {"sum"}
        assert api.get(REPORT, {"kind": "disagreement"}).json()["results"] == []

    @pytest.mark.parametrize(
        ("params", "named"),
        [
            ({"tolerance": "abc"}, "tolerance"),
            ({"tolerance": "-1"}, "tolerance"),
            ({"tolerance": "101"}, "tolerance"),
            ({"tolerance": ""}, "tolerance"),
            ({"tolerance": "nan"}, "tolerance"),
            ({"include_ok": "perhaps"}, "include_ok"),
            ({"kind": "typo"}, "kind"),
            ({"company": "no-such-company"}, "company"),
            ({"metric": "revenue"}, "metric"),
        ],
    )
    def test_a_bad_parameter_is_a_400_naming_it(self, api, params, named):
        response = api.get(REPORT, params)
        assert response.status_code == 400
        assert list(response.json()) == [named]

    def test_the_admin_page_lists_the_findings_with_links_to_the_figures(self, editor_client):
        page = editor_client.get(ADMIN).content.decode()
        assert Q1_REVENUE_MESSAGE in page
        assert f'href="/admin/articles/figure/{_pk("q1-2019-operating-revenue")}/change/"' in page
        assert f'href="/admin/articles/figure/{_pk("march-2019-operating-revenue")}/change/"' in page
        assert "net result Q1 2019" not in page
        assert "net result Q1 2019" in editor_client.get(ADMIN, {"include_ok": "1"}).content.decode()
        assert Q1_REVENUE_MESSAGE not in editor_client.get(ADMIN, {"tolerance": "0.5"}).content.decode()
        # linked from the figure list
        assert f'href="{ADMIN}"' in editor_client.get("/admin/articles/figure/").content.decode()

    def test_the_admin_page_is_for_editors(self, client, outsider):
        assert client.get(ADMIN).status_code == 302  # to the login page
        client.force_login(outsider)
        assert client.get(ADMIN).status_code in (302, 403)


def _figure(story, key: str, company, value, start: datetime.date, end: datetime.date, **fields) -> Figure:
    return make_figure(story, key, company=company, value=Decimal(value), period_start=start, period_end=end, **fields)


def _acme(revenue_months: tuple[int, int, int], quarter: int) -> None:
    acme = make_company("acme-mining")
    story = make_article("story", companies=(acme,))
    for month, value in enumerate(revenue_months, start=1):
        end = D(2023, month + 1, 1) - datetime.timedelta(days=1)
        make_figure(
            story, f"m{month}", company=acme, value=Decimal(value), period_start=D(2023, month, 1), period_end=end
        )
    make_figure(
        story, "q1", company=acme, value=Decimal(quarter), period_start=D(2023, 1, 1), period_end=D(2023, 3, 31)
    )


@pytest.mark.django_db
class TestChecks:
    def test_an_exact_sum_is_no_finding(self, api):
        _acme((100, 200, 300), 600)
        assert api.get(REPORT).json()["results"] == []
        [check] = api.get(REPORT, {"include_ok": "true"}).json()["results"]
        assert check["message"] == "Acme Mining revenue Q1 2023: months sum 600 vs stated 600, 0.00%"

    def test_a_missing_month_is_no_check(self, api):
        _acme((100, 200, 300), 700)
        Figure.objects.filter(key="m2").delete()
        assert api.get(REPORT, {"include_ok": "true"}).json()["results"] == []

    def test_a_rejected_part_does_not_count(self, api, editor):
        _acme((100, 200, 300), 700)
        assert len(api.get(REPORT).json()["results"]) == 1
        Figure.objects.filter(key="m3").update(status="rejected")
        assert api.get(REPORT, {"include_ok": "true"}).json()["results"] == []

    def test_quarters_against_the_year(self, api):
        acme = make_company("acme-mining")
        story = make_article("story", companies=(acme,))
        for q in range(4):
            start = D(2023, 3 * q + 1, 1)
            end = D(2023 + (q == 3), (3 * q + 4) % 12 or 12, 1) - datetime.timedelta(days=1)
            make_figure(story, f"q{q + 1}", company=acme, value=Decimal(250), period_start=start, period_end=end)
        make_figure(
            story, "year", company=acme, value=Decimal(900), period_start=D(2023, 1, 1), period_end=D(2023, 12, 31)
        )
        [finding] = api.get(REPORT).json()["results"]
        assert finding["message"] == "Acme Mining revenue 2023: quarters sum 1,000 vs stated 900, 11.11%"

    def test_revenue_minus_costs_against_the_net_result(self, api):
        acme = make_company("acme-mining")
        story = make_article("story", companies=(acme,))
        year = {"period_start": D(2023, 1, 1), "period_end": D(2023, 12, 31)}
        make_figure(story, "revenue", company=acme, value=Decimal(1000000000), **year)
        make_figure(story, "cost", company=acme, metric="cost", value=Decimal(900000000), **year)
        make_figure(story, "profit", company=acme, metric="net_profit", value=Decimal(120000000), **year)
        [finding] = api.get(REPORT).json()["results"]
        assert finding["kind"] == "arithmetic"
        assert finding["message"] == (
            "Acme Mining net result 2023: 1,000 \u2212 900 = 100 vs stated 120 million "
            "(net profit of 120 million), 16.67%"
        )

    def test_different_articles_stating_different_values_disagree(self, api):
        acme = make_company("acme-mining")
        old = make_article("old-story", companies=(acme,), published_on=D(2024, 1, 1))
        new = make_article("new-story", companies=(acme,), published_on=D(2024, 2, 1))
        year = {"period_start": D(2023, 1, 1), "period_end": D(2023, 12, 31)}
        first = make_figure(old, "revenue", company=acme, value=Decimal(1500000), **year)
        second = make_figure(new, "revenue", company=acme, value=Decimal(1600000), **year)
        [finding] = api.get(REPORT).json()["results"]
        assert finding["kind"] == "disagreement"
        assert finding["message"] == (
            "Acme Mining revenue 2023: stated as 1.5 (old-story) and 1.6 (new-story) million, 6.25% apart"
        )
        assert {(f["role"], f["id"]) for f in finding["figures"]} == {("statement", first.pk), ("statement", second.pk)}


def _acme_years(count: int) -> None:
    """Acme's Q1 of ``count`` years (2000 on), each with months that do not sum to the quarter: a finding a year."""
    acme = make_company("acme-mining")
    for i in range(count):
        story = make_article(f"story-{i}", companies=(acme,))
        year = 2000 + i
        for month in (1, 2, 3):
            end = D(year, month + 1, 1) - datetime.timedelta(days=1)
            make_figure(story, f"m{month}", company=acme, period_start=D(year, month, 1), period_end=end)
        make_figure(story, "q1", company=acme, value=Decimal(1), period_start=D(year, 1, 1), period_end=D(year, 3, 31))


@pytest.mark.django_db
@pytest.mark.parametrize("size", [1, 10])
def test_the_report_makes_the_same_queries_whatever_the_size(django_assert_num_queries, size):
    _acme_years(size)
    with django_assert_num_queries(2):  # the company filter's slug; every figure with a period
        body = APIClient().get(REPORT, {"company": "acme-mining"}).json()
    assert body["count"] == size


@pytest.mark.django_db
class TestPages:
    """The findings of a large archive come a page at a time, as on the lists."""

    def test_limit_and_offset_walk_the_findings_in_order(self, api):
        _acme_years(5)
        first = api.get(REPORT, {"limit": 2}).json()
        assert first["count"] == 5
        assert [f["label"] for f in first["results"]] == ["Q1 2000", "Q1 2001"]
        assert first["previous"] is None
        assert first["next"] == "http://testserver/api/reports/consistency/?limit=2&offset=2"
        second = api.get(first["next"]).json()
        assert [f["label"] for f in second["results"]] == ["Q1 2002", "Q1 2003"]
        assert second["previous"] == "http://testserver/api/reports/consistency/?limit=2"
        last = api.get(second["next"]).json()
        assert [f["label"] for f in last["results"]] == ["Q1 2004"]
        assert last["next"] is None
        assert last["count"] == 5
        assert api.get(REPORT, {"offset": 10}).json() | {"previous": None} == {
            "tolerance": "0.1",
            "count": 5,
            "next": None,
            "previous": None,
            "results": [],
        }

    def test_the_default_page_is_fifty_and_a_larger_limit_is_cut_to_a_thousand(self, api):
        _acme_years(3)
        body = api.get(REPORT).json()
        assert (body["count"], len(body["results"]), body["next"]) == (3, 3, None)
        assert len(api.get(REPORT, {"limit": 10**6}).json()["results"]) == 3

    @pytest.mark.parametrize(
        ("params", "named"),
        [
            ({"limit": "0"}, "limit"),
            ({"limit": "x"}, "limit"),
            ({"limit": "2.0"}, "limit"),
            ({"offset": "-1"}, "offset"),
            ({"offset": "1e3"}, "offset"),
        ],
    )
    def test_a_bad_page_is_a_400_naming_it(self, api, params, named):
        response = api.get(REPORT, params)
        assert response.status_code == 400
        assert list(response.json()) == [named]

    def test_the_admin_page_shows_a_page_of_findings_with_links_to_the_others(self, editor_client, monkeypatch):
        from articles.admin.figures import FigureAdmin

        monkeypatch.setattr(FigureAdmin, "list_per_page", 2)
        _acme_years(5)
        page = editor_client.get(ADMIN, {"tolerance": "0.5"}).content.decode()
        assert "5 findings, 1–2 shown" in page
        assert "Q1 2000" in page and "Q1 2001" in page and "Q1 2002" not in page
        assert 'href="?tolerance=0.5&amp;p=2" rel="next"' in page
        last = editor_client.get(ADMIN, {"tolerance": "0.5", "p": "3"}).content.decode()
        assert "5 findings, 5–5 shown" in last and "Q1 2004" in last and "Q1 2003" not in last
        assert 'href="?tolerance=0.5&amp;p=2" rel="prev"' in last and 'rel="next"' not in last
        # a page past the end or not a number shows the last or the first page, as the admin's lists do
        assert "Q1 2004" in editor_client.get(ADMIN, {"p": "99"}).content.decode()
        assert "Q1 2000" in editor_client.get(ADMIN, {"p": "x"}).content.decode()
