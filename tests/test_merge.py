"""Merging duplicate companies: every reference moves to the survivor, names become aliases, history kept."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from articles.choices import EventType, Metric, ParticipantRole, Unit
from articles.models import Alias, Article, Company, Event, EventParticipant, Figure, Person
from articles.services.companies import CompanyMergeError, company_merge

BODY = "Auradyne and Aura Dine said Auradine raised $80 million in April. Marathon invested."


@pytest.fixture
def world(db) -> dict:
    """Auradine (the survivor) and two misspelt duplicates, each referenced in every way a company can be."""
    holding = Company.objects.create(slug="aura-holding", name="Aura Holding")
    survivor = Company.objects.create(
        slug="auradine", name="Auradine", kind="hardware_maker", country="US", description="US chip maker."
    )
    Alias.objects.create(company=survivor, name="Auradine Inc.")
    dup = Company.objects.create(slug="auradyne", name="Auradyne", parent=holding)
    Alias.objects.create(company=dup, name="Auradine Inc.", note="Same alias as the survivor's")
    Alias.objects.create(company=dup, name="AuraDyne", garbled=True, note="Capitalised oddly")
    dup2 = Company.objects.create(slug="aura-dine", name="Aura Dine")
    marathon = Company.objects.create(slug="marathon", name="Marathon")
    subsidiary = Company.objects.create(slug="auradyne-labs", name="Auradyne Labs", parent=dup)

    published = Article.objects.create(
        slug="by-the-duplicate",
        title="Published by Auradyne",
        publisher=dup,
        published_on=datetime.date(2024, 5, 1),
        body=BODY,
    )
    both = Article.objects.create(
        slug="mentions-both",
        title="Mentions both",
        publisher=marathon,
        published_on=datetime.date(2024, 5, 2),
        body=BODY,
    )
    both.companies.add(survivor, dup, marathon)
    only_dup = Article.objects.create(
        slug="mentions-the-duplicate",
        title="Mentions the duplicate",
        published_on=datetime.date(2024, 5, 3),
        body=BODY,
    )
    only_dup.companies.add(dup2)

    event = Event(
        article=both,
        key="raise",
        title="Auradine raises $80 million",
        type=EventType.FUNDING_ROUND,
        date=datetime.date(2024, 4, 1),
        date_precision="month",
        quote="Auradine raised $80 million in April",
    )
    event.full_clean()
    event.save()
    EventParticipant.objects.create(event=event, company=survivor, role=ParticipantRole.SUBJECT)
    EventParticipant.objects.create(event=event, company=dup, role=ParticipantRole.SUBJECT)  # collides
    EventParticipant.objects.create(event=event, company=dup2, role=ParticipantRole.COUNTERPARTY)  # moves
    EventParticipant.objects.create(event=event, company=marathon, role=ParticipantRole.INVESTOR)

    figure = Figure(
        article=both,
        key="raise",
        company=dup2,
        metric=Metric.FUNDING_RAISED,
        value=Decimal("80000000"),
        unit=Unit.USD,
        as_reported="$80 million",
        quote="Auradine raised $80 million in April",
    )
    figure.full_clean()
    figure.save()
    person = Person.objects.create(slug="rajiv-khemani", name="Rajiv Khemani", affiliation=dup)
    return {
        "survivor": survivor,
        "dup": dup,
        "dup2": dup2,
        "holding": holding,
        "marathon": marathon,
        "subsidiary": subsidiary,
        "published": published,
        "both": both,
        "only_dup": only_dup,
        "event": event,
        "figure": figure,
        "person": person,
    }


@pytest.fixture
def merger(db) -> User:
    return User.objects.create_user("merger")


def merge(world: dict, user: User, reason: str = "Same company, misspelt") -> dict:
    return company_merge(survivor=world["survivor"], duplicates=[world["dup"], world["dup2"]], user=user, reason=reason)


def test_every_reference_moves_to_the_survivor(world, merger):
    merge(world, merger)
    survivor = world["survivor"]
    world["published"].refresh_from_db()
    assert world["published"].publisher == survivor
    assert sorted(c.slug for c in world["both"].companies.all()) == ["auradine", "marathon"]
    assert [c.slug for c in world["only_dup"].companies.all()] == ["auradine"]
    assert sorted((p.company.slug, p.role) for p in world["event"].participants.all()) == [
        ("auradine", "counterparty"),
        ("auradine", "subject"),
        ("marathon", "investor"),
    ]
    world["figure"].refresh_from_db()
    assert world["figure"].company == survivor
    world["person"].refresh_from_db()
    assert world["person"].affiliation == survivor
    world["subsidiary"].refresh_from_db()
    assert world["subsidiary"].parent == survivor


def test_the_duplicates_are_deleted_and_their_names_become_aliases(world, merger):
    merge(world, merger)
    assert not Company.objects.filter(slug__in=["auradyne", "aura-dine"]).exists()
    aliases = {a.name: (a.garbled, a.note) for a in world["survivor"].aliases.all()}
    assert sorted(aliases) == ["Aura Dine", "AuraDyne", "Auradine Inc.", "Auradyne"]
    assert aliases["AuraDyne"] == (True, "Capitalised oddly")  # moved as it was
    assert aliases["Auradine Inc."] == (False, "")  # the survivor's own, not repeated
    assert aliases["Auradyne"][1] == "Name of auradyne, merged into this."


def test_nothing_else_changes(world, merger):
    merge(world, merger)
    survivor = Company.objects.get(slug="auradine")
    assert (survivor.name, survivor.kind, survivor.country, survivor.description, survivor.parent) == (
        "Auradine",
        "hardware_maker",
        "US",
        "US chip maker.",
        None,
    )
    marathon = Company.objects.get(slug="marathon")
    assert marathon.version == 1
    assert [a.slug for a in Article.objects.filter(publisher=marathon)] == ["mentions-both"]
    assert EventParticipant.objects.get(company=marathon).role == "investor"
    assert Company.objects.get(slug="aura-holding").subsidiaries.count() == 0


def test_the_history_records_who_merged_and_why(world, merger):
    merge(world, merger)
    reason = "Merged into auradine: Same company, misspelt"
    survivor_entry = world["survivor"].history.latest()
    assert (survivor_entry.history_user, survivor_entry.history_change_reason) == (merger, reason)
    for dup in (world["dup"], world["dup2"]):
        deleted = Company.history.filter(id=dup.pk).latest()
        assert (deleted.history_type, deleted.history_user, deleted.history_change_reason) == ("-", merger, reason)
    for record in (world["published"], world["figure"], world["person"], world["subsidiary"]):
        entry = type(record).history.filter(id=record.pk).latest()
        assert (entry.history_type, entry.history_user, entry.history_change_reason) == ("~", merger, reason)
    assert "Auradyne" in {alias["name"] for alias in survivor_entry.lists["aliases"]}


def test_moved_records_get_a_new_version_so_stale_pages_are_refused(world, merger):
    versions = {"figure": world["figure"].version, "published": world["published"].version}
    merge(world, merger)
    world["figure"].refresh_from_db()
    world["published"].refresh_from_db()
    assert world["figure"].version == versions["figure"] + 1
    assert world["published"].version == versions["published"] + 1


def test_a_survivor_whose_parent_is_a_duplicate_takes_the_duplicates_parent(world, merger):
    Company.objects.filter(pk=world["survivor"].pk).update(parent=world["dup"])
    world["survivor"].refresh_from_db()
    merge(world, merger)
    world["survivor"].refresh_from_db()
    assert world["survivor"].parent == world["holding"]


def test_a_company_cannot_be_merged_into_itself(world, merger):
    with pytest.raises(CompanyMergeError):
        company_merge(survivor=world["survivor"], duplicates=[world["survivor"]], user=merger)
    with pytest.raises(CompanyMergeError):
        company_merge(survivor=world["survivor"], duplicates=[], user=merger)
    assert Company.objects.count() == 6


def test_a_merge_that_fails_halfway_writes_nothing(world, merger, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("articles.services.companies.history.history_write", broken)
    with pytest.raises(RuntimeError):
        merge(world, merger)
    world["figure"].refresh_from_db()
    assert world["figure"].company == world["dup2"]
    assert Company.objects.filter(slug__in=["auradyne", "aura-dine"]).count() == 2
    assert not Alias.objects.filter(company=world["survivor"], name="Auradyne").exists()


# --------------------------------------------------------------------------------------------------
# The admin action


def action(world: dict, **extra) -> dict:
    companies = [world["survivor"], world["dup"], world["dup2"]]
    return {"action": "merge_companies", "_selected_action": [c.pk for c in companies], **extra}


def test_the_merge_action_asks_which_company_survives(world, editor_client):
    url = reverse("admin:articles_company_changelist")
    response = editor_client.post(url, action(world, index=0))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Merge companies" in page
    for company in ("Auradine (auradine)", "Auradyne (auradyne)", "Aura Dine (aura-dine)"):
        assert company in page
    assert "Auradyne (auradyne): 1 articles published, 1 mentions, 1 event roles, 0 figures, 2 aliases" in page
    assert Company.objects.count() == 6  # nothing merged yet


def test_the_merge_action_merges_into_the_chosen_survivor(world, editor_client, editor):
    url = reverse("admin:articles_company_changelist")
    data = action(world, apply="yes", survivor=world["survivor"].pk, reason="Duplicates from the 2024 story")
    response = editor_client.post(url, data)
    assert response.status_code == 302
    assert response.url == reverse("admin:articles_company_change", args=[world["survivor"].pk])
    assert not Company.objects.filter(slug__in=["auradyne", "aura-dine"]).exists()
    world["figure"].refresh_from_db()
    assert world["figure"].company == world["survivor"]
    entry = world["survivor"].history.latest()
    assert (entry.history_user, entry.history_change_reason) == (
        editor,
        "Merged into auradine: Duplicates from the 2024 story",
    )


def test_the_merge_action_merges_nothing_until_a_survivor_is_chosen(world, editor_client):
    response = editor_client.post(reverse("admin:articles_company_changelist"), action(world, apply="yes"))
    assert response.status_code == 200
    assert "Choose the company that stays." in response.content.decode()
    assert Company.objects.count() == 6


def test_the_survivor_must_be_one_of_the_selected_companies(world, editor_client):
    data = action(world, apply="yes", survivor=world["marathon"].pk)
    response = editor_client.post(reverse("admin:articles_company_changelist"), data)
    assert response.status_code == 200
    assert Company.objects.count() == 6


def test_merging_a_single_company_is_refused(world, editor_client):
    data = {"action": "merge_companies", "_selected_action": [world["dup"].pk], "index": 0}
    response = editor_client.post(reverse("admin:articles_company_changelist"), data, follow=True)
    assert "Select at least two companies to merge." in [str(m) for m in response.context["messages"]]
    assert Company.objects.count() == 6


def test_merging_real_duplicates_of_the_curated_data(curated, merger):
    # The data set keeps the Cambridge centre and its university apart; were they one, nothing would be lost.
    ccaf = Company.objects.get(slug="ccaf")
    university = Company.objects.get(slug="university-of-cambridge")
    references = (
        Figure.objects.filter(company__in=[ccaf, university]).count(),
        EventParticipant.objects.filter(company__in=[ccaf, university]).values("event", "role").distinct().count(),
        Article.objects.filter(companies__in=[ccaf, university]).distinct().count(),
    )
    names = {university.name, *university.aliases.values_list("name", flat=True)} - {ccaf.name}
    company_merge(survivor=ccaf, duplicates=[university], user=merger)
    assert (
        Figure.objects.filter(company=ccaf).count(),
        EventParticipant.objects.filter(company=ccaf).count(),
        Article.objects.filter(companies=ccaf).count(),
    ) == references
    assert names <= set(ccaf.aliases.values_list("name", flat=True))


def test_a_reload_of_the_fixtures_does_not_bring_a_merged_company_back(curated, merger):
    from io import StringIO

    from django.core.management import call_command

    from articles.models import MergedCompany

    bloomberg = Company.objects.get(slug="bloomberg")
    businessweek = Company.objects.get(slug="bloomberg-businessweek")
    events = set(EventParticipant.objects.filter(company=businessweek).values_list("event_id", flat=True))
    company_merge(survivor=bloomberg, duplicates=[businessweek], user=merger, reason="one newsroom")
    assert MergedCompany.objects.get(slug="bloomberg-businessweek").into == bloomberg

    out = StringIO()
    call_command("load_fixtures", stdout=out)
    assert not Company.objects.filter(slug="bloomberg-businessweek").exists()
    assert events <= set(EventParticipant.objects.filter(company=bloomberg).values_list("event_id", flat=True))
    assert "Bloomberg Businessweek" in set(bloomberg.aliases.values_list("name", flat=True))
    assert "0 created, 0 updated" in out.getvalue()


def test_the_api_sends_a_merged_companys_old_address_to_the_survivor(curated, merger, client):
    company_merge(
        survivor=Company.objects.get(slug="bloomberg"),
        duplicates=[Company.objects.get(slug="bloomberg-businessweek")],
        user=merger,
    )
    response = client.get("/api/companies/bloomberg-businessweek/")
    assert response.status_code == 301
    assert response["Location"].endswith("/api/companies/bloomberg/")
    assert client.get("/api/companies/no-such-company/").status_code == 404


def test_a_merge_leaves_each_touched_article_a_history_entry_with_its_new_mentions(curated, merger):
    bloomberg = Company.objects.get(slug="bloomberg")
    businessweek = Company.objects.get(slug="bloomberg-businessweek")
    article = Article.objects.get(companies=businessweek)
    company_merge(survivor=bloomberg, duplicates=[businessweek], user=merger, reason="one newsroom")
    latest = article.history.first()
    assert latest.history_user == merger and latest.history_change_reason.startswith("Merged into bloomberg")
    held = set(latest.lists["companies"])
    assert "bloomberg" in held and "bloomberg-businessweek" not in held


def test_a_merge_leaves_each_touched_event_a_history_entry_with_its_new_participants(curated, merger):
    bloomberg = Company.objects.get(slug="bloomberg")
    businessweek = Company.objects.get(slug="bloomberg-businessweek")
    event = Event.objects.get(participants__company=businessweek)
    company_merge(survivor=bloomberg, duplicates=[businessweek], user=merger)
    snapshot = event.history.first().lists["participants"]
    assert {p["company"] for p in snapshot} >= {"bloomberg"}
    assert "bloomberg-businessweek" not in {p["company"] for p in snapshot}
