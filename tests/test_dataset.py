"""The curated data set itself: faithful to the articles, complete, and internally consistent."""

import datetime
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from django.conf import settings

from articles.models import Article, Company, Event, Figure, Person
from articles.numbers import parse_amount
from articles.selectors import entity_resolve

from .base import FIXTURES_DIR

ARTICLE_FILES = sorted((FIXTURES_DIR / "articles").glob("*.yaml"))
SEEDS_DIR = Path(os.environ.get("NEWSDB_SEEDS_DIR", Path(settings.BASE_DIR).parent / "shared" / "seeds"))
SEED_OF = {
    "bitmain-bankruptcy-rumours-2018": "000_e3d95e03d97264e9.txt",
    "bitmain-q1-2019-loss": "001_7cfd2e0e3396dc0a.txt",
    "bitmain-made-in-usa-threat-2024": "002_af683aedbed4347f.txt",
    "bitmain-suspends-spot-sales-2021": "003_9d4bd7db77ce0396.txt",
    "china-miners-sell-off-2018": "004_7c00fbc0deb54628.txt",
}
DEBRIS = [
    "Go to article >>",
    "Suggested articles",
    "Join Now",
    "Leave a comment",
    "Leave a Reply",
    "YOU MAY LIKE",
    "Related:",
    "Akismet",
    "Follow author on",
    "Representational image",
    "Source: Bloomberg",
]
# What is cut from each source to make its body: page debris and capture metadata (bylines), nothing else.
# An entry that is a whole line of the source removes that line; any other entry is a run cut out of a line
# (001 has no line breaks: its advertisement and "Suggested articles" box sit inside the text). The
# headline is not debris: where the capture has one, the body keeps it.
PAGE_DEBRIS = {
    "bitmain-bankruptcy-rumours-2018": [],
    "bitmain-q1-2019-loss": [
        "London Summit 2019 Launches the Latest Era in FX and Fintech - Join Now",
        "Suggested articlesSpectre.ai Launches World's First Hyper-API and Mobile App!Go to article >>"
        "Spectre.ai Launches World's First Hyper-API and Mobile App!Go to article >>",
    ],
    "bitmain-made-in-usa-threat-2024": ["Source: Bloomberg", "Author: Ryan Weeks, Sidhartha Shukla"],
    "bitmain-suspends-spot-sales-2021": [
        "By Arya M Nair, Official Reporter",
        "  \u2022 Follow author on",
        "Bitmain tech",
        "Representational image",
        "Related: Bitcoin steadies in Asia after a plunge caused by the Chinese ban",
        "YOU MAY LIKE",
    ],
    "china-miners-sell-off-2018": [
        "Screenshot from a short online clip showing what appear to be unused miners.",
        "Asia crypto experts stay positive despite current bear market",
        "Bailey Hu is based in China\u2019s hardware capital, Shenzhen. Her interests include local maker culture, "
        "grassroots innovation and how tech shapes society, as well as vice versa.",
        "Leave a comment",
        "Leave a Reply",
        "This site uses Akismet to reduce spam. Learn how your comment data is processed.",
    ],
}
# The garbles the seeds' README lists: a note may hedge about these, as the README itself does.
KNOWN_GARBLES = [
    "Cannan Creative",
    "Betland",
    "Battle",
    "Etherdo",
    "Zhanck Group",
    "Wu Jihan",
    "Elizabeth Wallen",
    "Ministry of Finance",
    "US Foreign Investment Commission",
    "Alternative Financial Research Center",
    "Riot Blockchain",
    "Kangzhou",
    "Fundable Manual",
    "$ 8 million",
]
MONTHS = "January February March April May June July August September October November December".split()


