"""GET /api/<resource>/<lookup>/history/: who changed what, when and why, newest first."""

import datetime

import pytest
from rest_framework.test import APIClient

from articles.models import Figure, Person

from .base import history_of, make_article, make_company, make_figure, make_person, token_client


@pytest.fixture
def figure(db):
    acme = make_company("acme")
    return make_figure(make_article("story", companies=(acme,)), "revenue", company=acme)


def test_a_new_record_has_one_created_entry_without_changes(figure):
    [entry] = history_of(figure)
    assert (entry["type"], entry["changes"], entry["user"], entry["reason"]) == ("created", [], None, None)
    assert isinstance(entry["id"], int)
    assert datetime.datetime.fromisoformat(entry["date"].replace("Z", "+00:00")) <= datetime.datetime.now(datetime.UTC)


def test_entries_come_newest_first_with_old_and_new_values_as_text(figure, editor):
    api = token_client(editor)
    make_company("borealis")
    api.patch(f"/api/figures/{figure.pk}/", {"period_label": "2023", "change_reason": "label"}, format="json")
    api.patch(
        f"/api/figures/{figure.pk}/",
        {"company": "borealis", "status": "corrected", "value": "8000000", "note": "Wrong company and value."},
        format="json",
    )
    newest, middle, oldest = history_of(figure)
    assert [e["type"] for e in (newest, middle, oldest)] == ["changed", "changed", "created"]
    assert (middle["reason"], middle["changes"]) == ("label", [{"field": "period_label", "old": "", "new": "2023"}])
    changes = {c["field"]: (c["old"], c["new"]) for c in newest["changes"]}
    assert changes == {
        "company": ("acme", "borealis"),
        "value": ("1500000.000000", "8000000.000000"),
        "status": ("reported", "corrected"),
        "note": ("", "Wrong company and value."),
        "reviewed_by": (None, "editor"),
        "reviewed_at": (None, Figure.objects.get(pk=figure.pk).reviewed_at.isoformat()),
    }
    assert newest["user"] == "editor" and newest["reason"] is None


def test_bookkeeping_columns_are_not_listed_as_changes(figure, editor):
    token_client(editor).patch(f"/api/figures/{figure.pk}/", {"quote": "revenue of $1.5 million"}, format="json")
    fields = [c["field"] for c in history_of(figure)[0]["changes"]]
    assert fields == ["quote"]


def test_a_deleted_record_keeps_its_history(figure, editor):
    token_client(editor).delete(f"/api/figures/{figure.pk}/", {"change_reason": "duplicate"}, format="json")
    entries = APIClient().get(f"/api/figures/{figure.pk}/history/").json()
    assert [(e["type"], e["user"], e["reason"]) for e in entries] == [
        ("deleted", f"editor-{editor.pk}", "duplicate"),  # anonymous readers see no username
        ("created", None, None),
    ]


def test_a_renamed_slug_finds_the_history_under_the_new_slug(db, editor):
    make_person("jane")
    token_client(editor).patch("/api/people/jane/", {"slug": "jane-roe"}, format="json")
    changes = history_of(Person.objects.get(slug="jane-roe"))[0]["changes"]
    assert changes == [{"field": "slug", "old": "jane", "new": "jane-roe"}]


def test_a_session_user_is_named_in_the_history_too(figure, editor, client):
    client.force_login(editor)
    response = client.patch(f"/api/figures/{figure.pk}/", {"note": "Seen."}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert history_of(figure)[0]["user"] == "editor"


def test_there_is_no_history_of_a_record_that_never_existed(db, client):
    assert client.get("/api/companies/never-was/history/").status_code == 404
    assert client.get("/api/figures/123456789/history/").status_code == 404


def test_the_history_is_not_paginated_nor_filtered_by_list_parameters(figure, client):
    response = client.get(f"/api/figures/{figure.pk}/history/", {"limit": 1})
    assert isinstance(response.json(), list)
