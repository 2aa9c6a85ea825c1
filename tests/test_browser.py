"""End to end in a real browser: an editor corrects a figure in the admin, and the API shows the correction;
an article saved unchanged from the browser (CRLF line endings, every inline row posted back) writes nothing.

Drives Debian's Chromium (``apt-get install chromium``; ``make browser-deps``) with Playwright for Python
through ``executable_path``: nothing downloads a browser. The app runs in pytest-django's live server.
"""

import json
import re
import secrets
import urllib.request
from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group, User
from django.db.models import Q
from playwright.sync_api import expect

from articles.choices import PROPOSAL_STATUSES, Metric
from articles.models import Article, Company, Event, Figure

from .base import chromium_page

ARTICLE = "bitmain-made-in-usa-threat-2024"
NOTE = "Translation error: other reports of the same Bloomberg story say $80 million, not $ 8 million."
REASON = "Bloomberg's English original says $80 million"

# The live server sees only committed data, hence a transactional database; serialized_rollback puts back
# what the migrations created (the editors group) for the tests that run after this one.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def get_json(url: str) -> object:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200, url
        return json.load(response)


@pytest.fixture
def desk_editor() -> tuple[User, str]:
    """An editor who logs in with a password made up for this run."""
    password = secrets.token_urlsafe(18)
    user = User.objects.create_user(
        "desk-editor", password=password, is_staff=True, first_name="Dana", last_name="Desk"
    )
    user.groups.add(Group.objects.get(name="editors"))
    return user, password


@pytest.fixture
def logged_in(live_server, desk_editor, monkeypatch):
    """A Chromium page, logged in to the admin as the desk editor."""
    user, password = desk_editor
    with chromium_page(monkeypatch, timeout_ms=20_000) as page:
        page.goto(f"{live_server.url}/admin/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", password)
        page.click("input[type=submit]")
        expect(page.locator("#user-tools")).to_contain_text(user.get_short_name() or user.username)
        yield page


def test_an_article_saved_unchanged_in_the_browser_writes_nothing(curated, live_server, logged_in):
    article = Article.objects.get(slug=ARTICLE)
    assert article.body.count("\n") > 50  # the browser will post every one of them back as CRLF
    records = [*article.events.all(), *article.figures.all()]
    before = {(type(r).__name__, r.key): (r.version, r.quote_start) for r in records}
    counts = (Article.history.count(), Event.history.count(), Figure.history.count(), LogEntry.objects.count())

    page = logged_in
    page.goto(f"{live_server.url}/admin/articles/article/{article.pk}/change/")
    expect(page.locator("#id_body")).to_have_value(article.body)
    page.click("input[name=_save]")
    page.wait_for_url(re.compile(r"/admin/articles/article/(\?|$)"))
    expect(page.locator(".messagelist .success")).to_have_count(1)

    stored = Article.objects.get(pk=article.pk)
    assert stored.body.encode() == article.body.encode()
    assert stored.version == article.version
    after = {
        (type(r).__name__, r.key): (r.version, r.quote_start) for r in [*stored.events.all(), *stored.figures.all()]
    }
    assert after == before
    assert (Article.history.count(), Event.history.count(), Figure.history.count(), LogEntry.objects.count()) == counts