def in_ci() -> bool:
    """CI sets CI=true; there a check that cannot run is a failure, not a skip."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def read_articles(folder: Path = FIXTURES_DIR / "articles") -> dict[str, dict]:
    """The article files as YAML documents, by slug: the checks below run on them, or on any older copy."""
    return {path.stem: yaml.safe_load(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.yaml"))}


def read_entities(path: Path = FIXTURES_DIR / "companies.yaml") -> dict[str, dict]:
    """Every company and person record of companies.yaml, by slug."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {record["slug"]: record for record in [*doc["companies"], *doc["people"]]}


def names_of(entity: dict) -> list[str]:
    return [entity["name"], *(alias["name"] for alias in entity.get("aliases") or [])]


def participant_entity(participant: dict, entities: dict[str, dict]) -> dict:
    return entities[participant.get("company") or participant.get("person")]


def events_of(articles: dict[str, dict]):
    for slug, doc in articles.items():
        for event in doc.get("events") or []:
            yield slug, doc, event


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.;!?])\s+", text or "") if s]


def source_text(slug: str) -> str:
    """The seed an article was curated from; a missing seeds folder skips locally and fails in CI."""
    if not SEEDS_DIR.is_dir():
        reason = f"the source articles are not at {SEEDS_DIR} (set NEWSDB_SEEDS_DIR to their folder)"
        if in_ci():
            pytest.fail(f"{reason}: CI must compare every body with its source, so this is a failure", pytrace=False)
        pytest.skip(reason)
    return (SEEDS_DIR / SEED_OF[slug]).read_text(encoding="utf-8")


def body_from_source(source: str, debris: list[str]) -> str:
    """The source minus its debris, character for character.

    The only normalisation is of the line breaks the cut leaves: blank lines left where debris lines were
    collapse to one paragraph break, and line breaks at the two ends go. No other whitespace is touched (a
    U+00A0 no-break space stays), since the body is the capture verbatim.
    """
    lines = source.split("\n")
    for entry in debris:
        if entry in lines:
            lines = [line for line in lines if line != entry]
        else:
            assert entry in source, f"{entry[:60]!r} is listed as debris but is not in the source"
            lines = [line.replace(entry, "") for line in lines]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


def first_difference(expected: str, actual: str) -> str:
    at = next((i for i, (a, b) in enumerate(zip(expected, actual, strict=False)) if a != b), None)
    if at is None:
        at = min(len(expected), len(actual))
    start = max(0, at - 30)
    return f"differs at {at}: source has {expected[start : at + 50]!r}, body has {actual[start : at + 50]!r}"


def figure_records():
    for path in ARTICLE_FILES:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for record in doc["figures"]:
            yield pytest.param(record, id=f"{path.stem}/{record['key']}")


def test_there_is_one_file_per_source_article():
    assert sorted(p.stem for p in ARTICLE_FILES) == sorted(SEED_OF)


@pytest.mark.parametrize("record", list(figure_records()))
def test_every_figures_words_parse_to_its_recorded_value(record):
    parsed = parse_amount(record["as_reported"])
    assert parsed.value == Decimal(str(record["value"]))
    high = record.get("value_high")
    assert parsed.value_high == (Decimal(str(high)) if high is not None else None)
    assert parsed.qualifier == record["qualifier"]
    if parsed.unit is not None:
        assert parsed.unit == record["unit"]


