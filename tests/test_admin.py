"""The editors' admin: pages, lists, search, provenance in view, validation on the field, stale saves."""

import datetime
import importlib
import json
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from articles.admin.base import DistinctValuesFilter, InUseFilter
from articles.choices import EventType, Metric, ParticipantRole, ReviewStatus, Unit
from articles.models import Alias, Article, Company, Event, EventParticipant, Figure, Person
from articles.services.figures import figure_save

from .base import (
    AURADINE_ARTICLE,
    AURADINE_QUOTE,
    auradine_figure,
    change_url,
    changeform_data,
    form_errors,
    indexes_read,
    make_article,
)

MODELS = ["company", "person", "article", "event", "figure"]
#: The list filters by a related company or person (``InUseFilter``): (model, field path).
IN_USE_FILTERS = [
    ("article", "publisher"),
    ("event", "article__publisher"),
    ("figure", "article__publisher"),
    ("person", "affiliation"),
]


# --------------------------------------------------------------------------------------------------
# A small world, for pages whose size matters


def make_story(i: int) -> Figure:
    """An article with a publisher, a company (with a parent and an alias), a person, an event and a figure."""
    parent = Company.objects.create(slug=f"holding-{i}", name=f"Holding {i}")
    company = Company.objects.create(slug=f"acme-{i}", name=f"Acme {i}", parent=parent)
    Alias.objects.create(company=company, name=f"Akme {i}", garbled=True)
    person = Person.objects.create(slug=f"person-{i}", name=f"Person {i}", affiliation=company)
    Alias.objects.create(person=person, name=f"P. {i}")
    article = Article.objects.create(
        slug=f"story-{i}",
        title=f"Acme {i} raises money",
        publisher=parent,
        published_on=datetime.date(2024, 6, 1),
        body=f"Acme {i} raised $5 million in May, said Person {i}.",
    )
    article.companies.add(company, parent)
    article.people.add(person)
    event = Event(
        article=article,
        key="raise",
        title=f"Acme {i} raises $5 million",
        type=EventType.FUNDING_ROUND,
        date=datetime.date(2024, 5, 1),
        date_precision="month",
        quote=f"Acme {i} raised $5 million in May",
    )
    event.full_clean()
    event.save()
    EventParticipant.objects.create(event=event, company=company, role=ParticipantRole.SUBJECT)
    EventParticipant.objects.create(event=event, person=person, role=ParticipantRole.SPEAKER)
    figure = Figure(
        article=article,
        key="raise",
        company=company,
        metric=Metric.FUNDING_RAISED,
        value=Decimal("5000000"),
        unit=Unit.USD,
        as_reported="$5 million",
        quote=f"Acme {i} raised $5 million in May",
        period_label="May 2024",
    )
    figure.full_clean()
    figure.save()
    return figure


# --------------------------------------------------------------------------------------------------
# Who may use it


def admin_urls() -> list[str]:
    bitmain = Company.objects.get(slug="bitmain")
    article = Article.objects.get(slug=AURADINE_ARTICLE)
    objects = {
        "company": bitmain,
        "person": Person.objects.get(slug="jihan-wu"),
        "article": article,
        "event": article.events.get(quote=AURADINE_QUOTE),
        "figure": auradine_figure(),
    }
    urls = []
    for model in MODELS:
        obj = objects[model]
        urls += [
            reverse(f"admin:articles_{model}_changelist"),
            reverse(f"admin:articles_{model}_add"),
            reverse(f"admin:articles_{model}_change", args=[obj.pk]),
            reverse(f"admin:articles_{model}_history", args=[obj.pk]),
        ]
    return urls


@pytest.mark.usefixtures("curated_readonly")
class TestWhoMayUseIt:
    """Who may open the admin's pages (over the curated data, loaded once for the class)."""

    def test_every_admin_page_loads_for_an_editor(self, editor_client):
        for url in admin_urls():
            assert editor_client.get(url).status_code == 200, url

    def test_the_history_and_revert_pages_load_for_an_editor(self, editor_client):
        figure = auradine_figure()
        version = figure.history.earliest()
        url = reverse("admin:articles_figure_simple_history", args=[figure.pk, version.history_id])
        assert editor_client.get(url).status_code == 200

    def test_anonymous_users_are_sent_to_the_login_page(self, client):
        for url in admin_urls():
            response = client.get(url)
            assert response.status_code == 302, url
            assert response.url.startswith(reverse("admin:login")), url

    def test_a_user_who_is_not_staff_is_sent_to_the_login_page(self, client, outsider):
        client.force_login(outsider)
        for url in admin_urls():
            assert client.get(url).status_code == 302, url

    def test_staff_without_the_editors_permissions_cannot_see_the_records(self, client):
        client.force_login(User.objects.create_user("visitor", is_staff=True))
        assert client.get(reverse("admin:articles_figure_changelist")).status_code == 403
        assert client.get(change_url(auradine_figure())).status_code == 403