def test_an_editor_corrects_a_figure_in_the_browser_and_the_api_shows_it(curated, live_server, logged_in):
    figure = Figure.objects.get(article__slug=ARTICLE, metric=Metric.FUNDING_RAISED)
    assert (figure.value, figure.status) == (Decimal("8000000"), "reported")
    page = logged_in

    # Find the figure the way an editor would: search the figures for the article's words.
    page.goto(f"{live_server.url}/admin/articles/figure/?q=Auradine+raised")
    page.click("#result_list a:text-is('$ 8 million')")
    page.wait_for_url(re.compile(rf"/admin/articles/figure/{figure.pk}/change/"))

    mark = page.locator(".field-article_text mark")
    expect(mark).to_have_count(1)
    expect(mark).to_contain_text("Auradine raised $ 8 million")

    page.fill("#id_value", "80000000")
    page.select_option("#id_status", "corrected")
    page.fill("#id_note", NOTE)
    page.fill("#id_change_reason", REASON)
    page.click("input[name=_save]")

    page.wait_for_url(re.compile(r"/admin/articles/figure/(\?|$)"))
    expect(page.locator(".messagelist .success")).to_contain_text("was changed successfully")

    detail = get_json(f"{live_server.url}/api/figures/{figure.pk}/")
    assert Decimal(str(detail["value"])) == Decimal("80000000")
    assert detail["status"] == "corrected"
    assert detail["as_reported"] == "$ 8 million"
    assert detail["note"] == NOTE

    newest, *older = get_json(f"{live_server.url}/api/figures/{figure.pk}/history/")
    # Read anonymously: the editor's name, not the login.
    assert (newest["user"], newest["type"], newest["reason"]) == ("Dana Desk", "changed", REASON)
    changes = {change["field"]: (change["old"], change["new"]) for change in newest["changes"]}
    assert Decimal(changes["value"][0]) == Decimal("8000000")
    assert Decimal(changes["value"][1]) == Decimal("80000000")
    assert changes["status"] == ("reported", "corrected")
    assert [entry["user"] for entry in older] == ["load_fixtures"]


DESK_TEXT = """Canaan reports first-quarter results

Canaan, the Chinese maker of mining machines, said its revenue rose to $211 million in the first quarter of 2024. \
The company's net loss narrowed to $39 million in the same period. Bitmain raised $50 million from investors in \
March, according to Bloomberg. Jihan Wu said the market share of Bitmain was about 70 percent last year."""


def test_an_editor_works_through_proposals_with_the_keyboard_and_the_api_shows_the_accepted(
    curated, live_server, logged_in, desk_editor
):
    from articles.services.ingest import article_ingest

    user, _password = desk_editor
    article = article_ingest(text=DESK_TEXT, published_on="2024-05-20", user=user, source="admin").article
    page = logged_in

    def counts() -> dict[str, tuple[int, int, int]]:
        rows = get_json(f"{live_server.url}/api/companies/?limit=1000")["results"]
        return {c["slug"]: (c["article_count"], c["event_count"], c["figure_count"]) for c in rows}

    before = counts()
    page.goto(f"{live_server.url}/admin/articles/article/{article.pk}/review/")
    focused = page.locator(".proposal.is-focused")
    expect(focused).to_have_count(1)
    expect(page.locator("#desk-body mark.is-current").first).to_be_visible()

    def decide(key: str, reason: str) -> str:
        ident = focused.get_attribute("data-ident")
        page.fill("#desk-reason", reason)
        page.evaluate("document.activeElement.blur()")
        page.keyboard.press(key)
        page.wait_for_url(re.compile(rf"\?after={re.escape(ident)}$"))
        expect(page.locator(".messagelist .success")).to_have_count(1)
        return ident

    first = decide("a", "checked against the text")
    skipped = focused.get_attribute("data-ident")
    page.keyboard.press("j")  # the next one down: the skipped one stays proposed
    expect(focused).not_to_have_attribute("data-ident", skipped)
    rejected = decide("r", "not what the sentence says")
    second = decide("a", "checked against the text")
    assert len({first, skipped, rejected, second}) == 4

    accepted = {first, second}
    public = set()
    body = get_json(f"{live_server.url}/api/articles/{article.slug}/")["body"]
    for kind in ("figure", "event"):
        rows = get_json(f"{live_server.url}/api/{kind}s/?article={article.slug}")["results"]
        for row in rows:
            public.add(f"{kind}:{row['id']}")
            assert body[row["quote_start"] : row["quote_end"]] == row["quote"]
    assert public == accepted

    for ident, reason in (
        (first, "Proposal accepted: checked against the text"),
        (rejected, "Proposal rejected: not what the sentence says"),
        (second, "Proposal accepted: checked against the text"),
    ):
        kind, pk = ident.split(":")
        model = Figure if kind == "figure" else Event
        entry = model.history.filter(id=int(pk)).latest("history_date")
        assert (entry.history_user_id, entry.history_change_reason) == (user.pk, reason)
    statuses = {}
    for ident in (rejected, skipped):
        kind, pk = ident.split(":")
        statuses[ident] = (Figure if kind == "figure" else Event).objects.get(pk=int(pk)).status
    assert statuses == {rejected: "dismissed", skipped: "proposed"}
    # The companies list counts what the desk accepted (the database's triggers, under the admin's services).
    after = counts()
    facts = ~Q(status__in=sorted(PROPOSAL_STATUSES))
    expected = {
        company.slug: (
            company.articles.count(),
            Event.objects.filter(facts, participants__company=company).distinct().count(),
            Figure.objects.filter(facts, company=company).count(),
        )
        for company in Company.objects.all()
    }
    assert after == expected
    assert after != before