@pytest.mark.usefixtures("curated_readonly")
class TestTheLoadedDataSet:
    """The curated data set as the loader stores it (loaded once for the class)."""

    def test_every_quote_is_found_verbatim_at_its_offsets(self):
        for record in [*Event.objects.select_related("article"), *Figure.objects.select_related("article")]:
            assert record.article.body[record.quote_start : record.quote_end] == record.quote, record.key
        for figure in Figure.objects.all():
            assert figure.as_reported in figure.quote

    @pytest.mark.parametrize(
        ("slug", "publisher", "published_on", "precision", "authors"),
        [
            ("bitmain-bankruptcy-rumours-2018", None, datetime.date(2018, 9, 1), "month", []),
            ("bitmain-q1-2019-loss", "finance-magnates", datetime.date(2019, 8, 1), "month", []),
            (
                "bitmain-made-in-usa-threat-2024",
                "bloomberg",
                datetime.date(2024, 8, 26),
                "day",
                ["Ryan Weeks", "Sidhartha Shukla"],
            ),
            (
                "bitmain-suspends-spot-sales-2021",
                "gcc-business-news",
                datetime.date(2021, 6, 1),
                "month",
                ["Arya M Nair"],
            ),
            ("china-miners-sell-off-2018", "technode", datetime.date(2018, 11, 1), "month", ["Bailey Hu"]),
        ],
    )
    def test_publication_metadata_is_what_is_known_with_honest_precision(
        self, slug, publisher, published_on, precision, authors
    ):
        article = Article.objects.get(slug=slug)
        assert (article.publisher.slug if article.publisher else None) == publisher
        assert (article.published_on, article.published_precision, article.authors) == (
            published_on,
            precision,
            authors,
        )

    def test_no_page_debris_is_body_text(self):
        for article in Article.objects.all():
            for debris in DEBRIS:
                assert debris not in article.body, (article.slug, debris)

    def test_the_loader_stores_every_body_character_for_character(self):
        for slug, doc in read_articles().items():
            assert Article.objects.get(slug=slug).body == doc["article"]["body"], slug

    @pytest.mark.parametrize(
        ("garble", "slug"),
        [
            ("Cannan Creative", "canaan"),
            ("Betland", "bitmain"),
            ("Battle", "bitmain"),
            ("Etherdo", "bitmain"),
            ("Zhanck Group", "micree-zhan"),
            ("Wu Jihan", "jihan-wu"),
            ("Elizabeth Wallen", "elizabeth-warren"),
            ("Ministry of Finance", "us-treasury"),
            ("US Foreign Investment Commission", "cfius"),
            ("Cambridge University's Alternative Financial Research Center", "ccaf"),
            ("Riot Blockchain Inc.", "riot-platforms"),
            ("QQ.com", "tencent-news"),
            ("Mark Lee", "mark-li"),
        ],
    )
    def test_every_known_garble_resolves_to_the_right_entity(self, garble, slug):
        entity = entity_resolve(garble)
        assert entity is not None and entity.slug == slug

    def test_garbled_aliases_are_marked_and_explained(self):
        garbled = Company.objects.get(slug="bitmain").aliases.filter(garbled=True)
        assert {a.name for a in garbled} >= {"Betland", "Battle", "Etherdo"}
        assert all(a.note for a in garbled)

    def test_every_organization_of_the_articles_is_a_company(self):
        named = {
            "bitmain-bankruptcy-rumours-2018": {
                "bitmain",
                "bloomberg",
                "tencent-news",
                "bitmex-research",
                "canaan",
                "sanford-c-bernstein",
                "mgt-capital-investments",
                "gmo-internet",
            },
            "bitmain-q1-2019-loss": {"bitmain", "tencent-news", "hkex", "bloomberg", "canaan"},
            "bitmain-made-in-usa-threat-2024": {
                "bitmain",
                "bitmain-technologies-delaware",
                "auradine",
                "core-scientific",
                "block",
                "marathon-digital",
                "ccaf",
                "synteq-digital",
                "mineone",
                "cfius",
                "us-senate-banking-committee",
                "us-treasury",
                "cleanspark",
                "ofac",
                "sphere-3d",
                "bitfufu",
                "us-customs",
                "riot-platforms",
                "microbt",
                "bloomberg-businessweek",
                "de-beers",
                "linkedin",
            },
            "bitmain-suspends-spot-sales-2021": {"bitmain", "china-state-council"},
            "china-miners-sell-off-2018": {
                "bitmain",
                "weibo",
                "tencent-news",
                "binance",
                "okcoin",
                "hurun-report",
                "techcrunch",
            },
        }
        for slug, companies in named.items():
            mentioned = set(Article.objects.get(slug=slug).companies.values_list("slug", flat=True))
            assert companies <= mentioned, (slug, companies - mentioned)

    def test_people_named_by_the_articles_are_people_with_their_affiliation(self):
        assert Person.objects.get(slug="rajiv-khemani").affiliation.slug == "auradine"
        assert Person.objects.get(slug="patricia-trompeter").affiliation.slug == "sphere-3d"
        assert Company.objects.get(slug="bitmain-technologies-delaware").parent.slug == "bitmain"

    @pytest.mark.parametrize(
        ("article", "key", "value", "value_high", "unit", "period"),
        [
            (
                "bitmain-q1-2019-loss",
                "q1-2019-operating-revenue",
                "1082000000",
                None,
                "USD",
                ("2019-01-01", "2019-03-31"),
            ),
            ("bitmain-q1-2019-loss", "q1-2019-net-loss", "310000000", None, "USD", ("2019-01-01", "2019-03-31")),
            (
                "bitmain-q1-2019-loss",
                "january-2019-operating-revenue",
                "253000000",
                None,
                "USD",
                ("2019-01-01", "2019-01-31"),
            ),
            (
                "bitmain-q1-2019-loss",
                "february-2019-operating-revenue",
                "253000000",
                None,
                "USD",
                ("2019-02-01", "2019-02-28"),
            ),
            ("bitmain-bankruptcy-rumours-2018", "chip-prepayments", "660000000", "866000000", "USD", None),
            (
                "bitmain-bankruptcy-rumours-2018",
                "production-costs-with-inventories",
                "1900000000",
                "2100000000",
                "USD",
                None,
            ),
            ("bitmain-bankruptcy-rumours-2018", "fiat-and-crypto-reserves", "1277000000", None, "USD", None),
            ("bitmain-made-in-usa-threat-2024", "bitmain-mining-machine-market-share", "90", None, "percent", None),
            ("bitmain-made-in-usa-threat-2024", "auradine-april-2024-funding", "8000000", None, "USD", None),
            ("bitmain-made-in-usa-threat-2024", "mineone-cheyenne-land-area", "12", None, "acres", None),
            ("china-miners-sell-off-2018", "bitcoin-price-below-5000", "5000", None, "USD", None),
        ],
    )
    def test_key_figures_are_recorded_with_their_values(self, article, key, value, value_high, unit, period):
        figure = Figure.objects.get(article__slug=article, key=key)
        assert figure.value == Decimal(value)
        assert figure.value_high == (Decimal(value_high) if value_high else None)
        assert figure.unit == unit
        if period:
            assert (figure.period_start.isoformat(), figure.period_end.isoformat()) == period

    def test_the_auradine_translation_error_is_kept_as_reported_with_a_note(self):
        figure = Figure.objects.get(article__slug="bitmain-made-in-usa-threat-2024", key="auradine-april-2024-funding")
        assert (figure.as_reported, figure.status) == ("$ 8 million", "reported")
        assert "$80 million" in figure.note

    def test_dated_happenings_mentioned_in_passing_are_events(self):
        events = Event.objects.filter(article__slug="bitmain-made-in-usa-threat-2024")
        assert events.get(key="bitmain-founded").date == datetime.date(2013, 1, 1)
        hearing = events.get(key="senate-banking-hearing-mineone")
        assert (hearing.date, hearing.date_precision) == (datetime.date(2024, 7, 25), "day")
        assert events.filter(type="government_action", date__year=2018).exists()  # the 2018 tariffs
        speech = events.get(key="trump-nashville-bitcoin-conference-speech")
        assert speech.participants.filter(person__slug="donald-trump", role="speaker").exists()


