"""The edges: a favicon, the browsable API's login link and labelled filter form, ReDoc's bundle without its
outside logo, and a token command for scripts."""

import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from articles.api.docs import OUTSIDE_LOGO

ROUTES = ["articles", "companies", "people", "events", "figures", "deletions"]


def test_the_favicon_is_served_locally(client, db):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] in {"image/x-icon", "image/vnd.microsoft.icon"}
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert body[:4] == b"\x00\x00\x01\x00"  # an ICO file


def test_the_browsable_api_has_a_login_link_that_leads_back(client, db):
    page = client.get("/api/figures/", HTTP_ACCEPT="text/html").content.decode()
    assert "href='/api-auth/login/?next=/api/figures/'" in page
    login = client.get("/api-auth/login/", {"next": "/api/figures/"})
    assert login.status_code == 200
    assert 'name="username"' in login.content.decode()


def test_logging_in_from_the_browsable_api_returns_to_the_page(client, editor):
    response = client.post(
        "/api-auth/login/", {"username": "editor", "password": "a-test-only-password-1", "next": "/api/figures/"}
    )
    assert (response.status_code, response["Location"]) == (302, "/api/figures/")
    page = client.get("/api/figures/", HTTP_ACCEPT="text/html").content.decode()
    assert "/api-auth/logout/" in page


@pytest.mark.parametrize("route", ROUTES)
def test_every_filter_in_the_browsable_api_s_form_has_a_label(client, db, route):
    page = client.get(f"/api/{route}/", HTTP_ACCEPT="text/html").content.decode()
    assert "[invalid name]" not in page
    if route != "deletions":
        assert '<label for="id_q">Search:</label>' in page


def test_the_redoc_page_loads_a_bundle_without_the_outside_logo(client, db):
    page = client.get("/api/redoc/").content.decode()
    assert '<script src="/api/redoc/redoc.standalone.js"></script>' in page
    assert "https://" not in page
    response = client.get("/api/redoc/redoc.standalone.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    bundle = response.content
    assert len(bundle) > 500_000 and b"Redoc" in bundle
    assert OUTSIDE_LOGO.encode() not in bundle
    assert b"API docs by Redocly" in bundle  # the credit stays, without the image from outside


def test_api_token_prints_the_token_alone(editor, capsys):
    call_command("api_token", "editor")
    first = capsys.readouterr().out
    assert first == f"{Token.objects.get(user=editor).key}\n"
    call_command("api_token", "editor")
    assert capsys.readouterr().out == first  # the same token again
    call_command("api_token", "editor", "--reset")
    again = capsys.readouterr().out
    assert again != first and again == f"{Token.objects.get(user=editor).key}\n"


def test_api_token_for_an_unknown_user_is_an_error(db):
    with pytest.raises(CommandError, match="No user 'nobody'"):
        call_command("api_token", "nobody")