def test_an_editor_pastes_an_article_in_the_browser_and_the_same_text_again_is_recognised(
    curated, live_server, logged_in, desk_editor
):
    """The "Add an article from its text" page as a browser posts it: the textarea comes back with CRLF line endings
    (and the empty file input, the untouched fields); the article is stored with the text's own line endings, its
    proposals are on the review desk, and the same text sent again by a script is the same article."""
    from articles.models import Ingestion
    from articles.services.ingest import article_ingest

    user, _password = desk_editor
    page = logged_in
    page.goto(f"{live_server.url}/admin/articles/article/ingest/")
    page.fill("#id_text", DESK_TEXT)
    page.fill("#id_published_on", "2024-05-20")
    page.select_option("#id_precision", "day")
    page.click("input[name=_ingest]")
    page.wait_for_url(re.compile(r"/admin/articles/article/\d+/review/$"))
    expect(page.locator(".proposal").first).to_be_visible()

    article = Article.objects.get(ingestion__isnull=False)
    assert "\r" not in article.body and article.body.strip() == DESK_TEXT
    assert article.title == "Canaan reports first-quarter results"
    assert page.url.endswith(f"/admin/articles/article/{article.pk}/review/")
    assert Ingestion.objects.get(article=article).created_by_id == user.pk
    proposed = {f.as_reported for f in Figure.objects.filter(article=article, status="proposed")}
    assert {"$211 million", "$39 million", "$50 million"} <= proposed
    for figure in Figure.objects.filter(article=article):
        assert article.body[figure.quote_start : figure.quote_end] == figure.quote

    again = article_ingest(text=DESK_TEXT, published_on="2024-05-20", user=user, source="api")
    assert (again.created, again.article.pk) == (False, article.pk)
    assert Article.objects.filter(ingestion__isnull=False).count() == 1


def test_an_editors_script_ingests_through_a_live_server_and_the_same_text_again_is_a_200(
    curated, live_server, desk_editor
):
    """POST /api/articles/ingest/ over real HTTP (the live server's WSGI handler checks headers as a real server
    does), with a token, then the same text again: recognised, nothing written."""
    from rest_framework.authtoken.models import Token

    user, _password = desk_editor
    token = Token.objects.create(user=user).key

    def post(text: str) -> tuple[int, dict]:
        body = json.dumps({"text": text, "published_on": "2024-05-20", "publisher": "bloomberg"}).encode()
        request = urllib.request.Request(
            f"{live_server.url}/api/articles/ingest/",
            data=body,
            method="POST",
            headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)

    status, created = post(DESK_TEXT.replace("\n", "\r\n"))
    assert status == 201 and created["created"] is True
    slug = created["article"]
    article = Article.objects.get(slug=slug)
    assert "\r" not in article.body and Figure.objects.filter(article=article, status="proposed").exists()
    # Nothing proposed is public.
    assert get_json(f"{live_server.url}/api/figures/?article={slug}")["count"] == 0

    status, again = post(DESK_TEXT)
    assert (status, again["created"], again["article"]) == (200, False, slug)
    assert Article.objects.filter(ingestion__isnull=False).count() == 1
