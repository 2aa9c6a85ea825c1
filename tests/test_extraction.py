"""The extraction service: one test per rule, each on a sentence of its own (none from the curated articles).

Pure functions, no database, except the tests of ``Dictionary.from_database`` and of the benchmark script.
"""

import json
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from articles.choices import DatePrecision, EventType, Metric, ParticipantRole, Qualifier, Unit
from articles.extraction import Dictionary, Extraction, extract
from articles.extraction.dates import Resolver, find_dates
from articles.extraction.dictionary import Entry
from articles.extraction.numbers import find_numbers
from articles.extraction.text import split_sentences

PUB = date(2022, 10, 12)


def entries():
    return [
        Entry("company", "antco", "Antco", "Antco", company_kind="hardware_maker"),
        Entry("company", "antco", "Antco Systems", "Antco", company_kind="hardware_maker"),
        Entry("company", "antco", "Entco", "Antco", garbled=True, company_kind="hardware_maker"),
        Entry("company", "hashfarm", "Hashfarm", "Hashfarm", company_kind="miner"),
        Entry("company", "hashfarm", "Hashfarm Holdings Inc.", "Hashfarm", company_kind="miner"),
        Entry("company", "rock", "Rock", "Rock", company_kind="other"),
        Entry("company", "dailycoin", "Daily Coin", "Daily Coin", company_kind="media"),
        Entry("company", "wirenews", "Wire News", "Wire News", company_kind="media"),
        Entry("company", "chainlab", "Chain Lab", "Chain Lab", company_kind="research"),
        Entry("company", "trade-office", "Trade Office", "Trade Office", company_kind="government"),
        Entry("company", "voltminer", "Voltminer", "Voltminer", company_kind="miner"),
        Entry("person", "ada-moss", "Ada Moss", "Ada Moss", affiliation="voltminer"),
        Entry("person", "ada-moss", "Moss", "Ada Moss", affiliation="voltminer"),
        Entry("person", "li-wen", "Li Wen", "Li Wen", affiliation="antco"),
        Entry("person", "omar-said", "Omar Reyes", "Omar Reyes", affiliation=None),
    ]


@pytest.fixture(scope="module")
def dictionary():
    return Dictionary(entries())


def run(text, dictionary, published_on=PUB, precision="day"):
    return extract(text, published_on=published_on, precision=precision, dictionary=dictionary)


def slugs(result: Extraction, probable=False):
    return [m.slug for m in result.mentions if m.slug and m.probable == probable]


def one_figure(result, as_reported):
    found = [f for f in result.figures if f.as_reported == as_reported]
    assert len(found) == 1, [f.as_reported for f in result.figures]
    return found[0]


# --- sentences --------------------------------------------------------------------------------------------


def test_sentences_split_on_run_on_full_stops_and_keep_initials_and_abbreviations():
    text = "Shares of Volt Inc. rose.The U.S. regulator, led by J. R. Smith, agreed. Next came 2.5 more."
    parts = [s.text for s in split_sentences(text)]
    assert parts == [
        "Shares of Volt Inc. rose.",
        "The U.S. regulator, led by J. R. Smith, agreed.",
        "Next came 2.5 more.",
    ]


def test_sentences_keep_a_closing_quote_and_open_the_next_quotation():
    text = '"We are ready," said the chief."Nobody else is."\nA new line starts a sentence'
    parts = [s.text for s in split_sentences(text)]
    assert parts == ['"We are ready," said the chief.', '"Nobody else is."', "A new line starts a sentence"]


def test_sentences_split_a_headline_run_into_the_story_after_its_year():
    text = "Miner Profits Slump in 2020Hashfarm said on Monday it lost money."
    parts = [s.text for s in split_sentences(text)]
    assert parts == ["Miner Profits Slump in 2020", "Hashfarm said on Monday it lost money."]


def test_sentence_offsets_are_the_texts_own():
    text = "  One thing happened.  Then another one did.\n\nAnd a third."
    for sentence in split_sentences(text):
        assert text[sentence.start : sentence.end] == sentence.text


# --- mentions ---------------------------------------------------------------------------------------------


