"""The archive loader's fast paths give what the careful ones give: parallel reading, the one-pass YAML builder,
``COPY`` on PostgreSQL; and a long load shows its progress on a terminal only."""

import os
import time
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection, transaction

from articles.models import (
    Alias,
    Article,
    Company,
    Event,
    EventParticipant,
    Figure,
    FixtureFile,
    FixtureRecord,
    Person,
)
from articles.services import fixtures
from articles.services.companies import company_merge
from articles.services.events import event_save
from articles.services.figures import figure_save
from articles.services.fixtures import FixtureError, TerminalProgress, fixtures_load, parallel, strict_yaml, writing
from articles.services.fixtures.writing import release

from .base import FIXTURES_DIR, synthetic_data_set, write_synthetic_article

MODELS = (Company, Person, Alias, Article, Event, EventParticipant, Figure, FixtureFile, FixtureRecord)
RECORD_MODELS = (Company, Person, Article, Event, Figure)


def snapshot() -> dict:
    """Everything a load writes, without primary keys and timestamps (which differ from load to load)."""
    skip = {"id", "created_at", "updated_at", "loaded_at", "history_id", "history_date"}

    def rows(queryset, model) -> list:
        names = [f.attname for f in model._meta.concrete_fields if f.attname not in skip and not f.is_relation]
        return sorted(map(repr, queryset.values_list(*names)))

    result = {model.__name__: rows(model.objects.all(), model) for model in MODELS}
    for model in RECORD_MODELS:
        history = model.history.model
        result[f"history {model.__name__}"] = rows(model.history.all(), history)
    result["mentions"] = sorted(Article.companies.through.objects.values_list("article__slug", "company__slug"))
    result["people mentioned"] = sorted(Article.people.through.objects.values_list("article__slug", "person__slug"))
    result["participants"] = sorted(
        map(
            repr,
            EventParticipant.objects.values_list(
                "event__article__slug", "event__key", "company__slug", "person__slug", "role"
            ),
        )
    )
    return result


def write_article(folder: Path, n: int, **changes) -> Path:
    return write_synthetic_article(folder, n, **changes)


def synthetic(folder: Path, articles: int) -> Path:
    return synthetic_data_set(folder, articles)


@pytest.fixture
def in_parallel(monkeypatch):
    """Read even a handful of files on two worker processes, three files to a chunk."""
    monkeypatch.setattr(parallel, "PARALLEL_MIN_FILES", 1)
    monkeypatch.setattr(parallel, "CHUNK_FILES", 3)
    monkeypatch.setattr(parallel, "workers_count", lambda: 2)


def problems_of(folder: Path) -> list[str]:
    with pytest.raises(FixtureError) as caught:
        fixtures_load(paths=[folder])
    return [str(p) for p in caught.value.problems]


# Parallel reading -----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_curated_data_set_loads_the_same_when_read_in_parallel(tmp_path, monkeypatch):
    fixtures_load(paths=[FIXTURES_DIR])
    alone = snapshot()
    for model in (EventParticipant, Alias, Figure, Event, Article, Person, Company, FixtureFile, FixtureRecord):
        model.objects.all().delete()
        if model in RECORD_MODELS:
            model.history.all().delete()
    Article.companies.through.objects.all().delete()
    Article.people.through.objects.all().delete()
    monkeypatch.setattr(parallel, "PARALLEL_MIN_FILES", 1)
    monkeypatch.setattr(parallel, "CHUNK_FILES", 2)
    monkeypatch.setattr(parallel, "workers_count", lambda: 2)
    report = fixtures_load(paths=[FIXTURES_DIR])
    assert report.files_read > 2  # several chunks
    assert snapshot() == alone


@pytest.mark.django_db
def test_problems_found_in_parallel_are_the_ones_a_single_reader_names_in_the_same_order(tmp_path, monkeypatch):
    folder = synthetic(tmp_path / "bad", 10)
    write_article(folder, 2, figures={"value": 31})  # reads as 3000000, not 31
    write_article(folder, 4, article={"published_on": "2019-02-30"})
    write_article(folder, 8, article={"slug": "a1"})  # defined twice, in another chunk
    (folder / "a005.yaml").write_text((folder / "a005.yaml").read_text() + "article: again\n", encoding="utf-8")
    (folder / "a006.yaml").write_text("article: &x {}\n", encoding="utf-8")
    write_article(folder, 9, events={"quote": "Acme\r\nwas founded"})
    alone = problems_of(folder)
    assert len(alone) >= 6
    monkeypatch.setattr(parallel, "PARALLEL_MIN_FILES", 1)
    monkeypatch.setattr(parallel, "CHUNK_FILES", 3)
    monkeypatch.setattr(parallel, "workers_count", lambda: 2)
    assert problems_of(folder) == alone
    assert any("is defined twice (also in" in p for p in alone)
    assert not Article.objects.exists()


