"""The fixture loader reads hostile or sloppy files safely and strictly: every problem is named, nothing is written.

Each test writes a small data set into ``tmp_path`` (a companies file and one article, valid as
written here), breaks one thing in it, loads it, and checks that the error names the file, the line,
the record and the field, and that the database is untouched.
"""

import json
import os
import time
import tracemalloc
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command

from articles.models import Alias, Article, Company, Event, Figure
from articles.services.fixtures import FixtureError, fixtures_load
from articles.services.fixtures.reading import MAX_FILE_BYTES, discover_files

COMPANIES = """\
companies:
  - slug: acme
    name: Acme
    kind: hardware_maker
    country: CN
    founded_year: 2013
    parent: null
    description: A maker of mining machines.
    aliases:
      - name: Acme Corp
        garbled: false
        note: ''
people:
  - slug: jane-doe
    name: Jane Doe
    title: CEO of Acme
    affiliation: acme
    description: ''
"""

ARTICLE = """\
article:
  slug: acme-results
  title: Acme reports a loss
  publisher: null
  authors: [Ann Writer]
  published_on: 2019-08-01
  published_precision: day
  url: ''
  language: en
  translated_from: ''
  notes: ''
  companies: [acme]
  people: [jane-doe]
  body: Acme lost $310 million in the first quarter of 2019, said Jane Doe.
events:
  - key: q1-loss
    title: Acme reports a Q1 2019 loss
    summary: ''
    type: financial_report
    date: 2019-01-01
    date_precision: quarter
    end_date: null
    participants:
      - {company: acme, role: subject}
      - {person: jane-doe, role: other}
    quote: Acme lost $310 million in the first quarter of 2019
    note: ''
figures:
  - key: q1-loss
    company: acme
    subject: Q1 2019 loss
    metric: net_loss
    as_reported: $310 million
    value: 310000000
    value_high: null
    unit: USD
    qualifier: exact
    period_start: 2019-01-01
    period_end: 2019-03-31
    period_label: Q1 2019
    quote: Acme lost $310 million in the first quarter of 2019
    note: ''
"""

COMPANIES_JSON = {
    "companies": [
        {
            "slug": "acme",
            "name": "Acme",
            "kind": "hardware_maker",
            "country": "CN",
            "founded_year": 2013,
            "description": "A maker of mining machines.",
            "aliases": [{"name": "Acme Corp", "garbled": False}],
        }
    ]
}


# --- helpers ------------------------------------------------------------------------------------------


def changed(text: str, old: str, new: str) -> str:
    """``text`` with its one ``old`` replaced; fails loudly when a test's edit no longer applies."""
    assert text.count(old) == 1, f"{old!r} is not in the template exactly once"
    return text.replace(old, new)


def line(text: str, needle: str) -> int:
    """The 1-based line ``needle`` starts on."""
    return text[: text.index(needle)].count("\n") + 1


def data_set(folder: Path, companies: str = COMPANIES, article: str = ARTICLE) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    companies_path, article_path = folder / "companies.yaml", folder / "acme-results.yaml"
    companies_path.write_text(companies, encoding="utf-8")
    article_path.write_text(article, encoding="utf-8")
    return companies_path, article_path


def assert_nothing_written() -> None:
    """No row in any table of the app: records, their links, their history entries."""
    for model in apps.get_app_config("articles").get_models():
        assert model._default_manager.count() == 0, model.__name__


def refused(*paths: Path) -> str:
    """Load through the management command; return its error after checking that nothing was written."""
    with pytest.raises(CommandError) as caught:
        call_command("load_fixtures", *[str(p) for p in paths], stdout=StringIO())
    assert_nothing_written()
    message = str(caught.value)
    assert "nothing was loaded" in message
    return message


def problems_of(*paths: Path) -> list[tuple[str, int | None, str, str, str]]:
    """Load through the service; its problems as (file, line, record, field, message)."""
    with pytest.raises(FixtureError) as caught:
        fixtures_load(paths=list(paths))
    assert_nothing_written()
    return [(p.file, p.line, p.record, p.field, p.message) for p in caught.value.problems]


