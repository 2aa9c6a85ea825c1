"""Operational basics: /healthz and /readyz, newsdb's gunicorn configuration (a real gunicorn on a loopback
port), one JSON log line per request, and connection pooling by setting."""

import http.client
import json
import os
import runpy
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from newsdb.logs import JSONFormatter
from newsdb.settings import prepared_statements

from .base import serving, token_client
from .servers import free_port

ROOT = Path(settings.BASE_DIR)
CONF = ROOT / "newsdb" / "gunicorn.conf.py"


def subprocess_env(**extra: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DATABASE_", "GUNICORN_", "DJANGO_LOG", "DJANGO_SETTINGS"))
    }
    env["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    env.update(extra)
    return env


# --- /healthz and /readyz, in process ---


def test_healthz_answers_without_the_database(client, db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert response["Cache-Control"] == "no-store"


def test_readyz_answers_ok_when_the_database_answers_and_is_migrated(client, db):
    response = client.get("/readyz")
    assert (response.status_code, response.json()) == (200, {"status": "ok", "database": "ok"})


def test_probes_need_no_allowed_host_no_https_and_take_only_get(client, db, settings):
    settings.SECURE_SSL_REDIRECT = True
    for path in ("/healthz", "/readyz", "/healthz/", "/readyz/"):
        assert client.get(path, HTTP_HOST="10.1.2.3:8000").status_code == 200, path
    assert client.get("/api/").status_code == 301  # everything else is redirected to HTTPS
    response = client.post("/readyz")
    assert (response.status_code, response["Allow"]) == (405, "GET, HEAD")


READYZ = """
import django, json
django.setup()
from django.test import Client
response = Client().get("/readyz")
print(json.dumps([response.status_code, response["Retry-After"], response.json()]))
"""


def readyz_in_a_process(database_url: str) -> tuple[int, str, dict]:
    result = subprocess.run(
        [sys.executable, "-c", READYZ],
        cwd=ROOT,
        env=subprocess_env(DATABASE_URL=database_url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return tuple(json.loads(result.stdout.strip().splitlines()[-1]))


def test_readyz_is_503_while_migrations_are_unapplied(tmp_path):
    status, retry_after, body = readyz_in_a_process(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    assert (status, retry_after, body["status"], body["database"]) == (503, "5", "unavailable", "ok")
    assert "articles.0001_initial" in body["unapplied_migrations"]
    assert "axes.0001_initial" in body["unapplied_migrations"]


def test_readyz_is_503_when_the_database_is_unreachable():
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    status, retry_after, body = readyz_in_a_process(f"postgres://newsdb:x@127.0.0.1:{port}/newsdb")
    assert (status, retry_after, body["status"]) == (503, "5", "unavailable")
    assert body["database"].startswith("unreachable: ")


# --- gunicorn with newsdb's configuration ---


def test_the_gunicorn_configuration_bounds_workers_and_limits(monkeypatch):
    for name in [n for n in os.environ if n.startswith("GUNICORN_")]:
        monkeypatch.delenv(name)
    conf = runpy.run_path(str(CONF))
    cores = len(os.sched_getaffinity(0))
    assert conf["workers"] == max(2, min(2 * cores + 1, 12))
    assert (conf["threads"], conf["worker_class"], conf["timeout"], conf["graceful_timeout"]) == (1, "sync", 30, 30)
    assert (conf["max_requests"], conf["max_requests_jitter"], conf["backlog"]) == (1000, 100, 2048)
    # The request line holds the method, the URL and the protocol: its limit is above newsdb's URL limit.
    assert conf["limit_request_line"] >= settings.NEWSDB_MAX_URL_LENGTH + len("OPTIONS  HTTP/1.1")
    assert conf["wsgi_app"] == "newsdb.wsgi:application"
    monkeypatch.setenv("GUNICORN_WORKERS", "64")
    monkeypatch.setenv("GUNICORN_THREADS", "4")
    conf = runpy.run_path(str(CONF))
    assert (conf["workers"], conf["threads"], conf["worker_class"]) == (64, 4, "gthread")


@pytest.fixture
def gunicorn(tmp_path):
    """newsdb under gunicorn -c newsdb/gunicorn.conf.py on a loopback port, over an empty (unmigrated) SQLite
    database, logging JSON; yields (port, log path)."""
    port = free_port()
    log = tmp_path / "gunicorn.log"
    env = subprocess_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'empty.sqlite3'}",
        DJANGO_LOG_FORMAT="json",
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS="1",
    )
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(CONF)], cwd=ROOT, env=env, stdout=out, stderr=out
        )
    with serving(process, log, lambda: get(port, "/healthz")[0] == 200):
        yield port, log


def get(port: int, path: str) -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type"), response.read()
    finally:
        conn.close()


def test_gunicorn_serves_probes_and_answers_every_too_long_url_in_json(gunicorn):
    port, log = gunicorn
    assert get(port, "/healthz")[:2] == (200, "application/json")
    status, content_type, body = get(port, "/readyz")
    assert (status, content_type, json.loads(body)["status"]) == (503, "application/json", "unavailable")

    # Past newsdb's limit: newsdb's own 414.
    status, content_type, body = get(port, "/api/figures/?q=" + "x" * 8100)
    assert (status, content_type) == (414, "application/json")
    assert json.loads(body)["detail"] == "The URL is 8115 characters long; the limit is 8000."
    # Past gunicorn's request-line limit (the 10,000-character q): gunicorn's 414, in JSON too.
    status, content_type, body = get(port, "/api/figures/?q=" + "x" * 10_000)
    assert (status, content_type) == (414, "application/json")
    assert json.loads(body)["detail"].startswith("URI Too Long: Request Line is too large")

    # One JSON line per request that reached Django (the probes are not logged).
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    requests = [line for line in lines if line["logger"] == "newsdb.requests"]
    assert len(requests) == 1
    [logged] = requests
    assert {k: logged[k] for k in ("method", "path", "status", "user")} == {
        "method": "GET",
        "path": "/api/figures/",
        "status": 414,
        "user": None,
    }
    assert isinstance(logged["duration_ms"], float) and 0 <= logged["duration_ms"] < 5000


def test_json_request_logs_name_the_user(db, editor, caplog):
    caplog.set_level("INFO", logger="newsdb.requests")
    APIClient().get("/api/companies/")
    token_client(editor).get("/api/figures/999999/")
    records = [r.request_fields for r in caplog.records if r.name == "newsdb.requests"]
    assert [(r["method"], r["path"], r["status"], r["user"]) for r in records] == [
        ("GET", "/api/companies/", 200, None),
        ("GET", "/api/figures/999999/", 404, "editor"),
    ]
    line = JSONFormatter().format(next(r for r in caplog.records if r.name == "newsdb.requests"))
    assert set(json.loads(line)) == {"time", "level", "logger", "method", "path", "status", "duration_ms", "user"}
    assert "\n" not in line


# --- Connection pooling ---

POOLED = """
import django, json
django.setup()
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("SELECT 1")
    first = cursor.fetchone()[0]
pool = connection.pool
stats = pool.get_stats()
connection.close()
with connection.cursor() as cursor:
    cursor.execute("SELECT 2")
print(json.dumps([first, connection.settings_dict["CONN_MAX_AGE"], pool.min_size, pool.max_size, stats["pool_size"]]))
"""


def test_database_pool_gives_each_process_a_psycopg_pool(db):
    env = subprocess_env(DATABASE_POOL="true", DATABASE_POOL_MAX_SIZE="3")
    if connection.vendor != "postgresql":
        env["DATABASE_URL"] = f"sqlite:///{ROOT / 'never-created.sqlite3'}"
        result = subprocess.run([sys.executable, "-c", POOLED], cwd=ROOT, env=env, capture_output=True, text=True)
        assert result.returncode != 0
        assert "DATABASE_POOL=true needs a PostgreSQL DATABASE_URL" in result.stderr
        return
    params = connection.settings_dict
    env["DATABASE_URL"] = (
        f"postgres://{params['USER']}:{params['PASSWORD'] or ''}@"
        f"{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}/{params['NAME']}"
    )
    result = subprocess.run(
        [sys.executable, "-c", POOLED], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    first, conn_max_age, min_size, max_size, pool_size = json.loads(result.stdout.strip().splitlines()[-1])
    assert (first, conn_max_age, min_size, max_size) == (1, 0, 1, 3)
    assert 1 <= pool_size <= 3


# --- prepared statements ---

SETTINGS_OPTIONS = """
import json
from django.conf import settings
options = settings.DATABASES["default"].get("OPTIONS", {})
print(json.dumps([options.get("server_side_binding"), options.get("prepare_threshold", "unset")]))
"""


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({}, [True, 5]),
        ({"DATABASE_PREPARED_STATEMENTS": "false"}, [None, "unset"]),
        ({"DATABASE_PGBOUNCER": "true"}, [None, None]),  # a pooler in transaction mode cannot keep them
        ({"DATABASE_PGBOUNCER": "true", "DATABASE_PREPARED_STATEMENTS": "true"}, [None, None]),
    ],
)
def test_prepared_statements_by_setting(extra, expected):
    env = subprocess_env(DATABASE_URL="postgres://newsdb@127.0.0.1:5432/newsdb", DJANGO_SECRET_KEY="x" * 50, **extra)
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + SETTINGS_OPTIONS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == expected