@pytest.mark.django_db
def test_a_parallel_load_then_reload_writes_nothing_the_second_time(tmp_path, in_parallel):
    folder = synthetic(tmp_path / "set", 12)
    first = fixtures_load(paths=[folder])
    assert (first.counts["articles"].created, first.counts["figures"].created) == (12, 12)
    again = fixtures_load(paths=[folder], full=True)
    assert (again.created, again.updated, again.counts["articles"].unchanged) == (0, 0, 12)


def _reload_outcome(folder: Path) -> tuple:
    """What a --full reload of ``folder`` reports and writes, rolled back afterwards so that it can run again."""
    savepoint = transaction.savepoint()
    report = fixtures_load(paths=[folder], full=True)
    counts = {name: vars(c) for name, c in report.counts.items()}
    kept = sorted((k.file, k.model, k.key, k.fields, k.reason) for k in report.kept_records)
    outcome = (report.files_read, counts, kept, snapshot())
    transaction.savepoint_rollback(savepoint)
    return outcome


@pytest.mark.django_db
def test_a_reload_planned_chunk_by_chunk_does_what_a_single_reader_does(tmp_path, monkeypatch):
    """Each chunk's articles, events and figures are planned as soon as it is read, and the unchanged ones let go
    of their instances; the plan is the one a single reader makes: the same writes, kept records and bookkeeping,
    through an editor's changes, a merge, a changed, a renamed, a new file and a record gone from its file."""
    folder = synthetic(tmp_path / "set", 12)
    companies = yaml.safe_load((folder / "companies.yaml").read_text(encoding="utf-8"))
    companies["companies"].append({"slug": "beta", "name": "Beta"})
    (folder / "companies.yaml").write_text(yaml.safe_dump(companies), encoding="utf-8")
    write_article(
        folder, 6, figures={"company": "beta"}, events={"participants": [{"company": "beta", "role": "subject"}]}
    )
    fixtures_load(paths=[folder])
    editor = User.objects.create_user("editor")
    event = Event.objects.get(article__slug="a3", key="founded")
    event_save(event=event, data={"summary": "An editor's summary."}, user=editor, reason="clearer")
    figure = Figure.objects.get(article__slug="a4", key="march")
    figure_save(figure=figure, data={"note": "Checked by phone."}, user=editor, reason="checked")
    company_merge(survivor=Company.objects.get(slug="acme"), duplicates=[Company.objects.get(slug="beta")], user=editor)
    write_article(folder, 4, figures={"note": "Changed upstream."})
    write_article(folder, 5, article={"title": "Five, retitled"}, events={"summary": "A new summary."})
    write_article(
        folder, 6, figures={"company": "beta"}, events={"participants": [{"company": "beta", "role": "subject"}]}
    )
    (folder / "a007.yaml").rename(folder / "renamed-7.yaml")
    write_article(folder, 9, events={"key": "founding"})
    write_article(folder, 12)

    alone = _reload_outcome(folder)
    files_read, counts, kept, _ = alone
    assert files_read == 14
    assert counts["articles"] == {"created": 1, "updated": 1, "unchanged": 11, "kept": 0}
    assert counts["events"] == {"created": 2, "updated": 1, "unchanged": 9, "kept": 1}
    assert counts["figures"] == {"created": 1, "updated": 0, "unchanged": 11, "kept": 1}
    assert [(model, key) for _file, model, key, _fields, _reason in kept] == [
        ("event", "founded"),  # a003.yaml: changed by the editor
        ("figure", "march"),  # a004.yaml: changed by the editor and in the file
        ("company", "acme"),  # companies.yaml: the merge gave it beta's name as an alias
        ("company", "beta"),  # merged into acme
    ]

    released = []
    monkeypatch.setattr(parallel, "PARALLEL_MIN_FILES", 1)
    monkeypatch.setattr(parallel, "CHUNK_FILES", 3)
    monkeypatch.setattr(parallel, "workers_count", lambda: 2)
    monkeypatch.setattr(fixtures, "release", lambda entries: released.append(len(list(entries))) or release(entries))
    assert _reload_outcome(folder) == alone
    assert len(released) >= 15  # three models in each of five chunks, each let go as soon as it was planned