# --- valid files still load ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_curated_fixtures_still_load():
    out = StringIO()
    call_command("load_fixtures", stdout=out)
    assert Article.objects.count() == 5
    assert "created" in out.getvalue()


@pytest.mark.django_db
def test_the_small_valid_data_set_of_these_tests_loads(tmp_path):
    data_set(tmp_path)
    fixtures_load(paths=[tmp_path])
    assert Company.objects.get().name == "Acme"
    assert Alias.objects.get().name == "Acme Corp"
    assert Figure.objects.get().value == 310000000
    assert Event.objects.get().date.isoformat() == "2019-01-01"
    assert Article.objects.get().published_on.isoformat() == "2019-08-01"


@pytest.mark.django_db
def test_a_figure_value_may_be_given_as_numeric_text(tmp_path):
    data_set(tmp_path, article=changed(ARTICLE, "value: 310000000", "value: '310000000.0'"))
    fixtures_load(paths=[tmp_path])
    assert Figure.objects.get().value == 310000000


@pytest.mark.django_db
def test_the_same_records_load_from_json(tmp_path):
    (tmp_path / "companies.json").write_text(json.dumps(COMPANIES_JSON, indent=2), encoding="utf-8")
    fixtures_load(paths=[tmp_path])
    assert Company.objects.get().founded_year == 2013
    assert Alias.objects.get().garbled is False


# --- 1. keys given twice ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_refuses_a_key_given_twice_naming_its_line(tmp_path):
    text = changed(COMPANIES, "    name: Acme\n", "    name: Acme\n    name: Acme Two\n")
    companies, _ = data_set(tmp_path, companies=text)
    # The first problem; the refused company's dependants (here its person) are named after it.
    assert problems_of(companies)[0] == (
        str(companies),
        line(text, "name: Acme Two"),
        "company 'acme'",
        "name",
        f"is given twice (first on line {line(text, 'name: Acme')})",
    )
    message = refused(tmp_path)
    assert f"{companies}, line {line(text, 'name: Acme Two')}: company 'acme': name: is given twice" in message


@pytest.mark.django_db
def test_it_refuses_a_key_given_twice_in_a_mapping_no_record_reads(tmp_path):
    text = changed(ARTICLE, "  title: Acme reports a loss\n", "  title: {a: 1, a: 2}\n")
    _, article = data_set(tmp_path, article=text)
    message = refused(tmp_path)
    assert f"{article}, line {line(text, 'title: {')}: a: is given twice (first on line" in message
    assert f"{article}, line {line(text, 'title: {')}: article 'acme-results': title: must be text" in message


@pytest.mark.django_db
def test_it_refuses_a_section_given_twice(tmp_path):
    text = COMPANIES + "companies: []\n"
    companies, _ = data_set(tmp_path, companies=text)
    assert f"{companies}, line {line(text, 'companies: []')}: companies: is given twice (first on line 1)" in (
        refused(tmp_path)
    )


@pytest.mark.django_db
def test_it_refuses_a_key_given_twice_in_json_naming_its_line(tmp_path):
    text = changed(json.dumps(COMPANIES_JSON, indent=2), '"name": "Acme",', '"name": "Acme",\n"name": "Acme Two",')
    path = tmp_path / "companies.json"
    path.write_text(text, encoding="utf-8")
    assert problems_of(path) == [
        (
            str(path),
            line(text, '"name": "Acme Two"'),
            "company 'acme'",
            "name",
            "is given twice (first on line {})".format(line(text, '"name": "Acme",')),
        )
    ]


@pytest.mark.django_db
def test_it_refuses_mapping_keys_that_are_not_text(tmp_path):
    text = changed(COMPANIES, "    description: A", "    2013: x\n    description: A")
    companies, _ = data_set(tmp_path, companies=text)
    assert f"{companies}, line {line(text, '2013: x')}: keys must be text, not a number (2013)" in refused(tmp_path)


