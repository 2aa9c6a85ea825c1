"""The review desk (admin): an article's body with its proposals marked, the decisions (each in the history with the
editor and the reason), bulk acceptance, the near-miss names, and the queue of articles with proposals."""

import datetime
import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission, User

from articles.choices import EventStatus, ReviewStatus
from articles.models import Article, Event, Figure, Ingestion

from .base import FUNDING_QUOTE, HEARING_QUOTE, PRICE_QUOTE, make_article, make_company, make_event, make_figure

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(db):
    acme = make_company("acme", name="Acme Mining")
    borealis = make_company("borealis", name="Borealis Hashing")
    article = make_article("desk", companies=(acme,))
    records = {
        "fact": make_figure(article, "fact", company=acme),
        "funding": make_figure(
            article,
            "funding",
            company=borealis,
            metric="funding_raised",
            as_reported="$20 million",
            value=Decimal("20000000"),
            quote=FUNDING_QUOTE,
            status=ReviewStatus.PROPOSED,
        ),
        "price": make_figure(
            article,
            "price",
            subject="Hash price",
            metric="price_change",
            as_reported="12%",
            value=Decimal("12"),
            unit="percent",
            quote=PRICE_QUOTE,
            status=ReviewStatus.PROPOSED,
        ),
        "hearing": make_event(
            article,
            "hearing",
            type="statement",
            date=datetime.date(2022, 3, 3),
            date_precision="day",
            quote=HEARING_QUOTE,
            participants=((acme, "speaker"),),
            status=EventStatus.PROPOSED,
        ),
    }
    Ingestion.objects.create(
        article=article,
        text_sha256="0" * 64,
        source="command",
        proposals={
            f"figure:{records['funding'].pk}": {"confidence": 0.85, "reason": '"raised" near it'},
            f"figure:{records['price'].pk}": {"confidence": 0.6, "reason": '"fell" near it'},
            f"event:{records['hearing'].pk}": {"confidence": 0.7, "reason": '"spoke at a hearing"'},
        },
        mentions=[
            {"kind": "company", "slug": "borealis", "name": "Borealis Hashng", "start": 0, "end": 1, "confidence": 0.6,
             "reason": "1 letter away", "decision": ""},
            {"kind": "new_company", "slug": None, "name": "Jane Roe Holdings", "start": 0, "end": 1, "confidence": 0.5,
             "reason": "reads as a name", "decision": ""},
        ],
    )  # fmt: skip
    return {"article": article, **records}


def url(article: Article) -> str:
    return f"/admin/articles/article/{article.pk}/review/"


def ident(record) -> str:
    return f"{record._meta.model_name}:{record.pk}"


def test_the_desk_shows_the_body_with_every_proposal_marked_in_text_order(desk, editor_client):
    html = editor_client.get(url(desk["article"])).content.decode()
    order = re.findall(r'<li class="proposal[^"]*" id="[^"]+" data-ident="([^"]+)"', html)
    assert order == [ident(desk["funding"]), ident(desk["price"]), ident(desk["hearing"])]
    marks = re.findall(r'<mark class="is-pending" data-ids="([^"]+)">(.*?)</mark>', html, re.S)
    marked: dict[str, str] = {}
    for ids, text in marks:  # a quote is cut where a figure's own words start and end
        marked[ids] = marked.get(ids, "") + re.sub(r"<[^>]+>", "", text)
    assert marked[ident(desk["funding"])] == FUNDING_QUOTE
    assert marked[ident(desk["hearing"])] == HEARING_QUOTE
    assert f'<b class="num" data-ids="{ident(desk["funding"])}">$20 million</b>' in html
    assert "confidence 0.85: &quot;raised&quot; near it" in html
    assert ident(desk["fact"]) not in html  # a curated fact is not a proposal
    assert 'data-focus="' + ident(desk["funding"]) + '"' in html


