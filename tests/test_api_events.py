"""/api/events/: dated happenings with their participants (companies or people, each in a role)."""

import pytest

from articles.models import Event, EventParticipant

from .base import (
    FUNDING_QUOTE,
    HEARING_QUOTE,
    REVENUE_QUOTE,
    SALE_QUOTE,
    APIViewTestCases,
    history_of,
    make_article,
    make_company,
    make_event,
    make_person,
    token_client,
)


class TestEventAPI(APIViewTestCases.APIViewTestCase):
    model = Event
    compared_fields = (
        "article",
        "key",
        "title",
        "summary",
        "type",
        "date",
        "date_precision",
        "end_date",
        "participants",
        "quote",
        "note",
    )

    def make_objects(self):
        acme, borealis, jane = make_company("acme"), make_company("borealis"), make_person("jane-roe")
        story = make_article("story", companies=(acme, borealis), people=(jane,))
        return [
            make_event(story, "revenue-2023", participants=((acme, "subject"),), type="financial_report"),
            make_event(
                story,
                "funding",
                participants=((borealis, "subject"), (acme, "investor")),
                quote=FUNDING_QUOTE,
                type="funding_round",
                date="2021-06-01",
                date_precision="month",
            ),
            make_event(
                story,
                "hearing",
                participants=((jane, "speaker"),),
                quote=HEARING_QUOTE,
                type="statement",
                date="2022-03-03",
                date_precision="day",
            ),
        ]

    def create_data(self, objects):
        return [
            {
                "article": "story",
                "title": "Acme sells 12,000 machines to Borealis",
                "type": "order_contract",
                "date": "2024-01-01",
                "date_precision": "year",
                "participants": [
                    {"company": "acme", "person": None, "role": "supplier"},
                    {"company": "borealis", "person": None, "role": "customer"},
                ],
                "quote": SALE_QUOTE,
            },
            {
                "article": "story",
                "key": "jane-speaks",
                "title": "Jane Roe speaks at a hearing",
                "summary": "Acme's chief executive testifies.",
                "type": "statement",
                "date": "2022-01-01",
                "date_precision": "quarter",
                "end_date": "2022-04-01",
                "participants": [{"company": None, "person": "jane-roe", "role": "speaker"}],
                "quote": HEARING_QUOTE,
                "note": "Span over two quarters.",
            },
        ]

    def update_data(self):
        return {
            "title": "Acme reports its 2023 revenue",
            "participants": [
                {"company": "acme", "person": None, "role": "subject"},
                {"company": None, "person": "jane-roe", "role": "speaker"},
            ],
        }


@pytest.fixture
def event(db):
    acme, jane = make_company("acme"), make_person("jane-roe")
    story = make_article("story", companies=(acme,), people=(jane,))
    return make_event(story, "revenue-2023", participants=((acme, "subject"), (jane, "speaker")))


@pytest.fixture
def editor_api(editor):
    return token_client(editor)


def test_participants_show_a_company_or_a_person_with_a_role(event, client):
    shown = client.get(f"/api/events/{event.pk}/").json()
    assert shown["participants"] == [
        {"company": "acme", "person": None, "role": "subject"},
        {"company": None, "person": "jane-roe", "role": "speaker"},
    ]


def test_the_last_day_an_imprecise_date_covers_is_shown(event, client):
    shown = client.get(f"/api/events/{event.pk}/").json()
    assert (shown["date"], shown["date_precision"], shown["date_latest"]) == ("2023-01-01", "year", "2023-12-31")


def test_writing_participants_replaces_them_and_the_history_names_the_editor(event, editor_api):
    make_company("borealis")
    body = {"participants": [{"company": "borealis", "role": "customer"}], "change_reason": "wrong party"}
    response = editor_api.patch(f"/api/events/{event.pk}/", body, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["participants"] == [{"company": "borealis", "person": None, "role": "customer"}]
    assert list(EventParticipant.objects.filter(event=event).values_list("company__slug", "role")) == [
        ("borealis", "customer")
    ]
    [newest, *_] = history_of(event)
    assert (newest["user"], newest["reason"]) == ("editor", "wrong party")
    entry = event.history.latest("history_id")
    assert entry.lists == {"participants": [{"company": "borealis", "person": None, "role": "customer"}]}


def test_leaving_participants_out_of_a_patch_keeps_them(event, editor_api):
    response = editor_api.patch(f"/api/events/{event.pk}/", {"title": "Renamed"}, format="json")
    assert len(response.json()["participants"]) == 2


@pytest.mark.parametrize(
    "participant",
    [
        {"company": "acme", "person": "jane-roe", "role": "subject"},
        {"role": "subject"},
        {"company": "nobody", "role": "subject"},
        {"company": "acme", "role": "emperor"},
        "acme",
    ],
)
def test_a_bad_participant_is_a_400_naming_participants(event, editor_api, participant):
    response = editor_api.patch(f"/api/events/{event.pk}/", {"participants": [participant]}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["participants"]
    assert event.participants.count() == 2


def test_the_same_participant_twice_in_one_role_is_a_400(event, editor_api):
    twice = [{"company": "acme", "role": "subject"}, {"company": "acme", "role": "subject"}]
    response = editor_api.patch(f"/api/events/{event.pk}/", {"participants": twice}, format="json")
    assert response.status_code == 400
    assert "twice" in response.json()["participants"][0]


def test_a_quote_missing_from_the_article_is_a_400_naming_quote(event, editor_api):
    response = editor_api.patch(f"/api/events/{event.pk}/", {"quote": "Acme lost money."}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["quote"]


def test_a_date_that_is_not_the_first_day_of_its_period_is_a_400_naming_date(event, editor_api):
    response = editor_api.patch(
        f"/api/events/{event.pk}/", {"date": "2021-06-15", "date_precision": "month"}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["date"]


def test_an_end_date_before_the_date_is_a_400_naming_end_date(event, editor_api):
    response = editor_api.patch(f"/api/events/{event.pk}/", {"end_date": "2022-01-01"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["end_date"]


def test_an_event_moved_to_another_article_is_checked_against_that_article(event, editor_api):
    make_article("other", body="Nothing about revenue here.")
    response = editor_api.patch(f"/api/events/{event.pk}/", {"article": "other"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["quote"]


def test_a_new_event_without_a_key_gets_one_from_its_title(event, editor_api):
    body = {
        "article": "story",
        "title": "Revenue, again!",
        "type": "other",
        "date": "2023-01-01",
        "date_precision": "year",
        "quote": REVENUE_QUOTE,
    }
    assert editor_api.post("/api/events/", body, format="json").json()["key"] == "revenue-again"