# --- 2. anchors, aliases, tags ------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_refuses_yaml_anchors_and_aliases_naming_the_line(tmp_path):
    text = changed(ARTICLE, "    date: 2019-01-01\n", "    date: &start 2019-01-01\n")
    text = changed(text, "    end_date: null\n", "    end_date: *start\n")
    _, article = data_set(tmp_path, article=text)
    assert problems_of(tmp_path) == [
        (
            str(article),
            line(text, "&start"),
            "",
            "",
            "YAML anchors are not allowed (&start); write the value out",
        )
    ]


@pytest.mark.django_db
def test_it_refuses_an_alias_even_without_its_anchor(tmp_path):
    text = changed(ARTICLE, "    end_date: null\n", "    end_date: *start\n")
    _, article = data_set(tmp_path, article=text)
    assert f"{article}, line {line(text, '*start')}: YAML aliases are not allowed (*start)" in refused(tmp_path)


@pytest.mark.django_db
def test_it_refuses_a_billion_laughs_alias_bomb_quickly_and_with_little_memory(tmp_path):
    levels = "abcdefghi"
    rows = ["    kind:", f"      - &a [{', '.join(['lol'] * 9)}]"]
    rows += [f"      - &{b} [{', '.join([f'*{a}'] * 9)}]" for a, b in zip(levels, levels[1:], strict=False)]
    # 9 ** 9 = 387 million "lol"s once expanded; str() of it would need gigabytes.
    text = changed(COMPANIES, "    kind: hardware_maker\n", "\n".join(rows) + "\n    description: *i\n")
    text = changed(text, "    description: A maker of mining machines.\n", "")
    companies, _ = data_set(tmp_path, companies=text)
    assert len(text.encode()) < 1000
    tracemalloc.start()
    started = time.perf_counter()
    try:
        message = refused(tmp_path)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert f"{companies}, line {line(text, '&a')}: YAML anchors are not allowed (&a)" in message
    assert elapsed < 2
    assert peak < 20 * 1024 * 1024


@pytest.mark.django_db
@pytest.mark.parametrize("tagged", ["!!binary aGVsbG8=", "!!python/object:os.system {}", "!!set {a: null}", "!!str 5"])
def test_it_refuses_yaml_tags(tmp_path, tagged):
    text = changed(COMPANIES, "    description: A maker of mining machines.", f"    description: {tagged}")
    companies, _ = data_set(tmp_path, companies=text)
    assert f"{companies}, line {line(text, tagged)}: YAML tags are not allowed" in refused(tmp_path)


# --- 3. nesting -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_refuses_deep_yaml_nesting_without_a_traceback(tmp_path):
    text = changed(ARTICLE, "  title: Acme reports a loss", "  title: " + "[" * 100 + "]" * 100)
    _, article = data_set(tmp_path, article=text)
    assert f"{article}, line {line(text, 'title: [')}: nested more than 20 levels deep" in refused(tmp_path)


@pytest.mark.django_db
def test_very_deep_yaml_nesting_is_a_named_problem_too(tmp_path):
    # libyaml looks up to 1024 characters ahead for a key and gives up at 1000 levels, before our check.
    text = changed(ARTICLE, "  title: Acme reports a loss", "  title: " + "[" * 50_000 + "]" * 50_000)
    _, article = data_set(tmp_path, article=text)
    assert f"{article}: cannot be read: invalid YAML: while increasing flow level; exceeded maximum nesting depth" in (
        refused(tmp_path)
    )


