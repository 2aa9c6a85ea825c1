"""schemathesis (``--checks all``) over the live schema, against newsdb under gunicorn with newsdb's configuration and
the curated data set: no server error and no conformance failure (status codes, content types, headers and bodies as
documented, schema-valid requests accepted and invalid ones rejected).

Bounded: a few examples per operation (``NEWSDB_SCHEMATHESIS_EXAMPLES``, default 5), one worker, a fixed seed
(``NEWSDB_SCHEMATHESIS_SEED``) and a hard time limit. It runs without a token, as an anonymous reader would: every
write is then a 401, which the schema documents; what a write accepts beyond its shape (a quote that occurs in the
article, a slug that exists) cannot be said in a schema. Two list rules that OpenAPI cannot express either are
followed by the positive requests (``tests/schemathesis_hooks.py``): cursors come from the API's own links, and a
cursor walk takes no offset.

The server reads a scratch database of its own, migrated and loaded by ``manage.py`` as an operator would: a
database next to the test database on PostgreSQL (where the run once found a 500: a time offset beyond 15:59),
dropped after; a file on SQLite. The test database itself is not touched, so the test needs no transactional
database (whose flush, and the restoring of the migrations' rows, depended on which tests ran before it).
"""

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from .base import serving
from .servers import free_port

ROOT = Path(settings.BASE_DIR)
EXAMPLES = int(os.environ.get("NEWSDB_SCHEMATHESIS_EXAMPLES", "5"))
SEED = int(os.environ.get("NEWSDB_SCHEMATHESIS_SEED", "20240902"))
TIME_LIMIT = 900


POSTGRESQL = connection.vendor == "postgresql"


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A migrated scratch database with the curated data set, for the server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "GUNICORN_"))}
    env["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    if not POSTGRESQL:
        url = f"sqlite:///{tmp_path / 'schemathesis.sqlite3'}"
        manage(["migrate", "--noinput", "-v", "0"], {**env, "DATABASE_URL": url})
        manage(["load_fixtures"], {**env, "DATABASE_URL": url})
        yield url
        return
    p = connection.settings_dict
    name = f"{p['NAME']}_schemathesis"
    server = f"postgres://{p['USER']}:{p['PASSWORD'] or ''}@{p['HOST'] or '127.0.0.1'}:{p['PORT'] or 5432}"

    def admin(sql: str) -> None:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin_connection:
            admin_connection.execute(sql)

    admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin(f'CREATE DATABASE "{name}"')
    try:
        url = f"{server}/{name}"
        manage(["migrate", "--noinput", "-v", "0"], {**env, "DATABASE_URL": url})
        manage(["load_fixtures"], {**env, "DATABASE_URL": url})
        yield url
    finally:
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(args: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture
def server(tmp_path, database_url):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "GUNICORN_"))}
    env["DJANGO_SETTINGS_MODULE"] = "tests.settings"  # no rate limits
    # No load shedding: on a busy CI machine a request may wait over a second for a worker (one restarting after
    # max_requests, say) and get the documented 503, which schemathesis counts as a server error. Shedding is tested
    # in tests/test_overload.py.
    env["REQUEST_QUEUE_TIMEOUT_MS"] = "0"
    env["DATABASE_URL"] = database_url
    port = free_port()
    env.update(GUNICORN_BIND=f"127.0.0.1:{port}", GUNICORN_WORKERS="2")
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "newsdb/gunicorn.conf.py"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=out,
        )
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        with urllib.request.urlopen(f"{url}/readyz", timeout=5) as response:
            return response.status == 200

    with serving(process, log, ready, pause=0.3):
        yield url, log


def run_schemathesis(url: str, report: Path) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{url}/api/schema/?format=json",
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--no-shrink",
        "--suppress-health-check",
        "all",
        "--request-timeout",
        "30",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks"}
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIME_LIMIT)


def test_schemathesis_finds_no_server_error_and_no_conformance_failure(server, tmp_path):
    url, log = server
    report_path = tmp_path / "schemathesis.json"
    result = run_schemathesis(url, report_path)
    (tmp_path / "schemathesis.txt").write_text(result.stdout + result.stderr)
    output = result.stdout[-30000:] + result.stderr[-5000:]
    assert report_path.exists(), output
    report = json.loads(report_path.read_text())
    assert report["complete"], output
    assert report["operations"]["tested"] >= 30, report["operations"]
    assert report["test_cases"]["generated"] >= 1000, report["test_cases"]
    assert report["errors"] == [], output
    failures = {f"{f['code']} {f['title']}": f["count"] for f in report["failures"]}
    server_errors = {title: n for title, n in failures.items() if "server error" in title.lower()}
    conformance = {title: n for title, n in failures.items() if title not in server_errors}
    assert server_errors == {}, output
    assert conformance == {}, output
    assert result.returncode == 0, output
    assert "Traceback" not in log.read_text()
