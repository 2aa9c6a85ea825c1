"""A first load of an archive into an empty database is streamed (read, validated and copied chunk by chunk) on
PostgreSQL, and writes exactly what the careful path writes; when anything is wrong it gives way to the careful
path, which names every problem, and nothing is written. On SQLite every load takes the careful path."""

import functools
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
import yaml
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from rest_framework.test import APIClient

from articles import search_schema
from articles.models import (
    Alias,
    Article,
    Company,
    CompanyCounts,
    CompanyEvent,
    Event,
    EventParticipant,
    Figure,
    FixtureFile,
    FixtureRecord,
    Person,
    PersonCounts,
)
from articles.services import fixtures
from articles.services.companies import company_save
from articles.services.fixtures import FixtureError, first_load, fixtures_load, parallel, writing

from .base import FIXTURES_DIR, synthetic_data_set, token_client, write_synthetic_article

pytestmark = pytest.mark.django_db

STREAMED = connection.vendor == "postgresql"
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
        result[f"history {model.__name__}"] = rows(model.history.all(), model.history.model)
        result[f"history users {model.__name__}"] = sorted(
            model.history.values_list("history_user__username", "history_change_reason", "history_type")
        )
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
    result["figure companies"] = sorted(map(repr, Figure.objects.values_list("article__slug", "key", "company__slug")))
    result["aliases"] = sorted(
        map(repr, Alias.objects.values_list("company__slug", "person__slug", "name", "garbled", "note"))
    )
    result["parents"] = sorted(map(repr, Company.objects.values_list("slug", "parent__slug")))
    result["affiliations"] = sorted(map(repr, Person.objects.values_list("slug", "affiliation__slug")))
    result["publishers"] = sorted(map(repr, Article.objects.values_list("slug", "publisher__slug")))
    # The counts the lists show: kept row by row by triggers on the careful path, counted once by the streamed one.
    result["company counts"] = sorted(
        CompanyCounts.objects.values_list("company__slug", "article_count", "event_count", "figure_count")
    )
    result["person counts"] = sorted(PersonCounts.objects.values_list("person__slug", "article_count", "event_count"))
    result["company events"] = sorted(
        CompanyEvent.objects.values_list("event__article__slug", "event__key", "company__slug", "date")
    )
    if connection.vendor == "postgresql":  # the search documents, written by triggers as the rows are copied
        with connection.cursor() as cursor:
            for name, sql in SEARCH_DOCUMENTS.items():
                cursor.execute(sql)
                result[f"search {name}"] = sorted(cursor.fetchall())
    return result


SEARCH_DOCUMENTS = {
    "companies": "SELECT slug, search_document::text FROM articles_company",
    "people": "SELECT slug, search_document::text FROM articles_person",
    "articles": "SELECT slug, search_document::text FROM articles_article",
    "events": "SELECT a.slug, e.key, e.search_document::text FROM articles_event e "
    "JOIN articles_article a ON a.id = e.article_id",
    "figures": "SELECT a.slug, f.key, f.search_document::text FROM articles_figure f "
    "JOIN articles_article a ON a.id = f.article_id",
    # Each figure's copy of its article's date (articles/figure_order.py): the trigger's on the careful path, copied
    # with the figure by the streamed one.
    "figure dates": "SELECT a.slug, f.key, f.article_published_on::text, a.published_on::text "
    "FROM articles_figure f JOIN articles_article a ON a.id = f.article_id",
}


# Tabs, line breaks and backslashes in the bodies: what COPY must escape.
BODY = "Acme made $ {million} million in March.\tAcme was founded in 2013.\r\nA back\\slash."


def write_article(folder: Path, n: int, **changes) -> Path:
    return write_synthetic_article(folder, n, body=BODY, **changes)


def synthetic(folder: Path, articles: int) -> Path:
    return synthetic_data_set(folder, articles, body=BODY)


@pytest.fixture
def streamed(monkeypatch):
    """Stream even a handful of files, three to a chunk, on two workers; count the streamed loads."""
    monkeypatch.setattr(parallel, "PARALLEL_MIN_FILES", 1)
    monkeypatch.setattr(parallel, "CHUNK_FILES", 3)
    monkeypatch.setattr(parallel, "workers_count", lambda: 2)
    runs = {"streamed": 0, "fell back": 0}
    real = first_load.first_load

    def counting(*args, **kwargs):
        try:
            report = real(*args, **kwargs)
        except first_load.Fallback:
            runs["fell back"] += 1
            raise
        runs["streamed"] += 1
        return report

    monkeypatch.setattr(first_load, "first_load", counting)
    return runs


def careful_snapshot(folder: Path, monkeypatch) -> dict:
    """What the careful path writes for ``folder`` into an empty database; the database is emptied again after."""
    with monkeypatch.context() as patch:
        patch.setattr(first_load, "applies", lambda files: False)
        fixtures_load(paths=[folder])
    result = snapshot()
    empty()
    return result


