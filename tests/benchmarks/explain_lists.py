"""Show that the list endpoints read through indexes at size: ``python tests/benchmarks/explain_lists.py``.

For each list endpoint's default page and its common filters (and cursor page 2 of figures and events), runs the
real view through Django's test client against the benchmark database (``dataset.py``: 100,000 articles on
PostgreSQL), captures the SQL it sends, and runs ``EXPLAIN (ANALYZE, BUFFERS)`` on each query. Prints per request
the plan of its main query (the page of records), each query's execution time, and flags: a Seq Scan on a large
table, a Sort over more than ``--sort-rows`` rows, a scan that reads and discards more than ``--large-rows`` rows.

With ``--orderings``, also every ordering the articles, events and figures lists offer, each way, and the cursor
page 2 of each.

Exits non-zero when a request's main query reads a large table without an index (a Seq Scan on it) or sorts more
than ``--sort-rows`` rows, or when a request fails. A table is large from ``--large-rows`` rows
(``pg_class.reltuples``), or when it is one of articles, events, figures, participants or a history table, whatever
its size: a Seq Scan over 500 companies is the right plan.
"""

import argparse
import json
import os
import re
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.benchmarks.bench_api import CURSOR_URLS, LIST_URLS  # noqa: E402
from tests.benchmarks.dataset import DEFAULT_DATABASE_URL  # noqa: E402

# What bench_api.py measures, and the newest first of the lists that have a date (a descending ordering broke its
# ties by ascending id, which no index gives: 0.27-0.74 s a page at 100k until ties followed the field's direction).
REQUESTS = [
    *LIST_URLS,
    "/api/articles/?ordering=-published_on",
    "/api/events/?ordering=-date",
    "/api/events/?ordering=-updated_at",
    "/api/figures/?ordering=-updated_at",
    # Filters that walked (or joined) every row until an index or a table served them.
    "/api/figures/?value_overlaps=1000000,2000000",
    "/api/articles/?author=smith",
]
CURSOR_PAGE_2 = CURSOR_URLS
LARGE_TABLES = re.compile(r"^articles_(article|event|figure|eventparticipant|historical\w*)$")
MAIN_TABLE = {
    "articles": "articles_article",
    "companies": "articles_company",
    "people": "articles_person",
    "events": "articles_event",
    "figures": "articles_figure",
}


def table_sizes(connection) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, reltuples::bigint FROM pg_class WHERE relkind = 'r'")
        return dict(cursor.fetchall())


def nodes(plan: dict, depth: int = 0):
    """Every node of a JSON plan, depth first, with its depth."""
    yield depth, plan
    for child in plan.get("Plans", []):
        yield from nodes(child, depth + 1)


def describe(node: dict) -> str:
    text = node["Node Type"]
    if node.get("Index Name"):
        text += f" using {node['Index Name']}"
    if node.get("Relation Name"):
        text += f" on {node['Relation Name']}"
    if node.get("Sort Key"):
        text += f" by {', '.join(node['Sort Key'])[:80]}"
    rows = node.get("Actual Rows", 0) * node.get("Actual Loops", 1)
    text += f" (rows {rows:,}, loops {node.get('Actual Loops', 1):,}"
    removed = discarded(node)
    text += f", {removed:,} removed by filter)" if removed else ")"
    for key in ("Index Cond", "Filter"):
        if node.get(key):
            text += f" {key.lower()}: {node[key][:100]}"
    return text


def discarded(node: dict) -> int:
    """Rows a node read and threw away (by its filter, or a Bitmap Heap Scan's recheck), over every loop."""
    removed = node.get("Rows Removed by Filter", 0) + node.get("Rows Removed by Index Recheck", 0)
    return removed * node.get("Actual Loops", 1)


def findings(plan: dict, sizes: dict[str, int], large_rows: int, sort_rows: int) -> dict:
    """What the plan reads: the tables it scans sequentially, its big sorts, and whether it uses an index."""
    seq_large, sorts, filtered, indexed = [], [], [], set()
    for _, node in nodes(plan):
        relation = node.get("Relation Name")
        if node["Node Type"] == "Seq Scan" and relation:
            if LARGE_TABLES.match(relation) or sizes.get(relation, 0) >= large_rows:
                seq_large.append(f"{relation} ({sizes.get(relation, 0):,} rows)")
        if "Index" in node["Node Type"] and relation:
            indexed.add(relation)
        if "Index" in node["Node Type"] and node.get("Index Name") and not relation:
            indexed.add(node["Index Name"])  # a Bitmap Index Scan names its index, its heap is the parent's
        if relation and discarded(node) > large_rows:
            filtered.append(f"{node['Node Type']} on {relation} discards {discarded(node):,} rows")
        if node["Node Type"] in ("Sort", "Incremental Sort"):
            sorted_rows = sum(c.get("Actual Rows", 0) * c.get("Actual Loops", 1) for c in node.get("Plans", []))
            if sorted_rows > sort_rows:
                sorts.append(f"{', '.join(node.get('Sort Key', []))[:60]} over {sorted_rows:,} rows")
    return {
        "seq_scans_on_large_tables": seq_large,
        "big_sorts": sorts,
        "big_filters": filtered,
        "index_used": bool(indexed),
    }


def explain(connection, sql: str) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}")
        result = cursor.fetchone()[0]
    return (json.loads(result) if isinstance(result, str) else result)[0]


