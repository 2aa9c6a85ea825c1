"""What the public sees of editors: a username is half of a login, so anonymous readers see the editor's name
(first and last, as set in the admin) or ``editor-<id>``, and logged-in users see the username. The same rule holds
in a figure's ``reviewed_by`` (detail, list row, exports), in history entries (``user`` and ``reviewed_by``
changes) and in tombstones; filtering by username needs a login."""

import csv
import io

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.request import Request
from rest_framework.test import APIClient

from articles.api.serializers import FigureSerializer
from articles.models import Figure

from .base import make_article, make_company, make_figure, token_client


@pytest.fixture
def newsroom(db):
    """A figure reviewed by Ana (an editor with a name), and another deleted by an editor without one."""
    ana = User.objects.create_user("ana-login", password="x-test-only-1", first_name="Ana", last_name="Ruiz")
    ana.groups.add(Group.objects.get(name="editors"))
    anon_editor = User.objects.create_user("q7-login", password="x-test-only-2")
    anon_editor.groups.add(Group.objects.get(name="editors"))
    acme = make_company("acme")
    article = make_article("story", companies=(acme,))
    reviewed = make_figure(article, "revenue", company=acme)
    doomed = make_figure(article, "revenue-2", company=acme)
    assert (
        token_client(ana).patch(f"/api/figures/{reviewed.pk}/", {"status": "verified"}, format="json").status_code
        == 200
    )
    assert token_client(anon_editor).delete(f"/api/figures/{doomed.pk}/").status_code == 204
    return {"ana": ana, "anon_editor": anon_editor, "reviewed": reviewed, "doomed": doomed}


def reader() -> APIClient:
    client = APIClient()
    client.force_authenticate(User(username="someone-logged-in"))
    return client


def test_anonymous_readers_see_the_reviewer_s_name_everywhere_a_figure_shows(newsroom):
    figure = newsroom["reviewed"]
    client = APIClient()
    assert client.get(f"/api/figures/{figure.pk}/").json()["reviewed_by"] == "Ana Ruiz"
    [row] = [r for r in client.get("/api/figures/").json()["results"] if r["id"] == figure.pk]
    assert row["reviewed_by"] == "Ana Ruiz"
    assert client.get("/api/articles/story/").json()["figures"][0]["reviewed_by"] == "Ana Ruiz"
    rows = list(
        csv.DictReader(io.StringIO(b"".join(client.get("/api/figures/?format=csv").streaming_content).decode()))
    )
    assert [r["reviewed_by"] for r in rows] == ["Ana Ruiz"]
    for path in (
        "/api/figures/",
        f"/api/figures/{figure.pk}/",
        f"/api/figures/{figure.pk}/history/",
        "/api/deletions/",
    ):
        assert b"-login" not in client.get(path).content, path


def test_logged_in_users_see_usernames(newsroom):
    figure = newsroom["reviewed"]
    client = reader()
    assert client.get(f"/api/figures/{figure.pk}/").json()["reviewed_by"] == "ana-login"
    [row] = [r for r in client.get("/api/figures/").json()["results"] if r["id"] == figure.pk]
    assert row["reviewed_by"] == "ana-login"
    newest = client.get(f"/api/figures/{figure.pk}/history/").json()[0]
    assert newest["user"] == "ana-login"
    assert {c["field"]: c["new"] for c in newest["changes"]}["reviewed_by"] == "ana-login"
    assert client.get("/api/deletions/").json()["results"][0]["user"] == "q7-login"


def test_history_entries_and_their_reviewed_by_changes_name_the_editor_for_anonymous_readers(newsroom):
    figure = newsroom["reviewed"]
    newest, created = APIClient().get(f"/api/figures/{figure.pk}/history/").json()
    assert (newest["user"], created["user"]) == ("Ana Ruiz", None)
    assert {c["field"]: (c["old"], c["new"]) for c in newest["changes"]}["reviewed_by"] == (None, "Ana Ruiz")


def test_an_editor_without_a_name_is_a_stable_opaque_handle(newsroom):
    handle = f"editor-{newsroom['anon_editor'].pk}"
    [tombstone] = APIClient().get("/api/deletions/").json()["results"]
    assert tombstone["user"] == handle
    deleted, _ = APIClient().get(f"/api/figures/{newsroom['doomed'].pk}/history/").json()
    assert (deleted["type"], deleted["user"]) == ("deleted", handle)


def test_the_loader_is_load_fixtures_for_everyone(curated):
    figure = Figure.objects.order_by("pk").first()
    for client in (APIClient(), reader()):
        [entry] = client.get(f"/api/figures/{figure.pk}/history/").json()
        assert entry["user"] == "load_fixtures"


def test_list_rows_equal_the_serializer_for_both_kinds_of_reader(newsroom, rf):
    figure = Figure.objects.select_related("reviewed_by").get(pk=newsroom["reviewed"].pk)
    for client, user in ((APIClient(), None), (reader(), User(username="someone-logged-in"))):
        [row] = [r for r in client.get("/api/figures/").json()["results"] if r["id"] == figure.pk]
        request = Request(rf.get("/api/figures/"))
        if user is not None:
            request.user = user
        assert row == dict(FigureSerializer(figure, context={"request": request}).data)


def test_filtering_by_username_needs_a_login_and_says_nothing_about_which_exist(newsroom):
    client = APIClient()
    known = client.get("/api/figures/", {"reviewed_by": "ana-login"})
    unknown = client.get("/api/figures/", {"reviewed_by": "no-such-login"})
    assert known.status_code == unknown.status_code == 400
    assert (
        known.json()
        == unknown.json()
        == {"reviewed_by": ["Filtering by username needs a login; use reviewed_by_id, or reviewed_by=null."]}
    )
    assert client.get("/api/figures/", {"reviewed_by": "null"}).json()["count"] == 0
    by_id = client.get("/api/figures/", {"reviewed_by_id": newsroom["ana"].pk}).json()["results"]
    assert [f["id"] for f in by_id] == [newsroom["reviewed"].pk]
    by_name = reader().get("/api/figures/", {"reviewed_by": "ana-login"}).json()["results"]
    assert [f["id"] for f in by_name] == [newsroom["reviewed"].pk]
