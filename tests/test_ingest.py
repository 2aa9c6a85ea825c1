"""Ingest: from a new article's text to an article with its mentions and proposals, by the command, the admin page
or the API, one service behind the three; the same text twice is recognised; bad input writes nothing."""

import datetime
import json
import re

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from articles.choices import ReviewStatus
from articles.models import Article, Event, Figure, Ingestion
from articles.services.ingest import IngestError, article_ingest, text_fingerprint

from .base import database_fingerprint, make_company, make_person, token_client

pytestmark = pytest.mark.django_db

TEXT = """Canaan reports first-quarter results

Canaan, the Chinese maker of mining machines, said its revenue rose to $211 million in the first quarter of 2024. \
The company's net loss narrowed to $39 million in the same period. Bitmian raised $50 million from investors in \
March, according to Bloomberg. Jihan Wu said the market share of Bitmain was about 70 percent last year. \
Hashwave Technologies launched a new miner on 3 April 2024.
"""


@pytest.fixture
def known(db):
    """The companies and people the text names (Bitmain garbled once as "Bitmian")."""
    return {
        "canaan": make_company("canaan", name="Canaan", kind="hardware_maker"),
        "bitmain": make_company("bitmain", name="Bitmain", kind="hardware_maker"),
        "bloomberg": make_company("bloomberg", name="Bloomberg", kind="media"),
        "jihan-wu": make_person("jihan-wu", name="Jihan Wu"),
    }


def ingest(**changes):
    return article_ingest(**{"text": TEXT, "published_on": "2024-05-20", "source": "command", **changes})


# -- The service ---------------------------------------------------------------------------------------------------


def test_it_stores_the_article_its_mentions_and_hidden_proposals(known, editor):
    result = ingest(user=editor, publisher="bloomberg", url="https://example.com/canaan")
    article = result.article
    assert result.created and (article.slug, article.title) == (
        "canaan-reports-first-quarter-results",
        TEXT.split("\n")[0],
    )
    assert article.body == TEXT.strip()
    assert (article.publisher.slug, article.published_on, article.published_precision) == (
        "bloomberg",
        datetime.date(2024, 5, 20),
        "day",
    )
    assert set(article.companies.values_list("slug", flat=True)) == {"canaan", "bitmain", "bloomberg"}
    assert set(article.people.values_list("slug", flat=True)) == {"jihan-wu"}
    figures = {f.as_reported: f for f in Figure.objects.filter(article=article)}
    assert "$211 million" in figures and figures["$211 million"].company.slug == "canaan"
    assert {f.status for f in figures.values()} == {ReviewStatus.PROPOSED}
    for figure in figures.values():
        assert article.body[figure.quote_start : figure.quote_end] == figure.quote
    assert Event.objects.filter(article=article).exists()
    assert set(Event.objects.filter(article=article).values_list("status", flat=True)) == {"proposed"}
    ingestion = Ingestion.objects.get(article=article)
    assert (ingestion.source, ingestion.created_by, ingestion.text_sha256) == (
        "command",
        editor,
        text_fingerprint(TEXT),
    )
    # "Bitmian" is not offered: Bitmain is named for certain later in the text, so the article mentions it anyway.
    assert [(m["kind"], m["name"]) for m in ingestion.mentions] == [("new_company", "Hashwave Technologies")]
    assert len(ingestion.proposals) == len(result.figures) + len(result.events)
    # Nothing proposed is public.
    assert APIClient().get("/api/figures/", {"article": article.slug}).json()["count"] == 0
    assert APIClient().get("/api/events/", {"article": article.slug}).json()["count"] == 0


def test_the_same_text_again_is_recognised_and_not_stored_twice(known):
    first = ingest()
    before = database_fingerprint()
    again = ingest(text="  " + TEXT.replace("\n\n", "\r\n\r\n").replace(". ", ".  ") + "\n\n", title="Other title")
    assert (again.created, again.article.pk) == (False, first.article.pk)
    assert database_fingerprint() == before


@pytest.mark.parametrize("same", ["published_on", "title", "url"])
def test_the_text_of_an_article_that_came_in_another_way_is_recognised(curated, same):
    """A curated article (loaded by load_fixtures, never ingested) pasted again, its line endings and spacing
    changed, with only its date, its title or its url as it was stored."""
    Article.objects.filter(slug="bitmain-suspends-spot-sales-2021").update(url="https://example.com/spot-sales")
    stored = Article.objects.get(slug="bitmain-suspends-spot-sales-2021")
    given = {
        "published_on": "2020-01-01",
        "title": "Another title",
        "url": "https://example.com/elsewhere",
        same: stored.published_on.isoformat() if same == "published_on" else getattr(stored, same),
    }
    before = database_fingerprint()
    result = article_ingest(text="\r\n" + stored.body.replace("\n", "\r\n").replace(". ", ".  "), **given)
    assert (result.created, result.article.pk) == (False, stored.pk)
    assert database_fingerprint() == before


