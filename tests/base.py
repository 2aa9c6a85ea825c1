"""What the test modules share (no test module imports another): generic test cases, factories and helpers.

- ``APIViewTestCases``: generic API test cases (NetBox style). A resource's test module declares a subclass of
  ``APIViewTestCases.APIViewTestCase`` with the model, the route, how to make three records, what to POST and
  what to PATCH; the base classes then check list, get, create, update and delete as an anonymous user, as a
  user without permission and as an editor (token authentication), and that every write leaves one history
  entry naming the editor and the reason.
- ``FilterSetTests`` and ``ChangeLoggedFilterSetTests``: generic FilterSet test cases (NetBox style); the
  ``id``, ``created_at`` and ``updated_at`` filters are tested once, for every model, by the latter.
- ``made_once``: data made once for a whole class of tests that only read it (the curated data set, see
  ``curated_once`` in conftest.py), rolled back after the class.
- Factories (``make_company`` ...) and the admin helpers (``changeform_data``, ``change_url`` ...).
- ``synthetic_data_set`` and ``write_synthetic_article``: a synthetic archive of any size for the loader's tests.
- ``chromium_page``: a page in Debian's headless Chromium, driven by Playwright, for the browser tests.
- ``serving``: waits until a server started in a subprocess is ready, and stops it after.
- ``interleaved`` and ``postgresql_only``: two writers at once, on PostgreSQL.
"""

import datetime
import json
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, connections, models, transaction
from django.db.models import Sum
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from articles import provenance
from articles.choices import Metric
from articles.models import Alias, Article, Company, Event, EventParticipant, Figure, Person
from articles.services import history

# The curated data set (conftest's ``curated`` and ``curated_once`` load it).
FIXTURES_DIR = Path(settings.BASE_DIR) / "fixtures"

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


def created(record: models.Model) -> models.Model:
    """The factories write rows directly (fast) and then the record's "created" history entry, with its
    lists, through the one history writer, as a service would."""
    lists = history.lists_read(type(record), [record.pk])[record.pk]
    history.history_write([history.history_entry(record, history_type="+", user=None, lists=lists)])
    return record


def every_page(client, path: str) -> list[dict]:
    """Every row of a list, following its next links from ``path``."""
    rows = []
    while path:
        body = client.get(path).json()
        rows.extend(body["results"])
        path = body["next"]
    return rows


# PostgreSQL's plans of the list pages (tests that show a page is read from an index).


def page_plan(api, resource: str, url: str, *, off: tuple[str, ...] = ("enable_sort",)) -> dict:
    """The PostgreSQL plan of the query that reads the page, with the plans ``off`` priced out."""
    with CaptureQueriesContext(connection) as captured:
        response = api.get(url)
    assert response.status_code == 200, response.content
    table = f'FROM "articles_{resource[:-1]}"'
    [page] = [q["sql"] for q in captured if table in q["sql"] and " LIMIT " in q["sql"] and "COUNT(" not in q["sql"]]
    with connection.cursor() as sql:
        for setting in off:
            sql.execute(f"SET {setting} = off")
        try:
            sql.execute(f"EXPLAIN (FORMAT JSON) {page}")
            result = sql.fetchone()[0]
        finally:
            for setting in off:
                sql.execute(f"RESET {setting}")
    return (json.loads(result) if isinstance(result, str) else result)[0]["Plan"]


def nodes(plan: dict) -> list[dict]:
    return [plan, *(node for child in plan.get("Plans", []) for node in nodes(child))]


def indexes_read(plan: dict) -> set[str]:
    found = {plan["Index Name"]} if plan.get("Index Name") else set()
    for child in plan.get("Plans", []):
        found |= indexes_read(child)
    return found


def sort_nodes(plan: dict) -> list[str]:
    found = [plan["Node Type"]] if "Sort" in plan["Node Type"] else []
    for child in plan.get("Plans", []):
        found += sort_nodes(child)
    return found


def make_company(slug: str, *, aliases: tuple[str, ...] = (), **fields: Any) -> Company:
    fields.setdefault("name", slug.replace("-", " ").title())
    company = Company.objects.create(slug=slug, **fields)
    for name in aliases:
        Alias.objects.create(company=company, name=name)
    return created(company)


