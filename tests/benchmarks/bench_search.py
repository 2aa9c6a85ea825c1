"""Benchmark full-text search at scale: ``python tests/benchmarks/bench_search.py``.

On the cached 100,000-article data set (``dataset.py``; built there when missing), copied into a database of its
own (``--database``, default ``newsdb_bench_search``, made with ``CREATE DATABASE ... TEMPLATE newsdb_bench`` so
that migrating it forward to the search index leaves the shared set as other benchmarks expect it), it times,
through Django's test client in this process (no HTTP server; DEBUG off; throttles off):

- ``/api/search/?q=...`` (every type, ranked, with snippets) against what the same question cost before
  search existed: each of the five lists' ``q``, the per-word ``icontains`` filter expressed here as it was
  (a page of 50 and the capped count, as the lists read them), one after the other;
- ``/api/articles/?q=...`` (the index) against the same list with the old ``icontains`` filter.

Old and new run alternately, query by query, so that both see the same machine. Prints p50 and p95 (ms) and the
ratio of the p95s (old / new), and writes every number as JSON with ``--json``. Targets: search p95 <= 30 ms and
at least 10 times faster than ``icontains``. Not a test: CI does not run it.
"""

import argparse
import json
import os
import secrets
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.benchmarks.dataset import DEFAULT_ARTICLES, DEFAULT_DATABASE_URL  # noqa: E402

#: (label, q): a rare word, a company's numbers, a misspelt company name, words in every article, and no match.
QUERIES = [
    ("rare: one article's title", "Article 4711"),
    ("a company's revenue", "Company 7 revenue"),
    ("misspelt company", "Compny 7"),
    ("phrase in every article", '"delivery times"'),
    ("no match", "spot sales"),
]
P95_TARGET_MS = 30
RATIO_TARGET = 10


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def url_with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def copy_dataset(source_url: str, target: str, *, fresh: bool) -> str:
    """The data set of ``source_url`` (built there by ``dataset.py`` when missing) in database ``target``."""
    import psycopg

    from tests.benchmarks import dataset

    target_url = url_with_database(source_url, target)
    admin_url = url_with_database(source_url, "postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [target]).fetchone() is not None
        if exists and fresh:
            conn.execute(f'DROP DATABASE "{target}"')
            exists = False
        if not exists:
            source = urlsplit(source_url).path.lstrip("/")
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [source]).fetchone() is None:
                print(f"{source} does not exist: building it (minutes)", flush=True)
                dataset.ensure_postgres_database(source_url)
            print(f"copying {source} into {target}", flush=True)
            conn.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')
    return target_url


def old_search_filters():
    """The lists' ``q`` as it was before full-text search: every word must occur, case-insensitively and
    anywhere, in one of the searched fields (``SearchFilter`` with ``search_fields`` and the alias match)."""
    from django.db.models import Exists, OuterRef, Q

    from articles.models import Alias

    def alias(owner: str):
        return lambda word: Q(Exists(Alias.objects.filter(**{owner: OuterRef("pk")}, name__icontains=word)))

    return {
        "articles": (["title", "body"], None),
        "events": (["title", "summary", "quote"], None),
        "figures": (["subject", "quote", "as_reported"], None),
        "companies": (["name", "slug"], alias("company")),
        "people": (["name", "slug", "title"], alias("person")),
    }


def old_list_page(route: str, q: str) -> int:
    """One page of ``/api/<route>/?q=`` as the lists read it before (ids of 51 rows in the list's order, then the
    capped count when the page is full): returns the count."""
    from django.db.models import Q

    from articles.api import pagination, views

    viewsets = {
        "articles": views.ArticleViewSet,
        "events": views.EventViewSet,
        "figures": views.FigureViewSet,
        "companies": views.CompanyViewSet,
        "people": views.PersonViewSet,
    }
    fields, extra = old_search_filters()[route]
    queryset = viewsets[route].queryset.all()
    for word in q.split():
        condition = Q()
        for name in fields:
            condition |= Q(**{f"{name}__icontains": word})
        if extra is not None:
            condition |= extra(word)
        queryset = queryset.filter(condition)
    keys = pagination.ordering_keys(queryset)
    queryset = queryset.order_by(*(key.order_by() for key in keys))
    rows = list(queryset.values_list("pk", flat=True)[:51])
    if len(rows) <= 50:
        return len(rows)
    return queryset.order_by().values("pk")[: pagination.COUNT_CAP + 1].count()


