"""One write path per record: what every write through the API, the admin and the services guarantees.

Quotes stay true when a body changes, unchanged submissions write nothing, the article's mentions follow
its events and figures, parent cycles are refused, corrections say why, concurrent writers without a
precondition all get through, and a merged company's old slug keeps working as a filter value.
"""

import threading

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.db import connection
from rest_framework.test import APIClient

from articles.models import Article, Company, Event, Figure
from articles.services.base import StaleWriteError
from articles.services.companies import company_merge, company_save
from articles.services.figures import figure_save

from .base import (
    BODY,
    FUNDING_QUOTE,
    SALE_QUOTE,
    browser_post_data,
    detail_path,
    history_of,
    make_article,
    make_company,
    make_event,
    make_figure,
    token_client,
)

Q1_2019 = "bitmain-q1-2019-loss"
USA_2024 = "bitmain-made-in-usa-threat-2024"  # 80 line breaks, ~50 events and figures


def offsets_are_true(article: Article) -> None:
    for record in [*Event.objects.filter(article=article), *Figure.objects.filter(article=article)]:
        assert article.body[record.quote_start : record.quote_end] == record.quote, record.key


@pytest.fixture
def editor_api(editor):
    return token_client(editor)


@pytest.fixture
def small(db):
    """An article with an event and two figures quoting it."""
    acme = make_company("acme-mining")
    article = make_article("acme-story", companies=(acme,))
    event = make_event(article, "sale", quote=SALE_QUOTE, participants=((acme, "supplier"),))
    revenue = make_figure(article, "revenue", company=acme)
    funding = make_figure(
        article, "funding", metric="funding_raised", as_reported="$20 million", value=20000000, quote=FUNDING_QUOTE
    )
    return {"article": article, "acme": acme, "event": event, "revenue": revenue, "funding": funding}


# -- Provenance: a body change keeps every quote true ----------------------------------------------------------


def test_a_body_edit_that_keeps_every_quote_rewrites_their_offsets(editor_api, small):
    article = small["article"]
    response = editor_api.patch(detail_path(article), {"body": "Updated 2024. " + BODY}, format="json")
    assert response.status_code == 200, response.content
    article.refresh_from_db()
    assert article.body.startswith("Updated 2024. ") and article.version == 2
    offsets_are_true(article)
    small["revenue"].refresh_from_db()
    assert small["revenue"].quote_start == len("Updated 2024. ")


def test_a_body_edit_that_loses_quotes_is_a_400_naming_each_record_and_writes_nothing(editor_api, small):
    article = small["article"]
    body = BODY.replace(SALE_QUOTE, "").replace("$20 million", "$2 million")
    response = editor_api.patch(detail_path(article), {"body": body}, format="json")
    assert response.status_code == 400
    [message] = response.json()["body"]
    assert "event 'sale'" in message and "figure 'funding'" in message
    assert "figure 'revenue'" not in message
    article.refresh_from_db()
    assert (article.body, article.version) == (BODY, 1)
    assert Article.history.filter(id=article.pk).count() == 1  # its creation only


def test_the_real_253_million_edit_is_refused_naming_the_four_figures(editor_api, curated):
    article = Article.objects.get(slug=Q1_2019)
    quoting = sorted(Figure.objects.filter(article=article, quote__contains="$253 million each").values_list("key"))
    body = article.body.replace("$253 million each", "$235 million each")
    response = editor_api.patch(detail_path(article), {"body": body}, format="json")
    assert response.status_code == 400
    [message] = response.json()["body"]
    assert len(quoting) >= 1
    for (key,) in quoting:
        assert f"'{key}'" in message
    assert Article.objects.get(slug=Q1_2019).body == article.body


def test_a_body_sent_with_crlf_line_endings_is_stored_with_lf_and_is_no_change(editor_api, curated):
    article = Article.objects.get(slug=USA_2024)
    before = history_of(article)
    response = editor_api.patch(detail_path(article), {"body": article.body.replace("\n", "\r\n")}, format="json")
    assert response.status_code == 200
    stored = Article.objects.get(pk=article.pk)
    assert (stored.body, stored.version) == (article.body, article.version)
    assert history_of(article) == before


# -- No-op writes ----------------------------------------------------------------------------------------------


def test_a_patch_that_changes_nothing_keeps_the_version_and_writes_no_history(editor_api, small):
    figure = small["revenue"]
    response = editor_api.patch(detail_path(figure), {"as_reported": "$1.5 million"}, format="json")
    assert response.status_code == 200
    assert response.json()["version"] == 1 and response["ETag"] == '"1"'
    assert Figure.history.filter(id=figure.pk).count() == 1  # its creation only


