"""``extract()``: the one entry point. Pure: reads only its arguments, writes nothing."""

from __future__ import annotations

from datetime import date

from ..choices import DatePrecision
from . import Extraction
from .dates import Resolver
from .dictionary import Dictionary
from .events import extract_events
from .figures import Context, extract_figures
from .mentions import find_mentions
from .text import split_sentences


def extract(
    text: str,
    *,
    published_on: date,
    precision: str = DatePrecision.DAY,
    language: str = "en",
    dictionary: Dictionary | None = None,
) -> Extraction:
    """Propose the mentions, figures and events of an article's ``text`` (its body, verbatim).

    ``published_on`` and ``precision`` resolve what the text leaves out ("in March", "last year").
    ``dictionary`` is the known companies and people (``Dictionary.from_database()``); without one only new
    organisations are proposed. ``language`` other than English gets no proposals: the rules read English.
    """
    if dictionary is None:
        dictionary = Dictionary([])
    if not language.lower().startswith("en") or not text.strip():
        return Extraction()
    sentences = split_sentences(text)
    mentions, known = find_mentions(text, dictionary)
    context = Context(text, sentences, known, dictionary, Resolver(published_on, precision))
    figures = extract_figures(context)
    events = extract_events(context, figures)
    return Extraction(mentions=mentions, figures=figures, events=events)
