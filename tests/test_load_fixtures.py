"""``load_fixtures``: all or nothing, idempotent, incremental, and it never overwrites an editor's work.

Tests that start from the loaded data set share one load per class (``setUpTestData``; each test runs in a
transaction rolled back after it). Tests that need an empty database are plain pytest functions.
"""

import hashlib
import json
import shutil
import tempfile
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

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
from articles.services.articles import article_save
from articles.services.companies import company_save
from articles.services.events import event_save
from articles.services.figures import figure_save
from articles.services.fixtures import FixtureError, fixtures_load
from articles.services.history import aliases_value

from .base import synthetic_data_set
from .conftest import FIXTURES_DIR

AURADINE_ARTICLE = "bitmain-made-in-usa-threat-2024"
Q1_ARTICLE = "bitmain-q1-2019-loss"
MODELS = (Company, Person, Alias, Article, Event, EventParticipant, Figure)
RECORD_MODELS = {"company": Company, "person": Person, "article": Article, "event": Event, "figure": Figure}


def run(*args) -> str:
    out = StringIO()
    call_command("load_fixtures", *[str(a) for a in args], stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def history_counts() -> dict[str, int]:
    return {model.__name__: model.history.count() for model in RECORD_MODELS.values()}


def versions() -> dict[str, dict[int, int]]:
    return {model.__name__: dict(model.objects.values_list("pk", "version")) for model in RECORD_MODELS.values()}


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data) -> bool:
        return True  # the strict reader refuses YAML anchors


def edit(path: Path, change) -> None:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(yaml.dump(doc, Dumper=_NoAliases, allow_unicode=True, sort_keys=False), encoding="utf-8")


def copy_fixtures(folder: Path) -> Path:
    target = folder / "fixtures"
    shutil.copytree(FIXTURES_DIR, target)
    return target


def figure(article: str, key: str) -> Figure:
    return Figure.objects.get(article__slug=article, key=key)


def editor_user() -> User:
    return User.objects.create_user("editor")