def make_person(slug: str, *, aliases: tuple[str, ...] = (), **fields: Any) -> Person:
    fields.setdefault("name", slug.replace("-", " ").title())
    person = Person.objects.create(slug=slug, **fields)
    for name in aliases:
        Alias.objects.create(person=person, name=name)
    return created(person)


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
    return created(article)


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
    return created(event)


FIGURE_DEFAULTS = {
    "metric": "revenue",
    "as_reported": "$1.5 million",
    "value": Decimal("1500000"),
    "unit": "USD",
    "quote": REVENUE_QUOTE,
}


def figure_body(article: str, company: str = "acme", **fields: Any) -> dict[str, Any]:
    """The JSON body of a new figure for ``POST /api/figures/``: ``FIGURE_DEFAULTS`` as a client sends them."""
    return {"article": article, "company": company, **FIGURE_DEFAULTS, "value": str(FIGURE_DEFAULTS["value"]), **fields}


def make_figure(article: Article, key: str, **fields: Any) -> Figure:
    values = {**FIGURE_DEFAULTS, **fields}
    if values.get("company") is None:
        values.setdefault("subject", key.replace("-", " "))
    # Derived as figure_save derives it (factories write rows directly).
    values["period_granularity"] = provenance.period_granularity(values.get("period_start"), values.get("period_end"))
    start, end = provenance.locate_quote(article.body, values["quote"])
    return created(Figure.objects.create(article=article, key=key, quote_start=start, quote_end=end, **values))


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def history_of(instance: models.Model, *, anonymous: bool = False) -> list[dict]:
    """The history endpoint's entries for ``instance``, read by a logged-in user, who sees usernames; with
    ``anonymous``, as anyone, who sees editors' names instead (``articles/api/attribution.py``)."""
    client = APIClient()
    if not anonymous:
        client.force_authenticate(User(username="history-reader"))
    response = client.get(f"{detail_path(instance)}history/")
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
                    if name == "aliases":  # written as names (shorthand), shown as {name, garbled, note}
                        names = sorted(a if isinstance(a, str) else a["name"] for a in written[name])
                        assert [alias["name"] for alias in shown[name]] == names, name
                        continue
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


# --------------------------------------------------------------------------------------------------
# A synthetic archive for the loader's tests: one company and as many articles as asked for


SYNTHETIC_BODY = "Acme made $ {million} million in March. Acme was founded in 2013."


def write_synthetic_article(
    folder: Path,
    n: int,
    *,
    prefix: str = "a",
    body: str = SYNTHETIC_BODY,
    mentions: bool = False,
    file_name: str = "{prefix}{n:03d}.yaml",
    **changes: dict,
) -> Path:
    """Write the ``n``-th article of a synthetic archive (slug ``{prefix}{n}``) with a founding event and a
    revenue figure of $ n + 1 million, quoted from ``body`` (a template with ``{million}``); with ``mentions``
    the article names acme. ``changes`` update a section (``article=``, ``events=``, ``figures=``; the first
    item of a list)."""
    article = {
        "slug": f"{prefix}{n}",
        "title": f"A{n}",
        "published_on": "2019-08-01",
        "body": body.format(million=n + 1),
    }
    if mentions:
        article["companies"] = ["acme"]
    doc = {
        "article": article,
        "events": [
            {
                "key": "founded",
                "title": "Founded",
                "type": "founding",
                "date": "2013-01-01",
                "date_precision": "year",
                "quote": "Acme was founded in 2013.",
                "participants": [{"company": "acme", "role": "subject"}],
            }
        ],
        "figures": [
            {
                "key": "march",
                "company": "acme",
                "metric": "revenue",
                "as_reported": f"$ {n + 1} million",
                "value": (n + 1) * 1_000_000,
                "unit": "USD",
                "quote": f"Acme made $ {n + 1} million in March.",
            }
        ],
    }
    for section, values in changes.items():
        if isinstance(doc[section], list):
            doc[section][0].update(values)
        else:
            doc[section].update(values)
    path = folder / file_name.format(prefix=prefix, n=n)
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def synthetic_data_set(folder: Path, articles: int, **article_options: Any) -> Path:
    """Make ``folder`` with companies.yaml (acme, alias "ACME Corp") and ``articles`` articles written by
    ``write_synthetic_article`` with ``article_options``."""
    folder.mkdir()
    (folder / "companies.yaml").write_text(
        yaml.safe_dump({"companies": [{"slug": "acme", "name": "Acme", "aliases": ["ACME Corp"]}]}), encoding="utf-8"
    )
    for n in range(articles):
        write_synthetic_article(folder, n, **article_options)
    return folder


