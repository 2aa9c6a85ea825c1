"""History: every change through the admin or the loader is recorded with its author; revert restores."""

import shutil
from decimal import Decimal
from io import StringIO

import pytest
import yaml
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse

from articles.choices import ReviewStatus
from articles.models import Article, Company, Event, Figure
from articles.services.articles import article_save
from articles.services.companies import company_save
from articles.services.events import event_save
from articles.services.figures import figure_save
from articles.services.fixtures import fixtures_load

from .base import (
    AURADINE_ARTICLE,
    AURADINE_QUOTE,
    FIXTURES_DIR,
    auradine_figure,
    change_url,
    changeform_data,
    form_errors,
)

# Mentioned by the 2018 sell-off story, but in none of its events or figures (so a mention that can go).
NAMED_IN_PASSING = "technode"
NOTE = "Translation error: other reports of the same Bloomberg story say $80 million."


def correct_auradine(client, reason: str = "Checked against Bloomberg's English original"):
    figure = auradine_figure()
    url = change_url(figure)
    data = changeform_data(
        client.get(url), value="80000000", status=ReviewStatus.CORRECTED, note=NOTE, change_reason=reason
    )
    response = client.post(url, data)
    assert response.status_code == 302, form_errors(response)
    return Figure.objects.get(pk=figure.pk)


HEARING = ("bitmain-made-in-usa-threat-2024", "senate-banking-hearing-mineone")


def hearing() -> Event:
    return Event.objects.get(article__slug=HEARING[0], key=HEARING[1])


@pytest.mark.usefixtures("curated_readonly")
class TestWhatTheLoaderRecords:
    """The history entries the loader leaves (the curated data, loaded once for the class)."""

    def test_the_loader_leaves_one_history_entry_per_record_by_load_fixtures(self):
        (entry,) = auradine_figure().history.all()
        assert (entry.history_type, entry.history_user.username, entry.history_change_reason) == (
            "+",
            "load_fixtures",
            "load_fixtures",
        )

    def test_the_loaders_history_entry_of_an_event_holds_its_participants(self):
        [entry] = hearing().history.all()
        assert {"company": None, "person": "elizabeth-warren", "role": "speaker"} in entry.lists["participants"]
        assert len(entry.lists["participants"]) == hearing().participants.count()

    def test_the_loaders_history_entry_of_a_company_holds_its_aliases(self):
        [entry] = Company.objects.get(slug="bitmain").history.all()
        snapshot = {alias["name"]: alias for alias in entry.lists["aliases"]}
        assert {"Betland", "Battle", "Etherdo"} <= set(snapshot)
        assert snapshot["Betland"]["garbled"] is True and snapshot["Betland"]["note"]


def test_a_reload_with_a_changed_fixture_leaves_one_entry_by_load_fixtures(curated, tmp_path):
    copy = tmp_path / "fixtures"
    shutil.copytree(FIXTURES_DIR, copy)
    path = copy / "articles" / f"{AURADINE_ARTICLE}.yaml"
    doc = yaml.safe_load(path.read_text())
    (record,) = [f for f in doc["figures"] if f["key"] == "auradine-april-2024-funding"]
    record["period_label"] = "April of 2024"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))

    fixtures_load(paths=[copy])

    newest, *older = auradine_figure().history.all()
    assert len(older) == 1
    assert (newest.history_type, newest.history_user.username, newest.history_change_reason) == (
        "~",
        "load_fixtures",
        "load_fixtures",
    )
    assert [(c.field, c.old, c.new) for c in newest.diff_against(older[0]).changes if c.field == "period_label"] == [
        ("period_label", "April 2024", "April of 2024")
    ]


def test_an_admin_change_leaves_one_history_entry_with_the_editor_and_reason(curated, editor_client, editor):
    before = auradine_figure().history.count()
    figure = correct_auradine(editor_client)
    assert figure.history.count() == before + 1
    newest, previous = figure.history.all()[:2]
    assert (newest.history_type, newest.history_user, newest.history_change_reason) == (
        "~",
        editor,
        "Checked against Bloomberg's English original",
    )
    changes = {c.field: (c.old, c.new) for c in newest.diff_against(previous).changes}
    assert changes["value"] == (Decimal("8000000"), Decimal("80000000"))
    assert changes["status"] == ("reported", "corrected")