def test_mentions_find_names_and_aliases_on_word_boundaries(dictionary):
    result = run("Antco Systems sold rigs to Hashfarm, but not to Antcorp or Hashfarms.", dictionary)
    found = [(m.slug, m.name) for m in result.mentions]
    assert found == [("antco", "Antco Systems"), ("hashfarm", "Hashfarm")]
    antco = result.mentions[0]
    assert result_text_at("Antco Systems sold rigs to Hashfarm", antco) == "Antco Systems"
    assert "alias" in antco.reason and antco.confidence >= 0.85


def result_text_at(text, mention):
    return text[mention.start : mention.end]


def test_mentions_match_garbled_aliases_and_say_so(dictionary):
    result = run("Analysts said Entco would cut prices.", dictionary)
    (mention,) = result.mentions
    assert (mention.slug, mention.name) == ("antco", "Entco")
    assert "garble" in mention.reason


def test_a_capitalised_one_word_name_does_not_match_the_common_word(dictionary):
    result = run("The rock under the site was hard, and Rock bought the land.", dictionary)
    assert [(m.slug, m.name) for m in result.mentions] == [("rock", "Rock")]


def test_mentions_of_a_multi_word_name_ignore_case(dictionary):
    result = run("shares of antco systems fell.", dictionary)
    assert slugs(result) == ["antco"]
    assert "another case" in result.mentions[0].reason


def test_a_name_glued_to_a_year_is_still_found(dictionary):
    result = run("Mining Outlook 2021Voltminer expands in Texas.", dictionary)
    assert slugs(result) == ["voltminer"]


def test_the_longest_name_wins_and_an_owner_inside_a_name_is_kept(dictionary):
    result = run("Hashfarm Holdings Inc. bought Antco's Entco line; Voltminer's Ada Moss agreed.", dictionary)
    found = [(m.slug, m.name) for m in result.mentions]
    assert ("hashfarm", "Hashfarm Holdings Inc.") in found
    assert ("hashfarm", "Hashfarm") not in found


def test_an_owner_named_inside_a_longer_name_is_a_nested_mention():
    dictionary = Dictionary(
        [
            Entry("company", "parentco", "Parentco", "Parentco", company_kind="other"),
            Entry("company", "parentco-tv", "Parentco's TV", "Parentco TV", company_kind="media"),
            Entry("company", "parentco-lab", "Parentco Lab", "Parentco Lab", company_kind="research"),
        ]
    )
    result = run("Parentco's TV said so, and Parentco Lab agreed.", dictionary)
    assert sorted(slugs(result)) == ["parentco", "parentco-lab", "parentco-tv"]
    nested = next(m for m in result.mentions if m.slug == "parentco")
    assert nested.name == "Parentco" and nested.confidence < 0.9 and "owner" in nested.reason


def test_a_near_miss_is_proposed_as_probably_the_known_record(dictionary):
    result = run("Voltmienr opened a new site, and Hashfarm followed.", dictionary)
    (probable,) = [m for m in result.mentions if m.probable]
    assert (probable.slug, probable.name, probable.kind) == ("voltminer", "Voltmienr", "company")
    assert "probably Voltminer" in probable.reason
    assert slugs(result) == ["hashfarm"]


def test_a_near_miss_needs_a_long_name_and_the_same_first_letter(dictionary):
    # "Rack" is one letter from "Rock" (too short to guess); "Woltminer" starts with another letter.
    result = run("Rack space at Woltminer grew.", dictionary)
    assert [m for m in result.mentions if m.probable] == []


def test_an_unknown_capitalised_organisation_is_proposed_as_a_new_company(dictionary):
    result = run("The deal with Granite Peak Holdings closed, said The Analyst.", dictionary)
    new = [m for m in result.mentions if m.kind == "new_company"]
    assert [(m.name, m.slug) for m in new] == [("Granite Peak Holdings", None)]
    assert "Holdings" in new[0].reason


def test_a_known_name_is_not_proposed_as_a_new_company(dictionary):
    result = run("Yesterday Hashfarm Holdings Inc. said nothing.", dictionary)
    assert [m.kind for m in result.mentions] == ["company"]


def test_people_are_mentions_too(dictionary):
    result = run("Ada Moss said Moss would stay.", dictionary)
    assert [(m.kind, m.slug) for m in result.mentions] == [("person", "ada-moss"), ("person", "ada-moss")]