@pytest.mark.django_db
def test_it_refuses_deep_json_nesting_without_a_traceback(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"companies":\n' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    assert f"{path}, line 2: nested more than 20 levels deep" in refused(path)


# --- 4. wrong types -------------------------------------------------------------------------------------

# (which file, the valid line, its hostile replacement, record, field, message)
WRONG_TYPES = [
    ("companies", "    name: Acme\n", "    name: [1]\n", "company 'acme'", "name", "must be text, not a list"),
    ("companies", "    description: A maker of mining machines.\n", "    description: 5\n", "company 'acme'",
     "description", "must be text, not a number (5)"),
    ("companies", "    country: CN\n", "    country: NO\n", "company 'acme'", "country",
     "must be text, not a boolean (false)"),
    ("companies", "    founded_year: 2013\n", '    founded_year: "abc"\n', "company 'acme'", "founded_year",
     "must be a whole number, not text ('abc')"),
    ("companies", "    founded_year: 2013\n", "    founded_year: true\n", "company 'acme'", "founded_year",
     "must be a whole number, not a boolean (true)"),
    ("companies", "    parent: null\n", "    parent: {slug: x}\n", "company 'acme'", "parent",
     "must be text, not a mapping"),
    ("companies", "  - slug: acme\n", "  - slug: 42\n", "company 42", "slug", "must be text, not a number (42)"),
    ("companies", "        garbled: false\n", '        garbled: "yes"\n', "company 'acme' alias[0]", "garbled",
     "must be true or false, not text ('yes')"),
    ("companies", "        note: ''\n", "        note: {x: 1}\n", "company 'acme' alias[0]", "note",
     "must be text, not a mapping"),
    ("companies", "      - name: Acme Corp\n", "      - name: 1.5\n", "company 'acme' alias[0]", "name",
     "must be text, not a number (1.5)"),
    ("companies", "    title: CEO of Acme\n", "    title: {a: 1}\n", "person 'jane-doe'", "title",
     "must be text, not a mapping"),
    ("companies", "    affiliation: acme\n", "    affiliation: [acme]\n", "person 'jane-doe'", "affiliation",
     "must be text, not a list"),
    ("article", "  title: Acme reports a loss\n", "  title: {a: 1}\n", "article 'acme-results'", "title",
     "must be text, not a mapping"),
    ("article", "  authors: [Ann Writer]\n", "  authors: [1]\n", "article 'acme-results'", "authors",
     "item 1 must be text, not a number (1)"),
    ("article", "  companies: [acme]\n", "  companies: acme\n", "article 'acme-results'", "companies",
     "must be a list of names, not text ('acme')"),
    ("article", "  publisher: null\n", "  publisher: 7\n", "article 'acme-results'", "publisher",
     "must be text, not a number (7)"),
    ("article", "    summary: ''\n", "    summary: 5\n", "event 'q1-loss'", "summary",
     "must be text, not a number (5)"),
    ("article", "      - {company: acme, role: subject}\n", "      - {company: [acme], role: subject}\n",
     "event 'q1-loss' participant[0]", "company", "must be text, not a list"),
    ("article", "      - {person: jane-doe, role: other}\n", "      - {person: jane-doe, role: true}\n",
     "event 'q1-loss' participant[1]", "role", "must be text, not a boolean (true)"),
    ("article", "    value: 310000000\n", '    value: "abc"\n', "figure 'q1-loss'", "value", "'abc' is not a number"),
    ("article", "    value: 310000000\n", "    value: true\n", "figure 'q1-loss'", "value",
     "must be a number, not a boolean (true)"),
    ("article", "    value: 310000000\n", "    value: .nan\n", "figure 'q1-loss'", "value",
     "must be a finite number, not nan"),
    ("article", "    value_high: null\n", "    value_high: [1]\n", "figure 'q1-loss'", "value_high",
     "must be a number, not a list"),
    ("article", "    period_label: Q1 2019\n", "    period_label: 2019\n", "figure 'q1-loss'", "period_label",
     "must be text, not a number (2019)"),
]  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize(("which", "old", "new", "record", "field", "message"), WRONG_TYPES)
def test_it_refuses_a_value_of_the_wrong_type_naming_line_record_and_field(
    tmp_path, which, old, new, record, field, message
):
    companies_text = changed(COMPANIES, old, new) if which == "companies" else COMPANIES
    article_text = changed(ARTICLE, old, new) if which == "article" else ARTICLE
    paths = dict(zip(("companies", "article"), data_set(tmp_path, companies_text, article_text), strict=True))
    text = companies_text if which == "companies" else article_text
    expected = f"{paths[which]}, line {line(text, new.strip())}: {record}: {field}: {message}"
    assert expected in refused(tmp_path)


@pytest.mark.django_db
def test_json_records_get_the_same_type_checks(tmp_path):
    data = json.loads(json.dumps(COMPANIES_JSON))
    data["companies"][0]["description"] = {"a": 1}
    data["companies"].append({"slug": "beta", "name": "Beta", "aliases": [{"name": "Beta Inc", "garbled": "yes"}]})
    path = tmp_path / "companies.json"
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    description, garbled = line(text, '"description"'), line(text, '"garbled": "yes"')
    message = refused(path)
    assert f"{path}, line {description}: company 'acme': description: must be text, not a mapping" in message
    assert f"{path}, line {garbled}: company 'beta' alias[0]: garbled: must be true or false, not text" in message


@pytest.mark.django_db
def test_json_refuses_nan(tmp_path):
    path = tmp_path / "companies.json"
    path.write_text('{"companies": [{"slug": "acme", "name": "Acme", "founded_year": NaN}]}', encoding="utf-8")
    assert f"{path}: NaN is not a number JSON allows" in refused(path)


# --- 5. control characters ------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("written", "message"),
    [
        ('"Line\\0one"', "contains a NUL character (\\x00) at character 5; it cannot be stored"),
        ('"bell\\a"', "contains the control character '\\x07' at character 5; only tab and line breaks are allowed"),
        ('"esc\\e["', "contains the control character '\\x1b' at character 4"),
    ],
)
def test_it_refuses_nul_and_control_characters_naming_the_field(tmp_path, written, message):
    text = changed(ARTICLE, "  notes: ''\n", f"  notes: {written}\n")
    _, article = data_set(tmp_path, article=text)
    assert f"{article}, line {line(text, '  notes:')}: article 'acme-results': notes: {message}" in refused(tmp_path)


