"""Reads are open; writes need the model permission, by token (scripts) or session with CSRF (browser)."""

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from articles.models import Company, Figure

from .base import make_article, make_company, make_figure, token_client


@pytest.fixture
def figure(db):
    acme = make_company("acme")
    return make_figure(make_article("story", companies=(acme,)), "revenue", company=acme)


def test_an_anonymous_write_is_a_401_that_says_how_to_authenticate(figure):
    response = APIClient().post("/api/companies/", {"slug": "x", "name": "X"}, format="json")
    assert (response.status_code, response["WWW-Authenticate"]) == (401, "Token")
    assert not Company.objects.filter(slug="x").exists()


def test_a_wrong_token_is_a_401(figure):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get("/api/figures/").status_code == 401


def test_an_inactive_users_token_is_refused(figure, editor):
    client = token_client(editor)
    User.objects.filter(pk=editor.pk).update(is_active=False)
    assert client.patch(f"/api/figures/{figure.pk}/", {"note": "x"}, format="json").status_code == 401


def test_a_logged_in_user_without_permission_can_read_but_not_write(figure, outsider):
    client = token_client(outsider)
    assert client.get(f"/api/figures/{figure.pk}/").status_code == 200
    assert client.patch(f"/api/figures/{figure.pk}/", {"note": "x"}, format="json").status_code == 403


def test_the_change_permission_alone_allows_changes_but_not_deletes(figure, outsider):
    outsider.user_permissions.add(Permission.objects.get(codename="change_figure"))
    client = token_client(outsider)
    assert client.patch(f"/api/figures/{figure.pk}/", {"note": "x"}, format="json").status_code == 200
    assert client.delete(f"/api/figures/{figure.pk}/").status_code == 403
    assert Figure.objects.filter(pk=figure.pk).exists()


def test_a_session_write_needs_the_csrf_token(figure, editor):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(editor)
    refused = browser.patch(f"/api/figures/{figure.pk}/", {"note": "x"}, content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    browser.get("/api/figures/", HTTP_ACCEPT="text/html")  # the browsable API sets the CSRF cookie
    token = browser.cookies["csrftoken"].value
    accepted = browser.patch(
        f"/api/figures/{figure.pk}/", {"note": "x"}, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert accepted.status_code == 200, accepted.content


def test_drf_create_token_gives_an_editor_a_token_that_works(figure, editor):
    call_command("drf_create_token", "editor", verbosity=0)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get(user=editor).key}")
    assert client.patch(f"/api/figures/{figure.pk}/", {"note": "x"}, format="json").status_code == 200
