"""``export_fixtures``: the database written back in the fixture format, so that reviewed work can be committed.

Loading ``fixtures/`` and exporting it gives the same bytes (comment lines aside: the database has none; an export
over existing files keeps theirs); an export with an editor's correction and new records loads cleanly into an
empty database and holds the same data; proposals are never exported; the reads are a fixed number of queries per
batch of articles.
"""

import datetime
import random
import re
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from articles.choices import EventStatus, ReviewStatus
from articles.models import Article, Company, Event, Figure, Person
from articles.services.companies import company_save
from articles.services.events import event_save
from articles.services.figures import figure_save
from articles.services.fixtures import FixtureError, fixtures_load
from articles.services.fixtures.exporting import fixtures_export
from articles.services.fixtures.strict_yaml import load_yaml
from articles.services.fixtures.yaml_writer import WIDTH, flow_list, key_value

from .base import FIXTURES_DIR, make_article, make_company, make_figure

pytestmark = pytest.mark.django_db

# A YAML block scalar's header ("body: |-"): the lines under it are text, not comments.
_BLOCK = re.compile(r"^( *)(- )?[^\s#][^:]*: [|>][-+0-9]*$")


def without_comments(text: str) -> str:
    """The file less its comment lines (lines inside block scalars are text, and stay)."""
    kept, block = [], None
    for line in text.split("\n"):
        if block is not None and (not line.strip() or len(line) - len(line.lstrip(" ")) > block):
            kept.append(line)
            continue
        block = None
        if line.lstrip().startswith("#"):
            continue
        if match := _BLOCK.match(line):
            block = len(match.group(1)) + (2 if match.group(2) else 0)
        kept.append(line)
    text = "\n".join(kept)
    return text.lstrip("\n")


def fixture_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.yaml"))}


def snapshot() -> dict:
    """Every curated record's data by natural key (no ids, versions or times): equal for equal data sets."""
    rows = {}
    for company in Company.objects.select_related("parent").prefetch_related("aliases"):
        rows[("company", company.slug)] = (
            company.name,
            company.kind,
            company.country,
            company.founded_year,
            company.description,
            company.parent.slug if company.parent_id else None,
            sorted((a.name, a.garbled, a.note) for a in company.aliases.all()),
        )
    for person in Person.objects.select_related("affiliation").prefetch_related("aliases"):
        rows[("person", person.slug)] = (
            person.name,
            person.title,
            person.description,
            person.affiliation.slug if person.affiliation_id else None,
            sorted((a.name, a.garbled, a.note) for a in person.aliases.all()),
        )
    for article in Article.objects.select_related("publisher").prefetch_related("companies", "people"):
        rows[("article", article.slug)] = (
            article.title,
            article.publisher.slug if article.publisher_id else None,
            article.authors,
            article.published_on,
            article.published_precision,
            article.url,
            article.language,
            article.translated_from,
            article.notes,
            article.body,
            sorted(c.slug for c in article.companies.all()),
            sorted(p.slug for p in article.people.all()),
        )
    participants = ("participants__company", "participants__person")
    for event in Event.objects.select_related("article").prefetch_related(*participants):
        rows[("event", event.article.slug, event.key)] = (
            event.title,
            event.summary,
            event.type,
            event.date,
            event.date_precision,
            event.end_date,
            event.date_latest,
            event.quote,
            event.quote_start,
            event.quote_end,
            event.note,
            event.status,
            sorted((str(p.company or ""), str(p.person or ""), p.role) for p in event.participants.all()),
        )
    for figure in Figure.objects.select_related("article", "company"):
        rows[("figure", figure.article.slug, figure.key)] = tuple(
            getattr(figure, name)
            for name in (
                "subject", "metric", "value", "value_high", "unit", "qualifier", "as_reported", "period_start",
                "period_end", "period_label", "quote", "quote_start", "quote_end", "note", "status",
            )
        ) + (figure.company.slug if figure.company_id else None,)  # fmt: skip
    return rows


def empty_the_database() -> None:
    """A fresh database, as far as newsdb's tables go (the migrations' editors group stays)."""
    for model in reversed(list(apps.get_app_config("articles").get_models())):
        model._base_manager.all().delete()


# -- The YAML each value becomes -----------------------------------------------------------------------------------

