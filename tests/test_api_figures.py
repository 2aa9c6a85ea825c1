"""/api/figures/: numbers as printed and as values, validated against their article like everywhere else."""

import pytest

from articles.models import Figure

from .base import (
    FUNDING_QUOTE,
    PRICE_QUOTE,
    REVENUE_QUOTE,
    SALE_QUOTE,
    APIViewTestCases,
    figure_body,
    history_of,
    make_article,
    make_company,
    make_figure,
    token_client,
)


class TestFigureAPI(APIViewTestCases.APIViewTestCase):
    model = Figure
    compared_fields = (
        "article",
        "key",
        "company",
        "subject",
        "metric",
        "value",
        "value_high",
        "unit",
        "qualifier",
        "as_reported",
        "period_start",
        "period_end",
        "period_label",
        "quote",
        "status",
        "note",
    )

    def make_objects(self):
        acme, borealis = make_company("acme"), make_company("borealis")
        story = make_article("story", companies=(acme, borealis))
        return [
            make_figure(story, "revenue-2023", company=acme, period_label="2023"),
            make_figure(
                story,
                "funding",
                company=borealis,
                metric="funding_raised",
                as_reported="$20 million",
                value="20000000",
                quote=FUNDING_QUOTE,
            ),
            make_figure(
                story,
                "machines-sold",
                company=acme,
                metric="quantity",
                as_reported="12,000",
                value="12000",
                unit="units",
                quote=SALE_QUOTE,
            ),
        ]

    def create_data(self, objects):
        return [
            {
                "article": "story",
                "company": "acme",
                "metric": "revenue",
                "as_reported": "$1.5 million",
                "value": "1500000.000000",
                "unit": "USD",
                "quote": REVENUE_QUOTE,
                "period_start": "2023-01-01",
                "period_end": "2023-12-31",
                "period_label": "2023",
            },
            {
                "article": "story",
                "key": "hash-price-q1-2022",
                "company": None,
                "subject": "Hash price",
                "metric": "price_change",
                "as_reported": "12%",
                "value": "12.000000",
                "unit": "percent",
                "quote": PRICE_QUOTE,
            },
        ]

    def update_data(self):
        return {"period_label": "FY 2023", "note": "Checked against the article."}


@pytest.fixture
def figure(db):
    acme = make_company("acme")
    return make_figure(make_article("story", companies=(acme,)), "revenue-2023", company=acme)


@pytest.fixture
def editor_api(editor):
    return token_client(editor)


def test_a_quote_missing_from_the_article_is_a_400_naming_quote(figure, editor_api):
    response = editor_api.patch(
        f"/api/figures/{figure.pk}/", {"quote": "Acme reported revenue of $1.5 million."}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["quote"]
    assert "does not occur verbatim" in response.json()["quote"][0]


def test_a_value_the_article_does_not_state_is_a_400_naming_value(figure, editor_api):
    response = editor_api.patch(f"/api/figures/{figure.pk}/", {"value": "15000000"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["value"]
    figure.refresh_from_db()
    assert (figure.value, figure.version) == (1500000, 1)


def test_an_editor_corrects_a_value_with_a_note_and_is_recorded_as_its_reviewer(figure, editor_api):
    body = {"status": "corrected", "value": "15000000", "note": "The source dropped a zero.", "change_reason": "fix"}
    response = editor_api.patch(f"/api/figures/{figure.pk}/", body, format="json")
    assert response.status_code == 200, response.content
    shown = response.json()
    assert (shown["status"], shown["value"], shown["as_reported"]) == ("corrected", "15000000.000000", "$1.5 million")
    assert shown["reviewed_by"] == "editor"
    assert shown["reviewed_at"] is not None
    newest = history_of(figure)[0]
    assert (newest["user"], newest["reason"]) == ("editor", "fix")
    changes = {change["field"]: (change["old"], change["new"]) for change in newest["changes"]}
    assert changes["value"] == ("1500000.000000", "15000000.000000")
    assert changes["status"] == ("reported", "corrected")
    assert changes["reviewed_by"] == (None, "editor")


def test_a_correction_without_a_note_is_a_400_naming_note(figure, editor_api):
    response = editor_api.patch(f"/api/figures/{figure.pk}/", {"status": "corrected", "value": "1"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["note"]


def test_setting_the_status_back_to_reported_clears_the_review(figure, editor_api):
    editor_api.patch(f"/api/figures/{figure.pk}/", {"status": "verified"}, format="json")
    shown = editor_api.patch(f"/api/figures/{figure.pk}/", {"status": "reported"}, format="json").json()
    assert (shown["reviewed_by"], shown["reviewed_at"]) == (None, None)


def test_a_figure_about_nothing_is_a_400_naming_subject(figure, editor_api):
    response = editor_api.patch(f"/api/figures/{figure.pk}/", {"company": None, "subject": ""}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["subject"]


def test_an_unknown_company_slug_in_the_body_is_a_400_naming_company(figure, editor_api):
    response = editor_api.patch(f"/api/figures/{figure.pk}/", {"company": "nobody"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["company"]


def test_a_new_figure_without_a_key_gets_one_free_within_its_article(figure, editor_api):
    body = figure_body("story")
    keys = [editor_api.post("/api/figures/", body, format="json").json()["key"] for _ in range(2)]
    assert keys == ["revenue-15-million", "revenue-15-million-2"]


def test_the_quote_offsets_are_computed_not_taken_from_the_client(figure, editor_api):
    response = editor_api.patch(
        f"/api/figures/{figure.pk}/", {"quote": "revenue of $1.5 million", "quote_start": 99}, format="json"
    )
    assert response.status_code == 200, response.content
    shown = response.json()
    assert figure.article.body[shown["quote_start"] : shown["quote_end"]] == "revenue of $1.5 million"


def test_a_key_already_used_in_the_article_is_a_400(figure, editor_api):
    other = make_figure(figure.article, "other", company=figure.company)
    response = editor_api.patch(f"/api/figures/{other.pk}/", {"key": "revenue-2023"}, format="json")
    assert response.status_code == 400
    assert response.json()["non_field_errors"]