# --- numbers ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence, as_reported, value, value_high, unit, qualifier",
    [
        ("The firm booked $42.5 million last quarter.", "$42.5 million", "42500000", None, "USD", "exact"),
        (
            "It hoped to raise between $20 and $30 million.",
            "between $20 and $30 million",
            "20000000",
            "30000000",
            "USD",
            "exact",
        ),
        (
            "Costs were roughly $1.1-$1.4 billion.",
            "roughly $1.1-$1.4 billion",
            "1100000000",
            "1400000000",
            "USD",
            "about",
        ),
        ("Its share reached 45%of the market.", "45%", "45", None, "percent", "exact"),
        ("Output grew by 12 percent.", "12 percent", "12", None, "percent", "exact"),
        (
            "Losses ran to tens of millions of dollars.",
            "tens of millions of dollars",
            "10000000",
            "100000000",
            "USD",
            "about",
        ),
        ("Nearly two thirds of the rigs were idle.", "Nearly two thirds", "66.666667", None, "percent", "about"),
        ("The chip uses a 5nm process.", "5nm", "5", None, "nm", "exact"),
        ("They rented a 40 -acre plot.", "40 -acre", "40", None, "acres", "exact"),
        ("The stock touched a 9-month high.", "9-month", "9", None, "months", "exact"),
        ("The clip was watched over 3 million times.", "over 3 million times", "3000000", None, "times", "more_than"),
        ("Fewer than 200 units shipped.", "Fewer than 200", "200", None, None, "less_than"),
    ],
)
def test_numbers_are_read_with_their_verbatim_span(sentence, as_reported, value, value_high, unit, qualifier):
    (found,) = find_numbers(sentence)
    assert found.text == as_reported == sentence[found.start : found.end]
    assert found.parsed.value == Decimal(value)
    assert found.parsed.value_high == (Decimal(value_high) if value_high else None)
    assert found.parsed.unit == unit and found.parsed.qualifier == qualifier


def test_two_amounts_joined_by_and_are_two_numbers():
    found = find_numbers("It lost $12 million and $9 million in the two halves.")
    assert [f.text for f in found] == ["$12 million", "$9 million"]


def test_years_days_of_dates_and_numbers_glued_to_letters_are_not_figures():
    found = find_numbers("On March 3, 2021 the G7 model and the X5 shipped in 2022, as did 3D printers on 4 May.")
    assert found == []


def test_dates_and_times_in_digits_and_other_currencies_are_not_figures_but_us_dollars_are():
    found = find_numbers("On 2023-05-01 at 10:30 it paid €5 million, 7 million yuan and US$3 million.")
    assert [(f.text, f.parsed.unit) for f in found] == [("$3 million", "USD")]


def test_one_without_a_qualifier_and_a_number_word_after_the_are_not_figures():
    found = find_numbers("One of the largest miners met the two partners, and at least one buyer left.")
    assert [f.text for f in found] == ["at least one"]


def test_an_ordinal_fraction_and_a_period_fraction_are_not_figures():
    found = find_numbers("A third party audited the first half of the year; a third of the fleet was idle.")
    assert [f.text for f in found] == ["a third"]


# --- dates ------------------------------------------------------------------------------------------------


def dates_in(text, published_on=PUB, precision="day"):
    return [(d.text, d.date, d.precision, d.end_date) for d in find_dates(text, Resolver(published_on, precision))]


def test_a_month_later_than_the_publication_is_last_years():
    assert dates_in("Sales fell in November but rose in March.") == [
        ("November", date(2021, 11, 1), "month", None),
        ("March", date(2022, 3, 1), "month", None),
    ]


def test_quarters_halves_and_relative_years_resolve_against_the_publication():
    found = dates_in("In the second quarter of last year and the first half of 2020, and again earlier this year.")
    assert found == [
        ("the second quarter of last year", date(2021, 4, 1), "quarter", None),
        ("the first half of 2020", date(2020, 1, 1), "quarter", date(2020, 4, 1)),
        ("earlier this year", date(2022, 1, 1), "year", None),
    ]


def test_a_day_and_a_weekday_are_days_only_when_the_article_is_dated_to_the_day():
    assert dates_in("It closed last Monday, after a vote on August 30.") == [
        ("last Monday", date(2022, 10, 10), "day", None),
        ("August 30", date(2022, 8, 30), "day", None),
    ]
    month_only = dates_in("It closed last Monday.", date(2022, 10, 1), "month")
    assert month_only == [("last Monday", date(2022, 10, 1), "month", None)]