class TestLoadedOnce(TestCase):
    """The real data set, loaded once for the class through the command."""

    @classmethod
    def setUpTestData(cls):
        cls.output = run()

    def setUp(self):
        self.tmp = Path(self.enterContext(tempfile.TemporaryDirectory()))

    def copy(self) -> Path:
        return copy_fixtures(self.tmp)

    # The first load ------------------------------------------------------------------------------------------

    def test_it_loads_the_whole_data_set_by_default(self):
        assert Article.objects.count() == 5
        assert Figure.objects.count() > 40 and Event.objects.count() > 70
        files = len(list(FIXTURES_DIR.rglob("*.yaml")))
        assert f"Read {files} of {files} fixture file(s)." in self.output
        assert "0 updated" in self.output

    def test_every_record_has_its_bookkeeping_and_every_file_its_checksum(self):
        for name, model in RECORD_MODELS.items():
            assert FixtureRecord.objects.filter(model=name).count() == model.objects.count(), name
        assert set(FixtureRecord.objects.values_list("version", flat=True)) == {1}
        record = FixtureRecord.objects.get(model="figure", key=f"{Q1_ARTICLE}/q1-2019-net-loss")
        assert record.source == f"articles/{Q1_ARTICLE}.yaml"
        assert len(record.fingerprint) == 64
        assert FixtureRecord.objects.get(model="company", key="bitmain").source == "companies.yaml"
        stored = dict(FixtureFile.objects.values_list("path", "checksum"))
        on_disk = {
            path.relative_to(FIXTURES_DIR).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in FIXTURES_DIR.rglob("*.yaml")
        }
        assert stored == on_disk

    def test_every_loaded_record_has_one_history_entry_by_the_loader_with_its_lists(self):
        for model in RECORD_MODELS.values():
            assert model.history.count() == model.objects.count()
        assert set(Figure.history.values_list("history_user__username", flat=True)) == {"load_fixtures"}
        assert set(Figure.history.values_list("history_change_reason", flat=True)) == {"load_fixtures"}
        loader = User.objects.get(username="load_fixtures")
        assert not loader.is_active and not loader.has_usable_password()

        article = Article.objects.get(slug=AURADINE_ARTICLE)
        entry = article.history.get()
        assert entry.lists == {
            "companies": sorted(article.companies.values_list("slug", flat=True)),
            "people": sorted(article.people.values_list("slug", flat=True)),
        }
        event = Event.objects.get(article__slug=Q1_ARTICLE, key="q1-2019-net-loss")
        assert event.history.get().lists == {
            "participants": [
                {"company": "bitmain", "person": None, "role": "subject"},
                {"company": "tencent-news", "person": None, "role": "reporter"},
            ]
        }
        bitmain = Company.objects.get(slug="bitmain")
        aliases = bitmain.history.get().lists["aliases"]
        assert [a["name"] for a in aliases] == sorted(bitmain.aliases.values_list("name", flat=True))
        assert figure(Q1_ARTICLE, "q1-2019-net-loss").history.get().lists is None

    def test_an_article_mentions_every_company_its_records_involve(self):
        article = Article.objects.get(slug=AURADINE_ARTICLE)
        mentioned = set(article.companies.values_list("slug", flat=True))
        involved = set(
            EventParticipant.objects.filter(event__article=article, company__isnull=False).values_list(
                "company__slug", flat=True
            )
        ) | set(article.figures.exclude(company=None).values_list("company__slug", flat=True))
        assert involved <= mentioned

    def test_events_know_the_last_day_their_date_covers(self):
        event = Event.objects.get(article__slug=Q1_ARTICLE, key="q1-2019-net-loss")
        assert (event.date_precision, str(event.date_latest)) == ("quarter", "2019-03-31")

    # Reloading the same files --------------------------------------------------------------------------------

    def test_a_second_run_reads_no_file_and_writes_nothing(self):
        before, history_before, versions_before = counts(), history_counts(), versions()
        output = run()
        assert "0 created, 0 updated." in output
        assert "Read 0 of " in output and "unchanged since the last load were not read" in output
        assert (counts(), history_counts(), versions()) == (before, history_before, versions_before)
        figures_line = next(line for line in output.splitlines() if line.startswith("figures"))
        assert figures_line.split() == ["figures", "0", "0", str(before["Figure"]), "0"]

    def test_a_full_second_run_reads_every_file_and_still_writes_nothing(self):
        before, history_before, versions_before = counts(), history_counts(), versions()
        records_before = list(FixtureRecord.objects.values_list("model", "key", "source", "fingerprint", "version"))
        files_before = dict(FixtureFile.objects.values_list("path", "checksum"))
        loaded_before = max(FixtureFile.objects.values_list("loaded_at", flat=True))
        report = fixtures_load(paths=[FIXTURES_DIR], full=True)
        assert report.files_read == len(report.files) and report.files_skipped == 0
        # Every file read is loaded again, its checksum the same.
        assert dict(FixtureFile.objects.values_list("path", "checksum")) == files_before
        assert min(FixtureFile.objects.values_list("loaded_at", flat=True)) > loaded_before
        assert (report.created, report.updated, report.kept) == (0, 0, 0)
        assert report.counts["figures"].unchanged == before["Figure"]
        assert (counts(), history_counts(), versions()) == (before, history_before, versions_before)
        assert list(FixtureRecord.objects.values_list("model", "key", "source", "fingerprint", "version")) == (
            records_before
        )

    def test_a_full_reload_reads_only_the_versions_of_unchanged_events_and_figures(self):
        # The rows of records whose version and fingerprint are the ones the loader wrote are not read in full
        # (their quotes, summaries, companies): at 100,000 articles that was 18 s and 1.2 GB of a --full reload.
        events, figures = connection.ops.quote_name("articles_event"), connection.ops.quote_name("articles_figure")
        with CaptureQueriesContext(connection) as captured:
            report = fixtures_load(paths=[FIXTURES_DIR], full=True)
        assert report.counts["events"].unchanged == Event.objects.count()
        assert report.counts["figures"].unchanged == Figure.objects.count()
        reads = [
            q["sql"] for q in captured if q["sql"].startswith("SELECT") and (events in q["sql"] or figures in q["sql"])
        ]
        assert reads, "the plan reads the events' and figures' versions"
        for sql in reads:
            columns = sql.split(" FROM ")[0]
            assert '"version"' in columns and '"quote"' not in columns and '"summary"' not in columns, sql

    def test_a_record_changed_by_an_editor_is_read_in_full_on_a_full_reload(self):
        # The other side of the test above: a row whose version moved on is read and compared, not taken as
        # unchanged.
        event = Event.objects.get(article__slug=Q1_ARTICLE, key="q1-2019-net-loss")
        event_save(event=event, data={"summary": "An editor's summary."}, user=editor_user(), reason="clearer")
        report = fixtures_load(paths=[FIXTURES_DIR], full=True)
        assert report.counts["events"].kept == 1
        assert report.counts["events"].unchanged == Event.objects.count() - 1
        (kept,) = report.kept_records
        assert (kept.model, kept.key, kept.fields) == ("event", "q1-2019-net-loss", ("summary",))
        event.refresh_from_db()
        assert event.summary == "An editor's summary."

    def test_a_renamed_file_moves_its_records_bookkeeping_and_writes_nothing_else(self):
        folder = self.copy()
        old, new = f"articles/{Q1_ARTICLE}.yaml", f"articles/renamed-{Q1_ARTICLE}.yaml"
        (folder / old).rename(folder / new)
        before, history_before, versions_before = counts(), history_counts(), versions()
        report = fixtures_load(paths=[folder])
        assert report.files_read == 1 and (report.created, report.updated, report.kept) == (0, 0, 0)
        assert (counts(), history_counts(), versions()) == (before, history_before, versions_before)
        moved = FixtureRecord.objects.filter(key__startswith=Q1_ARTICLE)
        assert {r.source for r in moved} == {new}
        assert moved.filter(model="event").count() == Event.objects.filter(article__slug=Q1_ARTICLE).count()
        assert moved.filter(model="figure").count() == Figure.objects.filter(article__slug=Q1_ARTICLE).count()
        assert not FixtureFile.objects.filter(path=old).exists()

    def test_a_copy_of_the_same_files_elsewhere_is_not_read_again(self):
        report = fixtures_load(paths=[self.copy()])
        assert report.files_read == 0
        assert report.counts["events"].unchanged == Event.objects.count()

    # Reloading changed files ---------------------------------------------------------------------------------

    def test_a_changed_fixture_updates_untouched_records_with_a_history_entry(self):
        folder = self.copy()
        event = Event.objects.get(article__slug=Q1_ARTICLE, key="q1-2019-net-loss")
        edit(
            folder / "articles" / f"{Q1_ARTICLE}.yaml",
            lambda doc: doc["events"][0].update(
                summary="A new summary.", participants=[{"company": "bitmain", "role": "subject"}]
            ),
        )
        record_before = FixtureRecord.objects.get(model="event", key=f"{Q1_ARTICLE}/q1-2019-net-loss")
        report = fixtures_load(paths=[folder])
        assert report.files_read == 1  # only the changed file
        event.refresh_from_db()
        assert event.summary == "A new summary." and event.version == 2
        record = FixtureRecord.objects.get(pk=record_before.pk)
        assert record.version == event.version  # the next load need not read the row's values
        assert record.fingerprint != record_before.fingerprint
        assert [(p.company.slug, p.role) for p in event.participants.all()] == [("bitmain", "subject")]
        assert report.counts["events"].updated == 1
        assert report.counts["events"].unchanged == Event.objects.count() - 1  # read or not
        latest = event.history.first()
        assert (latest.history_user.username, latest.history_change_reason) == ("load_fixtures", "load_fixtures")
        assert latest.history_type == "~"
        assert latest.lists == {"participants": [{"company": "bitmain", "person": None, "role": "subject"}]}
        assert latest.summary == "A new summary." and latest.version == 2
        stored = FixtureFile.objects.get(path=f"articles/{Q1_ARTICLE}.yaml")
        checksum = hashlib.sha256((folder / "articles" / f"{Q1_ARTICLE}.yaml").read_bytes()).hexdigest()
        assert stored.checksum == checksum

    def test_an_editors_correction_survives_a_reload_and_a_full_reload_names_it(self):
        editor = editor_user()
        auradine = figure(AURADINE_ARTICLE, "auradine-april-2024-funding")
        note = "Other reports of the same Bloomberg story say $80 million."
        figure_save(
            figure=auradine,
            data={"value": Decimal("80000000"), "status": "corrected", "note": note},
            user=editor,
            reason="translation error",
        )
        history_before = history_counts()
        run()
        output = run("--full")
        auradine.refresh_from_db()
        assert auradine.value == Decimal("80000000")
        assert (auradine.status, auradine.reviewed_by, auradine.note) == ("corrected", editor, note)
        assert auradine.as_reported == "$ 8 million"
        assert history_counts() == history_before
        assert "1 kept as an editor left them" in output
        path = FIXTURES_DIR / "articles" / f"{AURADINE_ARTICLE}.yaml"
        assert (
            f"{path}: figure 'auradine-april-2024-funding': value, note, status: kept the editor's version "
            "(changed by editor since the last load)"
        ) in output

    def test_a_renamed_company_is_kept_even_when_the_fixture_changes(self):
        folder = self.copy()
        company = Company.objects.get(slug="sphere-3d")
        company_save(company=company, data={"name": "Sphere 3D Corp."}, user=editor_user(), reason="Its name")
        edit(
            folder / "companies.yaml",
            lambda doc: next(c for c in doc["companies"] if c["slug"] == "bitmain").update(
                description="Changed upstream."
            ),
        )
        edit(
            folder / "companies.yaml",
            lambda doc: next(c for c in doc["companies"] if c["slug"] == "sphere-3d").update(description="New text."),
        )
        report = fixtures_load(paths=[folder])
        company.refresh_from_db()
        assert company.name == "Sphere 3D Corp." and company.description != "New text."
        assert report.counts["companies"].kept == 1
        assert report.counts["companies"].updated == 1  # Bitmain, which nobody had touched
        first = Company.objects.get(description="Changed upstream.")
        entry = first.history.first()
        assert (entry.history_type, entry.history_user.username, entry.history_change_reason) == (
            "~",
            "load_fixtures",
            "load_fixtures",
        )
        stored = [(a.name, a.garbled, a.note) for a in first.aliases.all()]
        assert entry.lists == {"aliases": aliases_value(stored)} and stored
        assert FixtureRecord.objects.get(model="company", key=first.slug).version == first.version == 2
        [kept] = report.kept_records
        assert (kept.file, kept.model, kept.key, kept.fields) == (
            str(folder / "companies.yaml"),
            "company",
            "sphere-3d",
            ("name", "description"),
        )
        assert kept.reason == "changed by editor since the last load" and not kept.conflict

    def test_a_verified_figure_is_kept_when_the_fixture_changes(self):
        folder = self.copy()
        q1 = figure(Q1_ARTICLE, "q1-2019-net-loss")
        figure_save(figure=q1, data={"status": "verified"}, user=editor_user(), reason="Checked")
        edit(
            folder / "articles" / f"{Q1_ARTICLE}.yaml",
            lambda doc: doc["figures"][0].update(period_label="first quarter of 2019"),
        )
        report = fixtures_load(paths=[folder])
        q1.refresh_from_db()
        assert (q1.period_label, q1.status) == ("Q1 2019", "verified")
        assert report.counts["figures"].kept == 1
        assert [(k.key, k.fields) for k in report.kept_records] == [("q1-2019-net-loss", ("period_label", "status"))]
        # Even a reviewed figure whose version is the one the loader last saw (adopted, say) stays as reviewed.
        FixtureRecord.objects.filter(model="figure", key=f"{Q1_ARTICLE}/q1-2019-net-loss").update(version=q1.version)
        report = fixtures_load(paths=[folder], full=True)
        assert [(k.key, k.reason) for k in report.kept_records] == [("q1-2019-net-loss", "verified by editor")]
        q1.refresh_from_db()
        assert (q1.period_label, q1.version) == ("Q1 2019", 2)

    def test_a_row_the_loader_did_not_write_is_adopted_when_equal_and_kept_when_not(self):
        FixtureRecord.objects.filter(model="company", key__in=["bitmain", "canaan"]).delete()
        company_save(company=Company.objects.get(slug="canaan"), data={"country": "SG"}, user=editor_user())
        report = fixtures_load(paths=[FIXTURES_DIR], full=True)
        assert FixtureRecord.objects.filter(model="company", key="bitmain").exists()  # adopted
        assert not FixtureRecord.objects.filter(model="company", key="canaan").exists()
        [kept] = report.kept_records
        assert (kept.key, kept.fields, kept.reason) == (
            "canaan",
            ("country",),
            "written by editor, not by load_fixtures",
        )
        assert Company.objects.get(slug="canaan").country == "SG"
        assert report.updated == 0

    def test_a_record_defined_again_next_to_an_unchanged_file_is_an_error(self):
        folder = self.copy()
        (folder / "more-companies.yaml").write_text(
            "companies:\n  - slug: bitmain\n    name: Bitmain again\n", encoding="utf-8"
        )
        with pytest.raises(FixtureError) as caught:
            fixtures_load(paths=[folder])
        [problem] = caught.value.problems
        assert (problem.file, problem.record, problem.field) == (
            str(folder / "more-companies.yaml"),
            "company 'bitmain'",
            "slug",
        )
        assert problem.message == f"is defined twice (also in {folder / 'companies.yaml'}); keys must be unique"
        assert Company.objects.get(slug="bitmain").name == "Bitmain"

    def test_a_parent_that_closes_a_cycle_through_the_database_is_refused(self):
        folder = self.copy()
        editor = editor_user()
        company_save(data={"slug": "bitmain-holdings", "name": "Bitmain Holdings"}, user=editor)
        company_save(
            company=Company.objects.get(slug="bitmain-holdings"),
            data={"parent": Company.objects.get(slug="bitmain")},
            user=editor,
        )
        edit(
            folder / "companies.yaml",
            lambda doc: next(c for c in doc["companies"] if c["slug"] == "bitmain").update(parent="bitmain-holdings"),
        )
        with pytest.raises(FixtureError, match="company 'bitmain': parent: that parent would make a cycle: "):
            fixtures_load(paths=[folder])
        assert Company.objects.get(slug="bitmain").parent is None

    def test_a_cycle_through_a_kept_company_is_refused_when_writing(self):
        folder = self.copy()
        company_save(
            company=Company.objects.get(slug="canaan"),
            data={"parent": Company.objects.get(slug="bitmain")},
            user=editor_user(),
        )
        edit(
            folder / "companies.yaml",
            lambda doc: next(c for c in doc["companies"] if c["slug"] == "bitmain").update(parent="canaan"),
        )
        with pytest.raises(FixtureError, match="company 'bitmain': parent: would make a cycle"):
            fixtures_load(paths=[folder])
        assert Company.objects.get(slug="bitmain").parent is None
        assert FixtureFile.objects.get(path="companies.yaml").checksum == (
            hashlib.sha256((FIXTURES_DIR / "companies.yaml").read_bytes()).hexdigest()
        )

    def test_a_new_event_in_an_article_an_editor_rewrote_is_kept_when_its_quote_is_gone(self):
        folder = self.copy()
        article = Article.objects.get(slug=Q1_ARTICLE)
        headline = "Bitmain Recorded $310 Million in Losses in Q1 2019"
        article_save(article=article, data={"body": article.body.replace(headline, "", 1)}, user=editor_user())

        def add(doc):
            doc["events"].append(dict(doc["events"][0], key="headline", quote=headline))
            doc["events"].append(
                dict(doc["events"][0], key="pushing", quote="Bitmain is also desperately pushing to go public.")
            )

        edit(folder / "articles" / f"{Q1_ARTICLE}.yaml", add)
        report = fixtures_load(paths=[folder])
        article.refresh_from_db()
        assert headline not in article.body
        assert not Event.objects.filter(article=article, key="headline").exists()
        pushing = Event.objects.get(article=article, key="pushing")  # its quote is in the editor's body too
        assert article.body[pushing.quote_start : pushing.quote_end] == pushing.quote
        kept = {k.key: k for k in report.kept_records}
        assert kept["headline"].reason == "its quote is not in the article's body as an editor left it"
        assert kept[Q1_ARTICLE].fields == ("body",)
        assert report.counts["events"].created == 1 and report.counts["events"].kept == 1


