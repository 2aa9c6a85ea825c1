"""Proposals are not facts: proposed events and figures (and rejected proposals) are hidden from every public read
unless an editor asks; an editor's decision goes through the write path and is in the history with the reason."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from articles.choices import EventStatus, ReviewStatus
from articles.models import Event, Figure
from articles.services.events import event_save
from articles.services.figures import figure_save
from articles.services.proposals import (
    ProposalError,
    proposal_accept,
    proposal_reject,
    proposals_accept,
)

from .base import (
    FUNDING_QUOTE,
    HEARING_QUOTE,
    PRICE_QUOTE,
    interleaved,
    make_article,
    make_company,
    make_event,
    make_figure,
    postgresql_only,
    token_client,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def records(db):
    """One article with a fact and a proposal of each kind, and a rejected proposal of each kind."""
    acme = make_company("acme")
    borealis = make_company("borealis")
    article = make_article("proposals", companies=(acme,))
    return {
        "article": article,
        "acme": acme,
        "borealis": borealis,
        "figure": make_figure(article, "fact", company=acme),
        "proposed_figure": make_figure(
            article,
            "proposed",
            company=borealis,
            metric="funding_raised",
            as_reported="$20 million",
            value=Decimal("20000000"),
            quote=FUNDING_QUOTE,
            period_start=datetime.date(2021, 6, 1),
            period_end=datetime.date(2021, 6, 30),
            status=ReviewStatus.PROPOSED,
        ),
        "dismissed_figure": make_figure(
            article,
            "dismissed",
            company=borealis,
            metric="price_change",
            as_reported="12%",
            value=Decimal("12"),
            unit="percent",
            quote=PRICE_QUOTE,
            status=ReviewStatus.DISMISSED,
        ),
        "event": make_event(article, "fact", participants=((acme, "subject"),)),
        "proposed_event": make_event(
            article,
            "proposed",
            quote=HEARING_QUOTE,
            participants=((borealis, "subject"),),
            status=EventStatus.PROPOSED,
        ),
        "dismissed_event": make_event(
            article, "dismissed", quote=FUNDING_QUOTE, participants=((borealis, "investor"),), status="dismissed"
        ),
    }


@pytest.fixture
def editor_api(editor):
    return token_client(editor)


def keys(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["key"] for row in response.json()["results"]}


# -- What the public sees -------------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ["figures", "events"])
def test_lists_show_facts_only_to_anyone_and_to_editors_who_do_not_ask(records, editor_api, route):
    assert keys(APIClient().get(f"/api/{route}/")) == {"fact"}
    assert keys(editor_api.get(f"/api/{route}/")) == {"fact"}
    assert keys(APIClient().get(f"/api/{route}/", {"article": "proposals", "q": "Borealis"})) == set()


@pytest.mark.parametrize("route", ["figures", "events"])
def test_an_editor_sees_proposals_by_asking_for_their_status(records, editor_api, route):
    assert keys(editor_api.get(f"/api/{route}/", {"status": "proposed"})) == {"proposed"}
    assert keys(editor_api.get(f"/api/{route}/", {"status": ["proposed", "dismissed"]})) == {"proposed", "dismissed"}


@pytest.mark.parametrize("route", ["figures", "events"])
def test_anyone_else_asking_for_proposals_sees_none(records, outsider, route):
    for client in (APIClient(), token_client(outsider)):
        assert keys(client.get(f"/api/{route}/", {"status": ["proposed", "dismissed"]})) == set()
        assert keys(client.get(f"/api/{route}/", {"status": ["proposed", "reported"]})) == {"fact"}


@pytest.mark.parametrize("kind", ["figure", "event"])
def test_a_proposal_is_a_404_to_anyone_but_an_editor_history_included(records, editor_api, kind):
    proposal = records[f"proposed_{kind}"]
    path = f"/api/{kind}s/{proposal.pk}/"
    assert APIClient().get(path).status_code == 404
    assert APIClient().get(f"{path}history/").status_code == 404
    assert editor_api.get(path).json()["status"] == "proposed"
    assert editor_api.get(f"{path}history/").status_code == 200


def test_exports_the_change_feed_and_the_article_leave_proposals_out(records, editor_api):
    csv = b"".join(APIClient().get("/api/figures/", {"format": "csv"}).streaming_content).decode()
    assert "$1.5 million" in csv and "$20 million" not in csv
    jsonl = b"".join(APIClient().get("/api/events/", {"format": "jsonl"}).streaming_content).decode()
    lines = jsonl.strip().split("\n")
    assert len(lines) == 1
    feed = APIClient().get("/api/figures/", {"updated_since": "2000-01-01T00:00:00Z", "cursor": ""})
    assert {row["key"] for row in feed.json()["results"]} == {"fact"}
    article = editor_api.get("/api/articles/proposals/").json()
    assert [e["key"] for e in article["events"]] == ["fact"]
    assert [f["key"] for f in article["figures"]] == ["fact"]


def test_counts_count_facts_only(records):
    rows = {row["slug"]: row for row in APIClient().get("/api/companies/").json()["results"]}
    assert (rows["acme"]["event_count"], rows["acme"]["figure_count"]) == (1, 1)
    assert (rows["borealis"]["event_count"], rows["borealis"]["figure_count"]) == (0, 0)


def test_search_finds_no_proposal_until_it_is_accepted(records, editor):
    def found(text: str) -> set[tuple[str, int]]:
        response = APIClient().get("/api/search/", {"q": text, "type": ["event", "figure"]})
        assert response.status_code == 200, response.content
        return {(row["type"], row["id"]) for row in response.json()["results"]}

    assert found("Borealis raised") == set()  # the proposed figure and the rejected event quote it
    assert found("hearing") == set()  # the proposed event
    proposal_accept(record=records["proposed_event"], user=editor)
    assert found("hearing") == {("event", records["proposed_event"].pk)}


def test_a_companys_timeline_series_and_page_leave_proposals_out(records):
    timeline = APIClient().get("/api/companies/borealis/timeline/").json()
    assert (timeline["events"], timeline["figures"]) == ([], [])
    series = APIClient().get("/api/figures/series/", {"company": "borealis", "metric": "funding_raised"}).json()
    assert series["results"] == []
    page = APIClient().get("/companies/borealis/").content.decode()
    assert "$20 million" not in page and "12%" not in page
    acme = APIClient().get("/api/companies/acme/timeline/").json()
    assert [e["key"] for e in acme["events"]] == ["fact"]


def test_a_proposal_adds_no_mention_until_it_is_accepted(records, editor):
    article = records["article"]
    figure_save(figure=records["proposed_figure"], data={"note": "looked at it"}, user=editor)
    assert set(article.companies.values_list("slug", flat=True)) == {"acme"}
    proposal_accept(record=records["proposed_figure"], user=editor, reason="checked")
    assert set(article.companies.values_list("slug", flat=True)) == {"acme", "borealis"}


# -- Deciding --------------------------------------------------------------------------------------------------


def test_accepting_makes_a_fact_through_the_write_path_with_the_editor_and_reason(records, editor, editor_api):
    figure = proposal_accept(
        record=records["proposed_figure"], user=editor, reason="checked against the text", changes={"note": "ok"}
    )
    assert (figure.status, figure.note, figure.version) == (ReviewStatus.REPORTED, "ok", 2)
    assert keys(APIClient().get("/api/figures/")) == {"fact", "proposed"}
    latest = editor_api.get(f"/api/figures/{figure.pk}/history/").json()[0]
    assert (latest["user"], latest["reason"]) == ("editor", "Proposal accepted: checked against the text")
    assert {"field": "status", "old": "proposed", "new": "reported"} in latest["changes"]


def test_rejecting_keeps_the_proposal_hidden_with_the_decision_in_its_history(records, editor, editor_api):
    event = proposal_reject(record=records["proposed_event"], user=editor, reason="not an event")
    assert event.status == EventStatus.DISMISSED
    assert keys(APIClient().get("/api/events/")) == {"fact"}
    latest = editor_api.get(f"/api/events/{event.pk}/history/").json()[0]
    assert (latest["user"], latest["reason"]) == ("editor", "Proposal rejected: not an event")


def test_a_rejected_proposal_can_still_be_accepted(records, editor):
    assert proposal_accept(record=records["dismissed_event"], user=editor).status == EventStatus.REPORTED


def test_accepting_runs_the_full_validation_and_changes_nothing_when_it_fails(records, editor):
    proposal = records["proposed_figure"]
    with pytest.raises(ValidationError) as error:
        proposal_accept(record=proposal, user=editor, changes={"value": Decimal("2000000")})
    assert "value" in error.value.message_dict
    proposal.refresh_from_db()
    assert (proposal.status, proposal.version) == (ReviewStatus.PROPOSED, 1)


def test_only_proposals_can_be_accepted_or_rejected(records, editor):
    with pytest.raises(ValidationError, match="not a proposal to accept"):
        proposal_accept(record=records["figure"], user=editor)
    with pytest.raises(ValidationError, match="not a proposal to reject"):
        proposal_reject(record=records["dismissed_figure"], user=editor)


def test_a_fact_never_becomes_a_proposal_again(records, editor):
    with pytest.raises(ValidationError, match="already a fact"):
        figure_save(figure=records["figure"], data={"status": ReviewStatus.PROPOSED}, user=editor)
    with pytest.raises(ValidationError, match="already a fact"):
        event_save(event=records["event"], data={"status": EventStatus.DISMISSED}, user=editor)


def test_bulk_accept_is_all_or_nothing_naming_each_failure(records, editor):
    article = records["article"]
    broken = make_figure(
        article, "broken", subject="x", as_reported="$1.5 million", value=Decimal("1500000"), status="proposed"
    )
    Figure.objects.filter(pk=broken.pk).update(value=Decimal("7"))  # as if stored before a rule existed
    with pytest.raises(ProposalError, match=r"1 proposal could not be accepted, so none was: figure 'broken': value"):
        proposals_accept(records=[records["proposed_figure"], Figure.objects.get(pk=broken.pk)], user=editor)
    assert Figure.objects.get(pk=records["proposed_figure"].pk).status == ReviewStatus.PROPOSED
    accepted = proposals_accept(
        records=[records["proposed_figure"], records["proposed_event"]], user=editor, reason="batch"
    )
    assert [r.status for r in accepted] == ["reported", "reported"]
    assert Event.history.filter(id=records["proposed_event"].pk).latest("history_date").history_change_reason == (
        "Proposal accepted: batch"
    )


def test_an_editor_can_create_a_proposal_through_the_api_and_it_stays_hidden(records, editor_api):
    response = editor_api.post(
        "/api/events/",
        {
            "article": "proposals",
            "title": "A sale",
            "type": "order_contract",
            "date": "2024-01-01",
            "date_precision": "year",
            "quote": "Acme Mining sold 12,000 machines to Borealis Hashing.",
            "status": "proposed",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert keys(APIClient().get("/api/events/")) == {"fact"}
    assert datetime.date.fromisoformat(response.json()["date"]).year == 2024


def test_deleting_a_proposal_leaves_no_tombstone_in_the_public_feed(records, editor, editor_api):
    from articles.services.articles import article_delete
    from articles.services.figures import figure_delete

    figure_delete(figure=records["proposed_figure"], user=editor, reason="noise")
    assert APIClient().get("/api/deletions/").json()["results"] == []
    article_delete(article=records["article"], user=editor)
    feed = APIClient().get("/api/deletions/").json()["results"]
    assert sorted((row["type"], row.get("key") or row.get("slug")) for row in feed) == [
        ("article", "proposals"),
        ("event", "fact"),
        ("figure", "fact"),
    ]


# -- Two editors deciding the same proposal at once ------------------------------------------------------------


@pytest.fixture
def race(transactional_db):
    """A proposal both editors have loaded (their desks show it proposed, at the same version)."""
    acme = make_company("acme")
    article = make_article("race", companies=(acme,))
    proposal = make_figure(article, "proposal", company=acme, status=ReviewStatus.PROPOSED)
    alice = User.objects.create_user("alice")
    bob = User.objects.create_user("bob")
    return proposal, Figure.objects.get(pk=proposal.pk), Figure.objects.get(pk=proposal.pk), alice, bob


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_rejection_sent_while_another_editor_accepts_is_refused_and_the_fact_stays(race):
    proposal, alices, bobs, alice, bob = race
    outcomes = interleaved(
        lambda: proposal_accept(record=alices, user=alice, reason="checked"),
        lambda: proposal_reject(record=bobs, user=bob, reason="wrong"),
    )
    assert outcomes == {"A": "ok", "B": "ValidationError"}
    proposal.refresh_from_db()
    assert (proposal.status, proposal.version) == (ReviewStatus.REPORTED, 2)
    reasons = list(
        Figure.history.filter(id=proposal.pk)
        .order_by("history_date")
        .values_list("history_change_reason", "history_user__username")
    )
    assert reasons[1:] == [("Proposal accepted: checked", "alice")]


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_two_desks_deciding_the_same_version_one_wins_and_the_other_is_told_it_is_stale(race):
    proposal, alices, bobs, alice, bob = race
    outcomes = interleaved(
        lambda: proposal_reject(record=alices, user=alice, reason="not in the text", expected_version=1),
        lambda: proposal_accept(record=bobs, user=bob, reason="fine", expected_version=1),
    )
    assert outcomes == {"A": "ok", "B": "StaleWriteError"}
    proposal.refresh_from_db()
    assert (proposal.status, proposal.version) == (ReviewStatus.DISMISSED, 2)
    assert Figure.history.filter(id=proposal.pk).count() == 2  # its creation and Alice's decision only