def test_may_the_verb_is_not_a_month():
    assert dates_in("Prices may fall, the board said in May.") == [("May", date(2022, 5, 1), "month", None)]


def test_years_ago_and_recently_are_honest_spans():
    assert dates_in("Two years ago it was small; a few years ago it grew; it recently moved.") == [
        ("Two years ago", date(2020, 1, 1), "year", None),
        ("a few years ago", date(2017, 1, 1), "year", date(2020, 1, 1)),
        ("recently", date(2022, 9, 1), "month", date(2022, 10, 1)),
    ]


# --- figures ----------------------------------------------------------------------------------------------


def test_a_figure_has_its_sentence_as_quote_and_offsets(dictionary):
    text = "Markets were calm. Hashfarm posted a net loss of $8 million in the third quarter of 2022."
    figure = one_figure(run(text, dictionary), "$8 million")
    assert text[figure.start : figure.end] == "$8 million"
    assert figure.quote == text[figure.quote_start : figure.quote_end] == text[19:]
    assert (figure.metric, figure.company, figure.unit) == (Metric.NET_LOSS, "hashfarm", Unit.USD)
    assert (figure.period_start, figure.period_end, figure.period_label) == (
        date(2022, 7, 1),
        date(2022, 9, 30),
        "Q3 2022",
    )
    assert 0 < figure.confidence <= 1 and "net loss" in figure.reason


@pytest.mark.parametrize(
    "sentence, as_reported, metric",
    [
        ("Voltminer reported revenue of $90 million.", "$90 million", Metric.REVENUE),
        ("Voltminer made a profit of $4 million.", "$4 million", Metric.NET_PROFIT),
        ("Voltminer's gross margin was 31%.", "31%", Metric.GROSS_MARGIN),
        ("Voltminer accounts for 20% of the hashrate.", "20%", Metric.MARKET_SHARE),
        ("Voltminer raised $15 million from investors.", "$15 million", Metric.FUNDING_RAISED),
        ("Voltminer paid $3 million as a prepayment.", "$3 million", Metric.PREPAYMENT),
        ("Voltminer said its cash reserves stood at $70 million.", "$70 million", Metric.RESERVES),
        ("Voltminer reached a valuation of $2 billion.", "$2 billion", Metric.VALUATION),
        ("Voltminer holds 12% of the shares.", "12%", Metric.SHARE),
        ("Voltminer bought 3,000 machines.", "3,000", Metric.QUANTITY),
        ("Voltminer hired 40 engineers.", "40", Metric.COUNT),
        ("Voltminer waited for nine months.", "nine months", Metric.OTHER),
        ("Voltminer leased 30 acres.", "30 acres", Metric.AREA),
    ],
)
def test_the_metric_comes_from_the_words_around_the_number(dictionary, sentence, as_reported, metric):
    assert one_figure(run(sentence, dictionary), as_reported).metric == metric


def test_a_percentage_change_of_a_price_is_a_price_change(dictionary):
    figure = one_figure(run("The token's price slipped 14% this week.", dictionary), "14%")
    assert figure.metric == Metric.PRICE_CHANGE and figure.company is None


def test_down_or_up_by_a_percentage_is_a_change_not_the_metric_named_before(dictionary):
    figure = one_figure(run("Hashfarm's revenue was $9 million, down 18% on the year.", dictionary), "18%")
    assert figure.metric == Metric.OTHER and "change" in figure.reason


def test_the_unit_of_a_count_of_people_is_people(dictionary):
    figure = one_figure(run("Twelve analysts expect a recovery.", dictionary), "Twelve")
    assert (figure.unit, figure.metric) == (Unit.PEOPLE, Metric.COUNT)


def test_the_company_is_the_nearest_one_named_before_the_number_not_a_source_or_counterparty(dictionary):
    text = "According to Daily Coin, Voltminer bought from Antco rigs worth $6 million."
    assert one_figure(run(text, dictionary), "$6 million").company == "voltminer"


def test_a_person_stands_for_their_company(dictionary):
    text = "Ada Moss said the firm spent $2 million on cooling."
    assert one_figure(run(text, dictionary), "$2 million").company == "voltminer"