# -- From an empty database -------------------------------------------------------------------------------------


@pytest.fixture
def fixtures_copy(tmp_path) -> Path:
    """A writable copy of the real data set."""
    return copy_fixtures(tmp_path)


@pytest.mark.django_db
def test_one_bad_record_among_many_loads_nothing_and_is_named(fixtures_copy):
    path = fixtures_copy / "articles" / f"{AURADINE_ARTICLE}.yaml"

    def break_one_quote(doc):
        record = next(f for f in doc["figures"] if f["key"] == "bitmain-stake-in-bitfufu")
        record["quote"] = "Bitmain holds 42% of the company's shares."

    edit(path, break_one_quote)
    with pytest.raises(CommandError) as caught:
        run(fixtures_copy)
    message = str(caught.value)
    assert f"{path}: figure 'bitmain-stake-in-bitfufu': quote:" in message
    assert "nothing was loaded" in message
    assert all(n == 0 for n in counts().values())
    assert not FixtureFile.objects.exists() and not FixtureRecord.objects.exists()


@pytest.mark.django_db
def test_a_value_that_disagrees_with_its_words_is_named_with_file_record_and_field(fixtures_copy):
    path = fixtures_copy / "articles" / f"{Q1_ARTICLE}.yaml"
    edit(path, lambda doc: doc["figures"][0].update(value=31000000))
    with pytest.raises(FixtureError) as caught:
        fixtures_load(paths=[fixtures_copy])
    [problem] = caught.value.problems
    assert (problem.file, problem.record, problem.field) == (str(path), "figure 'q1-2019-net-loss'", "value")