# --------------------------------------------------------------------------------------------------
# Lists


@pytest.mark.parametrize("model", MODELS)
def test_a_list_page_makes_the_same_number_of_queries_for_2_and_6_rows(model, db, editor_client):
    url = reverse(f"admin:articles_{model}_changelist")
    for i in range(2):
        make_story(i)
    editor_client.get(url)  # warm the content-type and permission caches
    with CaptureQueriesContext(connection) as small:
        assert editor_client.get(url).status_code == 200
    for i in range(2, 6):
        make_story(i)
    with CaptureQueriesContext(connection) as large:
        response = editor_client.get(url)
    assert response.status_code == 200
    assert response.context["cl"].result_count == (12 if model == "company" else 6)
    assert len(large) == len(small), [q["sql"] for q in large.captured_queries]


def test_the_language_filter_offers_every_language_in_use_as_djangos_would(editor_client):
    """``DistinctValuesFilter`` steps through the language index; its choices are Django's own filter's."""
    for n, language in enumerate(["zh", "en", "de", "en", "pt-BR", "zh"]):
        make_article(f"article-{n}", language=language)
    url = reverse("admin:articles_article_changelist")
    with CaptureQueriesContext(connection) as queries:
        response = editor_client.get(url)
    cl = response.context["cl"]
    [ours] = [f for f in cl.filter_specs if isinstance(f, DistinctValuesFilter)]
    djangos = admin.AllValuesFieldListFilter(ours.field, response.wsgi_request, {}, Article, cl.model_admin, "language")
    assert ours.lookup_choices == list(djangos.lookup_choices) == ["de", "en", "pt-BR", "zh"]
    assert not any("DISTINCT" in q["sql"] for q in queries.captured_queries)
    page = response.content.decode()
    assert all("?language=" + code in page for code in ("de", "pt-BR", "zh"))
    narrowed = editor_client.get(url, {"language": "zh"}).context["cl"]
    assert sorted(a.slug for a in narrowed.result_list) == ["article-0", "article-5"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigram indexes are PostgreSQL's")
def test_migration_0026_builds_the_article_pickers_indexes_with_their_statistics(db):
    """Both ways; forwards also analyses the table, so that the planner knows the indexed expressions' values."""
    migration = importlib.import_module("articles.migrations.0026_article_title_slug_trigram")
    for slug, title in [("pangolins", "Unusual pangolins"), ("aardvarks", "Aardvarks"), ("zebras", "Zebras")]:
        make_article(slug, title=title)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # checked now: no index is built with checks pending

    def built() -> dict[str, list[str]]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT c.relname, coalesce(s.most_common_vals::text, s.histogram_bounds::text, '') FROM pg_class c "
                "LEFT JOIN pg_stats s ON s.tablename = c.relname AND s.schemaname = current_schema() "
                "WHERE c.relname IN ('article_title_trgm', 'article_slug_trgm') ORDER BY 1"
            )
            return dict(cursor.fetchall())

    with connection.schema_editor() as editor:
        migration.backwards(None, editor)
    assert built() == {}
    with connection.schema_editor() as editor:
        migration.forwards(None, editor)
    stats = built()
    assert set(stats) == {"article_slug_trgm", "article_title_trgm"}
    assert "UNUSUAL PANGOLINS" in stats["article_title_trgm"] and "PANGOLINS" in stats["article_slug_trgm"]