# --------------------------------------------------------------------------------------------------
# A real browser: Debian's Chromium (``make browser-deps``) driven by Playwright through ``executable_path``


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def chromium_page(monkeypatch, *, timeout_ms: int) -> Iterator[Any]:
    """A Playwright page in a headless Chromium, closed after; ``timeout_ms`` is its default timeout. The body of
    a browser test's page fixture (which also asks for ``live_server``): ``with chromium_page(...) as page: yield
    page``. Fails, rather than skips, when Chromium is missing."""
    from playwright.sync_api import sync_playwright  # only the browser tests need Playwright

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make browser-deps)")
    # Playwright's sync API runs an event loop in the test's thread, where Django would otherwise refuse the
    # test's own database calls (and the teardown's) as async-unsafe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.set_default_timeout(timeout_ms)
            yield page
        finally:
            browser.close()
            # While its loop runs, the test's code runs in a context of Playwright's, and the database connection
            # it opened there is not the thread's usual one: left open, it held the test database, and dropping
            # that at the end of the run failed ("being accessed by other users").
            connections.close_all()


# --------------------------------------------------------------------------------------------------
# A server in a subprocess (gunicorn, say), started by the test


@contextmanager
def serving(
    process: subprocess.Popen, log: Path, ready: Callable[[], bool], *, seconds: float = 60, pause: float = 0.2
) -> Iterator[subprocess.Popen]:
    """Wait until ``ready()`` (a probe of the server ``process``, which writes its output to ``log``) is true, then
    hand the process over; stop it after (SIGTERM, SIGKILL if it is still running 20 s later). Fails, showing the
    log, if the process exits before it is ready or is not ready within ``seconds`` (``ready`` may raise OSError
    while the server is not listening yet). The body of a server fixture::

        with log.open("wb") as out:
            process = subprocess.Popen(command, env=env, stdout=out, stderr=out)
        with serving(process, log, lambda: probe() == 200):
            yield ...
    """
    try:
        deadline = time.monotonic() + seconds
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if ready():
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(pause)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --------------------------------------------------------------------------------------------------
# The admin: the curated record most admin tests open, and what a browser would post back


AURADINE_ARTICLE = "bitmain-made-in-usa-threat-2024"
AURADINE_QUOTE = "Auradine raised $ 8 million in April,"


def auradine_figure() -> Figure:
    """The curated figure with the translation error ("$ 8 million" for $80 million)."""
    return Figure.objects.get(article__slug=AURADINE_ARTICLE, metric=Metric.FUNDING_RAISED, company__slug="auradine")


def change_url(obj: models.Model) -> str:
    return reverse(f"admin:articles_{obj._meta.model_name}_change", args=[obj.pk])


def form_errors(response) -> dict:
    return response.context["adminform"].form.errors


def changeform_data(response, **changes) -> dict:
    """The POST data of the admin form on ``response`` as the page shows it (inlines included), with ``changes``."""
    data: dict = {}
    forms = [response.context["adminform"].form]
    try:
        inlines = response.context["inline_admin_formsets"]
    except KeyError:
        inlines = []
    for inline in inlines:
        forms.append(inline.formset.management_form)
        forms.extend(inline.formset.forms)
    for form in forms:
        for field in form:
            value = field.value()
            if value is None or value is False:
                continue
            if value is True:
                data[field.html_name] = "on"
            elif isinstance(value, list | tuple):
                data[field.html_name] = [str(v) for v in value]
            else:
                data[field.html_name] = str(value)
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


# --------------------------------------------------------------------------------------------------
# Data made once for a class of tests


def database_fingerprint() -> dict[str, tuple[int, int | None]]:
    """Rows (and the sum of the versions, which every save bumps) of every newsdb table, history included, and
    of the users: what a test that wrote and was not rolled back would change."""
    fingerprint = {"auth.User": (User.objects.count(), None)}
    for model in apps.get_app_config("articles").get_models():
        rows = model._base_manager.all()
        versions = rows.aggregate(total=Sum("version"))["total"] if hasattr(model, "version") else None
        fingerprint[model._meta.label] = (rows.count(), versions)
    return fingerprint