AWKWARD = [
    "",
    "null",
    "yes",
    "No",
    "~",
    "1.5",
    "007",
    "1e3",
    "2019-01-01",
    "- dash",
    "a: b",
    "ends with a colon:",
    "has # a hash",
    "#first",
    "'quoted'",
    '"double"',
    " leading space",
    "trailing space ",
    "tab\tinside",
    "line\nbreak",
    "\nleading break",
    "trailing break\n",
    "two breaks\n\n",
    "  indented\nfirst line",
    "\tstarts with a tab\nand more",
    "no-break\u00a0space",
    "line separator \u2028 inside",
    "next line \x85 inside",
    "byte order mark \ufeff inside",
    "Bitmain’s “quoted” 比特大陆",
    "@at",
    "`backtick",
    "%percent",
    "{curly}",
    "[square]",
    "!bang",
    "&anchor",
    "*alias",
    "| pipe",
    "> angle",
    "...dots",
    "---dashes",
    "a,b",
    "question?",
]


@pytest.mark.parametrize("text", AWKWARD)
@pytest.mark.parametrize("style", ["plain", "block", "fold"])
def test_every_text_reads_back_as_itself(text, style):
    lines = key_value("k", text, "  ", block=style == "block", fold=style == "fold")
    document = "x:\n" + "\n".join(lines) + "\n"
    assert load_yaml(document)["x"]["k"] == text, document
    assert yaml.safe_load(document)["x"]["k"] == text, document


def test_random_texts_read_back_as_themselves():
    pieces = list("ab -:#'\"\n\t,[]{}|>!&*%@`.?019~") + ["\u00a0", "\u2028", "\x85", "\ufeff", "é", "’", "null"]
    chooser = random.Random(8)
    for _ in range(3000):
        text = "".join(chooser.choice(pieces) for _ in range(chooser.randint(0, 14)))
        for style in ("plain", "block", "fold"):
            lines = key_value("k", text, "  ", block=style == "block", fold=style == "fold")
            document = "x:\n" + "\n".join(lines) + "\n"
            assert load_yaml(document)["x"]["k"] == text, document
        document = f"x: {flow_list([text, 'b'])}\n"
        assert load_yaml(document)["x"] == [text, "b"], document


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (Decimal("310000000.000000"), "310000000"),
        (Decimal("33.333333"), "33.333333"),
        (Decimal("0.600000"), "0.6"),
        (Decimal("123456789012345678.123456"), "'123456789012345678.123456'"),
    ],
)
def test_a_value_is_a_plain_number_when_a_float_reads_it_back_exactly(value, written):
    assert key_value("value", value, "") == [f"value: {written}"]


def test_a_long_description_is_folded_at_the_width_and_reads_back_whole():
    text = " ".join(["word"] * 60)
    lines = key_value("description", text, "    ", fold=True)
    assert lines[0] == "    description: >-"
    assert all(len(line) <= WIDTH for line in lines)
    assert load_yaml("\n".join(["x:", *lines]) + "\n")["x"]["description"] == text


# -- The round trip ---------------------------------------------------------------------------------------------


def test_loading_the_fixtures_and_exporting_them_gives_the_same_bytes(curated, tmp_path):
    report = fixtures_export(folder=tmp_path)
    exported, curated_files = fixture_files(tmp_path), fixture_files(FIXTURES_DIR)
    assert set(exported) == set(curated_files)
    assert report.articles == len(curated_files) - 1 == 5
    for name, data in curated_files.items():
        assert exported[name].decode() == without_comments(data.decode()), name
    assert not any(b"\n#" in data or data.startswith(b"#") for data in exported.values())


def test_an_export_over_the_curated_files_changes_no_byte_comments_included(curated, tmp_path):
    folder = tmp_path / "fixtures"
    for name, data in fixture_files(FIXTURES_DIR).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    report = fixtures_export(folder=folder)
    assert fixture_files(folder) == fixture_files(FIXTURES_DIR)
    assert (report.written, report.unchanged, report.removed) == ([], 6, [])


def test_an_edited_database_exports_and_reloads_into_an_empty_one_with_the_same_data(curated, editor, tmp_path):
    figure_article = "bitmain-made-in-usa-threat-2024"
    figure = Figure.objects.get(article__slug=figure_article, metric="funding_raised")
    figure_save(
        figure=figure,
        data={"status": ReviewStatus.CORRECTED, "value": Decimal("80000000"), "note": "Other reports say $80 million."},
        user=editor,
        reason="Bloomberg's original",
    )
    verified = Figure.objects.filter(status=ReviewStatus.REPORTED).order_by("pk").first()
    figure_save(figure=verified, data={"status": ReviewStatus.VERIFIED}, user=editor)
    company_save(
        data={"slug": "hashwave", "name": "Hashwave: “new” #1", "description": "line one\nline two", "aliases": []},
        user=editor,
    )
    article = Article.objects.get(slug="bitmain-q1-2019-loss")
    event = event_save(
        data={
            "article": article,
            "title": "A new event, with: odd characters #1",
            "type": "statement",
            "date": datetime.date(2019, 8, 1),
            "date_precision": "month",
            "quote": "Bitmain is currently the only company mass producing the 7nm ASICs.",
            "participants": [{"company": "hashwave", "role": "subject"}],
        },
        user=editor,
    )
    # Proposals are not exported, and the export leaves them out without a trace.
    event_save(event=None, data=_proposed_event(article), user=editor)
    before = snapshot()
    first = tmp_path / "first"
    fixtures_export(folder=first)

    empty_the_database()
    assert not Article.objects.exists()
    report = fixtures_load(paths=[first])
    assert report.kept == 0
    after = snapshot()
    proposals = {key for key, row in before.items() if key[0] == "event" and row[11] == EventStatus.PROPOSED}
    assert len(proposals) == 1
    assert after == {key: row for key, row in before.items() if key not in proposals}
    assert Figure.objects.get(key=figure.key, article__slug=figure_article).status == ReviewStatus.CORRECTED
    assert ("event", article.slug, event.key) in after

    second = tmp_path / "second"
    fixtures_export(folder=second)
    assert fixture_files(second) == fixture_files(first)