def empty() -> None:
    for model in (EventParticipant, Alias, Figure, Event, Article, Person, Company, FixtureFile, FixtureRecord):
        model.objects.all().delete()
        if model in RECORD_MODELS:
            model.history.all().delete()
    Article.companies.through.objects.all().delete()
    Article.people.through.objects.all().delete()


def test_a_streamed_first_load_writes_what_the_careful_path_writes(tmp_path, monkeypatch, streamed):
    folder = tmp_path / "set"
    shutil.copytree(FIXTURES_DIR, folder)
    for n in range(7):  # the files sort before companies.yaml: what they name is defined after them
        write_article(folder, n)
    (folder / "zz-acme.yaml").write_text(  # after the articles that name it
        "companies:\n- slug: acme\n  name: Acme\n"
        "  aliases: [ACME Corp, {name: \"Acme\\tInc\", garbled: true, note: 'a \\\\ b'}]\n",
        encoding="utf-8",
    )
    careful = careful_snapshot(folder, monkeypatch)

    report = fixtures_load(paths=[folder])

    assert streamed == ({"streamed": 1, "fell back": 0} if STREAMED else {"streamed": 0, "fell back": 0})
    assert snapshot() == careful
    if STREAMED:
        dates = careful["search figure dates"]
        assert len(dates) == Figure.objects.count() and all(copy == date for *_, copy, date in dates)
    # Each of the seven synthetic articles names acme, with one event and one figure about it.
    assert ("acme", 7, 7, 7) in careful["company counts"]
    assert len([row for row in careful["company events"] if row[2] == "acme"]) == 7
    assert report.counts["articles"].created == Article.objects.count() > 7
    assert report.counts["figures"].created == Figure.objects.count()
    again = fixtures_load(paths=[folder], full=True)  # the bookkeeping is the careful path's: nothing to do
    assert (again.created, again.updated, again.kept) == (0, 0, 0)
    assert again.counts["articles"].unchanged == Article.objects.count()


def acme_after_the_articles(folder: Path) -> Path:
    """Seven synthetic articles naming acme, which a file sorting after them defines."""
    folder.mkdir()
    for n in range(7):
        write_article(folder, n)
    (folder / "zz-acme.yaml").write_text("companies:\n- slug: acme\n  name: Acme Mining\n", encoding="utf-8")
    return folder


@pytest.mark.skipif(not STREAMED, reason="the streamed load runs on PostgreSQL only")
def test_the_files_that_define_companies_are_read_first_so_figures_find_their_company(tmp_path, monkeypatch, streamed):
    folder = acme_after_the_articles(tmp_path / "set")
    careful = careful_snapshot(folder, monkeypatch)
    copied = []
    real = first_load.Streamer.take
    monkeypatch.setattr(first_load.Streamer, "take", lambda self, rows: copied.append(rows) or real(self, rows))

    fixtures_load(paths=[folder])

    assert streamed == {"streamed": 1, "fell back": 0}
    assert copied[0].companies[0][0] == "acme"  # zz-acme.yaml came first
    assert snapshot() == careful
    assert Figure.objects.filter(company__slug="acme").count() == 7
    found = search_figures("mining")
    assert len(found) == 7  # the company's name is in each of its figures' documents


@pytest.mark.skipif(not STREAMED, reason="the streamed load runs on PostgreSQL only")
def test_a_figure_copied_before_its_company_gets_its_document_written_again(tmp_path, monkeypatch, streamed):
    folder = acme_after_the_articles(tmp_path / "set")
    careful = careful_snapshot(folder, monkeypatch)
    monkeypatch.setattr(first_load, "defines_companies", lambda name: False)  # the look misses zz-acme.yaml
    monkeypatch.setattr(first_load, "FLUSH_BYTES", 1)  # each chunk copied at once: the figures before acme
    reindexed = []
    real = search_schema.pg_figures_reindex
    monkeypatch.setattr(
        search_schema, "pg_figures_reindex", lambda c, ids: reindexed.append(real(c, ids)) or reindexed[-1]
    )

    fixtures_load(paths=[folder])

    assert streamed == {"streamed": 1, "fell back": 0}
    # Six of acme's seven figures came in chunks before zz-acme.yaml's; the seventh shares its chunk, after acme.
    assert reindexed == [6]
    assert snapshot() == careful
    assert len(search_figures("mining")) == 7


