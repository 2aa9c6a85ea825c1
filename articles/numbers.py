"""Turn the numbers the press writes into values.

``parse_amount("$660-$866 million")`` gives ``value=660000000, value_high=866000000, unit="USD",
qualifier="exact"``. The parser is deliberately strict: any word it does not understand is an error,
so a typo in the curated data set (or in an editor's edit) is caught instead of silently misread.

Conventions:
- the unit is ``None`` when the text does not say it ("12,000", "Four"): the record then says what
  is being counted (units, people, ...);
- a comma followed by exactly three digits groups thousands ("1,277"); any other comma is a decimal
  comma, as in the machine-translated "$1.9-$2,1 billion";
- vague magnitudes are ranges: "hundreds of millions" is 100,000,000 to 1,000,000,000, qualified
  ``about``;
- fractions of a whole are percentages: "half" is 50, "a third" is 33.333333 (``about``).
"""

import functools
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from .choices import Qualifier, Unit


class NumberParseError(ValueError):
    """The text is not a number newsdb understands; the message says which part is wrong."""


@dataclass(frozen=True)
class ParsedNumber:
    value: Decimal
    value_high: Decimal | None
    unit: str | None
    qualifier: str


QUANTUM = Decimal("0.000001")

QUALIFIER_PREFIXES = (
    ("more than", Qualifier.MORE_THAN),
    ("over", Qualifier.MORE_THAN),
    ("above", Qualifier.MORE_THAN),
    ("at least", Qualifier.MORE_THAN),
    ("less than", Qualifier.LESS_THAN),
    ("fewer than", Qualifier.LESS_THAN),
    ("below", Qualifier.LESS_THAN),
    ("under", Qualifier.LESS_THAN),
    ("up to", Qualifier.LESS_THAN),
    ("about", Qualifier.ABOUT),
    ("around", Qualifier.ABOUT),
    ("approximately", Qualifier.ABOUT),
    ("roughly", Qualifier.ABOUT),
    ("nearly", Qualifier.ABOUT),
    ("almost", Qualifier.ABOUT),
    ("close to", Qualifier.ABOUT),
    ("some", Qualifier.ABOUT),
)

SCALES = {
    "thousand": Decimal(10) ** 3,
    "million": Decimal(10) ** 6,
    "billion": Decimal(10) ** 9,
    "trillion": Decimal(10) ** 12,
}
VAGUE_MULTIPLES = {"tens": Decimal(10), "hundreds": Decimal(100), "thousands": Decimal(1000)}

NUMBER_WORDS = {
    word: Decimal(n)
    for n, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty".split()
    )
}
NUMBER_WORDS.update({"thirty": Decimal(30), "forty": Decimal(40), "fifty": Decimal(50), "hundred": Decimal(100)})

FRACTIONS = {
    "half": (Decimal(50), Qualifier.EXACT),
    "a half": (Decimal(50), Qualifier.EXACT),
    "a third": ((Decimal(100) / 3).quantize(QUANTUM, ROUND_HALF_UP), Qualifier.ABOUT),
    "one third": ((Decimal(100) / 3).quantize(QUANTUM, ROUND_HALF_UP), Qualifier.ABOUT),
    "two thirds": ((Decimal(200) / 3).quantize(QUANTUM, ROUND_HALF_UP), Qualifier.ABOUT),
    "a quarter": (Decimal(25), Qualifier.EXACT),
    "one quarter": (Decimal(25), Qualifier.EXACT),
    "three quarters": (Decimal(75), Qualifier.EXACT),
}

UNIT_WORDS = {
    "%": Unit.PERCENT,
    "percent": Unit.PERCENT,
    "per cent": Unit.PERCENT,
    "dollar": Unit.USD,
    "dollars": Unit.USD,
    "usd": Unit.USD,
    "acre": Unit.ACRES,
    "acres": Unit.ACRES,
    "nm": Unit.NANOMETERS,
    "day": Unit.DAYS,
    "days": Unit.DAYS,
    "month": Unit.MONTHS,
    "months": Unit.MONTHS,
    "year": Unit.YEARS,
    "years": Unit.YEARS,
    "times": Unit.TIMES,
}

_DIGITS = re.compile(r"\d+(?:[.,]\d+)*")
_TOKEN = re.compile(r"\s*(\$|%|-|–|—|\d+(?:[.,]\d+)*|[a-z]+)")


def _digits_to_decimal(text: str) -> Decimal:
    """'1,277' -> 1277; '1.082' -> 1.082; '2,1' (a decimal comma) -> 2.1."""
    if "," in text:
        groups = text.split(",")
        thousands = all(len(g) == 3 and g.isdigit() for g in groups[1:]) and "." not in "".join(groups[:-1])
        text = text.replace(",", "") if thousands else text.replace(".", "").replace(",", ".")
    return Decimal(text)