@pytest.mark.usefixtures("curated_readonly")
class TestLists:
    """The lists: columns, search, filters and counts (over the curated data, loaded once for the class)."""

    def test_the_figure_list_shows_company_metric_value_period_and_status(self, editor_client):
        response = editor_client.get(reverse("admin:articles_figure_changelist"), {"q": "Auradine raised"})
        page = response.content.decode()
        assert response.context["cl"].result_count == 1
        for text in ("Auradine", "Funding raised", "8,000,000 USD", "April 2024", "Reported"):
            assert text in page

    def test_the_event_list_shows_the_participants(self, editor_client):
        response = editor_client.get(reverse("admin:articles_event_changelist"), {"q": AURADINE_QUOTE})
        assert response.context["cl"].result_count == 1
        assert "Auradine (subject)" in response.content.decode()

    def test_companies_are_found_by_name_and_by_alias(self, editor_client):
        url = reverse("admin:articles_company_changelist")
        for term in ("Bitmain", "Betland", "Etherdo"):
            found = editor_client.get(url, {"q": term}).context["cl"].result_list
            assert "bitmain" in [c.slug for c in found], term
        assert [c.slug for c in editor_client.get(url, {"q": "Etherdo"}).context["cl"].result_list] == ["bitmain"]

    def test_figures_and_events_are_found_by_their_quote(self, editor_client):
        figures = editor_client.get(reverse("admin:articles_figure_changelist"), {"q": "raised $ 8 million in April"})
        events = editor_client.get(reverse("admin:articles_event_changelist"), {"q": "raised $ 8 million in April"})
        assert [f.key for f in figures.context["cl"].result_list] == ["auradine-april-2024-funding"]
        assert [e.quote for e in events.context["cl"].result_list] == [AURADINE_QUOTE]

    @pytest.mark.parametrize("model", ["figure", "event"])
    def test_figures_and_events_are_searched_through_the_full_text_index(self, editor_client, model):
        """Words in any form ("raising" finds "raised"), -word leaves out; read from the index, not row by row."""
        url = reverse(f"admin:articles_{model}_changelist")
        with CaptureQueriesContext(connection) as queries:
            response = editor_client.get(url, {"q": "Auradine raising"})
        found = response.context["cl"].result_list
        assert [r.quote for r in found] == [AURADINE_QUOTE]
        sql = " ".join(q["sql"] for q in queries.captured_queries)
        assert ("search_document @@" if connection.vendor == "postgresql" else " MATCH ") in sql
        assert "LIKE" not in sql.upper(), sql  # Django's own search: icontains on each field, every row
        assert "Whole words in any form" in response.content.decode()
        assert editor_client.get(url, {"q": "Auradine raised -april"}).context["cl"].result_count == 0
        assert editor_client.get(url, {"q": '"raised auradine"'}).context["cl"].result_count == 0  # not together

    @pytest.mark.parametrize("term", ["made-in-us", "MADE-IN", "ade-in-usa-thr"])
    def test_the_article_picker_finds_an_article_by_part_of_its_slug_or_title(self, editor_client, term):
        url = "/admin/autocomplete/"
        query = {"app_label": "articles", "model_name": "figure", "field_name": "article", "term": term}
        found = [r["text"] for r in editor_client.get(url, query).json()["results"]]
        assert found == [str(Article.objects.get(slug=AURADINE_ARTICLE))]
        articles = editor_client.get(reverse("admin:articles_article_changelist"), {"q": term}).context["cl"]
        assert [a.slug for a in articles.result_list] == [AURADINE_ARTICLE]

    @pytest.mark.skipif(connection.vendor != "postgresql", reason="the plans are PostgreSQL's")
    def test_the_article_picker_reads_the_trigram_indexes(self, editor_client):
        """Without them (migration 0026) the only plan reads every article; with plain scans priced out, the plan
        that remains reads both indexes (the title or the slug)."""
        url = "/admin/autocomplete/?app_label=articles&model_name=figure&field_name=article&term=threat"
        with CaptureQueriesContext(connection) as captured:
            assert editor_client.get(url).status_code == 200
        [count] = [
            q["sql"] for q in captured if q["sql"].startswith('SELECT COUNT(*) AS "__count" FROM "articles_article"')
        ]
        assert 'UPPER("articles_article"."title"::text) LIKE' in count  # the condition the page reads with too
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_indexscan = off")
            cursor.execute(f"EXPLAIN (FORMAT JSON) {count}")
            plan = cursor.fetchone()[0]
        plan = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
        assert {"article_title_trgm", "article_slug_trgm"} <= indexes_read(plan), plan

    def test_the_list_filters_narrow_the_figures(self, editor_client):
        url = reverse("admin:articles_figure_changelist")
        everything = editor_client.get(url).context["cl"].result_count
        funding = editor_client.get(url, {"metric__exact": "funding_raised"}).context["cl"]
        assert 0 < funding.result_count < everything
        assert {f.metric for f in funding.result_list} == {"funding_raised"}

    @pytest.mark.parametrize(("model", "path"), IN_USE_FILTERS)
    def test_a_related_filter_offers_what_djangos_would_and_narrows_the_list(self, editor_client, model, path):
        """``InUseFilter`` asks each company or person with EXISTS; the choices are Django's own filter's."""
        url = reverse(f"admin:articles_{model}_changelist")
        response = editor_client.get(url)
        cl = response.context["cl"]
        [ours] = [f for f in cl.filter_specs if isinstance(f, InUseFilter) and f.field_path == path]
        djangos = admin.RelatedOnlyFieldListFilter(
            ours.field, response.wsgi_request, {}, cl.model, cl.model_admin, path
        )
        assert ours.lookup_choices == djangos.lookup_choices
        assert len(ours.lookup_choices) >= 2  # the curated data names several
        for pk, _name in ours.lookup_choices:
            narrowed = editor_client.get(url, {f"{path}__id__exact": pk}).context["cl"]
            assert narrowed.result_count == cl.model.objects.filter(**{f"{path}__id": pk}).count() > 0

    def test_the_article_list_counts_events_and_figures(self, editor_client):
        response = editor_client.get(reverse("admin:articles_article_changelist"), {"q": AURADINE_ARTICLE})
        (article,) = response.context["cl"].result_list
        assert article.n_events == Event.objects.filter(article__slug=AURADINE_ARTICLE).count() > 0
        assert article.n_figures == Figure.objects.filter(article__slug=AURADINE_ARTICLE).count() > 0

    def test_foreign_keys_are_chosen_by_autocomplete(self, editor_client):
        response = editor_client.get(
            reverse("admin:autocomplete"),
            {"app_label": "articles", "model_name": "figure", "field_name": "company", "term": "Auradine"},
        )
        assert [r["text"] for r in response.json()["results"]] == ["Auradine"]
        page = editor_client.get(change_url(auradine_figure())).content.decode()
        assert 'class="admin-autocomplete' in page


