"""PostgreSQL's statement timeout (DATABASE_STATEMENT_TIMEOUT_MS) and what a client gets when it fires: a 503 with
Retry-After, JSON in the API, never a 500.

A statement is held past the timeout the way it happens in production: another session holds a lock the query
needs (here ``LOCK TABLE``, taken by a second connection), so the timeout is certain to fire however fast the
machine is.
"""

import subprocess
import sys
import urllib.parse
from collections.abc import Iterator

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from .servers import ROOT, server_env

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="statement_timeout is PostgreSQL's")


@pytest.fixture
def figures_locked(db) -> Iterator[None]:
    """articles_figure locked by another session; this test's session gives up on a statement after 200 ms."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = 200")  # until the test's transaction is rolled back
    other = psycopg.connect(**connection.get_connection_params())
    try:
        other.execute("LOCK TABLE articles_figure IN ACCESS EXCLUSIVE MODE")
        yield
    finally:
        other.rollback()
        other.close()


@postgres_only
def test_a_list_held_past_the_timeout_is_a_503_json_with_retry_after(client, figures_locked):
    response = client.get("/api/figures/")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == str(settings.REQUEST_RETRY_AFTER_SECONDS)
    assert response.json() == {
        "detail": f"The database did not answer in time; try again in {settings.REQUEST_RETRY_AFTER_SECONDS} s."
    }


@postgres_only
def test_an_admin_page_held_past_the_timeout_is_a_503_too(editor_client, figures_locked):
    response = editor_client.get("/admin/articles/figure/")
    assert response.status_code == 503
    assert response["Retry-After"] == str(settings.REQUEST_RETRY_AFTER_SECONDS)
    assert "did not answer in time" in response.json()["detail"]


def _show_statement_timeout(**env: str) -> str:
    """``SHOW statement_timeout`` in a new process configured by ``env`` (on the test database)."""
    params = connection.settings_dict
    auth = urllib.parse.quote(params["USER"] or "postgres", safe="")
    if params["PASSWORD"]:
        auth += ":" + urllib.parse.quote(params["PASSWORD"], safe="")
    url = f"postgres://{auth}@{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}/{params['NAME']}"
    code = "from django.db import connection\nwith connection.cursor() as c:\n c.execute('SHOW statement_timeout')\n"
    code += " print(c.fetchone()[0])"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=server_env(url, **env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@postgres_only
@pytest.mark.django_db
def test_the_timeout_is_set_from_the_environment_and_off_by_default():
    assert _show_statement_timeout(DATABASE_STATEMENT_TIMEOUT_MS="1234") == "1234ms"
    assert _show_statement_timeout() == "0"  # manage.py commands (migrate, load_fixtures): no limit unless set


def test_gunicorn_serves_with_a_five_second_timeout_unless_told_otherwise():
    def configured(**env: str) -> str:
        code = "import os, runpy; runpy.run_path('newsdb/gunicorn.conf.py')\n"
        code += "print(os.environ['DATABASE_STATEMENT_TIMEOUT_MS'])"
        result = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=server_env("sqlite://", **env), capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    assert configured() == "5000"
    assert configured(DATABASE_STATEMENT_TIMEOUT_MS="0") == "0"
