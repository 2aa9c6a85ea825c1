"""Model validation: provenance and number consistency are enforced, not hoped for."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from articles.models import Article, Company, Event, Figure
from articles.services.companies import company_save
from articles.services.events import event_save

BODY = "Bitmain has incurred a net loss of $310 million in the first quarter of 2019. Gross margins were $7.91 million."


@pytest.fixture
def article(db) -> Article:
    return Article.objects.create(
        slug="q1", title="Q1", published_on=datetime.date(2019, 8, 1), published_precision="month", body=BODY
    )


@pytest.fixture
def bitmain(db) -> Company:
    return Company.objects.create(slug="bitmain", name="Bitmain", kind="hardware_maker")


def make_figure(article, company, **overrides) -> Figure:
    values = dict(
        article=article,
        key="q1-loss",
        company=company,
        metric="net_loss",
        value=Decimal("310000000"),
        unit="USD",
        qualifier="exact",
        as_reported="$310 million",
        quote="has incurred a net loss of $310 million in the first quarter of 2019.",
        period_start=datetime.date(2019, 1, 1),
        period_end=datetime.date(2019, 3, 31),
        period_label="Q1 2019",
    )
    values.update(overrides)
    return Figure(**values)


def errors_of(instance) -> dict:
    with pytest.raises(ValidationError) as caught:
        instance.full_clean()
    return caught.value.message_dict


def test_a_valid_figure_stores_the_quote_offsets(article, bitmain):
    figure = make_figure(article, bitmain)
    figure.full_clean()
    figure.save()
    assert BODY[figure.quote_start : figure.quote_end] == figure.quote
    assert figure.quote_start == BODY.index("has incurred")


def test_it_rejects_a_quote_missing_from_the_body(article, bitmain):
    errors = errors_of(make_figure(article, bitmain, quote="a net loss of $310 million in 2019"))
    assert "does not occur verbatim" in errors["quote"][0]


def test_a_quote_must_match_to_the_character(article, bitmain):
    errors = errors_of(make_figure(article, bitmain, quote="has incurred a net loss of $310 Million"))
    assert "quote" in errors


def test_it_rejects_an_as_reported_missing_from_the_quote(article, bitmain):
    errors = errors_of(make_figure(article, bitmain, as_reported="$7.91 million"))
    assert "does not occur in the figure's quote" in errors["as_reported"][0]


def test_it_rejects_a_value_that_disagrees_with_the_words(article, bitmain):
    errors = errors_of(make_figure(article, bitmain, value=Decimal("31000000")))
    assert "reads as 310000000" in errors["value"][0]


def test_it_rejects_a_unit_or_qualifier_that_disagrees_with_the_words(article, bitmain):
    errors = errors_of(make_figure(article, bitmain, unit="percent", qualifier="about"))
    assert set(errors) >= {"unit", "qualifier"}


def test_a_correction_keeps_the_words_and_needs_a_note(article, bitmain):
    corrected = make_figure(article, bitmain, value=Decimal("320000000"), status="corrected")
    assert "note" in errors_of(corrected)
    corrected.note = "The company's filing says $320 million."
    corrected.full_clean()
    assert corrected.as_reported == "$310 million"


def test_a_figure_needs_a_company_or_a_subject(article):
    errors = errors_of(make_figure(article, None))
    assert "subject" in errors
    make_figure(article, None, subject="Bitmain's Q1 2019 loss").full_clean()


def test_dates_of_month_precision_are_the_first_day_of_the_month(article):
    event = Event(
        article=article,
        key="loss",
        title="Loss",
        type="financial_report",
        date=datetime.date(2019, 3, 15),
        date_precision="month",
        quote="Gross margins were $7.91 million.",
    )
    assert "2019-03-01" in errors_of(event)["date"][0]


def test_an_event_knows_the_last_day_its_imprecise_date_covers(article):
    data = {
        "article": article,
        "key": "june",
        "title": "June",
        "type": "other",
        "date": datetime.date(2021, 6, 1),
        "date_precision": "month",
        "quote": "Gross margins were $7.91 million.",
    }
    event = event_save(data=data, user=None)
    assert event.date_latest == datetime.date(2021, 6, 30)
    event = event_save(event=event, data={"date": datetime.date(2019, 1, 1), "date_precision": "quarter"}, user=None)
    assert Event.objects.get(pk=event.pk).date_latest == datetime.date(2019, 3, 31)


def test_an_article_date_cannot_have_quarter_precision(db):
    article = Article(
        slug="a", title="A", published_on=datetime.date(2019, 1, 1), published_precision="quarter", body="x"
    )
    assert "published_precision" in errors_of(article)


def test_the_database_refuses_a_range_that_runs_backwards(article, bitmain):
    figure = make_figure(article, bitmain, value_high=Decimal("1"))
    figure.quote_start, figure.quote_end = 0, 10
    with pytest.raises(IntegrityError), transaction.atomic():
        figure.save()


def test_the_database_refuses_two_figures_with_one_key_in_an_article(article, bitmain):
    first = make_figure(article, bitmain)
    first.full_clean()
    first.save()
    second = make_figure(article, bitmain)
    second.quote_start, second.quote_end = first.quote_start, first.quote_end
    with pytest.raises(IntegrityError), transaction.atomic():
        second.save()


def test_every_change_through_a_service_bumps_the_version_and_no_change_does_not(bitmain):
    assert bitmain.version == 1
    company_save(company=bitmain, data={"name": "Bitmain Technologies"}, user=None)
    bitmain.refresh_from_db()
    assert bitmain.version == 2
    company_save(company=bitmain, data={"name": "Bitmain Technologies"}, user=None)
    bitmain.refresh_from_db()
    assert bitmain.version == 2