@pytest.mark.django_db
def test_a_key_used_twice_is_an_error_not_an_overwrite(fixtures_copy):
    path = fixtures_copy / "articles" / f"{Q1_ARTICLE}.yaml"
    edit(path, lambda doc: doc["figures"].append(dict(doc["figures"][0])))
    with pytest.raises(
        FixtureError, match="figure 'q1-2019-net-loss': key: is defined twice \\(earlier in this file\\)"
    ):
        fixtures_load(paths=[fixtures_copy])
    assert Figure.objects.count() == 0


@pytest.mark.django_db
def test_a_slug_defined_in_two_files_is_an_error(fixtures_copy):
    extra = fixtures_copy / "more-companies.yaml"
    extra.write_text("companies:\n  - slug: bitmain\n    name: Bitmain again\n", encoding="utf-8")
    with pytest.raises(
        FixtureError,
        match="more-companies.yaml: company 'bitmain': slug: is defined twice \\(also in .*companies.yaml\\)",
    ):
        fixtures_load(paths=[fixtures_copy])


@pytest.mark.django_db
def test_unknown_fields_and_unknown_slugs_are_named(fixtures_copy):
    path = fixtures_copy / "articles" / f"{Q1_ARTICLE}.yaml"

    def damage(doc):
        doc["events"][0]["colour"] = "red"
        doc["figures"][0]["company"] = "bitmian"

    edit(path, damage)
    with pytest.raises(FixtureError) as caught:
        fixtures_load(paths=[fixtures_copy])
    text = str(caught.value)
    assert "event 'q1-2019-net-loss': colour: unknown field" in text
    assert "figure 'q1-2019-net-loss': company: unknown company 'bitmian'" in text
    # Named where the file names it, once: not also on the article, whose mentions the figure's company joins.
    assert len([p for p in caught.value.problems if "bitmian" in str(p)]) == 1