def made_once(django_db_blocker, make: Callable[[], Any]) -> Iterator[Any]:
    """Make data once for a class (or module) of tests; the body of a class-scoped fixture
    (``yield from made_once(django_db_blocker, make)``).

    ``make()`` runs in a transaction that stays open while the class's tests run and is rolled back after the
    last one, so nothing is ever committed. Each test still runs in its own savepoint (pytest-django's ``db``
    fixture, which the tests must request), rolled back when it ends: whatever a test writes is undone before
    the next one starts, and the data is the same for every test. After the last test the database is
    compared with what ``make()`` left, so a write that escaped its test fails loudly rather than leaking
    into the next ones.

    Not for transactional tests (``transaction=True``, ``live_server``, threads with their own connections):
    they cannot see uncommitted data, and their flush would empty the class's data.
    """
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            made = make()
            before = database_fingerprint()
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            raise
    try:
        yield made
    finally:
        with django_db_blocker.unblock():
            try:
                after = database_fingerprint()
            finally:
                transaction.set_rollback(True)
                outer.__exit__(None, None, None)
    changed = {table: (before[table], after.get(table)) for table in before if before[table] != after.get(table)}
    assert not changed, f"a test's writes outlived it (rows, sum of versions) before -> after: {changed}"


# --------------------------------------------------------------------------------------------------
# FilterSet test cases (NetBox style)


class FilterSetTests(TestCase):
    """One test per filter of a FilterSet over a handful (3+) of records made by ``setUpTestData``.

    A concrete subclass names ``filterset`` and ``queryset`` (and ``name_field``, the field that names a record
    in assertions). ``count`` and ``names`` fail unless the filter keeps some records and drops others, so no
    filter test passes for a filter that does nothing (keeps everything) or one that returns nothing; ``order``
    fails if the ordering asked for is the queryset's own. A filter that must match nothing in some case says
    so with ``count_matching_nothing``, next to a case that matches something.
    """

    __test__ = False  # a base: only its subclasses that name a FilterSet are collected
    filterset: ClassVar[type]
    queryset: ClassVar[models.QuerySet]
    name_field: ClassVar[str] = "slug"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # Only a class that names its FilterSet is a test class; the bases in between are not collected.
        cls.__test__ = hasattr(cls, "filterset")

    def filtered(self, params: dict) -> models.QuerySet:
        filterset = self.filterset(params, self.queryset.all())
        assert filterset.is_valid(), filterset.errors
        return filterset.qs

    def _some_but_not_all(self, params: dict, matched: int) -> int:
        total = self.queryset.count()
        assert total >= 3, f"{total} records cannot tell a working filter from a broken one"
        assert 0 < matched < total, f"{params} matched {matched} of {total}: a broken filter could do that too"
        return matched

    def count(self, params: dict) -> int:
        """How many records ``params`` keeps; some but not all of them, or the test fails."""
        return self._some_but_not_all(params, self.filtered(params).count())

    def names(self, params: dict) -> set:
        """The ``name_field`` of the records ``params`` keeps; some but not all of them, or the test fails."""
        found = list(self.filtered(params).values_list(self.name_field, flat=True))
        self._some_but_not_all(params, len(set(found)))
        assert len(found) == len(set(found)), f"{params} returned a record twice: {found}"
        return set(found)

    def count_matching_nothing(self, params: dict) -> int:
        """How many records ``params`` keeps where the right answer is none (pair it with a case that matches)."""
        return self.filtered(params).count()

    def order(self, params: dict, field: str | None = None) -> list:
        """The ``field`` (``name_field``) of every record in the order ``params`` asks for, which must differ from
        the queryset's own order (else a do-nothing ordering would pass)."""
        field = field or self.name_field
        ordered = [getattr(obj, field) for obj in self.filtered(params)]
        unordered = [getattr(obj, field) for obj in self.queryset.all()]
        assert sorted(map(str, ordered)) == sorted(map(str, unordered)), f"{params} dropped or added records"
        assert ordered != unordered, f"{params} gives the queryset's own order: a do-nothing ordering passes too"
        return ordered


