"""``load_fixtures``: all or nothing, idempotent, and it never overwrites an editor's work."""

import shutil
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from articles.models import Alias, Article, Company, Event, EventParticipant, Figure, Person
from articles.services.fixtures import FixtureError, fixtures_load
from articles.services.records import record_save

from .conftest import FIXTURES_DIR

AURADINE_ARTICLE = "bitmain-made-in-usa-threat-2024"


def run(*paths) -> str:
    from io import StringIO

    out = StringIO()
    call_command("load_fixtures", *[str(p) for p in paths], stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Company, Person, Alias, Article, Event, EventParticipant, Figure)
    }


@pytest.fixture
def fixtures_copy(tmp_path) -> Path:
    """A writable copy of the real data set."""
    target = tmp_path / "fixtures"
    shutil.copytree(FIXTURES_DIR, target)
    return target


def edit(path: Path, change) -> None:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


def auradine_figure() -> Figure:
    return Figure.objects.get(article__slug=AURADINE_ARTICLE, key="auradine-april-2024-funding")


@pytest.mark.django_db
def test_it_loads_the_whole_data_set_by_default():
    output = run()
    assert Article.objects.count() == 5
    assert Figure.objects.count() > 40 and Event.objects.count() > 70
    assert "0 updated" in output and f"{Article.objects.count()}" in output


@pytest.mark.django_db
def test_a_second_run_changes_nothing_and_prints_the_unchanged_counts():
    run()
    before = counts()
    history_before = Figure.history.count()
    output = run()
    assert "0 created, 0 updated." in output
    assert counts() == before
    assert Figure.history.count() == history_before
    figures_line = next(line for line in output.splitlines() if line.startswith("figures"))
    assert figures_line.split() == ["figures", "0", "0", str(before["Figure"]), "0"]


@pytest.mark.django_db
def test_one_bad_record_among_many_loads_nothing_and_is_named(fixtures_copy):
    path = fixtures_copy / "articles" / f"{AURADINE_ARTICLE}.yaml"

    def break_one_quote(doc):
        figure = next(f for f in doc["figures"] if f["key"] == "bitmain-stake-in-bitfufu")
        figure["quote"] = "Bitmain holds 42% of the company's shares."

    edit(path, break_one_quote)
    with pytest.raises(CommandError) as caught:
        run(fixtures_copy)
    message = str(caught.value)
    assert f"{path}: figure 'bitmain-stake-in-bitfufu': quote:" in message
    assert "nothing was loaded" in message
    assert all(n == 0 for n in counts().values())


@pytest.mark.django_db
def test_a_value_that_disagrees_with_its_words_is_named_with_file_record_and_field(fixtures_copy):
    path = fixtures_copy / "articles" / "bitmain-q1-2019-loss.yaml"
    edit(path, lambda doc: doc["figures"][0].update(value=31000000))
    with pytest.raises(FixtureError) as caught:
        fixtures_load(paths=[fixtures_copy])
    [problem] = caught.value.problems
    assert (problem.file, problem.record, problem.field) == (str(path), "figure 'q1-2019-net-loss'", "value")


@pytest.mark.django_db
def test_a_key_used_twice_is_an_error_not_an_overwrite(fixtures_copy):
    path = fixtures_copy / "articles" / "bitmain-q1-2019-loss.yaml"
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
    path = fixtures_copy / "articles" / "bitmain-q1-2019-loss.yaml"

    def damage(doc):
        doc["events"][0]["colour"] = "red"
        doc["figures"][0]["company"] = "bitmian"

    edit(path, damage)
    with pytest.raises(FixtureError) as caught:
        fixtures_load(paths=[fixtures_copy])
    text = str(caught.value)
    assert "event 'q1-2019-net-loss': colour: unknown field" in text
    assert "figure 'q1-2019-net-loss': company: unknown company 'bitmian'" in text


@pytest.mark.django_db
def test_a_missing_path_and_an_unreadable_file_are_errors(tmp_path):
    with pytest.raises(CommandError, match="no such file or folder"):
        run(tmp_path / "nope")
    broken = tmp_path / "broken.yaml"
    broken.write_text("companies: [\n", encoding="utf-8")
    with pytest.raises(CommandError, match="broken.yaml: cannot be read"):
        run(broken)


@pytest.mark.django_db
def test_a_dry_run_validates_and_counts_but_writes_nothing():
    out = __import__("io").StringIO()
    call_command("load_fixtures", "--dry-run", stdout=out)
    assert "dry run" in out.getvalue()
    assert all(n == 0 for n in counts().values())


@pytest.mark.django_db
def test_an_editors_correction_survives_a_reload():
    run()
    editor = User.objects.create_user("editor")
    figure = auradine_figure()
    figure.value, figure.status = Decimal("80000000"), "corrected"
    figure.note = "Other reports of the same Bloomberg story say $80 million."
    record_save(instance=figure, user=editor, reason="translation error")

    output = run()
    figure.refresh_from_db()
    assert figure.value == Decimal("80000000")
    assert (figure.status, figure.reviewed_by) == ("corrected", editor)
    assert figure.as_reported == "$ 8 million"
    assert "1 kept as an editor left them" in output