@pytest.mark.django_db
def test_a_reload_that_is_going_to_fail_names_its_problems_without_planning(tmp_path, in_parallel, monkeypatch):
    folder = synthetic(tmp_path / "set", 9)
    companies = yaml.safe_load((folder / "companies.yaml").read_text(encoding="utf-8"))
    companies["companies"].append({"slug": "beta", "name": "Beta"})
    (folder / "companies.yaml").write_text(yaml.safe_dump(companies), encoding="utf-8")
    write_article(folder, 6, figures={"company": "beta"})
    fixtures_load(paths=[folder])
    editor = User.objects.create_user("editor")
    company_merge(survivor=Company.objects.get(slug="acme"), duplicates=[Company.objects.get(slug="beta")], user=editor)
    write_article(folder, 1, figures={"value": 31})  # in the first chunk
    write_article(folder, 6, figures={"company": "beta", "note": "Changed."})  # a merged company: not a problem
    planned = []
    add = writing.Planner.add
    monkeypatch.setattr(writing.Planner, "add", lambda self, *args: planned.append(args) or add(self, *args))
    with pytest.raises(FixtureError) as caught:
        fixtures_load(paths=[folder], full=True)
    problems = [str(p) for p in caught.value.problems]
    assert len(problems) == 1 and "a001.yaml: figure 'march': value:" in problems[0]
    assert planned == []  # the problem came with the first chunk: no chunk was planned
    assert Figure.objects.get(article__slug="a6").company.slug == "acme" and not Figure.objects.filter(note="Changed.")


def _read_chunk_logged(files, slim=False):
    """A worker's read that only notes which chunk it took (module-level: the pool pickles it by name)."""
    with open(os.environ["NEWSDB_TEST_READS"], "a", encoding="utf-8") as log:
        log.write(f"{files[0]}\n")
    return [], {}


def test_reading_stays_a_few_chunks_ahead_of_a_caller_that_takes_its_time(tmp_path, monkeypatch):
    # The careful path plans each chunk as it comes; workers that read on regardless would pile every record up in
    # the parent while it plans.
    reads = tmp_path / "reads"
    monkeypatch.setenv("NEWSDB_TEST_READS", str(reads))
    monkeypatch.setattr(parallel, "_read_chunk", _read_chunk_logged)
    monkeypatch.setattr(parallel, "PARALLEL_MIN_FILES", 1)
    monkeypatch.setattr(parallel, "CHUNK_FILES", 1)
    chunks = parallel.read_chunks([tmp_path / f"f{n}.yaml" for n in range(40)], workers=2)
    next(chunks)
    time.sleep(1.0)  # forty empty chunks take the workers milliseconds
    started = len(reads.read_text(encoding="utf-8").splitlines())
    chunks.close()
    assert 2 <= started <= 2 * parallel.AHEAD + 1


# The one-pass YAML builder ---------------------------------------------------------------------------------------


ODD_YAML = [
    "",
    "a: 1\n",
    "- 1\n- 2.5\n- true\n- null\n- ~\n- 0x1f\n- 1_000\n- '1'\n- 2019-01-01\n- <<\n- =\n- 1:20\n- .inf\n",
    "a: 1\na: 2\nb:\n  c: [1, {d: e}]\n  c: x\n",
    "x: |\n  multi\n  line\ny: >\n  folded\n  text\n",
    "? a\n: b\n",
    "{a: 1, b: [x, y], c: {}}\n",
    "--- \na: 1\n...\n",
    "a:\n- b\n-\n- c: d\n",
]
REFUSED_YAML = [
    "a: &x 1\n",
    "a: *x\n",
    "a: !!str 1\n",
    "1: a\n",
    "a: [\n",
    "--- 1\n--- 2\n",
    "[" * 30 + "]" * 30,
    "a: " + "9" * 5000 + "\n",
    "[a]: b\n",
]


def careful(text: str):
    strict_yaml._check_events(text)
    loader = strict_yaml.StrictLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def same(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, strict_yaml.LineDict):
        return (a.line, a.key_lines, a.duplicates, list(a)) == (b.line, b.key_lines, b.duplicates, list(b)) and all(
            same(a[k], b[k]) for k in a
        )
    if isinstance(a, strict_yaml.LineList):
        return (a.line, a.item_lines, len(a)) == (b.line, b.item_lines, len(b)) and all(map(same, a, b))
    return a == b


@pytest.mark.parametrize("text", ODD_YAML + [p.read_text(encoding="utf-8") for p in FIXTURES_DIR.rglob("*.yaml")])
def test_the_one_pass_builder_gives_exactly_what_the_careful_parser_gives(text):
    assert same(strict_yaml._build(text), careful(text))


@pytest.mark.parametrize("text", REFUSED_YAML)
def test_the_one_pass_builder_leaves_anything_unusual_to_the_careful_parser(text):
    with pytest.raises(strict_yaml._Unusual):
        strict_yaml._build(text)


# COPY and all-or-nothing -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_failure_after_rows_were_copied_leaves_nothing_behind(tmp_path, monkeypatch):
    folder = synthetic(tmp_path / "set", 5)

    def fail(self):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(writing.Writer, "write_bookkeeping", fail)
    with pytest.raises(RuntimeError):
        fixtures_load(paths=[folder])
    assert all(not model.objects.exists() for model in MODELS)
    assert all(not model.history.exists() for model in RECORD_MODELS)