class _Tokens:
    def __init__(self, text: str):
        self.text = text
        self.items: list[str] = []
        pos = 0
        lowered = text.lower()
        while pos < len(lowered):
            if lowered[pos].isspace():
                pos += 1
                continue
            match = _TOKEN.match(lowered, pos)
            if not match:
                raise NumberParseError(f"cannot read {text[pos:]!r} in {text!r}")
            self.items.append(match.group(1))
            pos = match.end()
        self.pos = 0

    def peek(self, offset: int = 0) -> str | None:
        index = self.pos + offset
        return self.items[index] if index < len(self.items) else None

    def take(self) -> str:
        token = self.items[self.pos]
        self.pos += 1
        return token

    def take_words(self, phrase: str) -> bool:
        words = phrase.split()
        if [self.peek(i) for i in range(len(words))] == words:
            self.pos += len(words)
            return True
        return False

    def done(self) -> bool:
        return self.pos >= len(self.items)


def _read_units(tokens: _Tokens, units: set[str]) -> None:
    while not tokens.done():
        if tokens.take_words("per cent"):
            units.add(Unit.PERCENT)
        elif tokens.take_words("of dollars"):
            units.add(Unit.USD)
        elif tokens.peek() in UNIT_WORDS:
            units.add(UNIT_WORDS[tokens.take()])
        else:
            return


def _read_scale(tokens: _Tokens) -> Decimal | None:
    word = tokens.peek()
    if word in SCALES:
        tokens.take()
        return SCALES[word]
    return None


def _read_number(tokens: _Tokens, units: set[str]) -> tuple[Decimal, Decimal | None, Decimal | None] | None:
    """One number: (number, scale or None, top of a vague magnitude or None)."""
    if tokens.peek() == "$":
        tokens.take()
        units.add(Unit.USD)
    token = tokens.peek()
    if token is None:
        return None
    if token in VAGUE_MULTIPLES and tokens.peek(1) == "of" and tokens.peek(2) in {w + "s" for w in SCALES}:
        multiple = VAGUE_MULTIPLES[tokens.take()]
        tokens.take()
        scale = SCALES[tokens.take()[:-1]]
        return multiple, scale, multiple * 10
    if _DIGITS.fullmatch(token):
        number = _digits_to_decimal(tokens.take())
    elif token in NUMBER_WORDS:
        number = NUMBER_WORDS[tokens.take()]
    else:
        return None
    return number, _read_scale(tokens), None


@functools.lru_cache(maxsize=4096)
def parse_amount(text: str) -> ParsedNumber:
    """Parse one stated number, range or vague magnitude. Raises NumberParseError.

    Remembered per process for the last 4,096 texts (a ``ParsedNumber`` cannot change): an archive states the same
    few thousand amounts ("90%", "$1 billion") again and again, and reading them was about a tenth of the loader's
    reading workers' CPU time (validating each figure). A text it refuses is read again each time (an exception is
    not remembered)."""
    if not text or not text.strip():
        raise NumberParseError("nothing to parse")
    tokens = _Tokens(text.strip())
    qualifier = Qualifier.EXACT
    for phrase, meaning in QUALIFIER_PREFIXES:
        if tokens.take_words(phrase):
            qualifier = meaning
            break
    between = tokens.take_words("between")
    units: set[str] = set()

    for phrase, (fraction, fraction_qualifier) in FRACTIONS.items():
        if tokens.take_words(phrase):
            if not tokens.done():
                raise NumberParseError(f"unexpected {' '.join(tokens.items[tokens.pos :])!r} after {phrase!r}")
            if qualifier == Qualifier.EXACT:
                qualifier = fraction_qualifier
            return ParsedNumber(fraction.quantize(QUANTUM), None, Unit.PERCENT, qualifier)

    first = _read_number(tokens, units)
    if first is None:
        raise NumberParseError(f"no number in {text!r}")
    number, scale, vague_top = first
    _read_units(tokens, units)
    # "12 -acre", "13-month": a hyphen before a unit makes a compound adjective, not a range.
    if tokens.peek() in {"-", "–"} and tokens.peek(1) in UNIT_WORDS:
        tokens.take()
        _read_units(tokens, units)
    low = number * (scale or 1)
    high = vague_top * scale if vague_top is not None and scale else None
    if vague_top is not None and qualifier == Qualifier.EXACT:
        qualifier = Qualifier.ABOUT
    if vague_top is None and tokens.peek() in {"-", "–", "—", "to", "and"}:
        tokens.take()
        second = _read_number(tokens, units)
        if second is None or second[2] is not None:
            raise NumberParseError(f"the range in {text!r} has no upper number")
        second_number, second_scale, _ = second
        # "$660-$866 million": a scale written once, at the end, applies to both ends.
        if scale is None and second_scale is not None:
            low = number * second_scale
        high = second_number * (second_scale or 1)
        _read_units(tokens, units)
    elif between:
        raise NumberParseError(f"'between' in {text!r} needs two numbers")
    if not tokens.done():
        raise NumberParseError(f"unexpected {' '.join(tokens.items[tokens.pos :])!r} in {text!r}")
    if len(units) > 1:
        raise NumberParseError(f"more than one unit in {text!r}: {', '.join(sorted(units))}")
    if high is not None and high < low:
        raise NumberParseError(f"the range in {text!r} runs backwards")
    return ParsedNumber(
        value=low.quantize(QUANTUM),
        value_high=high.quantize(QUANTUM) if high is not None else None,
        unit=units.pop() if units else None,
        qualifier=qualifier,
    )