# --------------------------------------------------------------------------------------------------
# A record's page: provenance in view, the version it was opened at


@pytest.mark.usefixtures("curated_readonly")
class TestChangePages:
    """What a record's page shows: its provenance, its version (the curated data, loaded once for the class)."""

    def test_a_figure_page_shows_the_article_body_with_the_quote_highlighted(self, editor_client):
        figure = auradine_figure()
        page = editor_client.get(change_url(figure)).content.decode()
        assert f'<mark id="provenance-quote">{AURADINE_QUOTE}</mark>' in page
        assert "Marathon Digital Holdings Inc., one of the largest customers of Bitmain" in page

    def test_an_event_page_shows_the_article_body_with_the_quote_highlighted(self, editor_client):
        event = Event.objects.get(article__slug=AURADINE_ARTICLE, quote=AURADINE_QUOTE)
        page = editor_client.get(change_url(event)).content.decode()
        assert f'<mark id="provenance-quote">{AURADINE_QUOTE}</mark>' in page
        assert "Marathon Digital" in page  # the participants inline

    def test_the_change_form_carries_the_version_in_a_hidden_field(self, editor_client):
        figure = auradine_figure()
        page = editor_client.get(change_url(figure)).content.decode()
        assert f'<input type="hidden" name="version" value="{figure.version}"' in page


def test_the_article_body_is_escaped(db, editor_client):
    figure = make_story(1)
    Article.objects.filter(pk=figure.article_id).update(
        body='<script>alert("x")</script> Acme 1 raised $5 million in May, said Person 1.'
    )
    figure.refresh_from_db()
    page = editor_client.get(change_url(figure)).content.decode()
    assert '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; <mark id="provenance-quote">Acme 1 raised' in page
    assert '<script>alert("x")' not in page


# --------------------------------------------------------------------------------------------------
# Validation shows on the field


