"""Every filter of every FilterSet, NetBox style: two lines each over a handful of records, and every one must
keep some records and drop others, so a filter that does nothing (keeps everything) or returns nothing fails
(``FilterSetTests.count``, tests/base.py). The ``id``, ``created_at`` and ``updated_at`` filters every record
has are tested once, by ``ChangeLoggedFilterSetTests``. ``test_every_filter_has_a_test`` and
``test_every_model_field_has_a_filter`` keep it that way."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.db import models
from django.http import QueryDict

from articles.api import filtersets, views
from articles.models import Article, Company, Event, Figure, Person

from .base import (
    FUNDING_QUOTE,
    HEARING_QUOTE,
    PRICE_QUOTE,
    SALE_QUOTE,
    ChangeLoggedFilterSetTests,
    make_article,
    make_company,
    make_event,
    make_figure,
    make_person,
    stamp,
)

# The year each record was created in (on 1 January; updated a year later): see ChangeLoggedFilterSetTests.
COMPANY_STAMPS = {"acme": 2020, "borealis": 2021, "press": 2022, "acme-delaware": 2023}
PERSON_STAMPS = {"jane-roe": 2020, "john-doe": 2021, "jihan-wu": 2022}
ARTICLE_STAMPS = {"acme-revenue": 2020, "borealis-funding": 2021, "rumours": 2022}
EVENT_STAMPS = {"revenue": 2020, "funding": 2021, "hearing": 2022, "sale": 2023}
FIGURE_STAMPS = {"revenue": 2020, "funding": 2021, "hash-price": 2022, "machines": 2023}


def _at(year: int) -> datetime.datetime:
    return datetime.datetime(year, 1, 1, tzinfo=datetime.UTC)


def make_dataset() -> None:
    """Four companies, three people, three articles, four events and four figures that the filters tell apart."""
    editor = User.objects.create_user("reviewer")
    acme = make_company(
        "acme", name="Acme Mining", kind="hardware_maker", country="US", founded_year=2010, aliases=("Akme Minning",)
    )
    borealis = make_company("borealis", name="Borealis Hashing", kind="miner", country="CA", founded_year=2015)
    press = make_company("press", name="The Press", kind="media", country="GB")
    delaware = make_company(
        "acme-delaware", name="Acme Delaware", kind="hardware_maker", country="US", founded_year=2018, parent=acme
    )
    stamp(Company, COMPANY_STAMPS)

    jane = make_person("jane-roe", name="Jane Roe", title="CEO of Acme", affiliation=acme, aliases=("J. Roe",))
    john = make_person("john-doe", name="John Doe", title="Analyst", affiliation=borealis)
    wu = make_person("jihan-wu", name="Jihan Wu", aliases=("Woo Jee-han",))
    stamp(Person, PERSON_STAMPS)

    revenue = make_article(
        "acme-revenue",
        title="Acme revenue soars",
        publisher=press,
        authors=["Ann Writer"],
        published_on=datetime.date(2023, 5, 2),
        companies=(acme, borealis),
        people=(jane,),
        url="https://example.com/acme",
    )
    funding = make_article(
        "borealis-funding",
        title="Borealis raises money",
        publisher=press,
        authors=["Bob Reporter", "Ann Writer"],
        published_on=datetime.date(2021, 6, 1),
        published_precision="month",
        companies=(borealis, press),
    )
    make_article(
        "rumours",
        title="Rumours about hashing",
        body="Nobody knows what Acme will do. Zebras were seen.",
        published_on=datetime.date(2018, 1, 1),
        published_precision="year",
        language="zh",
        translated_from="zh",
        companies=(acme, delaware),
        people=(wu,),
    )
    stamp(Article, ARTICLE_STAMPS)

    make_event(revenue, "revenue", type="financial_report", participants=((acme, "subject"), (press, "reporter")))
    make_event(
        revenue,
        "funding",
        quote=FUNDING_QUOTE,
        title="Borealis raises $20 million",
        summary="A funding round led by investors.",
        type="funding_round",
        date="2021-06-01",
        date_precision="month",
        participants=((borealis, "subject"), (acme, "investor")),
    )
    make_event(
        revenue,
        "hearing",
        quote=HEARING_QUOTE,
        type="statement",
        date="2022-03-03",
        date_precision="day",
        participants=((jane, "speaker"), (acme, "subject")),
    )
    make_event(
        funding,
        "sale",
        quote=SALE_QUOTE,
        type="order_contract",
        date="2024-01-01",
        end_date="2024-04-01",
        date_precision="quarter",
        participants=((acme, "supplier"), (borealis, "customer"), (john, "analyst")),
    )
    stamp(Event, EVENT_STAMPS, field="key")

    make_figure(
        revenue,
        "revenue",
        company=acme,
        period_start=datetime.date(2023, 1, 1),
        period_end=datetime.date(2023, 12, 31),
        period_label="2023",
    )
    make_figure(
        revenue,
        "funding",
        company=borealis,
        metric="funding_raised",
        as_reported="$20 million",
        value=Decimal("20000000"),
        quote=FUNDING_QUOTE,
        period_start=datetime.date(2021, 6, 1),
        period_end=datetime.date(2021, 6, 30),
        period_label="June 2021",
        status="verified",
        reviewed_by=editor,
        reviewed_at=_at(2024),
    )
    make_figure(
        funding,
        "hash-price",
        subject="Hash price",
        metric="price_change",
        as_reported="12%",
        value=Decimal("12"),
        unit="percent",
        quote=PRICE_QUOTE,
        period_start=datetime.date(2022, 1, 1),
        period_end=datetime.date(2022, 3, 31),
        period_label="Q1 2022",
        status="corrected",
        note="Checked.",
        reviewed_by=editor,
        reviewed_at=_at(2025),
    )
    make_figure(
        funding,
        "machines",
        company=acme,
        metric="quantity",
        as_reported="12,000",
        value=Decimal("12000"),
        value_high=Decimal("13000"),
        unit="units",
        qualifier="about",
        quote=SALE_QUOTE,
    )
    stamp(Figure, FIGURE_STAMPS, field="key")


def pk(model: type[models.Model], **lookup) -> int:
    return model.objects.get(**lookup).pk


class DatasetFilterSetTests(ChangeLoggedFilterSetTests):
    """The FilterSet tests over ``make_dataset`` (made once per class, each test in its own savepoint)."""

    @classmethod
    def setUpTestData(cls):
        make_dataset()


class TestCompanyFilterSet(DatasetFilterSetTests):
    filterset = filtersets.CompanyFilterSet
    queryset = views.CompanyViewSet.queryset
    stamps = COMPANY_STAMPS

    def test_slug(self):
        params = {"slug": ["acme", "borealis"]}
        assert self.count(params) == 2

    def test_name(self):
        params = {"name": ["Acme Mining", "The Press"]}
        assert self.count(params) == 2

    def test_kind(self):
        params = {"kind": ["miner", "media"]}
        assert self.count(params) == 2

    def test_kind_in_any_case(self):
        params = {"kind": ["MINER", "Media"]}
        assert self.names(params) == {"borealis", "press"}

    def test_country(self):
        params = {"country": ["US"]}
        assert self.count(params) == 2

    def test_country_in_any_case(self):
        params = {"country": ["us", "Ca"]}
        assert self.names(params) == {"acme", "acme-delaware", "borealis"}

    def test_country_refuses_what_is_not_an_iso_code(self):
        for wrong in ("USA", "U", "ZZ", "u$"):
            filterset = self.filterset({"country": [wrong]}, self.queryset.all())
            assert not filterset.is_valid()
            assert "ISO 3166-1" in filterset.errors["country"][0]

    def test_founded_year(self):
        params = {"founded_year": ["2010", "2015"]}
        assert self.count(params) == 2

    def test_founded_year__gte(self):
        params = {"founded_year__gte": ["2015"]}
        assert self.count(params) == 2

    def test_founded_year__lte(self):
        params = {"founded_year__lte": ["2015"]}
        assert self.count(params) == 2

    def test_founded_year__gt(self):
        params = {"founded_year__gt": ["2015"]}
        assert self.count(params) == 1

    def test_founded_year__lt(self):
        params = {"founded_year__lt": ["2015"]}
        assert self.count(params) == 1

    def test_parent(self):
        params = {"parent": ["acme"]}
        assert self.count(params) == 1

    def test_parent_null(self):
        params = {"parent": ["null"]}
        assert self.count(params) == 3

    def test_parent_id(self):
        params = {"parent_id": [pk(Company, slug="acme")]}
        assert self.count(params) == 1

    def test_q(self):
        params = {"q": "ACME"}
        assert self.count(params) == 2

    def test_q_finds_an_alias_from_part_of_it(self):
        params = {"q": "minn"}
        assert self.count(params) == 1

    def test_q_needs_every_word(self):
        params = {"q": "acme delaware"}
        assert self.count(params) == 1

    def test_ordering(self):
        params = {"ordering": "-founded_year,slug"}
        assert self.order(params, "slug") == ["acme-delaware", "borealis", "acme", "press"]

    def test_ordering_puts_empty_values_last_either_way(self):
        params = {"ordering": "founded_year"}
        assert self.order(params, "slug") == ["acme", "borealis", "acme-delaware", "press"]

    def test_ordering_by_a_count(self):
        params = {"ordering": "-article_count,slug"}
        assert self.order(params, "slug") == ["acme", "borealis", "acme-delaware", "press"]


class TestPersonFilterSet(DatasetFilterSetTests):
    filterset = filtersets.PersonFilterSet
    queryset = views.PersonViewSet.queryset
    stamps = PERSON_STAMPS

    def test_slug(self):
        params = {"slug": ["jane-roe", "john-doe"]}
        assert self.count(params) == 2

    def test_name(self):
        params = {"name": ["Jane Roe"]}
        assert self.count(params) == 1

    def test_title(self):
        params = {"title": ["CEO of Acme", "Analyst"]}
        assert self.count(params) == 2

    def test_affiliation(self):
        params = {"affiliation": ["acme", "borealis"]}
        assert self.count(params) == 2

    def test_affiliation_null(self):
        params = {"affiliation": ["null"]}
        assert self.count(params) == 1

    def test_affiliation_id(self):
        params = {"affiliation_id": [pk(Company, slug="acme")]}
        assert self.count(params) == 1

    def test_q(self):
        params = {"q": "jee-han"}
        assert self.count(params) == 1

    def test_q_searches_the_title(self):
        params = {"q": "ceo"}
        assert self.count(params) == 1

    def test_ordering(self):
        params = {"ordering": "-name"}
        assert self.order(params, "slug") == ["john-doe", "jihan-wu", "jane-roe"]


class TestArticleFilterSet(DatasetFilterSetTests):
    filterset = filtersets.ArticleFilterSet
    queryset = views.ArticleViewSet.queryset
    stamps = ARTICLE_STAMPS

    def test_slug(self):
        params = {"slug": ["rumours"]}
        assert self.count(params) == 1

    def test_publisher(self):
        params = {"publisher": ["press"]}
        assert self.count(params) == 2

    def test_publisher_null(self):
        params = {"publisher": ["null"]}
        assert self.count(params) == 1

    def test_publisher_id(self):
        params = {"publisher_id": [pk(Company, slug="press")]}
        assert self.count(params) == 2

    def test_company(self):
        params = {"company": ["acme"]}
        assert self.count(params) == 2

    def test_company_repeated_means_any_of_them(self):
        assert self.count({"company": ["press"]}) == self.count({"company": ["acme-delaware"]}) == 1
        params = {"company": ["press", "acme-delaware"]}
        assert self.names(params) == {"borealis-funding", "rumours"}

    def test_company_id(self):
        params = {"company_id": [pk(Company, slug="borealis")]}
        assert self.count(params) == 2

    def test_person(self):
        params = {"person": ["jane-roe", "jihan-wu"]}
        assert self.count(params) == 2

    def test_person_id(self):
        params = {"person_id": [pk(Person, slug="jihan-wu")]}
        assert self.count(params) == 1

    def test_author(self):
        params = {"author": ["ann writer"]}
        assert self.count(params) == 2

    def test_published_on(self):
        params = {"published_on": ["2021-06-01", "2018-01-01"]}
        assert self.count(params) == 2

    def test_published_on__gte(self):
        params = {"published_on__gte": ["2021-06-01"]}
        assert self.count(params) == 2

    def test_published_on__lte(self):
        params = {"published_on__lte": ["2021-06-01"]}
        assert self.count(params) == 2

    def test_published_on__gt(self):
        params = {"published_on__gt": ["2021-06-01"]}
        assert self.count(params) == 1

    def test_published_on__lt(self):
        params = {"published_on__lt": ["2021-06-01"]}
        assert self.count(params) == 1

    def test_published_precision(self):
        params = {"published_precision": ["month", "year"]}
        assert self.count(params) == 2

    def test_url(self):
        params = {"url": ["https://example.com/acme"]}
        assert self.count(params) == 1

    def test_language(self):
        params = {"language": ["en"]}
        assert self.count(params) == 2

    def test_translated_from(self):
        params = {"translated_from": ["zh"]}
        assert self.count(params) == 1

    def test_q(self):
        params = {"q": "zebras"}
        assert self.count(params) == 1

    def test_q_searches_title_and_body_for_every_word(self):
        # "hashing" is in one title and in the other two bodies, "zebras" in one body: both only in rumours.
        params = {"q": "zebras hashing"}
        assert self.names(params) == {"rumours"}

    def test_ordering(self):
        params = {"ordering": "published_on"}
        assert self.order(params, "slug") == ["rumours", "borealis-funding", "acme-revenue"]


class TestEventFilterSet(DatasetFilterSetTests):
    filterset = filtersets.EventFilterSet
    queryset = views.EventViewSet.queryset
    name_field = "key"
    stamps = EVENT_STAMPS

    def test_key(self):
        params = {"key": ["sale", "revenue"]}
        assert self.count(params) == 2

    def test_article(self):
        params = {"article": ["acme-revenue"]}
        assert self.count(params) == 3

    def test_article_id(self):
        params = {"article_id": [pk(Article, slug="borealis-funding")]}
        assert self.count(params) == 1

    def test_type(self):
        params = {"type": ["statement", "funding_round"]}
        assert self.count(params) == 2

    def test_type_in_any_case(self):
        params = {"type": ["STATEMENT", "Funding_Round"]}
        assert self.names(params) == {"hearing", "funding"}

    def test_participant_kind(self):
        params = {"participant_kind": ["media"]}
        assert self.names(params) == {"revenue"}

    def test_participant_kind_in_any_case_repeated_means_any_of_them(self):
        params = {"participant_kind": ["Miner", "MEDIA"]}
        assert self.names(params) == {"revenue", "funding", "sale"}

    def test_participant_country(self):
        params = {"participant_country": ["ca"]}
        assert self.names(params) == {"funding", "sale"}

    def test_participant_kind_and_country_are_one_participant(self):
        # The press (media, GB) reports the revenue, whose subject is Acme (US): no media company from the US.
        assert self.names({"participant_kind": ["media"], "participant_country": ["GB"]}) == {"revenue"}
        params = {"participant_kind": ["media"], "participant_country": ["us"]}
        assert self.count_matching_nothing(params) == 0

    def test_participant_kind_with_role_is_that_participant_in_that_role(self):
        params = {"participant_kind": ["miner"], "role": ["customer"]}
        assert self.names(params) == {"sale"}

    def test_participant_kind_with_a_company_needs_both(self):
        # Events with Acme and a miner (Borealis): funding and sale; Acme alone is also in revenue and hearing.
        params = {"company": ["acme"], "participant_kind": ["miner"]}
        assert self.names(params) == {"funding", "sale"}

    def test_date_precision(self):
        params = {"date_precision": ["day", "month"]}
        assert self.count(params) == 2

    def test_status(self):
        Event.objects.filter(key="hearing").update(status="proposed")
        Event.objects.filter(key="sale").update(status="dismissed")
        assert self.names({"status": ["proposed", "dismissed"]}) == {"hearing", "sale"}
        assert "hearing" not in self.names({"status": ["reported"]})

    def test_company(self):
        params = {"company": ["borealis"]}
        assert self.count(params) == 2

    def test_company_repeated_means_any_of_them(self):
        params = {"company": ["borealis", "press"]}
        assert self.count(params) == 3

    def test_company_id(self):
        params = {"company_id": [pk(Company, slug="press")]}
        assert self.count(params) == 1

    def test_person(self):
        params = {"person": ["jane-roe"]}
        assert self.count(params) == 1

    def test_person_id(self):
        params = {"person_id": [pk(Person, slug="jane-roe"), pk(Person, slug="john-doe")]}
        assert self.count(params) == 2

    def test_role(self):
        params = {"role": ["investor", "speaker"]}
        assert self.count(params) == 2

    def test_role_with_company_is_that_company_in_that_role(self):
        params = {"company": ["acme"], "role": ["subject"]}
        assert self.count(params) == 2

    def test_roles_and_companies_repeated_match_any_pair_of_them(self):
        params = {"company": ["acme", "borealis"], "role": ["investor", "customer"]}
        assert self.count(params) == 2

    def test_role_with_a_company_never_in_that_role_matches_nothing(self):
        assert self.names({"company": ["press"], "role": ["reporter"]}) == {"revenue"}
        params = {"company": ["press"], "role": ["subject"]}
        assert self.count_matching_nothing(params) == 0

    def test_role_with_company_and_person_applies_to_both(self):
        params = {"company": ["acme"], "person": ["jane-roe"], "role": ["subject", "speaker"]}
        assert self.count(params) == 1

    def test_date(self):
        params = {"date": ["2021-06-15"]}
        assert self.count(params) == 1

    def test_date_covers_a_span_to_its_end(self):
        params = {"date": ["2024-05-20"]}
        assert self.count(params) == 1

    def test_date__gte(self):
        params = {"date__gte": ["2021-07-01"]}
        assert self.names(params) == {"revenue", "hearing", "sale"}

    def test_date__gte_respects_the_precision(self):
        params = {"date__gte": ["2023-12-31"]}
        assert self.count(params) == 2

    def test_date__gt(self):
        params = {"date__gt": ["2021-06-30"]}
        assert self.count(params) == 3

    def test_date__gte_and_gt_find_an_event_that_started_years_before_and_reaches_the_day(self):
        # On PostgreSQL the filter also bounds the start by the longest span of any event: this one's, 6 years.
        article = Article.objects.get(slug="acme-revenue")
        make_event(article, "ban", date="2018-01-01", end_date="2024-06-30", date_precision="day")
        assert "ban" in self.names({"date__gte": ["2024-04-01"]})
        assert "ban" in self.names({"date__gt": ["2024-06-29"]})
        assert "ban" not in set(self.filtered({"date__gt": ["2024-06-30"]}).values_list("key", flat=True))
        assert self.count_matching_nothing({"date__gte": ["2030-01-01"]}) == 0

    def test_date__lte(self):
        params = {"date__lte": ["2021-06-15"]}
        assert self.count(params) == 1

    def test_date__lt(self):
        params = {"date__lt": ["2022-03-03"]}
        assert self.count(params) == 1

    def test_q(self):
        params = {"q": "investors"}
        assert self.count(params) == 1

    def test_q_searches_title_summary_and_quote(self):
        params = {"q": "borealis"}
        assert self.count(params) == 2

    def test_ordering(self):
        params = {"ordering": "-date"}
        assert self.order(params, "key") == ["sale", "revenue", "hearing", "funding"]


class TestFigureFilterSet(DatasetFilterSetTests):
    filterset = filtersets.FigureFilterSet
    queryset = views.FigureViewSet.queryset
    name_field = "key"
    stamps = FIGURE_STAMPS

    def test_key(self):
        params = {"key": ["machines"]}
        assert self.count(params) == 1

    def test_article(self):
        params = {"article": ["borealis-funding"]}
        assert self.count(params) == 2

    def test_article_id(self):
        params = {"article_id": [pk(Article, slug="acme-revenue")]}
        assert self.count(params) == 2

    def test_company(self):
        params = {"company": ["acme"]}
        assert self.count(params) == 2

    def test_company_null(self):
        params = {"company": ["null", "borealis"]}
        assert self.count(params) == 2

    def test_company_id(self):
        params = {"company_id": [pk(Company, slug="borealis")]}
        assert self.count(params) == 1

    def test_subject(self):
        params = {"subject": ["Hash price"]}
        assert self.count(params) == 1

    def test_metric(self):
        params = {"metric": ["revenue", "quantity"]}
        assert self.count(params) == 2

    def test_unit(self):
        params = {"unit": ["USD"]}
        assert self.count(params) == 2

    def test_unit_and_metric_in_any_case(self):
        params = {"unit": ["usd"], "metric": ["Revenue", "FUNDING_RAISED"]}
        assert self.names(params) == {"revenue", "funding"}

    def test_a_choice_in_no_case_is_an_error_listing_the_accepted_values(self):
        filterset = self.filterset({"metric": ["revenues", "Revenue"]}, self.queryset.all())
        assert not filterset.is_valid()
        [message] = filterset.errors["metric"]
        assert message.startswith("'revenues' is not one of: revenue, net_profit,") and message.endswith("(any case).")

    def test_qualifier(self):
        params = {"qualifier": ["about"]}
        assert self.count(params) == 1

    def test_status(self):
        params = {"status": ["verified", "corrected"]}
        assert self.count(params) == 2

    def test_value(self):
        params = {"value": ["1500000", "12"]}
        assert self.count(params) == 2

    def test_value__gte(self):
        params = {"value__gte": ["12000"]}
        assert self.count(params) == 3

    def test_value__lte(self):
        params = {"value__lte": ["12000.5"]}
        assert self.count(params) == 2

    def test_value__gt(self):
        params = {"value__gt": ["1500000"]}
        assert self.count(params) == 1

    def test_value__lt(self):
        params = {"value__lt": ["1500000"]}
        assert self.count(params) == 2

    def test_value_high(self):
        params = {"value_high": ["13000"]}
        assert self.count(params) == 1

    def test_value_high__gte(self):
        params = {"value_high__gte": ["13000"]}
        assert self.count(params) == 1

    def test_value_high__lte(self):
        params = {"value_high__lte": ["13000"]}
        assert self.names(params) == {"machines"}
        assert self.count_matching_nothing({"value_high__lte": ["12999"]}) == 0

    def test_value_high__gt(self):
        params = {"value_high__gt": ["0"]}
        assert self.count(params) == 1

    def test_value_high__lt(self):
        params = {"value_high__lt": ["20000"]}
        assert self.count(params) == 1

    def test_value_overlaps(self):
        # 12,000-13,000 machines reach 12,500; value__gte reads the low end only.
        params = {"value_overlaps": ["12500,"]}
        assert self.names(params) == {"machines", "revenue", "funding"}
        assert self.names({"value__gte": ["12500"]}) == {"revenue", "funding"}

    def test_value_overlaps_up_to(self):
        params = {"value_overlaps": [",12500"]}
        assert self.names(params) == {"hash-price", "machines"}

    def test_value_overlaps_one_number_is_a_value_or_a_range_containing_it(self):
        params = {"value_overlaps": ["12500"]}
        assert self.names(params) == {"machines"}

    def test_value_overlaps_both_bounds(self):
        assert self.names({"value_overlaps": ["13000,1500000"]}) == {"machines", "revenue"}
        params = {"value_overlaps": ["13001,1000000"]}
        assert self.count_matching_nothing(params) == 0

    def test_value_overlaps_repeated_means_any_of_them(self):
        params = {"value_overlaps": ["0,100", "1000000,2000000"]}
        assert self.names(params) == {"hash-price", "revenue"}

    def test_value_overlaps_refuses_what_is_not_an_interval(self):
        for wrong in ("abc", "1,2,3", ",", "1e400,", "0.0000001,"):
            filterset = self.filterset({"value_overlaps": [wrong]}, self.queryset.all())
            assert not filterset.is_valid(), wrong
            assert repr(wrong) in filterset.errors["value_overlaps"][0]

    def test_period_start(self):
        params = {"period_start": ["2023-01-01", "2022-01-01"]}
        assert self.count(params) == 2

    def test_period_start__gte(self):
        params = {"period_start__gte": ["2022-01-01"]}
        assert self.count(params) == 2

    def test_period_start__lte(self):
        params = {"period_start__lte": ["2022-01-01"]}
        assert self.count(params) == 2

    def test_period_start__gt(self):
        params = {"period_start__gt": ["2022-01-01"]}
        assert self.count(params) == 1

    def test_period_start__lt(self):
        params = {"period_start__lt": ["2022-01-01"]}
        assert self.count(params) == 1

    def test_period_end(self):
        params = {"period_end": ["2021-06-30"]}
        assert self.count(params) == 1

    def test_period_end__gte(self):
        params = {"period_end__gte": ["2022-03-31"]}
        assert self.count(params) == 2

    def test_period_end__lte(self):
        params = {"period_end__lte": ["2022-03-31"]}
        assert self.count(params) == 2

    def test_period_end__gt(self):
        params = {"period_end__gt": ["2022-03-31"]}
        assert self.count(params) == 1

    def test_period_end__lt(self):
        params = {"period_end__lt": ["2022-03-31"]}
        assert self.count(params) == 1

    def test_period_label(self):
        params = {"period_label": ["2023", "Q1 2022"]}
        assert self.count(params) == 2

    def test_period_granularity(self):
        assert self.names({"period_granularity": ["year", "quarter"]}) == {"revenue", "hash-price"}
        assert self.names({"period_granularity": ["month"]}) == {"funding"}

    def test_reviewed_by(self):
        params = {"reviewed_by": ["reviewer"]}
        assert self.count(params) == 2

    def test_reviewed_by_null(self):
        params = {"reviewed_by": ["null"]}
        assert self.count(params) == 2

    def test_reviewed_by_id(self):
        params = {"reviewed_by_id": [Figure.objects.get(key="funding").reviewed_by_id]}
        assert self.count(params) == 2

    def test_reviewed_at__gte(self):
        params = {"reviewed_at__gte": ["2024-06-01"]}
        assert self.count(params) == 1

    def test_reviewed_at__lte(self):
        params = {"reviewed_at__lte": ["2025-01-01"]}
        assert self.count(params) == 2

    def test_q(self):
        params = {"q": "price"}
        assert self.count(params) == 1

    def test_q_searches_subject_quote_and_as_reported(self):
        params = {"q": "12,000"}
        assert self.count(params) == 1

    def test_ordering(self):
        params = {"ordering": "-value"}
        assert self.order(params, "key") == ["funding", "revenue", "machines", "hash-price"]

    def test_ordering_by_position_in_the_article(self):
        # Every factory article has the same body: the revenue sentence comes first, the sale last.
        assert self.order({"ordering": "quote_start"}, "key") == ["revenue", "funding", "hash-price", "machines"]
        params = {"ordering": "-quote_start"}
        assert self.order(params, "key") == ["machines", "hash-price", "funding", "revenue"]


FILTERSET_TESTS = [
    TestCompanyFilterSet,
    TestPersonFilterSet,
    TestArticleFilterSet,
    TestEventFilterSet,
    TestFigureFilterSet,
]


@pytest.mark.parametrize("tests", FILTERSET_TESTS, ids=lambda tests: tests.filterset.__name__)
def test_every_filter_has_a_test(tests):
    untested = [name for name in tests.filterset.base_filters if not hasattr(tests, f"test_{name}")]
    assert untested == []


# Model fields deliberately without a filter of their own, and why.
NOT_FILTERED = {
    # Long free text: searched with q.
    "description",
    "body",
    "notes",
    "summary",
    "quote",
    "as_reported",
    "note",
    "title",  # of articles and events (searched with q); a person's title has a filter
    # Bookkeeping.
    "version",
    "quote_start",
    "quote_end",
    # Covered by the precision-aware date filters (date, date__gte, date__lte, ...).
    "end_date",
    "date_latest",
    # Filtered as "author".
    "authors",
}
# Relations filtered under another name (plural model field, singular parameter).
RENAMED = {"companies": "company", "people": "person"}


@pytest.mark.parametrize("tests", FILTERSET_TESTS, ids=lambda tests: tests.filterset.__name__)
def test_every_model_field_has_a_filter(tests):
    filterset = tests.filterset
    names = set(filterset.base_filters)
    missing = []
    for field in filterset._meta.model._meta.get_fields():
        if field.auto_created and not field.concrete:
            continue  # reverse relations
        if field.name in NOT_FILTERED and not (filterset is filtersets.PersonFilterSet and field.name == "title"):
            continue
        name = RENAMED.get(field.name, field.name)
        if field.is_relation:
            missing += [wanted for wanted in (name, f"{name}_id") if wanted not in names]
        elif not any(filter_name == name or filter_name.startswith(f"{name}__") for filter_name in names):
            missing.append(name)
    assert missing == []


@pytest.mark.django_db
def test_a_filterset_reads_repeated_query_parameters():
    make_dataset()
    params = QueryDict("metric=revenue&metric=quantity")
    assert filtersets.FigureFilterSet(params, Figure.objects.all()).qs.count() == 2


@pytest.mark.django_db
def test_the_records_a_filter_names_are_read_with_one_plain_statement_and_as_the_orm_reads_them(
    django_assert_num_queries,
):
    """A slug filter's check (does every value name a record?) reads the keys of the model's every record with a
    statement of its own (the ORM's compiler cost more than the query); a restricted queryset, or a primary key,
    goes through the ORM. Both give the same answer."""
    from articles.api.filters import _keys_found

    acme, borealis = make_company("acme", kind="hardware_maker"), make_company("borealis", kind="miner")
    make_company("acme-delaware", kind="miner")
    wanted = frozenset({"acme", "borealis", "ACME", "nobody", "acme%"})

    with django_assert_num_queries(1) as captured:
        found = _keys_found(Company.objects.all(), "slug", wanted)
    assert found == {"acme": acme.pk, "borealis": borealis.pk}
    assert "articles_company" in captured.captured_queries[0]["sql"]
    assert _keys_found(Company.objects.order_by("name"), "slug", wanted) == found  # ordering restricts nothing
    assert _keys_found(Company.objects.filter(kind="miner"), "slug", wanted) == {"borealis": borealis.pk}
    assert _keys_found(Company.objects.all(), "pk", frozenset({str(acme.pk), "0"})) == {str(acme.pk): acme.pk}
    assert _keys_found(Company.objects.all(), "slug", frozenset()) == {}