def test_an_admin_change_without_a_reason_leaves_no_reason(curated, editor_client):
    figure = correct_auradine(editor_client, reason="")
    assert figure.history.latest().history_change_reason is None


def test_the_history_page_shows_who_changed_what_and_why(curated, editor_client):
    figure = correct_auradine(editor_client)
    page = editor_client.get(reverse("admin:articles_figure_history", args=[figure.pk])).content.decode()
    page = " ".join(page.split())
    assert ">editor</a> </td> <td> Checked against Bloomberg&#x27;s English original </td>" in page
    assert ">load_fixtures</a> </td> <td> load_fixtures </td>" in page
    assert "<strong>Value:</strong> 8000000.000000 &nbsp;&rarr;&nbsp;&nbsp;80000000.000000" in page
    assert "<strong>Status:</strong> reported &nbsp;&rarr;&nbsp;&nbsp;corrected" in page


def test_revert_restores_the_earlier_values(curated, editor_client, editor):
    figure = correct_auradine(editor_client)
    original = figure.history.earliest()
    url = reverse("admin:articles_figure_simple_history", args=[figure.pk, original.history_id])
    page = editor_client.get(url)
    assert page.status_code == 200

    response = editor_client.post(url, changeform_data(page, change_reason="The correction was premature"))

    assert response.status_code == 302, form_errors(response)
    figure.refresh_from_db()
    assert figure.value == Decimal("8000000")
    assert figure.status == ReviewStatus.REPORTED
    assert figure.note == original.note
    assert figure.reviewed_by is None
    newest = figure.history.latest()
    assert newest.history_user == editor
    assert newest.history_change_reason.startswith("Reverted to the version of ")
    assert newest.history_change_reason.endswith(": The correction was premature")


def test_revert_from_a_stale_history_page_is_refused(curated, editor_client):
    figure = correct_auradine(editor_client)
    url = reverse("admin:articles_figure_simple_history", args=[figure.pk, figure.history.earliest().history_id])
    stale_page = editor_client.get(url)
    figure_save(figure=figure, data={"note": "A colleague's note."}, user=User.objects.create_user("colleague"))

    response = editor_client.post(url, changeform_data(stale_page))

    assert response.status_code == 200
    assert "Someone else saved this figure" in form_errors(response)["__all__"][0]
    figure.refresh_from_db()
    assert figure.value == Decimal("80000000")


def test_a_reload_after_an_editors_correction_keeps_the_correction(curated, editor_client, editor):
    figure = correct_auradine(editor_client)
    entries = figure.history.count()
    out = StringIO()

    call_command("load_fixtures", stdout=out)

    figure.refresh_from_db()
    assert (figure.value, figure.status, figure.note, figure.as_reported) == (
        Decimal("80000000"),
        ReviewStatus.CORRECTED,
        NOTE,
        "$ 8 million",
    )
    assert figure.history.count() == entries
    assert figure.history.latest().history_user == editor
    assert "0 created, 0 updated" in out.getvalue()


def test_a_reload_keeps_an_editors_change_to_an_event(curated, editor_client, tmp_path):
    event = Event.objects.get(article__slug=AURADINE_ARTICLE, quote=AURADINE_QUOTE)
    url = change_url(event)
    response = editor_client.post(url, changeform_data(editor_client.get(url), title="Auradine raises $80 million"))
    assert response.status_code == 302, form_errors(response)
    # The fixture changes the same event too; the editor's version is kept.
    copy = tmp_path / "fixtures"
    shutil.copytree(FIXTURES_DIR, copy)
    path = copy / "articles" / f"{AURADINE_ARTICLE}.yaml"
    doc = yaml.safe_load(path.read_text())
    (record,) = [e for e in doc["events"] if e["quote"] == AURADINE_QUOTE]
    record["summary"] = "Changed in the fixtures."
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))

    out = StringIO()
    call_command("load_fixtures", str(copy), stdout=out)

    event.refresh_from_db()
    assert event.title == "Auradine raises $80 million"
    assert event.summary != "Changed in the fixtures."
    assert "1 kept" in out.getvalue()