def test_accepting_and_rejecting_are_in_the_history_with_the_editor_and_reason(desk, editor_client):
    page = url(desk["article"])
    response = editor_client.post(page, {"decide": f"accept:{ident(desk['funding'])}", "reason": "matches the text"})
    assert response.status_code == 302
    assert response["Location"] == f"{page}?after={ident(desk['funding'])}"
    editor_client.post(page, {"decide": f"reject:{ident(desk['hearing'])}", "reason": "no hearing date"})
    funding, hearing = Figure.objects.get(pk=desk["funding"].pk), Event.objects.get(pk=desk["hearing"].pk)
    assert (funding.status, hearing.status) == (ReviewStatus.REPORTED, EventStatus.DISMISSED)
    entry = funding.history.latest("history_date")
    assert (entry.history_user.username, entry.history_change_reason) == (
        "editor",
        "Proposal accepted: matches the text",
    )
    entry = hearing.history.latest("history_date")
    assert entry.history_change_reason == "Proposal rejected: no hearing date"
    # The desk then opens on the next proposal still waiting after the one decided.
    html = editor_client.get(f"{page}?after={ident(desk['funding'])}").content.decode()
    assert 'data-focus="' + ident(desk["price"]) + '"' in html


def test_selected_proposals_are_accepted_at_once_with_one_reason(desk, editor_client):
    selected = [ident(desk["price"]), ident(desk["hearing"])]
    editor_client.post(
        url(desk["article"]), {"decide": "accept_selected:", "selected": selected, "reason": "all checked"}
    )
    assert Figure.objects.get(pk=desk["price"].pk).status == "reported"
    assert Event.objects.get(pk=desk["hearing"].pk).status == "reported"
    assert Figure.objects.get(pk=desk["funding"].pk).status == "proposed"
    reasons = {r.history.latest("history_date").history_change_reason for r in (desk["price"], desk["hearing"])}
    assert reasons == {"Proposal accepted: all checked"}


def test_a_stale_decision_is_refused_and_changes_nothing(desk, editor_client):
    funding = desk["funding"]
    version_field = f"version-{ident(funding).replace(':', '-')}"
    response = editor_client.post(
        url(desk["article"]), {"decide": f"accept:{ident(funding)}", version_field: "7"}, follow=True
    )
    assert "was changed by someone else" in response.content.decode()
    assert Figure.objects.get(pk=funding.pk).status == "proposed"


def test_a_decision_on_another_articles_record_is_refused(desk, editor_client):
    other = make_article("other")
    stranger = make_figure(other, "stranger", status=ReviewStatus.PROPOSED)
    response = editor_client.post(url(desk["article"]), {"decide": f"accept:{ident(stranger)}"}, follow=True)
    assert "No such proposal in this article" in response.content.decode()
    assert Figure.objects.get(pk=stranger.pk).status == "proposed"


def test_a_near_miss_name_can_be_added_to_the_mentions_and_a_new_name_dismissed(desk, editor_client):
    page = url(desk["article"])
    editor_client.post(page, {"decide": "mention_accept:0", "reason": "a typo"})
    editor_client.post(page, {"decide": "mention_dismiss:1"})
    article = Article.objects.get(pk=desk["article"].pk)
    assert set(article.companies.values_list("slug", flat=True)) == {"acme", "borealis"}
    assert article.history.latest("history_date").history_change_reason == (
        "Mention accepted: 'Borealis Hashng' is Borealis Hashing: a typo"
    )
    offers = Ingestion.objects.get(article=article).mentions
    assert [(o["decision"], o["decided_by"]) for o in offers] == [("accepted", "editor"), ("dismissed", "editor")]


def test_the_queue_lists_the_articles_that_still_have_proposals(desk, editor_client):
    make_article("nothing-to-review")
    html = editor_client.get("/admin/articles/article/review/").content.decode()
    assert html.count(f'href="{url(desk["article"])}"') == 1
    assert "Nothing to review" not in html
    row = re.search(r"<tr>\s*<td><a[^>]*>Desk</a></td>.*?</tr>", html, re.S).group(0)
    assert re.findall(r"<td>(\d+)</td>", row) == ["2", "1"]
    Figure.objects.filter(article=desk["article"]).update(status="reported")
    Event.objects.filter(article=desk["article"]).update(status="reported")
    assert "No article has proposals waiting" in editor_client.get("/admin/articles/article/review/").content.decode()


def test_the_desk_needs_the_permission_to_change(desk, client):
    viewer = User.objects.create_user("viewer", password="x-test-only-2", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_article"))
    client.force_login(viewer)
    assert client.get(url(desk["article"])).status_code == 200
    response = client.post(url(desk["article"]), {"decide": f"accept:{ident(desk['funding'])}"})
    assert response.status_code == 403
    assert Figure.objects.get(pk=desk["funding"].pk).status == "proposed"
