"""Sentences and words by rules, with their offsets in the text.

Press captures run sentences together ("...of 2019.According to"), wrap quotations in straight or curly
quotes, and abbreviate names ("F.E. Warren", "Sanford C. Bernstein", "Inc."). The splitter ends a sentence
at a line break, or at ``.``/``!``/``?`` (with any closing quote or bracket) followed by an upper-case letter,
a digit or an opening quote, spaced or not, unless the full stop ends an abbreviation or an initial.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sen rep gov gen st no vs etc jr sr lt col capt sgt messrs mt ft approx est dept univ "
    "jan feb mar apr jun jul aug sep sept oct nov dec".split()
)
# Straight and typographic closing marks that stay with the sentence they end.
CLOSERS = "\"'”’)]»"
OPENERS = "\"'“‘([«"


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    text: str
    paragraph: int  # index of the paragraph (blank-line separated) it is in

    def __len__(self) -> int:
        return self.end - self.start


_BREAK = re.compile(r"[.!?]+")
_RUN_ON_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d[A-Z][a-z]")
_WORD = re.compile(r"[A-Za-z0-9\u00c0-\u024f]+(?:['’][A-Za-z]+)*|[$%&]|[^\sA-Za-z0-9]")


def _is_abbreviation(text: str, dot: int) -> bool:
    """Does the full stop at ``dot`` end an abbreviation or an initial ("C.", "U.S.", "Inc" is not one)?"""
    start = dot
    while start > 0 and (text[start - 1].isalpha() or text[start - 1] == "."):
        start -= 1
    word = text[start:dot]
    if not word:
        return False
    if len(word) == 1 and word.isupper():
        return True  # an initial: "Sanford C. Bernstein"
    if "." in word and all(len(part) <= 2 for part in word.split(".")):
        return True  # "U.S", "F.E", "e.g"
    return word.lower() in ABBREVIATIONS


def split_sentences(text: str) -> list[Sentence]:
    sentences: list[Sentence] = []
    paragraph = 0
    pos = 0
    length = len(text)
    while pos < length:
        # Skip whitespace between sentences, counting blank lines as paragraph breaks.
        newlines = 0
        while pos < length and text[pos].isspace():
            if text[pos] == "\n":
                newlines += 1
            pos += 1
        if newlines >= 1 and sentences:
            paragraph += 1
        if pos >= length:
            break
        end = _sentence_end(text, pos)
        stop = end
        while stop > pos and text[stop - 1].isspace():
            stop -= 1
        if stop > pos:
            if sentences and sentences[-1].paragraph == paragraph and not any(c.isalnum() for c in text[pos:stop]):
                # A stray closing quote after the full stop belongs to the sentence before it.
                previous = sentences.pop()
                sentences.append(Sentence(previous.start, stop, text[previous.start : stop], paragraph))
            else:
                sentences.append(Sentence(pos, stop, text[pos:stop], paragraph))
        pos = end
    return sentences


def _sentence_end(text: str, start: int) -> int:
    line_end = text.find("\n", start)
    if line_end == -1:
        line_end = len(text)
    quotes = 0  # straight double quotes seen in this sentence: odd means one is open
    pos = start
    while pos < line_end:
        char = text[pos]
        if char.isdigit() and pos + 2 < line_end and text[pos + 1].isupper() and text[pos + 2].islower():
            # A capture that runs a headline into the story: "... in Q1 2019Bitmain Technologies, the ...".
            if _RUN_ON_YEAR.match(text, max(start, pos - 3)) and pos - 3 >= start:
                return pos + 1
        if char == '"':
            quotes += 1
        if char in ".!?":
            match = _BREAK.match(text, pos)
            stop = match.end()
            # A closing quote or bracket right after the mark stays with this sentence; a straight quote only
            # when one is open ('...Cleanspark."Not only' opens the next sentence's quotation).
            while stop < line_end and text[stop] in CLOSERS:
                if text[stop] == '"':
                    if quotes % 2 == 0:
                        break
                    quotes += 1
                stop += 1
            after = stop
            while after < line_end and text[after] in " \t\u00a0":
                after += 1
            if after >= line_end:
                return line_end
            following = text[after]
            starts_sentence = following.isupper() or following.isdigit() or following in OPENERS
            if starts_sentence and not (char == "." and match.end() - pos == 1 and _is_abbreviation(text, pos)):
                # "2.5" or "1,277." are numbers, not breaks: a digit right after a full stop with no space.
                if not (following.isdigit() and after == stop and text[pos - 1 : pos].isdigit()):
                    return stop
            pos = stop
            continue
        pos += 1
    return line_end


@dataclass(frozen=True)
class Token:
    start: int
    end: int
    text: str

    @property
    def lower(self) -> str:
        return self.text.lower().replace("’", "'")


def tokenize(text: str, offset: int = 0) -> list[Token]:
    """Words (letters and digits, with inner apostrophes), and every other non-space character on its own."""
    return [Token(m.start() + offset, m.end() + offset, m.group()) for m in _WORD.finditer(text)]