@pytest.mark.django_db
def test_new_rows_get_their_keys_and_history_whatever_the_database(tmp_path):
    folder = synthetic(tmp_path / "set", 3)
    fixtures_load(paths=[folder])
    figure = Figure.objects.select_related("article", "company").get(article__slug="a1")
    assert (figure.company.slug, figure.version, figure.status) == ("acme", 1, "reported")
    entry = figure.history.get()
    assert (entry.history_type, entry.history_user.username, entry.history_change_reason) == (
        "+",
        "load_fixtures",
        "load_fixtures",
    )
    event = Event.objects.get(article__slug="a1")
    assert event.history.get().lists == {"participants": [{"company": "acme", "person": None, "role": "subject"}]}
    assert Company.objects.get(slug="acme").history.get().lists == {
        "aliases": [{"name": "ACME Corp", "garbled": False, "note": ""}]
    }
    assert sorted(Article.objects.get(slug="a1").history.get().lists["companies"]) == ["acme"]
    if connection.vendor == "postgresql":  # the keys were reserved from the sequences: a later insert follows on
        later = Company.objects.create(slug="later", name="Later")
        assert later.pk > Company.objects.get(slug="acme").pk


# Progress --------------------------------------------------------------------------------------------------------


class FakeTerminal(StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_shows_the_phase_records_rate_and_time_left():
    clock = iter([0.0, 10.0, 20.0, 30.0]).__next__
    stream = FakeTerminal()
    progress = TerminalProgress(stream, clock=clock)
    progress("writing", 0, 1000)
    progress("writing", 250, 1000)  # 25 records a second: 30 s left
    progress("writing", 1000, 1000)
    progress.finish()
    shown = stream.getvalue()
    assert "\rwriting: 250/1,000 (25%), 25/s, 30s left" in shown
    assert "writing: 1,000/1,000 (100%)" in shown
    assert shown.endswith("\r")


def test_progress_is_silent_when_the_output_is_not_a_terminal():
    stream = StringIO()
    progress = TerminalProgress(stream)
    progress("writing", 5, 10)
    progress.finish()
    assert stream.getvalue() == ""


@pytest.mark.django_db
def test_the_command_draws_progress_on_a_terminal_and_nothing_in_a_log(tmp_path):
    folder = synthetic(tmp_path / "set", 3)
    terminal, out = FakeTerminal(), StringIO()
    call_command("load_fixtures", str(folder), "--dry-run", stdout=out, stderr=terminal)
    assert "reading files: 4/4" in terminal.getvalue() and "writing:" in terminal.getvalue()
    assert "\r" not in out.getvalue()
    log = StringIO()
    call_command("load_fixtures", str(folder), stdout=StringIO(), stderr=log)
    assert log.getvalue() == ""


# The reader's quick checks give Django's verdict; Django itself raises the error they refuse.

DECIMALS = [
    "0",
    "0.000000",
    "1",
    "-1",
    "1.5",
    "1082000000",
    "1082000000.000000",
    "0.0000001",
    "1E+18",
    "1E+17",
    "1E-6",
    "1E-7",
    "123456789012345678",
    "1234567890123456789",
    "123456789012345678.123456",
    "12345678901234567.1234567",
    "0E-8",
    "0E+30",
    "-0",
    "99999999999999999.999999",
    "999999999999999999.999999",
    "Infinity",
    "-Infinity",
    "NaN",
    "sNaN",
    "1.10",
    "100E-2",
]


@pytest.mark.parametrize("text", DECIMALS)
def test_decimal_fits_says_what_django_decimal_validator_says(text):
    from decimal import Decimal

    from django.core.exceptions import ValidationError
    from django.core.validators import DecimalValidator

    from articles.services.fixtures.reading import _quick, decimal_fits

    value = Decimal(text)
    validator = DecimalValidator(24, 6)
    try:
        validator(value)
        accepted = True
    except ValidationError:
        accepted = False
    assert decimal_fits(value, 24, 6) is accepted
    quick = _quick(validator)
    if accepted:
        quick(value)
    else:
        with pytest.raises(ValidationError):
            quick(value)


@pytest.mark.parametrize("value", [-(2**63), -(2**31) - 1, -(2**31), -1, 0, 1, 2**31 - 1, 2**31, 2**63, 2**70, True])
def test_a_quick_bound_says_what_django_bounds_say(value):
    from django.core.exceptions import ValidationError
    from django.core.validators import MaxValueValidator, MinValueValidator

    from articles.services.fixtures.reading import _quick

    for validator in (MinValueValidator(-(2**31)), MaxValueValidator(2**31 - 1), MinValueValidator(0)):
        try:
            validator(value)
            accepted = True
        except ValidationError:
            accepted = False
        if accepted:
            _quick(validator)(value)
        else:
            with pytest.raises(ValidationError):
                _quick(validator)(value)