def stamp(model: type[models.Model], stamps: dict[str, int], field: str = "slug") -> None:
    """Give records known creation and update times: created on 1 January of the year ``stamps`` gives (UTC),
    updated a year later (for ``ChangeLoggedFilterSetTests``)."""
    for name, year in stamps.items():
        updated = model.objects.filter(**{field: name}).update(
            created_at=datetime.datetime(year, 1, 1, tzinfo=datetime.UTC),
            updated_at=datetime.datetime(year + 1, 1, 1, tzinfo=datetime.UTC),
        )
        assert updated == 1, (model, name)


class ChangeLoggedFilterSetTests(FilterSetTests):
    """The filters every newsdb record has, tested once for every FilterSet: ``id``, ``created_at`` and
    ``updated_at`` (``__gte``, ``__lte``), as NetBox's ``ChangeLoggedFilterSetTests``.

    ``stamps`` gives each record (by ``name_field``) the year it was created in, from 2020 on, for 3+ records
    and every record of the queryset; ``setUpTestData`` stamps them so with ``stamp``. The expected records are
    worked out from ``stamps`` here, not asked of the database; three of the four bounds fall on a stamp, which
    ``__gte`` and ``__lte`` must include.
    """

    stamps: ClassVar[dict[str, int]]

    def stamped(self, test: Callable[[int], bool]) -> set:
        return {name for name, year in self.stamps.items() if test(year)}

    def test_every_record_is_stamped(self):
        assert len(self.stamps) >= 3
        assert set(self.queryset.values_list(self.name_field, flat=True)) == set(self.stamps)

    def test_id(self):
        first, *_, last = sorted(self.stamps)
        params = {"id": [self.queryset.get(**{self.name_field: name}).pk for name in (first, last)]}
        assert self.names(params) == {first, last}

    def test_created_at__gte(self):
        params = {"created_at__gte": ["2021-01-01"]}
        assert self.names(params) == self.stamped(lambda year: year >= 2021)

    def test_created_at__lte(self):
        params = {"created_at__lte": ["2021-01-01T00:00:00Z"]}
        assert self.names(params) == self.stamped(lambda year: year <= 2021)

    def test_updated_at__gte(self):
        params = {"updated_at__gte": ["2022-06-01"]}
        assert self.names(params) == self.stamped(lambda year: year + 1 >= 2023)

    def test_updated_at__lte(self):
        params = {"updated_at__lte": ["2022-01-01"]}
        assert self.names(params) == self.stamped(lambda year: year + 1 <= 2022)

    def test_updated_since(self):
        params = {"updated_since": ["2022-01-01T00:00:00Z"]}  # inclusive: the change feed overlaps, never skips
        assert self.names(params) == self.stamped(lambda year: year + 1 >= 2022)


def interleaved(first: Callable[[], Any], second: Callable[[], Any]) -> dict[str, str]:
    """Two writers at once, each in its own transaction and connection (threads): A's write is done but not
    committed when B's starts; A commits once B's statement is under way or waiting on A's locks, so B is judged
    on what A left. Returns each writer's outcome ("A", "B"): "ok" or the exception's class name. Needs a
    transactional test (``transaction=True``) and PostgreSQL (``postgresql_only``)."""
    outcomes: dict[str, str] = {}
    a_wrote, b_started = threading.Event(), threading.Event()

    def run(name: str, write, before_commit=None) -> None:
        try:
            with transaction.atomic():
                write()
                if before_commit is not None:
                    before_commit()
            outcomes[name] = "ok"
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test checks
            outcomes[name] = type(exc).__name__
        finally:
            connection.close()

    def a_waits_for_b() -> None:
        a_wrote.set()
        b_started.wait(10)
        time.sleep(0.3)  # B's statement is now running, or waiting on A's locks

    a = threading.Thread(target=run, args=("A", first, a_waits_for_b))
    b = threading.Thread(target=run, args=("B", second))
    a.start()
    assert a_wrote.wait(10)
    b.start()
    b_started.set()
    a.join(20)
    b.join(20)
    return outcomes


postgresql_only = pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="the in-memory SQLite test database locks whole tables across threads; CI runs this on PostgreSQL",
)