@pytest.mark.usefixtures("curated_readonly")
class TestValidationShowsOnTheField:
    """Refused saves name the field and write nothing (the curated data, loaded once for the class; each test's
    writes, had there been any, are rolled back with it)."""

    def test_a_quote_missing_from_the_body_is_refused_on_the_quote_field(self, editor_client):
        figure = auradine_figure()
        url = change_url(figure)
        response = editor_client.post(url, changeform_data(editor_client.get(url), quote="Auradine raised $ 9 million"))
        assert response.status_code == 200
        assert "does not occur verbatim in the article's body" in form_errors(response)["quote"][0]
        figure.refresh_from_db()
        assert figure.quote == AURADINE_QUOTE

    def test_an_as_reported_missing_from_the_quote_is_refused_on_its_field(self, editor_client):
        url = change_url(auradine_figure())
        response = editor_client.post(url, changeform_data(editor_client.get(url), as_reported="$ 80 million"))
        assert response.status_code == 200
        assert "does not occur in the figure's quote" in form_errors(response)["as_reported"][0]

    def test_a_value_that_disagrees_with_the_words_is_refused_unless_corrected(self, editor_client):
        url = change_url(auradine_figure())
        response = editor_client.post(url, changeform_data(editor_client.get(url), value="80000000"))
        assert response.status_code == 200
        assert "set the status to corrected" in form_errors(response)["value"][0]

    def test_an_event_quote_missing_from_the_body_is_refused_on_the_quote_field(self, editor_client):
        event = Event.objects.get(article__slug=AURADINE_ARTICLE, quote=AURADINE_QUOTE)
        url = change_url(event)
        response = editor_client.post(url, changeform_data(editor_client.get(url), quote="Auradine raised a lot"))
        assert response.status_code == 200
        assert "does not occur verbatim" in form_errors(response)["quote"][0]

    def test_a_correction_without_a_note_is_refused(self, editor_client):
        figure = auradine_figure()
        url = change_url(figure)
        data = changeform_data(editor_client.get(url), value="80000000", status=ReviewStatus.CORRECTED, note="")
        response = editor_client.post(url, data)
        assert response.status_code == 200
        assert form_errors(response)["note"] == ["A corrected figure needs a note that says why the value was changed."]
        figure.refresh_from_db()
        assert (figure.value, figure.status) == (Decimal("8000000"), ReviewStatus.REPORTED)


# --------------------------------------------------------------------------------------------------
# Review workflow


def test_a_correction_keeps_the_articles_words_and_stamps_the_reviewer(curated, editor_client, editor):
    figure = auradine_figure()
    url = change_url(figure)
    note = "Translation error: other reports of the Bloomberg story say $80 million."
    data = changeform_data(editor_client.get(url), value="80000000", status=ReviewStatus.CORRECTED, note=note)
    response = editor_client.post(url, data)
    assert response.status_code == 302, form_errors(response)
    figure.refresh_from_db()
    assert figure.value == Decimal("80000000")
    assert figure.as_reported == "$ 8 million"
    assert figure.status == ReviewStatus.CORRECTED
    assert figure.note == note
    assert figure.reviewed_by == editor
    assert figure.reviewed_at is not None


def test_mark_verified_verifies_many_figures_with_a_history_entry_each(curated, editor_client, editor):
    figures = list(Figure.objects.filter(article__slug="bitmain-q1-2019-loss").order_by("pk")[:3])
    response = editor_client.post(
        reverse("admin:articles_figure_changelist"),
        {"action": "mark_verified", "_selected_action": [f.pk for f in figures], "index": 0},
    )
    assert response.status_code == 302
    for figure in figures:
        figure.refresh_from_db()
        assert figure.status == ReviewStatus.VERIFIED
        assert figure.reviewed_by == editor
        newest = figure.history.latest()
        assert (newest.history_user, newest.history_change_reason) == (
            editor,
            "Marked verified from the figure list",
        )
        assert figure.history.filter(history_user=editor).count() == 1


def test_mark_disputed_disputes_the_selected_figures(curated, editor_client):
    figure = auradine_figure()
    editor_client.post(
        reverse("admin:articles_figure_changelist"),
        {"action": "mark_disputed", "_selected_action": [figure.pk], "index": 0},
    )
    figure.refresh_from_db()
    assert figure.status == ReviewStatus.DISPUTED


def test_mark_verified_changes_nothing_when_one_figure_cannot_be_verified(curated, editor_client, editor):
    corrected = auradine_figure()
    data = {"value": Decimal("80000000"), "status": ReviewStatus.CORRECTED, "note": "Translation."}
    corrected = figure_save(figure=corrected, data=data, user=editor)
    other = Figure.objects.filter(article__slug="bitmain-q1-2019-loss").first()
    response = editor_client.post(
        reverse("admin:articles_figure_changelist"),
        {"action": "mark_verified", "_selected_action": [corrected.pk, other.pk], "index": 0},
        follow=True,
    )
    messages = [str(m) for m in response.context["messages"]]
    assert any("cannot be marked verified, so nothing was changed" in m and "$ 8 million" in m for m in messages)
    other.refresh_from_db()
    corrected.refresh_from_db()
    assert other.status == ReviewStatus.REPORTED
    assert corrected.status == ReviewStatus.CORRECTED