def test_a_text_that_differs_by_a_word_from_a_stored_one_is_a_new_article(curated):
    stored = Article.objects.get(slug="bitmain-suspends-spot-sales-2021")
    text = stored.body.replace("Bitmain", "Bitmian", 1)
    before = database_fingerprint()
    result = article_ingest(text=text, published_on=stored.published_on.isoformat(), title=stored.title, dry_run=True)
    # Not recognised: the dry run proposes as for a new article (and writes nothing).
    assert result.created and result.dry_run and result.mentions.get("duplicate") is None
    assert database_fingerprint() == before


def test_a_dry_run_proposes_and_writes_nothing(known):
    before = database_fingerprint()
    result = ingest(dry_run=True)
    assert result.dry_run and result.figures
    assert database_fingerprint() == before
    assert result.to_json()["figures"][0]["id"] is None


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"text": ""}, "text", "The text is empty."),
        ({"text": " \n\t \n"}, "text", "The text is empty."),
        ({"text": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"}, "text", "binary data"),
        ({"text": b"caf\xe9 au lait"}, "text", "not UTF-8 text"),
        ({"text": "a" * (5 * 1024 * 1024)}, "text", "The text is 5.0 MB; an article's text is at most 1024 kB."),
        ({"publisher": "no-such-company"}, "publisher", "No company has the slug 'no-such-company'"),
        ({"published_on": "2019-02-30"}, "published_on", "Cannot read '2019-02-30' as a date"),
        ({"published_on": "yesterday"}, "published_on", "Cannot read 'yesterday' as a date"),
        ({"precision": "week"}, "precision", "'week' is not a precision"),
        ({"url": "not a url"}, "url", "is not a web address"),
    ],
)
def test_bad_input_is_an_error_naming_the_field_and_writes_nothing(known, changes, field, message):
    before = database_fingerprint()
    with pytest.raises(IngestError) as error:
        ingest(**changes)
    assert message in " ".join(error.value.message_dict[field])
    assert database_fingerprint() == before


def test_a_run_on_first_line_gives_its_first_sentence_as_the_title_and_a_short_slug(known):
    text = "Canaan says revenue rose in the first quarter. " + "It sold more machines than ever before. " * 10
    article = ingest(text=text).article
    assert article.title == "Canaan says revenue rose in the first quarter."
    long = ingest(text="Canaan " + "very " * 60 + "long headline without a stop").article
    assert len(long.title) <= 151 and long.title.endswith("…")
    assert len(long.slug) <= 80 and not long.slug.endswith("-")


def test_a_month_precision_date_is_stored_as_the_months_first_day(known):
    article = ingest(published_on="2024-05-20", precision="month").article
    assert (article.published_on, article.published_precision) == (datetime.date(2024, 5, 1), "month")


# -- The command ---------------------------------------------------------------------------------------------------


def test_the_command_prints_a_summary(known, tmp_path, capsys):
    path = tmp_path / "article.txt"
    path.write_text(TEXT)
    call_command("ingest_article", str(path), "--published-on", "2024-05-20", "--publisher", "bloomberg")
    out = capsys.readouterr().out
    article = Article.objects.get()
    assert f"Article {article.slug!r}" in out
    assert re.search(r"proposed: [1-9]\d* figures, [1-9]\d* events", out)
    assert f"/admin/articles/article/{article.pk}/review/" in out
    call_command("ingest_article", str(path), "--published-on", "2024-05-20")
    assert "already ingested" in capsys.readouterr().out
    assert Article.objects.count() == 1


def test_the_command_prints_the_proposals_as_json(known, tmp_path, capsys):
    path = tmp_path / "article.txt"
    path.write_text(TEXT)
    call_command("ingest_article", str(path), "--published-on", "2024-05-20", "--json", "--dry-run")
    printed = json.loads(capsys.readouterr().out)
    assert printed["article"] == "canaan-reports-first-quarter-results"
    assert set(printed["mentions"]) >= {"companies", "people", "probable", "new_companies"}
    revenue = next(f for f in printed["figures"] if f["as_reported"] == "$211 million")
    assert {k: revenue[k] for k in ("value", "value_high", "unit", "qualifier", "metric", "company")} == {
        "value": "211000000",
        "value_high": None,
        "unit": "USD",
        "qualifier": "exact",
        "metric": "revenue",
        "company": "canaan",
    }
    assert (revenue["period_start"], revenue["period_end"]) == ("2024-01-01", "2024-03-31")
    assert revenue["quote"] in TEXT and 0 < revenue["confidence"] <= 1
    event = printed["events"][0]
    assert set(event) >= {"date", "date_precision", "type", "title", "quote", "participants", "confidence"}
    assert not Article.objects.exists()


