"""Generic API test cases (NetBox style) and small factories for the records they need.

A resource's test module declares a subclass of ``APIViewTestCases.APIViewTestCase`` with the model, the
route, how to make three records, what to POST and what to PATCH; the base classes then check list, get,
create, update and delete as an anonymous user, as a user without permission and as an editor (token
authentication), and that every write leaves one history entry naming the editor and the reason.
"""

import datetime
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any, ClassVar

import pytest
from django.db import models
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from articles import provenance
from articles.models import Alias, Article, Company, Event, EventParticipant, Figure, Person

# One article body that every factory-made event and figure quotes from.
BODY = (
    "Acme Mining reported revenue of $1.5 million in 2023. "
    "Borealis Hashing raised $20 million from investors in June 2021. "
    "Hash prices fell 12% in the first quarter of 2022. "
    "Jane Roe, chief executive of Acme Mining, spoke at a hearing on 3 March 2022. "
    "Acme Mining sold 12,000 machines to Borealis Hashing."
)
REVENUE_QUOTE = "Acme Mining reported revenue of $1.5 million in 2023."
FUNDING_QUOTE = "Borealis Hashing raised $20 million from investors in June 2021."
PRICE_QUOTE = "Hash prices fell 12% in the first quarter of 2022."
HEARING_QUOTE = "Jane Roe, chief executive of Acme Mining, spoke at a hearing on 3 March 2022."
SALE_QUOTE = "Acme Mining sold 12,000 machines to Borealis Hashing."


def make_company(slug: str, *, aliases: tuple[str, ...] = (), **fields: Any) -> Company:
    fields.setdefault("name", slug.replace("-", " ").title())
    company = Company.objects.create(slug=slug, **fields)
    for name in aliases:
        Alias.objects.create(company=company, name=name)
    return company


def make_person(slug: str, *, aliases: tuple[str, ...] = (), **fields: Any) -> Person:
    fields.setdefault("name", slug.replace("-", " ").title())
    person = Person.objects.create(slug=slug, **fields)
    for name in aliases:
        Alias.objects.create(person=person, name=name)
    return person


def make_article(
    slug: str,
    *,
    companies: tuple[Company, ...] = (),
    people: tuple[Person, ...] = (),
    **fields: Any,
) -> Article:
    fields.setdefault("title", slug.replace("-", " ").capitalize())
    fields.setdefault("body", BODY)
    fields.setdefault("published_on", datetime.date(2024, 8, 26))
    article = Article.objects.create(slug=slug, **fields)
    article.companies.set(companies)
    article.people.set(people)
    return article


def make_event(
    article: Article,
    key: str,
    *,
    participants: tuple[tuple[Company | Person, str], ...] = (),
    quote: str = REVENUE_QUOTE,
    **fields: Any,
) -> Event:
    fields.setdefault("title", key.replace("-", " ").capitalize())
    fields.setdefault("type", "other")
    fields.setdefault("date", datetime.date(2023, 1, 1))
    fields.setdefault("date_precision", "year")
    for name in ("date", "end_date"):
        if isinstance(fields.get(name), str):
            fields[name] = datetime.date.fromisoformat(fields[name])
    start, end = provenance.locate_quote(article.body, quote)
    # Derived as event_save derives it (factories write rows directly, without history).
    fields["date_latest"] = provenance.period_bounds(
        fields.get("end_date") or fields["date"], fields["date_precision"]
    )[1]
    event = Event.objects.create(article=article, key=key, quote=quote, quote_start=start, quote_end=end, **fields)
    for who, role in participants:
        side = {"company": who} if isinstance(who, Company) else {"person": who}
        EventParticipant.objects.create(event=event, role=role, **side)
    return event


FIGURE_DEFAULTS = {
    "metric": "revenue",
    "as_reported": "$1.5 million",
    "value": Decimal("1500000"),
    "unit": "USD",
    "quote": REVENUE_QUOTE,
}