# --------------------------------------------------------------------------------------------------
# Stale pages


def test_a_save_from_a_stale_page_is_refused_and_writes_nothing(curated, editor_client, editor):
    figure = auradine_figure()
    url = change_url(figure)
    stale_page = editor_client.get(url)
    # Meanwhile another editor disputes the figure.
    colleague = User.objects.create_user("colleague")
    data = {"status": ReviewStatus.DISPUTED, "note": "Other reports say $80 million."}
    figure_save(figure=figure, data=data, user=colleague)

    data = changeform_data(stale_page, value="80000000", status=ReviewStatus.CORRECTED, note="Translation error.")
    response = editor_client.post(url, data)

    assert response.status_code == 200
    errors = form_errors(response).get("__all__")
    assert errors and "Someone else saved this figure after you opened it" in errors[0]
    figure.refresh_from_db()
    assert (figure.value, figure.status, figure.note) == (
        Decimal("8000000"),
        ReviewStatus.DISPUTED,
        "Other reports say $80 million.",
    )
    assert figure.history.latest().history_user == colleague


def test_a_save_that_loses_a_race_is_refused_and_keeps_the_editors_input_on_the_page(curated, editor_client):
    # The service checks the version on the locked row: a save in between is never overwritten.
    figure = auradine_figure()
    url = change_url(figure)
    stale_page = editor_client.get(url)
    figure_save(figure=figure, data={"note": "Checked again."}, user=None, reason="meanwhile")
    response = editor_client.post(url, changeform_data(stale_page, period_label="Spring 2024"))
    assert response.status_code == 200
    assert "Someone else saved this figure" in form_errors(response)["__all__"][0]
    assert 'value="Spring 2024"' in response.content.decode()
    figure.refresh_from_db()
    assert figure.period_label == "April 2024"


# --------------------------------------------------------------------------------------------------
# Inlines go through the same path


def test_saving_an_article_page_unchanged_changes_nothing_and_writes_no_history(curated, editor_client):
    article = Article.objects.get(slug=AURADINE_ARTICLE)
    url = change_url(article)
    before = {f.pk: f.version for f in article.figures.all()}
    entries = article.history.count()
    response = editor_client.post(url, changeform_data(editor_client.get(url), change_reason="Checked the title"))
    assert response.status_code == 302, form_errors(response)
    assert {f.pk: f.version for f in article.figures.all()} == before
    assert (article.history.count(), Article.objects.get(pk=article.pk).version) == (entries, article.version)


def test_a_figure_edited_inline_on_its_article_page_is_saved_as_the_editor(curated, editor_client, editor):
    figure = auradine_figure()
    article_url = change_url(figure.article)
    page = editor_client.get(article_url)
    prefix = next(f.prefix for f in page.context["inline_admin_formsets"][1].formset.forms if f.instance == figure)
    data = changeform_data(page, **{f"{prefix}-period_label": "April, 2024"}, change_reason="Label style")
    response = editor_client.post(article_url, data)
    assert response.status_code == 302
    figure.refresh_from_db()
    assert figure.period_label == "April, 2024"
    newest = figure.history.latest()
    assert (newest.history_user, newest.history_change_reason) == (editor, "Label style")


def test_an_alias_added_on_the_company_page_is_recorded_with_the_editor(curated, editor_client, editor):
    company = Company.objects.get(slug="auradine")
    url = change_url(company)
    page = editor_client.get(url)
    data = changeform_data(page, **{"aliases-0-name": "Auradine Inc."}, change_reason="Seen in a press release")
    response = editor_client.post(url, data)
    assert response.status_code == 302, form_errors(response)
    assert Alias.objects.filter(company=company, name="Auradine Inc.").exists()
    entry = company.history.latest("history_id")
    assert (entry.history_user, entry.history_change_reason) == (editor, "Seen in a press release")
    assert "Auradine Inc." in {alias["name"] for alias in entry.lists["aliases"]}


def test_a_delete_through_the_admin_is_recorded_with_the_editor(db, editor_client, editor):
    figure = make_story(1)
    response = editor_client.post(reverse("admin:articles_figure_delete", args=[figure.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Figure.objects.filter(pk=figure.pk).exists()
    deleted = Figure.history.filter(id=figure.pk).latest()
    assert (deleted.history_type, deleted.history_user) == ("-", editor)