@pytest.mark.parametrize(
    ("content", "options", "message"),
    [
        (b"", [], "text: The text is empty."),
        (b"\x00\x01\x02binary\xff\xfe", [], "text: This is binary data"),
        (b"x" * (5 * 1024 * 1024), [], "is 5.0 MB; an article's text is at most 1024 kB"),
        (TEXT.encode(), ["--publisher", "nobody"], "publisher: No company has the slug 'nobody'"),
        (TEXT.encode(), ["--published-on", "31/12/2024"], "published_on: Cannot read '31/12/2024' as a date"),
    ],
)
def test_the_command_refuses_bad_input_and_writes_nothing(known, tmp_path, content, options, message):
    path = tmp_path / "article.txt"
    path.write_bytes(content)
    before = database_fingerprint()
    args = [str(path), "--published-on", "2024-05-20", *options]
    with pytest.raises(CommandError, match=re.escape(message)) as error:
        call_command("ingest_article", *args)
    assert str(error.value).startswith("Nothing was written.")
    assert database_fingerprint() == before


# -- The API ---------------------------------------------------------------------------------------------------------


def test_an_editor_ingests_through_the_api_and_the_same_text_again_is_a_200(known, editor):
    client = token_client(editor)
    body = {"text": TEXT, "published_on": "2024-05-20", "publisher": "bloomberg"}
    response = client.post("/api/articles/ingest/", body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["created"] is True and data["figures"] and data["events"]
    stored = Figure.objects.get(pk=data["figures"][0]["id"])
    assert stored.status == "proposed" and stored.quote == data["figures"][0]["quote"]
    assert Ingestion.objects.get().source == "api"
    again = client.post("/api/articles/ingest/", body, format="json")
    assert (again.status_code, again.json()["created"], again.json()["article"]) == (200, False, data["article"])


def test_the_api_refuses_anyone_but_an_editor(known, outsider):
    body = {"text": TEXT, "published_on": "2024-05-20"}
    assert APIClient().post("/api/articles/ingest/", body, format="json").status_code == 401
    assert token_client(outsider).post("/api/articles/ingest/", body, format="json").status_code == 403
    assert not Article.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": "", "published_on": "2024-05-20"}, "text"),
        ({"text": TEXT, "published_on": "soon"}, "published_on"),
        ({"text": TEXT, "published_on": "2024-05-20", "publisher": "nobody"}, "publisher"),
        ({"text": TEXT, "published_on": "2024-05-20", "precision": "week"}, "precision"),
        ({"text": TEXT}, "published_on"),
    ],
)
def test_the_api_names_the_bad_field_in_a_400_and_writes_nothing(known, editor, body, field):
    response = token_client(editor).post("/api/articles/ingest/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Article.objects.exists()


# -- The admin -------------------------------------------------------------------------------------------------------


def test_the_admin_page_adds_an_article_and_opens_its_review_desk(known, editor_client):
    page = editor_client.get("/admin/articles/article/ingest/")
    assert page.status_code == 200 and "Add an article from its text" in page.content.decode()
    response = editor_client.post(
        "/admin/articles/article/ingest/",
        {
            "text": TEXT,
            "published_on": "2024-05-20",
            "precision": "day",
            "publisher": known["bloomberg"].pk,
            "language": "en",
        },
    )
    article = Article.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/admin/articles/article/{article.pk}/review/"
    assert Ingestion.objects.get().source == "admin"
    desk = editor_client.get(response["Location"]).content.decode()
    assert "$211 million" in desk and 'data-ident="figure:' in desk


def test_the_admin_page_shows_what_is_wrong_and_writes_nothing(known, editor_client):
    upload = SimpleUploadedFile("photo.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00")
    response = editor_client.post(
        "/admin/articles/article/ingest/",
        {"file": upload, "published_on": "20 May", "precision": "day", "language": "en"},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "binary data" in " ".join(errors["file"])
    assert "Cannot read '20 May' as a date" in " ".join(errors["published_on"])
    assert not Article.objects.exists()


def test_the_admin_pages_need_an_editor(known, client):
    user = User.objects.create_user("viewer", password="x-test-only-1", is_staff=True)
    client.force_login(user)
    assert client.get("/admin/articles/article/ingest/").status_code == 403