@pytest.mark.django_db
def test_tabs_and_line_breaks_are_fine_in_text(tmp_path):
    data_set(tmp_path, article=changed(ARTICLE, "  notes: ''\n", '  notes: "one\\ttwo\\r\\nthree"\n'))
    fixtures_load(paths=[tmp_path])
    assert Article.objects.get().notes.startswith("one\ttwo")


@pytest.mark.django_db
def test_it_refuses_nul_characters_in_json_and_in_list_items(tmp_path):
    data = json.loads(json.dumps(COMPANIES_JSON))
    data["companies"][0]["aliases"] = ["Acme\u0000Corp"]
    path = tmp_path / "companies.json"
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    at = line(path.read_text(encoding="utf-8"), "Acme\\u0000Corp")
    assert f"{path}, line {at}: company 'acme' alias[0]: name: contains a NUL" in refused(path)


# --- 6. dates -------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("2019-02-30", "'2019-02-30'"),
        ("2019-13-01", "'2019-13-01'"),
        ("2019-08-01 10:30:00", "'2019-08-01 10:30:00'"),
        ("2019-08-01T10:30:00Z", "'2019-08-01T10:30:00Z'"),
        ("not-a-date", "'not-a-date'"),
        ("'20190801'", "'20190801'"),
        ("2019", "2019"),
        ("{a: 1}", "{'a': 1}"),
    ],
)
def test_it_refuses_an_invalid_date_naming_the_field(tmp_path, written, shown):
    text = changed(ARTICLE, "  published_on: 2019-08-01\n", f"  published_on: {written}\n")
    _, article = data_set(tmp_path, article=text)
    assert problems_of(tmp_path) == [
        (
            str(article),
            line(text, "published_on:"),
            "article 'acme-results'",
            "published_on",
            f"{shown} is not a valid date (YYYY-MM-DD)",
        )
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("old", "record", "field"),
    [
        ("    date: 2019-01-01\n", "event 'q1-loss'", "date"),
        ("    end_date: null\n", "event 'q1-loss'", "end_date"),
        ("    period_end: 2019-03-31\n", "figure 'q1-loss'", "period_end"),
    ],
)
def test_it_refuses_invalid_dates_of_events_and_figures(tmp_path, old, record, field):
    text = changed(ARTICLE, old, f"    {field}: 2019-02-30\n")
    _, article = data_set(tmp_path, article=text)
    expected = f"{article}, line {line(text, '2019-02-30')}: {record}: {field}: '2019-02-30' is not a valid date"
    assert expected in refused(tmp_path)