def test_a_figure_added_in_the_admin_has_a_created_entry_by_the_editor(curated, editor_client, editor):
    article = auradine_figure().article
    url = reverse("admin:articles_figure_add")
    data = changeform_data(
        editor_client.get(url),
        article=article.pk,
        key="auradine-funding-again",
        company=auradine_figure().company_id,
        metric="funding_raised",
        as_reported="$ 8 million",
        value="8000000",
        unit="USD",
        quote="Auradine raised $ 8 million",
        change_reason="A second reading of the same sentence",
    )
    response = editor_client.post(url, data)
    assert response.status_code == 302, form_errors(response)
    (created,) = Figure.objects.get(article=article, key="auradine-funding-again").history.all()
    assert (created.history_type, created.history_user, created.history_change_reason) == (
        "+",
        editor,
        "A second reading of the same sentence",
    )


def test_an_articles_mention_lists_are_part_of_its_history_through_the_api(curated, editor):
    from rest_framework.test import APIClient

    article = Article.objects.get(slug="bitmain-suspends-spot-sales-2021")
    client = APIClient()
    client.force_authenticate(editor)
    before = sorted(article.companies.values_list("slug", flat=True))
    response = client.patch(
        f"/api/articles/{article.slug}/",
        {"companies": [*before, "canaan"], "change_reason": "Canaan is named in the related coverage"},
        format="json",
    )
    assert response.status_code == 200
    assert article.history.count() == 2  # the loader's entry and this one: one entry for one change
    [latest, _] = client.get(f"/api/articles/{article.slug}/history/").json()
    assert latest["user"] == "editor" and latest["reason"] == "Canaan is named in the related coverage"
    change = next(c for c in latest["changes"] if c["field"] == "companies")
    assert change == {"field": "companies", "old": ", ".join(before), "new": ", ".join(sorted([*before, "canaan"]))}


def test_an_article_mention_removed_in_the_admin_is_one_history_entry_with_the_old_list(curated, editor, client):
    article = Article.objects.get(slug="china-miners-sell-off-2018")
    passing = Company.objects.get(slug=NAMED_IN_PASSING)
    client.force_login(editor)
    page = client.get(change_url(article))
    kept = [str(pk) for pk in article.companies.exclude(pk=passing.pk).values_list("pk", flat=True)]
    data = changeform_data(page, companies=kept, change_reason="TechNode is only named in passing")
    response = client.post(change_url(article), data)
    assert response.status_code == 302, form_errors(response)
    assert article.history.count() == 2
    latest = article.history.first()
    assert (latest.history_user, latest.history_change_reason) == (editor, "TechNode is only named in passing")
    assert NAMED_IN_PASSING not in latest.lists["companies"]
    assert NAMED_IN_PASSING in latest.prev_record.lists["companies"]


def test_revert_restores_an_articles_earlier_mention_list(curated, editor_client, editor):
    article = Article.objects.get(slug="china-miners-sell-off-2018")
    original = sorted(article.companies.values_list("slug", flat=True))
    later = [c for c in article.companies.all() if c.slug != NAMED_IN_PASSING]  # a later change to the list
    article_save(article=article, data={"companies": later}, user=editor)
    url = reverse("admin:articles_article_simple_history", args=[article.pk, article.history.earliest().history_id])
    page = editor_client.get(url)
    entries = article.history.count()
    response = editor_client.post(url, changeform_data(page, change_reason="TechNode is named after all"))
    assert response.status_code == 302, form_errors(response)
    assert sorted(article.companies.values_list("slug", flat=True)) == original
    assert article.history.count() == entries + 1
    assert article.history.first().lists["companies"] == original