def search_figures(word: str) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM articles_figure WHERE search_document @@ to_tsquery('newsdb_search', %s)", [word]
        )
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("companies.yaml", "companies:\n- slug: acme\n", True),
        ("c.yaml", "# the makers\n'companies' :\n- slug: acme\n", True),
        ("a.yaml", "article:\n  slug: a\n  companies: [acme]\nfigures: []\n", False),
        ("flow.yaml", "{companies: [{slug: acme}]}", True),
        ("people.yaml", "people:\n- slug: jihan-wu\n", False),
        ("c.json", '{"companies": [{"slug": "acme"}]}', True),
        ("a.json", '{"article": {"slug": "a", "companies": ["acme"]}}', False),
        ("broken.json", '{"companies": [', True),
        ("bom.yaml", "\ufeffcompanies:\n- slug: acme\n", True),
        ("crlf.yaml", "# the makers\r\ncompanies:\r\n- slug: acme\r\n", True),
        ("indented.yaml", "  companies:\n  - slug: acme\n", False),  # missed: the late rewrite covers it
    ],
)
def test_which_files_may_define_companies(tmp_path, name, text, expected):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert first_load.defines_companies(str(path)) is expected


def test_files_that_define_companies_come_first_and_each_group_keeps_its_order(tmp_path, monkeypatch):
    monkeypatch.setattr(parallel, "workers_count", lambda: 2)
    monkeypatch.setattr(parallel, "CHUNK_FILES", 1)
    names = ["a.yaml", "b.yaml", "m.yaml", "n.yaml", "z.yaml"]
    for name in names:
        (tmp_path / name).write_text("companies:\n- slug: x\n" if name in ("m.yaml", "z.yaml") else "article: {}\n")
    ordered = first_load.definitions_first([tmp_path / name for name in names])
    assert [path.name for path in ordered] == ["m.yaml", "z.yaml", "a.yaml", "b.yaml", "n.yaml"]


def test_new_ids_come_from_the_sequences_so_later_rows_follow_on(tmp_path, streamed):
    fixtures_load(paths=[synthetic(tmp_path / "set", 5)])
    figure = Figure.objects.select_related("article", "company").get(article__slug="a3")
    assert (figure.company.slug, figure.version, figure.status) == ("acme", 1, "reported")
    entry = figure.history.get()
    assert (entry.history_type, entry.history_user.username, entry.history_change_reason, entry.lists) == (
        "+",
        "load_fixtures",
        "load_fixtures",
        None,
    )
    later = Company.objects.create(slug="later", name="Later")
    assert later.pk > Company.objects.get(slug="acme").pk
    assert FixtureFile.objects.count() == 6


@pytest.mark.parametrize(
    "spoil, expected",
    [
        (lambda folder: write_article(folder, 4, figures={"company": "nobody"}), "unknown company 'nobody'"),
        (lambda folder: write_article(folder, 4, article={"slug": "a1"}), "is defined twice (also in"),
        (lambda folder: write_article(folder, 2, figures={"value": 31}), "figure 'march'"),
        (
            lambda folder: (folder / "companies.yaml").write_text(
                yaml.safe_dump(
                    {
                        "companies": [
                            {"slug": "acme", "name": "Acme", "parent": "sub"},
                            {"slug": "sub", "name": "Sub", "parent": "acme"},
                        ]
                    }
                ),
                encoding="utf-8",
            ),
            "that parent would make a cycle",
        ),
    ],
    ids=["unknown company", "defined twice", "invalid figure", "parent cycle"],
)
def test_anything_wrong_gives_way_to_the_careful_path_which_names_it(tmp_path, streamed, spoil, expected):
    folder = synthetic(tmp_path / "set", 8)
    spoil(folder)

    with pytest.raises(FixtureError) as caught:
        fixtures_load(paths=[folder])

    assert any(expected in str(p) for p in caught.value.problems), caught.value.problems
    assert all(not model.objects.exists() for model in MODELS)
    assert all(not model.history.exists() for model in RECORD_MODELS)
    assert streamed["streamed"] == 0


def spoiled(folder: Path) -> Path:
    """Problems of each kind: in a file (a figure's value that is not its quote's) and across files (a company no
    file defines, a slug defined twice)."""
    write_article(folder, 2, figures={"value": 31})
    write_article(folder, 4, figures={"company": "nobody"})
    write_article(folder, 6, article={"slug": "a1"})
    return folder


def problems_of(read: Callable[[], object]) -> list[str]:
    with pytest.raises(FixtureError) as caught:
        read()
    return [str(p) for p in caught.value.problems]


def test_a_slim_read_finds_every_problem_a_full_read_finds(tmp_path, monkeypatch):
    """``read_dataset(slim=True)`` keeps the articles', events' and figures' records without their instances (their
    bodies and quotes stay in the workers); the checks across files find the same problems, in the same order."""
    monkeypatch.setattr(parallel, "PARALLEL_MIN_FILES", 1)
    monkeypatch.setattr(parallel, "CHUNK_FILES", 3)
    folder = spoiled(synthetic(tmp_path / "set", 8))
    files = sorted(folder.glob("*.yaml"))
    for workers in (1, 2):  # read in this process, and by a pool
        full = parallel.read_dataset(files, workers=workers)
        slim = parallel.read_dataset(files, workers=workers, slim=True)
        assert [str(p) for p in slim.problems] == [str(p) for p in full.problems] != []
        for registry in ("articles", "events", "figures"):
            kept, slimmed = getattr(full, registry), getattr(slim, registry)
            assert list(slimmed) == list(kept) != []
            assert all(item.instance is None for item in slimmed.values())
            assert [(i.source, i.record, i.refs) for i in slimmed.values()] == [
                (i.source, i.record, i.refs) for i in kept.values()
            ]
        assert [i.instance.slug for i in slim.companies.values()] == list(full.companies)
        assert problems_of(functools.partial(fixtures._checked, slim)) == problems_of(
            functools.partial(fixtures._checked, full)
        )