def test_an_admin_round_trip_of_an_unchanged_article_writes_nothing(client, editor, curated):
    """The browser's way: every field and every inline form posted back, textareas with CRLF."""
    article = Article.objects.get(slug=USA_2024)
    url = f"/admin/articles/article/{article.pk}/change/"
    client.force_login(editor)
    page = client.get(url)
    data = browser_post_data(page.content.decode())
    assert any("\r\n" in value for values in data.values() for value in values)  # the body went back as CRLF
    assert any(name.startswith("events-") for name in data) and any(name.startswith("figures-") for name in data)
    counts = (Article.history.count(), Event.history.count(), Figure.history.count(), LogEntry.objects.count())
    versions = {r.key: r.version for r in [*article.events.all(), *article.figures.all()]}
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    stored = Article.objects.get(pk=article.pk)
    assert stored.body.encode() == article.body.encode()
    assert stored.version == article.version
    assert (Article.history.count(), Event.history.count(), Figure.history.count(), LogEntry.objects.count()) == counts
    assert {r.key: r.version for r in [*stored.events.all(), *stored.figures.all()]} == versions
    offsets_are_true(stored)


@pytest.mark.parametrize("model", ["event", "company"])
def test_an_admin_round_trip_of_an_unchanged_record_with_a_list_inline_writes_nothing(client, editor, curated, model):
    record = Event.objects.filter(participants__isnull=False).first() if model == "event" else None
    record = record or Company.objects.get(slug="bitmain")
    url = f"/admin/articles/{model}/{record.pk}/change/"
    client.force_login(editor)
    data = browser_post_data(client.get(url).content.decode())
    before = type(record).history.count()
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    stored = type(record).objects.get(pk=record.pk)
    assert stored.version == record.version and type(record).history.count() == before


def test_an_admin_body_edit_that_loses_a_quote_is_refused_on_the_form_naming_the_records(client, editor, small):
    article = small["article"]
    url = f"/admin/articles/article/{article.pk}/change/"
    client.force_login(editor)
    data = browser_post_data(client.get(url).content.decode())
    data["body"] = [BODY.replace(SALE_QUOTE, "")]
    response = client.post(url, data)
    assert response.status_code == 200
    html = response.content.decode()
    # The event's row on the page carries the error; its quote is named.
    assert 'id="id_events-0-quote_error"' in html and "does not occur verbatim" in html
    assert "Acme Mining sold 12,000 machines to Borealis Hashing." in html
    article.refresh_from_db()
    assert (article.body, article.version) == (BODY, 1)


def test_an_admin_body_edit_that_keeps_the_quotes_rewrites_their_offsets(client, editor, small):
    article = small["article"]
    url = f"/admin/articles/article/{article.pk}/change/"
    client.force_login(editor)
    data = browser_post_data(client.get(url).content.decode())
    data["body"] = ["A new first line.\r\n" + BODY]
    assert client.post(url, data).status_code == 302
    article.refresh_from_db()
    assert article.body == "A new first line.\n" + BODY and article.version == 2
    offsets_are_true(article)


# -- Mention closure in every path ----------------------------------------------------------------------------