@pytest.mark.parametrize("slug", sorted(SEED_OF))
def test_every_body_is_its_source_minus_the_listed_page_debris(slug):
    """Catches any change to the text: a dropped headline or sentence, a lost or added character (U+00A0)."""
    expected = body_from_source(source_text(slug), PAGE_DEBRIS[slug])
    body = read_articles()[slug]["article"]["body"]
    assert body == expected, first_difference(expected, body)


def test_the_source_comparison_is_exact_about_invisible_characters():
    source = "Headline\n\nBitmain tech\n\nCongo.\u00a0\n\nYOU MAY LIKE"
    assert body_from_source(source, ["Bitmain tech", "YOU MAY LIKE"]) == "Headline\n\nCongo.\u00a0"
    assert body_from_source(source, ["Bitmain tech", "YOU MAY LIKE"]) != "Headline\n\nCongo."


HEADLINE_KEPT = re.compile(r"\bkeeps?\b|\bkept\b|\b(?:in|into|opens|starts) the body\b", re.IGNORECASE)
HEADLINE_NOT_KEPT = re.compile(r"\bno headline\b|\bnot kept\b|\bremoved\b|\bleft out\b", re.IGNORECASE)


def headline_claim_problems(articles: dict[str, dict]) -> list[str]:
    """Notes that say the headline is kept (in the body) while the article's title is not in its body."""
    problems = []
    for slug, doc in articles.items():
        article = doc["article"]
        for sentence in sentences(article.get("notes")):
            claims = "headline" in sentence.lower() and HEADLINE_KEPT.search(sentence)
            if claims and not HEADLINE_NOT_KEPT.search(sentence) and article["title"] not in article["body"]:
                problems.append(f"{slug}: the notes say {sentence!r} but the title is not in the body")
    return problems