@pytest.mark.skipif(not STREAMED, reason="the streamed load runs on PostgreSQL only")
def test_a_problem_in_a_file_is_named_with_every_other_from_a_slim_read(tmp_path, monkeypatch, streamed):
    """The streamed load meets a problem in a file, so the load fails whatever else happens: the careful path names
    every problem, as it would have, from a slim read only (a failed first load of the 100k set held 1.37 GB)."""
    folder = spoiled(synthetic(tmp_path / "set", 8))
    with monkeypatch.context() as patch:
        patch.setattr(first_load, "applies", lambda files: False)
        expected = problems_of(lambda: fixtures_load(paths=[folder]))
    reads = reads_recorded(monkeypatch)
    assert problems_of(lambda: fixtures_load(paths=[folder])) == expected
    assert [p.split("/set/")[1].split(":")[0:2] for p in expected] == [
        ["a002.yaml", " figure 'march'"],
        ["a006.yaml", " article 'a1'"],
        ["a006.yaml", " event 'founded'"],
        ["a006.yaml", " figure 'march'"],
        ["a004.yaml", " figure 'march'"],
    ]
    assert "reads as 3000000, not 31" in expected[0] and "unknown company 'nobody'" in expected[-1]
    assert (streamed["fell back"], reads) == (1, [True])
    assert all(not model.objects.exists() for model in MODELS)


def reads_recorded(monkeypatch, before_slim_checks: Callable[[], object] = lambda: None) -> list[bool]:
    """Each ``read_dataset`` of a load: True for a slim one (after which ``before_slim_checks`` runs)."""
    reads = []
    real = fixtures.read_dataset

    def reading(files, **kwargs):
        reads.append(kwargs.get("slim", False))
        data = real(files, **kwargs)
        if kwargs.get("slim"):
            before_slim_checks()
        return data

    monkeypatch.setattr(fixtures, "read_dataset", reading)
    return reads


@pytest.mark.skipif(not STREAMED, reason="the streamed load runs on PostgreSQL only")
@pytest.mark.parametrize(
    "spoil",
    [
        lambda folder: write_article(folder, 6, article={"slug": "a1"}),
        lambda folder: write_article(folder, 4, figures={"company": "nobody"}),
    ],
    ids=["a slug defined twice", "an unknown company"],
)
def test_problems_across_files_are_named_from_a_slim_read_too(tmp_path, monkeypatch, streamed, spoil):
    folder = synthetic(tmp_path / "set", 8)
    spoil(folder)
    reads = reads_recorded(monkeypatch)
    assert problems_of(lambda: fixtures_load(paths=[folder]))
    assert (streamed["fell back"], reads) == (1, [True])


@pytest.mark.skipif(not STREAMED, reason="the streamed load runs on PostgreSQL only")
def test_a_company_added_meanwhile_lets_the_careful_path_load_after_the_slim_read(tmp_path, monkeypatch, streamed):
    """The streamed load gives way for a company no file defines; an editor adds it before the careful path checks
    the references: the slim read finds nothing wrong, so everything is read in full and loaded."""
    folder = synthetic(tmp_path / "set", 8)
    write_article(folder, 4, figures={"company": "nobody"})
    reads = reads_recorded(monkeypatch, lambda: Company.objects.create(slug="nobody", name="Nobody"))
    report = fixtures_load(paths=[folder])
    assert (streamed["fell back"], reads) == (1, [True, False])
    assert report.counts["articles"].created == 8
    assert Figure.objects.filter(company__slug="nobody").count() == 1


def test_a_failure_while_streaming_leaves_nothing_behind(tmp_path, monkeypatch, streamed):
    folder = synthetic(tmp_path / "set", 5)

    def fail(*args):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(first_load.Streamer, "finish", fail)
    monkeypatch.setattr(writing.Writer, "write_bookkeeping", fail)
    with pytest.raises(RuntimeError):
        fixtures_load(paths=[folder])
    assert all(not model.objects.exists() for model in MODELS)
    assert all(not model.history.exists() for model in RECORD_MODELS)