# --- 7. unreadable files --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_names_a_file_it_may_not_read(tmp_path, monkeypatch):
    companies, _ = data_set(tmp_path)
    companies.chmod(0)
    if os.access(companies, os.R_OK):  # running as root: permissions do not stop reading, so pretend
        real_open, real_os_open = Path.open, os.open

        def guarded_open(self, *args, **kwargs):
            if self == companies:
                raise PermissionError(13, "Permission denied", str(self))
            return real_open(self, *args, **kwargs)

        def guarded_os_open(path, *args, **kwargs):
            if Path(path) == companies:
                raise PermissionError(13, "Permission denied", str(path))
            return real_os_open(path, *args, **kwargs)

        monkeypatch.setattr(Path, "open", guarded_open)
        monkeypatch.setattr(os, "open", guarded_os_open)
    try:
        assert f"{companies}: cannot be read: Permission denied" in refused(tmp_path)
    finally:
        companies.chmod(0o644)


@pytest.mark.django_db
def test_it_names_a_file_that_is_not_utf8(tmp_path):
    companies, _ = data_set(tmp_path)
    companies.write_bytes(COMPANIES.encode() + b"  - slug: caf\xe9\n")
    expected = f"{companies}: cannot be read: not UTF-8 text (byte 0xe9 on line {COMPANIES.count(chr(10)) + 1})"
    assert expected in refused(tmp_path)


@pytest.mark.django_db
def test_it_names_a_folder_named_like_a_fixture(tmp_path):
    data_set(tmp_path)
    (tmp_path / "x.yaml").mkdir()
    assert f"{tmp_path / 'x.yaml'}: is a folder, not a fixture file" in refused(tmp_path)


@pytest.mark.django_db
def test_it_names_a_syntax_error_with_its_line(tmp_path):
    text = changed(ARTICLE, "  companies: [acme]\n", "  companies: [acme\n")
    _, article = data_set(tmp_path, article=text)
    assert f"{article}: cannot be read: invalid YAML:" in refused(tmp_path)


# --- 8. symlinks ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_follows_a_symlinked_file_inside_the_folder_and_reads_it_once(tmp_path):
    companies, _ = data_set(tmp_path / "data")
    (tmp_path / "data" / "also-companies.yaml").symlink_to(companies)
    fixtures_load(paths=[tmp_path / "data"])
    assert Company.objects.count() == 1


@pytest.mark.django_db
def test_it_refuses_a_symlink_pointing_outside_the_folder(tmp_path):
    data_set(tmp_path / "data")
    outside = tmp_path / "outside.yaml"
    outside.write_text("companies: []\n", encoding="utf-8")
    link = tmp_path / "data" / "outside.yaml"
    link.symlink_to(outside)
    assert f"{link}: is a symbolic link to {outside.resolve()}, outside {tmp_path / 'data'}; not followed" in refused(
        tmp_path / "data"
    )


@pytest.mark.django_db
def test_it_refuses_a_broken_symlink(tmp_path):
    data_set(tmp_path / "data")
    link = tmp_path / "data" / "gone.yaml"
    link.symlink_to(tmp_path / "data" / "missing.yaml")
    assert f"{link}: is a broken symbolic link" in refused(tmp_path / "data")


@pytest.mark.django_db
def test_a_problem_names_the_file_as_a_path_spells_it_however_the_folder_was_given(tmp_path, monkeypatch):
    data_set(tmp_path / "data")
    (tmp_path / "data" / "gone.yaml").symlink_to(tmp_path / "data" / "missing.yaml")
    (tmp_path / "data" / "odd.yaml").mkdir()
    message = refused(f"{tmp_path}/./data/")
    assert f"{tmp_path / 'data' / 'gone.yaml'}: is a broken symbolic link" in message
    assert f"{tmp_path / 'data' / 'odd.yaml'}: is a folder, not a fixture file" in message
    monkeypatch.chdir(tmp_path / "data")
    message = refused(Path("."))
    assert "\ngone.yaml: is a broken symbolic link" in message  # one problem a line, as Path(".") / name spells it
    assert "\nodd.yaml: is a folder, not a fixture file" in message
    assert "./" not in message