def test_notes_that_say_the_headline_is_kept_have_the_title_in_the_body():
    """A notes sentence that mentions the headline and says it is kept ("kept", "keeps", "in/into the body"),
    and does not say "no headline" or "removed", is a promise that the body holds the title verbatim."""
    assert headline_claim_problems(read_articles()) == []


VAGUE_TIME = re.compile(
    r"\b(?:a few|several|some|many) (?:years|months|weeks|days) ago\b|\bin recent (?:years|months|weeks|days)\b"
    r"|\brecent(?:ly)?\b|\blately\b|\bnot long ago\b|\bin the past\b"
    r"|\b(?:earlier|later)\b(?! this (?:year|month|week))",
    re.IGNORECASE,
)
EXPLICIT_TIME = re.compile(rf"\b(?:19|20)\d\d\b|\b(?:{'|'.join(MONTHS)})\b")


def vague_dating_problems(articles: dict[str, dict]) -> list[str]:
    """Events dated to one day, month, quarter or year from nothing more than a vague relative time."""
    problems = []
    for slug, _doc, event in events_of(articles):
        vague = VAGUE_TIME.search(event["quote"])
        if not vague or EXPLICIT_TIME.search(event["quote"]):
            continue
        is_span = event.get("end_date") is not None and event["end_date"] > event["date"]
        if not is_span and "outside knowledge" not in (event.get("note") or "").lower():
            problems.append(
                f"{slug}/{event['key']}: {vague.group()!r} dated as the single {event['date_precision']} "
                f"{event['date']}"
            )
    return problems


def test_a_vague_relative_time_is_dated_as_a_span_or_from_outside_knowledge():
    """An event whose quote dates it only vaguely ("a few years ago", "recently", "in recent years", "earlier"
    or "later" but not "earlier this year") claims no single day, month, quarter or year: it is a span
    (end_date after date) covering what the text allows, or its note gives the date as "Outside knowledge".
    Quotes that also name a year or a month carry their own date and are left alone.
    """
    assert vague_dating_problems(read_articles()) == []


FUNDING_WORDS = re.compile(r"\bfunding\b|\bshare placement\b|\bplacement of shares\b|\braise[sd]\b", re.IGNORECASE)
LISTING_WORDS = re.compile(r"\bIPO\b|\blisting\b|\bgo(?:es|ing)? public\b|\blists? (?:on|in)\b", re.IGNORECASE)


