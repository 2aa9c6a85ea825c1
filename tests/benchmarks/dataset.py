"""Build the benchmark data set once: ``python tests/benchmarks/dataset.py [--articles N] [--rebuild]``.

Makes sure the database at ``--database-url`` (default ``postgres://postgres@127.0.0.1:5432/newsdb_bench``)
holds the synthetic data set of ``bench_load_fixtures.generate`` (100,000 articles: 500 companies, 200,000
events, 200,000 figures), loaded with ``load_fixtures``. The build takes minutes, so it is cached: a marker
table in the database records the size, the generator's version and a fingerprint of the migrations, and
the set is rebuilt only when one of them differs (or with ``--rebuild``). Migrations that were only added since
the build are applied to the cached set instead (as a deploy would; the data stays); an edited or removed one
means a rebuild. Everything in that database is dropped on a rebuild, so point it at a scratch database only.

A SQLite URL works too (the smoke test uses a temporary file); the PostgreSQL database is created when missing.
Prints (and ``--json`` writes) what it found or built.
"""

import argparse
import hashlib
import inspect
import json
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/newsdb_bench"
DEFAULT_ARTICLES = 100_000
MARKER_TABLE = "bench_dataset_marker"
# Bump when this module changes what it builds (not how fast).
BUILD_VERSION = 1


def generator_version() -> str:
    """The generator's source and this module's build version: a change to either invalidates the cache."""
    from tests.benchmarks.bench_load_fixtures import generate

    source = inspect.getsource(generate).encode()
    return f"{BUILD_VERSION}:{hashlib.sha256(source).hexdigest()[:16]}"


def migrations_on_disk() -> dict[str, str]:
    """Every app's migrations on disk: ``{"app.name": hash}``, the hash of the file for the project's own apps."""
    from django.db.migrations.loader import MigrationLoader

    found = {}
    for (app_label, name), migration in MigrationLoader(None, ignore_no_migrations=True).disk_migrations.items():
        path = Path(sys.modules[type(migration).__module__].__file__)
        own = "site-packages" not in path.parts
        found[f"{app_label}.{name}"] = hashlib.sha256(path.read_bytes()).hexdigest()[:16] if own else ""
    return dict(sorted(found.items()))


def migrations_state(recorded: dict[str, str] | None, on_disk: dict[str, str]) -> str:
    """``current``, ``added`` (migrations were only added since the build: migrating forward gives the same
    schema a rebuild would, and keeps the data), or ``changed`` (one was edited or removed: rebuild)."""
    if recorded == on_disk:
        return "current"
    if isinstance(recorded, dict) and all(on_disk.get(name) == digest for name, digest in recorded.items()):
        return "added"
    return "changed"


def ensure_postgres_database(url: str) -> None:
    """Create the database named in ``url`` when it does not exist (connecting to ``postgres``)."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit((parts.scheme.replace("postgresql", "postgres"), parts.netloc, "/postgres", "", ""))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')


def read_marker() -> dict | None:
    from django.db import connection

    if MARKER_TABLE not in connection.introspection.table_names():
        return None
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT data FROM {MARKER_TABLE}")
        row = cursor.fetchone()
    return json.loads(row[0]) if row else None


def write_marker(data: dict) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE} (data TEXT NOT NULL)")
        cursor.execute(f"DELETE FROM {MARKER_TABLE}")
        cursor.execute(f"INSERT INTO {MARKER_TABLE} (data) VALUES (%s)", [json.dumps(data)])


def build(articles: int) -> dict:
    """Drop everything, migrate, generate ``articles`` article files and load them; returns the timings."""
    from django.core.management import call_command
    from django.db import connection

    from tests.benchmarks.bench_load_fixtures import generate

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    else:
        with connection.cursor() as cursor:
            tables = connection.introspection.table_names(cursor)
            cursor.execute("PRAGMA foreign_keys = OFF")
            for table in tables:
                cursor.execute(f'DROP TABLE IF EXISTS "{table}"')
            cursor.execute("PRAGMA foreign_keys = ON")
    call_command("migrate", verbosity=0)

    with tempfile.TemporaryDirectory(prefix="newsdb-bench-data-") as work:
        folder = Path(work) / "fixtures"
        started = time.perf_counter()
        generate(folder, articles)
        generated = time.perf_counter() - started
        print(f"generated {articles} article files in {generated:.1f}s", flush=True)
        started = time.perf_counter()
        call_command("load_fixtures", str(folder), verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
        loaded = time.perf_counter() - started
        print(f"loaded them in {loaded:.1f}s", flush=True)

    analyze()
    return {"generate_seconds": round(generated, 2), "load_seconds": round(loaded, 2)}


def analyze() -> None:
    """Fresh statistics, so that the planner sees the real row counts (and the visibility map allows
    index-only scans)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def counts() -> dict:
    from articles.models import Article, Company, Event, Figure

    return {
        "articles": Article.objects.count(),
        "companies": Company.objects.count(),
        "events": Event.objects.count(),
        "figures": Figure.objects.count(),
    }


def ensure(*, database_url: str, articles: int, rebuild: bool = False) -> dict:
    """Make sure the database holds the data set of ``articles`` articles; returns the marker (with counts)."""
    if database_url.startswith(("postgres://", "postgresql://")):
        ensure_postgres_database(database_url)
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsdb.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))  # a scratch build: any key will do
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor == "postgresql":
        version = connection.pg_version
        server = f"PostgreSQL {version // 10000}.{version % 10000}"
    else:
        import sqlite3

        server = f"SQLite {sqlite3.sqlite_version}"
    wanted = {"articles": articles, "generator": generator_version()}
    on_disk = migrations_on_disk()
    marker = read_marker()
    current = bool(marker) and all(marker.get(key) == value for key, value in wanted.items())
    state = migrations_state(marker.get("migrations") if marker else None, on_disk)
    if not rebuild and current and state in ("current", "added"):
        if state == "added":
            added = sorted(set(on_disk) - set(marker["migrations"]))
            print(f"migrating the cached data set forward: {', '.join(added)}", flush=True)
            call_command("migrate", verbosity=0)
            analyze()
            marker = {**marker, "migrations": on_disk, "migrated_forward": added}
            write_marker(marker)
        return {**marker, "cached": True, "vendor": connection.vendor, "server": server}
    if marker and not rebuild:
        stale = [key for key, value in wanted.items() if marker.get(key) != value]
        stale += ["an applied migration"] if state == "changed" else []
        print(f"the cached data set is stale ({', '.join(stale)} changed); rebuilding", flush=True)
    print(f"building the data set of {articles} articles in {connection.vendor} (minutes at 100k)", flush=True)
    started = time.perf_counter()
    timings = build(articles)
    marker = {
        **wanted,
        "migrations": on_disk,
        **timings,
        "build_seconds": round(time.perf_counter() - started, 2),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "counts": counts(),
    }
    write_marker(marker)
    return {**marker, "cached": False, "vendor": connection.vendor, "server": server}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--articles", type=int, default=DEFAULT_ARTICLES)
    parser.add_argument("--rebuild", action="store_true", help="Rebuild even when the cached set is current.")
    parser.add_argument("--json", type=Path, help="Also write the marker as JSON to this file.")
    args = parser.parse_args()
    marker = ensure(database_url=args.database_url, articles=args.articles, rebuild=args.rebuild)
    state = "cached" if marker["cached"] else f"built in {marker['build_seconds']:.0f}s"
    print(f"data set: {marker['counts']} ({state}, built {marker['built_at']})", flush=True)
    if args.json:
        args.json.write_text(json.dumps(marker, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