@pytest.mark.django_db
def test_a_parent_cycle_within_the_fixtures_is_named(tmp_path):
    (tmp_path / "companies.yaml").write_text(
        "companies:\n  - {slug: a, name: A, parent: b}\n  - {slug: b, name: B, parent: a}\n", encoding="utf-8"
    )
    with pytest.raises(FixtureError) as caught:
        fixtures_load(paths=[tmp_path])
    assert [(p.record, p.field) for p in caught.value.problems] == [
        ("company 'a'", "parent"),
        ("company 'b'", "parent"),
    ]
    assert "a → b → a" in caught.value.problems[0].message


@pytest.mark.django_db
def test_a_missing_path_and_an_unreadable_file_are_errors(tmp_path):
    with pytest.raises(CommandError, match="no such file or folder"):
        run(tmp_path / "nope")
    broken = tmp_path / "broken.yaml"
    broken.write_text("companies: [\n", encoding="utf-8")
    with pytest.raises(CommandError, match="broken.yaml.*cannot be read"):
        run(broken)


@pytest.mark.django_db
def test_a_dry_run_validates_and_counts_but_writes_nothing():
    output = run("--dry-run")
    assert "dry run" in output
    assert all(n == 0 for n in counts().values())
    assert not FixtureFile.objects.exists() and not FixtureRecord.objects.exists()


