"""The parser that turns the press's numbers into values."""

from decimal import Decimal

import pytest

from articles.numbers import NumberParseError, parse_amount

CASES = [
    # text, value, value_high, unit, qualifier
    ("$1.082 billion", "1082000000", None, "USD", "exact"),
    ("$660-$866 million", "660000000", "866000000", "USD", "exact"),
    ("$1,277 million", "1277000000", None, "USD", "exact"),
    ("$ 8 million", "8000000", None, "USD", "exact"),
    ("69%", "69", None, "percent", "exact"),
    ("0.6%", "0.6", None, "percent", "exact"),
    ("12,000", "12000", None, None, "exact"),
    ("a third", "33.333333", None, "percent", "about"),
    ("half", "50", None, "percent", "exact"),
    ("more than half", "50", None, "percent", "more_than"),
    ("about $1.9-$2,1 billion", "1900000000", "2100000000", "USD", "about"),
    ("between $300 to $500 million", "300000000", "500000000", "USD", "exact"),
    ("hundreds of millions of dollars", "100000000", "1000000000", "USD", "about"),
    ("$ hundreds of millions of dollars", "100000000", "1000000000", "USD", "about"),
    ("around $500 million", "500000000", None, "USD", "about"),
    ("close to $20,000", "20000", None, "USD", "about"),
    ("below $5,000", "5000", None, "USD", "less_than"),
    ("over 30%", "30", None, "percent", "more_than"),
    ("30 percent", "30", None, "percent", "exact"),
    ("85% percent", "85", None, "percent", "exact"),
    ("over 92 million times", "92000000", None, "times", "more_than"),
    ("12 -acre", "12", None, "acres", "exact"),
    ("13-month", "13", None, "months", "exact"),
    ("16nm", "16", None, "nm", "exact"),
    ("Four", "4", None, None, "exact"),
    ("seven days", "7", None, "days", "exact"),
    ("about 12,000", "12000", None, None, "about"),
    ("$15 billion", "15000000000", None, "USD", "exact"),
]


@pytest.mark.parametrize(("text", "value", "value_high", "unit", "qualifier"), CASES)
def test_it_reads_what_the_press_writes(text, value, value_high, unit, qualifier):
    parsed = parse_amount(text)
    assert parsed.value == Decimal(value)
    assert parsed.value_high == (Decimal(value_high) if value_high else None)
    assert parsed.unit == unit
    assert parsed.qualifier == qualifier


def test_a_comma_followed_by_three_digits_groups_thousands_and_any_other_comma_is_decimal():
    assert parse_amount("$2,100 million").value == Decimal("2100000000")
    assert parse_amount("$2,1 billion").value == Decimal("2100000000")


def test_a_scale_written_once_applies_to_both_ends_of_a_range():
    parsed = parse_amount("$660-866 million")
    assert (parsed.value, parsed.value_high) == (Decimal("660000000"), Decimal("866000000"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "nothing to parse"),
        ("abc", "no number"),
        ("$12 apples", "unexpected 'apples'"),
        ("between 3", "needs two numbers"),
        ("$5-$3 million", "runs backwards"),
        ("5% dollars", "more than one unit"),
        ("12 #", "cannot read"),
    ],
)
def test_it_refuses_what_it_cannot_read_and_says_why(text, message):
    with pytest.raises(NumberParseError, match=message):
        parse_amount(text)