def timed(function, rounds: int) -> tuple[list[float], object]:
    times, result = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        result = function()
        times.append((time.perf_counter() - started) * 1000)
    return times, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--database", default="newsdb_bench_search", help="The copy to migrate and measure.")
    parser.add_argument("--fresh-copy", action="store_true", help="Drop the copy and copy the data set again.")
    parser.add_argument("--rounds", type=int, default=40, help="Requests per query for the new search.")
    parser.add_argument("--old-rounds", type=int, default=10, help="Requests per query for the old icontains.")
    parser.add_argument("--json", type=Path, metavar="PATH")
    args = parser.parse_args()

    target_url = copy_dataset(args.source_url, args.database, fresh=args.fresh_copy)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "tests.benchmarks.settings",
            "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50),
            "DJANGO_DEBUG": "false",
            "DJANGO_THROTTLE_ANON": "off",
            "DJANGO_THROTTLE_USER": "off",
            "DJANGO_THROTTLE_ANON_EXPENSIVE": "off",
            "DJANGO_THROTTLE_USER_EXPENSIVE": "off",
            "DJANGO_ALLOWED_HOSTS": "testserver,127.0.0.1",
        }
    )
    from tests.benchmarks import dataset

    # Migrates the copy forward (the search index is built by migration 0007 for the rows that exist).
    started = time.perf_counter()
    marker = dataset.ensure(database_url=target_url, articles=DEFAULT_ARTICLES)
    print(f"data set: {marker['counts']} ({time.perf_counter() - started:.0f}s to make sure of it)", flush=True)

    from django.db import connection
    from django.test import Client

    client = Client()
    routes = ["articles", "events", "figures", "companies", "people"]
    report: dict = {"database": args.database, "counts": marker["counts"], "server": marker["server"], "rows": []}

    def get(path: str, params: dict) -> dict:
        response = client.get(f"{path}?{urlencode(params)}")
        assert response.status_code == 200, (path, params, response.content[:300])
        return response.json()

    for label, q in QUERIES:
        for warm in range(2):  # warm the caches both ways before timing
            get("/api/search/", {"q": q})
            get("/api/articles/", {"q": q})
            if warm == 0:
                for route in routes:
                    old_list_page(route, q)
        new_search, old_search, new_list, old_list = [], [], [], []
        found = None
        for round_ in range(args.rounds):
            times, body = timed(lambda q=q: get("/api/search/", {"q": q}), 1)
            new_search += times
            found = body["count"]
            times, listed = timed(lambda q=q: get("/api/articles/", {"q": q}), 1)
            new_list += times
            if round_ < args.old_rounds:
                old_search += timed(lambda q=q: [old_list_page(route, q) for route in routes], 1)[0]
                times, old_count = timed(lambda q=q: old_list_page("articles", q), 1)
                old_list += times
        row = {
            "label": label,
            "q": q,
            "results": found,
            "articles": listed["count"],
            "articles_before": old_count,
            "search_p50_ms": round(statistics.median(new_search), 2),
            "search_p95_ms": round(percentile(new_search, 0.95), 2),
            "icontains_5_lists_p50_ms": round(statistics.median(old_search), 2),
            "icontains_5_lists_p95_ms": round(percentile(old_search, 0.95), 2),
            "list_q_p50_ms": round(statistics.median(new_list), 2),
            "list_q_p95_ms": round(percentile(new_list, 0.95), 2),
            "list_icontains_p50_ms": round(statistics.median(old_list), 2),
            "list_icontains_p95_ms": round(percentile(old_list, 0.95), 2),
        }
        row["search_ratio"] = round(row["icontains_5_lists_p95_ms"] / row["search_p95_ms"], 1)
        row["list_ratio"] = round(row["list_icontains_p95_ms"] / row["list_q_p95_ms"], 1)
        report["rows"].append(row)
        print(
            f"{label}: search p95 {row['search_p95_ms']} ms vs {row['icontains_5_lists_p95_ms']} ms "
            f"({row['search_ratio']}x); list p95 {row['list_q_p95_ms']} vs {row['list_icontains_p95_ms']} ms "
            f"({row['list_ratio']}x)",
            flush=True,
        )

    header = (
        "| query | results (articles / before) | /api/search/ p50 / p95 ms | 5 lists icontains p50 / p95 ms | ratio | "
        "articles ?q= p50 / p95 ms | articles icontains p50 / p95 ms | ratio |"
    )
    lines = [header, "|" + "---|" * 8]
    for r in report["rows"]:
        lines.append(
            f"| {r['label']}: `{r['q']}` | {r['results']} ({r['articles']} / {r['articles_before']}) | "
            f"{r['search_p50_ms']} / {r['search_p95_ms']} | {r['icontains_5_lists_p50_ms']} / "
            f"{r['icontains_5_lists_p95_ms']} | {r['search_ratio']}x | {r['list_q_p50_ms']} / {r['list_q_p95_ms']} "
            f"| {r['list_icontains_p50_ms']} / {r['list_icontains_p95_ms']} | {r['list_ratio']}x |"
        )
    met = [r for r in report["rows"] if r["search_p95_ms"] <= P95_TARGET_MS and r["search_ratio"] >= RATIO_TARGET]
    lines.append("")
    lines.append(
        f"{connection.vendor}, {marker['server']}; {args.rounds} searches and {args.old_rounds} icontains runs per "
        f"query. Target (p95 <= {P95_TARGET_MS} ms and >= {RATIO_TARGET}x): met by {len(met)} of "
        f"{len(report['rows'])} queries."
    )
    report["table"] = "\n".join(lines)
    print(report["table"])
    if args.json:
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