def test_a_streamed_dry_run_writes_nothing(tmp_path, streamed):
    report = fixtures_load(paths=[synthetic(tmp_path / "set", 5)], dry_run=True)
    assert (report.counts["articles"].created, report.counts["companies"].created) == (5, 1)
    assert all(not model.objects.exists() for model in MODELS)


def test_a_database_that_holds_records_takes_the_careful_path(tmp_path, streamed):
    Company.objects.create(slug="acme", name="Acme (an editor's)")
    report = fixtures_load(paths=[synthetic(tmp_path / "set", 4)])
    assert streamed == {"streamed": 0, "fell back": 0}
    [kept] = report.kept_records
    assert (kept.model, kept.key, kept.fields) == ("company", "acme", ("name", "aliases"))
    assert report.counts["articles"].created == 4


def test_copy_text_escapes_what_copy_would_misread():
    assert first_load._copy_text("a\tb\nc\\d\re") == "a\\tb\\nc\\\\d\\re"
    assert first_load._copy_text(None) == "\\N"
    assert first_load._copy_text(["x\ty"], is_json=True) == '["x\\\\ty"]'


@pytest.mark.skipif(not STREAMED, reason="the indexes and foreign keys are PostgreSQL's")
def test_a_streamed_load_puts_back_every_index_foreign_key_and_trigger_it_set_aside(tmp_path, streamed):
    def schema() -> tuple[list, list, list]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()")
            indexes = sorted(cursor.fetchall())
            cursor.execute(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE connamespace = current_schema()::regnamespace"
            )
            constraints = sorted(cursor.fetchall())
            cursor.execute("SELECT tgrelid::regclass::text, tgname, tgenabled FROM pg_trigger WHERE NOT tgisinternal")
            return indexes, constraints, sorted(cursor.fetchall())

    before = schema()
    fixtures_load(paths=[synthetic(tmp_path / "set", 4)])
    assert streamed["streamed"] == 1
    assert schema() == before
    assert any("figure_company_metric" in name for name, _definition in before[0])
    assert ("articles_alias", "articles_alias_search", "O") in before[2]  # switched off while copying, and back on
    acme = Company.objects.get(slug="acme")
    acme.aliases.create(name="Roadrunner Works")  # the trigger writes acme's document again
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT slug FROM articles_company WHERE search_document @@ to_tsquery('newsdb_search', 'roadrunner')"
        )
        assert cursor.fetchall() == [("acme",)]


@pytest.mark.skipif(not STREAMED, reason="the planner's statistics are PostgreSQL's")
@pytest.mark.parametrize("dry_run", [False, True], ids=["load", "dry-run"])
def test_a_streamed_load_leaves_the_planners_statistics_of_what_it_wrote(tmp_path, streamed, dry_run):
    """Without them PostgreSQL plans for empty tables until autovacuum analyses them (never, where it is off): at
    100k articles ``figures?metric=market_share&value__gte=50`` took 244 ms after a load, 7.6 ms analysed."""
    token = f"t{uuid.uuid4().hex[:12]}"  # in no statistics gathered before this test
    folder = tmp_path / "set"
    folder.mkdir()
    for n in range(6):
        write_article(folder, n, article={"title": f"{token} {n}"}, events={"title": f"{token} event"})
    (folder / "companies.yaml").write_text("companies:\n- slug: acme\n  name: Acme\n", encoding="utf-8")

    fixtures_load(paths=[folder], dry_run=dry_run)

    assert streamed["streamed"] == 1
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename, attname FROM pg_stats WHERE schemaname = current_schema() AND attname = 'title'"
            " AND concat(most_common_vals::text, histogram_bounds::text) LIKE %s",
            [f"%{token}%"],
        )
        analysed = sorted(cursor.fetchall())
    expected = ["articles_article", "articles_event", "articles_historicalarticle", "articles_historicalevent"]
    assert analysed == ([] if dry_run else [(table, "title") for table in expected])


def test_a_tail_is_each_value_as_copy_text():
    import datetime
    from decimal import Decimal

    from articles.choices import Unit

    values = {
        "text": "a\tb",
        "choice": Unit.USD,
        "none": None,
        "json": ["x\ty"],
        "number": 7,
        "flag": False,
        "amount": Decimal("1.500000"),
        "day": datetime.date(2019, 8, 1),
    }
    tail = tuple((name, name == "json") for name in values)
    expected = "\t".join(first_load._copy_text(value, name == "json") for name, value in values.items())
    assert first_load._tail(values, tail) == expected.encode()
    assert expected == 'a\\tb\tUSD\t\\N\t["x\\\\ty"]\t7\tf\t1.500000\t2019-08-01'


# --- An editor writing while a streamed first load runs (PostgreSQL: two connections, two threads) ---------------
#
# The load stays in the test's thread (its reading workers fork from it); the editor has a thread and a connection of
# its own. Which backend waits for which is read from pg_blocking_pids on a connection of the test's own, in
# autocommit: it is live (pg_stat_activity would be a snapshot taken once per transaction).