def test_the_company_refers_back_to_the_last_company_named(dictionary):
    text = "Antco opened a plant. Wire News noted that the company spent $5 million on it."
    assert one_figure(run(text, dictionary), "$5 million").company == "antco"


def test_a_financial_figure_without_a_company_belongs_to_the_last_company_named(dictionary):
    text = "Hashfarm had a hard year. Net losses reached $11 million in March."
    figure = one_figure(run(text, dictionary), "$11 million")
    assert figure.company == "hashfarm"


def test_a_count_that_starts_its_sentence_belongs_to_no_company(dictionary):
    text = "Seven sources said that Antco would close a plant."
    assert one_figure(run(text, dictionary), "Seven").company is None


def test_a_leading_time_phrase_takes_the_main_clauses_subject(dictionary):
    text = "Since three years ago, Hashfarm, which once used Antco rigs, has bought elsewhere."
    figure = one_figure(run(text, dictionary), "three years")
    assert figure.company == "hashfarm"


def test_respectively_pairs_numbers_with_dates_in_order(dictionary):
    text = "Antco lost $3 million and $5 million in June and July respectively."
    result = run(text, dictionary)
    assert [(f.as_reported, f.period_label) for f in result.figures] == [
        ("$3 million", "June 2022"),
        ("$5 million", "July 2022"),
    ]


def test_respectively_with_these_months_takes_the_dates_of_the_sentence_before(dictionary):
    text = "Sales were steady in April, May and June. Margins for these months were 9%, 11% and 12% respectively."
    result = run(text, dictionary)
    assert [(f.as_reported, f.period_label) for f in result.figures] == [
        ("9%", "April 2022"),
        ("11%", "May 2022"),
        ("12%", "June 2022"),
    ]


def test_each_for_two_periods_gives_one_figure_per_period(dictionary):
    text = "Antco's revenue was $40 million each for August and September."
    result = run(text, dictionary)
    assert [(f.as_reported, f.period_label) for f in result.figures] == [
        ("$40 million", "August 2022"),
        ("$40 million", "September 2022"),
    ]


def test_a_date_right_after_the_number_is_its_period(dictionary):
    text = "In 2021 Antco sold rigs, and it earned $7 million in January."
    assert one_figure(run(text, dictionary), "$7 million").period_label == "January 2022"


def test_a_headline_number_restated_in_the_body_is_proposed_once(dictionary):
    text = "Antco Loses $9 Million\nAntco said on Monday it lost $9 million. A rival sold 500 rigs."
    result = run(text, dictionary)
    assert [f.as_reported for f in result.figures] == ["$9 million", "500"]


# --- events -----------------------------------------------------------------------------------------------


def one_event(result, event_type):
    found = [e for e in result.events if e.type == event_type]
    assert len(found) == 1, [(e.type, e.quote) for e in result.events]
    return found[0]


@pytest.mark.parametrize(
    "sentence, event_type",
    [
        ("Voltminer was founded by Ada Moss in 2015.", EventType.FOUNDING),
        ("Voltminer filed for an IPO in May.", EventType.IPO_LISTING),
        ("Voltminer raised fresh money in May.", EventType.FUNDING_ROUND),
        ("Voltminer suspended its sales in May.", EventType.SALES_SUSPENSION),
        ("In May the province banned mining.", EventType.REGULATION_BAN),
        ("In May the Trade Office imposed tariffs on rigs.", EventType.GOVERNMENT_ACTION),
        ("In May Voltminer ordered 2,000 machines from Antco.", EventType.ORDER_CONTRACT),
        ("Antco launched a new rig in May.", EventType.PRODUCT_LAUNCH),
        ("The coin's price fell sharply in May.", EventType.MARKET_MOVE),
        ("In May Wire News published an investigation.", EventType.PUBLICATION),
        ("Voltminer said in May that it would expand.", EventType.STATEMENT),
    ],
)
def test_a_trigger_word_gives_the_event_type(dictionary, sentence, event_type):
    event = one_event(run(sentence, dictionary), event_type)
    assert event.quote == sentence and (event.quote_start, event.quote_end) == (0, len(sentence))
    if event_type != EventType.FOUNDING:
        assert (event.date, event.date_precision) == (date(2022, 5, 1), DatePrecision.MONTH)