@pytest.mark.django_db
def test_a_renamed_company_is_kept_even_when_the_fixture_changes(fixtures_copy):
    fixtures_load(paths=[fixtures_copy])
    company = Company.objects.get(slug="sphere-3d")
    company.name = "Sphere 3D Corp."
    record_save(instance=company, user=User.objects.create_user("editor"))
    edit(fixtures_copy / "companies.yaml", lambda doc: doc["companies"][0].update(description="Changed upstream."))
    edit(
        fixtures_copy / "companies.yaml",
        lambda doc: next(c for c in doc["companies"] if c["slug"] == "sphere-3d").update(description="New text."),
    )
    report = fixtures_load(paths=[fixtures_copy])
    company.refresh_from_db()
    assert company.name == "Sphere 3D Corp." and company.description != "New text."
    assert report.counts["companies"].kept == 1
    assert report.counts["companies"].updated == 1  # the first company, which nobody had touched


@pytest.mark.django_db
def test_a_verified_figure_is_kept_when_the_fixture_changes(fixtures_copy):
    fixtures_load(paths=[fixtures_copy])
    figure = Figure.objects.get(article__slug="bitmain-q1-2019-loss", key="q1-2019-net-loss")
    figure.status = "verified"
    record_save(instance=figure, user=User.objects.create_user("editor"))
    path = fixtures_copy / "articles" / "bitmain-q1-2019-loss.yaml"
    edit(path, lambda doc: doc["figures"][0].update(period_label="first quarter of 2019"))
    report = fixtures_load(paths=[fixtures_copy])
    figure.refresh_from_db()
    assert figure.period_label == "Q1 2019"
    assert report.counts["figures"].kept == 1


@pytest.mark.django_db
def test_a_changed_fixture_updates_untouched_records_with_a_history_entry(fixtures_copy):
    fixtures_load(paths=[fixtures_copy])
    event = Event.objects.get(article__slug="bitmain-q1-2019-loss", key="q1-2019-net-loss")
    path = fixtures_copy / "articles" / "bitmain-q1-2019-loss.yaml"
    edit(
        path,
        lambda doc: doc["events"][0].update(
            summary="A new summary.", participants=[{"company": "bitmain", "role": "subject"}]
        ),
    )
    report = fixtures_load(paths=[fixtures_copy])
    event.refresh_from_db()
    assert event.summary == "A new summary." and event.version == 2
    assert event.fixture_version == event.version  # the next load need not re-read it
    assert [(p.company.slug, p.role) for p in event.participants.all()] == [("bitmain", "subject")]
    assert report.counts["events"].updated == 1 and report.counts["events"].unchanged == Event.objects.count() - 1
    latest = event.history.first()
    assert (latest.history_user.username, latest.history_change_reason) == ("load_fixtures", "load_fixtures")
    assert latest.history_type == "~"


@pytest.mark.django_db
def test_every_loaded_record_has_one_history_entry_by_the_loader():
    run()
    assert Figure.history.count() == Figure.objects.count()
    assert Company.history.count() == Company.objects.count()
    users = set(Figure.history.values_list("history_user__username", flat=True))
    assert users == {"load_fixtures"}
    loader = User.objects.get(username="load_fixtures")
    assert not loader.is_active and not loader.has_usable_password()


@pytest.mark.django_db
def test_an_article_mentions_every_company_its_records_involve():
    run()
    article = Article.objects.get(slug=AURADINE_ARTICLE)
    mentioned = set(article.companies.values_list("slug", flat=True))
    involved = set(
        EventParticipant.objects.filter(event__article=article, company__isnull=False).values_list(
            "company__slug", flat=True
        )
    ) | set(article.figures.exclude(company=None).values_list("company__slug", flat=True))
    assert involved <= mentioned


def synthetic(tmp_path: Path, articles: int, prefix: str = "a") -> Path:
    folder = tmp_path / f"synthetic-{prefix}{articles}"
    folder.mkdir()
    (folder / "companies.yaml").write_text(
        yaml.safe_dump({"companies": [{"slug": "acme", "name": "Acme", "aliases": ["ACME Corp"]}]}), encoding="utf-8"
    )
    for n in range(articles):
        body = f"Acme made $ {n + 1} million in March. Acme was founded in 2013."
        doc = {
            "article": {
                "slug": f"{prefix}{n}",
                "title": f"A{n}",
                "published_on": "2019-08-01",
                "body": body,
                "companies": ["acme"],
            },
            "events": [
                {
                    "key": "founded",
                    "title": "Founded",
                    "type": "founding",
                    "date": "2013-01-01",
                    "date_precision": "year",
                    "quote": "Acme was founded in 2013.",
                    "participants": [{"company": "acme", "role": "subject"}],
                }
            ],
            "figures": [
                {
                    "key": "march",
                    "company": "acme",
                    "metric": "revenue",
                    "as_reported": f"$ {n + 1} million",
                    "value": (n + 1) * 1_000_000,
                    "unit": "USD",
                    "quote": f"Acme made $ {n + 1} million in March.",
                }
            ],
        }
        (folder / f"{prefix}{n}.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    return folder


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
def test_json_fixtures_load_like_yaml(tmp_path):
    (tmp_path / "companies.json").write_text('{"companies": [{"slug": "acme", "name": "Acme"}]}', encoding="utf-8")
    report = fixtures_load(paths=[tmp_path])
    assert report.counts["companies"].created == 1


@pytest.mark.django_db
def test_the_loaders_history_entry_of_an_article_holds_its_mention_lists():
    run()
    article = Article.objects.get(slug=AURADINE_ARTICLE)
    entry = article.history.get()
    assert {row.company_id for row in entry.companies.all()} == set(article.companies.values_list("pk", flat=True))
    assert {row.person_id for row in entry.people.all()} == set(article.people.values_list("pk", flat=True))