@pytest.mark.django_db
def test_json_fixtures_load_like_yaml_and_their_line_endings_are_normalised(tmp_path):
    company = {"slug": "acme", "name": "Acme", "description": "Line one.\r\nLine two.\rLine three."}
    (tmp_path / "companies.json").write_text(json.dumps({"companies": [company]}), encoding="utf-8")
    report = fixtures_load(paths=[tmp_path])
    assert report.counts["companies"].created == 1
    assert Company.objects.get(slug="acme").description == "Line one.\nLine two.\nLine three."
    report = fixtures_load(paths=[tmp_path], full=True)
    assert (report.counts["companies"].unchanged, report.updated) == (1, 0)


@pytest.mark.django_db
def test_quotes_are_found_in_a_body_whose_line_endings_were_normalised(tmp_path):
    body = "First line.\r\nAcme made $ 5 million in March.\r\nLast line."
    doc = {
        "companies": [{"slug": "acme", "name": "Acme"}],
        "article": {"slug": "crlf", "title": "CRLF", "published_on": "2019-08-01", "body": body},
        "figures": [
            {
                "key": "march",
                "company": "acme",
                "metric": "revenue",
                "as_reported": "$ 5 million",
                "value": 5000000,
                "unit": "USD",
                "quote": "Acme made $ 5 million in March.",
            }
        ],
    }
    (tmp_path / "crlf.json").write_text(json.dumps(doc), encoding="utf-8")
    fixtures_load(paths=[tmp_path])
    stored = Figure.objects.get(key="march")
    assert stored.article.body == "First line.\nAcme made $ 5 million in March.\nLast line."
    assert stored.article.body[stored.quote_start : stored.quote_end] == stored.quote