def event_type_problems(articles: dict[str, dict]) -> list[str]:
    problems = []
    for slug, _doc, event in events_of(articles):
        title, kind = event["title"], event["type"]
        funding, listing = FUNDING_WORDS.search(title), LISTING_WORDS.search(title)
        if funding and kind != "funding_round":
            problems.append(f"{slug}/{event['key']}: {title!r} says {funding.group()!r} but is typed {kind}")
        elif kind == "funding_round" and not funding:
            problems.append(f"{slug}/{event['key']}: typed funding_round but {title!r} names no funding")
        elif kind == "ipo_listing" and not listing:
            problems.append(f"{slug}/{event['key']}: typed ipo_listing but {title!r} names no IPO or listing")
        elif listing and not funding and kind not in ("ipo_listing", "publication", "statement"):
            problems.append(f"{slug}/{event['key']}: {title!r} names an IPO or listing but is typed {kind}")
    return problems


def test_an_events_type_agrees_with_the_words_of_its_title():
    """The title says what happened, so it decides the type. A title that names funding, a share placement or
    money raised ("raises", "raised"; "to raise" is a target, as in a planned IPO) is a funding_round, and a
    funding_round's title says so. An ipo_listing's title names an IPO, a listing or going public, and a title
    naming one is an ipo_listing unless the event is a publication or statement about it.
    """
    assert event_type_problems(read_articles()) == []


HEDGE = re.compile(
    r"\b(?:probably|likely|possibly|perhaps|presumably|apparently|maybe|may be|might be|could be|seems?"
    r"|translation slip)\b",
    re.IGNORECASE,
)
GUESS_SOURCE = re.compile(r"outside knowledge|\binferen|\binferred\b|not verified", re.IGNORECASE)
QUOTED = re.compile(r'"[^"]*"|\u201c[^\u201d]*\u201d')


def note_guess_problems(articles: dict[str, dict], entities: dict[str, dict]) -> list[str]:
    """Sentences of notes that hedge (a guess) without saying where the guess comes from."""
    notes = []
    for slug, doc in articles.items():
        notes.append((f"{slug} notes", doc["article"].get("notes")))
        for kind in ("events", "figures"):
            notes += [(f"{slug}/{record['key']}", record.get("note")) for record in doc.get(kind) or []]
    for slug, entity in entities.items():
        notes += [(f"{slug} alias {alias['name']!r}", alias.get("note")) for alias in entity.get("aliases") or []]
    problems = []
    for where, note in notes:
        for sentence in sentences(note):
            hedge = HEDGE.search(QUOTED.sub("", sentence))
            if hedge and not GUESS_SOURCE.search(sentence) and not any(g in sentence for g in KNOWN_GARBLES):
                problems.append(f"{where}: {hedge.group()!r} in {sentence!r}")
    return problems


def test_a_note_that_guesses_says_where_the_guess_comes_from():
    """A note states what the article says and what editors know. A sentence that hedges ("probably",
    "likely", "may be", "a translation slip", ...) is a guess and must say where it comes from: "Outside
    knowledge", an inference ("inference", "inferred") or an unverified lead ("not verified"), or it is about
    one of the garbles the seeds' README lists (which hedges too). A hedge the note quotes from the article
    ("probably" in double quotes) is the article's, not a guess.
    """
    assert note_guess_problems(read_articles(), read_entities()) == []


SUMMARY_HEDGE = re.compile(r"\b(?:probably|likely|possibly|perhaps|presumably|apparently|maybe)\b", re.IGNORECASE)
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")