@pytest.mark.django_db
def test_it_refuses_a_symlinked_folder_instead_of_following_it(tmp_path):
    data_set(tmp_path / "data")
    (tmp_path / "elsewhere").mkdir()
    link = tmp_path / "data" / "more"
    link.symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (tmp_path / "data" / "loop").symlink_to(tmp_path / "data", target_is_directory=True)
    message = refused(tmp_path / "data")
    assert f"{link}: is a symbolic link to a folder; linked folders are not followed" in message
    assert f"{tmp_path / 'data' / 'loop'}: is a symbolic link to a folder" in message


def test_files_are_found_in_the_order_and_by_the_names_a_plain_walk_gives(tmp_path):
    """``discover_files`` lists what ``os.walk`` and ``Path`` give (sorted as Paths sort, by their parts, so
    ``a/z.yaml`` before ``a-b/x.yaml`` though ``-`` sorts before ``/`` as text), a file named twice or reached
    through a link once by its own name, and skips what is not a fixture (``.yaml`` alone is a hidden file)."""
    data = tmp_path / "data"
    for name in ("a/z.yaml", "a-b/x.yaml", "a.b/c/d.json", "b.yaml", "B.yaml", "a0.yaml", ".yaml", "notes.txt"):
        (data / name).parent.mkdir(parents=True, exist_ok=True)
        (data / name).write_text("companies: []\n", encoding="utf-8")
    (data / "a" / "link.yaml").symlink_to(data / "b.yaml")
    expected = sorted(
        Path(folder) / name
        for folder, _folders, names in os.walk(data)
        for name in names
        if Path(name).suffix in (".yaml", ".json") and name != "link.yaml"
    )
    assert [p.relative_to(data).as_posix() for p in expected] == [
        "B.yaml", "a/z.yaml", "a-b/x.yaml", "a.b/c/d.json", "a0.yaml", "b.yaml"
    ]  # fmt: skip

    assert discover_files([data]) == expected
    assert discover_files([data / "b.yaml", data, data / "a" / "link.yaml"]) == [data / "b.yaml", *expected[:-1]]
    assert discover_files([data / "a" / "link.yaml", data]) == expected  # b.yaml by its own name


# --- 9. size --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_refuses_a_file_over_the_size_limit_before_parsing(tmp_path):
    data_set(tmp_path)
    huge = tmp_path / "huge.yaml"
    # An unclosed flow list: parsing it would be an error too, but the size check comes first.
    huge.write_bytes(b"companies: [" + b"x" * MAX_FILE_BYTES)
    assert f"{huge}: is larger than 5 MB; split it" in refused(tmp_path)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1234567890123456789", "Ensure that there are no more than 18 digits before the decimal point."),
        ("'310000000.1234567'", "Ensure that there are no more than 6 decimal places."),
        ("'1234567890123456789012345'", "Ensure that there are no more than 24 digits in total."),
    ],
)
def test_a_figure_value_with_too_many_digits_gets_djangos_message(tmp_path, value, message):
    _companies, article = data_set(tmp_path, article=changed(ARTICLE, "value: 310000000", f"value: {value}"))
    found = [(record, field, text) for _file, _line, record, field, text in problems_of(tmp_path)]
    assert found == [("figure 'q1-loss'", "value", message)], found


@pytest.mark.django_db
def test_a_founded_year_beyond_the_integer_column_gets_djangos_message(tmp_path):
    from django.db import connection

    highest = connection.ops.integer_field_range("PositiveSmallIntegerField")[1]  # 32767; SQLite's is 64 bits
    data_set(tmp_path, companies=changed(COMPANIES, "founded_year: 2013", f"founded_year: {2**64}"))
    found = [(record, field, text) for _file, _line, record, field, text in problems_of(tmp_path)]
    message = f"Ensure this value is less than or equal to {highest}."
    assert found[0] == ("company 'acme'", "founded_year", message), found  # then everything that names acme