def _proposed_event(article: Article) -> dict:
    return {
        "article": article,
        "title": "Proposed, never exported",
        "type": "statement",
        "date": datetime.date(2019, 1, 1),
        "date_precision": "year",
        "quote": "Bitmain is also desperately pushing to go public.",
        "status": EventStatus.PROPOSED,
    }


def test_reloading_an_export_into_the_same_database_changes_nothing(curated, editor, tmp_path):
    figure = Figure.objects.filter(status=ReviewStatus.REPORTED).order_by("pk").first()
    figure_save(figure=figure, data={"note": "Checked against the original."}, user=editor)
    fixtures_export(folder=tmp_path)
    report = fixtures_load(paths=[tmp_path])
    assert (report.created, report.updated, report.kept) == (0, 0, 0)


def test_proposed_and_rejected_figures_are_not_exported(db, tmp_path):
    article = make_article("numbers")
    make_figure(article, "fact")
    make_figure(article, "proposal", status=ReviewStatus.PROPOSED)
    make_figure(article, "rejected-proposal", status=ReviewStatus.DISMISSED)
    make_figure(article, "rejected-fact", status=ReviewStatus.REJECTED, note="Wrong.")
    fixtures_export(folder=tmp_path)
    written = load_yaml((tmp_path / "articles" / "numbers.yaml").read_text())
    assert [(f["key"], f.get("status")) for f in written["figures"]] == [("fact", None), ("rejected-fact", "rejected")]


@pytest.mark.parametrize("status", ["proposed", "dismissed"])
def test_the_loader_refuses_a_proposal_in_a_fixture_naming_the_field(curated, tmp_path, status):
    text = (FIXTURES_DIR / "articles" / "bitmain-q1-2019-loss.yaml").read_text()
    text = text.replace("    note: ''\n", f"    status: {status}\n    note: ''\n", 1)
    (tmp_path / "x.yaml").write_text(text)
    with pytest.raises(FixtureError, match=rf"figure '[a-z0-9-]+': status: '{status}': a proposal is not part"):
        fixtures_load(paths=[tmp_path / "x.yaml"], full=True)


def test_export_reads_a_fixed_number_of_queries_per_batch_of_articles(db, tmp_path):
    acme = make_company("acme")

    def articles(count: int, prefix: str) -> None:
        for n in range(count):
            article = make_article(f"{prefix}-{n}", companies=(acme,), publisher=acme)
            make_figure(article, "revenue", company=acme)

    articles(3, "a")
    with CaptureQueriesContext(connection) as few:
        fixtures_export(folder=tmp_path / "few", batch=50)
    articles(30, "b")
    with CaptureQueriesContext(connection) as many:
        report = fixtures_export(folder=tmp_path / "many", batch=50)
    assert report.articles == 33
    assert len(many) == len(few)


def test_the_command_writes_the_folder_and_removes_files_of_deleted_articles(db, tmp_path, capsys):
    make_article("kept")
    stale = tmp_path / "articles" / "gone.yaml"
    stale.parent.mkdir(parents=True)
    stale.write_text("article: {}\n")
    call_command("export_fixtures", str(tmp_path))
    out = capsys.readouterr().out
    assert "Exported 0 companies, 0 people and 1 articles" in out
    assert "Removed articles/gone.yaml" in out
    assert "2 file(s) written, 0 unchanged, 1 removed." in out
    assert sorted(p.name for p in tmp_path.rglob("*.yaml")) == ["companies.yaml", "kept.yaml"]
    call_command("export_fixtures", str(tmp_path))
    assert "0 file(s) written, 2 unchanged, 0 removed." in capsys.readouterr().out
