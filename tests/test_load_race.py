"""``load_fixtures`` never loses an editor's work, also when the editor saves while a load is running.

``fixtures_load(after_read=...)`` runs the editor's save between the load's plan and its write transaction:
on PostgreSQL from a second connection (a thread), on SQLite in the same thread (its IMMEDIATE write
transactions serialise the writers). The load must notice the moved version under its lock, keep the
editor's version and report the record as a conflict by file, key and field.
"""

import shutil
import threading
from decimal import Decimal
from io import StringIO
from pathlib import Path
from unittest import mock

import pytest
import yaml
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from articles.models import Article, Company, Event, Figure, FixtureFile, FixtureRecord, Person
from articles.services.companies import company_save
from articles.services.figures import figure_save
from articles.services.fixtures import LOAD_LOCK, LoadBusyError, fixtures_load, parallel

from .conftest import FIXTURES_DIR

pytestmark = pytest.mark.django_db(transaction=True)

ARTICLE = "bitmain-q1-2019-loss"
KEY = "q1-2019-net-loss"
RECORD_MODELS = (Company, Person, Article, Event, Figure)
EDITOR_NOTE = "The filing says $310 million exactly; checked against the QQ report."
EDITOR_VALUE = Decimal("310500000")


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data) -> bool:
        return True


@pytest.fixture
def folder(tmp_path) -> Path:
    target = tmp_path / "fixtures"
    shutil.copytree(FIXTURES_DIR, target)
    return target


@pytest.fixture
def editor(db) -> User:
    return User.objects.create_user("editor")


def article_file(folder: Path) -> Path:
    return folder / "articles" / f"{ARTICLE}.yaml"


def change_the_figure_upstream(folder: Path) -> None:
    """The fixture's figure changes: a new period label and note."""
    path = article_file(folder)
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    record = next(f for f in doc["figures"] if f["key"] == KEY)
    record.update(period_label="first quarter of 2019", note="Per QQ's report.")
    path.write_text(yaml.dump(doc, Dumper=_NoAliases, allow_unicode=True, sort_keys=False), encoding="utf-8")


def the_figure() -> Figure:
    return Figure.objects.get(article__slug=ARTICLE, key=KEY)


def as_editor(action) -> None:
    """Run ``action`` the way a concurrent editor would: on PostgreSQL in another thread, with its own
    connection; on SQLite in this thread (one writer at a time is all SQLite allows)."""
    if connection.vendor != "postgresql":
        action()
        return
    errors: list[BaseException] = []

    def run() -> None:
        try:
            action()
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive(), "the editor's save did not finish"
    if errors:
        raise errors[0]


def correct(figure_pk: int, editor_pk: int) -> None:
    figure_save(
        figure=Figure.objects.get(pk=figure_pk),
        data={"status": "corrected", "value": EDITOR_VALUE, "note": EDITOR_NOTE},
        user=User.objects.get(pk=editor_pk),
        reason="Checked against the original",
    )


def assert_the_editors_version_stands(editor: User, *, version: int) -> Figure:
    figure = the_figure()
    assert (figure.value, figure.note, figure.status) == (EDITOR_VALUE, EDITOR_NOTE, "corrected")
    assert figure.reviewed_by == editor
    assert figure.period_label == "Q1 2019"  # the fixture's new label was not written either
    assert figure.version == version
    newest = figure.history.first()
    assert (newest.history_user, newest.history_change_reason) == (editor, "Checked against the original")
    assert (newest.version, newest.value, newest.note, newest.status) == (
        figure.version,
        figure.value,
        figure.note,
        figure.status,
    )
    record = FixtureRecord.objects.get(model="figure", key=f"{ARTICLE}/{KEY}")
    assert record.version == 1  # still what the loader wrote: the next load keeps the editor's version too
    return figure


@pytest.fixture(params=["one reader", "chunks planned as read"])
def reading(request, monkeypatch) -> str:
    """Read in this process, or (the path of a large reload) on two workers, planning each chunk as it comes."""
    if request.param == "chunks planned as read":
        monkeypatch.setattr(parallel, "PARALLEL_MIN_FILES", 1)
        monkeypatch.setattr(parallel, "CHUNK_FILES", 2)
        monkeypatch.setattr(parallel, "workers_count", lambda: 2)
    return request.param


def test_an_editors_save_between_the_read_and_the_write_is_kept_and_reported(folder, editor, reading):
    fixtures_load(paths=[folder])
    change_the_figure_upstream(folder)
    figure_pk = the_figure().pk
    saved = []

    def editor_saves_meanwhile() -> None:
        as_editor(lambda: correct(figure_pk, editor.pk))
        saved.append(True)

    report = fixtures_load(paths=[folder], after_read=editor_saves_meanwhile)

    assert saved
    assert_the_editors_version_stands(editor, version=2)
    assert the_figure().history.count() == 2  # the loader's "+" and the editor's "~"; nothing by this load
    [kept] = report.kept_records
    assert (kept.file, kept.model, kept.key, kept.fields) == (
        str(article_file(folder)),
        "figure",
        KEY,
        ("value", "period_label", "note", "status"),
    )
    assert kept.conflict and report.conflicts == [kept]
    assert kept.reason == "changed by editor while this load was running"
    assert str(kept) == (
        f"{article_file(folder)}: figure '{KEY}': value, period_label, note, status: kept the editor's version "
        "(changed by editor while this load was running)"
    )
    assert (report.counts["figures"].kept, report.updated, report.created) == (1, 0, 0)

    # The next load keeps it as well, now as a change made since the last load.
    again = fixtures_load(paths=[folder], full=True)
    assert [(k.key, k.reason, k.conflict) for k in again.kept_records] == [
        (KEY, "changed by editor since the last load", False)
    ]
    assert_the_editors_version_stands(editor, version=2)