@pytest.fixture
def prepared_connection(transactional_db):
    """This process's connection as ``DATABASE_PREPARED_STATEMENTS=true`` makes it (a new connection), for one test."""
    options = connection.settings_dict["OPTIONS"]
    saved = dict(options)
    connection.close()
    prepared_statements(options)
    try:
        yield
    finally:
        connection.close()
        options.clear()
        options.update(saved)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_a_repeated_list_is_planned_once_per_connection_and_answers_each_filter(prepared_connection):
    """A list asked for again and again, with one filter value or another, runs one prepared statement on the
    connection (its values sent apart), each run planned for its own values (never PostgreSQL's generic plan, which
    made a deep offset page ten times slower), and each request still gets its own company's rows."""
    from .base import REVENUE_QUOTE, make_article, make_company, make_figure

    companies = [make_company(slug) for slug in ("acme", "zeta")]
    for company in companies:
        for n in range(2 if company.slug == "acme" else 3):
            make_figure(make_article(f"{company.slug}-{n}"), f"revenue-{n}", company=company, quote=REVENUE_QUOTE)
    client = APIClient()

    def prepared() -> dict[str, int]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT sum(generic_plans) FROM pg_prepared_statements")
            assert cursor.fetchone()[0] in (0, None), "a plan made for any value was used"
            cursor.execute("SELECT statement, custom_plans FROM pg_prepared_statements")
            return dict(cursor.fetchall())

    before = prepared()  # the connection may have run this list in an earlier test
    for _ in range(4):
        for company, count in zip(companies, (2, 3), strict=True):
            body = client.get("/api/figures/", {"company": company.slug}).json()
            assert body["count"] == count
            assert {row["company"] for row in body["results"]} == {company.slug}
    after = prepared()
    pages = {sql: runs - before.get(sql, 0) for sql, runs in after.items() if 'FROM "articles_figure"' in sql}
    assert any("$1" in sql for sql in pages), after
    # Prepared after its fifth run and run as prepared for the other three of the eight (all eight when an earlier
    # test had prepared it).
    assert max(pages.values()) in (3, 8)
    # The deep page that a generic plan made slow: well past the five runs after which PostgreSQL would switch.
    for _ in range(12):
        assert client.get("/api/figures/", {"offset": 3, "limit": 1}).status_code == 200
    prepared()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_a_load_leaves_planning_to_postgresql_and_puts_the_connection_back(prepared_connection, tmp_path):
    """Every run planned is for the API's reads; a load's triggers run a million statements, which PostgreSQL plans
    once (``auto``) during a load, and the connection plans every run again afterwards."""
    from articles.services.fixtures import fixtures_load

    from .base import synthetic_data_set

    assert plan_cache_mode() == "force_custom_plan"
    seen = set()
    progress = lambda phase, *_: phase == "writing" and seen.add(plan_cache_mode())  # noqa: E731
    report = fixtures_load(paths=[synthetic_data_set(tmp_path / "set", 3)], progress=progress)
    assert report.created and seen == {"auto"}  # while it writes
    assert plan_cache_mode() == "force_custom_plan"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_a_streamed_first_load_leaves_planning_to_postgresql_too(prepared_connection, tmp_path, monkeypatch):
    from articles.services.fixtures import first_load, fixtures_load, parallel

    from .base import synthetic_data_set

    monkeypatch.setattr(parallel, "PARALLEL_MIN_FILES", 1)  # three files are an archive
    streamed, stream = [], first_load.first_load
    monkeypatch.setattr(first_load, "first_load", lambda *a, **k: streamed.append(True) or stream(*a, **k))
    seen = set()
    progress = lambda phase, *_: phase == "writing" and seen.add(plan_cache_mode())  # noqa: E731
    report = fixtures_load(paths=[synthetic_data_set(tmp_path / "set", 3)], progress=progress)
    assert report.created and streamed == [True] and seen == {"auto"}
    assert plan_cache_mode() == "force_custom_plan"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_a_merge_plans_the_triggers_once_within_its_transaction(prepared_connection, monkeypatch):
    """A merge moves thousands of rows through the triggers: planned once in its transaction (measured at 100k: a
    merge of 1,800 rows 1.4-2.3 s with every run planned, 1.4-1.8 s so), and every run planned again after it."""
    from django.contrib.auth import get_user_model

    from articles.models import Company
    from articles.services import base, companies

    from .base import make_article, make_company

    seen = []
    planned_once = base.triggers_planned_once
    monkeypatch.setattr(base, "triggers_planned_once", lambda: (planned_once(), seen.append(plan_cache_mode())))
    acme, zeta = make_company("acme"), make_company("zeta")
    make_article("story", companies=(zeta,))
    user = get_user_model().objects.create_user("merger")
    moved = companies.company_merge(survivor=acme, duplicates=[zeta], user=user, reason="the same company")
    assert (moved["mentions"], seen) == (1, ["auto"])
    assert list(Company.objects.values_list("slug", flat=True)) == ["acme"]
    assert plan_cache_mode() == "force_custom_plan"


def plan_cache_mode() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        return cursor.fetchone()[0]