def main_query_index(queries: list[str], path: str) -> int | None:
    """The query that reads the page of records: the first SELECT from the endpoint's table with a LIMIT."""
    table = MAIN_TABLE[path.split("/")[2]]
    for index, sql in enumerate(queries):
        if re.search(rf'FROM "{table}"', sql) and " LIMIT " in sql and "COUNT(" not in sql.upper()[:200]:
            return index
    for index, sql in enumerate(queries):
        if re.search(rf'FROM "{table}"', sql):
            return index
    return None


def check(client, connection, path: str, sizes: dict, args) -> dict:
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    result = {"path": path, "status": response.status_code, "queries": []}
    if response.status_code != 200:
        result["error"] = response.content[:300].decode("utf-8", "replace")
        return result
    body = json.loads(response.content)
    result["rows"] = len(body.get("results", []))
    result["next"] = body.get("next")
    selects = [q["sql"] for q in captured.captured_queries if q["sql"].lstrip().upper().startswith(("SELECT", "WITH"))]
    result["main"] = main_query_index(selects, path)
    for sql in selects:
        plan = explain(connection, sql)
        result["queries"].append(
            {
                "sql": sql,
                "execution_ms": plan["Execution Time"],
                "planning_ms": plan["Planning Time"],
                "plan": plan["Plan"],
                **findings(plan["Plan"], sizes, args.large_rows, args.sort_rows),
            }
        )
    return result


def passed(result: dict) -> bool:
    if result["status"] != 200 or result.get("main") is None:
        return False
    main = result["queries"][result["main"]]
    return main["index_used"] and not main["seq_scans_on_large_tables"] and not main["big_sorts"]


def ordering_requests() -> list[str]:
    """Every ordering the API offers on the large lists, each way: ``?ordering=F`` and ``?ordering=-F``, from the
    filter sets themselves, so that an ordering added without an index fails here."""
    from articles.api.filtersets import ArticleFilterSet, EventFilterSet, FigureFilterSet

    paths, lists = [], {"articles": ArticleFilterSet, "events": EventFilterSet, "figures": FigureFilterSet}
    for resource, filterset in lists.items():
        for param in filterset.base_filters["ordering"].param_map:
            paths += [f"/api/{resource}/?ordering={param}", f"/api/{resource}/?ordering=-{param}"]
    return paths


def show(result: dict, depth: int) -> None:
    ok = passed(result)
    if result["status"] != 200:
        print(f"\nGET {result['path']}  {result['status']}  FAILED: {result.get('error', '')[:200]}")
        return
    total = sum(q["execution_ms"] for q in result["queries"])
    print(
        f"\nGET {result['path']}  {result['status']}, {result['rows']} rows, {len(result['queries'])} queries, "
        f"{total:.2f} ms executing  {'ok' if ok else 'NO INDEX'}"
    )
    for index, query in enumerate(result["queries"]):
        role = "main " if index == result["main"] else "     "
        flags = [f"Seq Scan on {t}" for t in query["seq_scans_on_large_tables"]]
        flags += [f"Sort {s}" for s in query["big_sorts"]] + query["big_filters"]
        print(
            f"  {role}query {index + 1}: {query['execution_ms']:.2f} ms" + (f"  ! {'; '.join(flags)}" if flags else "")
        )
        if index == result["main"] or flags:
            for level, node in nodes(query["plan"]):
                if level < depth:
                    print(f"      {'  ' * level}{describe(node)}")
    if result.get("main") is None:
        print("  no query reads the page of records (the main query was not found)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--large-rows", type=int, default=10_000, help="A table this big must be read by index.")
    parser.add_argument("--sort-rows", type=int, default=1_000, help="Flag a sort over more rows than this.")
    parser.add_argument("--depth", type=int, default=8, help="Plan levels to print.")
    parser.add_argument("--json", type=Path, help="Also write every plan as JSON.")
    parser.add_argument(
        "--orderings",
        action="store_true",
        help="Also every ordering the articles, events and figures lists offer, each way, and its cursor page 2.",
    )
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = args.database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.benchmarks.settings"
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))  # a scratch run: any key will do
    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    if connection.vendor != "postgresql":
        sys.exit(f"EXPLAIN needs PostgreSQL, not {connection.vendor}")
    sizes = table_sizes(connection)
    print(
        f"{connection.settings_dict['NAME']}: {sizes.get('articles_article', 0):,} articles, "
        f"{sizes.get('articles_event', 0):,} events, {sizes.get('articles_figure', 0):,} figures (pg_class estimates)"
    )
    client = Client(HTTP_HOST="127.0.0.1")
    requests, cursor_firsts = list(REQUESTS), list(CURSOR_PAGE_2)
    if args.orderings:
        orderings = ordering_requests()
        requests += orderings
        cursor_firsts += [f"{path}&cursor=" for path in orderings]
    results = [check(client, connection, path, sizes, args) for path in requests]
    for first_page in cursor_firsts:
        first = check(client, connection, first_page, sizes, args)
        if first["status"] == 200 and first.get("next"):
            page_two = first["next"].split("://", 1)[-1].split("/", 1)[-1]
            results.append(check(client, connection, "/" + page_two, sizes, args))
        else:
            first["error"] = f"cursor page 1 has no next link: {first.get('error', first.get('next'))}"
            first["status"] = first["status"] if first["status"] != 200 else "no next"
            results.append(first)
    for result in results:
        show(result, args.depth)
    failures = [r["path"] for r in results if not passed(r)]
    print(f"\n{len(results) - len(failures)} of {len(results)} requests read their page through an index.")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    if failures:
        print("Not through an index (or failed): " + ", ".join(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