def test_an_undated_event_is_dated_to_the_publication_month_with_low_confidence(dictionary):
    event = one_event(run("Hashfarm declined to comment.", dictionary), EventType.STATEMENT)
    assert (event.date, event.date_precision) == (date(2022, 10, 1), DatePrecision.MONTH)
    assert event.confidence < 0.5 and "publication" in event.reason


def test_a_financial_figure_with_its_period_is_a_financial_report(dictionary):
    event = one_event(run("Antco posted revenue of $50 million in the first quarter.", dictionary), "financial_report")
    assert (event.date, event.date_precision) == (date(2022, 1, 1), DatePrecision.QUARTER)
    assert [(p.slug, p.role) for p in event.participants] == [("antco", ParticipantRole.SUBJECT)]


def test_a_report_by_a_named_outlet_adds_a_publication(dictionary):
    result = run("In June, Wire News reported that Antco plans to go public.", dictionary)
    assert {e.type for e in result.events} == {EventType.IPO_LISTING, EventType.PUBLICATION}
    publication = one_event(result, EventType.PUBLICATION)
    assert publication.date == date(2022, 6, 1)
    assert (ParticipantProposal_slug_role(publication)) == [
        ("wirenews", ParticipantRole.REPORTER),
        ("antco", ParticipantRole.SUBJECT),
    ]


def ParticipantProposal_slug_role(event):  # noqa: N802 - reads as what it returns
    return [(p.slug, p.role) for p in event.participants]


def test_a_dated_document_is_a_publication_and_does_not_date_the_sentences_event(dictionary):
    result = run("According to the 2019 Annual Review, Voltminer was founded in 2016.", dictionary)
    founding = one_event(result, EventType.FOUNDING)
    publication = one_event(result, EventType.PUBLICATION)
    assert (founding.date, publication.date) == (date(2016, 1, 1), date(2019, 1, 1))


def test_clauses_with_their_own_dates_are_separate_events(dictionary):
    text = "Voltminer raised $5 million in March, and launched its first rig in July."
    result = run(text, dictionary)
    assert [(e.type, e.date, e.quote) for e in result.events] == [
        (EventType.FUNDING_ROUND, date(2022, 3, 1), "Voltminer raised $5 million in March"),
        (EventType.PRODUCT_LAUNCH, date(2022, 7, 1), "launched its first rig in July."),
    ]


def test_clauses_with_their_own_subjects_and_event_words_are_separate_events(dictionary):
    text = "In May Voltminer ordered rigs from Antco, and Hashfarm raised $8 million from investors."
    result = run(text, dictionary)
    assert [(e.type, e.date, e.quote) for e in result.events] == [
        (EventType.ORDER_CONTRACT, date(2022, 5, 1), "In May Voltminer ordered rigs from Antco"),
        (EventType.FUNDING_ROUND, date(2022, 10, 1), "Hashfarm raised $8 million from investors."),
    ]


def test_a_statement_about_the_future_is_dated_to_the_publication(dictionary):
    event = one_event(run("Li Wen said the new rig would ship in March 2023.", dictionary), EventType.STATEMENT)
    assert (event.date, event.date_precision) == (date(2022, 10, 1), DatePrecision.MONTH)
    assert [(p.slug, p.role) for p in event.participants] == [("li-wen", ParticipantRole.SPEAKER)]


def test_a_more_precise_now_inside_a_named_year_dates_the_event(dictionary):
    event = one_event(run("At Expo 2022 this past Friday, Ada Moss said demand was back.", dictionary), "statement")
    assert (event.date, event.date_precision) == (date(2022, 10, 7), DatePrecision.DAY)


def test_a_dated_sentence_without_a_trigger_is_an_other_event_with_low_confidence(dictionary):
    event = one_event(run("In April the machines arrived at the depot.", dictionary), EventType.OTHER)
    assert event.date == date(2022, 4, 1) and event.confidence <= 0.3


@pytest.mark.parametrize(
    "sentence, expected",
    [
        (
            "Voltminer was founded by Ada Moss and Li Wen in 2015.",
            [("voltminer", "subject"), ("ada-moss", "founder"), ("li-wen", "founder")],
        ),
        (
            "In May Voltminer ordered 2,000 machines from Antco.",
            [("voltminer", "customer"), ("antco", "supplier")],
        ),
        (
            "In May the Trade Office imposed tariffs, Chain Lab said.",
            [("trade-office", "regulator"), ("chainlab", "analyst")],
        ),
        (
            "Hashfarm's rival Voltminer filed for an IPO in May.",
            [("hashfarm", "competitor"), ("voltminer", "subject")],
        ),
        ("Voltminer said in May, according to Ada Moss.", [("voltminer", "subject"), ("ada-moss", "speaker")]),
    ],
)
def test_participants_get_roles_from_their_place_in_the_sentence(dictionary, sentence, expected):
    result = run(sentence, dictionary)
    assert [(p.slug, p.role) for p in result.events[0].participants] == expected