def make_figure(article: Article, key: str, **fields: Any) -> Figure:
    values = {**FIGURE_DEFAULTS, **fields}
    if values.get("company") is None:
        values.setdefault("subject", key.replace("-", " "))
    start, end = provenance.locate_quote(article.body, values["quote"])
    return Figure.objects.create(article=article, key=key, quote_start=start, quote_end=end, **values)


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def history_of(instance: models.Model) -> list[dict]:
    """The history endpoint's entries for ``instance``, read as anyone."""
    response = APIClient().get(f"{detail_path(instance)}history/")
    assert response.status_code == 200, response.content
    return response.json()


ROUTES = {Article: "articles", Company: "companies", Person: "people", Event: "events", Figure: "figures"}


def detail_path(instance: models.Model) -> str:
    lookup = instance.pk if isinstance(instance, (Event, Figure)) else instance.slug
    return f"/api/{ROUTES[type(instance)]}/{lookup}/"


class APIViewTestCases:
    """Namespace of the generic test cases; a resource's tests combine them (``APIViewTestCase`` = all)."""

    class Base:
        model: ClassVar[type[models.Model]]
        #: Fields compared between what an editor writes and what the API then shows.
        compared_fields: ClassVar[tuple[str, ...]] = ()

        def make_objects(self) -> list[models.Model]:
            """Three records of the model, with whatever they need."""
            raise NotImplementedError

        @property
        def list_path(self) -> str:
            return f"/api/{ROUTES[self.model]}/"

        @pytest.fixture
        def objects(self, db) -> list[models.Model]:
            return self.make_objects()

        @pytest.fixture
        def anonymous(self) -> APIClient:
            return APIClient()

        @pytest.fixture
        def outsider_client(self, outsider) -> APIClient:
            return token_client(outsider)

        @pytest.fixture
        def editor_client(self, editor) -> APIClient:
            return token_client(editor)

        def assert_shows(self, shown: dict, written: dict) -> None:
            for name in self.compared_fields:
                if name in written:
                    assert shown[name] == written[name], name

    class GetObject(Base):
        def test_anyone_can_get_one(self, anonymous, objects):
            response = anonymous.get(detail_path(objects[0]))
            assert response.status_code == 200
            assert response.json()["id"] == objects[0].pk

        def test_the_detail_carries_the_version_as_its_etag(self, anonymous, objects):
            response = anonymous.get(detail_path(objects[0]))
            assert response["ETag"] == f'"{objects[0].version}"'
            assert response.json()["version"] == objects[0].version

        def test_an_unknown_record_is_a_json_404(self, anonymous, objects):
            path = detail_path(objects[0])
            objects[0].delete()
            response = anonymous.get(path)
            assert response.status_code == 404
            assert "detail" in response.json()

    class ListObjects(Base):
        def test_anyone_can_list_them(self, anonymous, objects):
            response = anonymous.get(self.list_path)
            assert response.status_code == 200
            body = response.json()
            assert body["count"] == len(objects)
            assert {item["id"] for item in body["results"]} == {obj.pk for obj in objects}
            assert body["next"] is None and body["previous"] is None

        def test_limit_and_offset_page_through_them(self, anonymous, objects):
            first = anonymous.get(self.list_path, {"limit": 2}).json()
            second = anonymous.get(first["next"]).json()
            assert len(first["results"]) == 2 and len(second["results"]) == len(objects) - 2
            seen = [item["id"] for item in first["results"] + second["results"]]
            assert sorted(seen) == sorted(obj.pk for obj in objects)
            assert second["previous"] is not None

        def test_an_unknown_parameter_is_a_400_that_lists_the_accepted_ones(self, anonymous, objects):
            response = anonymous.get(self.list_path, {"no_such_filter": "x"})
            assert response.status_code == 400
            message = response.json()["no_such_filter"][0]
            assert "limit" in message and "offset" in message and "ordering" in message and "id" in message

    class CreateObject(Base):
        def create_data(self, objects: list[models.Model]) -> list[dict]:
            """Valid bodies for new records (they may refer to ``objects``)."""
            raise NotImplementedError

        def test_an_anonymous_user_cannot_create_one(self, anonymous, objects):
            response = anonymous.post(self.list_path, self.create_data(objects)[0], format="json")
            assert response.status_code == 401
            assert response.json()["detail"]
            assert self.model.objects.count() == len(objects)

        def test_a_user_without_permission_cannot_create_one(self, outsider_client, objects):
            response = outsider_client.post(self.list_path, self.create_data(objects)[0], format="json")
            assert response.status_code == 403
            assert self.model.objects.count() == len(objects)

        def test_an_editor_can_create_them_and_the_history_names_the_editor(self, editor_client, objects):
            for data in self.create_data(objects):
                response = editor_client.post(self.list_path, {**data, "change_reason": "new"}, format="json")
                assert response.status_code == 201, response.content
                shown = response.json()
                assert response["Location"] == shown["api_url"]
                assert response["ETag"] == '"1"'
                assert "change_reason" not in shown
                self.assert_shows(shown, data)
                created = self.model.objects.get(pk=shown["id"])
                self.assert_shows(editor_client.get(detail_path(created)).json(), data)
                [entry] = history_of(created)
                assert (entry["type"], entry["user"], entry["reason"]) == ("created", "editor", "new")
            assert self.model.objects.count() == len(objects) + len(self.create_data(objects))

        def test_an_invalid_body_is_a_400_naming_the_field(self, editor_client, objects):
            response = editor_client.post(self.list_path, {"id": "x"}, format="json")
            assert response.status_code == 400
            assert response.json()  # {field: [message, ...]}
            assert self.model.objects.count() == len(objects)

    class UpdateObject(Base):
        def update_data(self) -> dict:
            """A valid PATCH body for the first of ``make_objects``."""
            raise NotImplementedError

        def test_an_anonymous_user_cannot_update_one(self, anonymous, objects):
            response = anonymous.patch(detail_path(objects[0]), self.update_data(), format="json")
            assert response.status_code == 401
            objects[0].refresh_from_db()
            assert objects[0].version == 1

        def test_a_user_without_permission_cannot_update_one(self, outsider_client, objects):
            response = outsider_client.patch(detail_path(objects[0]), self.update_data(), format="json")
            assert response.status_code == 403
            objects[0].refresh_from_db()
            assert objects[0].version == 1

        def test_an_editor_can_update_one_and_the_history_says_what_changed(self, editor_client, objects):
            data = self.update_data()
            response = editor_client.patch(detail_path(objects[0]), {**data, "change_reason": "fix"}, format="json")
            assert response.status_code == 200, response.content
            self.assert_shows(response.json(), data)
            assert response.json()["version"] == 2
            assert response["ETag"] == '"2"'
            newest = history_of(objects[0])[0]
            assert (newest["type"], newest["user"], newest["reason"]) == ("changed", "editor", "fix")

        def test_an_editor_can_put_the_whole_record_back(self, editor_client, objects):
            shown = editor_client.get(detail_path(objects[0])).json()
            writable = {k: v for k, v in shown.items() if v is not None and k not in READ_ONLY_FIELDS}
            response = editor_client.put(detail_path(objects[0]), writable, format="json")
            assert response.status_code == 200, response.content
            assert {k: v for k, v in response.json().items() if k in writable} == writable

        def test_a_stale_if_match_is_a_412_and_changes_nothing(self, editor_client, objects):
            response = editor_client.patch(
                detail_path(objects[0]), self.update_data(), format="json", HTTP_IF_MATCH='"7"'
            )
            assert response.status_code == 412
            assert "version 1" in response.json()["detail"]
            objects[0].refresh_from_db()
            assert objects[0].version == 1

        def test_the_current_etag_in_if_match_lets_the_update_through(self, editor_client, objects):
            etag = editor_client.get(detail_path(objects[0]))["ETag"]
            response = editor_client.patch(
                detail_path(objects[0]), self.update_data(), format="json", HTTP_IF_MATCH=etag
            )
            assert response.status_code == 200, response.content
            again = editor_client.patch(detail_path(objects[0]), self.update_data(), format="json", HTTP_IF_MATCH=etag)
            assert again.status_code == 412

    class DeleteObject(Base):
        def test_an_anonymous_user_cannot_delete_one(self, anonymous, objects):
            assert anonymous.delete(detail_path(objects[0])).status_code == 401
            assert self.model.objects.filter(pk=objects[0].pk).exists()

        def test_a_user_without_permission_cannot_delete_one(self, outsider_client, objects):
            assert outsider_client.delete(detail_path(objects[0])).status_code == 403
            assert self.model.objects.filter(pk=objects[0].pk).exists()

        def test_an_editor_can_delete_one_and_its_history_stays(self, editor_client, objects):
            response = editor_client.delete(detail_path(objects[0]), {"change_reason": "duplicate"}, format="json")
            assert response.status_code == 204, response.content
            assert not self.model.objects.filter(pk=objects[0].pk).exists()
            assert editor_client.get(detail_path(objects[0])).status_code == 404
            newest = history_of(objects[0])[0]
            assert (newest["type"], newest["user"], newest["reason"]) == ("deleted", "editor", "duplicate")

        def test_a_stale_if_match_refuses_the_delete(self, editor_client, objects):
            response = editor_client.delete(detail_path(objects[0]), HTTP_IF_MATCH='"2"')
            assert response.status_code == 412
            assert self.model.objects.filter(pk=objects[0].pk).exists()

    class APIViewTestCase(GetObject, ListObjects, CreateObject, UpdateObject, DeleteObject):
        """Every generic case."""