def summary_problems(articles: dict[str, dict], entities: dict[str, dict]) -> list[str]:
    """Numbers, names and hedges of event summaries that the article and the record do not back."""
    problems = []
    for slug, doc, event in events_of(articles):
        where, summary = f"{slug}/{event['key']}", event["summary"]
        backing = [doc["article"]["body"], event.get("note") or ""]
        for participant in event.get("participants") or []:
            entity = participant_entity(participant, entities)
            backing += [*names_of(entity), entity.get("title") or ""]
        for day in filter(None, (event["date"], event.get("end_date"))):
            backing.append(f"{day.day} {MONTHS[day.month - 1]} {day.year}")
        backing_text = "\n".join(backing)
        numbers = {re.sub(r"\D", "", n) for n in NUMBER.findall(backing_text)}
        words = {w.lower() for w in WORD.findall(backing_text)}
        for number in NUMBER.findall(summary):
            if re.sub(r"\D", "", number) not in numbers:
                problems.append(f"{where}: the number {number} is not in the article, the note or the date")
        for name in re.finditer(r"\b[A-Z][A-Za-z0-9]*", summary):
            if re.search(r"(?:^|[.:;!?]\s+|[\"\u201c(]\s*)$", summary[: name.start()]):
                continue  # a sentence's or a quotation's first word is capitalised anyway
            word = name.group().lower()
            if word not in words and word.removesuffix("s") not in words:
                problems.append(f"{where}: the name {name.group()!r} is not in the article, the note or the records")
        hedge = SUMMARY_HEDGE.search(summary)
        if hedge and not SUMMARY_HEDGE.search(event["quote"]):
            problems.append(f"{where}: the summary guesses ({hedge.group()!r}) where the quote does not")
    return problems


def test_an_event_summary_adds_no_number_name_or_guess_of_its_own():
    """A summary says what the article says. Checkable part: every number in it occurs in the article's body,
    in the event's note or in its date (decimal commas and points alike: "$2,1 billion" backs "2.1"); every
    capitalised word not opening a sentence or quotation occurs (as a word, or its singular) in the body, the
    note, or the names, aliases and titles of the event's participants; and a hedge ("probably", "likely", ...)
    appears only where the quote hedges too, since otherwise it is the editors' guess, which belongs in the note.
    """
    assert summary_problems(read_articles(), read_entities()) == []


CUSTOMER = r"(?:customers?|clients?|buyers?)"
EXAMPLES_OF_CUSTOMERS = re.compile(
    rf"\b{CUSTOMER}\b[^.;]*?\b(?:for example|for instance|such as|including|like|e\.g\.)[,:]?\s+"
    r"(?P<named>.+?)(?=\s[\u2014\u2013-]\s|;|\)|[.!?](?:\s+[A-Z\"\u201c]|$)|$)"
)


def customer_role_problems(articles: dict[str, dict], entities: dict[str, dict]) -> list[str]:
    """Participants the quote calls customers that do not have the customer role."""
    problems = []
    for slug, _doc, event in events_of(articles):
        quote = event["quote"]
        listed = " ".join(m.group("named") for m in EXAMPLES_OF_CUSTOMERS.finditer(quote))
        for participant in event.get("participants") or []:
            entity = participant_entity(participant, entities)
            for name in names_of(entity):
                in_list = name in listed
                apposed = re.search(
                    rf"\b{re.escape(name)},?\s+(?:(?:is|was|are|were|one of|among|the|its|a|an)\s+)*"
                    rf"(?:\w+\s+){{0,2}}{CUSTOMER}\b",
                    quote,
                )
                if (in_list or apposed) and participant["role"] != "customer":
                    problems.append(
                        f"{slug}/{event['key']}: the quote calls {name!r} a customer, its role is {participant['role']}"
                    )
                    break
    return problems


def test_a_participant_the_quote_calls_a_customer_has_the_customer_role():
    """A participant named as an example of customers ("customers ... for example, X and Y", "such as X",
    "including X") or in apposition to the word ("X, one of the largest customers of ...", "X is a customer")
    has the role customer. "Customer(s), client(s), buyer(s)" count alike; a name that only follows the word
    ("customers of Bitmain", garbled "customers Bitmain") is the seller and is not checked.
    """
    assert customer_role_problems(read_articles(), read_entities()) == []