def synthetic(tmp_path: Path, articles: int, prefix: str = "a") -> Path:
    folder = tmp_path / f"synthetic-{prefix}{articles}"
    return synthetic_data_set(folder, articles, prefix=prefix, mentions=True, file_name="{prefix}{n}.yaml")


@pytest.mark.django_db
def test_the_loader_writes_in_bulk_so_its_queries_do_not_grow_with_the_data(tmp_path):
    def queries_for(folder: Path) -> int:
        with CaptureQueriesContext(connection) as captured:
            fixtures_load(paths=[folder])
        return len(captured)

    fixtures_load(paths=[synthetic(tmp_path, 1, prefix="warm-up")])  # the loader's user and the company exist
    small, large = synthetic(tmp_path, 5, prefix="s"), synthetic(tmp_path, 60, prefix="a")
    # 55 more articles (each with an event, a participant, a figure and their history rows) would cost
    # hundreds of queries with per-row saves; bulk writes add at most a few batches (SQLite caps a batch's
    # parameters, PostgreSQL does not).
    assert queries_for(large) <= queries_for(small) + 8
    assert Figure.objects.get(article__slug="a59").value == Decimal("60000000")


@pytest.mark.django_db
def test_records_written_into_unchanged_articles_cost_no_query_per_article(tmp_path):
    # An unchanged article's row is read without its body: writing its new figure and its changed event must not
    # read the rest of the row one article at a time.
    def reload_queries(articles: int, prefix: str) -> int:
        folder = synthetic(tmp_path, articles, prefix=prefix)
        fixtures_load(paths=[folder])
        for n in range(articles):
            path = folder / f"{prefix}{n}.yaml"
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
            doc["events"][0]["summary"] = "A new summary."
            extra = dict(doc["figures"][0], key="april", quote=doc["figures"][0]["quote"])
            doc["figures"].append(extra)
            path.write_text(yaml.safe_dump(doc), encoding="utf-8")
        with CaptureQueriesContext(connection) as captured:
            report = fixtures_load(paths=[folder])
        assert report.counts["articles"].unchanged == articles
        assert (report.counts["events"].updated, report.counts["figures"].created) == (articles, articles)
        assert Figure.objects.filter(article__slug=f"{prefix}0", key="april").exists()
        return len(captured)

    assert reload_queries(30, "l") <= reload_queries(3, "s") + 6