# What a client may not send back in a PUT (computed by newsdb).
READ_ONLY_FIELDS = {
    "id",
    "api_url",
    "version",
    "created_at",
    "updated_at",
    "article_count",
    "event_count",
    "figure_count",
    "date_latest",
    "quote_start",
    "quote_end",
    "reviewed_by",
    "reviewed_at",
    "events",
    "figures",
}


class _FormReader(HTMLParser):
    """The fields a browser would submit from each ``<form method=post>`` of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[list[tuple[str, str]]] = []
        self.fields: list[tuple[str, str]] = []
        self.in_form = False
        self.textarea: str | None = None
        self.text: list[str] = []
        self.select: str | None = None
        self.select_multiple = False
        self.options: list[tuple[str, bool]] = []
        self.option: tuple[str, bool] | None = None
        self.option_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "").lower() == "post":
            self.in_form, self.fields = True, []
            self.forms.append(self.fields)
        if not self.in_form:
            return
        if tag == "input" and a.get("name") and "disabled" not in a:
            kind = (a.get("type") or "text").lower()
            if kind in {"checkbox", "radio"}:
                if "checked" in a:
                    self.fields.append((a["name"], a.get("value", "on")))
            elif kind not in {"submit", "button", "image", "reset", "file"}:
                self.fields.append((a["name"], a.get("value", "")))
        elif tag == "textarea" and a.get("name"):
            self.textarea, self.text = a["name"], []
        elif tag == "select" and a.get("name"):
            self.select, self.select_multiple, self.options = a["name"], "multiple" in a, []
        elif tag == "option" and self.select is not None:
            self.option, self.option_text = (a.get("value"), "selected" in a), []

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.text.append(data)
        if self.option is not None:
            self.option_text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.in_form = False
        elif tag == "textarea" and self.textarea is not None:
            text = "".join(self.text)
            # HTML drops one newline right after <textarea>; a browser submits line breaks as CRLF.
            text = text[1:] if text.startswith("\n") else text
            self.fields.append((self.textarea, text.replace("\r\n", "\n").replace("\n", "\r\n")))
            self.textarea = None
        elif tag == "option" and self.option is not None:
            value, selected = self.option
            self.options.append((value if value is not None else "".join(self.option_text).strip(), selected))
            self.option = None
        elif tag == "select" and self.select is not None:
            chosen = [value for value, selected in self.options if selected]
            if not chosen and not self.select_multiple and self.options:
                chosen = [self.options[0][0]]
            self.fields.extend((self.select, value) for value in chosen)
            self.select = None


def browser_post_data(html: str, submit: str = "_save") -> dict[str, list[str]]:
    """What a browser posts back from the page's main form (the one with the most fields, not the logout
    button's), unchanged: every field and every inline form, with textareas in CRLF, as the test client's
    ``post`` takes it (a list per name)."""
    reader = _FormReader()
    reader.feed(html)
    data: dict[str, list[str]] = {}
    for name, value in max(reader.forms, key=len):
        data.setdefault(name, []).append(value)
    data[submit] = ["Save"]
    return data