def test_an_event_created_through_the_api_adds_its_participants_to_the_articles_mentions(editor_api, small):
    borealis = make_company("borealis-hashing")
    data = {
        "article": "acme-story",
        "title": "Borealis buys machines",
        "type": "order_contract",
        "date": "2023-01-01",
        "date_precision": "year",
        "quote": SALE_QUOTE,
        "participants": [{"company": "borealis-hashing", "role": "customer"}],
    }
    response = editor_api.post("/api/events/", data, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["key"] == "borealis-buys-machines"
    found = editor_api.get("/api/articles/", {"company": "borealis-hashing"}).json()
    assert [a["slug"] for a in found["results"]] == ["acme-story"]
    newest = Article.history.filter(id=small["article"].pk).latest("history_id")
    assert newest.history_change_reason == "Mentions what its events and figures involve"
    assert newest.lists == {"companies": ["acme-mining", "borealis-hashing"], "people": []}
    assert borealis.articles.count() == 1


def test_a_figure_edited_in_the_admin_adds_its_company_to_the_articles_mentions(client, editor, small):
    borealis = make_company("borealis-hashing")
    figure = small["funding"]
    url = f"/admin/articles/figure/{figure.pk}/change/"
    client.force_login(editor)
    data = browser_post_data(client.get(url).content.decode())
    data["company"] = [str(borealis.pk)]
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert set(small["article"].companies.values_list("slug", flat=True)) == {"acme-mining", "borealis-hashing"}


def test_removing_an_involved_company_from_the_mentions_keeps_it(editor_api, small):
    response = editor_api.patch(detail_path(small["article"]), {"companies": []}, format="json")
    assert response.status_code == 200
    assert response.json()["companies"] == ["acme-mining"]


# -- Companies ------------------------------------------------------------------------------------------------


def test_a_parent_that_closes_a_cycle_is_refused_through_the_api(editor_api, db):
    top = make_company("top")
    middle = make_company("middle", parent=top)
    make_company("bottom", parent=middle)
    response = editor_api.patch(detail_path(top), {"parent": "bottom"}, format="json")
    assert response.status_code == 400
    assert response.json()["parent"] == ["That parent would make a cycle: top → bottom → middle → top."]
    top.refresh_from_db()
    assert top.parent_id is None and top.version == 1


def test_the_api_shows_aliases_with_their_garbled_flag_and_note_and_keeps_them_on_a_names_only_write(editor_api, db):
    company = make_company("bitmain")
    response = editor_api.patch(
        detail_path(company),
        {"aliases": [{"name": "Betland", "garbled": True, "note": "2024 translation"}, "Bitmain Technologies"]},
        format="json",
    )
    assert response.status_code == 200, response.content
    expected = [
        {"name": "Betland", "garbled": True, "note": "2024 translation"},
        {"name": "Bitmain Technologies", "garbled": False, "note": ""},
    ]
    assert response.json()["aliases"] == expected
    again = editor_api.patch(detail_path(company), {"aliases": ["Betland", "Bitmain Technologies"]}, format="json")
    assert again.json()["aliases"] == expected and again.json()["version"] == 2


def test_a_merged_companys_old_slug_still_works_as_a_filter_value(editor_api, editor, small):
    dup = make_company("acme-mining-inc")
    make_figure(small["article"], "dup-revenue", company=dup)
    company_merge(survivor=small["acme"], duplicates=[dup], user=editor)
    response = editor_api.get("/api/figures/", {"company": "acme-mining-inc"})
    assert response.status_code == 200, response.content
    assert sorted(f["key"] for f in response.json()["results"]) == ["dup-revenue", "revenue"]


# -- Figures --------------------------------------------------------------------------------------------------


def test_a_correction_needs_a_note_written_with_it_not_an_older_one(editor_api, small):
    figure = small["revenue"]
    Figure.objects.filter(pk=figure.pk).update(note="Loader's note from long ago.")
    data = {"status": "corrected", "value": "1600000"}
    response = editor_api.patch(detail_path(figure), data, format="json")
    assert response.status_code == 400
    assert "note" in response.json()
    response = editor_api.patch(detail_path(figure), {**data, "note": "The filing says $1.6 million."}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["reviewed_by"]) == ("corrected", "editor")


def test_a_stale_expected_version_is_refused_by_the_service(editor, small):
    with pytest.raises(StaleWriteError):
        figure_save(figure=small["revenue"], data={"note": "x"}, user=editor, expected_version=5)
    assert Figure.objects.get(pk=small["revenue"].pk).note == ""


def test_a_created_record_has_version_1_and_one_history_entry_with_its_lists(editor, db):
    company = company_save(data={"slug": "acme", "name": "Acme", "aliases": ["ACME"]}, user=editor, reason="new")
    [entry] = Company.history.filter(id=company.pk)
    assert (company.version, entry.history_type, entry.history_user, entry.history_change_reason) == (
        1,
        "+",
        editor,
        "new",
    )
    assert entry.lists == {"aliases": [{"name": "ACME", "garbled": False, "note": ""}]}


# -- Concurrency ----------------------------------------------------------------------------------------------


@pytest.fixture
def figure_writer(transactional_db) -> User:
    """A user allowed to change figures (the transactional test starts from the migrated database: conftest)."""
    user = User.objects.create_user("figure-writer")
    user.user_permissions.add(Permission.objects.get(content_type__app_label="articles", codename="change_figure"))
    return user


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="the in-memory SQLite test database locks whole tables across threads; CI runs this on PostgreSQL",
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_patches_without_if_match_all_get_through(figure_writer):
    article = make_article("acme-story")
    figure = make_figure(article, "revenue")
    token = token_client(figure_writer)._credentials["HTTP_AUTHORIZATION"]
    statuses, notes = [], [f"note {n}" for n in range(12)]

    def patch(note: str) -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=token)
        try:
            statuses.append(client.patch(detail_path(figure), {"note": note}, format="json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=patch, args=(note,)) for note in notes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * len(notes)
    figure.refresh_from_db()
    assert figure.version == 1 + len(notes) and figure.note in notes
    assert Figure.history.filter(id=figure.pk).count() == 1 + len(notes)  # its creation, then one per PATCH
