"""Project wiring: configuration by environment, and a docker-compose file that matches the settings."""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import dj_database_url
import pytest
import yaml
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from newsdb import settings as settings_module

ROOT = Path(settings.BASE_DIR)
SETTINGS_SOURCE = (ROOT / "newsdb" / "settings.py").read_text(encoding="utf-8")
READ_BY_SETTINGS = set(re.findall(r"""(?:env_\w+|os\.environ\.get)\(\s*"([A-Z_]+)\"""", SETTINGS_SOURCE))
GUNICORN_SOURCE = (ROOT / "newsdb" / "gunicorn.conf.py").read_text(encoding="utf-8")
READ_BY_GUNICORN_CONF = set(re.findall(r"""(?:_int|os\.environ\.get)\(\s*"([A-Z_]+)\"""", GUNICORN_SOURCE))


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def test_the_settings_read_the_documented_variables():
    assert {"DATABASE_URL", "DJANGO_SECRET_KEY", "DJANGO_DEBUG", "DJANGO_ALLOWED_HOSTS"} <= READ_BY_SETTINGS


def test_env_example_lists_only_variables_the_settings_read():
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    names = {line.split("=", 1)[0] for line in lines if line and not line.startswith("#")}
    assert names <= READ_BY_SETTINGS
    assert {"DATABASE_URL", "DJANGO_SECRET_KEY", "DJANGO_DEBUG", "DJANGO_ALLOWED_HOSTS"} <= names


def test_a_bad_boolean_is_a_configuration_error(monkeypatch):
    monkeypatch.setenv("DJANGO_DEBUG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="DJANGO_DEBUG"):
        settings_module.env_bool("DJANGO_DEBUG", False)
    monkeypatch.setenv("DJANGO_DEBUG", "yes")
    assert settings_module.env_bool("DJANGO_DEBUG", False) is True


def test_compose_runs_postgres_with_a_healthcheck_and_a_named_volume(compose):
    db = compose["services"]["db"]
    assert db["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    volume = db["volumes"][0].split(":")[0]
    assert volume in compose["volumes"]


def test_compose_web_waits_for_a_healthy_db_then_migrates_loads_and_serves(compose):
    web = compose["services"]["web"]
    assert web["depends_on"]["db"]["condition"] == "service_healthy"
    command = web["command"]
    assert (
        command.index("migrate") < command.index("load_fixtures") < command.index("gunicorn -c newsdb/gunicorn.conf.py")
    )


def test_compose_web_is_healthy_when_readyz_answers(compose):
    web = compose["services"]["web"]
    probe = " ".join(web["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/readyz" in probe
    assert web["environment"]["GUNICORN_BIND"] == "0.0.0.0:8000"


def test_compose_web_environment_is_what_the_settings_read_and_reaches_the_db(compose):
    web_env = compose["services"]["web"]["environment"]
    db_env = compose["services"]["db"]["environment"]
    assert set(web_env) <= READ_BY_SETTINGS | READ_BY_GUNICORN_CONF
    assert {"DATABASE_URL", "DJANGO_SECRET_KEY", "DJANGO_DEBUG", "DJANGO_ALLOWED_HOSTS"} <= set(web_env)
    database = dj_database_url.parse(web_env["DATABASE_URL"])
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["HOST"], database["NAME"], database["USER"], database["PASSWORD"]) == (
        "db",
        db_env["POSTGRES_DB"],
        db_env["POSTGRES_USER"],
        db_env["POSTGRES_PASSWORD"],
    )


def test_sqlite_is_the_default_database_inside_the_project():
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    code = "from django.conf import settings; d = settings.DATABASES['default']; print(d['ENGINE'], d['NAME'])"
    result = subprocess.run(
        [sys.executable, "-c", f"import django, os; os.environ['DJANGO_SETTINGS_MODULE']='newsdb.settings'; {code}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == ["django.db.backends.sqlite3", str(ROOT / "db.sqlite3")]
    assert "db.sqlite3" in (ROOT / ".gitignore").read_text(encoding="utf-8").split()


def test_no_test_module_imports_another():
    """What test modules share lives in tests/base.py (and conftest.py's fixtures), not in another test module."""
    imports = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] if node.module else [alias.name for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            imports += [f"{path.name}: {name}" for name in names if name.split(".")[-1].startswith("test_")]
    assert imports == []