REASON = "Seen in the news"


def watcher() -> psycopg.Connection:
    """A connection of the test's own to the test database, to look at the locks."""
    return psycopg.connect(**connection.get_connection_params(), autocommit=True)


def blocked_by(watch: psycopg.Connection, waiter: int, holder: int) -> bool:
    """Whether backend ``waiter`` is waiting for a lock backend ``holder`` holds (or is queued ahead for)."""
    return watch.execute("SELECT %s = ANY(pg_blocking_pids(%s))", [holder, waiter]).fetchone()[0]


def comes_to_wait(watch: psycopg.Connection, waiter: int, holder: int) -> bool:
    """Whether backend ``waiter`` comes to wait for ``holder`` within 30 s (polled)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if blocked_by(watch, waiter, holder):
            return True
        time.sleep(0.02)
    return False


def lock_awaited(watch: psycopg.Connection, pid: int) -> list[tuple[str, str]]:
    """The table and the mode backend ``pid`` waits for."""
    return watch.execute(
        "SELECT relation::regclass::text, mode FROM pg_locks WHERE pid = %s AND NOT granted", [pid]
    ).fetchall()


def backend_pid() -> int:
    """This thread's connection's backend (connecting first)."""
    connection.ensure_connection()
    return connection.connection.info.backend_pid


def interleaved(test):
    """A test of an editor and a streamed load at once: PostgreSQL only, on a transactional database (the second
    connection sees only what the first commits)."""
    on_postgresql = pytest.mark.skipif(not STREAMED, reason="the streamed load runs on PostgreSQL only")
    return on_postgresql(pytest.mark.django_db(transaction=True)(test))


@pytest.fixture
def editor_user(transactional_db) -> User:
    # A superuser: a transactional test's flush takes the editors group (made by a migration) away.
    return User.objects.create_superuser("streamed-editor", "e@example.org", "x")


def creating(via: str, editor: User, data: dict) -> Callable[[], object]:
    """An editor creating a company with ``data``: through the API (returns the response) or through
    ``company_save`` (returns the company, or the ValidationError)."""
    if via == "api":
        client = token_client(editor)
        return lambda: client.post("/api/companies/", {**data, "change_reason": REASON}, format="json")

    def save() -> object:
        try:
            return company_save(data=data, user=editor, reason=REASON)
        except ValidationError as error:
            return error

    return save


def load_with_an_editor_coming_in(folder: Path, monkeypatch, action: Callable[[], object]) -> tuple[object, dict]:
    """Stream ``folder`` in; once its first chunk is copied, ``action`` runs as an editor (in a thread, on a
    connection of its own), and the load goes on only once the editor's backend waits for a lock the load holds.
    Returns what ``action`` returned and what the test saw: after each chunk, whether the editor was waiting for the
    load (with nothing returned yet), and the lock it waited for."""
    seen: dict = {"waiting": [], "lock": None}
    outcomes: list = []
    editor_pid: list[int] = []
    started = threading.Event()
    watch = watcher()

    def run() -> None:
        try:
            editor_pid.append(backend_pid())
            started.set()
            outcomes.append(action())
        finally:
            connection.close()

    editor = threading.Thread(target=run)
    real = first_load.Streamer.take

    def take(self, rows) -> None:
        real(self, rows)
        load_pid = backend_pid()
        if not seen["waiting"]:  # the first chunk is copied: the editor comes in
            editor.start()
            assert started.wait(30)
            waiting = comes_to_wait(watch, editor_pid[0], load_pid)
            seen["lock"] = lock_awaited(watch, editor_pid[0])
        else:
            waiting = blocked_by(watch, editor_pid[0], load_pid)
        seen["waiting"].append(waiting and not outcomes)

    monkeypatch.setattr(first_load.Streamer, "take", take)
    try:
        fixtures_load(paths=[folder])
    finally:
        if editor.ident is not None:
            editor.join(30)
        watch.close()
    assert not editor.is_alive(), "the editor's write did not finish"
    [outcome] = outcomes
    return outcome, seen


def load_once_an_editor_began(
    folder: Path, editor: Callable[[psycopg.Connection, int, threading.Event], None]
) -> tuple[object, list[BaseException]]:
    """``editor(watch, load_pid, began)`` runs in a thread, on a connection of its own, and sets ``began`` once its
    transaction holds what it means to hold; then ``folder`` is loaded in this thread. Returns the load's report and
    what the editor raised."""
    load_pid = backend_pid()
    began = threading.Event()
    errors: list[BaseException] = []
    watch = watcher()

    def run() -> None:
        try:
            editor(watch, load_pid, began)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            errors.append(exc)
            began.set()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert began.wait(30)
        report = fixtures_load(paths=[folder])
    finally:
        thread.join(30)
        watch.close()
    assert not thread.is_alive(), "the editor did not finish"
    return report, errors


def assert_everything_loaded(articles: int) -> None:
    """The synthetic set of ``articles`` articles is all there: each with its event and its figure about acme,
    counted."""
    assert (Article.objects.count(), Event.objects.count(), Figure.objects.count()) == (articles,) * 3
    assert Figure.objects.filter(company__slug="acme").count() == articles
    assert FixtureFile.objects.count() == articles + 1  # and companies.yaml
    assert FixtureRecord.objects.count() == 3 * articles + 1
    counts = CompanyCounts.objects.filter(company__slug="acme")
    assert counts.values_list("article_count", "event_count", "figure_count").get() == (articles,) * 3


@interleaved
@pytest.mark.parametrize("via", ["api", "service"])
def test_an_editor_creating_a_company_during_a_streamed_load_waits_for_it_then_gets_it(
    tmp_path, monkeypatch, streamed, editor_user, via
):
    folder = synthetic(tmp_path / "set", 8)
    data = {"slug": "hashco", "name": "Hashtopia Mining", "kind": "miner"}

    outcome, seen = load_with_an_editor_coming_in(folder, monkeypatch, creating(via, editor_user, data))

    assert streamed == {"streamed": 1, "fell back": 0}
    assert seen["waiting"] == [True, True, True]  # after each of the three chunks, with nothing written yet
    # Both wait at their first read of the companies (is the slug taken?); a request is signed in before that (the
    # load leaves the users alone: test_a_signed_in_request_that_reads_no_loaded_table_is_answered_during_the_load).
    assert seen["lock"] == [("articles_company", "AccessShareLock")]
    hashco = Company.objects.get(slug="hashco")
    if via == "api":
        assert outcome.status_code == 201, outcome.content
        assert outcome.json()["id"] == hashco.pk
    else:
        assert outcome == hashco
    assert (hashco.name, hashco.kind, hashco.version) == ("Hashtopia Mining", "miner", 1)
    entries = hashco.history.values_list("history_type", "history_user__username", "history_change_reason")
    assert list(entries) == [("+", "streamed-editor", REASON)]
    counts = CompanyCounts.objects.filter(company=hashco)
    assert counts.values_list("article_count", "event_count", "figure_count").get() == (0, 0, 0)
    anyone = APIClient()
    shown = anyone.get("/api/companies/hashco/")
    assert shown.status_code == 200
    assert (shown.json()["name"], shown.json()["figure_count"]) == ("Hashtopia Mining", 0)
    found = anyone.get("/api/search/", {"q": "Hashtopia", "type": "company"}).json()["results"]
    assert [(result["type"], result["slug"]) for result in found] == [("company", "hashco")]
    assert_everything_loaded(8)
    assert sorted(Company.objects.values_list("slug", flat=True)) == ["acme", "hashco"]


@interleaved
@pytest.mark.parametrize("via", ["api", "service"])
def test_an_editor_creating_a_company_the_streamed_load_defines_is_told_the_slug_is_taken(
    tmp_path, monkeypatch, streamed, editor_user, via
):
    folder = synthetic(tmp_path / "set", 8)
    data = {"slug": "acme", "name": "Acme (an editor's)"}

    outcome, seen = load_with_an_editor_coming_in(folder, monkeypatch, creating(via, editor_user, data))

    assert streamed == {"streamed": 1, "fell back": 0}
    assert seen["waiting"] == [True, True, True]
    if via == "api":
        assert outcome.status_code == 400, outcome.content
        assert outcome.json() == {"slug": ["company with this slug already exists."]}
    else:
        assert isinstance(outcome, ValidationError)
        assert outcome.message_dict == {"slug": ["Company with this Slug already exists."]}
    acme = Company.objects.get(slug="acme")
    assert (acme.name, acme.version) == ("Acme", 1)
    entries = acme.history.values_list("history_type", "history_user__username", "history_change_reason")
    assert list(entries) == [("+", "load_fixtures", "load_fixtures")]
    assert_everything_loaded(8)
    assert list(Company.objects.values_list("slug", flat=True)) == ["acme"]


@interleaved
def test_a_load_that_waits_for_an_editors_new_company_gives_way_to_the_careful_path(tmp_path, streamed, editor_user):
    folder = synthetic(tmp_path / "set", 8)
    seen: dict = {}

    def editor_writes(watch: psycopg.Connection, load_pid: int, began: threading.Event) -> None:
        """A new company, uncommitted until the load is seen waiting for it."""
        with transaction.atomic():
            company_save(data={"slug": "hashco", "name": "Hashtopia Mining"}, user=editor_user, reason=REASON)
            began.set()
            seen["load waited"] = comes_to_wait(watch, load_pid, backend_pid())
            seen["lock"] = lock_awaited(watch, load_pid)

    report, errors = load_once_an_editor_began(folder, editor_writes)

    assert not errors, errors
    assert seen == {"load waited": True, "lock": [("articles_company", "AccessExclusiveLock")]}
    assert streamed == {"streamed": 0, "fell back": 1}
    assert (report.counts["articles"].created, report.counts["companies"].created) == (8, 1)
    assert_everything_loaded(8)
    hashco = Company.objects.get(slug="hashco")
    entries = hashco.history.values_list("history_type", "history_user__username", "history_change_reason")
    assert list(entries) == [("+", "streamed-editor", REASON)]
    assert not FixtureRecord.objects.filter(model="company", key="hashco").exists()
    acme = Company.objects.get(slug="acme")
    assert list(acme.history.values_list("history_type", "history_user__username")) == [("+", "load_fixtures")]


@pytest.mark.skipif(not STREAMED, reason="the streamed load runs on PostgreSQL only")
@pytest.mark.parametrize("order", ["companies read first", "company copied after its figures"])
def test_after_a_streamed_load_the_search_finds_a_companys_figures_by_its_name(tmp_path, monkeypatch, streamed, order):
    folder = synthetic(tmp_path / "set", 5)
    # A name found nowhere else in the figures (their quotes say "Acme"): only the company's name can match.
    companies = {"companies": [{"slug": "acme", "name": "Acme Roadrunner", "aliases": ["ACME Corp"]}]}
    (folder / "companies.yaml").write_text(yaml.safe_dump(companies), encoding="utf-8")
    if order == "company copied after its figures":
        monkeypatch.setattr(first_load, "defines_companies", lambda name: False)  # companies.yaml read last
        monkeypatch.setattr(first_load, "FLUSH_BYTES", 1)  # each chunk copied at once

    fixtures_load(paths=[folder])

    assert streamed == {"streamed": 1, "fell back": 0}
    reply = APIClient().get("/api/search/", {"q": "Acme Roadrunner", "type": "figure"})
    assert reply.status_code == 200, reply.content
    found = reply.json()
    acmes = Figure.objects.filter(company__slug="acme").values_list("pk", flat=True)
    assert found["count"] == len(acmes) == 5
    assert sorted(result["id"] for result in found["results"]) == sorted(acmes)
    assert {result["type"] for result in found["results"]} == {"figure"}
    assert all(result["title"].startswith("Acme Roadrunner: ") for result in found["results"]), found["results"]


@interleaved
def test_an_editor_who_read_before_the_load_and_writes_after_it_began_is_not_deadlocked(
    tmp_path, streamed, editor_user
):
    """The load locks every table it writes outright before anything else. When it took a weaker lock first and
    dropped the indexes after, an editor's transaction that had read the companies and then wrote one deadlocked
    with it (the load waiting for the editor's read, the editor for the load's lock): PostgreSQL cancelled one."""
    folder = synthetic(tmp_path / "set", 8)
    seen: dict = {}

    def editor(watch: psycopg.Connection, load_pid: int, began: threading.Event) -> None:
        with transaction.atomic():
            seen["taken before"] = Company.objects.filter(slug="hashco").exists()  # the editor's form reads
            began.set()
            seen["load waited"] = comes_to_wait(watch, load_pid, backend_pid())
            company_save(data={"slug": "hashco", "name": "Hashtopia Mining"}, user=editor_user, reason=REASON)

    _report, errors = load_once_an_editor_began(folder, editor)

    assert not errors, errors
    assert seen == {"taken before": False, "load waited": True}
    assert streamed == {"streamed": 0, "fell back": 1}  # the editor's company came first: the careful path
    assert_everything_loaded(8)
    hashco = Company.objects.get(slug="hashco")
    assert list(hashco.history.values_list("history_type", "history_user__username")) == [("+", "streamed-editor")]


@interleaved
def test_a_signed_in_request_that_reads_no_loaded_table_is_answered_during_the_load(
    tmp_path, monkeypatch, streamed, editor_user
):
    """The load keeps the foreign keys of its history entries to the users: dropping one locks the users' table
    until the load commits, and every signed-in request (the admin's, a token's) would wait for the whole load."""
    folder = synthetic(tmp_path / "set", 8)
    client = token_client(editor_user)
    answers: dict = {}
    real = first_load.Streamer.take

    def take(self, rows) -> None:
        real(self, rows)
        if answers:
            return

        def ask() -> None:
            try:
                answers["reply"] = client.get("/api/")
            finally:
                connection.close()

        asking = threading.Thread(target=ask)
        asking.start()
        asking.join(20)
        answers["when"] = "still waiting after 20 s" if asking.is_alive() else "answered during the load"

    monkeypatch.setattr(first_load.Streamer, "take", take)
    fixtures_load(paths=[folder])

    assert streamed == {"streamed": 1, "fell back": 0}
    assert answers["when"] == "answered during the load"
    reply = answers["reply"]
    assert reply.status_code == 200, reply.content
    assert reply.wsgi_request.user == editor_user
    assert_everything_loaded(8)