@pytest.mark.django_db
def test_a_reload_after_changing_one_file_reads_only_that_file(tmp_path):
    folder = synthetic(tmp_path, 20)
    fixtures_load(paths=[folder])
    path = folder / "a7.yaml"
    edit(path, lambda doc: doc["article"].update(title="Seven"))
    with CaptureQueriesContext(connection) as captured:
        report = fixtures_load(paths=[folder])
    assert (report.files_read, report.files_skipped) == (1, 20)
    assert (report.counts["articles"].updated, report.counts["articles"].unchanged) == (1, 19)
    assert (report.counts["figures"].unchanged, report.counts["events"].unchanged) == (20, 20)
    assert Article.objects.get(slug="a7").title == "Seven"
    assert len(captured) < 60


@pytest.mark.django_db
def test_a_files_bookkeeping_deleted_while_a_reload_runs_is_written_again(tmp_path):
    # Files already known are updated in one statement on PostgreSQL; one whose row went meanwhile is upserted.
    folder = synthetic(tmp_path, 3)
    fixtures_load(paths=[folder])

    def delete() -> None:
        FixtureFile.objects.filter(path="a1.yaml").delete()

    fixtures_load(paths=[folder], full=True, after_read=delete)
    assert set(FixtureFile.objects.values_list("path", flat=True)) == {
        "companies.yaml",
        "a0.yaml",
        "a1.yaml",
        "a2.yaml",
    }