# --- the service ------------------------------------------------------------------------------------------


def test_extraction_is_json_friendly(dictionary):
    result = run("Hashfarm posted a net loss of $8 million in March, Wire News reported.", dictionary)
    data = result.to_json()
    assert json.loads(json.dumps(data)) == data
    assert data["mentions"]["companies"] == ["hashfarm", "wirenews"]
    figure = data["figures"][0]
    assert (figure["value"], figure["value_high"], figure["period_start"], figure["company"]) == (
        "8000000",
        None,
        "2022-03-01",
        "hashfarm",
    )
    assert data["events"][0]["participants"][0] == {"kind": "company", "slug": "hashfarm", "role": "subject"}


def test_every_value_uses_the_models_choices(dictionary):
    text = (
        "Antco raised $10 million in May. It said that 30% of its 400 staff left. Prices fell 5% last week. "
        "Voltminer bought 2,000 rigs from Antco on 3 June, and Ada Moss was founded by nobody."
    )
    result = run(text, dictionary)
    for figure in result.figures:
        assert figure.unit in Unit.values and figure.metric in Metric.values and figure.qualifier in Qualifier.values
    for event in result.events:
        assert event.type in EventType.values and event.date_precision in DatePrecision.values
        assert all(p.role in ParticipantRole.values for p in event.participants)


def test_no_text_or_another_language_gives_no_proposals(dictionary):
    assert run("   ", dictionary) == Extraction()
    assert extract("Antco a levé 5 millions.", published_on=PUB, language="fr", dictionary=dictionary) == Extraction()


def test_without_a_dictionary_only_new_organisations_are_proposed():
    result = extract("Granite Peak Holdings raised $3 million in May.", published_on=PUB)
    assert [(m.kind, m.name) for m in result.mentions] == [("new_company", "Granite Peak Holdings")]
    assert [f.as_reported for f in result.figures] == ["$3 million"]


@pytest.mark.django_db
def test_the_dictionary_reads_companies_people_and_aliases_from_the_database(
    django_user_model, django_assert_max_num_queries
):
    from articles.services.companies import company_save
    from articles.services.people import person_save

    editor = django_user_model.objects.create_user("editor")
    antco = company_save(
        data={
            "slug": "antco",
            "name": "Antco",
            "kind": "hardware_maker",
            "aliases": [{"name": "Entco", "garbled": True}],
        },
        user=editor,
    )
    person_save(data={"slug": "ada-moss", "name": "Ada Moss", "affiliation": antco, "aliases": ["Moss"]}, user=editor)
    with django_assert_max_num_queries(3):
        dictionary = Dictionary.from_database()
    result = run("Entco hired Moss, who said Entco spent $4 million.", dictionary)
    assert [(m.kind, m.slug, m.name) for m in result.mentions] == [
        ("company", "antco", "Entco"),
        ("person", "ada-moss", "Moss"),
        ("company", "antco", "Entco"),
    ]
    assert "garble" in result.mentions[0].reason
    assert result.figures[0].company == "antco"


def test_the_benchmark_compares_with_the_curated_fixtures_and_prints_its_table(tmp_path):
    script = Path(__file__).resolve().parent / "benchmarks" / "bench_extraction.py"
    report = tmp_path / "report.json"
    run_ = subprocess.run(
        [sys.executable, str(script), "--json", str(report)], capture_output=True, text=True, timeout=300
    )
    assert run_.returncode == 0, run_.stdout[-2000:] + run_.stderr[-2000:]
    assert "| article | figures recall |" in run_.stdout
    data = json.loads(report.read_text())
    assert len(data["articles"]) == 5
    assert data["overall"]["figures"]["expected"] > 0 and data["overall"]["figures"]["matched"] > 0
    assert data["timing"]["characters"] == 30_000 and data["timing"]["best_s"] > 0
