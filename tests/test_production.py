"""Safe by default: without a secret key and with DEBUG off, nothing starts; every TLS setting comes from the
environment; ``check --deploy`` is clean in the production environment the README documents.

The commands run in subprocesses with an environment of their own, as an operator would start them.
"""

import json
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(settings.BASE_DIR)
README = (ROOT / "README.md").read_text(encoding="utf-8")
NO_KEY = "DJANGO_SECRET_KEY is not set"


def base_env(**extra: str) -> dict[str, str]:
    """The machine's environment without newsdb's variables (nor the test suite's key and settings)."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "DATABASE_", "NEWSDB_", "GUNICORN_"))
    }
    env["DJANGO_SETTINGS_MODULE"] = "newsdb.settings"
    env.update(extra)
    return env


def run(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def documented_production_env() -> dict[str, str]:
    """The variables of the README's production environment (its first ``sh`` block under "Running in
    production"), with a freshly made secret key in place of the placeholder."""
    section = README.split("## Running in production", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    variables = dict(
        line.split("=", 1) for line in block.splitlines() if re.match(r"^[A-Z_]+=", line) and not line.startswith("#")
    )
    assert variables["DJANGO_SECRET_KEY"].startswith("<"), "the README shows a placeholder, not a key"
    variables["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(50)
    return variables


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["manage.py", "check"], id="manage.py check"),
        pytest.param(["manage.py", "migrate", "--plan"], id="manage.py migrate"),
        pytest.param(["manage.py", "runserver", "--noreload", "127.0.0.1:0"], id="manage.py runserver"),
    ],
)
def test_manage_py_refuses_to_start_without_a_secret_key_in_one_line(command):
    result = run([sys.executable, *command], base_env(DJANGO_DEBUG="false"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("newsdb: configuration error: DJANGO_SECRET_KEY is not set."), line
    assert "secrets.token_urlsafe(50)" in line


def test_the_wsgi_application_refuses_to_load_without_a_secret_key():
    result = run([sys.executable, "-c", "import newsdb.wsgi"], base_env())
    assert result.returncode != 0
    assert f"newsdb: configuration error: {NO_KEY}" in result.stderr.splitlines()[0]


def test_gunicorn_with_newsdb_s_configuration_exits_at_once_with_one_line():
    started = time.monotonic()
    result = run(
        [sys.executable, "-m", "gunicorn", "-c", "newsdb/gunicorn.conf.py", "--bind", "127.0.0.1:0"],
        base_env(),
        timeout=60,
    )
    assert time.monotonic() - started < 30
    assert result.returncode == 1
    [error] = [line for line in result.stderr.splitlines() if NO_KEY in line]
    assert error.startswith(f"Error: newsdb: configuration error: {NO_KEY}."), error
    assert "Traceback" not in result.stderr
    assert "Booting worker" not in result.stderr


def test_with_debug_on_a_developer_s_machine_runs_without_a_key():
    result = run([sys.executable, "manage.py", "check"], base_env(DJANGO_DEBUG="true"))
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_a_malformed_value_is_one_line_naming_the_variable():
    env = base_env(DJANGO_SECRET_KEY=secrets.token_urlsafe(50), DJANGO_SECURE_HSTS_SECONDS="a year")
    result = run([sys.executable, "manage.py", "check"], env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "newsdb: configuration error: DJANGO_SECURE_HSTS_SECONDS must be a whole number, not 'a year'"
    ]


def test_a_malformed_planner_cost_is_one_line_naming_the_variable():
    env = base_env(
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DATABASE_URL="postgres://newsdb@127.0.0.1:5432/newsdb",  # read, not connected to, by `check`
        DATABASE_RANDOM_PAGE_COST="fast",
    )
    result = run([sys.executable, "manage.py", "check"], env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "newsdb: configuration error: DATABASE_RANDOM_PAGE_COST must be a number of zero or more, not 'fast'"
    ]


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL setting")
def test_postgresql_connections_price_random_reads_as_memory_or_ssd():
    with connection.cursor() as cursor:
        cursor.execute("SHOW random_page_cost")
        assert cursor.fetchone() == ("1.1",)
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)


SHOW_SETTINGS = """
import django, json
django.setup()
from django.conf import settings as s
names = ["SECURE_SSL_REDIRECT", "SECURE_PROXY_SSL_HEADER", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
         "SECURE_HSTS_PRELOAD", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "CSRF_TRUSTED_ORIGINS", "ALLOWED_HOSTS",
         "DATA_UPLOAD_MAX_MEMORY_SIZE", "NEWSDB_MAX_URL_LENGTH", "AXES_FAILURE_LIMIT", "AXES_LOCKOUT_PARAMETERS"]
shown = {name: getattr(s, name) for name in names}
shown["AXES_COOLOFF_TIME"] = s.AXES_COOLOFF_TIME and s.AXES_COOLOFF_TIME.total_seconds()
shown["THROTTLE_RATES"] = s.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
shown["NUM_PROXIES"] = s.REST_FRAMEWORK["NUM_PROXIES"]
shown["CACHE"] = s.CACHES["default"]["BACKEND"]
print(json.dumps(shown))
"""


def show_settings(env: dict[str, str]) -> dict:
    result = run([sys.executable, "-c", SHOW_SETTINGS], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_every_tls_and_limit_setting_is_read_from_the_environment(tmp_path):
    shown = show_settings(
        base_env(
            DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
            DJANGO_SECURE_SSL_REDIRECT="true",
            DJANGO_SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https",
            DJANGO_SECURE_HSTS_SECONDS="63072000",
            DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS="true",
            DJANGO_SECURE_HSTS_PRELOAD="yes",
            DJANGO_SESSION_COOKIE_SECURE="1",
            DJANGO_CSRF_COOKIE_SECURE="on",
            DJANGO_CSRF_TRUSTED_ORIGINS="https://news.example.org,https://desk.example.org",
            DJANGO_ALLOWED_HOSTS="news.example.org,desk.example.org",
            DJANGO_DATA_UPLOAD_MAX_MEMORY_SIZE="1000000",
            NEWSDB_MAX_URL_LENGTH="4000",
            DJANGO_AXES_FAILURE_LIMIT="7",
            DJANGO_AXES_COOLOFF_MINUTES="30",
            DJANGO_AXES_LOCKOUT_PARAMETERS="username+ip_address",
            DJANGO_THROTTLE_ANON="30/minute",
            DJANGO_THROTTLE_USER="off",
            DJANGO_THROTTLE_BAD_TOKEN="5/hour",
            DJANGO_THROTTLE_ANON_EXPENSIVE="3/hour",
            DJANGO_THROTTLE_USER_EXPENSIVE="off",
            DJANGO_NUM_PROXIES="1",
            DJANGO_CACHE_DIR=str(tmp_path),
        )
    )
    assert shown == {
        "SECURE_SSL_REDIRECT": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "SECURE_HSTS_SECONDS": 63072000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "CSRF_TRUSTED_ORIGINS": ["https://news.example.org", "https://desk.example.org"],
        "ALLOWED_HOSTS": ["news.example.org", "desk.example.org"],
        "DATA_UPLOAD_MAX_MEMORY_SIZE": 1000000,
        "NEWSDB_MAX_URL_LENGTH": 4000,
        "AXES_FAILURE_LIMIT": 7,
        "AXES_LOCKOUT_PARAMETERS": [["username", "ip_address"]],
        "AXES_COOLOFF_TIME": 1800.0,
        "THROTTLE_RATES": {
            "anon": "30/minute",
            "user": None,
            "bad_token": "5/hour",
            "anon_expensive": "3/hour",
            "user_expensive": None,
        },
        "NUM_PROXIES": 1,
        "CACHE": "django.core.cache.backends.filebased.FileBasedCache",
    }


def test_without_those_variables_a_laptop_gets_plain_http_defaults():
    shown = show_settings(base_env(DJANGO_SECRET_KEY=secrets.token_urlsafe(50)))
    assert (shown["SECURE_SSL_REDIRECT"], shown["SECURE_PROXY_SSL_HEADER"], shown["SECURE_HSTS_SECONDS"]) == (
        False,
        None,
        0,
    )
    assert (shown["SESSION_COOKIE_SECURE"], shown["CSRF_COOKIE_SECURE"]) == (False, False)
    assert shown["THROTTLE_RATES"] == {
        "anon": "120/minute",
        "user": "1200/minute",
        "bad_token": "10/minute",
        "anon_expensive": "6/minute",
        "user_expensive": "60/minute",
    }
    assert (shown["AXES_FAILURE_LIMIT"], shown["AXES_COOLOFF_TIME"]) == (5, 900.0)


def test_check_deploy_is_clean_in_the_documented_production_environment():
    env = base_env(**documented_production_env())
    result = run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."


def test_check_deploy_flags_the_development_defaults():
    result = run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], base_env(DJANGO_DEBUG="true")
    )
    assert result.returncode == 1
    flagged = set(re.findall(r"\((security\.W\d+)\)", result.stderr + result.stdout))
    # HSTS, SSL redirect, the development key, secure cookies (session, CSRF) and DEBUG.
    assert {"security.W004", "security.W008", "security.W009", "security.W012", "security.W016"} <= flagged
    assert "security.W018" in flagged


def test_every_documented_production_variable_is_one_newsdb_reads():
    read = set(
        re.findall(r"""(?:env_\w+|os\.environ\.get)\(\s*"([A-Z_]+)\"""", (ROOT / "newsdb" / "settings.py").read_text())
    )
    read |= set(
        re.findall(
            r"""(?:_int|os\.environ\.get)\(\s*"([A-Z_]+)\"""", (ROOT / "newsdb" / "gunicorn.conf.py").read_text()
        )
    )
    assert set(documented_production_env()) <= read
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    for name in documented_production_env():
        assert re.search(rf"^#? ?{name}=", example, re.M), f"{name} is not in .env.example"
