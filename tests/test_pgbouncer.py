"""newsdb behind a real PgBouncer in transaction mode (``DATABASE_PGBOUNCER=true``), under gunicorn.

In transaction mode a client keeps a server connection only for one transaction; the next may run on another. So a
server-side cursor must live within one transaction: an export that declared its cursor outside one (``WITH HOLD``)
and fetched its next rows in the next transaction would find no cursor there once another client had taken the
server connection it was declared on. PgBouncer hands out the server connection used last first, so a client that
starts a transaction between two of the export's fetches takes exactly that one.
"""

import http.client
import json
import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from .base import make_article, make_figure, postgresql_only
from .servers import Gunicorn, PgBouncer, server_env

pytestmark = [
    postgresql_only,
    pytest.mark.skipif(
        shutil.which("pgbouncer") is None and not Path("/usr/sbin/pgbouncer").exists(),
        reason="PgBouncer is not installed (make test-deps installs Debian's)",
    ),  # fmt: skip
    pytest.mark.django_db(transaction=True),  # the server reads what the test committed
]

#: Enough rows that the export's later fetches come after the test's reader has read its first line: about 18 MB of
#: JSONL, more than loopback's socket buffers hold, in chunks of 2,000 rows.
ROWS = 30_000


def figures(count: int) -> None:
    """``count`` figures of one article, the first written through the ORM and the rest copied from it in SQL."""
    figure = make_figure(make_article("pooled-story"), "revenue")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
            " AND table_name = 'articles_figure' AND column_name NOT IN ('id', 'key')"
        )
        columns = ", ".join(f'"{name}"' for (name,) in cursor.fetchall())
        cursor.execute(
            f"INSERT INTO articles_figure ({columns}, key) SELECT {columns}, key || '-' || n"
            " FROM articles_figure, generate_series(1, %s) AS n WHERE id = %s",
            [count - 1, figure.pk],
        )


@pytest.fixture
def pooled_server():
    """newsdb under gunicorn (one worker) with DATABASE_PGBOUNCER=true, reaching the test database through
    PgBouncer (two server connections); yields (gunicorn, pgbouncer)."""
    directory = Path(tempfile.mkdtemp(prefix="newsdb-pgbouncer-"))
    directory.chmod(0o755)
    settings = connection.settings_dict
    bouncer = PgBouncer(directory / "pgbouncer", settings["HOST"] or "127.0.0.1", int(settings["PORT"] or 5432))
    web = None
    try:
        env = server_env(
            bouncer.url(settings["NAME"], settings["USER"] or "postgres"),
            DATABASE_PGBOUNCER="true",
            DJANGO_THROTTLE_ANON="off",
            DJANGO_THROTTLE_ANON_EXPENSIVE="off",
            DJANGO_CACHE_DIR=str(directory / "cache"),
        )
        web = Gunicorn(env, directory / "gunicorn.log", "--workers", "1", "--log-level", "warning", config=False)
        web.wait_ready()
        yield web, bouncer
    finally:
        if web is not None:
            web.stop()
        bouncer.stop()
        shutil.rmtree(directory, ignore_errors=True)


def test_an_export_through_pgbouncer_is_whole_while_another_client_takes_a_server_connection(pooled_server):
    figures(ROWS)
    web, bouncer = pooled_server
    settings = connection.settings_dict

    response = web.request("GET", "/api/figures/?format=jsonl", timeout=60)
    assert response.status == 200
    first = response.readline()
    # Another client starts a transaction: PgBouncer gives it the server connection used last, and keeps it for
    # the client until the transaction ends.
    other = psycopg.connect(bouncer.url(settings["NAME"], settings["USER"] or "postgres"), prepare_threshold=None)
    try:
        other.execute("SELECT 1")
        try:
            rest = response.read()
        except http.client.IncompleteRead as exc:  # the server broke off the export
            rest = exc.partial
    finally:
        other.rollback()
        other.close()

    lines = [first, *rest.splitlines()]
    assert len(lines) == ROWS, f"{len(lines)} of {ROWS} rows\n{web.log_tail()}"
    assert json.loads(lines[0])["key"] == "revenue" and len({json.loads(line)["key"] for line in lines}) == ROWS
    assert "does not exist" not in web.log_tail()

    # A filtered list page through the pooler too.
    page = web.request("GET", "/api/figures/?metric=revenue&limit=5")
    assert page.status == 200 and len(json.loads(page.read())["results"]) == 5