def test_a_participant_change_through_the_api_is_one_event_history_entry_with_old_and_new(curated, editor):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(editor)
    event = hearing()
    response = client.patch(
        f"/api/events/{event.pk}/",
        {"participants": [{"person": "elizabeth-warren", "role": "speaker"}], "change_reason": "Only Warren spoke"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert event.history.count() == 2
    [latest, _] = client.get(f"/api/events/{event.pk}/history/").json()
    assert (latest["user"], latest["reason"]) == ("editor", "Only Warren spoke")
    change = next(c for c in latest["changes"] if c["field"] == "participants")
    assert "paul-rosen (speaker)" in change["old"]
    assert change["new"] == "elizabeth-warren (speaker)"


def test_revert_restores_an_events_earlier_participants(curated, editor_client, editor):
    event = hearing()
    before = {(p.company_id, p.person_id, p.role) for p in event.participants.all()}
    with_one = [{"company": None, "person": event.participants.filter(person__isnull=False).first().person,
                 "role": "speaker"}]  # fmt: skip
    event_save(event=event, data={"participants": with_one}, user=editor, reason="trim")
    assert event.participants.count() == 1

    url = reverse("admin:articles_event_simple_history", args=[event.pk, event.history.earliest().history_id])
    page = editor_client.get(url)
    response = editor_client.post(url, changeform_data(page, change_reason="All of them took part"))
    assert response.status_code == 302, form_errors(response)
    assert {(p.company_id, p.person_id, p.role) for p in event.participants.all()} == before
    assert event.history.count() == 3
    assert event.history.first().lists == event.history.earliest().lists


def test_an_alias_fix_through_the_api_is_one_company_history_entry_with_old_and_new(curated, editor):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(editor)
    canaan = Company.objects.get(slug="canaan")
    names = sorted(canaan.aliases.values_list("name", flat=True))
    response = client.patch(
        "/api/companies/canaan/",
        {"aliases": [*names, "Jianan Yunzhi"], "change_reason": "its Chinese name"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert canaan.history.count() == 2
    [latest, _] = client.get("/api/companies/canaan/history/").json()
    change = next(c for c in latest["changes"] if c["field"] == "aliases")
    assert "Jianan Yunzhi" not in change["old"] and "Jianan Yunzhi" in change["new"]
    assert "Cannan Creative (garbled)" in change["new"]
    assert (latest["user"], latest["reason"]) == ("editor", "its Chinese name")


def test_an_api_change_that_leaves_the_lists_alone_shows_no_list_change(curated, editor):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(editor)
    event = hearing()
    assert client.patch(f"/api/events/{event.pk}/", {"summary": "Shorter."}, format="json").status_code == 200
    [latest, _] = client.get(f"/api/events/{event.pk}/history/").json()
    assert [c["field"] for c in latest["changes"]] == ["summary"]


def test_revert_restores_a_companys_earlier_aliases(curated, editor_client, editor):
    bitmain = Company.objects.get(slug="bitmain")
    before = set(bitmain.aliases.values_list("name", "garbled", "note"))
    company_save(company=bitmain, data={"aliases": ["Bitmain Technologies"]}, user=editor, reason="trim")
    url = reverse("admin:articles_company_simple_history", args=[bitmain.pk, bitmain.history.earliest().history_id])
    page = editor_client.get(url)
    response = editor_client.post(url, changeform_data(page, change_reason="The garbles are real"))
    assert response.status_code == 302, form_errors(response)
    assert set(bitmain.aliases.values_list("name", "garbled", "note")) == before


def test_the_admin_history_page_shows_what_a_list_change_did(curated, editor_client, editor):
    event = hearing()
    warren = event.participants.get(person__slug="elizabeth-warren").person
    only = [{"company": None, "person": warren, "role": "speaker"}]
    event_save(event=event, data={"participants": only}, user=editor, reason="only the senator")
    page = editor_client.get(reverse("admin:articles_event_history", args=[event.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "<strong>participants:</strong>" in html
    assert "→ elizabeth-warren (speaker)" in html