def test_the_command_prints_the_conflict_by_file_record_and_field(folder, editor):
    fixtures_load(paths=[folder])
    change_the_figure_upstream(folder)
    figure_pk = the_figure().pk
    real_load = fixtures_load

    def load_with_an_editor(**kwargs):
        return real_load(**kwargs, after_read=lambda: as_editor(lambda: correct(figure_pk, editor.pk)))

    out = StringIO()
    with mock.patch("articles.management.commands.load_fixtures.fixtures_load", load_with_an_editor):
        call_command("load_fixtures", str(folder), stdout=out)
    output = out.getvalue()
    assert (
        f"{article_file(folder)}: figure '{KEY}': value, period_label, note, status: kept the editor's version "
        "(changed by editor while this load was running)"
    ) in output
    assert "1 kept as an editor left them" in output and "1 of them changed by an editor while this load ran" in output
    assert_the_editors_version_stands(editor, version=2)


def test_an_editors_change_before_the_reload_is_kept_and_named(folder, editor):
    fixtures_load(paths=[folder])
    correct(the_figure().pk, editor.pk)
    change_the_figure_upstream(folder)

    report = fixtures_load(paths=[folder])

    assert_the_editors_version_stands(editor, version=2)
    [kept] = report.kept_records
    assert (kept.file, kept.model, kept.key, kept.fields, kept.conflict) == (
        str(article_file(folder)),
        "figure",
        KEY,
        ("value", "period_label", "note", "status"),
        False,
    )
    assert kept.reason == "changed by editor since the last load"


def test_a_record_an_editor_creates_while_the_load_runs_is_kept_not_a_crash(folder, editor):
    fixtures_load(paths=[folder])
    path = folder / "companies.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["companies"].append({"slug": "hashco", "name": "HashCo", "kind": "miner"})
    path.write_text(yaml.dump(doc, Dumper=_NoAliases, allow_unicode=True, sort_keys=False), encoding="utf-8")

    def create() -> None:
        company_save(
            data={"slug": "hashco", "name": "HashCo Ltd", "kind": "miner"}, user=User.objects.get(pk=editor.pk)
        )

    report = fixtures_load(paths=[folder], after_read=lambda: as_editor(create))

    assert Company.objects.get(slug="hashco").name == "HashCo Ltd"
    [kept] = report.kept_records
    assert (kept.model, kept.key, kept.fields, kept.conflict) == ("company", "hashco", ("name",), True)
    assert report.counts["companies"].created == 0
    assert not FixtureRecord.objects.filter(model="company", key="hashco").exists()


def test_an_unchanged_reload_reads_no_file_and_writes_nothing(folder):
    first = fixtures_load(paths=[folder])
    history = {model.__name__: model.history.count() for model in RECORD_MODELS}
    versions = {model.__name__: dict(model.objects.values_list("pk", "version")) for model in RECORD_MODELS}
    records = list(FixtureRecord.objects.values_list("model", "key", "source", "fingerprint", "version"))
    loaded_at = dict(FixtureFile.objects.values_list("path", "loaded_at"))

    with mock.patch("articles.services.fixtures.read_fixtures", side_effect=AssertionError("a file was read")):
        report = fixtures_load(paths=[folder])

    assert (report.files_read, report.files_skipped) == (0, len(first.files))
    assert {model.__name__: model.history.count() for model in RECORD_MODELS} == history
    assert {model.__name__: dict(model.objects.values_list("pk", "version")) for model in RECORD_MODELS} == versions
    assert list(FixtureRecord.objects.values_list("model", "key", "source", "fingerprint", "version")) == records
    assert dict(FixtureFile.objects.values_list("path", "loaded_at")) == loaded_at
    assert (report.created, report.updated, report.kept) == (0, 0, 0)
    assert {name: c.unchanged for name, c in report.counts.items()} == {
        name: c.created for name, c in first.counts.items()
    }


def test_a_second_load_while_one_runs_fails_with_a_clear_message(folder):
    if connection.vendor == "postgresql":
        holding, release = threading.Event(), threading.Event()

        def hold_the_lock() -> None:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_lock(%s)", [LOAD_LOCK])
                    holding.set()
                    release.wait(30)
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [LOAD_LOCK])
            finally:
                connection.close()

        other = threading.Thread(target=hold_the_lock)
        other.start()
        assert holding.wait(30)
        try:
            with pytest.raises(LoadBusyError, match="Another load_fixtures is running on this database"):
                fixtures_load(paths=[folder])
            with pytest.raises(CommandError, match="Another load_fixtures is running"):
                call_command("load_fixtures", str(folder), stdout=StringIO())
        finally:
            release.set()
            other.join(30)
    else:
        holding, release = threading.Event(), threading.Event()

        def hold_the_write_lock() -> None:
            try:
                with transaction.atomic():  # BEGIN IMMEDIATE: SQLite's write lock until the end
                    User.objects.create_user("someone-else")
                    holding.set()
                    release.wait(30)
            finally:
                connection.close()

        other = threading.Thread(target=hold_the_write_lock)
        other.start()
        assert holding.wait(30)
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA busy_timeout = 200")  # do not wait the configured 20 s for it
        try:
            with pytest.raises(LoadBusyError, match="The database is locked by another writer"):
                fixtures_load(paths=[folder])
        finally:
            release.set()
            other.join(30)
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA busy_timeout = 20000")
    assert not Figure.objects.exists() and not FixtureFile.objects.exists()
    fixtures_load(paths=[folder])  # once the other one is done, the load runs
    assert Figure.objects.exists()
